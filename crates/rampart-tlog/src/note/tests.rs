use proptest::prelude::*;

use super::*;
use crate::testing::{bit_flips, checkpoints, log_key, text, witness_key};

fn spec_example() -> (VerifierKey, String) {
    let example = &checkpoints()["spec_signed_note_example"];
    (
        VerifierKey::parse(text(&example["vkey"])).unwrap(),
        text(&example["note"]).to_owned(),
    )
}

#[test]
fn the_spec_example_verifies() {
    let (key, note) = spec_example();
    let parsed = Note::parse(note.as_bytes()).unwrap();
    assert_eq!(
        parsed.text(),
        text(&checkpoints()["spec_signed_note_example"]["expected_text"])
    );
    let verified = parsed.verify(std::slice::from_ref(&key)).unwrap();
    assert_eq!(verified.len(), 1);
    assert_eq!(
        (verified[0].name.as_str(), verified[0].key_id),
        ("example.com/foo", 0x530d903a)
    );
    assert_eq!(parsed.to_string(), note);
    assert_eq!(
        key.to_string(),
        text(&checkpoints()["spec_signed_note_example"]["vkey"])
    );
}

#[test]
fn test_keys_reproduce_the_vector_keys() {
    let vectors = checkpoints();
    let log = log_key();
    assert_eq!(log.verifier().to_string(), text(&vectors["log"]["vkey"]));
    assert_eq!(
        format!("{:08x}", log.key_id()),
        text(&vectors["log"]["key_id_hex"])
    );
    assert_eq!(
        hex::encode(log.verifier().public_key().as_bytes()),
        text(&vectors["log"]["public_key_hex"])
    );
    let witness = witness_key();
    assert_eq!(
        witness.verifier().to_string(),
        text(&vectors["witness"]["vkey"])
    );
    assert_eq!(
        format!("{:08x}", witness.key_id()),
        text(&vectors["witness"]["key_id_hex"])
    );
}

#[test]
fn signing_reproduces_the_vector_signatures() {
    let vectors = checkpoints();
    let body = "example.com/rampart-test-log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n";
    let mut note = Note::new(body).unwrap();
    note.sign(&log_key()).unwrap();
    assert_eq!(note.to_string(), text(&vectors["checkpoint_size8"]));
    note.cosign(&witness_key(), 1_700_000_000).unwrap();
    assert_eq!(
        note.to_string(),
        text(&vectors["checkpoint_size8_cosigned"])
    );
    let verified = note
        .verify(&[log_key().verifier(), witness_key().verifier()])
        .unwrap();
    assert_eq!(verified.len(), 2);
    assert_eq!(verified[1].timestamp, Some(1_700_000_000));
    assert_eq!(verified[1].key_type, KeyType::Cosignature);
}

#[test]
fn keys_sign_only_what_their_type_signs() {
    let mut note = Note::new("text\n").unwrap();
    assert!(matches!(
        note.sign(&witness_key()),
        Err(Error::WrongKeyType { .. })
    ));
    assert!(matches!(
        note.cosign(&log_key(), 1),
        Err(Error::WrongKeyType { .. })
    ));
    assert!(matches!(
        note.cosign(&witness_key(), u64::MAX),
        Err(Error::InvalidTimestamp(_))
    ));
    assert!(note.signatures().is_empty());
}

#[test]
fn unknown_keys_are_ignored_and_known_bad_signatures_reject() {
    let (spec_key, spec_note) = spec_example();
    let other = SignerKey::generate("example.com/other", KeyType::Ed25519).unwrap();
    let mut note = Note::parse(spec_note.as_bytes()).unwrap();
    note.sign(&other).unwrap();
    // An unknown key's line is ignored; the known one still verifies.
    assert_eq!(
        note.verify(std::slice::from_ref(&spec_key)).unwrap().len(),
        1
    );
    assert_eq!(
        note.verify(&[spec_key.clone(), other.verifier()])
            .unwrap()
            .len(),
        2
    );
    // Only unknown keys: unsigned.
    assert!(matches!(
        note.verify(&[log_key().verifier()]),
        Err(Error::Unsigned { .. })
    ));
    // Same name, other key ID: still unknown, ignored.
    let same_name = SignerKey::generate("example.com/foo", KeyType::Ed25519).unwrap();
    assert!(matches!(
        note.verify(&[same_name.verifier()]),
        Err(Error::Unsigned { .. })
    ));
    // A known key whose signature fails rejects the note even if another verifies.
    let forged = spec_note.replace("Uw2QOkn8", "Uw2QOkn9");
    let forged = Note::parse(forged.as_bytes()).unwrap();
    assert!(matches!(
        forged.verify(std::slice::from_ref(&spec_key)),
        Err(Error::BadSignature {
            key_id: 0x530d903a,
            ..
        })
    ));
    // A repeated signature line counts once.
    let mut repeated = Note::parse(spec_note.as_bytes()).unwrap();
    repeated.signatures.push(repeated.signatures[0].clone());
    assert_eq!(repeated.verify(&[spec_key]).unwrap().len(), 1);
}

#[test]
fn malformed_notes_are_errors() {
    let sig = "\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
    let cases: Vec<(String, &str)> = vec![
        (format!("text\n{sig}"), "no blank line"),
        ("text\n\n".to_owned(), "no signature lines"),
        (
            format!("text\n\n{}", sig.trim_end()),
            "does not end with a newline",
        ),
        (
            format!("text\n\n{}", sig.replace('\u{2014}', "-")),
            "em dash",
        ),
        (format!("te\txt\n\n{sig}"), "control character"),
        (
            format!("text\n\n{}", sig.replace(" Uw2", "Uw2")),
            "no signature",
        ),
        (
            format!("text\n\n{}", sig.replace("foo", "f+oo")),
            "plus sign",
        ),
        (
            format!("text\n\n{}", sig.replace("aQM=", "aQN=")),
            "canonical base64",
        ),
        (
            "text\n\n\u{2014} name AAAAAA==\n".to_owned(),
            "shorter than 5 bytes",
        ),
        (format!("text\n\n{}", sig.repeat(101)), "more than 100"),
    ];
    for (note, reason) in cases {
        match Note::parse(note.as_bytes()) {
            Err(Error::Malformed {
                format: Format::SignedNote,
                reason: found,
                ..
            }) => {
                assert!(found.contains(reason), "{note:?}: {found}")
            }
            other => panic!("{note:?}: {other:?}"),
        }
    }
    assert!(Note::parse(b"text\xff\n\n").is_err());
    assert!(Note::parse(&vec![b'a'; MAX_NOTE_LEN + 1]).is_err());
    assert!(Note::parse(format!("text\n\n{}", sig.repeat(100)).as_bytes()).is_ok());
    assert!(Note::new("no newline").is_err());
    assert!(Note::new("bell\x07\n").is_err());
    // Empty lines inside the text are allowed: the last blank line splits.
    let note = Note::parse(format!("a\n\nb\n\n{sig}").as_bytes()).unwrap();
    assert_eq!(note.text(), "a\n\nb\n");
}

#[test]
fn key_texts_round_trip_and_are_checked() {
    let key = SignerKey::generate("example.com/log", KeyType::Ed25519).unwrap();
    let private = key.to_private_text();
    assert!(private.starts_with("PRIVATE+KEY+example.com/log+"));
    let parsed = SignerKey::parse(&format!("{private}\n")).unwrap();
    assert_eq!(parsed.verifier(), key.verifier());
    assert_eq!(
        VerifierKey::parse(&key.verifier().to_string()).unwrap(),
        key.verifier()
    );
    let secret = private.splitn(5, '+').last().unwrap();
    assert!(!format!("{key:?}").contains(secret));
    let wrong_id = private.replacen(&format!("{:08x}", key.key_id()), "00000000", 1);
    let error = SignerKey::parse(&wrong_id).unwrap_err().to_string();
    assert!(error.contains("key ID does not match"), "{error}");
    assert!(!error.contains(secret));
    assert!(SignerKey::parse(&private.replace("PRIVATE+KEY", "PUBLIC+KEY")).is_err());
    assert!(SignerKey::generate("bad name", KeyType::Ed25519).is_err());
    let (spec_key, _) = spec_example();
    let vkey = spec_key.to_string();
    for bad in [
        vkey.replace("530d903a", "530d903b"),
        vkey.replace("530d903a", "+30d903a"),
        vkey.replace("+Aeky", "+Beky"),
        vkey.replace("+Aeky", "+Aekz"),
        "example.com/foo+530d903a".to_owned(),
        format!("{vkey}AAAA"),
        "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k".to_owned(),
    ] {
        assert!(VerifierKey::parse(&bad).is_err(), "{bad}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        crate::fuzz::note(&data);
        let _ = VerifierKey::parse(&String::from_utf8_lossy(&data));
        let _ = SignerKey::parse(&String::from_utf8_lossy(&data));
    }

    #[test]
    fn mutated_notes_never_panic(position in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut data = text(&checkpoints()["checkpoint_size8_cosigned"]).as_bytes().to_vec();
        let at = position.index(data.len());
        data[at] = byte;
        crate::fuzz::note(&data);
    }
}

#[test]
fn every_bit_of_a_signed_note_matters() {
    let key = log_key().verifier();
    let note = text(&checkpoints()["checkpoint_size8"]).to_owned();
    for mutated in bit_flips(note.as_bytes()) {
        let verified =
            Note::parse(&mutated).and_then(|note| note.verify(std::slice::from_ref(&key)));
        assert!(verified.is_err(), "{:?}", String::from_utf8_lossy(&mutated));
    }
}
