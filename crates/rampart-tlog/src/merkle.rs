//! The RFC 6962 / RFC 9162 §2.1 Merkle tree: leaf and node hashing, tree roots, inclusion and
//! consistency proofs, and their verification.
//!
//! Proof generation reads only hashes of *perfect* subtrees (2^level leaves starting at a multiple
//! of 2^level) through [`NodeSource`], so the same code serves the in-memory [`MemoryTree`] and the
//! on-disk log, and a proof costs O(log n) node reads. Every subtree the RFC recursion visits is
//! a run of such perfect subtrees, whose hash is the right fold of theirs.

use sha2::{Digest, Sha256};

use crate::Error;

/// Length of every hash in the tree (SHA-256).
pub const HASH_LEN: usize = 32;

/// A SHA-256 tree hash.
pub type Hash = [u8; HASH_LEN];

/// The largest tree any function here accepts: positions of stored nodes (about `2 * size`
/// hashes of 32 bytes) then always fit in a `u64`.
pub const MAX_TREE_SIZE: u64 = 1 << 48;

/// Longest possible proof: one hash per level of a tree of [`MAX_TREE_SIZE`] leaves, plus slack
/// for the consistency proof's extra hash. Parsers refuse more lines than this.
pub const MAX_PROOF_HASHES: usize = 64;

/// `SHA-256(0x00 || entry)`: the hash of one log entry.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(entry);
    hasher.finalize().into()
}

/// `SHA-256(0x01 || left || right)`: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The root of the empty tree, `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Where proof generation reads perfect-subtree hashes from.
pub trait NodeSource {
    /// Number of leaves the source holds; no node beyond it may be asked for.
    fn size(&self) -> u64;

    /// The hash of the perfect subtree of `2^level` leaves starting at leaf `index << level`
    /// (level 0 is the leaf hashes).
    fn node(&self, level: u32, index: u64) -> Result<Hash, Error>;
}

/// The root of the first `size` leaves of `source`.
pub fn root<S: NodeSource + ?Sized>(source: &S, size: u64) -> Result<Hash, Error> {
    check_size(source, size)?;
    if size == 0 {
        return Ok(empty_root());
    }
    range_root(source, 0, size)
}

/// The audit path of leaf `index` in the tree of the first `size` leaves (RFC 9162
/// §2.1.3.1), leaf-to-root order.
pub fn inclusion_proof<S: NodeSource + ?Sized>(
    source: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, Error> {
    check_size(source, size)?;
    if index >= size {
        return Err(Error::IndexOutOfRange { index, size });
    }
    // The RFC recursion, unrolled from the root down: each step keeps the half holding the leaf
    // and records the other half's root.
    let mut siblings = Vec::new();
    let (mut start, mut width, mut leaf) = (0u64, size, index);
    while width > 1 {
        let split = split_point(width);
        if leaf < split {
            siblings.push(range_root(source, start + split, start + width)?);
            width = split;
        } else {
            siblings.push(range_root(source, start, start + split)?);
            start += split;
            leaf -= split;
            width -= split;
        }
    }
    siblings.reverse();
    Ok(siblings)
}

/// The consistency proof between the trees of the first `old_size` and `new_size` leaves (RFC
/// 9162 §2.1.4.1). Empty when the sizes are equal or `old_size` is 0 (every tree extends the
/// empty one).
pub fn consistency_proof<S: NodeSource + ?Sized>(
    source: &S,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, Error> {
    check_size(source, new_size)?;
    if old_size > new_size {
        return Err(Error::InvalidRange {
            from: old_size,
            to: new_size,
        });
    }
    if old_size == 0 || old_size == new_size {
        return Ok(Vec::new());
    }
    // SUBPROOF(m, D[start..start+width], old_tree_is_whole_subtree), unrolled root-down.
    let mut proof = Vec::new();
    let (mut start, mut width, mut old) = (0u64, new_size, old_size);
    let mut old_is_whole_subtree = true;
    loop {
        if old == width {
            if !old_is_whole_subtree {
                proof.push(range_root(source, start, start + width)?);
            }
            break;
        }
        let split = split_point(width);
        if old <= split {
            proof.push(range_root(source, start + split, start + width)?);
            width = split;
        } else {
            proof.push(range_root(source, start, start + split)?);
            start += split;
            old -= split;
            width -= split;
            old_is_whole_subtree = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// Checks that `proof` proves the leaf with hash `leaf` at `index` in the tree of `size` leaves
/// whose root is `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), Error> {
    if index >= size {
        return Err(Error::ProofInvalid(
            "the leaf index is not below the tree size",
        ));
    }
    let (mut node, mut last) = (index, size - 1);
    let mut computed = *leaf;
    for sibling in proof {
        if last == 0 {
            return Err(Error::ProofInvalid(
                "the inclusion proof has too many hashes",
            ));
        }
        if node & 1 == 1 || node == last {
            computed = node_hash(sibling, &computed);
            // A right-edge node with no right sibling: climb until it is a right child.
            while node & 1 == 0 && node != 0 {
                node >>= 1;
                last >>= 1;
            }
        } else {
            computed = node_hash(&computed, sibling);
        }
        node >>= 1;
        last >>= 1;
    }
    if last != 0 {
        return Err(Error::ProofInvalid(
            "the inclusion proof has too few hashes",
        ));
    }
    if computed != *root {
        return Err(Error::ProofInvalid(
            "the inclusion proof does not lead to the root",
        ));
    }
    Ok(())
}

/// Checks that `proof` proves the tree of `old_size` leaves with root `old_root` is a prefix of
/// the tree of `new_size` leaves with root `new_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), Error> {
    if old_size > new_size {
        return Err(Error::ProofInvalid(
            "the old tree is larger than the new one",
        ));
    }
    if old_size == new_size || old_size == 0 {
        if !proof.is_empty() {
            return Err(Error::ProofInvalid("the consistency proof must be empty"));
        }
        let expected = if old_size == 0 {
            empty_root()
        } else {
            *new_root
        };
        if *old_root != expected {
            return Err(Error::ProofInvalid("the old root does not match"));
        }
        return Ok(());
    }
    // When the old tree is a perfect left subtree its root is a proof node the prover omits.
    let (first, rest) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        proof
            .split_first()
            .ok_or(Error::ProofInvalid("the consistency proof is empty"))?
    };
    let (mut node, mut last) = (old_size - 1, new_size - 1);
    while node & 1 == 1 {
        node >>= 1;
        last >>= 1;
    }
    let (mut old_computed, mut new_computed) = (*first, *first);
    for hash in rest {
        if last == 0 {
            return Err(Error::ProofInvalid(
                "the consistency proof has too many hashes",
            ));
        }
        if node & 1 == 1 || node == last {
            old_computed = node_hash(hash, &old_computed);
            new_computed = node_hash(hash, &new_computed);
            while node & 1 == 0 && node != 0 {
                node >>= 1;
                last >>= 1;
            }
        } else {
            new_computed = node_hash(&new_computed, hash);
        }
        node >>= 1;
        last >>= 1;
    }
    if last != 0 {
        return Err(Error::ProofInvalid(
            "the consistency proof has too few hashes",
        ));
    }
    if old_computed != *old_root {
        return Err(Error::ProofInvalid(
            "the consistency proof does not lead to the old root",
        ));
    }
    if new_computed != *new_root {
        return Err(Error::ProofInvalid(
            "the consistency proof does not lead to the new root",
        ));
    }
    Ok(())
}

/// An append-only tree kept in memory: every perfect-subtree hash, level by level.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an entry and returns its index.
    pub fn push(&mut self, entry: &[u8]) -> u64 {
        self.push_leaf_hash(leaf_hash(entry))
    }

    /// Appends a leaf by its hash and returns its index.
    pub fn push_leaf_hash(&mut self, leaf: Hash) -> u64 {
        let index = self.size();
        let mut carry = leaf;
        for level in 0.. {
            if self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            let Some(nodes) = self.levels.get_mut(level) else {
                break;
            };
            nodes.push(carry);
            if nodes.len() % 2 == 1 {
                break;
            }
            match nodes.as_slice() {
                [.., left, right] => carry = node_hash(left, right),
                _ => break,
            }
        }
        index
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        // Cannot fail: the size is the source's own.
        root(self, self.size()).unwrap_or_else(|_| empty_root())
    }
}

impl NodeSource for MemoryTree {
    fn size(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    fn node(&self, level: u32, index: u64) -> Result<Hash, Error> {
        usize::try_from(level)
            .ok()
            .and_then(|level| self.levels.get(level))
            .zip(usize::try_from(index).ok())
            .and_then(|(nodes, index)| nodes.get(index))
            .copied()
            .ok_or(Error::IndexOutOfRange {
                index,
                size: self.size(),
            })
    }
}

/// Number of hashes stored for a tree of `size` leaves when every perfect subtree is kept:
/// `2 * size - popcount(size)`.
pub(crate) fn stored_node_count(size: u64) -> Option<u64> {
    size.checked_mul(2)?
        .checked_sub(u64::from(size.count_ones()))
}

/// Position of perfect subtree (`level`, `index`) in the post-order sequence in which nodes are
/// completed while leaves are appended: leaf `m` follows the `2m - popcount(m)` nodes completed
/// before it, and a node is written right after the last leaf it covers, `level` places later.
pub(crate) fn stored_node_position(level: u32, index: u64) -> Option<u64> {
    let last_leaf = index.checked_add(1)?.checked_shl(level)?.checked_sub(1)?;
    if last_leaf.checked_add(1)?.checked_shr(level)? != index.checked_add(1)? {
        return None; // the shift lost bits
    }
    stored_node_count(last_leaf)?.checked_add(u64::from(level))
}

/// [`stored_node_position`] of a node that lies wholly within a tree of `size` leaves.
pub(crate) fn checked_node_position(level: u32, index: u64, size: u64) -> Option<u64> {
    let end = index
        .checked_add(1)?
        .checked_shl(level)
        .filter(|end| end.checked_shr(level) == index.checked_add(1))?;
    if end > size {
        return None;
    }
    stored_node_position(level, index)
}

/// Roots of the perfect subtrees along the right edge of a tree (its "frontier"), largest first:
/// one per set bit of the size. Appending updates it; the tree root is its right fold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Frontier {
    size: u64,
    roots: Vec<Hash>,
}

impl Frontier {
    /// Reads the frontier of the first `size` leaves of `source`.
    pub(crate) fn load<S: NodeSource + ?Sized>(source: &S, size: u64) -> Result<Self, Error> {
        check_size(source, size)?;
        let mut roots = Vec::new();
        let mut start = 0u64;
        for level in (0..u64::BITS).rev() {
            if size & (1 << level) != 0 {
                roots.push(source.node(level, start >> level)?);
                start += 1 << level;
            }
        }
        Ok(Self { size, roots })
    }

    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf, calling `completed` with the leaf hash and then every interior node it
    /// completes, in the order of [`stored_node_position`].
    pub(crate) fn push(
        &mut self,
        leaf: Hash,
        mut completed: impl FnMut(&Hash) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if self.size >= MAX_TREE_SIZE {
            return Err(Error::TreeTooLarge { size: self.size });
        }
        completed(&leaf)?;
        let mut carry = leaf;
        let mut size = self.size;
        while size & 1 == 1 {
            let left = self
                .roots
                .pop()
                .ok_or(Error::TreeTooLarge { size: self.size })?;
            carry = node_hash(&left, &carry);
            completed(&carry)?;
            size >>= 1;
        }
        self.roots.push(carry);
        self.size += 1;
        Ok(())
    }

    pub(crate) fn root(&self) -> Hash {
        fold_right(&self.roots).unwrap_or_else(empty_root)
    }
}

fn check_size<S: NodeSource + ?Sized>(source: &S, size: u64) -> Result<(), Error> {
    if size > source.size() {
        return Err(Error::SizeOutOfRange {
            requested: size,
            available: source.size(),
        });
    }
    Ok(())
}

/// Largest power of two strictly below `width` (`width >= 2`).
fn split_point(width: u64) -> u64 {
    1 << (u64::BITS - 1 - (width - 1).leading_zeros())
}

/// The Merkle hash of leaves `start..end` where the range is one the RFC recursion visits:
/// greedy aligned perfect subtrees from the left, folded from the right.
fn range_root<S: NodeSource + ?Sized>(source: &S, start: u64, end: u64) -> Result<Hash, Error> {
    let mut parts = Vec::new();
    let mut position = start;
    while position < end {
        let aligned = if position == 0 {
            u64::BITS - 1
        } else {
            position.trailing_zeros()
        };
        let fits = u64::BITS - 1 - (end - position).leading_zeros();
        let level = aligned.min(fits);
        parts.push(source.node(level, position >> level)?);
        position += 1 << level;
    }
    fold_right(&parts).ok_or(Error::InvalidRange {
        from: start,
        to: end,
    })
}

fn fold_right(parts: &[Hash]) -> Option<Hash> {
    let (last, rest) = parts.split_last()?;
    Some(
        rest.iter()
            .rev()
            .fold(*last, |right, left| node_hash(left, &right)),
    )
}

#[cfg(test)]
mod tests;
