use std::fmt;
use std::io::Read;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::{Scope, ScopedJoinHandle};

use sha2::{Digest as _, Sha256};

use crate::error::{ImageError, Result};

/// A `sha256:<64 hex>` content digest. Only sha256 is accepted: it is what every builder
/// writes, and a validated digest is safe to use as a blob file name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    hex: String,
}

impl Digest {
    pub fn parse(text: &str) -> Result<Digest> {
        let hex = text
            .strip_prefix("sha256:")
            .ok_or_else(|| ImageError::Malformed {
                what: format!("digest '{}'", shorten(text)),
                reason: "only sha256 digests are supported".to_owned(),
            })?;
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(ImageError::Malformed {
                what: format!("digest '{}'", shorten(text)),
                reason: "a sha256 digest is 64 lower-case hex digits".to_owned(),
            });
        }
        Ok(Digest {
            hex: hex.to_owned(),
        })
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest {
            hex: hex::encode(Sha256::digest(bytes)),
        }
    }

    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// Where the blob lives in an OCI layout.
    pub fn blob_path(&self) -> String {
        format!("blobs/sha256/{}", self.hex)
    }

    /// The digest a docker save member name carries: `blobs/sha256/<hex>` or `<hex>.json`.
    pub(crate) fn from_member_name(name: &str) -> Option<Digest> {
        let hex = name
            .strip_prefix("blobs/sha256/")
            .or_else(|| name.strip_suffix(".json"))?;
        Digest::parse(&format!("sha256:{hex}")).ok()
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

/// Checks `bytes` against `expected` (and the descriptor's size when it has one).
pub(crate) fn verify(blob: &str, bytes: &[u8], expected: &Digest, size: Option<u64>) -> Result<()> {
    check(blob, &Digest::of(bytes), bytes.len() as u64, expected, size)
}

/// Checks a digest and length already taken (by a [`HashingReader`]) against `expected`.
pub(crate) fn check(
    blob: &str,
    actual: &Digest,
    len: u64,
    expected: &Digest,
    size: Option<u64>,
) -> Result<()> {
    if let Some(size) = size
        && size != len
    {
        return Err(ImageError::DigestMismatch {
            blob: blob.to_owned(),
            expected: format!("{size} bytes"),
            actual: format!("{len} bytes"),
        });
    }
    if actual != expected {
        return Err(ImageError::DigestMismatch {
            blob: blob.to_owned(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        });
    }
    Ok(())
}

/// Hashes and counts what is read through it, so a stream is verified as it is consumed.
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    len: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    /// Reads the rest of the stream, then returns its digest and length.
    pub fn finish(mut self) -> std::io::Result<(Digest, u64)> {
        std::io::copy(&mut self, &mut std::io::sink())?;
        let hex = hex::encode(self.hasher.finalize());
        Ok((Digest { hex }, self.len))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        let chunk = buf.get(..read).unwrap_or_default();
        self.hasher.update(chunk);
        self.len += read as u64;
        Ok(read)
    }
}

/// How much a [`ThreadedHashingReader`] hands its hashing thread at a time.
const HASH_BATCH: usize = 1 << 20;
/// Batches in flight: enough to keep both threads busy, few enough to keep memory flat.
const HASH_BATCHES_IN_FLIGHT: usize = 4;

/// A [`HashingReader`] whose hashing runs on a thread of its own (in `scope`): what is read
/// is copied to it in batches, so a stream that costs a core to produce (decompression) is
/// hashed on the other.
pub(crate) struct ThreadedHashingReader<'scope, R> {
    inner: R,
    batch: Vec<u8>,
    to_hasher: SyncSender<Vec<u8>>,
    emptied: Receiver<Vec<u8>>,
    hasher: ScopedJoinHandle<'scope, (Digest, u64)>,
}

impl<'scope, R: Read> ThreadedHashingReader<'scope, R> {
    pub fn new<'env>(scope: &'scope Scope<'scope, 'env>, inner: R) -> Self {
        let (to_hasher, batches) = sync_channel::<Vec<u8>>(HASH_BATCHES_IN_FLIGHT);
        let (give_back, emptied) = sync_channel::<Vec<u8>>(HASH_BATCHES_IN_FLIGHT + 1);
        let hasher = scope.spawn(move || {
            let (mut hasher, mut len) = (Sha256::new(), 0u64);
            for mut batch in batches {
                hasher.update(&batch);
                len += batch.len() as u64;
                batch.clear();
                // The reader may be gone or have batches enough; either way this one is done.
                let _ = give_back.try_send(batch);
            }
            let hex = hex::encode(hasher.finalize());
            (Digest { hex }, len)
        });
        ThreadedHashingReader {
            inner,
            batch: Vec::with_capacity(HASH_BATCH),
            to_hasher,
            emptied,
            hasher,
        }
    }

    /// Reads the rest of the stream, then returns its digest and length.
    pub fn finish(mut self) -> std::io::Result<(Digest, u64)> {
        std::io::copy(&mut self, &mut std::io::sink())?;
        let last = std::mem::take(&mut self.batch);
        // Only fails when the hashing thread is gone, which `join` then reports.
        let _ = self.to_hasher.send(last);
        drop(self.to_hasher);
        match self.hasher.join() {
            Ok(digest) => Ok(digest),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    fn hand_over(&mut self) {
        let next = self
            .emptied
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(HASH_BATCH));
        let full = std::mem::replace(&mut self.batch, next);
        // A send fails only when the hashing thread is gone, which `finish` then reports.
        let _ = self.to_hasher.send(full);
    }
}

impl<R: Read> Read for ThreadedHashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        let mut chunk = buf.get(..read).unwrap_or_default();
        while !chunk.is_empty() {
            let room = HASH_BATCH - self.batch.len();
            let (now, later) = chunk.split_at(room.min(chunk.len()));
            self.batch.extend_from_slice(now);
            if self.batch.len() == HASH_BATCH {
                self.hand_over();
            }
            chunk = later;
        }
        Ok(read)
    }
}

/// Hostile strings end up in error messages; keep them short.
pub(crate) fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_well_formed_sha256() {
        let good = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(Digest::parse(&good).map(|d| d.to_string()).ok(), Some(good));
        for bad in [
            "sha512:00".to_owned(),
            format!("sha256:{}", "AB".repeat(32)),
            format!("sha256:{}/../x", "a".repeat(60)),
            "sha256:".to_owned(),
        ] {
            assert!(Digest::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn verify_reports_size_and_hash_mismatches() {
        let digest = Digest::of(b"abc");
        assert!(verify("b", b"abc", &digest, Some(3)).is_ok());
        assert!(verify("b", b"abc", &digest, Some(4)).is_err());
        assert!(verify("b", b"abd", &digest, None).is_err());
    }

    #[test]
    fn threaded_hashing_matches_hashing_in_place() {
        let data: Vec<u8> = (0..(3 * HASH_BATCH + 12_345))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        for size in [0, 1, HASH_BATCH - 1, HASH_BATCH, data.len()] {
            let expected = (Digest::of(&data[..size]), size as u64);
            let threaded = std::thread::scope(|scope| {
                let mut reader = ThreadedHashingReader::new(scope, &data[..size]);
                // Odd-sized reads, as the tar reader makes them.
                let mut head = vec![0u8; 1000.min(size)];
                reader.read_exact(&mut head).expect("reads");
                reader.finish().expect("hashes")
            });
            assert_eq!(threaded, expected, "{size} bytes");
            let in_place = HashingReader::new(&data[..size]).finish().expect("hashes");
            assert_eq!(in_place, expected);
        }
    }

    #[test]
    fn member_names_carry_digests() {
        let hex = "0".repeat(64);
        assert!(Digest::from_member_name(&format!("blobs/sha256/{hex}")).is_some());
        assert!(Digest::from_member_name(&format!("{hex}.json")).is_some());
        assert!(Digest::from_member_name("abc/layer.tar").is_none());
    }
}
