//! Manifests and lock files: each parser turns one file's text into package occurrences
//! with their lines, and problems for whatever it could not read.

pub(crate) mod conda;
pub(crate) mod pipfile_lock;
pub(crate) mod poetry_lock;
pub(crate) mod pylock;
pub(crate) mod pyproject;
pub(crate) mod requirements;
pub(crate) mod uv_lock;

use std::collections::HashMap;

use rampart_core::Location;

use crate::inventory::{Package, PackageSource, Scope, SourceFormat, Subject};
use crate::names::normalize_name;
use crate::problem::{Problem, ProblemKind};
use crate::requirement::Spec;
use crate::text::LineIndex;

/// What one file yielded. `Package::dependencies` index into `packages`.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub packages: Vec<Package>,
    pub problems: Vec<Problem>,
    /// `-r`/`-c` includes of a requirements file, for the caller to follow.
    pub includes: Vec<Include>,
    /// The project the file describes, when it names one.
    pub subject: Option<Subject>,
}

/// A requirements file named by another.
#[derive(Debug)]
pub(crate) struct Include {
    /// The path (or URL) as written, relative to the including file.
    pub target: String,
    pub constraint: bool,
    pub location: Location,
}

/// The manifest or lock format a file name announces, if any.
pub(crate) fn format_of(file_name: &str) -> Option<SourceFormat> {
    let lower = file_name.to_ascii_lowercase();
    Some(match lower.as_str() {
        "pyproject.toml" => SourceFormat::Pyproject,
        "poetry.lock" => SourceFormat::PoetryLock,
        "pipfile.lock" => SourceFormat::PipfileLock,
        "uv.lock" => SourceFormat::UvLock,
        "pylock.toml" => SourceFormat::Pylock,
        "environment.yml" | "environment.yaml" => SourceFormat::CondaEnvironment,
        _ if lower.starts_with("pylock.") && lower.ends_with(".toml") => SourceFormat::Pylock,
        _ if lower.ends_with(".txt")
            && (lower.starts_with("requirements") || lower.contains("requirements")) =>
        {
            SourceFormat::RequirementsTxt
        }
        _ => return None,
    })
}

/// Parses `text` of the given format. `directory_name` names the directory holding the file
/// (for `-e .`).
pub(crate) fn parse(
    format: SourceFormat,
    text: &str,
    location: &Location,
    directory_name: &str,
    max_entries: u64,
) -> Parsed {
    match format {
        SourceFormat::RequirementsTxt => {
            requirements::parse(text, location, false, directory_name, max_entries)
        }
        SourceFormat::Pyproject => pyproject::parse(text, location, directory_name),
        SourceFormat::PoetryLock => poetry_lock::parse(text, location),
        SourceFormat::PipfileLock => pipfile_lock::parse(text, location),
        SourceFormat::UvLock => uv_lock::parse(text, location),
        SourceFormat::Pylock => pylock::parse(text, location),
        SourceFormat::CondaEnvironment => conda::parse(text, location, directory_name, max_entries),
        SourceFormat::Environment
        | SourceFormat::CycloneDx
        | SourceFormat::DpkgStatus
        | SourceFormat::ApkInstalled
        | SourceFormat::RpmDb
        | SourceFormat::RpmBerkeleyDb
        | SourceFormat::RpmNdb => Parsed::default(),
    }
}

/// A package occurrence from a parsed specification. A local path with no name of its own
/// (`-e .`) is named after the directory it points into.
pub(crate) fn package_from_spec(
    spec: Spec,
    origin: SourceFormat,
    location: Location,
    scope: Scope,
    directory_name: &str,
) -> Package {
    let marker = spec.marker_text();
    let name = spec.name.unwrap_or_else(|| match &spec.source {
        PackageSource::Local { path } => local_name(path, directory_name),
        _ => directory_name.to_owned(),
    });
    let mut package = Package::named(&name, origin, location);
    package.extras = spec.extras;
    package.version = spec.version;
    package.specifier = spec.specifier;
    package.marker = marker;
    package.source = spec.source;
    package.scope = scope;
    package
}

fn local_name(path: &str, directory_name: &str) -> String {
    path.trim_end_matches(['/', '\\'])
        .rsplit(['/', '\\'])
        .find(|part| !part.is_empty() && *part != "." && *part != "..")
        .unwrap_or(directory_name)
        .to_owned()
}

/// Resolves the dependency lists of lock entries (by PEP 503 name) into indices. A name with
/// several entries (one per platform or Python version) links to all of them.
pub(crate) fn link_dependencies(packages: &mut [Package], dependency_names: &[Vec<String>]) {
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
    for (index, package) in packages.iter().enumerate() {
        by_name
            .entry(package.normalized_name.clone())
            .or_default()
            .push(index);
    }
    for (package, names) in packages.iter_mut().zip(dependency_names) {
        let mut targets: Vec<usize> = names
            .iter()
            .filter_map(|name| by_name.get(&normalize_name(name)))
            .flatten()
            .copied()
            .collect();
        targets.sort_unstable();
        targets.dedup();
        package.dependencies = targets;
    }
}

/// A TOML or JSON document that did not parse: one problem at the line the parser names.
pub(crate) fn syntax_problem(
    location: &Location,
    what: &str,
    offset: Option<usize>,
    text: &str,
    message: &str,
) -> Problem {
    let first_line = message
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(message);
    let here = match offset {
        Some(offset) => location.at_line(LineIndex::new(text).line(offset), None),
        None => location.clone(),
    };
    Problem::new(
        ProblemKind::Malformed,
        here,
        format!("{what} could not be parsed: {}", first_line.trim()),
    )
}
