//! Offline advisories for Python packages: import OSV records into a local database, match
//! package versions against them with exact PEP 440 and OSV range semantics, and flag
//! malicious and typosquatted package names.
//!
//! It must never reach the network, and never report "no known vulnerabilities" for a package
//! it could not check: an unparseable version or an empty database is an answer of its own.
//!
//! Every CLI operation is one call:
//! * `rampart db import SRC [--db-path P]`: [`Database::import`] (`P` defaults to
//!   [`default_db_path`]), which returns an [`ImportSummary`];
//! * `rampart db info`: [`Database::open`] then [`Database::info`];
//! * `rampart audit --db DIR`: [`Database::open_osv_dir`]; otherwise [`Database::open`];
//!   then [`Database::audit`] on the inventory's packages, [`Typosquats::check`] on their
//!   names, and [`verdict_findings`] / [`typosquat_finding`] for the report.

#![warn(clippy::indexing_slicing, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::panic))]

mod compile;
mod database;
mod findings;
pub mod fuzzing;
mod load;
mod matching;
pub mod os_version;
pub mod osv;
pub mod rules;
mod store;
mod typosquat;
mod verdict;
pub mod version;

pub use compile::{AdvisoryKind, Rating, RatingBasis};
pub use database::{Database, DbError, DbInfo, DbKind, ImportSummary, default_db_path};
pub use findings::{typosquat_finding, verdict_findings};
pub use load::{Counts, ProblemKind, RecordProblem};
pub use rules::RULES;
pub use store::SCHEMA_VERSION;
pub use typosquat::{Technique, Typosquat, Typosquats};
pub use verdict::{AdvisoryMatch, OsPackageRef, PackageRef, PackageVerdict, Unchecked};
