//! `rampart hash`, `sign`, `verify` and `scan --verify-signature` against the OpenSSF Model
//! Signing fixtures made by the reference tool (../shared/fixtures/model-signing).

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/model-signing")
}

fn local_keys() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/rampart-integrity/tests/fixtures/keys")
}

fn rampart_in(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("rampart").expect("binary builds");
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("RAMPART_KEY_PASSWORD");
    cmd
}

fn key(name: &str) -> String {
    fixtures().join("keys").join(name).display().to_string()
}

/// A writable copy of a fixture model.
fn copy_model(name: &str) -> (tempfile::TempDir, PathBuf) {
    let temp = tempfile::tempdir().unwrap();
    let target = temp.path().join(name);
    copy_dir(&fixtures().join("models").join(name), &target);
    (temp, target)
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Translates one reference command from cases.json into rampart's arguments and the
/// directory to run in. CLI cases map flag by flag; Python API cases give the hashing
/// configuration explicitly (as `--algorithm` / `--shard-size`) unless it was guessed.
fn translate(command: &str) -> (PathBuf, Vec<String>) {
    if let Some(api) = command.strip_prefix("python API: ") {
        let quoted = |after: &str| -> String {
            let start = api.find(after).unwrap() + after.len();
            api[start..].split('\'').next().unwrap().to_owned()
        };
        let verify_args = &api[api.find(".verify('").unwrap() + ".verify('".len()..];
        let mut parts = verify_args.split('\'');
        let model = parts.next().unwrap().to_owned();
        let signature = parts.nth(1).unwrap().to_owned();
        let mut args = vec![
            "verify".to_owned(),
            model,
            "--signature".to_owned(),
            signature,
            "--key".to_owned(),
            quoted("public_key='"),
        ];
        if api.contains("'method': 'shards'") {
            let size = api.split("'shard_size': ").nth(1).unwrap();
            let size: String = size.chars().take_while(char::is_ascii_digit).collect();
            args.extend(["--shard-size".to_owned(), size]);
        }
        if let Some(algorithm) = api.split("'hashing_algorithm': '").nth(1) {
            let algorithm = algorithm.split('\'').next().unwrap();
            let algorithm = if algorithm == "blake2" {
                "blake2b"
            } else {
                algorithm
            };
            args.extend(["--algorithm".to_owned(), algorithm.to_owned()]);
        }
        return (fixtures(), args);
    }
    let (dir, command) = match command.strip_prefix("(cd ") {
        Some(rest) => {
            let (dir, rest) = rest.split_once(" && ").unwrap();
            (fixtures().join(dir), rest.trim_end_matches(')'))
        }
        None => (fixtures(), command),
    };
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(&words[..2], ["model_signing", "verify"], "{command}");
    let mut args = vec!["verify".to_owned()];
    for word in &words[3..] {
        args.push(
            match *word {
                "--public_key" => "--key",
                "--certificate_chain" => "--certificate-chain",
                "--ignore_unsigned_files" => "--ignore-unsigned-files",
                other => other,
            }
            .to_owned(),
        );
    }
    (dir, args)
}

/// What rampart must say when a case fails: the precise reason, not just "failed".
fn expected_reason(id: &str) -> Option<&'static str> {
    Some(match id {
        "tampered-file" | "cert-tampered-file" => "modified: weights/layer0/w.bin",
        "added-file" => "added: weights/layer1/extra.bin",
        "added-empty-file" => "added: ",
        "removed-file" | "removed-file-ignore-unsigned" => "removed: tokenizer/vocab.txt",
        "renamed-file" => "renamed: weights/layer0/w.bin -> weights/layer0/w2.bin",
        "dotfile-changed" => "modified: .hidden-config",
        "tampered-large-files" => "modified: model.safetensors",
        "tampered-large-shards-api" => "modified: model.safetensors (bytes 3145728..4194304)",
        "tampered-large-shards-256KiB-api" => {
            "modified: model.safetensors (bytes 3145728..3407872)"
        }
        "shards-wrong-shard-size-api" => "removed: model.safetensors (bytes 0..262144)",
        "other-key" | "wrong-public-key" => "wrong key",
        "payload-modified" | "signature-corrupted" => "bad signature",
        "bad-subject-digest" => "the manifest is inconsistent",
        "wrong-predicate-type" => "not an OpenSSF Model Signing v1.0 signature",
        "wrong-media-type" => "mediaType",
        "cert-untrusted-root" | "cert-no-signing-usage" => "not trusted",
        "key-bundle-verified-as-cert" => "signed with a bare key",
        "readme-changed" => "modified: README.md",
        _ => return None,
    })
}

#[test]
fn every_reference_case_gets_its_required_verdict() {
    let cases: Vec<Value> =
        serde_json::from_slice(&fs::read(fixtures().join("cases.json")).unwrap()).unwrap();
    assert_eq!(cases.len(), 49);
    let mut wrong = Vec::new();
    for case in &cases {
        let id = case["id"].as_str().unwrap();
        // The quirk cases are limitations of model_signing: rampart verifies those bundles.
        let must_pass = id.starts_with("quirk-") || case["expected"] == "pass";
        let (dir, args) = translate(case["command"].as_str().unwrap());
        let output = rampart_in(&dir).args(&args).output().unwrap();
        let code = output.status.code().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let verdict_ok = if must_pass { code == 0 } else { code == 1 };
        let reason_ok = must_pass || expected_reason(id).is_none_or(|reason| text.contains(reason));
        if !verdict_ok || !reason_ok {
            wrong.push(format!(
                "{id}: exit {code} for `rampart {}`\n{text}",
                args.join(" ")
            ));
        }
        if id.starts_with("quirk-") {
            assert!(
                text.contains("warning: "),
                "{id} should say why the reference tool fails:\n{text}"
            );
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn hashing_reproduces_the_reference_subject_digests() {
    for (model, flags, root, resources) in [
        (
            "small",
            &[][..],
            "83f1f1607c4aa289fbf62b24281f5bfbbcbf871a9632b151d1fe8b426d3fbf23",
            10,
        ),
        (
            "large",
            &[][..],
            "4922ae4a021f70a9961e45729fcf66e59aa10ba5bdc5b7ce9ccbf688bfd7bbc7",
            4,
        ),
        (
            "small",
            &["--algorithm", "blake2b"][..],
            "f98db6d42fd696b5b8aa9e5fe4372d60ce8d47c9c7845b42acb0d82b7b250277",
            10,
        ),
        (
            "small",
            &["--algorithm", "blake3"][..],
            "61b9f9288cf5ff84951c0391a6724d5a561c243f1fc7aa95c84c6d3a51dbe54f",
            10,
        ),
    ] {
        let output = rampart_in(&fixtures())
            .args(["hash", &format!("models/{model}"), "--format", "json"])
            .args(flags)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let manifest: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(manifest["root_digest"]["digest"], root, "{model} {flags:?}");
        assert_eq!(manifest["resources"].as_array().unwrap().len(), resources);
    }
    let output = rampart_in(&fixtures())
        .args(["hash", "models/small", "--format", "json"])
        .output()
        .unwrap();
    let manifest: Value = serde_json::from_slice(&output.stdout).unwrap();
    let names: Vec<&str> = manifest["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            ".hidden-config",
            "README.md",
            "config.json",
            "empty.txt",
            "tokenizer/vocab.txt",
            "weights/layer0/b.bin",
            "weights/layer0/w.bin",
            "weights/layer1/w.bin",
            "weights-v2.txt",
            "weights.txt"
        ]
    );
}

#[test]
fn shard_manifests_match_the_reference_except_for_empty_files() {
    // model_signing drops empty files in shards mode; rampart records them as `path:0:0`.
    // Without them the subject digests must be the reference's.
    for (size, root) in [
        (
            "1048576",
            "fb27ac0fd485e90cc0d1aaf7d76322ad6bba7da82e60e8b13ecb9fdaf3a75d15",
        ),
        (
            "256KiB",
            "320a17b5437ad1769f11393cbfeecfa6bdfa625f3eeb02ec2db24f740c56b96d",
        ),
    ] {
        let output = rampart_in(&fixtures())
            .args([
                "hash",
                "models/large",
                "--format",
                "json",
                "--shard-size",
                size,
            ])
            .output()
            .unwrap();
        let manifest: Value = serde_json::from_slice(&output.stdout).unwrap();
        let digests: Vec<u8> = manifest["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| !r["name"].as_str().unwrap().ends_with(":0:0"))
            .flat_map(|r| hex::decode(r["digest"].as_str().unwrap()).unwrap())
            .collect();
        use sha2::Digest;
        assert_eq!(hex::encode(sha2::Sha256::digest(&digests)), root, "{size}");
        assert!(
            manifest["resources"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["name"] == "empty.bin:0:0")
        );
    }
}

fn sign(model: &Path, signature: &Path, key_args: &[&str]) {
    rampart_in(model.parent().unwrap())
        .arg("sign")
        .arg(model)
        .arg("--signature")
        .arg(signature)
        .args(key_args)
        .assert()
        .success();
}

fn verify(model: &Path, signature: &Path, key_args: &[&str]) -> assert_cmd::assert::Assert {
    rampart_in(model.parent().unwrap())
        .arg("verify")
        .arg(model)
        .arg("--signature")
        .arg(signature)
        .args(key_args)
        .assert()
}

#[test]
fn signatures_round_trip_for_every_key_type_and_catch_each_tampering() {
    let keys = local_keys();
    let ed25519_key = keys.join("ed25519.key.pem").display().to_string();
    let ed25519_pub = keys.join("ed25519.pub.pem").display().to_string();
    let p256_key = key("signer-p256.key.pem");
    let p256_pub = key("signer-p256.pub.pem");
    let p384_key = key("signer-p384.key.pem");
    let p384_pub = key("signer-p384.pub.pem");
    let p521_key = key("signer-p521.key.pem");
    let p521_pub = key("signer-p521.pub.pem");
    for (private, public) in [
        (&p256_key, &p256_pub),
        (&p384_key, &p384_pub),
        (&p521_key, &p521_pub),
        (&ed25519_key, &ed25519_pub),
    ] {
        let (temp, model) = copy_model("small");
        let signature = temp.path().join("small.sig");
        sign(&model, &signature, &["--key", private]);
        verify(&model, &signature, &["--key", public])
            .success()
            .stdout(predicate::str::contains("verified"));
        verify(&model, &signature, &["--key", &key("other-p256.pub.pem")])
            .code(1)
            .stderr(predicate::str::contains("wrong key"));
    }

    let (temp, model) = copy_model("small");
    let signature = temp.path().join("small.sig");
    sign(&model, &signature, &["--key", &p256_key]);
    let bundle: Value = serde_json::from_slice(&fs::read(&signature).unwrap()).unwrap();
    let with_key = ["--key", p256_pub.as_str()];

    // A payload from another model's signature under this signature.
    let (other_temp, other) = copy_model("large");
    let other_signature = other_temp.path().join("large.sig");
    sign(&other, &other_signature, &["--key", &p256_key]);
    let other_bundle: Value = serde_json::from_slice(&fs::read(&other_signature).unwrap()).unwrap();
    let mut swapped = bundle.clone();
    swapped["dsseEnvelope"]["payload"] = other_bundle["dsseEnvelope"]["payload"].clone();
    let swapped_path = temp.path().join("swapped.sig");
    fs::write(&swapped_path, serde_json::to_vec(&swapped).unwrap()).unwrap();
    verify(&model, &swapped_path, &with_key)
        .code(1)
        .stderr(predicate::str::contains("bad signature"));

    let mut truncated = bundle.clone();
    let sig = truncated["dsseEnvelope"]["signatures"][0]["sig"]
        .as_str()
        .unwrap()
        .to_owned();
    truncated["dsseEnvelope"]["signatures"][0]["sig"] = Value::from(&sig[..sig.len() / 2]);
    let truncated_path = temp.path().join("truncated.sig");
    fs::write(&truncated_path, serde_json::to_vec(&truncated).unwrap()).unwrap();
    verify(&model, &truncated_path, &with_key)
        .code(1)
        .stderr(predicate::str::contains("bad signature"));

    let cut_file = temp.path().join("cut.sig");
    let bytes = fs::read(&signature).unwrap();
    fs::write(&cut_file, &bytes[..bytes.len() / 2]).unwrap();
    verify(&model, &cut_file, &with_key)
        .code(1)
        .stderr(predicate::str::contains("not a Sigstore bundle"));

    fs::write(model.join("weights/layer1/w.bin"), b"swapped weights").unwrap();
    fs::write(model.join("new.bin"), b"").unwrap();
    fs::remove_file(model.join("config.json")).unwrap();
    fs::rename(
        model.join("tokenizer/vocab.txt"),
        model.join("tokenizer/vocab2.txt"),
    )
    .unwrap();
    verify(&model, &signature, &with_key)
        .code(1)
        .stderr(predicate::str::contains("modified: weights/layer1/w.bin"))
        .stderr(predicate::str::contains("added: new.bin"))
        .stderr(predicate::str::contains("removed: config.json"))
        .stderr(predicate::str::contains(
            "renamed: tokenizer/vocab.txt -> tokenizer/vocab2.txt",
        ));
}

#[test]
fn rampart_bundles_have_exactly_the_reference_shape() {
    let (temp, model) = copy_model("large");
    let signature = temp.path().join("large.sig");
    sign(
        &model,
        &signature,
        &["--key", &key("signer-p256.key.pem"), "--shard-size", "1MiB"],
    );
    let bundle: Value = serde_json::from_slice(&fs::read(&signature).unwrap()).unwrap();
    let keys: Vec<&String> = bundle.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["dsseEnvelope", "mediaType", "verificationMaterial"]);
    assert_eq!(
        bundle["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    assert_eq!(
        bundle["verificationMaterial"]["tlogEntries"],
        Value::Array(vec![])
    );
    assert_eq!(bundle["dsseEnvelope"]["signatures"][0]["keyid"], "");
    let hint = bundle["verificationMaterial"]["publicKey"]["hint"]
        .as_str()
        .unwrap();
    use sha2::Digest;
    let pem = fs::read(key("signer-p256.pub.pem")).unwrap();
    assert_eq!(hint, hex::encode(sha2::Sha256::digest(&pem)));
    use base64::Engine;
    let payload = base64::engine::general_purpose::STANDARD
        .decode(bundle["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    let statement: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(
        statement["predicateType"],
        "https://model_signing/signature/v1.0"
    );
    // An integer, which model_signing can read back (it writes a float it cannot).
    assert!(statement["predicate"]["serialization"]["shard_size"].is_u64());
    assert_eq!(
        statement["predicate"]["resources"][0]["algorithm"],
        "sha256-sharded-1048576"
    );
    assert!(statement["predicate"]["resources"][0].get("size").is_none());
}

#[test]
fn certificate_mode_signs_and_checks_chain_identity_and_expiry() {
    let pki = fixtures().join("pki");
    let pem = |name: &str| pki.join(name).display().to_string();
    let (temp, model) = copy_model("small");
    let signature = temp.path().join("small.sig");
    sign(
        &model,
        &signature,
        &[
            "--key",
            &pem("leaf.key.pem"),
            "--certificate",
            &pem("leaf.pem"),
            "--certificate-chain",
            &pem("intermediate-ca.pem"),
        ],
    );
    verify(
        &model,
        &signature,
        &["--certificate-chain", &pem("root-ca.pem")],
    )
    .success()
    .stdout(predicate::str::contains("certificate"))
    .stdout(predicate::str::contains("no signer identity was required"));
    verify(
        &model,
        &signature,
        &["--certificate-chain", &pem("other-root-ca.pem")],
    )
    .code(1)
    .stderr(predicate::str::contains("not trusted"));
    verify(
        &model,
        &signature,
        &[
            "--certificate-chain",
            &pem("root-ca.pem"),
            "--certificate-identity",
            "someone-else@example.com",
        ],
    )
    .code(1)
    .stderr(predicate::str::contains("not trusted"));
    verify(&model, &signature, &["--key", &key("signer-p256.pub.pem")])
        .code(1)
        .stderr(predicate::str::contains("signed with a certificate"));

    // A certificate that does not certify the private key is refused before anything is written.
    let wrong = temp.path().join("wrong.sig");
    rampart_in(temp.path())
        .arg("sign")
        .arg(&model)
        .arg("--signature")
        .arg(&wrong)
        .args([
            "--key",
            &key("signer-p256.key.pem"),
            "--certificate",
            &pem("leaf.pem"),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not for this private key"));
    assert!(!wrong.exists());

    rampart_in(temp.path())
        .arg("sign")
        .arg(&model)
        .arg("--signature")
        .arg(&wrong)
        .args([
            "--key",
            &pem("leaf.key.pem"),
            "--certificate",
            &pem("leaf-expired.pem"),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("expired on 2021"));
    assert!(!wrong.exists());

    // The expired leaf verifies like the reference tool, with a warning, unless refused.
    let expired = fixtures().join("sigs/small.cert-expired.sig");
    rampart_in(&fixtures())
        .args(["verify", "models/small", "--signature"])
        .arg(&expired)
        .args(["--certificate-chain", &pem("root-ca.pem")])
        .assert()
        .success()
        .stdout(predicate::str::contains("expired"));
    rampart_in(&fixtures())
        .args(["verify", "models/small", "--signature"])
        .arg(&expired)
        .args([
            "--certificate-chain",
            &pem("root-ca.pem"),
            "--reject-expired",
        ])
        .assert()
        .code(1);
}

#[test]
fn detached_manifests_pin_datasets_without_keys() {
    let (temp, model) = copy_model("small");
    let manifest = temp.path().join("small.manifest.json");
    rampart_in(temp.path())
        .arg("hash")
        .arg(&model)
        .args(["--format", "json", "-o"])
        .arg(&manifest)
        .assert()
        .success();
    let document: Value = serde_json::from_slice(&fs::read(&manifest).unwrap()).unwrap();
    let root = document["root_digest"]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let verify_manifest = |extra: &[&str]| {
        rampart_in(temp.path())
            .arg("verify")
            .arg(&model)
            .arg("--manifest")
            .arg(&manifest)
            .args(extra)
            .assert()
    };
    verify_manifest(&["--root-digest", &root]).success();
    verify_manifest(&["--root-digest", &"0".repeat(64)])
        .code(1)
        .stderr(predicate::str::contains("the manifest itself was replaced"));
    fs::write(model.join("README.md"), b"changed").unwrap();
    verify_manifest(&[])
        .code(1)
        .stderr(predicate::str::contains("modified: README.md"));

    // An edited manifest whose root digest no longer matches its resources is refused.
    let mut edited = document.clone();
    edited["resources"][0]["digest"] = Value::from("00".repeat(32));
    fs::write(&manifest, serde_json::to_vec(&edited).unwrap()).unwrap();
    verify_manifest(&[])
        .code(2)
        .stderr(predicate::str::contains("inconsistent"));
}

#[test]
fn a_manifest_inside_the_dataset_is_left_out() {
    let (_temp, model) = copy_model("small");
    rampart_in(&model)
        .args(["hash", ".", "--format", "json", "-o", "MANIFEST.json"])
        .assert()
        .success();
    rampart_in(&model)
        .args(["verify", ".", "--manifest", "MANIFEST.json"])
        .assert()
        .success();
}

#[test]
fn a_signature_inside_the_model_is_left_out_and_recorded() {
    let (_temp, model) = copy_model("small");
    rampart_in(&model)
        .args([
            "sign",
            ".",
            "--signature",
            "model.sig",
            "--key",
            &key("signer-p256.key.pem"),
        ])
        .assert()
        .success();
    rampart_in(&model)
        .args([
            "verify",
            ".",
            "--signature",
            "model.sig",
            "--key",
            &key("signer-p256.pub.pem"),
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("warning").not());
}

#[test]
fn bad_input_is_a_clear_usage_error() {
    let (temp, model) = copy_model("small");
    let signature = temp.path().join("s.sig");
    let run = |args: &[&str]| rampart_in(temp.path()).args(args).assert();
    run(&["hash", "does-not-exist"])
        .code(2)
        .stderr(predicate::str::contains("does-not-exist"));
    let model_arg = model.display().to_string();
    let sig_arg = signature.display().to_string();
    run(&[
        "sign",
        &model_arg,
        "--signature",
        &sig_arg,
        "--key",
        &key("signer-p256.pub.pem"),
    ])
    .code(2)
    .stderr(predicate::str::contains("needs the private key"));
    let rsa = local_keys().join("rsa.key.pem").display().to_string();
    run(&["sign", &model_arg, "--signature", &sig_arg, "--key", &rsa])
        .code(2)
        .stderr(predicate::str::contains("RSA"));
    let encrypted = local_keys()
        .join("p384-encrypted.key.pem")
        .display()
        .to_string();
    run(&[
        "sign",
        &model_arg,
        "--signature",
        &sig_arg,
        "--key",
        &encrypted,
    ])
    .code(2)
    .stderr(predicate::str::contains("--password-file"));
    assert!(!signature.exists(), "no signature file after a failed sign");
    let password = temp.path().join("password");
    fs::write(&password, "correct-horse\n").unwrap();
    run(&[
        "sign",
        &model_arg,
        "--signature",
        &sig_arg,
        "--key",
        &encrypted,
        "--password-file",
        &password.display().to_string(),
    ])
    .success();
    run(&["verify", &model_arg, "--signature", &sig_arg])
        .code(2)
        .stderr(predicate::str::contains("--key"));
    run(&["hash", &model_arg, "--shard-size", "0"]).code(2);
    run(&[
        "hash",
        &model_arg,
        "--shard-size",
        "1M",
        "--algorithm",
        "blake3",
    ])
    .code(2);

    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("config.json", model.join("link.json")).unwrap();
        run(&["hash", &model_arg])
            .code(2)
            .stderr(predicate::str::contains("--allow-symlinks"));
        run(&["hash", &model_arg, "--allow-symlinks"])
            .success()
            .stdout(predicate::str::contains("link.json"));
    }
}

#[test]
fn scan_fails_a_model_that_does_not_verify() {
    let (temp, model) = copy_model("small");
    let signature = temp.path().join("small.sig");
    sign(&model, &signature, &["--key", &key("signer-p256.key.pem")]);
    let scan = |public: &str| {
        rampart_in(temp.path())
            .args([
                "scan",
                "--no-config",
                "--format",
                "json",
                "--verify-signature",
            ])
            .arg(&signature)
            .args(["--key", public])
            .arg(&model)
            .output()
            .unwrap()
    };
    let output = scan(&key("signer-p256.pub.pem"));
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let output = scan(&key("other-p256.pub.pem"));
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        report["findings"][0]["rule_id"],
        "integrity/signature-invalid"
    );

    fs::write(model.join("weights/layer0/w.bin"), b"tampered").unwrap();
    let output = scan(&key("signer-p256.pub.pem"));
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let finding = &report["findings"][0];
    assert_eq!(finding["rule_id"], "integrity/content-mismatch");
    assert!(
        finding["location"]["path"]
            .as_str()
            .unwrap()
            .ends_with("weights/layer0/w.bin")
    );
}
