//! Tolerant, bounded readers for the containers model files come in: zip (PyTorch,
//! `.keras`, `.npz`), tar, and gzip/bzip2/xz/lzma/zlib/lz4 streams.
//!
//! Loaders such as PyTorch's miniz are lenient; a scanner that is stricter than the loader
//! can be bypassed (the 2025 picklescan CVEs). So these readers accept what loaders accept
//! and report every anomaly as a finding instead of failing. They never write to disk, and
//! never produce more than the decompression limits allow.
//!
//! Stored content is handed out as slices of the caller's buffer (usually an mmap), so a
//! reader never copies or touches tensor data it is not asked for. Everything that
//! decompresses draws from one [`Budget`] per input file.

pub mod compress;
pub mod fuzzing;
mod names;
mod report;
pub mod rules;
pub mod tar;
pub mod zip;

pub use rules::RULES;

use rampart_core::Limits;

/// What all decompression for one input file may still produce, in bytes
/// (`limits.max_total_decompressed_bytes` at the start). Every decompressed zip member and
/// stream draws from it, so nesting or many members cannot multiply the per-stream cap.
/// Stored zip members and tar members are zero-copy and do not draw from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Budget {
    remaining: u64,
}

impl Budget {
    pub fn new(limits: &Limits) -> Self {
        Budget {
            remaining: limits.max_total_decompressed_bytes,
        }
    }

    /// Bytes decompression may still produce.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    fn spend(&mut self, bytes: u64) {
        self.remaining = self.remaining.saturating_sub(bytes);
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use rampart_core::Limits;

    use super::*;

    #[test]
    fn budget_starts_at_the_total_limit_and_never_underflows() {
        let limits = Limits {
            max_total_decompressed_bytes: 10,
            ..Limits::default()
        };
        let mut budget = Budget::new(&limits);
        assert_eq!(budget.remaining(), 10);
        budget.spend(4);
        assert_eq!(budget.remaining(), 6);
        budget.spend(100);
        assert_eq!(budget.remaining(), 0);
    }

    fn corpus(target: &str) -> Vec<Vec<u8>> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus")
            .join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no seeds in {}", dir.display());
        files
            .iter()
            .map(|path| std::fs::read(path).unwrap())
            .collect()
    }

    /// Replays the fuzz seeds (and any crash reproducers kept there) the way the fuzz
    /// targets drive the parsers.
    #[test]
    fn fuzz_corpus_replays_without_panic() {
        let limits = fuzzing::limits();
        for seed in corpus("zip") {
            fuzzing::zip(&seed, &limits);
        }
        for seed in corpus("tar") {
            fuzzing::tar(&seed, &limits);
        }
        for seed in corpus("decompress") {
            fuzzing::decompress(&seed, &limits);
        }
    }
}
