//! Drift between a reference and a current table profile, column by column, with the test
//! chosen by column type and reference size as Evidently does by default:
//!
//! | reference rows | numeric (> 5 distinct values)     | categorical / ≤ 5 distinct values                       |
//! |----------------|------------------------------------|---------------------------------------------------------|
//! | ≤ 1000         | Kolmogorov–Smirnov, p < 0.05       | Z-test on proportions (≤ 2 values) / chi-square, p < 0.05 |
//! | > 1000         | Wasserstein / reference std ≥ 0.1  | Jensen–Shannon distance ≥ 0.1                            |
//!
//! Two differences from Evidently: chi-square is the two-sample contingency test (the
//! reference is a sample too, so large samples do not raise false alarms), and PSI/JS bins
//! come from the reference alone (its deciles), so drift can be computed from a stored
//! profile. PSI is always reported as the effect size and a p-value beside it.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use rampart_core::{Finding, Location};
use serde::Serialize;

use crate::profile::{ColumnProfile, ColumnSummary, NumericSummary, TableProfile};
use crate::rules;
use crate::stats;

/// References up to this many rows get the small-sample (p-value) tests.
pub const SMALL_REFERENCE_ROWS: u64 = 1000;
/// Above this many values in total, p-values alone are not meaningful.
pub const LARGE_SAMPLE_VALUES: u64 = 100_000;
/// A rise of the missing-value share by this much (absolute) is a schema change.
pub const NULL_RATE_JUMP: f64 = 0.1;
/// New or missing categories listed per column (the rest are counted).
const LISTED_CATEGORIES: usize = 50;
/// Bars of a column's histogram in the report.
const HISTOGRAM_BINS: usize = 20;
/// Wasserstein is normed by the reference's std, but never by less than this (Evidently's
/// floor), so a constant reference column does not divide by zero.
const MIN_NORM: f64 = 0.001;

/// A drift test a user can pick per column with `--stattest`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StatTest {
    Ks,
    Psi,
    Wasserstein,
    JensenShannon,
    ChiSquare,
    Z,
}

impl StatTest {
    pub fn name(self) -> &'static str {
        match self {
            StatTest::Ks => "ks",
            StatTest::Psi => "psi",
            StatTest::Wasserstein => "wasserstein",
            StatTest::JensenShannon => "jensenshannon",
            StatTest::ChiSquare => "chisquare",
            StatTest::Z => "z",
        }
    }

    /// p-value tests drift below their threshold; distances at or above it.
    pub fn is_p_value(self) -> bool {
        matches!(self, StatTest::Ks | StatTest::ChiSquare | StatTest::Z)
    }

    pub fn default_threshold(self) -> f64 {
        if self.is_p_value() { 0.05 } else { 0.1 }
    }
}

impl fmt::Display for StatTest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for StatTest {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "ks" => StatTest::Ks,
            "psi" => StatTest::Psi,
            "wasserstein" | "wasserstein_distance_norm" => StatTest::Wasserstein,
            "jensenshannon" | "js" | "jensen-shannon" => StatTest::JensenShannon,
            "chisquare" | "chi-square" | "chi2" => StatTest::ChiSquare,
            "z" | "ztest" | "z-test" => StatTest::Z,
            other => {
                return Err(format!(
                    "unknown test `{other}`: expected ks, psi, wasserstein, jensenshannon, chisquare or z"
                ));
            }
        })
    }
}

/// `COLUMN=VALUE` applies to one column, a bare `VALUE` to every column.
pub fn parse_column_setting<T: FromStr>(spec: &str) -> Result<(Option<String>, T), String>
where
    T::Err: fmt::Display,
{
    let (column, value) = match spec.rsplit_once('=') {
        Some((column, value)) => (Some(column.trim().to_owned()), value),
        None => (None, spec),
    };
    let value = value
        .trim()
        .parse::<T>()
        .map_err(|e| format!("`{spec}`: {e}"))?;
    Ok((column, value))
}

/// What to compare and how.
#[derive(Clone, Debug)]
pub struct DriftOptions {
    /// Compare only these columns (default: every column of the reference).
    pub columns: Option<Vec<String>>,
    /// Tests forced per column (`Some(name)`) or for all columns (`None`); later wins.
    pub stattests: Vec<(Option<String>, StatTest)>,
    /// Thresholds per column or for all; later wins.
    pub thresholds: Vec<(Option<String>, f64)>,
    /// Dataset drift when at least this share of compared columns drifted.
    pub drift_share: f64,
}

impl Default for DriftOptions {
    fn default() -> Self {
        DriftOptions {
            columns: None,
            stattests: Vec::new(),
            thresholds: Vec::new(),
            drift_share: 0.5,
        }
    }
}

fn setting_for<T: Copy>(settings: &[(Option<String>, T)], column: &str) -> Option<T> {
    settings
        .iter()
        .rev()
        .find(|(name, _)| name.as_deref().is_none_or(|name| name == column))
        .map(|(_, value)| *value)
}

/// Why drift could not be computed (a usage error).
#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    #[error("column `{column}` is not in {side} (its columns: {available})")]
    UnknownColumn {
        column: String,
        side: String,
        available: String,
    },
    #[error("--stattest {test} cannot be applied to column `{column}`: {reason}")]
    NotApplicable {
        column: String,
        test: StatTest,
        reason: &'static str,
    },
}

#[derive(Clone, Debug, Serialize)]
pub struct SideInfo {
    pub source: String,
    pub rows: u64,
}

/// One side's summary of a column, for the report.
#[derive(Clone, Debug, Serialize)]
pub struct ColumnStats {
    pub count: u64,
    pub missing: u64,
    pub missing_share: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub std: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Distinct values, for categorical and low-cardinality columns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unique: Option<usize>,
    /// True when the numeric statistics were computed on a reservoir sample.
    pub sampled: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct CategoryShare {
    pub value: String,
    pub count: u64,
    pub share: f64,
}

/// Shares per bin or category on both sides, for the report's overlay chart.
#[derive(Clone, Debug, Serialize)]
pub struct Histogram {
    pub labels: Vec<String>,
    pub reference: Vec<f64>,
    pub current: Vec<f64>,
}

/// The drift verdict on one column. `column`, `kind`, `test`, `statistic`, `threshold` and
/// `drifted` are the public interface of the JSON report.
#[derive(Clone, Debug, Serialize)]
pub struct ColumnDrift {
    pub column: String,
    /// `numeric` or `categorical` (low-cardinality numeric columns are compared as
    /// categories but keep `numeric` here).
    pub kind: &'static str,
    pub test: StatTest,
    pub statistic: f64,
    pub threshold: f64,
    pub drifted: bool,
    /// A p-value beside the effect size: the test's own, or KS (numeric) / chi-square or Z
    /// (categorical) when the test is a distance.
    pub p_value: Option<f64>,
    pub p_value_test: Option<StatTest>,
    /// Population stability index over the reference's deciles or categories.
    pub psi: f64,
    pub reference: ColumnStats,
    pub current: ColumnStats,
    /// Categories seen only in the current data, with their share of it.
    pub new_categories: Vec<CategoryShare>,
    /// Categories of the reference absent from the current data, with their reference share.
    pub missing_categories: Vec<CategoryShare>,
    pub histogram: Histogram,
    /// Caveats, e.g. that p-values alone are not meaningful at this size.
    pub notes: Vec<String>,
}

/// A schema difference between the two sides.
#[derive(Clone, Debug, Serialize)]
pub struct SchemaChange {
    pub column: String,
    /// `new-column`, `missing-column`, `type-change` or `null-rate`.
    pub change: &'static str,
    pub detail: String,
}

/// The whole comparison.
#[derive(Clone, Debug, Serialize)]
pub struct DriftResult {
    pub reference: SideInfo,
    pub current: SideInfo,
    pub dataset_drift: bool,
    pub drifted_columns: usize,
    pub number_of_columns: usize,
    pub share_of_drifted_columns: f64,
    pub drift_share: f64,
    pub columns: Vec<ColumnDrift>,
    pub schema_changes: Vec<SchemaChange>,
    pub notes: Vec<String>,
}

/// Compares `current` against `reference`.
pub fn compare(
    reference: &TableProfile,
    current: &TableProfile,
    options: &DriftOptions,
) -> Result<DriftResult, DriftError> {
    let mut schema_changes = Vec::new();
    let names: Vec<String> = match &options.columns {
        Some(columns) => {
            for column in columns {
                for (profile, side) in [(reference, "the reference"), (current, "the current data")]
                {
                    if profile.column(column).is_none() {
                        return Err(unknown(column, profile, side));
                    }
                }
            }
            columns.clone()
        }
        None => {
            for column in &current.columns {
                if reference.column(&column.name).is_none() {
                    schema_changes.push(SchemaChange {
                        column: column.name.clone(),
                        change: "new-column",
                        detail: format!("new in the current data ({})", column.data_type),
                    });
                }
            }
            reference.columns.iter().map(|c| c.name.clone()).collect()
        }
    };
    let named = options
        .stattests
        .iter()
        .map(|(name, _)| name)
        .chain(options.thresholds.iter().map(|(name, _)| name));
    for name in named {
        if let Some(name) = name
            && reference.column(name).is_none()
        {
            return Err(unknown(name, reference, "the reference"));
        }
    }
    let mut columns = Vec::new();
    for name in &names {
        let Some(reference_column) = reference.column(name) else {
            continue;
        };
        let Some(current_column) = current.column(name) else {
            schema_changes.push(SchemaChange {
                column: name.clone(),
                change: "missing-column",
                detail: "missing from the current data".to_owned(),
            });
            continue;
        };
        if reference_column.kind() != current_column.kind() {
            schema_changes.push(SchemaChange {
                column: name.clone(),
                change: "type-change",
                detail: format!(
                    "{} ({}) in the reference, {} ({}) in the current data",
                    reference_column.kind(),
                    reference_column.data_type,
                    current_column.kind(),
                    current_column.data_type
                ),
            });
            continue;
        }
        let reference_missing = missing_share(reference_column);
        let current_missing = missing_share(current_column);
        if current_missing - reference_missing >= NULL_RATE_JUMP {
            schema_changes.push(SchemaChange {
                column: name.clone(),
                change: "null-rate",
                detail: format!(
                    "missing values rose from {:.1} % to {:.1} %",
                    reference_missing * 100.0,
                    current_missing * 100.0
                ),
            });
        }
        columns.push(compare_column(
            reference_column,
            current_column,
            setting_for(&options.stattests, name),
            setting_for(&options.thresholds, name),
        )?);
    }
    let drifted_columns = columns.iter().filter(|c| c.drifted).count();
    let number_of_columns = columns.len();
    let share = if number_of_columns == 0 {
        0.0
    } else {
        drifted_columns as f64 / number_of_columns as f64
    };
    let mut notes = Vec::new();
    let sampled: Vec<&str> = columns
        .iter()
        .filter(|c| c.reference.sampled || c.current.sampled)
        .map(|c| c.column.as_str())
        .collect();
    if !sampled.is_empty() {
        notes.push(format!(
            "numeric statistics of {} were computed on a reservoir sample of {} values per side",
            sampled.join(", "),
            reference.sample_cap.min(current.sample_cap)
        ));
    }
    let sketched: Vec<&str> = reference
        .columns
        .iter()
        .filter(|c| matches!(&c.summary, ColumnSummary::Numeric(n) if n.quantile_sketch))
        .map(|c| c.name.as_str())
        .collect();
    if !sketched.is_empty() {
        notes.push(format!(
            "the reference profile keeps a quantile sketch of {} ({} values each): KS statistics are within 1/{} and normed distances within a few thousandths of the full sample's",
            sketched.join(", "),
            crate::profile::SAVED_SAMPLE_VALUES,
            crate::profile::SAVED_SAMPLE_VALUES
        ));
    }
    for skipped in reference.skipped.iter().chain(&current.skipped) {
        notes.push(format!(
            "column `{}` ({}) is not numeric or categorical and was not compared",
            skipped.column, skipped.data_type
        ));
    }
    Ok(DriftResult {
        reference: SideInfo {
            source: reference.source.clone(),
            rows: reference.rows,
        },
        current: SideInfo {
            source: current.source.clone(),
            rows: current.rows,
        },
        dataset_drift: number_of_columns > 0 && share >= options.drift_share,
        drifted_columns,
        number_of_columns,
        share_of_drifted_columns: share,
        drift_share: options.drift_share,
        columns,
        schema_changes,
        notes,
    })
}

fn unknown(column: &str, profile: &TableProfile, side: &str) -> DriftError {
    DriftError::UnknownColumn {
        column: column.to_owned(),
        side: format!("{side} `{}`", profile.source),
        available: profile
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn missing_share(column: &ColumnProfile) -> f64 {
    let total = column.missing + column.count();
    if total == 0 {
        0.0
    } else {
        column.missing as f64 / total as f64
    }
}

/// Counts per category (or per bin) on both sides, aligned.
struct CategoryTable {
    labels: Vec<String>,
    reference: Vec<u64>,
    current: Vec<u64>,
    /// True for real categories (new/missing ones are reported), false for numeric bins.
    categorical: bool,
}

impl CategoryTable {
    fn shares(counts: &[u64]) -> Vec<f64> {
        let total: u64 = counts.iter().sum();
        counts
            .iter()
            .map(|c| {
                if total == 0 {
                    0.0
                } else {
                    *c as f64 / total as f64
                }
            })
            .collect()
    }
}

fn format_value(value: f64) -> String {
    format!("{value}")
}

/// Current counts of the reference's few distinct values, estimated from the current sample
/// (exact when it is not sampled); other values pooled under `other values`.
fn low_cardinality_table(reference: &[(f64, u64)], current: &NumericSummary) -> CategoryTable {
    let scale = if current.sample.is_empty() {
        0.0
    } else {
        current.count as f64 / current.sample.len() as f64
    };
    let mut labels = Vec::with_capacity(reference.len() + 1);
    let mut reference_counts = Vec::with_capacity(reference.len() + 1);
    let mut current_counts = Vec::with_capacity(reference.len() + 1);
    let mut matched = 0u64;
    for (value, count) in reference {
        let in_sample = current.sample.partition_point(|v| v <= value)
            - current.sample.partition_point(|v| v < value);
        // Rounding a scaled sample count; the sample is at most `count` values.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let estimated = (in_sample as f64 * scale).round() as u64;
        matched += estimated;
        labels.push(format_value(*value));
        reference_counts.push(*count);
        current_counts.push(estimated);
    }
    let other = current.count.saturating_sub(matched);
    if other > 0 {
        labels.push("other values".to_owned());
        reference_counts.push(0);
        current_counts.push(other);
    }
    CategoryTable {
        labels,
        reference: reference_counts,
        current: current_counts,
        categorical: true,
    }
}

/// Counts of both sides in the reference's decile bins (scaled from the samples).
fn binned_table(reference: &NumericSummary, current: &NumericSummary) -> CategoryTable {
    let edges = &reference.psi_edges;
    let to_counts = |side: &NumericSummary| -> Vec<u64> {
        stats::bin_shares(&side.sample, edges)
            .iter()
            .map(|share| {
                // A share of a count, rounded.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let count = (share * side.count as f64).round() as u64;
                count
            })
            .collect()
    };
    let mut labels = Vec::with_capacity(edges.len() + 1);
    let mut lower = "-inf".to_owned();
    for edge in edges {
        let upper = format!("{edge:.4}");
        labels.push(format!("({lower}, {upper}]"));
        lower = upper;
    }
    labels.push(format!("({lower}, inf)"));
    CategoryTable {
        labels,
        reference: to_counts(reference),
        current: to_counts(current),
        categorical: false,
    }
}

fn categorical_table(
    reference: &crate::profile::CategoricalSummary,
    current: &crate::profile::CategoricalSummary,
) -> CategoryTable {
    let mut union: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (value, count) in &reference.counts {
        union.entry(value).or_default().0 = *count;
    }
    for (value, count) in &current.counts {
        union.entry(value).or_default().1 = *count;
    }
    let mut table = CategoryTable {
        labels: Vec::with_capacity(union.len() + 1),
        reference: Vec::with_capacity(union.len() + 1),
        current: Vec::with_capacity(union.len() + 1),
        categorical: true,
    };
    for (value, (r, c)) in union {
        table.labels.push(value.to_owned());
        table.reference.push(r);
        table.current.push(c);
    }
    if reference.other + current.other > 0 {
        table.labels.push("(other rare categories)".to_owned());
        table.reference.push(reference.other);
        table.current.push(current.other);
    }
    table
}

fn numeric_stats(column: &ColumnProfile, numeric: &NumericSummary) -> ColumnStats {
    let present = numeric.count > 0;
    ColumnStats {
        count: numeric.count,
        missing: column.missing,
        missing_share: missing_share(column),
        mean: present.then_some(numeric.mean),
        std: present.then_some(numeric.std),
        min: present.then_some(numeric.min),
        max: present.then_some(numeric.max),
        unique: numeric.distinct.as_ref().map(Vec::len),
        sampled: numeric.sampled,
    }
}

fn categorical_stats(column: &ColumnProfile, unique: usize) -> ColumnStats {
    ColumnStats {
        count: column.count(),
        missing: column.missing,
        missing_share: missing_share(column),
        mean: None,
        std: None,
        min: None,
        max: None,
        unique: Some(unique),
        sampled: false,
    }
}

fn compare_column(
    reference: &ColumnProfile,
    current: &ColumnProfile,
    forced_test: Option<StatTest>,
    forced_threshold: Option<f64>,
) -> Result<ColumnDrift, DriftError> {
    let small = reference.count() <= SMALL_REFERENCE_ROWS;
    let not_applicable = |test, reason| DriftError::NotApplicable {
        column: reference.name.clone(),
        test,
        reason,
    };
    // Continuous numeric samples, when the column is compared as numbers.
    let mut samples: Option<(&NumericSummary, &NumericSummary)> = None;
    let (table, reference_stats, current_stats, default_test) =
        match (&reference.summary, &current.summary) {
            (ColumnSummary::Numeric(r), ColumnSummary::Numeric(c)) => {
                let stats = (numeric_stats(reference, r), numeric_stats(current, c));
                match &r.distinct {
                    Some(distinct) => {
                        let table = low_cardinality_table(distinct, c);
                        let test = categorical_default(small, distinct.len());
                        samples = Some((r, c));
                        (table, stats.0, stats.1, test)
                    }
                    None => {
                        samples = Some((r, c));
                        let test = if small {
                            StatTest::Ks
                        } else {
                            StatTest::Wasserstein
                        };
                        (binned_table(r, c), stats.0, stats.1, test)
                    }
                }
            }
            (ColumnSummary::Categorical(r), ColumnSummary::Categorical(c)) => {
                let table = categorical_table(r, c);
                let stats = (
                    categorical_stats(reference, r.counts.len()),
                    categorical_stats(current, c.counts.len()),
                );
                let test = categorical_default(small, r.counts.len());
                (table, stats.0, stats.1, test)
            }
            // Kinds differ: reported as a schema change before getting here.
            _ => {
                return Err(not_applicable(
                    StatTest::Psi,
                    "the two sides have different types",
                ));
            }
        };
    let low_cardinality =
        matches!(&reference.summary, ColumnSummary::Numeric(r) if r.distinct.is_some());
    let continuous = samples.filter(|_| !low_cardinality);
    let test = match forced_test {
        Some(test) => test,
        // A new category in the current data makes a binary column ternary.
        None if default_test == StatTest::Z && table.labels.len() > 2 => StatTest::ChiSquare,
        None => default_test,
    };
    let reference_shares = CategoryTable::shares(&table.reference);
    let current_shares = CategoryTable::shares(&table.current);
    let psi = stats::psi(&reference_shares, &current_shares);
    let chi_or_z = |table: &CategoryTable| -> (StatTest, f64, f64) {
        if table.labels.len() <= 2 {
            let x1 = table.reference.first().copied().unwrap_or(0);
            let x2 = table.current.first().copied().unwrap_or(0);
            let (z, p) = stats::z_test_proportions(
                x1,
                table.reference.iter().sum(),
                x2,
                table.current.iter().sum(),
            );
            (StatTest::Z, z, p)
        } else {
            let (chi, p) = stats::chi_square_two_sample(&table.reference, &table.current);
            (StatTest::ChiSquare, chi, p)
        }
    };
    let ks = continuous.and_then(|(r, c)| stats::ks_two_sample(&r.sample, &c.sample));
    let (statistic, p_value, p_value_test) = match test {
        StatTest::Ks => {
            let Some((r, c)) = samples else {
                return Err(not_applicable(test, "KS compares numeric columns"));
            };
            let (d, p) = stats::ks_two_sample(&r.sample, &c.sample).unwrap_or((0.0, 1.0));
            (d, Some(p), Some(StatTest::Ks))
        }
        StatTest::Wasserstein => {
            let Some((r, c)) = samples else {
                return Err(not_applicable(test, "Wasserstein compares numeric columns"));
            };
            let distance = stats::wasserstein(&r.sample, &c.sample) / r.std.max(MIN_NORM);
            let side = match ks {
                Some((_, p)) => (Some(p), Some(StatTest::Ks)),
                None => (None, None),
            };
            (distance, side.0, side.1)
        }
        StatTest::JensenShannon | StatTest::Psi => {
            let statistic = if test == StatTest::Psi {
                psi
            } else {
                stats::jensen_shannon(
                    &stats::smoothed(&reference_shares),
                    &stats::smoothed(&current_shares),
                )
            };
            match ks {
                Some((_, p)) => (statistic, Some(p), Some(StatTest::Ks)),
                None => {
                    let (side_test, _, p) = chi_or_z(&table);
                    (statistic, Some(p), Some(side_test))
                }
            }
        }
        StatTest::ChiSquare => {
            let (chi, p) = stats::chi_square_two_sample(&table.reference, &table.current);
            (chi, Some(p), Some(StatTest::ChiSquare))
        }
        StatTest::Z => {
            if table.labels.len() > 2 {
                return Err(not_applicable(test, "the Z-test compares binary columns"));
            }
            let (_, z, p) = chi_or_z(&table);
            (z, Some(p), Some(StatTest::Z))
        }
    };
    let threshold = forced_threshold.unwrap_or(test.default_threshold());
    let drifted = if test.is_p_value() {
        p_value.is_some_and(|p| p < threshold)
    } else {
        statistic >= threshold
    };
    let mut notes = Vec::new();
    if reference.count() + current.count() > LARGE_SAMPLE_VALUES && p_value.is_some() {
        notes.push(format!(
            "with more than {LARGE_SAMPLE_VALUES} values even negligible differences have tiny p-values: judge drift by the effect size (statistic, PSI), not by the p-value alone"
        ));
    }
    let (new_categories, missing_categories) = if table.categorical {
        category_changes(&table, &mut notes)
    } else {
        (Vec::new(), Vec::new())
    };
    let histogram = match continuous {
        Some((r, c)) => numeric_histogram(r, c),
        None => category_histogram(&table, &reference_shares, &current_shares),
    };
    Ok(ColumnDrift {
        column: reference.name.clone(),
        kind: reference.kind(),
        test,
        statistic,
        threshold,
        drifted,
        p_value,
        p_value_test,
        psi,
        reference: reference_stats,
        current: current_stats,
        new_categories,
        missing_categories,
        histogram,
        notes,
    })
}

fn categorical_default(small: bool, unique: usize) -> StatTest {
    match (small, unique <= 2) {
        (true, true) => StatTest::Z,
        (true, false) => StatTest::ChiSquare,
        (false, _) => StatTest::JensenShannon,
    }
}

fn category_changes(
    table: &CategoryTable,
    notes: &mut Vec<String>,
) -> (Vec<CategoryShare>, Vec<CategoryShare>) {
    let reference_total: u64 = table.reference.iter().sum();
    let current_total: u64 = table.current.iter().sum();
    let share = |count: u64, total: u64| {
        if total == 0 {
            0.0
        } else {
            count as f64 / total as f64
        }
    };
    let mut new = Vec::new();
    let mut missing = Vec::new();
    for ((label, r), c) in table
        .labels
        .iter()
        .zip(&table.reference)
        .zip(&table.current)
    {
        if *r == 0 && *c > 0 {
            new.push(CategoryShare {
                value: label.clone(),
                count: *c,
                share: share(*c, current_total),
            });
        } else if *c == 0 && *r > 0 {
            missing.push(CategoryShare {
                value: label.clone(),
                count: *r,
                share: share(*r, reference_total),
            });
        }
    }
    for (list, what) in [(&mut new, "new"), (&mut missing, "missing")] {
        list.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        if list.len() > LISTED_CATEGORIES {
            notes.push(format!(
                "{} {what} categories, the {LISTED_CATEGORIES} most frequent listed",
                list.len()
            ));
            list.truncate(LISTED_CATEGORIES);
        }
    }
    (new, missing)
}

fn numeric_histogram(reference: &NumericSummary, current: &NumericSummary) -> Histogram {
    let low = reference.min.min(if current.count > 0 {
        current.min
    } else {
        reference.min
    });
    let high = reference.max.max(if current.count > 0 {
        current.max
    } else {
        reference.max
    });
    let width = (high - low) / HISTOGRAM_BINS as f64;
    if width.is_nan() || width <= 0.0 {
        return Histogram {
            labels: vec![format_value(low)],
            reference: vec![1.0],
            current: vec![1.0],
        };
    }
    let edges: Vec<f64> = (1..HISTOGRAM_BINS)
        .map(|i| low + width * i as f64)
        .collect();
    let labels = (0..HISTOGRAM_BINS)
        .map(|i| format!("{:.4}", low + width * i as f64))
        .collect();
    Histogram {
        labels,
        reference: stats::bin_shares(&reference.sample, &edges),
        current: stats::bin_shares(&current.sample, &edges),
    }
}

fn category_histogram(table: &CategoryTable, reference: &[f64], current: &[f64]) -> Histogram {
    let mut order: Vec<usize> = (0..table.labels.len()).collect();
    let weight = |i: usize| {
        reference
            .get(i)
            .copied()
            .unwrap_or(0.0)
            .max(current.get(i).copied().unwrap_or(0.0))
    };
    order.sort_by(|a, b| weight(*b).total_cmp(&weight(*a)));
    let shown = order.len().min(HISTOGRAM_BINS);
    let (top, rest) = order.split_at(shown);
    let mut histogram = Histogram {
        labels: Vec::with_capacity(shown + 1),
        reference: Vec::with_capacity(shown + 1),
        current: Vec::with_capacity(shown + 1),
    };
    for &i in top {
        histogram
            .labels
            .push(table.labels.get(i).cloned().unwrap_or_default());
        histogram
            .reference
            .push(reference.get(i).copied().unwrap_or(0.0));
        histogram
            .current
            .push(current.get(i).copied().unwrap_or(0.0));
    }
    if !rest.is_empty() {
        histogram.labels.push(format!("{} others", rest.len()));
        histogram.reference.push(
            rest.iter()
                .map(|&i| reference.get(i).copied().unwrap_or(0.0))
                .sum(),
        );
        histogram.current.push(
            rest.iter()
                .map(|&i| current.get(i).copied().unwrap_or(0.0))
                .sum(),
        );
    }
    histogram
}

/// The drift verdicts as report findings: one `data/column-drift` per drifted column, one
/// `data/schema-change` per schema difference, and `data/dataset-drift` when the dataset
/// drifted. Locations name the current file and the column.
pub fn drift_findings(result: &DriftResult) -> Vec<Finding> {
    let file = Location::file(&result.current.source);
    let mut findings = Vec::new();
    for column in result.columns.iter().filter(|c| c.drifted) {
        let comparison = if column.test.is_p_value() {
            format!(
                "p-value {:.3e} < {}",
                column.p_value.unwrap_or(1.0),
                column.threshold
            )
        } else {
            format!("{:.4} ≥ {}", column.statistic, column.threshold)
        };
        let mut evidence = format!(
            "test={} statistic={:.6} threshold={} psi={:.4}",
            column.test, column.statistic, column.threshold, column.psi
        );
        if let (Some(p), Some(test)) = (column.p_value, column.p_value_test) {
            evidence.push_str(&format!(" p_value({test})={p:.3e}"));
        }
        if !column.new_categories.is_empty() {
            let listed: Vec<String> = column
                .new_categories
                .iter()
                .take(5)
                .map(|c| format!("{} ({:.1} %)", c.value, c.share * 100.0))
                .collect();
            evidence.push_str(&format!(" new_categories={}", listed.join(", ")));
        }
        findings.push(
            Finding::new(
                &rules::COLUMN_DRIFT,
                file.with_resource(format!("column {}", column.column)),
                format!(
                    "column `{}` drifted: {} {comparison} (PSI {:.3})",
                    column.column, column.test, column.psi
                ),
            )
            .with_evidence(evidence),
        );
    }
    for change in &result.schema_changes {
        findings.push(
            Finding::new(
                &rules::SCHEMA_CHANGE,
                file.with_resource(format!("column {}", change.column)),
                format!("column `{}`: {}", change.column, change.detail),
            )
            .with_evidence(format!("change={}", change.change)),
        );
    }
    if result.dataset_drift {
        let drifted: Vec<&str> = result
            .columns
            .iter()
            .filter(|c| c.drifted)
            .map(|c| c.column.as_str())
            .collect();
        findings.push(
            Finding::new(
                &rules::DATASET_DRIFT,
                file,
                format!(
                    "{} of {} columns drifted ({:.0} % ≥ {:.0} %) between `{}` and `{}`",
                    result.drifted_columns,
                    result.number_of_columns,
                    result.share_of_drifted_columns * 100.0,
                    result.drift_share * 100.0,
                    result.reference.source,
                    result.current.source
                ),
            )
            .with_evidence(format!("drifted columns: {}", drifted.join(", "))),
        );
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{DRIFTED, STABLE, drift_table, profile};

    fn run(rows: usize, options: &DriftOptions) -> DriftResult {
        let reference = profile("reference.parquet", &drift_table(rows, 1, false));
        let current = profile("current.parquet", &drift_table(rows, 2, true));
        compare(&reference, &current, options).unwrap()
    }

    fn verdicts(result: &DriftResult) -> Vec<(&str, bool)> {
        result
            .columns
            .iter()
            .map(|c| (c.column.as_str(), c.drifted))
            .collect()
    }

    fn assert_scenario(result: &DriftResult) {
        for column in &result.columns {
            let expected = DRIFTED.contains(&column.column.as_str());
            assert!(
                STABLE.contains(&column.column.as_str()) || expected,
                "{}",
                column.column
            );
            assert_eq!(column.drifted, expected, "{column:#?}");
        }
        assert_eq!(result.number_of_columns, 10);
        assert_eq!(result.drifted_columns, 5);
        assert!(result.dataset_drift);
    }

    #[test]
    fn large_data_uses_distances_and_finds_exactly_the_drifted_columns() {
        let result = run(100_000, &DriftOptions::default());
        assert_scenario(&result);
        let test_of = |name: &str| result.columns.iter().find(|c| c.column == name).unwrap();
        assert_eq!(test_of("normal").test, StatTest::Wasserstein);
        assert_eq!(test_of("cat").test, StatTest::JensenShannon);
        assert_eq!(test_of("binary").test, StatTest::JensenShannon);
        let new_cat = test_of("new_cat");
        assert_eq!(new_cat.new_categories.len(), 1);
        assert_eq!(new_cat.new_categories[0].value, "unseen");
        assert!((new_cat.new_categories[0].share - 0.2).abs() < 0.01);
        assert!(test_of("shifted").psi > 0.1);
        assert!(test_of("normal").psi < 0.01);
        assert!(
            !test_of("normal").notes.is_empty(),
            "large-sample p-value caveat"
        );
    }

    #[test]
    #[ignore = "1M rows per side: run with --ignored (about a minute in debug)"]
    fn million_rows_flag_no_stable_column() {
        assert_scenario(&run(1_000_000, &DriftOptions::default()));
    }

    #[test]
    fn small_data_uses_p_value_tests() {
        let result = run(800, &DriftOptions::default());
        let test_of = |name: &str| result.columns.iter().find(|c| c.column == name).unwrap();
        assert_eq!(test_of("normal").test, StatTest::Ks);
        assert_eq!(test_of("cat").test, StatTest::ChiSquare);
        assert_eq!(test_of("binary").test, StatTest::Z);
        // The binary column gained no category; `new_cat` has 4 labels: chi-square.
        assert_eq!(test_of("new_cat").test, StatTest::ChiSquare);
        for name in DRIFTED {
            assert!(test_of(name).drifted, "{name}");
        }
        for name in STABLE {
            let column = test_of(name);
            assert!(!column.drifted, "{name}: p={:?}", column.p_value);
        }
    }

    #[test]
    fn a_saved_quantile_sketch_gives_the_same_verdicts() {
        let reference = profile("reference.parquet", &drift_table(60_000, 1, false));
        let current = profile("current.parquet", &drift_table(60_000, 2, true));
        let options = DriftOptions::default();
        let direct = compare(&reference, &current, &options).unwrap();
        let sketch = reference
            .clone()
            .summarised(crate::profile::SAVED_SAMPLE_VALUES);
        let saved = serde_json::to_vec(&sketch).unwrap();
        assert!(saved.len() < 2_000_000, "{} bytes", saved.len());
        let loaded = crate::profile::load_profile(std::path::Path::new("p.json"), &saved).unwrap();
        let profiled = compare(&loaded, &current, &options).unwrap();
        assert_eq!(verdicts(&direct), verdicts(&profiled));
        assert_scenario(&profiled);
        for (a, b) in direct.columns.iter().zip(&profiled.columns) {
            assert!((a.statistic - b.statistic).abs() < 2e-3, "{a:#?} {b:#?}");
            assert!(
                (a.psi - b.psi).abs() < 2e-3,
                "{} {} {}",
                a.column,
                a.psi,
                b.psi
            );
        }
        assert!(profiled.notes.iter().any(|n| n.contains("quantile sketch")));
    }

    #[test]
    fn identical_data_never_drifts() {
        let data = profile("same", &drift_table(5000, 3, false));
        let result = compare(&data, &data, &DriftOptions::default()).unwrap();
        assert_eq!(result.drifted_columns, 0);
        assert!(
            result
                .columns
                .iter()
                .all(|c| c.statistic.abs() < 1e-12 || c.test.is_p_value())
        );
        assert!(drift_findings(&result).is_empty());
    }

    #[test]
    fn forced_tests_and_thresholds_apply_per_column() {
        let options = DriftOptions {
            stattests: vec![
                (Some("normal".into()), StatTest::Psi),
                (Some("cat".into()), StatTest::ChiSquare),
            ],
            thresholds: vec![(Some("shifted".into()), 0.9)],
            drift_share: 0.9,
            ..DriftOptions::default()
        };
        let result = run(5000, &options);
        let test_of = |name: &str| result.columns.iter().find(|c| c.column == name).unwrap();
        assert_eq!(test_of("normal").test, StatTest::Psi);
        assert_eq!(test_of("cat").test, StatTest::ChiSquare);
        assert!(
            !test_of("cat").drifted,
            "two-sample chi-square on stable data"
        );
        assert!(!test_of("shifted").drifted, "threshold raised to 0.9");
        assert!(!result.dataset_drift, "4 of 10 < 0.9");
        let error = compare(
            &profile("r", &drift_table(100, 1, false)),
            &profile("c", &drift_table(100, 1, true)),
            &DriftOptions {
                stattests: vec![(Some("cat".into()), StatTest::Ks)],
                ..DriftOptions::default()
            },
        )
        .unwrap_err();
        assert!(error.to_string().contains("KS compares numeric"), "{error}");
    }

    #[test]
    fn findings_name_columns_and_dataset() {
        let result = run(5000, &DriftOptions::default());
        let findings = drift_findings(&result);
        let ids: Vec<&str> = findings.iter().map(|f| f.rule.id).collect();
        assert_eq!(
            ids.iter().filter(|id| **id == "data/column-drift").count(),
            5
        );
        assert!(ids.contains(&"data/dataset-drift"));
        let shifted = findings
            .iter()
            .find(|f| f.location.resource.as_deref() == Some("column shifted"))
            .unwrap();
        assert!(
            shifted.message.contains("wasserstein"),
            "{}",
            shifted.message
        );
        assert_eq!(verdicts(&result).len(), 10);
    }

    #[test]
    fn schema_differences_are_reported() {
        use crate::test_support::{Column, batch};
        let reference = profile(
            "r",
            &batch(vec![
                ("a", Column::Numbers((0..2000).map(f64::from).collect())),
                (
                    "b",
                    Column::Text((0..2000).map(|i| (i % 7).to_string()).collect()),
                ),
                ("gone", Column::Numbers(vec![1.0; 2000])),
            ]),
        );
        let current = profile(
            "c",
            &batch(vec![
                (
                    "a",
                    Column::Numbers(
                        (0..2000)
                            .map(|i| if i % 4 == 0 { f64::NAN } else { f64::from(i) })
                            .collect(),
                    ),
                ),
                (
                    "b",
                    Column::Numbers((0..2000).map(|i| f64::from(i % 7)).collect()),
                ),
                ("added", Column::Numbers(vec![1.0; 2000])),
            ]),
        );
        let result = compare(&reference, &current, &DriftOptions::default()).unwrap();
        let changes: Vec<(&str, &str)> = result
            .schema_changes
            .iter()
            .map(|c| (c.column.as_str(), c.change))
            .collect();
        assert!(changes.contains(&("added", "new-column")), "{changes:?}");
        assert!(changes.contains(&("gone", "missing-column")), "{changes:?}");
        assert!(changes.contains(&("b", "type-change")), "{changes:?}");
        assert!(changes.contains(&("a", "null-rate")), "{changes:?}");
        assert_eq!(result.number_of_columns, 1);
    }
}
