//! The registry's rules, independent of HTTP: who may do what, the version life cycle, the
//! gates, stages, tokens, and an audit entry for every state change. Every call is
//! synchronous (the server runs them on blocking threads).

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::Engine as _;
use rampart_tlog::{HostedLog, KeyType, Log, SignerKey, TransparencyLog, VerifierKey};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::audit::{AuditEvent, flush_outbox, now};
use crate::blobs::{BlobStore, BlobWriter, open_blob_store};
use crate::gates::{GateRunner, outcome};
use crate::names::{Digest, check_file_list, check_name, check_version, sha256};
use crate::store::{Change, MetadataStore, SqliteStore};
use crate::types::{
    ALL_NAMESPACES, Approval, GateStatus, ModelSummary, Namespace, NamespacePolicy, Permission,
    Principal, Role, StageEvent, State, TokenRecord, VersionRecord, manifest_digest,
    version_object,
};

/// The SQLite database in a data directory.
pub const DATABASE_FILE: &str = "registry.sqlite";
/// Blobs, under `sha256/<2 hex>/<64 hex>`.
pub const BLOBS_DIR: &str = "blobs";
/// Staged uploads and gate work directories; emptied at start-up.
pub const TMP_DIR: &str = "tmp";
/// The transparency log of audit entries.
pub const LOG_DIR: &str = "log";
/// Prefix of every token secret.
pub const TOKEN_PREFIX: &str = "rmp_";
/// How long an authenticated token is trusted without looking it up again. Revocation
/// through this process clears the cache at once; another process sees it within this time.
const TOKEN_CACHE_TTL: Duration = Duration::from_secs(10);
const TOKEN_CACHE_MAX: usize = 10_000;

/// The actor recorded for changes made with direct access to the data directory.
pub const LOCAL_ACTOR: &str = "local-admin";

/// A model registry over a data directory.
pub struct Registry {
    dir: PathBuf,
    /// This process's staging and gate work directory.
    tmp: PathBuf,
    store: Box<dyn MetadataStore>,
    blobs: Box<dyn BlobStore>,
    /// The log, and the lock that orders every commit (so outbox order is log order).
    /// `None` after a failed write until it is reopened, and always when the store keeps the
    /// log (a shared database).
    log: Mutex<Option<Log>>,
    /// The log's keys when the store keeps the log; they stay in the data directory's `log/`.
    hosted_log_keys: Option<(VerifierKey, SignerKey)>,
    /// Shared: the lock on this process's `tmp/proc-…`, held while it runs.
    _process_lock: Option<fs::File>,
    gates: GateRunner,
    token_cache: Mutex<HashMap<[u8; 32], (TokenRecord, Instant)>>,
}

/// Where a registry keeps its metadata: the data directory's SQLite database by default.
#[derive(Clone, Debug, Default)]
pub struct Backends {
    /// A PostgreSQL URL (`postgres://…`). Several server processes may share the database,
    /// which then also holds the audit log; each has its own data directory holding a copy of
    /// the log's key (`log/log.key`, `log/log.vkey`).
    pub database: Option<String>,
}

impl Backends {
    fn open_store(&self, dir: &Path) -> Result<Box<dyn MetadataStore>, Error> {
        match &self.database {
            None => Ok(Box::new(SqliteStore::open(&dir.join(DATABASE_FILE))?)),
            Some(url) if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) => {
                Err(Error::BadRequest(format!(
                    "--database {url:?} is not a PostgreSQL URL: use postgres://user:password@host:5432/database"
                )))
            }
            #[cfg(feature = "postgres")]
            Some(url) => Ok(Box::new(crate::store_postgres::PostgresStore::open(url)?)),
            #[cfg(not(feature = "postgres"))]
            Some(_) => Err(Error::BadRequest(
                "this rampart was built without PostgreSQL support (cargo feature `postgres` of rampart-registry)"
                    .to_owned(),
            )),
        }
    }
}

/// A request to create a version.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewVersion {
    pub version: String,
    pub files: Vec<crate::types::FileEntry>,
    /// An OMS signature bundle (Sigstore bundle JSON) over exactly these files.
    #[serde(default)]
    pub signature: Option<serde_json::Value>,
    /// A DSSE envelope with an in-toto SLSA provenance statement naming the model.
    #[serde(default)]
    pub provenance: Option<serde_json::Value>,
}

/// A request to issue a token.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub user: String,
    pub role: Role,
    /// A namespace or `*`.
    pub namespace: String,
    /// Days until it expires; never if absent.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

/// A freshly issued token: its record and its secret, shown once.
#[derive(Clone, Debug, Serialize)]
pub struct IssuedToken {
    #[serde(flatten)]
    pub record: TokenRecord,
    pub token: String,
}

/// Where each stage of a model points, and how it got there.
#[derive(Clone, Debug, Serialize)]
pub struct Stages {
    pub current: BTreeMap<String, String>,
    pub history: Vec<StageEvent>,
}

/// How an upload starts: the blob is already stored, or bytes are expected.
pub enum Upload {
    Present(u64),
    Expecting(Box<dyn BlobWriter>),
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let context = context.into();
    move |source| Error::Io { context, source }
}

fn forbidden(message: impl Into<String>) -> Error {
    Error::Forbidden(message.into())
}

fn require(principal: &Principal, permission: Permission, namespace: &str) -> Result<(), Error> {
    if principal.may(permission, namespace) {
        return Ok(());
    }
    let needed = match permission {
        Permission::Read => "read access",
        Permission::Publish => "the publisher role",
        Permission::Approve => "the approver role",
        Permission::Administer => "the admin role",
    };
    Err(forbidden(format!(
        "this needs {needed} in namespace {namespace:?}; the token of {} is a {} token for {:?}",
        principal.user, principal.role, principal.namespace
    )))
}

/// `rmp_` and 32 random bytes, base64url.
fn new_secret() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|error| Error::Internal(format!("random: {error}")))?;
    Ok(format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

fn new_token_id() -> Result<String, Error> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|error| Error::Internal(format!("random: {error}")))?;
    Ok(format!("tok_{}", hex::encode(bytes)))
}

fn token_hash(secret: &str) -> [u8; 32] {
    sha256(secret.as_bytes()).0
}

fn expired(record: &TokenRecord) -> bool {
    record.expires_at.as_deref().is_some_and(|at| {
        at.parse::<jiff::Timestamp>()
            .map_or(true, |at| at <= jiff::Timestamp::now())
    })
}

/// The log keys of a data directory whose log the database keeps.
fn hosted_log_keys(dir: &Path) -> Result<(VerifierKey, SignerKey), Error> {
    match rampart_tlog::store::read_key_files(dir, true)? {
        (verifier, Some(signer)) => Ok((verifier, signer)),
        (_, None) => Err(Error::BadRequest(format!(
            "{} has no log.key: copy log/log.key and log/log.vkey from the data directory `rampart registry init` created",
            dir.display()
        ))),
    }
}

/// The lock file each process holds in its `tmp/proc-…` while it runs.
const PROCESS_LOCK_FILE: &str = ".lock";

/// Removes the `proc-…` work directories of processes that are gone: each holds an exclusive
/// lock on its `.lock` file while it runs (the lock dies with it), so a lock that can be
/// taken means nobody uses the directory. Directories without a lock file are left alone:
/// their process may be creating it right now.
fn remove_stale_process_dirs(tmp: &Path) {
    let Ok(entries) = fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !entry.file_name().to_string_lossy().starts_with("proc-") || !path.is_dir() {
            continue;
        }
        let Ok(lock) = fs::File::open(path.join(PROCESS_LOCK_FILE)) else {
            continue;
        };
        if lock.try_lock().is_ok() {
            make_writable(&path);
            let _ = fs::remove_dir_all(&path);
        }
    }
}

/// Creates this process's `tmp/proc-…` and locks it for as long as the returned file lives.
/// The directory is built under a dot name and renamed once locked, so another process never
/// sees it unlocked.
fn create_process_dir(dir: &Path) -> Result<fs::File, Error> {
    let name = dir
        .file_name()
        .ok_or_else(|| Error::Internal(format!("{} has no name", dir.display())))?;
    let building = dir.with_file_name(format!(".{}", name.to_string_lossy()));
    fs::create_dir_all(&building).map_err(io(format!("create {}", building.display())))?;
    let lock_path = building.join(PROCESS_LOCK_FILE);
    let lock =
        fs::File::create(&lock_path).map_err(io(format!("create {}", lock_path.display())))?;
    lock.try_lock()
        .map_err(|error| Error::Internal(format!("lock {}: {error}", lock_path.display())))?;
    fs::rename(&building, dir).map_err(io(format!("rename {}", building.display())))?;
    Ok(lock)
}

/// A removable work directory under `tmp/`.
struct WorkDir(PathBuf);

impl Drop for WorkDir {
    fn drop(&mut self) {
        make_writable(&self.0);
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn make_writable(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                make_writable(&path);
            }
        }
    }
    if let Ok(metadata) = fs::metadata(dir) {
        let mut permissions = metadata.permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        permissions.set_readonly(false);
        let _ = fs::set_permissions(dir, permissions);
    }
}

impl Registry {
    /// Creates a data directory (missing or empty) and returns the first admin token.
    pub fn init(dir: &Path) -> Result<String, Error> {
        Self::init_with(dir, &Backends::default())
    }

    /// Creates a data directory (missing or empty) with its metadata in `backends` (which
    /// must hold no registry yet) and returns the first admin token.
    pub fn init_with(dir: &Path, backends: &Backends) -> Result<String, Error> {
        if dir.exists()
            && fs::read_dir(dir)
                .map_err(io(format!("list {}", dir.display())))?
                .next()
                .is_some()
        {
            return Err(Error::BadRequest(format!(
                "{} is not empty: a registry needs a new or empty directory",
                dir.display()
            )));
        }
        for sub in [BLOBS_DIR, TMP_DIR] {
            fs::create_dir_all(dir.join(sub)).map_err(io(format!("create {}", dir.display())))?;
        }
        let mut suffix = [0u8; 6];
        getrandom::fill(&mut suffix)
            .map_err(|error| Error::Internal(format!("random: {error}")))?;
        let origin = format!("rampart.registry/{}", hex::encode(suffix));
        let signer = SignerKey::generate(&origin, KeyType::Ed25519)?;
        let store = backends.open_store(dir)?;
        if store.next_log_index()? > 0 || !store.pending_audit()?.is_empty() {
            return Err(Error::BadRequest(
                "the database already holds a registry: use a new, empty database".to_owned(),
            ));
        }
        drop(store);
        match backends.database {
            None => drop(Log::init(&dir.join(LOG_DIR), &origin, &signer)?),
            Some(_) => rampart_tlog::store::init_keys(&dir.join(LOG_DIR), &signer)?,
        }
        let registry = Registry::open_with(dir, backends)?;
        let issued = registry.issue_token(
            "registry-init",
            NewToken {
                user: "admin".to_owned(),
                role: Role::Admin,
                namespace: ALL_NAMESPACES.to_owned(),
                expires_in_days: None,
            },
        )?;
        Ok(issued.token)
    }

    /// Opens a data directory: finishes any audit entries a crash left pending, clears
    /// staging, and gates versions a crash left ungated. Fails if another process has it open.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        Self::open_with(dir, &Backends::default())
    }

    /// Opens a data directory whose metadata is in `backends`. With a shared database,
    /// several processes may open the same directory: each stages in its own `tmp/proc-…`
    /// and opens the log only while it holds the database's writer lock.
    pub fn open_with(dir: &Path, backends: &Backends) -> Result<Self, Error> {
        Self::open_with_storage(dir, backends, None)
    }

    /// [`Registry::open_with`], with the blobs in `storage` (`s3://…`, see
    /// [`crate::blobs::open_blob_store`]) instead of the data directory.
    pub fn open_with_storage(
        dir: &Path,
        backends: &Backends,
        storage: Option<&str>,
    ) -> Result<Self, Error> {
        let marker = match backends.database {
            None => DATABASE_FILE,
            Some(_) => LOG_DIR,
        };
        if !dir.join(marker).exists() {
            return Err(Error::BadRequest(format!(
                "{} is not a registry data directory (no {marker}): create one with `rampart registry init {}`",
                dir.display(),
                dir.display()
            )));
        }
        let shared = backends.database.is_some();
        // Alone, the log's writer lock makes this process the only writer of the data
        // directory; shared, the database's writer lock orders the processes.
        let (log, hosted_log_keys) = if shared {
            (None, Some(hosted_log_keys(&dir.join(LOG_DIR))?))
        } else {
            (Some(Log::open(&dir.join(LOG_DIR))?), None)
        };
        let store = backends.open_store(dir)?;
        let mut tmp = dir.join(TMP_DIR);
        let mut process_lock = None;
        if shared {
            let mut random = [0u8; 6];
            getrandom::fill(&mut random)
                .map_err(|error| Error::Internal(format!("random: {error}")))?;
            remove_stale_process_dirs(&tmp);
            tmp = tmp.join(format!("proc-{}", hex::encode(random)));
            process_lock = Some(create_process_dir(&tmp)?);
        } else if tmp.exists() {
            make_writable(&tmp);
            fs::remove_dir_all(&tmp).map_err(io(format!("clear {}", tmp.display())))?;
        }
        fs::create_dir_all(&tmp).map_err(io(format!("create {}", tmp.display())))?;
        let registry = Registry {
            dir: dir.to_owned(),
            tmp: tmp.clone(),
            blobs: open_blob_store(storage, dir.join(BLOBS_DIR), tmp)?,
            store,
            log: Mutex::new(log),
            hosted_log_keys,
            _process_lock: process_lock,
            gates: GateRunner::new()?,
            token_cache: Mutex::new(HashMap::new()),
        };
        registry.with_log(|store, log| flush_outbox(store, log).map(drop))?;
        for (namespace, model, version) in registry.store.ungated_versions()? {
            if let Some(record) = registry.store.version(&namespace, &model, &version)? {
                match registry.run_gates(&record, "registry-recovery") {
                    // Another process sharing the database gated it meanwhile.
                    Err(Error::Conflict(_)) => {}
                    other => other?,
                }
            }
        }
        Ok(registry)
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn lock_log(&self) -> Result<MutexGuard<'_, Option<Log>>, Error> {
        self.log
            .lock()
            .map_err(|_| Error::Internal("the log lock is poisoned".to_owned()))
    }

    /// Runs `operation` with the log (reopening it after an earlier failed write), while
    /// holding the commit lock.
    fn with_log<T>(
        &self,
        operation: impl FnOnce(&dyn MetadataStore, &mut dyn TransparencyLog) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut guard = self.lock_log()?;
        let shared = self.store.lock_writers()?;
        if let Some((verifier, signer)) = &self.hosted_log_keys {
            let storage = self.store.log_storage().ok_or_else(|| {
                Error::Internal("a shared database must keep the audit log".to_owned())
            })?;
            let mut log = HostedLog::new(storage, verifier.clone(), Some(signer.clone()))?;
            let outcome = operation(&*self.store, &mut log);
            drop(shared);
            return outcome;
        }
        if guard.is_none() {
            *guard = Some(Log::open(&self.dir.join(LOG_DIR))?);
        }
        let Some(log) = guard.as_mut() else {
            return Err(Error::Internal("the log is not open".to_owned()));
        };
        let outcome = operation(&*self.store, log);
        if matches!(outcome, Err(Error::Log(_))) {
            // A failed append leaves the handle unusable; committed entries are intact and
            // pending ones are appended after reopening.
            *guard = None;
        }
        drop(shared);
        outcome
    }

    /// Recomputes the whole audit log of a data directory (or, with a shared database, the
    /// database's) from its entries and checks every stored hash and checkpoint against
    /// `trusted` (default: the data directory's `log/log.vkey`). Reads only.
    pub fn verify_log(
        dir: &Path,
        backends: &Backends,
        trusted: Option<&VerifierKey>,
    ) -> Result<rampart_tlog::VerifyReport, Error> {
        let log_dir = dir.join(LOG_DIR);
        if backends.database.is_none() {
            let log = Log::open_read_only(&log_dir)?;
            return Ok(log.verify_all_against(trusted.unwrap_or(log.verifier_key()))?);
        }
        let (verifier, _) = rampart_tlog::store::read_key_files(&log_dir, false)?;
        let store = backends.open_store(dir)?;
        let storage = store.log_storage().ok_or_else(|| {
            Error::Internal("a shared database must keep the audit log".to_owned())
        })?;
        let log = HostedLog::new(storage, verifier.clone(), None)?;
        Ok(log.verify_all_against(trusted.unwrap_or(&verifier))?)
    }

    /// Applies a change with its audit entries and appends them to the log; returns their
    /// log indices.
    fn commit(&self, change: Change, events: &[AuditEvent]) -> Result<Vec<u64>, Error> {
        self.with_log(|store, log| {
            flush_outbox(store, log)?;
            let ids = store.apply(&change, events)?;
            let recorded: HashMap<i64, u64> = flush_outbox(store, log)?.into_iter().collect();
            Ok(ids
                .iter()
                .filter_map(|id| recorded.get(id).copied())
                .collect())
        })
    }

    // ---- tokens -------------------------------------------------------------------------

    /// The principal a bearer token stands for.
    pub fn authenticate(&self, secret: &str) -> Result<Principal, Error> {
        let unauthorized = || {
            Error::Unauthorized(
                "the token is unknown, revoked or expired: ask an admin for a new one".to_owned(),
            )
        };
        if !secret.starts_with(TOKEN_PREFIX) {
            return Err(unauthorized());
        }
        let hash = token_hash(secret);
        let cached = self
            .token_cache
            .lock()
            .ok()
            .and_then(|cache| cache.get(&hash).cloned())
            .filter(|(_, at)| at.elapsed() < TOKEN_CACHE_TTL)
            .map(|(record, _)| record);
        let record = match cached {
            Some(record) => record,
            None => {
                let record = self.store.token_by_hash(&hash)?.ok_or_else(unauthorized)?;
                if let Ok(mut cache) = self.token_cache.lock() {
                    if cache.len() >= TOKEN_CACHE_MAX {
                        cache.clear();
                    }
                    cache.insert(hash, (record.clone(), Instant::now()));
                }
                record
            }
        };
        if record.revoked || expired(&record) {
            return Err(unauthorized());
        }
        Ok(Principal {
            user: record.user,
            role: record.role,
            namespace: record.namespace,
            token_id: record.id,
        })
    }

    fn issue_token(&self, actor: &str, request: NewToken) -> Result<IssuedToken, Error> {
        check_name("user", &request.user)?;
        if request.namespace != ALL_NAMESPACES {
            check_name("namespace", &request.namespace)?;
        }
        let created_at = now();
        let expires_at = match request.expires_in_days {
            None => None,
            Some(0) => {
                return Err(Error::BadRequest(
                    "expires_in_days must be at least 1".to_owned(),
                ));
            }
            Some(days) => Some(
                jiff::Timestamp::now()
                    .checked_add(jiff::SignedDuration::from_hours(i64::from(days) * 24))
                    .map_err(|_| Error::BadRequest("the expiry is too far away".to_owned()))?
                    .to_string(),
            ),
        };
        let secret = new_secret()?;
        let record = TokenRecord {
            id: new_token_id()?,
            user: request.user,
            role: request.role,
            namespace: request.namespace,
            expires_at,
            revoked: false,
            created_at,
            created_by: actor.to_owned(),
        };
        let event = AuditEvent::new("token.create", actor, format!("token:{}", record.id))
            .transition(None, Some("active"))
            .detail("user", &record.user)
            .detail("role", record.role.name())
            .detail("namespace", &record.namespace)
            .detail("expires_at", record.expires_at.clone().unwrap_or_default());
        self.commit(
            Change::CreateToken {
                record: record.clone(),
                hash: token_hash(&secret),
            },
            &[event],
        )?;
        Ok(IssuedToken {
            record,
            token: secret,
        })
    }

    fn may_manage_token_namespace(principal: &Principal, namespace: &str) -> Result<(), Error> {
        if principal.role != Role::Admin
            || !(principal.namespace == ALL_NAMESPACES || principal.namespace == namespace)
        {
            return Err(forbidden(format!(
                "managing tokens for {namespace:?} needs an admin token for that namespace or `*`"
            )));
        }
        Ok(())
    }

    /// Issues a token (admin; a namespace admin only for its namespace).
    pub fn create_token(
        &self,
        principal: &Principal,
        request: NewToken,
    ) -> Result<IssuedToken, Error> {
        Self::may_manage_token_namespace(principal, &request.namespace)?;
        self.issue_token(&principal.user, request)
    }

    /// Issues a token with direct access to the data directory (`rampart registry token`).
    pub fn create_token_locally(&self, request: NewToken) -> Result<IssuedToken, Error> {
        self.issue_token(LOCAL_ACTOR, request)
    }

    /// Tokens the admin may see.
    pub fn list_tokens(&self, principal: &Principal) -> Result<Vec<TokenRecord>, Error> {
        if principal.role != Role::Admin {
            return Err(forbidden("listing tokens needs an admin token"));
        }
        Ok(self
            .store
            .tokens()?
            .into_iter()
            .filter(|token| principal.covers(&token.namespace))
            .collect())
    }

    /// Every token (direct access to the data directory).
    pub fn list_tokens_locally(&self) -> Result<Vec<TokenRecord>, Error> {
        self.store.tokens()
    }

    /// Revokes a token.
    pub fn revoke_token(&self, principal: &Principal, id: &str) -> Result<TokenRecord, Error> {
        let token = self
            .store
            .token(id)?
            .ok_or_else(|| Error::NotFound(format!("no token {id}")))?;
        Self::may_manage_token_namespace(principal, &token.namespace)?;
        self.revoke(&principal.user, token)
    }

    /// Revokes a token with direct access to the data directory.
    pub fn revoke_token_locally(&self, id: &str) -> Result<TokenRecord, Error> {
        let token = self
            .store
            .token(id)?
            .ok_or_else(|| Error::NotFound(format!("no token {id}")))?;
        self.revoke(LOCAL_ACTOR, token)
    }

    fn revoke(&self, actor: &str, mut token: TokenRecord) -> Result<TokenRecord, Error> {
        if !token.revoked {
            let event = AuditEvent::new("token.revoke", actor, format!("token:{}", token.id))
                .transition(Some("active"), Some("revoked"))
                .detail("user", &token.user);
            self.commit(
                Change::RevokeToken {
                    id: token.id.clone(),
                },
                &[event],
            )?;
            if let Ok(mut cache) = self.token_cache.lock() {
                cache.clear();
            }
            token.revoked = true;
        }
        Ok(token)
    }

    // ---- namespaces ---------------------------------------------------------------------

    /// Creates or replaces a namespace's policy (admin).
    pub fn put_namespace(
        &self,
        principal: &Principal,
        name: &str,
        policy: NamespacePolicy,
    ) -> Result<(bool, Namespace), Error> {
        check_name("namespace", name)?;
        require(principal, Permission::Administer, name)?;
        for stage in policy.stages.keys() {
            check_name("stage", stage)?;
        }
        for (position, pem) in policy.trusted_keys.iter().enumerate() {
            rampart_integrity::VerifyingKey::from_pem(pem.as_bytes()).map_err(|error| {
                Error::BadRequest(format!(
                    "trusted_keys[{position}] is not a PEM public key: {error}"
                ))
            })?;
        }
        let previous = self.store.namespace(name)?;
        let policy_json = serde_json::to_vec(&policy).unwrap_or_default();
        let namespace = Namespace {
            name: name.to_owned(),
            policy,
            updated_at: now(),
            updated_by: principal.user.clone(),
        };
        let before = previous.as_ref().map(|previous| {
            sha256(&serde_json::to_vec(&previous.policy).unwrap_or_default()).to_string()
        });
        let after = sha256(&policy_json).to_string();
        let event = AuditEvent::new(
            if previous.is_some() {
                "namespace.update"
            } else {
                "namespace.create"
            },
            &principal.user,
            format!("namespace:{name}"),
        )
        .detail("policy", String::from_utf8_lossy(&policy_json))
        .transition(before.as_deref(), Some(&after));
        self.commit(Change::PutNamespace(namespace.clone()), &[event])?;
        Ok((previous.is_none(), namespace))
    }

    /// A namespace and its policy.
    pub fn namespace(&self, principal: &Principal, name: &str) -> Result<Namespace, Error> {
        require(principal, Permission::Read, name)?;
        self.store
            .namespace(name)?
            .ok_or_else(|| Error::NotFound(format!("no namespace {name:?}")))
    }

    /// Namespaces the principal may read.
    pub fn namespaces(&self, principal: &Principal) -> Result<Vec<Namespace>, Error> {
        Ok(self
            .store
            .namespaces()?
            .into_iter()
            .filter(|namespace| principal.covers(&namespace.name))
            .collect())
    }

    fn existing_namespace(&self, name: &str) -> Result<Namespace, Error> {
        self.store.namespace(name)?.ok_or_else(|| {
            Error::NotFound(format!(
                "no namespace {name:?}: an admin creates it with PUT /api/v1/namespaces/{name}"
            ))
        })
    }

    // ---- blobs --------------------------------------------------------------------------

    /// Whether the principal may read the blob: some version containing it has passed its
    /// gates in a namespace the principal covers.
    fn may_read_blob(&self, principal: &Principal, digest: &Digest) -> Result<bool, Error> {
        Ok(self
            .store
            .namespaces_serving(digest)?
            .iter()
            .any(|namespace| principal.covers(namespace)))
    }

    /// The blob's size (`HEAD`): publishers learn whether any blob is stored (to skip
    /// uploads); others only about blobs they may read.
    pub fn blob_size(&self, principal: &Principal, digest: &Digest) -> Result<u64, Error> {
        let visible = principal.role == Role::Publisher || self.may_read_blob(principal, digest)?;
        let size = if visible {
            self.blobs.size(digest)?
        } else {
            None
        };
        size.ok_or_else(|| Error::NotFound(format!("blob {digest} is not available to you")))
    }

    /// Opens a blob for download. Quarantined or yanked content is never served.
    pub fn open_blob(
        &self,
        principal: &Principal,
        digest: &Digest,
    ) -> Result<(u64, Box<dyn Read + Send>), Error> {
        if !self.may_read_blob(principal, digest)? {
            return Err(Error::NotFound(format!(
                "blob {digest} is not available to you: it is in no version that passed its gates in a namespace your token covers"
            )));
        }
        let size = self
            .blobs
            .size(digest)?
            .ok_or_else(|| Error::NotFound(format!("blob {digest} is not stored")))?;
        Ok((size, self.blobs.open(digest)?))
    }

    /// Starts an upload (publishers).
    pub fn begin_upload(&self, principal: &Principal, digest: &Digest) -> Result<Upload, Error> {
        if principal.role != Role::Publisher {
            return Err(forbidden(
                "uploading blobs needs a publisher token".to_owned(),
            ));
        }
        match self.blobs.size(digest)? {
            Some(size) => Ok(Upload::Present(size)),
            None => Ok(Upload::Expecting(self.blobs.begin()?)),
        }
    }

    // ---- versions -----------------------------------------------------------------------

    /// Creates a version and runs its gates. Returns whether it was created (`false`: an
    /// identical version existed).
    pub fn create_version(
        &self,
        principal: &Principal,
        namespace: &str,
        model: &str,
        request: NewVersion,
    ) -> Result<(bool, VersionRecord), Error> {
        check_name("namespace", namespace)?;
        check_name("model", model)?;
        check_version(&request.version)?;
        require(principal, Permission::Publish, namespace)?;
        check_file_list(request.files.iter().map(|file| file.path.as_str()))?;
        if let Some(signature) = &request.signature {
            serde_json::from_value::<rampart_integrity::bundle::Bundle>(signature.clone())
                .map_err(|error| {
                    Error::BadRequest(format!(
                        "signature is not an OMS signature bundle (as `rampart sign` writes it): {error}"
                    ))
                })?;
        }
        if let Some(provenance) = &request.provenance {
            serde_json::from_value::<rampart_integrity::dsse::Envelope>(provenance.clone())
                .map_err(|error| {
                    Error::BadRequest(format!(
                        "provenance is not a DSSE envelope (as `rampart attest` writes it): {error}"
                    ))
                })?;
        }
        self.existing_namespace(namespace)?;
        let digest = manifest_digest(&request.files);
        let (signature, provenance) = (request.signature.clone(), request.provenance.clone());
        let same_as = |existing: &VersionRecord| {
            existing.manifest_digest == digest
                && existing.signature == signature
                && existing.provenance == provenance
        };
        if let Some(existing) = self.store.version(namespace, model, &request.version)? {
            return if same_as(&existing) {
                Ok((false, existing))
            } else {
                Err(Error::Conflict(format!(
                    "version {} already exists with different content; versions are immutable: publish a new version",
                    existing.object()
                )))
            };
        }
        for file in &request.files {
            match self.blobs.size(&file.digest)? {
                Some(size) if size == file.size => {}
                Some(size) => {
                    return Err(Error::BadRequest(format!(
                        "{}: the manifest says {} bytes but blob {} has {size}",
                        file.path, file.size, file.digest
                    )));
                }
                None => {
                    return Err(Error::BadRequest(format!(
                        "{}: blob {} has not been uploaded: PUT it to /api/v1/blobs/{} first",
                        file.path, file.digest, file.digest
                    )));
                }
            }
        }
        let record = VersionRecord {
            namespace: namespace.to_owned(),
            model: model.to_owned(),
            version: request.version,
            manifest_digest: digest,
            files: request.files,
            signature: request.signature,
            provenance: request.provenance,
            publisher: principal.user.clone(),
            state: State::Quarantined,
            reason: Some("the gates have not run yet".to_owned()),
            created_at: now(),
            gates: None,
            approvals: Vec::new(),
            audit: Vec::new(),
            stage_history: Vec::new(),
        };
        let document_digest = |value: &Option<serde_json::Value>| {
            value
                .as_ref()
                .map(|value| sha256(value.to_string().as_bytes()).to_string())
                .unwrap_or_default()
        };
        let event = AuditEvent::new("version.create", &principal.user, record.object())
            .transition(None, Some(State::Quarantined.name()))
            .detail("manifest_digest", record.manifest_digest.to_string())
            .detail("files", record.files.len().to_string())
            .detail("signature_digest", document_digest(&record.signature))
            .detail("provenance_digest", document_digest(&record.provenance));
        match self.commit(Change::CreateVersion(Box::new(record.clone())), &[event]) {
            Ok(_) => {}
            Err(Error::Conflict(message)) => {
                // Created concurrently: identical is fine, anything else is the conflict.
                return match self.store.version(namespace, model, &record.version)? {
                    Some(existing) if same_as(&existing) => Ok((false, existing)),
                    _ => Err(Error::Conflict(message)),
                };
            }
            Err(error) => return Err(error),
        }
        self.run_gates(&record, &principal.user)?;
        let stored = self.load_version(namespace, model, &record.version)?;
        Ok((true, stored))
    }

    fn run_gates(&self, record: &VersionRecord, actor: &str) -> Result<(), Error> {
        let namespace = self.existing_namespace(&record.namespace)?;
        let mut random = [0u8; 12];
        getrandom::fill(&mut random)
            .map_err(|error| Error::Internal(format!("random: {error}")))?;
        let work = WorkDir(self.tmp.join(format!("gate-{}", hex::encode(random))));
        fs::create_dir(&work.0).map_err(io(format!("create {}", work.0.display())))?;
        let model_dir = work.0.join(&record.model);
        for file in &record.files {
            let destination = model_dir.join(&file.path);
            if let Some(parent) = destination.parent() {
                fs::create_dir_all(parent).map_err(io(format!("create {}", parent.display())))?;
            }
            self.blobs.materialize(&file.digest, &destination)?;
        }
        let signature = record.signature.as_ref().map(|value| value.to_string());
        let provenance = record.provenance.as_ref().map(|value| value.to_string());
        let gates = self.gates.run(
            &model_dir,
            signature.as_deref().map(str::as_bytes),
            provenance.as_deref().map(str::as_bytes),
            &namespace.policy.trusted_keys,
        );
        drop(work);
        let (state, reason) = outcome(&gates);
        let report_digest = sha256(gates.scan_report.to_string().as_bytes());
        let status = |status: GateStatus| match status {
            GateStatus::Passed => "passed",
            GateStatus::Failed => "failed",
            GateStatus::Absent => "absent",
        };
        let event = AuditEvent::new("version.gates", actor, record.object())
            .transition(Some(State::Quarantined.name()), Some(state.name()))
            .detail("scan", status(gates.scan.status))
            .detail("scan_report_digest", report_digest.to_string())
            .detail("signature", status(gates.signature.status))
            .detail("provenance", status(gates.provenance.status))
            .detail("reason", reason.clone().unwrap_or_default());
        self.commit(
            Change::UpdateVersion {
                namespace: record.namespace.clone(),
                model: record.model.clone(),
                version: record.version.clone(),
                from: State::Quarantined,
                to: state,
                reason,
                gates: Some(Box::new(gates)),
            },
            &[event],
        )?;
        Ok(())
    }

    fn load_version(
        &self,
        namespace: &str,
        model: &str,
        version: &str,
    ) -> Result<VersionRecord, Error> {
        let mut record = self
            .store
            .version(namespace, model, version)?
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "no version {}",
                    version_object(namespace, model, version)
                ))
            })?;
        record.stage_history = self
            .store
            .stage_history(namespace, model)?
            .into_iter()
            .filter(|event| event.version == version)
            .collect();
        Ok(record)
    }

    /// A version with its files, gate results, approvals and audit entries.
    pub fn version(
        &self,
        principal: &Principal,
        namespace: &str,
        model: &str,
        version: &str,
    ) -> Result<VersionRecord, Error> {
        require(principal, Permission::Read, namespace)?;
        self.load_version(namespace, model, version)
    }

    /// Every version of a model.
    pub fn versions(
        &self,
        principal: &Principal,
        namespace: &str,
        model: &str,
    ) -> Result<Vec<VersionRecord>, Error> {
        require(principal, Permission::Read, namespace)?;
        let history = self.store.stage_history(namespace, model)?;
        let mut versions = self.store.versions(namespace, model)?;
        for record in &mut versions {
            record.stage_history = history
                .iter()
                .filter(|event| event.version == record.version)
                .cloned()
                .collect();
        }
        Ok(versions)
    }

    /// The models of a namespace.
    pub fn models(
        &self,
        principal: &Principal,
        namespace: &str,
    ) -> Result<Vec<ModelSummary>, Error> {
        require(principal, Permission::Read, namespace)?;
        self.store.models(Some(namespace), None)
    }

    /// Models whose name contains `query`, in every namespace the principal covers.
    pub fn search(&self, principal: &Principal, query: &str) -> Result<Vec<ModelSummary>, Error> {
        if query.len() > 256 {
            return Err(Error::BadRequest(
                "the query is longer than 256 bytes".to_owned(),
            ));
        }
        Ok(self
            .store
            .models(None, Some(query))?
            .into_iter()
            .filter(|model| principal.covers(&model.namespace))
            .collect())
    }

    /// Approves a version (approvers other than its publisher).
    pub fn approve(
        &self,
        principal: &Principal,
        namespace: &str,
        model: &str,
        version: &str,
    ) -> Result<VersionRecord, Error> {
        require(principal, Permission::Approve, namespace)?;
        let record = self.load_version(namespace, model, version)?;
        separation_of_duties(principal, &record, "approve")?;
        if !record.state.servable() {
            return Err(Error::Refused(format!(
                "{} is {}: only versions that passed their gates can be approved{}",
                record.object(),
                record.state.name(),
                record
                    .reason
                    .as_deref()
                    .map(|reason| format!(" ({reason})"))
                    .unwrap_or_default()
            )));
        }
        if record.approvals.iter().any(|a| a.user == principal.user) {
            return Err(Error::Conflict(format!(
                "{} has already approved {}",
                principal.user,
                record.object()
            )));
        }
        let event = AuditEvent::new("version.approve", &principal.user, record.object())
            .transition(Some(record.state.name()), Some(State::Approved.name()))
            .detail("approvals", (record.approvals.len() + 1).to_string());
        self.commit(
            Change::Approve {
                namespace: namespace.to_owned(),
                model: model.to_owned(),
                version: version.to_owned(),
                approval: Approval {
                    user: principal.user.clone(),
                    time: now(),
                },
                from: record.state,
                to: State::Approved,
            },
            &[event],
        )?;
        self.load_version(namespace, model, version)
    }

    /// Yanks a version (admin, with a reason): it is never served again.
    pub fn yank(
        &self,
        principal: &Principal,
        namespace: &str,
        model: &str,
        version: &str,
        reason: &str,
    ) -> Result<VersionRecord, Error> {
        require(principal, Permission::Administer, namespace)?;
        let reason = check_reason(reason)?;
        let record = self.load_version(namespace, model, version)?;
        if record.state == State::Yanked {
            return Err(Error::Conflict(format!(
                "{} is already yanked",
                record.object()
            )));
        }
        let event = AuditEvent::new("version.yank", &principal.user, record.object())
            .transition(Some(record.state.name()), Some(State::Yanked.name()))
            .detail("reason", reason);
        self.commit(
            Change::UpdateVersion {
                namespace: namespace.to_owned(),
                model: model.to_owned(),
                version: version.to_owned(),
                from: record.state,
                to: State::Yanked,
                reason: Some(reason.to_owned()),
                gates: None,
            },
            &[event],
        )?;
        self.load_version(namespace, model, version)
    }

    // ---- stages -------------------------------------------------------------------------

    /// Current stage pointers and their history.
    pub fn stages(
        &self,
        principal: &Principal,
        namespace: &str,
        model: &str,
    ) -> Result<Stages, Error> {
        require(principal, Permission::Read, namespace)?;
        let history = self.store.stage_history(namespace, model)?;
        let current = history
            .iter()
            .map(|event| (event.stage.clone(), event.version.clone()))
            .collect();
        Ok(Stages { current, history })
    }

    /// Checks who may move a stage: an approver, or an admin overriding with a reason.
    fn stage_mover(
        principal: &Principal,
        namespace: &str,
        override_reason: Option<&str>,
    ) -> Result<Option<String>, Error> {
        match override_reason {
            Some(reason) => {
                require(principal, Permission::Administer, namespace)?;
                Ok(Some(check_reason(reason)?.to_owned()))
            }
            None => {
                require(principal, Permission::Approve, namespace)?;
                Ok(None)
            }
        }
    }

    /// Points `stage` at `version` (approvers; admins only with an override reason).
    pub fn promote(
        &self,
        principal: &Principal,
        namespace: &str,
        model: &str,
        stage: &str,
        version: &str,
        override_reason: Option<&str>,
    ) -> Result<Stages, Error> {
        check_name("stage", stage)?;
        let override_reason = Self::stage_mover(principal, namespace, override_reason)?;
        let policy = self.existing_namespace(namespace)?.policy.stage(stage);
        let record = self.load_version(namespace, model, version)?;
        separation_of_duties(principal, &record, "promote")?;
        if !record.state.servable() {
            return Err(Error::Refused(format!(
                "{} is {}: it can never be promoted, not even by an override",
                record.object(),
                record.state.name()
            )));
        }
        if override_reason.is_none() {
            let gate = |name| {
                record.gates.as_ref().is_some_and(|gates| match name {
                    "signature" => gates.signature.status == GateStatus::Passed,
                    _ => gates.provenance.status == GateStatus::Passed,
                })
            };
            let mut unmet = Vec::new();
            if record.state != State::Approved {
                unmet.push(format!("it is {}, not approved", record.state.name()));
            }
            let approvals = record.approvals.len();
            if approvals < policy.approvals as usize {
                unmet.push(format!(
                    "it has {approvals} approval(s) and {stage} needs {}",
                    policy.approvals
                ));
            }
            if policy.require_signature && !gate("signature") {
                unmet.push(format!("{stage} requires a verified signature"));
            }
            if policy.require_provenance && !gate("provenance") {
                unmet.push(format!("{stage} requires verified provenance"));
            }
            if !unmet.is_empty() {
                return Err(Error::Refused(format!(
                    "{} cannot be promoted to {stage}: {}",
                    record.object(),
                    unmet.join("; ")
                )));
            }
        }
        let action = if override_reason.is_some() {
            "override"
        } else {
            "promote"
        };
        self.move_stage(principal, &record, stage, action, override_reason)?;
        self.stages(principal, namespace, model)
    }

    /// Points `stage` back at the previous approved version in its history.
    pub fn rollback(
        &self,
        principal: &Principal,
        namespace: &str,
        model: &str,
        stage: &str,
        override_reason: Option<&str>,
    ) -> Result<Stages, Error> {
        check_name("stage", stage)?;
        let override_reason = Self::stage_mover(principal, namespace, override_reason)?;
        let history: Vec<StageEvent> = self
            .store
            .stage_history(namespace, model)?
            .into_iter()
            .filter(|event| event.stage == stage)
            .collect();
        let Some(current) = history.last() else {
            return Err(Error::NotFound(format!(
                "stage {stage} of {namespace}/{model} has never been set"
            )));
        };
        let mut target = None;
        for event in history.iter().rev() {
            if event.version == current.version {
                continue;
            }
            let record = self.load_version(namespace, model, &event.version)?;
            if record.state == State::Approved {
                target = Some(record);
                break;
            }
        }
        let Some(target) = target else {
            return Err(Error::Refused(format!(
                "stage {stage} of {namespace}/{model} has no earlier version that is still approved"
            )));
        };
        separation_of_duties(principal, &target, "roll back to")?;
        self.move_stage(principal, &target, stage, "rollback", override_reason)?;
        self.stages(principal, namespace, model)
    }

    fn move_stage(
        &self,
        principal: &Principal,
        record: &VersionRecord,
        stage: &str,
        action: &str,
        reason: Option<String>,
    ) -> Result<(), Error> {
        let previous = self
            .store
            .stage_history(&record.namespace, &record.model)?
            .into_iter()
            .rev()
            .find(|event| event.stage == stage)
            .map(|event| event.version);
        let mut event = AuditEvent::new(
            &format!("stage.{action}"),
            &principal.user,
            format!("{}/{}@{stage}", record.namespace, record.model),
        )
        .transition(previous.as_deref(), Some(&record.version))
        .detail("manifest_digest", record.manifest_digest.to_string());
        if let Some(reason) = &reason {
            event = event.detail("override_reason", reason.clone());
        }
        self.commit(
            Change::MoveStage {
                namespace: record.namespace.clone(),
                model: record.model.clone(),
                event: StageEvent {
                    stage: stage.to_owned(),
                    version: record.version.clone(),
                    action: action.to_owned(),
                    actor: principal.user.clone(),
                    time: now(),
                    reason,
                },
            },
            &[event],
        )?;
        Ok(())
    }

    // ---- audit log ----------------------------------------------------------------------

    /// The log's verifier key (`name+id+key`).
    pub fn log_key(&self, _principal: &Principal) -> Result<String, Error> {
        self.with_log(|_, log| Ok(log.verifier_key().to_string()))
    }

    /// The latest signed checkpoint (signed now if the tree grew).
    pub fn checkpoint(&self, _principal: &Principal) -> Result<String, Error> {
        self.with_log(|_, log| Ok(log.checkpoint()?))
    }

    /// A `c2sp.org/tlog-proof@v1` inclusion proof of entry `index`.
    pub fn prove_inclusion(
        &self,
        _principal: &Principal,
        index: u64,
        size: Option<u64>,
    ) -> Result<String, Error> {
        self.with_log(|_, log| Ok(log.prove_inclusion(index, size)?.to_string()))
    }

    /// A consistency proof from tree size `from` to `to` (default: now).
    pub fn prove_consistency(
        &self,
        _principal: &Principal,
        from: u64,
        to: Option<u64>,
    ) -> Result<String, Error> {
        self.with_log(|_, log| Ok(log.prove_consistency(from, to)?.to_string()))
    }

    /// The bytes of log entry `index`.
    pub fn log_entry(&self, _principal: &Principal, index: u64) -> Result<Vec<u8>, Error> {
        self.with_log(|_, log| Ok(log.entry(index)?))
    }
}

fn separation_of_duties(
    principal: &Principal,
    record: &VersionRecord,
    action: &str,
) -> Result<(), Error> {
    if record.publisher == principal.user {
        return Err(forbidden(format!(
            "separation of duties: {} published {} and so cannot {action} it, whatever role they hold; another approver must",
            principal.user,
            record.object()
        )));
    }
    Ok(())
}

fn check_reason(reason: &str) -> Result<&str, Error> {
    let reason = reason.trim();
    if reason.is_empty() || reason.len() > 1024 || reason.chars().any(char::is_control) {
        return Err(Error::BadRequest(
            "a reason is required: 1 to 1024 characters on one line".to_owned(),
        ));
    }
    Ok(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_work_directories_of_gone_processes_are_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tmp = dir.path();
        let alive = create_process_dir(&tmp.join("proc-alive")).expect("alive");
        fs::write(tmp.join("proc-alive").join("upload-1"), b"staged").expect("stage");
        drop(create_process_dir(&tmp.join("proc-gone")).expect("gone"));
        fs::write(tmp.join("proc-gone").join("upload-2"), b"staged").expect("stage");
        fs::create_dir_all(tmp.join("proc-starting")).expect("no lock yet");
        remove_stale_process_dirs(tmp);
        assert!(!tmp.join("proc-gone").exists(), "its process is gone");
        assert!(tmp.join("proc-alive").join("upload-1").exists());
        assert!(
            tmp.join("proc-starting").exists(),
            "it may be locked any moment"
        );
        drop(alive);
        remove_stale_process_dirs(tmp);
        assert!(!tmp.join("proc-alive").exists());
    }
}
