//! Content-addressed blob storage. A blob is stored under its SHA-256 only after the bytes
//! received hash to it, and an existing blob is never replaced: the local store publishes a
//! finished upload with `link(2)`, which fails instead of overwriting.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::Digest as _;

use crate::Error;
use crate::names::Digest;

/// Where blobs live. The local file system is the embedded default; an object store (S3)
/// implements the same calls with a conditional put.
pub trait BlobStore: Send + Sync {
    /// The blob's size if it is stored.
    fn size(&self, digest: &Digest) -> Result<Option<u64>, Error>;
    /// Starts an upload whose digest is checked when it is committed.
    fn begin(&self) -> Result<Box<dyn BlobWriter>, Error>;
    /// Reads a stored blob.
    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>, Error>;
    /// Places the blob's bytes at `destination` (a new file), read-only.
    fn materialize(&self, digest: &Digest, destination: &Path) -> Result<(), Error>;
}

/// An upload in progress. Dropping it without committing discards the bytes.
pub trait BlobWriter: Send {
    /// Appends bytes (and hashes them).
    fn write(&mut self, chunk: &[u8]) -> Result<(), Error>;
    /// Bytes received so far.
    fn written(&self) -> u64;
    /// Stores the blob if the bytes hash to `expected`: `Ok(true)` if it is new, `Ok(false)` if
    /// an identical blob was already there. On a mismatch nothing is stored.
    fn commit(self: Box<Self>, expected: &Digest) -> Result<bool, Error>;
}

/// Blobs in `root/sha256/<2 hex>/<64 hex>`, uploads staged in `staging` (same file system).
pub struct FsBlobStore {
    root: PathBuf,
    staging: PathBuf,
}

impl FsBlobStore {
    /// A store over existing directories.
    pub fn new(root: PathBuf, staging: PathBuf) -> Self {
        FsBlobStore { root, staging }
    }

    fn path_of(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.root.join("sha256").join(&hex[..2]).join(hex)
    }
}

pub(crate) fn io_error(context: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
    let context = context.into();
    move |source| Error::Io { context, source }
}

impl BlobStore for FsBlobStore {
    fn size(&self, digest: &Digest) -> Result<Option<u64>, Error> {
        match fs::metadata(self.path_of(digest)) {
            Ok(metadata) => Ok(Some(metadata.len())),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(io_error(format!("stat blob {digest}"))(error)),
        }
    }

    fn begin(&self) -> Result<Box<dyn BlobWriter>, Error> {
        Ok(Box::new(FsUpload {
            root: self.root.clone(),
            staged: StagedUpload::create(&self.staging)?,
        }))
    }

    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>, Error> {
        let file = File::open(self.path_of(digest)).map_err(|source| {
            if source.kind() == io::ErrorKind::NotFound {
                Error::NotFound(format!("blob {digest} is not stored"))
            } else {
                Error::Io {
                    context: format!("open blob {digest}"),
                    source,
                }
            }
        })?;
        Ok(Box::new(file))
    }

    fn materialize(&self, digest: &Digest, destination: &Path) -> Result<(), Error> {
        let source = self.path_of(digest);
        // Blobs are read-only files that are never rewritten, so a hard link is as safe as a
        // copy and costs nothing for a 10 GB model.
        if fs::hard_link(&source, destination).is_ok() {
            return Ok(());
        }
        fs::copy(&source, destination)
            .map_err(io_error(format!("copy blob {digest} for the gates")))?;
        set_read_only(destination)
    }
}

/// The blob store for `--storage`: the data directory's `root` when absent, an S3-compatible
/// bucket for `s3://…` (checked for reachability now). Uploads are staged in `staging`.
pub fn open_blob_store(
    storage: Option<&str>,
    root: PathBuf,
    staging: PathBuf,
) -> Result<Box<dyn BlobStore>, Error> {
    match storage {
        None => Ok(Box::new(FsBlobStore::new(root, staging))),
        Some(url) if !url.starts_with("s3://") => Err(Error::BadRequest(format!(
            "--storage {url:?} is not an s3:// URL: use s3://BUCKET[/PREFIX]?endpoint=https://host:port&region=REGION, or leave it out to keep blobs in the data directory"
        ))),
        #[cfg(feature = "s3")]
        Some(url) => Ok(Box::new(crate::blobs_s3::S3BlobStore::connect(
            url, staging,
        )?)),
        #[cfg(not(feature = "s3"))]
        Some(_) => Err(Error::BadRequest(
            "this rampart was built without S3 support (cargo feature `s3` of rampart-registry)"
                .to_owned(),
        )),
    }
}

/// A new, exclusively created file `<prefix>-<random>` in `dir`.
pub(crate) fn create_staging_file(dir: &Path, prefix: &str) -> Result<(PathBuf, File), Error> {
    let mut random = [0u8; 12];
    getrandom::fill(&mut random).map_err(|error| Error::Internal(format!("random: {error}")))?;
    let path = dir.join(format!("{prefix}-{}", hex::encode(random)));
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(io_error(format!("create {}", path.display())))?;
    Ok((path, file))
}

pub(crate) fn set_read_only(path: &Path) -> Result<(), Error> {
    let mut permissions = fs::metadata(path)
        .map_err(io_error(format!("stat {}", path.display())))?
        .permissions();
    permissions.set_readonly(true);
    fs::set_permissions(path, permissions).map_err(io_error(format!("chmod {}", path.display())))
}

/// An upload's bytes in a staging file, hashed while they arrive; the file is removed on
/// drop, so an abandoned or refused upload leaves nothing behind. Every blob store stages
/// this way: memory stays flat whatever the blob size, and nothing reaches the store
/// before the digest is verified.
pub(crate) struct StagedUpload {
    path: PathBuf,
    file: File,
    hasher: sha2::Sha256,
    written: u64,
}

impl StagedUpload {
    pub(crate) fn create(staging: &Path) -> Result<Self, Error> {
        let (path, file) = create_staging_file(staging, "upload")?;
        Ok(StagedUpload {
            path,
            file,
            hasher: sha2::Sha256::new(),
            written: 0,
        })
    }

    pub(crate) fn write(&mut self, chunk: &[u8]) -> Result<(), Error> {
        self.hasher.update(chunk);
        self.file
            .write_all(chunk)
            .map_err(io_error("write an upload to the staging directory"))?;
        self.written = self.written.saturating_add(chunk.len() as u64);
        Ok(())
    }

    pub(crate) fn written(&self) -> u64 {
        self.written
    }

    /// The staged file once its bytes are known to hash to `expected`.
    pub(crate) fn verify(&mut self, expected: &Digest) -> Result<&Path, Error> {
        let actual = Digest(std::mem::take(&mut self.hasher).finalize().into());
        if actual != *expected {
            return Err(Error::DigestMismatch(format!(
                "the body hashes to {actual}, not {expected}: nothing was stored"
            )));
        }
        self.file
            .sync_all()
            .map_err(io_error("sync an upload to disk"))?;
        Ok(&self.path)
    }
}

impl Drop for StagedUpload {
    fn drop(&mut self) {
        // A published blob is a separate link (or object); removing the staging name never
        // touches it.
        let _ = fs::remove_file(&self.path);
    }
}

struct FsUpload {
    root: PathBuf,
    staged: StagedUpload,
}

impl BlobWriter for FsUpload {
    fn write(&mut self, chunk: &[u8]) -> Result<(), Error> {
        self.staged.write(chunk)
    }

    fn written(&self) -> u64 {
        self.staged.written()
    }

    fn commit(mut self: Box<Self>, expected: &Digest) -> Result<bool, Error> {
        let staged = self.staged.verify(expected)?;
        set_read_only(staged)?;
        let hex = expected.hex();
        let directory = self.root.join("sha256").join(&hex[..2]);
        fs::create_dir_all(&directory)
            .map_err(io_error(format!("create {}", directory.display())))?;
        let target = directory.join(&hex);
        match fs::hard_link(staged, &target) {
            Ok(()) => {
                if let Ok(dir) = File::open(&directory) {
                    dir.sync_all()
                        .map_err(io_error(format!("sync {}", directory.display())))?;
                }
                Ok(true)
            }
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(error) => Err(io_error(format!("publish blob {expected}"))(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::sha256;

    fn store() -> (tempfile::TempDir, FsBlobStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(dir.path().join("blobs")).expect("mkdir");
        fs::create_dir_all(dir.path().join("tmp")).expect("mkdir");
        let store = FsBlobStore::new(dir.path().join("blobs"), dir.path().join("tmp"));
        (dir, store)
    }

    fn upload(store: &FsBlobStore, bytes: &[u8], claimed: &Digest) -> Result<bool, Error> {
        let mut writer = store.begin()?;
        for chunk in bytes.chunks(3) {
            writer.write(chunk)?;
        }
        assert_eq!(writer.written(), bytes.len() as u64);
        writer.commit(claimed)
    }

    #[test]
    fn stores_once_and_never_overwrites() {
        let (dir, store) = store();
        let digest = sha256(b"weights");
        assert!(upload(&store, b"weights", &digest).expect("first upload"));
        assert!(!upload(&store, b"weights", &digest).expect("second upload"));
        assert_eq!(store.size(&digest).expect("size"), Some(7));
        let mut read = String::new();
        store
            .open(&digest)
            .expect("open")
            .read_to_string(&mut read)
            .expect("read");
        assert_eq!(read, "weights");
        assert_eq!(
            fs::read_dir(dir.path().join("tmp")).expect("ls").count(),
            0,
            "staging files are cleaned up"
        );
    }

    #[test]
    fn a_wrong_digest_stores_nothing() {
        let (dir, store) = store();
        let claimed = sha256(b"something else");
        assert!(matches!(
            upload(&store, b"weights", &claimed),
            Err(Error::DigestMismatch(_))
        ));
        assert_eq!(store.size(&claimed).expect("size"), None);
        assert_eq!(fs::read_dir(dir.path().join("tmp")).expect("ls").count(), 0);
        assert!(!dir.path().join("blobs/sha256").exists());
    }

    #[test]
    fn stored_blobs_are_read_only_and_materialize() {
        let (dir, store) = store();
        let digest = sha256(b"abc");
        upload(&store, b"abc", &digest).expect("upload");
        let stored = store.path_of(&digest);
        assert!(
            fs::metadata(&stored)
                .expect("stat")
                .permissions()
                .readonly()
        );
        let out = dir.path().join("out");
        store.materialize(&digest, &out).expect("materialize");
        assert_eq!(fs::read(&out).expect("read"), b"abc");
        assert!(
            store
                .materialize(&sha256(b"missing"), &dir.path().join("x"))
                .is_err()
        );
    }
}
