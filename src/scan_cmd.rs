use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rampart_core::{Report, Severity};
use rampart_scan::{Config, Exclude, Scanner, Scanners, WalkOptions, walk};

use crate::cli::ScanArgs;
use crate::output;

/// Below this many files a progress bar is only flicker.
const PROGRESS_MIN_FILES: usize = 8;

/// `rampart scan`: walk, scan in parallel, apply the policy, render, and gate.
pub fn run(args: ScanArgs) -> anyhow::Result<u8> {
    let (config, origin) = load_config(args.config.as_deref(), args.no_config)?;
    let policy = config.policy(&origin, &crate::rules_cmd::all_rules())?;
    let signature_check = signature_check(&args)?;
    let baseline = match &args.baseline {
        Some(path) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read the baseline `{}`", path.display()))?;
            Some(rampart_core::baseline::Baseline::from_report(
                &bytes,
                &path.display().to_string(),
            )?)
        }
        None => None,
    };
    let mut scanner = Scanner::new(&config, &origin)?;
    if let Some(kinds) = &args.scanners {
        scanner = scanner.with_scanners(Scanners::only(kinds));
    }
    let mut exclude_patterns = config.scan.exclude.clone();
    exclude_patterns.extend(args.exclude.iter().cloned());
    let exclude =
        Exclude::new(&exclude_patterns).context("invalid --exclude or [scan] exclude glob")?;
    if let Some(jobs) = args.jobs {
        rayon::ThreadPoolBuilder::new()
            .num_threads(usize::from(jobs))
            .build_global()
            .context("cannot start the worker threads")?;
    }

    let (images, paths) = crate::image_cmd::split_images(&args.paths);
    crate::image_cmd::check_platform_use(args.platform.as_deref(), &images)?;
    let inputs = walk(
        &paths,
        &WalkOptions {
            follow_symlinks: args.follow_symlinks,
            exclude,
        },
    )?;
    let progress = progress_bar(inputs.len(), args.output.quiet);
    let mut outputs = scanner.scan_all(&inputs, &|_| progress.inc(1));
    progress.finish_and_clear();
    outputs.extend(crate::image_cmd::scan_images(
        &scanner,
        &images,
        args.platform.as_deref(),
        &|| {},
    )?);

    let mut files = Vec::with_capacity(outputs.len());
    let mut findings = Vec::new();
    let mut file_notices = Vec::new();
    for output in outputs {
        files.push(output.verdict);
        findings.extend(output.findings);
        file_notices.extend(output.notices);
    }
    let mut verification_notes = Vec::new();
    if let Some(check) = signature_check {
        verification_notes = check.run(&mut findings)?;
    }
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let mut notices = policy.apply(&mut findings, today);
    if let Some(baseline) = &baseline {
        notices.push(baseline.apply(&mut findings));
    }
    notices.extend(file_notices);
    notices.extend(verification_notes);
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

/// The configuration in force: `--config FILE`, none with `--no-config`, else `rampart.toml`
/// discovered from the working directory up to the repository root.
pub(crate) fn load_config(
    explicit: Option<&Path>,
    no_config: bool,
) -> anyhow::Result<(Config, PathBuf)> {
    if no_config {
        return Ok((Config::default(), PathBuf::from("(defaults)")));
    }
    let path = match explicit {
        Some(path) => {
            if !path.is_file() {
                anyhow::bail!("config file `{}` does not exist", path.display());
            }
            Some(path.to_owned())
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

/// `--verify-signature`: the model's signature, checked alongside the scan.
struct SignatureCheck {
    model: PathBuf,
    signature: PathBuf,
    trust: rampart_integrity::Trust,
    options: rampart_integrity::VerifyOptions,
}

fn signature_check(args: &ScanArgs) -> anyhow::Result<Option<SignatureCheck>> {
    let Some(signature) = &args.verify_signature else {
        if args.trust.is_given() {
            anyhow::bail!("--key and --certificate-chain are for --verify-signature SIG");
        }
        return Ok(None);
    };
    let [model] = args.paths.as_slice() else {
        anyhow::bail!(
            "--verify-signature checks one model: give exactly one PATH (the model directory or file)"
        );
    };
    if !args.trust.is_given() {
        anyhow::bail!("--verify-signature needs --key PUB.pem or --certificate-chain ROOT.pem");
    }
    if !model.exists() {
        anyhow::bail!("`{}` does not exist", model.display());
    }
    let hashing = crate::integrity_args::HashingArgs {
        algorithm: None,
        shard_size: None,
        ignore_paths: Vec::new(),
        no_ignore_git_paths: false,
        allow_symlinks: args.follow_symlinks,
    };
    Ok(Some(SignatureCheck {
        model: model.clone(),
        signature: signature.clone(),
        trust: args.trust.trust()?,
        options: crate::verify_cmd::verify_options(model, &hashing, Some(signature), false, false)?,
    }))
}

impl SignatureCheck {
    /// Verifies and turns a failure into findings; returns warnings for the report's notices.
    fn run(self, findings: &mut Vec<rampart_core::Finding>) -> anyhow::Result<Vec<String>> {
        use rampart_core::{Finding, Location};
        use rampart_integrity::rules::{CONTENT_MISMATCH, SIGNATURE_INVALID};
        use rampart_integrity::{Failure, VerifyError};

        let bundle = std::fs::read(&self.signature)
            .with_context(|| format!("cannot read the signature `{}`", self.signature.display()))?;
        let signature_location = Location::file(self.signature.display().to_string());
        match rampart_integrity::verify_bundle(&self.model, &bundle, &self.trust, &self.options) {
            Ok(verified) => Ok(verified
                .warnings
                .into_iter()
                .map(|warning| format!("signature {}: {warning}", self.signature.display()))
                .collect()),
            Err(VerifyError::Unable(error)) => Err(error.into()),
            Err(VerifyError::Failed(Failure::Content(mismatch))) => {
                let diff = &mismatch.diff;
                let in_model = |name: &str| {
                    let path = if self.model.is_dir() {
                        self.model.join(name)
                    } else {
                        self.model.clone()
                    };
                    Location::file(path.display().to_string())
                };
                for change in &diff.modified {
                    findings.push(Finding::new(
                        &CONTENT_MISMATCH,
                        in_model(&change.name),
                        format!(
                            "modified after signing: expected {}, found {}",
                            change.expected, change.actual
                        ),
                    ));
                }
                for name in &diff.added {
                    findings.push(Finding::new(
                        &CONTENT_MISMATCH,
                        in_model(name),
                        "added after signing: the signature does not cover this file".to_owned(),
                    ));
                }
                for name in &diff.removed {
                    findings.push(Finding::new(
                        &CONTENT_MISMATCH,
                        in_model(name),
                        "removed after signing: a signed file is missing".to_owned(),
                    ));
                }
                for rename in &diff.renamed {
                    findings.push(Finding::new(
                        &CONTENT_MISMATCH,
                        in_model(&rename.to),
                        format!("renamed after signing: signed as {}", rename.from),
                    ));
                }
                Ok(Vec::new())
            }
            Err(VerifyError::Failed(failure)) => {
                findings.push(Finding::new(
                    &SIGNATURE_INVALID,
                    signature_location,
                    failure.to_string(),
                ));
                Ok(Vec::new())
            }
        }
    }
}
