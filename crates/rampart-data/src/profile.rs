//! A table's per-column profile: for numeric columns a sorted sample (all values up to the
//! sample cap, a seeded reservoir sample beyond it) with exact moments, for categorical
//! columns exact value counts (up to a cap on distinct values). A profile is what drift is
//! computed from, and it is what `--save-profile` stores, so a later run against the profile
//! gives the same verdicts as a run against the reference data.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::read::{DataError, ReadOptions, open};
use crate::stats;

/// Bumped when the stored profile's meaning changes; older profiles are refused.
pub const PROFILE_VERSION: u32 = 1;
/// Numeric values kept per column before sampling starts (8 MB per column).
pub const DEFAULT_SAMPLE_CAP: usize = 1_000_000;
/// Distinct categories counted per column; rarer ones beyond this are pooled in `other`.
pub const MAX_CATEGORIES: usize = 100_000;
/// Numeric columns with at most this many distinct values are compared like categories.
pub const LOW_CARDINALITY: usize = 5;
/// Bins of the PSI histogram, at the reference's deciles.
pub const PSI_BINS: usize = 10;
/// Numeric values a saved profile keeps per column (about 200 KB of JSON): a longer sample
/// is stored as this many evenly spaced quantiles. See [`TableProfile::summarised`].
pub const SAVED_SAMPLE_VALUES: usize = 10_000;

/// How to profile.
#[derive(Clone, Copy, Debug)]
pub struct ProfileOptions {
    /// Numeric values kept per column; beyond it a reservoir sample of this size is kept.
    pub sample_cap: usize,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        ProfileOptions {
            sample_cap: DEFAULT_SAMPLE_CAP,
        }
    }
}

/// The profile of one table.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TableProfile {
    pub profile_version: u32,
    /// The file the profile was computed from, as named by the user.
    pub source: String,
    pub rows: u64,
    pub sample_cap: usize,
    pub columns: Vec<ColumnProfile>,
    /// Columns that could not be profiled (nested or binary types), with the reason.
    #[serde(default)]
    pub skipped: Vec<SkippedColumn>,
}

impl TableProfile {
    /// The profile as `--save-profile` stores it, bounded in size: a numeric sample longer
    /// than `max_values` becomes its `max_values` evenly spaced quantiles (minimum and maximum
    /// included), a quantile sketch of the reference; everything else (exact moments, PSI
    /// edges, distinct values, category counts) is kept as is.
    ///
    /// The approximation: each kept value stands for an equal share `1/max_values` of the
    /// reference, so the KS statistic moves by at most `1/(max_values − 1)`, a PSI bin share by
    /// at most as much, and the normed Wasserstein distance by the sketch's error in the
    /// tails — a few thousandths for the default (≤ 0.0025 measured on 1M-row columns) against
    /// a threshold of 0.1, so the verdicts are those of the full sample unless a column sits
    /// on the threshold. Samples of
    /// at most `max_values` values (every reference small enough for the p-value tests) are
    /// kept exactly.
    pub fn summarised(mut self, max_values: usize) -> Self {
        let max_values = max_values.max(2);
        for column in &mut self.columns {
            let ColumnSummary::Numeric(numeric) = &mut column.summary else {
                continue;
            };
            if numeric.sample.len() <= max_values {
                continue;
            }
            let last = (max_values - 1) as f64;
            numeric.sample = (0..max_values)
                .filter_map(|i| stats::quantile(&numeric.sample, i as f64 / last))
                .collect();
            numeric.quantile_sketch = true;
        }
        self
    }

    pub fn column(&self, name: &str) -> Option<&ColumnProfile> {
        self.columns.iter().find(|c| c.name == name)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SkippedColumn {
    pub column: String,
    pub data_type: String,
}

/// One column's profile.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ColumnProfile {
    pub name: String,
    /// The Arrow type as read, e.g. `Float64`, `Utf8`.
    pub data_type: String,
    /// Values that are null, empty, NaN or infinite.
    pub missing: u64,
    #[serde(flatten)]
    pub summary: ColumnSummary,
}

impl ColumnProfile {
    /// Present (non-missing) values.
    pub fn count(&self) -> u64 {
        match &self.summary {
            ColumnSummary::Numeric(n) => n.count,
            ColumnSummary::Categorical(c) => c.count,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self.summary {
            ColumnSummary::Numeric(_) => "numeric",
            ColumnSummary::Categorical(_) => "categorical",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ColumnSummary {
    Numeric(NumericSummary),
    Categorical(CategoricalSummary),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NumericSummary {
    pub count: u64,
    pub mean: f64,
    /// Population standard deviation (numpy's default, as Evidently norms by).
    pub std: f64,
    pub min: f64,
    pub max: f64,
    /// True when `sample` is a reservoir sample rather than every value.
    pub sampled: bool,
    /// Interior PSI bin edges (the sample's deciles).
    pub psi_edges: Vec<f64>,
    /// Exact counts per value when the column has at most [`LOW_CARDINALITY`] distinct values.
    pub distinct: Option<Vec<(f64, u64)>>,
    /// The values (or the reservoir sample, or the quantile sketch), sorted ascending.
    pub sample: Vec<f64>,
    /// True when `sample` holds evenly spaced quantiles of a longer sample (a saved profile,
    /// see [`TableProfile::summarised`]).
    #[serde(default)]
    pub quantile_sketch: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CategoricalSummary {
    pub count: u64,
    pub counts: BTreeMap<String, u64>,
    /// Values of categories beyond [`MAX_CATEGORIES`], pooled.
    pub other: u64,
}

/// How a column's values are read for profiling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    Numeric,
    Categorical,
}

/// Numeric (integers, floats, decimals, dates and times as their integer representation),
/// categorical (text, booleans, dictionaries) or neither.
pub fn value_kind(data_type: &DataType) -> Option<ValueKind> {
    match data_type {
        t if t.is_numeric() || t.is_temporal() => Some(ValueKind::Numeric),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Boolean => {
            Some(ValueKind::Categorical)
        }
        DataType::Dictionary(_, value) => value_kind(value).map(|_| ValueKind::Categorical),
        _ => None,
    }
}

/// A column as `f64` values with `NaN` for nulls.
pub fn numeric_values(column: &ArrayRef) -> Result<Vec<f64>, arrow::error::ArrowError> {
    let column = if column.data_type().is_temporal() {
        cast(column, &DataType::Int64)?
    } else {
        column.clone()
    };
    let floats = cast(&column, &DataType::Float64)?;
    let floats = floats.as_primitive::<Float64Type>();
    Ok((0..floats.len())
        .map(|row| {
            if floats.is_null(row) {
                f64::NAN
            } else {
                floats.value(row)
            }
        })
        .collect())
}

/// A column as text with `None` for nulls and empty strings.
pub fn text_values(column: &ArrayRef) -> Result<Vec<Option<String>>, arrow::error::ArrowError> {
    let text = cast(column, &DataType::Utf8)?;
    Ok(text
        .as_string::<i32>()
        .iter()
        .map(|value| value.filter(|v| !v.is_empty()).map(str::to_owned))
        .collect())
}

/// A small deterministic generator for the reservoir: the same input always gives the same
/// sample, so a saved profile and a fresh run agree.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

enum Accumulator {
    Numeric {
        values: Vec<f64>,
        seen: u64,
        mean: f64,
        m2: f64,
        min: f64,
        max: f64,
        distinct: Option<Vec<(f64, u64)>>,
        rng: XorShift,
    },
    Categorical {
        counts: HashMap<String, u64>,
        count: u64,
        other: u64,
    },
}

struct ColumnState {
    name: String,
    data_type: String,
    missing: u64,
    accumulator: Accumulator,
}

impl ColumnState {
    fn new(name: &str, data_type: &DataType, kind: ValueKind) -> Self {
        let accumulator = match kind {
            ValueKind::Numeric => Accumulator::Numeric {
                values: Vec::new(),
                seen: 0,
                mean: 0.0,
                m2: 0.0,
                min: f64::INFINITY,
                max: f64::NEG_INFINITY,
                distinct: Some(Vec::new()),
                rng: XorShift(0x9e37_79b9_7f4a_7c15),
            },
            ValueKind::Categorical => Accumulator::Categorical {
                counts: HashMap::new(),
                count: 0,
                other: 0,
            },
        };
        ColumnState {
            name: name.to_owned(),
            data_type: data_type.to_string(),
            missing: 0,
            accumulator,
        }
    }

    fn add(
        &mut self,
        column: &ArrayRef,
        sample_cap: usize,
    ) -> Result<(), arrow::error::ArrowError> {
        match &mut self.accumulator {
            Accumulator::Numeric {
                values,
                seen,
                mean,
                m2,
                min,
                max,
                distinct,
                rng,
            } => {
                for value in numeric_values(column)? {
                    if !value.is_finite() {
                        self.missing += 1;
                        continue;
                    }
                    *seen += 1;
                    // Welford: exact moments over every value, not just the sample.
                    let delta = value - *mean;
                    *mean += delta / *seen as f64;
                    *m2 += delta * (value - *mean);
                    *min = min.min(value);
                    *max = max.max(value);
                    let too_many = match distinct.as_mut() {
                        Some(list) => {
                            if let Some((_, n)) = list.iter_mut().find(|(v, _)| *v == value) {
                                *n += 1;
                                false
                            } else if list.len() < LOW_CARDINALITY {
                                list.push((value, 1));
                                false
                            } else {
                                true
                            }
                        }
                        None => false,
                    };
                    if too_many {
                        *distinct = None;
                    }
                    if values.len() < sample_cap {
                        values.push(value);
                    } else {
                        let slot = rng.next() % *seen;
                        if let Some(kept) = usize::try_from(slot)
                            .ok()
                            .and_then(|slot| values.get_mut(slot))
                        {
                            *kept = value;
                        }
                    }
                }
            }
            Accumulator::Categorical {
                counts,
                count,
                other,
            } => {
                for value in text_values(column)? {
                    let Some(value) = value else {
                        self.missing += 1;
                        continue;
                    };
                    *count += 1;
                    if let Some(n) = counts.get_mut(&value) {
                        *n += 1;
                    } else if counts.len() < MAX_CATEGORIES {
                        counts.insert(value, 1);
                    } else {
                        *other += 1;
                    }
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> ColumnProfile {
        let summary = match self.accumulator {
            Accumulator::Numeric {
                mut values,
                seen,
                mean,
                m2,
                min,
                max,
                distinct,
                ..
            } => {
                values.sort_unstable_by(f64::total_cmp);
                let present = seen > 0;
                let mut distinct = distinct;
                if let Some(list) = &mut distinct {
                    list.sort_by(|a, b| a.0.total_cmp(&b.0));
                }
                ColumnSummary::Numeric(NumericSummary {
                    count: seen,
                    mean: if present { mean } else { 0.0 },
                    std: if present {
                        (m2 / seen as f64).sqrt()
                    } else {
                        0.0
                    },
                    min: if present { min } else { 0.0 },
                    max: if present { max } else { 0.0 },
                    sampled: seen > values.len() as u64,
                    psi_edges: stats::quantile_edges(&values, PSI_BINS),
                    distinct: distinct.filter(|_| present),
                    sample: values,
                    quantile_sketch: false,
                })
            }
            Accumulator::Categorical {
                counts,
                count,
                other,
            } => ColumnSummary::Categorical(CategoricalSummary {
                count,
                counts: counts.into_iter().collect(),
                other,
            }),
        };
        ColumnProfile {
            name: self.name,
            data_type: self.data_type,
            missing: self.missing,
            summary,
        }
    }
}

/// Builds a [`TableProfile`] from record batches of one schema, batch by batch.
pub struct Profiler {
    states: Vec<(usize, ColumnState)>,
    skipped: Vec<SkippedColumn>,
    sample_cap: usize,
    rows: u64,
}

impl Profiler {
    pub fn new(schema: &arrow::datatypes::Schema, options: &ProfileOptions) -> Self {
        let mut skipped = Vec::new();
        let mut states = Vec::new();
        for (index, field) in schema.fields().iter().enumerate() {
            match value_kind(field.data_type()) {
                Some(kind) => states.push((
                    index,
                    ColumnState::new(field.name(), field.data_type(), kind),
                )),
                None => skipped.push(SkippedColumn {
                    column: field.name().clone(),
                    data_type: field.data_type().to_string(),
                }),
            }
        }
        Profiler {
            states,
            skipped,
            sample_cap: options.sample_cap.max(1),
            rows: 0,
        }
    }

    /// Adds a batch; on error returns the column and Arrow's message.
    pub fn add(&mut self, batch: &RecordBatch) -> Result<(), (String, String)> {
        let sample_cap = self.sample_cap;
        self.states.par_iter_mut().try_for_each(|(index, state)| {
            match batch.columns().get(*index) {
                Some(column) => state
                    .add(column, sample_cap)
                    .map_err(|e| (state.name.clone(), e.to_string())),
                None => Err((state.name.clone(), "column missing from a batch".to_owned())),
            }
        })?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Rows added so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn finish(self, source: impl Into<String>) -> TableProfile {
        TableProfile {
            profile_version: PROFILE_VERSION,
            source: source.into(),
            rows: self.rows,
            sample_cap: self.sample_cap,
            columns: self
                .states
                .into_par_iter()
                .map(|(_, state)| state.finish())
                .collect(),
            skipped: self.skipped,
        }
    }
}

/// Streams `path` and profiles every column it reads (all, or `read_options.columns`).
pub fn profile_table(
    path: &Path,
    read_options: &ReadOptions,
    options: &ProfileOptions,
) -> Result<TableProfile, DataError> {
    let reader = open(path, read_options)?;
    let mut profiler = Profiler::new(&reader.schema(), options);
    for batch in reader {
        let batch = batch?;
        let first_row = profiler.rows();
        profiler
            .add(&batch)
            .map_err(|(column, message)| DataError::BadValue {
                path: path.to_owned(),
                column,
                row: None,
                message: format!("{message} (in the batch starting at row {first_row})"),
            })?;
    }
    Ok(profiler.finish(path.display().to_string()))
}

/// A stored profile could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read the profile `{path}`: {message}")]
    Read { path: String, message: String },
    #[error(
        "the profile `{path}` has version {found}, this rampart reads version {PROFILE_VERSION}: save it again with --save-profile"
    )]
    Version { path: String, found: u32 },
}

/// Parses a profile written by [`TableProfile`]'s serialisation.
pub fn load_profile(path: &Path, bytes: &[u8]) -> Result<TableProfile, ProfileError> {
    let profile: TableProfile = serde_json::from_slice(bytes).map_err(|e| ProfileError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    if profile.profile_version != PROFILE_VERSION {
        return Err(ProfileError::Version {
            path: path.display().to_string(),
            found: profile.profile_version,
        });
    }
    let unsorted = profile.columns.iter().any(|column| match &column.summary {
        ColumnSummary::Numeric(n) => {
            n.sample.windows(2).any(|w| matches!(w, [a, b] if a > b))
                || n.sample.len() as u64 > n.count
        }
        ColumnSummary::Categorical(_) => false,
    });
    if unsorted {
        return Err(ProfileError::Read {
            path: path.display().to_string(),
            message: "a numeric sample is not sorted or larger than its count; the profile was edited or damaged".to_owned(),
        });
    }
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn profiles_numeric_and_categorical_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let mut file = std::fs::File::create(&path).unwrap();
        writeln!(file, "x,c,flag").unwrap();
        for i in 0..100 {
            writeln!(file, "{},{},{}", i, ["a", "b"][i % 2], i % 3 == 0).unwrap();
        }
        writeln!(file, ",,").unwrap();
        drop(file);
        let profile = profile_table(
            &path,
            &ReadOptions::default(),
            &ProfileOptions { sample_cap: 10 },
        )
        .unwrap();
        assert_eq!(profile.rows, 101);
        let x = profile.column("x").unwrap();
        assert_eq!(x.missing, 1);
        let ColumnSummary::Numeric(n) = &x.summary else {
            panic!()
        };
        assert_eq!(n.count, 100);
        assert_eq!(n.sample.len(), 10);
        assert!(n.sampled && n.distinct.is_none());
        assert!((n.mean - 49.5).abs() < 1e-12);
        assert!((n.std - 28.866_070_047_722_12).abs() < 1e-9);
        assert!(n.sample.windows(2).all(|w| w[0] <= w[1]));
        let ColumnSummary::Categorical(c) = &profile.column("c").unwrap().summary else {
            panic!()
        };
        assert_eq!(c.counts.get("a"), Some(&50));
        let ColumnSummary::Categorical(flag) = &profile.column("flag").unwrap().summary else {
            panic!()
        };
        assert_eq!(flag.counts.get("true"), Some(&34));
    }

    #[test]
    fn saved_profiles_keep_a_bounded_quantile_sketch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let mut csv = String::from("x,small\n");
        for i in 0..5000 {
            csv.push_str(&format!("{},{}\n", (i * 7919) % 5000, i % 3));
        }
        std::fs::write(&path, csv).unwrap();
        let full = profile_table(&path, &ReadOptions::default(), &ProfileOptions::default());
        let full = full.unwrap();
        let sketch = full.clone().summarised(101);
        let (ColumnSummary::Numeric(a), ColumnSummary::Numeric(b)) =
            (&full.columns[0].summary, &sketch.columns[0].summary)
        else {
            panic!()
        };
        assert_eq!((a.sample.len(), b.sample.len()), (5000, 101));
        assert!(b.quantile_sketch && !a.quantile_sketch);
        assert_eq!(
            (b.sample[0], b.sample[100], b.sample[50]),
            (0.0, 4999.0, 2499.5)
        );
        assert_eq!((a.mean, a.std, &a.psi_edges), (b.mean, b.std, &b.psi_edges));
        // Short samples are kept exactly.
        let kept = full.clone().summarised(5000);
        let ColumnSummary::Numeric(c) = &kept.columns[0].summary else {
            panic!()
        };
        assert_eq!((c.sample.len(), c.quantile_sketch), (5000, false));
        let json = serde_json::to_vec(&sketch).unwrap();
        assert!(json.len() < 10_000, "{}", json.len());
        let loaded = load_profile(&path, &json).unwrap();
        let ColumnSummary::Numeric(d) = &loaded.columns[0].summary else {
            panic!()
        };
        assert!(d.quantile_sketch && d.sample.len() == 101);
        // serde_json's default float parsing may differ from the written value in the last bit.
        assert!(
            d.sample
                .iter()
                .zip(&b.sample)
                .all(|(x, y)| (x - y).abs() < 1e-9)
        );
    }

    #[test]
    fn profile_round_trips_through_json() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, "x,y\n0.1,a\n0.2,b\n0.30000000000000004,a\n").unwrap();
        let profile =
            profile_table(&path, &ReadOptions::default(), &ProfileOptions::default()).unwrap();
        let json = serde_json::to_vec(&profile).unwrap();
        let loaded = load_profile(&path, &json).unwrap();
        let (ColumnSummary::Numeric(a), ColumnSummary::Numeric(b)) =
            (&profile.columns[0].summary, &loaded.columns[0].summary)
        else {
            panic!()
        };
        assert_eq!(a.sample, b.sample);
        assert_eq!(a.distinct, b.distinct);
        let mut bad: serde_json::Value = serde_json::from_slice(&json).unwrap();
        bad["profile_version"] = 99.into();
        let error = load_profile(&path, &serde_json::to_vec(&bad).unwrap()).unwrap_err();
        assert!(error.to_string().contains("version 99"));
    }
}
