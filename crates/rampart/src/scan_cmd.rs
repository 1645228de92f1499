use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rampart_core::{Report, Severity};
use rampart_scan::{Config, Scanner, WalkOptions, walk};

use crate::cli::ScanArgs;
use crate::output;

/// Below this many files a progress bar is only flicker.
const PROGRESS_MIN_FILES: usize = 8;

/// `rampart scan`: walk, scan in parallel, apply the policy, render, and gate.
pub fn run(args: ScanArgs) -> anyhow::Result<u8> {
    let (config, origin) = load_config(&args)?;
    let policy = config.policy(&origin)?;
    let scanner = Scanner::new(&config, &origin)?;
    if let Some(jobs) = args.jobs {
        rayon::ThreadPoolBuilder::new()
            .num_threads(usize::from(jobs))
            .build_global()
            .context("cannot start the worker threads")?;
    }

    let inputs = walk(
        &args.paths,
        WalkOptions {
            follow_symlinks: args.follow_symlinks,
        },
    )?;
    let progress = progress_bar(inputs.len(), args.output.quiet);
    let outputs = scanner.scan_all(&inputs, &|_| progress.inc(1));
    progress.finish_and_clear();

    let mut files = Vec::with_capacity(outputs.len());
    let mut findings = Vec::new();
    for output in outputs {
        files.push(output.verdict);
        findings.extend(output.findings);
    }
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let notices = policy.apply(&mut findings, today);
    let fail_on = args.fail_on.or(config.fail_on).unwrap_or(Severity::High);
    let report = Report::new(
        "scan",
        env!("CARGO_PKG_VERSION"),
        fail_on,
        files,
        findings,
        notices,
    );
    output::emit(&report, &args.output, args.list_files)?;
    Ok(u8::from(report.summary.failed))
}

fn load_config(args: &ScanArgs) -> anyhow::Result<(Config, PathBuf)> {
    if args.no_config {
        return Ok((Config::default(), PathBuf::from("(defaults)")));
    }
    let path = match &args.config {
        Some(path) => {
            if !path.is_file() {
                anyhow::bail!("config file `{}` does not exist", path.display());
            }
            Some(path.clone())
        }
        None => Config::discover(&std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))),
    };
    match path {
        Some(path) => Ok((Config::load(&path)?, path)),
        None => Ok((Config::default(), Path::new("(defaults)").to_owned())),
    }
}

fn progress_bar(total: usize, quiet: bool) -> ProgressBar {
    if quiet || total < PROGRESS_MIN_FILES || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} scanning {pos}/{len} files {wide_bar} {elapsed}")
    {
        bar.set_style(style);
    }
    bar
}
