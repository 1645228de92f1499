//! The vocabulary every rampart scanner speaks: [`Finding`], [`Rule`], [`Severity`],
//! [`Location`], the scan [`Limits`], the user's [`Policy`] and the report renderers.
//!
//! Scanner crates depend on this crate and nothing of each other's; the CLI and the
//! registry compose them. This crate must never parse untrusted input formats (that is
//! the scanners' job), never do I/O beyond mapping a file the caller opened and writing a
//! rendered report, and never pull in
//! a CLI, async runtime or network dependency.

mod atomic;
pub mod baseline;
mod finding;
mod limits;
mod location;
pub mod mapped;
pub mod policy;
pub mod render;
mod report;
mod rule;
pub mod rules;
mod severity;

pub use atomic::write_atomically;
pub use finding::{Finding, PackageCoordinate};
pub use limits::Limits;
pub use location::Location;
pub use policy::{Policy, PolicyError};
pub use report::{EXCLUDED_FORMAT, FileVerdict, Report, ScanStatus, Summary};
pub use rule::{Reference, Rule, rule_table_problems};
pub use severity::{ParseSeverityError, Severity};
