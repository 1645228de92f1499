//! Finds leaked credentials in source code, configuration files and Jupyter notebooks:
//! cloud keys (AWS, Google Cloud, Azure), ML-platform tokens (Hugging Face, OpenAI,
//! Anthropic, Weights & Biases, …), code-hosting and registry tokens, private keys,
//! URLs with passwords, and random-looking values assigned to secret names.
//!
//! It must never reveal a secret: a finding's message never quotes the value, and its
//! evidence is redacted to a short prefix, the length and a SHA-256 fingerprint (so the
//! same secret can be correlated across files without being shown). It never contacts a
//! provider to verify a secret and never evaluates what it reads. Work is linear in the
//! input: one keyword sweep decides which checks run, and they run only near a keyword.

mod aws;
mod azure;
mod engine;
mod filters;
mod generic;
mod json;
mod notebook;
mod patterns;
mod private_key;
mod redact;
mod report;
pub mod rules;
mod tokens;
mod urls;

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;

use rampart_core::{Finding, Location};

pub use notebook::scan_notebook;
pub use rules::RULES;

/// What a file is to this scanner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Any text: source, configuration, documentation, `.env`, key files.
    Text,
    /// A Jupyter notebook (`.ipynb`), scanned cell by cell.
    Notebook,
}

/// Routes a file by name and first bytes: notebooks by extension (a broken notebook is
/// still a notebook, reported as malformed), other files when their first bytes are text.
pub fn detect(name: &str, head: &[u8]) -> Option<Kind> {
    if name.to_ascii_lowercase().ends_with(".ipynb") {
        Some(Kind::Notebook)
    } else if looks_like_text(head) {
        Some(Kind::Text)
    } else {
        None
    }
}

/// Whether the first bytes of a file look like text: no NUL bytes, valid UTF-8 (a
/// character cut at the end of `head` is fine) or mostly ASCII, and few control
/// characters.
pub fn looks_like_text(head: &[u8]) -> bool {
    let (mut high, mut control) = (0usize, 0usize);
    for &b in head {
        if b == 0 {
            return false;
        }
        high += usize::from(b >= 0x80);
        control += usize::from(b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c | 0x1b));
    }
    if control * 20 > head.len() {
        return false;
    }
    let utf8 = || match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(error) => error.error_len().is_none(),
    };
    high == 0 || high * 10 <= head.len() || utf8()
}

/// Scans a file of the given kind.
pub fn scan(kind: Kind, data: &[u8], location: &Location, out: &mut Vec<Finding>) {
    match kind {
        Kind::Text => scan_text(data, location, out),
        Kind::Notebook => scan_notebook(data, location, out),
    }
}

/// Scans text (`data` need not be UTF-8). Findings carry the line and column of the
/// secret.
pub fn scan_text(data: &[u8], location: &Location, out: &mut Vec<Finding>) {
    let mut report = report::Report::new(data);
    report.scan_raw();
    report.finish(location, out);
}
