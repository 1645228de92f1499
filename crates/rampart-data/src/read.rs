//! Opening a table file (CSV/TSV, Parquet, JSON Lines, Arrow IPC file or stream) as a stream
//! of Arrow record batches, with column projection and a schema override.
//!
//! The format is recognised from the content (Parquet `PAR1`, Arrow `ARROW1`, an IPC stream's
//! continuation marker, a leading `{` for JSON Lines) before the extension. Memory stays
//! bounded by the batch size: nothing here reads a whole file.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Float64Type, Schema, SchemaRef};
use arrow::error::ArrowError;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// Rows per record batch unless [`ReadOptions::batch_size`] says otherwise.
pub const DEFAULT_BATCH_SIZE: usize = 65_536;
/// CSV and JSON Lines rows looked at to infer column types.
pub const DEFAULT_INFER_ROWS: usize = 10_000;
/// The most cells [`read_f64_matrix`] materialises (800 MB of `f64`).
pub const MAX_MATRIX_CELLS: usize = 100_000_000;

/// Why a table could not be read. Every variant names the file; value errors also name the
/// column and the row.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot open `{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read `{path}` as {format}: {message}")]
    Malformed {
        path: PathBuf,
        format: &'static str,
        message: String,
    },
    #[error("`{path}` has no column `{column}` (its columns: {available})")]
    MissingColumn {
        path: PathBuf,
        column: String,
        available: String,
    },
    #[error("`{path}`, column `{column}`{}: {message}", row.map(|row| format!(", row {row}")).unwrap_or_default())]
    BadValue {
        path: PathBuf,
        column: String,
        /// 0-based data row, when known.
        row: Option<u64>,
        message: String,
    },
    #[error(
        "invalid schema override `{0}`: expected COLUMN=TYPE[,COLUMN=TYPE…] with TYPE one of int, float, string, bool"
    )]
    Schema(String),
    #[error("`{path}`: {message}")]
    Limit { path: PathBuf, message: String },
}

/// A column type the user can force with `--schema col=type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    Int,
    Float,
    String,
    Bool,
}

impl ColumnType {
    fn data_type(self) -> DataType {
        match self {
            ColumnType::Int => DataType::Int64,
            ColumnType::Float => DataType::Float64,
            ColumnType::String => DataType::Utf8,
            ColumnType::Bool => DataType::Boolean,
        }
    }
}

/// Parses `col=type,col=type` (types: int, float, string/str/category, bool).
pub fn parse_schema_overrides(spec: &str) -> Result<Vec<(String, ColumnType)>, DataError> {
    spec.split(',')
        .filter(|entry| !entry.trim().is_empty())
        .map(|entry| {
            let (column, kind) = entry
                .split_once('=')
                .ok_or_else(|| DataError::Schema(entry.to_owned()))?;
            let kind = match kind.trim().to_ascii_lowercase().as_str() {
                "int" | "integer" | "int64" => ColumnType::Int,
                "float" | "double" | "float64" | "number" => ColumnType::Float,
                "string" | "str" | "text" | "category" | "categorical" => ColumnType::String,
                "bool" | "boolean" => ColumnType::Bool,
                _ => return Err(DataError::Schema(entry.to_owned())),
            };
            Ok((column.trim().to_owned(), kind))
        })
        .collect()
}

/// How to read a table.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// Only these columns (all when `None`); a name the file lacks is an error.
    pub columns: Option<Vec<String>>,
    /// Forced column types; CSV and JSON Lines parse with them, Parquet and IPC cast.
    pub schema: Vec<(String, ColumnType)>,
    /// Rows per batch; 0 means [`DEFAULT_BATCH_SIZE`].
    pub batch_size: usize,
    /// Rows used to infer CSV / JSON Lines types; 0 means [`DEFAULT_INFER_ROWS`].
    pub infer_rows: usize,
}

/// A recognised table format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Comma- or tab-separated values with a header row.
    Csv {
        delimiter: u8,
    },
    Parquet,
    ArrowFile,
    ArrowStream,
    JsonLines,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv { delimiter: b'\t' } => "TSV",
            Format::Csv { .. } => "CSV",
            Format::Parquet => "Parquet",
            Format::ArrowFile => "Arrow IPC file",
            Format::ArrowStream => "Arrow IPC stream",
            Format::JsonLines => "JSON Lines",
        }
    }
}

/// Recognises the format from the first bytes and, for text, the extension.
pub fn detect_format(path: &Path, head: &[u8]) -> Format {
    if head.starts_with(b"PAR1") {
        return Format::Parquet;
    }
    if head.starts_with(b"ARROW1") {
        return Format::ArrowFile;
    }
    if head.starts_with(&[0xff, 0xff, 0xff, 0xff]) {
        return Format::ArrowStream;
    }
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let first_text_byte = head
        .iter()
        .copied()
        .find(|b| !(matches!(b, 0xef | 0xbb | 0xbf) || b.is_ascii_whitespace()));
    if matches!(extension.as_str(), "jsonl" | "ndjson") || first_text_byte == Some(b'{') {
        return Format::JsonLines;
    }
    let delimiter = if extension == "tsv" || extension == "tab" {
        b'\t'
    } else {
        b','
    };
    Format::Csv { delimiter }
}

type BatchIter = Box<dyn Iterator<Item = Result<RecordBatch, ArrowError>> + Send>;

/// A stream of record batches from one file. Iterating yields each batch with the projected
/// columns (in file order) and the overridden types; a reader error ends the stream.
pub struct TableReader {
    path: PathBuf,
    format: Format,
    schema: SchemaRef,
    /// Per output column: the type to cast to after reading (Parquet/IPC overrides).
    casts: Vec<Option<DataType>>,
    batches: BatchIter,
    rows_read: u64,
    finished: bool,
}

impl std::fmt::Debug for TableReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableReader")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("schema", &self.schema)
            .field("rows_read", &self.rows_read)
            .finish_non_exhaustive()
    }
}

impl TableReader {
    /// The schema of the batches this reader yields.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Data rows yielded so far.
    pub fn rows_read(&self) -> u64 {
        self.rows_read
    }

    fn convert(&self, batch: RecordBatch) -> Result<RecordBatch, DataError> {
        if self.casts.iter().all(Option::is_none) {
            return Ok(batch);
        }
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
        for (index, column) in batch.columns().iter().enumerate() {
            match self.casts.get(index).cloned().flatten() {
                Some(target) => {
                    let name = self.schema.field(index).name().clone();
                    let converted = cast(column, &target).map_err(|e| self.bad_value(&name, e))?;
                    if converted.null_count() > column.null_count() {
                        return Err(self.bad_value(
                            &name,
                            format!("some values are not {target}; fix the --schema override"),
                        ));
                    }
                    columns.push(converted);
                }
                None => columns.push(column.clone()),
            }
        }
        RecordBatch::try_new(self.schema.clone(), columns).map_err(|e| self.malformed(e))
    }

    fn bad_value(&self, column: &str, message: impl ToString) -> DataError {
        DataError::BadValue {
            path: self.path.clone(),
            column: column.to_owned(),
            row: None,
            message: format!(
                "{} (in the batch starting at row {})",
                message.to_string(),
                self.rows_read
            ),
        }
    }

    fn malformed(&self, message: impl ToString) -> DataError {
        DataError::Malformed {
            path: self.path.clone(),
            format: self.format.name(),
            message: name_csv_column(&message.to_string(), &self.schema),
        }
    }
}

impl Iterator for TableReader {
    type Item = Result<RecordBatch, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        // The Parquet and IPC decoders are third-party code fed with untrusted bytes: a panic
        // in them is a malformed file, not a crash.
        let next = catch_unwind(AssertUnwindSafe(|| self.batches.next()));
        let result = match next {
            Ok(None) => {
                self.finished = true;
                return None;
            }
            Ok(Some(Ok(batch))) => self.convert(batch),
            Ok(Some(Err(error))) if self.format == Format::JsonLines => {
                Err(
                    json_lines_error(&self.path, Some(&self.schema), self.rows_read)
                        .unwrap_or_else(|| self.malformed(error)),
                )
            }
            Ok(Some(Err(error))) => Err(self.malformed(error)),
            Err(_) => Err(self.malformed("the decoder failed on malformed content")),
        };
        match &result {
            Ok(batch) => {
                self.rows_read = self.rows_read.saturating_add(batch.num_rows() as u64);
            }
            Err(_) => self.finished = true,
        }
        Some(result)
    }
}

/// Arrow's CSV errors cite `column 3 at line 7`; users think in column names.
fn name_csv_column(message: &str, schema: &Schema) -> String {
    let Some(at) = message.find("for column ") else {
        return message.to_owned();
    };
    let rest = &message[at + "for column ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let Some(field) = digits
        .parse::<usize>()
        .ok()
        .and_then(|index| schema.fields().get(index))
    else {
        return message.to_owned();
    };
    format!(
        "{}for column `{}`{}",
        &message[..at],
        field.name(),
        &rest[digits.len()..]
    )
}

/// Opens `path` for streaming. Errors name the file and, where it applies, the column.
pub fn open(path: &Path, options: &ReadOptions) -> Result<TableReader, DataError> {
    let io_error = |source| DataError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(io_error)?;
    let mut head = [0u8; 64];
    let head_len = read_head(&mut file, &mut head).map_err(io_error)?;
    file.seek(SeekFrom::Start(0)).map_err(io_error)?;
    let format = detect_format(path, head.get(..head_len).unwrap_or_default());
    let batch_size = if options.batch_size == 0 {
        DEFAULT_BATCH_SIZE
    } else {
        options.batch_size
    };
    let infer_rows = if options.infer_rows == 0 {
        DEFAULT_INFER_ROWS
    } else {
        options.infer_rows
    };
    let malformed = |error: &dyn ToString| DataError::Malformed {
        path: path.to_owned(),
        format: format.name(),
        message: error.to_string(),
    };
    let guarded = |run: &mut dyn FnMut() -> Result<(Schema, BatchIter), DataError>| {
        catch_unwind(AssertUnwindSafe(run))
            .unwrap_or_else(|_| Err(malformed(&"the decoder failed on malformed content")))
    };

    let (schema, batches, casts) = match format {
        Format::Csv { delimiter } => {
            let csv_format = arrow::csv::reader::Format::default()
                .with_header(true)
                .with_delimiter(delimiter);
            let (inferred, _) = csv_format
                .infer_schema(BufReader::new(&mut file), Some(infer_rows))
                .map_err(|e| malformed(&e))?;
            file.seek(SeekFrom::Start(0)).map_err(io_error)?;
            let full = Arc::new(apply_overrides(widen_integers(inferred), &options.schema));
            let projection = projection(path, &full, options.columns.as_deref())?;
            let reader = arrow::csv::ReaderBuilder::new(full.clone())
                .with_format(csv_format)
                .with_batch_size(batch_size)
                .with_projection(projection.clone())
                .build(file)
                .map_err(|e| malformed(&e))?;
            let projected = full.project(&projection).map_err(|e| malformed(&e))?;
            let casts = vec![None; projected.fields().len()];
            (projected, Box::new(reader) as BatchIter, casts)
        }
        Format::JsonLines => {
            let (inferred, _) =
                arrow::json::reader::infer_json_schema(BufReader::new(&mut file), Some(infer_rows))
                    .map_err(|e| {
                        json_lines_error(path, None, 0).unwrap_or_else(|| malformed(&e))
                    })?;
            file.seek(SeekFrom::Start(0)).map_err(io_error)?;
            let full = apply_overrides(widen_integers(inferred), &options.schema);
            let projection = projection(path, &full, options.columns.as_deref())?;
            let projected = Arc::new(full.project(&projection).map_err(|e| malformed(&e))?);
            let reader = arrow::json::ReaderBuilder::new(projected.clone())
                .with_batch_size(batch_size)
                .build(BufReader::new(file))
                .map_err(|e| malformed(&e))?;
            let casts = vec![None; projected.fields().len()];
            (
                Arc::unwrap_or_clone(projected),
                Box::new(reader) as BatchIter,
                casts,
            )
        }
        Format::Parquet => {
            let columns = options.columns.clone();
            let (schema, batches) = guarded(&mut || {
                let file = file.try_clone().map_err(io_error)?;
                let builder =
                    ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| malformed(&e))?;
                let full = builder.schema().clone();
                let projection = projection(path, &full, columns.as_deref())?;
                let mask = ProjectionMask::roots(builder.parquet_schema(), projection.clone());
                let reader = builder
                    .with_projection(mask)
                    .with_batch_size(batch_size)
                    .build()
                    .map_err(|e| malformed(&e))?;
                let projected = full.project(&projection).map_err(|e| malformed(&e))?;
                Ok((projected, Box::new(reader) as BatchIter))
            })?;
            let casts = override_casts(&schema, &options.schema);
            (schema, batches, casts)
        }
        Format::ArrowFile | Format::ArrowStream => {
            let columns = options.columns.clone();
            let (schema, batches) = guarded(&mut || {
                let file = file.try_clone().map_err(io_error)?;
                if format == Format::ArrowFile {
                    let probe = arrow::ipc::reader::FileReader::try_new_buffered(
                        file.try_clone().map_err(io_error)?,
                        None,
                    )
                    .map_err(|e| malformed(&e))?;
                    let full = probe.schema();
                    let projection = projection(path, &full, columns.as_deref())?;
                    let reader = arrow::ipc::reader::FileReader::try_new_buffered(
                        file,
                        Some(projection.clone()),
                    )
                    .map_err(|e| malformed(&e))?;
                    let projected = full.project(&projection).map_err(|e| malformed(&e))?;
                    Ok((projected, Box::new(reader) as BatchIter))
                } else {
                    let mut file = file;
                    let probe = arrow::ipc::reader::StreamReader::try_new_buffered(
                        file.try_clone().map_err(io_error)?,
                        None,
                    )
                    .map_err(|e| malformed(&e))?;
                    let full = probe.schema();
                    drop(probe);
                    // The probe shares the file position; the stream is read from the start.
                    file.seek(SeekFrom::Start(0)).map_err(io_error)?;
                    let projection = projection(path, &full, columns.as_deref())?;
                    let reader = arrow::ipc::reader::StreamReader::try_new_buffered(
                        file,
                        Some(projection.clone()),
                    )
                    .map_err(|e| malformed(&e))?;
                    let projected = full.project(&projection).map_err(|e| malformed(&e))?;
                    Ok((projected, Box::new(reader) as BatchIter))
                }
            })?;
            let casts = override_casts(&schema, &options.schema);
            (schema, batches, casts)
        }
    };
    let casts_needed = casts.iter().any(Option::is_some);
    let schema = if casts_needed {
        Schema::new(
            schema
                .fields()
                .iter()
                .zip(&casts)
                .map(|(field, target)| match target {
                    Some(target) => Field::new(field.name(), target.clone(), true),
                    None => field.as_ref().clone(),
                })
                .collect::<Vec<_>>(),
        )
    } else {
        schema
    };
    Ok(TableReader {
        path: path.to_owned(),
        format,
        schema: Arc::new(schema),
        casts,
        batches,
        rows_read: 0,
        finished: false,
    })
}

/// Arrow's JSON decoder reports a bad value or line without saying where. On that error path
/// only, the file is re-read from data row `from_row` (0-based; blank lines are not rows) and
/// each line checked on its own — as JSON, then with Arrow's decoder for `schema` — so the
/// error can name the line, the row and the field. `None` if no line fails on its own (the
/// caller then reports Arrow's message).
fn json_lines_error(path: &Path, schema: Option<&SchemaRef>, from_row: u64) -> Option<DataError> {
    let mut reader = BufReader::new(File::open(path).ok()?);
    let mut line = Vec::new();
    let (mut line_number, mut row) = (0u64, 0u64);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).ok()? == 0 {
            return None;
        }
        line_number += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        row += 1;
        if row <= from_row {
            continue;
        }
        let at = |column: String, message: String| {
            Some(DataError::BadValue {
                path: path.to_owned(),
                column,
                row: Some(row - 1),
                message: format!("line {line_number}: {message}"),
            })
        };
        match serde_json::from_slice::<serde_json::Value>(&line) {
            Err(error) => {
                return at(
                    "(none)".to_owned(),
                    format!("not valid JSON (column {}): {error}", error.column()),
                );
            }
            Ok(value) if !value.is_object() => {
                return at(
                    "(none)".to_owned(),
                    "expected one JSON object per line".to_owned(),
                );
            }
            Ok(_) => {}
        }
        let Some(schema) = schema else {
            continue;
        };
        let decoded = arrow::json::ReaderBuilder::new(schema.clone())
            .build_decoder()
            .and_then(|mut decoder| {
                decoder.decode(&line)?;
                decoder.flush()
            });
        if let Err(error) = decoded {
            let message = error.to_string();
            let field = json_error_field(&message).unwrap_or("(none)").to_owned();
            return at(field, message);
        }
    }
}

/// The field Arrow's JSON decoder names in `whilst decoding field 'x': …`.
fn json_error_field(message: &str) -> Option<&str> {
    let rest = message.split_once("decoding field '")?.1;
    Some(rest.split_once("':")?.0)
}

fn read_head(file: &mut File, head: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < head.len() {
        let Some(rest) = head.get_mut(filled..) else {
            break;
        };
        match file.read(rest)? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Type inference sees only the first rows: a column of integers there may hold `2.5`
/// further down, so integers are read as floats (exact up to 2^53) rather than failing late.
fn widen_integers(schema: Schema) -> Schema {
    Schema::new(
        schema
            .fields()
            .iter()
            .map(|field| match field.data_type() {
                DataType::Int64 => Field::new(field.name(), DataType::Float64, true),
                DataType::Null => Field::new(field.name(), DataType::Utf8, true),
                _ => field.as_ref().clone().with_nullable(true),
            })
            .collect::<Vec<_>>(),
    )
}

fn apply_overrides(schema: Schema, overrides: &[(String, ColumnType)]) -> Schema {
    Schema::new(
        schema
            .fields()
            .iter()
            .map(|field| {
                match overrides
                    .iter()
                    .rev()
                    .find(|(name, _)| name == field.name())
                {
                    Some((_, kind)) => Field::new(field.name(), kind.data_type(), true),
                    None => field.as_ref().clone(),
                }
            })
            .collect::<Vec<_>>(),
    )
}

fn override_casts(schema: &Schema, overrides: &[(String, ColumnType)]) -> Vec<Option<DataType>> {
    schema
        .fields()
        .iter()
        .map(|field| {
            overrides
                .iter()
                .rev()
                .find(|(name, _)| name == field.name())
                .map(|(_, kind)| kind.data_type())
                .filter(|target| target != field.data_type())
        })
        .collect()
}

/// Column indices (file order) for the requested names; every requested name must exist.
fn projection(
    path: &Path,
    schema: &Schema,
    columns: Option<&[String]>,
) -> Result<Vec<usize>, DataError> {
    let Some(columns) = columns else {
        return Ok((0..schema.fields().len()).collect());
    };
    let mut wanted = HashSet::with_capacity(columns.len());
    for column in columns {
        if schema.index_of(column).is_err() {
            return Err(DataError::MissingColumn {
                path: path.to_owned(),
                column: column.clone(),
                available: schema
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        wanted.insert(column.as_str());
    }
    Ok(schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, field)| wanted.contains(field.name().as_str()))
        .map(|(index, _)| index)
        .collect())
}

/// Class labels of a feature matrix.
#[derive(Clone, Debug, PartialEq)]
pub enum Labels {
    /// A numeric label column whose values are all integers.
    Int(Vec<i64>),
    Text(Vec<String>),
}

/// A dense numeric feature matrix, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct F64Matrix {
    /// `rows * cols` values, row by row.
    pub values: Vec<f64>,
    pub rows: usize,
    pub cols: usize,
    /// The feature column names, in matrix column order.
    pub columns: Vec<String>,
    pub labels: Option<Labels>,
}

/// Whether a column's values can be used as numbers.
pub fn is_numeric(data_type: &DataType) -> bool {
    data_type.is_numeric() || matches!(data_type, DataType::Boolean)
}

/// Reads numeric feature columns (all numeric columns except the label when `columns` is
/// `None`, else exactly `columns` in that order) and an optional label column into memory.
/// An empty (null) feature or label value is an error naming its row: a feature matrix with
/// holes would silently change what is measured.
pub fn read_f64_matrix(
    path: &Path,
    columns: Option<&[String]>,
    label_column: Option<&str>,
) -> Result<F64Matrix, DataError> {
    let wanted = columns.map(|columns| {
        let mut all = columns.to_vec();
        if let Some(label) = label_column {
            all.push(label.to_owned());
        }
        all
    });
    let reader = open(
        path,
        &ReadOptions {
            columns: wanted,
            ..ReadOptions::default()
        },
    )?;
    let schema = reader.schema();
    let feature_names: Vec<String> = match columns {
        Some(columns) => columns.to_vec(),
        None => schema
            .fields()
            .iter()
            .filter(|f| Some(f.name().as_str()) != label_column && is_numeric(f.data_type()))
            .map(|f| f.name().clone())
            .collect(),
    };
    let mut feature_indices = Vec::with_capacity(feature_names.len());
    for name in &feature_names {
        let index = schema
            .index_of(name)
            .map_err(|_| missing(path, name, &schema))?;
        let data_type = schema.field(index).data_type();
        if !is_numeric(data_type) {
            return Err(DataError::BadValue {
                path: path.to_owned(),
                column: name.clone(),
                row: None,
                message: format!(
                    "holds {data_type} values, not numbers; a feature matrix needs numeric columns (force a type with --schema {name}=float if the values are numbers)"
                ),
            });
        }
        feature_indices.push(index);
    }
    let label_index = match label_column {
        Some(label) => Some(
            schema
                .index_of(label)
                .map_err(|_| missing(path, label, &schema))?,
        ),
        None => None,
    };
    let cols = feature_indices.len();
    let mut values = Vec::new();
    let mut numeric_labels: Vec<f64> = Vec::new();
    let mut text_labels: Vec<String> = Vec::new();
    let label_is_numeric =
        label_index.is_some_and(|index| is_numeric(schema.field(index).data_type()));
    let mut rows = 0usize;
    for batch in reader {
        let batch = batch?;
        let batch_rows = batch.num_rows();
        let cells = rows
            .checked_add(batch_rows)
            .and_then(|r| r.checked_mul(cols.max(1)))
            .unwrap_or(usize::MAX);
        if cells > MAX_MATRIX_CELLS {
            return Err(DataError::Limit {
                path: path.to_owned(),
                message: format!(
                    "more than {MAX_MATRIX_CELLS} cells in the feature matrix; select fewer columns or sample the rows"
                ),
            });
        }
        let mut feature_columns = Vec::with_capacity(cols);
        for (&index, name) in feature_indices.iter().zip(&feature_names) {
            feature_columns.push(as_f64(path, name, batch.column(index), rows)?);
        }
        values.reserve(batch_rows.saturating_mul(cols));
        for row in 0..batch_rows {
            for column in &feature_columns {
                values.push(column.value(row));
            }
        }
        if let Some(index) = label_index {
            let name = schema.field(index).name();
            let column = batch.column(index);
            if let Some(row) = (0..batch_rows).find(|&row| column.is_null(row)) {
                return Err(null_at(path, name, rows + row));
            }
            if label_is_numeric {
                let labels = as_f64(path, name, column, rows)?;
                numeric_labels.extend(labels.values().iter().copied());
            } else {
                let labels = cast(column, &DataType::Utf8).map_err(|e| DataError::BadValue {
                    path: path.to_owned(),
                    column: name.clone(),
                    row: None,
                    message: e.to_string(),
                })?;
                text_labels.extend(
                    labels
                        .as_string::<i32>()
                        .iter()
                        .map(|v| v.unwrap_or_default().to_owned()),
                );
            }
        }
        rows += batch_rows;
    }
    let labels = match label_index {
        None => None,
        Some(_) if !label_is_numeric => Some(Labels::Text(text_labels)),
        Some(_) => {
            let integral = numeric_labels
                .iter()
                .all(|v| v.fract() == 0.0 && v.abs() < 9.0e15);
            if integral {
                // Exact: every value is an integer below 2^53.
                #[allow(clippy::cast_possible_truncation)]
                let ints = numeric_labels.iter().map(|v| *v as i64).collect();
                Some(Labels::Int(ints))
            } else {
                Some(Labels::Text(
                    numeric_labels.iter().map(ToString::to_string).collect(),
                ))
            }
        }
    };
    Ok(F64Matrix {
        values,
        rows,
        cols,
        columns: feature_names,
        labels,
    })
}

fn missing(path: &Path, column: &str, schema: &Schema) -> DataError {
    DataError::MissingColumn {
        path: path.to_owned(),
        column: column.to_owned(),
        available: schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn null_at(path: &Path, column: &str, row: usize) -> DataError {
    DataError::BadValue {
        path: path.to_owned(),
        column: column.to_owned(),
        row: Some(row as u64),
        message: "empty value".to_owned(),
    }
}

/// A numeric column as `f64` with no nulls (an empty value is an error naming its row).
fn as_f64(
    path: &Path,
    name: &str,
    column: &ArrayRef,
    first_row: usize,
) -> Result<arrow::array::Float64Array, DataError> {
    if let Some(row) = (0..column.len()).find(|&row| column.is_null(row)) {
        return Err(null_at(path, name, first_row + row));
    }
    let converted = cast(column, &DataType::Float64).map_err(|e| DataError::BadValue {
        path: path.to_owned(),
        column: name.to_owned(),
        row: None,
        message: e.to_string(),
    })?;
    Ok(converted.as_primitive::<Float64Type>().clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write_temp(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::File::create(&path)
            .unwrap()
            .write_all(bytes)
            .unwrap();
        (dir, path)
    }

    fn read_all(path: &Path, options: &ReadOptions) -> Result<Vec<RecordBatch>, DataError> {
        open(path, options)?.collect()
    }

    #[test]
    fn detects_formats_by_content_then_extension() {
        assert_eq!(
            detect_format(Path::new("x.csv"), b"PAR1...."),
            Format::Parquet
        );
        assert_eq!(
            detect_format(Path::new("x"), b"ARROW1\0\0"),
            Format::ArrowFile
        );
        assert_eq!(
            detect_format(Path::new("x"), &[0xff, 0xff, 0xff, 0xff, 1]),
            Format::ArrowStream
        );
        assert_eq!(
            detect_format(Path::new("x.txt"), b" {\"a\":1}"),
            Format::JsonLines
        );
        assert_eq!(
            detect_format(Path::new("x.tsv"), b"a\tb"),
            Format::Csv { delimiter: b'\t' }
        );
        assert_eq!(
            detect_format(Path::new("x.csv"), b"a,b"),
            Format::Csv { delimiter: b',' }
        );
    }

    #[test]
    fn reads_csv_with_projection_and_override() {
        let (_dir, path) = write_temp("t.csv", b"a,b,c\n1,x,true\n2,y,false\n3,z,true\n");
        let options = ReadOptions {
            columns: Some(vec!["c".into(), "a".into()]),
            schema: parse_schema_overrides("a=string").unwrap(),
            ..ReadOptions::default()
        };
        let batches = read_all(&path, &options).unwrap();
        let schema = batches[0].schema();
        let names: Vec<_> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["a", "c"]);
        assert_eq!(schema.field(0).data_type(), &DataType::Utf8);
        assert_eq!(schema.field(1).data_type(), &DataType::Boolean);
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 3);
    }

    #[test]
    fn ragged_csv_names_file_and_line() {
        let (_dir, path) = write_temp("ragged.csv", b"a,b\n1,2\n3\n4,5\n");
        let error = read_all(&path, &ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(error.contains("ragged.csv"), "{error}");
        assert!(error.contains("line 3"), "{error}");
    }

    #[test]
    fn mixed_types_name_the_column_and_line() {
        let mut csv = b"a,b\n".to_vec();
        for i in 0..20 {
            csv.extend_from_slice(format!("{i},{i}\n").as_bytes());
        }
        csv.extend_from_slice(b"7,oops\n");
        let (_dir, path) = write_temp("mixed.csv", &csv);
        let options = ReadOptions {
            infer_rows: 5,
            ..ReadOptions::default()
        };
        let error = read_all(&path, &options).unwrap_err().to_string();
        assert!(error.contains("mixed.csv"), "{error}");
        assert!(error.contains("column `b`"), "{error}");
        assert!(error.contains("oops"), "{error}");
    }

    #[test]
    fn missing_column_is_named() {
        let (_dir, path) = write_temp("t.csv", b"a,b\n1,2\n");
        let options = ReadOptions {
            columns: Some(vec!["zz".into()]),
            ..ReadOptions::default()
        };
        let error = open(&path, &options).unwrap_err().to_string();
        assert!(
            error.contains("no column `zz`") && error.contains("a, b"),
            "{error}"
        );
    }

    #[test]
    fn reads_json_lines() {
        let (_dir, path) = write_temp(
            "t.jsonl",
            b"{\"a\": 1, \"b\": \"x\"}\n{\"a\": 2.5, \"b\": \"y\"}\n",
        );
        let batches = read_all(&path, &ReadOptions::default()).unwrap();
        assert_eq!(batches[0].num_rows(), 2);
        assert_eq!(batches[0].schema().field(0).data_type(), &DataType::Float64);
    }

    #[test]
    fn json_lines_errors_name_file_line_row_and_field() {
        // A type error past the inferred rows, after a blank line, in a later batch.
        let mut jsonl = Vec::new();
        for i in 0..30 {
            jsonl.extend_from_slice(format!("{{\"a\": {i}, \"b\": \"x\"}}\n").as_bytes());
        }
        jsonl.extend_from_slice(b"\n{\"a\": \"oops\", \"b\": \"y\"}\n{\"a\": 1, \"b\": \"z\"}\n");
        let (_dir, path) = write_temp("typed.jsonl", &jsonl);
        let options = ReadOptions {
            infer_rows: 5,
            batch_size: 8,
            ..ReadOptions::default()
        };
        let error = read_all(&path, &options).unwrap_err().to_string();
        assert!(error.contains("typed.jsonl"), "{error}");
        assert!(error.contains("column `a`"), "{error}");
        assert!(error.contains("row 30"), "{error}");
        assert!(error.contains("line 32"), "{error}");

        // A malformed line, both while inferring types and while reading.
        for (infer_rows, name) in [(100, "broken_early.jsonl"), (2, "broken_late.jsonl")] {
            let (_dir, path) = write_temp(name, b"{\"a\": 1}\n{\"a\": 2}\n{\"a\": 3}\n{\"a\" 4}\n");
            let options = ReadOptions {
                infer_rows,
                ..ReadOptions::default()
            };
            let error = read_all(&path, &options).unwrap_err().to_string();
            assert!(error.contains(name), "{error}");
            assert!(
                error.contains("line 4") && error.contains("row 3"),
                "{error}"
            );
            assert!(error.contains("not valid JSON"), "{error}");
        }
        let (_dir, path) = write_temp("array.jsonl", b"{\"a\": 1}\n[1, 2]\n");
        let error = read_all(&path, &ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("line 2") && error.contains("one JSON object"),
            "{error}"
        );
    }

    #[test]
    fn unreadable_parquet_is_malformed() {
        let (_dir, path) = write_temp("bad.parquet", b"PAR1 not really parquet PAR1");
        let error = open(&path, &ReadOptions::default()).unwrap_err();
        assert!(
            matches!(
                error,
                DataError::Malformed {
                    format: "Parquet",
                    ..
                }
            ),
            "{error}"
        );
        assert!(error.to_string().contains("bad.parquet"));
    }

    #[test]
    fn matrix_reads_features_and_integer_labels() {
        let (_dir, path) = write_temp("m.csv", b"x,y,label,name\n1,2,0,a\n3,4.5,1,b\n");
        let matrix = read_f64_matrix(&path, None, Some("label")).unwrap();
        assert_eq!(matrix.columns, ["x", "y"]);
        assert_eq!(matrix.values, [1.0, 2.0, 3.0, 4.5]);
        assert_eq!((matrix.rows, matrix.cols), (2, 2));
        assert_eq!(matrix.labels, Some(Labels::Int(vec![0, 1])));
        let ordered =
            read_f64_matrix(&path, Some(&["y".into(), "x".into()]), Some("name")).unwrap();
        assert_eq!(ordered.values, [2.0, 1.0, 4.5, 3.0]);
        assert_eq!(
            ordered.labels,
            Some(Labels::Text(vec!["a".into(), "b".into()]))
        );
        let text = read_f64_matrix(&path, Some(&["name".into()]), None).unwrap_err();
        assert!(text.to_string().contains("column `name`"), "{text}");
    }

    #[test]
    fn matrix_rejects_empty_values_naming_the_row() {
        let (_dir, path) = write_temp("holes.csv", b"x,label\n1,0\n,1\n");
        let error = read_f64_matrix(&path, None, Some("label")).unwrap_err();
        assert!(
            matches!(error, DataError::BadValue { row: Some(1), .. }),
            "{error}"
        );
    }
}
