//! `rampart registry`, `serve`, `push`, `pull`, `approve`, `promote` and `rollback` end to end:
//! a real server process on a free port with a fresh data directory.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use assert_cmd::Command;
use serde_json::{Value, json};

fn rampart() -> Command {
    let mut cmd = Command::cargo_bin("rampart").expect("binary builds");
    cmd.env("NO_COLOR", "1")
        .env_remove("RAMPART_TOKEN")
        .env_remove("RAMPART_REGISTRY");
    cmd
}

fn keys() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/rampart-integrity/tests/fixtures/keys")
}

/// GLOBAL os.system, a string argument, TUPLE1, REDUCE, STOP: runs `id` when unpickled.
const EVIL_PICKLE: &[u8] = b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R.";

struct Registry {
    dir: tempfile::TempDir,
    url: String,
    admin: String,
    server: Child,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

fn stdout_of(cmd: &mut Command) -> String {
    let output = cmd.output().expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

impl Registry {
    /// `registry init`, tokens for `users` (user, role), then `serve` on a free port.
    fn start(users: &[(&str, &str)]) -> (Registry, Vec<String>) {
        Self::start_with(users, &[])
    }

    fn start_with(users: &[(&str, &str)], serve_args: &[&str]) -> (Registry, Vec<String>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let admin = stdout_of(rampart().arg("registry").arg("init").arg(&data))
            .trim()
            .to_owned();
        assert!(admin.starts_with("rmp_"), "{admin}");
        let tokens = users
            .iter()
            .map(|(user, role)| {
                stdout_of(
                    rampart()
                        .args(["registry", "token", "create", "--data"])
                        .arg(&data)
                        .args([
                            "--user",
                            user,
                            "--role",
                            role,
                            "--namespace",
                            "ml",
                            "--expires",
                            "30d",
                        ]),
                )
                .trim()
                .to_owned()
            })
            .collect();
        let mut server = std::process::Command::new(assert_cmd::cargo::cargo_bin("rampart"))
            .arg("serve")
            .arg("--data")
            .arg(&data)
            .args(["--listen", "127.0.0.1:0"])
            .args(serve_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts");
        let mut line = String::new();
        BufReader::new(server.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("first line");
        let url = line.trim().rsplit(' ').next().expect("address").to_owned();
        assert!(url.contains("://127.0.0.1:"), "{line}");
        let registry = Registry {
            dir,
            url,
            admin,
            server,
        };
        (registry, tokens)
    }

    /// SIGTERM, then the exit status once open requests have finished.
    fn terminate(&mut self) -> std::process::ExitStatus {
        let signalled = std::process::Command::new("kill")
            .args(["-TERM", &self.server.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(signalled.success());
        self.server.wait().expect("server exits")
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn namespace(&self, policy: &Value) {
        let root = ureq::tls::Certificate::from_pem(
            &std::fs::read(tls_fixture("server.cert.pem")).expect("certificate"),
        )
        .expect("pem");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(vec![
                        root,
                    ])))
                    .build(),
            )
            .build()
            .into();
        let response = agent
            .put(format!("{}/api/v1/namespaces/ml", self.url))
            .header("Authorization", &format!("Bearer {}", self.admin))
            .send(policy.to_string())
            .expect("request");
        assert_eq!(response.status().as_u16(), 201);
    }

    fn client(&self, token: &str, args: &[&str]) -> std::process::Output {
        rampart()
            .args(args)
            .env("RAMPART_REGISTRY", &self.url)
            .env("RAMPART_TOKEN", token)
            .output()
            .expect("runs")
    }
}

fn tls_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates/rampart-registry/tests/fixtures/tls")
        .join(name)
}

fn model(dir: &Path, files: &[(&str, &[u8])]) -> PathBuf {
    for (path, bytes) in files {
        let target = dir.join(path);
        std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        std::fs::write(target, bytes).expect("write");
    }
    dir.to_owned()
}

fn text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn signed_push_then_verified_pull() {
    let (mut registry, tokens) = Registry::start(&[("pat", "publisher"), ("rita", "reader")]);
    let public_key = std::fs::read_to_string(keys().join("ed25519.pub.pem")).expect("key");
    registry.namespace(&json!({ "trusted_keys": [public_key] }));
    let work = tempfile::tempdir().expect("tempdir");
    let source = model(
        &work.path().join("bert"),
        &[
            ("config.json", b"{\"hidden\": 8}\n"),
            ("tokenizer/vocab.txt", b"[PAD]\n[UNK]\n"),
        ],
    );
    let signature = work.path().join("bert.sig");
    rampart()
        .arg("sign")
        .arg(&source)
        .arg("--signature")
        .arg(&signature)
        .arg("--key")
        .arg(keys().join("ed25519.key.pem"))
        .assert()
        .success();
    let push = registry.client(
        &tokens[0],
        &[
            "push",
            &source.display().to_string(),
            "ml/bert:1.0.0",
            "--signature",
            &signature.display().to_string(),
        ],
    );
    assert_eq!(push.status.code(), Some(0), "{}", text(&push));
    assert!(text(&push).contains("verified"), "{}", text(&push));

    let destination = work.path().join("out/bert");
    let vkey = registry.data().join("log/log.vkey");
    let pull_args = |force: bool| {
        let mut args = vec![
            "pull".to_owned(),
            "ml/bert:1.0.0".to_owned(),
            destination.display().to_string(),
            "--key".to_owned(),
            keys().join("ed25519.pub.pem").display().to_string(),
            "--log-key".to_owned(),
            vkey.display().to_string(),
        ];
        if force {
            args.push("--force".to_owned());
        }
        args
    };
    let args = pull_args(false);
    let pull = registry.client(
        &tokens[1],
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(pull.status.code(), Some(0), "{}", text(&pull));
    assert!(text(&pull).contains("signature by"), "{}", text(&pull));
    assert!(text(&pull).contains("pinned log key"), "{}", text(&pull));
    assert_eq!(
        std::fs::read(destination.join("tokenizer/vocab.txt")).expect("pulled"),
        b"[PAD]\n[UNK]\n"
    );
    let again = registry.client(
        &tokens[1],
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(
        again.status.code(),
        Some(2),
        "a non-empty destination needs --force"
    );
    let forced_args = pull_args(true);
    let forced = registry.client(
        &tokens[1],
        &forced_args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced));

    // The whole audit log verifies offline while the server runs.
    rampart()
        .args(["log", "verify"])
        .arg(registry.data().join("log"))
        .assert()
        .success();
    assert!(
        registry.terminate().success(),
        "SIGTERM is a clean shutdown"
    );
}

#[test]
fn quarantined_push_exits_one_and_cannot_be_pulled() {
    let (registry, tokens) = Registry::start(&[("pat", "publisher"), ("rita", "reader")]);
    registry.namespace(&json!({}));
    let work = tempfile::tempdir().expect("tempdir");
    let source = model(&work.path().join("evil"), &[("model.pkl", EVIL_PICKLE)]);
    let push = registry.client(
        &tokens[0],
        &["push", &source.display().to_string(), "ml/evil:1"],
    );
    assert_eq!(push.status.code(), Some(1), "{}", text(&push));
    assert!(text(&push).contains("quarantined"), "{}", text(&push));
    assert!(text(&push).contains("model.pkl"), "{}", text(&push));
    let destination = work.path().join("pulled");
    let pull = registry.client(
        &tokens[1],
        &["pull", "ml/evil:1", &destination.display().to_string()],
    );
    assert_eq!(pull.status.code(), Some(1), "{}", text(&pull));
    assert!(!destination.exists());
}

#[test]
fn a_tampered_blob_is_detected_and_nothing_is_written() {
    let (registry, tokens) = Registry::start(&[("pat", "publisher"), ("rita", "reader")]);
    registry.namespace(&json!({}));
    let work = tempfile::tempdir().expect("tempdir");
    let weights: &[u8] = b"weights that matter\n";
    let source = model(&work.path().join("m"), &[("weights.txt", weights)]);
    let push = registry.client(
        &tokens[0],
        &["push", &source.display().to_string(), "ml/m:1"],
    );
    assert_eq!(push.status.code(), Some(0), "{}", text(&push));

    use sha2::Digest as _;
    let hex = hex::encode(sha2::Sha256::digest(weights));
    let blob = registry
        .data()
        .join("blobs/sha256")
        .join(&hex[..2])
        .join(&hex);
    let mut permissions = std::fs::metadata(&blob).expect("blob").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    std::fs::set_permissions(&blob, permissions).expect("chmod");
    let mut bytes = std::fs::read(&blob).expect("read");
    bytes[0] ^= 1;
    std::fs::write(&blob, bytes).expect("tamper");

    let destination = work.path().join("pulled");
    let pull = registry.client(
        &tokens[1],
        &["pull", "ml/m:1", &destination.display().to_string()],
    );
    assert_eq!(pull.status.code(), Some(1), "{}", text(&pull));
    assert!(text(&pull).contains("tampered"), "{}", text(&pull));
    assert!(!destination.exists());
    let leftovers: Vec<_> = std::fs::read_dir(work.path())
        .expect("ls")
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().contains("rampart-pull"))
        .collect();
    assert!(leftovers.is_empty(), "the staging directory is removed");
}

#[test]
fn approve_promote_and_rollback_with_separation_of_duties() {
    let (registry, tokens) = Registry::start(&[
        ("pat", "publisher"),
        ("abe", "approver"),
        ("pat", "approver"),
    ]);
    registry.namespace(&json!({}));
    let work = tempfile::tempdir().expect("tempdir");
    for version in ["1", "2"] {
        let source = model(
            &work.path().join(version),
            &[("notes.txt", version.as_bytes())],
        );
        let reference = format!("ml/m:{version}");
        let push = registry.client(
            &tokens[0],
            &["push", &source.display().to_string(), &reference],
        );
        assert_eq!(push.status.code(), Some(0), "{}", text(&push));
        let own = registry.client(&tokens[2], &["approve", &reference]);
        assert_eq!(
            own.status.code(),
            Some(1),
            "pat cannot approve her own version"
        );
        assert!(
            text(&own).contains("separation of duties"),
            "{}",
            text(&own)
        );
        let approve = registry.client(&tokens[1], &["approve", &reference]);
        assert_eq!(approve.status.code(), Some(0), "{}", text(&approve));
        let promote = registry.client(
            &tokens[1],
            &["promote", &reference, "--stage", "production"],
        );
        assert_eq!(promote.status.code(), Some(0), "{}", text(&promote));
        assert!(text(&promote).contains(&format!("ml/m@production -> {version}")));
    }
    let rollback = registry.client(&tokens[1], &["rollback", "ml/m", "--stage", "production"]);
    assert_eq!(rollback.status.code(), Some(0), "{}", text(&rollback));
    assert!(
        text(&rollback).contains("ml/m@production -> 1"),
        "{}",
        text(&rollback)
    );
    let by_publisher = registry.client(&tokens[0], &["promote", "ml/m:2", "--stage", "production"]);
    assert_eq!(
        by_publisher.status.code(),
        Some(1),
        "{}",
        text(&by_publisher)
    );
}

#[test]
fn usage_and_connection_errors_exit_two() {
    let unreachable = rampart()
        .args([
            "approve",
            "ml/m:1",
            "--registry",
            "http://127.0.0.1:9",
            "--token",
            "rmp_x",
        ])
        .output()
        .expect("runs");
    assert_eq!(unreachable.status.code(), Some(2), "{}", text(&unreachable));
    let bad_reference = rampart()
        .args([
            "approve",
            "not-a-reference",
            "--registry",
            "http://127.0.0.1:9",
            "--token",
            "rmp_x",
        ])
        .output()
        .expect("runs");
    assert_eq!(bad_reference.status.code(), Some(2));
    let work = tempfile::tempdir().expect("tempdir");
    let not_a_registry = rampart()
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(work.path())
        .output()
        .expect("runs");
    assert_eq!(not_a_registry.status.code(), Some(2));
    assert!(
        text(&not_a_registry).contains("registry init"),
        "{}",
        text(&not_a_registry)
    );
}

#[test]
fn push_and_pull_over_tls() {
    let certificate = tls_fixture("server.cert.pem").display().to_string();
    let key = tls_fixture("server.key.pem").display().to_string();
    let (registry, tokens) = Registry::start_with(
        &[("pat", "publisher"), ("rita", "reader")],
        &["--tls-cert", &certificate, "--tls-key", &key],
    );
    assert!(registry.url.starts_with("https://"), "{}", registry.url);
    registry.namespace(&json!({}));
    let work = tempfile::tempdir().expect("tempdir");
    let source = model(&work.path().join("m"), &[("notes.txt", b"over TLS\n")]);
    let untrusted = registry.client(
        &tokens[0],
        &["push", &source.display().to_string(), "ml/m:1"],
    );
    assert_eq!(
        untrusted.status.code(),
        Some(2),
        "a self-signed server is not trusted by default"
    );
    let push = registry.client(
        &tokens[0],
        &[
            "push",
            &source.display().to_string(),
            "ml/m:1",
            "--ca-cert",
            &certificate,
        ],
    );
    assert_eq!(push.status.code(), Some(0), "{}", text(&push));
    let destination = work.path().join("pulled");
    let pull = registry.client(
        &tokens[1],
        &[
            "pull",
            "ml/m:1",
            &destination.display().to_string(),
            "--ca-cert",
            &certificate,
        ],
    );
    assert_eq!(pull.status.code(), Some(0), "{}", text(&pull));
    assert_eq!(
        std::fs::read(destination.join("notes.txt")).expect("pulled"),
        b"over TLS\n"
    );
}

#[test]
fn yank_needs_an_admin_and_a_reason_and_stops_serving() {
    let (registry, tokens) = Registry::start(&[("pat", "publisher"), ("rita", "reader")]);
    registry.namespace(&json!({}));
    let work = tempfile::tempdir().expect("tempdir");
    let source = model(&work.path().join("m"), &[("notes.txt", b"fine\n")]);
    let push = registry.client(
        &tokens[0],
        &["push", &source.display().to_string(), "ml/m:1"],
    );
    assert_eq!(push.status.code(), Some(0), "{}", text(&push));

    let by_publisher = registry.client(&tokens[0], &["yank", "ml/m:1", "--reason", "bad"]);
    assert_eq!(
        by_publisher.status.code(),
        Some(1),
        "{}",
        text(&by_publisher)
    );
    assert!(
        text(&by_publisher).contains("admin role"),
        "{}",
        text(&by_publisher)
    );
    let no_reason = registry.client(&registry.admin, &["yank", "ml/m:1"]);
    assert_eq!(no_reason.status.code(), Some(2), "{}", text(&no_reason));
    let bad_reference = registry.client(&registry.admin, &["yank", "ml/m", "--reason", "x"]);
    assert_eq!(
        bad_reference.status.code(),
        Some(2),
        "{}",
        text(&bad_reference)
    );

    let yank = registry.client(
        &registry.admin,
        &["yank", "ml/m:1", "--reason", "CVE in the tokenizer"],
    );
    assert_eq!(yank.status.code(), Some(0), "{}", text(&yank));
    assert!(
        text(&yank).contains("ml/m:1: yanked (CVE in the tokenizer)"),
        "{}",
        text(&yank)
    );
    let again = registry.client(&registry.admin, &["yank", "ml/m:1", "--reason", "again"]);
    assert_eq!(
        again.status.code(),
        Some(1),
        "already yanked: {}",
        text(&again)
    );
    let destination = work.path().join("pulled");
    let pull = registry.client(
        &tokens[1],
        &["pull", "ml/m:1", &destination.display().to_string()],
    );
    assert_eq!(pull.status.code(), Some(1), "{}", text(&pull));
    assert!(!destination.exists());
}

#[test]
fn namespace_policy_is_set_from_the_cli_and_gates_promotion() {
    let (registry, tokens) = Registry::start(&[
        ("pat", "publisher"),
        ("abe", "approver"),
        ("ann", "approver"),
    ]);
    let key = keys().join("ed25519.pub.pem").display().to_string();
    let by_publisher = registry.client(&tokens[0], &["namespace", "set", "ml"]);
    assert_eq!(
        by_publisher.status.code(),
        Some(1),
        "{}",
        text(&by_publisher)
    );
    let private = keys().join("ed25519.key.pem").display().to_string();
    let not_public = registry.client(
        &registry.admin,
        &["namespace", "set", "ml", "--trusted-key", &private],
    );
    assert_eq!(not_public.status.code(), Some(2), "{}", text(&not_public));
    assert!(text(&not_public).contains("not a PEM public key"));
    let bad_count = registry.client(
        &registry.admin,
        &["namespace", "set", "ml", "--approvals", "production=0"],
    );
    assert_eq!(bad_count.status.code(), Some(2), "{}", text(&bad_count));
    let set = registry.client(
        &registry.admin,
        &[
            "namespace",
            "set",
            "ml",
            "--trusted-key",
            &key,
            "--require-signature",
            "production",
            "--approvals",
            "production=2",
        ],
    );
    assert_eq!(set.status.code(), Some(0), "{}", text(&set));
    assert!(
        text(&set).contains("production: 2 approval(s), a trusted signature"),
        "{}",
        text(&set)
    );
    let show = registry.client(&tokens[1], &["namespace", "show", "ml"]);
    assert_eq!(show.status.code(), Some(0), "{}", text(&show));
    let shown: Value = serde_json::from_slice(&show.stdout).expect("json");
    assert_eq!(shown["policy"]["stages"]["production"]["approvals"], 2);
    assert_eq!(
        shown["policy"]["trusted_keys"].as_array().map(Vec::len),
        Some(1)
    );

    // An unsigned version approved twice still cannot reach production; staging needs one.
    let work = tempfile::tempdir().expect("tempdir");
    let source = model(&work.path().join("m"), &[("notes.txt", b"unsigned")]);
    let push = registry.client(
        &tokens[0],
        &["push", &source.display().to_string(), "ml/m:1"],
    );
    assert_eq!(push.status.code(), Some(0), "{}", text(&push));
    for approver in [&tokens[1], &tokens[2]] {
        let approve = registry.client(approver, &["approve", "ml/m:1"]);
        assert_eq!(approve.status.code(), Some(0), "{}", text(&approve));
    }
    let production = registry.client(&tokens[1], &["promote", "ml/m:1", "--stage", "production"]);
    assert_eq!(production.status.code(), Some(1), "{}", text(&production));
    assert!(
        text(&production).contains("signature"),
        "{}",
        text(&production)
    );
    let staging = registry.client(&tokens[1], &["promote", "ml/m:1", "--stage", "staging"]);
    assert_eq!(staging.status.code(), Some(0), "{}", text(&staging));
}
