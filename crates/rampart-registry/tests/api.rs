//! The registry over HTTP: a server on 127.0.0.1:0 with a fresh data directory per test.

use std::path::PathBuf;
use std::sync::Arc;

use rampart_integrity::{HashAlgorithm, HashOptions, Serialization, SigningKey};
use rampart_registry::{Registry, ServeOptions};
use serde_json::{Value, json};
use sha2::Digest as _;

mod common;
use common::{Running, serve_in_background};

struct Server {
    base: String,
    data: PathBuf,
    backends: rampart_registry::Backends,
    /// `s3://…` when the suite runs against an object store.
    storage: Option<String>,
    admin: String,
    agent: ureq::Agent,
    /// `None` once stopped by [`Server::shutdown_and_keep`].
    running: Option<Running>,
    _dir: tempfile::TempDir,
}

fn start_with(options: ServeOptions) -> Server {
    start_server(options, false)
}

fn start_server(options: ServeOptions, tls: bool) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let backends = test_backends();
    let storage = common::test_storage();
    let admin = Registry::init_with(&data, &backends).expect("init");
    let registry =
        Arc::new(Registry::open_with_storage(&data, &backends, storage.as_deref()).expect("open"));
    let running = serve_in_background(registry, options, tls);
    Server {
        base: running.base.clone(),
        agent: running.agent.clone(),
        data,
        backends,
        storage,
        admin,
        running: Some(running),
        _dir: dir,
    }
}

/// The metadata backend under test: the data directory's SQLite database, or a fresh
/// PostgreSQL database per server when `RAMPART_TEST_DATABASE_URL` is set (as
/// tests/interop/registry_pg_s3.sh does).
fn test_backends() -> rampart_registry::Backends {
    let database = std::env::var("RAMPART_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .map(|url| {
            #[cfg(feature = "postgres")]
            {
                rampart_registry::store_postgres::testing::fresh_database(&url)
                    .expect("a fresh test database")
            }
            #[cfg(not(feature = "postgres"))]
            {
                panic!("RAMPART_TEST_DATABASE_URL={url} needs `--features postgres`")
            }
        });
    rampart_registry::Backends { database }
}

/// Files (not directories) under `dir`.
/// Files under `dir`, but for the lock a process sharing a database holds on its own
/// `tmp/proc-…` while it runs.
fn files_under(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .expect("list")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| !path.ends_with(".lock"))
        .map(|path| if path.is_dir() { files_under(&path) } else { 1 })
        .sum()
}

fn start() -> Server {
    start_with(ServeOptions::default())
}

fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// A response: status and body.
struct Reply {
    status: u16,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Server {
    fn request(&self, method: &str, path: &str, token: Option<&str>, body: Option<&[u8]>) -> Reply {
        let url = format!("{}{path}", self.base);
        let authorization = token.map(|token| format!("Bearer {token}"));
        macro_rules! with_auth {
            ($builder:expr) => {{
                let builder = $builder;
                match &authorization {
                    Some(value) => builder.header("Authorization", value),
                    None => builder,
                }
            }};
        }
        let response = match method {
            "GET" => with_auth!(self.agent.get(&url)).call(),
            "HEAD" => with_auth!(self.agent.head(&url)).call(),
            "PUT" => with_auth!(self.agent.put(&url))
                .header("Content-Type", "application/json")
                .send(body.unwrap_or_default()),
            "POST" => with_auth!(self.agent.post(&url))
                .header("Content-Type", "application/json")
                .send(body.unwrap_or_default()),
            other => panic!("method {other}"),
        };
        let mut response = response.unwrap_or_else(|error| panic!("{method} {path}: {error}"));
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .unwrap_or_default();
        Reply { status, body }
    }

    fn get(&self, path: &str, token: &str) -> Reply {
        self.request("GET", path, Some(token), None)
    }

    fn post(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.request("POST", path, Some(token), Some(body.to_string().as_bytes()))
    }

    fn put_json(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.request("PUT", path, Some(token), Some(body.to_string().as_bytes()))
    }

    fn put_blob(&self, token: &str, bytes: &[u8]) -> Reply {
        self.request(
            "PUT",
            &format!("/api/v1/blobs/{}", digest_of(bytes)),
            Some(token),
            Some(bytes),
        )
    }

    fn token(&self, user: &str, role: &str, namespace: &str) -> String {
        let reply = self.post(
            "/api/v1/tokens",
            &self.admin,
            &json!({ "user": user, "role": role, "namespace": namespace }),
        );
        assert_eq!(reply.status, 201, "{}", reply.text());
        reply.json()["token"].as_str().expect("token").to_owned()
    }

    fn namespace(&self, name: &str, policy: &Value) {
        let reply = self.put_json(&format!("/api/v1/namespaces/{name}"), &self.admin, policy);
        assert!(
            reply.status == 201 || reply.status == 200,
            "{}",
            reply.text()
        );
    }

    /// Uploads `files` and creates the version; returns the reply.
    fn publish(
        &self,
        token: &str,
        object: &str,
        files: &[(&str, &[u8])],
        signature: Option<Value>,
    ) -> Reply {
        let (namespace_model, version) = object.split_once(':').expect("ns/model:version");
        let (namespace, model) = namespace_model.split_once('/').expect("ns/model");
        let mut manifest = Vec::new();
        for (path, bytes) in files {
            let reply = self.put_blob(token, bytes);
            assert!(
                reply.status == 201 || reply.status == 200,
                "{}",
                reply.text()
            );
            manifest.push(json!({ "path": path, "digest": digest_of(bytes), "size": bytes.len() }));
        }
        let mut body = json!({ "version": version, "files": manifest });
        if let Some(signature) = signature {
            body["signature"] = signature;
        }
        self.post(
            &format!("/api/v1/namespaces/{namespace}/models/{model}/versions"),
            token,
            &body,
        )
    }

    /// The blob's file in the data directory (`None` when blobs are in an object store).
    fn blob_file(&self, bytes: &[u8]) -> Option<PathBuf> {
        let hex = hex::encode(sha2::Sha256::digest(bytes));
        self.storage
            .is_none()
            .then(|| self.data.join("blobs/sha256").join(&hex[..2]).join(hex))
    }

    /// Whether the blob is stored, asked as a publisher (who may know about any blob).
    fn blob_stored(&self, publisher: &str, bytes: &[u8]) -> bool {
        let path = format!("/api/v1/blobs/{}", digest_of(bytes));
        match self.request("HEAD", &path, Some(publisher), None).status {
            200 => true,
            404 => false,
            other => panic!("HEAD {path}: {other}"),
        }
    }
}

const CLEAN: &[u8] = b"{\"architectures\": [\"BertModel\"]}\n";
const README: &[u8] = b"# a small model\n";
/// GLOBAL os.system, a string argument, TUPLE1, REDUCE, STOP: runs `id` when unpickled.
const EVIL_PICKLE: &[u8] = b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R.";

#[test]
fn publish_then_download_round_trip() {
    let server = start();
    server.namespace("ml", &json!({}));
    let publisher = server.token("pat", "publisher", "ml");
    let reader = server.token("rita", "reader", "ml");
    let reply = server.publish(
        &publisher,
        "ml/bert:1.0.0",
        &[("config.json", CLEAN), ("docs/README.md", README)],
        None,
    );
    assert_eq!(reply.status, 201, "{}", reply.text());
    let version = reply.json();
    assert_eq!(version["state"], "scanned", "{version}");
    assert_eq!(version["gates"]["scan"]["status"], "passed");
    assert_eq!(version["gates"]["signature"]["status"], "absent");
    assert_eq!(version["publisher"], "pat");
    let audit = version["audit"].as_array().expect("audit");
    assert_eq!(audit.len(), 2, "create and gates: {version}");
    assert!(audit.iter().all(|entry| entry["index"].is_u64()));

    let download = server.get(&format!("/api/v1/blobs/{}", digest_of(README)), &reader);
    assert_eq!(download.status, 200);
    assert_eq!(download.body, README);
    let head = server.request(
        "HEAD",
        &format!("/api/v1/blobs/{}", digest_of(CLEAN)),
        Some(&reader),
        None,
    );
    assert_eq!(head.status, 200);

    // Larger than axum's default body limit: uploads stream without it.
    let weights: Vec<u8> = (0..3u32 << 20).map(|i| (i % 251) as u8).collect();
    let big = server.publish(
        &publisher,
        "ml/bert:2.0.0",
        &[("weights.bin", &weights)],
        None,
    );
    assert_eq!(big.status, 201, "{}", big.text());
    let download = server.get(&format!("/api/v1/blobs/{}", digest_of(&weights)), &reader);
    assert_eq!(download.status, 200);
    assert!(download.body == weights, "the download is byte-identical");

    let listed = server
        .get("/api/v1/namespaces/ml/models/bert/versions", &reader)
        .json();
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
    let found = server.get("/api/v1/search?q=er", &reader).json();
    assert_eq!(found[0]["model"], "bert", "{found}");
}

#[test]
fn versions_and_blobs_are_immutable() {
    let server = start();
    server.namespace("ml", &json!({}));
    let publisher = server.token("pat", "publisher", "ml");
    assert_eq!(
        server
            .publish(&publisher, "ml/m:1", &[("a.json", CLEAN)], None)
            .status,
        201
    );
    let again = server.publish(&publisher, "ml/m:1", &[("a.json", CLEAN)], None);
    assert_eq!(
        again.status,
        200,
        "identical re-create is idempotent: {}",
        again.text()
    );
    let different = server.publish(&publisher, "ml/m:1", &[("a.json", README)], None);
    assert_eq!(different.status, 409, "{}", different.text());
    assert_eq!(different.json()["error"]["code"], "conflict");
    let renamed = server.publish(&publisher, "ml/m:1", &[("b.json", CLEAN)], None);
    assert_eq!(renamed.status, 409);

    let stored = server.blob_file(CLEAN);
    let before = stored
        .as_ref()
        .map(|file| std::fs::metadata(file).expect("stat"));
    let reupload = server.put_blob(&publisher, CLEAN);
    assert_eq!(reupload.status, 200);
    assert_eq!(reupload.json()["created"], false);
    if let (Some(stored), Some(before)) = (stored, before) {
        let after = std::fs::metadata(&stored).expect("stat");
        assert_eq!(
            before.modified().ok(),
            after.modified().ok(),
            "never rewritten"
        );
        assert!(after.permissions().readonly());
    }
    let version = server
        .get("/api/v1/namespaces/ml/models/m/versions/1", &publisher)
        .json();
    assert_eq!(version["files"][0]["path"], "a.json");
}

#[test]
fn a_malicious_pickle_is_quarantined_and_never_served() {
    let server = start();
    server.namespace("ml", &json!({}));
    let publisher = server.token("pat", "publisher", "ml");
    let reader = server.token("rita", "reader", "ml");
    let approver = server.token("abe", "approver", "ml");
    let reply = server.publish(
        &publisher,
        "ml/evil:1",
        &[("model.pkl", EVIL_PICKLE), ("config.json", CLEAN)],
        None,
    );
    assert_eq!(reply.status, 201, "{}", reply.text());
    let version = reply.json();
    assert_eq!(version["state"], "quarantined", "{version}");
    assert_eq!(version["gates"]["scan"]["status"], "failed");
    let reason = version["reason"].as_str().expect("reason");
    assert!(
        reason.contains("model.pkl") && reason.contains("scan gate failed"),
        "{reason}"
    );
    let findings = version["gates"]["scan_report"]["findings"]
        .as_array()
        .expect("findings");
    assert!(
        findings
            .iter()
            .any(|finding| finding.to_string().contains("os.system")
                || finding.to_string().contains("system")),
        "{findings:?}"
    );
    for token in [&reader, &publisher, &approver, &server.admin] {
        let download = server.get(&format!("/api/v1/blobs/{}", digest_of(EVIL_PICKLE)), token);
        assert_eq!(download.status, 404, "quarantined content is never served");
    }
    // The clean file of the same version is not servable either: no version containing it passed.
    assert_eq!(
        server
            .get(&format!("/api/v1/blobs/{}", digest_of(CLEAN)), &reader)
            .status,
        404
    );
    let approve = server.post(
        "/api/v1/namespaces/ml/models/evil/versions/1/approve",
        &approver,
        &json!({}),
    );
    assert_eq!(approve.status, 409, "{}", approve.text());
    let forced = server.post(
        "/api/v1/namespaces/ml/models/evil/stages/production",
        &server.admin,
        &json!({ "version": "1", "override_reason": "incident 42" }),
    );
    assert_eq!(
        forced.status, 409,
        "not even an override promotes quarantined content"
    );
}

fn ed25519(seed: u8) -> (SigningKey, String) {
    let key = SigningKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[seed; 32]));
    let pem = key.verifying_key().to_pem();
    (key, pem)
}

fn sign(files: &[(&str, &[u8])], key: &SigningKey) -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("model");
    for (path, bytes) in files {
        let target = model.join(path);
        std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        std::fs::write(target, bytes).expect("write");
    }
    let options = HashOptions::new(Serialization::Files {
        hash: HashAlgorithm::Sha256,
    });
    let (_, bundle) = rampart_integrity::sign_model(&model, &options, key, None).expect("sign");
    serde_json::from_slice(&bundle).expect("bundle json")
}

#[test]
fn signatures_gate_versions_and_stages() {
    let server = start();
    let (trusted, trusted_pem) = ed25519(7);
    let (untrusted, _) = ed25519(9);
    server.namespace(
        "signed",
        &json!({
            "trusted_keys": [trusted_pem],
            "stages": { "production": { "require_signature": true, "approvals": 1 } }
        }),
    );
    let publisher = server.token("pat", "publisher", "signed");
    let approver = server.token("abe", "approver", "signed");
    let files: &[(&str, &[u8])] = &[("config.json", CLEAN), ("docs/README.md", README)];

    let good = server.publish(&publisher, "signed/m:1", files, Some(sign(files, &trusted)));
    assert_eq!(good.status, 201, "{}", good.text());
    assert_eq!(good.json()["state"], "verified", "{}", good.text());
    assert_eq!(good.json()["gates"]["signature"]["status"], "passed");

    let wrong_key = server.publish(
        &publisher,
        "signed/m:2",
        files,
        Some(sign(files, &untrusted)),
    );
    assert_eq!(
        wrong_key.json()["state"],
        "quarantined",
        "{}",
        wrong_key.text()
    );
    assert!(
        wrong_key.json()["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("signature gate failed")
    );

    let other_files: &[(&str, &[u8])] = &[("config.json", README)];
    let mismatch = server.publish(
        &publisher,
        "signed/m:3",
        other_files,
        Some(sign(files, &trusted)),
    );
    assert_eq!(
        mismatch.json()["state"],
        "quarantined",
        "signed files differ: {}",
        mismatch.text()
    );

    let unsigned = server.publish(&publisher, "signed/m:4", files, None);
    assert_eq!(unsigned.json()["state"], "scanned");

    for version in ["1", "4"] {
        let approve = server.post(
            &format!("/api/v1/namespaces/signed/models/m/versions/{version}/approve"),
            &approver,
            &json!({}),
        );
        assert_eq!(approve.status, 200, "{}", approve.text());
        assert_eq!(approve.json()["state"], "approved");
    }
    let refused = server.post(
        "/api/v1/namespaces/signed/models/m/stages/production",
        &approver,
        &json!({ "version": "4" }),
    );
    assert_eq!(refused.status, 409, "{}", refused.text());
    assert!(refused.text().contains("requires a verified signature"));
    let promoted = server.post(
        "/api/v1/namespaces/signed/models/m/stages/production",
        &approver,
        &json!({ "version": "1" }),
    );
    assert_eq!(promoted.status, 200, "{}", promoted.text());
    assert_eq!(promoted.json()["current"]["production"], "1");
    // Staging has the default policy (one approval, no signature).
    let staging = server.post(
        "/api/v1/namespaces/signed/models/m/stages/staging",
        &approver,
        &json!({ "version": "4" }),
    );
    assert_eq!(staging.status, 200, "{}", staging.text());

    let malformed = server.publish(
        &publisher,
        "signed/m:5",
        files,
        Some(json!({ "mediaType": 3 })),
    );
    assert_eq!(malformed.status, 400, "{}", malformed.text());
    assert_eq!(
        server
            .get("/api/v1/namespaces/signed/models/m/versions/5", &publisher)
            .status,
        404
    );
}

#[test]
fn promotion_rollback_and_yank() {
    let server = start();
    server.namespace("ml", &json!({}));
    let publisher = server.token("pat", "publisher", "ml");
    let approver = server.token("abe", "approver", "ml");
    for (version, bytes) in [("1", CLEAN), ("2", README)] {
        assert_eq!(
            server
                .publish(
                    &publisher,
                    &format!("ml/m:{version}"),
                    &[("f", bytes)],
                    None
                )
                .status,
            201
        );
        let approve = server.post(
            &format!("/api/v1/namespaces/ml/models/m/versions/{version}/approve"),
            &approver,
            &json!({}),
        );
        assert_eq!(approve.status, 200);
        let promote = server.post(
            "/api/v1/namespaces/ml/models/m/stages/production",
            &approver,
            &json!({ "version": version }),
        );
        assert_eq!(promote.status, 200, "{}", promote.text());
    }
    let rollback = server.post(
        "/api/v1/namespaces/ml/models/m/stages/production/rollback",
        &approver,
        &json!({}),
    );
    assert_eq!(rollback.status, 200, "{}", rollback.text());
    assert_eq!(rollback.json()["current"]["production"], "1");
    let history = rollback.json()["history"].as_array().map(Vec::len);
    assert_eq!(history, Some(3));

    let yank = server.post(
        "/api/v1/namespaces/ml/models/m/versions/2/yank",
        &server.admin,
        &json!({ "reason": "CVE in tokenizer" }),
    );
    assert_eq!(yank.status, 200, "{}", yank.text());
    assert_eq!(yank.json()["state"], "yanked");
    assert_eq!(
        server
            .get(&format!("/api/v1/blobs/{}", digest_of(README)), &approver)
            .status,
        404
    );
    let no_reason = server.post(
        "/api/v1/namespaces/ml/models/m/versions/1/yank",
        &server.admin,
        &json!({ "reason": " " }),
    );
    assert_eq!(no_reason.status, 400);
    // Rolling back again finds no other approved version (2 is yanked).
    let again = server.post(
        "/api/v1/namespaces/ml/models/m/stages/production/rollback",
        &approver,
        &json!({}),
    );
    assert_eq!(again.status, 409, "{}", again.text());
}

#[test]
fn separation_of_duties_and_audited_overrides() {
    let server = start();
    server.namespace("ml", &json!({}));
    let alice_publisher = server.token("alice", "publisher", "ml");
    let alice_approver = server.token("alice", "approver", "ml");
    let alice_admin = server.token("alice", "admin", "ml");
    let bob_approver = server.token("bob", "approver", "ml");
    let carol_admin = server.token("carol", "admin", "ml");
    assert_eq!(
        server
            .publish(&alice_publisher, "ml/m:1", &[("f", CLEAN)], None)
            .status,
        201
    );
    assert_eq!(
        server
            .publish(&alice_publisher, "ml/m:2", &[("f", README)], None)
            .status,
        201
    );
    let approve = |token: &str, version: &str| {
        server
            .post(
                &format!("/api/v1/namespaces/ml/models/m/versions/{version}/approve"),
                token,
                &json!({}),
            )
            .status
    };
    let promote = |token: &str, body: Value| {
        server.post(
            "/api/v1/namespaces/ml/models/m/stages/production",
            token,
            &body,
        )
    };
    assert_eq!(
        approve(&alice_approver, "1"),
        403,
        "the publisher cannot approve her own version"
    );
    assert_eq!(approve(&alice_admin, "1"), 403);
    assert_eq!(
        approve(&carol_admin, "1"),
        403,
        "admin does not imply approver"
    );
    assert_eq!(approve(&bob_approver, "1"), 200);
    assert_eq!(approve(&bob_approver, "1"), 409, "one approval per user");
    assert_eq!(
        promote(&alice_approver, json!({ "version": "1" })).status,
        403
    );
    assert_eq!(
        promote(
            &alice_admin,
            json!({ "version": "1", "override_reason": "hotfix" })
        )
        .status,
        403
    );
    assert_eq!(
        promote(&carol_admin, json!({ "version": "1" })).status,
        403,
        "admins move stages only by override"
    );
    assert_eq!(
        promote(&bob_approver, json!({ "version": "2" })).status,
        409,
        "2 is not approved"
    );
    let forced = promote(
        &carol_admin,
        json!({ "version": "2", "override_reason": "incident 7: roll forward" }),
    );
    assert_eq!(forced.status, 200, "{}", forced.text());
    assert_eq!(forced.json()["history"][0]["action"], "override");

    // The override is its own audit event, with the reason, in the log.
    let audit = server.get("/api/v1/log/checkpoint", &bob_approver);
    assert_eq!(audit.status, 200);
    let size: u64 = audit
        .text()
        .lines()
        .nth(1)
        .and_then(|line| line.parse().ok())
        .expect("size");
    let last = server
        .get(&format!("/api/v1/log/entries/{}", size - 1), &bob_approver)
        .json();
    assert_eq!(last["action"], "stage.override", "{last}");
    assert_eq!(last["actor"], "carol");
    assert_eq!(
        last["details"]["override_reason"],
        "incident 7: roll forward"
    );
    assert_eq!(last["object"], "ml/m@production");
}

#[test]
fn bad_input_is_refused_and_nothing_is_stored() {
    let server = start_with(ServeOptions {
        max_upload_size: 1024,
        max_json_size: 4096,
    });
    server.namespace("ml", &json!({}));
    let publisher = server.token("pat", "publisher", "ml");

    let wrong = server.request(
        "PUT",
        &format!("/api/v1/blobs/{}", digest_of(b"claimed")),
        Some(&publisher),
        Some(b"actual"),
    );
    assert_eq!(wrong.status, 400);
    assert_eq!(wrong.json()["error"]["code"], "digest_mismatch");
    assert!(
        !server.blob_stored(&publisher, b"claimed") && !server.blob_stored(&publisher, b"actual")
    );
    let big = vec![7u8; 2000];
    assert_eq!(server.put_blob(&publisher, &big).status, 413);
    assert!(!server.blob_stored(&publisher, &big));
    assert_eq!(files_under(&server.data.join("tmp")), 0, "staging cleaned");
    let bad_digest = server.request(
        "PUT",
        "/api/v1/blobs/sha256:XYZ",
        Some(&publisher),
        Some(b"x"),
    );
    assert_eq!(bad_digest.status, 400);

    assert_eq!(server.put_blob(&publisher, CLEAN).status, 201);
    let file = |path: &str| json!({ "version": "1", "files": [{ "path": path, "digest": digest_of(CLEAN), "size": CLEAN.len() }] });
    for path in [
        "../escape",
        "/etc/passwd",
        "a/../../b",
        "a\u{0}b",
        "a\\b",
        "",
        "a//b",
    ] {
        let reply = server.post(
            "/api/v1/namespaces/ml/models/m/versions",
            &publisher,
            &file(path),
        );
        assert_eq!(reply.status, 400, "{path:?}: {}", reply.text());
        assert_eq!(reply.json()["error"]["code"], "bad_request");
    }
    let duplicate = json!({ "version": "1", "files": [
        { "path": "a", "digest": digest_of(CLEAN), "size": CLEAN.len() },
        { "path": "a", "digest": digest_of(CLEAN), "size": CLEAN.len() }] });
    assert_eq!(
        server
            .post(
                "/api/v1/namespaces/ml/models/m/versions",
                &publisher,
                &duplicate
            )
            .status,
        400
    );
    let invalid_name = server.post(
        "/api/v1/namespaces/ml/models/Bad%20Name/versions",
        &publisher,
        &file("a"),
    );
    assert_eq!(invalid_name.status, 400, "{}", invalid_name.text());
    let mut invalid_version = file("a");
    invalid_version["version"] = json!("../1");
    assert_eq!(
        server
            .post(
                "/api/v1/namespaces/ml/models/m/versions",
                &publisher,
                &invalid_version
            )
            .status,
        400
    );
    let wrong_size = json!({ "version": "1", "files": [{ "path": "a", "digest": digest_of(CLEAN), "size": 1 }] });
    assert_eq!(
        server
            .post(
                "/api/v1/namespaces/ml/models/m/versions",
                &publisher,
                &wrong_size
            )
            .status,
        400
    );
    let missing_blob = json!({ "version": "1", "files": [{ "path": "a", "digest": digest_of(b"never uploaded"), "size": 14 }] });
    assert_eq!(
        server
            .post(
                "/api/v1/namespaces/ml/models/m/versions",
                &publisher,
                &missing_blob
            )
            .status,
        400
    );
    for body in [
        &b"{not json"[..],
        b"[]",
        b"{\"version\":\"1\"}",
        b"{\"version\":\"1\",\"files\":[],\"extra\":1}",
    ] {
        let reply = server.request(
            "POST",
            "/api/v1/namespaces/ml/models/m/versions",
            Some(&publisher),
            Some(body),
        );
        assert_eq!(reply.status, 400, "{}", reply.text());
    }
    let huge = json!({ "version": "1", "files": [], "signature": { "pad": "x".repeat(5000) } });
    assert_eq!(
        server
            .post("/api/v1/namespaces/ml/models/m/versions", &publisher, &huge)
            .status,
        413
    );
    assert_eq!(
        server
            .get("/api/v1/namespaces/ml/models/m/versions", &publisher)
            .json(),
        json!([]),
        "no version was stored"
    );
    assert_eq!(
        server
            .request("GET", "/api/v1/nowhere", Some(&publisher), None)
            .status,
        404
    );
    assert_eq!(
        server
            .get("/api/v1/log/proof/inclusion?index=abc", &publisher)
            .status,
        400
    );
    assert_eq!(
        server
            .get("/api/v1/log/proof/inclusion?index=999999", &publisher)
            .status,
        404
    );
    let bad_policy = server.put_json(
        "/api/v1/namespaces/ml",
        &server.admin,
        &json!({ "trusted_keys": ["not a key"] }),
    );
    assert_eq!(bad_policy.status, 400);
}

#[test]
fn every_action_is_in_a_verifiable_audit_log() {
    let server = start();
    server.namespace("ml", &json!({}));
    let publisher = server.token("pat", "publisher", "ml");
    let approver = server.token("abe", "approver", "ml");
    let reader = server.token("rita", "reader", "ml");
    let version = server
        .publish(&publisher, "ml/m:1", &[("f", CLEAN)], None)
        .json();
    server.post(
        "/api/v1/namespaces/ml/models/m/versions/1/approve",
        &approver,
        &json!({}),
    );
    server.post(
        "/api/v1/namespaces/ml/models/m/stages/production",
        &approver,
        &json!({ "version": "1" }),
    );
    let tokens = server.get("/api/v1/tokens", &server.admin).json();
    let reader_id = tokens
        .as_array()
        .expect("tokens")
        .iter()
        .find(|token| token["user"] == "rita")
        .expect("rita")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(
        server
            .post(
                &format!("/api/v1/tokens/{reader_id}/revoke"),
                &server.admin,
                &json!({})
            )
            .status,
        200
    );
    assert_eq!(
        server.get("/api/v1/namespaces", &reader).status,
        401,
        "revoked at once"
    );

    let key_text = server.get("/api/v1/log/key", &approver).text();
    let key = rampart_tlog::VerifierKey::parse(key_text.trim()).expect("log key");
    let policy = rampart_tlog::TrustPolicy::new(key.clone()).expect("policy");
    let checkpoint = server.get("/api/v1/log/checkpoint", &approver).text();
    let size: u64 = checkpoint
        .lines()
        .nth(1)
        .and_then(|line| line.parse().ok())
        .expect("size");
    // init's admin token, 3 tokens, namespace, create, gates, approve, promote, revoke
    assert_eq!(size, 10, "{checkpoint}");
    let mut actions = Vec::new();
    for index in 0..size {
        let entry = server.get(&format!("/api/v1/log/entries/{index}"), &approver);
        assert_eq!(entry.status, 200);
        let proof = server.get(
            &format!("/api/v1/log/proof/inclusion?index={index}&size={size}"),
            &approver,
        );
        assert_eq!(proof.status, 200, "{}", proof.text());
        let verified = rampart_tlog::TlogProof::verify_text(
            proof.text().as_bytes(),
            &policy,
            Some(&entry.body),
        )
        .expect("inclusion proof verifies");
        assert!(verified.entry_checked);
        actions.push(entry.json()["action"].as_str().expect("action").to_owned());
    }
    assert_eq!(
        actions,
        [
            "token.create",
            "namespace.create",
            "token.create",
            "token.create",
            "token.create",
            "version.create",
            "version.gates",
            "version.approve",
            "stage.promote",
            "token.revoke",
        ]
    );
    let indexes: Vec<u64> = version["audit"]
        .as_array()
        .expect("audit")
        .iter()
        .map(|entry| entry["index"].as_u64().expect("index"))
        .collect();
    assert_eq!(indexes, [5, 6]);
    let consistency = server.get("/api/v1/log/proof/consistency?from=3", &approver);
    assert_eq!(consistency.status, 200, "{}", consistency.text());

    drop(server.shutdown_and_keep());
}

impl Server {
    /// Stops the server, then checks the whole log offline as `rampart registry verify-log` does.
    fn shutdown_and_keep(mut self) -> PathBuf {
        drop(self.running.take());
        // The data directory's log, or the database's when it keeps the log.
        let report =
            Registry::verify_log(&self.data, &self.backends, None).expect("the log verifies");
        assert_eq!(report.size, 10);
        // The registry reopens cleanly: nothing pending, nothing to repair.
        let reopened =
            Registry::open_with_storage(&self.data, &self.backends, self.storage.as_deref())
                .expect("reopen");
        drop(reopened);
        self.data.clone()
    }
}

/// Statuses per caller: no token, a reader of another namespace, reader, publisher,
/// approver, admin (all of namespace `ml` except the outsider).
type Row = (&'static str, String, Option<Value>, [u16; 6]);

#[test]
fn rbac_matrix() {
    let server = start();
    server.namespace("ml", &json!({}));
    server.namespace("other", &json!({}));
    let outsider = server.token("otto", "reader", "other");
    let reader = server.token("rita", "reader", "ml");
    let publisher = server.token("pat", "publisher", "ml");
    let approver = server.token("abe", "approver", "ml");
    let admin = server.token("ada", "admin", "ml");
    assert_eq!(
        server
            .publish(&publisher, "ml/m:1", &[("f", CLEAN)], None)
            .status,
        201
    );
    let new_token = json!({ "user": "new", "role": "reader", "namespace": "ml" });
    // A token to revoke, issued by the namespace admin.
    let victim = server.post("/api/v1/tokens", &admin, &new_token).json()["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let new_blob: &[u8] = b"fresh bytes";
    let version_body = json!({ "version": "3", "files": [{ "path": "f", "digest": digest_of(CLEAN), "size": CLEAN.len() }] });
    let v = "/api/v1/namespaces/ml/models/m";
    let rows: Vec<Row> = vec![
        (
            "GET",
            "/healthz".into(),
            None,
            [200, 200, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/openapi.json".into(),
            None,
            [200, 200, 200, 200, 200, 200],
        ),
        (
            "HEAD",
            format!("/api/v1/blobs/{}", digest_of(CLEAN)),
            None,
            [401, 404, 200, 200, 200, 200],
        ),
        (
            "GET",
            format!("/api/v1/blobs/{}", digest_of(CLEAN)),
            None,
            [401, 404, 200, 200, 200, 200],
        ),
        (
            "PUT",
            format!("/api/v1/blobs/{}", digest_of(new_blob)),
            Some(json!(null)),
            [401, 403, 403, 201, 403, 403],
        ),
        // A malformed digest is a 400, but only after authentication.
        (
            "HEAD",
            "/api/v1/blobs/sha256:XYZ".into(),
            None,
            [401, 400, 400, 400, 400, 400],
        ),
        (
            "GET",
            "/api/v1/blobs/sha256:XYZ".into(),
            None,
            [401, 400, 400, 400, 400, 400],
        ),
        (
            "PUT",
            "/api/v1/blobs/not-a-digest".into(),
            Some(json!(null)),
            [401, 400, 400, 400, 400, 400],
        ),
        (
            "GET",
            "/api/v1/namespaces".into(),
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/api/v1/namespaces/ml".into(),
            None,
            [401, 403, 200, 200, 200, 200],
        ),
        (
            "PUT",
            "/api/v1/namespaces/ml".into(),
            Some(json!({})),
            [401, 403, 403, 403, 403, 200],
        ),
        (
            "GET",
            "/api/v1/namespaces/ml/models".into(),
            None,
            [401, 403, 200, 200, 200, 200],
        ),
        (
            "GET",
            format!("{v}/versions"),
            None,
            [401, 403, 200, 200, 200, 200],
        ),
        (
            "POST",
            format!("{v}/versions"),
            Some(version_body),
            [401, 403, 403, 201, 403, 403],
        ),
        (
            "GET",
            format!("{v}/versions/1"),
            None,
            [401, 403, 200, 200, 200, 200],
        ),
        (
            "POST",
            format!("{v}/versions/1/approve"),
            Some(json!({})),
            [401, 403, 403, 403, 200, 403],
        ),
        (
            "GET",
            format!("{v}/stages"),
            None,
            [401, 403, 200, 200, 200, 200],
        ),
        (
            "POST",
            format!("{v}/stages/staging"),
            Some(json!({ "version": "1" })),
            [401, 403, 403, 403, 200, 403],
        ),
        (
            "POST",
            format!("{v}/stages/staging/rollback"),
            Some(json!({})),
            [401, 403, 403, 403, 409, 403],
        ),
        (
            "POST",
            format!("{v}/versions/3/yank"),
            Some(json!({ "reason": "test" })),
            [401, 403, 403, 403, 403, 200],
        ),
        (
            "GET",
            "/api/v1/search?q=m".into(),
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/api/v1/tokens".into(),
            None,
            [401, 403, 403, 403, 403, 200],
        ),
        (
            "POST",
            "/api/v1/tokens".into(),
            Some(new_token),
            [401, 403, 403, 403, 403, 201],
        ),
        (
            "POST",
            format!("/api/v1/tokens/{victim}/revoke"),
            Some(json!({})),
            [401, 403, 403, 403, 403, 200],
        ),
        (
            "GET",
            "/api/v1/log/key".into(),
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/api/v1/log/checkpoint".into(),
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/api/v1/log/proof/inclusion?index=0".into(),
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/api/v1/log/proof/consistency?from=1".into(),
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/api/v1/log/entries/0".into(),
            None,
            [401, 200, 200, 200, 200, 200],
        ),
    ];
    let callers: [Option<&str>; 6] = [
        None,
        Some(&outsider),
        Some(&reader),
        Some(&publisher),
        Some(&approver),
        Some(&admin),
    ];
    let mut mismatches = Vec::new();
    let mut covered = std::collections::BTreeSet::new();
    for (method, path, body, expected) in &rows {
        let body_bytes = match body {
            Some(Value::Null) => Some(new_blob.to_vec()),
            Some(value) => Some(value.to_string().into_bytes()),
            None => None,
        };
        for (caller, want) in callers.iter().zip(expected) {
            let reply = server.request(method, path, *caller, body_bytes.as_deref());
            if reply.status != *want {
                mismatches.push(format!(
                    "{method} {path} as caller {:?}: {} (wanted {want}) {}",
                    caller.map(|t| &t[..8]),
                    reply.status,
                    reply.text()
                ));
            }
        }
        let template = path
            .split('?')
            .next()
            .unwrap_or_default()
            .replace(&digest_of(CLEAN), "{digest}")
            .replace(&digest_of(new_blob), "{digest}")
            .replace("sha256:XYZ", "{digest}")
            .replace("not-a-digest", "{digest}")
            .replace("/ml/models/m/", "/{namespace}/models/{model}/")
            .replace("/namespaces/ml", "/namespaces/{namespace}")
            .replace("/versions/1", "/versions/{version}")
            .replace("/versions/3", "/versions/{version}")
            .replace("/stages/staging", "/stages/{stage}")
            .replace(&victim, "{id}")
            .replace("/entries/0", "/entries/{index}");
        covered.insert((method.to_string(), template));
    }
    assert!(
        mismatches.is_empty(),
        "RBAC mismatches:\n{}",
        mismatches.join("\n")
    );
    let all: std::collections::BTreeSet<(String, String)> = rampart_registry::api::route_table()
        .into_iter()
        .map(|(m, p)| (m.to_owned(), p.to_owned()))
        .collect();
    assert_eq!(covered, all, "the matrix covers every endpoint");
}

fn attest(files: &[(&str, &[u8])], key: &SigningKey) -> Value {
    use rampart_integrity::provenance::{Artifact, Run};
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("model");
    for (path, bytes) in files {
        let target = model.join(path);
        std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        std::fs::write(target, bytes).expect("write");
    }
    let run = Run {
        command: vec!["python".into(), "train.py".into()],
        working_directory: "/work".into(),
        parameters: Default::default(),
        materials: Vec::new(),
        products: vec![Artifact::of(&model).expect("product")],
        git: None,
        builder_id: "https://ci.example/runner".into(),
        invocation_id: "run-1".into(),
        started_on: "2026-01-01T00:00:00Z".into(),
        finished_on: "2026-01-01T01:00:00Z".into(),
        internal: Default::default(),
    };
    serde_json::from_slice(&run.sign(key)).expect("envelope json")
}

#[test]
fn provenance_gates_versions_and_stages() {
    let server = start();
    let (trusted, trusted_pem) = ed25519(11);
    let (untrusted, _) = ed25519(12);
    server.namespace(
        "ml",
        &json!({
            "trusted_keys": [trusted_pem],
            "stages": { "production": { "require_provenance": true } }
        }),
    );
    let publisher = server.token("pat", "publisher", "ml");
    let approver = server.token("abe", "approver", "ml");
    let files: &[(&str, &[u8])] = &[("config.json", CLEAN), ("README.md", README)];
    let create = |version: &str, provenance: Value| {
        for (_, bytes) in files {
            server.put_blob(&publisher, bytes);
        }
        let manifest: Vec<Value> = files
            .iter()
            .map(|(path, bytes)| json!({ "path": path, "digest": digest_of(bytes), "size": bytes.len() }))
            .collect();
        server.post(
            "/api/v1/namespaces/ml/models/m/versions",
            &publisher,
            &json!({ "version": version, "files": manifest, "provenance": provenance }),
        )
    };
    let good = create("1", attest(files, &trusted));
    assert_eq!(good.status, 201, "{}", good.text());
    assert_eq!(
        good.json()["gates"]["provenance"]["status"],
        "passed",
        "{}",
        good.text()
    );
    assert_eq!(good.json()["state"], "scanned");
    let other_product = create("2", attest(&[("config.json", README)], &trusted));
    assert_eq!(
        other_product.json()["state"],
        "quarantined",
        "{}",
        other_product.text()
    );
    assert!(
        other_product.json()["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("provenance gate failed")
    );
    let wrong_key = create("3", attest(files, &untrusted));
    assert_eq!(
        wrong_key.json()["state"],
        "quarantined",
        "{}",
        wrong_key.text()
    );
    let not_envelope = create("4", json!({ "payload": 1 }));
    assert_eq!(not_envelope.status, 400, "{}", not_envelope.text());

    // A version without provenance can be approved but not promoted to production.
    assert_eq!(
        server.publish(&publisher, "ml/m:5", files, None).status,
        201
    );
    for version in ["1", "5"] {
        let approve = server.post(
            &format!("/api/v1/namespaces/ml/models/m/versions/{version}/approve"),
            &approver,
            &json!({}),
        );
        assert_eq!(approve.status, 200, "{}", approve.text());
    }
    let refused = server.post(
        "/api/v1/namespaces/ml/models/m/stages/production",
        &approver,
        &json!({ "version": "5" }),
    );
    assert_eq!(refused.status, 409, "{}", refused.text());
    assert!(refused.text().contains("requires verified provenance"));
    let promoted = server.post(
        "/api/v1/namespaces/ml/models/m/stages/production",
        &approver,
        &json!({ "version": "1" }),
    );
    assert_eq!(promoted.status, 200, "{}", promoted.text());
    let version = server
        .get("/api/v1/namespaces/ml/models/m/versions/1", &approver)
        .json();
    assert_eq!(
        version["stage_history"][0]["stage"], "production",
        "{version}"
    );
    assert_eq!(version["stage_history"][0]["actor"], "abe");
}

#[test]
fn a_version_a_crash_left_ungated_is_gated_and_logged_at_start() {
    use rampart_registry::audit::AuditEvent;
    use rampart_registry::store::{Change, MetadataStore, SqliteStore};
    use rampart_registry::{FileEntry, NewToken, Role, State, VersionRecord};

    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let admin_token = Registry::init(&data).expect("init");
    let record = {
        let registry = Registry::open(&data).expect("open");
        let admin = registry.authenticate(&admin_token).expect("admin");
        registry
            .put_namespace(&admin, "ml", Default::default())
            .expect("namespace");
        let issued = registry
            .create_token_locally(NewToken {
                user: "pat".into(),
                role: Role::Publisher,
                namespace: "ml".into(),
                expires_in_days: None,
            })
            .expect("token");
        let publisher = registry.authenticate(&issued.token).expect("publisher");
        let digest = rampart_registry::Digest::parse(&digest_of(CLEAN)).expect("digest");
        match registry.begin_upload(&publisher, &digest).expect("upload") {
            rampart_registry::registry::Upload::Expecting(mut writer) => {
                writer.write(CLEAN).expect("write");
                assert!(writer.commit(&digest).expect("commit"));
            }
            rampart_registry::registry::Upload::Present(_) => panic!("new blob"),
        }
        let files = vec![FileEntry {
            path: "config.json".into(),
            digest,
            size: CLEAN.len() as u64,
        }];
        VersionRecord {
            namespace: "ml".into(),
            model: "m".into(),
            version: "1".into(),
            manifest_digest: rampart_registry::types::manifest_digest(&files),
            files,
            signature: None,
            provenance: None,
            publisher: "pat".into(),
            state: State::Quarantined,
            reason: None,
            created_at: rampart_registry::audit::now(),
            gates: None,
            approvals: Vec::new(),
            audit: Vec::new(),
            stage_history: Vec::new(),
        }
    };
    // The crash: the version and its audit entry committed, the log append and the gates never ran.
    let store = SqliteStore::open(&data.join("registry.sqlite")).expect("store");
    let event = AuditEvent::new("version.create", "pat", record.object());
    store
        .apply(&Change::CreateVersion(Box::new(record)), &[event])
        .expect("apply");
    assert_eq!(store.pending_audit().expect("pending").len(), 1);
    drop(store);

    let registry = Registry::open(&data).expect("reopen recovers");
    let admin = registry.authenticate(&admin_token).expect("admin");
    let version = registry.version(&admin, "ml", "m", "1").expect("version");
    assert_eq!(version.state, State::Scanned, "{:?}", version.reason);
    let actions: Vec<(&str, Option<u64>)> = version
        .audit
        .iter()
        .map(|entry| (entry.action.as_str(), entry.index))
        .collect();
    assert_eq!(
        actions,
        [("version.create", Some(3)), ("version.gates", Some(4))]
    );
    drop(registry);
    let log = rampart_tlog::Log::open_read_only(&data.join("log")).expect("log");
    assert_eq!(log.verify_all().expect("verifies").size, 5);
}

#[test]
fn tls_serves_the_api_and_refuses_plain_http() {
    let server = start_server(ServeOptions::default(), true);
    assert!(server.base.starts_with("https://127.0.0.1:"));
    let health = server.request("GET", "/healthz", None, None);
    assert_eq!(health.status, 200, "{}", health.text());
    let namespaces = server.get("/api/v1/namespaces", &server.admin);
    assert_eq!(namespaces.status, 200);
    let plain: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(5)))
        .build()
        .into();
    let over_http = plain
        .get(server.base.replace("https://", "http://") + "/healthz")
        .call();
    assert!(
        over_http.is_err(),
        "plain HTTP gets no answer from the TLS port"
    );
}

#[test]
fn expired_and_revoked_tokens_are_refused() {
    use rampart_registry::store::{Change, MetadataStore, SqliteStore};
    use rampart_registry::{Role, TokenRecord};

    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let admin_token = Registry::init(&data).expect("init");
    let secret = "rmp_expired-token-for-the-test";
    let store = SqliteStore::open(&data.join("registry.sqlite")).expect("store");
    store
        .apply(
            &Change::CreateToken {
                record: TokenRecord {
                    id: "tok_expired".into(),
                    user: "old".into(),
                    role: Role::Reader,
                    namespace: "*".into(),
                    expires_at: Some("2020-01-01T00:00:00Z".into()),
                    revoked: false,
                    created_at: "2019-01-01T00:00:00Z".into(),
                    created_by: "test".into(),
                },
                hash: sha2::Sha256::digest(secret.as_bytes()).into(),
            },
            &[],
        )
        .expect("insert");
    drop(store);
    let registry = Registry::open(&data).expect("open");
    assert!(matches!(
        registry.authenticate(secret),
        Err(rampart_registry::Error::Unauthorized(_))
    ));
    assert!(registry.authenticate("rmp_unknown").is_err());
    assert!(registry.authenticate("not-a-token").is_err());
    let admin = registry.authenticate(&admin_token).expect("admin");
    let issued = registry
        .create_token(
            &admin,
            rampart_registry::NewToken {
                user: "short".into(),
                role: Role::Reader,
                namespace: "ml".into(),
                expires_in_days: Some(1),
            },
        )
        .expect("issue");
    assert!(issued.record.expires_at.is_some());
    assert!(registry.authenticate(&issued.token).is_ok());
    registry
        .revoke_token(&admin, &issued.record.id)
        .expect("revoke");
    assert!(
        registry.authenticate(&issued.token).is_err(),
        "revocation clears the cache"
    );
    let zero_days = registry.create_token(
        &admin,
        rampart_registry::NewToken {
            user: "never".into(),
            role: Role::Reader,
            namespace: "ml".into(),
            expires_in_days: Some(0),
        },
    );
    assert!(matches!(
        zero_days,
        Err(rampart_registry::Error::BadRequest(_))
    ));
}
