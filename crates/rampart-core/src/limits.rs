use serde::{Deserialize, Serialize};

/// Every bound a scan enforces. Hitting one is never silent: the analyzer reports
/// `scan/limit-exceeded` (or `scan/decompression-bomb`) and the file's verdict becomes
/// incomplete. Set in `rampart.toml` under `[limits]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// How deep containers may nest (a zip in a tar in a gzip is depth 3).
    pub max_depth: usize,
    /// Bytes one decompressed member or stream may expand to.
    pub max_decompressed_bytes: u64,
    /// Bytes all decompression inside one input file may produce together.
    pub max_total_decompressed_bytes: u64,
    /// Expansion ratio (decompressed / compressed) above which a stream is a bomb, once
    /// it has produced at least 1 MiB. Deflate cannot exceed about 1030:1, so the default
    /// leaves deflated all-zero tensors (common in `savez_compressed` files) alone.
    pub max_compression_ratio: u64,
    /// Members one archive may list.
    pub max_members: usize,
    /// Opcodes one pickle stream may execute symbolically.
    pub max_pickle_opcodes: u64,
    /// Stack, memo and mark-stack entries one pickle may hold.
    pub max_pickle_memory_entries: usize,
    /// Pickles one file may hold back to back, and `pickle.loads` nesting depth.
    pub max_pickles_per_stream: usize,
    /// Bytes of a JSON/text header (safetensors header, Keras config, chat template)
    /// that will be parsed.
    pub max_header_bytes: u64,
    /// Entries in a metadata table (GGUF key/values and tensors, safetensors tensors,
    /// ONNX nodes).
    pub max_metadata_entries: u64,
}

impl Default for Limits {
    fn default() -> Self {
        const MIB: u64 = 1 << 20;
        Limits {
            max_depth: 8,
            max_decompressed_bytes: 1024 * MIB,
            max_total_decompressed_bytes: 4096 * MIB,
            max_compression_ratio: 2000,
            max_members: 100_000,
            max_pickle_opcodes: 50_000_000,
            max_pickle_memory_entries: 5_000_000,
            max_pickles_per_stream: 64,
            max_header_bytes: 100 * MIB,
            max_metadata_entries: 10_000_000,
        }
    }
}
