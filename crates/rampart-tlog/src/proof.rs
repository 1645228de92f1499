//! Offline proofs. [`TlogProof`] is the `c2sp.org/tlog-proof@v1` inclusion proof: entry index,
//! audit path and the signed checkpoint, verifiable with only the log's key. [`ConsistencyProof`]
//! is the `c2sp.org/tlog-witness` `add-checkpoint` body: an old tree size, the consistency proof
//! and the new signed checkpoint, verifiable against a checkpoint the client already trusts.
//!
//! The proofs rampart writes carry the entry's leaf hash in the `extra` line, so that a
//! verifier without the entry still learns which leaf hash the log committed to; when the entry
//! is supplied its own hash is used and `extra` is ignored (it is unauthenticated).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::checkpoint::{TrustPolicy, VerifiedCheckpoint, decode_hash, parse_decimal};
use crate::merkle::{self, Hash, MAX_PROOF_HASHES};
use crate::note::{MAX_NOTE_LEN, Note};
use crate::{Error, Format};

/// First line of every `tlog-proof`.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// Largest proof text accepted: a maximal checkpoint plus room for the proof lines and `extra`.
pub const MAX_PROOF_LEN: usize = 2 * MAX_NOTE_LEN;

/// An offline inclusion proof (`c2sp.org/tlog-proof@v1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogProof {
    extra: Option<Vec<u8>>,
    index: u64,
    hashes: Vec<Hash>,
    checkpoint: Note,
}

/// What a verified [`TlogProof`] established.
#[derive(Debug, Clone)]
pub struct VerifiedInclusion {
    /// The entry's index in the log.
    pub index: u64,
    /// The leaf hash proven included: the supplied entry's, or else the one in `extra`.
    pub leaf_hash: Hash,
    /// Whether the caller's entry bytes were hashed (rather than trusting `extra` for the hash).
    pub entry_checked: bool,
    /// The checkpoint the entry is included in.
    pub checkpoint: VerifiedCheckpoint,
}

impl TlogProof {
    /// A proof for entry `index` with audit path `hashes` in the tree `checkpoint` signs.
    pub fn new(index: u64, hashes: Vec<Hash>, checkpoint: Note, extra: Option<Vec<u8>>) -> Self {
        Self {
            extra,
            index,
            hashes,
            checkpoint,
        }
    }

    /// Parses the proof text.
    pub fn parse(input: &[u8]) -> Result<Self, Error> {
        let (head, checkpoint) = split_head(input, Format::TlogProof)?;
        let mut lines = head.lines.into_iter();
        let malformed = |offset, reason| Error::Malformed {
            format: Format::TlogProof,
            offset,
            reason,
        };
        match lines.next() {
            Some((_, TLOG_PROOF_HEADER)) => {}
            _ => return Err(malformed(0, "the first line is not c2sp.org/tlog-proof@v1")),
        }
        let mut line = lines.next();
        let mut extra = None;
        if let Some((at, encoded)) =
            line.and_then(|(at, text)| Some((at, text.strip_prefix("extra ")?)))
        {
            extra = Some(
                BASE64
                    .decode(encoded)
                    .map_err(|_| malformed(at, "extra is not canonical base64"))?,
            );
            line = lines.next();
        }
        let (at, index) = line.ok_or_else(|| malformed(head.end, "the index line is missing"))?;
        let index = index
            .strip_prefix("index ")
            .and_then(parse_decimal)
            .ok_or_else(|| malformed(at, "expected `index <decimal without leading zeros>`"))?;
        let hashes = parse_hashes(lines, Format::TlogProof)?;
        Ok(Self {
            extra,
            index,
            hashes,
            checkpoint,
        })
    }

    /// The entry's index.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The audit path, leaf-to-root.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// The signed checkpoint (not yet verified).
    pub fn checkpoint(&self) -> &Note {
        &self.checkpoint
    }

    /// The opaque, unauthenticated extra data.
    pub fn extra(&self) -> Option<&[u8]> {
        self.extra.as_deref()
    }

    /// Verifies the checkpoint against `policy` and the inclusion of `entry` (or, without it, of
    /// the leaf hash carried in `extra`) at the proof's index.
    pub fn verify(
        &self,
        policy: &TrustPolicy,
        entry: Option<&[u8]>,
    ) -> Result<VerifiedInclusion, Error> {
        let (leaf_hash, entry_checked) = match entry {
            Some(entry) => (merkle::leaf_hash(entry), true),
            None => {
                let carried = self
                    .extra
                    .as_deref()
                    .and_then(|extra| <Hash>::try_from(extra).ok());
                (carried.ok_or(Error::EntryRequired)?, false)
            }
        };
        let checkpoint = policy.verify(self.checkpoint.clone())?;
        merkle::verify_inclusion(
            &leaf_hash,
            self.index,
            checkpoint.checkpoint.size(),
            &self.hashes,
            checkpoint.checkpoint.root(),
        )?;
        Ok(VerifiedInclusion {
            index: self.index,
            leaf_hash,
            entry_checked,
            checkpoint,
        })
    }

    /// Parses and verifies proof text in one call (what `rampart log verify-proof` does).
    pub fn verify_text(
        input: &[u8],
        policy: &TrustPolicy,
        entry: Option<&[u8]>,
    ) -> Result<VerifiedInclusion, Error> {
        Self::parse(input)?.verify(policy, entry)
    }
}

impl fmt::Display for TlogProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{TLOG_PROOF_HEADER}")?;
        if let Some(extra) = &self.extra {
            writeln!(f, "extra {}", BASE64.encode(extra))?;
        }
        writeln!(f, "index {}", self.index)?;
        write_hashes(f, &self.hashes)?;
        writeln!(f)?;
        self.checkpoint.fmt(f)
    }
}

/// A consistency proof in the `add-checkpoint` request form: `old <size>`, the proof hashes, a
/// blank line and the new signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    old_size: u64,
    hashes: Vec<Hash>,
    checkpoint: Note,
}

/// What a verified [`ConsistencyProof`] established: `new` extends `old`.
#[derive(Debug, Clone)]
pub struct VerifiedConsistency {
    /// The checkpoint the client already had.
    pub old: VerifiedCheckpoint,
    /// The newer checkpoint, proven to extend it.
    pub new: VerifiedCheckpoint,
}

impl ConsistencyProof {
    /// A proof that the tree `checkpoint` signs extends the tree of its first `old_size` entries.
    pub fn new(old_size: u64, hashes: Vec<Hash>, checkpoint: Note) -> Self {
        Self {
            old_size,
            hashes,
            checkpoint,
        }
    }

    /// Parses the proof text.
    pub fn parse(input: &[u8]) -> Result<Self, Error> {
        let (head, checkpoint) = split_head(input, Format::ConsistencyProof)?;
        let mut lines = head.lines.into_iter();
        let old_size = lines
            .next()
            .and_then(|(_, line)| line.strip_prefix("old "))
            .and_then(parse_decimal)
            .ok_or(Error::Malformed {
                format: Format::ConsistencyProof,
                offset: 0,
                reason: "expected `old <decimal without leading zeros>`",
            })?;
        let hashes = parse_hashes(lines, Format::ConsistencyProof)?;
        Ok(Self {
            old_size,
            hashes,
            checkpoint,
        })
    }

    /// The size of the tree the proof starts from.
    pub fn old_size(&self) -> u64 {
        self.old_size
    }

    /// The proof hashes.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// The new signed checkpoint (not yet verified).
    pub fn checkpoint(&self) -> &Note {
        &self.checkpoint
    }

    /// Verifies that the new checkpoint satisfies `policy` and extends `old_checkpoint` (a signed
    /// checkpoint note the client trusted before; its cosignatures are not required again).
    pub fn verify(
        &self,
        old_checkpoint: &[u8],
        policy: &TrustPolicy,
    ) -> Result<VerifiedConsistency, Error> {
        let old = policy.log_only().open_checkpoint(old_checkpoint)?;
        if old.checkpoint.size() != self.old_size {
            return Err(Error::ProofInvalid(
                "the old checkpoint's size is not the proof's old size",
            ));
        }
        let new = policy.verify(self.checkpoint.clone())?;
        merkle::verify_consistency(
            old.checkpoint.size(),
            new.checkpoint.size(),
            old.checkpoint.root(),
            new.checkpoint.root(),
            &self.hashes,
        )?;
        Ok(VerifiedConsistency { old, new })
    }
}

impl fmt::Display for ConsistencyProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "old {}", self.old_size)?;
        write_hashes(f, &self.hashes)?;
        writeln!(f)?;
        self.checkpoint.fmt(f)
    }
}

/// The lines before the first blank line (with their byte offsets) and where they end.
struct Head<'a> {
    lines: Vec<(usize, &'a str)>,
    end: usize,
}

/// Splits proof text at its first blank line into the header lines and the checkpoint note.
fn split_head(input: &[u8], format: Format) -> Result<(Head<'_>, Note), Error> {
    let malformed = |offset, reason| Error::Malformed {
        format,
        offset,
        reason,
    };
    if input.len() > MAX_PROOF_LEN {
        return Err(malformed(MAX_PROOF_LEN, "the proof is over 2 MiB"));
    }
    let text = std::str::from_utf8(input)
        .map_err(|error| malformed(error.valid_up_to(), "not valid UTF-8"))?;
    let end = text
        .find("\n\n")
        .ok_or_else(|| malformed(text.len(), "no blank line before the checkpoint"))?;
    let (Some(head), Some(note)) = (text.get(..end), text.get(end + 2..)) else {
        return Err(malformed(end, "no blank line before the checkpoint"));
    };
    let mut lines = Vec::new();
    let mut offset = 0;
    for line in head.split('\n') {
        if lines.len() > MAX_PROOF_HASHES + 3 {
            return Err(malformed(offset, "too many proof lines"));
        }
        lines.push((offset, line));
        offset += line.len() + 1;
    }
    let checkpoint = Note::parse(note.as_bytes()).map_err(|error| match error {
        Error::Malformed { reason, offset, .. } => malformed(end + 2 + offset, reason),
        other => other,
    })?;
    Ok((Head { lines, end }, checkpoint))
}

fn parse_hashes<'a>(
    lines: impl Iterator<Item = (usize, &'a str)>,
    format: Format,
) -> Result<Vec<Hash>, Error> {
    let mut hashes = Vec::new();
    for (at, line) in lines {
        if hashes.len() == MAX_PROOF_HASHES {
            return Err(Error::Malformed {
                format,
                offset: at,
                reason: "more than 64 proof hashes",
            });
        }
        let hash = decode_hash(line).ok_or(Error::Malformed {
            format,
            offset: at,
            reason: "a proof line is not a 32-byte hash in canonical base64",
        })?;
        hashes.push(hash);
    }
    Ok(hashes)
}

fn write_hashes(f: &mut fmt::Formatter<'_>, hashes: &[Hash]) -> fmt::Result {
    hashes
        .iter()
        .try_for_each(|hash| writeln!(f, "{}", BASE64.encode(hash)))
}

#[cfg(test)]
mod tests;
