//! Names and identifiers: PEP 503 normalisation, package URLs, and URLs made safe to
//! publish in an SBOM.

/// PEP 503 names, as the advisories compare them: one definition for the inventory and the
/// audit, so a package found here is the package matched there.
pub use rampart_advisories::version::normalize_name;

/// Percent-encodes a purl component: everything but ASCII letters, digits and `.-_~`.
fn encode_component(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric()
            || matches!(byte, b'.' | b'-' | b'_' | b'~')
            || (keep_slash && byte == b'/')
        {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `pkg:pypi/<name>@<version>?<qualifiers>`: the name PEP 503-normalised (the purl spec
/// asks for lower case and `-` for `_`; `.` is collapsed too, as cdxgen and OSV do),
/// qualifiers sorted by key.
pub fn pypi_purl(name: &str, version: Option<&str>, qualifiers: &[(&str, &str)]) -> String {
    purl("pypi", None, &normalize_name(name), version, qualifiers)
}

/// A package URL of any type.
pub(crate) fn purl(
    kind: &str,
    namespace: Option<&str>,
    name: &str,
    version: Option<&str>,
    qualifiers: &[(&str, &str)],
) -> String {
    let mut out = format!("pkg:{kind}/");
    if let Some(namespace) = namespace.filter(|n| !n.is_empty()) {
        out.push_str(&encode_component(namespace, true));
        out.push('/');
    }
    out.push_str(&encode_component(name, false));
    if let Some(version) = version {
        out.push('@');
        out.push_str(&encode_component(version, false));
    }
    let mut sorted: Vec<&(&str, &str)> = qualifiers.iter().filter(|(_, v)| !v.is_empty()).collect();
    sorted.sort();
    for (i, (key, value)) in sorted.into_iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(key);
        out.push('=');
        out.push_str(&encode_component(value, false));
    }
    out
}

/// `pkg:huggingface/<namespace>/<name>@<revision>` for a Hugging Face repository id
/// (`org/name`, or a legacy bare `name`); the revision is a commit, lower case.
pub(crate) fn huggingface_purl(repository: &str, revision: Option<&str>) -> Option<String> {
    let repository = repository.trim().trim_matches('/');
    let (namespace, name) = match repository.split_once('/') {
        Some((namespace, name)) if !name.contains('/') => (Some(namespace), name),
        Some(_) => return None,
        None => (None, repository),
    };
    if name.is_empty() || !is_repository_part(name) || !namespace.is_none_or(is_repository_part) {
        return None;
    }
    let revision = revision.map(str::to_ascii_lowercase);
    Some(purl(
        "huggingface",
        namespace,
        name,
        revision.as_deref(),
        &[],
    ))
}

fn is_repository_part(part: &str) -> bool {
    !part.is_empty()
        && !part.starts_with('.')
        && part.len() <= 96
        && part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The Hugging Face repository a hub URL or id names (`https://huggingface.co/org/name`,
/// `hf.co/org/name`, `org/name`).
pub(crate) fn huggingface_repository(text: &str) -> Option<String> {
    let trimmed = text.trim();
    let rest = [
        "https://huggingface.co/",
        "http://huggingface.co/",
        "https://hf.co/",
        "hf.co/",
    ]
    .iter()
    .find_map(|prefix| trimmed.strip_prefix(prefix))
    .unwrap_or(trimmed);
    let mut parts = rest.split('/').filter(|p| !p.is_empty());
    let first = parts.next()?;
    let second = parts.next();
    let id = match second {
        Some(second) => format!("{first}/{second}"),
        None => first.to_owned(),
    };
    huggingface_purl(&id, None).map(|_| id)
}

/// The URL with any password (or token used as user name) replaced by `***`: requirement
/// files carry private-index credentials (`https://user:token@host/simple`) that must not
/// end up in an SBOM. Environment-variable placeholders (`${TOKEN}`) are kept as written.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let authority_start = scheme_end + 3;
    let rest = url.get(authority_start..).unwrap_or_default();
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..authority_end).unwrap_or_default();
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let userinfo = authority.get(..at).unwrap_or_default();
    let is_placeholder = |s: &str| s.starts_with("${") && s.ends_with('}');
    let redacted = match userinfo.split_once(':') {
        Some((user, password)) if !is_placeholder(password) => format!("{user}:***"),
        Some(_) => userinfo.to_owned(),
        // A lone user part is how tokens are passed to GitHub and private indexes.
        None if is_placeholder(userinfo) || userinfo == "git" => userinfo.to_owned(),
        None => "***".to_owned(),
    };
    format!(
        "{}{}{}",
        url.get(..authority_start).unwrap_or_default(),
        redacted,
        rest.get(at..).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_per_pep_503() {
        assert_eq!(normalize_name("PyYAML"), "pyyaml");
        assert_eq!(normalize_name("zope.interface"), "zope-interface");
        assert_eq!(normalize_name("typing__extensions"), "typing-extensions");
        assert_eq!(normalize_name("Foo.-_Bar"), "foo-bar");
    }

    #[test]
    fn builds_purls_with_encoded_parts() {
        assert_eq!(
            pypi_purl("Zope.Interface", Some("6.0"), &[]),
            "pkg:pypi/zope-interface@6.0"
        );
        assert_eq!(
            pypi_purl("torch", Some("2.1.0+cu118"), &[]),
            "pkg:pypi/torch@2.1.0%2Bcu118"
        );
        assert_eq!(
            pypi_purl(
                "x",
                Some("1"),
                &[("vcs_url", "git+https://h/r@abc"), ("a", "b")]
            ),
            "pkg:pypi/x@1?a=b&vcs_url=git%2Bhttps%3A%2F%2Fh%2Fr%40abc"
        );
        assert_eq!(
            huggingface_purl("Org/Model-1", Some("ABCDEF")).as_deref(),
            Some("pkg:huggingface/Org/Model-1@abcdef")
        );
        assert_eq!(
            huggingface_purl("bert-base-uncased", None).as_deref(),
            Some("pkg:huggingface/bert-base-uncased")
        );
        assert_eq!(huggingface_purl("a/b/c", None), None);
        assert_eq!(huggingface_purl("../etc", None), None);
        assert_eq!(
            huggingface_repository("https://huggingface.co/meta-llama/Llama-2-7b").as_deref(),
            Some("meta-llama/Llama-2-7b")
        );
    }

    #[test]
    fn redacts_credentials_but_keeps_placeholders() {
        assert_eq!(
            redact_url("https://user:s3cret@pypi.example/simple"),
            "https://user:***@pypi.example/simple"
        );
        assert_eq!(
            redact_url("git+https://ghp_token@github.com/o/r"),
            "git+https://***@github.com/o/r"
        );
        assert_eq!(
            redact_url("https://${USER}:${TOKEN}@host/simple"),
            "https://${USER}:${TOKEN}@host/simple"
        );
        assert_eq!(
            redact_url("git+ssh://git@github.com/o/r"),
            "git+ssh://git@github.com/o/r"
        );
        assert_eq!(redact_url("https://h/p@1.0"), "https://h/p@1.0");
        assert_eq!(redact_url("./local"), "./local");
    }
}
