//! `rampart log` and `rampart attest`, and the whole chain: dataset manifest -> training
//! provenance -> model signature -> transparency log -> an offline verifier with only the
//! public keys and the files.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn keys() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/model-signing/keys")
}

fn rampart_in(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("rampart").expect("binary builds");
    cmd.current_dir(dir).env("NO_COLOR", "1");
    cmd
}

fn stdout_of(dir: &Path, args: &[&str]) -> String {
    let output = rampart_in(dir).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "rampart {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn log_commands_append_prove_and_detect_rewrites() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    stdout_of(dir, &["log", "init", "L", "--origin", "example.com/models"]);
    assert!(
        fs::read_to_string(dir.join("L/log.vkey"))
            .unwrap()
            .starts_with("example.com/models+")
    );
    fs::write(dir.join("a"), b"first").unwrap();
    fs::write(dir.join("b"), b"second").unwrap();
    assert_eq!(
        stdout_of(dir, &["log", "append", "L", "a", "b"]),
        "0\ta\n1\tb\n"
    );
    rampart_in(dir)
        .args(["log", "append", "L", "-"])
        .write_stdin("third")
        .assert()
        .success()
        .stdout("2\t-\n");
    let old_checkpoint = stdout_of(dir, &["log", "checkpoint", "L"]);
    assert!(old_checkpoint.starts_with("example.com/models\n3\n"));
    fs::write(dir.join("old.cp"), &old_checkpoint).unwrap();

    fs::write(
        dir.join("proof"),
        stdout_of(dir, &["log", "prove", "L", "--index", "1"]),
    )
    .unwrap();
    let verify_proof = |entry: &str| {
        rampart_in(dir)
            .args([
                "log",
                "verify-proof",
                "proof",
                "--vkey",
                "L/log.vkey",
                "--entry",
                entry,
            ])
            .assert()
    };
    verify_proof("b")
        .success()
        .stdout(predicate::str::contains("is entry 1 of example.com/models"));
    verify_proof("a")
        .code(1)
        .stderr(predicate::str::contains("verification failed"));

    stdout_of(dir, &["log", "append", "L", "a"]);
    fs::write(
        dir.join("consistency"),
        stdout_of(dir, &["log", "consistency", "L", "--from", "3"]),
    )
    .unwrap();
    rampart_in(dir)
        .args([
            "log",
            "verify-proof",
            "consistency",
            "--vkey",
            "L/log.vkey",
            "--old-checkpoint",
            "old.cp",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("grew from 3 to 4 entries"));
    fs::copy(dir.join("L/log.vkey"), dir.join("trusted.vkey")).unwrap();
    rampart_in(dir)
        .args(["log", "verify", "L", "--vkey", "trusted.vkey"])
        .assert()
        .success();

    // Rewriting history: the first entry's bytes change in place.
    let entries = dir.join("L/entries");
    let mut bytes = fs::read(&entries).unwrap();
    bytes[0] ^= 1;
    fs::write(&entries, bytes).unwrap();
    rampart_in(dir)
        .args(["log", "verify", "L", "--vkey", "trusted.vkey"])
        .assert()
        .code(1);

    rampart_in(dir)
        .args(["log", "append", "nowhere", "a"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("log init"));
}

#[test]
fn attest_records_a_run_and_refuses_failed_or_tampered_ones() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    fs::create_dir(dir.join("data")).unwrap();
    fs::write(dir.join("data/train.csv"), "x,y\n1,2\n").unwrap();
    let key = keys().join("signer-p256.key.pem").display().to_string();
    let public = keys().join("signer-p256.pub.pem").display().to_string();
    let train = [
        "--",
        "sh",
        "-c",
        "mkdir -p model && cat data/train.csv > model/weights.bin",
    ];
    rampart_in(dir)
        .args([
            "attest",
            "run",
            "--material",
            "data",
            "--product",
            "model",
            "--key",
            &key,
            "-o",
            "att.json",
        ])
        .args(["--param", "epochs=3"])
        .args(train)
        .assert()
        .success();
    let envelope: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("att.json")).unwrap()).unwrap();
    assert_eq!(envelope["payloadType"], "application/vnd.in-toto+json");
    rampart_in(dir)
        .args([
            "attest",
            "verify",
            "att.json",
            "--key",
            &public,
            "--product",
            "model",
            "--material",
            "data",
        ])
        .assert()
        .success();

    // A command that fails, or that changes its own inputs, gets no attestation.
    rampart_in(dir)
        .args([
            "attest",
            "run",
            "--product",
            "model",
            "--key",
            &key,
            "-o",
            "failed.json",
            "--",
            "false",
        ])
        .assert()
        .code(1);
    assert!(!dir.join("failed.json").exists());
    rampart_in(dir)
        .args([
            "attest",
            "run",
            "--material",
            "data",
            "--product",
            "model",
            "--key",
            &key,
            "-o",
            "sneaky.json",
        ])
        .args(["--", "sh", "-c", "echo poison >> data/train.csv"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("changed during the run"));
    assert!(!dir.join("sneaky.json").exists());
}

#[test]
fn the_reference_provenance_example_verifies() {
    let fixtures = keys().join("..");
    rampart_in(&fixtures)
        .args([
            "attest",
            "verify",
            "provenance/training-provenance.dsse.json",
            "--key",
            "keys/signer-p256.pub.pem",
        ])
        .args([
            "--product",
            "models/large",
            "--product",
            "models/large/model.safetensors",
        ])
        .args(["--material", "models/small"])
        .assert()
        .success();
    rampart_in(&fixtures)
        .args([
            "attest",
            "verify",
            "provenance/training-provenance.dsse.json",
            "--key",
            "keys/signer-p256.pub.pem",
        ])
        .args(["--product", "models/large-tampered"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("none of the attested subjects"));
}

/// The seeds' chain, end to end, and each attack on it.
#[test]
fn the_whole_chain_verifies_offline_and_each_break_is_caught() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let key = keys().join("signer-p256.key.pem").display().to_string();
    let public = keys().join("signer-p256.pub.pem").display().to_string();
    fs::create_dir(dir.join("dataset")).unwrap();
    fs::write(
        dir.join("dataset/train.csv"),
        "amount,fraud\n10,0\n99999,1\n",
    )
    .unwrap();

    // Producer side.
    stdout_of(
        dir,
        &[
            "log",
            "init",
            "audit-log",
            "--origin",
            "example.com/ml-audit",
        ],
    );
    fs::copy(dir.join("audit-log/log.vkey"), dir.join("published.vkey")).unwrap();
    stdout_of(
        dir,
        &[
            "hash",
            "dataset",
            "--format",
            "json",
            "-o",
            "dataset.manifest.json",
        ],
    );
    rampart_in(dir)
        .args([
            "attest",
            "run",
            "--material",
            "dataset",
            "--product",
            "model",
            "--key",
            &key,
        ])
        .args(["-o", "training.att.json", "--log", "audit-log"])
        .args([
            "--",
            "sh",
            "-c",
            "mkdir -p model && sort dataset/train.csv > model/weights.bin",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("logged as entry 0"));
    stdout_of(
        dir,
        &["sign", "model", "--key", &key, "--signature", "model.sig"],
    );
    assert_eq!(
        stdout_of(
            dir,
            &[
                "log",
                "append",
                "audit-log",
                "dataset.manifest.json",
                "model.sig"
            ]
        ),
        "1\tdataset.manifest.json\n2\tmodel.sig\n"
    );
    for (index, name) in [
        (0, "training.att.json"),
        (1, "dataset.manifest.json"),
        (2, "model.sig"),
    ] {
        let proof = stdout_of(
            dir,
            &["log", "prove", "audit-log", "--index", &index.to_string()],
        );
        fs::write(dir.join(format!("{name}.proof")), proof).unwrap();
    }

    // Verifier side: public keys, the files, the proofs. Every link holds.
    let verifier = |args: &[&str]| rampart_in(dir).args(args).assert();
    let check_all = || {
        let mut failures = Vec::new();
        let mut run = |what: &str, args: &[&str]| {
            if !rampart_in(dir)
                .args(args)
                .output()
                .unwrap()
                .status
                .success()
            {
                failures.push(what.to_owned());
            }
        };
        run(
            "dataset",
            &["verify", "dataset", "--manifest", "dataset.manifest.json"],
        );
        run(
            "provenance",
            &[
                "attest",
                "verify",
                "training.att.json",
                "--key",
                &public,
                "--product",
                "model",
                "--material",
                "dataset",
            ],
        );
        run(
            "signature",
            &[
                "verify",
                "model",
                "--signature",
                "model.sig",
                "--key",
                &public,
            ],
        );
        for name in ["training.att.json", "dataset.manifest.json", "model.sig"] {
            run(
                name,
                &[
                    "log",
                    "verify-proof",
                    &format!("{name}.proof"),
                    "--vkey",
                    "published.vkey",
                    "--entry",
                    name,
                ],
            );
        }
        run(
            "log",
            &["log", "verify", "audit-log", "--vkey", "published.vkey"],
        );
        failures
    };
    assert_eq!(check_all(), Vec::<String>::new());

    // A swapped dataset.
    fs::write(
        dir.join("dataset/train.csv"),
        "amount,fraud\n10,0\n99999,0\n",
    )
    .unwrap();
    assert_eq!(check_all(), ["dataset", "provenance"]);
    fs::write(
        dir.join("dataset/train.csv"),
        "amount,fraud\n10,0\n99999,1\n",
    )
    .unwrap();

    // A retrained model.
    let weights = fs::read(dir.join("model/weights.bin")).unwrap();
    fs::write(dir.join("model/weights.bin"), "retrained").unwrap();
    assert_eq!(check_all(), ["provenance", "signature"]);
    fs::write(dir.join("model/weights.bin"), weights).unwrap();
    assert_eq!(check_all(), Vec::<String>::new());

    // A rewritten log: a forger re-creates it under a new key with a doctored attestation.
    fs::remove_dir_all(dir.join("audit-log")).unwrap();
    stdout_of(
        dir,
        &[
            "log",
            "init",
            "audit-log",
            "--origin",
            "example.com/ml-audit",
        ],
    );
    stdout_of(dir, &["log", "append", "audit-log", "training.att.json"]);
    let forged = stdout_of(dir, &["log", "prove", "audit-log", "--index", "0"]);
    fs::write(dir.join("training.att.json.proof"), forged).unwrap();
    let failures = check_all();
    assert!(
        failures.contains(&"training.att.json".to_owned()) && failures.contains(&"log".to_owned()),
        "{failures:?}"
    );
    verifier(&["log", "verify", "audit-log", "--vkey", "published.vkey"]).code(1);
}
