//! `rampart sbom` (inventory → CycloneDX / SPDX) and `rampart audit` (inventory → offline
//! advisories, malicious and typosquatted names, dependency hygiene → the common report).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use rampart_advisories::rules::{
    DIRECT_URL_DEPENDENCY, UNHASHED_REQUIREMENT, UNPINNED_REQUIREMENT,
};
use rampart_advisories::{Database, PackageRef, Typosquats, typosquat_finding, verdict_findings};
use rampart_core::render::DependencyFile;
use rampart_core::{FileVerdict, Finding, PackageCoordinate, Report, Severity};
use rampart_inventory::{
    Ecosystem, Inventory, Options, Package, SbomFormat, SbomOptions, SourceFormat,
};

use crate::cli::{OutputArgs, parse_severity};
use crate::db_cmd::{DbPathArg, POPULAR_LIST, age_days, read_top_list};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SbomFormatArg {
    /// CycloneDX 1.6 JSON (ML-BOM: models with a modelCard, datasets as data components).
    Cyclonedx,
    /// SPDX 2.3 JSON.
    Spdx,
    /// SPDX 3.0.1 JSON-LD with the AI and Dataset profiles.
    Spdx3,
}

#[derive(Args, Debug)]
pub struct SbomArgs {
    /// A project directory, a virtualenv or site-packages, a lock or manifest file, or a model
    /// or data file.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    #[arg(long, short = 'f', value_enum, default_value_t = SbomFormatArg::Cyclonedx)]
    pub format: SbomFormatArg,
    /// Write the SBOM to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Do not hash model and dataset files (quicker; the SBOM then carries no hashes for them).
    #[arg(long)]
    pub no_hash: bool,
    /// The platform (`os/arch[/variant]`) to inventory from a multi-arch container image.
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
}

pub fn sbom(args: SbomArgs) -> anyhow::Result<u8> {
    if !args.path.exists() {
        anyhow::bail!("`{}` does not exist", args.path.display());
    }
    let options = Options {
        hash_files: !args.no_hash,
        ..Options::default()
    };
    let (inventory, image_findings) =
        crate::image_cmd::collect(&args.path, args.platform.as_deref(), &options)?;
    for finding in &image_findings {
        eprintln!("warning: {}: {}", finding.location, finding.message);
    }
    let format = match args.format {
        SbomFormatArg::Cyclonedx => SbomFormat::CycloneDx,
        SbomFormatArg::Spdx => SbomFormat::Spdx23,
        SbomFormatArg::Spdx3 => SbomFormat::Spdx3,
    };
    let document = inventory.render(format, &SbomOptions::new(env!("CARGO_PKG_VERSION")));
    match &args.output {
        Some(path) => rampart_core::write_atomically(path, &document)
            .with_context(|| format!("cannot write the SBOM to `{}`", path.display()))?,
        None => crate::output::print_stdout(&String::from_utf8_lossy(&document))?,
    }
    // Whatever could not be read is part of the answer: say so rather than ship a short SBOM
    // silently.
    for problem in &inventory.problems {
        let finding = problem.to_finding();
        eprintln!("warning: {}: {}", finding.location, finding.message);
    }
    eprintln!(
        "{} packages, {} models, {} datasets from {} sources{}",
        inventory.packages.len(),
        inventory.models.len(),
        inventory.datasets.len(),
        inventory.sources.len(),
        if inventory.problems.is_empty() {
            String::new()
        } else {
            format!("; {} problems (above)", inventory.problems.len())
        }
    );
    Ok(0)
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// A project directory, a virtualenv or site-packages, a lock or manifest file, or a
    /// CycloneDX SBOM.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,

    /// Read OSV advisories from this directory (or OSV export .zip) as they are, instead of
    /// the imported database.
    #[arg(long, value_name = "DIR", conflicts_with = "db_path")]
    pub db: Option<PathBuf>,

    #[command(flatten)]
    pub db_path: DbPathArg,

    /// Refuse an imported database older than this many days.
    #[arg(long, value_name = "DAYS", default_value_t = 30.0)]
    pub max_db_age: f64,

    /// Popular PyPI names to check for typosquats against [default: the list imported with
    /// the database].
    #[arg(long, value_name = "FILE")]
    pub top_list: Option<PathBuf>,

    #[command(flatten)]
    pub output: OutputArgs,

    /// Fail (exit 1) when a finding is at or above this severity [default: high, or
    /// `fail_on` from rampart.toml].
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,

    /// Configuration file [default: rampart.toml in the current directory or its parents].
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,

    /// Ignore any rampart.toml.
    #[arg(long)]
    pub no_config: bool,

    /// The platform (`os/arch[/variant]`) to audit from a multi-arch container image.
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
}

pub fn audit(args: AuditArgs) -> anyhow::Result<u8> {
    if !args.path.exists() {
        anyhow::bail!("`{}` does not exist", args.path.display());
    }
    let (config, origin) = crate::scan_cmd::load_config(args.config.as_deref(), args.no_config)?;
    let policy = config.policy(&origin, &crate::rules_cmd::all_rules())?;

    let (database, popular, mut notices) = open_database(&args)?;
    let options = Options {
        hash_files: false,
        ..Options::default()
    };
    let (inventory, mut findings) =
        crate::image_cmd::collect(&args.path, args.platform.as_deref(), &options)?;
    findings.extend(
        inventory
            .problems
            .iter()
            .map(|problem| problem.to_finding()),
    );
    let references: Vec<PackageRef> = inventory
        .packages
        .iter()
        .map(|package| PackageRef {
            name: package.name.clone(),
            version: package.version.clone(),
        })
        .collect();
    let verdicts = crate::image_cmd::audit_verdicts(&database, &inventory.packages, &references);
    let mut withdrawn = 0;
    for (package, verdict) in inventory.packages.iter().zip(&verdicts) {
        withdrawn += verdict.withdrawn.len();
        let first = findings.len();
        verdict_findings(verdict, &package.location, &mut findings);
        hygiene_findings(package, inventory.has_lock(), &mut findings);
        let coordinate = PackageCoordinate {
            fixed_version: verdict.fix.clone(),
            ..coordinate(package)
        };
        for finding in &mut findings[first..] {
            finding.package = Some(coordinate.clone());
        }
    }
    match &popular {
        Some(squats) => {
            let mut checked = BTreeSet::new();
            for (package, reference) in inventory.packages.iter().zip(&references) {
                if package.os.is_none()
                    && checked.insert(package.normalized_name.clone())
                    && let Some(squat) = squats.check(&package.normalized_name)
                {
                    findings.push(
                        typosquat_finding(reference, &squat, &package.location)
                            .with_package(coordinate(package)),
                    );
                }
            }
        }
        None => notices.push(
            "typosquat check off: no popular-package list (import one with `rampart db import --top-list FILE`, or pass --top-list)"
                .to_owned(),
        ),
    }
    if withdrawn > 0 {
        notices.push(format!(
            "{withdrawn} withdrawn advisories matched and were not reported"
        ));
    }
    notices.push(format!(
        "audited {} package occurrences ({} distinct) from {} sources",
        inventory.packages.len(),
        inventory
            .packages
            .iter()
            .map(|p| &p.normalized_name)
            .collect::<BTreeSet<_>>()
            .len(),
        inventory.sources.len()
    ));
    if inventory.packages.is_empty() {
        notices.push(format!(
            "no Python package was found in `{}`: nothing was audited",
            args.path.display()
        ));
    }

    let files: Vec<FileVerdict> = inventory
        .sources
        .iter()
        .map(|source| FileVerdict::new(&source.path, source.format.as_str(), 0))
        .collect();
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let mut policy_notices = policy.apply(&mut findings, today);
    policy_notices.extend(notices);
    let fail_on = args.fail_on.or(config.fail_on).unwrap_or(Severity::High);
    let report = Report::new(
        "audit",
        env!("CARGO_PKG_VERSION"),
        fail_on,
        files,
        findings,
        policy_notices,
    );
    crate::output::emit_with_dependencies(
        &report,
        &args.output,
        false,
        Some(&dependency_files(&inventory)),
    )?;
    Ok(u8::from(report.summary.failed))
}

/// How dependency reports name `package`.
fn coordinate(package: &Package) -> PackageCoordinate {
    PackageCoordinate {
        ecosystem: match package.ecosystem {
            Ecosystem::PyPI => "PyPI".to_owned(),
            Ecosystem::Conda => "conda".to_owned(),
            Ecosystem::Deb => "deb".to_owned(),
            Ecosystem::Apk => "apk".to_owned(),
            Ecosystem::Rpm => "rpm".to_owned(),
        },
        name: package.name.clone(),
        version: package
            .version
            .clone()
            .or_else(|| package.specifier.clone()),
        fixed_version: None,
    }
}

/// Every package under the source file (or environment directory) that declared it, for
/// GitLab's dependency list.
fn dependency_files(inventory: &Inventory) -> Vec<DependencyFile> {
    let mut files: Vec<DependencyFile> = inventory
        .sources
        .iter()
        .map(|source| DependencyFile {
            path: source.path.clone(),
            package_manager: package_manager(source.format).to_owned(),
            dependencies: Vec::new(),
        })
        .collect();
    for package in &inventory.packages {
        let declared_in = &package.location.path;
        let source = files
            .iter_mut()
            .filter(|file| {
                declared_in == &file.path
                    || Path::new(declared_in).starts_with(Path::new(&file.path))
            })
            .max_by_key(|file| file.path.len());
        if let Some(file) = source {
            let version = coordinate(package)
                .version
                .unwrap_or_else(|| "*".to_owned());
            file.dependencies.push((package.name.clone(), version));
        }
    }
    files
}

/// GitLab's package-manager names (those its own analyzers write).
fn package_manager(format: SourceFormat) -> &'static str {
    match format {
        SourceFormat::Environment
        | SourceFormat::RequirementsTxt
        | SourceFormat::Pyproject
        | SourceFormat::Pylock
        | SourceFormat::CycloneDx => "pip",
        SourceFormat::PoetryLock => "poetry",
        SourceFormat::PipfileLock => "pipenv",
        SourceFormat::UvLock => "uv",
        SourceFormat::CondaEnvironment => "conda",
        SourceFormat::DpkgStatus => "dpkg",
        SourceFormat::ApkInstalled => "apk",
        SourceFormat::RpmDb | SourceFormat::RpmBerkeleyDb | SourceFormat::RpmNdb => "rpm",
    }
}

/// The database and popular list to audit against, and notices describing them.
fn open_database(args: &AuditArgs) -> anyhow::Result<(Database, Option<Typosquats>, Vec<String>)> {
    let mut notices = Vec::new();
    let (database, db_dir) = match &args.db {
        Some(dir) => (Database::open_osv_dir(dir)?, None),
        None => {
            let path = args.db_path.resolve()?;
            let database = Database::open(&path).with_context(|| {
                format!("no usable advisory database at `{}`: import one with `rampart db import OSV_DIR`, or pass --db OSV_DIR", path.display())
            })?;
            if let Some(days) = age_days(database.info())
                && days > args.max_db_age
            {
                anyhow::bail!(
                    "the advisory database at `{}` is {days:.0} days old (limit {}): import a fresh OSV export with `rampart db import`, or raise --max-db-age",
                    path.display(),
                    args.max_db_age
                );
            }
            (database, Some(path))
        }
    };
    let info = database.info();
    notices.push(format!(
        "advisories: {} ({} vulnerabilities, {} malicious) from {}; newest advisory {}",
        info.counts.advisories,
        info.counts.vulnerabilities,
        info.counts.malicious,
        info.source,
        info.newest_modified
            .map_or_else(|| "unknown".to_owned(), |at| at.to_string())
    ));
    let popular = match (&args.top_list, &db_dir) {
        (Some(path), _) => Some(Typosquats::from_top_list(&read_top_list(path)?)),
        (None, Some(dir)) => std::fs::read_to_string(dir.join(POPULAR_LIST))
            .ok()
            .map(|text| Typosquats::from_top_list(&text)),
        (None, None) => None,
    };
    Ok((database, popular, notices))
}

/// Unpinned, unhashed and direct-URL dependencies: what makes a build unreproducible or
/// unreviewable even when no advisory names the package.
fn hygiene_findings(package: &Package, project_has_lock: bool, out: &mut Vec<Finding>) {
    let declared = matches!(
        package.origin,
        SourceFormat::RequirementsTxt | SourceFormat::Pyproject | SourceFormat::CondaEnvironment
    );
    if package.source.is_direct() && !package.editable {
        out.push(Finding::new(
            &DIRECT_URL_DEPENDENCY,
            package.location.clone(),
            format!(
                "{} comes from {} rather than a package index: no advisory database can vouch for what it contains",
                package.name,
                describe_source(package)
            ),
        ));
        return;
    }
    if !declared || project_has_lock {
        return;
    }
    match &package.version {
        None => out.push(Finding::new(
            &UNPINNED_REQUIREMENT,
            package.location.clone(),
            format!(
                "{} is not pinned ({}), and no lock file fixes its version: each install may get a different release, including a compromised one, and it cannot be audited",
                package.name,
                package.specifier.as_deref().unwrap_or("any version")
            ),
        )),
        Some(version) if package.hashes.is_empty() && package.origin == SourceFormat::RequirementsTxt => {
            out.push(Finding::new(
                &UNHASHED_REQUIREMENT,
                package.location.clone(),
                format!(
                    "{}=={version} is pinned without --hash: a replaced artifact with the same version would install unnoticed",
                    package.name
                ),
            ));
        }
        Some(_) => {}
    }
}

fn describe_source(package: &Package) -> String {
    match &package.source {
        rampart_inventory::PackageSource::Url { url } => format!("the URL {url}"),
        rampart_inventory::PackageSource::Vcs {
            url, vcs, commit, ..
        } => match commit {
            Some(commit) => format!("the {vcs} repository {url} at {commit}"),
            None => format!("the {vcs} repository {url} (no commit pinned)"),
        },
        rampart_inventory::PackageSource::Local { path } => format!("the local path {path}"),
        rampart_inventory::PackageSource::Index { url } => format!("the index {url}"),
        rampart_inventory::PackageSource::Registry => "the default index".to_owned(),
    }
}
