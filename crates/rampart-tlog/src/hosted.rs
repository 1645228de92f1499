//! A log whose committed state lives in storage someone else makes transactional, such as the
//! tables of the registry's shared database, rather than in a directory.
//!
//! [`LogStorage`] only keeps bytes: the entries, the perfect-subtree hashes (at the positions
//! the directory log's `hashes` file uses, [`crate::merkle`]'s post-order) and the signed
//! checkpoints. [`HostedLog`] does everything else with the same code as the directory log:
//! the Merkle hashing and proofs of [`crate::merkle`], checkpoint signing, full verification.
//! Writers must be serialised by the caller (e.g. a database lock held around each append
//! and checkpoint); [`LogStorage::append`] must commit all or nothing.

use crate::Error;
use crate::checkpoint::{Checkpoint, TrustPolicy};
use crate::merkle::{self, Frontier, Hash, MAX_TREE_SIZE, NodeSource};
use crate::note::{KeyType, Note, SignerKey, VerifierKey};
use crate::proof::{ConsistencyProof, TlogProof};
use crate::store::{MAX_ENTRY_LEN, VerifyReport};

/// Where a [`HostedLog`] keeps its state. Errors of the underlying store are
/// [`Error::Storage`]; data that contradicts itself is [`Error::StorageCorrupt`].
pub trait LogStorage {
    /// Number of committed entries.
    fn size(&self) -> Result<u64, Error>;
    /// The bytes of committed entry `index` (below [`LogStorage::size`]).
    fn entry(&self, index: u64) -> Result<Vec<u8>, Error>;
    /// The stored hash at `position` of the post-order (see the directory log's `hashes`).
    fn hash(&self, position: u64) -> Result<Hash, Error>;
    /// Commits `entries` at indices `first..` together with the hashes they complete, as
    /// `(position, hash)`, atomically.
    fn append(
        &mut self,
        first: u64,
        entries: &[&[u8]],
        hashes: &[(u64, Hash)],
    ) -> Result<(), Error>;
    /// Every stored checkpoint note, oldest first.
    fn checkpoints(&self) -> Result<Vec<String>, Error>;
    /// The newest stored checkpoint note.
    fn latest_checkpoint(&self) -> Result<Option<String>, Error>;
    /// The newest stored checkpoint note of tree size `size`.
    fn checkpoint_at(&self, size: u64) -> Result<Option<String>, Error>;
    /// Stores a signed checkpoint note of tree size `size` as the newest.
    fn add_checkpoint(&mut self, size: u64, note: &str) -> Result<(), Error>;
}

impl<T: LogStorage + ?Sized> LogStorage for Box<T> {
    fn size(&self) -> Result<u64, Error> {
        (**self).size()
    }
    fn entry(&self, index: u64) -> Result<Vec<u8>, Error> {
        (**self).entry(index)
    }
    fn hash(&self, position: u64) -> Result<Hash, Error> {
        (**self).hash(position)
    }
    fn append(
        &mut self,
        first: u64,
        entries: &[&[u8]],
        hashes: &[(u64, Hash)],
    ) -> Result<(), Error> {
        (**self).append(first, entries, hashes)
    }
    fn checkpoints(&self) -> Result<Vec<String>, Error> {
        (**self).checkpoints()
    }
    fn latest_checkpoint(&self) -> Result<Option<String>, Error> {
        (**self).latest_checkpoint()
    }
    fn checkpoint_at(&self, size: u64) -> Result<Option<String>, Error> {
        (**self).checkpoint_at(size)
    }
    fn add_checkpoint(&mut self, size: u64, note: &str) -> Result<(), Error> {
        (**self).add_checkpoint(size, note)
    }
}

/// What a transparency log offers its writer, wherever it is kept: the directory
/// [`crate::Log`] and the [`HostedLog`].
pub trait TransparencyLog {
    /// Number of committed entries.
    fn tree_size(&self) -> Result<u64, Error>;
    /// The bytes of entry `index`.
    fn entry(&self, index: u64) -> Result<Vec<u8>, Error>;
    /// Appends entries in order and returns their indices; durable when it returns.
    fn append(&mut self, entries: &[&[u8]]) -> Result<Vec<u64>, Error>;
    /// The signed checkpoint of the current tree (signed now if the tree grew).
    fn checkpoint(&mut self) -> Result<String, Error>;
    /// An offline inclusion proof of entry `index` in the tree of `size` (default: now).
    fn prove_inclusion(&mut self, index: u64, size: Option<u64>) -> Result<TlogProof, Error>;
    /// A consistency proof from tree size `from` to `to` (default: now).
    fn prove_consistency(&mut self, from: u64, to: Option<u64>) -> Result<ConsistencyProof, Error>;
    /// The log's verifier key.
    fn verifier_key(&self) -> &VerifierKey;
}

impl TransparencyLog for crate::Log {
    fn tree_size(&self) -> Result<u64, Error> {
        Ok(self.size())
    }
    fn entry(&self, index: u64) -> Result<Vec<u8>, Error> {
        crate::Log::entry(self, index)
    }
    fn append(&mut self, entries: &[&[u8]]) -> Result<Vec<u64>, Error> {
        crate::Log::append(self, entries)
    }
    fn checkpoint(&mut self) -> Result<String, Error> {
        crate::Log::checkpoint(self)
    }
    fn prove_inclusion(&mut self, index: u64, size: Option<u64>) -> Result<TlogProof, Error> {
        crate::Log::prove_inclusion(self, index, size)
    }
    fn prove_consistency(&mut self, from: u64, to: Option<u64>) -> Result<ConsistencyProof, Error> {
        crate::Log::prove_consistency(self, from, to)
    }
    fn verifier_key(&self) -> &VerifierKey {
        crate::Log::verifier_key(self)
    }
}

/// A transparency log over a [`LogStorage`].
pub struct HostedLog<S> {
    storage: S,
    verifier: VerifierKey,
    signer: Option<SignerKey>,
}

/// The committed tree of a storage, as a [`NodeSource`] (bounds checked like the directory
/// log's).
struct HostedTree<'a, S: ?Sized> {
    storage: &'a S,
    size: u64,
}

impl<S: LogStorage + ?Sized> NodeSource for HostedTree<'_, S> {
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
        self.storage.hash(position)
    }
}

impl<S: LogStorage> HostedLog<S> {
    /// A log over `storage` whose checkpoints are verified by `verifier` (an Ed25519 note
    /// key, named by the origin) and signed by `signer` when given (its private key).
    pub fn new(
        storage: S,
        verifier: VerifierKey,
        signer: Option<SignerKey>,
    ) -> Result<Self, Error> {
        if verifier.key_type() != KeyType::Ed25519 {
            return Err(Error::WrongKeyType {
                name: verifier.name().to_owned(),
                expected: KeyType::Ed25519,
                found: verifier.key_type(),
            });
        }
        if let Some(signer) = &signer
            && signer.verifier() != verifier
        {
            return Err(Error::InvalidArgument(
                "the signer key is not the private key of the log's verifier key".to_owned(),
            ));
        }
        Ok(Self {
            storage,
            verifier,
            signer,
        })
    }

    /// The storage.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    fn tree(&self, size: u64) -> HostedTree<'_, S> {
        HostedTree {
            storage: &self.storage,
            size,
        }
    }

    fn policy(&self, trusted: &VerifierKey) -> Result<TrustPolicy, Error> {
        Ok(TrustPolicy::new(trusted.clone())?.with_origin(self.verifier.name()))
    }

    /// Parses a stored note, checks its signature and that the tree reproduces its root.
    fn check_stored(&self, note: &str, size: u64, policy: &TrustPolicy) -> Result<Note, Error> {
        let corrupt =
            |reason: String| Error::StorageCorrupt(format!("stored checkpoint: {reason}"));
        let note = Note::parse(note.as_bytes()).map_err(|error| corrupt(error.to_string()))?;
        let verified = policy
            .verify(note)
            .map_err(|error| corrupt(error.to_string()))?;
        let checkpoint = verified.checkpoint;
        if checkpoint.size() > size {
            return Err(corrupt(format!(
                "its size {} is beyond the {size} committed entries",
                checkpoint.size()
            )));
        }
        if merkle::root(&self.tree(size), checkpoint.size())? != *checkpoint.root() {
            return Err(corrupt(format!(
                "the checkpoint of size {} is not consistent with the stored tree",
                checkpoint.size()
            )));
        }
        Ok(verified.note)
    }

    /// The signed checkpoint of the tree of `size` (default and current size: signed now if
    /// none is stored yet).
    fn signed_checkpoint(&mut self, size: Option<u64>) -> Result<Note, Error> {
        let current = self.storage.size()?;
        let text = match size {
            Some(size) if size > current => {
                return Err(Error::SizeOutOfRange {
                    requested: size,
                    available: current,
                });
            }
            Some(size) if size < current => self
                .storage
                .checkpoint_at(size)?
                .ok_or(Error::NoCheckpoint { size })?,
            _ => TransparencyLog::checkpoint(self)?,
        };
        Note::parse(text.as_bytes())
    }

    /// Recomputes every hash from the entries, compares every stored hash, and checks that
    /// every stored checkpoint is signed by `trusted` and has the root the entries give at its
    /// size (so all are consistent with each other and the tree).
    pub fn verify_all_against(&self, trusted: &VerifierKey) -> Result<VerifyReport, Error> {
        let policy = self.policy(trusted)?;
        let size = self.storage.size()?;
        let mut frontier = Frontier::default();
        let mut position = 0u64;
        let mut entry_bytes = 0u64;
        for index in 0..size {
            let entry = self.storage.entry(index)?;
            entry_bytes = entry_bytes.saturating_add(entry.len() as u64);
            frontier.push(merkle::leaf_hash(&entry), |expected| {
                if self.storage.hash(position)? != *expected {
                    return Err(Error::StorageCorrupt(format!(
                        "the stored hash at position {position} does not match entry {index}"
                    )));
                }
                position += 1;
                Ok(())
            })?;
        }
        let mut previous_size = 0u64;
        let checkpoints = self.storage.checkpoints()?;
        for note in &checkpoints {
            let note = self.check_stored(note, size, &policy)?;
            let checkpoint_size = Checkpoint::parse(note.text())?.size();
            if checkpoint_size < previous_size {
                return Err(Error::StorageCorrupt(
                    "a checkpoint is smaller than the one before it".to_owned(),
                ));
            }
            previous_size = checkpoint_size;
        }
        Ok(VerifyReport {
            size,
            root: frontier.root(),
            entry_bytes,
            checkpoints: checkpoints.len() as u64,
        })
    }

    /// [`HostedLog::verify_all_against`] the log's own verifier key.
    pub fn verify_all(&self) -> Result<VerifyReport, Error> {
        self.verify_all_against(&self.verifier)
    }
}

impl<S: LogStorage> TransparencyLog for HostedLog<S> {
    fn tree_size(&self) -> Result<u64, Error> {
        self.storage.size()
    }

    fn entry(&self, index: u64) -> Result<Vec<u8>, Error> {
        let size = self.storage.size()?;
        if index >= size {
            return Err(Error::IndexOutOfRange { index, size });
        }
        self.storage.entry(index)
    }

    fn append(&mut self, entries: &[&[u8]]) -> Result<Vec<u64>, Error> {
        if let Some((position, entry)) = entries
            .iter()
            .enumerate()
            .find(|(_, entry)| entry.len() > MAX_ENTRY_LEN)
        {
            return Err(Error::EntryTooLarge {
                position,
                len: entry.len(),
                max: MAX_ENTRY_LEN,
            });
        }
        let first = self.storage.size()?;
        let end = u64::try_from(entries.len())
            .ok()
            .and_then(|count| first.checked_add(count))
            .filter(|end| *end <= MAX_TREE_SIZE)
            .ok_or(Error::TreeTooLarge { size: first })?;
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let mut frontier = Frontier::load(&self.tree(first), first)?;
        let mut position =
            merkle::stored_node_count(first).ok_or(Error::TreeTooLarge { size: first })?;
        let mut hashes = Vec::new();
        for entry in entries {
            frontier.push(merkle::leaf_hash(entry), |hash| {
                hashes.push((position, *hash));
                position += 1;
                Ok(())
            })?;
        }
        self.storage.append(first, entries, &hashes)?;
        Ok((first..end).collect())
    }

    fn checkpoint(&mut self) -> Result<String, Error> {
        let size = self.storage.size()?;
        let latest = self.storage.latest_checkpoint()?;
        let latest = match latest {
            Some(note) => Some(Checkpoint::parse(Note::parse(note.as_bytes())?.text())?)
                .map(|checkpoint| (checkpoint, note)),
            None => None,
        };
        if let Some((checkpoint, note)) = &latest
            && checkpoint.size() == size
        {
            return Ok(note.clone());
        }
        let signer = self.signer.as_ref().ok_or(Error::NoSigner)?;
        let tree = self.tree(size);
        // Never sign a head the last one is not a prefix of.
        if let Some((checkpoint, _)) = &latest
            && (checkpoint.size() > size
                || merkle::root(&tree, checkpoint.size())? != *checkpoint.root())
        {
            return Err(Error::StorageCorrupt(
                "the tree no longer reproduces the latest checkpoint's root".to_owned(),
            ));
        }
        let note = Checkpoint::new(self.verifier.name(), size, merkle::root(&tree, size)?)?
            .sign(signer)?
            .to_string();
        self.storage.add_checkpoint(size, &note)?;
        Ok(note)
    }

    fn prove_inclusion(&mut self, index: u64, size: Option<u64>) -> Result<TlogProof, Error> {
        let note = self.signed_checkpoint(size)?;
        let size = Checkpoint::parse(note.text())?.size();
        let tree = self.tree(size);
        let hashes = merkle::inclusion_proof(&tree, index, size)?;
        let leaf = tree.node(0, index)?;
        Ok(TlogProof::new(index, hashes, note, Some(leaf.to_vec())))
    }

    fn prove_consistency(&mut self, from: u64, to: Option<u64>) -> Result<ConsistencyProof, Error> {
        let note = self.signed_checkpoint(to)?;
        let to = Checkpoint::parse(note.text())?.size();
        let hashes = merkle::consistency_proof(&self.tree(to), from, to)?;
        Ok(ConsistencyProof::new(from, hashes, note))
    }

    fn verifier_key(&self) -> &VerifierKey {
        &self.verifier
    }
}

#[cfg(test)]
mod tests;
