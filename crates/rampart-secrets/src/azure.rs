//! Azure credentials whose shape a prefix cannot describe: Entra ID client secrets (a
//! `Q~` marker at a fixed offset) and shared access signatures (a query string with a
//! service version and a signature).

use crate::engine::{Hit, Pass, Priority, Provider};
use crate::filters::{entropy, is_placeholder};
use crate::rules;

pub(crate) const CLIENT_SECRET_KEYWORD: &str = "Q~";
pub(crate) const SAS_KEYWORD: &str = "sig=";

/// How far a SAS query string may reach around its `sig=`.
const MAX_QUERY_REACH: usize = 4096;

static CLIENT_SECRET: Provider = Provider {
    rule: &rules::AZURE_CLIENT_SECRET,
    noun: "Microsoft Entra ID client secret",
    risk: "with the application's client and tenant IDs anyone who reads the file can sign in \
           as the service principal",
};

fn is_client_secret_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'~' | b'.' | b'-')
}

/// Entra ID client secrets: three characters, a digit, `Q~`, then 31 to 34 characters.
pub(crate) fn check_client_secret(at: usize, pass: &mut Pass<'_>) {
    let text = pass.text;
    if text.get(at..at.saturating_add(2)) != Some(b"Q~") {
        return;
    }
    let Some(start) = at.checked_sub(4) else {
        return;
    };
    let Some(&[a, b, c, digit]) = text.get(start..at) else {
        return;
    };
    let head_ok = [a, b, c]
        .iter()
        .all(|&x| x.is_ascii_alphanumeric() || matches!(x, b'_' | b'~' | b'.'))
        && digit.is_ascii_digit();
    let glued = start
        .checked_sub(1)
        .and_then(|i| text.get(i))
        .is_some_and(|&x| is_client_secret_byte(x));
    if !head_ok || glued {
        return;
    }
    let tail_start = at + 2;
    let tail_len = text
        .get(tail_start..)
        .unwrap_or_default()
        .iter()
        .take(35)
        .take_while(|&&x| is_client_secret_byte(x))
        .count();
    if !(31..=34).contains(&tail_len) {
        return;
    }
    let end = tail_start + tail_len;
    let secret = text.get(start..end).unwrap_or_default();
    if entropy(secret) < 3.5 || is_placeholder(secret) {
        return;
    }
    let message = CLIENT_SECRET.describe(text, start);
    pass.push(Hit::new(
        CLIENT_SECRET.rule,
        start..end,
        secret,
        message,
        Priority::Token,
    ));
}

fn ends_query(b: u8) -> bool {
    b.is_ascii_whitespace()
        || matches!(
            b,
            b'"' | b'\''
                | b'`'
                | b'<'
                | b'>'
                | b'('
                | b')'
                | b'['
                | b']'
                | b'{'
                | b'}'
                | b'\\'
                | b','
        )
}

/// Printable, short: for naming the resource and permissions of a SAS in a message.
fn shown(value: &[u8], max: usize) -> String {
    String::from_utf8_lossy(value)
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect()
}

fn is_service_version(value: &[u8]) -> bool {
    value.len() == 10
        && value.iter().enumerate().all(|(i, &b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        })
}

/// A `sig=` that belongs to a SAS: the same query string carries `sv=YYYY-MM-DD`, and the
/// signature is a base64 (possibly percent-encoded) HMAC.
pub(crate) fn check_sas(at: usize, pass: &mut Pass<'_>) {
    let text = pass.text;
    let Some(b"sig=") = text.get(at..at.saturating_add(4)) else {
        return;
    };
    if !matches!(
        at.checked_sub(1).and_then(|i| text.get(i)),
        Some(b'?' | b'&' | b';')
    ) {
        return;
    }
    let floor = at.saturating_sub(MAX_QUERY_REACH).max(pass.sas_until);
    let start = text
        .get(floor..at)
        .and_then(|before| before.iter().rposition(|&b| ends_query(b)))
        .map_or(floor, |i| floor + i + 1);
    let ceiling = at.saturating_add(MAX_QUERY_REACH).min(text.len());
    let end = text
        .get(at..ceiling)
        .and_then(|after| after.iter().position(|&b| ends_query(b)))
        .map_or(ceiling, |i| at + i);
    pass.sas_until = end;
    let Some(url) = text.get(start..end) else {
        return;
    };
    let local_at = at - start;
    let query_start = url
        .get(..local_at)
        .and_then(|before| memchr::memrchr(b'?', before))
        .map_or(0, |i| i + 1);
    let query = url.get(query_start..).unwrap_or_default();
    let mut version = false;
    let mut signature = None;
    let mut permissions: &[u8] = b"";
    let mut expiry: &[u8] = b"";
    let mut offset = query_start;
    for param in query.split(|&b| b == b'&') {
        let param_start = offset;
        offset += param.len() + 1;
        let (param, skipped) = match param.strip_prefix(b"amp;") {
            Some(rest) => (rest, 4),
            None => (param, 0),
        };
        let Some(eq) = memchr::memchr(b'=', param) else {
            continue;
        };
        let (key, value) = param.split_at(eq);
        let value = value.get(1..).unwrap_or_default();
        match key {
            b"sv" => version = is_service_version(value),
            b"sp" => permissions = value,
            b"se" => expiry = value,
            b"sig" => {
                let value_start = start + param_start + skipped + eq + 1;
                signature = Some((value_start..value_start + value.len(), value));
            }
            _ => {}
        }
    }
    let Some((span, sig)) = signature else {
        return;
    };
    let well_formed = sig.len() >= 40
        && sig
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'%' | b'+' | b'/' | b'='));
    if !version || !well_formed || is_placeholder(sig) || entropy(sig) < 4.0 {
        return;
    }
    let resource = url
        .get(..query_start.saturating_sub(1))
        .map(|before| {
            let after_scheme = memchr::memmem::find(before, b"://")
                .map_or(before, |i| before.get(i + 3..).unwrap_or_default());
            shown(after_scheme, 120)
        })
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "a storage resource".to_owned());
    let mut details = Vec::new();
    if !permissions.is_empty() {
        details.push(format!("permissions `{}`", shown(permissions, 16)));
    }
    if !expiry.is_empty() {
        details.push(format!("expiry {}", shown(expiry, 32)));
    }
    let details = if details.is_empty() {
        String::new()
    } else {
        format!(" ({})", details.join(", "))
    };
    let message = format!(
        "Azure shared access signature for {resource}{details}: anyone who reads the file has \
         these rights until it expires or its signing key is rotated"
    );
    pass.push(Hit::new(
        &rules::AZURE_SAS_TOKEN,
        span,
        sig,
        message,
        Priority::Token,
    ));
}
