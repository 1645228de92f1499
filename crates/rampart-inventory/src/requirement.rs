//! One dependency specification, as PEP 508 writes it (`name[extra] >=1 ; marker`,
//! `name @ url`) or as pip also accepts it (a bare URL, VCS URL or path, with `#egg=`), into
//! the facts an audit needs: name, exact version or specifier, marker, and source.

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

use pep440_rs::Operator;
use pep508_rs::{MarkerTree, Pep508Url, Requirement, VersionOrUrl};

use crate::inventory::PackageSource;
use crate::names::redact_url;

/// Marker strings longer than this are refused before parsing: pep508_rs builds a decision
/// diagram over every marker it parses, and nothing real comes near this size.
const MAX_REQUIREMENT_LEN: usize = 8 * 1024;

/// A URL kept exactly as written. pep508_rs's own URL type expands `${VAR}` from the
/// running process, which would leak secrets into the SBOM and make it depend on who ran
/// rampart; requirement files keep such placeholders as written.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct RawUrl(String);

impl fmt::Display for RawUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Pep508Url for RawUrl {
    type Err = Infallible;

    fn parse_url(url: &str, _working_dir: Option<&std::path::Path>) -> Result<Self, Self::Err> {
        Ok(RawUrl(url.to_owned()))
    }
}

/// A parsed dependency specification.
#[derive(Clone, Debug)]
pub(crate) struct Spec {
    /// As written; `None` for a URL or path that does not say (a local directory).
    pub name: Option<String>,
    pub extras: Vec<String>,
    pub version: Option<String>,
    pub specifier: Option<String>,
    pub marker: MarkerTree,
    pub source: PackageSource,
}

impl Spec {
    /// The marker as text, `None` when it always holds.
    pub(crate) fn marker_text(&self) -> Option<String> {
        self.marker.try_to_string()
    }
}

/// Parses `text` as PEP 508, or as the URL and path forms pip accepts.
pub(crate) fn parse_spec(text: &str) -> Result<Spec, String> {
    let text = text.trim();
    if text.len() > MAX_REQUIREMENT_LEN {
        return Err(format!(
            "requirement is {} bytes long; at most {MAX_REQUIREMENT_LEN} are parsed",
            text.len()
        ));
    }
    match parse_pep508(text) {
        Ok(requirement) => Ok(from_pep508(text, requirement)),
        Err(why) => parse_url_form(text).ok_or(why),
    }
}

/// pep508_rs 0.9.2 panics (an `expect` on its own name validation) when a package or extra
/// name ends in `-`, `_` or `.` before another character (`a_{`, `x[a_]`). Those are refused
/// here first; any other panic inside it is caught and becomes a parse error.
fn parse_pep508(text: &str) -> Result<Requirement<RawUrl>, String> {
    // Its cursor also slices inside multi-byte characters; PEP 508 outside URLs is ASCII.
    if !text.is_ascii() {
        return Err("requirement contains non-ASCII characters".to_owned());
    }
    let ends_badly = |name: &str| name.ends_with(['-', '_', '.']);
    let name_len = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(text.len());
    if ends_badly(text.get(..name_len).unwrap_or_default()) {
        return Err("package name must end with a letter or digit".to_owned());
    }
    if let Some(open) = text.find('[') {
        let inside = text.get(open + 1..).unwrap_or_default();
        let inside = inside.split(']').next().unwrap_or(inside);
        if inside.split(',').any(|extra| ends_badly(extra.trim())) {
            return Err("extra name must end with a letter or digit".to_owned());
        }
    }
    match std::panic::catch_unwind(|| Requirement::<RawUrl>::from_str(text)) {
        Ok(Ok(requirement)) => Ok(requirement),
        // pep508_rs's message spans lines with a caret under the error; keep the first.
        Ok(Err(error)) => Err(error
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()),
        Err(_) => Err("the PEP 508 parser failed on this requirement".to_owned()),
    }
}

fn from_pep508(text: &str, requirement: Requirement<RawUrl>) -> Spec {
    let written_name: String = text
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    let extras = requirement
        .extras
        .iter()
        .map(|e| e.as_ref().to_owned())
        .collect();
    let mut spec = Spec {
        name: Some(if written_name.is_empty() {
            requirement.name.as_ref().to_owned()
        } else {
            written_name
        }),
        extras,
        version: None,
        specifier: None,
        marker: requirement.marker,
        source: PackageSource::Registry,
    };
    match requirement.version_or_url {
        Some(VersionOrUrl::VersionSpecifier(specifiers)) => {
            let clauses: Vec<_> = specifiers.iter().collect();
            match clauses.as_slice() {
                [only] if matches!(only.operator(), Operator::Equal | Operator::ExactEqual) => {
                    spec.version = Some(only.version().to_string());
                }
                [] => {}
                _ => spec.specifier = Some(specifiers.to_string()),
            }
        }
        Some(VersionOrUrl::Url(url)) => {
            spec.version = version_from_filename(&url.0);
            spec.source = source_of_url(&url.0);
        }
        None => {}
    }
    spec
}

/// A bare URL, VCS URL or path, optionally followed by `; marker`, as pip accepts on a
/// requirements line. `None` when the text is none of these.
fn parse_url_form(text: &str) -> Option<Spec> {
    let (location, marker_text) = match text.split_once(" ;").or_else(|| text.split_once("; ")) {
        Some((location, marker)) => (location.trim(), Some(marker.trim())),
        None => (text, None),
    };
    if !looks_like_url_or_path(location) {
        return None;
    }
    let marker = match marker_text {
        Some(marker) if marker.is_ascii() => {
            std::panic::catch_unwind(|| MarkerTree::parse_str::<RawUrl>(marker))
                .ok()?
                .ok()?
        }
        Some(_) => return None,
        None => MarkerTree::TRUE,
    };
    let (location, extras) = split_trailing_extras(location);
    let (name, version) = name_from_location(location);
    Some(Spec {
        name,
        extras,
        version,
        specifier: None,
        marker,
        source: source_of_url(location),
    })
}

fn looks_like_url_or_path(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.contains("://")
        || lower.starts_with("file:")
        || text.starts_with(['.', '/', '~', '\\'])
        || text.contains('/')
        || (text.len() > 2 && text.as_bytes().get(1) == Some(&b':'))
        || is_archive_name(&lower)
}

fn is_archive_name(lower: &str) -> bool {
    [".whl", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// `./pkg[extra1,extra2]` → (`./pkg`, extras): pip's syntax for extras on a local path.
fn split_trailing_extras(location: &str) -> (&str, Vec<String>) {
    if let Some(stripped) = location.strip_suffix(']')
        && let Some((path, extras)) = stripped.rsplit_once('[')
        && !path.is_empty()
    {
        let extras = extras
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect();
        return (path, extras);
    }
    (location, Vec::new())
}

/// The name (and version, for an archive) a URL or path names: `#egg=name`, a wheel or sdist
/// file name, or the last path component of a directory.
fn name_from_location(location: &str) -> (Option<String>, Option<String>) {
    let (before_fragment, fragment) = match location.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (location, None),
    };
    if let Some(egg) = fragment.and_then(|f| {
        f.split('&')
            .find_map(|part| part.strip_prefix("egg="))
            .filter(|egg| !egg.is_empty())
    }) {
        return (Some(egg.to_owned()), None);
    }
    let path = before_fragment.split('?').next().unwrap_or_default();
    let last = path
        .trim_end_matches(['/', '\\'])
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    if let Some((name, version)) = parse_archive_name(last) {
        return (Some(name), Some(version));
    }
    let vcs = ["git+", "hg+", "svn+", "bzr+"]
        .iter()
        .any(|p| location.to_ascii_lowercase().starts_with(p));
    let last = if vcs {
        // `repo.git@v1` names the repository, not the package; keep it as the best guess.
        last.split('@')
            .next()
            .unwrap_or(last)
            .trim_end_matches(".git")
    } else {
        last
    };
    let plausible = !last.is_empty()
        && last != "."
        && last != ".."
        && last
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    (plausible.then(|| last.to_owned()), None)
}

/// `name-1.0-py3-none-any.whl` or `name-1.0.tar.gz` → (name, version).
pub(crate) fn parse_archive_name(file_name: &str) -> Option<(String, String)> {
    if let Some(stem) = file_name.strip_suffix(".whl") {
        let mut parts = stem.split('-');
        let name = parts.next()?;
        let version = parts.next()?;
        return (!name.is_empty() && !version.is_empty())
            .then(|| (name.to_owned(), version.to_owned()));
    }
    let lower = file_name.to_ascii_lowercase();
    let stem_len = [".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip"]
        .iter()
        .find(|ext| lower.ends_with(*ext))
        .map(|ext| file_name.len() - ext.len())?;
    let stem = file_name.get(..stem_len)?;
    // The version starts at the last `-` followed by a digit.
    let split = stem
        .match_indices('-')
        .filter(|(i, _)| {
            stem.get(i + 1..)
                .and_then(|rest| rest.chars().next())
                .is_some_and(|c| c.is_ascii_digit())
        })
        .map(|(i, _)| i)
        .next_back()?;
    let (name, version) = (stem.get(..split)?, stem.get(split + 1..)?);
    (!name.is_empty() && !version.is_empty()).then(|| (name.to_owned(), version.to_owned()))
}

fn version_from_filename(url: &str) -> Option<String> {
    let path = url.split(['#', '?']).next().unwrap_or_default();
    let last = path.rsplit('/').next().unwrap_or_default();
    parse_archive_name(last).map(|(_, version)| version)
}

/// What kind of source a URL or path is. Credentials in URLs are redacted.
pub(crate) fn source_of_url(url: &str) -> PackageSource {
    let lower = url.to_ascii_lowercase();
    for vcs in ["git", "hg", "svn", "bzr"] {
        if let Some(rest) = url.get(vcs.len() + 1..)
            && lower.starts_with(&format!("{vcs}+"))
        {
            return vcs_source(vcs, rest);
        }
    }
    if lower.starts_with("file:") {
        let path = url.get(5..).unwrap_or_default().trim_start_matches("//");
        return PackageSource::Local {
            path: path.to_owned(),
        };
    }
    if lower.contains("://") {
        return PackageSource::Url {
            url: redact_url(url),
        };
    }
    PackageSource::Local {
        path: url.to_owned(),
    }
}

/// `https://host/repo.git@rev#egg=x` (after `git+`) → the repository URL and revision.
fn vcs_source(vcs: &str, url: &str) -> PackageSource {
    let without_fragment = url.split('#').next().unwrap_or_default();
    let path_start = without_fragment
        .find("://")
        .map(|i| i + 3)
        .and_then(|authority| {
            without_fragment
                .get(authority..)
                .and_then(|rest| rest.find('/'))
                .map(|slash| authority + slash)
        })
        .unwrap_or(0);
    let (repository, revision) = match without_fragment
        .get(path_start..)
        .and_then(|path| path.rfind('@'))
    {
        Some(at) => (
            without_fragment.get(..path_start + at).unwrap_or_default(),
            without_fragment
                .get(path_start + at + 1..)
                .filter(|r| !r.is_empty()),
        ),
        None => (without_fragment, None),
    };
    let commit = revision
        .filter(|r| r.len() >= 7 && r.len() <= 64 && r.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_ascii_lowercase);
    PackageSource::Vcs {
        url: format!("{vcs}+{}", redact_url(repository)),
        vcs: vcs.to_owned(),
        commit,
        requested_revision: revision.map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_and_ranges() {
        let spec =
            parse_spec("Requests[socks,security] == 2.25.0 ; python_version >= '3.6'").unwrap();
        assert_eq!(spec.name.as_deref(), Some("Requests"));
        assert_eq!(spec.extras, ["socks", "security"]);
        assert_eq!(spec.version.as_deref(), Some("2.25.0"));
        assert_eq!(spec.specifier, None);
        assert_eq!(
            spec.marker_text().as_deref(),
            Some("python_full_version >= '3.6'")
        );
        let range = parse_spec("urllib3>=1.21.1,<1.27").unwrap();
        assert_eq!(range.version, None);
        assert_eq!(range.specifier.as_deref(), Some(">=1.21.1, <1.27"));
        let wildcard = parse_spec("django==3.2.*").unwrap();
        assert_eq!(wildcard.version, None);
        assert!(wildcard.specifier.is_some());
        let bare = parse_spec("numpy").unwrap();
        assert_eq!((bare.version, bare.specifier), (None, None));
    }

    #[test]
    fn old_style_parenthesised_specifiers() {
        let spec = parse_spec("huggingface-hub (<1.0,>=0.14.1)").unwrap();
        assert_eq!(spec.name.as_deref(), Some("huggingface-hub"));
        assert_eq!(spec.specifier.as_deref(), Some(">=0.14.1, <1.0"));
    }

    #[test]
    fn urls_vcs_and_paths() {
        let direct = parse_spec("pkg @ https://files.example/pkg-1.2-py3-none-any.whl").unwrap();
        assert_eq!(direct.version.as_deref(), Some("1.2"));
        assert!(matches!(direct.source, PackageSource::Url { .. }));

        let vcs = parse_spec("git+https://github.com/org/repo.git@v1.0#egg=mypkg").unwrap();
        assert_eq!(vcs.name.as_deref(), Some("mypkg"));
        assert_eq!(
            vcs.source,
            PackageSource::Vcs {
                url: "git+https://github.com/org/repo.git".into(),
                vcs: "git".into(),
                commit: None,
                requested_revision: Some("v1.0".into()),
            }
        );
        let pinned = parse_spec(
            "x @ git+https://tok@github.com/o/r@0123456789abcdef0123456789abcdef01234567",
        )
        .unwrap();
        assert_eq!(
            pinned.source,
            PackageSource::Vcs {
                url: "git+https://***@github.com/o/r".into(),
                vcs: "git".into(),
                commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
                requested_revision: Some("0123456789abcdef0123456789abcdef01234567".into()),
            }
        );
        let wheel = parse_spec("./downloads/numpy-1.9.2-cp34-none-win32.whl").unwrap();
        assert_eq!(wheel.name.as_deref(), Some("numpy"));
        assert_eq!(wheel.version.as_deref(), Some("1.9.2"));
        assert!(matches!(wheel.source, PackageSource::Local { .. }));

        let sdist =
            parse_spec("https://h/simple/my-pkg-2.0.1.tar.gz ; sys_platform == 'linux'").unwrap();
        assert_eq!(sdist.name.as_deref(), Some("my-pkg"));
        assert_eq!(sdist.version.as_deref(), Some("2.0.1"));
        assert!(sdist.marker_text().is_some());

        let dir = parse_spec("./libs/tool[cli]").unwrap();
        assert_eq!(dir.name.as_deref(), Some("tool"));
        assert_eq!(dir.extras, ["cli"]);
        let env = parse_spec("pkg @ https://${TOKEN}@h/p-1.0.tar.gz").unwrap();
        assert_eq!(
            env.source,
            PackageSource::Url {
                url: "https://${TOKEN}@h/p-1.0.tar.gz".into()
            }
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse_spec("==1.0").is_err());
        // Both panic inside pep508_rs 0.9.2 if passed through.
        assert!(parse_spec("0_{").is_err());
        assert!(parse_spec("x[a_]").is_err());
        assert!(parse_spec("x[a_ , b]").is_err());
        assert!(parse_spec("x ; python_version >= \"3.6\u{fffd}\"").is_err());
        assert!(parse_spec("./p ; python_version >= \"3.6\u{fffd}\"").is_err());
        assert!(parse_spec("name ; python_version ~~ '3'").is_err());
        assert!(parse_spec(&"a".repeat(MAX_REQUIREMENT_LEN + 1)).is_err());
    }
}
