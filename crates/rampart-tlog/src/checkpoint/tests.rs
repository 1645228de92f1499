use proptest::prelude::*;

use super::*;
use crate::testing::{
    checkpoints, hash, log_key, log_policy, rfc6962, text, witness_key, witnessed_policy,
};

#[test]
fn vector_checkpoints_parse_and_open() {
    let vectors = checkpoints();
    let roots = &rfc6962()["roots_by_size"];
    for (name, size) in [
        ("checkpoint_size8", 8),
        ("checkpoint_size6", 6),
        ("checkpoint_size8_cosigned", 8),
    ] {
        let opened = log_policy()
            .open_checkpoint(text(&vectors[name]).as_bytes())
            .unwrap();
        assert_eq!(opened.checkpoint.origin(), "example.com/rampart-test-log");
        assert_eq!(opened.checkpoint.size(), size);
        assert_eq!(
            *opened.checkpoint.root(),
            hash(text(&roots[size.to_string()]))
        );
        assert!(opened.checkpoint.extensions().is_empty());
        assert_eq!(
            opened.note.to_string(),
            text(&vectors[name]),
            "{name} is kept verbatim"
        );
        assert!(
            opened.cosignatures.is_empty(),
            "witnesses not in the policy are ignored"
        );
    }
}

#[test]
fn cosignatures_are_verified_and_counted() {
    let vectors = checkpoints();
    let cosigned = text(&vectors["checkpoint_size8_cosigned"]);
    let opened = witnessed_policy()
        .open_checkpoint(cosigned.as_bytes())
        .unwrap();
    assert_eq!(opened.cosignatures.len(), 1);
    assert_eq!(
        opened.cosignatures[0].name,
        "example.com/rampart-test-witness"
    );
    assert_eq!(
        opened.cosignatures[0].timestamp,
        Some(vectors["witness"]["timestamp"].as_u64().unwrap())
    );
    let uncosigned = text(&vectors["checkpoint_size8"]).as_bytes();
    assert!(matches!(
        witnessed_policy().open_checkpoint(uncosigned),
        Err(Error::WitnessQuorum { have: 0, need: 1 })
    ));
    // A cosignature over another timestamp than the one it carries.
    let mut note = Note::parse(uncosigned).unwrap();
    note.cosign(&witness_key(), 1_700_000_001).unwrap();
    let cosigned = note.to_string();
    let (head, encoded) = cosigned.trim_end().rsplit_once(' ').unwrap();
    let mut decoded = BASE64.decode(encoded).unwrap();
    decoded[11] ^= 1; // the timestamp's last byte, after the 4-byte key ID
    let forged = format!("{head} {}\n", BASE64.encode(&decoded)).into_bytes();
    assert!(
        witnessed_policy()
            .open_checkpoint(cosigned.as_bytes())
            .is_ok()
    );
    assert!(matches!(
        witnessed_policy().open_checkpoint(&forged),
        Err(Error::BadSignature { .. })
    ));
    // The witness key cannot stand in for the log key.
    let mut witness_only = Note::new(Note::parse(uncosigned).unwrap().text()).unwrap();
    witness_only.cosign(&witness_key(), 5).unwrap();
    assert!(matches!(
        witnessed_policy().open_checkpoint(witness_only.to_string().as_bytes()),
        Err(Error::Unsigned { .. })
    ));
}

#[test]
fn policies_check_key_types_origin_and_threshold() {
    assert!(matches!(
        TrustPolicy::new(witness_key().verifier()),
        Err(Error::WrongKeyType { .. })
    ));
    assert!(
        log_policy()
            .with_witnesses(vec![log_key().verifier()], 1)
            .is_err()
    );
    assert!(
        log_policy()
            .with_witnesses(vec![witness_key().verifier()], 2)
            .is_err()
    );
    let vectors = checkpoints();
    let checkpoint = text(&vectors["checkpoint_size8"]).as_bytes();
    let elsewhere = log_policy().with_origin("example.com/other-log");
    assert!(matches!(
        elsewhere.open_checkpoint(checkpoint),
        Err(Error::OriginMismatch { .. })
    ));
    // A log whose key name is not its origin signs checkpoints naming the origin.
    let key = SignerKey::generate("sum.example", KeyType::Ed25519).unwrap();
    let note = Checkpoint::new("go.sum database tree", 3, [7; 32])
        .unwrap()
        .sign(&key)
        .unwrap();
    let policy = TrustPolicy::new(key.verifier()).unwrap();
    assert!(policy.open_checkpoint(note.to_string().as_bytes()).is_err());
    let opened = policy
        .with_origin("go.sum database tree")
        .open_checkpoint(note.to_string().as_bytes())
        .unwrap();
    assert_eq!(opened.checkpoint.size(), 3);
}

#[test]
fn checkpoint_text_round_trips_with_extensions() {
    let text = "example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\nextension one\nextension two\n";
    let checkpoint = Checkpoint::parse(text).unwrap();
    assert_eq!(checkpoint.size(), 0);
    assert_eq!(*checkpoint.root(), crate::merkle::empty_root());
    assert_eq!(checkpoint.extensions(), ["extension one", "extension two"]);
    assert_eq!(checkpoint.to_string(), text);
}

#[test]
fn malformed_checkpoints_are_errors() {
    let root = "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=";
    for bad in [
        format!("origin\n8\n{root}"),
        format!("\n8\n{root}\n"),
        format!("origin\n08\n{root}\n"),
        format!("origin\n-8\n{root}\n"),
        format!("origin\n+8\n{root}\n"),
        format!("origin\n 8\n{root}\n"),
        format!("origin\n18446744073709551616\n{root}\n"),
        format!("origin\n{}\n{root}\n", MAX_TREE_SIZE + 1),
        "origin\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyh=\n".to_owned(),
        "origin\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQy=\n".to_owned(),
        "origin\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg\n".to_owned(),
        "origin\n8\n".to_owned(),
        format!("origin\n8\n{root}\n\n"),
        format!("origin\n8\n{root}\nbad\textension\n"),
    ] {
        assert!(
            matches!(
                Checkpoint::parse(&bad),
                Err(Error::Malformed {
                    format: Format::Checkpoint,
                    ..
                })
            ),
            "{bad:?}"
        );
    }
    assert!(Checkpoint::new("", 1, [0; 32]).is_err());
    assert!(Checkpoint::new("two\nlines", 1, [0; 32]).is_err());
    assert!(Checkpoint::new("origin", MAX_TREE_SIZE + 1, [0; 32]).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        crate::fuzz::checkpoint(&data);
    }

    #[test]
    fn mutated_checkpoints_never_panic(position in any::<prop::sample::Index>(), byte in any::<u8>()) {
        for base in ["checkpoint_size8_cosigned", "checkpoint_size6"] {
            let mut data = text(&checkpoints()[base]).as_bytes().to_vec();
            let at = position.index(data.len());
            data[at] = byte;
            crate::fuzz::checkpoint(&data);
            crate::fuzz::checkpoint(&data[..data.iter().position(|&b| b == b'\n' ).unwrap_or(0)]);
        }
    }

    #[test]
    fn formatted_checkpoints_parse_back(origin in "[a-z./]{1,30}", size in 0..=MAX_TREE_SIZE, root in any::<[u8; 32]>()) {
        let checkpoint = Checkpoint::new(&origin, size, root).unwrap();
        prop_assert_eq!(Checkpoint::parse(&checkpoint.to_string()).unwrap(), checkpoint);
    }
}
