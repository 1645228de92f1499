//! Reading OSV advisories from where users keep them: a directory tree of `*.json`
//! records (an advisory-database checkout, converted), the `.zip` an OSV export ships as,
//! or one record file. Every document that is not a usable record is reported with its
//! file and the reason, and counted; none disappears.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use rampart_archive::{Budget, zip};
use rampart_core::mapped::FileBytes;
use rampart_core::{Limits, Location};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::compile::{AdvisoryKind, StoredAdvisory, compile};
use crate::database::DbError;
use crate::osv::parse_record;

/// Bytes one record may have: real records are a few KB, the largest PYSEC one ~200 KB.
pub(crate) const MAX_RECORD_BYTES: u64 = 16 << 20;

/// What a database holds, by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// JSON documents read.
    pub files: usize,
    /// Documents that are not OSV records (see the problems for why).
    pub rejected: usize,
    /// Records with at least one PyPI package, withdrawn ones included.
    pub advisories: usize,
    /// Vulnerability advisories in force (not withdrawn).
    pub vulnerabilities: usize,
    /// Malicious-package advisories in force.
    pub malicious: usize,
    pub withdrawn: usize,
    /// Records about other ecosystems only: loaded, never matched.
    pub not_applicable: usize,
    /// Distinct PyPI packages named.
    pub packages: usize,
    /// Version strings in advisories that are not PEP 440, skipped.
    pub unparsed_versions: usize,
    /// Applicable advisories by id prefix (`PYSEC`, `GHSA`, `MAL`, …).
    pub by_prefix: BTreeMap<String, usize>,
}

/// A record, or a part of one, that could not be used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordProblem {
    /// The file, or `export.zip!/member.json`.
    pub file: String,
    /// The advisory id, when the record got far enough to have one.
    pub id: Option<String>,
    pub kind: ProblemKind,
    pub reason: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// Nothing of the document was loaded.
    Rejected,
    /// The record was loaded without the part named in the reason.
    Partial,
}

/// Advisories read from a source, compiled, by PEP 503 package name.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    pub packages: BTreeMap<String, Vec<StoredAdvisory>>,
    pub counts: Counts,
    pub newest_modified: Option<Timestamp>,
    pub problems: Vec<RecordProblem>,
}

/// One document's bytes, or why there are none.
struct Document<'a> {
    file: String,
    bytes: Result<Cow<'a, [u8]>, String>,
}

pub(crate) fn load(source: &Path) -> Result<Loaded, DbError> {
    let io = |error| DbError::Io {
        path: source.to_path_buf(),
        error,
    };
    let metadata = fs::metadata(source).map_err(io)?;
    if metadata.is_dir() {
        let mut paths = Vec::new();
        collect_json_files(source, &mut paths).map_err(io)?;
        paths.sort();
        let documents: Vec<Document> = paths
            .par_iter()
            .map(|path| Document {
                file: path.display().to_string(),
                bytes: read_record_file(path).map(Cow::Owned),
            })
            .collect();
        return Ok(compile_documents(documents, Vec::new()));
    }
    let file = fs::File::open(source).map_err(io)?;
    let bytes = FileBytes::open(&file, metadata.len()).map_err(io)?;
    if bytes.starts_with(b"PK") {
        return load_zip(source, &bytes);
    }
    if bytes.len() as u64 > MAX_RECORD_BYTES {
        return Err(DbError::NotOsv {
            path: source.to_path_buf(),
            reason: "a single file over 16 MiB that is not a zip".into(),
        });
    }
    let documents = vec![Document {
        file: source.display().to_string(),
        bytes: Ok(Cow::Borrowed(&bytes)),
    }];
    Ok(compile_documents(documents, Vec::new()))
}

/// Every `*.json` below `dir`. Hidden directories (`.git`) are not entered, and symbolic
/// links to directories are not followed, so a link cannot make the walk loop.
fn collect_json_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            if !entry.file_name().to_string_lossy().starts_with('.') {
                collect_json_files(&path, out)?;
            }
        } else if path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("json"))
            && (file_type.is_file() || path.is_file())
        {
            out.push(path);
        }
    }
    Ok(())
}

fn read_record_file(path: &Path) -> Result<Vec<u8>, String> {
    let len = fs::metadata(path).map_err(|e| e.to_string())?.len();
    if len > MAX_RECORD_BYTES {
        return Err(format!("{len} bytes, over the 16 MiB limit for one record"));
    }
    fs::read(path).map_err(|e| e.to_string())
}

fn load_zip(source: &Path, data: &[u8]) -> Result<Loaded, DbError> {
    let location = Location::file(source.display().to_string());
    let limits = Limits {
        max_decompressed_bytes: MAX_RECORD_BYTES,
        ..Limits::default()
    };
    let mut findings = Vec::new();
    let Some(archive) = zip::Archive::open(data, &location, &limits, &mut findings) else {
        return Err(DbError::NotOsv {
            path: source.to_path_buf(),
            reason: findings
                .first()
                .map_or_else(|| "not a zip archive".to_owned(), |f| f.message.clone()),
        });
    };
    let mut budget = Budget::new(&limits);
    let mut documents = Vec::new();
    for entry in archive.entries() {
        if entry.is_dir || !entry.name.to_ascii_lowercase().ends_with(".json") {
            continue;
        }
        let member = location.member(&entry.name);
        let before = findings.len();
        let bytes = archive
            .read(entry, &mut budget, &member, &limits, &mut findings)
            .ok_or_else(|| {
                findings
                    .get(before..)
                    .and_then(|new| new.first())
                    .map_or_else(
                        || "the member could not be read (see the archive's problems)".to_owned(),
                        |f| f.message.clone(),
                    )
            });
        documents.push(Document {
            file: member.container_path(),
            bytes,
        });
    }
    let archive_problems = findings
        .into_iter()
        .map(|finding| RecordProblem {
            file: finding.location.container_path(),
            id: None,
            kind: if finding.marks_incomplete() {
                ProblemKind::Rejected
            } else {
                ProblemKind::Partial
            },
            reason: format!("{}: {}", finding.rule.id, finding.message),
        })
        .collect();
    Ok(compile_documents(documents, archive_problems))
}

/// Parses and compiles in parallel, then merges in document order so that the result does
/// not depend on scheduling.
fn compile_documents(documents: Vec<Document<'_>>, mut problems: Vec<RecordProblem>) -> Loaded {
    let compiled: Vec<_> = documents
        .par_iter()
        .map(|doc| {
            let record = doc
                .bytes
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|bytes| parse_record(bytes).map_err(|e| e.to_string()))?;
            let compiled = compile(&record);
            Ok::<_, String>((record, compiled))
        })
        .collect();
    let mut loaded = Loaded::default();
    let mut seen = HashSet::new();
    for (doc, result) in documents.iter().zip(compiled) {
        loaded.counts.files += 1;
        let (record, compiled) = match result {
            Ok(parsed) => parsed,
            Err(reason) => {
                loaded.counts.rejected += 1;
                problems.push(problem(&doc.file, None, ProblemKind::Rejected, reason));
                continue;
            }
        };
        let id = Some(record.id.as_str());
        if !seen.insert(record.id.clone()) {
            loaded.counts.rejected += 1;
            problems.push(problem(
                &doc.file,
                id,
                ProblemKind::Rejected,
                "an advisory with this id was already loaded from an earlier file; this copy is \
                 ignored"
                    .into(),
            ));
            continue;
        }
        for warning in compiled.warnings {
            problems.push(problem(&doc.file, id, ProblemKind::Partial, warning));
        }
        loaded.counts.unparsed_versions += compiled.unparsed_versions;
        if compiled.packages.is_empty() {
            loaded.counts.not_applicable += 1;
            continue;
        }
        loaded.counts.advisories += 1;
        let prefix = record.id.split('-').next().unwrap_or_default().to_owned();
        *loaded.counts.by_prefix.entry(prefix).or_default() += 1;
        let kind = compiled.packages.first().map(|(_, a)| a.kind);
        match (record.withdrawn.is_some(), kind) {
            (true, _) => loaded.counts.withdrawn += 1,
            (false, Some(AdvisoryKind::Malicious)) => loaded.counts.malicious += 1,
            (false, _) => loaded.counts.vulnerabilities += 1,
        }
        match record.modified.as_deref().map(str::parse::<Timestamp>) {
            Some(Ok(modified)) => {
                loaded.newest_modified = loaded.newest_modified.max(Some(modified));
            }
            Some(Err(error)) => problems.push(problem(
                &doc.file,
                id,
                ProblemKind::Partial,
                format!("'modified' is not an RFC 3339 timestamp ({error})"),
            )),
            None => problems.push(problem(
                &doc.file,
                id,
                ProblemKind::Partial,
                "the required 'modified' field is missing".into(),
            )),
        }
        for (name, advisory) in compiled.packages {
            loaded.packages.entry(name).or_default().push(advisory);
        }
    }
    loaded.counts.packages = loaded.packages.len();
    loaded.problems = problems;
    loaded
}

fn problem(file: &str, id: Option<&str>, kind: ProblemKind, reason: String) -> RecordProblem {
    RecordProblem {
        file: file.to_owned(),
        id: id.map(str::to_owned),
        kind,
        reason,
    }
}
