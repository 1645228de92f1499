//! Tolerant, bounded readers for the containers model files come in: zip (PyTorch,
//! `.keras`, `.npz`), tar, and gzip/bzip2/xz/lzma/zlib/lz4 streams.
//!
//! Loaders such as PyTorch's miniz are lenient; a scanner that is stricter than the loader
//! can be bypassed (the 2025 picklescan CVEs). So these readers accept what loaders accept
//! and report every anomaly as a finding instead of failing. They never write to disk, and
//! never produce more than the decompression limits allow.
