//! Training-data poisoning and hygiene indicators on one snapshot (and, for shifts, against
//! the previous one): conflicting duplicate labels, class-conditional outliers, backdoor
//! trigger values, label shift, source share shift and schema changes. Each indicator is a
//! finding with its evidence, and every flagged row is listed so a pipeline can quarantine it.

use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;

use rampart_core::{Finding, Location, Severity};
use serde::Serialize;

use crate::profile::{ValueKind, numeric_values, text_values, value_kind};
use crate::read::{DataError, ReadOptions, open};
use crate::rules;
use crate::stats;

/// Rows a snapshot may have before it is refused: the per-row state (a 16-byte feature-row
/// hash, the label, and one column at a time) grows with the rows.
pub const DEFAULT_MAX_ROWS: usize = 20_000_000;
/// Row numbers quoted in a finding's evidence (all of them go to `--rows-out`).
const EVIDENCE_ROWS: usize = 20;
/// A robust z-score beyond which normal data essentially never goes (two-sided tail
/// about 2e-9): a handful of such rows in one class, absent from the others, is a signal even
/// when the count beyond 3.5 is within chance.
pub const EXTREME_Z: f64 = 6.0;

/// A column held in memory.
#[derive(Clone, Debug)]
pub enum Values {
    /// `NaN` marks a missing value.
    Numeric(Vec<f64>),
    /// Codes into `dictionary`; `None` marks a missing value.
    Text {
        codes: Vec<Option<u32>>,
        dictionary: Vec<String>,
    },
}

#[derive(Clone, Debug)]
pub struct LoadedColumn {
    pub name: String,
    pub data_type: String,
    pub values: Values,
}

impl LoadedColumn {
    /// The value of `row` as text (numbers without a trailing `.0`), `None` when missing.
    fn text(&self, row: usize) -> Option<String> {
        match &self.values {
            Values::Numeric(v) => v
                .get(row)
                .filter(|x| x.is_finite())
                .map(|x| format_number(*x)),
            Values::Text { codes, dictionary } => codes
                .get(row)
                .copied()
                .flatten()
                .and_then(|code| dictionary.get(code as usize).cloned()),
        }
    }
}

fn format_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

/// A whole table in memory, column by column.
#[derive(Clone, Debug)]
pub struct Table {
    pub source: String,
    pub rows: usize,
    pub columns: Vec<LoadedColumn>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&LoadedColumn> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Reads every numeric and categorical column of `path` into memory (at most `max_rows`).
pub fn load_table(path: &Path, options: &ReadOptions, max_rows: usize) -> Result<Table, DataError> {
    let reader = open(path, options)?;
    let schema = reader.schema();
    let mut columns: Vec<(usize, LoadedColumn, HashMap<String, u32>)> = schema
        .fields()
        .iter()
        .enumerate()
        .filter_map(|(index, field)| {
            let values = match value_kind(field.data_type())? {
                ValueKind::Numeric => Values::Numeric(Vec::new()),
                ValueKind::Categorical => Values::Text {
                    codes: Vec::new(),
                    dictionary: Vec::new(),
                },
            };
            Some((
                index,
                LoadedColumn {
                    name: field.name().clone(),
                    data_type: field.data_type().to_string(),
                    values,
                },
                HashMap::new(),
            ))
        })
        .collect();
    let mut rows = 0usize;
    for batch in reader {
        let batch = batch?;
        rows = rows.saturating_add(batch.num_rows());
        if rows > max_rows {
            return Err(DataError::Limit {
                path: path.to_owned(),
                message: format!(
                    "more than {max_rows} rows; check a sample or a single ingest batch"
                ),
            });
        }
        for (index, column, lookup) in &mut columns {
            let Some(array) = batch.columns().get(*index) else {
                continue;
            };
            let bad = |e: arrow::error::ArrowError| DataError::BadValue {
                path: path.to_owned(),
                column: column.name.clone(),
                row: None,
                message: e.to_string(),
            };
            match &mut column.values {
                Values::Numeric(values) => values.extend(numeric_values(array).map_err(bad)?),
                Values::Text { codes, dictionary } => {
                    for value in text_values(array).map_err(bad)? {
                        codes.push(value.map(|value| match lookup.get(&value) {
                            Some(code) => *code,
                            None => {
                                let code = u32::try_from(dictionary.len()).unwrap_or(u32::MAX);
                                lookup.insert(value.clone(), code);
                                dictionary.push(value);
                                code
                            }
                        }));
                    }
                }
            }
        }
    }
    Ok(Table {
        source: path.display().to_string(),
        rows,
        columns: columns.into_iter().map(|(_, column, _)| column).collect(),
    })
}

/// Thresholds of the indicators.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    pub label: String,
    pub source: Option<String>,
    /// Robust z-score above which a value is a class-conditional outlier.
    pub outlier_z: f64,
    /// Rows a trigger value needs at least.
    pub trigger_min_support: usize,
    /// A trigger value's share must be at least this many times a typical value's share.
    pub trigger_ratio: f64,
    /// Share of a trigger value's rows that carry its label.
    pub trigger_purity: f64,
    /// A trigger value covers at most this share of the rows.
    pub trigger_max_share: f64,
    /// Jensen–Shannon distance of label shares that is a label shift.
    pub label_shift: f64,
    /// Absolute change of a source's share that is a source shift.
    pub source_shift: f64,
}

impl CheckOptions {
    pub fn new(label: impl Into<String>) -> Self {
        CheckOptions {
            label: label.into(),
            source: None,
            outlier_z: 3.5,
            trigger_min_support: 20,
            trigger_ratio: 10.0,
            trigger_purity: 0.95,
            trigger_max_share: 0.1,
            label_shift: 0.1,
            source_shift: 0.2,
        }
    }
}

/// A row flagged by an indicator (0-based data row).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct FlaggedRow {
    pub row: u64,
    /// The indicator's rule slug, e.g. `conflicting-duplicate-labels`.
    pub indicator: &'static str,
}

#[derive(Debug, Default)]
pub struct CheckResult {
    pub findings: Vec<Finding>,
    /// Sorted by row, then indicator; one entry per row and indicator.
    pub flagged_rows: Vec<FlaggedRow>,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("`{source_file}` has no column `{column}` (its columns: {available})")]
    MissingColumn {
        source_file: String,
        column: String,
        available: String,
    },
}

fn slug(rule: &rampart_core::Rule) -> &'static str {
    rule.id.split_once('/').map_or(rule.id, |(_, slug)| slug)
}

fn rows_text(rows: &[usize]) -> String {
    let mut text: Vec<String> = rows
        .iter()
        .take(EVIDENCE_ROWS)
        .map(ToString::to_string)
        .collect();
    if rows.len() > EVIDENCE_ROWS {
        text.push(format!("… {} more", rows.len() - EVIDENCE_ROWS));
    }
    text.join(", ")
}

/// Labels of every row as codes into `names` (missing labels get their own code `None`).
struct LabelCodes {
    codes: Vec<Option<u32>>,
    names: Vec<String>,
}

fn label_codes(column: &LoadedColumn) -> LabelCodes {
    let mut lookup: HashMap<String, u32> = HashMap::new();
    let mut names = Vec::new();
    let rows = match &column.values {
        Values::Numeric(v) => v.len(),
        Values::Text { codes, .. } => codes.len(),
    };
    let codes = (0..rows)
        .map(|row| {
            column.text(row).map(|text| match lookup.get(&text) {
                Some(code) => *code,
                None => {
                    let code = u32::try_from(names.len()).unwrap_or(u32::MAX);
                    lookup.insert(text.clone(), code);
                    names.push(text);
                    code
                }
            })
        })
        .collect();
    LabelCodes { codes, names }
}

/// What one streaming pass over a table keeps: per column its type and missing count, the
/// value counts of a few named columns, and (for the current snapshot) a 128-bit hash of
/// every row's feature values — never the rows themselves.
struct TableScan {
    source: String,
    rows: usize,
    columns: Vec<ColumnInfo>,
    /// Formatted value → count, for the columns asked for (label, source).
    counts: BTreeMap<String, BTreeMap<String, usize>>,
    /// One hash per row over the feature columns (empty unless asked for).
    row_hashes: Vec<u128>,
}

struct ColumnInfo {
    name: String,
    data_type: String,
    kind: ValueKind,
    missing: usize,
}

impl ColumnInfo {
    fn kind(&self) -> &'static str {
        match self.kind {
            ValueKind::Numeric => "numeric",
            ValueKind::Categorical => "categorical",
        }
    }
}

impl TableScan {
    fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns.iter().find(|c| c.name == name)
    }

    fn missing_column(&self, name: &str) -> CheckError {
        CheckError::MissingColumn {
            source_file: self.source.clone(),
            column: name.to_owned(),
            available: self
                .columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// A column's values as text (numbers without a trailing `.0`), `None` when missing.
fn formatted_values(
    array: &arrow::array::ArrayRef,
    kind: ValueKind,
) -> Result<Vec<Option<String>>, arrow::error::ArrowError> {
    Ok(match kind {
        ValueKind::Numeric => numeric_values(array)?
            .into_iter()
            .map(|x| x.is_finite().then(|| format_number(x)))
            .collect(),
        ValueKind::Categorical => text_values(array)?,
    })
}

/// Streams `path` once. `counted` columns get value counts; with `hash_features`, every
/// column not in `counted` is a feature and each row's feature values are hashed (numbers by
/// value, so `1` and `1.0` agree, and `-0.0` is `0.0`; a missing value has its own marker).
fn scan_table(
    path: &Path,
    options: &ReadOptions,
    max_rows: usize,
    counted: &[&str],
    hash_features: bool,
) -> Result<TableScan, DataError> {
    let reader = open(path, options)?;
    let schema = reader.schema();
    let mut columns: Vec<(usize, ColumnInfo)> = schema
        .fields()
        .iter()
        .enumerate()
        .filter_map(|(index, field)| {
            Some((
                index,
                ColumnInfo {
                    name: field.name().clone(),
                    data_type: field.data_type().to_string(),
                    kind: value_kind(field.data_type())?,
                    missing: 0,
                },
            ))
        })
        .collect();
    let mut counts: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let mut row_hashes = Vec::new();
    let mut rows = 0usize;
    for batch in reader {
        let batch = batch?;
        let first_row = rows;
        rows = rows.saturating_add(batch.num_rows());
        if rows > max_rows {
            return Err(DataError::Limit {
                path: path.to_owned(),
                message: format!(
                    "more than {max_rows} rows; raise --max-rows, or check a sample or a single ingest batch"
                ),
            });
        }
        let mut hashers: Vec<[DefaultHasher; 2]> = if hash_features {
            (0..batch.num_rows()).map(|_| row_hashers()).collect()
        } else {
            Vec::new()
        };
        for (index, column) in &mut columns {
            let Some(array) = batch.columns().get(*index) else {
                continue;
            };
            let bad = |e: arrow::error::ArrowError| DataError::BadValue {
                path: path.to_owned(),
                column: column.name.clone(),
                row: None,
                message: format!("{e} (in the batch starting at row {first_row})"),
            };
            let is_counted = counted.contains(&column.name.as_str());
            if is_counted {
                let column_counts = counts.entry(column.name.clone()).or_default();
                for value in formatted_values(array, column.kind).map_err(bad)? {
                    match value {
                        Some(value) => *column_counts.entry(value).or_default() += 1,
                        None => column.missing += 1,
                    }
                }
                continue;
            }
            match column.kind {
                ValueKind::Numeric => {
                    let values = numeric_values(array).map_err(bad)?;
                    column.missing += values.iter().filter(|x| !x.is_finite()).count();
                    for (pair, value) in hashers.iter_mut().zip(&values) {
                        let key = numeric_key(*value).unwrap_or(u64::MAX);
                        pair.iter_mut().for_each(|hasher| key.hash(hasher));
                    }
                }
                ValueKind::Categorical => {
                    let values = text_values(array).map_err(bad)?;
                    column.missing += values.iter().filter(|x| x.is_none()).count();
                    for (pair, value) in hashers.iter_mut().zip(&values) {
                        pair.iter_mut().for_each(|hasher| value.hash(hasher));
                    }
                }
            }
        }
        row_hashes.extend(
            hashers
                .iter()
                .map(|[low, high]| u128::from(low.finish()) | (u128::from(high.finish()) << 64)),
        );
    }
    Ok(TableScan {
        source: path.display().to_string(),
        rows,
        columns: columns.into_iter().map(|(_, column)| column).collect(),
        counts,
        row_hashes,
    })
}

/// Two independently keyed hashers whose 64-bit outputs make one 128-bit row hash, so a
/// collision between distinct feature rows is negligible even at billions of rows.
fn row_hashers() -> [DefaultHasher; 2] {
    let mut high = DefaultHasher::new();
    0x9e37_79b9_7f4a_7c15_u64.hash(&mut high);
    [DefaultHasher::new(), high]
}

/// A finite number's identity for duplicates and trigger values (`-0.0` is `0.0`).
fn numeric_key(value: f64) -> Option<u64> {
    value
        .is_finite()
        .then(|| (if value == 0.0 { 0.0_f64 } else { value }).to_bits())
}

/// Runs every indicator on the snapshot at `current` (and the shifts against `reference`)
/// with bounded memory: one streaming pass keeps per-row only a 128-bit feature hash, then
/// the label (and source) column and each feature column are read one at a time.
pub fn check_files(
    current: &Path,
    reference: Option<&Path>,
    read_options: &ReadOptions,
    max_rows: usize,
    options: &CheckOptions,
) -> Result<CheckResult, CheckError> {
    let mut counted = vec![options.label.as_str()];
    counted.extend(options.source.as_deref());
    let (scan, reference) = rayon::join(
        || scan_table(current, read_options, max_rows, &counted, true),
        || {
            reference
                .map(|path| scan_table(path, read_options, max_rows, &counted, false))
                .transpose()
        },
    );
    let (scan, reference) = (scan?, reference?);
    for name in &counted {
        if scan.column(name).is_none() {
            return Err(scan.missing_column(name));
        }
    }
    let load = |names: Vec<String>| {
        let projected = ReadOptions {
            columns: Some(names),
            ..read_options.clone()
        };
        load_table(current, &projected, max_rows)
    };
    let keys = load(counted.iter().map(|name| (*name).to_owned()).collect())?;
    let labels = keys
        .column(&options.label)
        .map(label_codes)
        .unwrap_or(LabelCodes {
            codes: Vec::new(),
            names: Vec::new(),
        });
    let file = Location::file(&scan.source);
    let mut result = CheckResult::default();
    let has_features = scan
        .columns
        .iter()
        .any(|c| !counted.contains(&c.name.as_str()));
    if has_features {
        conflicting_duplicates(&scan.row_hashes, &labels, &file, &mut result);
    }
    let label_totals = label_totals(&labels);
    let mut outliers = CheckResult::default();
    let mut triggers = CheckResult::default();
    for feature in scan
        .columns
        .iter()
        .filter(|c| !counted.contains(&c.name.as_str()))
    {
        let table = load(vec![feature.name.clone()])?;
        let Some(column) = table.columns.first() else {
            continue;
        };
        class_conditional_outliers(column, &labels, options, &file, &mut outliers);
        trigger_values(
            column,
            &labels,
            &label_totals,
            options,
            &file,
            &mut triggers,
        );
    }
    // Findings in the order of the indicators, as a whole-table pass would list them.
    for part in [outliers, triggers] {
        result.findings.extend(part.findings);
        result.flagged_rows.extend(part.flagged_rows);
    }
    if let Some(reference) = &reference {
        for name in &counted {
            if reference.column(name).is_none() {
                return Err(reference.missing_column(name));
            }
        }
        label_shift(&scan, reference, options, &file, &mut result);
        if let Some((source, rows)) = options
            .source
            .as_deref()
            .and_then(|source| Some((source, keys.column(source)?)))
        {
            source_shift(&scan, reference, source, rows, options, &file, &mut result);
        }
        schema_changes(&scan, reference, &file, &mut result);
    }
    result.flagged_rows.sort();
    result.flagged_rows.dedup();
    Ok(result)
}

fn flag(result: &mut CheckResult, rows: &[usize], rule: &'static rampart_core::Rule) {
    let indicator = slug(rule);
    result
        .flagged_rows
        .extend(rows.iter().map(|row| FlaggedRow {
            row: *row as u64,
            indicator,
        }));
}

/// `hashes` are the rows' feature hashes, empty when the table has no feature columns.
fn conflicting_duplicates(
    hashes: &[u128],
    labels: &LabelCodes,
    file: &Location,
    result: &mut CheckResult,
) {
    // Rows ordered by hash: identical feature rows are adjacent, and the only extra memory
    // is one index per row (a hash map of every row would be several times larger).
    let hash_of = |row: &usize| hashes.get(*row).copied().unwrap_or_default();
    let label_of = |row: &usize| labels.codes.get(*row).copied().flatten();
    let mut order: Vec<usize> = (0..hashes.len()).collect();
    order.sort_unstable_by_key(hash_of);
    let mut conflicting: BTreeMap<u128, Vec<usize>> = BTreeMap::new();
    for group in order.chunk_by(|a, b| hash_of(a) == hash_of(b)) {
        let Some(first) = group.first() else {
            continue;
        };
        if group.iter().any(|row| label_of(row) != label_of(first)) {
            let mut rows = group.to_vec();
            rows.sort_unstable();
            conflicting.insert(hash_of(first), rows);
        }
    }
    drop(order);
    if conflicting.is_empty() {
        return;
    }
    let mut rows: Vec<usize> = conflicting.values().flatten().copied().collect();
    rows.sort_unstable();
    let label_name = |row: usize| {
        labels
            .codes
            .get(row)
            .copied()
            .flatten()
            .and_then(|c| labels.names.get(c as usize).cloned())
            .unwrap_or_else(|| "(missing)".to_owned())
    };
    let mut groups_text: Vec<(usize, String)> = conflicting
        .values()
        .map(|group| {
            let members: Vec<String> = group
                .iter()
                .take(6)
                .map(|row| format!("{row}→{}", label_name(*row)))
                .collect();
            (
                group.first().copied().unwrap_or(0),
                format!("[{}]", members.join(" ")),
            )
        })
        .collect();
    groups_text.sort();
    let shown: Vec<String> = groups_text.into_iter().take(10).map(|(_, g)| g).collect();
    result.findings.push(
        Finding::new(
            &rules::CONFLICTING_DUPLICATE_LABELS,
            file.clone(),
            format!(
                "{} groups of identical feature rows ({} rows) carry different labels",
                conflicting.len(),
                rows.len()
            ),
        )
        .with_evidence(format!(
            "groups (row→label): {}; rows: {}",
            shown.join(" "),
            rows_text(&rows)
        )),
    );
    flag(result, &rows, &rules::CONFLICTING_DUPLICATE_LABELS);
}

/// The count a Poisson variable with mean `expected` stays below except with a tiny
/// probability (about four standard deviations, plus slack for small means).
fn chance_bound(expected: f64) -> f64 {
    expected + 4.0 * expected.sqrt() + 3.0
}

fn class_conditional_outliers(
    column: &LoadedColumn,
    labels: &LabelCodes,
    options: &CheckOptions,
    file: &Location,
    result: &mut CheckResult,
) {
    let extreme_z = EXTREME_Z.max(options.outlier_z);
    let normal_rate = stats::normal_two_sided_tail(options.outlier_z);
    let extreme_rate = stats::normal_two_sided_tail(extreme_z);
    let Values::Numeric(values) = &column.values else {
        return;
    };
    let mut by_class: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (row, value) in values.iter().enumerate() {
        if let (true, Some(label)) = (value.is_finite(), labels.codes.get(row).copied().flatten()) {
            by_class.entry(label).or_default().push(row);
        }
    }
    // Each row's |z| within its own class.
    let mut classes: Vec<ClassScores> = Vec::new();
    for (label, rows) in by_class {
        let class_values: Vec<f64> = rows
            .iter()
            .filter_map(|r| values.get(*r).copied())
            .collect();
        let Some((center, mad)) = stats::median_and_mad(&class_values) else {
            continue;
        };
        // A column constant within the class has no scale to measure distance by.
        if mad <= 0.0 {
            continue;
        }
        let scores = class_values
            .iter()
            .map(|v| stats::robust_z(*v, center, mad).abs())
            .collect();
        classes.push(ClassScores {
            label,
            rows,
            scores,
        });
    }
    let total_rows: usize = classes.iter().map(|c| c.rows.len()).sum();
    let total_outliers: usize = classes.iter().map(|c| c.beyond(options.outlier_z)).sum();
    let total_extreme: usize = classes.iter().map(|c| c.beyond(extreme_z)).sum();
    for (index, class) in classes.iter().enumerate() {
        let outliers = class.beyond(options.outlier_z);
        if outliers == 0 {
            continue;
        }
        let class_rows = class.rows.len();
        let other_rows = total_rows.saturating_sub(class_rows);
        // More than chance under a normal model AND more than the other classes show
        // (so a heavy-tailed column does not alarm in every class).
        let beyond_chance = |count: usize, total: usize, normal: f64| {
            let other_rate = if other_rows > 0 {
                total.saturating_sub(count) as f64 / other_rows as f64
            } else {
                0.0
            };
            let count = count as f64;
            count > chance_bound(class_rows as f64 * normal)
                && (other_rows == 0 || count > chance_bound(class_rows as f64 * other_rate))
        };
        let extreme = class.beyond(extreme_z);
        let elevated = beyond_chance(outliers, total_outliers, normal_rate)
            || beyond_chance(extreme, total_extreme, extreme_rate);
        // The rows to quarantine are those further out than the other classes' natural
        // tail (their 99.99th |z| percentile): what only this class has.
        let raised_rows: Vec<usize> = if elevated {
            let mut other: Vec<f64> = classes
                .iter()
                .enumerate()
                .filter(|(other, _)| *other != index)
                .flat_map(|(_, c)| c.scores.iter().copied())
                .collect();
            other.sort_unstable_by(f64::total_cmp);
            let cut = stats::quantile(&other, 0.9999)
                .unwrap_or(0.0)
                .max(options.outlier_z);
            class.rows_beyond(cut)
        } else {
            Vec::new()
        };
        let expected = class_rows as f64 * normal_rate;
        let class_name = labels
            .names
            .get(class.label as usize)
            .cloned()
            .unwrap_or_default();
        let severity = if raised_rows.is_empty() {
            Severity::Info
        } else {
            Severity::Medium
        };
        let listed = if raised_rows.is_empty() {
            class.rows_beyond(options.outlier_z)
        } else {
            raised_rows.clone()
        };
        result.findings.push(
            Finding::new(
                &rules::CLASS_CONDITIONAL_OUTLIER,
                file.with_resource(format!("column {}", column.name)),
                format!(
                    "{outliers} rows of class `{class_name}` have `{}` values with a robust z-score above {} ({extreme} above {extreme_z}; {expected:.1} expected by chance){}",
                    column.name,
                    options.outlier_z,
                    if raised_rows.is_empty() {
                        ": within chance or the other classes' natural tail, rows not flagged"
                    } else {
                        ""
                    }
                ),
            )
            .with_severity(severity)
            .with_evidence(format!(
                "class={class_name} rows_in_class={class_rows} outliers={outliers} extreme={extreme} flagged={}; rows: {}",
                raised_rows.len(),
                rows_text(&listed)
            )),
        );
        flag(result, &raised_rows, &rules::CLASS_CONDITIONAL_OUTLIER);
    }
}

/// One class's rows in a column and their |robust z| (aligned).
struct ClassScores {
    label: u32,
    rows: Vec<usize>,
    scores: Vec<f64>,
}

impl ClassScores {
    fn beyond(&self, z: f64) -> usize {
        self.scores.iter().filter(|s| **s > z).count()
    }

    fn rows_beyond(&self, z: f64) -> Vec<usize> {
        self.rows
            .iter()
            .zip(&self.scores)
            .filter(|(_, s)| **s > z)
            .map(|(row, _)| *row)
            .collect()
    }
}

/// Rows per label code.
fn label_totals(labels: &LabelCodes) -> HashMap<u32, usize> {
    let mut totals: HashMap<u32, usize> = HashMap::new();
    for label in labels.codes.iter().flatten() {
        *totals.entry(*label).or_default() += 1;
    }
    totals
}

fn trigger_values(
    column: &LoadedColumn,
    labels: &LabelCodes,
    label_totals: &HashMap<u32, usize>,
    options: &CheckOptions,
    file: &Location,
    result: &mut CheckResult,
) {
    let labelled: usize = label_totals.values().sum();
    if labelled == 0 {
        return;
    }
    let rows = labels.codes.len();
    let key = |row: usize| -> Option<u64> {
        match &column.values {
            Values::Numeric(v) => v.get(row).copied().and_then(numeric_key),
            Values::Text { codes, .. } => codes.get(row).copied().flatten().map(u64::from),
        }
    };
    // Count first; rows are gathered only for the few values that qualify.
    let mut counts: HashMap<u64, usize> = HashMap::new();
    for row in 0..rows {
        if let Some(key) = key(row) {
            *counts.entry(key).or_default() += 1;
        }
    }
    let present: usize = counts.values().sum();
    if present == 0 || counts.len() < 2 {
        return;
    }
    let typical = 1.0 / counts.len() as f64;
    let mut by_value: HashMap<u64, Vec<usize>> = counts
        .iter()
        .filter(|(_, count)| {
            let share = **count as f64 / present as f64;
            **count >= options.trigger_min_support
                && share >= options.trigger_ratio * typical
                && share <= options.trigger_max_share
        })
        .map(|(key, count)| (*key, Vec::with_capacity(*count)))
        .collect();
    if by_value.is_empty() {
        return;
    }
    for row in 0..rows {
        if let Some(list) = key(row).and_then(|key| by_value.get_mut(&key)) {
            list.push(row);
        }
    }
    let by_value_len = counts.len();
    let typical_share = 1.0 / by_value_len as f64;
    let mut candidates: Vec<&Vec<usize>> = by_value.values().collect();
    candidates.sort();
    for value_rows in candidates {
        let share = value_rows.len() as f64 / present as f64;
        if value_rows.len() < options.trigger_min_support
            || share < options.trigger_ratio * typical_share
            || share > options.trigger_max_share
        {
            continue;
        }
        let mut counts: HashMap<u32, usize> = HashMap::new();
        for row in value_rows {
            if let Some(label) = labels.codes.get(*row).copied().flatten() {
                *counts.entry(label).or_default() += 1;
            }
        }
        let Some((label, count)) = counts
            .into_iter()
            .max_by_key(|(label, count)| (*count, std::cmp::Reverse(*label)))
        else {
            continue;
        };
        let purity = count as f64 / value_rows.len() as f64;
        let base_rate = label_totals.get(&label).copied().unwrap_or(0) as f64 / labelled as f64;
        // Tied to one label, and that label is not simply the majority everywhere.
        if purity < options.trigger_purity || base_rate > purity - 0.25 {
            continue;
        }
        let first = value_rows.first().copied().unwrap_or(0);
        let value = column.text(first).unwrap_or_default();
        let label_name = labels
            .names
            .get(label as usize)
            .cloned()
            .unwrap_or_default();
        result.findings.push(
            Finding::new(
                &rules::BACKDOOR_TRIGGER_VALUE,
                file.with_resource(format!("column {}", column.name)),
                format!(
                    "value `{value}` of `{}` occurs in {} rows ({:.2} %, {:.0}× a typical value) and {:.1} % of them are labelled `{label_name}` (overall {:.1} %)",
                    column.name,
                    value_rows.len(),
                    share * 100.0,
                    share / typical_share,
                    purity * 100.0,
                    base_rate * 100.0
                ),
            )
            .with_evidence(format!(
                "column={} value={value} rows={} label={label_name} purity={purity:.3}; rows: {}",
                column.name,
                value_rows.len(),
                rows_text(value_rows)
            )),
        );
        flag(result, value_rows, &rules::BACKDOOR_TRIGGER_VALUE);
    }
}

/// Shares of each text value of a counted column (numbers formatted), missing values left
/// out.
fn shares(table: &TableScan, column: &str) -> BTreeMap<String, f64> {
    let Some(counts) = table.counts.get(column) else {
        return BTreeMap::new();
    };
    let total: usize = counts.values().sum();
    counts
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                if total == 0 {
                    0.0
                } else {
                    *v as f64 / total as f64
                },
            )
        })
        .collect()
}

fn aligned(
    a: &BTreeMap<String, f64>,
    b: &BTreeMap<String, f64>,
) -> (Vec<String>, Vec<f64>, Vec<f64>) {
    let mut keys: Vec<String> = a.keys().chain(b.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    let left = keys
        .iter()
        .map(|k| a.get(k).copied().unwrap_or(0.0))
        .collect();
    let right = keys
        .iter()
        .map(|k| b.get(k).copied().unwrap_or(0.0))
        .collect();
    (keys, left, right)
}

fn label_shift(
    current: &TableScan,
    reference: &TableScan,
    options: &CheckOptions,
    file: &Location,
    result: &mut CheckResult,
) {
    let now = shares(current, &options.label);
    let before = shares(reference, &options.label);
    let (keys, previous, latest) = aligned(&before, &now);
    let distance = stats::jensen_shannon(&stats::smoothed(&previous), &stats::smoothed(&latest));
    let appeared_or_vanished = previous
        .iter()
        .zip(&latest)
        .any(|(p, c)| (*p == 0.0) != (*c == 0.0));
    if distance < options.label_shift && !appeared_or_vanished {
        return;
    }
    let deltas: Vec<String> = keys
        .iter()
        .zip(previous.iter().zip(&latest))
        .map(|(k, (p, c))| {
            format!(
                "{k}: {:.1} % → {:.1} % ({:+.1} pp)",
                p * 100.0,
                c * 100.0,
                (c - p) * 100.0
            )
        })
        .collect();
    result.findings.push(
        Finding::new(
            &rules::LABEL_SHIFT,
            file.with_resource(format!("column {}", options.label)),
            format!(
                "the label distribution of `{}` shifted against `{}` (Jensen-Shannon distance {distance:.3}{})",
                options.label,
                reference.source,
                if appeared_or_vanished { "; a class appeared or vanished" } else { "" }
            ),
        )
        .with_evidence(deltas.join("; ")),
    );
}

/// `source_rows` is the current snapshot's source column, to list the rows of a new source.
fn source_shift(
    current: &TableScan,
    reference: &TableScan,
    source: &str,
    source_rows: &LoadedColumn,
    options: &CheckOptions,
    file: &Location,
    result: &mut CheckResult,
) {
    let now = shares(current, source);
    let before = shares(reference, source);
    let (keys, previous, latest) = aligned(&before, &now);
    for (key, (p, c)) in keys.iter().zip(previous.iter().zip(&latest)) {
        let new_source = *p == 0.0 && *c >= options.source_shift / 2.0;
        if (c - p).abs() < options.source_shift && !new_source {
            continue;
        }
        let mut finding = Finding::new(
            &rules::SOURCE_SHARE_SHIFT,
            file.with_resource(format!("column {source}")),
            format!(
                "source `{key}` makes up {:.1} % of the rows, {:.1} % in `{}`{}",
                c * 100.0,
                p * 100.0,
                reference.source,
                if new_source { " (a new source)" } else { "" }
            ),
        );
        // The rows of a new source are the candidates to quarantine; for a source that only
        // grew, its old and new rows cannot be told apart.
        if new_source {
            let rows: Vec<usize> = (0..current.rows)
                .filter(|row| source_rows.text(*row).as_deref() == Some(key.as_str()))
                .collect();
            finding = finding.with_evidence(format!("source={key}; rows: {}", rows_text(&rows)));
            flag(result, &rows, &rules::SOURCE_SHARE_SHIFT);
        } else {
            finding = finding.with_evidence(format!("source={key} share {p:.4} → {c:.4}"));
        }
        result.findings.push(finding);
    }
}

fn schema_changes(
    current: &TableScan,
    reference: &TableScan,
    file: &Location,
    result: &mut CheckResult,
) {
    let mut push = |column: &str, message: String| {
        result.findings.push(
            Finding::new(
                &rules::SCHEMA_CHANGE,
                file.with_resource(format!("column {column}")),
                message,
            )
            .with_evidence(format!("reference={}", reference.source)),
        );
    };
    for column in &current.columns {
        match reference.column(&column.name) {
            None => push(
                &column.name,
                format!("column `{}` ({}) is new", column.name, column.data_type),
            ),
            Some(before) if before.kind() != column.kind() => push(
                &column.name,
                format!(
                    "column `{}` changed type: {} ({}) before, {} ({}) now",
                    column.name,
                    before.kind(),
                    before.data_type,
                    column.kind(),
                    column.data_type
                ),
            ),
            Some(before) => {
                let rate = |c: &ColumnInfo, rows: usize| {
                    if rows == 0 {
                        0.0
                    } else {
                        c.missing as f64 / rows as f64
                    }
                };
                let (was, now) = (rate(before, reference.rows), rate(column, current.rows));
                if now - was >= crate::drift::NULL_RATE_JUMP {
                    push(
                        &column.name,
                        format!(
                            "missing values of `{}` rose from {:.1} % to {:.1} %",
                            column.name,
                            was * 100.0,
                            now * 100.0
                        ),
                    );
                }
            }
        }
    }
    for column in &reference.columns {
        if current.column(&column.name).is_none() {
            push(&column.name, format!("column `{}` is missing", column.name));
        }
    }
}

/// `row,indicator` lines with a header, for `--rows-out`.
pub fn rows_csv(rows: &[FlaggedRow]) -> String {
    let mut out = String::with_capacity(16 + rows.len() * 32);
    out.push_str("row,indicator\n");
    for row in rows {
        out.push_str(&row.row.to_string());
        out.push(',');
        out.push_str(row.indicator);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::Rng;
    use std::fmt::Write as _;

    struct Scenario {
        _dir: tempfile::TempDir,
        path: std::path::PathBuf,
        duplicates: Vec<usize>,
        outliers: Vec<usize>,
        triggers: Vec<usize>,
    }

    /// Two classes (30 % positive) with class-dependent features, plus injected conflicting
    /// duplicates, class-conditional outliers and a trigger value.
    fn scenario(rows: usize, seed: u64) -> Scenario {
        let mut rng = Rng::new(seed);
        let mut lines: Vec<(f64, f64, f64, f64, String, u8)> = (0..rows)
            .map(|_| {
                let label = u8::from(rng.uniform() < 0.3);
                let shift = f64::from(label) * 3.0;
                let x1 = rng.normal(shift, 1.0);
                let x2 = rng.normal(-shift, 2.0);
                let amount = (rng.normal(3.0, 1.0).exp() * 100.0).round() / 100.0;
                let age = (18.0 + rng.uniform() * 60.0).floor();
                let region = format!("r{}", (rng.uniform() * 10.0).floor());
                (x1, x2, amount, age, region, label)
            })
            .collect();
        let mut duplicates = Vec::new();
        for i in 0..10 {
            let original = i * 97;
            let mut copy = lines[original].clone();
            copy.5 = 1 - copy.5;
            duplicates.push(original);
            duplicates.push(lines.len());
            lines.push(copy);
        }
        let mut outliers = Vec::new();
        for i in 0..15 {
            let row = 1000 + i * 13;
            if lines[row].5 == 0 {
                lines[row].0 = 9.0 + rng.uniform();
                outliers.push(row);
            }
        }
        let mut triggers = Vec::new();
        for i in 0..60 {
            let row = 5000 + i * 7;
            lines[row].2 = 777.0;
            lines[row].5 = 1;
            triggers.push(row);
        }
        let mut csv = String::from("x1,x2,amount,age,region,label\n");
        for (x1, x2, amount, age, region, label) in &lines {
            let _ = writeln!(csv, "{x1},{x2},{amount},{age},{region},{label}");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("train.csv");
        std::fs::write(&path, csv).unwrap();
        duplicates.sort_unstable();
        Scenario {
            _dir: dir,
            path,
            duplicates,
            outliers,
            triggers,
        }
    }

    fn check_path(current: &Path, reference: Option<&Path>, options: &CheckOptions) -> CheckResult {
        check_files(
            current,
            reference,
            &ReadOptions::default(),
            DEFAULT_MAX_ROWS,
            options,
        )
        .unwrap()
    }

    fn flagged(result: &CheckResult, indicator: &str) -> Vec<usize> {
        result
            .flagged_rows
            .iter()
            .filter(|f| f.indicator == indicator)
            .map(|f| f.row as usize)
            .collect()
    }

    #[test]
    fn every_injected_row_is_flagged_with_few_false_flags() {
        let rows = 20_000;
        let scenario = scenario(rows, 7);
        let result = check_path(&scenario.path, None, &CheckOptions::new("label"));

        assert_eq!(
            flagged(&result, "conflicting-duplicate-labels"),
            scenario.duplicates
        );
        assert_eq!(
            flagged(&result, "backdoor-trigger-value"),
            scenario.triggers
        );
        let outliers = flagged(&result, "class-conditional-outlier");
        for row in &scenario.outliers {
            assert!(outliers.contains(row), "planted outlier {row} not flagged");
        }
        // Chance flags: 4 numeric columns × 2 classes at ~0.047 % under normality; the
        // log-normal `amount` has more. Bound: 1 % of the rows.
        let false_flags = outliers
            .iter()
            .filter(|r| !scenario.outliers.contains(r) && !scenario.triggers.contains(r))
            .count();
        assert!(
            false_flags < rows / 200,
            "{false_flags} false outlier flags: {:#?}",
            result
                .findings
                .iter()
                .filter(|f| f.severity > Severity::Info)
                .map(|f| &f.message)
                .collect::<Vec<_>>()
        );
        // Raised above info: the planted column, and the trigger value (777 is also far
        // outside its class), never the untouched columns.
        let raised: Vec<&str> = result
            .findings
            .iter()
            .filter(|f| {
                f.rule.id == "data/class-conditional-outlier" && f.severity > Severity::Info
            })
            .map(|f| f.location.resource.as_deref().unwrap_or(""))
            .collect();
        assert!(raised.contains(&"column x1"), "{raised:?}");
        assert!(
            raised
                .iter()
                .all(|r| *r == "column x1" || *r == "column amount"),
            "{:#?}",
            result.findings
        );
    }

    #[test]
    fn clean_data_has_no_duplicate_or_trigger_findings() {
        let mut rng = Rng::new(3);
        let mut csv = String::from("a,b,label\n");
        for _ in 0..5000 {
            let label = u8::from(rng.uniform() < 0.5);
            let _ = writeln!(
                csv,
                "{},{},{label}",
                rng.normal(0.0, 1.0),
                (rng.uniform() * 50.0).floor()
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clean.csv");
        std::fs::write(&path, csv).unwrap();
        let result = check_path(&path, Some(&path), &CheckOptions::new("label"));
        assert!(
            result.findings.iter().all(|f| f.severity == Severity::Info),
            "{:#?}",
            result.findings
        );
    }

    #[test]
    fn shifts_and_schema_changes_against_the_reference() {
        let dir = tempfile::tempdir().unwrap();
        let before = dir.path().join("before.csv");
        let after = dir.path().join("after.csv");
        let mut old = String::from("x,gone,label,source\n");
        let mut new = String::from("x,added,label,source\n");
        for i in 0..1000 {
            let _ = writeln!(old, "{i},1,{},{}", i % 2, ["s1", "s2"][i % 2]);
            let label = u8::from(i % 10 != 0);
            let source = if i < 400 { "s3" } else { ["s1", "s2"][i % 2] };
            let x = if i % 3 == 0 {
                String::new()
            } else {
                i.to_string()
            };
            let _ = writeln!(new, "{x},1,{label},{source}");
        }
        std::fs::write(&before, old).unwrap();
        std::fs::write(&after, new).unwrap();
        let mut options = CheckOptions::new("label");
        options.source = Some("source".into());
        let result = check_path(&after, Some(&before), &options);
        let ids: Vec<&str> = result.findings.iter().map(|f| f.rule.id).collect();
        assert!(ids.contains(&"data/label-shift"), "{ids:?}");
        assert!(ids.contains(&"data/source-share-shift"), "{ids:?}");
        let schema: Vec<&str> = result
            .findings
            .iter()
            .filter(|f| f.rule.id == "data/schema-change")
            .map(|f| f.message.as_str())
            .collect();
        assert!(
            schema
                .iter()
                .any(|m| m.contains("`added`") && m.contains("new")),
            "{schema:?}"
        );
        assert!(
            schema
                .iter()
                .any(|m| m.contains("`gone`") && m.contains("missing")),
            "{schema:?}"
        );
        assert!(
            schema.iter().any(|m| m.contains("missing values of `x`")),
            "{schema:?}"
        );
        assert_eq!(
            flagged(&result, "source-share-shift"),
            (0..400).collect::<Vec<_>>()
        );
        let options = CheckOptions::new("nope");
        let error = check_files(&after, None, &ReadOptions::default(), 2000, &options);
        assert!(error.unwrap_err().to_string().contains("no column `nope`"));
        let mut options = CheckOptions::new("label");
        options.source = Some("batch".into());
        let error = check_files(
            &after,
            Some(&before),
            &ReadOptions::default(),
            2000,
            &options,
        );
        assert!(error.unwrap_err().to_string().contains("no column `batch`"));
        let error = check_files(&after, None, &ReadOptions::default(), 999, &options);
        assert!(
            error
                .unwrap_err()
                .to_string()
                .contains("more than 999 rows")
        );
        let sample = [FlaggedRow {
            row: 3,
            indicator: "source-share-shift",
        }];
        assert_eq!(rows_csv(&sample), "row,indicator\n3,source-share-shift\n");
    }
}
