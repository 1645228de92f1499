//! The bodies of the inventory fuzz targets (`fuzz/fuzz_targets/inventory_*.rs`), here so the
//! corpus replay test drives the code exactly as the fuzzer does. They panic only when a
//! parser breaks one of its own promises.

use rampart_core::Location;

use crate::inventory::{SourceFormat, Subject};
use crate::manifests;
use crate::ml::{card, classify, gguf, onnx};
use crate::sbom::{SbomFormat, SbomOptions};
use crate::{Inventory, ModelCard};

/// Entries each parser may produce from one input, as `Limits::max_metadata_entries`.
const MAX_ENTRIES: u64 = 10_000;

/// Every manifest and lock-file parser, the METADATA reader, the model-card reader and the
/// CycloneDX reader on the same text; what they find is rendered in all three formats.
#[allow(
    clippy::panic,
    reason = "a fuzz target reports a broken promise by panicking"
)]
pub fn manifests(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let location = Location::file("input");
    let mut inventory = Inventory {
        subject: Subject {
            name: "fuzz".to_owned(),
            version: None,
        },
        ..Inventory::default()
    };
    for format in [
        SourceFormat::RequirementsTxt,
        SourceFormat::Pyproject,
        SourceFormat::PoetryLock,
        SourceFormat::PipfileLock,
        SourceFormat::UvLock,
        SourceFormat::Pylock,
        SourceFormat::CondaEnvironment,
    ] {
        let parsed = manifests::parse(format, &text, &location, "dir", MAX_ENTRIES);
        assert!(parsed.packages.len() as u64 <= MAX_ENTRIES + 1);
        check_dependencies(&parsed.packages);
        inventory.packages.extend(parsed.packages);
    }
    let distro = crate::os::parse_os_release(&text);
    let mut problems = Vec::new();
    for os_packages in [
        crate::os::parse_dpkg(
            &text,
            &location,
            distro.as_ref(),
            MAX_ENTRIES,
            &mut problems,
        ),
        crate::os::parse_apk(
            &text,
            &location,
            distro.as_ref(),
            MAX_ENTRIES,
            &mut problems,
        ),
    ] {
        assert!(os_packages.len() as u64 <= MAX_ENTRIES);
        inventory.packages.extend(os_packages);
    }
    let metadata = crate::environment::parse_metadata_for_fuzzing(&text);
    check_dependencies(&metadata.packages);
    let mut card = ModelCard::default();
    let mut problems = Vec::new();
    card::apply_model_card(&text, &location, MAX_ENTRIES, &mut card, &mut problems);
    if let Ok(config) = serde_json::from_str::<serde_json::Value>(&text) {
        card::apply_config(&config, &mut card, &mut Vec::new());
    }
    if let Some(read) = crate::sbom::cyclonedx::read(&text, &location, MAX_ENTRIES) {
        check_dependencies(&read.packages);
    }
    // Dependencies index into the packages of their own file; once merged they are dropped.
    for package in &mut inventory.packages {
        package.dependencies.clear();
    }
    let options = SbomOptions {
        tool_version: "0".to_owned(),
        serial: Some("00000000-0000-4000-8000-000000000000".to_owned()),
        timestamp: Some("2024-01-01T00:00:00Z".to_owned()),
    };
    for format in [SbomFormat::CycloneDx, SbomFormat::Spdx23, SbomFormat::Spdx3] {
        let rendered = inventory.render(format, &options);
        if serde_json::from_slice::<serde_json::Value>(&rendered).is_err() {
            panic!("{format} output is not JSON");
        }
    }
}

#[allow(
    clippy::panic,
    reason = "a fuzz target reports a broken promise by panicking"
)]
fn check_dependencies(packages: &[crate::Package]) {
    for package in packages {
        if package.dependencies.iter().any(|&d| d >= packages.len()) {
            panic!("dependency index out of range");
        }
    }
}

/// The GGUF and ONNX metadata readers and file classification on raw bytes.
pub fn model_headers(data: &[u8]) {
    let _ = gguf::read(data, MAX_ENTRIES);
    let _ = onnx::read(data, MAX_ENTRIES);
    for name in [
        "model.bin",
        "x.parquet",
        "data.csv.gz",
        "model.onnx",
        "w.pt",
    ] {
        let _ = classify(data, name);
    }
}

/// The rpm header reader on raw bytes (a header blob as `rpmdb.sqlite` stores it).
#[allow(
    clippy::panic,
    reason = "a fuzz target reports a broken promise by panicking"
)]
pub fn rpm_header(data: &[u8]) {
    if let Ok(header) = crate::rpm::parse_header(data) {
        // Every string the header yields was inside the blob.
        let longest = [&header.name, &header.version, &header.release]
            .iter()
            .map(|s| s.len())
            .max()
            .unwrap_or_default();
        if longest > data.len().saturating_mul(3) {
            panic!("a header string longer than the header");
        }
        let _ = header.evr();
        let _ = header.source_package();
    }
}

/// rpm's BerkeleyDB `Packages` reader on raw bytes, through to packages.
pub fn rpm_bdb(data: &[u8]) {
    rpm_database(data, crate::rpm::RpmDbFormat::BerkeleyDb);
}

/// rpm's NDB `Packages.db` reader on raw bytes, through to packages.
pub fn rpm_ndb(data: &[u8]) {
    rpm_database(data, crate::rpm::RpmDbFormat::Ndb);
}

#[allow(
    clippy::panic,
    reason = "a fuzz target reports a broken promise by panicking"
)]
fn rpm_database(data: &[u8], format: crate::rpm::RpmDbFormat) {
    let mut problems = Vec::new();
    let packages = crate::rpm::parse_rpmdb(
        data,
        format,
        &Location::file("Packages"),
        None,
        MAX_ENTRIES,
        &mut problems,
    );
    if packages.len() as u64 > MAX_ENTRIES {
        panic!("more packages than max_metadata_entries");
    }
    // Every package's header came out of the file: a header is at least 8 bytes plus its
    // index entries, so there cannot be more packages than the file has bytes.
    if packages.len() > data.len() {
        panic!("more packages than the file could hold");
    }
}

/// An rpm header blob (no magic) holding `strings` as STRING entries and `epoch` as an INT32
/// EPOCH entry, laid out as rpm lays them out: for tests and fuzzing seeds.
pub fn rpm_header_blob(strings: &[(u32, &str)], epoch: Option<u32>) -> Vec<u8> {
    let mut index = Vec::new();
    let mut store = Vec::new();
    let mut entry = |tag: u32, kind: u32, offset: usize| {
        for word in [tag, kind, u32::try_from(offset).unwrap_or(u32::MAX), 1] {
            index.extend_from_slice(&word.to_be_bytes());
        }
    };
    if let Some(epoch) = epoch {
        entry(1003, 4, store.len());
        store.extend_from_slice(&epoch.to_be_bytes());
    }
    for (tag, text) in strings {
        entry(*tag, 6, store.len());
        store.extend_from_slice(text.as_bytes());
        store.push(0);
    }
    let entries = u32::try_from(index.len() / 16).unwrap_or(u32::MAX);
    let mut blob = Vec::new();
    blob.extend_from_slice(&entries.to_be_bytes());
    blob.extend_from_slice(&u32::try_from(store.len()).unwrap_or(u32::MAX).to_be_bytes());
    blob.extend(index);
    blob.extend(store);
    blob
}

/// An `rpmdb.sqlite` file with one `Packages` row per blob (`hnum` from 1), in WAL mode as
/// rpm leaves it when `wal` is set: for tests.
pub fn rpmdb_sqlite(blobs: &[Vec<u8>], wal: bool) -> Vec<u8> {
    let build = || -> Result<Vec<u8>, Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("rpmdb.sqlite");
        {
            let connection = rusqlite::Connection::open(&path)?;
            if wal {
                connection.pragma_update(None, "journal_mode", "WAL")?;
            }
            connection.execute_batch(
                "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);",
            )?;
            for blob in blobs {
                connection.execute("INSERT INTO Packages (blob) VALUES (?1)", [blob])?;
            }
        }
        Ok(std::fs::read(&path)?)
    };
    build().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn replay(target: &str, run: Target) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus")
            .join(target);
        let mut seeds = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            run(&std::fs::read(entry.unwrap().path()).unwrap());
            seeds += 1;
        }
        assert!(seeds >= 3, "only {seeds} seeds in {}", dir.display());
    }

    /// A fuzz target's body.
    type Target = fn(&[u8]);

    /// Every fuzz target of this crate, by its corpus directory.
    const TARGETS: &[(&str, Target)] = &[
        ("inventory_manifests", manifests),
        ("inventory_model_headers", model_headers),
        ("rpm_header", rpm_header),
        ("rpm_bdb", rpm_bdb),
        ("rpm_ndb", rpm_ndb),
    ];

    #[test]
    fn fuzz_corpus_replays_without_panic() {
        for (corpus, target) in TARGETS {
            replay(corpus, *target);
        }
    }

    fn seeds(target: &str) -> Vec<Vec<u8>> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus")
            .join(target);
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        paths
            .into_iter()
            .map(|p| std::fs::read(p).unwrap())
            .collect()
    }

    /// A seed with bytes overwritten, inserted and cut: mostly-valid input that reaches deep
    /// into each parser.
    fn mutate(seed: &[u8], edits: &[(usize, u8, u8)]) -> Vec<u8> {
        let mut out = seed.to_vec();
        for &(position, byte, kind) in edits {
            let at = if out.is_empty() {
                0
            } else {
                position % out.len()
            };
            match kind % 3 {
                0 if !out.is_empty() => out[at] = byte,
                1 => out.insert(at, byte),
                _ => out.truncate(at),
            }
        }
        out
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            /// Each case mutates one seed of every target's corpus the same way.
            #[test]
            fn every_target_survives_mutated_seeds(
                seed in 0usize..64,
                edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..8),
            ) {
                for (corpus, target) in TARGETS {
                    let seeds = seeds(corpus);
                    target(&mutate(&seeds[seed % seeds.len()], &edits));
                }
            }

            #[test]
            fn manifest_parsers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
                manifests(&data);
            }

            #[test]
            fn requirement_lines_never_panic(line in "\\PC{0,120}") {
                let _ = crate::requirement::parse_spec(&line);
            }

            #[test]
            fn rpm_header_never_panics(data in proptest::collection::vec(any::<u8>(), 0..256)) {
                rpm_header(&data);
            }

            /// A valid metadata page followed by arbitrary pages reaches the page walk.
            #[test]
            fn rpm_bdb_survives_arbitrary_pages(pages in proptest::collection::vec(any::<u8>(), 0..4096)) {
                let metadata = &include_bytes!("../tests/fixtures/rpm/Packages-le")[..512];
                rpm_bdb(&[metadata, &pages].concat());
            }

            /// A valid header and arbitrary slots and blobs after it.
            #[test]
            fn rpm_ndb_survives_arbitrary_slots(rest in proptest::collection::vec(any::<u8>(), 0..8192)) {
                rpm_ndb(&[&include_bytes!("../tests/fixtures/rpm/Packages.db")[..32], &rest].concat());
            }

            #[test]
            fn rpm_bdb_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
                rpm_bdb(&data);
            }

            #[test]
            fn header_readers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..256)) {
                model_headers(&data);
            }
        }
    }
}
