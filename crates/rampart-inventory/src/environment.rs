//! Installed Python environments: a virtualenv (or conda env) and its `site-packages`,
//! read from the distributions' metadata files alone — `*.dist-info` (`METADATA`, `RECORD`,
//! `direct_url.json`, `INSTALLER`, `REQUESTED`), legacy `*.egg-info` and `.egg-link`
//! development installs. No interpreter is run: the environment's markers come from
//! `pyvenv.cfg` and the directory layout.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep508_rs::{ExtraName, MarkerEnvironment, MarkerEnvironmentBuilder, MarkerTree};
use rampart_core::{Limits, Location};
use serde_json::Value;

use crate::inventory::{ArtifactHash, Package, PackageSource, SourceFormat};
use crate::license;
use crate::manifests::Parsed;
use crate::problem::{Problem, ProblemKind};
use crate::requirement::{parse_spec, source_of_url};
use crate::text::{excerpt, read_text};

/// True for a directory that is a Python environment root: a virtualenv (`pyvenv.cfg`) or a
/// conda environment (`conda-meta/`).
pub(crate) fn is_environment_root(dir: &Path) -> bool {
    dir.join("pyvenv.cfg").is_file() || dir.join("conda-meta").is_dir()
}

/// True for a `site-packages` (or Debian `dist-packages`) directory.
pub(crate) fn is_site_packages(dir: &Path) -> bool {
    matches!(
        dir.file_name().and_then(|n| n.to_str()),
        Some("site-packages" | "dist-packages")
    )
}

/// The site-packages directories of an environment root, sorted: `lib/python*/…`,
/// `lib/pypy*/…` (POSIX) and `Lib/site-packages` (Windows).
pub(crate) fn site_packages_of(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let windows = root.join("Lib").join("site-packages");
    if windows.is_dir() {
        found.push(windows);
    }
    // `lib64` is a symlink to `lib` in most virtualenvs; reading both would list everything twice.
    if let Ok(entries) = fs::read_dir(root.join("lib")) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let site = entry.path().join("site-packages");
            if (name.starts_with("python") || name.starts_with("pypy")) && site.is_dir() {
                found.push(site);
            }
        }
    }
    found.sort();
    found
}

/// What the environment's markers evaluate against, when its Python version is known (from
/// `pyvenv.cfg` or a `pythonX.Y` directory). The platform is taken from the layout
/// (`Lib/` is Windows) and otherwise from the machine running rampart.
pub(crate) fn marker_environment(
    root: Option<&Path>,
    site_packages: &Path,
) -> Option<MarkerEnvironment> {
    let from_config = root
        .and_then(|root| fs::read_to_string(root.join("pyvenv.cfg")).ok())
        .and_then(|config| {
            config.lines().find_map(|line| {
                let (key, value) = line.split_once('=')?;
                matches!(key.trim(), "version" | "version_info").then(|| value.trim().to_owned())
            })
        });
    let from_layout = site_packages
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("python"))
        .map(str::to_owned);
    let full: String = from_config.or(from_layout)?;
    // `3.11.4.final.0` (version_info) → `3.11.4`.
    let full: String = full.split('.').take(3).collect::<Vec<_>>().join(".");
    let short: String = full.split('.').take(2).collect::<Vec<_>>().join(".");
    let windows = site_packages.parent().and_then(|p| p.file_name()) == Some("Lib".as_ref());
    let (os_name, platform_system, sys_platform) = if windows {
        ("nt", "Windows", "win32")
    } else {
        match std::env::consts::OS {
            "macos" => ("posix", "Darwin", "darwin"),
            _ => ("posix", "Linux", "linux"),
        }
    };
    MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
        implementation_name: "cpython",
        implementation_version: &full,
        os_name,
        platform_machine: std::env::consts::ARCH,
        platform_python_implementation: "CPython",
        platform_release: "",
        platform_system,
        platform_version: "",
        python_full_version: &full,
        python_version: &short,
        sys_platform,
    })
    .ok()
}

/// One `Key: value` header of a METADATA / PKG-INFO file.
struct Header {
    key: String,
    value: String,
    line: u32,
}

/// The RFC 822-style headers, up to the first empty line (the description body follows).
fn parse_headers(text: &str) -> Vec<Header> {
    let mut headers: Vec<Header> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = headers.last_mut() {
                last.value.push('\n');
                last.value.push_str(line.trim());
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            headers.push(Header {
                key: key.trim().to_ascii_lowercase(),
                value: value.trim().to_owned(),
                line: u32::try_from(index + 1).unwrap_or(u32::MAX),
            });
        }
    }
    headers
}

fn header<'a>(headers: &'a [Header], key: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| h.key == key)
        .map(|h| h.value.as_str())
        .filter(|v| !v.is_empty())
}

/// An installed distribution before its dependencies are resolved.
struct Distribution {
    package: Package,
    /// `Requires-Dist` (or `requires.txt`) entries with the location of each.
    requires: Vec<(String, Location)>,
    /// `Provides-Extra` (or the `requires.txt` section names).
    extras: Vec<String>,
}

/// Reads every distribution in one site-packages directory, and links each to the
/// distributions its requirements name, evaluated against `markers`.
pub(crate) fn read_site_packages(
    dir: &Path,
    display_dir: &str,
    markers: Option<&MarkerEnvironment>,
    limits: &Limits,
) -> Parsed {
    let mut parsed = Parsed::default();
    let dir_location = Location::file(display_dir);
    let mut entries: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(entries) => entries.flatten().map(|e| e.path()).collect(),
        Err(error) => {
            parsed.problems.push(Problem::new(
                ProblemKind::Unreadable,
                dir_location,
                format!("site-packages could not be listed: {error}"),
            ));
            return parsed;
        }
    };
    entries.sort();
    if entries.len() > limits.max_members {
        parsed.problems.push(Problem::new(
            ProblemKind::LimitExceeded,
            dir_location,
            format!(
                "site-packages holds {} entries, more than max_members ({}); only the first were read",
                entries.len(),
                limits.max_members
            ),
        ));
        entries.truncate(limits.max_members);
    }
    let mut distributions = Vec::new();
    for path in entries {
        let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        let display = format!("{display_dir}/{name}");
        let dist = if name.ends_with(".dist-info") && path.is_dir() {
            read_dist_info(&path, &display, limits, &mut parsed.problems)
        } else if name.ends_with(".egg-info") {
            read_egg_info(&path, &display, limits, &mut parsed.problems)
        } else if name.ends_with(".egg") && path.is_dir() {
            read_egg_info(
                &path.join("EGG-INFO"),
                &format!("{display}/EGG-INFO"),
                limits,
                &mut parsed.problems,
            )
        } else if name.ends_with(".egg") {
            parsed.problems.push(Problem::new(
                ProblemKind::Unsupported,
                Location::file(&display),
                "zipped egg: its metadata was not read".to_owned(),
            ));
            None
        } else if name.ends_with(".egg-link") {
            read_egg_link(&path, dir, &display, limits, &mut parsed.problems)
        } else {
            None
        };
        distributions.extend(dist);
    }
    link(&mut parsed, distributions, markers);
    parsed
}

/// One site-packages directory whose files are not on disk (a container image layer):
/// `(dist-info directory name, METADATA text, its location)` for each distribution, linked
/// as [`read_site_packages`] links them (markers unknown: every requirement counts).
pub(crate) fn read_metadata_texts(metadata: &[(String, String, Location)]) -> Parsed {
    let mut parsed = Parsed::default();
    let distributions = metadata
        .iter()
        .filter_map(|(dir_name, text, location)| {
            metadata_from_text(text, location.clone(), dir_name, &mut parsed.problems)
        })
        .collect();
    link(&mut parsed, distributions, None);
    parsed
}

fn read_dist_info(
    dir: &Path,
    display: &str,
    limits: &Limits,
    problems: &mut Vec<Problem>,
) -> Option<Distribution> {
    let location = Location::file(format!("{display}/METADATA"));
    let dir_name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let mut dist = read_metadata_file(
        &dir.join("METADATA"),
        location.clone(),
        dir_name,
        limits,
        problems,
    )?;
    let installer = fs::read_to_string(dir.join("INSTALLER"))
        .ok()
        .and_then(|text| text.lines().next().map(|l| l.trim().to_owned()))
        .filter(|i| !i.is_empty());
    // REQUESTED is written by installers that also write INSTALLER (pip >= 20.2, uv); without
    // one, its absence says nothing.
    dist.package.direct = installer.is_some().then(|| dir.join("REQUESTED").is_file());
    dist.package.installer = installer;
    let direct_url = dir.join("direct_url.json");
    if direct_url.is_file() {
        let location = Location::file(format!("{display}/direct_url.json"));
        if let Some(text) = read_text(&direct_url, &location, limits, problems) {
            apply_direct_url(&mut dist.package, &text, &location, problems);
        }
    }
    let record = dir.join("RECORD");
    if !record.is_file() {
        problems.push(Problem::new(
            ProblemKind::Malformed,
            Location::file(format!("{display}/RECORD")),
            format!("{dir_name} has no RECORD: the files it installed are unknown"),
        ));
    }
    Some(dist)
}

/// `*.egg-info` as a directory (`PKG-INFO`, `requires.txt`) or as a single PKG-INFO file.
fn read_egg_info(
    path: &Path,
    display: &str,
    limits: &Limits,
    problems: &mut Vec<Problem>,
) -> Option<Distribution> {
    let dir_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    if path.is_file() {
        return read_metadata_file(path, Location::file(display), &dir_name, limits, problems);
    }
    let location = Location::file(format!("{display}/PKG-INFO"));
    let mut dist = read_metadata_file(
        &path.join("PKG-INFO"),
        location,
        &dir_name,
        limits,
        problems,
    )?;
    let requires = path.join("requires.txt");
    if requires.is_file() {
        let location = Location::file(format!("{display}/requires.txt"));
        if let Some(text) = read_text(&requires, &location, limits, problems) {
            (dist.requires, dist.extras) = egg_requires(&text, &location);
        }
    }
    Some(dist)
}

/// A `setup.py develop` install: the `.egg-link` names the project directory holding the
/// `*.egg-info`.
fn read_egg_link(
    path: &Path,
    site_packages: &Path,
    display: &str,
    limits: &Limits,
    problems: &mut Vec<Problem>,
) -> Option<Distribution> {
    let location = Location::file(display);
    let text = read_text(path, &location, limits, problems)?;
    let target = text.lines().next().map(str::trim).unwrap_or_default();
    let project = site_packages.join(target);
    let egg_info = fs::read_dir(&project).ok().and_then(|entries| {
        let mut found: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "egg-info"))
            .collect();
        found.sort();
        found.into_iter().next()
    });
    let Some(egg_info) = egg_info else {
        problems.push(Problem::new(
            ProblemKind::Unreadable,
            location,
            format!(
                "development install points to `{}`, where no *.egg-info was found",
                excerpt(target, 200)
            ),
        ));
        return None;
    };
    let mut dist = read_egg_info(&egg_info, &egg_info.display().to_string(), limits, problems)?;
    dist.package.editable = true;
    dist.package.source = PackageSource::Local {
        path: target.to_owned(),
    };
    Some(dist)
}

/// METADATA or PKG-INFO. A missing `Name` or `Version` is a problem; the directory name
/// (`name-version.dist-info`) stands in so the package is still listed.
fn read_metadata_file(
    path: &Path,
    location: Location,
    dir_name: &str,
    limits: &Limits,
    problems: &mut Vec<Problem>,
) -> Option<Distribution> {
    let text = read_text(path, &location, limits, problems)?;
    metadata_from_text(&text, location, dir_name, problems)
}

fn metadata_from_text(
    text: &str,
    location: Location,
    dir_name: &str,
    problems: &mut Vec<Problem>,
) -> Option<Distribution> {
    let headers = parse_headers(text);
    let stem = dir_name
        .trim_end_matches(".dist-info")
        .trim_end_matches(".egg-info")
        .trim_end_matches(".egg");
    let mut dir_parts = stem.split('-');
    let (dir_package, dir_version) = (dir_parts.next(), dir_parts.next());
    let name = match header(&headers, "name") {
        Some(name) => name.to_owned(),
        None => {
            problems.push(Problem::new(
                ProblemKind::Malformed,
                location.clone(),
                format!(
                    "metadata has no Name; named `{}` after its directory",
                    dir_package.unwrap_or_default()
                ),
            ));
            dir_package.filter(|n| !n.is_empty())?.to_owned()
        }
    };
    let version = match header(&headers, "version") {
        Some(version) => Some(version.to_owned()),
        None => {
            problems.push(Problem::new(
                ProblemKind::Malformed,
                location.clone(),
                format!("metadata of {name} has no Version; the directory name's version is used if it has one"),
            ));
            dir_version.filter(|v| !v.is_empty()).map(str::to_owned)
        }
    };
    let mut package = Package::named(&name, SourceFormat::Environment, location.clone());
    package.version = version;
    package.summary = header(&headers, "summary").map(str::to_owned);
    let classifiers: Vec<&str> = headers
        .iter()
        .filter(|h| h.key == "classifier")
        .map(|h| h.value.as_str())
        .collect();
    let license = license::resolve(
        header(&headers, "license-expression"),
        header(&headers, "license"),
        &classifiers,
    );
    package.license_expression = license.expression;
    package.license_name = license.name;
    package.homepage = header(&headers, "home-page")
        .map(str::to_owned)
        .or_else(|| {
            headers
                .iter()
                .filter(|h| h.key == "project-url")
                .find_map(|h| {
                    let (label, url) = h.value.split_once(',')?;
                    let label = label.trim().to_ascii_lowercase();
                    matches!(
                        label.as_str(),
                        "homepage" | "home" | "source" | "repository"
                    )
                    .then(|| url.trim().to_owned())
                })
        });
    let requires = headers
        .iter()
        .filter(|h| h.key == "requires-dist")
        .map(|h| (h.value.clone(), location.at_line(h.line, None)))
        .collect();
    let extras = headers
        .iter()
        .filter(|h| h.key == "provides-extra")
        .map(|h| h.value.clone())
        .collect();
    Some(Distribution {
        package,
        requires,
        extras,
    })
}

/// PEP 610 `direct_url.json`: VCS, local directory (editable or not) or archive URL.
fn apply_direct_url(
    package: &mut Package,
    text: &str,
    location: &Location,
    problems: &mut Vec<Problem>,
) {
    let document: Value = match serde_json::from_str(text) {
        Ok(document) => document,
        Err(error) => {
            problems.push(Problem::new(
                ProblemKind::Malformed,
                location.at_line(u32::try_from(error.line()).unwrap_or(0).max(1), None),
                format!("direct_url.json could not be parsed: {error}"),
            ));
            return;
        }
    };
    let Some(url) = document.get("url").and_then(Value::as_str) else {
        problems.push(Problem::new(
            ProblemKind::Malformed,
            location.clone(),
            "direct_url.json has no url".to_owned(),
        ));
        return;
    };
    let text_in = |object: &str, key: &str| {
        document
            .get(object)
            .and_then(|o| o.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    if let Some(vcs) = text_in("vcs_info", "vcs") {
        if let PackageSource::Vcs { url, vcs, .. } = source_of_url(&format!("{vcs}+{url}")) {
            package.source = PackageSource::Vcs {
                url,
                vcs,
                commit: text_in("vcs_info", "commit_id"),
                requested_revision: text_in("vcs_info", "requested_revision"),
            };
        }
    } else if let Some(dir_info) = document.get("dir_info") {
        package.editable = dir_info.get("editable").and_then(Value::as_bool) == Some(true);
        package.source = PackageSource::Local {
            path: url.strip_prefix("file://").unwrap_or(url).to_owned(),
        };
    } else {
        package.source = source_of_url(url);
        let mut hashes: Vec<ArtifactHash> = document
            .get("archive_info")
            .and_then(|a| a.get("hashes"))
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(algorithm, value)| {
                Some(ArtifactHash {
                    algorithm: algorithm.to_ascii_lowercase(),
                    value: value.as_str()?.to_ascii_lowercase(),
                    artifact: Some(crate::names::redact_url(url)),
                })
            })
            .collect();
        if hashes.is_empty()
            && let Some((algorithm, value)) = text_in("archive_info", "hash")
                .as_deref()
                .and_then(|h| h.split_once('='))
        {
            hashes.push(ArtifactHash {
                algorithm: algorithm.to_ascii_lowercase(),
                value: value.to_ascii_lowercase(),
                artifact: Some(crate::names::redact_url(url)),
            });
        }
        package.hashes = hashes;
    }
}

/// `requires.txt` of an egg-info: plain requirements, then `[extra]`, `[:marker]` or
/// `[extra:marker]` sections whose lines get that condition as a PEP 508 marker.
fn egg_requires(text: &str, location: &Location) -> (Vec<(String, Location)>, Vec<String>) {
    let mut out = Vec::new();
    let mut extras = Vec::new();
    let mut condition: Option<String> = None;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let here = location.at_line(u32::try_from(index + 1).unwrap_or(u32::MAX), None);
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let (extra, marker) = section.split_once(':').unwrap_or((section, ""));
            let mut parts = Vec::new();
            if !marker.trim().is_empty() {
                parts.push(format!("({})", marker.trim()));
            }
            if !extra.trim().is_empty() {
                parts.push(format!("extra == \"{}\"", extra.trim()));
                extras.push(extra.trim().to_owned());
            }
            condition = (!parts.is_empty()).then(|| parts.join(" and "));
            continue;
        }
        let requirement = match &condition {
            Some(condition) => format!("{line} ; {condition}"),
            None => line.to_owned(),
        };
        out.push((requirement, here));
    }
    (out, extras)
}

/// Appends the distributions and resolves their requirements into edges. An extra counts as
/// installed when every requirement it adds (on this platform) is installed: pip does not
/// record which extras were asked for.
fn link(
    parsed: &mut Parsed,
    distributions: Vec<Distribution>,
    markers: Option<&MarkerEnvironment>,
) {
    let mut by_name: HashMap<String, usize> = HashMap::new();
    for (index, dist) in distributions.iter().enumerate() {
        by_name
            .entry(dist.package.normalized_name.clone())
            .or_insert(index);
    }
    let mut edges = Vec::with_capacity(distributions.len());
    for dist in &distributions {
        let mut requirements: Vec<(String, MarkerTree)> = Vec::new();
        for (text, location) in &dist.requires {
            match parse_spec(text) {
                Ok(spec) => {
                    if let Some(name) = spec.name {
                        requirements.push((crate::names::normalize_name(&name), spec.marker));
                    }
                }
                Err(why) => parsed.problems.push(Problem::new(
                    ProblemKind::Malformed,
                    location.clone(),
                    format!(
                        "requirement `{}` of {}: {why}",
                        excerpt(text, 120),
                        dist.package.name
                    ),
                )),
            }
        }
        let holds = |marker: &MarkerTree, extras: &[ExtraName]| {
            marker.evaluate_optional_environment(markers, extras)
        };
        let extras = dist
            .extras
            .iter()
            .filter_map(|name| ExtraName::from_str(name).ok());
        let installed_extras: Vec<ExtraName> = extras
            .filter(|extra| {
                let mut added = requirements.iter().filter(|(_, marker)| {
                    holds(marker, std::slice::from_ref(extra)) && !holds(marker, &[])
                });
                let mut any = false;
                let all = added.all(|(name, _)| {
                    any = true;
                    by_name.contains_key(name)
                });
                any && all
            })
            .collect();
        let mut targets: Vec<usize> = requirements
            .iter()
            .filter(|(_, marker)| holds(marker, &installed_extras))
            .filter_map(|(name, _)| by_name.get(name).copied())
            .collect();
        targets.sort_unstable();
        targets.dedup();
        edges.push(targets);
    }
    for (dist, targets) in distributions.into_iter().zip(edges) {
        let mut package = dist.package;
        package.dependencies = targets;
        parsed.packages.push(package);
    }
}

/// Reads METADATA text as one installed distribution and resolves its requirements against
/// itself: the body of the `inventory_manifests` fuzz target for this format.
pub(crate) fn parse_metadata_for_fuzzing(text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let location = Location::file("METADATA");
    let dist = metadata_from_text(
        text,
        location.clone(),
        "fuzz-1.0.dist-info",
        &mut parsed.problems,
    );
    let (requires, extras) = egg_requires(text, &location);
    let distributions = dist.into_iter().chain(std::iter::once(Distribution {
        package: Package::named("egg", SourceFormat::Environment, location),
        requires,
        extras,
    }));
    link(&mut parsed, distributions.collect(), None);
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_with_continuations_stop_at_the_body() {
        let headers = parse_headers(
            "Metadata-Version: 2.1\nName: PyYAML\nVersion: 5.3\nLicense: line one\n        line two\n\
             Requires-Dist: a (>=1)\nRequires-Dist: b ; extra == \"x\"\n\nName: not-a-header\n",
        );
        assert_eq!(header(&headers, "name"), Some("PyYAML"));
        assert_eq!(header(&headers, "license"), Some("line one\nline two"));
        assert_eq!(
            headers.iter().filter(|h| h.key == "requires-dist").count(),
            2
        );
        assert_eq!(headers.last().map(|h| h.line), Some(7));
    }

    #[test]
    fn egg_requires_sections_become_markers() {
        let (requires, extras) = egg_requires(
            "six\n\n[socks]\nPySocks>=1.5\n[:python_version < \"3\"]\nenum34\n",
            &Location::file("requires.txt"),
        );
        assert_eq!(extras, ["socks"]);
        let texts: Vec<_> = requires.iter().map(|(t, l)| (t.as_str(), l.line)).collect();
        assert_eq!(
            texts,
            [
                ("six", Some(1)),
                ("PySocks>=1.5 ; extra == \"socks\"", Some(4)),
                ("enum34 ; (python_version < \"3\")", Some(6)),
            ]
        );
        let marker = parse_spec(&requires[1].0).unwrap().marker;
        let socks = ExtraName::from_str("socks").unwrap();
        assert!(marker.evaluate_optional_environment(None, &[socks]));
        assert!(!marker.evaluate_optional_environment(None, &[]));
    }
}
