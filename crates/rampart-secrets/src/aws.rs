//! AWS keys come in two halves: the access key ID (`AKIA…`, recognisable, not secret on its
//! own) and the secret access key (40 base64 characters, recognisable only by its name or
//! by sitting next to an ID). The halves are collected during the pass and paired here.

use std::ops::Range;
use std::sync::LazyLock;

use regex::bytes::Regex;

use crate::engine::{Hit, Pass, Priority, line_window};
use crate::filters::{Classes, entropy, is_base64_byte, is_placeholder};
use crate::redact::redact;
use crate::rules::{AWS_ACCESS_KEY, AWS_ACCESS_KEY_ID};

/// How many lines apart an ID and a secret may be and still be one key (a credentials
/// file section, a CSV row, two neighbouring environment variables).
const PAIRING_LINES: usize = 3;

/// Halves found during a pass, paired by [`pair`].
#[derive(Debug, Default)]
pub(crate) struct Candidates {
    pub key_ids: Vec<Range<usize>>,
    /// Secret access keys assigned to a name that says so, with the name.
    pub named_secrets: Vec<(Range<usize>, String)>,
}

/// 40 base64 characters with upper- and lower-case letters: git SHAs (40 hex) and words do
/// not qualify, random keys almost always do.
pub(crate) fn looks_like_secret_access_key(value: &[u8]) -> bool {
    let classes = Classes::of(value);
    value.len() == 40
        && value.iter().all(|&b| is_base64_byte(b))
        && classes.upper > 0
        && classes.lower > 0
        && (classes.digit > 0 || classes.other > 0)
        && entropy(value) >= 4.0
        && !is_placeholder(value)
}

/// `aws_secret_access_key`, `AWS_SECRET_KEY`, `SecretAccessKey`, `secret_access_key`.
pub(crate) fn is_secret_access_key_name(name: &[u8]) -> bool {
    let lowered: Vec<u8> = name
        .iter()
        .filter(|b| b.is_ascii_alphanumeric())
        .map(u8::to_ascii_lowercase)
        .collect();
    let has = |needle: &[u8]| memchr::memmem::find(&lowered, needle).is_some();
    lowered.ends_with(b"key") && has(b"secret") && (has(b"aws") || has(b"secretaccess"))
}

static UNNAMED_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u)(?:^|[^A-Za-z0-9/+=])(?P<secret>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)")
        .expect("static pattern compiles")
});

fn lines_between(text: &[u8], a: &Range<usize>, b: &Range<usize>) -> usize {
    let (from, to) = if a.start <= b.start {
        (a.end, b.start)
    } else {
        (b.end, a.start)
    };
    text.get(from..to).map_or(usize::MAX, |between| {
        memchr::memchr_iter(b'\n', between).count()
    })
}

fn describe_id(id: &[u8]) -> &'static str {
    match id.get(..4) {
        Some(b"ASIA") => "temporary (STS) access key ID",
        Some(b"AKIA") => "long-term access key ID of an IAM user",
        _ => "access key ID",
    }
}

/// Turns the pass's AWS candidates into hits: a secret with or without its ID is
/// `secret/aws-access-key`; an ID with no secret near it is `secret/aws-access-key-id`.
pub(crate) fn pair(pass: &mut Pass<'_>) {
    let text = pass.text;
    let key_ids = std::mem::take(&mut pass.aws.key_ids);
    let named = std::mem::take(&mut pass.aws.named_secrets);
    let mut used = vec![false; key_ids.len()];
    let id_bytes = |span: &Range<usize>| text.get(span.clone()).unwrap_or_default();

    for (span, name) in named {
        let secret = text.get(span.clone()).unwrap_or_default();
        let partner = key_ids
            .iter()
            .enumerate()
            .filter(|(_, id)| lines_between(text, id, &span) <= PAIRING_LINES)
            .min_by_key(|(_, id)| lines_between(text, id, &span));
        let (message, evidence) = match partner {
            Some((index, id)) => {
                if let Some(flag) = used.get_mut(index) {
                    *flag = true;
                }
                (
                    format!(
                        "AWS secret access key assigned to `{name}`, next to its {}: anyone \
                         who reads the file can sign AWS API requests as that identity",
                        describe_id(id_bytes(id))
                    ),
                    format!("{} with key ID {}", redact(secret), redact(id_bytes(id))),
                )
            }
            None => (
                format!(
                    "AWS secret access key assigned to `{name}`: with its key ID (often in a \
                     neighbouring file or variable) anyone can sign AWS API requests as that \
                     identity"
                ),
                redact(secret),
            ),
        };
        pass.push(
            Hit::new(&AWS_ACCESS_KEY, span, secret, message, Priority::Structured)
                .with_evidence(evidence),
        );
    }

    for (id, _) in key_ids.iter().zip(&used).filter(|(_, used)| !**used) {
        let key_id = id_bytes(id);
        let window = line_window(text, id.start, PAIRING_LINES, PAIRING_LINES);
        let haystack = text.get(window.clone()).unwrap_or_default();
        let secret_span = UNNAMED_SECRET
            .captures_iter(haystack)
            .filter_map(|c| c.name("secret"))
            .filter(|m| looks_like_secret_access_key(m.as_bytes()))
            .map(|m| window.start + m.start()..window.start + m.end())
            .find(|span| span.end <= id.start || span.start >= id.end);
        match secret_span {
            Some(span) => {
                let secret = text.get(span.clone()).unwrap_or_default();
                let message = format!(
                    "AWS secret access key next to its {}: anyone who reads the file can sign \
                     AWS API requests as that identity",
                    describe_id(key_id)
                );
                let evidence = format!("{} with key ID {}", redact(secret), redact(key_id));
                pass.push(
                    Hit::new(&AWS_ACCESS_KEY, span, secret, message, Priority::Structured)
                        .with_evidence(evidence),
                );
            }
            None => {
                let message = format!(
                    "AWS {} with no secret access key next to it: it names the account, and \
                     its secret is likely in another file or an earlier commit",
                    describe_id(key_id)
                );
                pass.push(Hit::new(
                    &AWS_ACCESS_KEY_ID,
                    id.clone(),
                    key_id,
                    message,
                    Priority::Token,
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_access_key_names() {
        for name in [
            "aws_secret_access_key",
            "AWS_SECRET_KEY",
            "SecretAccessKey",
            "secret_access_key",
        ] {
            assert!(is_secret_access_key_name(name.as_bytes()), "{name}");
        }
        for name in ["secret_key", "aws_access_key_id", "aws_secret_name"] {
            assert!(!is_secret_access_key_name(name.as_bytes()), "{name}");
        }
    }

    #[test]
    fn git_shas_are_not_secret_keys() {
        assert!(!looks_like_secret_access_key(
            b"da39a3ee5e6b4b0d3255bfef95601890afd80709"
        ));
        assert!(looks_like_secret_access_key(
            b"q8Zr2LmX0vTb7NcY4hWd/K3pQs9Fj1Ue5Ra+Vz6o"
        ));
    }
}
