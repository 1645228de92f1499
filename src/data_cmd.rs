//! `rampart data check CURRENT --label COL`: training-data poisoning and hygiene indicators
//! as findings, with the policy (waivers, severity overrides) and `--fail-on` gate of `scan`,
//! and every flagged row written to `--rows-out` for quarantine.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use rampart_core::{FileVerdict, Policy, Report, Severity};
use rampart_data::ReadOptions;
use rampart_data::check::{CheckOptions, DEFAULT_MAX_ROWS, check_files, rows_csv};

use crate::cli::OutputArgs;

#[derive(Args, Debug)]
pub struct DataArgs {
    #[command(subcommand)]
    pub command: DataCommand,
}

#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// Check a training-data snapshot for poisoning and hygiene indicators.
    ///
    /// Exit codes: 0 no finding at or above --fail-on; 1 findings at or above it, or an
    /// input does not match --manifest; 2 usage or input error.
    Check(CheckArgs),
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The snapshot to check (CSV, TSV, Parquet, JSON Lines, Arrow IPC).
    #[arg(value_name = "CURRENT")]
    pub current: PathBuf,

    /// The previous snapshot, for label shift, source share shift and schema changes.
    #[arg(long, value_name = "PREVIOUS")]
    pub reference: Option<PathBuf>,

    /// The label column.
    #[arg(long, value_name = "COLUMN")]
    pub label: String,

    /// The column naming each row's source or ingest batch.
    #[arg(long, value_name = "COLUMN")]
    pub source: Option<String>,

    /// Write `row,indicator` for every flagged row (0-based data rows) to this CSV file.
    #[arg(long, value_name = "ROWS.csv")]
    pub rows_out: Option<PathBuf>,

    /// Refuse inputs whose bytes do not match this manifest (from `rampart hash --format json`).
    #[arg(long, value_name = "MANIFEST")]
    pub manifest: Option<PathBuf>,

    /// Force column types when reading: COLUMN=TYPE,… with TYPE int, float, string or bool.
    #[arg(long, value_name = "COLUMN=TYPE,...")]
    pub schema: Option<String>,

    /// Refuse snapshots with more rows than this (memory grows by about 40 bytes per row:
    /// a feature-row hash, the label and one column at a time).
    #[arg(long, default_value_t = DEFAULT_MAX_ROWS, value_name = "N")]
    pub max_rows: usize,

    /// Fail (exit 1) when a finding is at or above this severity [default: high, or
    /// `fail_on` from rampart.toml].
    #[arg(long, value_name = "SEVERITY", value_parser = crate::cli::parse_severity)]
    pub fail_on: Option<Severity>,

    /// Configuration file (waivers and severity overrides apply as in `scan`).
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,

    /// Ignore any rampart.toml.
    #[arg(long)]
    pub no_config: bool,

    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run(args: DataArgs) -> anyhow::Result<u8> {
    match args.command {
        DataCommand::Check(args) => run_check(args),
    }
}

/// rampart.toml's policy (severity overrides, waivers with reasons and expiry) and `fail_on`,
/// loaded as `scan` loads them; shared by `data check` and `drift`.
pub(crate) fn load_policy(
    config: Option<&Path>,
    no_config: bool,
) -> anyhow::Result<(Policy, Option<Severity>)> {
    let (config, origin) = crate::scan_cmd::load_config(config, no_config)?;
    let policy = config.policy(&origin, &crate::rules_cmd::all_rules())?;
    Ok((policy, config.fail_on))
}

/// Applies `policy` as of today (UTC), so expired waivers stop applying; returns the notices.
pub(crate) fn apply_policy(policy: &Policy, findings: &mut [rampart_core::Finding]) -> Vec<String> {
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    policy.apply(findings, today)
}

fn run_check(args: CheckArgs) -> anyhow::Result<u8> {
    let (policy, config_fail_on) = load_policy(args.config.as_deref(), args.no_config)?;
    if let Some(manifest) = &args.manifest {
        let mut inputs: Vec<&Path> = vec![&args.current];
        inputs.extend(args.reference.as_deref());
        if let Err(refusal) = crate::drift_cmd::check_manifest(manifest, &inputs)? {
            eprintln!("error: {refusal}");
            return Ok(1);
        }
    }
    let read_options = ReadOptions {
        schema: match &args.schema {
            Some(spec) => rampart_data::read::parse_schema_overrides(spec)?,
            None => Vec::new(),
        },
        ..ReadOptions::default()
    };
    let mut options = CheckOptions::new(args.label.clone());
    options.source = args.source.clone();
    let outcome = check_files(
        &args.current,
        args.reference.as_deref(),
        &read_options,
        args.max_rows,
        &options,
    )?;
    if let Some(path) = &args.rows_out {
        rampart_core::write_atomically(path, rows_csv(&outcome.flagged_rows).as_bytes())
            .with_context(|| format!("cannot write the flagged rows to `{}`", path.display()))?;
    }
    let mut findings = outcome.findings;
    let notices = apply_policy(&policy, &mut findings);
    let files = std::iter::once(&args.current)
        .chain(&args.reference)
        .map(|path| FileVerdict::new(path.display().to_string(), "table", file_size(path)))
        .collect();
    let fail_on = args.fail_on.or(config_fail_on).unwrap_or(Severity::High);
    let report = Report::new(
        "data check",
        env!("CARGO_PKG_VERSION"),
        fail_on,
        files,
        findings,
        notices,
    );
    crate::output::emit(&report, &args.output, false)?;
    Ok(u8::from(report.summary.failed))
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}
