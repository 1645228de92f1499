//! Turns hits into findings: maps their offsets to lines and columns of the file, names the
//! notebook cell they are in, and reports what could not be scanned.

use std::collections::HashSet;
use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_PAD_INDIFFERENT, URL_SAFE_PAD_INDIFFERENT};
use rampart_core::{Finding, Location, Rule, rules as core_rules};
use regex::bytes::Regex;

use crate::engine::{self, Found, Hit, MAX_HITS_PER_TEXT};
use crate::json::Decoded;

/// Findings one file may produce; past this the rest is summarised in one
/// `scan/limit-exceeded` finding.
const MAX_FINDINGS_PER_FILE: usize = MAX_HITS_PER_TEXT;

/// Shorter base64 runs decode to too little text to hold a credential.
const MIN_BASE64_RUN: usize = 24;

enum Entry {
    Hit {
        hit: Hit,
        resource: Option<String>,
        encoded: bool,
    },
    Problem {
        rule: &'static Rule,
        message: String,
        resource: Option<String>,
    },
}

struct Pending {
    /// Offset in the raw file.
    offset: usize,
    entry: Entry,
}

/// The findings of one file, gathered before line numbers are computed in one sweep.
pub(crate) struct Report<'d> {
    raw: &'d [u8],
    pending: Vec<Pending>,
}

static BASE64_RUN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?-u)[A-Za-z0-9+/_-]{{{MIN_BASE64_RUN},}}={{0,2}}"
    ))
    .expect("static pattern compiles")
});

/// Decodes standard or URL-safe base64, padded or not.
fn decode_base64(run: &[u8]) -> Option<Vec<u8>> {
    let url_safe = run.iter().any(|&b| matches!(b, b'-' | b'_'));
    let standard = run.iter().any(|&b| matches!(b, b'+' | b'/'));
    match (url_safe, standard) {
        (true, true) => None,
        (true, false) => URL_SAFE_PAD_INDIFFERENT.decode(run).ok(),
        (false, _) => STANDARD_PAD_INDIFFERENT.decode(run).ok(),
    }
}

/// Decoded bytes worth scanning: UTF-8 text, almost all printable.
fn is_text(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let total = text.chars().count();
    let control = text
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        .count();
    total >= 12 && control * 50 <= total
}

impl<'d> Report<'d> {
    pub fn new(raw: &'d [u8]) -> Self {
        Report {
            raw,
            pending: Vec::new(),
        }
    }

    fn add(
        &mut self,
        found: Found,
        to_raw: impl Fn(usize) -> usize,
        resource: Option<&str>,
        encoded: bool,
    ) {
        for hit in found.hits {
            self.pending.push(Pending {
                offset: to_raw(hit.span.start),
                entry: Entry::Hit {
                    hit,
                    resource: resource.map(str::to_owned),
                    encoded,
                },
            });
        }
        if let Some(at) = found.stopped_at {
            self.problem(
                &core_rules::LIMIT_EXCEEDED,
                to_raw(at),
                format!(
                    "more than {MAX_HITS_PER_TEXT} secrets in one text: secret detection stopped \
                     here and the rest of it was not scanned"
                ),
                resource,
            );
        }
    }

    /// Scans the whole raw file as text.
    pub fn scan_raw(&mut self) {
        let found = engine::find(self.raw, None);
        self.add(found, |at| at, None, false);
    }

    /// Scans a decoded JSON string. `member` is its key when it is an object member;
    /// with `base64_runs`, base64 runs in it are decoded and scanned too.
    pub fn scan_decoded(
        &mut self,
        decoded: &Decoded,
        resource: &str,
        member: Option<&[u8]>,
        base64_runs: bool,
    ) {
        if decoded.is_empty() {
            return;
        }
        let found = engine::find(&decoded.text, member);
        self.add(found, |at| decoded.raw_offset(at), Some(resource), false);
        if base64_runs {
            for run in BASE64_RUN.find_iter(&decoded.text) {
                self.scan_base64(decoded.raw_offset(run.start()), run.as_bytes(), resource);
            }
        }
    }

    /// Decodes a base64 payload found at raw offset `offset` and scans it if it is text.
    pub fn scan_base64(&mut self, offset: usize, encoded: &[u8], resource: &str) {
        let Some(bytes) = decode_base64(encoded) else {
            return;
        };
        if !is_text(&bytes) {
            return;
        }
        let found = engine::find(&bytes, None);
        self.add(found, |_| offset, Some(resource), true);
    }

    pub fn problem(
        &mut self,
        rule: &'static Rule,
        offset: usize,
        message: String,
        resource: Option<&str>,
    ) {
        self.pending.push(Pending {
            offset,
            entry: Entry::Problem {
                rule,
                message,
                resource: resource.map(str::to_owned),
            },
        });
    }

    /// Scans the whole raw file as text after structured parsing failed, keeping only
    /// secrets the structured pass did not already report.
    pub fn scan_raw_fallback(&mut self) {
        let known: HashSet<(&'static str, String)> = self
            .pending
            .iter()
            .filter_map(|p| match &p.entry {
                Entry::Hit { hit, .. } => Some((hit.rule.id, hit.evidence.clone())),
                Entry::Problem { .. } => None,
            })
            .collect();
        let mut found = engine::find(self.raw, None);
        found
            .hits
            .retain(|hit| !known.contains(&(hit.rule.id, hit.evidence.clone())));
        self.add(found, |at| at, None, false);
    }

    pub fn finish(mut self, location: &Location, out: &mut Vec<Finding>) {
        self.pending.sort_by_key(|p| p.offset);
        let hit_count = self
            .pending
            .iter()
            .filter(|p| matches!(p.entry, Entry::Hit { .. }))
            .count();
        let mut cursor = LineCursor::new(self.raw);
        let mut reported = 0;
        for pending in self.pending {
            let (line, column) = cursor.advance(pending.offset);
            let at = location.at_line(line, Some(column));
            let with_resource = |resource: Option<String>| match resource {
                Some(resource) => at.with_resource(resource),
                None => at.clone(),
            };
            match pending.entry {
                Entry::Hit {
                    hit,
                    resource,
                    encoded,
                } => {
                    reported += 1;
                    if reported > MAX_FINDINGS_PER_FILE {
                        if reported == MAX_FINDINGS_PER_FILE + 1 {
                            out.push(Finding::new(
                                &core_rules::LIMIT_EXCEEDED,
                                with_resource(resource),
                                format!(
                                    "{hit_count} secrets found in this file; only the first \
                                     {MAX_FINDINGS_PER_FILE} are reported"
                                ),
                            ));
                        }
                        continue;
                    }
                    let mut message = capitalised(&hit.message);
                    if encoded {
                        message.push_str(" (found by decoding a base64 string)");
                    }
                    out.push(
                        Finding::new(hit.rule, with_resource(resource), message)
                            .with_severity(hit.severity)
                            .with_evidence(hit.evidence),
                    );
                }
                Entry::Problem {
                    rule,
                    message,
                    resource,
                } => out.push(Finding::new(
                    rule,
                    with_resource(resource),
                    capitalised(&message),
                )),
            }
        }
    }
}

fn capitalised(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Line and column of increasing offsets, counting each byte once.
struct LineCursor<'d> {
    raw: &'d [u8],
    offset: usize,
    line: usize,
    line_start: usize,
}

impl<'d> LineCursor<'d> {
    fn new(raw: &'d [u8]) -> Self {
        LineCursor {
            raw,
            offset: 0,
            line: 1,
            line_start: 0,
        }
    }

    /// 1-based line and column (in characters) of `offset`.
    fn advance(&mut self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.raw.len()).max(self.offset);
        let between = self.raw.get(self.offset..offset).unwrap_or_default();
        let newlines = memchr::memchr_iter(b'\n', between).count();
        if let Some(last) = memchr::memrchr(b'\n', between) {
            self.line_start = self.offset + last + 1;
        }
        self.line = self.line.saturating_add(newlines);
        self.offset = offset;
        let column = self
            .raw
            .get(self.line_start..offset)
            .unwrap_or_default()
            .iter()
            .filter(|&&b| (b & 0xC0) != 0x80)
            .count();
        (
            u32::try_from(self.line).unwrap_or(u32::MAX),
            u32::try_from(column + 1).unwrap_or(u32::MAX),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_count_characters() {
        let raw = "ab\né€x\n\nz".as_bytes();
        let mut cursor = LineCursor::new(raw);
        assert_eq!(cursor.advance(0), (1, 1));
        assert_eq!(cursor.advance(1), (1, 2));
        let x = raw.iter().position(|&b| b == b'x').unwrap();
        assert_eq!(cursor.advance(x), (2, 3));
        assert_eq!(cursor.advance(raw.len() - 1), (4, 1));
        assert_eq!(cursor.advance(usize::MAX), (4, 2));
    }

    #[test]
    fn base64_text_is_recognised() {
        assert_eq!(decode_base64(b"aGVsbG8gd29ybGQ=").unwrap(), b"hello world");
        assert_eq!(decode_base64(b"aGVsbG8gd29ybGQ").unwrap(), b"hello world");
        assert!(decode_base64(b"a-b+").is_none());
        assert!(is_text(b"hello world, text"));
        assert!(!is_text(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"));
        assert!(!is_text(b"short"));
    }
}
