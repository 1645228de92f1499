//! Crash safety of `rampart serve`: client threads upload blobs, create versions and issue
//! tokens while the server is SIGKILLed at seeded random moments, then restarted. After every
//! restart: no blob whose bytes do not hash to its name, no version without its files and
//! gate results, nothing the clients saw acknowledged is lost, every database change has its
//! audit entry in the log (the outbox is drained) and `rampart log verify` passes.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::Digest as _;

const KILLS: u64 = 24;
const NAMESPACE: &str = "ml";

/// xorshift64*: seeded, so a failing kill schedule can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

fn rampart_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("rampart")
}

fn run_ok(args: &[&std::ffi::OsStr]) -> String {
    let output = std::process::Command::new(rampart_bin())
        .args(args)
        .output()
        .expect("rampart runs");
    assert!(
        output.status.success(),
        "rampart {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

/// The server process, SIGKILLed when dropped (also when an assertion fails).
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill(); // Child::kill is SIGKILL on Unix
        let _ = self.0.wait();
    }
}

fn start_server(data: &Path) -> (Server, String) {
    let mut server = std::process::Command::new(rampart_bin())
        .arg("serve")
        .arg("--data")
        .arg(data)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut line = String::new();
    BufReader::new(server.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "the server did not start after a crash: {line:?}"
    );
    (Server(server), url)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// What the clients saw acknowledged with a 2xx.
#[derive(Default)]
struct Acknowledged {
    blobs: Vec<String>,
    /// `model:version` → manifest digest.
    versions: BTreeMap<String, String>,
    tokens: Vec<String>,
}

/// One publisher's work until the server dies: upload a blob, create a version of it.
fn publish(
    url: &str,
    token: &str,
    worker: u64,
    round: u64,
    seed: u64,
    acknowledged: &Mutex<Acknowledged>,
) {
    let agent = agent();
    let mut rng = Rng(seed | 1);
    for step in 0.. {
        let size = 1024 + rng.below(3 << 20) as usize;
        let line = format!("w{worker} r{round} s{step} {}\n", rng.next());
        let bytes = line.repeat(size / line.len() + 1);
        let digest = digest_of(bytes.as_bytes());
        let put = agent
            .put(format!("{url}/api/v1/blobs/{digest}"))
            .header("Authorization", &format!("Bearer {token}"))
            .send(bytes.as_bytes());
        match put {
            Ok(response) if response.status().is_success() => {
                acknowledged
                    .lock()
                    .expect("lock")
                    .blobs
                    .push(digest.clone());
            }
            _ => return,
        }
        let model = format!("m{worker}");
        let version = format!("{round}.{step}");
        let response = agent
            .post(format!(
                "{url}/api/v1/namespaces/{NAMESPACE}/models/{model}/versions"
            ))
            .header("Authorization", &format!("Bearer {token}"))
            .send(
                json!({
                    "version": version,
                    "files": [{"path": "vocab.txt", "digest": digest, "size": bytes.len()}],
                })
                .to_string(),
            );
        match response {
            Ok(mut response) if response.status().is_success() => {
                let record: Value =
                    serde_json::from_str(&response.body_mut().read_to_string().expect("body"))
                        .expect("json");
                assert_eq!(record["state"], "scanned", "{record}");
                acknowledged.lock().expect("lock").versions.insert(
                    format!("{model}:{version}"),
                    record["manifest_digest"]
                        .as_str()
                        .expect("digest")
                        .to_owned(),
                );
            }
            _ => return,
        }
    }
}

/// An admin issuing tokens until the server dies.
fn issue_tokens(url: &str, admin: &str, round: u64, acknowledged: &Mutex<Acknowledged>) {
    let agent = agent();
    for step in 0.. {
        let response = agent
            .post(format!("{url}/api/v1/tokens"))
            .header("Authorization", &format!("Bearer {admin}"))
            .send(
                json!({"user": format!("u{round}x{step}"), "role": "reader", "namespace": NAMESPACE})
                    .to_string(),
            );
        match response {
            Ok(mut response) if response.status().is_success() => {
                let issued: Value =
                    serde_json::from_str(&response.body_mut().read_to_string().expect("body"))
                        .expect("json");
                acknowledged
                    .lock()
                    .expect("lock")
                    .tokens
                    .push(issued["id"].as_str().expect("id").to_owned());
            }
            _ => return,
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn get_json(agent: &ureq::Agent, url: &str, token: &str) -> Value {
    let mut response = agent
        .get(url)
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .expect("request");
    assert_eq!(response.status().as_u16(), 200, "GET {url}");
    serde_json::from_str(&response.body_mut().read_to_string().expect("body")).expect("json")
}

/// Every blob file's SHA-256 equals its name, and nothing else is under `blobs/`.
fn check_blob_files(data: &Path) -> usize {
    let mut count = 0;
    let root = data.join("blobs/sha256");
    let Ok(prefixes) = std::fs::read_dir(&root) else {
        return 0;
    };
    for prefix in prefixes {
        let prefix = prefix.expect("entry").path();
        for blob in std::fs::read_dir(&prefix).expect("list") {
            let path = blob.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            let bytes = std::fs::read(&path).expect("read blob");
            assert_eq!(
                hex::encode(sha2::Sha256::digest(&bytes)),
                name,
                "a partial or wrong blob is visible at {}",
                path.display()
            );
            assert!(name.starts_with(&*prefix.file_name().expect("name").to_string_lossy()));
            count += 1;
        }
    }
    count
}

/// The outbox is drained and is exactly the log, entry for entry.
fn check_audit(data: &Path) {
    let database = rusqlite::Connection::open_with_flags(
        data.join("registry.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open database");
    let rows: Vec<(Option<i64>, Vec<u8>)> = database
        .prepare("SELECT log_index, entry FROM outbox ORDER BY id")
        .expect("prepare")
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    let log = rampart_tlog::Log::open_read_only(&data.join("log")).expect("open log");
    assert_eq!(
        log.size(),
        rows.len() as u64,
        "every database change has exactly one log entry"
    );
    for (position, (index, entry)) in rows.iter().enumerate() {
        assert_eq!(
            *index,
            Some(position as i64),
            "outbox entry {position} is not recorded in log order"
        );
        assert_eq!(&log.entry(position as u64).expect("entry"), entry);
    }
    let ungated: i64 = database
        .query_row(
            "SELECT COUNT(*) FROM versions WHERE gates IS NULL",
            [],
            |row| row.get(0),
        )
        .expect("count");
    assert_eq!(ungated, 0, "a version without gate results is visible");
    let verify = std::process::Command::new(rampart_bin())
        .args(["log", "verify"])
        .arg(data.join("log"))
        .output()
        .expect("log verify runs");
    assert!(
        verify.status.success(),
        "rampart log verify: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
}

/// Everything acknowledged is still there, and every visible version is complete.
fn check_api(url: &str, admin: &str, publisher: &str, acknowledged: &Acknowledged) {
    let agent = agent();
    for digest in &acknowledged.blobs {
        let response = agent
            .head(format!("{url}/api/v1/blobs/{digest}"))
            .header("Authorization", &format!("Bearer {publisher}"))
            .call()
            .expect("head");
        assert_eq!(
            response.status().as_u16(),
            200,
            "acknowledged blob {digest} lost"
        );
    }
    let mut seen = BTreeMap::new();
    let models = get_json(
        &agent,
        &format!("{url}/api/v1/namespaces/{NAMESPACE}/models"),
        admin,
    );
    for model in models.as_array().expect("models") {
        let name = model["model"].as_str().expect("model");
        let versions = get_json(
            &agent,
            &format!("{url}/api/v1/namespaces/{NAMESPACE}/models/{name}/versions"),
            admin,
        );
        for version in versions.as_array().expect("versions") {
            let id = format!("{name}:{}", version["version"].as_str().expect("version"));
            assert_eq!(version["state"], "scanned", "{id}: {version}");
            assert!(version["gates"].is_object(), "{id} has no gate results");
            assert_eq!(version["files"].as_array().map(Vec::len), Some(1), "{id}");
            let actions: Vec<(&str, bool)> = version["audit"]
                .as_array()
                .expect("audit")
                .iter()
                .map(|entry| {
                    (
                        entry["action"].as_str().unwrap_or_default(),
                        entry["index"].is_u64(),
                    )
                })
                .collect();
            assert_eq!(
                actions,
                [("version.create", true), ("version.gates", true)],
                "{id}"
            );
            seen.insert(
                id,
                version["manifest_digest"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
    }
    for (id, digest) in &acknowledged.versions {
        assert_eq!(seen.get(id), Some(digest), "acknowledged version {id} lost");
    }
    let tokens = get_json(&agent, &format!("{url}/api/v1/tokens"), admin);
    let ids: Vec<&str> = tokens
        .as_array()
        .expect("tokens")
        .iter()
        .filter_map(|token| token["id"].as_str())
        .collect();
    for id in &acknowledged.tokens {
        assert!(ids.contains(&id.as_str()), "acknowledged token {id} lost");
    }
}

#[test]
fn sigkill_at_random_points_loses_nothing_acknowledged_and_shows_nothing_partial() {
    let seed = std::env::var("RAMPART_CRASH_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or(0x5eed_2026_u64);
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let admin = run_ok(&["registry".as_ref(), "init".as_ref(), data.as_os_str()])
        .trim()
        .to_owned();
    let publisher = run_ok(&[
        "registry".as_ref(),
        "token".as_ref(),
        "create".as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
        "--user".as_ref(),
        "pat".as_ref(),
        "--role".as_ref(),
        "publisher".as_ref(),
        "--namespace".as_ref(),
        NAMESPACE.as_ref(),
    ])
    .trim()
    .to_owned();
    let (mut server, mut url) = start_server(&data);
    let created = agent()
        .put(format!("{url}/api/v1/namespaces/{NAMESPACE}"))
        .header("Authorization", &format!("Bearer {admin}"))
        .send("{}")
        .expect("namespace");
    assert_eq!(created.status().as_u16(), 201);
    let acknowledged = Arc::new(Mutex::new(Acknowledged::default()));
    let started = Instant::now();
    for round in 0..KILLS {
        let mut workers = Vec::new();
        for worker in 0..3 {
            let (url, token, acknowledged) = (url.clone(), publisher.clone(), acknowledged.clone());
            let worker_seed = rng.next();
            workers.push(std::thread::spawn(move || {
                publish(&url, &token, worker, round, worker_seed, &acknowledged);
            }));
        }
        {
            let (url, admin, acknowledged) = (url.clone(), admin.clone(), acknowledged.clone());
            workers.push(std::thread::spawn(move || {
                issue_tokens(&url, &admin, round, &acknowledged);
            }));
        }
        std::thread::sleep(Duration::from_millis(20 + rng.below(600)));
        drop(server);
        for worker in workers {
            worker.join().expect("client thread");
        }
        (server, url) = start_server(&data);
        let blobs = check_blob_files(&data);
        let acknowledged = acknowledged.lock().expect("lock");
        assert!(blobs >= acknowledged.blobs.len());
        check_audit(&data);
        check_api(&url, &admin, &publisher, &acknowledged);
    }
    drop(server);
    let acknowledged = acknowledged.lock().expect("lock");
    assert!(
        acknowledged.versions.len() >= KILLS as usize && !acknowledged.tokens.is_empty(),
        "the load did too little to test anything: {} versions, {} tokens",
        acknowledged.versions.len(),
        acknowledged.tokens.len()
    );
    eprintln!(
        "{KILLS} kills in {:?} (seed {seed:#x}): {} blobs, {} versions, {} tokens acknowledged",
        started.elapsed(),
        acknowledged.blobs.len(),
        acknowledged.versions.len(),
        acknowledged.tokens.len()
    );
}
