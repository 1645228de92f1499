//! Entry points for the fuzz targets and the corpus replay test: raw bytes through the same
//! reading, profiling and checking code paths `rampart drift` and `rampart data check` use.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::check::{CheckOptions, check_files, load_table};
use crate::profile::{ProfileOptions, profile_table};
use crate::read::ReadOptions;

static NEXT: AtomicU64 = AtomicU64::new(0);

/// Writes `data` to a private temporary file named `*.{extension}` (the readers take paths,
/// and Parquet needs a seekable file), reads it every way the commands do, and removes it.
/// Returns whether the bytes were read as a table; errors are expected, panics are bugs.
pub fn read_bytes(data: &[u8], extension: &str) -> bool {
    let path: PathBuf = std::env::temp_dir().join(format!(
        "rampart-data-fuzz-{}-{}.{extension}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    if std::fs::write(&path, data).is_err() {
        return false;
    }
    let read = ReadOptions {
        batch_size: 64,
        infer_rows: 64,
        ..ReadOptions::default()
    };
    let profiled = profile_table(&path, &read, &ProfileOptions { sample_cap: 256 });
    if let Ok(table) = load_table(&path, &read, 100_000)
        && let Some(first) = table.columns.first()
    {
        let options = CheckOptions::new(first.name.clone());
        let _ = check_files(&path, Some(&path), &read, 100_000, &options);
    }
    let _ = crate::read::read_f64_matrix(&path, None, None);
    let _ = std::fs::remove_file(&path);
    profiled.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus")
            .join(target);
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(&path).unwrap())
            })
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{} is empty", dir.display());
        files
    }

    #[test]
    fn fuzz_corpus_replays_without_panic() {
        for (name, bytes) in corpus("data_csv") {
            let extension = name.rsplit('.').next().unwrap_or("csv");
            let read = read_bytes(&bytes, extension);
            // The seeds that are valid tables must read; the broken ones must not panic.
            let valid = !name.starts_with("ragged")
                && !name.starts_with("mixed")
                && !name.starts_with("lines");
            assert!(!valid || read, "{name} did not read");
        }
        for (name, bytes) in corpus("data_parquet") {
            assert!(
                read_bytes(&bytes, "parquet"),
                "{name}: every codec must decode"
            );
        }
    }

    fn valid_parquet() -> Vec<u8> {
        corpus("data_parquet")
            .into_iter()
            .find(|(name, _)| name == "snappy.parquet")
            .map(|(_, bytes)| bytes)
            .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512), kind in 0usize..4) {
            let (prefix, extension): (&[u8], &str) = match kind {
                0 => (b"", "csv"),
                1 => (b"PAR1", "parquet"),
                2 => (b"ARROW1\0\0", "arrow"),
                _ => (b"{", "jsonl"),
            };
            let mut bytes = prefix.to_vec();
            bytes.extend_from_slice(&data);
            read_bytes(&bytes, extension);
        }

        #[test]
        fn mutated_parquet_never_panics(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>()) {
            let mut bytes = valid_parquet();
            for (at, value) in edits {
                let at = at % bytes.len();
                bytes[at] = value;
            }
            let keep = bytes.len() - cut % 64;
            bytes.truncate(keep);
            read_bytes(&bytes, "parquet");
        }
    }
}
