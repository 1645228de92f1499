//! PEM, OpenSSH and PGP private key blocks, as files, as multi-line strings, or escaped
//! inside JSON and code (`"-----BEGIN…\nMIIE…\n-----END…"`). A block is reported when its
//! body is a real key (enough base64, nothing else), and a Google service-account key file
//! is reported as such.

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT;
use rampart_core::Severity;
use regex::bytes::Regex;

use crate::engine::{Hit, Pass, Priority};
use crate::filters::{entropy, is_base64_byte};
use crate::redact::redact;
use crate::rules::{GCP_SERVICE_ACCOUNT_KEY, PRIVATE_KEY};

pub(crate) const KEYWORD: &str = "-----BEGIN";

/// How far the END line may be from the BEGIN line: an 8192-bit RSA key is under 7 KB.
const MAX_BLOCK: usize = 64 * 1024;
/// Fewer base64 characters than this is a snippet in documentation, not a key.
const MIN_BODY: usize = 64;

/// Characters that wrap key lines in source code: quotes, concatenation, indentation.
fn is_wrapping(b: u8) -> bool {
    b.is_ascii_whitespace()
        || matches!(
            b,
            b'"' | b'\'' | b'`' | b'+' | b',' | b';' | b'(' | b')' | b'\\'
        )
}

struct Body {
    base64: Vec<u8>,
    /// Any line that is neither base64, a header nor wrapping: prose or `...`.
    foreign: bool,
    encrypted_header: bool,
}

/// Collects the base64 of a block body, splitting lines at real newlines and at `\n` / `\r`
/// escapes, and skipping `Key: value` headers.
fn read_body(body: &[u8]) -> Body {
    let mut result = Body {
        base64: Vec::new(),
        foreign: false,
        encrypted_header: false,
    };
    let mut line_start = 0;
    let mut i = 0;
    let mut lines = Vec::new();
    while i < body.len() {
        let escape = body.get(i) == Some(&b'\\') && matches!(body.get(i + 1), Some(b'n' | b'r'));
        if body.get(i) == Some(&b'\n') || escape {
            lines.push(line_start..i);
            i += if escape { 2 } else { 1 };
            line_start = i;
        } else {
            i += 1;
        }
    }
    lines.push(line_start..body.len());
    for range in lines {
        let line = body.get(range).unwrap_or_default();
        let trimmed = trim(line);
        if trimmed.is_empty() {
            continue;
        }
        if trimmed.contains(&b':') {
            if memchr::memmem::find(trimmed, b"ENCRYPTED").is_some() {
                result.encrypted_header = true;
            }
            continue;
        }
        if trimmed.iter().all(|&b| is_base64_byte(b) || b == b'=') {
            result.base64.extend_from_slice(trimmed);
        } else {
            result.foreign = true;
        }
    }
    result
}

fn trim(line: &[u8]) -> &[u8] {
    let start = line
        .iter()
        .position(|&b| !is_wrapping(b))
        .unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|&b| !is_wrapping(b))
        .map_or(start, |i| i + 1);
    line.get(start..end).unwrap_or_default()
}

/// An OpenSSH key names its cipher right after the magic: `none` means no passphrase.
fn openssh_cipher(base64: &[u8]) -> Option<Vec<u8>> {
    let head = base64.get(..base64.len().min(96) / 4 * 4)?;
    let decoded = STANDARD_PAD_INDIFFERENT.decode(head).ok()?;
    let rest = decoded.strip_prefix(b"openssh-key-v1\0")?;
    let len_bytes: [u8; 4] = rest.get(..4)?.try_into().ok()?;
    let len = usize::try_from(u32::from_be_bytes(len_bytes)).ok()?;
    rest.get(4..4usize.checked_add(len)?).map(<[u8]>::to_vec)
}

static SERVICE_ACCOUNT_TYPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?-u)"type"\s*:\s*"service_account""#).expect("static pattern compiles")
});
static CLIENT_EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?-u)"client_email"\s*:\s*"(?P<email>[A-Za-z0-9._@-]{1,200})""#)
        .expect("static pattern compiles")
});

/// Checks the block whose `-----BEGIN` is at `at`.
pub(crate) fn check(at: usize, pass: &mut Pass<'_>) {
    if let Some(end) = check_block(at, pass) {
        pass.pem_until = end;
    }
}

/// Returns how far the block was examined: a later `-----BEGIN` before that point was
/// already seen as part of this one.
fn check_block(at: usize, pass: &mut Pass<'_>) -> Option<usize> {
    let text = pass.text;
    let after_begin = text.get(at..)?.strip_prefix(KEYWORD.as_bytes())?;
    let after_begin = after_begin.strip_prefix(b" ")?;
    let label_len = after_begin
        .iter()
        .take(48)
        .take_while(|&&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ')
        .count();
    let label = after_begin.get(..label_len)?;
    let after_label = after_begin.get(label_len..)?.strip_prefix(b"-----")?;
    if !(label.ends_with(b"PRIVATE KEY") || label.ends_with(b"PRIVATE KEY BLOCK")) {
        return None;
    }
    let body_start = text.len() - after_label.len();
    let search = after_label.get(..after_label.len().min(MAX_BLOCK))?;
    // The body ends at the next run of dashes, which must be the END line. Stopping at any
    // dashes (not only at END) keeps each body disjoint from the next block's.
    let (body, block_end) = match memchr::memmem::find(search, b"-----") {
        Some(i)
            if search
                .get(i..)
                .is_some_and(|rest| rest.starts_with(b"-----END")) =>
        {
            // `-----END <label>-----`: the span ends after the closing dashes.
            let after_end = search.get(i + 8..).unwrap_or_default();
            let closing = after_end.get(..after_end.len().min(64)).unwrap_or_default();
            let marker_len = memchr::memmem::find(closing, b"-----").map_or(8, |p| 8 + p + 5);
            (search.get(..i)?, body_start + i + marker_len)
        }
        Some(i) => {
            pass.pem_until = body_start + i;
            return None;
        }
        // A key cut short is still a leaked key.
        None => (search, body_start + search.len()),
    };
    let parsed = read_body(body);
    if parsed.foreign || parsed.base64.len() < MIN_BODY || entropy(&parsed.base64) < 4.5 {
        pass.pem_until = block_end;
        return None;
    }
    let label_text = String::from_utf8_lossy(label).into_owned();
    let encrypted = parsed.encrypted_header
        || label.starts_with(b"ENCRYPTED")
        || (label == b"OPENSSH PRIVATE KEY"
            && openssh_cipher(&parsed.base64).is_some_and(|cipher| cipher != b"none"));
    let evidence = format!("{label_text} block, body {}", redact(&parsed.base64));
    let hit = if SERVICE_ACCOUNT_TYPE.is_match(text) {
        let account = CLIENT_EMAIL
            .captures(text)
            .and_then(|c| c.name("email"))
            .map(|m| format!(" for `{}`", String::from_utf8_lossy(m.as_bytes())))
            .unwrap_or_default();
        Hit::new(
            &GCP_SERVICE_ACCOUNT_KEY,
            at..block_end,
            &parsed.base64,
            format!(
                "Google Cloud service-account key{account}: anyone who reads the file can \
                 authenticate as the service account with all of its IAM roles"
            ),
            Priority::Structured,
        )
    } else {
        let mut hit = Hit::new(
            &PRIVATE_KEY,
            at..block_end,
            &parsed.base64,
            format!(
                "{label_text} in the file: whoever reads it can impersonate or sign as the key's \
                 owner wherever the matching public key is trusted"
            ),
            Priority::Structured,
        );
        if encrypted {
            hit = hit.with_severity(Severity::Medium);
            hit.message = format!(
                "{label_text} in the file, protected by a passphrase: an attacker who has the \
                 file can try to guess the passphrase offline"
            );
        }
        hit
    };
    pass.push(hit.with_evidence(evidence));
    Some(block_end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_read_through_code_wrapping_and_escapes() {
        let body = read_body(b"\\nMIIEabc\\n\" +\n  \"def123==\\n");
        assert_eq!(body.base64, b"MIIEabcdef123==");
        assert!(!body.foreign);
        let body = read_body(b"\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES\n\nQUJD\n");
        assert!(body.encrypted_header);
        assert_eq!(body.base64, b"QUJD");
        assert!(read_body(b"\nMIIE...\n").foreign);
    }
}
