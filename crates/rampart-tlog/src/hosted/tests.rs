use super::*;
use crate::Log;

/// Storage in vectors, checking the contract's preconditions.
#[derive(Default)]
struct MemoryStorage {
    entries: Vec<Vec<u8>>,
    hashes: Vec<Hash>,
    checkpoints: Vec<(u64, String)>,
}

impl LogStorage for MemoryStorage {
    fn size(&self) -> Result<u64, Error> {
        Ok(self.entries.len() as u64)
    }
    fn entry(&self, index: u64) -> Result<Vec<u8>, Error> {
        Ok(self.entries[index as usize].clone())
    }
    fn hash(&self, position: u64) -> Result<Hash, Error> {
        Ok(self.hashes[position as usize])
    }
    fn append(
        &mut self,
        first: u64,
        entries: &[&[u8]],
        hashes: &[(u64, Hash)],
    ) -> Result<(), Error> {
        assert_eq!(first, self.entries.len() as u64);
        for (position, hash) in hashes {
            assert_eq!(
                *position,
                self.hashes.len() as u64,
                "hashes arrive in order"
            );
            self.hashes.push(*hash);
        }
        self.entries
            .extend(entries.iter().map(|entry| entry.to_vec()));
        Ok(())
    }
    fn checkpoints(&self) -> Result<Vec<String>, Error> {
        Ok(self
            .checkpoints
            .iter()
            .map(|(_, note)| note.clone())
            .collect())
    }
    fn latest_checkpoint(&self) -> Result<Option<String>, Error> {
        Ok(self.checkpoints.last().map(|(_, note)| note.clone()))
    }
    fn checkpoint_at(&self, size: u64) -> Result<Option<String>, Error> {
        Ok(self
            .checkpoints
            .iter()
            .rev()
            .find(|(at, _)| *at == size)
            .map(|(_, note)| note.clone()))
    }
    fn add_checkpoint(&mut self, size: u64, note: &str) -> Result<(), Error> {
        self.checkpoints.push((size, note.to_owned()));
        Ok(())
    }
}

const ORIGIN: &str = "test.example/hosted";

fn signer() -> SignerKey {
    SignerKey::generate(ORIGIN, KeyType::Ed25519).unwrap()
}

fn hosted(signer: &SignerKey) -> HostedLog<MemoryStorage> {
    HostedLog::new(
        MemoryStorage::default(),
        signer.verifier(),
        Some(signer.clone()),
    )
    .unwrap()
}

fn entry(index: usize) -> Vec<u8> {
    format!("entry {index}").into_bytes()
}

/// Appends entries `from..to` as one batch to both logs.
fn append_both(directory: &mut Log, hosted: &mut HostedLog<MemoryStorage>, from: usize, to: usize) {
    let batch: Vec<Vec<u8>> = (from..to).map(entry).collect();
    let refs: Vec<&[u8]> = batch.iter().map(Vec::as_slice).collect();
    assert_eq!(
        TransparencyLog::append(directory, &refs).unwrap(),
        TransparencyLog::append(hosted, &refs).unwrap()
    );
}

#[test]
fn produces_the_same_checkpoints_and_proofs_as_the_directory_log() {
    let dir = tempfile::tempdir().unwrap();
    let signer = signer();
    let mut directory = Log::init(&dir.path().join("log"), ORIGIN, &signer).unwrap();
    let mut hosted = hosted(&signer);
    let mut size = 0;
    for batch in [1, 2, 5, 1, 8, 13] {
        append_both(&mut directory, &mut hosted, size, size + batch);
        size += batch;
        // Ed25519 signatures are deterministic: the same tree gives the same note.
        assert_eq!(
            TransparencyLog::checkpoint(&mut directory).unwrap(),
            TransparencyLog::checkpoint(&mut hosted).unwrap()
        );
    }
    let policy = TrustPolicy::new(signer.verifier()).unwrap();
    for index in [0, 1, 6, 29] {
        let proof = TransparencyLog::prove_inclusion(&mut hosted, index, None).unwrap();
        assert_eq!(
            proof.to_string(),
            TransparencyLog::prove_inclusion(&mut directory, index, None)
                .unwrap()
                .to_string()
        );
        proof
            .verify(&policy, Some(&entry(index as usize)))
            .expect("the inclusion proof verifies");
        assert!(proof.verify(&policy, Some(b"another entry")).is_err());
    }
    for (from, to) in [(1, 3), (3, 8), (9, 30), (8, 17)] {
        let proof = TransparencyLog::prove_consistency(&mut hosted, from, Some(to)).unwrap();
        assert_eq!(
            proof.to_string(),
            TransparencyLog::prove_consistency(&mut directory, from, Some(to))
                .unwrap()
                .to_string()
        );
    }
    let report = hosted.verify_all().unwrap();
    assert_eq!(report, directory.verify_all().unwrap());
    assert_eq!((report.size, report.checkpoints), (30, 6));
}

#[test]
fn a_proof_at_an_unsigned_size_is_refused() {
    let signer = signer();
    let mut hosted = hosted(&signer);
    TransparencyLog::append(&mut hosted, &[b"a".as_slice(), b"b", b"c"]).unwrap();
    TransparencyLog::checkpoint(&mut hosted).unwrap();
    TransparencyLog::append(&mut hosted, &[b"d".as_slice()]).unwrap();
    assert!(matches!(
        TransparencyLog::prove_inclusion(&mut hosted, 0, Some(2)),
        Err(Error::NoCheckpoint { size: 2 })
    ));
    assert!(matches!(
        TransparencyLog::prove_inclusion(&mut hosted, 0, Some(5)),
        Err(Error::SizeOutOfRange { .. })
    ));
    TransparencyLog::prove_inclusion(&mut hosted, 0, Some(3)).expect("a stored checkpoint");
    assert!(matches!(
        TransparencyLog::entry(&hosted, 4),
        Err(Error::IndexOutOfRange { index: 4, size: 4 })
    ));
}

fn filled() -> (SignerKey, HostedLog<MemoryStorage>) {
    let signer = signer();
    let mut hosted = hosted(&signer);
    for index in 0..7 {
        TransparencyLog::append(&mut hosted, &[entry(index).as_slice()]).unwrap();
        TransparencyLog::checkpoint(&mut hosted).unwrap();
    }
    hosted.verify_all().expect("untouched, it verifies");
    (signer, hosted)
}

#[test]
fn a_rewritten_entry_fails_verification() {
    let (signer, hosted) = filled();
    let mut storage = hosted.storage;
    storage.entries[3] = b"rewritten".to_vec();
    let hosted = HostedLog::new(storage, signer.verifier(), None).unwrap();
    assert!(matches!(hosted.verify_all(), Err(Error::StorageCorrupt(_))));
}

#[test]
fn a_rewritten_hash_fails_verification_and_blocks_signing() {
    let (signer, hosted) = filled();
    let mut storage = hosted.storage;
    // Node (level 2, index 0): part of the right edge the next root is built on.
    storage.hashes[6][0] ^= 1;
    let mut hosted = HostedLog::new(storage, signer.verifier(), Some(signer.clone())).unwrap();
    assert!(matches!(hosted.verify_all(), Err(Error::StorageCorrupt(_))));
    TransparencyLog::append(&mut hosted, &[b"more".as_slice()]).unwrap();
    assert!(matches!(
        TransparencyLog::checkpoint(&mut hosted),
        Err(Error::StorageCorrupt(_))
    ));
}

#[test]
fn a_checkpoint_by_another_key_or_for_another_tree_fails_verification() {
    let (signer, hosted) = filled();
    let mut forged = hosted.storage;
    let other = SignerKey::generate(ORIGIN, KeyType::Ed25519).unwrap();
    let root = merkle::root(
        &HostedTree {
            storage: &forged,
            size: 7,
        },
        7,
    )
    .unwrap();
    let note = Checkpoint::new(ORIGIN, 7, root)
        .unwrap()
        .sign(&other)
        .unwrap();
    forged.checkpoints.push((7, note.to_string()));
    let log = HostedLog::new(forged, signer.verifier(), None).unwrap();
    assert!(matches!(log.verify_all(), Err(Error::StorageCorrupt(_))));

    let mut wrong_root = log.storage;
    wrong_root.checkpoints.pop();
    let note = Checkpoint::new(ORIGIN, 7, [7; 32])
        .unwrap()
        .sign(&signer)
        .unwrap();
    wrong_root.checkpoints.push((7, note.to_string()));
    let log = HostedLog::new(wrong_root, signer.verifier(), None).unwrap();
    assert!(matches!(log.verify_all(), Err(Error::StorageCorrupt(_))));
}

#[test]
fn a_signer_that_is_not_the_verifier_key_is_refused() {
    let other = signer();
    assert!(matches!(
        HostedLog::new(MemoryStorage::default(), signer().verifier(), Some(other)),
        Err(Error::InvalidArgument(_))
    ));
}
