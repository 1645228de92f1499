//! `rampart drift REFERENCE CURRENT`: per-column drift statistics between two tables (or a
//! saved reference profile and a table), a dataset verdict, and the same report formats and
//! exit codes as the other commands.
//!
//! Exit codes: 0 no dataset drift; 1 dataset drift (with `--fail-on-drift`: any drifted
//! column or schema change), or an input does not match `--manifest`; 2 usage or input error.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use rampart_core::render::{Escaped, TableOptions, html_page, render_sarif, render_table};
use rampart_core::{FileVerdict, Report, Severity};
use rampart_data::drift::{ColumnDrift, DriftResult, Histogram, parse_column_setting};
use rampart_data::{
    DriftOptions, ProfileOptions, ReadOptions, StatTest, TableProfile, compare, drift_findings,
};
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DriftFormat {
    /// Per-column statistics and the findings, for terminals.
    Table,
    /// `columns` (every column's statistics), the dataset verdict and the report's `findings`.
    Json,
    /// One self-contained HTML page with a histogram overlay per drifted column.
    Html,
    /// SARIF 2.1.0 findings (`data/column-drift`, `data/dataset-drift`, `data/schema-change`).
    Sarif,
}

#[derive(Args, Debug)]
pub struct DriftArgs {
    /// REFERENCE and CURRENT tables (CSV, TSV, Parquet, JSON Lines, Arrow IPC), or only
    /// CURRENT with --profile.
    #[arg(value_name = "FILE", required = true, num_args = 1..=2)]
    pub inputs: Vec<PathBuf>,

    /// Compare against a profile saved with --save-profile instead of a REFERENCE table.
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<PathBuf>,

    /// Save the reference's profile (bin edges, moments, a quantile sketch of at most 10000
    /// values per numeric column, category counts) to PROFILE.
    #[arg(long, value_name = "PROFILE", conflicts_with = "profile")]
    pub save_profile: Option<PathBuf>,

    /// Compare only these columns (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "COLUMNS")]
    pub columns: Option<Vec<String>>,

    /// Force a test: COLUMN=TEST, or TEST for every column; TEST is ks, psi, wasserstein,
    /// jensenshannon, chisquare or z. Repeatable, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "[COLUMN=]TEST")]
    pub stattest: Vec<String>,

    /// Override a threshold: COLUMN=X, or X for every column (p-value tests drift below it,
    /// distances at or above it). Repeatable, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "[COLUMN=]X")]
    pub threshold: Vec<String>,

    /// Dataset drift when at least this share of the compared columns drifted.
    #[arg(long, default_value_t = 0.5, value_name = "SHARE")]
    pub drift_share: f64,

    /// Also fail (exit 1) when any single column drifted or the schema changed.
    #[arg(long)]
    pub fail_on_drift: bool,

    /// Refuse inputs whose bytes do not match this manifest (from `rampart hash --format
    /// json`), so the report is about exactly the approved data.
    #[arg(long, value_name = "MANIFEST")]
    pub manifest: Option<PathBuf>,

    /// Force column types when reading: COLUMN=TYPE,… with TYPE int, float, string or bool.
    #[arg(long, value_name = "COLUMN=TYPE,...")]
    pub schema: Option<String>,

    /// Numeric values kept per column and side; beyond it a seeded reservoir sample is used.
    #[arg(long, default_value_t = rampart_data::profile::DEFAULT_SAMPLE_CAP, value_name = "N")]
    pub sample_size: usize,

    #[arg(long, short = 'f', value_enum, default_value_t = DriftFormat::Table)]
    pub format: DriftFormat,

    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// No summary on standard error.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Configuration file: its waivers (e.g. `rule = "data/column-drift"` on the CURRENT
    /// file's path) and severity overrides apply as in `scan`.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,

    /// Ignore any rampart.toml.
    #[arg(long)]
    pub no_config: bool,
}

pub fn run(args: DriftArgs) -> anyhow::Result<u8> {
    let (reference_path, current_path) = match (&args.profile, args.inputs.as_slice()) {
        (Some(_), [current]) => (None, current),
        (None, [reference, current]) => (Some(reference), current),
        (Some(_), _) => anyhow::bail!("with --profile give only the CURRENT table"),
        (None, _) => anyhow::bail!(
            "give REFERENCE and CURRENT tables, or --profile PROFILE and the CURRENT table"
        ),
    };
    if !(0.0..=1.0).contains(&args.drift_share) {
        anyhow::bail!("--drift-share must be between 0 and 1");
    }
    // The drift gate is --fail-on-drift, so the config's `fail_on` does not apply here.
    let (policy, _) = crate::data_cmd::load_policy(args.config.as_deref(), args.no_config)?;
    if let Some(manifest) = &args.manifest {
        // The tables are what was approved; a profile is derived from one.
        let inputs: Vec<&Path> = args.inputs.iter().map(PathBuf::as_path).collect();
        if let Err(refusal) = check_manifest(manifest, &inputs)? {
            eprintln!("error: {refusal}");
            return Ok(1);
        }
    }
    let options = drift_options(&args)?;
    let read_options = ReadOptions {
        columns: args.columns.clone(),
        schema: match &args.schema {
            Some(spec) => rampart_data::read::parse_schema_overrides(spec)?,
            None => Vec::new(),
        },
        ..ReadOptions::default()
    };
    let profile_options = ProfileOptions {
        sample_cap: args.sample_size.max(1),
    };
    let profile = |path: &Path| -> anyhow::Result<TableProfile> {
        Ok(rampart_data::profile_table(
            path,
            &read_options,
            &profile_options,
        )?)
    };
    let (reference, current) = match (reference_path, &args.profile) {
        (Some(reference_path), _) => {
            let (reference, current) =
                rayon::join(|| profile(reference_path), || profile(current_path));
            (reference?, current?)
        }
        (None, Some(profile_path)) => {
            let bytes = std::fs::read(profile_path)
                .with_context(|| format!("cannot read the profile `{}`", profile_path.display()))?;
            (
                rampart_data::load_profile(profile_path, &bytes)?,
                profile(current_path)?,
            )
        }
        (None, None) => anyhow::bail!("give a REFERENCE table or --profile"),
    };
    let result = compare(&reference, &current, &options)?;
    if let Some(path) = &args.save_profile {
        // Bounded: a quantile sketch instead of the whole numeric sample (see `summarised`).
        let saved = reference.summarised(rampart_data::profile::SAVED_SAMPLE_VALUES);
        let json = serde_json::to_vec(&saved)?;
        rampart_core::write_atomically(path, &json)
            .with_context(|| format!("cannot write the profile to `{}`", path.display()))?;
    }
    let mut findings = drift_findings(&result);
    let notices = crate::data_cmd::apply_policy(&policy, &mut findings);
    let report = drift_report(&result, findings, notices, args.fail_on_drift);
    let text = match args.format {
        DriftFormat::Table => render_drift_table(&result, &report),
        DriftFormat::Json => {
            let mut json = serde_json::to_string_pretty(&DriftJson {
                report: &report,
                drift: &result,
            })?;
            json.push('\n');
            json
        }
        DriftFormat::Html => render_drift_html(&result, &report),
        DriftFormat::Sarif => render_sarif(&report),
    };
    match &args.output {
        Some(path) => {
            rampart_core::write_atomically(path, text.as_bytes())
                .with_context(|| format!("cannot write the report to `{}`", path.display()))?;
            if !args.quiet {
                eprintln!("{}", verdict_line(&result));
                eprintln!("report written to {}", path.display());
            }
        }
        None => crate::output::print_stdout(&text)?,
    }
    Ok(u8::from(report.summary.failed))
}

fn drift_options(args: &DriftArgs) -> anyhow::Result<DriftOptions> {
    let stattests = args
        .stattest
        .iter()
        .map(|spec| parse_column_setting::<StatTest>(spec))
        .collect::<Result<Vec<_>, String>>()
        .map_err(|e| anyhow::anyhow!("invalid --stattest {e}"))?;
    let thresholds = args
        .threshold
        .iter()
        .map(|spec| parse_column_setting::<f64>(spec))
        .collect::<Result<Vec<_>, String>>()
        .map_err(|e| anyhow::anyhow!("invalid --threshold {e}"))?;
    if let Some((_, bad)) = thresholds.iter().find(|(_, x)| !x.is_finite() || *x < 0.0) {
        anyhow::bail!("invalid --threshold {bad}: give a non-negative number");
    }
    Ok(DriftOptions {
        columns: args.columns.clone(),
        stattests,
        thresholds,
        drift_share: args.drift_share,
    })
}

/// The findings (after waivers) as a report whose gate is the drift policy: dataset drift
/// (high) fails; with `--fail-on-drift` column drift and schema changes (medium) fail too.
/// Waived findings are reported but never fail.
fn drift_report(
    result: &DriftResult,
    findings: Vec<rampart_core::Finding>,
    policy_notices: Vec<String>,
    fail_on_drift: bool,
) -> Report {
    let fail_on = if fail_on_drift {
        Severity::Medium
    } else {
        Severity::High
    };
    let files = [&result.reference, &result.current]
        .iter()
        .map(|side| {
            let size = std::fs::metadata(&side.source).map_or(0, |m| m.len());
            FileVerdict::new(side.source.clone(), "table", size)
        })
        .collect();
    Report::new(
        "drift",
        env!("CARGO_PKG_VERSION"),
        fail_on,
        files,
        findings,
        result.notes.iter().cloned().chain(policy_notices).collect(),
    )
}

#[derive(Serialize)]
struct DriftJson<'a> {
    #[serde(flatten)]
    report: &'a Report,
    #[serde(flatten)]
    drift: &'a DriftResult,
}

fn verdict_line(result: &DriftResult) -> String {
    format!(
        "dataset drift: {} ({} of {} columns drifted, {:.0} %; threshold {:.0} %)",
        if result.dataset_drift { "YES" } else { "no" },
        result.drifted_columns,
        result.number_of_columns,
        result.share_of_drifted_columns * 100.0,
        result.drift_share * 100.0
    )
}

/// The column's verdict for the tables: `DRIFT`, `waived` (its drift finding is covered by a
/// waiver, so it does not fail the gate) or `-`.
fn drift_mark(column: &ColumnDrift, report: &Report) -> &'static str {
    if !column.drifted {
        return "-";
    }
    let resource = format!("column {}", column.column);
    let waived = report.findings.iter().any(|finding| {
        finding.rule.id == rampart_data::rules::COLUMN_DRIFT.id
            && finding.location.resource.as_deref() == Some(resource.as_str())
            && finding.waiver.is_some()
    });
    if waived { "waived" } else { "DRIFT" }
}

fn p_value_text(column: &ColumnDrift) -> String {
    match (column.p_value, column.p_value_test) {
        (Some(p), Some(test)) => format!("{p:.3e} ({test})"),
        _ => "-".to_owned(),
    }
}

fn render_drift_table(result: &DriftResult, report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "reference: {} ({} rows)\ncurrent:   {} ({} rows)\n",
        result.reference.source, result.reference.rows, result.current.source, result.current.rows
    );
    let width = result
        .columns
        .iter()
        .map(|c| c.column.chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    let _ = writeln!(
        out,
        "{:<width$}  {:<11}  {:<13}  {:>10}  {:>9}  {:>8}  {:<22}  DRIFT",
        "COLUMN", "KIND", "TEST", "STATISTIC", "THRESHOLD", "PSI", "P-VALUE"
    );
    for column in &result.columns {
        let _ = writeln!(
            out,
            "{:<width$}  {:<11}  {:<13}  {:>10.4}  {:>9}  {:>8.4}  {:<22}  {}",
            column.column,
            column.kind,
            column.test.name(),
            column.statistic,
            column.threshold,
            column.psi,
            p_value_text(column),
            drift_mark(column, report)
        );
        for category in &column.new_categories {
            let _ = writeln!(
                out,
                "{:<width$}    new category `{}`: {:.1} % of current",
                "",
                category.value,
                category.share * 100.0
            );
        }
        for category in &column.missing_categories {
            let _ = writeln!(
                out,
                "{:<width$}    vanished category `{}`: was {:.1} % of reference",
                "",
                category.value,
                category.share * 100.0
            );
        }
    }
    let _ = writeln!(out, "\n{}", verdict_line(result));
    if result
        .columns
        .iter()
        .any(|c| !c.notes.is_empty() && c.p_value.is_some())
    {
        let _ = writeln!(
            out,
            "note: with more than 100000 values p-values flag negligible differences; judge drift by the statistic and PSI"
        );
    }
    out.push('\n');
    out.push_str(&render_table(
        report,
        TableOptions {
            color: false,
            list_files: false,
        },
    ));
    out
}

fn render_drift_html(result: &DriftResult, report: &Report) -> String {
    let mut body = String::new();
    let verdict = if report.summary.failed {
        "fail"
    } else {
        "pass"
    };
    let _ = writeln!(
        body,
        "<header><h1>rampart drift <span class=\"verdict {verdict}\">{}</span></h1>\n\
         <p class=\"meta\">Reference <code>{}</code> ({} rows), current <code>{}</code> ({} rows).</p>\n\
         <p>{}</p></header>",
        if result.dataset_drift {
            "DATASET DRIFT"
        } else {
            "NO DATASET DRIFT"
        },
        Escaped(&result.reference.source),
        result.reference.rows,
        Escaped(&result.current.source),
        result.current.rows,
        Escaped(&verdict_line(result)),
    );
    body.push_str(
        "<h2>Columns</h2>\n<table><thead><tr><th>Column</th><th>Kind</th><th>Test</th>\
         <th>Statistic</th><th>Threshold</th><th>PSI</th><th>p-value</th><th>Drift</th></tr></thead><tbody>\n",
    );
    for column in &result.columns {
        let _ = writeln!(
            body,
            "<tr class=\"{}\"><td class=\"path\">{}</td><td>{}</td><td>{}</td><td>{:.4}</td>\
             <td>{}</td><td>{:.4}</td><td>{}</td><td>{}</td></tr>",
            match drift_mark(column, report) {
                "DRIFT" => "fail",
                _ => "",
            },
            Escaped(&column.column),
            column.kind,
            column.test,
            column.statistic,
            column.threshold,
            column.psi,
            Escaped(&p_value_text(column)),
            drift_mark(column, report),
        );
    }
    body.push_str("</tbody></table>\n");
    let drifted: Vec<&ColumnDrift> = result.columns.iter().filter(|c| c.drifted).collect();
    if !drifted.is_empty() {
        body.push_str(
            "<h2>Drifted columns</h2>\n<p class=\"muted\">Bars: share of rows per bin or category; \
             <span style=\"color:#0969da\">reference</span> and \
             <span style=\"color:#cf222e\">current</span> overlaid.</p>\n",
        );
    }
    for column in drifted {
        let _ = writeln!(body, "<h3><code>{}</code></h3>", Escaped(&column.column));
        for category in &column.new_categories {
            let _ = writeln!(
                body,
                "<p>New category <code>{}</code>: {:.1} % of current.</p>",
                Escaped(&category.value),
                category.share * 100.0
            );
        }
        for category in &column.missing_categories {
            let _ = writeln!(
                body,
                "<p>Vanished category <code>{}</code>: was {:.1} % of reference.</p>",
                Escaped(&category.value),
                category.share * 100.0
            );
        }
        body.push_str(&histogram_svg(&column.histogram));
    }
    if !result.schema_changes.is_empty() {
        body.push_str("<h2>Schema changes</h2>\n<ul>\n");
        for change in &result.schema_changes {
            let _ = writeln!(
                body,
                "<li><code>{}</code>: {}</li>",
                Escaped(&change.column),
                Escaped(&change.detail)
            );
        }
        body.push_str("</ul>\n");
    }
    if !report.notices.is_empty() {
        body.push_str("<h2>Notes</h2>\n<ul class=\"notices\">\n");
        for note in &report.notices {
            let _ = writeln!(body, "<li>{}</li>", Escaped(note));
        }
        body.push_str("</ul>\n");
    }
    body.push_str(
        "<footer>Generated offline by rampart. Nothing on this page is loaded from the network.</footer>\n",
    );
    html_page(
        &format!(
            "rampart drift: {}",
            if result.dataset_drift {
                "dataset drift"
            } else {
                "no dataset drift"
            }
        ),
        &body,
    )
}

/// An inline SVG bar chart with the two sides overlaid; labels escaped (they are data).
fn histogram_svg(histogram: &Histogram) -> String {
    const WIDTH: f64 = 720.0;
    const HEIGHT: f64 = 180.0;
    const LABEL_SPACE: f64 = 60.0;
    let bars = histogram.labels.len().max(1);
    let peak = histogram
        .reference
        .iter()
        .chain(&histogram.current)
        .copied()
        .fold(0.0_f64, f64::max)
        .max(1e-12);
    let slot = WIDTH / bars as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{}\" role=\"img\">\n",
        HEIGHT + LABEL_SPACE
    );
    for (index, label) in histogram.labels.iter().enumerate() {
        let x = slot * index as f64;
        for (shares, color) in [
            (&histogram.reference, "#0969da"),
            (&histogram.current, "#cf222e"),
        ] {
            let share = shares.get(index).copied().unwrap_or(0.0);
            let height = share / peak * HEIGHT;
            let _ = writeln!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{height:.1}\" fill=\"{color}\" fill-opacity=\"0.45\"><title>{}: {:.2} %</title></rect>",
                x + 1.0,
                HEIGHT - height,
                (slot - 2.0).max(1.0),
                Escaped(label),
                share * 100.0
            );
        }
        let shown: String = label.chars().take(14).collect();
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" transform=\"rotate(45 {:.1} {:.1})\">{}</text>",
            x + 2.0,
            HEIGHT + 10.0,
            x + 2.0,
            HEIGHT + 10.0,
            Escaped(&shown)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// Checks every input against the manifest: each must be covered by a resource (a
/// single-file manifest, or an entry whose path is a suffix of the input's path) with the
/// same digest. `Ok(Err(reason))` is a refusal (exit 1); `Err` is a usage error (exit 2).
pub(crate) fn check_manifest(
    manifest_path: &Path,
    inputs: &[&Path],
) -> anyhow::Result<Result<(), String>> {
    let bytes = std::fs::read(manifest_path)
        .with_context(|| format!("cannot read the manifest `{}`", manifest_path.display()))?;
    let manifest = rampart_integrity::ManifestDocument::parse(&bytes)
        .with_context(|| format!("`{}`", manifest_path.display()))?;
    for input in inputs {
        let actual = rampart_integrity::hash_model(
            input,
            &rampart_integrity::HashOptions::new(manifest.serialization),
        )
        .with_context(|| format!("cannot hash `{}`", input.display()))?;
        let components: Vec<String> = std::fs::canonicalize(input)
            .unwrap_or_else(|_| input.to_path_buf())
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        // The longest manifest path that names this file wins; `.` is a single-file manifest.
        let covering = manifest
            .resources
            .iter()
            .map(|resource| resource.key.path.as_str())
            .filter(|path| {
                *path == "."
                    || (path.split('/').count() <= components.len()
                        && path
                            .split('/')
                            .rev()
                            .zip(components.iter().rev())
                            .all(|(a, b)| a == b))
            })
            .max_by_key(|path| {
                if *path == "." {
                    0
                } else {
                    path.split('/').count()
                }
            });
        let Some(covering) = covering else {
            return Ok(Err(format!(
                "`{}` is not listed in the manifest `{}`: refusing to report on data that was not approved",
                input.display(),
                manifest_path.display()
            )));
        };
        let expected: Vec<&Vec<u8>> = manifest
            .resources
            .iter()
            .filter(|r| r.key.path == covering)
            .map(|r| &r.digest)
            .collect();
        let got: Vec<&Vec<u8>> = actual.resources.iter().map(|r| &r.digest).collect();
        if expected != got {
            return Ok(Err(format!(
                "`{}` does not match its entry `{covering}` in the manifest `{}`: the bytes changed since they were approved (hash it again with `rampart hash` only after reviewing the change)",
                input.display(),
                manifest_path.display()
            )));
        }
    }
    Ok(Ok(()))
}
