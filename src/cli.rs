use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use rampart_core::Severity;

#[derive(Parser, Debug)]
#[command(
    name = "rampart",
    version,
    about = "Supply-chain security for AI/ML: scan, hash, sign and verify models and datasets",
    long_about = "Supply-chain security for AI/ML.\n\n\
        Exit codes: 0 pass (no finding at or above --fail-on; verified); 1 findings at or \
        above --fail-on, or a verification failed; 2 usage error, bad configuration, or an \
        input that does not exist or cannot be read."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Scan model files and directories for code that runs on load, without executing them.
    Scan(ScanArgs),
    /// List every rule with its severity, description, remediation and references.
    Rules(RulesArgs),
    /// Hash a model or dataset: every file's digest, in OpenSSF Model Signing order.
    Hash(crate::hash_cmd::HashArgs),
    /// Sign a model as an OpenSSF Model Signing v1.0 bundle.
    Sign(crate::sign_cmd::SignArgs),
    /// Verify a model against its signature, or a dataset against a manifest.
    ///
    /// Exit codes: 0 verified, 1 verification failed, 2 usage error.
    Verify(crate::verify_cmd::VerifyArgs),
    /// A local transparency log: append-only, signed checkpoints, offline proofs.
    Log(crate::log_cmd::LogArgs),
    /// Record and check signed provenance (SLSA v1) of training runs.
    Attest(crate::attest_cmd::AttestArgs),
    /// The local, offline advisory database (OSV) that `rampart audit` reads.
    Db(crate::db_cmd::DbArgs),
    /// Inventory a project, environment, lock file or model as an SBOM / ML-BOM.
    Sbom(crate::audit_cmd::SbomArgs),
    /// Audit dependencies offline: vulnerable, malicious, typosquatted, unpinned.
    ///
    /// Exit codes as for `scan`: 1 when a finding is at or above --fail-on.
    Audit(crate::audit_cmd::AuditArgs),
    /// Which MITRE ATLAS techniques and OWASP ML/LLM Top 10 entries the rules cover, and
    /// which in rampart's scope they do not.
    Coverage(crate::coverage_cmd::CoverageArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(crate::completions_cmd::CompletionsArgs),
    /// Print the man page (roff), or write one page per command with --dir.
    Manpage(crate::completions_cmd::ManpageArgs),
    /// Write a commented rampart.toml and, on request, CI configuration for this repository.
    Init(crate::init_cmd::InitArgs),
    /// Compare a table with a reference (or saved profile): per-column drift and a dataset
    /// verdict.
    ///
    /// Exit codes: 0 no dataset drift; 1 dataset drift (with --fail-on-drift: any column
    /// drift or schema change) or a --manifest mismatch; 2 usage or input error.
    Drift(crate::drift_cmd::DriftArgs),
    /// Training-data checks: poisoning and hygiene indicators (`rampart data check`).
    Data(crate::data_cmd::DataArgs),
    /// Run the model registry: immutable versions behind scan and signature gates, roles
    /// with separation of duties, and an audit log of every change.
    Serve(crate::serve_cmd::ServeArgs),
    /// Create a registry data directory and manage its tokens.
    Registry(crate::registry_cmd::RegistryArgs),
    /// Publish a model directory to a registry as NS/NAME:VERSION (exit 1 if quarantined).
    Push(crate::push_cmd::PushArgs),
    /// Download a version, verifying every digest, the signature and the audit log entry.
    Pull(crate::push_cmd::PullArgs),
    /// Approve a registry version (approvers; never one's own).
    Approve(crate::push_cmd::ApproveArgs),
    /// Point a registry stage (e.g. production) at a version.
    Promote(crate::push_cmd::PromoteArgs),
    /// Point a registry stage back at its previous approved version.
    Rollback(crate::push_cmd::RollbackArgs),
    /// Withdraw a registry version for good, with a reason (admins).
    Yank(crate::push_cmd::YankArgs),
    /// Set or show a registry namespace's policy: trusted keys and what each stage needs.
    Namespace(crate::push_cmd::NamespaceArgs),
    /// Red-team an ONNX classifier: robustness to adversarial examples, membership-inference
    /// leakage, group fairness — each a gate with thresholds.
    Redteam(crate::redteam_cmd::RedteamArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Human-readable findings and a summary line.
    Table,
    /// The versioned JSON report (`schema_version`, `files`, `findings`, `summary`).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF consumers.
    Sarif,
    /// One self-contained HTML page (no external resources) with filters, for people.
    Html,
    /// GitLab SAST security report (schema 15.x), for `artifacts:reports:sast`.
    GitlabSast,
    /// GitLab dependency-scanning report (schema 15.0.7), for
    /// `artifacts:reports:dependency_scanning` (`rampart audit` only).
    GitlabDependencyScanning,
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// Files and directories to scan. Directories are walked recursively; formats are
    /// detected by content, not by extension.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub output: OutputArgs,

    /// Fail (exit 1) when a finding is at or above this severity [default: high, or
    /// `fail_on` from rampart.toml].
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,

    /// Configuration file [default: rampart.toml in the current directory or its parents,
    /// up to the repository root].
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,

    /// Ignore any rampart.toml and use the built-in defaults.
    #[arg(long)]
    pub no_config: bool,

    /// Number of files scanned in parallel [default: number of CPUs].
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,

    /// Follow symlinks that lead outside the scanned directories (by default they are
    /// reported, not followed).
    #[arg(long)]
    pub follow_symlinks: bool,

    /// In table output, also list every file with its detected format and verdict.
    #[arg(long)]
    pub list_files: bool,

    /// Scanners to run, comma-separated [default: model,config,secret, or `[scan] scanners`
    /// in rampart.toml].
    #[arg(long, value_delimiter = ',', value_name = "LIST", value_parser = parse_scanner)]
    pub scanners: Option<Vec<rampart_scan::ScannerKind>>,

    /// Do not read or enter paths matching GLOB (a name at any depth like `node_modules`,
    /// or a path relative to the scanned directory like `models/cache/**`); they are listed
    /// as excluded. Repeatable; adds to `[scan] exclude` in rampart.toml.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,

    /// Accept the findings of an earlier JSON report (`--format json -o FILE`): they are
    /// still reported, marked as baselined, but only new findings fail the scan.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Also verify the model (the one PATH) against this OpenSSF Model Signing bundle; a
    /// model that does not verify fails the scan. Needs --key or --certificate-chain.
    #[arg(long, value_name = "SIG")]
    pub verify_signature: Option<PathBuf>,

    #[command(flatten)]
    pub trust: crate::integrity_args::TrustArgs,

    /// The platform (`os/arch[/variant]`, e.g. linux/arm64) to scan from a multi-arch
    /// container image PATH.
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
}

#[derive(Args, Debug)]
pub struct OutputArgs {
    /// Report format.
    #[arg(long, short = 'f', value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,

    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// No progress bar and no summary on standard error.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    Table,
    Json,
}

#[derive(Args, Debug)]
pub struct RulesArgs {
    #[arg(long, short = 'f', value_enum, default_value_t = RulesFormat::Table)]
    pub format: RulesFormat,
}

fn parse_scanner(s: &str) -> Result<rampart_scan::ScannerKind, String> {
    s.parse()
}

pub(crate) fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
        .map_err(|e: rampart_core::ParseSeverityError| e.to_string())
}
