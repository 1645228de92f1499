//! Reads tabular data (CSV, Parquet, JSON Lines, Arrow IPC) and computes drift statistics
//! between a reference and a current snapshot, and training-data poisoning indicators
//! (conflicting duplicate labels, class-conditional outliers, backdoor trigger values, label and
//! source shifts, schema changes).
//!
//! It must never execute, evaluate or render anything taken from the data (values are only
//! counted, compared and escaped), and its memory stays bounded: inputs are streamed in record
//! batches with column projection, and per-column state is capped (sampled beyond a row limit).

pub mod read;

pub use read::{
    ColumnType, DataError, F64Matrix, Format, Labels, ReadOptions, TableReader, open,
    read_f64_matrix,
};
pub mod drift;
pub mod profile;
pub mod rules;
pub mod stats;
#[cfg(test)]
mod test_support;

pub use drift::{DriftOptions, DriftResult, StatTest, compare, drift_findings};
pub use profile::{ProfileOptions, TableProfile, load_profile, profile_table};
pub use rules::RULES;
pub mod check;
#[doc(hidden)]
pub mod fuzzing;
