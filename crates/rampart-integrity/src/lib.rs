//! Integrity of models and datasets: hash a directory into an OpenSSF Model Signing (OMS) v1.0
//! manifest, sign it as a Sigstore bundle (DSSE envelope around an in-toto statement), and
//! verify a bundle or a detached manifest against the files on disk.
//!
//! It must never read a whole file into memory (files are mapped or streamed), never follow a
//! symlink unless asked, never trust an unsigned or unverified digest, and never leave a partial
//! signature file behind.

pub mod bundle;
pub mod dsse;
mod hash;
pub mod keys;
mod manifest;
pub mod provenance;
pub mod rules;
mod verify;

use std::fs;
use std::path::{Path, PathBuf};

pub use bundle::{
    BUNDLE_MEDIA_TYPE, Material, OMS_PREDICATE_TYPE, sign_manifest, statement_payload,
};
pub use hash::{HashOptions, hash_model, model_name};
pub use keys::{KeyAlgorithm, KeyError, SigningKey, VerifyingKey};
pub use manifest::{
    DEFAULT_SHARD_SIZE, Diff, GIT_PATHS, HashAlgorithm, Manifest, ManifestDocument, Resource,
    ResourceKey, Serialization,
};
pub use rampart_core::write_atomically;
pub use verify::{
    ContentMismatch, Failure, Signer, Trust, Verified, VerifyError, VerifyOptions, verify_bundle,
    verify_manifest,
};

/// Why hashing, signing or reading a manifest could not be done (as opposed to a verification
/// that ran and failed, see [`Failure`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: is a symbolic link; pass --allow-symlinks to hash the file it points to", .0.display())]
    Symlink(PathBuf),
    #[error("{}: is not a regular file or directory (a fifo, socket, device or broken link)", .0.display())]
    SpecialFile(PathBuf),
    #[error("{}: changed while it was being hashed; hash again once nothing is writing to it", .0.display())]
    Changed(PathBuf),
    #[error("{}: the path is not valid UTF-8, which manifests cannot name", .0.display())]
    NonUnicodePath(PathBuf),
    #[error("{0}")]
    BadManifest(String),
    #[error("{0}")]
    Certificate(String),
}

/// Signs `model`: hashes it under `options` and returns the manifest and the bundle bytes.
/// In certificate mode `certificates` holds the leaf (DER) then its chain; the leaf must
/// certify `key`.
pub fn sign_model(
    model: &Path,
    options: &HashOptions,
    key: &SigningKey,
    certificates: Option<&[Vec<u8>]>,
) -> Result<(Manifest, Vec<u8>), Error> {
    let material = match certificates {
        None => Material::Key,
        Some(chain) => {
            let leaf = chain
                .first()
                .ok_or_else(|| Error::Certificate("no signing certificate given".to_owned()))?;
            let leaf = rampart_x509::Certificate::from_der(leaf)
                .map_err(|error| Error::Certificate(format!("the signing certificate: {error}")))?;
            let certified =
                VerifyingKey::from_spki_der(&leaf.public_key_spki_der()).map_err(|error| {
                    Error::Certificate(format!("the signing certificate's key: {error}"))
                })?;
            if certified != key.verifying_key() {
                return Err(Error::Certificate(format!(
                    "the signing certificate (`{}`) is not for this private key",
                    leaf.subject()
                )));
            }
            Material::Certificates(chain)
        }
    };
    let manifest = hash_model(model, options)?;
    let bundle = sign_manifest(&manifest, key, material);
    Ok((manifest, bundle))
}

/// `path` relative to `model` if it lies inside it (both resolved as far as they exist).
/// The signature file and `--ignore-paths` are given relative to the working directory.
pub fn path_inside(model: &Path, path: &Path) -> Option<String> {
    let model = fs::canonicalize(model).ok()?;
    let absolute = resolve_lexically(path)?;
    let relative = absolute.strip_prefix(&model).ok()?;
    let parts: Option<Vec<&str>> = relative
        .components()
        .map(|part| part.as_os_str().to_str())
        .collect();
    let joined = parts?.join("/");
    (!joined.is_empty()).then_some(joined)
}

/// Canonicalises the longest existing prefix of `path` and appends the rest, so a file that
/// does not exist yet (a signature about to be written) still resolves.
fn resolve_lexically(path: &Path) -> Option<PathBuf> {
    let absolute = if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(resolved) = fs::canonicalize(existing) {
            let mut result = resolved;
            for part in rest.iter().rev() {
                result.push(part);
            }
            return Some(result);
        }
        rest.push(existing.file_name()?.to_owned());
        existing = existing.parent()?;
    }
}
