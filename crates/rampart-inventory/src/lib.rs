//! The ML-BOM inventory: what a project, a Python environment, a lock file or an existing
//! SBOM is built from — Python packages (installed, declared or locked), models and datasets —
//! and writers for CycloneDX 1.6 (with `modelCard` and `data`), SPDX 2.3 and SPDX 3.0.1
//! (AI and Dataset profiles).
//!
//! Every CLI operation is one call:
//! * `rampart sbom PATH [--format F]`: [`Inventory::collect`] then [`Inventory::render`];
//! * `rampart audit PATH`: [`Inventory::collect`] (a CycloneDX JSON file is read back into
//!   packages), then the advisories engine on [`Inventory::packages`];
//! * both turn [`Inventory::problems`] into findings with [`Problem::to_finding`].
//!
//! It must never execute, import or install anything it reads (no Python, no `setup.py`, no
//! build backends), never reach the network (includes and indexes named by URL are recorded,
//! not fetched), never expand environment variables from the running process into what it
//! records, never read model or dataset bytes beyond headers except to hash them (mapped,
//! never loaded whole), and never drop what it could not read: an unparseable manifest, lock
//! file or METADATA is a [`Problem`] with its file and line.

#![warn(clippy::indexing_slicing, clippy::expect_used, clippy::panic)]

mod collect;
mod environment;
mod image;
mod inventory;
mod license;
mod manifests;
mod ml;
mod names;
mod os;
mod problem;
mod requirement;
mod rpm;
pub mod rules;
mod sbom;
mod text;
mod yaml;

#[doc(hidden)]
pub mod fuzzing;

pub use inventory::{
    ArtifactFile, ArtifactHash, Dataset, Distro, Ecosystem, ImageSubject, Inventory, Metric, Model,
    ModelCard, OsPackage, Package, PackageSource, Scope, SourceFile, SourceFormat, Subject,
};
pub use names::{normalize_name, pypi_purl};
pub use problem::{Problem, ProblemKind};
pub use rpm::{HeaderError, RpmHeader, parse_header as parse_rpm_header};
pub use rules::RULES;
pub use sbom::{SbomFormat, SbomOptions};

use std::path::PathBuf;

use rampart_core::Limits;

/// How a collection runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// Bounds on what is read: `max_header_bytes` caps each text file read whole (manifests,
    /// METADATA, model cards), `max_metadata_entries` the entries of one file, `max_members`
    /// the files one walk visits.
    pub limits: Limits,
    /// Hash model and dataset files (SHA-256). Off gives a quick inventory that never reads
    /// weights.
    pub hash_files: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            limits: Limits::default(),
            hash_files: true,
        }
    }
}

/// Why nothing could be collected at all. Everything short of this is a [`Problem`] inside
/// the inventory.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}
