//! Shared test helpers: the vectors in `shared/data/tlog` and the TEST-ONLY keys they use.

use std::path::PathBuf;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::merkle::Hash;
use crate::note::{KeyType, SignerKey, VerifierKey};
use crate::{Checkpoint, TrustPolicy};

pub(crate) fn vector_file(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/tlog")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&text).unwrap()
}

pub(crate) fn rfc6962() -> Value {
    vector_file("rfc6962_vectors.json")
}

pub(crate) fn checkpoints() -> Value {
    vector_file("checkpoint_vectors.json")
}

pub(crate) fn text(value: &Value) -> &str {
    value.as_str().unwrap()
}

pub(crate) fn hash(hex_text: &str) -> Hash {
    hex::decode(hex_text).unwrap().try_into().unwrap()
}

pub(crate) fn hashes(value: &Value) -> Vec<Hash> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|item| hash(text(item)))
        .collect()
}

/// The vectors' eight leaves.
pub(crate) fn leaves() -> Vec<Vec<u8>> {
    rfc6962()["leaves_hex"]
        .as_array()
        .unwrap()
        .iter()
        .map(|leaf| hex::decode(text(leaf)).unwrap())
        .collect()
}

/// TEST-ONLY key: Ed25519 seed = SHA-256("rampart test key: " + label).
pub(crate) fn test_key(label: &str, name: &str, key_type: KeyType) -> SignerKey {
    let seed: [u8; 32] = Sha256::digest(format!("rampart test key: {label}")).into();
    SignerKey::from_seed(name, key_type, &seed).unwrap()
}

pub(crate) const LOG_ORIGIN: &str = "example.com/rampart-test-log";
pub(crate) const WITNESS_NAME: &str = "example.com/rampart-test-witness";

pub(crate) fn log_key() -> SignerKey {
    test_key("log", LOG_ORIGIN, KeyType::Ed25519)
}

pub(crate) fn witness_key() -> SignerKey {
    test_key("witness", WITNESS_NAME, KeyType::Cosignature)
}

pub(crate) fn log_policy() -> TrustPolicy {
    TrustPolicy::new(VerifierKey::parse(text(&checkpoints()["log"]["vkey"])).unwrap()).unwrap()
}

pub(crate) fn witnessed_policy() -> TrustPolicy {
    let witness = VerifierKey::parse(text(&checkpoints()["witness"]["vkey"])).unwrap();
    log_policy().with_witnesses(vec![witness], 1).unwrap()
}

pub(crate) fn checkpoint_of(note: &str) -> Checkpoint {
    Checkpoint::parse(crate::Note::parse(note.as_bytes()).unwrap().text()).unwrap()
}

/// Every bit of `bytes` flipped in turn.
pub(crate) fn bit_flips(bytes: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    (0..bytes.len() * 8).map(|bit| {
        let mut mutated = bytes.to_vec();
        mutated[bit / 8] ^= 1 << (bit % 8);
        mutated
    })
}

#[test]
fn fuzz_corpus_replays_without_panic() {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let mut replayed = 0;
    for (target, run) in [
        ("tlog_note", crate::fuzz::note as fn(&[u8])),
        ("tlog_checkpoint", crate::fuzz::checkpoint),
        ("tlog_proof", crate::fuzz::proof),
    ] {
        let dir = corpus.join(target);
        for entry in
            std::fs::read_dir(&dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        {
            run(&std::fs::read(entry.unwrap().path()).unwrap());
            replayed += 1;
        }
    }
    assert!(replayed >= 9, "only {replayed} corpus files");
}
