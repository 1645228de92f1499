//! The compiled database on disk: a directory with two files.
//!
//! * `advisories.tsv`: one line per PyPI package, `name<TAB>json<LF>`, the JSON being that
//!   package's compiled advisories. Opening only indexes the lines; an audit parses the
//!   lines of the packages it asks about and nothing else.
//! * `meta.json`: format name and schema version, when and from what it was imported,
//!   counts, the newest `modified` date, and the store file's size and SHA-256, which is
//!   checked on every open, so a truncated or edited store is an error rather than a
//!   silently smaller database.
//!
//! Both are written to a temporary directory beside the target, synced, and renamed into
//! place, so readers see the old database or the new one, never half of one.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::compile::StoredAdvisory;
use crate::database::DbError;
use crate::load::{Counts, Loaded};

const FORMAT: &str = "rampart-advisory-db";
/// Bumped whenever the store's content changes meaning; older stores must be re-imported.
pub const SCHEMA_VERSION: u32 = 1;
const META_FILE: &str = "meta.json";
const STORE_FILE: &str = "advisories.tsv";
const MAX_META_BYTES: u64 = 1 << 20;

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Meta {
    pub format: String,
    pub schema_version: u32,
    pub imported_at: String,
    pub source: String,
    #[serde(default)]
    pub newest_modified: Option<String>,
    pub counts: Counts,
    pub store: StoreDigest,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StoreDigest {
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
}

/// A store read back: its metadata, its text, and where each package's line is.
pub(crate) struct Opened {
    pub meta: Meta,
    pub text: Vec<u8>,
    pub index: HashMap<String, Range<usize>>,
}

/// Writes `loaded` as a database at `db_path`, replacing an earlier one atomically.
pub(crate) fn write(
    loaded: &Loaded,
    source: &str,
    imported_at: Timestamp,
    db_path: &Path,
) -> Result<(), DbError> {
    ensure_replaceable(db_path)?;
    let mut text = Vec::new();
    for (name, advisories) in &loaded.packages {
        text.extend_from_slice(name.as_bytes());
        text.push(b'\t');
        serde_json::to_writer(&mut text, advisories).map_err(|e| DbError::Corrupt {
            path: db_path.to_path_buf(),
            reason: format!("cannot serialise {name}: {e}"),
        })?;
        text.push(b'\n');
    }
    let meta = Meta {
        format: FORMAT.to_owned(),
        schema_version: SCHEMA_VERSION,
        imported_at: imported_at.to_string(),
        source: source.to_owned(),
        newest_modified: loaded.newest_modified.map(|t| t.to_string()),
        counts: loaded.counts.clone(),
        store: StoreDigest {
            file: STORE_FILE.to_owned(),
            bytes: text.len() as u64,
            sha256: hex::encode(Sha256::digest(&text)),
        },
    };
    let meta_json = serde_json::to_vec_pretty(&meta).map_err(|e| DbError::Corrupt {
        path: db_path.to_path_buf(),
        reason: e.to_string(),
    })?;

    let parent = match db_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| DbError::Io { path, error }
    };
    fs::create_dir_all(&parent).map_err(io(&parent))?;
    let staging = sibling(db_path, &parent, "import");
    fs::create_dir(&staging).map_err(io(&staging))?;
    let written = write_file(&staging.join(STORE_FILE), &text)
        .and_then(|()| write_file(&staging.join(META_FILE), &meta_json))
        .map_err(io(&staging))
        .and_then(|()| swap_into_place(&staging, db_path, &parent));
    if written.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    written
}

/// Refuses to replace anything but an earlier database or an empty directory, so that a
/// mistyped `--db-path` cannot delete a user's directory.
fn ensure_replaceable(db_path: &Path) -> Result<(), DbError> {
    let refuse = |reason: &str| DbError::RefuseToReplace {
        path: db_path.to_path_buf(),
        reason: reason.to_owned(),
    };
    let Ok(metadata) = fs::symlink_metadata(db_path) else {
        return Ok(());
    };
    if !metadata.is_dir() {
        return Err(refuse("it is not a directory"));
    }
    let mut entries = fs::read_dir(db_path).map_err(|error| DbError::Io {
        path: db_path.to_path_buf(),
        error,
    })?;
    if entries.next().is_none() {
        return Ok(());
    }
    match read_meta(db_path) {
        Ok(meta) if meta.format == FORMAT => Ok(()),
        _ => Err(refuse(
            "it is not empty and holds no rampart advisory database",
        )),
    }
}

fn sibling(db_path: &Path, parent: &Path, purpose: &str) -> PathBuf {
    let name = db_path
        .file_name()
        .map_or_else(|| "db".into(), |n| n.to_string_lossy().into_owned());
    let nanos = Timestamp::now().as_nanosecond();
    parent.join(format!(".{name}.{purpose}-{}-{nanos}", std::process::id()))
}

fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Moves the staged directory to `db_path`. A directory cannot be renamed over a
/// non-empty one, so an earlier database is first moved aside, and moved back if the
/// second rename fails.
fn swap_into_place(staging: &Path, db_path: &Path, parent: &Path) -> Result<(), DbError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| DbError::Io { path, error }
    };
    let previous = if fs::symlink_metadata(db_path).is_ok() {
        let aside = sibling(db_path, parent, "previous");
        fs::rename(db_path, &aside).map_err(io(db_path))?;
        Some(aside)
    } else {
        None
    };
    if let Err(error) = fs::rename(staging, db_path) {
        if let Some(aside) = &previous {
            let _ = fs::rename(aside, db_path);
        }
        return Err(io(db_path)(error));
    }
    if let Some(aside) = previous {
        // The new database is in place; a leftover copy of the old one is only clutter.
        let _ = fs::remove_dir_all(aside);
    }
    if let Ok(dir) = File::open(parent) {
        let _ = dir.sync_all();
    }
    Ok(())
}

fn read_meta(db_path: &Path) -> Result<Meta, DbError> {
    let path = db_path.join(META_FILE);
    let bytes = read_bounded(&path, MAX_META_BYTES)?;
    serde_json::from_slice(&bytes).map_err(|e| DbError::NotADatabase {
        path: db_path.to_path_buf(),
        reason: format!("{META_FILE}: {e}"),
    })
}

fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, DbError> {
    let io = |error| DbError::Io {
        path: path.to_path_buf(),
        error,
    };
    let file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len > max {
        return Err(DbError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("{len} bytes, expected at most {max}"),
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or_default());
    file.take(max).read_to_end(&mut bytes).map_err(io)?;
    Ok(bytes)
}

/// Reads and verifies a database, and indexes its lines.
pub(crate) fn open(db_path: &Path) -> Result<Opened, DbError> {
    let meta = read_meta(db_path)?;
    let corrupt = |reason: String| DbError::Corrupt {
        path: db_path.to_path_buf(),
        reason,
    };
    if meta.format != FORMAT {
        return Err(DbError::NotADatabase {
            path: db_path.to_path_buf(),
            reason: format!("{META_FILE} names format '{}'", meta.format),
        });
    }
    if meta.schema_version != SCHEMA_VERSION {
        return Err(DbError::UnsupportedSchema {
            path: db_path.to_path_buf(),
            found: meta.schema_version,
            expected: SCHEMA_VERSION,
        });
    }
    if meta.store.file != STORE_FILE {
        return Err(corrupt(format!(
            "unexpected store file '{}'",
            meta.store.file
        )));
    }
    let text = read_bounded(&db_path.join(STORE_FILE), meta.store.bytes)?;
    if text.len() as u64 != meta.store.bytes {
        return Err(corrupt(format!(
            "{STORE_FILE} has {} bytes, {META_FILE} says {}",
            text.len(),
            meta.store.bytes
        )));
    }
    let digest = hex::encode(Sha256::digest(&text));
    if digest != meta.store.sha256 {
        return Err(corrupt(format!(
            "{STORE_FILE} does not match the SHA-256 in {META_FILE}: it was modified or damaged"
        )));
    }
    let index = index_lines(&text).map_err(corrupt)?;
    if index.len() != meta.counts.packages {
        return Err(corrupt(format!(
            "{STORE_FILE} holds {} packages, {META_FILE} says {}",
            index.len(),
            meta.counts.packages
        )));
    }
    Ok(Opened { meta, text, index })
}

/// Where each package's JSON is in the store text.
fn index_lines(text: &[u8]) -> Result<HashMap<String, Range<usize>>, String> {
    let mut index = HashMap::new();
    let mut start = 0usize;
    while start < text.len() {
        let rest = text.get(start..).unwrap_or_default();
        let line_len = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| format!("the last line (at byte {start}) is not terminated"))?;
        let line = rest.get(..line_len).unwrap_or_default();
        let tab = line
            .iter()
            .position(|&b| b == b'\t')
            .ok_or_else(|| format!("the line at byte {start} has no package name"))?;
        let name = std::str::from_utf8(line.get(..tab).unwrap_or_default())
            .map_err(|_| format!("the package name at byte {start} is not UTF-8"))?;
        let json_start = start + tab + 1;
        let json_end = start + line_len;
        if index
            .insert(name.to_owned(), json_start..json_end)
            .is_some()
        {
            return Err(format!("package '{name}' appears twice"));
        }
        start = json_end + 1;
    }
    Ok(index)
}

/// Parses one package's line.
pub(crate) fn parse_line(json: &[u8]) -> Result<Vec<StoredAdvisory>, String> {
    serde_json::from_slice(json).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_lines_and_rejects_damaged_text() {
        let index = index_lines(b"a\t[]\nbb\t[1]\n").unwrap();
        assert_eq!(index["a"], 2..4);
        assert_eq!(index["bb"], 8..11);
        assert!(
            index_lines(b"a\t[]")
                .unwrap_err()
                .contains("not terminated")
        );
        assert!(
            index_lines(b"a[]\n")
                .unwrap_err()
                .contains("no package name")
        );
        assert!(
            index_lines(b"a\t[]\na\t[]\n")
                .unwrap_err()
                .contains("twice")
        );
        assert!(index_lines(b"").unwrap().is_empty());
    }
}
