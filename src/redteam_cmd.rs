//! `rampart redteam robustness|membership|fairness`: evaluate an ONNX classifier (or its
//! decisions) against attack and fairness thresholds, as a gate with the common report.
//! Every figure measured goes in the report's `metrics` (JSON, SARIF run properties, a table
//! and a robustness curve in HTML).

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use rampart_core::render::{TableOptions, render_html, render_json, render_sarif, render_table};
use rampart_core::{FileVerdict, Finding, Location, Report, Severity};
use rampart_redteam::attack::{
    AttackConfig, AttackKind, Norm, RobustnessResult, evaluate_robustness,
};
use rampart_redteam::data::{Features, check_labels, check_rows, labels_from_npy};
use rampart_redteam::fairness::{FairnessResult, evaluate_fairness, value_key};
use rampart_redteam::membership::{MembershipResult, evaluate_membership};
use rampart_redteam::model::{ModelOptions, OnnxClassifier, OutputKind};
use rampart_redteam::npy::{read_npy, write_npy_f32};
use rampart_redteam::shadow::{ShadowConfig, shadow_attack};
use rampart_redteam::{RobustnessThreshold, same_eps};
use serde_json::{Value, json};

use crate::cli::parse_severity;

#[derive(Args, Debug)]
pub struct RedteamArgs {
    #[command(subcommand)]
    pub command: RedteamCommand,
}

#[derive(Subcommand, Debug)]
pub enum RedteamCommand {
    /// Clean and robust accuracy under FGSM/PGD evasion attacks at each ε.
    ///
    /// Exit codes: 0 pass, 1 a --min-robust-accuracy threshold is violated, 2 bad input.
    Robustness(RobustnessArgs),
    /// Whether loss/confidence thresholds (and, with --shadow-data, shadow models) tell
    /// training rows from unseen rows.
    ///
    /// Exit codes: 0 pass, 1 the attack AUC is above --max-auc, 2 bad input.
    Membership(MembershipArgs),
    /// Demographic parity, equalized odds and equal opportunity of binary decisions
    /// across groups (Fairlearn's definitions).
    ///
    /// Exit codes: 0 pass, 1 a --max-* difference is exceeded, 2 bad input.
    Fairness(FairnessArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AttackArg {
    /// Fast gradient sign method: one gradient step of size ε.
    Fgsm,
    /// Projected gradient descent: --steps steps of --step-size, projected to the ε-ball.
    Pgd,
    /// Square attack: random search querying scores only, no gradient (L∞).
    Square,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum NormArg {
    Linf,
    L2,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputKindArg {
    Auto,
    Probabilities,
    Logits,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RedteamFormat {
    /// The figures and findings for people.
    Table,
    /// The JSON report with a `metrics` object holding every figure and its parameters.
    Json,
    /// SARIF 2.1.0; the figures are in `runs[0].properties.metrics`.
    Sarif,
    /// One self-contained HTML page with the figures (and the robustness curve).
    Html,
}

/// How the ONNX model is read.
#[derive(Args, Debug)]
pub struct ModelArgs {
    /// The graph input to feed [default: the only non-initializer input].
    #[arg(long, value_name = "NAME")]
    pub input_name: Option<String>,
    /// The output holding class scores [default: the float [rows, classes] output, preferring
    /// one named like `prob`].
    #[arg(long, value_name = "NAME")]
    pub output_name: Option<String>,
    /// What the output holds; `auto` strips a final Softmax (attacks then use logits) or
    /// checks whether rows sum to 1.
    #[arg(long, value_enum, default_value_t = OutputKindArg::Auto)]
    pub output_kind: OutputKindArg,
}

impl ModelArgs {
    fn options(&self) -> ModelOptions {
        ModelOptions {
            input_name: self.input_name.clone(),
            output_name: self.output_name.clone(),
            output_kind: match self.output_kind {
                OutputKindArg::Auto => OutputKind::Auto,
                OutputKindArg::Probabilities => OutputKind::Probabilities,
                OutputKindArg::Logits => OutputKind::Logits,
            },
        }
    }
}

#[derive(Args, Debug)]
pub struct GateArgs {
    #[arg(long, short = 'f', value_enum, default_value_t = RedteamFormat::Table)]
    pub format: RedteamFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// No summary on standard error when writing to --output.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Fail (exit 1) when a finding is at or above this severity [default: high, or
    /// `fail_on` from rampart.toml]. Threshold findings are high.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,
    /// Configuration file (severity overrides and waivers) [default: rampart.toml found
    /// upwards from the current directory].
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Ignore any rampart.toml.
    #[arg(long)]
    pub no_config: bool,
}

#[derive(Args, Debug)]
pub struct RobustnessArgs {
    /// The ONNX classifier.
    #[arg(value_name = "MODEL.onnx")]
    pub model: PathBuf,
    /// Features: `.npy` ([rows, features...]) or CSV/Parquet with a header (every numeric
    /// column but --label-column).
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// True class indices: `.npy`, or `FILE:COLUMN` of a CSV/Parquet file [default: the
    /// --label-column of --data].
    #[arg(long, value_name = "FILE[:COLUMN]")]
    pub labels: Option<String>,
    /// The label column of a CSV/Parquet --data.
    #[arg(long, value_name = "COLUMN")]
    pub label_column: Option<String>,
    #[arg(long, value_enum, default_value_t = AttackArg::Fgsm)]
    pub attack: AttackArg,
    /// Perturbation budgets, comma-separated.
    #[arg(
        long,
        value_name = "EPS,...",
        value_delimiter = ',',
        default_value = "0.05,0.1,0.2"
    )]
    pub eps: Vec<f32>,
    #[arg(long, value_enum, default_value_t = NormArg::Linf)]
    pub norm: NormArg,
    /// PGD iterations [default: 10], or the square attack's queries per row [default: 1000].
    #[arg(long, value_name = "N")]
    pub steps: Option<usize>,
    /// PGD step size [default: ε/4].
    #[arg(long, value_name = "S")]
    pub step_size: Option<f32>,
    /// PGD starts from a uniformly random point of the ε-ball (seeded by --seed).
    #[arg(long)]
    pub random_start: bool,
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// The valid feature range, e.g. `0,1` for scaled pixels; adversarial inputs are clipped
    /// to it.
    #[arg(long, value_name = "LO,HI", value_parser = parse_clip, allow_hyphen_values = true)]
    pub clip: Option<(f32, f32)>,
    /// Required robust accuracy at an ε, e.g. `0.8@0.1`; repeatable. The ε is added to --eps.
    #[arg(long, value_name = "ACC@EPS")]
    pub min_robust_accuracy: Vec<RobustnessThreshold>,
    /// Write the adversarial inputs of each ε to DIR/adversarial_eps<ε>.npy.
    #[arg(long, value_name = "DIR")]
    pub save_adversarial: Option<PathBuf>,
    #[command(flatten)]
    pub model_args: ModelArgs,
    #[command(flatten)]
    pub gate: GateArgs,
}

#[derive(Args, Debug)]
pub struct MembershipArgs {
    /// The ONNX classifier.
    #[arg(value_name = "MODEL.onnx")]
    pub model: PathBuf,
    /// Rows the model was trained on (`.npy` or CSV/Parquet).
    #[arg(long, value_name = "FILE")]
    pub members: PathBuf,
    /// Their labels (`.npy` or `FILE:COLUMN`) [default: --label-column of --members].
    #[arg(long, value_name = "FILE[:COLUMN]")]
    pub members_labels: Option<String>,
    /// Rows from the same distribution the model never saw.
    #[arg(long, value_name = "FILE")]
    pub nonmembers: PathBuf,
    /// Their labels [default: --label-column of --nonmembers].
    #[arg(long, value_name = "FILE[:COLUMN]")]
    pub nonmembers_labels: Option<String>,
    /// The label column of CSV/Parquet inputs.
    #[arg(long, value_name = "COLUMN")]
    pub label_column: Option<String>,
    /// Fail when the best attack's ROC AUC is above A (0.5 is chance).
    #[arg(long, value_name = "A")]
    pub max_auc: Option<f64>,
    /// Rows from the target's distribution, disjoint from --members and --nonmembers, to train
    /// shadow models on (adds the shadow-model attack).
    #[arg(long, value_name = "FILE")]
    pub shadow_data: Option<PathBuf>,
    /// Their labels [default: --label-column of --shadow-data].
    #[arg(long, value_name = "FILE[:COLUMN]", requires = "shadow_data")]
    pub shadow_labels: Option<String>,
    /// Number of shadow models, each trained on a random half of --shadow-data.
    #[arg(long, value_name = "K", default_value_t = 4, requires = "shadow_data")]
    pub shadow_models: usize,
    /// Hidden ReLU units of each shadow network; 0 trains multinomial logistic regression.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 100,
        requires = "shadow_data"
    )]
    pub shadow_hidden: usize,
    /// Training epochs of each shadow model (Adam, scikit-learn MLPClassifier's defaults).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 200,
        requires = "shadow_data"
    )]
    pub shadow_epochs: usize,
    /// Seed of the shadow splits, initialisation and batches: same seed, same figures.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub model_args: ModelArgs,
    #[command(flatten)]
    pub gate: GateArgs,
}

#[derive(Args, Debug)]
pub struct FairnessArgs {
    /// True outcomes: `.npy` or `FILE:COLUMN` of a CSV/Parquet file.
    #[arg(long, value_name = "FILE[:COLUMN]")]
    pub labels: String,
    /// The decisions to assess (same forms as --labels); or use --model and --data.
    #[arg(
        long,
        value_name = "FILE[:COLUMN]",
        required_unless_present = "model",
        conflicts_with = "model"
    )]
    pub predictions: Option<String>,
    /// The sensitive feature: one group value per row (numbers or names).
    #[arg(long, value_name = "FILE[:COLUMN]")]
    pub groups: String,
    /// Compute the decisions with this ONNX classifier (its predicted class).
    #[arg(long, value_name = "MODEL.onnx", requires = "data")]
    pub model: Option<PathBuf>,
    /// Features for --model.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// The positive outcome's value in labels and decisions.
    #[arg(long, value_name = "VALUE", default_value = "1")]
    pub positive: String,
    #[arg(long, value_name = "D")]
    pub max_demographic_parity_difference: Option<f64>,
    #[arg(long, value_name = "E")]
    pub max_equalized_odds_difference: Option<f64>,
    #[command(flatten)]
    pub model_args: ModelArgs,
    #[command(flatten)]
    pub gate: GateArgs,
}

fn parse_clip(s: &str) -> Result<(f32, f32), String> {
    let usage = || format!("`{s}` is not LO,HI (e.g. `0,1`)");
    let (low, high) = s.split_once(',').ok_or_else(usage)?;
    let low: f32 = low.trim().parse().map_err(|_| usage())?;
    let high: f32 = high.trim().parse().map_err(|_| usage())?;
    if !(low.is_finite() && high.is_finite() && low < high) {
        return Err(usage());
    }
    Ok((low, high))
}

pub fn run(args: RedteamArgs) -> anyhow::Result<u8> {
    match args.command {
        RedteamCommand::Robustness(args) => robustness(args),
        RedteamCommand::Membership(args) => membership(args),
        RedteamCommand::Fairness(args) => fairness(args),
    }
}

fn robustness(args: RobustnessArgs) -> anyhow::Result<u8> {
    let model = load_model(&args.model, &args.model_args)?;
    let (data, data_labels) = read_features(&args.data, args.label_column.as_deref())?;
    let labels = labels_for(args.labels.as_deref(), data_labels, "--labels", "--data")?;
    check_rows("--labels", labels.len(), "--data", data.rows)?;
    check_label_range(&model, &data, &labels, "--labels")?;
    let mut epsilons: Vec<f32> = Vec::new();
    for eps in args
        .eps
        .iter()
        .copied()
        .chain(args.min_robust_accuracy.iter().map(|t| t.eps))
    {
        if !(eps.is_finite() && eps >= 0.0) {
            bail!("ε must be a non-negative number, got {eps}");
        }
        if !epsilons.iter().any(|&e| same_eps(e, eps)) {
            epsilons.push(eps);
        }
    }
    let config = AttackConfig {
        attack: match args.attack {
            AttackArg::Fgsm => AttackKind::Fgsm,
            AttackArg::Pgd => AttackKind::Pgd,
            AttackArg::Square => AttackKind::Square,
        },
        norm: match args.norm {
            NormArg::Linf => Norm::Linf,
            NormArg::L2 => Norm::L2,
        },
        steps: args.steps.unwrap_or(if args.attack == AttackArg::Square {
            1000
        } else {
            10
        }),
        step_size: args.step_size,
        random_start: args.random_start,
        clip: args.clip,
        seed: args.seed,
    };
    let (result, adversarials) = evaluate_robustness(&model, &data, &labels, &epsilons, &config)?;
    if let Some(dir) = &args.save_adversarial {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
        let shape: Vec<usize> = std::iter::once(data.rows)
            .chain(data.row_shape.iter().copied())
            .collect();
        for (eps, adversarial) in epsilons.iter().zip(&adversarials) {
            let path = dir.join(format!("adversarial_eps{eps}.npy"));
            rampart_core::write_atomically(&path, &write_npy_f32(&shape, adversarial))
                .with_context(|| format!("cannot write `{}`", path.display()))?;
        }
    }
    let location = Location::file(args.model.display().to_string());
    let mut findings = Vec::new();
    rampart_redteam::robustness_findings(
        &result,
        &args.min_robust_accuracy,
        &location,
        &mut findings,
    );
    let metrics = json!({
        "robustness": result,
        "thresholds": args.min_robust_accuracy.iter()
            .map(|t| json!({"eps": t.eps, "min_robust_accuracy": t.min_accuracy}))
            .collect::<Vec<_>>(),
        "model": model_metrics(&args.model, &model),
        "data": {"path": args.data.display().to_string(), "rows": data.rows, "row_shape": data.row_shape},
    });
    let table = robustness_table(&result);
    let curve = robustness_curve_svg(&result);
    gate_report(
        "redteam robustness",
        &args.model,
        findings,
        metrics,
        &table,
        curve,
        &args.gate,
    )
}

fn membership(args: MembershipArgs) -> anyhow::Result<u8> {
    let model = load_model(&args.model, &args.model_args)?;
    let label_column = args.label_column.as_deref();
    let (members, member_labels) = read_features(&args.members, label_column)?;
    let member_labels = labels_for(
        args.members_labels.as_deref(),
        member_labels,
        "--members-labels",
        "--members",
    )?;
    let (nonmembers, nonmember_labels) = read_features(&args.nonmembers, label_column)?;
    let nonmember_labels = labels_for(
        args.nonmembers_labels.as_deref(),
        nonmember_labels,
        "--nonmembers-labels",
        "--nonmembers",
    )?;
    check_rows(
        "--members-labels",
        member_labels.len(),
        "--members",
        members.rows,
    )?;
    check_rows(
        "--nonmembers-labels",
        nonmember_labels.len(),
        "--nonmembers",
        nonmembers.rows,
    )?;
    if members.row_shape != nonmembers.row_shape {
        bail!(
            "--members rows have shape {:?} but --nonmembers rows have {:?}",
            members.row_shape,
            nonmembers.row_shape
        );
    }
    check_label_range(&model, &members, &member_labels, "--members-labels")?;
    check_label_range(
        &model,
        &nonmembers,
        &nonmember_labels,
        "--nonmembers-labels",
    )?;
    let mut result = evaluate_membership(
        &model,
        (&members, &member_labels),
        (&nonmembers, &nonmember_labels),
    )?;
    if let Some(shadow_path) = &args.shadow_data {
        let (shadow, shadow_labels) = read_features(shadow_path, label_column)?;
        let shadow_labels = labels_for(
            args.shadow_labels.as_deref(),
            shadow_labels,
            "--shadow-labels",
            "--shadow-data",
        )?;
        check_rows(
            "--shadow-labels",
            shadow_labels.len(),
            "--shadow-data",
            shadow.rows,
        )?;
        check_label_range(&model, &members, &shadow_labels, "--shadow-labels")?;
        let config = ShadowConfig {
            models: args.shadow_models,
            hidden: args.shadow_hidden,
            epochs: args.shadow_epochs,
            seed: args.seed,
        };
        let (score, summary) = shadow_attack(
            &model,
            (&members, &member_labels),
            (&nonmembers, &nonmember_labels),
            (&shadow, &shadow_labels),
            &config,
        )?;
        result.attacks.push(score);
        result.shadow = Some(summary);
    }
    let location = Location::file(args.model.display().to_string());
    let mut findings = Vec::new();
    rampart_redteam::membership_findings(&result, args.max_auc, &location, &mut findings);
    let metrics = json!({
        "membership": result,
        "thresholds": {"max_auc": args.max_auc},
        "model": model_metrics(&args.model, &model),
        "data": {
            "members": args.members.display().to_string(),
            "nonmembers": args.nonmembers.display().to_string(),
            "shadow": args.shadow_data.as_ref().map(|p| p.display().to_string()),
        },
    });
    let table = membership_table(&result);
    gate_report(
        "redteam membership",
        &args.model,
        findings,
        metrics,
        &table,
        None,
        &args.gate,
    )
}

fn fairness(args: FairnessArgs) -> anyhow::Result<u8> {
    let labels = read_column(&args.labels, "--labels")?;
    let groups = read_column(&args.groups, "--groups")?;
    let positive = args
        .positive
        .trim()
        .parse::<f64>()
        .map_or_else(|_| args.positive.clone(), value_key);
    let (predictions, subject, model_metrics_value) =
        match (&args.predictions, &args.model, &args.data) {
            (Some(spec), _, _) => (
                read_column(spec, "--predictions")?,
                PathBuf::from(spec),
                Value::Null,
            ),
            (None, Some(model_path), Some(data_path)) => {
                let model = load_model(model_path, &args.model_args)?;
                let (data, _) = read_features(data_path, None)?;
                let predicted = model.logits(&data.values, &data.row_shape)?.argmax();
                let predictions = predicted.iter().map(|&class| class.to_string()).collect();
                (
                    predictions,
                    model_path.clone(),
                    model_metrics(model_path, &model),
                )
            }
            _ => bail!(
                "give the decisions with --predictions, or --model and --data to compute them"
            ),
        };
    let result = evaluate_fairness(&labels, &predictions, &groups, &positive)?;
    let location = Location::file(subject.display().to_string());
    let mut findings = Vec::new();
    rampart_redteam::fairness_findings(
        &result,
        args.max_demographic_parity_difference,
        args.max_equalized_odds_difference,
        &location,
        &mut findings,
    );
    let metrics = json!({
        "fairness": result,
        "thresholds": {
            "max_demographic_parity_difference": args.max_demographic_parity_difference,
            "max_equalized_odds_difference": args.max_equalized_odds_difference,
        },
        "model": model_metrics_value,
        "data": {"labels": args.labels, "groups": args.groups, "predictions": args.predictions},
    });
    let table = fairness_table(&result);
    gate_report(
        "redteam fairness",
        &subject,
        findings,
        metrics,
        &table,
        None,
        &args.gate,
    )
}

fn load_model(path: &Path, args: &ModelArgs) -> anyhow::Result<OnnxClassifier> {
    OnnxClassifier::load(path, &args.options())
        .with_context(|| format!("cannot use the model `{}`", path.display()))
}

fn model_metrics(path: &Path, model: &OnnxClassifier) -> Value {
    json!({
        "path": path.display().to_string(),
        "input": model.input_name(),
        "input_shape": model.describe_input_shape(),
        "output": model.output_name(),
        "notes": model.notes,
    })
}

fn is_npy(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

fn read_npy_file(path: &Path) -> anyhow::Result<rampart_redteam::npy::NpyArray> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    read_npy(&bytes).with_context(|| format!("cannot read `{}`", path.display()))
}

/// Features (and, with `label_column`, labels) from `.npy` or a CSV/Parquet file.
fn read_features(
    path: &Path,
    label_column: Option<&str>,
) -> anyhow::Result<(Features, Option<Vec<usize>>)> {
    let (features, labels) = read_features_any_rows(path, label_column)?;
    if features.rows == 0 || features.values.is_empty() {
        bail!(
            "`{}` has no rows or no feature columns: nothing to evaluate",
            path.display()
        );
    }
    Ok((features, labels))
}

fn read_features_any_rows(
    path: &Path,
    label_column: Option<&str>,
) -> anyhow::Result<(Features, Option<Vec<usize>>)> {
    let what = path.display().to_string();
    if is_npy(path) {
        if label_column.is_some() {
            bail!(
                "--label-column is for CSV/Parquet data; `{what}` is .npy: pass its labels as a separate .npy"
            );
        }
        return Ok((Features::from_npy(read_npy_file(path)?, &what)?, None));
    }
    let matrix = rampart_data::read::read_f64_matrix(path, None, label_column)
        .with_context(|| format!("cannot read `{what}`"))?;
    let features = Features::from_values(matrix.rows, vec![matrix.cols], &matrix.values, &what)?;
    let labels = match matrix.labels {
        Some(labels) => Some(class_indices(
            labels,
            &format!("{what}:{}", label_column.unwrap_or_default()),
        )?),
        None => None,
    };
    Ok((features, labels))
}

fn class_indices(labels: rampart_data::read::Labels, what: &str) -> anyhow::Result<Vec<usize>> {
    match labels {
        rampart_data::read::Labels::Int(values) => values
            .iter()
            .enumerate()
            .map(|(row, &v)| {
                usize::try_from(v).map_err(|_| {
                    anyhow::anyhow!("{what}: label {v} at row {row} is not a class index")
                })
            })
            .collect(),
        rampart_data::read::Labels::Text(_) => {
            bail!(
                "{what}: labels must be class indices (0, 1, …) as the model's outputs are ordered, not names"
            )
        }
    }
}

/// Labels from their own `--labels` spec, else from the data's label column.
fn labels_for(
    spec: Option<&str>,
    from_data: Option<Vec<usize>>,
    flag: &str,
    data_flag: &str,
) -> anyhow::Result<Vec<usize>> {
    match (spec, from_data) {
        (Some(spec), _) => {
            let (path, column) = split_spec(spec);
            if is_npy(&path) {
                Ok(labels_from_npy(&read_npy_file(&path)?, spec)?)
            } else {
                let column = column
                    .with_context(|| format!("{flag} `{spec}`: name the column as FILE:COLUMN"))?;
                let matrix = rampart_data::read::read_f64_matrix(&path, Some(&[]), Some(&column))
                    .with_context(|| format!("cannot read `{spec}`"))?;
                class_indices(matrix.labels.context("no labels read")?, spec)
            }
        }
        (None, Some(labels)) => Ok(labels),
        (None, None) => {
            bail!("{flag} is required (or --label-column for a CSV/Parquet {data_flag})")
        }
    }
}

/// `FILE:COLUMN` → (FILE, COLUMN) unless the whole text names an existing file.
fn split_spec(spec: &str) -> (PathBuf, Option<String>) {
    if !Path::new(spec).exists()
        && let Some((path, column)) = spec.rsplit_once(':')
        && !column.contains(['/', '\\'])
    {
        return (PathBuf::from(path), Some(column.to_owned()));
    }
    (PathBuf::from(spec), None)
}

/// One value per row, as text, from `.npy` or `FILE:COLUMN`.
fn read_column(spec: &str, flag: &str) -> anyhow::Result<Vec<String>> {
    let (path, column) = split_spec(spec);
    if is_npy(&path) {
        let array = read_npy_file(&path)?;
        if !matches!(array.shape.as_slice(), [_] | [_, 1]) {
            bail!(
                "{flag} `{spec}`: expected one value per row, got shape {:?}",
                array.shape
            );
        }
        return Ok(array.values.iter().map(|&v| value_key(v)).collect());
    }
    let column =
        column.with_context(|| format!("{flag} `{spec}`: name the column as FILE:COLUMN"))?;
    let matrix = rampart_data::read::read_f64_matrix(&path, Some(&[]), Some(&column))
        .with_context(|| format!("cannot read `{spec}`"))?;
    Ok(match matrix.labels.context("no column read")? {
        rampart_data::read::Labels::Int(values) => values.iter().map(|v| v.to_string()).collect(),
        rampart_data::read::Labels::Text(values) => values,
    })
}

fn check_label_range(
    model: &OnnxClassifier,
    data: &Features,
    labels: &[usize],
    what: &str,
) -> anyhow::Result<()> {
    let first_row = data.values.get(..data.row_len()).unwrap_or_default();
    let classes = model.logits(first_row, &data.row_shape)?.classes;
    check_labels(labels, classes, what)?;
    Ok(())
}

/// Builds the report, applies the policy, renders it with the metrics and writes it.
fn gate_report(
    command: &str,
    subject: &Path,
    mut findings: Vec<Finding>,
    metrics: Value,
    table: &str,
    curve: Option<String>,
    gate: &GateArgs,
) -> anyhow::Result<u8> {
    let (config, origin) = crate::scan_cmd::load_config(gate.config.as_deref(), gate.no_config)?;
    let policy = config.policy(&origin, &crate::rules_cmd::all_rules())?;
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let notices = policy.apply(&mut findings, today);
    let size = std::fs::metadata(subject).map(|m| m.len()).unwrap_or(0);
    let format = if is_npy(subject) { "npy" } else { "onnx" };
    let files = vec![FileVerdict::new(
        subject.display().to_string(),
        format,
        size,
    )];
    let fail_on = gate.fail_on.or(config.fail_on).unwrap_or(Severity::High);
    let report = Report::new(
        command,
        env!("CARGO_PKG_VERSION"),
        fail_on,
        files,
        findings,
        notices,
    );
    let color = gate.output.is_none()
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    let text = match gate.format {
        RedteamFormat::Table => format!(
            "{table}\n{}",
            render_table(
                &report,
                TableOptions {
                    color,
                    list_files: false
                }
            )
        ),
        RedteamFormat::Json => with_json_metrics(&render_json(&report), |doc| {
            doc["metrics"] = metrics.clone()
        })?,
        RedteamFormat::Sarif => with_json_metrics(&render_sarif(&report), |doc| {
            doc["runs"][0]["properties"]["metrics"] = metrics.clone()
        })?,
        RedteamFormat::Html => html_with_metrics(&render_html(&report), table, curve.as_deref()),
    };
    match &gate.output {
        Some(path) => {
            rampart_core::write_atomically(path, text.as_bytes())
                .with_context(|| format!("cannot write the report to `{}`", path.display()))?;
            if !gate.quiet {
                eprint!("{table}");
                eprintln!("report written to {}", path.display());
            }
        }
        None => crate::output::print_stdout(&text)?,
    }
    Ok(u8::from(report.summary.failed))
}

fn with_json_metrics(rendered: &str, add: impl FnOnce(&mut Value)) -> anyhow::Result<String> {
    let mut document: Value =
        serde_json::from_str(rendered).context("the rendered report is not JSON")?;
    add(&mut document);
    let mut text = serde_json::to_string_pretty(&document)?;
    text.push('\n');
    Ok(text)
}

fn html_with_metrics(rendered: &str, table: &str, curve: Option<&str>) -> String {
    let escaped = table
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let section = format!(
        "<section id=\"redteam-metrics\"><h2>Red-team metrics</h2>{}<pre>{escaped}</pre></section>\n",
        curve.unwrap_or_default()
    );
    // Above the page footer when there is one.
    match rendered
        .rfind("<footer")
        .or_else(|| rendered.rfind("</body>"))
    {
        Some(at) => format!("{}{section}{}", &rendered[..at], &rendered[at..]),
        None => format!("{rendered}{section}"),
    }
}

fn robustness_table(result: &RobustnessResult) -> String {
    let mut out = String::new();
    let config = &result.config;
    let _ = writeln!(
        out,
        "Robustness: {} {}{}{}, gradients: {}, {} samples",
        config.attack,
        config.norm,
        match config.attack {
            AttackKind::Pgd => format!(", {} steps", config.steps),
            AttackKind::Square => format!(", {} queries per row", config.steps),
            AttackKind::Fgsm => String::new(),
        },
        config
            .clip
            .map(|(lo, hi)| format!(", clip [{lo}, {hi}]"))
            .unwrap_or_default(),
        result.gradient_method,
        result.samples
    );
    let _ = writeln!(out, "clean accuracy {:.4}", result.clean_accuracy);
    let _ = writeln!(
        out,
        "{:>10} {:>10} {:>16} {:>14} {:>18} {:>13}",
        "eps", "step", "robust accuracy", "success rate", "flipped correct", "queries/row"
    );
    for e in &result.epsilons {
        let _ = writeln!(
            out,
            "{:>10} {:>10} {:>16.4} {:>14.4} {:>18.4} {:>13}",
            e.eps,
            e.step_size,
            e.robust_accuracy,
            e.attack_success_rate,
            e.success_rate_on_correct,
            e.mean_queries
                .map_or_else(|| "-".to_owned(), |q| format!("{q:.1}"))
        );
    }
    out
}

fn membership_table(result: &MembershipResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Membership inference: {} members (accuracy {:.4}), {} non-members (accuracy {:.4}), gap {:.4}",
        result.members,
        result.member_accuracy,
        result.nonmembers,
        result.nonmember_accuracy,
        result.accuracy_gap
    );
    let _ = writeln!(
        out,
        "{:>12} {:>8} {:>14} {:>16} {:>10}",
        "attack", "AUC", "TPR@1%FPR", "TPR@0.1%FPR", "advantage"
    );
    for a in &result.attacks {
        let _ = writeln!(
            out,
            "{:>12} {:>8.4} {:>14.4} {:>16.4} {:>10.4}",
            a.attack, a.auc, a.tpr_at_1pct_fpr, a.tpr_at_0_1pct_fpr, a.advantage
        );
    }
    if let Some(shadow) = &result.shadow {
        let _ = writeln!(
            out,
            "shadow: {} {} ({} hidden, {} epochs, seed {}) on {} rows; shadow accuracy {:.4} train / {:.4} held out; attack AUC on the shadows {:.4}",
            shadow.config.models,
            shadow.family,
            shadow.config.hidden,
            shadow.config.epochs,
            shadow.config.seed,
            shadow.shadow_rows,
            shadow.shadow_train_accuracy,
            shadow.shadow_test_accuracy,
            shadow.attack_auc_on_shadows
        );
    }
    out
}

fn fairness_table(result: &FairnessResult) -> String {
    let mut out = String::new();
    let ratio = |r: Option<f64>| r.map_or_else(|| "n/a".to_owned(), |r| format!("{r:.4}"));
    let _ = writeln!(
        out,
        "Fairness: {} samples, positive class `{}`",
        result.samples, result.positive
    );
    for (name, d) in [
        ("demographic parity", &result.demographic_parity),
        ("equalized odds", &result.equalized_odds),
        ("equal opportunity", &result.equal_opportunity),
    ] {
        let _ = writeln!(
            out,
            "{name:>20}: difference {:.4}, ratio {}",
            d.difference,
            ratio(d.ratio)
        );
    }
    let _ = writeln!(
        out,
        "{:>12} {:>7} {:>9} {:>10} {:>9} {:>9} {:>9}",
        "group", "count", "positives", "selection", "TPR", "FPR", "error"
    );
    for g in &result.groups {
        let _ = writeln!(
            out,
            "{:>12} {:>7} {:>9} {:>10.4} {:>9.4} {:>9.4} {:>9.4}",
            g.group,
            g.count,
            g.positives,
            g.selection_rate,
            g.true_positive_rate,
            g.false_positive_rate,
            g.error_rate
        );
    }
    out
}

/// Robust accuracy against ε as an inline SVG line chart (no script, no external resource).
fn robustness_curve_svg(result: &RobustnessResult) -> Option<String> {
    // ε stays f32 for its labels: `0.05`, not the f64 widening `0.05000000074505806`.
    let mut points: Vec<(f32, f64)> = std::iter::once((0.0, result.clean_accuracy))
        .chain(result.epsilons.iter().map(|e| (e.eps, e.robust_accuracy)))
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let max_eps = points.iter().map(|p| f64::from(p.0)).fold(0.0, f64::max);
    if max_eps <= 0.0 {
        return None;
    }
    let (width, height, margin) = (480.0, 240.0, 40.0);
    let x = |eps: f32| margin + f64::from(eps) / max_eps * (width - 2.0 * margin);
    let y = |acc: f64| height - margin - acc * (height - 2.0 * margin);
    let path: Vec<String> = points
        .iter()
        .map(|(e, a)| format!("{:.1},{:.1}", x(*e), y(*a)))
        .collect();
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"robust accuracy by epsilon\">\
         <line x1=\"{m}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#888\"/><line x1=\"{m}\" y1=\"{m}\" x2=\"{m}\" y2=\"{b}\" stroke=\"#888\"/>\
         <polyline fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2\" points=\"{}\"/>",
        path.join(" "),
        m = margin,
        b = height - margin,
        r = width - margin,
    );
    for (e, a) in &points {
        let _ = write!(
            svg,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#c0392b\"><title>eps {e}: {a:.4}</title></circle><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\">{e}</text>",
            x(*e),
            y(*a),
            x(*e),
            height - margin + 14.0
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">1.0</text><text x=\"4\" y=\"{:.1}\" font-size=\"10\">0.0</text><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">ε (robust accuracy, clean at 0)</text></svg>",
        4.0,
        y(1.0) + 4.0,
        y(0.0) + 4.0,
        width / 2.0,
        height - 6.0
    );
    Some(svg)
}
