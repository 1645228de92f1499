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
//! Memory stays bounded: uncompressed layers are read in place from the mapped image, and a
//! compressed layer is decompressed into memory one at a time, within `Limits`
//! (`max_decompressed_bytes` per layer, `max_total_decompressed_bytes` for all); a layer
//! beyond that is reported, never read unbounded.

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
pub use walk::{EntryKind, FinalEntry, LayerEntry};

#[cfg(test)]
mod tests;
