//! X.509 certificate path validation for signatures made with a certificate: build the path
//! from a signing (leaf) certificate through untrusted intermediates to trust anchors the
//! caller names, check signatures, validity, CA constraints, key usage and an identity policy.
//!
//! It must never fetch anything (no AIA, no CRL/OCSP over the network), never fall back to
//! system or web PKI roots, and never accept a path it could not check completely.

mod certificate;
mod name;
mod path;
mod pem;
mod signature;

pub use certificate::{
    Certificate, Error, Identity, MAX_CERTIFICATES_PER_INPUT, parse_certificates,
};
pub use path::{
    MAX_PATH_CERTIFICATES, MAX_SIGNATURE_CHECKS, PathError, PathPolicy, ValidationTime,
    VerifiedPath, verify_path,
};
