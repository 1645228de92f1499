//! The detection pass over one piece of text: an Aho-Corasick search over every rule's
//! keywords finds the lines worth a closer look and decides which checks run there, so
//! most of a file is touched once and the regular expressions only ever see the lines
//! that hold one of their keywords.

use std::ops::Range;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, Input, MatchKind};
use rampart_core::{Rule, Severity};

use crate::patterns::{self, PATTERNS};
use crate::redact::redact;
use crate::tokens::{self, SHAPES};
use crate::{aws, azure, generic, private_key};

/// Hits one text may produce before the rest is reported as not scanned: a file with
/// thousands of secrets is generated or hostile, and its report would be useless anyway.
pub(crate) const MAX_HITS_PER_TEXT: usize = 256;

/// How far a keyword's window reaches left and right on one line: keeps the work per
/// keyword bounded on minified files with megabyte-long lines.
const MAX_LINE_REACH: usize = 2048;

/// Which detections win where two overlap: a structured match (a key file, an AWS pair)
/// over a provider token, a provider token over a keyword-gated match, and any of them
/// over the generic secret-name rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Priority {
    Structured,
    Token,
    Keyword,
    Generic,
}

/// One detected secret inside the scanned text.
#[derive(Clone, Debug)]
pub(crate) struct Hit {
    pub rule: &'static Rule,
    pub severity: Severity,
    /// The secret's span in the scanned text.
    pub span: Range<usize>,
    /// What was found, without the value.
    pub message: String,
    /// The redacted secret.
    pub evidence: String,
    pub priority: Priority,
}

impl Hit {
    pub fn new(
        rule: &'static Rule,
        span: Range<usize>,
        secret: &[u8],
        message: String,
        priority: Priority,
    ) -> Self {
        Hit {
            rule,
            severity: rule.severity,
            span,
            message,
            evidence: redact(secret),
            priority,
        }
    }

    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn with_evidence(mut self, evidence: String) -> Self {
        self.evidence = evidence;
        self
    }

    fn overlaps(&self, other: &Hit) -> bool {
        self.span.start < other.span.end && other.span.start < self.span.end
    }
}

/// A service whose credential a rule recognises, for messages.
pub(crate) struct Provider {
    pub rule: &'static Rule,
    /// "Hugging Face access token".
    pub noun: &'static str,
    /// What a reader of the file can do with it, completing "…: ".
    pub risk: &'static str,
}

impl Provider {
    /// The message for a credential of this provider at `start` in `text`.
    pub fn describe(&self, text: &[u8], start: usize) -> String {
        match assigned_name(text, start) {
            Some(name) => format!("{} assigned to `{name}`: {}", self.noun, self.risk),
            None => format!("{} written in the file: {}", self.noun, self.risk),
        }
    }
}

/// Everything found in one text.
#[derive(Debug, Default)]
pub(crate) struct Found {
    /// Non-overlapping hits in text order.
    pub hits: Vec<Hit>,
    /// Where detection stopped after [`MAX_HITS_PER_TEXT`] hits.
    pub stopped_at: Option<usize>,
}

/// Collects the hits of one pass; detectors push into it.
pub(crate) struct Pass<'t> {
    pub text: &'t [u8],
    pub hits: Vec<Hit>,
    pub aws: aws::Candidates,
    /// Where the last examined SAS query string or key block ended: a later keyword
    /// inside it was already covered, so hostile repetitions cost linear time.
    pub sas_until: usize,
    pub pem_until: usize,
}

impl Pass<'_> {
    pub fn push(&mut self, hit: Hit) {
        self.hits.push(hit);
    }

    /// Whether this pass has found as much as one text may report, counting AWS halves
    /// that will become hits.
    pub fn is_full(&self) -> bool {
        self.hits.len() + self.aws.key_ids.len() + self.aws.named_secrets.len() >= MAX_HITS_PER_TEXT
    }
}

#[derive(Clone, Copy)]
enum Trigger {
    Token(usize),
    Pattern(usize),
    PrivateKey,
    AzureClientSecret,
    SasSignature,
}

struct Prefilter {
    automaton: AhoCorasick,
    triggers: Vec<Trigger>,
}

static PREFILTER: LazyLock<Prefilter> = LazyLock::new(|| {
    let mut keywords: Vec<&'static str> = Vec::new();
    let mut triggers = Vec::new();
    for (index, shape) in SHAPES.iter().enumerate() {
        keywords.push(shape.prefix);
        triggers.push(Trigger::Token(index));
    }
    for (index, pattern) in PATTERNS.iter().enumerate() {
        for keyword in pattern.keywords {
            keywords.push(keyword);
            triggers.push(Trigger::Pattern(index));
        }
    }
    for (keyword, trigger) in [
        (private_key::KEYWORD, Trigger::PrivateKey),
        (azure::CLIENT_SECRET_KEYWORD, Trigger::AzureClientSecret),
        (azure::SAS_KEYWORD, Trigger::SasSignature),
    ] {
        keywords.push(keyword);
        triggers.push(trigger);
    }
    let automaton = AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .kind(Some(AhoCorasickKind::DFA))
        .build(&keywords)
        .expect("the keyword list is static and valid");
    Prefilter {
        automaton,
        triggers,
    }
});

/// Finds the secrets in `text`. `member_name` is the JSON key whose string value `text`
/// is, when the text came out of a JSON document: `"api_key": "…"` is an assignment even
/// though the text itself holds only the value.
pub(crate) fn find(text: &[u8], member_name: Option<&[u8]>) -> Found {
    let prefilter = &*PREFILTER;
    let mut pass = Pass {
        text,
        hits: Vec::new(),
        aws: aws::Candidates::default(),
        sas_until: 0,
        pem_until: 0,
    };
    let mut windows: Vec<Vec<Range<usize>>> = vec![Vec::new(); PATTERNS.len()];
    let mut stopped_at = None;
    // Most lines hold no keyword: find the next line that does with the fast unanchored
    // search, then list every keyword of that line, overlapping ones included.
    let mut position = 0;
    'lines: while let Some(first) = prefilter
        .automaton
        .find(Input::new(text).span(position..text.len()))
    {
        let line = line_start(text, first.start()).max(position)..next_line(text, first.end());
        position = line.end;
        let keywords = prefilter
            .automaton
            .find_overlapping_iter(Input::new(text).span(line.clone()));
        for keyword in keywords {
            if pass.is_full() {
                stopped_at = Some(keyword.start());
                break 'lines;
            }
            let Some(trigger) = prefilter.triggers.get(keyword.pattern().as_usize()) else {
                continue;
            };
            let at = keyword.start();
            match *trigger {
                Trigger::Token(index) => {
                    if let Some(shape) = SHAPES.get(index) {
                        tokens::check(shape, at, &mut pass);
                    }
                }
                Trigger::Pattern(index) => {
                    if let (Some(pattern), Some(list)) =
                        (PATTERNS.get(index), windows.get_mut(index))
                    {
                        // Each pattern runs once per line however often its keywords occur.
                        if list.last().is_none_or(|last| last.end < line.end) {
                            let window = widen(
                                text,
                                line.clone(),
                                pattern.lines_before,
                                pattern.lines_after,
                            );
                            add_window(list, window);
                        }
                    }
                }
                Trigger::PrivateKey if at >= pass.pem_until => private_key::check(at, &mut pass),
                Trigger::AzureClientSecret => azure::check_client_secret(at, &mut pass),
                Trigger::SasSignature if at >= pass.sas_until => azure::check_sas(at, &mut pass),
                Trigger::PrivateKey | Trigger::SasSignature => {}
            }
        }
    }
    for (index, list) in windows.iter().enumerate() {
        for window in list {
            if pass.is_full() {
                stopped_at = stopped_at.or(Some(window.start));
                break;
            }
            patterns::run(index, window.clone(), &mut pass);
        }
    }
    if let Some(name) = member_name {
        generic::check_member(name, &mut pass);
    }
    aws::pair(&mut pass);
    let mut hits = dedupe(pass.hits);
    if hits.len() > MAX_HITS_PER_TEXT {
        stopped_at = stopped_at.or_else(|| hits.get(MAX_HITS_PER_TEXT).map(|h| h.span.start));
        hits.truncate(MAX_HITS_PER_TEXT);
    }
    Found { hits, stopped_at }
}

/// Keeps, of overlapping hits, the one of the best priority (then the earliest).
fn dedupe(mut hits: Vec<Hit>) -> Vec<Hit> {
    hits.sort_by_key(|hit| (hit.priority, hit.span.start));
    let mut kept: Vec<Hit> = Vec::with_capacity(hits.len());
    for hit in hits {
        if !kept.iter().any(|k| k.overlaps(&hit)) {
            kept.push(hit);
        }
    }
    kept.sort_by_key(|hit| hit.span.start);
    kept
}

fn add_window(list: &mut Vec<Range<usize>>, window: Range<usize>) {
    if let Some(last) = list.last_mut()
        && window.start <= last.end
        && last.start <= window.end
    {
        last.start = last.start.min(window.start);
        last.end = last.end.max(window.end);
        return;
    }
    list.push(window);
}

/// `lines` extended by whole lines before and after (each capped at [`MAX_LINE_REACH`]).
fn widen(text: &[u8], lines: Range<usize>, before: usize, after: usize) -> Range<usize> {
    let mut start = lines.start;
    for _ in 0..before {
        if start == 0 {
            break;
        }
        start = line_start(text, start - 1);
    }
    let mut end = lines.end;
    for _ in 0..after {
        if end >= text.len() {
            break;
        }
        end = next_line(text, end).min(end.saturating_add(MAX_LINE_REACH));
    }
    start..end
}

/// The line around `at`, extended by whole lines before and after, each line capped at
/// [`MAX_LINE_REACH`] bytes either side.
pub(crate) fn line_window(text: &[u8], at: usize, before: usize, after: usize) -> Range<usize> {
    let mut start = line_start(text, at);
    for _ in 0..before {
        if start == 0 {
            break;
        }
        start = line_start(text, start - 1);
    }
    let mut end = line_end(text, at);
    for _ in 0..after {
        if end >= text.len() {
            break;
        }
        end = line_end(text, end + 1);
    }
    start..end
}

fn line_start(text: &[u8], at: usize) -> usize {
    let at = at.min(text.len());
    let floor = at.saturating_sub(MAX_LINE_REACH);
    let before = text.get(floor..at).unwrap_or_default();
    memchr::memrchr(b'\n', before).map_or(floor, |i| floor + i + 1)
}

/// The start of the line after the one holding `at` (or the end of the text).
fn next_line(text: &[u8], at: usize) -> usize {
    let rest = text.get(at..).unwrap_or_default();
    memchr::memchr(b'\n', rest).map_or(text.len(), |i| at + i + 1)
}

fn line_end(text: &[u8], at: usize) -> usize {
    let at = at.min(text.len());
    let ceiling = at.saturating_add(MAX_LINE_REACH).min(text.len());
    let after = text.get(at..ceiling).unwrap_or_default();
    memchr::memchr(b'\n', after).map_or(ceiling, |i| at + i)
}

/// The name a value at `start` is assigned to, if the text right before it is an
/// assignment: `HF_TOKEN = "`, `"api_key": "`, `token=`, `key => '`.
pub(crate) fn assigned_name(text: &[u8], start: usize) -> Option<String> {
    let before = text.get(..start)?;
    let mut i = before.len();
    let back = |i: usize| i.checked_sub(1).and_then(|j| before.get(j).copied());
    for _ in 0..2 {
        if matches!(back(i), Some(b'"' | b'\'' | b'`')) {
            i -= 1;
        }
    }
    while matches!(back(i), Some(b' ' | b'\t')) {
        i -= 1;
    }
    match back(i) {
        Some(b'>') if i >= 2 && before.get(i - 2) == Some(&b'=') => i -= 2,
        Some(b'=') => {
            i -= 1;
            if matches!(back(i), Some(b':')) {
                i -= 1;
            }
        }
        Some(b':') => i -= 1,
        _ => return None,
    }
    while matches!(back(i), Some(b' ' | b'\t')) {
        i -= 1;
    }
    for _ in 0..2 {
        if matches!(back(i), Some(b'"' | b'\'' | b']')) {
            i -= 1;
        }
    }
    let end = i;
    while let Some(b) = back(i) {
        if end - i >= 64 || !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')) {
            break;
        }
        i -= 1;
    }
    let name = before.get(i..end)?;
    match name.first() {
        Some(b) if b.is_ascii_alphabetic() || *b == b'_' => {
            Some(String::from_utf8_lossy(name).into_owned())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_names_are_read_back_from_the_value() {
        let cases: &[(&str, Option<&str>)] = &[
            ("HF_TOKEN = \"VALUE", Some("HF_TOKEN")),
            ("{\"api_key\": \"VALUE", Some("api_key")),
            ("token=VALUE", Some("token")),
            ("os.environ['KEY'] = 'VALUE", Some("KEY")),
            ("$key => 'VALUE", Some("key")),
            ("x := \"VALUE", Some("x")),
            ("login --token VALUE", None),
            ("= \"VALUE", None),
            ("VALUE", None),
        ];
        for (text, expected) in cases {
            let start = text.find("VALUE").unwrap();
            assert_eq!(
                assigned_name(text.as_bytes(), start).as_deref(),
                *expected,
                "{text}"
            );
        }
    }

    #[test]
    fn windows_cover_whole_lines_and_stay_bounded() {
        let text = b"one\ntwo key\nthree\nfour";
        assert_eq!(line_window(text, 6, 0, 0), 4..11);
        assert_eq!(line_window(text, 6, 1, 1), 0..17);
        assert_eq!(line_window(text, 6, 5, 5), 0..text.len());
        let long = vec![b'a'; 10 * MAX_LINE_REACH];
        let window = line_window(&long, 5 * MAX_LINE_REACH, 0, 0);
        assert_eq!(window.len(), 2 * MAX_LINE_REACH);
    }

    #[test]
    fn overlapping_hits_keep_the_most_specific() {
        let rule = &crate::rules::GENERIC_SECRET;
        let generic = Hit::new(rule, 0..10, b"x", String::new(), Priority::Generic);
        let token = Hit::new(
            &crate::rules::GITHUB_TOKEN,
            2..8,
            b"y",
            String::new(),
            Priority::Token,
        );
        let apart = Hit::new(rule, 20..30, b"z", String::new(), Priority::Generic);
        let kept = dedupe(vec![generic, token, apart]);
        let ids: Vec<&str> = kept.iter().map(|h| h.rule.id).collect();
        assert_eq!(ids, ["secret/github-token", "secret/generic-secret"]);
    }
}
