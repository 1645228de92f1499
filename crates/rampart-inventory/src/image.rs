//! The inventory of a container image, read from its layers without unpacking them: OS
//! packages (dpkg, apk, rpm's SQLite, BerkeleyDB and NDB databases), Python distributions in every
//! `site-packages`/`dist-packages`, models and datasets, with the image itself as the root component. What counts is the
//! final filesystem (files later layers deleted are not installed); the walk reads one
//! layer at a time and keeps only the small database files it needs.

use std::collections::BTreeMap;

use rampart_core::{Finding, Location};
use rampart_image::{EntryKind, FileDigests, Image, LayerEntry};
use rampart_scan::detect::SNIFF_LEN;

use crate::Options;
use crate::collect::{TEXT_EXTENSIONS, append_source};
use crate::environment::read_metadata_texts;
use crate::inventory::{
    ArtifactFile, Dataset, ImageSubject, Inventory, Model, ModelCard, SourceFormat, Subject,
};
use crate::manifests::Parsed;
use crate::ml::{FileRole, classify};
use crate::names::purl;
use crate::os::{parse_apk, parse_dpkg, parse_os_release};
use crate::problem::{Problem, ProblemKind};
use crate::rpm::{RpmDbFormat, parse_rpmdb};

const OS_RELEASE: &[&str] = &["etc/os-release", "usr/lib/os-release"];
const DPKG_STATUS: &str = "var/lib/dpkg/status";
const DPKG_STATUS_DIR: &str = "var/lib/dpkg/status.d/";
const APK_INSTALLED: &str = "lib/apk/db/installed";
/// Where rpm ≥ 4.16 keeps its SQLite database.
const RPM_SQLITE: &[&str] = &[
    "var/lib/rpm/rpmdb.sqlite",
    "usr/lib/sysimage/rpm/rpmdb.sqlite",
];
/// Where rpm before 4.16 keeps its BerkeleyDB database.
const RPM_BERKELEY_DB: &[&str] = &["var/lib/rpm/Packages", "usr/lib/sysimage/rpm/Packages"];
/// Where rpm keeps an NDB database (openSUSE/SLES 15 before SQLite).
const RPM_NDB: &[&str] = &[
    "var/lib/rpm/Packages.db",
    "usr/lib/sysimage/rpm/Packages.db",
];
/// Directories whose data files belong to installed software (test data of libraries,
/// documentation), not to the models and datasets the image serves.
const SOFTWARE_DIRECTORIES: &[&str] = &["/site-packages/", "/dist-packages/"];
const SOFTWARE_PREFIXES: &[&str] = &["usr/share/", "usr/lib/", "usr/include/"];

/// A text file the walk kept, with where it is.
struct Kept {
    path: String,
    location: Location,
    text: String,
}

/// What the walk collected from the final filesystem.
#[derive(Default)]
struct Found {
    os_release: Vec<Kept>,
    dpkg: Vec<Kept>,
    apk: Vec<Kept>,
    /// rpm databases, whole (bounded by `max_header_bytes`).
    rpm: Vec<(Location, RpmDbFormat, Vec<u8>)>,
    /// Site-packages directory → (dist-info name, METADATA text, location).
    python: BTreeMap<String, Vec<(String, String, Location)>>,
    models: Vec<Model>,
    datasets: Vec<Dataset>,
    problems: Vec<Problem>,
}

impl Inventory {
    /// Inventories a container image (see the module documentation). Problems reading the
    /// image itself (digest mismatches, damaged layers) go to `out` as findings; problems
    /// with what the files say are [`Inventory::problems`].
    pub fn collect_image(image: &Image, options: &Options, out: &mut Vec<Finding>) -> Inventory {
        let mut found = Found::default();
        out.extend(image.findings().iter().cloned());
        let digests = if options.hash_files {
            FileDigests::Wanted
        } else {
            FileDigests::NotWanted
        };
        image.walk(&options.limits, digests, out, |entry| {
            if entry.deleted_in.is_none() && *entry.kind == EntryKind::File {
                found.visit(entry, options);
            }
        });
        let mut inventory = Inventory {
            root: image.location().path.clone(),
            subject: subject(image),
            image: Some(image_subject(image)),
            ..Inventory::default()
        };
        found.os_release.sort_by_key(|kept| {
            OS_RELEASE
                .iter()
                .position(|path| *path == kept.path)
                .unwrap_or(usize::MAX)
        });
        let distro = found
            .os_release
            .iter()
            .find_map(|kept| parse_os_release(&kept.text));
        if let Some(subject) = inventory.image.as_mut() {
            subject.distro = distro.clone();
        }
        let max = options.limits.max_metadata_entries;
        for (kept, format) in found
            .dpkg
            .iter()
            .map(|kept| (kept, SourceFormat::DpkgStatus))
            .chain(
                found
                    .apk
                    .iter()
                    .map(|kept| (kept, SourceFormat::ApkInstalled)),
            )
        {
            let mut parsed = Parsed::default();
            parsed.packages = match format {
                SourceFormat::ApkInstalled => parse_apk(
                    &kept.text,
                    &kept.location,
                    distro.as_ref(),
                    max,
                    &mut parsed.problems,
                ),
                _ => parse_dpkg(
                    &kept.text,
                    &kept.location,
                    distro.as_ref(),
                    max,
                    &mut parsed.problems,
                ),
            };
            append_source(
                &mut inventory,
                &mut parsed,
                &kept.location.container_path(),
                format,
            );
        }
        for (location, format, bytes) in &found.rpm {
            let mut parsed = Parsed::default();
            parsed.packages = parse_rpmdb(
                bytes,
                *format,
                location,
                distro.as_ref(),
                max,
                &mut parsed.problems,
            );
            append_source(
                &mut inventory,
                &mut parsed,
                &location.container_path(),
                format.source_format(),
            );
        }
        for (site, metadata) in &found.python {
            let mut parsed = read_metadata_texts(metadata);
            append_source(&mut inventory, &mut parsed, site, SourceFormat::Environment);
        }
        inventory.models = found.models;
        inventory.datasets = found.datasets;
        inventory.problems.extend(found.problems);
        inventory
    }
}

impl Found {
    fn visit(&mut self, entry: &LayerEntry<'_>, options: &Options) {
        let path = entry.path;
        if OS_RELEASE.contains(&path) {
            let kept = self.keep_text(entry, options);
            self.os_release.extend(kept);
        } else if path == DPKG_STATUS
            || (path.starts_with(DPKG_STATUS_DIR) && !path.ends_with(".md5sums"))
        {
            let kept = self.keep_text(entry, options);
            self.dpkg.extend(kept);
        } else if path == APK_INSTALLED {
            let kept = self.keep_text(entry, options);
            self.apk.extend(kept);
        } else if let Some(format) = rpm_database_format(path) {
            if self.within_bounds(entry, options) {
                self.rpm
                    .push((entry.location.clone(), format, entry.data.to_vec()));
            }
        } else if entry.size > 0
            && path
                .strip_suffix("-wal")
                .is_some_and(|database| RPM_SQLITE.contains(&database))
        {
            // SQLite folds its write-ahead log into the database when rpm closes it; one left
            // behind holds changes the database file (all that is read) does not show.
            self.problems.push(Problem::new(
                ProblemKind::Unsupported,
                entry.location.clone(),
                format!(
                    "{path} is not empty: rpm's database has changes not yet written to \
                     rpmdb.sqlite, and packages installed or removed by them may be missing from \
                     the inventory or listed wrongly"
                ),
            ));
        } else if let Some((site, dist_info)) = dist_info_metadata(path) {
            let Some(kept) = self.keep_text(entry, options) else {
                return;
            };
            // Named as reports show it: `image!/layer n (…)!/…/site-packages`.
            let site = entry
                .location
                .container_path()
                .strip_suffix(path)
                .map_or_else(|| site.to_owned(), |prefix| format!("{prefix}{site}"));
            self.python.entry(site).or_default().push((
                dist_info.to_owned(),
                kept.text,
                kept.location,
            ));
        } else {
            self.artifact(entry, options);
        }
    }

    /// A small text file, whole (bounded by `max_header_bytes`).
    fn keep_text(&mut self, entry: &LayerEntry<'_>, options: &Options) -> Option<Kept> {
        if !self.within_bounds(entry, options) {
            return None;
        }
        Some(Kept {
            path: entry.path.to_owned(),
            location: entry.location.clone(),
            text: String::from_utf8_lossy(entry.data).into_owned(),
        })
    }

    /// Whether a database file may be kept whole; a problem says why not.
    fn within_bounds(&mut self, entry: &LayerEntry<'_>, options: &Options) -> bool {
        let max = options.limits.max_header_bytes;
        if entry.size > max || !entry.complete {
            self.problems.push(Problem::new(
                ProblemKind::LimitExceeded,
                entry.location.clone(),
                format!(
                    "{} is {} bytes, more than max_header_bytes ({max}); it was not read",
                    entry.path, entry.size
                ),
            ));
            return false;
        }
        true
    }

    /// A model or data file, found by content as `rampart sbom DIR` finds them.
    fn artifact(&mut self, entry: &LayerEntry<'_>, options: &Options) {
        let path = entry.path;
        let wrapped = format!("/{path}");
        if SOFTWARE_DIRECTORIES.iter().any(|dir| wrapped.contains(dir))
            || SOFTWARE_PREFIXES
                .iter()
                .any(|prefix| path.starts_with(prefix))
        {
            return;
        }
        let name = path.rsplit('/').next().unwrap_or(path);
        let lower = name.to_ascii_lowercase();
        let extension = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
        if TEXT_EXTENSIONS.contains(&extension) {
            return;
        }
        let head = entry.data.get(..SNIFF_LEN).unwrap_or(entry.data);
        let role = classify(head, name);
        let format = match role {
            FileRole::Weights(format) | FileRole::Data { format, .. } => format.to_owned(),
            FileRole::Other => return,
        };
        let display = entry.location.container_path();
        let file = ArtifactFile {
            path: display.clone(),
            size: entry.size,
            sha256: options
                .hash_files
                .then(|| entry.sha256())
                .flatten()
                .map(|digest| digest.hex().to_owned()),
            format: format.clone(),
        };
        if matches!(role, FileRole::Weights(_)) {
            self.models.push(Model {
                name: name.to_owned(),
                path: display,
                formats: vec![format],
                files: vec![file],
                purl: None,
                card: ModelCard::default(),
                properties: Vec::new(),
            });
        } else {
            self.datasets.push(Dataset {
                name: name.to_owned(),
                path: display,
                formats: vec![format],
                files: vec![file],
                properties: Vec::new(),
            });
        }
    }
}

fn rpm_database_format(path: &str) -> Option<RpmDbFormat> {
    if RPM_SQLITE.contains(&path) {
        Some(RpmDbFormat::Sqlite)
    } else if RPM_BERKELEY_DB.contains(&path) {
        Some(RpmDbFormat::BerkeleyDb)
    } else if RPM_NDB.contains(&path) {
        Some(RpmDbFormat::Ndb)
    } else {
        None
    }
}

/// `(site-packages directory, dist-info directory name)` for a `…/site-packages/
/// <name>.dist-info/METADATA` path.
fn dist_info_metadata(path: &str) -> Option<(&str, &str)> {
    let directory = path.strip_suffix("/METADATA")?;
    let (site, dist_info) = directory.rsplit_once('/')?;
    let site_name = site.rsplit('/').next().unwrap_or(site);
    (dist_info.ends_with(".dist-info") && matches!(site_name, "site-packages" | "dist-packages"))
        .then_some((site, dist_info))
}

/// The image's name and tag from the names the archive records, else its file name.
fn subject(image: &Image) -> Subject {
    match image.repo_tags.first() {
        Some(reference) => {
            let (repository, tag) = split_reference(reference);
            Subject {
                name: repository.to_owned(),
                version: tag.map(str::to_owned),
            }
        }
        None => Subject {
            name: image
                .location()
                .path
                .rsplit('/')
                .find(|part| !part.is_empty())
                .unwrap_or("image")
                .to_owned(),
            version: None,
        },
    }
}

/// `registry/repo:tag` → (`registry/repo`, `tag`); a port in the registry is not a tag.
fn split_reference(reference: &str) -> (&str, Option<&str>) {
    let reference = reference.split('@').next().unwrap_or(reference);
    match reference.rsplit_once(':') {
        Some((repository, tag)) if !tag.contains('/') => (repository, Some(tag)),
        _ => (reference, None),
    }
}

/// `pkg:oci/<name>@sha256:<digest>?arch=…&repository_url=…&tag=…` (purl-spec `oci`: the
/// name is the last path segment, lower case; the digest is the version).
fn image_subject(image: &Image) -> ImageSubject {
    let digest = image.digest().to_string();
    let reference = image.repo_tags.first().map(|r| split_reference(r));
    let name = reference
        .map(|(repository, _)| repository.rsplit('/').next().unwrap_or(repository))
        .unwrap_or("image")
        .to_ascii_lowercase();
    let architecture = image.platform.as_ref().map(|p| p.architecture.clone());
    let mut qualifiers: Vec<(&str, &str)> = Vec::new();
    if let Some(architecture) = &architecture {
        qualifiers.push(("arch", architecture));
    }
    if let Some((repository, tag)) = reference {
        qualifiers.push(("repository_url", repository));
        if let Some(tag) = tag {
            qualifiers.push(("tag", tag));
        }
    }
    ImageSubject {
        purl: purl("oci", None, &name, Some(&digest), &qualifiers),
        digest,
        platform: image.platform.as_ref().map(ToString::to_string),
        distro: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_dist_info_metadata_and_splits_references() {
        assert_eq!(
            dist_info_metadata(
                "usr/local/lib/python3.12/site-packages/numpy-2.1.0.dist-info/METADATA"
            ),
            Some((
                "usr/local/lib/python3.12/site-packages",
                "numpy-2.1.0.dist-info"
            ))
        );
        assert_eq!(
            dist_info_metadata("usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA"),
            Some(("usr/lib/python3/dist-packages", "six-1.16.0.dist-info"))
        );
        assert!(dist_info_metadata("app/numpy-2.1.0.dist-info/METADATA").is_none());
        assert!(dist_info_metadata("site-packages/x.dist-info/RECORD").is_none());
        assert_eq!(
            split_reference("registry:5000/ml/server:1.2"),
            ("registry:5000/ml/server", Some("1.2"))
        );
        assert_eq!(
            split_reference("registry:5000/ml/server"),
            ("registry:5000/ml/server", None)
        );
    }
}
