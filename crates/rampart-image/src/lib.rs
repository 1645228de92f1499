//! Reads container images from disk without a container engine, a daemon or the network:
//! OCI image layout directories, OCI archives and `docker save` archives.
//!
//! It resolves the manifest (selecting a platform from a multi-arch index), parses the image
//! config, verifies every blob's sha256 against its descriptor, and walks the files of every
//! layer in order, applying whiteouts and opaque directories to give the final filesystem view
//! while keeping files that later layers deleted visible (secrets baked into an early layer
//! are still in the image).
//!
//! It must never execute, unpack to disk or trust anything in the image: every length, count,
//! path and digest comes from a possibly hostile file and is bounded and checked.
//!
//! Memory does not grow with the size of a layer or of a file: layers are hashed with
//! `read(2)`, uncompressed layers' files are slices of the mapped image (only the pages a
//! check reads become resident), and compressed layers are decompressed as streams and
//! walked by a streaming tar reader, their files held in memory a batch at a time and a file
//! over `max_decompressed_bytes` only as a prefix and a digest (the consumer reports what it
//! could not check). `max_total_decompressed_bytes` bounds the work for all layers together.

mod checks;
mod config;
mod detect;
mod digest;
mod error;
pub mod fuzzing;
mod image;
mod layer;
mod platform;
pub mod rules;
mod source;
/// Builds images from bytes for tests (this crate's and the CLI's, with the
/// `test-support` feature).
#[cfg(any(test, feature = "test-support"))]
#[doc(hidden)]
pub mod test_support;
mod walk;

pub use config::{HistoryEntry, ImageConfig};
pub use detect::looks_like_image;
pub use digest::Digest;
pub use error::{ImageError, Result};
pub use image::{Image, ImageFormat, Layer};
pub use platform::Platform;
pub use rules::RULES;
pub use walk::{EntryKind, FileDigests, FinalEntry, LayerEntry};

#[cfg(test)]
mod tests;
