//! The rampart model registry behind `rampart serve`.
//!
//! It stores model versions as manifests of content-addressed blobs, runs every new version through the
//! gates (rampart scan, OMS signature verification against the namespace's trusted keys, provenance), enforces
//! per-namespace roles with separation of duties, and writes every state change to a transparency log so the
//! history can be verified offline.
//!
//! It must never: serve a version that has not passed its gates, overwrite a blob, change state without an
//! audit entry, or execute uploaded content (uploaded files are only hashed, scanned and copied).

pub mod api;
pub mod audit;
pub mod blobs;
#[cfg(feature = "s3")]
pub mod blobs_s3;
pub mod gates;
pub mod names;
pub mod openapi;
pub mod registry;
pub mod store;
#[cfg(feature = "postgres")]
pub mod store_postgres;
pub mod tls;
pub mod types;
pub mod ui;

pub use api::{ServeOptions, router, serve};
pub use names::Digest;
pub use registry::{Backends, IssuedToken, NewToken, NewVersion, Registry, Stages};
pub use types::{
    FileEntry, GateStatus, Namespace, NamespacePolicy, Principal, Role, StagePolicy, State,
    TokenRecord, VersionRecord,
};

/// Everything that can go wrong, each mapped to one HTTP status and error code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed or names something invalid (400).
    #[error("{0}")]
    BadRequest(String),
    /// An upload's bytes do not hash to the digest it was sent to (400).
    #[error("{0}")]
    DigestMismatch(String),
    /// No valid token (401).
    #[error("{0}")]
    Unauthorized(String),
    /// The token's role or namespace does not allow this, or separation of duties (403).
    #[error("{0}")]
    Forbidden(String),
    /// Not there, or not visible to the caller (404).
    #[error("{0}")]
    NotFound(String),
    /// Clashes with what exists: immutable versions, repeated approvals (409).
    #[error("{0}")]
    Conflict(String),
    /// A gate or policy requirement is not met (409).
    #[error("{0}")]
    Refused(String),
    /// The body is larger than allowed (413).
    #[error("{0}")]
    TooLarge(String),
    /// A file operation failed (500).
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// The metadata database failed (500).
    #[error("database: {0}")]
    Database(String),
    /// The transparency log failed (500).
    #[error("audit log: {0}")]
    Log(#[from] rampart_tlog::Error),
    /// The database and the log disagree; the server refuses to start (500).
    #[error("audit log inconsistent: {0}")]
    AuditInconsistent(String),
    /// Anything else (500).
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            Error::BadRequest(_) | Error::DigestMismatch(_) => 400,
            Error::Unauthorized(_) => 401,
            Error::Forbidden(_) => 403,
            Error::NotFound(_) => 404,
            Error::Conflict(_) | Error::Refused(_) => 409,
            Error::TooLarge(_) => 413,
            Error::Log(rampart_tlog::Error::IndexOutOfRange { .. })
            | Error::Log(rampart_tlog::Error::SizeOutOfRange { .. })
            | Error::Log(rampart_tlog::Error::InvalidRange { .. })
            | Error::Log(rampart_tlog::Error::NoCheckpoint { .. }) => 404,
            Error::Io { .. }
            | Error::Database(_)
            | Error::Log(_)
            | Error::AuditInconsistent(_)
            | Error::Internal(_) => 500,
        }
    }

    /// The machine-readable code in `{"error": {"code", "message"}}`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadRequest(_) => "bad_request",
            Error::DigestMismatch(_) => "digest_mismatch",
            Error::Unauthorized(_) => "unauthorized",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) => "conflict",
            Error::Refused(_) => "refused",
            Error::TooLarge(_) => "too_large",
            _ if self.status() == 404 => "not_found",
            _ => "internal",
        }
    }
}

/// Entry points for the fuzz targets in `fuzz/fuzz_targets/registry_*.rs`.
#[doc(hidden)]
pub mod fuzz {
    /// A create-version request body as the API receives it: parsed, then validated the way
    /// the registry does before storing anything.
    pub fn new_version(data: &[u8]) {
        let Ok(request) = serde_json::from_slice::<crate::NewVersion>(data) else {
            return;
        };
        let _ = crate::names::check_version(&request.version);
        if crate::names::check_file_list(request.files.iter().map(|file| file.path.as_str()))
            .is_ok()
        {
            let _ = crate::types::manifest_digest(&request.files);
        }
        if let Some(signature) = request.signature {
            let _ = serde_json::from_value::<rampart_integrity::bundle::Bundle>(signature);
        }
        let text = String::from_utf8_lossy(data);
        let _ = crate::names::Digest::parse(&text);
        let _ = crate::names::check_file_path(&text);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fuzz_corpus_replays_without_panic() {
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus/registry_new_version");
        let mut replayed = 0;
        for entry in std::fs::read_dir(&corpus).expect("corpus directory") {
            let bytes = std::fs::read(entry.expect("entry").path()).expect("seed");
            crate::fuzz::new_version(&bytes);
            replayed += 1;
        }
        assert!(replayed >= 5, "the corpus has its seeds");
    }
}
