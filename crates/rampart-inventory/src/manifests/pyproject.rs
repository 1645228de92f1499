//! `pyproject.toml`: PEP 621 `[project]` dependencies and optional dependencies, PEP 735
//! `[dependency-groups]`, and Poetry's `[tool.poetry]` dependency tables. Only declarations
//! are read; no build backend is ever run.

use std::collections::BTreeMap;

use rampart_core::Location;
use serde::Deserialize;
use toml::{Spanned, Value};

use super::{Parsed, package_from_spec, syntax_problem};
use crate::inventory::{Package, Scope, SourceFormat, Subject};
use crate::problem::{Problem, ProblemKind};
use crate::requirement::{parse_spec, source_of_url};
use crate::text::{LineIndex, excerpt};

#[derive(Deserialize)]
struct Document {
    project: Option<Project>,
    #[serde(rename = "dependency-groups")]
    dependency_groups: Option<BTreeMap<String, Vec<Spanned<Value>>>>,
    tool: Option<Tools>,
}

#[derive(Deserialize)]
struct Project {
    name: Option<String>,
    version: Option<String>,
    dependencies: Option<Vec<Spanned<Value>>>,
    #[serde(rename = "optional-dependencies")]
    optional_dependencies: Option<BTreeMap<String, Vec<Spanned<Value>>>>,
}

#[derive(Deserialize)]
struct Tools {
    poetry: Option<Poetry>,
}

#[derive(Deserialize)]
struct Poetry {
    name: Option<String>,
    version: Option<String>,
    dependencies: Option<BTreeMap<Spanned<String>, Spanned<Value>>>,
    #[serde(rename = "dev-dependencies")]
    dev_dependencies: Option<BTreeMap<Spanned<String>, Spanned<Value>>>,
    group: Option<BTreeMap<String, PoetryGroup>>,
}

#[derive(Deserialize)]
struct PoetryGroup {
    dependencies: Option<BTreeMap<Spanned<String>, Spanned<Value>>>,
}

struct Reader<'a> {
    location: &'a Location,
    lines: LineIndex,
    directory_name: &'a str,
    parsed: Parsed,
}

pub(crate) fn parse(text: &str, location: &Location, directory_name: &str) -> Parsed {
    let document: Document = match toml::from_str(text) {
        Ok(document) => document,
        Err(error) => {
            let mut parsed = Parsed::default();
            parsed.problems.push(syntax_problem(
                location,
                "pyproject.toml",
                error.span().map(|s| s.start),
                text,
                error.message(),
            ));
            return parsed;
        }
    };
    let mut reader = Reader {
        location,
        lines: LineIndex::new(text),
        directory_name,
        parsed: Parsed::default(),
    };
    let poetry = document.tool.and_then(|t| t.poetry);
    if let Some(project) = document.project {
        if let Some(name) = &project.name {
            reader.parsed.subject = Some(Subject {
                name: name.clone(),
                version: project.version.clone(),
            });
        }
        for entry in project.dependencies.iter().flatten() {
            reader.pep508_entry(entry, Scope::Required);
        }
        for entries in project
            .optional_dependencies
            .iter()
            .flat_map(|m| m.values())
        {
            for entry in entries {
                reader.pep508_entry(entry, Scope::Optional);
            }
        }
    }
    for entries in document.dependency_groups.iter().flat_map(|m| m.values()) {
        for entry in entries {
            // `{include-group = "x"}` entries repeat another group, which is read anyway.
            if entry.get_ref().is_str() {
                reader.pep508_entry(entry, Scope::Development);
            }
        }
    }
    if let Some(poetry) = poetry {
        if reader.parsed.subject.is_none()
            && let Some(name) = &poetry.name
        {
            reader.parsed.subject = Some(Subject {
                name: name.clone(),
                version: poetry.version.clone(),
            });
        }
        for (name, value) in poetry.dependencies.iter().flatten() {
            reader.poetry_entry(name, value, Scope::Required);
        }
        let dev_tables = poetry.dev_dependencies.iter().chain(
            poetry
                .group
                .iter()
                .flat_map(|g| g.values().filter_map(|g| g.dependencies.as_ref())),
        );
        for table in dev_tables {
            for (name, value) in table {
                reader.poetry_entry(name, value, Scope::Development);
            }
        }
    }
    reader.parsed
}

impl Reader<'_> {
    fn here(&self, offset: usize) -> Location {
        self.location.at_line(self.lines.line(offset), None)
    }

    fn pep508_entry(&mut self, entry: &Spanned<Value>, scope: Scope) {
        let here = self.here(entry.span().start);
        let Some(text) = entry.get_ref().as_str() else {
            self.parsed.problems.push(Problem::new(
                ProblemKind::Malformed,
                here,
                "dependency entry is not a string".to_owned(),
            ));
            return;
        };
        match parse_spec(text) {
            Ok(spec) => {
                let mut package = package_from_spec(
                    spec,
                    SourceFormat::Pyproject,
                    here,
                    scope,
                    self.directory_name,
                );
                package.direct = Some(true);
                self.parsed.packages.push(package);
            }
            Err(why) => self.parsed.problems.push(Problem::new(
                ProblemKind::Malformed,
                here,
                format!("`{}`: {why}", excerpt(text, 120)),
            )),
        }
    }

    /// A Poetry dependency: `name = "^1.2"`, `name = {version, extras, optional, markers,
    /// git/path/url, ...}`, or a list of such tables (one per Python or platform).
    fn poetry_entry(&mut self, name: &Spanned<String>, value: &Spanned<Value>, scope: Scope) {
        if name.get_ref().eq_ignore_ascii_case("python") {
            return;
        }
        let here = self.here(name.span().start);
        let constraints: Vec<&Value> = match value.get_ref() {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for constraint in constraints {
            let mut package = Package::named(name.get_ref(), SourceFormat::Pyproject, here.clone());
            package.direct = Some(true);
            package.scope = scope;
            match constraint {
                Value::String(version) => apply_poetry_version(&mut package, version),
                Value::Table(table) => {
                    let text = |key: &str| table.get(key).and_then(Value::as_str);
                    if let Some(version) = text("version") {
                        apply_poetry_version(&mut package, version);
                    }
                    if table.get("optional").and_then(Value::as_bool) == Some(true)
                        && scope == Scope::Required
                    {
                        package.scope = Scope::Optional;
                    }
                    package.marker = text("markers").map(str::to_owned);
                    package.extras = table
                        .get("extras")
                        .and_then(Value::as_array)
                        .map(|extras| {
                            extras
                                .iter()
                                .filter_map(Value::as_str)
                                .map(str::to_owned)
                                .collect()
                        })
                        .unwrap_or_default();
                    if let Some(git) = text("git") {
                        let revision = text("rev").or(text("tag")).or(text("branch"));
                        let url = match revision {
                            Some(revision) => format!("git+{git}@{revision}"),
                            None => format!("git+{git}"),
                        };
                        package.source = source_of_url(&url);
                    } else if let Some(url) = text("url") {
                        package.source = source_of_url(url);
                    } else if let Some(path) = text("path") {
                        package.source = crate::inventory::PackageSource::Local {
                            path: path.to_owned(),
                        };
                        package.editable =
                            table.get("develop").and_then(Value::as_bool) == Some(true);
                    }
                }
                _ => {
                    self.parsed.problems.push(Problem::new(
                        ProblemKind::Malformed,
                        here.clone(),
                        format!(
                            "Poetry dependency `{}` is neither a version string nor a table",
                            excerpt(name.get_ref(), 80)
                        ),
                    ));
                    continue;
                }
            }
            self.parsed.packages.push(package);
        }
    }
}

/// Poetry's constraint syntax: a bare version (`1.2.3`) or `==1.2.3` is exact; anything else
/// (`^1.2`, `~1.2`, `*`, `>=1,<2`) is kept as the specifier.
fn apply_poetry_version(package: &mut Package, version: &str) {
    let version = version.trim();
    let exact = version.strip_prefix("==").unwrap_or(version).trim();
    if !exact.is_empty() && !exact.contains('*') && exact.parse::<pep440_rs::Version>().is_ok() {
        package.version = Some(exact.to_owned());
    } else if version != "*" && !version.is_empty() {
        package.specifier = Some(version.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::PackageSource;

    #[test]
    fn pep621_groups_and_poetry() {
        let text = r#"
[project]
name = "demo"
version = "0.1.0"
dependencies = [
  "requests==2.25.0",
  "numpy>=1.20",
]

[project.optional-dependencies]
viz = ["matplotlib"]

[dependency-groups]
test = ["pytest>=7", {include-group = "viz"}]

[tool.poetry.dependencies]
python = "^3.9"
torch = "2.1.0"
transformers = {version = "^4.30", extras = ["torch"], optional = true}
mylib = {git = "https://github.com/o/mylib.git", rev = "v1"}

[tool.poetry.group.dev.dependencies]
black = "*"
"#;
        let parsed = parse(text, &Location::file("pyproject.toml"), "dir");
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        let subject = parsed.subject.as_ref().unwrap();
        assert_eq!(
            (subject.name.as_str(), subject.version.as_deref()),
            ("demo", Some("0.1.0"))
        );
        let summary: Vec<_> = parsed
            .packages
            .iter()
            .map(|p| {
                (
                    p.normalized_name.as_str(),
                    p.version.as_deref(),
                    p.specifier.as_deref(),
                    p.scope,
                    p.location.line,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("requests", Some("2.25.0"), None, Scope::Required, Some(6)),
                ("numpy", None, Some(">=1.20"), Scope::Required, Some(7)),
                ("matplotlib", None, None, Scope::Optional, Some(11)),
                ("pytest", None, Some(">=7"), Scope::Development, Some(14)),
                ("mylib", None, None, Scope::Required, Some(20)),
                ("torch", Some("2.1.0"), None, Scope::Required, Some(18)),
                (
                    "transformers",
                    None,
                    Some("^4.30"),
                    Scope::Optional,
                    Some(19)
                ),
                ("black", None, None, Scope::Development, Some(23)),
            ]
        );
        assert!(matches!(
            &parsed.packages[4].source,
            PackageSource::Vcs { requested_revision: Some(r), .. } if r == "v1"
        ));
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let parsed = parse(
            "[project]\nname = \"x\"\ndependencies = [\n",
            &Location::file("pyproject.toml"),
            "d",
        );
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(parsed.problems[0].kind, ProblemKind::Malformed);
        assert!(parsed.problems[0].location.line.is_some());
    }
}
