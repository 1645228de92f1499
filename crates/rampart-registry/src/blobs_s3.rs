//! Blobs in an S3-compatible object store (`--storage s3://BUCKET[/PREFIX]?endpoint=…`), so
//! several `rampart serve` processes can share them.
//!
//! Objects are content-addressed as on the file system: `PREFIX/blobs/sha256/<2 hex>/<64 hex>`.
//! An upload is staged in a local file and hashed while it arrives; only bytes that hash to
//! the claimed digest are sent, and they are never written over an existing object:
//! - up to [`SINGLE_PUT_LIMIT`] bytes: one `PUT` with `If-None-Match: *` (`PutMode::Create`);
//! - larger: a multipart upload to `PREFIX/uploads/<random>` (S3 cannot make a multipart
//!   upload conditional through object_store), then a create-only copy to the blob's key
//!   (`copy_if_not_exists`; on S3 an `UploadPartCopy` completed with `If-None-Match: *`), then
//!   the staging object is deleted. A crash can leave staging objects and unfinished multipart
//!   uploads under `PREFIX/uploads/`, never a partial blob: expire them with a lifecycle rule.
//!
//! An existing object under the digest's key is success: it holds the same bytes.
//!
//! The registry's calls are synchronous and run on blocking threads (see `api.rs`), while the
//! object store client is async. The store owns a small dedicated tokio runtime; each call is
//! spawned onto it and the calling thread waits for the result, which works from any thread
//! without nesting runtimes. Downloads stream through a bounded channel fed by a task on that
//! runtime; their `Read` must be used on a blocking thread (as every registry call is).

use std::fmt;
use std::fs::{self, File};
use std::future::Future;
use std::io::{self, Read};
use std::path::{Path as FsPath, PathBuf};
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use futures_util::StreamExt as _;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey, S3CopyIfNotExists};
use object_store::path::Path;
use object_store::{
    ClientOptions, ObjectStore, ObjectStoreExt as _, PutMode, RetryConfig, WriteMultipart,
};
use tokio::io::AsyncReadExt as _;

use crate::Error;
use crate::blobs::{BlobStore, BlobWriter, StagedUpload, io_error, set_read_only};
use crate::names::Digest;

/// Largest blob sent in one conditional `PUT` (read into memory for it); larger ones go
/// through a multipart upload.
pub const SINGLE_PUT_LIMIT: u64 = 8 << 20;
/// Size of each multipart part (S3's minimum is 5 MiB; 10,000 parts allow 80 GB).
const PART_SIZE: usize = 8 << 20;
/// Parts in flight at once: with [`PART_SIZE`], at most 32 MiB of an upload is in memory.
const PARTS_IN_FLIGHT: usize = 4;
/// Buffered chunks of a download between the network and the reader.
const DOWNLOAD_CHUNKS_AHEAD: usize = 8;

/// Where the blobs are, parsed from `s3://BUCKET[/PREFIX]?key=value&…`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Key prefix without leading or trailing `/`; empty for the bucket's root.
    pub prefix: String,
    /// `endpoint` (e.g. `http://127.0.0.1:9000`), `region`, and any other object_store
    /// `AmazonS3ConfigKey` (`conditional_put`, `copy_if_not_exists`, …).
    pub options: Vec<(String, String)>,
}

impl S3Location {
    /// Parses `s3://BUCKET[/PREFIX][?endpoint=URL&region=R&…]`.
    pub fn parse(url: &str) -> Result<Self, Error> {
        let bad = |why: &str| {
            Error::BadRequest(format!(
                "--storage {url:?}: {why}; use s3://BUCKET[/PREFIX]?endpoint=http://127.0.0.1:9000&region=us-east-1"
            ))
        };
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| bad("only s3:// URLs are supported"))?;
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
        if bucket.is_empty() {
            return Err(bad("the bucket name is missing"));
        }
        let mut options = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| bad(&format!("`{pair}` is not key=value")))?;
            let config_key = AmazonS3ConfigKey::from_str(key)
                .map_err(|_| bad(&format!("unknown option `{key}`")))?;
            if matches!(
                config_key,
                AmazonS3ConfigKey::AccessKeyId
                    | AmazonS3ConfigKey::SecretAccessKey
                    | AmazonS3ConfigKey::Token
            ) {
                return Err(bad(&format!(
                    "`{key}` must not be in the URL (it would show in process lists and logs): set AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) in the environment"
                )));
            }
            options.push((key.to_owned(), value.to_owned()));
        }
        Ok(S3Location {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
            options,
        })
    }

    fn endpoint(&self) -> Option<&str> {
        self.options
            .iter()
            .find(|(key, _)| {
                matches!(
                    AmazonS3ConfigKey::from_str(key),
                    Ok(AmazonS3ConfigKey::Endpoint)
                )
            })
            .map(|(_, value)| value.as_str())
    }
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}", self.bucket)?;
        if !self.prefix.is_empty() {
            write!(f, "/{}", self.prefix)?;
        }
        match self.endpoint() {
            Some(endpoint) => write!(f, " at {endpoint}"),
            None => write!(f, " (AWS S3)"),
        }
    }
}

/// A tokio runtime that is shut down without waiting when dropped, so dropping the store is
/// safe from any thread, async or not.
struct BackgroundRuntime(Option<tokio::runtime::Runtime>);

impl Drop for BackgroundRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// What the store, its uploads and its downloads share.
struct Shared {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    handle: tokio::runtime::Handle,
    single_put_limit: u64,
    _runtime: BackgroundRuntime,
}

impl Shared {
    /// Runs `future` on the store's runtime and waits for it from this (non-async) thread.
    fn run<T: Send + 'static>(
        &self,
        future: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, Error> {
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        self.handle.spawn(async move {
            let _ = sender.send(future.await);
        });
        receiver
            .recv()
            .map_err(|_| Error::Internal("the object store client stopped".to_owned()))
    }

    fn key(&self, digest: &Digest) -> Path {
        let hex = digest.hex();
        self.prefix
            .clone()
            .join("blobs")
            .join("sha256")
            .join(&hex[..2])
            .join(hex)
    }

    fn staging_key(&self) -> Result<Path, Error> {
        let mut random = [0u8; 16];
        getrandom::fill(&mut random)
            .map_err(|error| Error::Internal(format!("random: {error}")))?;
        Ok(self
            .prefix
            .clone()
            .join("uploads")
            .join(hex::encode(random)))
    }
}

fn storage_error(context: impl fmt::Display) -> impl FnOnce(object_store::Error) -> Error {
    move |error| Error::Internal(format!("object store: {context}: {error}"))
}

/// Blobs in an S3-compatible bucket; uploads staged in a local directory.
pub struct S3BlobStore {
    shared: Arc<Shared>,
    staging: PathBuf,
}

impl S3BlobStore {
    /// Connects to the bucket of an `s3://` URL (credentials from `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, region from `AWS_REGION` unless the URL
    /// has `region=`) and checks that it can be listed.
    pub fn connect(url: &str, staging: PathBuf) -> Result<Self, Error> {
        let location = S3Location::parse(url)?;
        // reqwest is built without a default TLS crypto provider (no aws-lc-sys); ring is the
        // process-wide one. Installing fails harmlessly if something installed it first.
        let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&location.bucket)
            .with_virtual_hosted_style_request(false)
            .with_copy_if_not_exists(S3CopyIfNotExists::Multipart)
            .with_client_options(
                // No whole-request timeout: a 10 GB download may take minutes. A connection
                // that stalls for a minute fails (and a download resumes where it stopped).
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout_disabled()
                    .with_read_timeout(Duration::from_secs(60)),
            )
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: Duration::from_secs(30),
                ..RetryConfig::default()
            });
        for (key, value) in &location.options {
            let key = AmazonS3ConfigKey::from_str(key)
                .map_err(|error| Error::BadRequest(format!("--storage: {error}")))?;
            builder = builder.with_config(key, value);
        }
        if location
            .endpoint()
            .is_some_and(|endpoint| endpoint.starts_with("http://"))
        {
            builder = builder.with_allow_http(true);
        }
        let store = builder
            .build()
            .map_err(|error| Error::BadRequest(format!("--storage {location}: {error}")))?;
        let blobs = S3BlobStore::with_store(Arc::new(store), &location.prefix, staging)?;
        let shared = Arc::clone(&blobs.shared);
        let prefix = shared.prefix.clone();
        let store = Arc::clone(&shared.store);
        shared
            .run(async move { store.list_with_delimiter(Some(&prefix)).await.map(drop) })?
            .map_err(|error| {
                Error::Internal(format!(
                    "cannot reach the blob store {location}: {error}. Check that the endpoint is up, the bucket exists, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set and may list, read, write and delete objects in it, and the region (AWS_REGION or region=) is right"
                ))
            })?;
        Ok(blobs)
    }

    /// A store over any object store (tests use object_store's `InMemory`), keys under
    /// `prefix`.
    pub fn with_store(
        store: Arc<dyn ObjectStore>,
        prefix: &str,
        staging: PathBuf,
    ) -> Result<Self, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("rampart-s3")
            .enable_all()
            .build()
            .map_err(io_error("start the object store client's runtime"))?;
        Ok(S3BlobStore {
            shared: Arc::new(Shared {
                store,
                prefix: Path::from(prefix),
                handle: runtime.handle().clone(),
                single_put_limit: SINGLE_PUT_LIMIT,
                _runtime: BackgroundRuntime(Some(runtime)),
            }),
            staging,
        })
    }

    #[cfg(test)]
    fn with_single_put_limit(mut self, limit: u64) -> Self {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.single_put_limit = limit;
        }
        self
    }
}

impl BlobStore for S3BlobStore {
    fn size(&self, digest: &Digest) -> Result<Option<u64>, Error> {
        head_size(&self.shared, self.shared.key(digest))
    }

    fn begin(&self) -> Result<Box<dyn BlobWriter>, Error> {
        Ok(Box::new(S3Upload {
            shared: Arc::clone(&self.shared),
            staged: StagedUpload::create(&self.staging)?,
        }))
    }

    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>, Error> {
        let store = Arc::clone(&self.shared.store);
        let key = self.shared.key(digest);
        let found = match self.shared.run(async move { store.get(&key).await })? {
            Ok(found) => found,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(Error::NotFound(format!("blob {digest} is not stored")));
            }
            Err(error) => return Err(storage_error(format!("open blob {digest}"))(error)),
        };
        let (sender, receiver) = tokio::sync::mpsc::channel(DOWNLOAD_CHUNKS_AHEAD);
        self.shared.handle.spawn(async move {
            let mut stream = found.into_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(io::Error::other);
                let failed = chunk.is_err();
                // The reader went away: stop downloading.
                if sender.send(chunk).await.is_err() || failed {
                    break;
                }
            }
        });
        Ok(Box::new(S3Reader {
            chunks: receiver,
            current: Default::default(),
        }))
    }

    fn materialize(&self, digest: &Digest, destination: &FsPath) -> Result<(), Error> {
        let mut reader = self.open(digest)?;
        let mut file = File::create_new(destination)
            .map_err(io_error(format!("create {}", destination.display())))?;
        io::copy(&mut reader, &mut file)
            .map_err(io_error(format!("download blob {digest} for the gates")))?;
        drop(file);
        set_read_only(destination)
    }
}

/// A download: chunks arrive from a task on the store's runtime, a few ahead of the reader.
struct S3Reader {
    chunks: tokio::sync::mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl Read for S3Reader {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                None => return Ok(0),
                Some(chunk) => self.current = chunk?,
            }
        }
        let count = buffer.len().min(self.current.len());
        let chunk = self.current.split_to(count);
        buffer[..count].copy_from_slice(&chunk);
        Ok(count)
    }
}

struct S3Upload {
    shared: Arc<Shared>,
    staged: StagedUpload,
}

impl BlobWriter for S3Upload {
    fn write(&mut self, chunk: &[u8]) -> Result<(), Error> {
        self.staged.write(chunk)
    }

    fn written(&self) -> u64 {
        self.staged.written()
    }

    fn commit(mut self: Box<Self>, expected: &Digest) -> Result<bool, Error> {
        let size = self.staged.written();
        let staged = self.staged.verify(expected)?.to_owned();
        let shared = &self.shared;
        let key = shared.key(expected);
        let store = Arc::clone(&shared.store);
        let target = key.clone();
        let published = if size <= shared.single_put_limit {
            let bytes = fs::read(&staged).map_err(io_error("read a staged upload"))?;
            shared.run(async move {
                store
                    .put_opts(&target, bytes.into(), PutMode::Create.into())
                    .await
                    .map(drop)
            })?
        } else {
            let staging_key = shared.staging_key()?;
            shared.run(async move {
                upload_in_parts(store.as_ref(), &staged, &staging_key).await?;
                let copied = store.copy_if_not_exists(&staging_key, &target).await;
                // The staging object is garbage whatever the copy did.
                let _ = store.delete(&staging_key).await;
                copied
            })?
        };
        match published {
            Ok(()) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => {
                // Content-addressed: the object holds these bytes, unless someone wrote the
                // bucket behind rampart's back.
                match head_size(&self.shared, key.clone())? {
                    Some(stored) if stored == size => Ok(false),
                    stored => Err(Error::Internal(format!(
                        "object store: {key} exists with {stored:?} bytes, not {size}: the bucket was modified outside rampart"
                    ))),
                }
            }
            Err(error) => Err(storage_error(format!("store blob {expected} as {key}"))(
                error,
            )),
        }
    }
}

fn head_size(shared: &Shared, key: Path) -> Result<Option<u64>, Error> {
    let store = Arc::clone(&shared.store);
    let context = key.to_string();
    match shared.run(async move { store.head(&key).await })? {
        Ok(meta) => Ok(Some(meta.size)),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(error) => Err(storage_error(format!("stat {context}"))(error)),
    }
}

/// Sends the staged file to `key` in [`PART_SIZE`] parts, at most [`PARTS_IN_FLIGHT`] at once.
async fn upload_in_parts(
    store: &dyn ObjectStore,
    staged: &FsPath,
    key: &Path,
) -> Result<(), object_store::Error> {
    let local = |error: io::Error| object_store::Error::Generic {
        store: "staging directory",
        source: Box::new(error),
    };
    let mut file = tokio::fs::File::open(staged).await.map_err(local)?;
    let upload = store.put_multipart(key).await?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
    let mut buffer = vec![0u8; 1 << 20];
    let sent = async {
        loop {
            let read = file.read(&mut buffer).await.map_err(local)?;
            if read == 0 {
                return Ok(());
            }
            writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
            writer.write(&buffer[..read]);
        }
    }
    .await;
    match sent {
        Ok(()) => writer.finish().await.map(drop),
        Err(error) => {
            let _ = writer.abort().await;
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::sha256;
    use futures_util::TryStreamExt as _;
    use object_store::memory::InMemory;

    struct Fixture {
        dir: tempfile::TempDir,
        memory: Arc<InMemory>,
        store: S3BlobStore,
    }

    /// A store over object_store's `InMemory` whose uploads larger than `single_put_limit`
    /// take the multipart + copy-if-absent path.
    fn fixture(single_put_limit: u64) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let memory = Arc::new(InMemory::new());
        let store = S3BlobStore::with_store(
            Arc::clone(&memory) as Arc<dyn ObjectStore>,
            "team/registry",
            dir.path().to_owned(),
        )
        .expect("store")
        .with_single_put_limit(single_put_limit);
        Fixture { dir, memory, store }
    }

    impl Fixture {
        fn keys(&self) -> Vec<String> {
            let memory = Arc::clone(&self.memory);
            let mut keys = self
                .store
                .shared
                .run(async move { memory.list(None).try_collect::<Vec<_>>().await })
                .expect("run")
                .expect("list")
                .into_iter()
                .map(|meta| meta.location.to_string())
                .collect::<Vec<_>>();
            keys.sort();
            keys
        }

        fn staged_files(&self) -> usize {
            fs::read_dir(self.dir.path()).expect("ls").count()
        }

        fn upload(&self, bytes: &[u8], claimed: &Digest) -> Result<bool, Error> {
            let mut writer = self.store.begin()?;
            for chunk in bytes.chunks(4096) {
                writer.write(chunk)?;
            }
            writer.commit(claimed)
        }

        fn read(&self, digest: &Digest) -> Vec<u8> {
            let mut bytes = Vec::new();
            self.store
                .open(digest)
                .expect("open")
                .read_to_end(&mut bytes)
                .expect("read");
            bytes
        }
    }

    fn weights(size: usize) -> Vec<u8> {
        (0..size).map(|index| (index * 31 % 251) as u8).collect()
    }

    /// Both paths: a single conditional PUT and multipart + copy-if-absent.
    const PATHS: [u64; 2] = [SINGLE_PUT_LIMIT, 0];

    #[test]
    fn stores_once_at_the_content_address_and_never_overwrites() {
        for limit in PATHS {
            let fixture = fixture(limit);
            let bytes = weights(300_000);
            let digest = sha256(&bytes);
            assert!(fixture.upload(&bytes, &digest).expect("first upload"));
            assert!(!fixture.upload(&bytes, &digest).expect("second upload"));
            let hex = digest.hex();
            assert_eq!(
                fixture.keys(),
                vec![format!("team/registry/blobs/sha256/{}/{hex}", &hex[..2])],
                "one object at the content address, no staging objects left (limit {limit})"
            );
            assert_eq!(fixture.store.size(&digest).expect("size"), Some(300_000));
            assert_eq!(fixture.read(&digest), bytes);
            assert_eq!(fixture.staged_files(), 0, "local staging files are removed");
        }
    }

    #[test]
    fn a_wrong_digest_leaves_nothing_anywhere() {
        for limit in PATHS {
            let fixture = fixture(limit);
            let claimed = sha256(b"something else");
            assert!(matches!(
                fixture.upload(&weights(50_000), &claimed),
                Err(Error::DigestMismatch(_))
            ));
            assert!(fixture.keys().is_empty(), "nothing reached the store");
            assert_eq!(fixture.store.size(&claimed).expect("size"), None);
            assert_eq!(fixture.staged_files(), 0);
        }
    }

    #[test]
    fn concurrent_uploads_of_one_digest_create_it_once() {
        for limit in PATHS {
            let fixture = fixture(limit);
            let bytes = weights(100_000);
            let digest = sha256(&bytes);
            let created = std::thread::scope(|scope| {
                let uploads = (0..6)
                    .map(|_| scope.spawn(|| fixture.upload(&bytes, &digest)))
                    .collect::<Vec<_>>();
                uploads
                    .into_iter()
                    .map(|upload| upload.join().expect("thread").expect("upload"))
                    .filter(|created| *created)
                    .count()
            });
            assert_eq!(
                created, 1,
                "exactly one upload creates the blob (limit {limit})"
            );
            assert_eq!(fixture.keys().len(), 1);
            assert_eq!(fixture.read(&digest), bytes);
        }
    }

    #[test]
    fn an_object_of_another_size_under_the_digest_is_an_error() {
        for limit in PATHS {
            let fixture = fixture(limit);
            let bytes = weights(20_000);
            let digest = sha256(&bytes);
            let key = fixture.store.shared.key(&digest);
            let memory = Arc::clone(&fixture.memory);
            fixture
                .store
                .shared
                .run(async move { memory.put(&key, b"tampered".to_vec().into()).await })
                .expect("run")
                .expect("put");
            let error = fixture.upload(&bytes, &digest).expect_err("refused");
            assert!(
                error.to_string().contains("modified outside rampart"),
                "{error}"
            );
            assert_eq!(fixture.read(&digest), b"tampered", "never overwritten");
        }
    }

    #[test]
    fn downloads_stream_and_materialize_read_only() {
        let fixture = fixture(SINGLE_PUT_LIMIT);
        let bytes = weights(3 << 20);
        let digest = sha256(&bytes);
        fixture.upload(&bytes, &digest).expect("upload");
        let mut reader = fixture.store.open(&digest).expect("open");
        let mut small = [0u8; 1000];
        let mut read = Vec::new();
        loop {
            let count = reader.read(&mut small).expect("read");
            if count == 0 {
                break;
            }
            read.extend_from_slice(&small[..count]);
        }
        assert_eq!(read, bytes, "read in small pieces");
        let out = fixture.dir.path().join("gate-file");
        fixture
            .store
            .materialize(&digest, &out)
            .expect("materialize");
        assert_eq!(fs::read(&out).expect("read"), bytes);
        assert!(fs::metadata(&out).expect("stat").permissions().readonly());
        assert!(matches!(
            fixture.store.open(&sha256(b"missing")),
            Err(Error::NotFound(_))
        ));
        assert!(
            fixture
                .store
                .materialize(&sha256(b"missing"), &fixture.dir.path().join("x"))
                .is_err()
        );
    }

    #[test]
    fn dropping_the_store_inside_an_async_context_is_safe() {
        let fixture = fixture(SINGLE_PUT_LIMIT);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        runtime.block_on(async move { drop(fixture) });
    }

    #[test]
    fn storage_urls_parse() {
        let location = S3Location::parse(
            "s3://models/team/registry/?endpoint=http://127.0.0.1:9000&region=eu-west-1",
        )
        .expect("parse");
        assert_eq!(location.bucket, "models");
        assert_eq!(location.prefix, "team/registry");
        assert_eq!(location.endpoint(), Some("http://127.0.0.1:9000"));
        assert_eq!(
            location.to_string(),
            "s3://models/team/registry at http://127.0.0.1:9000"
        );
        let plain = S3Location::parse("s3://models").expect("parse");
        assert_eq!((plain.prefix.as_str(), plain.endpoint()), ("", None));
        assert!(
            S3Location::parse("s3://models?aws_conditional_put=etag").is_ok(),
            "any object_store S3 option"
        );
        for bad in [
            "https://models",
            "s3://",
            "s3:///prefix",
            "s3://models?endpoint",
            "s3://models?colour=blue",
            "s3://models?aws_secret_access_key=x",
        ] {
            assert!(
                matches!(S3Location::parse(bad), Err(Error::BadRequest(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn an_unreachable_endpoint_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        drop(listener);
        let started = std::time::Instant::now();
        let error = S3BlobStore::connect(
            &format!("s3://models?endpoint=http://127.0.0.1:{port}&region=us-east-1"),
            dir.path().to_owned(),
        )
        .err()
        .expect("refused");
        let message = error.to_string();
        assert!(
            message.contains(&format!("s3://models at http://127.0.0.1:{port}"))
                && message.contains("AWS_ACCESS_KEY_ID"),
            "{message}"
        );
        assert!(started.elapsed() < Duration::from_secs(30));
    }
}
