//! PEP 751 `pylock.toml`: `[[packages]]` with `name`, `version`, `marker`, `index`, and one
//! source (`vcs`, `directory`, `archive`, or `sdist`/`wheels` with `hashes`).

use rampart_core::Location;
use serde::Deserialize;
use toml::{Spanned, Table, Value};

use super::{Parsed, link_dependencies, syntax_problem};
use crate::inventory::{ArtifactHash, Package, PackageSource, SourceFormat};
use crate::problem::{Problem, ProblemKind};
use crate::requirement::source_of_url;
use crate::text::LineIndex;

#[derive(Deserialize)]
struct Document {
    #[serde(rename = "lock-version")]
    lock_version: Option<String>,
    #[serde(default)]
    packages: Vec<Spanned<Table>>,
}

pub(crate) fn parse(text: &str, location: &Location) -> Parsed {
    let mut parsed = Parsed::default();
    let document: Document = match toml::from_str(text) {
        Ok(document) => document,
        Err(error) => {
            parsed.problems.push(syntax_problem(
                location,
                "pylock.toml",
                error.span().map(|s| s.start),
                text,
                error.message(),
            ));
            return parsed;
        }
    };
    match document.lock_version.as_deref() {
        Some(version) if version.split('.').next() == Some("1") => {}
        other => parsed.problems.push(Problem::new(
            ProblemKind::Unsupported,
            location.at_line(1, None),
            format!(
                "pylock.toml lock-version {} is not 1.x; entries were read as 1.0",
                other.unwrap_or("(missing)")
            ),
        )),
    }
    let lines = LineIndex::new(text);
    let mut dependency_names = Vec::new();
    for entry in &document.packages {
        let here = location.at_line(lines.line(entry.span().start), None);
        let table = entry.get_ref();
        let text_of = |key: &str| table.get(key).and_then(Value::as_str);
        let Some(name) = text_of("name") else {
            parsed.problems.push(Problem::new(
                ProblemKind::Malformed,
                here,
                "pylock.toml package entry has no name".to_owned(),
            ));
            continue;
        };
        let mut package = Package::named(name, SourceFormat::Pylock, here);
        package.version = text_of("version").map(str::to_owned);
        package.marker = text_of("marker").map(str::to_owned);
        package.source = source(table, &mut package.editable);
        let sdist = table.get("sdist").and_then(Value::as_table);
        let archive = table.get("archive").and_then(Value::as_table);
        let wheels = table
            .get("wheels")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_table);
        package.hashes = sdist
            .into_iter()
            .chain(archive)
            .chain(wheels)
            .flat_map(artifact_hashes)
            .collect();
        let names = table
            .get("dependencies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|d| d.get("name").and_then(Value::as_str))
            .map(str::to_owned)
            .collect();
        dependency_names.push(names);
        parsed.packages.push(package);
    }
    link_dependencies(&mut parsed.packages, &dependency_names);
    parsed
}

fn source(table: &Table, editable: &mut bool) -> PackageSource {
    let sub = |key: &str| table.get(key).and_then(Value::as_table);
    let text_in = |t: &Table, key: &str| t.get(key).and_then(Value::as_str).map(str::to_owned);
    if let Some(vcs) = sub("vcs") {
        let kind = text_in(vcs, "type").unwrap_or_else(|| "git".to_owned());
        let url = text_in(vcs, "url")
            .or_else(|| text_in(vcs, "path"))
            .unwrap_or_default();
        if let PackageSource::Vcs { url, vcs: kind, .. } = source_of_url(&format!("{kind}+{url}")) {
            return PackageSource::Vcs {
                url,
                vcs: kind,
                commit: text_in(vcs, "commit-id"),
                requested_revision: text_in(vcs, "requested-revision"),
            };
        }
    }
    if let Some(directory) = sub("directory") {
        *editable = directory.get("editable").and_then(Value::as_bool) == Some(true);
        return PackageSource::Local {
            path: text_in(directory, "path").unwrap_or_default(),
        };
    }
    if let Some(archive) = sub("archive") {
        return match text_in(archive, "url") {
            Some(url) => source_of_url(&url),
            None => PackageSource::Local {
                path: text_in(archive, "path").unwrap_or_default(),
            },
        };
    }
    match table.get("index").and_then(Value::as_str) {
        Some(index) if index.trim_end_matches('/') != "https://pypi.org/simple" => {
            PackageSource::Index {
                url: crate::names::redact_url(index),
            }
        }
        _ => PackageSource::Registry,
    }
}

/// `hashes = {sha256 = "..."}` of one sdist, wheel or archive.
fn artifact_hashes(artifact: &Table) -> Vec<ArtifactHash> {
    let name = artifact
        .get("url")
        .or_else(|| artifact.get("name"))
        .or_else(|| artifact.get("path"))
        .and_then(Value::as_str)
        .map(crate::names::redact_url);
    artifact
        .get("hashes")
        .and_then(Value::as_table)
        .into_iter()
        .flatten()
        .filter_map(|(algorithm, value)| {
            Some(ArtifactHash {
                algorithm: algorithm.to_ascii_lowercase(),
                value: value.as_str()?.to_ascii_lowercase(),
                artifact: name.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_sources_and_hashes() {
        let text = r#"lock-version = '1.0'
created-by = 'test'

[[packages]]
name = 'attrs'
version = '25.1.0'
index = 'https://pypi.org/simple'

  [[packages.wheels]]
  name = 'attrs-25.1.0-py3-none-any.whl'
  upload-time = 2025-01-25T11:30:10.164985+00:00
  url = 'https://files.example/attrs-25.1.0-py3-none-any.whl'
  size = 63152
  hashes = {sha256 = 'C75A'}

[[packages]]
name = 'tool'
vcs = { type = 'git', url = 'https://github.com/o/tool', requested-revision = 'main', commit-id = 'abc123' }

[[packages]]
name = 'local'
directory = { path = 'libs/local', editable = true }
"#;
        let parsed = parse(text, &Location::file("pylock.toml"));
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        let attrs = &parsed.packages[0];
        assert_eq!(attrs.version.as_deref(), Some("25.1.0"));
        assert_eq!(attrs.location.line, Some(4));
        assert_eq!(attrs.hashes[0].value, "c75a");
        assert_eq!(attrs.source, PackageSource::Registry);
        assert!(matches!(
            &parsed.packages[1].source,
            PackageSource::Vcs { commit: Some(c), .. } if c == "abc123"
        ));
        assert!(parsed.packages[2].editable);
    }

    #[test]
    fn missing_lock_version_is_reported() {
        let parsed = parse("[[packages]]\nname = 'x'\n", &Location::file("pylock.toml"));
        assert_eq!(parsed.packages.len(), 1);
        assert_eq!(parsed.problems[0].kind, ProblemKind::Unsupported);
    }
}
