//! `poetry.lock`: `[[package]]` entries with exact versions, file hashes (`files`, or the
//! 1.x `[metadata.files]` table), sources and dependency tables.

use std::collections::BTreeMap;

use rampart_core::Location;
use serde::Deserialize;
use toml::{Spanned, Value};

use super::{Parsed, link_dependencies, syntax_problem};
use crate::inventory::{ArtifactHash, Package, PackageSource, Scope, SourceFormat};
use crate::problem::{Problem, ProblemKind};
use crate::requirement::source_of_url;
use crate::text::LineIndex;

#[derive(Deserialize)]
struct Document {
    #[serde(default)]
    package: Vec<Spanned<LockedPackage>>,
    metadata: Option<Metadata>,
}

#[derive(Deserialize)]
struct LockedPackage {
    name: Option<String>,
    version: Option<String>,
    description: Option<String>,
    category: Option<String>,
    optional: Option<bool>,
    #[serde(default)]
    files: Vec<Value>,
    #[serde(default)]
    dependencies: BTreeMap<String, Value>,
    source: Option<BTreeMap<String, Value>>,
}

#[derive(Deserialize)]
struct Metadata {
    files: Option<BTreeMap<String, Vec<Value>>>,
}

pub(crate) fn parse(text: &str, location: &Location) -> Parsed {
    let mut parsed = Parsed::default();
    let document: Document = match toml::from_str(text) {
        Ok(document) => document,
        Err(error) => {
            parsed.problems.push(syntax_problem(
                location,
                "poetry.lock",
                error.span().map(|s| s.start),
                text,
                error.message(),
            ));
            return parsed;
        }
    };
    let lines = LineIndex::new(text);
    let legacy_files = document.metadata.and_then(|m| m.files).unwrap_or_default();
    let mut dependency_names = Vec::new();
    for entry in &document.package {
        let here = location.at_line(lines.line(entry.span().start), None);
        let locked = entry.get_ref();
        let (Some(name), Some(version)) = (&locked.name, &locked.version) else {
            parsed.problems.push(Problem::new(
                ProblemKind::Malformed,
                here,
                "poetry.lock package entry lacks a name or version".to_owned(),
            ));
            continue;
        };
        let mut package = Package::named(name, SourceFormat::PoetryLock, here);
        package.version = Some(version.clone());
        package.summary = locked.description.clone().filter(|d| !d.is_empty());
        package.scope = match (locked.category.as_deref(), locked.optional) {
            (Some("dev"), _) => Scope::Development,
            (_, Some(true)) => Scope::Optional,
            _ => Scope::Required,
        };
        let files = locked
            .files
            .iter()
            .chain(legacy_files.get(name).into_iter().flatten());
        package.hashes = files.filter_map(file_hash).collect();
        if let Some(source) = &locked.source {
            package.source = poetry_source(source);
        }
        dependency_names.push(locked.dependencies.keys().cloned().collect());
        parsed.packages.push(package);
    }
    link_dependencies(&mut parsed.packages, &dependency_names);
    parsed
}

/// `{file = "x.whl", hash = "sha256:..."}`.
fn file_hash(file: &Value) -> Option<ArtifactHash> {
    let table = file.as_table()?;
    let (algorithm, value) = table.get("hash")?.as_str()?.split_once(':')?;
    Some(ArtifactHash {
        algorithm: algorithm.to_ascii_lowercase(),
        value: value.to_ascii_lowercase(),
        artifact: table.get("file").and_then(Value::as_str).map(str::to_owned),
    })
}

/// `[package.source]`: `type` git/url/file/directory/legacy with `url`, `reference`,
/// `resolved_reference`.
fn poetry_source(source: &BTreeMap<String, Value>) -> PackageSource {
    let text = |key: &str| source.get(key).and_then(Value::as_str);
    let url = text("url").unwrap_or_default();
    match text("type") {
        Some("git") => match source_of_url(&format!("git+{url}")) {
            PackageSource::Vcs { url, vcs, .. } => PackageSource::Vcs {
                url,
                vcs,
                commit: text("resolved_reference").map(str::to_owned),
                requested_revision: text("reference").map(str::to_owned),
            },
            other => other,
        },
        Some("url") => source_of_url(url),
        Some("file" | "directory") => PackageSource::Local {
            path: url.to_owned(),
        },
        Some("legacy") => PackageSource::Index {
            url: crate::names::redact_url(url),
        },
        _ => PackageSource::Registry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_hashes_sources_and_graph() {
        let text = r#"
[[package]]
name = "requests"
version = "2.25.0"
description = "HTTP"
optional = false
python-versions = ">=3.6"
files = [
    {file = "requests-2.25.0-py2.py3-none-any.whl", hash = "sha256:AB12"},
]

[package.dependencies]
urllib3 = {version = ">=1.21.1,<1.27", markers = "python_version >= \"3\""}
certifi = ">=2017.4.17"

[[package]]
name = "urllib3"
version = "1.26.0"
category = "dev"

[[package]]
name = "mylib"
version = "0.1.0"

[package.source]
type = "git"
url = "https://github.com/o/mylib.git"
reference = "main"
resolved_reference = "0123abcd"

[[package]]
name = "broken"

[metadata]
lock-version = "1.1"

[metadata.files]
urllib3 = [{file = "urllib3-1.26.0.tar.gz", hash = "md5:ff"}]
"#;
        let parsed = parse(text, &Location::file("poetry.lock"));
        assert_eq!(parsed.packages.len(), 3);
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(parsed.problems[0].location.line, Some(31));
        let requests = &parsed.packages[0];
        assert_eq!(requests.location.line, Some(2));
        assert_eq!(requests.hashes[0].value, "ab12");
        assert_eq!(requests.dependencies, [1]);
        let urllib3 = &parsed.packages[1];
        assert_eq!(urllib3.scope, Scope::Development);
        assert_eq!(urllib3.hashes[0].algorithm, "md5");
        assert!(matches!(
            &parsed.packages[2].source,
            PackageSource::Vcs { commit: Some(c), .. } if c == "0123abcd"
        ));
    }
}
