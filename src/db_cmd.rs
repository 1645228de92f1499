//! `rampart db`: the local, offline advisory database `rampart audit` reads.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use rampart_advisories::{Database, DbInfo, ProblemKind, default_db_path};

/// The popular-package list kept beside an imported database, for typosquat checks.
pub const POPULAR_LIST: &str = "popular.txt";

#[derive(Args, Debug)]
pub struct DbArgs {
    #[command(subcommand)]
    pub command: DbCommand,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum InfoFormat {
    Table,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum DbCommand {
    /// Import OSV advisories (a directory of OSV JSON records, or an OSV export .zip) into the
    /// local database, replacing what was there. Never touches the network.
    Import {
        #[arg(value_name = "PATH")]
        source: PathBuf,
        #[command(flatten)]
        location: DbPathArg,
        /// A list of popular PyPI names (`rank<TAB>name` or one name per line) to check
        /// dependencies for typosquats against; kept with the database [default: keep the
        /// list already imported, if any].
        #[arg(long, value_name = "FILE")]
        top_list: Option<PathBuf>,
        /// List every advisory that was only partly usable, not just how many.
        #[arg(long, short = 'v')]
        verbose: bool,
    },
    /// Print the database's location, age, newest advisory and counts.
    Info {
        #[command(flatten)]
        location: DbPathArg,
        #[arg(long, short = 'f', value_enum, default_value_t = InfoFormat::Table)]
        format: InfoFormat,
    },
}

#[derive(Args, Debug, Clone)]
pub struct DbPathArg {
    /// The database directory [default: $XDG_CACHE_HOME/rampart/db or ~/.cache/rampart/db].
    #[arg(long, value_name = "DIR")]
    pub db_path: Option<PathBuf>,
}

impl DbPathArg {
    pub fn resolve(&self) -> anyhow::Result<PathBuf> {
        match &self.db_path {
            Some(path) => Ok(path.clone()),
            None => default_db_path()
                .context("no cache directory (set XDG_CACHE_HOME or HOME, or pass --db-path)"),
        }
    }
}

pub fn run(args: DbArgs) -> anyhow::Result<u8> {
    match args.command {
        DbCommand::Import {
            source,
            location,
            top_list,
            verbose,
        } => {
            let db_path = location.resolve()?;
            // The import replaces the directory: carry the popular list over unless a new one
            // is given, and check a new one before anything is replaced.
            let popular = match &top_list {
                Some(path) => Some(read_top_list(path)?),
                None => std::fs::read_to_string(db_path.join(POPULAR_LIST)).ok(),
            };
            let summary = Database::import(&source, &db_path)?;
            if let Some(list) = &popular {
                rampart_core::write_atomically(&db_path.join(POPULAR_LIST), list.as_bytes())
                    .with_context(|| {
                        format!("cannot write {}", db_path.join(POPULAR_LIST).display())
                    })?;
            }
            print!("{}", describe(&summary.info, popular.as_deref()));
            let mut partial = 0;
            for problem in &summary.problems {
                // A rejected document is always listed; partly usable ones on request.
                if problem.kind == ProblemKind::Partial && !verbose {
                    partial += 1;
                    continue;
                }
                eprintln!(
                    "warning: {}{}: {}",
                    problem.file,
                    problem
                        .id
                        .as_deref()
                        .map(|id| format!(" ({id})"))
                        .unwrap_or_default(),
                    problem.reason
                );
            }
            if partial > 0 {
                eprintln!(
                    "note: {partial} advisories were partly usable (version strings that are not PEP 440 were skipped); --verbose lists them"
                );
            }
            Ok(0)
        }
        DbCommand::Info { location, format } => {
            let db_path = location.resolve()?;
            let database = Database::open(&db_path)?;
            let popular = std::fs::read_to_string(db_path.join(POPULAR_LIST)).ok();
            match format {
                InfoFormat::Table => print!("{}", describe(database.info(), popular.as_deref())),
                InfoFormat::Json => {
                    let mut value = serde_json::to_value(database.info())?;
                    value["age_days"] = serde_json::json!(age_days(database.info()));
                    value["popular_names"] = serde_json::json!(popular.as_deref().map(count_names));
                    println!("{}", serde_json::to_string_pretty(&value)?);
                }
            }
            Ok(0)
        }
    }
}

/// Reads and checks a popular-names list.
pub fn read_top_list(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the popular-package list `{}`", path.display()))?;
    if count_names(&text) == 0 {
        anyhow::bail!("`{}` lists no package names", path.display());
    }
    Ok(text)
}

fn count_names(text: &str) -> usize {
    text.lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .count()
}

pub fn age_days(info: &DbInfo) -> Option<f64> {
    info.age(jiff::Timestamp::now())
        .map(|age| age.as_secs_f64() / 86_400.0)
}

fn describe(info: &DbInfo, popular: Option<&str>) -> String {
    let mut out = String::new();
    let counts = &info.counts;
    let _ = writeln!(out, "advisory database {}", info.location.display());
    let _ = writeln!(out, "  source: {}", info.source);
    if let Some(at) = info.imported_at {
        let _ = writeln!(
            out,
            "  imported: {at} ({:.1} days ago)",
            age_days(info).unwrap_or_default()
        );
    }
    if let Some(newest) = info.newest_modified {
        let _ = writeln!(out, "  newest advisory: {newest}");
    }
    let _ = writeln!(
        out,
        "  {} advisories on {} packages: {} vulnerabilities, {} malicious, {} withdrawn",
        counts.advisories,
        counts.packages,
        counts.vulnerabilities,
        counts.malicious,
        counts.withdrawn
    );
    if counts.rejected > 0 || counts.unparsed_versions > 0 {
        let _ = writeln!(
            out,
            "  {} documents rejected, {} non-PEP 440 version strings skipped",
            counts.rejected, counts.unparsed_versions
        );
    }
    match popular {
        Some(list) => {
            let _ = writeln!(
                out,
                "  typosquat check: {} popular names",
                count_names(list)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "  typosquat check: off (import a list with --top-list FILE)"
            );
        }
    }
    out
}
