use proptest::prelude::*;

use super::*;
use crate::testing::{bit_flips, hash, hashes, leaves, rfc6962, text};

fn tree_of(entries: &[Vec<u8>]) -> MemoryTree {
    let mut tree = MemoryTree::new();
    for entry in entries {
        tree.push(entry);
    }
    tree
}

/// RFC 6962 §2.1 definitions, recursively and naively: the oracle.
fn oracle_root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [leaf] => *leaf,
        _ => {
            let split = split_point(leaves.len() as u64) as usize;
            node_hash(
                &oracle_root(&leaves[..split]),
                &oracle_root(&leaves[split..]),
            )
        }
    }
}

fn oracle_path(index: usize, leaves: &[Hash]) -> Vec<Hash> {
    if leaves.len() <= 1 {
        return Vec::new();
    }
    let split = split_point(leaves.len() as u64) as usize;
    let (mut path, sibling) = if index < split {
        (
            oracle_path(index, &leaves[..split]),
            oracle_root(&leaves[split..]),
        )
    } else {
        (
            oracle_path(index - split, &leaves[split..]),
            oracle_root(&leaves[..split]),
        )
    };
    path.push(sibling);
    path
}

fn oracle_subproof(old: usize, leaves: &[Hash], whole: bool) -> Vec<Hash> {
    if old == leaves.len() {
        return if whole {
            Vec::new()
        } else {
            vec![oracle_root(leaves)]
        };
    }
    let split = split_point(leaves.len() as u64) as usize;
    let (mut proof, sibling) = if old <= split {
        (
            oracle_subproof(old, &leaves[..split], whole),
            oracle_root(&leaves[split..]),
        )
    } else {
        (
            oracle_subproof(old - split, &leaves[split..], false),
            oracle_root(&leaves[..split]),
        )
    };
    proof.push(sibling);
    proof
}

#[test]
fn hashes_match_the_vectors() {
    let vectors = rfc6962();
    assert_eq!(
        empty_root(),
        hash("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    let leaf_hashes: Vec<Hash> = leaves().iter().map(|leaf| leaf_hash(leaf)).collect();
    assert_eq!(leaf_hashes, hashes(&vectors["leaf_hashes"]));
    let tree = tree_of(&leaves());
    for (size, expected) in vectors["roots_by_size"].as_object().unwrap() {
        let size: u64 = size.parse().unwrap();
        assert_eq!(
            root(&tree, size).unwrap(),
            hash(text(expected)),
            "root of size {size}"
        );
        assert_eq!(
            tree_of(&leaves()[..size as usize]).root(),
            hash(text(expected))
        );
    }
    assert_eq!(
        tree.root(),
        hash("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")
    );
}

#[test]
fn all_36_inclusion_proofs_match_and_verify() {
    let vectors = rfc6962();
    let tree = tree_of(&leaves());
    let cases = vectors["inclusion_proofs"].as_array().unwrap();
    assert_eq!(cases.len(), 36);
    for case in cases {
        let (index, size) = (
            case["leaf_index"].as_u64().unwrap(),
            case["tree_size"].as_u64().unwrap(),
        );
        let expected = hashes(&case["proof"]);
        assert_eq!(
            inclusion_proof(&tree, index, size).unwrap(),
            expected,
            "proof ({index}, {size})"
        );
        let leaf = leaf_hash(&leaves()[index as usize]);
        let root = hash(text(&vectors["roots_by_size"][size.to_string()]));
        verify_inclusion(&leaf, index, size, &expected, &root).unwrap();
        assert!(verify_inclusion(&leaf, index, size, &expected, &empty_root()).is_err());
    }
}

#[test]
fn all_36_consistency_proofs_match_and_verify() {
    let vectors = rfc6962();
    let tree = tree_of(&leaves());
    let cases = vectors["consistency_proofs"].as_array().unwrap();
    assert_eq!(cases.len(), 36);
    for case in cases {
        let (old, new) = (
            case["size1"].as_u64().unwrap(),
            case["size2"].as_u64().unwrap(),
        );
        let expected = hashes(&case["proof"]);
        assert_eq!(
            consistency_proof(&tree, old, new).unwrap(),
            expected,
            "proof ({old}, {new})"
        );
        let old_root = hash(text(&vectors["roots_by_size"][old.to_string()]));
        let new_root = hash(text(&vectors["roots_by_size"][new.to_string()]));
        verify_consistency(old, new, &old_root, &new_root, &expected).unwrap();
        if old != new {
            assert!(verify_consistency(old, new, &new_root, &new_root, &expected).is_err());
        }
    }
}

#[test]
fn the_empty_tree_is_a_prefix_of_every_tree() {
    let tree = tree_of(&leaves());
    assert!(consistency_proof(&tree, 0, 5).unwrap().is_empty());
    verify_consistency(0, 5, &empty_root(), &tree.root(), &[]).unwrap();
    assert!(verify_consistency(0, 5, &tree.root(), &tree.root(), &[]).is_err());
    assert!(verify_consistency(0, 5, &empty_root(), &tree.root(), &[tree.root()]).is_err());
}

#[test]
fn bad_indices_and_sizes_are_errors() {
    let tree = tree_of(&leaves());
    assert!(matches!(
        inclusion_proof(&tree, 8, 8),
        Err(Error::IndexOutOfRange { index: 8, size: 8 })
    ));
    assert!(matches!(
        inclusion_proof(&tree, 0, 0),
        Err(Error::IndexOutOfRange { .. })
    ));
    assert!(matches!(
        inclusion_proof(&tree, 0, 9),
        Err(Error::SizeOutOfRange {
            requested: 9,
            available: 8
        })
    ));
    assert!(matches!(
        consistency_proof(&tree, 5, 4),
        Err(Error::InvalidRange { from: 5, to: 4 })
    ));
    assert!(matches!(
        consistency_proof(&tree, 1, 9),
        Err(Error::SizeOutOfRange { .. })
    ));
    assert!(matches!(
        root(&tree, u64::MAX),
        Err(Error::SizeOutOfRange { .. })
    ));
    assert!(tree.node(3, 1).is_err());
    assert!(tree.node(u32::MAX, u64::MAX).is_err());
    let leaf = leaf_hash(b"");
    assert!(verify_inclusion(&leaf, 3, 3, &[], &leaf).is_err());
    assert!(verify_inclusion(&leaf, u64::MAX, u64::MAX, &[leaf; 64], &leaf).is_err());
    assert!(verify_consistency(u64::MAX, u64::MAX - 1, &leaf, &leaf, &[]).is_err());
    assert!(verify_consistency(3, u64::MAX, &leaf, &leaf, &[leaf; 70]).is_err());
}

#[test]
fn stored_positions_follow_the_append_order() {
    let mut frontier = Frontier::default();
    let mut written = Vec::new();
    let entries: Vec<Vec<u8>> = (0..70u32).map(|i| i.to_be_bytes().to_vec()).collect();
    for entry in &entries {
        frontier
            .push(leaf_hash(entry), |hash| {
                written.push(*hash);
                Ok(())
            })
            .unwrap();
    }
    let tree = tree_of(&entries);
    assert_eq!(written.len() as u64, stored_node_count(70).unwrap());
    for level in 0..7 {
        for index in 0..(70u64 >> level) {
            let position = stored_node_position(level, index).unwrap() as usize;
            assert_eq!(
                written[position],
                tree.node(level, index).unwrap(),
                "node ({level}, {index})"
            );
        }
    }
    assert_eq!(frontier.root(), tree.root());
    assert_eq!(Frontier::load(&tree, 70).unwrap(), frontier);
    assert_eq!(stored_node_position(1, u64::MAX), None);
    assert_eq!(stored_node_position(63, 2), None);
}

fn arbitrary_tree() -> impl Strategy<Value = (Vec<Hash>, u64, u64)> {
    (1usize..200).prop_flat_map(|size| {
        let leaves = proptest::collection::vec(any::<[u8; 32]>(), size);
        (leaves, 0..size as u64, 1..=size as u64)
    })
}

fn memory_tree(leaves: &[Hash]) -> MemoryTree {
    let mut tree = MemoryTree::new();
    leaves.iter().for_each(|leaf| {
        tree.push_leaf_hash(*leaf);
    });
    tree
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn inclusion_proofs_verify_and_every_bit_matters((leaves, index, size) in arbitrary_tree()) {
        let size = size.max(index + 1);
        let tree = memory_tree(&leaves);
        let proof = inclusion_proof(&tree, index, size).unwrap();
        let prefix = &leaves[..size as usize];
        let root = root(&tree, size).unwrap();
        prop_assert_eq!(root, oracle_root(prefix));
        prop_assert_eq!(&proof, &oracle_path(index as usize, prefix));
        let leaf = leaves[index as usize];
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &root).is_ok());
        let flat: Vec<u8> = proof.iter().flatten().copied().collect();
        for mutated in bit_flips(&flat) {
            let mutated: Vec<Hash> = mutated.chunks(32).map(|chunk| chunk.try_into().unwrap()).collect();
            prop_assert!(verify_inclusion(&leaf, index, size, &mutated, &root).is_err());
        }
        for mutated in bit_flips(&root) {
            prop_assert!(verify_inclusion(&leaf, index, size, &proof, &mutated.try_into().unwrap()).is_err());
        }
        for mutated in bit_flips(&leaf) {
            prop_assert!(verify_inclusion(&mutated.try_into().unwrap(), index, size, &proof, &root).is_err());
        }
        // The same proof proves nothing about another position or tree size.
        if size > 1 {
            let other = (index + 1) % size;
            prop_assert!(verify_inclusion(&leaf, other, size, &proof, &root).is_err() || leaves[other as usize] == leaf);
        }
        if !proof.is_empty() {
            prop_assert!(verify_inclusion(&leaf, index, size, &proof[1..], &root).is_err());
        }
        let mut longer = proof.clone();
        longer.push(root);
        prop_assert!(verify_inclusion(&leaf, index, size, &longer, &root).is_err());
    }

    #[test]
    fn consistency_proofs_verify_and_every_bit_matters((leaves, old, new) in arbitrary_tree()) {
        let old = old.min(new);
        let tree = memory_tree(&leaves);
        let proof = consistency_proof(&tree, old, new).unwrap();
        let (old_root, new_root) = (root(&tree, old).unwrap(), root(&tree, new).unwrap());
        if old > 0 && old < new {
            prop_assert_eq!(&proof, &oracle_subproof(old as usize, &leaves[..new as usize], true));
        }
        prop_assert!(verify_consistency(old, new, &old_root, &new_root, &proof).is_ok());
        let flat: Vec<u8> = proof.iter().flatten().copied().collect();
        for mutated in bit_flips(&flat) {
            let mutated: Vec<Hash> = mutated.chunks(32).map(|chunk| chunk.try_into().unwrap()).collect();
            prop_assert!(verify_consistency(old, new, &old_root, &new_root, &mutated).is_err());
        }
        for mutated in bit_flips(&old_root) {
            prop_assert!(verify_consistency(old, new, &mutated.try_into().unwrap(), &new_root, &proof).is_err());
        }
        // Every tree extends the empty one, whatever its root.
        for mutated in bit_flips(&new_root).filter(|_| old > 0) {
            prop_assert!(verify_consistency(old, new, &old_root, &mutated.try_into().unwrap(), &proof).is_err());
        }
        if old > 0 && old < new {
            prop_assert!(verify_consistency(old, new, &old_root, &new_root, &proof[1..]).is_err());
        }
    }

    #[test]
    fn verification_never_panics(
        leaf in any::<[u8; 32]>(),
        index in any::<u64>(),
        size in any::<u64>(),
        proof in proptest::collection::vec(any::<[u8; 32]>(), 0..70),
    ) {
        let _ = verify_inclusion(&leaf, index, size, &proof, &leaf);
        let _ = verify_consistency(index, size, &leaf, &leaf, &proof);
        let _ = verify_consistency(index % 1000, size % 1000, &leaf, &leaf, &proof);
    }
}
