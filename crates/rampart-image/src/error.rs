use thiserror::Error;

/// Why an image could not be opened. Problems inside layers are not errors: [`crate::Image::walk`]
/// reports them as findings and reads on.
#[derive(Debug, Error)]
pub enum ImageError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is not a container image: it is neither an OCI layout (index.json), an OCI archive nor a \
         docker save archive (manifest.json)"
    )]
    NotAnImage { path: String },
    #[error("{what} is missing from the image")]
    Missing { what: String },
    #[error("{what} is malformed: {reason}")]
    Malformed { what: String, reason: String },
    /// A compressed image archive that could not be decompressed within the limits.
    #[error("{what} could not be decompressed: {reason}")]
    Undecompressed { what: String, reason: String },
    #[error("blob {blob} does not match its descriptor: expected {expected}, found {actual}")]
    DigestMismatch {
        blob: String,
        expected: String,
        actual: String,
    },
    #[error(
        "{what} is {size} bytes, more than {limit} ({max}); raise it under [limits] if it is legitimate"
    )]
    Limit {
        what: String,
        limit: &'static str,
        size: u64,
        max: u64,
    },
    #[error("invalid platform '{0}': expected os/arch or os/arch/variant, e.g. linux/arm64/v8")]
    BadPlatform(String),
    #[error(
        "the image holds several platforms or images ({available}); choose one with --platform"
    )]
    AmbiguousPlatform { available: String },
    #[error("the image has no manifest for platform {wanted}; it has: {available}")]
    PlatformNotFound { wanted: String, available: String },
}

pub type Result<T, E = ImageError> = std::result::Result<T, E>;
