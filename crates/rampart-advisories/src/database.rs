//! The advisory database: opened from OSV files directly (`--db DIR`) or from a compiled
//! store made by [`Database::import`] (`rampart db import`), audited the same way.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::ops::Range;
use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};
use serde::{Serialize, Serializer};

use crate::compile::StoredAdvisory;
use crate::load::{Counts, RecordProblem, load};
use crate::matching::{Matcher, VersionMatcher};
use crate::os_version::{ApkVersion, DpkgVersion, RpmVersion, Scheme, os_package_key};
use crate::store;
use crate::verdict::{OsPackageRef, PackageRef, PackageVerdict, Unchecked};
use crate::version::normalize_name;

/// Why a database could not be opened or imported.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        error: std::io::Error,
    },
    #[error("{}: not OSV advisories: {reason}", path.display())]
    NotOsv { path: PathBuf, reason: String },
    #[error(
        "{}: the advisory database is empty: no PyPI advisory was loaded ({rejected} document(s) \
         rejected); refusing to audit against nothing",
        path.display()
    )]
    Empty { path: PathBuf, rejected: usize },
    #[error("{}: not a rampart advisory database ({reason}); run `rampart db import`", path.display())]
    NotADatabase { path: PathBuf, reason: String },
    #[error(
        "{}: advisory database schema {found}, this rampart reads schema {expected}; run \
         `rampart db import` again",
        path.display()
    )]
    UnsupportedSchema {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error("{}: the advisory database is damaged: {reason}; run `rampart db import` again", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error("{}: will not replace it with an advisory database: {reason}", path.display())]
    RefuseToReplace { path: PathBuf, reason: String },
}

/// Where a database came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DbKind {
    /// OSV files read as they are (`--db DIR`).
    OsvFiles,
    /// A store written by `rampart db import`.
    Imported,
}

/// What `rampart db info` prints, and what an audit summary cites.
#[derive(Clone, Debug, Serialize)]
pub struct DbInfo {
    pub kind: DbKind,
    /// The directory, zip or store that was opened.
    pub location: PathBuf,
    /// What was imported (for an OSV directory, the same as `location`).
    pub source: String,
    pub schema_version: u32,
    /// When the store was imported; `None` for OSV files read directly.
    #[serde(serialize_with = "timestamp")]
    pub imported_at: Option<Timestamp>,
    /// The newest `modified` date among the advisories: how current the data is.
    #[serde(serialize_with = "timestamp")]
    pub newest_modified: Option<Timestamp>,
    pub counts: Counts,
}

impl DbInfo {
    /// Time since import (for `--max-db-age`); `None` for OSV files read directly, which
    /// are used as given.
    pub fn age(&self, now: Timestamp) -> Option<SignedDuration> {
        self.imported_at.map(|at| now.duration_since(at))
    }
}

fn timestamp<S: Serializer>(value: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    value.map(|t| t.to_string()).serialize(s)
}

/// What an import did.
#[derive(Clone, Debug, Serialize)]
pub struct ImportSummary {
    pub info: DbInfo,
    /// Every document, or part of one, that could not be used, with the reason.
    pub problems: Vec<RecordProblem>,
}

/// Advisories, ready to audit packages against.
pub struct Database {
    packages: Packages,
    info: DbInfo,
    problems: Vec<RecordProblem>,
}

enum Packages {
    /// Compiled in memory from OSV files.
    Loaded(BTreeMap<String, Vec<StoredAdvisory>>),
    /// A store's text; each package's line is parsed when an audit asks for it.
    Stored {
        text: Vec<u8>,
        index: HashMap<String, Range<usize>>,
    },
}

impl Database {
    /// Reads OSV advisories as they are: a directory of `*.json` records (recursively), an
    /// OSV export `.zip`, or one record file. Records that cannot be used are in
    /// [`Database::problems`]; a source with no PyPI advisory at all is an error.
    pub fn open_osv_dir(path: &Path) -> Result<Database, DbError> {
        let loaded = load(path)?;
        if loaded.packages.is_empty() {
            return Err(DbError::Empty {
                path: path.to_path_buf(),
                rejected: loaded.counts.rejected,
            });
        }
        let info = DbInfo {
            kind: DbKind::OsvFiles,
            location: path.to_path_buf(),
            source: path.display().to_string(),
            schema_version: store::SCHEMA_VERSION,
            imported_at: None,
            newest_modified: loaded.newest_modified,
            counts: loaded.counts,
        };
        Ok(Database {
            packages: Packages::Loaded(loaded.packages),
            info,
            problems: loaded.problems,
        })
    }

    /// Compiles the OSV advisories at `source` (as [`Database::open_osv_dir`] reads them)
    /// into a store at `db_path`, replacing an earlier database there atomically. An
    /// existing `db_path` that is neither a database nor empty is never touched.
    pub fn import(source: &Path, db_path: &Path) -> Result<ImportSummary, DbError> {
        let loaded = load(source)?;
        if loaded.packages.is_empty() {
            return Err(DbError::Empty {
                path: source.to_path_buf(),
                rejected: loaded.counts.rejected,
            });
        }
        let source_name = std::path::absolute(source)
            .unwrap_or_else(|_| source.to_path_buf())
            .display()
            .to_string();
        let imported_at = Timestamp::now();
        store::write(&loaded, &source_name, imported_at, db_path)?;
        Ok(ImportSummary {
            info: DbInfo {
                kind: DbKind::Imported,
                location: db_path.to_path_buf(),
                source: source_name,
                schema_version: store::SCHEMA_VERSION,
                imported_at: Some(imported_at),
                newest_modified: loaded.newest_modified,
                counts: loaded.counts,
            },
            problems: loaded.problems,
        })
    }

    /// Opens a store written by [`Database::import`], verifying its checksum.
    pub fn open(db_path: &Path) -> Result<Database, DbError> {
        let opened = store::open(db_path)?;
        if opened.index.is_empty() {
            return Err(DbError::Empty {
                path: db_path.to_path_buf(),
                rejected: opened.meta.counts.rejected,
            });
        }
        let parse_time = |field: &str, value: Option<&str>| {
            value
                .map(str::parse::<Timestamp>)
                .transpose()
                .map_err(|e| DbError::Corrupt {
                    path: db_path.to_path_buf(),
                    reason: format!("meta.json {field}: {e}"),
                })
        };
        let info = DbInfo {
            kind: DbKind::Imported,
            location: db_path.to_path_buf(),
            imported_at: parse_time("imported_at", Some(&opened.meta.imported_at))?,
            newest_modified: parse_time("newest_modified", opened.meta.newest_modified.as_deref())?,
            source: opened.meta.source,
            schema_version: opened.meta.schema_version,
            counts: opened.meta.counts,
        };
        Ok(Database {
            packages: Packages::Stored {
                text: opened.text,
                index: opened.index,
            },
            info,
            problems: Vec::new(),
        })
    }

    pub fn info(&self) -> &DbInfo {
        &self.info
    }

    /// Documents, or parts of them, that could not be used when reading OSV files
    /// directly. (An imported store reported them at import time.)
    pub fn problems(&self) -> &[RecordProblem] {
        &self.problems
    }

    /// Audits each package, in the order given. Each distinct package's advisories are
    /// read and parsed once, however many versions of it are asked about.
    pub fn audit(&self, packages: &[PackageRef]) -> Vec<PackageVerdict> {
        let names: Vec<String> = packages.iter().map(|p| normalize_name(&p.name)).collect();
        let mut advisories: HashMap<&str, Result<Cow<'_, [StoredAdvisory]>, String>> =
            HashMap::new();
        for name in &names {
            advisories
                .entry(name.as_str())
                .or_insert_with(|| self.advisories_of(name));
        }
        let matchers: HashMap<&str, Result<Matcher<'_>, String>> = advisories
            .iter()
            .map(|(name, stored)| {
                let matcher = stored
                    .as_ref()
                    .map_err(Clone::clone)
                    .and_then(|s| Matcher::new(s));
                (*name, matcher)
            })
            .collect();
        packages
            .iter()
            .zip(&names)
            .map(|(package, name)| match matchers.get(name.as_str()) {
                Some(Ok(matcher)) => matcher.verdict(package, name.clone()),
                Some(Err(detail)) => damaged(package, name.clone(), detail.clone()),
                None => damaged(package, name.clone(), "not indexed".into()),
            })
            .collect()
    }

    /// Audits OS packages (dpkg, apk, rpm) against the advisories of their distribution
    /// release (`Debian:12`, `Alpine:v3.20`, `Ubuntu:22.04`, `Rocky Linux:9`), keyed by source package and matched
    /// with the package manager's own version ordering. A package whose ecosystem has no
    /// known ordering is unchecked, never clean.
    pub fn audit_os(&self, packages: &[OsPackageRef]) -> Vec<PackageVerdict> {
        let mut cache: HashMap<String, Result<Cow<'_, [StoredAdvisory]>, String>> = HashMap::new();
        packages
            .iter()
            .map(|package| {
                let key = os_package_key(&package.ecosystem, &package.name);
                let reference = PackageRef {
                    name: package.name.clone(),
                    version: package.version.clone(),
                };
                let Some(scheme) = Scheme::of_ecosystem(&package.ecosystem) else {
                    return damaged(
                        &reference,
                        key,
                        format!(
                            "no version ordering is known for ecosystem {}",
                            package.ecosystem
                        ),
                    );
                };
                let stored = cache
                    .entry(key.clone())
                    .or_insert_with(|| self.advisories_of(&key));
                let stored = match stored {
                    Ok(stored) => stored,
                    Err(detail) => return damaged(&reference, key, detail.clone()),
                };
                let verdict = match scheme {
                    Scheme::Dpkg => VersionMatcher::<DpkgVersion>::new(stored)
                        .map(|m| m.verdict(&reference, key.clone())),
                    Scheme::Apk => VersionMatcher::<ApkVersion>::new(stored)
                        .map(|m| m.verdict(&reference, key.clone())),
                    Scheme::Rpm => VersionMatcher::<RpmVersion>::new(stored)
                        .map(|m| m.verdict(&reference, key.clone())),
                };
                verdict.unwrap_or_else(|detail| damaged(&reference, key, detail))
            })
            .collect()
    }

    fn advisories_of(&self, name: &str) -> Result<Cow<'_, [StoredAdvisory]>, String> {
        match &self.packages {
            Packages::Loaded(map) => Ok(map
                .get(name)
                .map_or(Cow::Borrowed(&[][..]), |a| Cow::Borrowed(a.as_slice()))),
            Packages::Stored { text, index } => match index.get(name) {
                None => Ok(Cow::Borrowed(&[][..])),
                Some(range) => {
                    let json = text.get(range.clone()).ok_or("line out of range")?;
                    store::parse_line(json).map(Cow::Owned)
                }
            },
        }
    }
}

fn damaged(package: &PackageRef, name: String, detail: String) -> PackageVerdict {
    PackageVerdict {
        package: package.clone(),
        normalized_name: name,
        matches: Vec::new(),
        withdrawn: Vec::new(),
        fix: None,
        unchecked: Some(Unchecked::DamagedEntry { detail }),
    }
}

/// Where `rampart db import` writes by default: `$XDG_CACHE_HOME/rampart/db`, else
/// `~/.cache/rampart/db`. `None` when neither variable gives a usable directory.
pub fn default_db_path() -> Option<PathBuf> {
    db_path_from(std::env::var_os("XDG_CACHE_HOME"), std::env::var_os("HOME"))
}

fn db_path_from(xdg_cache_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    // The XDG spec says a relative value is invalid and must be ignored.
    let cache = xdg_cache_home
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            home.filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(cache.join("rampart").join("db"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_path_follows_xdg_then_home() {
        assert_eq!(
            db_path_from(Some("/x/cache".into()), Some("/home/u".into())),
            Some(PathBuf::from("/x/cache/rampart/db"))
        );
        assert_eq!(
            db_path_from(Some("relative".into()), Some("/home/u".into())),
            Some(PathBuf::from("/home/u/.cache/rampart/db"))
        );
        assert_eq!(
            db_path_from(None, Some("/home/u".into())),
            Some(PathBuf::from("/home/u/.cache/rampart/db"))
        );
        assert_eq!(db_path_from(Some("".into()), Some("".into())), None);
    }
}
