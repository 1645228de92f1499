//! Metadata storage behind one trait, [`MetadataStore`]: every mutation is a [`Change`]
//! applied atomically together with its audit entries (the outbox, see [`crate::audit`]).
//! State changes are compare-and-set on the version's current state, so a shared database
//! (PostgreSQL, next) stays correct with several server processes. [`SqliteStore`] is the
//! embedded default.

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use rampart_tlog::LogStorage;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::Error;
use crate::audit::AuditEvent;
use crate::names::Digest;
use crate::types::{
    Approval, AuditRef, FileEntry, Gates, ModelSummary, Namespace, NamespacePolicy, Role,
    StageEvent, State, TokenRecord, VersionRecord, version_object,
};

/// A mutation of the registry's metadata.
#[derive(Clone, Debug)]
pub enum Change {
    /// Issue a token; `hash` is the SHA-256 of its secret.
    CreateToken { record: TokenRecord, hash: [u8; 32] },
    /// Revoke a token (idempotent).
    RevokeToken { id: String },
    /// Create or replace a namespace's policy.
    PutNamespace(Namespace),
    /// Create a version; fails with a conflict if it exists.
    CreateVersion(Box<VersionRecord>),
    /// Move a version from state `from` (checked) to `to`, replacing the reason and, when
    /// given, the gate results.
    UpdateVersion {
        namespace: String,
        model: String,
        version: String,
        from: State,
        to: State,
        reason: Option<String>,
        gates: Option<Box<Gates>>,
    },
    /// Record an approval and move the version from `from` (checked) to `to`.
    Approve {
        namespace: String,
        model: String,
        version: String,
        approval: Approval,
        from: State,
        to: State,
    },
    /// Point a stage at a version.
    MoveStage {
        namespace: String,
        model: String,
        event: StageEvent,
    },
}

/// Anything held until dropped.
pub trait Held {}
impl<T> Held for T {}

/// A lock that serialises committing writers across processes sharing a store, released when
/// dropped.
pub struct WriterLock<'a> {
    _held: Box<dyn Held + 'a>,
}

impl<'a> WriterLock<'a> {
    /// Wraps whatever releases the lock when it is dropped.
    pub fn new(held: impl Held + 'a) -> Self {
        WriterLock {
            _held: Box::new(held),
        }
    }
}

/// Everything the registry keeps besides blobs and the log.
pub trait MetadataStore: Send + Sync {
    /// Taken before a change is applied and held until its audit entries are in the log, so
    /// that outbox order is log order when several processes share the store (and its log
    /// directory). `None`: the store belongs to this process alone (the log's file lock
    /// guarantees it), and the registry's own lock suffices.
    fn lock_writers(&self) -> Result<Option<WriterLock<'_>>, Error> {
        Ok(None)
    }
    /// Applies `change` and queues `events` for the log, atomically. Returns the events'
    /// outbox ids.
    fn apply(&self, change: &Change, events: &[AuditEvent]) -> Result<Vec<i64>, Error>;
    /// Queued entries not yet given a log index, oldest first.
    fn pending_audit(&self) -> Result<Vec<(i64, Vec<u8>)>, Error>;
    /// One past the highest recorded log index (0 if none).
    fn next_log_index(&self) -> Result<u64, Error>;
    /// Records the log indices of outbox entries.
    fn record_log_indices(&self, recorded: &[(i64, u64)]) -> Result<(), Error>;
    /// The transparency log's storage when the store keeps the log itself (a shared
    /// database); `None`: the log is the data directory's `log/`.
    fn log_storage(&self) -> Option<Box<dyn LogStorage + '_>> {
        None
    }

    /// The token whose secret hashes to `hash`.
    fn token_by_hash(&self, hash: &[u8; 32]) -> Result<Option<TokenRecord>, Error>;
    /// A token by id.
    fn token(&self, id: &str) -> Result<Option<TokenRecord>, Error>;
    /// Every token.
    fn tokens(&self) -> Result<Vec<TokenRecord>, Error>;
    /// A namespace.
    fn namespace(&self, name: &str) -> Result<Option<Namespace>, Error>;
    /// Every namespace.
    fn namespaces(&self) -> Result<Vec<Namespace>, Error>;
    /// A version with its files, approvals and audit references.
    fn version(
        &self,
        namespace: &str,
        model: &str,
        version: &str,
    ) -> Result<Option<VersionRecord>, Error>;
    /// Every version of a model, oldest first.
    fn versions(&self, namespace: &str, model: &str) -> Result<Vec<VersionRecord>, Error>;
    /// Models whose namespace is `namespace` (or any) and whose name contains `query`.
    fn models(
        &self,
        namespace: Option<&str>,
        query: Option<&str>,
    ) -> Result<Vec<ModelSummary>, Error>;
    /// Every move of every stage of a model, oldest first.
    fn stage_history(&self, namespace: &str, model: &str) -> Result<Vec<StageEvent>, Error>;
    /// Namespaces holding a servable version that contains the blob.
    fn namespaces_serving(&self, digest: &Digest) -> Result<Vec<String>, Error>;
    /// Audit entries recorded for an object.
    fn audit_refs(&self, object: &str) -> Result<Vec<AuditRef>, Error>;
    /// Versions created but never gated (the server stopped in between).
    fn ungated_versions(&self) -> Result<Vec<(String, String, String)>, Error>;
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY, hash BLOB NOT NULL UNIQUE, user TEXT NOT NULL, role TEXT NOT NULL,
    namespace TEXT NOT NULL, expires_at TEXT, revoked INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL, created_by TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS namespaces (
    name TEXT PRIMARY KEY, policy TEXT NOT NULL, updated_at TEXT NOT NULL, updated_by TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS versions (
    namespace TEXT NOT NULL, model TEXT NOT NULL, version TEXT NOT NULL,
    manifest_digest TEXT NOT NULL, signature TEXT, provenance TEXT, publisher TEXT NOT NULL,
    state TEXT NOT NULL, reason TEXT, created_at TEXT NOT NULL, gates TEXT,
    PRIMARY KEY (namespace, model, version));
CREATE TABLE IF NOT EXISTS version_files (
    namespace TEXT NOT NULL, model TEXT NOT NULL, version TEXT NOT NULL, path TEXT NOT NULL,
    digest TEXT NOT NULL, size INTEGER NOT NULL,
    PRIMARY KEY (namespace, model, version, path));
CREATE INDEX IF NOT EXISTS version_files_by_digest ON version_files (digest);
CREATE TABLE IF NOT EXISTS approvals (
    namespace TEXT NOT NULL, model TEXT NOT NULL, version TEXT NOT NULL, user TEXT NOT NULL,
    time TEXT NOT NULL, PRIMARY KEY (namespace, model, version, user));
CREATE TABLE IF NOT EXISTS stage_history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, namespace TEXT NOT NULL, model TEXT NOT NULL,
    stage TEXT NOT NULL, version TEXT NOT NULL, action TEXT NOT NULL, actor TEXT NOT NULL,
    time TEXT NOT NULL, reason TEXT);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, object TEXT NOT NULL, action TEXT NOT NULL,
    entry BLOB NOT NULL, log_index INTEGER UNIQUE);
CREATE INDEX IF NOT EXISTS outbox_by_object ON outbox (object);
";

/// The embedded metadata store: one SQLite database in WAL mode with full sync. Changes go
/// through one writer connection; reads through a small pool of read-only connections, which
/// WAL lets run beside the writer (and each other), each read on one snapshot.
pub struct SqliteStore {
    writer: Mutex<Connection>,
    readers: ReaderPool,
}

fn db(error: rusqlite::Error) -> Error {
    Error::Database(error.to_string())
}

pub(crate) fn corrupt(what: &str) -> impl Fn(String) -> Error + '_ {
    move |reason| Error::Database(format!("stored {what} is invalid: {reason}"))
}

fn poisoned<T>(_: T) -> Error {
    Error::Internal("the database lock is poisoned".to_owned())
}

/// Enough for every distinct statement one connection runs, so none is evicted and compiled
/// again (rusqlite keeps 16 by default).
const STATEMENT_CACHE_CAPACITY: usize = 48;

/// Settings every connection shares. The query planner stability guarantee stops SQLite from
/// recompiling a cached statement whenever a new value is bound to a parameter its plan looked
/// at (the bundled build enables STAT4); the plans here are key lookups either way.
fn configure(connection: &Connection) -> Result<(), Error> {
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    connection
        .set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(db)?;
    connection.busy_timeout(Duration::from_secs(5)).map_err(db)
}

/// At most this many read-only connections: the server's blocking pool may run many reads at
/// once, but on a few cores more connections only add memory (each has its own page cache).
const MAX_READERS: usize = 4;

/// Read-only connections opened on demand up to `size`, handed to one read at a time.
struct ReaderPool {
    path: PathBuf,
    size: usize,
    state: Mutex<PoolState>,
    returned: Condvar,
}

struct PoolState {
    idle: Vec<Connection>,
    open: usize,
}

impl ReaderPool {
    fn new(path: &Path) -> Self {
        let size = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(MAX_READERS);
        ReaderPool {
            path: path.to_owned(),
            size,
            state: Mutex::new(PoolState {
                idle: Vec::with_capacity(size),
                open: 0,
            }),
            returned: Condvar::new(),
        }
    }

    /// An idle connection, a new one while fewer than `size` are open, or else the first
    /// one returned.
    fn take(&self) -> Result<PooledReader<'_>, Error> {
        let mut state = self.state.lock().map_err(poisoned)?;
        loop {
            if let Some(connection) = state.idle.pop() {
                return Ok(PooledReader {
                    pool: self,
                    connection: Some(connection),
                });
            }
            if state.open < self.size {
                state.open += 1;
                drop(state);
                let opened = self.open_reader();
                if opened.is_err() {
                    self.forget_one();
                }
                return opened.map(|connection| PooledReader {
                    pool: self,
                    connection: Some(connection),
                });
            }
            state = self.returned.wait(state).map_err(poisoned)?;
        }
    }

    fn open_reader(&self) -> Result<Connection, Error> {
        let connection = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(db)?;
        configure(&connection)?;
        Ok(connection)
    }

    /// Makes room for a replacement of a connection that was dropped rather than returned.
    fn forget_one(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.open = state.open.saturating_sub(1);
        }
        self.returned.notify_one();
    }
}

/// A connection taken from the pool; returned to it when dropped, unless it was left inside
/// a transaction it could not end (then it is closed and a fresh one opened when needed).
struct PooledReader<'a> {
    pool: &'a ReaderPool,
    connection: Option<Connection>,
}

impl PooledReader<'_> {
    fn connection(&self) -> Result<&Connection, Error> {
        self.connection
            .as_ref()
            .ok_or_else(|| Error::Internal("a pooled connection was already returned".into()))
    }
}

impl Drop for PooledReader<'_> {
    fn drop(&mut self) {
        let Some(connection) = self.connection.take() else {
            return;
        };
        if !connection.is_autocommit() && connection.execute_batch("ROLLBACK").is_err() {
            drop(connection);
            self.pool.forget_one();
            return;
        }
        if let Ok(mut state) = self.pool.state.lock() {
            state.idle.push(connection);
        }
        self.pool.returned.notify_one();
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let writer = Connection::open(path).map_err(db)?;
        configure(&writer)?;
        // WAL before any reader opens: read-only connections need it (and its -shm file) to
        // exist, and it is what lets them read while a change is being written.
        writer
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
            .map_err(db)?;
        writer.execute_batch(SCHEMA).map_err(db)?;
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            readers: ReaderPool::new(path),
        })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>, Error> {
        self.writer.lock().map_err(poisoned)
    }

    /// Runs `query` on a pooled read-only connection inside one read transaction, so that
    /// all of its statements see the same committed state and never half of a change.
    fn read<T>(&self, query: impl FnOnce(&Connection) -> Result<T, Error>) -> Result<T, Error> {
        let reader = self.readers.take()?;
        let connection = reader.connection()?;
        run_cached(connection, "BEGIN")?;
        let result = query(connection);
        // Ending a read-only transaction cannot lose anything; a failure here leaves the
        // connection inside it, and the pool then closes it.
        run_cached(connection, "COMMIT")?;
        result
    }
}

fn run_cached(connection: &Connection, sql: &str) -> Result<(), Error> {
    connection
        .prepare_cached(sql)
        .and_then(|mut statement| statement.execute([]))
        .map_err(db)?;
    Ok(())
}

/// A value bound to a `?N` placeholder of the SQL both backends share.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SqlValue<'a> {
    Text(&'a str),
    OptionalText(Option<&'a str>),
    Bytes(&'a [u8]),
    Integer(i64),
}

/// A transaction of either backend. Statements are written once, in the SQL both dialects
/// accept (`"user"` quoted, `TRUE`/`FALSE`, `ON CONFLICT DO NOTHING`, `RETURNING`), with
/// `?N` placeholders that the PostgreSQL side rewrites to `$N`.
pub(crate) trait SqlTransaction {
    /// Runs a statement; returns the number of rows changed.
    fn execute(&mut self, sql: &str, params: &[SqlValue<'_>]) -> Result<u64, Error>;
    /// Runs a statement that returns one integer (an `INSERT … RETURNING id`).
    fn query_integer(&mut self, sql: &str, params: &[SqlValue<'_>]) -> Result<i64, Error>;
}

impl SqlTransaction for rusqlite::Transaction<'_> {
    fn execute(&mut self, sql: &str, params: &[SqlValue<'_>]) -> Result<u64, Error> {
        let changed = self
            .prepare_cached(sql)
            .and_then(|mut statement| statement.execute(rusqlite::params_from_iter(params)))
            .map_err(db)?;
        Ok(changed as u64)
    }

    fn query_integer(&mut self, sql: &str, params: &[SqlValue<'_>]) -> Result<i64, Error> {
        self.prepare_cached(sql)
            .and_then(|mut statement| {
                statement.query_row(rusqlite::params_from_iter(params), |row| row.get(0))
            })
            .map_err(db)
    }
}

impl rusqlite::ToSql for SqlValue<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            SqlValue::Text(text) => text.to_sql(),
            SqlValue::OptionalText(text) => text.to_sql(),
            SqlValue::Bytes(bytes) => bytes.to_sql(),
            SqlValue::Integer(value) => value.to_sql(),
        }
    }
}

/// Applies a change and queues its audit entries in `tx`; returns the entries' outbox ids.
/// The one definition of every change, for every backend.
pub(crate) fn apply_change(
    tx: &mut dyn SqlTransaction,
    change: &Change,
    events: &[AuditEvent],
) -> Result<Vec<i64>, Error> {
    use SqlValue::{Bytes, Integer, OptionalText, Text};
    let stale = |namespace: &str, model: &str, version: &str, from: &State| {
        Error::Conflict(format!(
            "version {} is no longer {}; retry",
            version_object(namespace, model, version),
            from.name()
        ))
    };
    match change {
        Change::CreateToken { record, hash } => {
            tx.execute(
                r#"INSERT INTO tokens (id, hash, "user", role, namespace, expires_at, revoked, created_at, created_by)
                   VALUES (?1, ?2, ?3, ?4, ?5, ?6, FALSE, ?7, ?8)"#,
                &[
                    Text(&record.id),
                    Bytes(hash.as_slice()),
                    Text(&record.user),
                    Text(record.role.name()),
                    Text(&record.namespace),
                    OptionalText(record.expires_at.as_deref()),
                    Text(&record.created_at),
                    Text(&record.created_by),
                ],
            )?;
        }
        Change::RevokeToken { id } => {
            if tx.execute(
                "UPDATE tokens SET revoked = TRUE WHERE id = ?1",
                &[Text(id)],
            )? == 0
            {
                return Err(Error::NotFound(format!("no token {id}")));
            }
        }
        Change::PutNamespace(namespace) => {
            let policy = serde_json::to_string(&namespace.policy)
                .map_err(|error| Error::Internal(error.to_string()))?;
            tx.execute(
                "INSERT INTO namespaces (name, policy, updated_at, updated_by) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (name) DO UPDATE SET policy = ?2, updated_at = ?3, updated_by = ?4",
                &[
                    Text(&namespace.name),
                    Text(&policy),
                    Text(&namespace.updated_at),
                    Text(&namespace.updated_by),
                ],
            )?;
        }
        Change::CreateVersion(record) => {
            let json = |value: &Option<serde_json::Value>| {
                value.as_ref().map(serde_json::Value::to_string)
            };
            let (signature, provenance) = (json(&record.signature), json(&record.provenance));
            let manifest = record.manifest_digest.to_string();
            let inserted = tx.execute(
                "INSERT INTO versions (namespace, model, version, manifest_digest, signature, provenance,
                 publisher, state, reason, created_at, gates) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULL)
                 ON CONFLICT DO NOTHING",
                &[
                    Text(&record.namespace),
                    Text(&record.model),
                    Text(&record.version),
                    Text(&manifest),
                    OptionalText(signature.as_deref()),
                    OptionalText(provenance.as_deref()),
                    Text(&record.publisher),
                    Text(record.state.name()),
                    OptionalText(record.reason.as_deref()),
                    Text(&record.created_at),
                ],
            )?;
            if inserted == 0 {
                return Err(Error::Conflict(format!(
                    "version {} already exists",
                    record.object()
                )));
            }
            for file in &record.files {
                let size = i64::try_from(file.size).map_err(|_| {
                    Error::BadRequest(format!("file size {} is too large", file.size))
                })?;
                tx.execute(
                    "INSERT INTO version_files (namespace, model, version, path, digest, size)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    &[
                        Text(&record.namespace),
                        Text(&record.model),
                        Text(&record.version),
                        Text(&file.path),
                        Text(&file.digest.to_string()),
                        Integer(size),
                    ],
                )?;
            }
        }
        Change::UpdateVersion {
            namespace,
            model,
            version,
            from,
            to,
            reason,
            gates,
        } => {
            let gates = gates
                .as_ref()
                .map(|gates| {
                    serde_json::to_string(gates).map_err(|error| Error::Internal(error.to_string()))
                })
                .transpose()?;
            let changed = tx.execute(
                "UPDATE versions SET state = ?5, reason = ?6, gates = COALESCE(?7, gates)
                 WHERE namespace = ?1 AND model = ?2 AND version = ?3 AND state = ?4",
                &[
                    Text(namespace),
                    Text(model),
                    Text(version),
                    Text(from.name()),
                    Text(to.name()),
                    OptionalText(reason.as_deref()),
                    OptionalText(gates.as_deref()),
                ],
            )?;
            if changed == 0 {
                return Err(stale(namespace, model, version, from));
            }
        }
        Change::Approve {
            namespace,
            model,
            version,
            approval,
            from,
            to,
        } => {
            let changed = tx.execute(
                "UPDATE versions SET state = ?5 WHERE namespace = ?1 AND model = ?2 AND version = ?3 AND state = ?4",
                &[
                    Text(namespace),
                    Text(model),
                    Text(version),
                    Text(from.name()),
                    Text(to.name()),
                ],
            )?;
            if changed == 0 {
                return Err(stale(namespace, model, version, from));
            }
            let inserted = tx.execute(
                r#"INSERT INTO approvals (namespace, model, version, "user", time) VALUES (?1, ?2, ?3, ?4, ?5)
                   ON CONFLICT DO NOTHING"#,
                &[
                    Text(namespace),
                    Text(model),
                    Text(version),
                    Text(&approval.user),
                    Text(&approval.time),
                ],
            )?;
            if inserted == 0 {
                return Err(Error::Conflict(format!(
                    "{} has already approved {}",
                    approval.user,
                    version_object(namespace, model, version)
                )));
            }
        }
        Change::MoveStage {
            namespace,
            model,
            event,
        } => {
            tx.execute(
                "INSERT INTO stage_history (namespace, model, stage, version, action, actor, time, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                &[
                    Text(namespace),
                    Text(model),
                    Text(&event.stage),
                    Text(&event.version),
                    Text(&event.action),
                    Text(&event.actor),
                    Text(&event.time),
                    OptionalText(event.reason.as_deref()),
                ],
            )?;
        }
    }
    events
        .iter()
        .map(|event| {
            tx.query_integer(
                "INSERT INTO outbox (object, action, entry) VALUES (?1, ?2, ?3) RETURNING id",
                &[
                    Text(&event.object),
                    Text(&event.action),
                    Bytes(&event.to_entry()),
                ],
            )
        })
        .collect()
}

fn token_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(TokenRecord, String)> {
    let role: String = row.get(2)?;
    Ok((
        TokenRecord {
            id: row.get(0)?,
            user: row.get(1)?,
            role: Role::Reader,
            namespace: row.get(3)?,
            expires_at: row.get(4)?,
            revoked: row.get::<_, i64>(5)? != 0,
            created_at: row.get(6)?,
            created_by: row.get(7)?,
        },
        role,
    ))
}

fn finish_token((mut record, role): (TokenRecord, String)) -> Result<TokenRecord, Error> {
    record.role = role.parse().map_err(corrupt("token role"))?;
    Ok(record)
}

const TOKEN_COLUMNS: &str =
    "id, user, role, namespace, expires_at, revoked, created_at, created_by";

pub(crate) fn parse_digest(text: &str) -> Result<Digest, Error> {
    Digest::parse(text).map_err(|error| corrupt("digest")(error.to_string()))
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    what: &str,
    text: &str,
) -> Result<T, Error> {
    serde_json::from_str(text).map_err(|error| corrupt(what)(error.to_string()))
}

pub(crate) fn optional_json<T: serde::de::DeserializeOwned>(
    what: &str,
    text: Option<String>,
) -> Result<Option<T>, Error> {
    text.map(|text| parse_json(what, &text)).transpose()
}

// The statements of every version read (the hottest request), named for the test that checks
// they stay compiled.
const VERSION_ROW: &str =
    "SELECT manifest_digest, signature, provenance, publisher, state, reason, created_at, gates
    FROM versions WHERE namespace = ?1 AND model = ?2 AND version = ?3";
const VERSION_FILES: &str = "SELECT path, digest, size FROM version_files
    WHERE namespace = ?1 AND model = ?2 AND version = ?3 ORDER BY path";
const VERSION_APPROVALS: &str = "SELECT user, time FROM approvals
    WHERE namespace = ?1 AND model = ?2 AND version = ?3 ORDER BY time, user";
const AUDIT_REFS: &str = "SELECT action, log_index FROM outbox WHERE object = ?1 ORDER BY id";

impl SqliteStore {
    fn load_version(
        connection: &Connection,
        namespace: &str,
        model: &str,
        version: &str,
    ) -> Result<Option<VersionRecord>, Error> {
        type Row = (
            String,
            Option<String>,
            Option<String>,
            String,
            String,
            Option<String>,
            String,
            Option<String>,
        );
        let row: Option<Row> = connection
            .prepare_cached(VERSION_ROW)
            .and_then(|mut statement| {
                statement
                    .query_row(params![namespace, model, version], |row| {
                        Ok((
                            row.get(0)?,
                            row.get(1)?,
                            row.get(2)?,
                            row.get(3)?,
                            row.get(4)?,
                            row.get(5)?,
                            row.get(6)?,
                            row.get(7)?,
                        ))
                    })
                    .optional()
            })
            .map_err(db)?;
        let Some((manifest, signature, provenance, publisher, state, reason, created_at, gates)) =
            row
        else {
            return Ok(None);
        };
        let mut statement = connection.prepare_cached(VERSION_FILES).map_err(db)?;
        let files = statement
            .query_map(params![namespace, model, version], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                ))
            })
            .map_err(db)?
            .map(|row| {
                let (path, digest, size) = row.map_err(db)?;
                Ok(FileEntry {
                    path,
                    digest: parse_digest(&digest)?,
                    size: u64::try_from(size).map_err(|_| corrupt("size")(size.to_string()))?,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let mut statement = connection.prepare_cached(VERSION_APPROVALS).map_err(db)?;
        let approvals = statement
            .query_map(params![namespace, model, version], |row| {
                Ok(Approval {
                    user: row.get(0)?,
                    time: row.get(1)?,
                })
            })
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        let audit = audit_refs(connection, &version_object(namespace, model, version))?;
        Ok(Some(VersionRecord {
            namespace: namespace.to_owned(),
            model: model.to_owned(),
            version: version.to_owned(),
            files,
            manifest_digest: parse_digest(&manifest)?,
            signature: optional_json("signature", signature)?,
            provenance: optional_json("provenance", provenance)?,
            publisher,
            state: state.parse().map_err(corrupt("state"))?,
            reason,
            created_at,
            gates: optional_json("gate results", gates)?,
            approvals,
            audit,
            stage_history: Vec::new(),
        }))
    }
}

fn audit_refs(connection: &Connection, object: &str) -> Result<Vec<AuditRef>, Error> {
    let mut statement = connection.prepare_cached(AUDIT_REFS).map_err(db)?;
    statement
        .query_map(params![object], |row| {
            Ok(AuditRef {
                action: row.get(0)?,
                index: row
                    .get::<_, Option<i64>>(1)?
                    .and_then(|index| u64::try_from(index).ok()),
            })
        })
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)
}

impl MetadataStore for SqliteStore {
    fn apply(&self, change: &Change, events: &[AuditEvent]) -> Result<Vec<i64>, Error> {
        let mut connection = self.lock()?;
        let mut tx = connection.transaction().map_err(db)?;
        let ids = apply_change(&mut tx, change, events)?;
        tx.commit().map_err(db)?;
        Ok(ids)
    }

    // The outbox is read on the writer: these run under the registry's writer lock, between
    // changes, and must see the change that was just applied.
    fn pending_audit(&self) -> Result<Vec<(i64, Vec<u8>)>, Error> {
        let connection = self.lock()?;
        let mut statement = connection
            .prepare_cached("SELECT id, entry FROM outbox WHERE log_index IS NULL ORDER BY id")
            .map_err(db)?;
        statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)
    }

    fn next_log_index(&self) -> Result<u64, Error> {
        let connection = self.lock()?;
        let highest: Option<i64> = connection
            .prepare_cached("SELECT MAX(log_index) FROM outbox")
            .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
            .map_err(db)?;
        Ok(highest.map_or(0, |index| {
            u64::try_from(index).unwrap_or(0).saturating_add(1)
        }))
    }

    fn record_log_indices(&self, recorded: &[(i64, u64)]) -> Result<(), Error> {
        let mut connection = self.lock()?;
        let mut tx = connection.transaction().map_err(db)?;
        for (id, index) in recorded {
            let index = i64::try_from(*index)
                .map_err(|_| Error::Internal("log index beyond i64".to_owned()))?;
            tx.execute(
                "UPDATE outbox SET log_index = ?2 WHERE id = ?1",
                &[SqlValue::Integer(*id), SqlValue::Integer(index)],
            )?;
        }
        tx.commit().map_err(db)
    }

    fn token_by_hash(&self, hash: &[u8; 32]) -> Result<Option<TokenRecord>, Error> {
        self.read(|connection| {
            connection
                .prepare_cached(&format!(
                    "SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = ?1"
                ))
                .and_then(|mut statement| {
                    statement
                        .query_row(params![hash.as_slice()], token_from_row)
                        .optional()
                })
                .map_err(db)?
                .map(finish_token)
                .transpose()
        })
    }

    fn token(&self, id: &str) -> Result<Option<TokenRecord>, Error> {
        self.read(|connection| {
            connection
                .prepare_cached(&format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = ?1"))
                .and_then(|mut statement| {
                    statement.query_row(params![id], token_from_row).optional()
                })
                .map_err(db)?
                .map(finish_token)
                .transpose()
        })
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>, Error> {
        self.read(|connection| {
            let mut statement = connection
                .prepare_cached(&format!(
                    "SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created_at, id"
                ))
                .map_err(db)?;
            let rows = statement
                .query_map([], token_from_row)
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)?;
            rows.into_iter().map(finish_token).collect()
        })
    }

    fn namespace(&self, name: &str) -> Result<Option<Namespace>, Error> {
        let row: Option<(String, String, String)> = self.read(|connection| {
            connection
                .prepare_cached(
                    "SELECT policy, updated_at, updated_by FROM namespaces WHERE name = ?1",
                )
                .and_then(|mut statement| {
                    statement
                        .query_row(params![name], |row| {
                            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                        })
                        .optional()
                })
                .map_err(db)
        })?;
        row.map(|(policy, updated_at, updated_by)| {
            Ok(Namespace {
                name: name.to_owned(),
                policy: parse_json::<NamespacePolicy>("policy", &policy)?,
                updated_at,
                updated_by,
            })
        })
        .transpose()
    }

    fn namespaces(&self) -> Result<Vec<Namespace>, Error> {
        let rows = self.read(|connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT name, policy, updated_at, updated_by FROM namespaces ORDER BY name",
                )
                .map_err(db)?;
            statement
                .query_map([], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                    ))
                })
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)
        })?;
        rows.into_iter()
            .map(|(name, policy, updated_at, updated_by)| {
                Ok(Namespace {
                    name,
                    policy: parse_json("policy", &policy)?,
                    updated_at,
                    updated_by,
                })
            })
            .collect()
    }

    fn version(
        &self,
        namespace: &str,
        model: &str,
        version: &str,
    ) -> Result<Option<VersionRecord>, Error> {
        self.read(|connection| Self::load_version(connection, namespace, model, version))
    }

    fn versions(&self, namespace: &str, model: &str) -> Result<Vec<VersionRecord>, Error> {
        self.read(|connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT version FROM versions WHERE namespace = ?1 AND model = ?2 ORDER BY created_at, rowid",
                )
                .map_err(db)?;
            let names = statement
                .query_map(params![namespace, model], |row| row.get::<_, String>(0))
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)?;
            names
                .iter()
                .filter_map(|version| {
                    Self::load_version(connection, namespace, model, version).transpose()
                })
                .collect()
        })
    }

    fn models(
        &self,
        namespace: Option<&str>,
        query: Option<&str>,
    ) -> Result<Vec<ModelSummary>, Error> {
        self.read(|connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT namespace, model, COUNT(*) FROM versions
                     WHERE (?1 IS NULL OR namespace = ?1) AND (?2 IS NULL OR instr(model, ?2) > 0)
                     GROUP BY namespace, model ORDER BY namespace, model",
                )
                .map_err(db)?;
            let rows = statement
                .query_map(params![namespace, query], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, i64>(2)?,
                    ))
                })
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)?;
            let mut stages = connection
                .prepare_cached(
                    "SELECT stage, version FROM stage_history WHERE seq IN
                     (SELECT MAX(seq) FROM stage_history WHERE namespace = ?1 AND model = ?2 GROUP BY stage)
                     ORDER BY stage",
                )
                .map_err(db)?;
            rows.into_iter()
                .map(|(namespace, model, versions)| {
                    let current = stages
                        .query_map(params![namespace, model], |row| {
                            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                        })
                        .map_err(db)?
                        .collect::<Result<_, _>>()
                        .map_err(db)?;
                    Ok(ModelSummary {
                        namespace,
                        model,
                        versions: u64::try_from(versions).unwrap_or(0),
                        stages: current,
                    })
                })
                .collect()
        })
    }

    fn stage_history(&self, namespace: &str, model: &str) -> Result<Vec<StageEvent>, Error> {
        self.read(|connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT stage, version, action, actor, time, reason FROM stage_history
                     WHERE namespace = ?1 AND model = ?2 ORDER BY seq",
                )
                .map_err(db)?;
            statement
                .query_map(params![namespace, model], |row| {
                    Ok(StageEvent {
                        stage: row.get(0)?,
                        version: row.get(1)?,
                        action: row.get(2)?,
                        actor: row.get(3)?,
                        time: row.get(4)?,
                        reason: row.get(5)?,
                    })
                })
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)
        })
    }

    fn namespaces_serving(&self, digest: &Digest) -> Result<Vec<String>, Error> {
        self.read(|connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT DISTINCT f.namespace FROM version_files f JOIN versions v
                     ON v.namespace = f.namespace AND v.model = f.model AND v.version = f.version
                     WHERE f.digest = ?1 AND v.state IN ('scanned', 'verified', 'approved')",
                )
                .map_err(db)?;
            statement
                .query_map(params![digest.to_string()], |row| row.get(0))
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)
        })
    }

    fn audit_refs(&self, object: &str) -> Result<Vec<AuditRef>, Error> {
        self.read(|connection| audit_refs(connection, object))
    }

    fn ungated_versions(&self) -> Result<Vec<(String, String, String)>, Error> {
        self.read(|connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT namespace, model, version FROM versions WHERE gates IS NULL AND state = 'quarantined' ORDER BY rowid",
                )
                .map_err(db)?;
            statement
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)
        })
    }
}

/// Checks every [`MetadataStore`] must pass, run on each implementation.
#[cfg(test)]
pub(crate) mod contract {
    use super::*;
    use crate::names::sha256;

    pub(crate) fn version(state: State) -> VersionRecord {
        let files = vec![FileEntry {
            path: "model.bin".into(),
            digest: sha256(b"x"),
            size: 1,
        }];
        VersionRecord {
            namespace: "ml".into(),
            model: "m".into(),
            version: "1".into(),
            manifest_digest: crate::types::manifest_digest(&files),
            files,
            signature: None,
            provenance: None,
            publisher: "alice".into(),
            state,
            reason: None,
            created_at: "2026-01-01T00:00:00Z".into(),
            gates: None,
            approvals: Vec::new(),
            audit: Vec::new(),
            stage_history: Vec::new(),
        }
    }

    pub(crate) fn versions_round_trip_and_conflict_on_recreate(store: &dyn MetadataStore) {
        let record = version(State::Quarantined);
        let event = AuditEvent::new("version.create", "alice", record.object());
        store
            .apply(
                &Change::CreateVersion(Box::new(record.clone())),
                std::slice::from_ref(&event),
            )
            .expect("create");
        let loaded = store
            .version("ml", "m", "1")
            .expect("load")
            .expect("exists");
        assert_eq!(loaded.files, record.files);
        assert_eq!(loaded.audit.len(), 1);
        assert!(matches!(
            store.apply(&Change::CreateVersion(Box::new(record)), &[event]),
            Err(Error::Conflict(_))
        ));
        assert_eq!(
            store.pending_audit().expect("pending").len(),
            1,
            "the failed create queued nothing"
        );
        assert!(
            store
                .namespaces_serving(&sha256(b"x"))
                .expect("serving")
                .is_empty()
        );
    }

    pub(crate) fn state_changes_are_compare_and_set(store: &dyn MetadataStore) {
        store
            .apply(
                &Change::CreateVersion(Box::new(version(State::Quarantined))),
                &[],
            )
            .expect("create");
        let update = |from, to| Change::UpdateVersion {
            namespace: "ml".into(),
            model: "m".into(),
            version: "1".into(),
            from,
            to,
            reason: None,
            gates: None,
        };
        store
            .apply(&update(State::Quarantined, State::Scanned), &[])
            .expect("advance");
        assert!(matches!(
            store.apply(&update(State::Quarantined, State::Verified), &[]),
            Err(Error::Conflict(_))
        ));
        assert_eq!(
            store.namespaces_serving(&sha256(b"x")).expect("serving"),
            vec!["ml".to_owned()]
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("db.sqlite")).expect("open");
        (dir, store)
    }

    #[test]
    fn versions_round_trip_and_conflict_on_recreate() {
        contract::versions_round_trip_and_conflict_on_recreate(&store().1);
    }

    #[test]
    fn state_changes_are_compare_and_set() {
        contract::state_changes_are_compare_and_set(&store().1);
    }

    fn two_file_version() -> VersionRecord {
        let mut record = contract::version(State::Quarantined);
        record.files.push(FileEntry {
            path: "tokenizer.json".into(),
            digest: crate::names::sha256(b"y"),
            size: 1,
        });
        record
    }

    /// Runs `read` on another thread and waits at most a few seconds for it, so that a read
    /// blocked behind the writer fails the test instead of hanging it.
    fn read_elsewhere<T: Send + 'static>(
        store: &std::sync::Arc<SqliteStore>,
        read: impl FnOnce(&SqliteStore) -> T + Send + 'static,
    ) -> T {
        let store = std::sync::Arc::clone(store);
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || sender.send(read(&store)));
        receiver
            .recv_timeout(Duration::from_secs(10))
            .expect("the read completed while the writer held its transaction")
    }

    #[test]
    fn reads_complete_while_a_write_transaction_is_open_and_see_none_of_it() {
        let (_dir, store) = store();
        let store = std::sync::Arc::new(store);
        let record = two_file_version();
        let mut writer = store.lock().expect("writer");
        let mut tx = writer.transaction().expect("begin");
        apply_change(
            &mut tx,
            &Change::CreateVersion(Box::new(record.clone())),
            &[],
        )
        .expect("half of the change");
        tx.execute(
            "INSERT INTO approvals (namespace, model, version, \"user\", time) VALUES (?1, ?2, ?3, ?4, ?5)",
            &[
                SqlValue::Text("ml"),
                SqlValue::Text("m"),
                SqlValue::Text("1"),
                SqlValue::Text("bob"),
                SqlValue::Text("2026-01-02T00:00:00Z"),
            ],
        )
        .expect("more of the change");
        let during = read_elsewhere(&store, |store| {
            (store.version("ml", "m", "1"), store.models(None, None))
        });
        assert!(during.0.expect("read").is_none(), "an uncommitted version");
        assert!(during.1.expect("models").is_empty(), "an uncommitted model");
        tx.commit().expect("commit");
        drop(writer);
        let after = store
            .version("ml", "m", "1")
            .expect("read")
            .expect("committed");
        assert_eq!(after.files, record.files);
        assert_eq!(after.approvals.len(), 1);
    }

    #[test]
    fn a_read_after_a_committed_change_sees_it_on_every_pooled_connection() {
        let (_dir, store) = store();
        // Occupy every pooled connection at once, each inside a read that saw no version, so
        // that the reads after the change run on connections that have read before.
        let barrier = std::sync::Barrier::new(store.readers.size);
        std::thread::scope(|scope| {
            for _ in 0..store.readers.size {
                scope.spawn(|| {
                    store
                        .read(|connection| {
                            barrier.wait();
                            SqliteStore::load_version(connection, "ml", "m", "1")
                        })
                        .expect("read")
                        .is_none()
                });
            }
        });
        assert_eq!(
            store.readers.state.lock().expect("pool").idle.len(),
            store.readers.size
        );
        store
            .apply(&Change::CreateVersion(Box::new(two_file_version())), &[])
            .expect("create");
        for _ in 0..store.readers.size {
            let seen = store
                .version("ml", "m", "1")
                .expect("read")
                .expect("committed");
            assert_eq!(seen.files.len(), 2);
        }
        let update = Change::UpdateVersion {
            namespace: "ml".into(),
            model: "m".into(),
            version: "1".into(),
            from: State::Quarantined,
            to: State::Scanned,
            reason: None,
            gates: None,
        };
        store.apply(&update, &[]).expect("advance");
        for _ in 0..store.readers.size {
            let seen = store
                .version("ml", "m", "1")
                .expect("read")
                .expect("exists");
            assert_eq!(seen.state, State::Scanned);
        }
    }

    #[test]
    fn concurrent_reads_beyond_the_pool_size_wait_for_a_connection() {
        let (_dir, store) = store();
        store
            .apply(&Change::CreateVersion(Box::new(two_file_version())), &[])
            .expect("create");
        let readers = store.readers.size * 3;
        std::thread::scope(|scope| {
            for _ in 0..readers {
                scope.spawn(|| {
                    for _ in 0..20 {
                        let seen = store.version("ml", "m", "1").expect("read");
                        assert!(seen.is_some());
                    }
                });
            }
        });
        let state = store.readers.state.lock().expect("pool");
        assert!(state.open <= store.readers.size, "{} open", state.open);
        assert_eq!(state.idle.len(), state.open, "every connection came back");
    }

    #[test]
    fn a_failed_read_returns_its_connection_outside_any_transaction() {
        let (_dir, store) = store();
        let failed: Result<(), Error> =
            store.read(|_| Err(Error::Internal("the query failed".into())));
        assert!(failed.is_err());
        let state = store.readers.state.lock().expect("pool");
        assert_eq!(state.idle.len(), 1);
        assert!(state.idle.iter().all(Connection::is_autocommit));
    }

    #[test]
    fn version_statements_stay_compiled_when_new_values_are_bound() {
        let (_dir, store) = store();
        let mut record = contract::version(State::Quarantined);
        for version in ["1", "2"] {
            record.version = version.into();
            let event = AuditEvent::new("version.create", "alice", record.object());
            store
                .apply(&Change::CreateVersion(Box::new(record.clone())), &[event])
                .expect("create");
        }
        // One thread, so every read takes the same pooled connection.
        for version in ["1", "2", "1", "2"] {
            assert!(store.version("ml", "m", version).expect("read").is_some());
        }
        let reader = store.readers.take().expect("reader");
        let connection = reader.connection().expect("connection");
        for sql in [VERSION_ROW, VERSION_FILES, VERSION_APPROVALS, AUDIT_REFS] {
            let statement = connection.prepare_cached(sql).expect("cached");
            assert_eq!(
                statement.get_status(rusqlite::StatementStatus::Run),
                4,
                "not the statement the reads used: {sql}"
            );
            assert_eq!(
                statement.get_status(rusqlite::StatementStatus::RePrepare),
                0,
                "recompiled on rebinding: {sql}"
            );
        }
    }
}
