//! The scan pipeline: walk the inputs once, detect each file's format by its content, run
//! the analyzers in parallel across files, recurse into containers with shrinking budgets,
//! and give every input file a verdict.
//!
//! This crate composes the parser crates; it must never execute or deserialise what it
//! reads, never follow a symlink out of the scanned tree unless asked, and never drop a
//! file: anything it cannot analyse becomes a `scan/*` finding.

mod analyze;
mod checks;
pub mod config;
pub mod detect;
mod image;
mod rules;
pub mod suppress;
mod walk;

use std::path::PathBuf;

pub use analyze::{ScanOutput, Scanner, scan_bytes_default};
pub use config::{Config, ConfigError};
pub use config::{ScannerKind, Scanners};
pub use walk::{Exclude, WalkOptions, walk};

use rampart_core::Rule;

/// Every rule rampart can report, for `rampart rules` and policy validation.
pub fn rules() -> Vec<&'static Rule> {
    let mut all: Vec<&'static Rule> = Vec::new();
    for group in [
        rampart_core::rules::RULES,
        rules::RULES,
        rampart_pickle::RULES,
        rampart_iac::RULES,
        rampart_deploy::RULES,
        rampart_secrets::RULES,
        rampart_archive::RULES,
        rampart_formats::rules::RULES,
        rampart_image::RULES,
    ] {
        all.extend_from_slice(group);
    }
    all.sort_by_key(|r| r.id);
    all
}

/// One input to scan: a file found by the walker, with the path shown in reports.
#[derive(Clone, Debug)]
pub struct Input {
    pub path: PathBuf,
    pub display: String,
    pub kind: InputKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputKind {
    File,
    /// A symlink found while walking whose target lies outside the scanned tree.
    SymlinkOutsideTree {
        target: PathBuf,
    },
    /// A symlink found while walking whose target is inside the tree (scanned there).
    SymlinkInsideTree {
        target: PathBuf,
    },
    /// A socket, FIFO or device: nothing a loader would read as a model.
    Special,
    /// A file or directory the user excluded (`--exclude`, `[scan] exclude`): listed with
    /// its own verdict, never read or entered.
    Excluded,
}
