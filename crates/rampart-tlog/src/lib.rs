//! A tamper-evident, append-only transparency log: RFC 9162 Merkle tree hashing, inclusion and
//! consistency proofs, C2SP signed checkpoints with witness cosignatures, offline proofs, and
//! crash-safe storage.
//!
//! It must never rewrite or drop an entry it has acknowledged, never sign a checkpoint that is
//! not consistent with every earlier one, and never trust a proof it has not recomputed.
//!
//! Every `rampart log` operation is one call:
//!
//! | command | call |
//! | --- | --- |
//! | `init DIR` | [`Log::init`] (writes `DIR/log.vkey`) |
//! | `append DIR FILE...` | [`Log::open`] then [`Log::append`] |
//! | `checkpoint DIR` | [`Log::checkpoint`] |
//! | `prove DIR --index N [--size M]` | [`Log::prove_inclusion`] |
//! | `consistency DIR --from A --to B` | [`Log::prove_consistency`] |
//! | `verify-proof PROOF --vkey FILE [--entry FILE]` | [`TlogProof::verify_text`] with a [`TrustPolicy`] |
//! | `verify DIR` | [`Log::open_read_only`] then [`Log::verify_all`] |

pub mod checkpoint;
pub mod hosted;
pub mod merkle;
pub mod note;
pub mod proof;
pub mod store;

#[doc(hidden)]
pub mod fuzz;
#[cfg(test)]
mod testing;

use std::fmt;
use std::path::PathBuf;

pub use checkpoint::{Checkpoint, TrustPolicy, VerifiedCheckpoint};
pub use hosted::{HostedLog, LogStorage, TransparencyLog};
pub use merkle::{Hash, MemoryTree, NodeSource};
pub use note::{KeyType, Note, SignerKey, VerifiedSignature, VerifierKey};
pub use proof::{ConsistencyProof, TlogProof, VerifiedConsistency, VerifiedInclusion};
pub use store::{Log, Repair, VerifyReport};

/// The text formats this crate parses, named in [`Error::Malformed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A C2SP signed note.
    SignedNote,
    /// A verifier key (`name+id+key`).
    VerifierKey,
    /// A signer key (`PRIVATE+KEY+name+id+key`).
    SignerKey,
    /// C2SP tlog-checkpoint note text.
    Checkpoint,
    /// A `c2sp.org/tlog-proof@v1` proof.
    TlogProof,
    /// An `add-checkpoint` style consistency proof.
    ConsistencyProof,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::SignedNote => "signed note",
            Format::VerifierKey => "verifier key",
            Format::SignerKey => "signer key",
            Format::Checkpoint => "checkpoint",
            Format::TlogProof => "tlog-proof",
            Format::ConsistencyProof => "consistency proof",
        })
    }
}

/// Everything that can go wrong: I/O, corrupt or malformed input, failed verification.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A read, write or sync failed.
    #[error("{}: {operation} at offset {offset}: {source}", file.display())]
    Io {
        file: PathBuf,
        operation: &'static str,
        offset: u64,
        #[source]
        source: std::io::Error,
    },
    /// Stored data contradicts what was committed: not a torn tail, so never repaired.
    #[error("{}: corrupt at offset {offset}: {reason}", file.display())]
    Corrupt {
        file: PathBuf,
        offset: u64,
        reason: String,
    },
    /// Another process has the log open for writing (or is writing while we read).
    #[error("{}: the log is locked by another process", dir.display())]
    Locked { dir: PathBuf },
    /// The directory is not a log, or not one that can be created here.
    #[error("{}: {reason}", dir.display())]
    InvalidLogDir { dir: PathBuf, reason: String },
    /// A write was attempted on a log opened read-only.
    #[error("the log was opened read-only")]
    ReadOnly,
    /// Text that does not follow its format.
    #[error("malformed {format} at byte {offset}: {reason}")]
    Malformed {
        format: Format,
        offset: usize,
        reason: &'static str,
    },
    /// A leaf index at or beyond the tree size.
    #[error("leaf index {index} is not in a tree of {size} entries")]
    IndexOutOfRange { index: u64, size: u64 },
    /// A tree size beyond what exists.
    #[error("tree size {requested} is beyond the {available} entries there are")]
    SizeOutOfRange { requested: u64, available: u64 },
    /// A range whose start is after its end.
    #[error("no proof from tree size {from} to {to}: the first must not exceed the second")]
    InvalidRange { from: u64, to: u64 },
    /// More entries than the log supports.
    #[error("a tree of {size} entries is at the supported maximum")]
    TreeTooLarge { size: u64 },
    /// A proof that does not verify.
    #[error("proof does not verify: {0}")]
    ProofInvalid(&'static str),
    /// A signature by a trusted key that does not verify.
    #[error("the signature by {name} (key ID {key_id:08x}) does not verify")]
    BadSignature { name: String, key_id: u32 },
    /// No trusted key signed.
    #[error("no valid signature by the trusted key {expected}")]
    Unsigned { expected: String },
    /// Fewer witness cosignatures verified than the policy requires.
    #[error("{have} witness cosignatures verify but {need} are required")]
    WitnessQuorum { have: usize, need: usize },
    /// A checkpoint from another log.
    #[error("the checkpoint's origin is {found:?}, not {expected:?}")]
    OriginMismatch { expected: String, found: String },
    /// A key used for something its type does not sign.
    #[error("key {name} is a {found} key where a {expected} key is needed")]
    WrongKeyType {
        name: String,
        expected: KeyType,
        found: KeyType,
    },
    /// A cosignature timestamp over 2^63 - 1.
    #[error("timestamp {0} is over 2^63 - 1")]
    InvalidTimestamp(u64),
    /// An argument the operation cannot accept.
    #[error("{0}")]
    InvalidArgument(String),
    /// An entry over [`store::MAX_ENTRY_LEN`]; nothing of the batch was written.
    #[error(
        "entry {position} of the batch is {len} bytes, over the limit of {max}: log its digest instead"
    )]
    EntryTooLarge {
        position: usize,
        len: usize,
        max: usize,
    },
    /// Signing was asked of a log opened without its private key.
    #[error("the log's private key is not available, so it cannot sign a checkpoint")]
    NoSigner,
    /// No checkpoint of that size was ever signed.
    #[error("no checkpoint of tree size {size} has been signed")]
    NoCheckpoint { size: u64 },
    /// Neither the entry nor its leaf hash was given to check a proof.
    #[error("the proof carries no leaf hash: supply the entry to verify it")]
    EntryRequired,
    /// An earlier write failed; the committed state is intact but this handle must be reopened.
    #[error("an earlier write to the log failed; reopen it (committed entries are intact)")]
    Poisoned,
    /// The storage of a hosted log failed (e.g. its database).
    #[error("log storage: {0}")]
    Storage(String),
    /// The storage of a hosted log holds data that contradicts itself: never repaired.
    #[error("log storage is corrupt: {0}")]
    StorageCorrupt(String),
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed: {0}")]
    Random(getrandom::Error),
}
