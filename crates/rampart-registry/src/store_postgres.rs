//! [`PostgresStore`]: the [`MetadataStore`] for several `rampart serve` processes sharing
//! state (`--database postgres://…`). Same tables and semantics as the SQLite store (the
//! changes themselves are [`crate::store::apply_change`], shared): each [`Change`] and its
//! outbox entries commit in one transaction, state changes are compare-and-set
//! (`UPDATE … WHERE state = $from`, re-checked by PostgreSQL under the row lock), creations
//! are `INSERT … ON CONFLICT DO NOTHING`.
//!
//! The audit log lives in the database too ([`PostgresLogStorage`] under a
//! [`rampart_tlog::HostedLog`]): its entries, its Merkle hashes and its signed checkpoints,
//! so the processes share nothing but the database, the blob store and the log's key. Appends
//! and checkpoint signing are serialised across processes by a session-level advisory lock
//! held by [`MetadataStore::lock_writers`] from before a change is applied until its entries
//! are in the log, so outbox order is log order. A process that dies holding the lock loses
//! its session, and PostgreSQL releases the lock.

use std::sync::{Mutex, MutexGuard};

use postgres::types::ToSql;
use postgres::{Client, NoTls, Row};
use rampart_tlog::{Hash, LogStorage};

use crate::Error;
use crate::audit::AuditEvent;
use crate::names::Digest;
use crate::store::{
    Change, MetadataStore, SqlTransaction, SqlValue, WriterLock, apply_change, corrupt,
    optional_json, parse_digest, parse_json,
};
use crate::types::{
    Approval, AuditRef, FileEntry, ModelSummary, Namespace, NamespacePolicy, StageEvent,
    TokenRecord, VersionRecord, version_object,
};

/// The advisory lock key of the commit lock (`"rampart"` in ASCII).
const WRITER_LOCK_KEY: i64 = 0x72_61_6d_70_61_72_74;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY, hash BYTEA NOT NULL UNIQUE, "user" TEXT NOT NULL, role TEXT NOT NULL,
    namespace TEXT NOT NULL, expires_at TEXT, revoked BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL, created_by TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS namespaces (
    name TEXT PRIMARY KEY, policy TEXT NOT NULL, updated_at TEXT NOT NULL, updated_by TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS versions (
    seq BIGSERIAL UNIQUE, namespace TEXT NOT NULL, model TEXT NOT NULL, version TEXT NOT NULL,
    manifest_digest TEXT NOT NULL, signature TEXT, provenance TEXT, publisher TEXT NOT NULL,
    state TEXT NOT NULL, reason TEXT, created_at TEXT NOT NULL, gates TEXT,
    PRIMARY KEY (namespace, model, version));
CREATE TABLE IF NOT EXISTS version_files (
    namespace TEXT NOT NULL, model TEXT NOT NULL, version TEXT NOT NULL, path TEXT NOT NULL,
    digest TEXT NOT NULL, size BIGINT NOT NULL,
    PRIMARY KEY (namespace, model, version, path));
CREATE INDEX IF NOT EXISTS version_files_by_digest ON version_files (digest);
CREATE TABLE IF NOT EXISTS approvals (
    namespace TEXT NOT NULL, model TEXT NOT NULL, version TEXT NOT NULL, "user" TEXT NOT NULL,
    time TEXT NOT NULL, PRIMARY KEY (namespace, model, version, "user"));
CREATE TABLE IF NOT EXISTS stage_history (
    seq BIGSERIAL PRIMARY KEY, namespace TEXT NOT NULL, model TEXT NOT NULL,
    stage TEXT NOT NULL, version TEXT NOT NULL, action TEXT NOT NULL, actor TEXT NOT NULL,
    time TEXT NOT NULL, reason TEXT);
CREATE TABLE IF NOT EXISTS outbox (
    id BIGSERIAL PRIMARY KEY, object TEXT NOT NULL, action TEXT NOT NULL,
    entry BYTEA NOT NULL, log_index BIGINT UNIQUE);
CREATE INDEX IF NOT EXISTS outbox_by_object ON outbox (object);
CREATE TABLE IF NOT EXISTS log_entries (idx BIGINT PRIMARY KEY, entry BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS log_hashes (position BIGINT PRIMARY KEY, hash BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS log_checkpoints (
    seq BIGSERIAL PRIMARY KEY, size BIGINT NOT NULL, note TEXT NOT NULL);
"#;

const TOKEN_COLUMNS: &str =
    r#"id, "user", role, namespace, expires_at, revoked, created_at, created_by"#;

/// Metadata in a PostgreSQL database; one connection for queries and changes, one for the
/// cross-process commit lock.
pub struct PostgresStore {
    url: String,
    /// Always `Some` until dropped.
    clients: Option<Clients>,
}

struct Clients {
    connection: Mutex<Client>,
    writer_lock: Mutex<Client>,
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // A `postgres::Client` blocks on its own runtime when it closes, which panics in an
        // async context (the server drops the registry in one): close them on a plain thread.
        if let Some(clients) = self.clients.take() {
            let _ = std::thread::spawn(move || drop(clients)).join();
        }
    }
}

fn db(error: postgres::Error) -> Error {
    Error::Database(error.to_string())
}

fn connect(url: &str) -> Result<Client, Error> {
    Client::connect(url, NoTls).map_err(|error| {
        Error::Database(format!(
            "cannot connect to the PostgreSQL database: {error} (check the --database URL, e.g. postgres://user:password@host:5432/registry)"
        ))
    })
}

/// The locked client, reconnected if its connection was lost (a database restart).
fn usable<'a>(url: &str, client: &'a Mutex<Client>) -> Result<MutexGuard<'a, Client>, Error> {
    let mut guard = client
        .lock()
        .map_err(|_| Error::Internal("the database lock is poisoned".to_owned()))?;
    if guard.is_closed() {
        *guard = connect(url)?;
    }
    Ok(guard)
}

impl PostgresStore {
    /// Connects to `url` (`postgres://…` or `host=… user=…`) and creates the tables if needed.
    pub fn open(url: &str) -> Result<Self, Error> {
        let mut connection = connect(url)?;
        let mut lock = connect(url)?;
        // Two processes starting at once must not both create the tables.
        lock.execute("SELECT pg_advisory_lock($1)", &[&WRITER_LOCK_KEY])
            .map_err(db)?;
        let created = connection.batch_execute(SCHEMA).map_err(db);
        lock.execute("SELECT pg_advisory_unlock($1)", &[&WRITER_LOCK_KEY])
            .map_err(db)?;
        created?;
        Ok(PostgresStore {
            url: url.to_owned(),
            clients: Some(Clients {
                connection: Mutex::new(connection),
                writer_lock: Mutex::new(lock),
            }),
        })
    }

    fn clients(&self) -> Result<&Clients, Error> {
        self.clients
            .as_ref()
            .ok_or_else(|| Error::Internal("the database connections are closed".to_owned()))
    }

    fn client(&self) -> Result<MutexGuard<'_, Client>, Error> {
        usable(&self.url, &self.clients()?.connection)
    }
}

/// Holds the advisory lock; unlocks when dropped.
struct AdvisoryLock<'a>(MutexGuard<'a, Client>);

impl Drop for AdvisoryLock<'_> {
    fn drop(&mut self) {
        // If this fails the connection is gone, and with it the lock.
        let _ = self
            .0
            .execute("SELECT pg_advisory_unlock($1)", &[&WRITER_LOCK_KEY]);
    }
}

fn to_i64(value: u64, what: &str) -> Result<i64, Error> {
    i64::try_from(value).map_err(|_| Error::BadRequest(format!("{what} {value} is too large")))
}

/// `?N` placeholders (outside string literals and quoted names) as PostgreSQL's `$N`.
fn postgres_placeholders(sql: &str) -> String {
    let mut translated = String::with_capacity(sql.len());
    let mut quote = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(open), _) if c == open => quote = None,
            (None, '?') if chars.peek().is_some_and(char::is_ascii_digit) => {
                translated.push('$');
                continue;
            }
            _ => {}
        }
        translated.push(c);
    }
    translated
}

fn bind<'a>(params: &'a [SqlValue<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params
        .iter()
        .map(|value| -> &(dyn ToSql + Sync) {
            match value {
                SqlValue::Text(text) => text,
                SqlValue::OptionalText(text) => text,
                SqlValue::Bytes(bytes) => bytes,
                SqlValue::Integer(integer) => integer,
            }
        })
        .collect()
}

impl SqlTransaction for postgres::Transaction<'_> {
    fn execute(&mut self, sql: &str, params: &[SqlValue<'_>]) -> Result<u64, Error> {
        let statement = self.prepare(&postgres_placeholders(sql)).map_err(db)?;
        postgres::Transaction::execute(self, &statement, &bind(params)).map_err(db)
    }

    fn query_integer(&mut self, sql: &str, params: &[SqlValue<'_>]) -> Result<i64, Error> {
        let statement = self.prepare(&postgres_placeholders(sql)).map_err(db)?;
        self.query_one(&statement, &bind(params))
            .and_then(|row| row.try_get(0))
            .map_err(db)
    }
}

fn token_from_row(row: &Row) -> Result<TokenRecord, Error> {
    let role: String = row.try_get(2).map_err(db)?;
    Ok(TokenRecord {
        id: row.try_get(0).map_err(db)?,
        user: row.try_get(1).map_err(db)?,
        role: role.parse().map_err(corrupt("token role"))?,
        namespace: row.try_get(3).map_err(db)?,
        expires_at: row.try_get(4).map_err(db)?,
        revoked: row.try_get(5).map_err(db)?,
        created_at: row.try_get(6).map_err(db)?,
        created_by: row.try_get(7).map_err(db)?,
    })
}

fn namespace_from_row(row: &Row) -> Result<Namespace, Error> {
    let policy: String = row.try_get(1).map_err(db)?;
    Ok(Namespace {
        name: row.try_get(0).map_err(db)?,
        policy: parse_json::<NamespacePolicy>("policy", &policy)?,
        updated_at: row.try_get(2).map_err(db)?,
        updated_by: row.try_get(3).map_err(db)?,
    })
}

fn audit_refs(client: &mut Client, object: &str) -> Result<Vec<AuditRef>, Error> {
    client
        .query(
            "SELECT action, log_index FROM outbox WHERE object = $1 ORDER BY id",
            &[&object],
        )
        .map_err(db)?
        .iter()
        .map(|row| {
            Ok(AuditRef {
                action: row.try_get(0).map_err(db)?,
                index: row
                    .try_get::<_, Option<i64>>(1)
                    .map_err(db)?
                    .and_then(|index| u64::try_from(index).ok()),
            })
        })
        .collect()
}

fn load_version(
    client: &mut Client,
    namespace: &str,
    model: &str,
    version: &str,
) -> Result<Option<VersionRecord>, Error> {
    let Some(row) = client
        .query_opt(
            "SELECT manifest_digest, signature, provenance, publisher, state, reason, created_at, gates
             FROM versions WHERE namespace = $1 AND model = $2 AND version = $3",
            &[&namespace, &model, &version],
        )
        .map_err(db)?
    else {
        return Ok(None);
    };
    let text = |index: usize| row.try_get::<_, String>(index).map_err(db);
    let optional = |index: usize| row.try_get::<_, Option<String>>(index).map_err(db);
    let files = client
        .query(
            "SELECT path, digest, size FROM version_files
             WHERE namespace = $1 AND model = $2 AND version = $3 ORDER BY path",
            &[&namespace, &model, &version],
        )
        .map_err(db)?
        .iter()
        .map(|file| {
            let size: i64 = file.try_get(2).map_err(db)?;
            Ok(FileEntry {
                path: file.try_get(0).map_err(db)?,
                digest: parse_digest(&file.try_get::<_, String>(1).map_err(db)?)?,
                size: u64::try_from(size).map_err(|_| corrupt("size")(size.to_string()))?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let approvals = client
        .query(
            r#"SELECT "user", time FROM approvals
               WHERE namespace = $1 AND model = $2 AND version = $3 ORDER BY time, "user""#,
            &[&namespace, &model, &version],
        )
        .map_err(db)?
        .iter()
        .map(|approval| {
            Ok(Approval {
                user: approval.try_get(0).map_err(db)?,
                time: approval.try_get(1).map_err(db)?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let audit = audit_refs(client, &version_object(namespace, model, version))?;
    Ok(Some(VersionRecord {
        namespace: namespace.to_owned(),
        model: model.to_owned(),
        version: version.to_owned(),
        files,
        manifest_digest: parse_digest(&text(0)?)?,
        signature: optional_json("signature", optional(1)?)?,
        provenance: optional_json("provenance", optional(2)?)?,
        publisher: text(3)?,
        state: text(4)?.parse().map_err(corrupt("state"))?,
        reason: optional(5)?,
        created_at: text(6)?,
        gates: optional_json("gate results", optional(7)?)?,
        approvals,
        audit,
        stage_history: Vec::new(),
    }))
}

impl MetadataStore for PostgresStore {
    fn lock_writers(&self) -> Result<Option<WriterLock<'_>>, Error> {
        let mut client = usable(&self.url, &self.clients()?.writer_lock)?;
        client
            .execute("SELECT pg_advisory_lock($1)", &[&WRITER_LOCK_KEY])
            .map_err(db)?;
        Ok(Some(WriterLock::new(AdvisoryLock(client))))
    }

    fn apply(&self, change: &Change, events: &[AuditEvent]) -> Result<Vec<i64>, Error> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(db)?;
        let ids = apply_change(&mut tx, change, events)?;
        tx.commit().map_err(db)?;
        Ok(ids)
    }

    fn pending_audit(&self) -> Result<Vec<(i64, Vec<u8>)>, Error> {
        self.client()?
            .query(
                "SELECT id, entry FROM outbox WHERE log_index IS NULL ORDER BY id",
                &[],
            )
            .map_err(db)?
            .iter()
            .map(|row| Ok((row.try_get(0).map_err(db)?, row.try_get(1).map_err(db)?)))
            .collect()
    }

    fn next_log_index(&self) -> Result<u64, Error> {
        let highest: Option<i64> = self
            .client()?
            .query_one("SELECT MAX(log_index) FROM outbox", &[])
            .map_err(db)?
            .try_get(0)
            .map_err(db)?;
        Ok(highest.map_or(0, |index| {
            u64::try_from(index).unwrap_or(0).saturating_add(1)
        }))
    }

    fn record_log_indices(&self, recorded: &[(i64, u64)]) -> Result<(), Error> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(db)?;
        for (id, index) in recorded {
            tx.execute(
                "UPDATE outbox SET log_index = $2 WHERE id = $1",
                &[id, &to_i64(*index, "log index")?],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)
    }

    fn log_storage(&self) -> Option<Box<dyn LogStorage + '_>> {
        Some(Box::new(PostgresLogStorage { store: self }))
    }

    fn token_by_hash(&self, hash: &[u8; 32]) -> Result<Option<TokenRecord>, Error> {
        self.client()?
            .query_opt(
                &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = $1"),
                &[&hash.as_slice()],
            )
            .map_err(db)?
            .as_ref()
            .map(token_from_row)
            .transpose()
    }

    fn token(&self, id: &str) -> Result<Option<TokenRecord>, Error> {
        self.client()?
            .query_opt(
                &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = $1"),
                &[&id],
            )
            .map_err(db)?
            .as_ref()
            .map(token_from_row)
            .transpose()
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>, Error> {
        self.client()?
            .query(
                &format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created_at, id"),
                &[],
            )
            .map_err(db)?
            .iter()
            .map(token_from_row)
            .collect()
    }

    fn namespace(&self, name: &str) -> Result<Option<Namespace>, Error> {
        self.client()?
            .query_opt(
                "SELECT name, policy, updated_at, updated_by FROM namespaces WHERE name = $1",
                &[&name],
            )
            .map_err(db)?
            .as_ref()
            .map(namespace_from_row)
            .transpose()
    }

    fn namespaces(&self) -> Result<Vec<Namespace>, Error> {
        self.client()?
            .query(
                "SELECT name, policy, updated_at, updated_by FROM namespaces ORDER BY name",
                &[],
            )
            .map_err(db)?
            .iter()
            .map(namespace_from_row)
            .collect()
    }

    fn version(
        &self,
        namespace: &str,
        model: &str,
        version: &str,
    ) -> Result<Option<VersionRecord>, Error> {
        load_version(&mut *self.client()?, namespace, model, version)
    }

    fn versions(&self, namespace: &str, model: &str) -> Result<Vec<VersionRecord>, Error> {
        let mut client = self.client()?;
        let names: Vec<String> = client
            .query(
                "SELECT version FROM versions WHERE namespace = $1 AND model = $2 ORDER BY created_at, seq",
                &[&namespace, &model],
            )
            .map_err(db)?
            .iter()
            .map(|row| row.try_get(0).map_err(db))
            .collect::<Result<_, _>>()?;
        names
            .iter()
            .filter_map(|version| load_version(&mut client, namespace, model, version).transpose())
            .collect()
    }

    fn models(
        &self,
        namespace: Option<&str>,
        query: Option<&str>,
    ) -> Result<Vec<ModelSummary>, Error> {
        let mut client = self.client()?;
        let rows = client
            .query(
                "SELECT namespace, model, COUNT(*) FROM versions
                 WHERE ($1::TEXT IS NULL OR namespace = $1) AND ($2::TEXT IS NULL OR strpos(model, $2) > 0)
                 GROUP BY namespace, model ORDER BY namespace, model",
                &[&namespace, &query],
            )
            .map_err(db)?;
        let mut models = Vec::with_capacity(rows.len());
        for row in rows {
            let namespace: String = row.try_get(0).map_err(db)?;
            let model: String = row.try_get(1).map_err(db)?;
            let versions: i64 = row.try_get(2).map_err(db)?;
            let stages = client
                .query(
                    "SELECT stage, version FROM stage_history WHERE seq IN
                     (SELECT MAX(seq) FROM stage_history WHERE namespace = $1 AND model = $2 GROUP BY stage)
                     ORDER BY stage",
                    &[&namespace, &model],
                )
                .map_err(db)?
                .iter()
                .map(|stage| Ok((stage.try_get(0).map_err(db)?, stage.try_get(1).map_err(db)?)))
                .collect::<Result<_, Error>>()?;
            models.push(ModelSummary {
                namespace,
                model,
                versions: u64::try_from(versions).unwrap_or(0),
                stages,
            });
        }
        Ok(models)
    }

    fn stage_history(&self, namespace: &str, model: &str) -> Result<Vec<StageEvent>, Error> {
        self.client()?
            .query(
                "SELECT stage, version, action, actor, time, reason FROM stage_history
                 WHERE namespace = $1 AND model = $2 ORDER BY seq",
                &[&namespace, &model],
            )
            .map_err(db)?
            .iter()
            .map(|row| {
                Ok(StageEvent {
                    stage: row.try_get(0).map_err(db)?,
                    version: row.try_get(1).map_err(db)?,
                    action: row.try_get(2).map_err(db)?,
                    actor: row.try_get(3).map_err(db)?,
                    time: row.try_get(4).map_err(db)?,
                    reason: row.try_get(5).map_err(db)?,
                })
            })
            .collect()
    }

    fn namespaces_serving(&self, digest: &Digest) -> Result<Vec<String>, Error> {
        self.client()?
            .query(
                "SELECT DISTINCT f.namespace FROM version_files f JOIN versions v
                 ON v.namespace = f.namespace AND v.model = f.model AND v.version = f.version
                 WHERE f.digest = $1 AND v.state IN ('scanned', 'verified', 'approved')",
                &[&digest.to_string()],
            )
            .map_err(db)?
            .iter()
            .map(|row| row.try_get(0).map_err(db))
            .collect()
    }

    fn audit_refs(&self, object: &str) -> Result<Vec<AuditRef>, Error> {
        audit_refs(&mut *self.client()?, object)
    }

    fn ungated_versions(&self) -> Result<Vec<(String, String, String)>, Error> {
        self.client()?
            .query(
                "SELECT namespace, model, version FROM versions
                 WHERE gates IS NULL AND state = 'quarantined' ORDER BY seq",
                &[],
            )
            .map_err(db)?
            .iter()
            .map(|row| {
                Ok((
                    row.try_get(0).map_err(db)?,
                    row.try_get(1).map_err(db)?,
                    row.try_get(2).map_err(db)?,
                ))
            })
            .collect()
    }
}

/// The audit log's tables: `log_entries` (index, bytes), `log_hashes` (position in the
/// directory log's `hashes` order, 32 bytes) and `log_checkpoints` (signed notes, oldest
/// first). Written only under the writer lock.
pub struct PostgresLogStorage<'a> {
    store: &'a PostgresStore,
}

fn log_db(error: postgres::Error) -> rampart_tlog::Error {
    rampart_tlog::Error::Storage(error.to_string())
}

fn log_corrupt(reason: String) -> rampart_tlog::Error {
    rampart_tlog::Error::StorageCorrupt(reason)
}

fn log_i64(value: u64) -> Result<i64, rampart_tlog::Error> {
    i64::try_from(value).map_err(|_| rampart_tlog::Error::TreeTooLarge { size: value })
}

impl PostgresLogStorage<'_> {
    fn client(&self) -> Result<MutexGuard<'_, Client>, rampart_tlog::Error> {
        self.store
            .client()
            .map_err(|error| rampart_tlog::Error::Storage(error.to_string()))
    }

    fn optional_note(row: Option<Row>) -> Result<Option<String>, rampart_tlog::Error> {
        row.map(|row| row.try_get(0).map_err(log_db)).transpose()
    }
}

impl LogStorage for PostgresLogStorage<'_> {
    fn size(&self) -> Result<u64, rampart_tlog::Error> {
        let size: i64 = self
            .client()?
            .query_one("SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries", &[])
            .and_then(|row| row.try_get(0))
            .map_err(log_db)?;
        u64::try_from(size).map_err(|_| log_corrupt(format!("a log of {size} entries")))
    }

    fn entry(&self, index: u64) -> Result<Vec<u8>, rampart_tlog::Error> {
        self.client()?
            .query_opt(
                "SELECT entry FROM log_entries WHERE idx = $1",
                &[&log_i64(index)?],
            )
            .map_err(log_db)?
            .ok_or_else(|| log_corrupt(format!("log entry {index} is missing")))?
            .try_get(0)
            .map_err(log_db)
    }

    fn hash(&self, position: u64) -> Result<Hash, rampart_tlog::Error> {
        let bytes: Vec<u8> = self
            .client()?
            .query_opt(
                "SELECT hash FROM log_hashes WHERE position = $1",
                &[&log_i64(position)?],
            )
            .map_err(log_db)?
            .ok_or_else(|| log_corrupt(format!("the log hash at position {position} is missing")))?
            .try_get(0)
            .map_err(log_db)?;
        bytes.try_into().map_err(|_| {
            log_corrupt(format!(
                "the log hash at position {position} is not 32 bytes"
            ))
        })
    }

    fn append(
        &mut self,
        first: u64,
        entries: &[&[u8]],
        hashes: &[(u64, Hash)],
    ) -> Result<(), rampart_tlog::Error> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(log_db)?;
        let insert_entry = tx
            .prepare("INSERT INTO log_entries (idx, entry) VALUES ($1, $2)")
            .map_err(log_db)?;
        for (index, entry) in (first..).zip(entries) {
            tx.execute(&insert_entry, &[&log_i64(index)?, entry])
                .map_err(log_db)?;
        }
        let insert_hash = tx
            .prepare("INSERT INTO log_hashes (position, hash) VALUES ($1, $2)")
            .map_err(log_db)?;
        for (position, hash) in hashes {
            tx.execute(&insert_hash, &[&log_i64(*position)?, &hash.as_slice()])
                .map_err(log_db)?;
        }
        tx.commit().map_err(log_db)
    }

    fn checkpoints(&self) -> Result<Vec<String>, rampart_tlog::Error> {
        self.client()?
            .query("SELECT note FROM log_checkpoints ORDER BY seq", &[])
            .map_err(log_db)?
            .iter()
            .map(|row| row.try_get(0).map_err(log_db))
            .collect()
    }

    fn latest_checkpoint(&self) -> Result<Option<String>, rampart_tlog::Error> {
        let row = self
            .client()?
            .query_opt(
                "SELECT note FROM log_checkpoints ORDER BY seq DESC LIMIT 1",
                &[],
            )
            .map_err(log_db)?;
        Self::optional_note(row)
    }

    fn checkpoint_at(&self, size: u64) -> Result<Option<String>, rampart_tlog::Error> {
        let row = self
            .client()?
            .query_opt(
                "SELECT note FROM log_checkpoints WHERE size = $1 ORDER BY seq DESC LIMIT 1",
                &[&log_i64(size)?],
            )
            .map_err(log_db)?;
        Self::optional_note(row)
    }

    fn add_checkpoint(&mut self, size: u64, note: &str) -> Result<(), rampart_tlog::Error> {
        self.client()?
            .execute(
                "INSERT INTO log_checkpoints (size, note) VALUES ($1, $2)",
                &[&log_i64(size)?, &note],
            )
            .map_err(log_db)?;
        Ok(())
    }
}

/// Support for tests that need a fresh database per registry.
#[doc(hidden)]
pub mod testing {
    use super::*;

    /// Creates a new, empty database on the server of `url` and returns its URL. `url` must
    /// be a `postgres://` URL; its database name (if any) is replaced.
    pub fn fresh_database(url: &str) -> Result<String, Error> {
        let mut random = [0u8; 8];
        getrandom::fill(&mut random)
            .map_err(|error| Error::Internal(format!("random: {error}")))?;
        let name = format!("rampart_test_{}", hex::encode(random));
        connect(url)?
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .map_err(db)?;
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let authority_start = base.find("://").map_or(0, |at| at + 3);
        let authority_end = base[authority_start..]
            .find('/')
            .map_or(base.len(), |at| authority_start + at);
        let query = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        Ok(format!("{}/{name}{query}", &base[..authority_end]))
    }
}

/// These need a server: `RAMPART_TEST_DATABASE_URL=postgres://…` (tests/interop/registry_pg_s3.sh
/// starts one); without it they pass without checking anything and say so.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{Backends, NewToken, Registry};
    use crate::store::contract;
    use crate::types::Role;

    fn fresh() -> Option<String> {
        match std::env::var("RAMPART_TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => {
                Some(testing::fresh_database(&url).expect("a fresh test database"))
            }
            _ => {
                eprintln!("skipped: set RAMPART_TEST_DATABASE_URL to test against PostgreSQL");
                None
            }
        }
    }

    #[test]
    fn versions_round_trip_and_conflict_on_recreate() {
        if let Some(url) = fresh() {
            contract::versions_round_trip_and_conflict_on_recreate(
                &PostgresStore::open(&url).expect("open"),
            );
        }
    }

    #[test]
    fn state_changes_are_compare_and_set() {
        if let Some(url) = fresh() {
            contract::state_changes_are_compare_and_set(&PostgresStore::open(&url).expect("open"));
        }
    }

    /// A second server's data directory: only the log's keys, copied from the first.
    fn second_data_dir(first: &std::path::Path, second: &std::path::Path) {
        std::fs::create_dir_all(second.join("log")).expect("mkdir");
        for key in ["log.key", "log.vkey"] {
            std::fs::copy(first.join("log").join(key), second.join("log").join(key)).expect("copy");
        }
    }

    /// Two registries (as two server processes would) on one database with different data
    /// directories, committing concurrently: every change gets one log entry, in the
    /// database, outbox order is log order, and both serve the same checkpoint.
    #[test]
    fn processes_sharing_a_database_append_to_the_log_in_commit_order() {
        let Some(url) = fresh() else {
            return;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let (first, second) = (dir.path().join("first"), dir.path().join("second"));
        let backends = Backends {
            database: Some(url.clone()),
        };
        let admin = Registry::init_with(&first, &backends).expect("init");
        second_data_dir(&first, &second);
        let registries = [
            Registry::open_with(&first, &backends).expect("first process"),
            Registry::open_with(&second, &backends).expect("second process"),
        ];
        std::thread::scope(|scope| {
            for (process, registry) in registries.iter().enumerate() {
                let admin = registry.authenticate(&admin).expect("admin");
                scope.spawn(move || {
                    for step in 0..15 {
                        registry
                            .create_token(
                                &admin,
                                NewToken {
                                    user: format!("p{process}u{step}"),
                                    role: Role::Reader,
                                    namespace: "ml".to_owned(),
                                    expires_in_days: None,
                                },
                            )
                            .expect("token");
                    }
                });
            }
        });
        let store = PostgresStore::open(&url).expect("open");
        let rows = store
            .client()
            .expect("client")
            .query(
                "SELECT o.log_index, o.entry, l.entry FROM outbox o LEFT JOIN log_entries l ON l.idx = o.log_index ORDER BY o.id",
                &[],
            )
            .expect("outbox");
        assert_eq!(rows.len(), 31, "the first admin token and 30 more");
        for (position, row) in rows.iter().enumerate() {
            assert_eq!(row.get::<_, Option<i64>>(0), Some(position as i64));
            assert_eq!(row.get::<_, Vec<u8>>(1), row.get::<_, Vec<u8>>(2));
        }
        let report = Registry::verify_log(&second, &backends, None).expect("the log verifies");
        assert_eq!(report.size, 31);
        let admin = registries[0].authenticate(&admin).expect("admin");
        let checkpoint = registries[0].checkpoint(&admin).expect("checkpoint");
        assert_eq!(
            registries[1].checkpoint(&admin).expect("checkpoint"),
            checkpoint
        );
        assert!(checkpoint.contains("\n31\n"), "{checkpoint}");
        assert!(
            !first.join("log").join("entries").exists(),
            "no log files in the data directory"
        );
    }

    /// Whoever can write the database can rewrite the log's rows, but not unnoticed.
    #[test]
    fn a_rewritten_log_row_fails_verification() {
        let Some(url) = fresh() else {
            return;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let backends = Backends {
            database: Some(url.clone()),
        };
        let admin = Registry::init_with(&data, &backends).expect("init");
        let registry = Registry::open_with(&data, &backends).expect("open");
        let principal = registry.authenticate(&admin).expect("admin");
        for user in ["a", "b", "c"] {
            registry
                .create_token(
                    &principal,
                    NewToken {
                        user: user.to_owned(),
                        role: Role::Reader,
                        namespace: "ml".to_owned(),
                        expires_in_days: None,
                    },
                )
                .expect("token");
        }
        registry.checkpoint(&principal).expect("checkpoint");
        Registry::verify_log(&data, &backends, None).expect("untouched, it verifies");
        let store = PostgresStore::open(&url).expect("open");
        let mut client = store.client().expect("client");
        let tables = ["log_entries", "log_hashes", "log_checkpoints"];
        for table in tables {
            client
                .batch_execute(&format!(
                    "CREATE TABLE saved_{table} AS SELECT * FROM {table}"
                ))
                .expect("save");
        }
        for tamper in [
            "UPDATE log_entries SET entry = 'rewritten' WHERE idx = 2",
            "UPDATE log_hashes SET hash = decode(repeat('00', 32), 'hex') WHERE position = 0",
            "DELETE FROM log_entries WHERE idx = 1",
            "UPDATE log_checkpoints SET note = replace(note, E'\\n4\\n', E'\\n3\\n')",
        ] {
            client.batch_execute(tamper).expect("tamper");
            let verdict = Registry::verify_log(&data, &backends, None);
            assert!(verdict.is_err(), "{tamper} went unnoticed");
            for table in tables {
                client
                    .batch_execute(&format!(
                        "DELETE FROM {table}; INSERT INTO {table} SELECT * FROM saved_{table}"
                    ))
                    .expect("restore");
            }
            Registry::verify_log(&data, &backends, None).expect("restored, it verifies");
        }
    }
}
