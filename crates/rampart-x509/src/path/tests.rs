use std::time::{Duration, SystemTime};

use proptest::prelude::*;

use super::*;
use crate::parse_certificates;

/// The model-signing reference PKI (all P-256).
fn pki(name: &str) -> Certificate {
    let path = format!(
        "{}/../../../shared/fixtures/model-signing/pki/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    single(&std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}")))
}

/// The edge cases made by `tests/fixtures/generate.py`.
fn fixtures(name: &str) -> Vec<Certificate> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    parse_certificates(&bytes).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn fixture(name: &str) -> Certificate {
    let mut certificates = fixtures(name);
    assert_eq!(certificates.len(), 1, "{name}");
    certificates.remove(0)
}

fn single(bytes: &[u8]) -> Certificate {
    let mut certificates = parse_certificates(bytes).expect("parses");
    assert_eq!(certificates.len(), 1);
    certificates.remove(0)
}

fn at_now() -> PathPolicy {
    PathPolicy {
        time: ValidationTime::At(SystemTime::now()),
        identities: Vec::new(),
    }
}

fn requiring(identities: &[&str]) -> PathPolicy {
    PathPolicy {
        time: ValidationTime::LeafNotBefore,
        identities: identities.iter().map(|value| (*value).to_owned()).collect(),
    }
}

fn subjects(path: &VerifiedPath) -> Vec<String> {
    path.chain.iter().map(Certificate::subject).collect()
}

/// Checks `leaf` under `root.pem` with `intermediates` at the leaf's notBefore.
fn under_root(leaf: &str, intermediates: &[&str]) -> Result<VerifiedPath, PathError> {
    let intermediates: Vec<Certificate> = intermediates
        .iter()
        .flat_map(|name| fixtures(name))
        .collect();
    verify_path(
        &fixture(leaf),
        &intermediates,
        &[fixture("root.pem")],
        &PathPolicy::default(),
    )
}

/// Checks `leaf` directly under the anchor `root`.
fn under(root: &str, leaf: &str) -> Result<VerifiedPath, PathError> {
    verify_path(
        &fixture(leaf),
        &[],
        &[fixture(root)],
        &PathPolicy::default(),
    )
}

#[test]
fn reference_chain_verifies_at_leaf_not_before_and_now() {
    let (leaf, intermediate, root) = (
        pki("leaf.pem"),
        pki("intermediate-ca.pem"),
        pki("root-ca.pem"),
    );
    for policy in [PathPolicy::default(), at_now()] {
        let path = verify_path(
            &leaf,
            std::slice::from_ref(&intermediate),
            std::slice::from_ref(&root),
            &policy,
        )
        .expect("the reference chain is valid");
        assert_eq!(
            path.chain,
            vec![leaf.clone(), intermediate.clone(), root.clone()]
        );
        assert!(!path.leaf_expired);
        assert_eq!(path.matched_identity, None);
    }
}

#[test]
fn expired_leaf_verifies_at_its_not_before_but_not_now() {
    let (leaf, intermediate, root) = (
        pki("leaf-expired.pem"),
        pki("intermediate-ca.pem"),
        pki("root-ca.pem"),
    );
    let path = verify_path(
        &leaf,
        std::slice::from_ref(&intermediate),
        std::slice::from_ref(&root),
        &PathPolicy::default(),
    )
    .expect("valid at its notBefore, as model_signing checks it");
    assert!(path.leaf_expired);
    let error = verify_path(&leaf, &[intermediate], &[root], &at_now()).expect_err("expired now");
    assert!(
        matches!(&error, PathError::Expired { subject, not_after, .. }
            if subject.contains("model signer (expired)") && not_after == "2021-01-01T00:00:00Z"),
        "{error}"
    );
}

#[test]
fn leaf_without_signing_usage_is_refused() {
    let error = verify_path(
        &pki("leaf-no-signing-usage.pem"),
        &[pki("intermediate-ca.pem")],
        &[pki("root-ca.pem")],
        &PathPolicy::default(),
    )
    .expect_err("keyEncipherment + serverAuth cannot sign");
    assert!(
        matches!(&error, PathError::NoSigningUsage { key_usage, extended_key_usage, .. }
            if key_usage == "KeyEncipherment" && extended_key_usage.contains("1.3.6.1.5.5.7.3.1")),
        "{error}"
    );
}

#[test]
fn unrelated_root_is_untrusted() {
    let error = verify_path(
        &pki("leaf.pem"),
        &[pki("intermediate-ca.pem")],
        &[pki("other-root-ca.pem")],
        &PathPolicy::default(),
    )
    .expect_err("other root");
    assert_eq!(
        error,
        PathError::UntrustedIssuer {
            subject: "CN=rampart test intermediate CA,O=rampart test PKI".to_owned(),
            issuer: "CN=rampart test root CA,O=rampart test PKI".to_owned(),
        }
    );
    assert!(
        error.to_string().contains("neither a given trust anchor"),
        "{error}"
    );
}

#[test]
fn missing_intermediate_is_untrusted() {
    let error = verify_path(
        &pki("leaf.pem"),
        &[],
        &[pki("root-ca.pem")],
        &PathPolicy::default(),
    )
    .expect_err("no intermediate");
    assert!(
        matches!(&error, PathError::UntrustedIssuer { subject, issuer }
            if subject.contains("model signer") && issuer.contains("intermediate CA")),
        "{error}"
    );
}

#[test]
fn no_anchors_is_an_error() {
    let error = verify_path(
        &pki("leaf.pem"),
        &[pki("intermediate-ca.pem")],
        &[],
        &PathPolicy::default(),
    );
    assert_eq!(error.expect_err("no anchors"), PathError::NoAnchors);
}

#[test]
fn shuffled_duplicated_and_junk_intermediates_are_fine() {
    let intermediate = pki("intermediate-ca.pem");
    let junk = vec![
        pki("other-root-ca.pem"),
        pki("leaf-expired.pem"),
        intermediate.clone(),
        pki("root-ca.pem"),
        intermediate.clone(),
        pki("leaf.pem"),
    ];
    let path = verify_path(
        &pki("leaf.pem"),
        &junk,
        &[pki("root-ca.pem")],
        &PathPolicy::default(),
    )
    .expect("the path is there");
    assert_eq!(path.chain.len(), 3);
    assert_eq!(path.chain.get(1), Some(&intermediate));
}

#[test]
fn an_intermediate_given_as_anchor_ends_the_path() {
    let anchors = [pki("root-ca.pem"), pki("intermediate-ca.pem")];
    let path = verify_path(
        &pki("leaf.pem"),
        &[pki("intermediate-ca.pem")],
        &anchors,
        &PathPolicy::default(),
    )
    .expect("cert-chain-given-as-root+intermediate");
    assert_eq!(
        path.chain,
        vec![pki("leaf.pem"), pki("intermediate-ca.pem")]
    );
    let only_intermediate = verify_path(
        &pki("leaf.pem"),
        &[],
        &[pki("intermediate-ca.pem")],
        &PathPolicy::default(),
    );
    assert!(only_intermediate.is_ok(), "anchors are trusted as given");
}

#[test]
fn identity_policy_matches_the_common_name_or_reports_what_was_found() {
    let chain = [pki("intermediate-ca.pem")];
    let anchors = [pki("root-ca.pem")];
    let path = verify_path(
        &pki("leaf.pem"),
        &chain,
        &anchors,
        &requiring(&["x@example.com", "rampart test model signer"]),
    )
    .expect("CN matches");
    assert_eq!(
        path.matched_identity,
        Some(Identity::CommonName("rampart test model signer".to_owned()))
    );

    let error = verify_path(
        &pki("leaf.pem"),
        &chain,
        &anchors,
        &requiring(&["rampart test model"]),
    )
    .expect_err("only exact matches count");
    assert_eq!(
        error,
        PathError::IdentityMismatch {
            subject: "CN=rampart test model signer,O=rampart test PKI".to_owned(),
            wanted: vec!["rampart test model".to_owned()],
            found: vec!["cn:rampart test model signer".to_owned()],
        }
    );
    assert!(
        error
            .to_string()
            .contains("wanted: rampart test model; found: cn:rampart test model signer"),
        "{error}"
    );
}

#[test]
fn identity_policy_matches_subject_alt_names() {
    let leaf = fixture("leaf-san.pem");
    let anchors = [fixture("root.pem")];
    for (wanted, expected) in [
        (
            "signer@example.com",
            Identity::Email("signer@example.com".to_owned()),
        ),
        (
            "https://example.com/signer",
            Identity::Uri("https://example.com/signer".to_owned()),
        ),
        (
            "signer.example.com",
            Identity::Dns("signer.example.com".to_owned()),
        ),
    ] {
        let path = verify_path(&leaf, &[], &anchors, &requiring(&[wanted])).expect(wanted);
        assert_eq!(path.matched_identity, Some(expected));
    }
    let error = verify_path(
        &leaf,
        &[],
        &anchors,
        &requiring(&["192.0.2.1", "SIGNER@example.com"]),
    )
    .expect_err("IP addresses are not identities and matching is exact");
    assert!(
        matches!(&error, PathError::IdentityMismatch { found, .. } if found.len() == 4),
        "{error}"
    );
}

#[test]
fn tampered_signatures_and_signed_bytes_fail() {
    let (leaf, intermediate, root) = (
        pki("leaf.pem"),
        pki("intermediate-ca.pem"),
        pki("root-ca.pem"),
    );
    let mut signature_flipped = leaf.der().to_vec();
    if let Some(last) = signature_flipped.last_mut() {
        *last ^= 0x01;
    }
    let mut name_flipped = leaf.der().to_vec();
    let subject_at = name_flipped
        .windows(6)
        .rposition(|window| window == b"signer")
        .expect("CN in DER");
    if let Some(byte) = name_flipped.get_mut(subject_at) {
        *byte = b'S';
    }
    for tampered in [signature_flipped, name_flipped] {
        let tampered = Certificate::from_der(&tampered).expect("still well-formed");
        let error = verify_path(
            &tampered,
            std::slice::from_ref(&intermediate),
            std::slice::from_ref(&root),
            &PathPolicy::default(),
        )
        .expect_err("tampered");
        assert!(
            matches!(&error, PathError::BadSignature { issuer, detail, .. }
                if issuer.contains("intermediate CA") && detail == "ECDSA with SHA-256 by a P-256 key"),
            "{error}"
        );
    }
    let mut intermediate_flipped = intermediate.der().to_vec();
    if let Some(last) = intermediate_flipped.last_mut() {
        *last ^= 0x01;
    }
    let intermediate_flipped = Certificate::from_der(&intermediate_flipped).expect("well-formed");
    let error = verify_path(
        &leaf,
        &[intermediate_flipped],
        &[root],
        &PathPolicy::default(),
    )
    .expect_err("tampered CA");
    assert!(
        matches!(&error, PathError::BadSignature { subject, issuer, .. }
            if subject.contains("intermediate CA") && issuer.contains("root CA")),
        "{error}"
    );
}

#[test]
fn other_key_types_and_hashes_verify() {
    for (root, leaf) in [
        ("root-p384.pem", "leaf-by-p384.pem"),
        ("root-p521.pem", "leaf-by-p521.pem"),
        ("root-ed25519.pem", "leaf-by-ed25519.pem"),
        ("root-rsa.pem", "leaf-by-rsa.pem"),
        ("root-rsa-pss.pem", "leaf-by-rsa-pss.pem"),
        ("root.pem", "leaf-sha512.pem"),
    ] {
        let path = under(root, leaf).unwrap_or_else(|error| panic!("{leaf}: {error}"));
        assert_eq!(path.chain.len(), 2, "{leaf}");
    }
}

#[test]
fn a_weak_rsa_issuer_key_is_unsupported() {
    let error = under("root-rsa1024.pem", "leaf-by-rsa1024.pem").expect_err("1024-bit RSA");
    assert!(
        matches!(&error, PathError::UnsupportedAlgorithm { what, .. } if what.contains("1024 bits")),
        "{error}"
    );
}

#[test]
fn issuers_must_be_cas_with_cert_sign_and_room_in_their_path_length() {
    let error =
        under_root("leaf-under-no-bc.pem", &["ca-no-bc.pem"]).expect_err("no basicConstraints");
    assert!(
        matches!(&error, PathError::NotCa { issuer, reason, .. }
            if issuer.contains("ca without basic constraints") && reason.contains("no basicConstraints")),
        "{error}"
    );
    let error = under_root("leaf-under-no-certsign.pem", &["ca-no-certsign.pem"])
        .expect_err("no keyCertSign");
    assert!(
        matches!(&error, PathError::NoKeyCertSign { issuer, .. } if issuer.contains("without keyCertSign")),
        "{error}"
    );
    let error = under_root(
        "leaf-under-pathlen0.pem",
        &["ca-under-pathlen0.pem", "ca-pathlen0.pem"],
    )
    .expect_err("pathlen 0 violated");
    assert_eq!(
        error,
        PathError::PathLenExceeded {
            issuer: "CN=ca pathlen 0,O=rampart x509 tests".to_owned(),
            path_len: 0,
            found: 1
        }
    );
}

#[test]
fn anchors_are_held_to_their_own_constraints() {
    let error =
        under("root-not-ca.pem", "leaf-by-not-ca-root.pem").expect_err("anchor says cA FALSE");
    assert!(
        matches!(&error, PathError::NotCa { reason, .. } if reason.contains("cA FALSE")),
        "{error}"
    );
    let error = verify_path(
        &fixture("leaf-under-root-pathlen0.pem"),
        &[fixture("ca-under-root-pathlen0.pem")],
        &[fixture("root-pathlen0.pem")],
        &PathPolicy::default(),
    )
    .expect_err("anchor pathlen 0");
    assert!(
        matches!(&error, PathError::PathLenExceeded { issuer, .. } if issuer.contains("root pathlen 0")),
        "{error}"
    );
}

#[test]
fn every_certificate_must_be_valid_at_the_validation_time() {
    let error = under_root("leaf-under-expired-ca.pem", &["ca-expired-2020.pem"])
        .expect_err("CA expired in 2020");
    assert_eq!(
        error,
        PathError::Expired {
            subject: "CN=ca expired 2020,O=rampart x509 tests".to_owned(),
            not_after: "2020-01-01T00:00:00Z".to_owned(),
            at: "2025-01-01T00:00:00Z (the signing certificate's notBefore)".to_owned(),
        }
    );
    assert!(
        under_root("leaf-not-yet-valid.pem", &[]).is_ok(),
        "valid at its own notBefore"
    );
    let error = verify_path(
        &fixture("leaf-not-yet-valid.pem"),
        &[],
        &[fixture("root.pem")],
        &at_now(),
    )
    .expect_err("not valid before 2040");
    assert!(
        matches!(&error, PathError::NotYetValid { not_before, .. } if not_before == "2040-01-01T00:00:00Z"),
        "{error}"
    );
    let long_ago = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    let policy = PathPolicy {
        time: ValidationTime::At(long_ago),
        identities: Vec::new(),
    };
    let error = verify_path(
        &fixture("leaf-san.pem"),
        &[],
        &[fixture("root.pem")],
        &policy,
    )
    .expect_err("2001");
    assert!(
        error
            .to_string()
            .contains("the validation time is 2001-09-09T01:46:40Z"),
        "{error}"
    );
}

#[test]
fn unknown_critical_extensions_fail_and_non_critical_ones_do_not() {
    let error =
        under_root("leaf-unknown-critical.pem", &[]).expect_err("critical private extension");
    assert!(
        matches!(&error, PathError::UnknownCriticalExtension { oid, .. } if oid == "1.3.6.1.4.1.55555.1"),
        "{error}"
    );
    assert!(under_root("leaf-unknown-noncritical.pem", &[]).is_ok());
    let error = under_root(
        "leaf-under-name-constraints.pem",
        &["ca-name-constraints.pem"],
    )
    .expect_err("nameConstraints are not enforced, so refused");
    assert!(
        matches!(&error, PathError::UnknownCriticalExtension { subject, oid }
            if subject.contains("name constraints") && oid.contains("2.5.29.30")),
        "{error}"
    );
}

#[test]
fn signing_usage_follows_the_reference_rule_plus_eku_restriction() {
    let error = under_root("leaf-tls-eku.pem", &[]).expect_err("serverAuth only");
    assert!(
        matches!(error, PathError::CodeSigningNotPermitted { .. }),
        "{error}"
    );
    let error = under_root("leaf-no-usage-ext.pem", &[]).expect_err("no usage at all");
    assert!(
        matches!(&error, PathError::NoSigningUsage { key_usage, extended_key_usage, .. }
            if key_usage == "absent" && extended_key_usage == "absent"),
        "{error}"
    );
    for allowed in [
        "leaf-any-eku.pem",
        "leaf-eku-only.pem",
        "leaf-ke-codesigning.pem",
    ] {
        assert!(under_root(allowed, &[]).is_ok(), "{allowed}");
    }
}

#[test]
fn same_named_impostor_intermediate_is_skipped() {
    let path = under_root(
        "leaf-under-intermediate.pem",
        &["intermediate-twin.pem", "intermediate.pem"],
    )
    .expect("the real intermediate is found after the twin");
    assert_eq!(path.chain.get(1), Some(&fixture("intermediate.pem")));
    let error = under_root("leaf-under-intermediate.pem", &["intermediate-twin.pem"])
        .expect_err("only the twin");
    assert!(matches!(error, PathError::BadSignature { .. }), "{error}");
}

#[test]
fn the_most_advanced_failure_is_reported() {
    // The twin fails on its signature; the expired twin's signature verifies and it fails
    // afterwards, on its validity: that is what the user needs to hear about, whatever
    // the order the candidates come in.
    for order in [
        ["intermediate-twin.pem", "intermediate-expired-twin.pem"],
        ["intermediate-expired-twin.pem", "intermediate-twin.pem"],
    ] {
        let error =
            under_root("leaf-under-intermediate.pem", &order).expect_err("no valid intermediate");
        assert!(
            matches!(&error, PathError::Expired { not_after, .. } if not_after.starts_with("2020")),
            "{error}"
        );
    }
}

#[test]
fn issuer_names_match_across_case_and_string_type() {
    assert!(under_root("leaf-issuer-name-variant.pem", &[]).is_ok());
}

#[test]
fn cross_signed_loops_terminate() {
    let error =
        under_root("leaf-under-loop.pem", &["loop-cas.pem"]).expect_err("no anchor in the loop");
    assert!(
        matches!(&error, PathError::UntrustedIssuer { subject, .. } if subject.contains("loop ca")),
        "{error}"
    );
}

#[test]
fn path_length_is_capped() {
    let path =
        under_root("leaf-under-chain-6.pem", &["long-chain-cas.pem"]).expect("8 certificates fit");
    assert_eq!(path.chain.len(), MAX_PATH_CERTIFICATES);
    let error =
        under_root("leaf-under-chain-8.pem", &["long-chain-cas.pem"]).expect_err("10 do not");
    assert!(
        matches!(
            error,
            PathError::PathTooLong {
                max: MAX_PATH_CERTIFICATES,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn a_signing_certificate_given_as_anchor_is_trusted_as_is() {
    let signer = fixture("self-signed-signer.pem");
    let path = verify_path(
        &signer,
        &[],
        std::slice::from_ref(&signer),
        &PathPolicy::default(),
    )
    .expect("pinned");
    assert_eq!(subjects(&path), vec![signer.subject()]);
    let error = verify_path(&signer, &[], &[fixture("root.pem")], &PathPolicy::default())
        .expect_err("not pinned");
    assert!(
        matches!(error, PathError::UntrustedIssuer { .. }),
        "{error}"
    );
}

#[test]
fn many_same_named_candidates_hit_the_search_limit() {
    let twin = fixture("intermediate-twin.pem");
    let serial = twin.serial().to_vec();
    let serial_at = twin
        .der()
        .windows(serial.len())
        .position(|window| window == serial)
        .expect("serial in DER");
    let last_serial_byte = serial_at + serial.len() - 1;
    let impostors: Vec<Certificate> = (0..=u8::try_from(MAX_SIGNATURE_CHECKS).expect("small"))
        .map(|index| {
            let mut der = twin.der().to_vec();
            der[last_serial_byte] = index;
            Certificate::from_der(&der).expect("still well-formed")
        })
        .collect();
    let leaf = fixture("leaf-under-intermediate.pem");
    let error = verify_path(
        &leaf,
        &impostors,
        &[fixture("root.pem")],
        &PathPolicy::default(),
    )
    .expect_err("limit");
    assert_eq!(
        error,
        PathError::SearchLimit {
            max: MAX_SIGNATURE_CHECKS
        }
    );
}

/// Parses `data` and validates whatever it holds: first certificate as leaf, the rest as
/// intermediates, the last as anchor. Also what the `x509_parse` fuzz target does.
fn exercise(data: &[u8]) {
    let Ok(certificates) = parse_certificates(data) else {
        return;
    };
    for certificate in &certificates {
        let _ = (
            certificate.subject(),
            certificate.issuer(),
            certificate.serial_hex(),
            certificate.identities(),
        );
    }
    if let (Some(leaf), Some(anchor)) = (certificates.first(), certificates.last()) {
        let rest = certificates.get(1..).unwrap_or_default();
        let _ = verify_path(
            leaf,
            rest,
            std::slice::from_ref(anchor),
            &PathPolicy::default(),
        );
        let _ = verify_path(leaf, rest, std::slice::from_ref(anchor), &at_now());
    }
}

fn reference_chain_pem() -> Vec<u8> {
    ["leaf.pem", "intermediate-ca.pem", "root-ca.pem"]
        .iter()
        .flat_map(|name| {
            let path = format!(
                "{}/../../../shared/fixtures/model-signing/pki/{name}",
                env!("CARGO_MANIFEST_DIR")
            );
            std::fs::read(path).expect("fixture")
        })
        .collect()
}

#[test]
fn the_exercise_helper_reaches_path_validation() {
    let certificates = parse_certificates(&reference_chain_pem()).expect("chain parses");
    assert_eq!(certificates.len(), 3);
    exercise(&reference_chain_pem());
}

#[test]
fn fuzz_corpus_replays_without_panic() {
    let corpus = format!(
        "{}/../../fuzz/corpus/x509_parse",
        env!("CARGO_MANIFEST_DIR")
    );
    let entries = std::fs::read_dir(&corpus).unwrap_or_else(|error| panic!("{corpus}: {error}"));
    let mut replayed = 0;
    for entry in entries {
        let data = std::fs::read(entry.expect("entry").path()).expect("readable");
        exercise(&data);
        replayed += 1;
    }
    assert!(replayed >= 3, "the seed corpus is missing");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        exercise(&data);
    }

    #[test]
    fn mutated_chains_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        truncate in any::<prop::sample::Index>(),
        cut in any::<bool>(),
    ) {
        let leaf = pki("leaf.pem");
        let mut der = leaf.der().to_vec();
        for (index, value) in &edits {
            let at = index.index(der.len());
            der[at] = *value;
        }
        if cut {
            der.truncate(truncate.index(der.len()));
        }
        exercise(&der);
        if let Ok(mutated) = Certificate::from_der(&der) {
            let _ = verify_path(&mutated, &[pki("intermediate-ca.pem")], &[pki("root-ca.pem")], &PathPolicy::default());
        }
        let mut pem = reference_chain_pem();
        for (index, value) in &edits {
            let at = index.index(pem.len());
            pem[at] = *value;
        }
        exercise(&pem);
    }
}
