//! Recognising hard-coded credentials by where they are put: a literal value assigned to a
//! variable whose name says secret (`HF_TOKEN`, `DB_PASSWORD`, `WANDB_API_KEY`). Token
//! shapes anywhere in a file are the secret scanner's job; this module only knows names,
//! so it also catches the shapeless ones (a database password) that a pattern cannot.

/// Words that make a variable name a secret on their own.
const SECRET_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "PASS",
    "PWD",
    "SECRET",
    "SECRETS",
    "TOKEN",
    "APIKEY",
    "CREDENTIAL",
    "CREDENTIALS",
    "CREDS",
    "PRIVATEKEY",
    "ACCESSKEY",
    "PAT",
];

/// `<word>_KEY` names that hold key material (as opposed to `SORT_KEY`, `CACHE_KEY`).
const KEY_QUALIFIERS: &[&str] = &[
    "API",
    "ACCESS",
    "PRIVATE",
    "SECRET",
    "AUTH",
    "CLIENT",
    "ENCRYPTION",
    "SIGNING",
    "MASTER",
    "ACCOUNT",
    "LICENSE",
    "SESSION",
    "JWT",
    "HMAC",
    "WEBHOOK",
    "SSH",
    "DEPLOY",
    "APP",
    "SERVICE",
    "ADMIN",
    "SHARED",
];

/// Last words that make the name describe a secret rather than hold one.
const DESCRIBING_WORDS: &[&str] = &[
    "FILE",
    "FILES",
    "PATH",
    "DIR",
    "NAME",
    "ID",
    "URL",
    "URI",
    "ENDPOINT",
    "HOST",
    "PORT",
    "USER",
    "USERNAME",
    "LENGTH",
    "LEN",
    "SIZE",
    "TYPE",
    "ENABLED",
    "ENABLE",
    "MODE",
    "REF",
    "REGION",
    "VERSION",
    "HEADER",
    "FORMAT",
    "LIMIT",
    "COUNT",
    "EXPIRY",
    "EXPIRES",
    "TTL",
    "TIMEOUT",
    "REQUIRED",
    "POLICY",
    "ALGORITHM",
    "PREFIX",
    "FIELD",
    "PARAM",
    "ARN",
    "MOUNT",
    "LOCATION",
    "SOURCE",
    "PROVIDER",
];

/// Splits `wandbApiKey`, `WANDB_API_KEY`, `wandb-api.key` into upper-case words.
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && previous_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        current.push(c.to_ascii_uppercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Whether a variable, input or key name says it holds a credential.
pub(crate) fn is_secret_name(name: &str) -> bool {
    let words = words(name);
    let Some(last) = words.last() else {
        return false;
    };
    if matches!(name, "PWD" | "OLDPWD") || DESCRIBING_WORDS.contains(&last.as_str()) {
        return false;
    }
    if words.iter().any(|w| SECRET_WORDS.contains(&w.as_str())) {
        return true;
    }
    let key_material = words
        .windows(2)
        .any(|pair| matches!(pair, [qualifier, key] if key == "KEY" && KEY_QUALIFIERS.contains(&qualifier.as_str())));
    key_material || (last == "AUTH" && words.len() > 1)
}

/// Whether a value is a literal credential rather than a reference (`$VAR`, `${{ … }}`,
/// `{{ … }}`), a placeholder (`changeme`, `<your-token>`), a path, an identifier such as an
/// ARN, or a number.
pub(crate) fn is_literal_secret(value: &str) -> bool {
    let value = value.trim();
    let lower = value.to_ascii_lowercase();
    if value.chars().count() < 4 {
        return false;
    }
    let reference = ["$", "{{", "%(", "#{", "<", "%"]
        .iter()
        .any(|marker| value.starts_with(marker))
        || value.contains("${")
        || value.contains("$(")
        || value.contains("{{");
    if reference {
        return false;
    }
    if let Some((_, rest)) = lower.split_once("://") {
        // A URL is a secret only when it carries a password (`postgres://u:pw@host`).
        let authority = rest.split('/').next().unwrap_or("");
        return authority.rsplit_once('@').is_some_and(|(userinfo, _)| {
            userinfo
                .split_once(':')
                .is_some_and(|(_, p)| is_literal_secret(p))
        });
    }
    let not_secret_shape = [
        "/",
        "./",
        "~/",
        "arn:",
        "file:",
        "projects/",
        "sm://",
        "vault:",
    ]
    .iter()
    .any(|prefix| lower.starts_with(prefix))
        || value
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
        || matches!(
            lower.as_str(),
            "true" | "false" | "yes" | "no" | "none" | "null"
        );
    if not_secret_shape {
        return false;
    }
    let mut distinct: Vec<char> = lower
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() <= 1 {
        // `********`, `xxxxxxxx`, `00000000`.
        return false;
    }
    !is_placeholder(&lower)
}

fn is_placeholder(lower: &str) -> bool {
    const EXACT: &[&str] = &[
        "changeme",
        "change_me",
        "change-me",
        "changeit",
        "password",
        "passwd",
        "secret",
        "token",
        "apikey",
        "api_key",
        "dummy",
        "test",
        "testing",
        "todo",
        "tbd",
        "fixme",
        "empty",
        "unset",
        "redacted",
        "sample",
        "string",
        "value",
    ];
    const CONTAINED: &[&str] = &[
        "example",
        "your",
        "placeholder",
        "replace",
        "insert",
        "xxxx",
        "****",
        "...",
        "dummy",
        "fake",
        "changeme",
        "notasecret",
        "not-a-secret",
    ];
    EXACT.contains(&lower) || CONTAINED.iter().any(|part| lower.contains(part))
}

/// A value shown without revealing it: a short prefix for long values, only the length for
/// short ones.
pub(crate) fn redact(value: &str) -> String {
    let length = value.chars().count();
    if length >= 16 {
        let prefix: String = value.chars().take(4).collect();
        format!("{prefix}… ({length} characters)")
    } else {
        format!("({length} characters)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for name in [
            "HF_TOKEN",
            "HUGGING_FACE_HUB_TOKEN",
            "WANDB_API_KEY",
            "wandbApiKey",
            "OPENAI_API_KEY",
            "AWS_SECRET_ACCESS_KEY",
            "DB_PASSWORD",
            "MYSQL_ROOT_PASSWORD",
            "POSTGRES_PASS",
            "GITHUB_PAT",
            "JWT_SIGNING_KEY",
            "AZURE_STORAGE_ACCOUNT_KEY",
            "client-secret",
            "PROXY_AUTH",
            "password",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in [
            "TOKENIZERS_PARALLELISM",
            "MAX_NEW_TOKENS",
            "PWD",
            "SECRET_NAME",
            "TOKEN_PATH",
            "PASSWORD_FILE",
            "AWS_ACCESS_KEY_ID",
            "SORT_KEY",
            "KMS_KEY_ARN",
            "MODEL_NAME",
            "HF_HOME",
            "PASSWORD_MIN_LENGTH",
            "BYPASS_CACHE",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn literal_values() {
        for value in [
            "hf_abcdefghijklmnopqrstuvwxyz012345",
            "s3cr3t-Passw0rd",
            "postgres://ml:hunter22@db:5432/features",
            "admin123",
        ] {
            assert!(is_literal_secret(value), "{value}");
        }
        for value in [
            "",
            "abc",
            "$HF_TOKEN",
            "${{ secrets.HF_TOKEN }}",
            "{{ .Values.token }}",
            "<your-token>",
            "changeme",
            "YOUR_API_KEY",
            "AKIAIOSFODNN7EXAMPLE",
            "********",
            "/run/secrets/hf_token",
            "arn:aws:secretsmanager:us-east-1:1:secret:x",
            "https://huggingface.co",
            "postgres://ml@db/features",
            "8080",
            "true",
        ] {
            assert!(!is_literal_secret(value), "{value}");
        }
    }

    #[test]
    fn redaction_never_shows_more_than_a_prefix() {
        assert_eq!(redact("hunter22"), "(8 characters)");
        assert_eq!(
            redact("hf_abcdefghijklmnopqrstuvwxyz012345"),
            "hf_a… (35 characters)"
        );
    }
}
