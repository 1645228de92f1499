//! Credentials without a distinctive prefix, recognised by their context: a provider's
//! name next to a value of the provider's shape (`WANDB_API_KEY=<40 hex>`), a connection
//! string's key field, a URL's user-info, or an assignment to a secret-looking name. Each
//! regular expression runs only on the lines around one of its keywords.

use std::ops::Range;
use std::sync::LazyLock;

use regex::bytes::{Captures, Regex};

use crate::engine::{Hit, Pass, Priority, Provider};
use crate::filters::{entropy, is_placeholder};
use crate::{aws, generic, rules, urls};

pub(crate) struct Pattern {
    pub keywords: &'static [&'static str],
    /// Named groups: `secret` (the value), optionally `name`, `scheme`, `user`, `host`.
    regex: &'static str,
    pub lines_before: usize,
    pub lines_after: usize,
    kind: Kind,
}

enum Kind {
    Credential {
        provider: &'static Provider,
        min_entropy: f64,
        /// Documented values that have the shape but grant nothing.
        is_public: fn(&[u8]) -> bool,
    },
    AwsSecretAccessKey,
    UrlUserInfo,
    QuotedAssignment,
    BareAssignment,
    AuthorizationHeader,
}

const fn credential(
    keywords: &'static [&'static str],
    regex: &'static str,
    lines: (usize, usize),
    provider: &'static Provider,
    min_entropy: f64,
) -> Pattern {
    Pattern {
        keywords,
        regex,
        lines_before: lines.0,
        lines_after: lines.1,
        kind: Kind::Credential {
            provider,
            min_entropy,
            is_public: never_public,
        },
    }
}

const fn on_line(keywords: &'static [&'static str], regex: &'static str, kind: Kind) -> Pattern {
    Pattern {
        keywords,
        regex,
        lines_before: 0,
        lines_after: 0,
        kind,
    }
}

fn never_public(_: &[u8]) -> bool {
    false
}

/// The Azure Storage emulator's account key: published in Microsoft's documentation and
/// identical in every installation (split so this file does not carry it whole).
fn is_storage_emulator_key(key: &[u8]) -> bool {
    const EMULATOR_KEY: &str = concat!(
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2U",
        "VErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
    );
    key == EMULATOR_KEY.as_bytes()
}

static WANDB: Provider = Provider {
    rule: &rules::WANDB_API_KEY,
    noun: "Weights & Biases API key",
    risk: "anyone who reads the file can read and write the user's W&B projects, including the \
           model and dataset artifacts pipelines pull",
};
static COHERE: Provider = Provider {
    rule: &rules::COHERE_API_KEY,
    noun: "Cohere API key",
    risk: "anyone who reads the file can call the Cohere API billed to the account and reach \
           its datasets and fine-tuned models",
};
static KAGGLE: Provider = Provider {
    rule: &rules::KAGGLE_API_KEY,
    noun: "Kaggle API key",
    risk: "anyone who reads the file can download the user's private datasets and publish as \
           the user",
};
static AZURE_OPENAI: Provider = Provider {
    rule: &rules::AZURE_OPENAI_KEY,
    noun: "Azure OpenAI / AI services key",
    risk: "anyone who reads the file can call the resource's deployments billed to the \
           subscription",
};
static DEEPSEEK: Provider = Provider {
    rule: &rules::DEEPSEEK_API_KEY,
    noun: "DeepSeek API key",
    risk: "anyone who reads the file can call the DeepSeek API billed to the account",
};
static AZURE_ACCOUNT_KEY: Provider = Provider {
    rule: &rules::AZURE_STORAGE_ACCOUNT_KEY,
    noun: "Azure storage / Cosmos DB account key",
    risk: "anyone who reads the file has full control of the account's data",
};
static AZURE_SHARED_ACCESS_KEY: Provider = Provider {
    rule: &rules::AZURE_SHARED_ACCESS_KEY,
    noun: "Azure shared access key",
    risk: "anyone who reads the file can sign tokens with the policy's rights on the namespace \
           or hub",
};

/// The names that make a value a candidate for the generic rule; the name classifier in
/// [`crate::generic`] decides.
const SECRET_NAME_KEYWORDS: &[&str] = &[
    "secret",
    "token",
    "passw",
    "pwd",
    "passphrase",
    "credential",
    "apikey",
    "api_key",
    "api-key",
    "accesskey",
    "access_key",
    "privatekey",
    "private_key",
    "authkey",
    "auth_key",
    "signingkey",
    "signing_key",
    "encryptionkey",
    "encryption_key",
    "masterkey",
    "master_key",
    "client_key",
    "app_key",
    "license_key",
    "service_key",
    "subscription_key",
    "admin_key",
];

/// Ends a value: not part of the alphabets the patterns capture.
macro_rules! boundary {
    () => {
        r"(?:[^0-9A-Za-z_]|$)"
    };
}

macro_rules! assign {
    () => {
        r#"["'\]]?\s*(?::=|=>|=|:)\s*["']?"#
    };
}

pub(crate) static PATTERNS: &[Pattern] = &[
    credential(
        &["wandb"],
        concat!(
            r#"(?i)(?:wandb[_.-]?(?:api[_.-]?)?key"#,
            assign!(),
            r#"|wandb\.login\(\s*(?:key\s*=\s*)?["']|wandb\s+login\s+(?:--relogin\s+)?)"#,
            r"(?P<secret>(?:local-)?[0-9a-f]{40})",
            boundary!()
        ),
        (0, 0),
        &WANDB,
        3.0,
    ),
    credential(
        &["api.wandb.ai"],
        concat!(
            r"(?i)machine\s+api\.wandb\.ai\s+login\s+\S+\s+password\s+",
            r"(?P<secret>[0-9a-f]{40})",
            boundary!()
        ),
        (0, 3),
        &WANDB,
        3.0,
    ),
    credential(
        &["cohere", "co_api_key"],
        concat!(
            r"(?i)(?:(?:cohere[_.-]?(?:api[_.-]?)?(?:key|token)|co_api_key)",
            assign!(),
            r#"|cohere\.(?:async)?client(?:v2)?\(\s*(?:api_key\s*=\s*)?["'])"#,
            r"(?P<secret>[A-Za-z0-9]{40})",
            boundary!()
        ),
        (0, 0),
        &COHERE,
        3.5,
    ),
    credential(
        &["\"username\"", "kaggle"],
        concat!(
            r#"(?i)(?:"username"\s*:\s*"[^"\\\n]{1,64}"\s*,\s*"key"\s*:\s*"|kaggle[_.-]?(?:api[_.-]?)?key"#,
            assign!(),
            r")(?P<secret>[0-9a-f]{32})",
            boundary!()
        ),
        (0, 0),
        &KAGGLE,
        3.0,
    ),
    credential(
        &[
            "openai.azure.com",
            "cognitiveservices.azure.com",
            "azure_openai",
            "azure-openai",
            "azureopenai",
        ],
        concat!(
            r"(?i)(?:api[_.-]?key|openai[_.-]?key|subscription[_.-]?key|ocp-apim-subscription-key)",
            assign!(),
            r"(?P<secret>[0-9a-f]{32}|[A-Za-z0-9]{84})",
            boundary!()
        ),
        (3, 3),
        &AZURE_OPENAI,
        3.0,
    ),
    credential(
        &["deepseek"],
        concat!(
            r"(?:^|[^0-9A-Za-z_-])(?P<secret>sk-[0-9a-f]{32})",
            boundary!()
        ),
        (2, 2),
        &DEEPSEEK,
        3.0,
    ),
    Pattern {
        keywords: &[
            "accountkey",
            "account_key",
            "account-key",
            "storagekey",
            "storage_key",
            "storage-key",
            "storage_account_key",
            "storage_access_key",
        ],
        regex: concat!(
            r"(?i)(?:account[_.-]?key|storage[_.-]?(?:account[_.-]?)?(?:access[_.-]?)?key)",
            assign!(),
            r"(?P<secret>[A-Za-z0-9+/]{86}==)"
        ),
        lines_before: 0,
        lines_after: 0,
        kind: Kind::Credential {
            provider: &AZURE_ACCOUNT_KEY,
            min_entropy: 4.0,
            is_public: is_storage_emulator_key,
        },
    },
    credential(
        &["sharedaccesskey"],
        r"(?i)SharedAccessKey\s*=\s*(?P<secret>[A-Za-z0-9+/]{43}=)",
        (0, 0),
        &AZURE_SHARED_ACCESS_KEY,
        4.0,
    ),
    on_line(
        &[
            "aws_secret",
            "aws-secret",
            "awssecret",
            "secret_access_key",
            "secretaccesskey",
            "secret-access-key",
        ],
        concat!(
            r"(?i)(?P<name>[A-Za-z0-9_.-]*secret[_.-]?(?:access[_.-]?)?key)",
            assign!(),
            r"(?P<secret>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"
        ),
        Kind::AwsSecretAccessKey,
    ),
    on_line(
        &["://"],
        concat!(
            r"(?i)(?P<scheme>[a-z][a-z0-9+.-]{1,30})://",
            r#"(?P<user>[^\s:/?#@"'`<>\[\]{}\\]{1,128}):"#,
            r#"(?P<secret>[^\s/?#@"'`<>\\]{1,256})@"#,
            r#"(?P<host>[^\s/?#"'`<>:@,;\\)\]}]{1,253})"#
        ),
        Kind::UrlUserInfo,
    ),
    on_line(
        SECRET_NAME_KEYWORDS,
        concat!(
            r#"(?P<name>[A-Za-z_][A-Za-z0-9_.-]{0,80})["'\]]{0,2}[ \t]{0,4}"#,
            r#"(?::=|=>|\|\|=|\?\?=|=|:)[ \t]{0,4}(?:[rRbBuU]{1,2})?["'`]"#,
            r#"(?P<secret>[^"'`\s\\]{8,256})["'`]"#
        ),
        Kind::QuotedAssignment,
    ),
    on_line(
        SECRET_NAME_KEYWORDS,
        concat!(
            r"(?m)^[ \t]*(?:(?:export|ENV|ARG|set|declare(?:[ \t]+-x)?)[ \t]+|-[ \t]+)?",
            r"(?P<name>[A-Za-z_][A-Za-z0-9_.-]{0,80})[ \t]*[=:][ \t]*",
            r#"(?P<secret>[^\s"'`#;,(){}\[\]<>\\]{10,256})[ \t]*(?:#.*)?\r?$"#
        ),
        Kind::BareAssignment,
    ),
    on_line(
        &["bearer", "authorization"],
        concat!(
            r#"(?i)(?:\bbearer[ \t]+|authorization["']?[ \t]*[:=][ \t]*["']?(?:token|basic)[ \t]+)"#,
            r"(?P<secret>[A-Za-z0-9._~+/-]{16,}=*)"
        ),
        Kind::AuthorizationHeader,
    ),
];

static COMPILED: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    PATTERNS
        .iter()
        .map(|pattern| {
            // ASCII classes and boundaries: the input is bytes, often not UTF-8, and the
            // byte-oriented engines are the fast ones.
            Regex::new(&format!("(?-u){}", pattern.regex)).expect("static pattern compiles")
        })
        .collect()
});

/// Runs pattern `index` over `window` of the pass's text.
pub(crate) fn run(index: usize, window: Range<usize>, pass: &mut Pass<'_>) {
    let (Some(pattern), Some(regex)) = (PATTERNS.get(index), COMPILED.get(index)) else {
        return;
    };
    let text = pass.text;
    let Some(haystack) = text.get(window.clone()) else {
        return;
    };
    for captures in regex.captures_iter(haystack) {
        if pass.is_full() {
            return;
        }
        let Some(secret) = captures.name("secret") else {
            continue;
        };
        let span = window.start + secret.start()..window.start + secret.end();
        let value = secret.as_bytes();
        let name = captures.name("name").map(|m| m.as_bytes());
        match pattern.kind {
            Kind::Credential {
                provider,
                min_entropy,
                is_public,
            } => {
                if is_placeholder(value) || entropy(value) < min_entropy || is_public(value) {
                    continue;
                }
                let message = provider.describe(text, span.start);
                pass.push(Hit::new(
                    provider.rule,
                    span,
                    value,
                    message,
                    Priority::Keyword,
                ));
            }
            Kind::AwsSecretAccessKey => {
                if aws::looks_like_secret_access_key(value) {
                    let name = String::from_utf8_lossy(name.unwrap_or_default()).into_owned();
                    pass.aws.named_secrets.push((span, name));
                }
            }
            Kind::UrlUserInfo => urls::check(&group(&captures), span, pass),
            Kind::QuotedAssignment | Kind::BareAssignment => {
                generic::check_assignment(name.unwrap_or_default(), value, span, pass);
            }
            Kind::AuthorizationHeader => generic::check_authorization(value, span, pass),
        }
    }
}

/// The URL parts a [`urls::check`] needs, by group name.
fn group<'h>(captures: &Captures<'h>) -> urls::UserInfo<'h> {
    let part = |name: &str| captures.name(name).map_or(&b""[..], |m| m.as_bytes());
    urls::UserInfo {
        scheme: part("scheme"),
        user: part("user"),
        password: part("secret"),
        host: part("host"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles_and_captures_a_secret() {
        assert_eq!(COMPILED.len(), PATTERNS.len());
        for (pattern, regex) in PATTERNS.iter().zip(COMPILED.iter()) {
            assert!(
                regex.capture_names().any(|n| n == Some("secret")),
                "{}",
                pattern.regex
            );
            assert!(!pattern.keywords.is_empty());
        }
    }
}
