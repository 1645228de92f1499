//! C2SP tlog checkpoints (`c2sp.org/tlog-checkpoint`): the signed-note text `origin`, tree size,
//! base64 root hash and optional extension lines; and the policy a client opens them with (the
//! log's key, the expected origin, and optionally k-of-n witness cosignatures).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::merkle::{Hash, MAX_TREE_SIZE};
use crate::note::{KeyType, Note, SignerKey, VerifiedSignature, VerifierKey};
use crate::{Error, Format};

/// A log's tree head: who (origin), how many entries (size) and their Merkle root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
    extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines. The origin must be a non-empty line of printable
    /// characters.
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Self, Error> {
        check_line(origin).map_err(|reason| Error::Malformed {
            format: Format::Checkpoint,
            offset: 0,
            reason,
        })?;
        if size > MAX_TREE_SIZE {
            return Err(Error::TreeTooLarge { size });
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        })
    }

    /// Parses checkpoint note text (as returned by [`Note::text`]).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let malformed = |offset, reason| Error::Malformed {
            format: Format::Checkpoint,
            offset,
            reason,
        };
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| malformed(text.len(), "the text does not end with a newline"))?;
        let mut lines = body.split('\n');
        let mut offset = 0usize;
        let mut next_line = |what| {
            let line = lines.next().ok_or_else(|| malformed(text.len(), what))?;
            let start = offset;
            offset += line.len() + 1;
            Ok::<_, Error>((start, line))
        };
        let (_, origin) = next_line("the origin line is missing")?;
        check_line(origin).map_err(|reason| malformed(0, reason))?;
        let (size_at, size) = next_line("the tree size line is missing")?;
        let size = parse_decimal(size)
            .filter(|size| *size <= MAX_TREE_SIZE)
            .ok_or_else(|| {
                malformed(
                    size_at,
                    "the tree size is not a decimal number without leading zeros",
                )
            })?;
        let (root_at, root) = next_line("the root hash line is missing")?;
        let root = decode_hash(root).ok_or_else(|| {
            malformed(root_at, "the root hash is not 32 bytes of canonical base64")
        })?;
        let mut extensions = Vec::new();
        while let Ok((at, line)) = next_line("") {
            check_line(line).map_err(|reason| malformed(at, reason))?;
            extensions.push(line.to_owned());
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// The log's origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The number of entries.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The Merkle root of the first `size` entries.
    pub fn root(&self) -> &Hash {
        &self.root
    }

    /// Extension lines (opaque, not auditable; rampart never writes any).
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The checkpoint signed by `key` as a note.
    pub fn sign(&self, key: &SignerKey) -> Result<Note, Error> {
        let mut note = Note::new(self.to_string())?;
        note.sign(key)?;
        Ok(note)
    }
}

impl fmt::Display for Checkpoint {
    /// The note text, with its final newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}\n{}\n{}",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        )?;
        self.extensions
            .iter()
            .try_for_each(|line| writeln!(f, "{line}"))
    }
}

/// What a client trusts: the log's key, the origin its checkpoints must name, and the witnesses
/// of which at least `threshold` must have cosigned.
#[derive(Debug, Clone)]
pub struct TrustPolicy {
    log_key: VerifierKey,
    origin: String,
    witnesses: Vec<VerifierKey>,
    threshold: usize,
}

impl TrustPolicy {
    /// Trust checkpoints signed by `log_key` (an Ed25519 note key) whose origin is the key's
    /// name, without requiring cosignatures.
    pub fn new(log_key: VerifierKey) -> Result<Self, Error> {
        if log_key.key_type() != KeyType::Ed25519 {
            return Err(Error::WrongKeyType {
                name: log_key.name().to_owned(),
                expected: KeyType::Ed25519,
                found: log_key.key_type(),
            });
        }
        let origin = log_key.name().to_owned();
        Ok(Self {
            log_key,
            origin,
            witnesses: Vec::new(),
            threshold: 0,
        })
    }

    /// Expects `origin` instead of the key's name (for logs whose key name differs).
    pub fn with_origin(mut self, origin: &str) -> Self {
        origin.clone_into(&mut self.origin);
        self
    }

    /// Requires cosignatures from at least `threshold` of `witnesses` (cosignature keys).
    pub fn with_witnesses(
        mut self,
        witnesses: Vec<VerifierKey>,
        threshold: usize,
    ) -> Result<Self, Error> {
        if let Some(key) = witnesses
            .iter()
            .find(|key| key.key_type() != KeyType::Cosignature)
        {
            return Err(Error::WrongKeyType {
                name: key.name().to_owned(),
                expected: KeyType::Cosignature,
                found: key.key_type(),
            });
        }
        if threshold > witnesses.len() {
            return Err(Error::InvalidArgument(format!(
                "a threshold of {threshold} cosignatures cannot be met by {} witnesses",
                witnesses.len()
            )));
        }
        self.witnesses = witnesses;
        self.threshold = threshold;
        Ok(self)
    }

    /// The log's key.
    pub fn log_key(&self) -> &VerifierKey {
        &self.log_key
    }

    /// The same policy without the witness requirement (for a checkpoint the client already
    /// trusted earlier).
    pub(crate) fn log_only(&self) -> Self {
        Self {
            witnesses: Vec::new(),
            threshold: 0,
            ..self.clone()
        }
    }

    /// Parses a signed checkpoint and checks it against the policy: the log's signature, every
    /// cosignature by a listed witness, the witness threshold and the origin.
    pub fn open_checkpoint(&self, note: &[u8]) -> Result<VerifiedCheckpoint, Error> {
        self.verify(Note::parse(note)?)
    }

    pub(crate) fn verify(&self, note: Note) -> Result<VerifiedCheckpoint, Error> {
        let mut trusted = Vec::with_capacity(1 + self.witnesses.len());
        trusted.push(self.log_key.clone());
        trusted.extend(self.witnesses.iter().cloned());
        let verified = note.verify(&trusted).map_err(|error| match error {
            Error::Unsigned { .. } => Error::Unsigned {
                expected: self.log_key.to_string(),
            },
            other => other,
        })?;
        let (log_signatures, cosignatures): (Vec<_>, Vec<_>) = verified
            .into_iter()
            .partition(|signature| signature.key_type == KeyType::Ed25519);
        if log_signatures.is_empty() {
            return Err(Error::Unsigned {
                expected: self.log_key.to_string(),
            });
        }
        if cosignatures.len() < self.threshold {
            return Err(Error::WitnessQuorum {
                have: cosignatures.len(),
                need: self.threshold,
            });
        }
        let checkpoint = Checkpoint::parse(note.text())?;
        if checkpoint.origin != self.origin {
            return Err(Error::OriginMismatch {
                expected: self.origin.clone(),
                found: checkpoint.origin,
            });
        }
        Ok(VerifiedCheckpoint {
            checkpoint,
            note,
            cosignatures,
        })
    }
}

/// A checkpoint whose signatures satisfied a [`TrustPolicy`].
#[derive(Debug, Clone)]
pub struct VerifiedCheckpoint {
    /// The tree head.
    pub checkpoint: Checkpoint,
    /// The note as received, with every signature line.
    pub note: Note,
    /// The witness cosignatures that verified.
    pub cosignatures: Vec<VerifiedSignature>,
}

/// A decimal with no leading zeros (`0` itself allowed), as every C2SP format writes numbers.
pub(crate) fn parse_decimal(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|byte| byte.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if canonical { text.parse().ok() } else { None }
}

/// One base64 SHA-256 hash, canonically encoded.
pub(crate) fn decode_hash(text: &str) -> Option<Hash> {
    BASE64.decode(text).ok()?.try_into().ok()
}

fn check_line(line: &str) -> Result<(), &'static str> {
    if line.is_empty() {
        return Err("an empty line in the checkpoint text");
    }
    if line.chars().any(char::is_control) {
        return Err("a control character in a checkpoint line");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
