//! The facts an inventory holds. Every entry keeps where it was found (a
//! [`Location`] with the line for text sources), so audit findings point at the declaration.

use rampart_core::Location;
use serde::Serialize;

use crate::problem::Problem;

/// Everything one collection found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Inventory {
    /// The path collected, as the user named it.
    pub root: String,
    /// What the SBOM describes: the project, environment or file collected.
    pub subject: Subject,
    /// Every package occurrence, in walk order: the same project may appear installed, in a
    /// requirements file and in a lock file, each with its own location.
    pub packages: Vec<Package>,
    pub models: Vec<Model>,
    pub datasets: Vec<Dataset>,
    /// Every manifest, lock file, environment and SBOM read.
    pub sources: Vec<SourceFile>,
    /// What could not be read or understood; the CLI reports each as a finding.
    pub problems: Vec<Problem>,
    /// Set when the inventory is of a container image: the SBOM's root component.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageSubject>,
}

/// The container image an inventory describes.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ImageSubject {
    /// `pkg:oci/<name>@sha256:…` with `arch`, `repository_url` and `tag` when known.
    pub purl: String,
    /// The manifest digest (the config digest for a legacy `docker save` archive).
    pub digest: String,
    /// `os/arch[/variant]`.
    pub platform: Option<String>,
    /// The distribution the OS packages belong to (`debian 12 (bookworm)`), from os-release.
    pub distro: Option<Distro>,
}

/// An `os-release` file's identification of the distribution.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Distro {
    /// `ID`: `debian`, `ubuntu`, `alpine`.
    pub id: String,
    /// `VERSION_ID`: `12`, `22.04`, `3.20.3`.
    pub version_id: Option<String>,
    /// `VERSION_CODENAME`: `bookworm`.
    pub codename: Option<String>,
}

impl Inventory {
    /// True when a lock file (or an installed environment, which is as exact) was read:
    /// a requirements file beside one need not pin hashes itself.
    pub fn has_lock(&self) -> bool {
        self.sources.iter().any(|s| s.format.is_lock())
    }
}

/// The project (or environment, or file) the inventory describes.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Subject {
    pub name: String,
    pub version: Option<String>,
}

/// The package ecosystem a declaration belongs to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    #[default]
    PyPI,
    /// A conda package (`environment.yml` outside its `pip:` section).
    Conda,
    /// A Debian (or Ubuntu) package from a dpkg database.
    Deb,
    /// An Alpine package from the apk database.
    Apk,
    /// An RPM package (Rocky, Alma, RHEL, SUSE, Fedora…) from the rpm database.
    Rpm,
}

/// Whether a declaration is needed at run time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    #[default]
    Required,
    /// Behind an extra or an optional dependency group.
    Optional,
    /// A development dependency group (Poetry dev groups, `[dependency-groups]`, Pipfile
    /// `develop`).
    Development,
    /// A `-c` constraint: pins a version if something else requires the package.
    Constraint,
}

/// Where a package's files come from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PackageSource {
    /// The default package index (PyPI, or whatever pip is configured with).
    #[default]
    Registry,
    /// A package index the source names (`--index-url`, a lock's registry).
    Index { url: String },
    /// A direct URL to an archive (wheel or sdist).
    Url { url: String },
    /// A version-control checkout.
    Vcs {
        url: String,
        /// `git`, `hg`, `svn` or `bzr`.
        vcs: String,
        /// The commit the lock or installation resolved, when known.
        commit: Option<String>,
        /// The branch, tag or revision asked for, when given.
        requested_revision: Option<String>,
    },
    /// A local directory or archive.
    Local { path: String },
}

impl PackageSource {
    /// True for anything but an index: the audit flags these as unreviewable.
    pub fn is_direct(&self) -> bool {
        matches!(
            self,
            PackageSource::Url { .. } | PackageSource::Vcs { .. } | PackageSource::Local { .. }
        )
    }
}

/// A hash of a distribution artifact (wheel, sdist or archive), as a lock file,
/// `--hash=` option or `direct_url.json` records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ArtifactHash {
    /// Lower-case algorithm name as written (`sha256`, `md5`, …).
    pub algorithm: String,
    /// Lower-case hex digest.
    pub value: String,
    /// The artifact's URL or file name when the source names it.
    pub artifact: Option<String>,
}

/// Which kind of file a declaration came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceFormat {
    /// An installed environment: `*.dist-info` and `*.egg-info` in site-packages.
    Environment,
    #[default]
    RequirementsTxt,
    /// `pyproject.toml`: PEP 621 `[project]`, `[dependency-groups]` and Poetry tables.
    Pyproject,
    PoetryLock,
    PipfileLock,
    UvLock,
    /// PEP 751 `pylock.toml`.
    Pylock,
    CondaEnvironment,
    CycloneDx,
    /// dpkg's `var/lib/dpkg/status` or a distroless `var/lib/dpkg/status.d/` entry.
    DpkgStatus,
    /// apk's `lib/apk/db/installed`.
    ApkInstalled,
    /// rpm's `rpmdb.sqlite` (`var/lib/rpm/` or `usr/lib/sysimage/rpm/`).
    RpmDb,
    /// rpm's BerkeleyDB `Packages` (rpm before 4.16: CentOS/RHEL 7–8, Amazon Linux 2).
    RpmBerkeleyDb,
    /// rpm's NDB `Packages.db` (openSUSE/SLES 15 before SQLite).
    RpmNdb,
}

impl SourceFormat {
    /// Lock files and installed environments name exact versions of everything.
    pub fn is_lock(self) -> bool {
        matches!(
            self,
            SourceFormat::Environment
                | SourceFormat::DpkgStatus
                | SourceFormat::ApkInstalled
                | SourceFormat::RpmDb
                | SourceFormat::RpmBerkeleyDb
                | SourceFormat::RpmNdb
                | SourceFormat::PoetryLock
                | SourceFormat::PipfileLock
                | SourceFormat::UvLock
                | SourceFormat::Pylock
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::Environment => "environment",
            SourceFormat::RequirementsTxt => "requirements.txt",
            SourceFormat::Pyproject => "pyproject.toml",
            SourceFormat::PoetryLock => "poetry.lock",
            SourceFormat::PipfileLock => "Pipfile.lock",
            SourceFormat::UvLock => "uv.lock",
            SourceFormat::Pylock => "pylock.toml",
            SourceFormat::CondaEnvironment => "environment.yml",
            SourceFormat::CycloneDx => "cyclonedx",
            SourceFormat::DpkgStatus => "dpkg-status",
            SourceFormat::ApkInstalled => "apk-installed",
            SourceFormat::RpmDb => "rpmdb-sqlite",
            SourceFormat::RpmBerkeleyDb => "rpmdb-bdb",
            SourceFormat::RpmNdb => "rpmdb-ndb",
        }
    }
}

/// One manifest, lock file, environment or SBOM that was read.
#[derive(Clone, Debug, Serialize)]
pub struct SourceFile {
    pub path: String,
    pub format: SourceFormat,
    /// Package occurrences it contributed.
    pub packages: usize,
}

/// One occurrence of a package: installed in an environment, declared in a manifest, or
/// pinned in a lock file.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Package {
    /// The name as written (METADATA `Name`, the requirement, the lock entry).
    pub name: String,
    /// PEP 503: lower case, runs of `-_.` as one `-`. Match on this, never on `name`.
    pub normalized_name: String,
    pub ecosystem: Ecosystem,
    /// The exact version: installed, locked, `==`/`===` pinned, or named by a wheel URL.
    pub version: Option<String>,
    /// The version constraint when there is no exact version (`>=2,<3`); `None` with no
    /// version means any version.
    pub specifier: Option<String>,
    pub extras: Vec<String>,
    /// The PEP 508 environment marker, as written.
    pub marker: Option<String>,
    pub source: PackageSource,
    /// Installed in development mode (`-e`, `dir_info.editable`).
    pub editable: bool,
    /// Artifact hashes the source pins (`--hash=`, lock entries, `direct_url.json`).
    pub hashes: Vec<ArtifactHash>,
    pub origin: SourceFormat,
    pub scope: Scope,
    /// Asked for by the user (a manifest entry, `REQUESTED` in an environment, a lock's
    /// root dependency) rather than pulled in by another package. `None`: unknown.
    pub direct: Option<bool>,
    /// The file (and line) declaring it: the `METADATA` file of an installed package.
    pub location: Location,
    pub summary: Option<String>,
    /// An SPDX expression when the metadata gives a valid one.
    pub license_expression: Option<String>,
    /// The license as named, when it is not a valid SPDX expression.
    pub license_name: Option<String>,
    pub homepage: Option<String>,
    /// `INSTALLER` of an installed package (`pip`, `uv`, `conda`).
    pub installer: Option<String>,
    /// What an OS package (dpkg, apk) adds: distribution, architecture, source package.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<OsPackage>,
    /// Packages of the same source this one depends on (indices into
    /// [`Inventory::packages`]): evaluated `Requires-Dist` in an environment, the lock's
    /// dependency lists.
    pub dependencies: Vec<usize>,
}

impl Package {
    /// A package with its name normalised and everything else empty.
    pub fn named(name: &str, origin: SourceFormat, location: Location) -> Self {
        Package {
            name: name.to_owned(),
            normalized_name: crate::names::normalize_name(name),
            origin,
            location,
            ..Package::default()
        }
    }
}

/// The distribution facts of an OS package, for its purl and for advisory matching.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OsPackage {
    /// The purl namespace: the os-release `ID` (`debian`, `ubuntu`, `alpine`).
    pub namespace: String,
    /// The purl `distro` qualifier: `debian-12` for dpkg, the full `VERSION_ID` (`3.20.3`)
    /// for apk.
    pub distro: Option<String>,
    pub arch: Option<String>,
    /// The source package (dpkg `Source:`, apk origin): what OS advisories are keyed by.
    pub source_name: Option<String>,
    /// The source package's version when it differs from the binary's.
    pub source_version: Option<String>,
    /// The OSV ecosystem advisories for this package use (`Debian:12`, `Alpine:v3.20`,
    /// `Ubuntu:22.04`), when the distribution is known.
    pub advisory_ecosystem: Option<String>,
}

/// A file that belongs to a model or dataset.
#[derive(Clone, Debug, Serialize)]
pub struct ArtifactFile {
    /// The path as shown in reports (under the collected root).
    pub path: String,
    pub size: u64,
    /// Lower-case hex SHA-256 of the content; `None` when hashing was off or failed (a
    /// problem says why).
    pub sha256: Option<String>,
    /// The format detected from the content (`safetensors`, `gguf`, `parquet`, …), or
    /// `other` for accompanying files (configs, tokenizers).
    pub format: String,
}

/// A performance metric a model card reports.
#[derive(Clone, Debug, Serialize)]
pub struct Metric {
    pub kind: String,
    pub value: String,
    /// The dataset (and split) it was measured on.
    pub slice: Option<String>,
}

/// What a model's card, `config.json` and file headers say about it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ModelCard {
    /// The task (`text-generation`, `image-classification`): the card's `pipeline_tag`,
    /// else inferred from the architecture class name.
    pub task: Option<String>,
    /// `model_type` / `general.architecture` (`llama`, `bert`).
    pub architecture_family: Option<String>,
    /// The architecture class (`LlamaForCausalLM`).
    pub model_architecture: Option<String>,
    /// Datasets the card names (Hugging Face ids or names).
    pub datasets: Vec<String>,
    /// Base models the card names.
    pub base_models: Vec<String>,
    pub license: Option<String>,
    pub tags: Vec<String>,
    pub languages: Vec<String>,
    pub library: Option<String>,
    /// The card's limitations / bias / out-of-scope section, trimmed.
    pub limitations: Option<String>,
    pub metrics: Vec<Metric>,
}

/// A machine-learning model: one weights file, or a directory of weights with their config.
#[derive(Clone, Debug, Serialize)]
pub struct Model {
    pub name: String,
    /// The file or directory, as shown in reports.
    pub path: String,
    /// The weights formats found (`safetensors`, `pickle`, …), sorted.
    pub formats: Vec<String>,
    pub files: Vec<ArtifactFile>,
    /// `pkg:huggingface/...` when the layout names the repository and revision (the
    /// Hugging Face cache) or GGUF metadata names the repository.
    pub purl: Option<String>,
    pub card: ModelCard,
    /// Format facts from headers (GGUF `general.*`, ONNX producer and opsets, config.json
    /// fields), as `rampart:`-namespaced name/value pairs.
    pub properties: Vec<(String, String)>,
}

/// A data file (or a Hugging Face dataset snapshot) found beside the code and models.
#[derive(Clone, Debug, Serialize)]
pub struct Dataset {
    pub name: String,
    pub path: String,
    pub formats: Vec<String>,
    pub files: Vec<ArtifactFile>,
    pub properties: Vec<(String, String)>,
}
