//! Conda `environment.yml`: conda match specs under `dependencies` (ecosystem `conda`) and
//! the `pip:` list, read as requirements-file lines (includes are followed by the caller).

use rampart_core::Location;

use super::{Parsed, requirements};
use crate::inventory::{Ecosystem, Package, Scope, SourceFormat, Subject};
use crate::problem::{Problem, ProblemKind};
use crate::text::excerpt;
use crate::yaml::{self, Node};

pub(crate) fn parse(
    text: &str,
    location: &Location,
    directory_name: &str,
    max_entries: u64,
) -> Parsed {
    let mut parsed = Parsed::default();
    let document = match yaml::parse(text, max_entries) {
        Ok(document) => document,
        Err(error) => {
            parsed.problems.push(Problem::new(
                ProblemKind::Malformed,
                location.at_line(error.line, None),
                format!("environment.yml could not be parsed: {}", error.message),
            ));
            return parsed;
        }
    };
    if let Some(name) = document.get("name").and_then(Node::as_str) {
        parsed.subject = Some(Subject {
            name: name.to_owned(),
            version: None,
        });
    }
    let Some(dependencies) = document.get("dependencies") else {
        return parsed;
    };
    for item in dependencies.as_sequence() {
        let here = location.at_line(item.line, None);
        if let Some(spec) = item.as_str() {
            match conda_package(spec, here.clone()) {
                Some(package) => parsed.packages.push(package),
                None => parsed.problems.push(Problem::new(
                    ProblemKind::Malformed,
                    here,
                    format!("`{}` is not a conda match spec", excerpt(spec, 120)),
                )),
            }
        } else if let Some(pip) = item.get("pip") {
            for line in pip.as_sequence() {
                let Some(requirement) = line.as_str() else {
                    continue;
                };
                let here = location.at_line(line.line, None);
                let mut one =
                    requirements::parse(requirement, &here, false, directory_name, max_entries);
                // The line parser numbers from 1; each pip item is one line of the YAML.
                for package in &mut one.packages {
                    package.location = here.clone();
                    package.origin = SourceFormat::CondaEnvironment;
                }
                for problem in &mut one.problems {
                    problem.location = here.clone();
                }
                for include in &mut one.includes {
                    include.location = here.clone();
                }
                parsed.packages.append(&mut one.packages);
                parsed.problems.append(&mut one.problems);
                parsed.includes.append(&mut one.includes);
            }
        } else {
            parsed.problems.push(Problem::new(
                ProblemKind::Malformed,
                here,
                "environment.yml dependency is neither a match spec nor a `pip:` list".to_owned(),
            ));
        }
    }
    parsed
}

/// A conda match spec: `[channel::]name[ version[ build]]` or `name=version[=build]`,
/// `name==version`, `name>=x,<y`. `=1.2` means `1.2.*` in conda, so only `==`, a version with
/// a build string, or a space-separated version is exact.
fn conda_package(spec: &str, here: Location) -> Option<Package> {
    let spec = spec.trim();
    let spec = spec.rsplit_once("::").map_or(spec, |(_, rest)| rest);
    let name_len = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(spec.len());
    let (name, rest) = spec.split_at(name_len);
    if name.is_empty() {
        return None;
    }
    let mut package = Package::named(name, SourceFormat::CondaEnvironment, here);
    package.ecosystem = Ecosystem::Conda;
    package.scope = Scope::Required;
    package.direct = Some(true);
    let rest = rest.trim();
    if rest.is_empty() {
        return Some(package);
    }
    if let Some(exact) = rest.strip_prefix("==") {
        package.version = Some(exact.trim().to_owned());
    } else if let Some(fuzzy) = rest.strip_prefix('=') {
        match fuzzy.split_once('=') {
            Some((version, _build)) => package.version = Some(version.to_owned()),
            None => package.specifier = Some(format!("=={fuzzy}.*")),
        }
    } else if rest.starts_with(['<', '>', '!', '~']) {
        package.specifier = Some(rest.to_owned());
    } else {
        let version = rest.split_whitespace().next()?;
        if version.contains('*') {
            package.specifier = Some(format!("=={version}"));
        } else {
            package.version = Some(version.to_owned());
        }
    }
    Some(package)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conda_and_pip_sections() {
        let text = "name: train\nchannels: [conda-forge]\ndependencies:\n  - python=3.10\n  \
                    - numpy=1.21.0=py39h\n  - conda-forge::pytorch>=1.10\n  - scipy 1.7.3\n  \
                    - pip\n  - pip:\n    - requests==2.25.1\n    - -r requirements-extra.txt\n    \
                    - ==bad\n";
        let parsed = parse(text, &Location::file("environment.yml"), "proj", 100);
        assert_eq!(parsed.subject.as_ref().unwrap().name, "train");
        let summary: Vec<_> = parsed
            .packages
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.ecosystem,
                    p.version.as_deref(),
                    p.specifier.as_deref(),
                    p.location.line,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("python", Ecosystem::Conda, None, Some("==3.10.*"), Some(4)),
                ("numpy", Ecosystem::Conda, Some("1.21.0"), None, Some(5)),
                ("pytorch", Ecosystem::Conda, None, Some(">=1.10"), Some(6)),
                ("scipy", Ecosystem::Conda, Some("1.7.3"), None, Some(7)),
                ("pip", Ecosystem::Conda, None, None, Some(8)),
                ("requests", Ecosystem::PyPI, Some("2.25.1"), None, Some(10)),
            ]
        );
        assert_eq!(parsed.packages[5].origin, SourceFormat::CondaEnvironment);
        assert_eq!(parsed.includes[0].target, "requirements-extra.txt");
        assert_eq!(parsed.includes[0].location.line, Some(11));
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(parsed.problems[0].location.line, Some(12));
    }

    #[test]
    fn broken_yaml_is_one_problem() {
        let parsed = parse(
            "dependencies: [a, b\n",
            &Location::file("environment.yml"),
            "p",
            100,
        );
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(parsed.problems[0].kind, ProblemKind::Malformed);
    }
}
