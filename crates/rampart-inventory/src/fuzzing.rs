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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn replay(target: &str, run: fn(&[u8])) {
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

    #[test]
    fn fuzz_corpus_replays_without_panic() {
        replay("inventory_manifests", manifests);
        replay("inventory_model_headers", model_headers);
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

            #[test]
            fn manifest_parsers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
                manifests(&data);
            }

            #[test]
            fn manifest_parsers_survive_mutated_seeds(
                seed in 0usize..64,
                edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..8),
            ) {
                let seeds = seeds("inventory_manifests");
                manifests(&mutate(&seeds[seed % seeds.len()], &edits));
            }

            #[test]
            fn requirement_lines_never_panic(line in "\\PC{0,120}") {
                let _ = crate::requirement::parse_spec(&line);
            }

            #[test]
            fn header_readers_survive_mutated_seeds(
                seed in 0usize..64,
                edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..8),
            ) {
                let seeds = seeds("inventory_model_headers");
                model_headers(&mutate(&seeds[seed % seeds.len()], &edits));
            }

            #[test]
            fn header_readers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..256)) {
                model_headers(&data);
            }
        }
    }
}
