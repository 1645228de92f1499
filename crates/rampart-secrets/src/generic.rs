//! The catch-all rule: a random-looking value assigned to a name that says it is a secret.
//! It fires only when both halves agree: the name's last word is a secret word (so
//! `token_type`, `password_hash` and `max_tokens` are not), and the value has a key's
//! length, character mix and entropy while not being a reference, path, hash or UUID.

use std::ops::Range;

use crate::engine::{Hit, Pass, Priority};
use crate::filters::{Classes, entropy, is_hex, is_placeholder};
use crate::rules::GENERIC_SECRET;
use crate::{aws, tokens};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SecretName {
    /// Human-chosen: shorter values with a varied character mix count.
    Password,
    /// Machine-generated keys and tokens: long and random.
    Key,
}

/// Words before `token` that make it a tokenizer, pagination or anti-CSRF token.
const NOT_CREDENTIAL_TOKENS: &[&str] = &[
    "pad",
    "eos",
    "bos",
    "unk",
    "cls",
    "sep",
    "mask",
    "start",
    "end",
    "sos",
    "eot",
    "eod",
    "eom",
    "special",
    "added",
    "begin",
    "image",
    "img",
    "audio",
    "video",
    "vision",
    "boi",
    "eoi",
    "max",
    "min",
    "num",
    "n",
    "csrf",
    "xsrf",
    "next",
    "page",
    "continuation",
    "cancel",
    "cancellation",
    "sync",
    "pagination",
    "resume",
    "last",
    "first",
    "sentinel",
    "fim",
    "think",
    "tool",
    "default",
    "word",
    "sub",
    "subword",
    "bpe",
    "unknown",
    "padding",
    "separator",
    "classifier",
    "stop",
    "new",
    "prompt",
    "system",
    "user",
    "assistant",
    "placeholder",
    "dummy",
    "cursor",
    "offset",
    "id",
    "input",
    "output",
    "limit",
    "result",
    "more",
    "total",
    "count",
];

/// Words before `key` that make it a credential rather than a dictionary, cache or
/// database key (or a public key).
const KEY_QUALIFIERS: &[&str] = &[
    "api",
    "secret",
    "access",
    "private",
    "auth",
    "signing",
    "sign",
    "encryption",
    "encrypt",
    "master",
    "client",
    "app",
    "application",
    "account",
    "service",
    "subscription",
    "admin",
    "bot",
    "consumer",
    "license",
    "storage",
    "session",
    "hmac",
    "jwt",
    "shared",
    "write",
    "deploy",
    "ingest",
    "ingestion",
    "integration",
    "webhook",
    "cipher",
    "crypto",
    "aes",
    "fernet",
    "django",
    "flask",
    "openai",
    "anthropic",
    "claude",
    "cohere",
    "mistral",
    "groq",
    "together",
    "pinecone",
    "wandb",
    "comet",
    "neptune",
    "langchain",
    "langsmith",
    "serpapi",
    "tavily",
    "google",
    "gemini",
    "azure",
    "aws",
    "gcp",
    "stripe",
    "twilio",
    "sendgrid",
    "mailgun",
    "slack",
    "github",
    "gitlab",
    "replicate",
    "huggingface",
    "hf",
    "deepseek",
    "perplexity",
    "xai",
    "fireworks",
    "anyscale",
    "voyage",
    "jina",
    "elevenlabs",
    "assemblyai",
    "deepgram",
    "weaviate",
    "qdrant",
    "datadog",
    "newrelic",
];

/// Single words (after splitting) that name a credential outright.
const SECRET_WORDS: &[&str] = &[
    "secret",
    "token",
    "apikey",
    "credential",
    "credentials",
    "secretkey",
    "accesskey",
    "privatekey",
    "authkey",
    "authtoken",
    "accesstoken",
    "apitoken",
    "clientsecret",
    "bearertoken",
    "refreshtoken",
];

const PASSWORD_WORDS: &[&str] = &["password", "passwd", "pwd", "passphrase"];

/// Words that, before `pass`, make it a password rather than a pass of a loop.
const PASS_QUALIFIERS: &[&str] = &[
    "db", "database", "user", "admin", "root", "smtp", "mail", "email", "redis", "mysql",
    "postgres", "pg", "ftp", "ldap", "proxy", "sql", "app", "service", "login", "rabbitmq",
    "mongo", "mongodb",
];

/// Splits an identifier into lower-case words at separators and camelCase boundaries
/// (`HF_API_TOKEN`, `hfApiToken` and `hf-api-token` all give `hf api token`); trailing
/// numbers are dropped (`password2` is a password).
fn words(name: &[u8]) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &b) in name.iter().enumerate() {
        if !b.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        let previous = i.checked_sub(1).and_then(|j| name.get(j)).copied();
        let next = name.get(i + 1).copied();
        let camel = b.is_ascii_uppercase()
            && (previous.is_some_and(|p| p.is_ascii_lowercase())
                || (previous.is_some_and(|p| p.is_ascii_uppercase())
                    && next.is_some_and(|n| n.is_ascii_lowercase())));
        let digits_after_letters =
            b.is_ascii_digit() && previous.is_some_and(|p| p.is_ascii_alphabetic());
        if (camel || digits_after_letters) && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.push(char::from(b.to_ascii_lowercase()));
    }
    if !current.is_empty() {
        words.push(current);
    }
    while words
        .last()
        .is_some_and(|w| w.bytes().all(|b| b.is_ascii_digit()))
    {
        words.pop();
    }
    words
}

/// Words that make any name about something other than a secret: a digest of one, or a
/// value that is public by design (`publicKeyToken`, `publishable_key`).
const NOT_SECRET_WORDS: &[&str] = &[
    // SPDX and ScanCode license identifiers (`spdx_license_key`), not license keys.
    "spdx",
    "scancode",
    "hash",
    "hashed",
    "digest",
    "checksum",
    "sha",
    "sha1",
    "sha256",
    "sha512",
    "md5",
    "fingerprint",
    "etag",
    "crc",
    "public",
    "publishable",
];

/// Whether `name` names a secret, and which kind.
pub(crate) fn classify(name: &[u8]) -> Option<SecretName> {
    let words = words(name);
    if words.iter().any(|w| NOT_SECRET_WORDS.contains(&w.as_str())) {
        return None;
    }
    let last = words.last()?.as_str();
    let previous = words.len().checked_sub(2).and_then(|i| words.get(i));
    let previous = previous.map(String::as_str);
    let previous_is = |list: &[&str]| previous.is_some_and(|p| list.contains(&p));
    if PASSWORD_WORDS.contains(&last) || (last == "pass" && previous_is(PASS_QUALIFIERS)) {
        return Some(SecretName::Password);
    }
    if last == "token" && previous_is(NOT_CREDENTIAL_TOKENS) {
        return None;
    }
    if SECRET_WORDS.contains(&last) || (last == "key" && previous_is(KEY_QUALIFIERS)) {
        return Some(SecretName::Key);
    }
    // Run-together names: `dbpassword`, `hftoken`, `openaiapikey`.
    if ["password", "passwd"]
        .iter()
        .any(|s| last.len() > s.len() && last.ends_with(s))
    {
        return Some(SecretName::Password);
    }
    if ["token", "secret", "apikey"]
        .iter()
        .any(|s| last.len() > s.len() && last.ends_with(s))
        && !["csrftoken", "xsrftoken", "nexttoken", "pagetoken"].contains(&last)
    {
        return Some(SecretName::Key);
    }
    None
}

/// Whether `value`, assigned to a name of kind `kind`, looks like a real secret.
pub(crate) fn plausible_value(value: &[u8], kind: SecretName) -> bool {
    let min_len = match kind {
        SecretName::Password => 10,
        SecretName::Key => 16,
    };
    if value.len() < min_len || value.len() > 256 || is_placeholder(value) {
        return false;
    }
    if is_reference(value) || is_uuid(value) || is_email(value) || is_digest(value) {
        return false;
    }
    if kind == SecretName::Key && is_slug(value) {
        return false;
    }
    // `a=1&b=2`: a query string, not one value.
    let unpadded = value
        .strip_suffix(b"==")
        .or_else(|| value.strip_suffix(b"="))
        .unwrap_or(value);
    if value.contains(&b'&') || (kind == SecretName::Key && unpadded.contains(&b'=')) {
        return false;
    }
    // A provider's prefix on a value its rule rejected: truncated, fake or documentation.
    if is_code_identifier(value) || tokens::has_strict_prefix(value) {
        return false;
    }
    // Machine-made keys use base64, base64url, hex and a few joiners; brackets, colons and
    // the like are code or prose.
    let key_alphabet = value.iter().all(|&b| {
        b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'_' | b'-' | b'.' | b'~')
    });
    if kind == SecretName::Key && !key_alphabet {
        return false;
    }
    let classes = Classes::of(value);
    let bits = entropy(value);
    match kind {
        SecretName::Password => classes.variety() >= 3 && bits >= 3.0,
        SecretName::Key if is_hex(value) => bits >= 3.0 && classes.letters() > 0,
        SecretName::Key => classes.digit > 0 && classes.letters() > 0 && bits >= 3.5,
    }
}

/// Short words joined by `-`, `.` or `_` (`LicenseRef-scancode-scsl-3.0`,
/// `gpt-4o-mini-2024-07-18`): a name, version or identifier. Generated keys carry at least
/// one long random run.
fn is_slug(value: &[u8]) -> bool {
    if value.len() >= 11 && value[..11].eq_ignore_ascii_case(b"LicenseRef-") {
        return true;
    }
    let segments: Vec<&[u8]> = value
        .split(|&b| matches!(b, b'-' | b'.' | b'_'))
        .filter(|part| !part.is_empty())
        .collect();
    // A word (`chartdirector`, `Acknowledgment`), a number (`2023`, `6`) or a short token
    // (`4o`, `x11`): names and versions are made of these; generated keys carry a long run
    // mixing letters and digits.
    let word_like = |segment: &&[u8]| {
        let digits = segment.iter().filter(|b| b.is_ascii_digit()).count();
        let one_case = !segment.iter().any(u8::is_ascii_uppercase)
            || !segment.iter().any(u8::is_ascii_lowercase);
        (segment.len() <= 16 && segment.iter().all(u8::is_ascii_alphabetic))
            || (segment.len() <= 8 && digits == segment.len())
            || (segment.len() <= 12 && digits <= 3 && one_case)
            || segment.len() <= 5
    };
    segments.len() >= 2 && segments.iter().all(word_like)
}
/// Environment lookups, paths and URLs: where the secret comes from, not the secret.
fn is_reference(value: &[u8]) -> bool {
    let lowered = value.to_ascii_lowercase();
    let contains = |needle: &[u8]| memchr::memmem::find(&lowered, needle).is_some();
    lowered.starts_with(b"/")
        || lowered.starts_with(b"./")
        || lowered.starts_with(b"../")
        || lowered.starts_with(b"~/")
        || contains(b"://")
        || contains(b"environ")
        || contains(b"getenv")
        || contains(b"process.env")
        || contains(b"secrets.")
        || contains(b"vault:")
        || contains(b"arn:aws")
}

fn is_uuid(value: &[u8]) -> bool {
    value.len() == 36
        && value.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

fn is_email(value: &[u8]) -> bool {
    let mut parts = value.split(|&b| b == b'@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !local.is_empty()
        && domain.contains(&b'.')
        && domain
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
}

/// `sha256:…`, `sha512-…` (npm integrity), `md5:…`: digests, not secrets.
fn is_digest(value: &[u8]) -> bool {
    let lowered = value.to_ascii_lowercase();
    [
        "sha1", "sha224", "sha256", "sha384", "sha512", "md5", "blake2b", "blake3",
    ]
    .iter()
    .any(|algorithm| {
        lowered.starts_with(algorithm.as_bytes())
            && matches!(lowered.get(algorithm.len()), Some(b':' | b'-' | b'='))
    })
}

/// `settings.SECRET_KEY`, `x25519.X25519PrivateKey`, `MY_TOKEN_2`,
/// `default_password_value`: code, not data. Random keys have segments that mix letters
/// and digits, and no dots (JWTs aside).
fn is_code_identifier(value: &[u8]) -> bool {
    if !value
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.'))
    {
        return false;
    }
    let is_name = |segment: &[u8]| {
        segment
            .first()
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
            && segment.len() <= 40
    };
    if value.contains(&b'.')
        && !value.starts_with(b"eyJ")
        && value.split(|&b| b == b'.').all(is_name)
    {
        return true;
    }
    if !value.iter().any(|&b| matches!(b, b'_' | b'.')) {
        return false;
    }
    value.split(|&b| matches!(b, b'_' | b'.')).all(|segment| {
        let letters = segment
            .iter()
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        let rest = segment.get(letters..).unwrap_or_default();
        rest.iter().all(u8::is_ascii_digit) && (letters >= 2 || letters == 0)
    })
}

fn name_text(name: &[u8]) -> String {
    String::from_utf8_lossy(name).chars().take(80).collect()
}

/// `name = value` found by a pattern.
pub(crate) fn check_assignment(name: &[u8], value: &[u8], span: Range<usize>, pass: &mut Pass<'_>) {
    let Some(kind) = classify(name) else {
        return;
    };
    if !plausible_value(value, kind) {
        return;
    }
    let what = match kind {
        SecretName::Password => "password",
        SecretName::Key => "secret",
    };
    let message = format!(
        "random-looking value assigned to `{}`, a {what} name: no provider format matched, so \
         whoever reads the file holds a credential of unknown reach",
        name_text(name)
    );
    pass.push(Hit::new(
        &GENERIC_SECRET,
        span,
        value,
        message,
        Priority::Generic,
    ));
}

/// The whole text is the value of JSON member `name`.
pub(crate) fn check_member(name: &[u8], pass: &mut Pass<'_>) {
    let value = pass.text;
    if value.iter().any(u8::is_ascii_whitespace) {
        return;
    }
    if aws::is_secret_access_key_name(name) && aws::looks_like_secret_access_key(value) {
        pass.aws
            .named_secrets
            .push((0..value.len(), name_text(name)));
        return;
    }
    check_assignment(name, value, 0..value.len(), pass);
}

/// `Authorization: Bearer <value>` and the like.
pub(crate) fn check_authorization(value: &[u8], span: Range<usize>, pass: &mut Pass<'_>) {
    let value_trimmed = value.strip_suffix(b"=").unwrap_or(value);
    if !plausible_value(value_trimmed, SecretName::Key) {
        return;
    }
    let message = "credential sent in an Authorization header: whoever reads the file can make \
                   the same authenticated requests"
        .to_owned();
    pass.push(Hit::new(
        &GENERIC_SECRET,
        span,
        value,
        message,
        Priority::Generic,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_into_words() {
        assert_eq!(words(b"HF_API_TOKEN"), ["hf", "api", "token"]);
        assert_eq!(words(b"hfApiToken"), ["hf", "api", "token"]);
        assert_eq!(words(b"APIKey"), ["api", "key"]);
        assert_eq!(words(b"self.db-password2"), ["self", "db", "password"]);
        assert_eq!(words(b"api_key_2"), ["api", "key"]);
    }

    #[test]
    fn slugs_are_identifiers_not_keys() {
        assert!(is_slug(b"LicenseRef-scancode-scsl-3.0"));
        assert!(is_slug(b"gpt-4o-mini-2024-07-18"));
        assert!(is_slug(b"LicenseRef-scancode-proprietary-commercial"));
        assert!(is_slug(b"charity-ware"));
        assert!(is_slug(b"chartdirector-6.0"));
        assert!(is_slug(b"Mackerras-3-Clause-acknowledgment"));
        assert!(!is_slug(b"sk-proj-q8Zr2LmX0vTb7NcY4hWd"));
        assert!(is_slug(b"ziplist5-geocode-duplication-addendum"));
        assert!(is_slug(b"maxmind-geolite2-eula-2019"));
        assert!(!is_slug(b"Zq8r2LmX0vTb-7NcY4hWdP3sK"));
        assert!(!is_slug(b"xto0Kq2Lm9PzR8sT4vW1yB3n"));
        assert!(!plausible_value(
            b"LicenseRef-scancode-scsl-3.0",
            SecretName::Key
        ));
        assert!(!is_slug(b"ak-Zq8r2LmX0vTb7NcY4hWdP3sK"));
        assert!(!is_slug(b"q8Zr2LmX0vTb7NcY4hWdP3sK9a"));
    }

    #[test]
    fn secret_names_are_told_from_lookalikes() {
        for name in [
            "HF_TOKEN",
            "api_key",
            "apiKey",
            "OPENAI_API_KEY",
            "client_secret",
            "DB_PASSWORD",
            "db_pass",
            "secretKey",
            "refresh_token",
            "hftoken",
            "credentials",
        ] {
            assert!(classify(name.as_bytes()).is_some(), "{name}");
        }
        for name in [
            "token_type",
            "max_tokens",
            "pad_token",
            "eos_token",
            "password_hash",
            "spdx_license_key",
            "secret_name",
            "cache_key",
            "public_key",
            "key",
            "tokenizer",
            "csrf_token",
            "next_token",
            "output_token",
            "bypass",
            "checkpoint_path",
            "publicKeyToken",
        ] {
            assert!(classify(name.as_bytes()).is_none(), "{name}");
        }
        assert_eq!(classify(b"smtp_password"), Some(SecretName::Password));
    }

    #[test]
    fn values_must_look_random() {
        let key = SecretName::Key;
        assert!(plausible_value(b"q8Zr2LmX0vTb7NcY4hWd", key));
        assert!(plausible_value(b"9f86d081884c7d659a2feaa0c55ad015", key));
        for value in [
            "short1",
            "settings.SECRET_KEY_2",
            "x25519.X25519PrivateKey",
            "MY_SECRET_TOKEN_2",
            "123e4567-e89b-12d3-a456-426614174000",
            "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
            "https://example.org/token123abc",
            "os.environ.get1234567",
            "user1234@corp-mail.net",
            "onlylettersinthisvalue",
            "YOUR_API_KEY_GOES_HERE_123",
            "45ghiukldj4hdnhzd&token_type_hint=refresh_token",
            "StreamDescription.Shards[-1].ShardId",
        ] {
            assert!(!plausible_value(value.as_bytes(), key), "{value}");
        }
        assert!(plausible_value(b"S3cure!Pass99", SecretName::Password));
        assert!(!plausible_value(b"password1234", SecretName::Password));
        assert!(!plausible_value(
            b"SomeKindOfPassword123!@#",
            SecretName::Password
        ));
    }
}
