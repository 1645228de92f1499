//! [`PostgresStore`]: the [`MetadataStore`] for several `rampart serve` processes sharing
//! state (`--database postgres://…`). Same tables and semantics as the SQLite store: each
//! [`Change`] and its outbox entries commit in one transaction, state changes are
//! compare-and-set (`UPDATE … WHERE state = $from`, re-checked by PostgreSQL under the row
//! lock), creations are `INSERT … ON CONFLICT DO NOTHING`.
//!
//! The audit log stays a directory (it must be shared by the processes, e.g. on NFS); its
//! appends are serialised across processes by a session-level advisory lock held by
//! [`MetadataStore::lock_writers`] from before a change is applied until its entries are in
//! the log, so outbox order is still log order. A process that dies holding the lock loses
//! its session, and PostgreSQL releases the lock.

use std::sync::{Mutex, MutexGuard};

use postgres::{Client, NoTls, Row};

use crate::Error;
use crate::audit::AuditEvent;
use crate::names::Digest;
use crate::store::{
    Change, MetadataStore, WriterLock, corrupt, optional_json, parse_digest, parse_json,
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

fn conflict_unless_changed(changed: u64, object: String, from: &str) -> Result<(), Error> {
    if changed == 0 {
        return Err(Error::Conflict(format!(
            "version {object} is no longer {from}; retry"
        )));
    }
    Ok(())
}

fn apply_change(tx: &mut postgres::Transaction<'_>, change: &Change) -> Result<(), Error> {
    match change {
        Change::CreateToken { record, hash } => {
            tx.execute(
                r#"INSERT INTO tokens (id, hash, "user", role, namespace, expires_at, revoked, created_at, created_by)
                   VALUES ($1, $2, $3, $4, $5, $6, FALSE, $7, $8)"#,
                &[
                    &record.id,
                    &hash.as_slice(),
                    &record.user,
                    &record.role.name(),
                    &record.namespace,
                    &record.expires_at,
                    &record.created_at,
                    &record.created_by,
                ],
            )
            .map_err(db)?;
        }
        Change::RevokeToken { id } => {
            let changed = tx
                .execute("UPDATE tokens SET revoked = TRUE WHERE id = $1", &[id])
                .map_err(db)?;
            if changed == 0 {
                return Err(Error::NotFound(format!("no token {id}")));
            }
        }
        Change::PutNamespace(namespace) => {
            let policy = serde_json::to_string(&namespace.policy)
                .map_err(|error| Error::Internal(error.to_string()))?;
            tx.execute(
                "INSERT INTO namespaces (name, policy, updated_at, updated_by) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (name) DO UPDATE SET policy = $2, updated_at = $3, updated_by = $4",
                &[
                    &namespace.name,
                    &policy,
                    &namespace.updated_at,
                    &namespace.updated_by,
                ],
            )
            .map_err(db)?;
        }
        Change::CreateVersion(record) => {
            let json = |value: &Option<serde_json::Value>| {
                value.as_ref().map(serde_json::Value::to_string)
            };
            let inserted = tx
                .execute(
                    "INSERT INTO versions (namespace, model, version, manifest_digest, signature, provenance,
                     publisher, state, reason, created_at, gates) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL)
                     ON CONFLICT DO NOTHING",
                    &[
                        &record.namespace,
                        &record.model,
                        &record.version,
                        &record.manifest_digest.to_string(),
                        &json(&record.signature),
                        &json(&record.provenance),
                        &record.publisher,
                        &record.state.name(),
                        &record.reason,
                        &record.created_at,
                    ],
                )
                .map_err(db)?;
            if inserted == 0 {
                return Err(Error::Conflict(format!(
                    "version {} already exists",
                    record.object()
                )));
            }
            let insert = tx
                .prepare(
                    "INSERT INTO version_files (namespace, model, version, path, digest, size)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .map_err(db)?;
            for file in &record.files {
                tx.execute(
                    &insert,
                    &[
                        &record.namespace,
                        &record.model,
                        &record.version,
                        &file.path,
                        &file.digest.to_string(),
                        &to_i64(file.size, "file size")?,
                    ],
                )
                .map_err(db)?;
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
            let changed = tx
                .execute(
                    "UPDATE versions SET state = $5, reason = $6, gates = COALESCE($7, gates)
                     WHERE namespace = $1 AND model = $2 AND version = $3 AND state = $4",
                    &[
                        namespace,
                        model,
                        version,
                        &from.name(),
                        &to.name(),
                        reason,
                        &gates,
                    ],
                )
                .map_err(db)?;
            conflict_unless_changed(
                changed,
                version_object(namespace, model, version),
                from.name(),
            )?;
        }
        Change::Approve {
            namespace,
            model,
            version,
            approval,
            from,
            to,
        } => {
            let changed = tx
                .execute(
                    "UPDATE versions SET state = $5 WHERE namespace = $1 AND model = $2 AND version = $3 AND state = $4",
                    &[namespace, model, version, &from.name(), &to.name()],
                )
                .map_err(db)?;
            conflict_unless_changed(
                changed,
                version_object(namespace, model, version),
                from.name(),
            )?;
            let inserted = tx
                .execute(
                    r#"INSERT INTO approvals (namespace, model, version, "user", time) VALUES ($1, $2, $3, $4, $5)
                       ON CONFLICT DO NOTHING"#,
                    &[namespace, model, version, &approval.user, &approval.time],
                )
                .map_err(db)?;
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
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    namespace,
                    model,
                    &event.stage,
                    &event.version,
                    &event.action,
                    &event.actor,
                    &event.time,
                    &event.reason,
                ],
            )
            .map_err(db)?;
        }
    }
    Ok(())
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
        apply_change(&mut tx, change)?;
        let mut ids = Vec::with_capacity(events.len());
        for event in events {
            let row = tx
                .query_one(
                    "INSERT INTO outbox (object, action, entry) VALUES ($1, $2, $3) RETURNING id",
                    &[&event.object, &event.action, &event.to_entry()],
                )
                .map_err(db)?;
            ids.push(row.try_get(0).map_err(db)?);
        }
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

    /// Two registries (as two server processes would) on one database and data directory,
    /// committing concurrently: every change gets one log entry, outbox order is log order.
    #[test]
    fn processes_sharing_a_database_append_to_the_log_in_commit_order() {
        let Some(url) = fresh() else {
            return;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let backends = Backends {
            database: Some(url.clone()),
        };
        let admin = Registry::init_with(&data, &backends).expect("init");
        let registries = [
            Registry::open_with(&data, &backends).expect("first process"),
            Registry::open_with(&data, &backends).expect("second process"),
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
            .query("SELECT log_index, entry FROM outbox ORDER BY id", &[])
            .expect("outbox");
        assert_eq!(rows.len(), 31, "the first admin token and 30 more");
        let log = rampart_tlog::Log::open_read_only(&data.join("log")).expect("log");
        assert_eq!(log.size(), 31);
        for (position, row) in rows.iter().enumerate() {
            assert_eq!(row.get::<_, Option<i64>>(0), Some(position as i64));
            assert_eq!(
                log.entry(position as u64).expect("entry"),
                row.get::<_, Vec<u8>>(1)
            );
        }
        log.verify_all().expect("the log verifies");
    }
}
