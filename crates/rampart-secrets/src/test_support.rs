//! Helpers for the tests: synthetic credentials built at run time from a seeded generator,
//! so this repository never contains a string that scans as a real secret.

use rampart_core::{Finding, Location};

pub const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
pub const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
pub const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
pub const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
pub const WORD_DASH: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
pub const HEX: &[u8] = b"0123456789abcdef";
pub const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
pub const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// xorshift64*: deterministic, so every run tests the same values.
pub struct Seeded(u64);

impl Seeded {
    pub fn new(seed: u64) -> Self {
        Seeded(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn string(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| char::from(alphabet[(self.next() % alphabet.len() as u64) as usize]))
            .collect()
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// A GitHub classic or npm token with a valid checksum.
pub fn checksummed(prefix: &str, rng: &mut Seeded) -> String {
    let random = rng.string(ALNUM, 30);
    let checksum = crate::tokens::base62_6(crate::tokens::crc32(random.as_bytes()));
    format!("{prefix}{random}{}", String::from_utf8_lossy(&checksum))
}

/// A PEM block around `der_len` random bytes.
pub fn pem(label: &str, headers: &str, body: &[u8]) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(body);
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{headers}{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// A JSON string literal.
pub fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub fn scan(text: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    crate::scan_text(text.as_bytes(), &Location::file("input.txt"), &mut out);
    out
}

pub fn scan_notebook(json: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    crate::scan_notebook(json.as_bytes(), &Location::file("nb.ipynb"), &mut out);
    out
}

pub fn ids(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.rule.id).collect()
}

/// Fails if any 8 characters of `secret` after its first 4 show up in the finding's
/// message or evidence.
pub fn assert_not_leaked(finding: &Finding, secret: &str) {
    let chars: Vec<char> = secret.chars().collect();
    let shown = format!(
        "{} {}",
        finding.message,
        finding.evidence.as_deref().unwrap_or_default()
    );
    for window in chars.get(4..).unwrap_or_default().windows(8) {
        let piece: String = window.iter().collect();
        assert!(
            !shown.contains(&piece),
            "secret leaked into the finding: {shown}"
        );
    }
}
