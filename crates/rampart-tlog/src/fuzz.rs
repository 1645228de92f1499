//! Entry points of the cargo-fuzz targets `fuzz/fuzz_targets/tlog_*.rs`, shared with the corpus
//! replay test. Each parses arbitrary bytes; whatever parses must format back to exactly the
//! same bytes, and verification of it must return (not panic).

use crate::checkpoint::{Checkpoint, TrustPolicy};
use crate::note::{Note, VerifierKey};
use crate::proof::{ConsistencyProof, TlogProof};

/// The TEST-ONLY keys of `shared/data/tlog`, so that mutated vectors reach signature checks.
const LOG_VKEY: &str =
    "example.com/rampart-test-log+4200f530+AcBJoKnqRV57uMs2vetZHUhW2MFP/Mj3Q99b6nSE94vS";
const WITNESS_VKEY: &str =
    "example.com/rampart-test-witness+58215441+BDdgjR3IL+4OGirN8RseyAIT+PyfTo9LB4EmW1xIHUXF";
const OLD_CHECKPOINT: &str = "example.com/rampart-test-log\n6\nduZ9rbzfHhDht03cYIq9L5jfsW+851J3tSMqEn8gh+8=\n\n\u{2014} example.com/rampart-test-log QgD1MH/1Oo5wVgoXHpNvHvh+G9RL8nIyZ8vqoOS2xSrDJDZILUG636XOsNbK7xGqY50VgqgZpBkJ36MRIEYNIuElVw0=\n";

fn policy() -> Option<TrustPolicy> {
    let log = VerifierKey::parse(LOG_VKEY).ok()?;
    let witness = VerifierKey::parse(WITNESS_VKEY).ok()?;
    TrustPolicy::new(log)
        .ok()?
        .with_witnesses(vec![witness], 1)
        .ok()
}

/// Signed-note parsing and verification.
pub fn note(data: &[u8]) {
    if let Ok(note) = Note::parse(data) {
        assert_eq!(
            note.to_string().as_bytes(),
            data,
            "a parsed note formats differently"
        );
        if let Some(policy) = policy() {
            let _ = note.verify(&[policy.log_key().clone()]);
        }
    }
}

/// Checkpoint text parsing, and opening the input as a signed checkpoint.
pub fn checkpoint(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(checkpoint) = Checkpoint::parse(text)
    {
        assert_eq!(
            checkpoint.to_string(),
            text,
            "a parsed checkpoint formats differently"
        );
    }
    if let Some(policy) = policy() {
        let _ = policy.open_checkpoint(data);
    }
}

/// `tlog-proof` and consistency proof parsing and verification.
pub fn proof(data: &[u8]) {
    let Some(policy) = policy() else { return };
    if let Ok(proof) = TlogProof::parse(data) {
        assert_eq!(
            proof.to_string().as_bytes(),
            data,
            "a parsed tlog-proof formats differently"
        );
        let _ = proof.verify(&policy, None);
        let _ = proof.verify(&policy, Some(b"@ABC"));
    }
    if let Ok(proof) = ConsistencyProof::parse(data) {
        assert_eq!(
            proof.to_string().as_bytes(),
            data,
            "a parsed consistency proof formats differently"
        );
        let _ = proof.verify(OLD_CHECKPOINT.as_bytes(), &policy);
    }
}
