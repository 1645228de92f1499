use proptest::prelude::*;

use super::*;
use crate::testing::{bit_flips, checkpoints, leaves, log_policy, text, witnessed_policy};

fn vector_proof() -> String {
    text(&checkpoints()["tlog_proof_leaf5_size8"]).to_owned()
}

fn leaf5() -> Vec<u8> {
    hex::decode(text(&checkpoints()["leaf5_input_hex"])).unwrap()
}

#[test]
fn the_vector_tlog_proof_parses_round_trips_and_verifies() {
    let proof = TlogProof::parse(vector_proof().as_bytes()).unwrap();
    assert_eq!(proof.index(), 5);
    assert_eq!(proof.hashes().len(), 3);
    assert_eq!(proof.extra(), None);
    assert_eq!(proof.to_string(), vector_proof());
    for policy in [log_policy(), witnessed_policy()] {
        let verified = proof.verify(&policy, Some(&leaf5())).unwrap();
        assert_eq!((verified.index, verified.entry_checked), (5, true));
        assert_eq!(verified.leaf_hash, merkle::leaf_hash(&leaf5()));
        assert_eq!(verified.checkpoint.checkpoint.size(), 8);
    }
    assert_eq!(
        TlogProof::verify_text(
            vector_proof().as_bytes(),
            &witnessed_policy(),
            Some(&leaf5())
        )
        .unwrap()
        .checkpoint
        .cosignatures
        .len(),
        1
    );
}

#[test]
fn a_tlog_proof_fails_for_other_entries_and_without_one() {
    let proof = TlogProof::parse(vector_proof().as_bytes()).unwrap();
    for (index, other) in leaves().iter().enumerate() {
        let result = proof.verify(&log_policy(), Some(other));
        assert_eq!(result.is_ok(), index == 5, "leaf {index}");
    }
    assert!(matches!(
        proof.verify(&log_policy(), None),
        Err(Error::EntryRequired)
    ));
    // With the leaf hash in `extra` it verifies without the entry; a wrong hash there fails.
    let leaf = merkle::leaf_hash(&leaf5());
    let carried = TlogProof::new(
        5,
        proof.hashes().to_vec(),
        proof.checkpoint().clone(),
        Some(leaf.to_vec()),
    );
    let reparsed = TlogProof::parse(carried.to_string().as_bytes()).unwrap();
    assert_eq!(reparsed, carried);
    let verified = reparsed.verify(&log_policy(), None).unwrap();
    assert_eq!((verified.leaf_hash, verified.entry_checked), (leaf, false));
    let wrong = TlogProof::new(
        5,
        proof.hashes().to_vec(),
        proof.checkpoint().clone(),
        Some(vec![0; 32]),
    );
    assert!(wrong.verify(&log_policy(), None).is_err());
    // An index beyond the checkpoint.
    let beyond = TlogProof::new(8, proof.hashes().to_vec(), proof.checkpoint().clone(), None);
    assert!(beyond.verify(&log_policy(), Some(&leaf5())).is_err());
}

#[test]
fn every_bit_of_a_tlog_proof_matters() {
    let policy = witnessed_policy();
    for mutated in bit_flips(vector_proof().as_bytes()) {
        let result =
            TlogProof::parse(&mutated).and_then(|proof| proof.verify(&policy, Some(&leaf5())));
        assert!(result.is_err(), "{:?}", String::from_utf8_lossy(&mutated));
    }
    for mutated in bit_flips(&leaf5()) {
        assert!(
            TlogProof::verify_text(vector_proof().as_bytes(), &policy, Some(&mutated)).is_err()
        );
    }
}

#[test]
fn the_vector_consistency_proof_verifies_against_the_old_checkpoint() {
    let vectors = checkpoints();
    let request = text(&vectors["witness_add_checkpoint_request_6_to_8"]);
    let proof = ConsistencyProof::parse(request.as_bytes()).unwrap();
    assert_eq!((proof.old_size(), proof.hashes().len()), (6, 3));
    assert_eq!(proof.to_string(), request);
    let old = text(&vectors["checkpoint_size6"]).as_bytes();
    let verified = proof.verify(old, &log_policy()).unwrap();
    assert_eq!(
        (
            verified.old.checkpoint.size(),
            verified.new.checkpoint.size()
        ),
        (6, 8)
    );
    // The new checkpoint lacks the cosignature a witnessed policy requires.
    assert!(matches!(
        proof.verify(old, &witnessed_policy()),
        Err(Error::WitnessQuorum { .. })
    ));
    // Against a checkpoint of another size, or its own new checkpoint as the old one.
    assert!(
        proof
            .verify(text(&vectors["checkpoint_size8"]).as_bytes(), &log_policy())
            .is_err()
    );
    for mutated in bit_flips(request.as_bytes()) {
        let result =
            ConsistencyProof::parse(&mutated).and_then(|proof| proof.verify(old, &log_policy()));
        assert!(result.is_err(), "{:?}", String::from_utf8_lossy(&mutated));
    }
    for mutated in bit_flips(old) {
        assert!(proof.verify(&mutated, &log_policy()).is_err());
    }
}

#[test]
fn malformed_proofs_are_errors() {
    let proof = vector_proof();
    let (head, checkpoint) = proof.split_once("\n\n").unwrap();
    let cases = [
        proof.replacen("tlog-proof@v1", "tlog-proof@v2", 1),
        proof.replacen("index 5", "index 05", 1),
        proof.replacen("index 5", "index5", 1),
        proof.replacen("index 5\n", "", 1),
        proof.replacen("index 5", "index 5\nextra AAAA", 1),
        proof.replacen("index 5", "extra A\nindex 5", 1),
        proof.replacen("=\n", "\n", 1),
        format!("{head}\n{checkpoint}"),
        format!(
            "{head}\n{}\n\n{checkpoint}",
            "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=\n"
                .repeat(65)
                .trim_end()
        ),
        format!("{head}\n\n"),
    ];
    for bad in cases {
        assert!(TlogProof::parse(bad.as_bytes()).is_err(), "{bad:?}");
    }
    assert!(TlogProof::parse(&vec![b'a'; MAX_PROOF_LEN + 1]).is_err());
    let with_extra = proof.replacen("index 5", "extra aGVsbG8=\nindex 5", 1);
    assert_eq!(
        TlogProof::parse(with_extra.as_bytes()).unwrap().extra(),
        Some(&b"hello"[..])
    );
    for bad in ["old 06\n\n", "old\n\n", "new 6\n\n"] {
        let text = format!("{bad}{checkpoint}");
        assert!(
            ConsistencyProof::parse(text.as_bytes()).is_err(),
            "{text:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..800)) {
        crate::fuzz::proof(&data);
    }

    #[test]
    fn mutated_proofs_never_panic(position in any::<prop::sample::Index>(), byte in any::<u8>()) {
        for base in [vector_proof(), text(&checkpoints()["witness_add_checkpoint_request_6_to_8"]).to_owned()] {
            let mut data = base.into_bytes();
            let at = position.index(data.len());
            data[at] = byte;
            crate::fuzz::proof(&data);
        }
    }
}
