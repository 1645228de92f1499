//! The registry client: `rampart push`, `pull`, `approve`, `promote`, `rollback`, `yank` and
//! `namespace`.
//!
//! Exit codes: 0 success; 1 the registry refused (with its reason), the version is
//! quarantined, or a download failed verification; 2 usage or connection error.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use rampart_integrity::{HashAlgorithm, HashOptions, Serialization, hash_model};
use rampart_registry::names::{Digest, check_file_path};
use rampart_registry::{FileEntry, VersionRecord};
use serde_json::{Value, json};
use sha2::Digest as _;

/// Where the registry is and who is asking.
#[derive(Args, Debug)]
pub struct ClientArgs {
    /// The registry's base URL, e.g. http://127.0.0.1:8700.
    #[arg(long, env = "RAMPART_REGISTRY", value_name = "URL")]
    pub registry: String,

    /// An API token (`rmp_…`).
    #[arg(
        long,
        env = "RAMPART_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: String,

    /// Trust this PEM CA certificate (or self-signed server certificate) for an https
    /// registry instead of the built-in web PKI roots.
    #[arg(long, env = "RAMPART_CA_CERT", value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct PushArgs {
    /// The model directory (or single file) to publish.
    #[arg(value_name = "DIR")]
    pub path: PathBuf,

    /// Where to publish it: NAMESPACE/MODEL:VERSION.
    #[arg(value_name = "NS/NAME:VERSION")]
    pub reference: String,

    #[command(flatten)]
    pub client: ClientArgs,

    /// An OMS signature bundle over exactly these files (`rampart sign`); left out of the
    /// upload if it lies inside DIR.
    #[arg(long, value_name = "FILE")]
    pub signature: Option<PathBuf>,

    /// A SLSA provenance envelope naming the model (`rampart attest`); left out of the upload
    /// if it lies inside DIR.
    #[arg(long, value_name = "FILE")]
    pub provenance: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct PullArgs {
    /// The version to download: NAMESPACE/MODEL:VERSION.
    #[arg(value_name = "NS/NAME:VERSION")]
    pub reference: String,

    /// Where to put it; created only once everything has verified.
    #[arg(value_name = "DIR")]
    pub destination: PathBuf,

    #[command(flatten)]
    pub client: ClientArgs,

    /// Require a signature by this PEM public key over exactly the downloaded files.
    #[arg(long, value_name = "PEM")]
    pub key: Option<PathBuf>,

    /// The registry's audit log key (`name+id+key`, the data directory's log/log.vkey) to
    /// verify checkpoints with [default: the key the registry serves, trusted on first use].
    #[arg(long, value_name = "FILE")]
    pub log_key: Option<PathBuf>,

    /// Replace DIR if it exists and is not empty.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct ApproveArgs {
    /// NAMESPACE/MODEL:VERSION.
    #[arg(value_name = "NS/NAME:VERSION")]
    pub reference: String,

    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Args, Debug)]
pub struct YankArgs {
    /// NAMESPACE/MODEL:VERSION.
    #[arg(value_name = "NS/NAME:VERSION")]
    pub reference: String,

    /// Why it is withdrawn; recorded in the audit log and shown to everyone who reads the
    /// version.
    #[arg(long)]
    pub reason: String,

    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Args, Debug)]
pub struct NamespaceArgs {
    #[command(subcommand)]
    pub command: NamespaceCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum NamespaceCommand {
    /// Create a namespace or replace its whole policy (admins; an audited change). Stages
    /// not named need one approval and nothing else.
    Set(NamespaceSetArgs),
    /// Print a namespace's policy as JSON.
    Show(NamespaceShowArgs),
}

#[derive(Args, Debug)]
pub struct NamespaceSetArgs {
    /// The namespace, e.g. `ml`.
    #[arg(value_name = "NS")]
    pub namespace: String,

    /// A PEM public key whose signatures and provenance the gates accept (repeatable).
    #[arg(long = "trusted-key", value_name = "PEM")]
    pub trusted_keys: Vec<PathBuf>,

    /// Promotion to STAGE needs a signature by a trusted key (repeatable).
    #[arg(long = "require-signature", value_name = "STAGE")]
    pub require_signature: Vec<String>,

    /// Promotion to STAGE needs verified provenance naming the model (repeatable).
    #[arg(long = "require-provenance", value_name = "STAGE")]
    pub require_provenance: Vec<String>,

    /// Promotion to STAGE needs N distinct approvers, never the publisher (repeatable).
    #[arg(long = "approvals", value_name = "STAGE=N", value_parser = parse_stage_approvals)]
    pub approvals: Vec<(String, u32)>,

    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Args, Debug)]
pub struct NamespaceShowArgs {
    /// The namespace, e.g. `ml`.
    #[arg(value_name = "NS")]
    pub namespace: String,

    #[command(flatten)]
    pub client: ClientArgs,
}

fn parse_stage_approvals(text: &str) -> Result<(String, u32), String> {
    let (stage, count) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}`: expected STAGE=N, e.g. production=2"))?;
    let count: u32 = count
        .parse()
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| format!("`{text}`: N must be a whole number of at least 1"))?;
    Ok((stage.to_owned(), count))
}

#[derive(Args, Debug)]
pub struct PromoteArgs {
    /// NAMESPACE/MODEL:VERSION.
    #[arg(value_name = "NS/NAME:VERSION")]
    pub reference: String,

    /// The stage to point at it, e.g. production.
    #[arg(long)]
    pub stage: String,

    /// Admins only: skip approvals and signature/provenance requirements, recording this
    /// reason in the audit log. Quarantined versions can never be promoted.
    #[arg(long = "override", value_name = "REASON")]
    pub override_reason: Option<String>,

    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Args, Debug)]
pub struct RollbackArgs {
    /// NAMESPACE/MODEL.
    #[arg(value_name = "NS/NAME")]
    pub reference: String,

    /// The stage to move back to its previous approved version.
    #[arg(long)]
    pub stage: String,

    /// Admins only: roll back with this reason recorded in the audit log.
    #[arg(long = "override", value_name = "REASON")]
    pub override_reason: Option<String>,

    #[command(flatten)]
    pub client: ClientArgs,
}

/// The registry answered no (4xx): exit 1 with its reason.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Turns a refusal into exit code 1 (other errors stay exit 2).
fn refusal_exits_one(result: anyhow::Result<u8>) -> anyhow::Result<u8> {
    match result {
        Err(error) if error.downcast_ref::<Refused>().is_some() => {
            eprintln!("error: {error:#}");
            Ok(1)
        }
        other => other,
    }
}

/// `ns/model:version` → its parts; `with_version: false` takes `ns/model`.
fn parse_reference(text: &str, with_version: bool) -> anyhow::Result<(String, String, String)> {
    let usage = || {
        if with_version {
            format!("`{text}` is not NAMESPACE/MODEL:VERSION (e.g. ml/fraud-detector:1.2.0)")
        } else {
            format!("`{text}` is not NAMESPACE/MODEL (e.g. ml/fraud-detector)")
        }
    };
    let (path, version) = if with_version {
        let (path, version) = text.rsplit_once(':').with_context(usage)?;
        rampart_registry::names::check_version(version).map_err(|e| anyhow::anyhow!("{e}"))?;
        (path, version)
    } else {
        (text, "")
    };
    let (namespace, model) = path.split_once('/').with_context(usage)?;
    for (kind, name) in [("namespace", namespace), ("model", model)] {
        rampart_registry::names::check_name(kind, name).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok((namespace.to_owned(), model.to_owned(), version.to_owned()))
}

struct Client {
    agent: ureq::Agent,
    base: String,
    authorization: String,
}

impl Client {
    fn new(args: &ClientArgs) -> anyhow::Result<Self> {
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(std::time::Duration::from_secs(30)));
        if let Some(path) = &args.ca_cert {
            let pem =
                fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
            let certificate = ureq::tls::Certificate::from_pem(&pem)
                .with_context(|| format!("`{}` is not a PEM certificate", path.display()))?;
            config = config.tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(vec![
                        certificate,
                    ])))
                    .build(),
            );
        }
        Ok(Client {
            agent: config.build().into(),
            base: args.registry.trim_end_matches('/').to_owned(),
            authorization: format!("Bearer {}", args.token),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Checks the status: 2xx passes the response on, 4xx is a [`Refused`] with the
    /// registry's message, anything else an error.
    fn check(
        &self,
        what: &str,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> anyhow::Result<ureq::http::Response<ureq::Body>> {
        let mut response = response.with_context(|| {
            format!(
                "cannot reach the registry at {} to {what}: check --registry and that `rampart serve` is running",
                self.base
            )
        })?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(response);
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_string()
            .unwrap_or_default();
        let message = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|value| value["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or(body);
        if (400..500).contains(&status) {
            Err(Refused(format!(
                "cannot {what}: the registry answered {status}: {message}"
            ))
            .into())
        } else {
            bail!("cannot {what}: the registry answered {status}: {message}")
        }
    }

    fn get_json(&self, what: &str, path: &str) -> anyhow::Result<Value> {
        let response = self
            .agent
            .get(self.url(path))
            .header("Authorization", &self.authorization)
            .call();
        read_json(self.check(what, response)?)
    }

    fn get_bytes(&self, what: &str, path: &str) -> anyhow::Result<Vec<u8>> {
        let response = self
            .agent
            .get(self.url(path))
            .header("Authorization", &self.authorization)
            .call();
        let mut response = self.check(what, response)?;
        Ok(response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()?)
    }

    fn put_json(&self, what: &str, path: &str, body: &Value) -> anyhow::Result<Value> {
        let response = self
            .agent
            .put(self.url(path))
            .header("Authorization", &self.authorization)
            .header("Content-Type", "application/json")
            .send(body.to_string());
        read_json(self.check(what, response)?)
    }

    fn post_json(&self, what: &str, path: &str, body: &Value) -> anyhow::Result<Value> {
        let response = self
            .agent
            .post(self.url(path))
            .header("Authorization", &self.authorization)
            .header("Content-Type", "application/json")
            .send(body.to_string());
        read_json(self.check(what, response)?)
    }
}

fn read_json(mut response: ureq::http::Response<ureq::Body>) -> anyhow::Result<Value> {
    let text = response
        .body_mut()
        .with_config()
        .limit(256 << 20)
        .read_to_string()?;
    serde_json::from_str(&text).context("the registry sent invalid JSON")
}

fn read_document(path: &Path, what: &str) -> anyhow::Result<Value> {
    let bytes =
        fs::read(path).with_context(|| format!("cannot read the {what} `{}`", path.display()))?;
    serde_json::from_slice(&bytes)
        .with_context(|| format!("the {what} `{}` is not JSON", path.display()))
}

fn version_path(namespace: &str, model: &str) -> String {
    format!("/api/v1/namespaces/{namespace}/models/{model}")
}

// ---- push -------------------------------------------------------------------------------

pub fn push(args: PushArgs) -> anyhow::Result<u8> {
    refusal_exits_one(push_inner(args))
}

fn push_inner(args: PushArgs) -> anyhow::Result<u8> {
    let (namespace, model, version) = parse_reference(&args.reference, true)?;
    let client = Client::new(&args.client)?;
    let mut options = HashOptions::new(Serialization::Files {
        hash: HashAlgorithm::Sha256,
    });
    options.ignore_paths = [&args.signature, &args.provenance]
        .into_iter()
        .flatten()
        .filter_map(|file| rampart_integrity::path_inside(&args.path, file))
        .collect();
    let manifest = hash_model(&args.path, &options)
        .with_context(|| format!("cannot hash `{}`", args.path.display()))?;
    let single_file = args.path.is_file();
    let mut files = Vec::with_capacity(manifest.resources.len());
    let mut uploaded = 0usize;
    for resource in &manifest.resources {
        let digest = Digest(
            resource
                .digest
                .as_slice()
                .try_into()
                .context("a digest is not SHA-256")?,
        );
        let local = if single_file {
            args.path.clone()
        } else {
            args.path.join(&resource.key.path)
        };
        let size = match resource.size {
            Some(size) => size,
            None => fs::metadata(&local)
                .with_context(|| format!("cannot stat `{}`", local.display()))?
                .len(),
        };
        let blob = format!("/api/v1/blobs/{digest}");
        let head = client
            .agent
            .head(client.url(&blob))
            .header("Authorization", &client.authorization)
            .call()
            .with_context(|| format!("cannot reach the registry at {}", client.base))?;
        if head.status().as_u16() != 200 {
            let file =
                File::open(&local).with_context(|| format!("cannot open `{}`", local.display()))?;
            let response = client
                .agent
                .put(client.url(&blob))
                .header("Authorization", &client.authorization)
                .header("Content-Type", "application/octet-stream")
                .send(file);
            client.check(&format!("upload {}", resource.key.path), response)?;
            uploaded += 1;
        }
        files.push(json!({ "path": resource.key.path, "digest": digest, "size": size }));
    }
    let mut body = json!({ "version": version, "files": files });
    if let Some(signature) = &args.signature {
        body["signature"] = read_document(signature, "signature")?;
    }
    if let Some(provenance) = &args.provenance {
        body["provenance"] = read_document(provenance, "provenance")?;
    }
    let created = client.post_json(
        &format!("create {}", args.reference),
        &format!("{}/versions", version_path(&namespace, &model)),
        &body,
    )?;
    let record: VersionRecord =
        serde_json::from_value(created).context("the registry's version is not understood")?;
    let mut text = format!(
        "{} ({} file(s), {uploaded} uploaded): {}\n",
        record.object(),
        record.files.len(),
        record.state.name()
    );
    text.push_str(&describe_gates(&record));
    crate::output::print_stdout(&text)?;
    Ok(u8::from(
        record.state == rampart_registry::State::Quarantined,
    ))
}

fn describe_gates(record: &VersionRecord) -> String {
    let mut text = String::new();
    if let Some(gates) = &record.gates {
        for (name, gate) in [
            ("scan", &gates.scan),
            ("signature", &gates.signature),
            ("provenance", &gates.provenance),
        ] {
            let status = serde_json::to_value(gate.status)
                .ok()
                .and_then(|value| value.as_str().map(str::to_owned))
                .unwrap_or_default();
            let _ = writeln!(text, "  {name:<10} {status:<7} {}", gate.detail);
        }
    }
    if let Some(reason) = &record.reason {
        let _ = writeln!(text, "  reason: {reason}");
    }
    let indexes: Vec<String> = record
        .audit
        .iter()
        .filter_map(|entry| {
            entry
                .index
                .map(|index| format!("{} #{index}", entry.action))
        })
        .collect();
    if !indexes.is_empty() {
        let _ = writeln!(text, "  audit log: {}", indexes.join(", "));
    }
    text
}

// ---- pull -------------------------------------------------------------------------------

pub fn pull(args: PullArgs) -> anyhow::Result<u8> {
    refusal_exits_one(pull_inner(args))
}

/// A download directory beside the destination, removed unless it was moved into place.
struct Staging(Option<PathBuf>);

impl Drop for Staging {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = fs::remove_dir_all(path);
        }
    }
}

fn pull_inner(args: PullArgs) -> anyhow::Result<u8> {
    let (namespace, model, version) = parse_reference(&args.reference, true)?;
    let destination = &args.destination;
    let occupied = destination.exists()
        && (!destination.is_dir()
            || fs::read_dir(destination)
                .with_context(|| format!("cannot list `{}`", destination.display()))?
                .next()
                .is_some());
    if occupied && !args.force {
        bail!(
            "`{}` exists and is not empty: choose a new directory or pass --force to replace it",
            destination.display()
        );
    }
    let key = match &args.key {
        Some(path) => Some(
            rampart_integrity::VerifyingKey::from_pem(
                &fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?,
            )
            .with_context(|| format!("`{}` is not a PEM public key", path.display()))?,
        ),
        None => None,
    };
    let pinned_log_key = match &args.log_key {
        Some(path) => Some(
            fs::read_to_string(path)
                .with_context(|| format!("cannot read `{}`", path.display()))?,
        ),
        None => None,
    };
    let client = Client::new(&args.client)?;
    let value = client.get_json(
        &format!("read {}", args.reference),
        &format!("{}/versions/{version}", version_path(&namespace, &model)),
    )?;
    let record: VersionRecord =
        serde_json::from_value(value).context("the registry's version is not understood")?;
    if !record.state.servable() {
        return Err(Refused(format!(
            "{} is {}: it is not served{}",
            record.object(),
            record.state.name(),
            record
                .reason
                .as_deref()
                .map(|reason| format!(" ({reason})"))
                .unwrap_or_default()
        ))
        .into());
    }

    let parent = match destination.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).with_context(|| format!("cannot create `{}`", parent.display()))?;
    let name = destination
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".to_owned());
    let staging_path = parent.join(format!(".{name}.rampart-pull-{}", std::process::id()));
    if staging_path.exists() {
        fs::remove_dir_all(&staging_path).ok();
    }
    fs::create_dir(&staging_path)
        .with_context(|| format!("cannot create `{}`", staging_path.display()))?;
    let mut staging = Staging(Some(staging_path.clone()));

    let mut total = 0u64;
    for file in &record.files {
        // The client does not trust the server's paths either.
        check_file_path(&file.path).map_err(|error| Refused(error.to_string()))?;
        let target = staging_path.join(&file.path);
        if let Some(directory) = target.parent() {
            fs::create_dir_all(directory)
                .with_context(|| format!("cannot create `{}`", directory.display()))?;
        }
        download(&client, file, &target)?;
        total = total.saturating_add(file.size);
    }

    let signature_note = match (&key, &record.signature) {
        (Some(_), None) => {
            return Err(Refused(format!(
                "{} has no signature but --key requires one",
                record.object()
            ))
            .into());
        }
        (Some(key), Some(bundle)) => {
            let verified = rampart_integrity::verify_bundle(
                &staging_path,
                bundle.to_string().as_bytes(),
                &rampart_integrity::Trust::Key(key.clone()),
                &rampart_integrity::VerifyOptions::default(),
            )
            .map_err(|error| Refused(format!("the signature does not verify: {error}")))?;
            format!(
                "signature by {} verified over {} file(s)",
                key.hint(),
                verified.manifest.file_count()
            )
        }
        (None, Some(_)) => "signed (pass --key to verify the signature)".to_owned(),
        (None, None) => "unsigned".to_owned(),
    };

    let audit_note = verify_audit(&client, &record, pinned_log_key.as_deref())?;

    if destination.exists() {
        if destination.is_dir() {
            fs::remove_dir_all(destination)
        } else {
            fs::remove_file(destination)
        }
        .with_context(|| format!("cannot replace `{}`", destination.display()))?;
    }
    fs::rename(&staging_path, destination)
        .with_context(|| format!("cannot move the download into `{}`", destination.display()))?;
    staging.0 = None;
    crate::output::print_stdout(&format!(
        "{} ({}): {} file(s), {total} bytes into {}\n  digests verified; {signature_note}\n  {audit_note}\n",
        record.object(),
        record.state.name(),
        record.files.len(),
        destination.display()
    ))?;
    Ok(0)
}

/// Downloads one blob to `target`, hashing as it goes; a wrong digest or size is a refusal.
fn download(client: &Client, file: &FileEntry, target: &Path) -> anyhow::Result<()> {
    let response = client
        .agent
        .get(client.url(&format!("/api/v1/blobs/{}", file.digest)))
        .header("Authorization", &client.authorization)
        .call();
    let mut response = client.check(&format!("download {}", file.path), response)?;
    let mut reader = response
        .body_mut()
        .with_config()
        .limit(file.size.saturating_add(1))
        .reader();
    let mut output =
        File::create(target).with_context(|| format!("cannot create `{}`", target.display()))?;
    let mut hasher = sha2::Sha256::new();
    let mut size = 0u64;
    let mut buffer = vec![0u8; 256 << 10];
    loop {
        let read = reader
            .read(&mut buffer)
            .with_context(|| format!("the download of {} was interrupted", file.path))?;
        if read == 0 {
            break;
        }
        let chunk = buffer.get(..read).unwrap_or_default();
        hasher.update(chunk);
        output.write_all(chunk)?;
        size = size.saturating_add(read as u64);
    }
    output.sync_all()?;
    let actual = Digest(hasher.finalize().into());
    if actual != file.digest || size != file.size {
        return Err(Refused(format!(
            "{}: the registry sent {size} bytes hashing to {actual}, but the version lists {} bytes with {}: the stored blob was tampered with or corrupted; nothing was written",
            file.path, file.size, file.digest
        ))
        .into());
    }
    Ok(())
}

/// Checks that the version's creation and gate entries are in the signed log and say what
/// the downloaded files are.
fn verify_audit(
    client: &Client,
    record: &VersionRecord,
    pinned_key: Option<&str>,
) -> anyhow::Result<String> {
    let served_key;
    let key_text = match pinned_key {
        Some(key) => key,
        None => {
            served_key =
                String::from_utf8(client.get_bytes("read the log key", "/api/v1/log/key")?)
                    .context("the log key is not text")?;
            &served_key
        }
    };
    let key = rampart_tlog::VerifierKey::parse(key_text.trim())
        .context("the audit log key is not a `name+id+key` verifier key")?;
    let policy = rampart_tlog::TrustPolicy::new(key)?;
    let manifest = rampart_registry::types::manifest_digest(&record.files).to_string();
    let mut checked = Vec::new();
    for action in ["version.create", "version.gates"] {
        let index = record
            .audit
            .iter()
            .find(|entry| entry.action == action)
            .and_then(|entry| entry.index)
            .ok_or_else(|| Refused(format!("{} has no logged {action} entry", record.object())))?;
        let entry = client.get_bytes(
            "read an audit entry",
            &format!("/api/v1/log/entries/{index}"),
        )?;
        let event: Value = serde_json::from_slice(&entry).context("an audit entry is not JSON")?;
        let matches = event["action"] == action
            && event["object"] == record.object().as_str()
            && match action {
                "version.create" => event["details"]["manifest_digest"] == manifest.as_str(),
                _ => matches!(event["after"].as_str(), Some("scanned" | "verified")),
            };
        if !matches {
            return Err(Refused(format!(
                "audit entry {index} does not record {action} of these files: {event}"
            ))
            .into());
        }
        let proof = client.get_bytes(
            "read an inclusion proof",
            &format!("/api/v1/log/proof/inclusion?index={index}"),
        )?;
        let verified = rampart_tlog::TlogProof::verify_text(&proof, &policy, Some(&entry))
            .map_err(|error| Refused(format!("audit entry {index}: {error}")))?;
        checked.push((index, verified.checkpoint.checkpoint.size()));
    }
    let list: Vec<String> = checked
        .iter()
        .map(|(index, _)| format!("#{index}"))
        .collect();
    let size = checked.last().map_or(0, |(_, size)| *size);
    Ok(format!(
        "audit entries {} included in the log checkpoint of size {size}{}",
        list.join(", "),
        if pinned_key.is_some() {
            " (pinned log key)"
        } else {
            " (log key as served; pin it with --log-key)"
        }
    ))
}

// ---- approve, promote, rollback ---------------------------------------------------------

pub fn approve(args: ApproveArgs) -> anyhow::Result<u8> {
    refusal_exits_one((|| {
        let (namespace, model, version) = parse_reference(&args.reference, true)?;
        let client = Client::new(&args.client)?;
        let value = client.post_json(
            &format!("approve {}", args.reference),
            &format!(
                "{}/versions/{version}/approve",
                version_path(&namespace, &model)
            ),
            &json!({}),
        )?;
        let record: VersionRecord = serde_json::from_value(value)?;
        crate::output::print_stdout(&format!(
            "{}: {} ({} approval(s))\n",
            record.object(),
            record.state.name(),
            record.approvals.len()
        ))?;
        Ok(0)
    })())
}

/// Withdraws a version for good (admins): it is never served again.
pub fn yank(args: YankArgs) -> anyhow::Result<u8> {
    refusal_exits_one((|| {
        let (namespace, model, version) = parse_reference(&args.reference, true)?;
        let client = Client::new(&args.client)?;
        let value = client.post_json(
            &format!("yank {}", args.reference),
            &format!(
                "{}/versions/{version}/yank",
                version_path(&namespace, &model)
            ),
            &json!({ "reason": args.reason }),
        )?;
        let record: VersionRecord = serde_json::from_value(value)?;
        crate::output::print_stdout(&format!(
            "{}: {} ({})\n",
            record.object(),
            record.state.name(),
            record.reason.as_deref().unwrap_or_default()
        ))?;
        Ok(0)
    })())
}

// ---- namespace policy --------------------------------------------------------------------

pub fn namespace(args: NamespaceArgs) -> anyhow::Result<u8> {
    refusal_exits_one(match args.command {
        NamespaceCommand::Set(args) => namespace_set(args),
        NamespaceCommand::Show(args) => (|| {
            let client = Client::new(&args.client)?;
            let value = client.get_json(
                &format!("read namespace {}", args.namespace),
                &format!("/api/v1/namespaces/{}", args.namespace),
            )?;
            crate::output::print_stdout(&format!("{}\n", serde_json::to_string_pretty(&value)?))?;
            Ok(0)
        })(),
    })
}

fn namespace_set(args: NamespaceSetArgs) -> anyhow::Result<u8> {
    let mut trusted_keys = Vec::new();
    for path in &args.trusted_keys {
        let pem = fs::read_to_string(path)
            .with_context(|| format!("cannot read the trusted key `{}`", path.display()))?;
        if !pem.contains("-----BEGIN PUBLIC KEY-----") {
            bail!(
                "`{}` is not a PEM public key (-----BEGIN PUBLIC KEY-----); export the signer's public key, not its private key or certificate",
                path.display()
            );
        }
        trusted_keys.push(pem);
    }
    let mut stages = std::collections::BTreeMap::<String, rampart_registry::StagePolicy>::new();
    for name in &args.require_signature {
        stages.entry(name.clone()).or_default().require_signature = true;
    }
    for name in &args.require_provenance {
        stages.entry(name.clone()).or_default().require_provenance = true;
    }
    for (name, count) in &args.approvals {
        stages.entry(name.clone()).or_default().approvals = *count;
    }
    let policy = rampart_registry::NamespacePolicy {
        trusted_keys,
        stages,
    };
    let client = Client::new(&args.client)?;
    let value = client.put_json(
        &format!("set the policy of namespace {}", args.namespace),
        &format!("/api/v1/namespaces/{}", args.namespace),
        &serde_json::to_value(&policy)?,
    )?;
    let namespace: rampart_registry::Namespace = serde_json::from_value(value)?;
    let mut text = format!(
        "namespace {}: {} trusted key(s)\n",
        namespace.name,
        namespace.policy.trusted_keys.len()
    );
    for (name, stage) in &namespace.policy.stages {
        let mut needs = vec![format!("{} approval(s)", stage.approvals)];
        if stage.require_signature {
            needs.push("a trusted signature".to_owned());
        }
        if stage.require_provenance {
            needs.push("verified provenance".to_owned());
        }
        writeln!(text, "  {name}: {}", needs.join(", "))?;
    }
    crate::output::print_stdout(&text)?;
    Ok(0)
}

fn print_stages(namespace: &str, model: &str, stages: &Value) -> anyhow::Result<()> {
    let mut text = String::new();
    if let Some(current) = stages["current"].as_object() {
        for (stage, version) in current {
            let _ = writeln!(
                text,
                "{namespace}/{model}@{stage} -> {}",
                version.as_str().unwrap_or_default()
            );
        }
    }
    crate::output::print_stdout(&text)
}

pub fn promote(args: PromoteArgs) -> anyhow::Result<u8> {
    refusal_exits_one((|| {
        let (namespace, model, version) = parse_reference(&args.reference, true)?;
        let client = Client::new(&args.client)?;
        let mut body = json!({ "version": version });
        if let Some(reason) = &args.override_reason {
            body["override_reason"] = json!(reason);
        }
        let stages = client.post_json(
            &format!("promote {} to {}", args.reference, args.stage),
            &format!("{}/stages/{}", version_path(&namespace, &model), args.stage),
            &body,
        )?;
        print_stages(&namespace, &model, &stages)?;
        Ok(0)
    })())
}

pub fn rollback(args: RollbackArgs) -> anyhow::Result<u8> {
    refusal_exits_one((|| {
        let (namespace, model, _) = parse_reference(&args.reference, false)?;
        let client = Client::new(&args.client)?;
        let mut body = json!({});
        if let Some(reason) = &args.override_reason {
            body["override_reason"] = json!(reason);
        }
        let stages = client.post_json(
            &format!("roll back {}@{}", args.reference, args.stage),
            &format!(
                "{}/stages/{}/rollback",
                version_path(&namespace, &model),
                args.stage
            ),
            &body,
        )?;
        print_stages(&namespace, &model, &stages)?;
        Ok(0)
    })())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_validated() {
        assert_eq!(
            parse_reference("ml/fraud:1.2.0", true).ok(),
            Some(("ml".into(), "fraud".into(), "1.2.0".into()))
        );
        assert!(parse_reference("ml/fraud", true).is_err());
        assert!(parse_reference("ml:1", true).is_err());
        assert!(parse_reference("ML/x:1", true).is_err());
        assert!(parse_reference("ml/x:../1", true).is_err());
        assert_eq!(
            parse_reference("ml/fraud", false).ok(),
            Some(("ml".into(), "fraud".into(), String::new()))
        );
    }
}
