//! Credentials with a fixed prefix and a known body: checked at the exact position the
//! keyword sweep found the prefix, without regular expressions. Each shape states its
//! body's alphabet and length precisely and, where the provider builds one in, verifies
//! the checksum, so a shape matches real tokens and not identifiers that share a prefix.

use rampart_core::Severity;

use crate::engine::{Hit, Pass, Priority, Provider};
use crate::filters::{Classes, entropy, is_placeholder, is_word_byte};
use crate::rules;

/// The bytes a token's body may contain.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Alphabet {
    Letters,
    Alnum,
    /// `[A-Za-z0-9_]`
    Word,
    /// `[A-Za-z0-9_-]`
    WordDash,
    /// `[A-Za-z0-9_.-]`
    WordDashDot,
    LowerHex,
    /// `[a-f0-9-]`, for a hex body with a `-N` suffix.
    LowerHexDash,
    /// `[a-f0-9_]`
    LowerHexUnderscore,
    /// `[A-Z2-7]`
    Base32Upper,
    /// `[A-Za-z0-9+/=]`
    Base64,
    /// `[A-Za-z0-9/]`, a URL path.
    AlnumSlash,
}

impl Alphabet {
    /// Whether a token may follow `b`. A word byte glues the prefix to an identifier
    /// (`xhf_…`); a joiner the body itself uses (`x-sk-…`, `a.glpat-…`) makes the match
    /// a fragment of a longer token. Rejecting those also keeps repeated prefixes from
    /// re-scanning the same run.
    fn may_follow(self, b: u8) -> bool {
        let joiner =
            matches!(b, b'-' | b'.' | b'+') || (b == b'/' && !matches!(self, Alphabet::AlnumSlash));
        !(is_word_byte(b) || (joiner && self.contains(b)))
    }

    fn contains(self, b: u8) -> bool {
        match self {
            Alphabet::Letters => b.is_ascii_alphabetic(),
            Alphabet::Alnum => b.is_ascii_alphanumeric(),
            Alphabet::Word => is_word_byte(b),
            Alphabet::WordDash => is_word_byte(b) || b == b'-',
            Alphabet::WordDashDot => is_word_byte(b) || matches!(b, b'-' | b'.'),
            Alphabet::LowerHex => matches!(b, b'0'..=b'9' | b'a'..=b'f'),
            Alphabet::LowerHexDash => matches!(b, b'0'..=b'9' | b'a'..=b'f' | b'-'),
            Alphabet::LowerHexUnderscore => matches!(b, b'0'..=b'9' | b'a'..=b'f' | b'_'),
            Alphabet::Base32Upper => matches!(b, b'A'..=b'Z' | b'2'..=b'7'),
            Alphabet::Base64 => b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='),
            Alphabet::AlnumSlash => b.is_ascii_alphanumeric() || b == b'/',
        }
    }
}

/// What a matching token is.
pub(crate) enum Emits {
    Credential {
        provider: &'static Provider,
        /// Bodies starting with this are admin keys, more powerful than the rule's
        /// default severity says (empty: every token of the shape is one).
        admin_prefix: Option<&'static str>,
    },
    /// Paired with a secret access key later, see [`crate::aws`].
    AwsKeyId,
}

pub(crate) struct TokenShape {
    /// Case-sensitive; also the prefilter keyword.
    pub prefix: &'static str,
    alphabet: Alphabet,
    min_len: usize,
    max_len: usize,
    /// Minimum Shannon entropy of the body, in bits per byte.
    min_entropy: f64,
    /// Structure or checksum test on the body (without the prefix).
    check: fn(&[u8]) -> bool,
    emits: Emits,
}

const fn shape(
    prefix: &'static str,
    alphabet: Alphabet,
    len: (usize, usize),
    min_entropy: f64,
    check: fn(&[u8]) -> bool,
    provider: &'static Provider,
) -> TokenShape {
    TokenShape {
        prefix,
        alphabet,
        min_len: len.0,
        max_len: len.1,
        min_entropy,
        check,
        emits: Emits::Credential {
            provider,
            admin_prefix: None,
        },
    }
}

const fn admin(mut shape: TokenShape, admin_prefix: &'static str) -> TokenShape {
    if let Emits::Credential { provider, .. } = shape.emits {
        shape.emits = Emits::Credential {
            provider,
            admin_prefix: Some(admin_prefix),
        };
    }
    shape
}

const fn aws_key_id(prefix: &'static str) -> TokenShape {
    TokenShape {
        prefix,
        alphabet: Alphabet::Base32Upper,
        min_len: 16,
        max_len: 16,
        min_entropy: 2.5,
        check: any,
        emits: Emits::AwsKeyId,
    }
}

fn any(_: &[u8]) -> bool {
    true
}

pub(crate) static AWS_BEDROCK: Provider = Provider {
    rule: &rules::AWS_BEDROCK_API_KEY,
    noun: "Amazon Bedrock API key",
    risk: "anyone who reads the file can invoke Bedrock models billed to the AWS account",
};
static GCP_API: Provider = Provider {
    rule: &rules::GCP_API_KEY,
    noun: "Google API key",
    risk: "anyone who reads the file can call the APIs it is enabled for (such as Gemini), \
           billed to the Google Cloud project",
};
static HUGGING_FACE: Provider = Provider {
    rule: &rules::HUGGINGFACE_TOKEN,
    noun: "Hugging Face token",
    risk: "anyone who reads the file can act on the Hub as its owner within the token's scope, \
           including replacing models if it can write",
};
static OPENAI: Provider = Provider {
    rule: &rules::OPENAI_API_KEY,
    noun: "OpenAI API key",
    risk: "anyone who reads the file can call the API billed to the organisation and read the \
           project's files, fine-tunes and stored data",
};
static ANTHROPIC: Provider = Provider {
    rule: &rules::ANTHROPIC_API_KEY,
    noun: "Anthropic API key",
    risk: "anyone who reads the file can call the Claude API billed to the workspace",
};
static REPLICATE: Provider = Provider {
    rule: &rules::REPLICATE_API_TOKEN,
    noun: "Replicate API token",
    risk: "anyone who reads the file can run models billed to the account and push versions of \
           its models",
};
static GROQ: Provider = Provider {
    rule: &rules::GROQ_API_KEY,
    noun: "Groq API key",
    risk: "anyone who reads the file can call the Groq API billed to the organisation",
};
static PERPLEXITY: Provider = Provider {
    rule: &rules::PERPLEXITY_API_KEY,
    noun: "Perplexity API key",
    risk: "anyone who reads the file can spend the account's API credits",
};
static XAI: Provider = Provider {
    rule: &rules::XAI_API_KEY,
    noun: "xAI API key",
    risk: "anyone who reads the file can call the Grok API billed to the team",
};
static LANGSMITH: Provider = Provider {
    rule: &rules::LANGSMITH_API_KEY,
    noun: "LangSmith API key",
    risk: "anyone who reads the file can read the workspace's traces (prompts, completions, \
           user data) and change its datasets and prompts",
};
static PINECONE: Provider = Provider {
    rule: &rules::PINECONE_API_KEY,
    noun: "Pinecone API key",
    risk: "anyone who reads the file can read, overwrite and delete the project's vector \
           indexes",
};
static NVIDIA: Provider = Provider {
    rule: &rules::NVIDIA_API_KEY,
    noun: "NVIDIA API key",
    risk: "anyone who reads the file can call NIM endpoints and use the NGC organisation's \
           registry within the key's services",
};
static DATABRICKS: Provider = Provider {
    rule: &rules::DATABRICKS_TOKEN,
    noun: "Databricks personal access token",
    risk: "anyone who reads the file can act as its user in the workspace: data, jobs, \
           clusters, MLflow models",
};
static GITHUB: Provider = Provider {
    rule: &rules::GITHUB_TOKEN,
    noun: "GitHub token",
    risk: "anyone who reads the file can use its scopes, such as reading private repositories \
           and pushing code",
};
static GITLAB: Provider = Provider {
    rule: &rules::GITLAB_TOKEN,
    noun: "GitLab token",
    risk: "anyone who reads the file can use its scope on the GitLab instance, such as reading \
           and writing repositories and registries",
};
static SLACK: Provider = Provider {
    rule: &rules::SLACK_TOKEN,
    noun: "Slack token",
    risk: "anyone who reads the file can read and post in the workspace within the token's \
           scopes",
};
static SLACK_WEBHOOK: Provider = Provider {
    rule: &rules::SLACK_WEBHOOK_URL,
    noun: "Slack incoming-webhook URL",
    risk: "anyone who reads the file can post messages into the channel",
};
static PYPI: Provider = Provider {
    rule: &rules::PYPI_TOKEN,
    noun: "PyPI upload token",
    risk: "anyone who reads the file can publish releases of the projects in its scope",
};
static NPM: Provider = Provider {
    rule: &rules::NPM_TOKEN,
    noun: "npm access token",
    risk: "anyone who reads the file can use it on the registry, publishing packages if it \
           allows",
};
static DOCKER_HUB: Provider = Provider {
    rule: &rules::DOCKER_HUB_TOKEN,
    noun: "Docker Hub access token",
    risk: "anyone who reads the file can pull private images and, with write scope, push \
           images",
};

/// Every fixed-prefix shape. Lengths and alphabets follow the providers' published formats
/// (and the token scanners that track them: gitleaks, trufflehog).
pub(crate) static SHAPES: &[TokenShape] = &[
    aws_key_id("AKIA"),
    aws_key_id("ASIA"),
    aws_key_id("ABIA"),
    aws_key_id("ACCA"),
    shape("ABSK", Alphabet::Base64, (109, 271), 4.0, any, &AWS_BEDROCK),
    shape("AIza", Alphabet::WordDash, (35, 35), 3.5, any, &GCP_API),
    shape(
        "hf_",
        Alphabet::Letters,
        (34, 34),
        3.5,
        mixed_case,
        &HUGGING_FACE,
    ),
    shape(
        "api_org_",
        Alphabet::Letters,
        (34, 34),
        3.5,
        mixed_case,
        &HUGGING_FACE,
    ),
    // Legacy `sk-`, project `sk-proj-`, service-account `sk-svcacct-` and admin `sk-admin-`.
    admin(
        shape(
            "sk-",
            Alphabet::WordDash,
            (40, 300),
            3.5,
            openai_marker,
            &OPENAI,
        ),
        "admin-",
    ),
    shape(
        "sk-ant-api03-",
        Alphabet::WordDash,
        (95, 95),
        3.5,
        ends_aa,
        &ANTHROPIC,
    ),
    admin(
        shape(
            "sk-ant-admin01-",
            Alphabet::WordDash,
            (95, 95),
            3.5,
            ends_aa,
            &ANTHROPIC,
        ),
        "",
    ),
    shape(
        "r8_",
        Alphabet::WordDash,
        (37, 37),
        3.5,
        has_digit,
        &REPLICATE,
    ),
    shape("gsk_", Alphabet::Alnum, (52, 52), 3.5, any, &GROQ),
    shape("pplx-", Alphabet::Alnum, (48, 48), 3.5, any, &PERPLEXITY),
    shape("xai-", Alphabet::Word, (80, 80), 3.5, any, &XAI),
    shape(
        "lsv2_pt_",
        Alphabet::LowerHexUnderscore,
        (43, 43),
        3.0,
        langsmith,
        &LANGSMITH,
    ),
    shape(
        "lsv2_sk_",
        Alphabet::LowerHexUnderscore,
        (43, 43),
        3.0,
        langsmith,
        &LANGSMITH,
    ),
    shape("pcsk_", Alphabet::Word, (69, 70), 3.5, pinecone, &PINECONE),
    shape("nvapi-", Alphabet::WordDash, (64, 64), 3.5, any, &NVIDIA),
    shape(
        "dapi",
        Alphabet::LowerHexDash,
        (32, 34),
        3.0,
        databricks,
        &DATABRICKS,
    ),
    shape(
        "ghp_",
        Alphabet::Alnum,
        (36, 36),
        3.0,
        crc32_base62,
        &GITHUB,
    ),
    shape(
        "gho_",
        Alphabet::Alnum,
        (36, 36),
        3.0,
        crc32_base62,
        &GITHUB,
    ),
    shape(
        "ghu_",
        Alphabet::Alnum,
        (36, 36),
        3.0,
        crc32_base62,
        &GITHUB,
    ),
    shape(
        "ghs_",
        Alphabet::Alnum,
        (36, 36),
        3.0,
        crc32_base62,
        &GITHUB,
    ),
    shape(
        "ghr_",
        Alphabet::Alnum,
        (36, 36),
        3.0,
        crc32_base62,
        &GITHUB,
    ),
    shape(
        "github_pat_",
        Alphabet::Word,
        (82, 82),
        3.5,
        github_fine_grained,
        &GITHUB,
    ),
    shape(
        "glpat-",
        Alphabet::WordDashDot,
        (20, 320),
        3.0,
        gitlab_pat,
        &GITLAB,
    ),
    shape("gldt-", Alphabet::WordDash, (20, 20), 3.0, any, &GITLAB),
    shape("glrt-", Alphabet::WordDash, (20, 20), 3.0, any, &GITLAB),
    shape("glptt-", Alphabet::LowerHex, (40, 40), 3.0, any, &GITLAB),
    shape("gloas-", Alphabet::WordDash, (64, 64), 3.5, any, &GITLAB),
    shape("xoxb-", Alphabet::WordDash, (20, 250), 3.0, slack, &SLACK),
    shape("xoxp-", Alphabet::WordDash, (20, 250), 3.0, slack, &SLACK),
    shape("xoxa-", Alphabet::WordDash, (20, 250), 3.0, slack, &SLACK),
    shape("xoxr-", Alphabet::WordDash, (20, 250), 3.0, slack, &SLACK),
    shape("xoxs-", Alphabet::WordDash, (20, 250), 3.0, slack, &SLACK),
    shape("xoxe-", Alphabet::WordDash, (20, 250), 3.0, slack, &SLACK),
    shape("xapp-", Alphabet::WordDash, (20, 250), 3.0, slack, &SLACK),
    shape(
        "hooks.slack.com/services/",
        Alphabet::AlnumSlash,
        (40, 80),
        3.0,
        slack_webhook,
        &SLACK_WEBHOOK,
    ),
    shape(
        "pypi-AgEIcHlwaS5vcmc",
        Alphabet::WordDash,
        (50, 1000),
        3.5,
        any,
        &PYPI,
    ),
    shape(
        "pypi-AgENdGVzdC5weXBpLm9yZw",
        Alphabet::WordDash,
        (50, 1000),
        3.5,
        any,
        &PYPI,
    ),
    shape("npm_", Alphabet::Alnum, (36, 36), 3.0, crc32_base62, &NPM),
    shape(
        "dckr_pat_",
        Alphabet::WordDash,
        (27, 27),
        3.5,
        any,
        &DOCKER_HUB,
    ),
    shape(
        "dckr_oat_",
        Alphabet::WordDash,
        (32, 32),
        3.5,
        any,
        &DOCKER_HUB,
    ),
];

/// Whether `value` starts like one of the shapes whose prefix belongs to a single
/// provider (`sk-` does not: several providers use it).
pub(crate) fn has_strict_prefix(value: &[u8]) -> bool {
    SHAPES
        .iter()
        .any(|shape| shape.prefix != "sk-" && value.starts_with(shape.prefix.as_bytes()))
}

/// Checks the shape at the position where its prefix matched (case-insensitively).
pub(crate) fn check(shape: &TokenShape, start: usize, pass: &mut Pass<'_>) {
    let text = pass.text;
    let prefix = shape.prefix.as_bytes();
    let Some(body_start) = start.checked_add(prefix.len()) else {
        return;
    };
    if text.get(start..body_start) != Some(prefix) {
        return;
    }
    if start
        .checked_sub(1)
        .and_then(|i| text.get(i))
        .is_some_and(|&b| !shape.alphabet.may_follow(b))
    {
        return;
    }
    let Some(rest) = text.get(body_start..) else {
        return;
    };
    let body_len = rest
        .iter()
        .take(shape.max_len + 1)
        .take_while(|&&b| shape.alphabet.contains(b))
        .count();
    if body_len < shape.min_len || body_len > shape.max_len {
        return;
    }
    let end = body_start + body_len;
    if text.get(end).is_some_and(|&b| is_word_byte(b)) {
        return;
    }
    let body = rest.get(..body_len).unwrap_or_default();
    if entropy(body) < shape.min_entropy || is_placeholder(body) || !(shape.check)(body) {
        return;
    }
    let secret = text.get(start..end).unwrap_or_default();
    match shape.emits {
        Emits::AwsKeyId => pass.aws.key_ids.push(start..end),
        Emits::Credential {
            provider,
            admin_prefix,
        } => {
            let mut hit = Hit::new(
                provider.rule,
                start..end,
                secret,
                provider.describe(text, start),
                Priority::Token,
            );
            if admin_prefix.is_some_and(|admin| body.starts_with(admin.as_bytes())) {
                hit = hit.with_severity(Severity::Critical);
                hit.message = format!(
                    "{}; it is an admin key, which manages the organisation",
                    hit.message
                );
            }
            pass.push(hit);
        }
    }
}

/// Real Hugging Face tokens are random mixed-case letters; identifiers that happen to
/// follow `hf_` with 34 letters are words in one case or camelCase.
fn mixed_case(body: &[u8]) -> bool {
    let classes = Classes::of(body);
    classes.upper >= 6 && classes.lower >= 6
}

fn has_digit(body: &[u8]) -> bool {
    body.iter().any(u8::is_ascii_digit)
}

/// Every OpenAI key format carries `T3BlbkFJ`, base64 for "OpenAI".
fn openai_marker(body: &[u8]) -> bool {
    memchr::memmem::find(body, b"T3BlbkFJ").is_some()
}

fn ends_aa(body: &[u8]) -> bool {
    body.ends_with(b"AA")
}

/// `[a-f0-9]{32}_[a-f0-9]{10}`
fn langsmith(body: &[u8]) -> bool {
    body.get(32) == Some(&b'_') && body.iter().filter(|&&b| b == b'_').count() == 1
}

/// `[A-Za-z0-9]{5,6}_[A-Za-z0-9]{63}`
fn pinecone(body: &[u8]) -> bool {
    let mut parts = body.split(|&b| b == b'_');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(head), Some(tail), None) if (5..=6).contains(&head.len()) && tail.len() == 63
    )
}

/// `[a-f0-9]{32}` with an optional `-N` suffix.
fn databricks(body: &[u8]) -> bool {
    let Some((hex, suffix)) = body.split_at_checked(32) else {
        return false;
    };
    !hex.contains(&b'-') && matches!(suffix, [] | [b'-', b'0'..=b'9'])
}

/// `[A-Za-z0-9]{22}_[A-Za-z0-9]{59}`
fn github_fine_grained(body: &[u8]) -> bool {
    body.get(22) == Some(&b'_') && body.iter().filter(|&&b| b == b'_').count() == 1
}

/// Legacy `glpat-` + 20 characters, or the routable form
/// `glpat-<27..300 chars>.<2 chars><7 chars>`.
fn gitlab_pat(body: &[u8]) -> bool {
    match memchr::memchr(b'.', body) {
        None => body.len() == 20,
        Some(dot) => {
            let (payload, tail) = body.split_at(dot);
            let tail = tail.get(1..).unwrap_or_default();
            (27..=300).contains(&payload.len())
                && tail.len() == 9
                && tail
                    .iter()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        }
    }
}

/// Slack tokens carry numeric team/user ids between dashes (`xoxb-123…-456…-…`); prose
/// and placeholders after the prefix do not.
fn slack(body: &[u8]) -> bool {
    body.split(|&b| b == b'-')
        .any(|part| part.len() >= 8 && part.iter().all(u8::is_ascii_digit))
        || body.starts_with(b"1-")
}

/// `T<id>/B<id>/<24 alphanumerics>`
fn slack_webhook(body: &[u8]) -> bool {
    let parts: Vec<&[u8]> = body.split(|&b| b == b'/').collect();
    match parts.as_slice() {
        [team, bot, secret] => {
            team.first() == Some(&b'T')
                && bot.first() == Some(&b'B')
                && team.len() >= 9
                && bot.len() >= 9
                && secret.len() == 24
        }
        _ => false,
    }
}

/// GitHub classic and npm tokens end in the CRC-32 of their 30 random characters,
/// base62-encoded to six characters: a string that fails it is not a real token.
fn crc32_base62(body: &[u8]) -> bool {
    let Some((random, checksum)) = body.split_at_checked(30) else {
        return false;
    };
    checksum == base62_6(crc32(random))
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

pub(crate) fn base62_6(mut value: u32) -> [u8; 6] {
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    out
}

/// CRC-32 (IEEE 802.3), bitwise: tokens are 30 bytes, a table would not pay off.
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_reference_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(&base62_6(0), b"000000");
        assert_eq!(&base62_6(61), b"00000z");
        assert_eq!(&base62_6(u32::MAX), b"4gfFC3");
    }

    #[test]
    fn every_prefix_is_unique() {
        let mut prefixes: Vec<&str> = SHAPES.iter().map(|s| s.prefix).collect();
        prefixes.sort_unstable();
        let count = prefixes.len();
        prefixes.dedup();
        assert_eq!(prefixes.len(), count);
    }
}
