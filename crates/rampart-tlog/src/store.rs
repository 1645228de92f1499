//! A log on disk: one directory, append-only files, one small commit record.
//!
//! # Layout
//!
//! | file | content |
//! | --- | --- |
//! | `entries` | the entries' bytes, concatenated |
//! | `index` | per entry, the big-endian `u64` offset in `entries` where it ends (8 bytes each) |
//! | `hashes` | every perfect-subtree hash (32 bytes each) in the order appending completes them: leaf `m`, then the `trailing_ones(m)` nodes it completes; node (level, k) sits at `2m - popcount(m) + level` with `m = (k + 1) * 2^level - 1`, and a tree of `n` leaves holds `2n - popcount(n)` hashes |
//! | `checkpoints` | every checkpoint ever signed, in order: big-endian `u32` length, then the signed note |
//! | `state` | the commit record, twice (slots at 0 and 512): generation, tree size, committed lengths of `entries` and `checkpoints`, offset of the latest checkpoint, root hash, checksum |
//! | `lock` | held with an exclusive lock by the one writer ([`Log::open`]), shared by readers |
//! | `log.vkey` | the log's verifier key (`name+id+key`), one line |
//! | `log.key` | the log's signer key (`PRIVATE+KEY+...`), mode 0600 |
//!
//! A proof reads O(log n) hashes at computed positions; nothing is loaded into memory except
//! the tree's right edge (one hash per set bit of the size).
//!
//! # Durability and recovery
//!
//! An append writes the entries, index records and new hashes past the committed ends, syncs
//! the three files, then writes the next commit record into the slot the current one is not in
//! and syncs it: the entries are acknowledged only when that returns. Signing a checkpoint
//! appends its frame and commits the same way. So after a crash each file is its committed
//! length plus possibly an unacknowledged tail, and one slot still holds the last commit (a
//! torn slot fails its checksum and the other one is used).
//!
//! [`Log::open`] truncates such tails (reporting them as [`Repair`]s). Anything else (a file
//! shorter than committed, an index that does not end where `entries` does, a right edge that
//! does not hash to the committed root, a latest checkpoint that does not match the tree) is
//! [`Error::Corrupt`] and is never repaired. [`Log::verify_all`] recomputes every hash from the
//! entries and checks every stored checkpoint against the tree.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::Error;
use crate::checkpoint::{Checkpoint, TrustPolicy};
use crate::merkle::{self, Frontier, HASH_LEN, Hash, MAX_TREE_SIZE, NodeSource};
use crate::note::{KeyType, MAX_NOTE_LEN, Note, SignerKey, VerifierKey};
use crate::proof::{ConsistencyProof, TlogProof};

/// File holding the log's verifier key.
pub const VERIFIER_KEY_FILE: &str = "log.vkey";
/// File holding the log's signer key.
pub const SIGNER_KEY_FILE: &str = "log.key";
/// Largest entry accepted: the log records events and digests, not artifacts.
pub const MAX_ENTRY_LEN: usize = 16 << 20;

const ENTRIES_FILE: &str = "entries";
const INDEX_FILE: &str = "index";
const HASHES_FILE: &str = "hashes";
const CHECKPOINTS_FILE: &str = "checkpoints";
const STATE_FILE: &str = "state";
const LOCK_FILE: &str = "lock";

const INDEX_RECORD_LEN: u64 = 8;
const FRAME_HEADER_LEN: u64 = 4;
/// Slots sit in separate 512-byte sectors so a torn write can damage only the one written.
const STATE_SLOT_SPACING: u64 = 512;
const STATE_FILE_LEN: u64 = 2 * STATE_SLOT_SPACING;
const STATE_MAGIC: [u8; 8] = *b"RTLOG\0v1";
const STATE_RECORD_LEN: usize = 8 + 5 * 8 + HASH_LEN + 8;
const NO_CHECKPOINT: u64 = u64::MAX;
const WRITE_CHUNK: usize = 1 << 20;

/// The committed state of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct State {
    generation: u64,
    size: u64,
    entries_len: u64,
    checkpoints_len: u64,
    latest_checkpoint: u64,
    root: Hash,
}

impl State {
    fn empty() -> Self {
        Self {
            generation: 0,
            size: 0,
            entries_len: 0,
            checkpoints_len: 0,
            latest_checkpoint: NO_CHECKPOINT,
            root: merkle::empty_root(),
        }
    }

    fn encode(&self) -> Vec<u8> {
        let fields = [
            self.generation,
            self.size,
            self.entries_len,
            self.checkpoints_len,
            self.latest_checkpoint,
        ];
        let mut body = Vec::with_capacity(STATE_RECORD_LEN);
        body.extend_from_slice(&STATE_MAGIC);
        fields
            .iter()
            .for_each(|field| body.extend_from_slice(&field.to_be_bytes()));
        body.extend_from_slice(&self.root);
        let checksum = Sha256::digest(&body);
        body.extend_from_slice(checksum.get(..8).unwrap_or_default());
        body
    }

    fn decode(record: &[u8]) -> Option<Self> {
        let (body, checksum) = record
            .get(..STATE_RECORD_LEN)?
            .split_at(STATE_RECORD_LEN - 8);
        if Sha256::digest(body).get(..8)? != checksum {
            return None;
        }
        let (magic, rest) = body.split_first_chunk::<8>()?;
        if *magic != STATE_MAGIC {
            return None;
        }
        let mut fields = rest.chunks_exact(8).map(|chunk| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(chunk);
            u64::from_be_bytes(bytes)
        });
        let mut next = || fields.next();
        let state = Self {
            generation: next()?,
            size: next()?,
            entries_len: next()?,
            checkpoints_len: next()?,
            latest_checkpoint: next()?,
            root: rest.get(5 * 8..)?.try_into().ok()?,
        };
        (state.size <= MAX_TREE_SIZE).then_some(state)
    }

    fn index_len(&self) -> u64 {
        // Cannot overflow: size <= MAX_TREE_SIZE.
        self.size * INDEX_RECORD_LEN
    }

    fn hashes_len(&self) -> u64 {
        merkle::stored_node_count(self.size).map_or(u64::MAX, |count| count * HASH_LEN as u64)
    }
}

/// A torn tail found on open: bytes past the committed length that no caller was ever told
/// were written. A writable open truncates them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    /// The file.
    pub file: PathBuf,
    /// Its committed length (what it was truncated to).
    pub committed_len: u64,
    /// Its length as found.
    pub found_len: u64,
}

/// What [`Log::verify_all`] checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Number of entries, all rehashed.
    pub size: u64,
    /// The root they hash to.
    pub root: Hash,
    /// Total bytes of entry data.
    pub entry_bytes: u64,
    /// Number of stored checkpoints, each verified and consistent with the tree.
    pub checkpoints: u64,
}

/// A signed checkpoint as stored, and its parsed body.
#[derive(Debug, Clone)]
struct StoredCheckpoint {
    checkpoint: Checkpoint,
    note: Note,
}

/// A transparency log in a directory. See the module documentation for the layout.
#[derive(Debug)]
pub struct Log {
    dir: PathBuf,
    /// The exclusive lock of a writer, released when the log is dropped.
    _lock: Option<File>,
    writable: bool,
    poisoned: bool,
    entries: DataFile,
    index: DataFile,
    hashes: DataFile,
    checkpoints: DataFile,
    state_file: DataFile,
    verifier: VerifierKey,
    signer: Option<SignerKey>,
    state: State,
    frontier: Frontier,
    latest: Option<StoredCheckpoint>,
    repairs: Vec<Repair>,
}

impl Log {
    /// Creates a new, empty log in `dir` (which must be missing or empty) whose checkpoints
    /// name `origin` and are signed by `signer`. The signer key must be an Ed25519 note key
    /// named `origin`; it is stored in `log.key` (mode 0600) and its verifier key in `log.vkey`.
    pub fn init(dir: &Path, origin: &str, signer: &SignerKey) -> Result<Self, Error> {
        if signer.key_type() != KeyType::Ed25519 {
            return Err(Error::WrongKeyType {
                name: signer.name().to_owned(),
                expected: KeyType::Ed25519,
                found: signer.key_type(),
            });
        }
        if signer.name() != origin {
            return Err(Error::InvalidArgument(format!(
                "the origin {origin:?} must be the signer key's name {:?}",
                signer.name()
            )));
        }
        let io_error = |file: &Path, operation| {
            let file = file.to_path_buf();
            move |source| Error::Io {
                file,
                operation,
                offset: 0,
                source,
            }
        };
        let created = !dir.exists();
        fs::create_dir_all(dir).map_err(io_error(dir, "create directory"))?;
        if fs::read_dir(dir)
            .map_err(io_error(dir, "list directory"))?
            .next()
            .is_some()
        {
            return Err(Error::InvalidLogDir {
                dir: dir.to_path_buf(),
                reason: "is not empty; a new log needs an empty or missing directory".to_owned(),
            });
        }
        let lock = create_file(dir, LOCK_FILE, b"", false)?;
        lock_exclusively(&lock, dir)?;
        write_key_files(dir, signer)?;
        for name in [ENTRIES_FILE, INDEX_FILE, HASHES_FILE, CHECKPOINTS_FILE] {
            create_file(dir, name, b"", false)?;
        }
        // The state file last: a directory without a valid one is an interrupted init.
        let mut state = State::empty().encode();
        state.resize(STATE_FILE_LEN as usize, 0);
        create_file(dir, STATE_FILE, &state, false)?;
        sync_directory(dir)?;
        if created
            && let Some(parent) = dir.parent().filter(|parent| !parent.as_os_str().is_empty())
        {
            sync_directory(parent)?;
        }
        Self::load(dir, Some(lock))
    }

    /// Opens the log in `dir` for appending and signing, failing if another process has it
    /// open for writing. Torn tails of interrupted writes are truncated (see [`Log::repairs`]);
    /// any other inconsistency is an error. The signer key is loaded from `log.key` if present.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        check_is_log(dir)?;
        let path = dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|source| Error::Io {
                file: path,
                operation: "open",
                offset: 0,
                source,
            })?;
        lock_exclusively(&lock, dir)?;
        Self::load(dir, Some(lock))
    }

    /// Opens the log in `dir` for reading (proofs against stored checkpoints, verification)
    /// without modifying anything, torn tails included (they are ignored). It takes no lock:
    /// committed bytes never change, so it reads a consistent snapshot even while a writer
    /// appends.
    pub fn open_read_only(dir: &Path) -> Result<Self, Error> {
        check_is_log(dir)?;
        Self::load(dir, None)
    }

    /// `lock` is held for writers; readers have none.
    fn load(dir: &Path, lock: Option<File>) -> Result<Self, Error> {
        let writable = lock.is_some();
        let (verifier, signer) = read_key_files(dir, writable)?;
        let open = |name| DataFile::open(dir, name, writable);
        let state_file = open(STATE_FILE)?;
        let state = read_state(&state_file)?;
        let mut log = Self {
            dir: dir.to_path_buf(),
            _lock: lock,
            writable,
            poisoned: false,
            entries: open(ENTRIES_FILE)?,
            index: open(INDEX_FILE)?,
            hashes: open(HASHES_FILE)?,
            checkpoints: open(CHECKPOINTS_FILE)?,
            state_file,
            verifier,
            signer,
            state,
            frontier: Frontier::default(),
            latest: None,
            repairs: Vec::new(),
        };
        log.settle_lengths()?;
        log.check_index_end()?;
        log.frontier = Frontier::load(&log.tree(), state.size)?;
        if log.frontier.root() != state.root {
            return Err(log.hashes.corrupt(
                0,
                "the tree's right edge does not hash to the committed root",
            ));
        }
        log.latest = log.load_latest_checkpoint()?;
        Ok(log)
    }

    /// Checks every file against its committed length, truncating unacknowledged tails.
    fn settle_lengths(&mut self) -> Result<(), Error> {
        let committed = [
            (&self.entries, self.state.entries_len),
            (&self.index, self.state.index_len()),
            (&self.hashes, self.state.hashes_len()),
            (&self.checkpoints, self.state.checkpoints_len),
        ];
        for (file, committed_len) in committed {
            let found_len = file.len()?;
            if found_len < committed_len {
                return Err(file.corrupt(
                    found_len,
                    &format!("the file ends before its committed length {committed_len}: committed data is missing"),
                ));
            }
            if found_len > committed_len {
                if self.writable {
                    file.truncate(committed_len)?;
                }
                self.repairs.push(Repair {
                    file: file.path.clone(),
                    committed_len,
                    found_len,
                });
            }
        }
        Ok(())
    }

    fn check_index_end(&self) -> Result<(), Error> {
        let end = match self.state.size {
            0 => 0,
            size => self.index.read_u64((size - 1) * INDEX_RECORD_LEN)?,
        };
        if end != self.state.entries_len {
            return Err(self.index.corrupt(
                self.state.index_len().saturating_sub(INDEX_RECORD_LEN),
                &format!(
                    "the last entry ends at {end} but {} bytes of entries are committed",
                    self.state.entries_len
                ),
            ));
        }
        Ok(())
    }

    fn load_latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, Error> {
        let offset = self.state.latest_checkpoint;
        if offset == NO_CHECKPOINT {
            if self.state.checkpoints_len != 0 {
                return Err(self.checkpoints.corrupt(
                    0,
                    "checkpoints are stored but none is committed as the latest",
                ));
            }
            return Ok(None);
        }
        let (note, end) = self.read_checkpoint_frame(offset, self.state.checkpoints_len)?;
        if end != self.state.checkpoints_len {
            return Err(self
                .checkpoints
                .corrupt(offset, "the latest checkpoint is not the last one stored"));
        }
        let stored =
            self.check_stored_checkpoint(offset, note, &self.trust_policy(&self.verifier)?)?;
        Ok(Some(stored))
    }

    /// The frame at `offset`: the note and where the next frame starts.
    fn read_checkpoint_frame(&self, offset: u64, limit: u64) -> Result<(Note, u64), Error> {
        if offset
            .checked_add(FRAME_HEADER_LEN)
            .is_none_or(|header_end| header_end > limit)
        {
            return Err(self
                .checkpoints
                .corrupt(offset, "a checkpoint frame starts past the committed end"));
        }
        let len = self.checkpoints.read_u32(offset)?;
        let start = offset.checked_add(FRAME_HEADER_LEN);
        let end = start.and_then(|start| start.checked_add(u64::from(len)));
        match (start, end) {
            (Some(start), Some(end)) if end <= limit && (len as usize) <= MAX_NOTE_LEN => {
                let bytes = self.checkpoints.read_vec(start, len as usize)?;
                let note = Note::parse(&bytes).map_err(|error| {
                    self.checkpoints
                        .corrupt(offset, &format!("stored checkpoint: {error}"))
                })?;
                Ok((note, end))
            }
            _ => Err(self.checkpoints.corrupt(
                offset,
                &format!("a checkpoint frame of {len} bytes overruns the file"),
            )),
        }
    }

    /// Verifies a stored checkpoint's signature and that the tree reproduces its root.
    fn check_stored_checkpoint(
        &self,
        offset: u64,
        note: Note,
        policy: &TrustPolicy,
    ) -> Result<StoredCheckpoint, Error> {
        let corrupt = |reason: String| self.checkpoints.corrupt(offset, &reason);
        let verified = policy
            .verify(note)
            .map_err(|error| corrupt(format!("stored checkpoint: {error}")))?;
        let checkpoint = verified.checkpoint;
        if checkpoint.size() > self.state.size {
            return Err(corrupt(format!(
                "a checkpoint of size {} is beyond the {} committed entries",
                checkpoint.size(),
                self.state.size
            )));
        }
        if merkle::root(&self.tree(), checkpoint.size())? != *checkpoint.root() {
            return Err(corrupt(format!(
                "the checkpoint of size {} is not consistent with the stored tree",
                checkpoint.size()
            )));
        }
        Ok(StoredCheckpoint {
            checkpoint,
            note: verified.note,
        })
    }

    fn trust_policy(&self, key: &VerifierKey) -> Result<TrustPolicy, Error> {
        Ok(TrustPolicy::new(key.clone())?.with_origin(self.verifier.name()))
    }

    fn tree(&self) -> StoredTree<'_> {
        StoredTree {
            hashes: &self.hashes,
            size: self.state.size,
        }
    }

    /// The log directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The origin every checkpoint names (the log key's name).
    pub fn origin(&self) -> &str {
        self.verifier.name()
    }

    /// The log's verifier key.
    pub fn verifier_key(&self) -> &VerifierKey {
        &self.verifier
    }

    /// Number of committed entries.
    pub fn size(&self) -> u64 {
        self.state.size
    }

    /// The Merkle root of all committed entries.
    pub fn root(&self) -> Hash {
        self.state.root
    }

    /// Torn tails found when the log was opened (truncated if it was opened writable).
    pub fn repairs(&self) -> &[Repair] {
        &self.repairs
    }

    /// Uses `signer` to sign checkpoints (for a log whose `log.key` is kept elsewhere). It must
    /// be the private key of `log.vkey`.
    pub fn set_signer(&mut self, signer: SignerKey) -> Result<(), Error> {
        if signer.verifier() != self.verifier {
            return Err(Error::InvalidArgument(format!(
                "the signer key is not the private key of {}",
                self.dir.join(VERIFIER_KEY_FILE).display()
            )));
        }
        self.signer = Some(signer);
        Ok(())
    }

    /// Appends `entries` in order and returns their indices. When it returns they are durable;
    /// if it fails none of them is committed and the handle must be reopened.
    pub fn append<E: AsRef<[u8]>>(&mut self, entries: &[E]) -> Result<Vec<u64>, Error> {
        self.check_writable()?;
        if let Some((position, entry)) = entries
            .iter()
            .enumerate()
            .find(|(_, entry)| entry.as_ref().len() > MAX_ENTRY_LEN)
        {
            return Err(Error::EntryTooLarge {
                position,
                len: entry.as_ref().len(),
                max: MAX_ENTRY_LEN,
            });
        }
        let new_size = u64::try_from(entries.len())
            .ok()
            .and_then(|count| self.state.size.checked_add(count))
            .filter(|size| *size <= MAX_TREE_SIZE)
            .ok_or(Error::TreeTooLarge {
                size: self.state.size,
            })?;
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let first = self.state.size;
        self.poison_on_error(|log| log.commit_entries(entries))?;
        Ok((first..new_size).collect())
    }

    fn commit_entries<E: AsRef<[u8]>>(&mut self, entries: &[E]) -> Result<(), Error> {
        let mut frontier = self.frontier.clone();
        let mut data = BatchWriter::new(&self.entries, self.state.entries_len);
        let mut index = BatchWriter::new(&self.index, self.state.index_len());
        let mut hashes = BatchWriter::new(&self.hashes, self.state.hashes_len());
        let mut end = self.state.entries_len;
        for entry in entries {
            let entry = entry.as_ref();
            data.push(entry)?;
            end = end.checked_add(entry.len() as u64).ok_or_else(|| {
                self.entries
                    .corrupt(end, "the entries file would exceed 2^64 bytes")
            })?;
            index.push(&end.to_be_bytes())?;
            frontier.push(merkle::leaf_hash(entry), |hash| hashes.push(hash))?;
        }
        data.finish()?;
        index.finish()?;
        hashes.finish()?;
        for file in [&self.entries, &self.index, &self.hashes] {
            file.sync()?;
        }
        let next = State {
            generation: self.state.generation + 1,
            size: frontier.size(),
            entries_len: end,
            root: frontier.root(),
            ..self.state
        };
        self.commit(next)?;
        self.frontier = frontier;
        Ok(())
    }

    /// The signed checkpoint of the current tree, exactly as a signed note. If the tree grew
    /// since the last checkpoint a new one is signed and stored first; otherwise the stored one
    /// is returned unchanged.
    pub fn checkpoint(&mut self) -> Result<String, Error> {
        if let Some(latest) = &self.latest
            && latest.checkpoint.size() == self.state.size
        {
            return Ok(latest.note.to_string());
        }
        self.check_writable()?;
        let signer = self.signer.as_ref().ok_or(Error::NoSigner)?;
        // Never sign a head the last one is not a prefix of; the tree only grows, so this
        // catches corruption of the stored hashes since open.
        if let Some(latest) = &self.latest
            && merkle::root(&self.tree(), latest.checkpoint.size())? != *latest.checkpoint.root()
        {
            return Err(self.hashes.corrupt(
                0,
                "the tree no longer reproduces the latest checkpoint's root",
            ));
        }
        let checkpoint = Checkpoint::new(self.verifier.name(), self.state.size, self.state.root)?;
        let note = checkpoint.sign(signer)?;
        let text = note.to_string();
        self.poison_on_error(|log| log.commit_checkpoint(StoredCheckpoint { checkpoint, note }))?;
        Ok(text)
    }

    /// Stores witness cosignatures of the latest checkpoint. `cosigned` is that checkpoint with
    /// more signature lines (such as a witness's `add-checkpoint` reply appended to it); the
    /// lines by `witnesses` (cosignature keys) must verify and are added, others are dropped.
    /// Later proofs carry them. Returns how many were new.
    pub fn add_cosignatures(
        &mut self,
        cosigned: &[u8],
        witnesses: &[VerifierKey],
    ) -> Result<usize, Error> {
        self.check_writable()?;
        let latest = self.latest.as_ref().ok_or(Error::NoCheckpoint {
            size: self.state.size,
        })?;
        let note = Note::parse(cosigned)?;
        if note.text() != latest.note.text() {
            return Err(Error::InvalidArgument(
                "the cosigned note is not the log's latest checkpoint".to_owned(),
            ));
        }
        let policy = self
            .trust_policy(&self.verifier)?
            .with_witnesses(witnesses.to_vec(), 0)?;
        let verified = policy.verify(note.clone())?;
        let mut merged = latest.note.clone();
        let mut added = 0;
        for signature in note.signatures() {
            let is_verified_witness = verified.cosignatures.iter().any(|witness| {
                witness.name == signature.name() && witness.key_id == signature.key_id()
            });
            if is_verified_witness && !merged.signatures().contains(signature) {
                merged.add_signature(signature.clone())?;
                added += 1;
            }
        }
        if added > 0 {
            let checkpoint = latest.checkpoint.clone();
            self.poison_on_error(|log| {
                log.commit_checkpoint(StoredCheckpoint {
                    checkpoint,
                    note: merged,
                })
            })?;
        }
        Ok(added)
    }

    fn commit_checkpoint(&mut self, stored: StoredCheckpoint) -> Result<(), Error> {
        let text = stored.note.to_string();
        let len = u32::try_from(text.len())
            .map_err(|_| Error::InvalidArgument("checkpoint over 4 GiB".to_owned()))?;
        let offset = self.state.checkpoints_len;
        let mut frame = BatchWriter::new(&self.checkpoints, offset);
        frame.push(&len.to_be_bytes())?;
        frame.push(text.as_bytes())?;
        let end = frame.finish()?;
        self.checkpoints.sync()?;
        let next = State {
            generation: self.state.generation + 1,
            checkpoints_len: end,
            latest_checkpoint: offset,
            ..self.state
        };
        self.commit(next)?;
        self.latest = Some(stored);
        Ok(())
    }

    /// Writes `next` into the slot the current record is not in, syncs it, and adopts it.
    fn commit(&mut self, next: State) -> Result<(), Error> {
        let offset = (next.generation % 2) * STATE_SLOT_SPACING;
        self.state_file.write_at(&next.encode(), offset)?;
        self.state_file.sync()?;
        self.state = next;
        Ok(())
    }

    fn check_writable(&self) -> Result<(), Error> {
        match (self.writable, self.poisoned) {
            (false, _) => Err(Error::ReadOnly),
            (_, true) => Err(Error::Poisoned),
            _ => Ok(()),
        }
    }

    /// Runs a write; if it fails, later writes are refused: after a failed write or sync the
    /// file contents past the commit are unknown (and a failed fsync may not be retried).
    fn poison_on_error(
        &mut self,
        write: impl FnOnce(&mut Self) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let result = write(self);
        if result.is_err() {
            self.poisoned = true;
        }
        result
    }

    /// The signed checkpoint of tree size `size`, if one was signed.
    pub fn checkpoint_at(&self, size: u64) -> Result<Option<String>, Error> {
        if let Some(latest) = &self.latest
            && latest.checkpoint.size() == size
        {
            return Ok(Some(latest.note.to_string()));
        }
        let mut found = None;
        self.for_each_checkpoint(|_, note| {
            if Checkpoint::parse(note.text())?.size() == size {
                found = Some(note.to_string());
            }
            Ok(())
        })?;
        Ok(found)
    }

    fn for_each_checkpoint(
        &self,
        mut visit: impl FnMut(u64, Note) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut offset = 0;
        while offset < self.state.checkpoints_len {
            let (note, next) = self.read_checkpoint_frame(offset, self.state.checkpoints_len)?;
            visit(offset, note)?;
            offset = next;
        }
        Ok(())
    }

    /// The checkpoint a proof is made against: of `size` if given (signed now if it is the
    /// current size), else of the current tree (or, without the signer, the latest stored).
    fn signed_checkpoint(&mut self, size: Option<u64>) -> Result<Note, Error> {
        let can_sign = self.writable && self.signer.is_some();
        let text = match size {
            Some(size) if size > self.state.size => {
                return Err(Error::SizeOutOfRange {
                    requested: size,
                    available: self.state.size,
                });
            }
            Some(size) if size == self.state.size && can_sign => self.checkpoint()?,
            Some(size) => self
                .checkpoint_at(size)?
                .ok_or(Error::NoCheckpoint { size })?,
            None if can_sign => self.checkpoint()?,
            None => match &self.latest {
                Some(latest) => latest.note.to_string(),
                None => {
                    return Err(Error::NoCheckpoint {
                        size: self.state.size,
                    });
                }
            },
        };
        Note::parse(text.as_bytes())
    }

    /// An offline proof (`c2sp.org/tlog-proof@v1`) that entry `index` is in the checkpoint of
    /// tree size `size` (default: the current tree, signing a checkpoint if needed). The proof
    /// carries the entry's leaf hash in its `extra` line.
    pub fn prove_inclusion(&mut self, index: u64, size: Option<u64>) -> Result<TlogProof, Error> {
        let note = self.signed_checkpoint(size)?;
        let size = Checkpoint::parse(note.text())?.size();
        let tree = self.tree();
        let hashes = merkle::inclusion_proof(&tree, index, size)?;
        let leaf = tree.node(0, index)?;
        Ok(TlogProof::new(index, hashes, note, Some(leaf.to_vec())))
    }

    /// A proof that the checkpoint of tree size `to` (default: the current tree, signing a
    /// checkpoint if needed) extends the tree of the first `from` entries.
    pub fn prove_consistency(
        &mut self,
        from: u64,
        to: Option<u64>,
    ) -> Result<ConsistencyProof, Error> {
        let note = self.signed_checkpoint(to)?;
        let to = Checkpoint::parse(note.text())?.size();
        let hashes = merkle::consistency_proof(&self.tree(), from, to)?;
        Ok(ConsistencyProof::new(from, hashes, note))
    }

    /// The bytes of entry `index`.
    pub fn entry(&self, index: u64) -> Result<Vec<u8>, Error> {
        let range = self.entry_range(index)?;
        self.entries
            .read_vec(range.start, (range.end - range.start) as usize)
    }

    fn entry_range(&self, index: u64) -> Result<Range<u64>, Error> {
        if index >= self.state.size {
            return Err(Error::IndexOutOfRange {
                index,
                size: self.state.size,
            });
        }
        let start = match index {
            0 => 0,
            _ => self.index.read_u64((index - 1) * INDEX_RECORD_LEN)?,
        };
        let end = self.index.read_u64(index * INDEX_RECORD_LEN)?;
        check_entry_bounds(start, end, self.state.entries_len)
            .map_err(|reason| self.index.corrupt(index * INDEX_RECORD_LEN, reason))?;
        Ok(start..end)
    }

    /// Recomputes the whole tree from the entries, compares every stored hash and the committed
    /// root, and checks that every stored checkpoint is signed by the log's key and has the
    /// root the entries give at its size (so all are consistent with each other and the tree).
    pub fn verify_all(&self) -> Result<VerifyReport, Error> {
        self.verify_all_against(&self.verifier)
    }

    /// [`Log::verify_all`] with checkpoints checked against `trusted` rather than the key stored
    /// in the directory (which whoever can rewrite the log can also replace).
    pub fn verify_all_against(&self, trusted: &VerifierKey) -> Result<VerifyReport, Error> {
        let policy = self.trust_policy(trusted)?;
        let size = self.state.size;
        let mut index = SequentialReader::new(&self.index, self.state.index_len());
        let mut entries = SequentialReader::new(&self.entries, self.state.entries_len);
        let mut hashes = SequentialReader::new(&self.hashes, self.state.hashes_len());
        let mut frontier = Frontier::default();
        let mut entry = Vec::new();
        let mut start = 0u64;
        for position in 0..size {
            let end = index.read_u64()?;
            check_entry_bounds(start, end, self.state.entries_len)
                .map_err(|reason| self.index.corrupt(position * INDEX_RECORD_LEN, reason))?;
            entry.resize((end - start) as usize, 0);
            entries.read_exact(&mut entry)?;
            frontier.push(merkle::leaf_hash(&entry), |expected| {
                let at = hashes.offset();
                if hashes.read_hash()? != *expected {
                    return Err(self.hashes.corrupt(
                        at,
                        &format!("the stored hash does not match entry {position} (entries bytes {start}..{end})"),
                    ));
                }
                Ok(())
            })?;
            start = end;
        }
        if frontier.root() != self.state.root {
            return Err(self
                .state_file
                .corrupt(0, "the committed root is not the root of the entries"));
        }
        let mut checkpoints = 0u64;
        let mut previous_size = 0u64;
        self.for_each_checkpoint(|offset, note| {
            let stored = self.check_stored_checkpoint(offset, note, &policy)?;
            if stored.checkpoint.size() < previous_size {
                return Err(self
                    .checkpoints
                    .corrupt(offset, "a checkpoint is smaller than the one before it"));
            }
            previous_size = stored.checkpoint.size();
            checkpoints += 1;
            Ok(())
        })?;
        Ok(VerifyReport {
            size,
            root: frontier.root(),
            entry_bytes: start,
            checkpoints,
        })
    }
}

impl NodeSource for Log {
    fn size(&self) -> u64 {
        self.state.size
    }

    fn node(&self, level: u32, index: u64) -> Result<Hash, Error> {
        self.tree().node(level, index)
    }
}

/// The committed tree, read from the `hashes` file.
struct StoredTree<'a> {
    hashes: &'a DataFile,
    size: u64,
}

impl NodeSource for StoredTree<'_> {
    fn size(&self) -> u64 {
        self.size
    }

    fn node(&self, level: u32, index: u64) -> Result<Hash, Error> {
        let position = merkle::checked_node_position(level, index, self.size).ok_or(
            Error::IndexOutOfRange {
                index,
                size: self.size,
            },
        )?;
        let mut hash = [0u8; HASH_LEN];
        self.hashes.read_at(&mut hash, position * HASH_LEN as u64)?;
        Ok(hash)
    }
}

fn check_entry_bounds(start: u64, end: u64, entries_len: u64) -> Result<(), &'static str> {
    if end < start || end > entries_len {
        return Err("an entry's end offset is out of order or past the committed entries");
    }
    if end - start > MAX_ENTRY_LEN as u64 {
        return Err("an entry is longer than any the log accepts");
    }
    Ok(())
}

fn read_state(file: &DataFile) -> Result<State, Error> {
    let len = file.len()?;
    if len < STATE_FILE_LEN {
        return Err(file.corrupt(len, "the commit record file is truncated"));
    }
    let mut slots = [0u8; STATE_FILE_LEN as usize];
    file.read_at(&mut slots, 0)?;
    let (first, second) = slots.split_at(STATE_SLOT_SPACING as usize);
    [State::decode(first), State::decode(second)]
        .into_iter()
        .flatten()
        .max_by_key(|state| state.generation)
        .ok_or_else(|| file.corrupt(0, "neither commit record slot is valid"))
}

fn check_is_log(dir: &Path) -> Result<(), Error> {
    let path = dir.join(STATE_FILE);
    match fs::metadata(&path) {
        Ok(_) => Ok(()),
        Err(source) if source.kind() == io::ErrorKind::NotFound => Err(Error::InvalidLogDir {
            dir: dir.to_path_buf(),
            reason: "is not a rampart log (it has no state file); create one with init".to_owned(),
        }),
        Err(source) => Err(Error::Io {
            file: path,
            operation: "stat",
            offset: 0,
            source,
        }),
    }
}

fn lock_exclusively(lock: &File, dir: &Path) -> Result<(), Error> {
    lock.try_lock().map_err(|error| match error {
        fs::TryLockError::WouldBlock => Error::Locked {
            dir: dir.to_path_buf(),
        },
        fs::TryLockError::Error(source) => Error::Io {
            file: dir.join(LOCK_FILE),
            operation: "lock",
            offset: 0,
            source,
        },
    })
}

/// Creates a directory (missing or empty) holding only a new log's keys, `log.vkey` and
/// `log.key` (mode 0600), for a log whose entries are kept elsewhere (a
/// [`crate::HostedLog`]). `signer` must be an Ed25519 note key named by the log's origin.
pub fn init_keys(dir: &Path, signer: &SignerKey) -> Result<(), Error> {
    if signer.key_type() != KeyType::Ed25519 {
        return Err(Error::WrongKeyType {
            name: signer.name().to_owned(),
            expected: KeyType::Ed25519,
            found: signer.key_type(),
        });
    }
    let io_error = |operation| {
        move |source| Error::Io {
            file: dir.to_path_buf(),
            operation,
            offset: 0,
            source,
        }
    };
    fs::create_dir_all(dir).map_err(io_error("create directory"))?;
    if fs::read_dir(dir)
        .map_err(io_error("list directory"))?
        .next()
        .is_some()
    {
        return Err(Error::InvalidLogDir {
            dir: dir.to_path_buf(),
            reason: "is not empty; new log keys need an empty or missing directory".to_owned(),
        });
    }
    write_key_files(dir, signer)?;
    sync_directory(dir)
}

/// The keys in `dir` (see [`init_keys`]): the verifier key, and the signer key if
/// `with_signer` and it is there. They must be an Ed25519 pair.
pub fn read_key_files(
    dir: &Path,
    with_signer: bool,
) -> Result<(VerifierKey, Option<SignerKey>), Error> {
    let verifier = VerifierKey::parse(&read_text(dir, VERIFIER_KEY_FILE)?)?;
    if verifier.key_type() != KeyType::Ed25519 {
        return Err(Error::WrongKeyType {
            name: verifier.name().to_owned(),
            expected: KeyType::Ed25519,
            found: verifier.key_type(),
        });
    }
    let signer = match with_signer && dir.join(SIGNER_KEY_FILE).exists() {
        true => Some(SignerKey::parse(&read_text(dir, SIGNER_KEY_FILE)?)?),
        false => None,
    };
    if let Some(signer) = &signer
        && signer.verifier() != verifier
    {
        return Err(Error::Corrupt {
            file: dir.join(SIGNER_KEY_FILE),
            offset: 0,
            reason: format!("is not the private key of {VERIFIER_KEY_FILE}"),
        });
    }
    Ok((verifier, signer))
}

fn write_key_files(dir: &Path, signer: &SignerKey) -> Result<(), Error> {
    create_file(
        dir,
        VERIFIER_KEY_FILE,
        format!("{}\n", signer.verifier()).as_bytes(),
        false,
    )?;
    create_file(
        dir,
        SIGNER_KEY_FILE,
        format!("{}\n", signer.to_private_text()).as_bytes(),
        true,
    )?;
    Ok(())
}

fn read_text(dir: &Path, name: &str) -> Result<String, Error> {
    let path = dir.join(name);
    fs::read_to_string(&path).map_err(|source| Error::Io {
        file: path,
        operation: "read",
        offset: 0,
        source,
    })
}

/// Creates `name` in `dir` (it must not exist), writes `content` and syncs it.
fn create_file(dir: &Path, name: &str, content: &[u8], private: bool) -> Result<File, Error> {
    let path = dir.join(name);
    let mut options = OpenOptions::new();
    options.read(true).write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let file = options.open(&path).map_err(|source| Error::Io {
        file: path.clone(),
        operation: "create",
        offset: 0,
        source,
    })?;
    let data = DataFile { path, file };
    data.write_at(content, 0)?;
    data.sync()?;
    Ok(data.file)
}

fn sync_directory(dir: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|directory| directory.sync_all())
        .map_err(|source| Error::Io {
            file: dir.to_path_buf(),
            operation: "sync directory",
            offset: 0,
            source,
        })?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// An open log file that names itself and the offset in every error.
#[derive(Debug)]
struct DataFile {
    path: PathBuf,
    file: File,
}

impl DataFile {
    fn open(dir: &Path, name: &str, writable: bool) -> Result<Self, Error> {
        let path = dir.join(name);
        let file = OpenOptions::new()
            .read(true)
            .write(writable)
            .open(&path)
            .map_err(|source| Error::Io {
                file: path.clone(),
                operation: "open",
                offset: 0,
                source,
            })?;
        Ok(Self { path, file })
    }

    fn io_error(
        &self,
        operation: &'static str,
        offset: u64,
    ) -> impl FnOnce(io::Error) -> Error + '_ {
        move |source| Error::Io {
            file: self.path.clone(),
            operation,
            offset,
            source,
        }
    }

    fn corrupt(&self, offset: u64, reason: &str) -> Error {
        Error::Corrupt {
            file: self.path.clone(),
            offset,
            reason: reason.to_owned(),
        }
    }

    fn len(&self) -> Result<u64, Error> {
        Ok(self
            .file
            .metadata()
            .map_err(self.io_error("stat", 0))?
            .len())
    }

    fn read_at(&self, buffer: &mut [u8], offset: u64) -> Result<(), Error> {
        positioned::read_exact_at(&self.file, buffer, offset).map_err(self.io_error("read", offset))
    }

    fn read_vec(&self, offset: u64, len: usize) -> Result<Vec<u8>, Error> {
        let mut buffer = vec![0u8; len];
        self.read_at(&mut buffer, offset)?;
        Ok(buffer)
    }

    fn read_u64(&self, offset: u64) -> Result<u64, Error> {
        let mut bytes = [0u8; 8];
        self.read_at(&mut bytes, offset)?;
        Ok(u64::from_be_bytes(bytes))
    }

    fn read_u32(&self, offset: u64) -> Result<u32, Error> {
        let mut bytes = [0u8; 4];
        self.read_at(&mut bytes, offset)?;
        Ok(u32::from_be_bytes(bytes))
    }

    fn write_at(&self, bytes: &[u8], offset: u64) -> Result<(), Error> {
        positioned::write_all_at(&self.file, bytes, offset).map_err(self.io_error("write", offset))
    }

    fn truncate(&self, len: u64) -> Result<(), Error> {
        self.file
            .set_len(len)
            .map_err(self.io_error("truncate", len))?;
        self.sync()
    }

    fn sync(&self) -> Result<(), Error> {
        self.file.sync_data().map_err(self.io_error("sync", 0))
    }
}

/// Buffers appends to one file and writes them in large chunks at explicit offsets.
struct BatchWriter<'a> {
    file: &'a DataFile,
    offset: u64,
    buffer: Vec<u8>,
}

impl<'a> BatchWriter<'a> {
    fn new(file: &'a DataFile, offset: u64) -> Self {
        Self {
            file,
            offset,
            buffer: Vec::new(),
        }
    }

    fn push(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if self.buffer.len() + bytes.len() > WRITE_CHUNK {
            self.flush()?;
        }
        if bytes.len() >= WRITE_CHUNK {
            self.file.write_at(bytes, self.offset)?;
            self.offset += bytes.len() as u64;
        } else {
            self.buffer.extend_from_slice(bytes);
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Error> {
        self.file.write_at(&self.buffer, self.offset)?;
        self.offset += self.buffer.len() as u64;
        self.buffer.clear();
        Ok(())
    }

    /// Writes what is buffered and returns the offset after the last byte.
    fn finish(mut self) -> Result<u64, Error> {
        self.flush()?;
        Ok(self.offset)
    }
}

/// Reads a file front to back in large chunks, up to a committed length.
struct SequentialReader<'a> {
    file: &'a DataFile,
    buffer: Vec<u8>,
    consumed: usize,
    /// File offset of `buffer[0]`.
    buffer_offset: u64,
    end: u64,
}

impl<'a> SequentialReader<'a> {
    fn new(file: &'a DataFile, end: u64) -> Self {
        Self {
            file,
            buffer: Vec::new(),
            consumed: 0,
            buffer_offset: 0,
            end,
        }
    }

    fn offset(&self) -> u64 {
        self.buffer_offset + self.consumed as u64
    }

    fn read_exact(&mut self, out: &mut [u8]) -> Result<(), Error> {
        let mut written = 0;
        while written < out.len() {
            if self.consumed == self.buffer.len() {
                self.refill()?;
            }
            let available = self.buffer.get(self.consumed..).unwrap_or_default();
            let take = available.len().min(out.len() - written);
            if let (Some(target), Some(source)) =
                (out.get_mut(written..written + take), available.get(..take))
            {
                target.copy_from_slice(source);
            }
            written += take;
            self.consumed += take;
        }
        Ok(())
    }

    fn refill(&mut self) -> Result<(), Error> {
        let offset = self.offset();
        let remaining = self.end.saturating_sub(offset);
        if remaining == 0 {
            return Err(self
                .file
                .corrupt(offset, "the file ends before the committed data does"));
        }
        let len = remaining.min(WRITE_CHUNK as u64) as usize;
        self.buffer.resize(len, 0);
        self.file.read_at(&mut self.buffer, offset)?;
        self.buffer_offset = offset;
        self.consumed = 0;
        Ok(())
    }

    fn read_u64(&mut self) -> Result<u64, Error> {
        let mut bytes = [0u8; 8];
        self.read_exact(&mut bytes)?;
        Ok(u64::from_be_bytes(bytes))
    }

    fn read_hash(&mut self) -> Result<Hash, Error> {
        let mut hash = [0u8; HASH_LEN];
        self.read_exact(&mut hash)?;
        Ok(hash)
    }
}

/// Reads and writes at explicit offsets, so one handle serves concurrent readers.
mod positioned {
    use std::fs::File;
    use std::io;

    #[cfg(unix)]
    pub(super) fn read_exact_at(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(file, buffer, offset)
    }

    #[cfg(unix)]
    pub(super) fn write_all_at(file: &File, bytes: &[u8], offset: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
    }

    #[cfg(windows)]
    pub(super) fn read_exact_at(
        file: &File,
        mut buffer: &mut [u8],
        mut offset: u64,
    ) -> io::Result<()> {
        use std::os::windows::fs::FileExt;
        while !buffer.is_empty() {
            match file.seek_read(buffer, offset)? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                read => {
                    buffer = &mut buffer[read..];
                    offset += read as u64;
                }
            }
        }
        Ok(())
    }

    #[cfg(windows)]
    pub(super) fn write_all_at(file: &File, mut bytes: &[u8], mut offset: u64) -> io::Result<()> {
        use std::os::windows::fs::FileExt;
        while !bytes.is_empty() {
            match file.seek_write(bytes, offset)? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                written => {
                    bytes = &bytes[written..];
                    offset += written as u64;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
