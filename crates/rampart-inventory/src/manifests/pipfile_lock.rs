//! `Pipfile.lock` (JSON): `default` and `develop` maps of `name → {version: "==x", hashes,
//! markers, index, git/ref, path/file, editable}`.

use rampart_core::Location;
use serde_json::{Map, Value};

use super::{Parsed, syntax_problem};
use crate::inventory::{ArtifactHash, Package, PackageSource, Scope, SourceFormat};
use crate::problem::{Problem, ProblemKind};
use crate::requirement::source_of_url;
use crate::text::{LineIndex, excerpt};

pub(crate) fn parse(text: &str, location: &Location) -> Parsed {
    let mut parsed = Parsed::default();
    let document: Map<String, Value> = match serde_json::from_str(text) {
        Ok(document) => document,
        Err(error) => {
            let offset = offset_of_line_column(text, error.line(), error.column());
            parsed.problems.push(syntax_problem(
                location,
                "Pipfile.lock",
                offset,
                text,
                &error.to_string(),
            ));
            return parsed;
        }
    };
    let lines = LineIndex::new(text);
    for (section, scope) in [
        ("default", Scope::Required),
        ("develop", Scope::Development),
    ] {
        let Some(entries) = document.get(section).and_then(Value::as_object) else {
            continue;
        };
        // serde_json keeps no positions: find each key's line by its text after the section.
        let section_start = text.find(&format!("\"{section}\"")).unwrap_or(0);
        // Sorted explicitly: serde_json's map order depends on its features.
        let mut sorted: Vec<(&String, &Value)> = entries.iter().collect();
        sorted.sort_by_key(|(name, _)| name.as_str());
        for (name, entry) in sorted {
            let offset = find_key(text, section_start, name).unwrap_or(section_start);
            let here = location.at_line(lines.line(offset), None);
            let Some(entry) = entry.as_object() else {
                parsed.problems.push(Problem::new(
                    ProblemKind::Malformed,
                    here,
                    format!(
                        "Pipfile.lock entry `{}` is not an object",
                        excerpt(name, 80)
                    ),
                ));
                continue;
            };
            parsed.packages.push(package(name, entry, here, scope));
        }
    }
    parsed
}

fn package(name: &str, entry: &Map<String, Value>, here: Location, scope: Scope) -> Package {
    let text = |key: &str| entry.get(key).and_then(Value::as_str);
    let mut package = Package::named(name, SourceFormat::PipfileLock, here);
    package.scope = scope;
    if let Some(version) = text("version") {
        match version
            .strip_prefix("===")
            .or_else(|| version.strip_prefix("=="))
        {
            Some(exact) => package.version = Some(exact.trim().to_owned()),
            None if version != "*" => package.specifier = Some(version.to_owned()),
            None => {}
        }
    }
    package.marker = text("markers").map(str::to_owned);
    package.hashes = entry
        .get("hashes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|hash| hash.split_once(':'))
        .map(|(algorithm, value)| ArtifactHash {
            algorithm: algorithm.to_ascii_lowercase(),
            value: value.to_ascii_lowercase(),
            artifact: None,
        })
        .collect();
    package.extras = entry
        .get("extras")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    package.editable = entry.get("editable").and_then(Value::as_bool) == Some(true);
    if let Some(git) = text("git") {
        let url = match text("ref") {
            Some(reference) => format!("git+{git}@{reference}"),
            None => format!("git+{git}"),
        };
        package.source = source_of_url(&url);
    } else if let Some(file) = text("file") {
        package.source = source_of_url(file);
    } else if let Some(path) = text("path") {
        package.source = PackageSource::Local {
            path: path.to_owned(),
        };
    }
    package
}

/// The offset of `"name"` used as a key (followed by `:`) at or after `from`.
fn find_key(text: &str, from: usize, name: &str) -> Option<usize> {
    let needle = format!("\"{name}\"");
    let mut start = from;
    while let Some(found) = text.get(start..)?.find(&needle) {
        let at = start + found;
        let after = text.get(at + needle.len()..)?;
        if after.trim_start().starts_with(':') {
            return Some(at);
        }
        start = at + needle.len();
    }
    None
}

/// serde_json reports 1-based lines and columns; 0 means "no position".
fn offset_of_line_column(text: &str, line: usize, column: usize) -> Option<usize> {
    if line == 0 {
        return None;
    }
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum();
    Some(line_start + column.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_and_develop_with_lines() {
        let text = r#"{
    "_meta": {"hash": {"sha256": "x"}},
    "default": {
        "requests": {
            "hashes": ["sha256:AA", "sha256:bb"],
            "index": "pypi",
            "markers": "python_version >= '3.6'",
            "version": "==2.25.0"
        },
        "mylib": {"git": "https://github.com/o/r.git", "ref": "abcdef1234567", "editable": true}
    },
    "develop": {
        "pytest": {"version": "==7.0.0", "hashes": []}
    }
}"#;
        let parsed = parse(text, &Location::file("Pipfile.lock"));
        assert!(parsed.problems.is_empty());
        let summary: Vec<_> = parsed
            .packages
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.version.as_deref(),
                    p.location.line,
                    p.scope,
                    p.hashes.len(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("mylib", None, Some(10), Scope::Required, 0),
                ("requests", Some("2.25.0"), Some(4), Scope::Required, 2),
                ("pytest", Some("7.0.0"), Some(13), Scope::Development, 0),
            ]
        );
        assert!(parsed.packages[0].editable);
    }

    #[test]
    fn broken_json_is_one_problem_at_its_line() {
        let parsed = parse(
            "{\n\"default\": {\n\"x\": }\n}",
            &Location::file("Pipfile.lock"),
        );
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(parsed.problems[0].location.line, Some(3));
    }
}
