//! `uv.lock`: `[[package]]` entries with `source` (registry, git, url, path, directory,
//! editable, virtual), `dependencies`, `sdist`/`wheels` hashes. The project's own entries
//! (`virtual` or editable `.`) become the subject, and their dependencies are the direct ones.

use std::collections::HashSet;

use rampart_core::Location;
use serde::Deserialize;
use toml::{Spanned, Table, Value};

use super::{Parsed, link_dependencies, syntax_problem};
use crate::inventory::{ArtifactHash, Package, PackageSource, SourceFormat, Subject};
use crate::names::normalize_name;
use crate::problem::{Problem, ProblemKind};
use crate::requirement::source_of_url;
use crate::text::LineIndex;

/// The lock-file versions whose layout this reader knows.
const KNOWN_VERSIONS: [i64; 1] = [1];

#[derive(Deserialize)]
struct Document {
    version: Option<i64>,
    #[serde(default)]
    package: Vec<Spanned<LockedPackage>>,
}

#[derive(Deserialize)]
struct LockedPackage {
    name: Option<String>,
    version: Option<String>,
    source: Option<Table>,
    #[serde(default)]
    dependencies: Vec<Value>,
    #[serde(rename = "optional-dependencies", default)]
    optional_dependencies: Table,
    #[serde(rename = "dev-dependencies", default)]
    dev_dependencies: Table,
    sdist: Option<Table>,
    #[serde(default)]
    wheels: Vec<Table>,
}

pub(crate) fn parse(text: &str, location: &Location) -> Parsed {
    let mut parsed = Parsed::default();
    let document: Document = match toml::from_str(text) {
        Ok(document) => document,
        Err(error) => {
            parsed.problems.push(syntax_problem(
                location,
                "uv.lock",
                error.span().map(|s| s.start),
                text,
                error.message(),
            ));
            return parsed;
        }
    };
    if let Some(version) = document.version
        && !KNOWN_VERSIONS.contains(&version)
    {
        parsed.problems.push(Problem::new(
            ProblemKind::Unsupported,
            location.at_line(1, None),
            format!("uv.lock version {version} is not one rampart knows (1); entries were read as version 1"),
        ));
    }
    let lines = LineIndex::new(text);
    let mut direct: HashSet<String> = HashSet::new();
    let mut dependency_names = Vec::new();
    for entry in &document.package {
        let here = location.at_line(lines.line(entry.span().start), None);
        let locked = entry.get_ref();
        let Some(name) = &locked.name else {
            parsed.problems.push(Problem::new(
                ProblemKind::Malformed,
                here,
                "uv.lock package entry has no name".to_owned(),
            ));
            continue;
        };
        let names = dependency_list(locked);
        let source = locked.source.as_ref();
        let text_of = |key: &str| source.and_then(|s| s.get(key)).and_then(Value::as_str);
        let is_project = text_of("virtual").is_some() || text_of("editable") == Some(".");
        if is_project {
            if parsed.subject.is_none() {
                parsed.subject = Some(Subject {
                    name: name.clone(),
                    version: locked.version.clone(),
                });
            }
            direct.extend(names.iter().map(|n| normalize_name(n)));
            continue;
        }
        let mut package = Package::named(name, SourceFormat::UvLock, here.clone());
        package.version = locked.version.clone();
        if package.version.is_none() {
            parsed.problems.push(Problem::new(
                ProblemKind::Malformed,
                here,
                format!("uv.lock package `{name}` has no version"),
            ));
        }
        package.source = match source {
            Some(source) => uv_source(source, &mut package.editable),
            None => PackageSource::Registry,
        };
        package.hashes = locked
            .sdist
            .iter()
            .chain(&locked.wheels)
            .filter_map(artifact_hash)
            .collect();
        dependency_names.push(names);
        parsed.packages.push(package);
    }
    for package in &mut parsed.packages {
        package.direct = Some(direct.contains(&package.normalized_name));
    }
    link_dependencies(&mut parsed.packages, &dependency_names);
    parsed
}

/// Names from `dependencies`, `optional-dependencies` and `dev-dependencies` (`{name = ...}`).
fn dependency_list(locked: &LockedPackage) -> Vec<String> {
    let grouped = locked
        .optional_dependencies
        .values()
        .chain(locked.dev_dependencies.values())
        .filter_map(Value::as_array)
        .flatten();
    locked
        .dependencies
        .iter()
        .chain(grouped)
        .filter_map(|d| d.get("name").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

fn uv_source(source: &Table, editable: &mut bool) -> PackageSource {
    let text = |key: &str| source.get(key).and_then(Value::as_str);
    if let Some(registry) = text("registry") {
        let default = registry.trim_end_matches('/') == "https://pypi.org/simple";
        return if default {
            PackageSource::Registry
        } else {
            PackageSource::Index {
                url: crate::names::redact_url(registry),
            }
        };
    }
    if let Some(git) = text("git") {
        // `https://host/repo?rev=main#<commit>`
        let (repository, commit) = git.split_once('#').unwrap_or((git, ""));
        let (repository, query) = repository.split_once('?').unwrap_or((repository, ""));
        let requested = query
            .split('&')
            .find_map(|p| {
                p.strip_prefix("rev=")
                    .or_else(|| p.strip_prefix("tag="))
                    .or_else(|| p.strip_prefix("branch="))
            })
            .map(str::to_owned);
        if let PackageSource::Vcs { url, vcs, .. } = source_of_url(&format!("git+{repository}")) {
            return PackageSource::Vcs {
                url,
                vcs,
                commit: (!commit.is_empty()).then(|| commit.to_ascii_lowercase()),
                requested_revision: requested,
            };
        }
    }
    if let Some(url) = text("url") {
        return source_of_url(url);
    }
    if let Some(path) = text("editable") {
        *editable = true;
        return PackageSource::Local {
            path: path.to_owned(),
        };
    }
    match text("path").or(text("directory")) {
        Some(path) => PackageSource::Local {
            path: path.to_owned(),
        },
        None => PackageSource::Registry,
    }
}

/// `{url, hash = "sha256:...", size}`.
fn artifact_hash(artifact: &Table) -> Option<ArtifactHash> {
    let (algorithm, value) = artifact.get("hash")?.as_str()?.split_once(':')?;
    Some(ArtifactHash {
        algorithm: algorithm.to_ascii_lowercase(),
        value: value.to_ascii_lowercase(),
        artifact: artifact
            .get("url")
            .or_else(|| artifact.get("path"))
            .and_then(Value::as_str)
            .map(crate::names::redact_url),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"version = 1
requires-python = ">=3.11"

[[package]]
name = "certifi"
version = "2024.8.30"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://files.example/certifi-2024.8.30.tar.gz", hash = "sha256:AB", size = 1 }

[[package]]
name = "demo"
version = "0.1.0"
source = { virtual = "." }
dependencies = [
    { name = "requests" },
]

[package.dev-dependencies]
dev = [{ name = "tool" }]

[[package]]
name = "requests"
version = "2.32.3"
source = { registry = "https://pypi.org/simple" }
dependencies = [
    { name = "certifi" },
]
wheels = [
    { url = "https://files.example/requests-2.32.3-py3-none-any.whl", hash = "sha256:cd", size = 2 },
]

[[package]]
name = "tool"
version = "1.0.0"
source = { git = "https://github.com/o/tool?rev=main#0123456789abcdef0123456789abcdef01234567" }
"#;

    #[test]
    fn packages_graph_and_project() {
        let parsed = parse(LOCK, &Location::file("uv.lock"));
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        assert_eq!(parsed.subject.as_ref().unwrap().name, "demo");
        let summary: Vec<_> = parsed
            .packages
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.location.line,
                    p.direct,
                    p.dependencies.clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("certifi", Some(4), Some(false), vec![]),
                ("requests", Some(21), Some(true), vec![0]),
                ("tool", Some(32), Some(true), vec![]),
            ]
        );
        assert_eq!(parsed.packages[0].hashes[0].value, "ab");
        assert!(matches!(
            &parsed.packages[2].source,
            PackageSource::Vcs { commit: Some(c), requested_revision: Some(r), .. }
                if c.starts_with("0123") && r == "main"
        ));
    }

    #[test]
    fn unknown_version_is_reported() {
        let parsed = parse("version = 9\n", &Location::file("uv.lock"));
        assert_eq!(parsed.problems[0].kind, ProblemKind::Unsupported);
    }
}
