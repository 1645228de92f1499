//! Audit entries and how they reach the transparency log without ever being lost or
//! duplicated.
//!
//! The log is a directory beside the SQLite database, or, with a shared PostgreSQL database,
//! tables in that database ([`crate::store_postgres`]); the protocol is the same.
//!
//! Every state change is committed to the metadata store in one transaction together with its
//! audit entry in an outbox (`pending`, no log index). Only then is the entry appended to the
//! log, and its index recorded in the outbox. All of this happens under one lock, so outbox
//! order is log order. A crash can interrupt it at three points:
//!
//! 1. before the transaction commits: neither the change nor its entry exists;
//! 2. after the commit, before the append: [`flush_outbox`] (run at start-up and before every
//!    commit) appends the pending entries;
//! 3. after the append, before the index is recorded: the log holds entries past the last
//!    recorded index; [`flush_outbox`] checks they are byte-for-byte the pending entries, in
//!    order, and records their indices instead of appending them again.
//!
//! So the log never has an entry whose change was not committed, and a committed change
//! always gets its entry. The log is written only by this module.

use std::collections::BTreeMap;

use rampart_tlog::TransparencyLog;
use serde::Serialize;

use crate::Error;
use crate::store::MetadataStore;

/// One audit entry. Its JSON is canonical: fields in sorted order (struct order below, maps
/// are `BTreeMap`s), no floats, no insignificant white space.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    /// What happened, e.g. `version.create`, `version.gates`, `stage.promote`, `token.create`.
    pub action: String,
    /// The user of the token that made the request (`registry-init` for the first token).
    pub actor: String,
    /// The state after the change, when the object has one.
    pub after: Option<String>,
    /// The state before the change, when the object had one.
    pub before: Option<String>,
    /// Further facts: digests of attached documents, the reason of an override, ...
    pub details: BTreeMap<String, String>,
    /// The object changed: `ns/model:version`, `ns/model@stage`, `namespace:ns`, `token:id`.
    pub object: String,
    /// RFC 3339 UTC time of the change.
    pub time: String,
}

impl AuditEvent {
    /// A new event at the current time.
    pub fn new(action: &str, actor: &str, object: impl Into<String>) -> Self {
        AuditEvent {
            action: action.to_owned(),
            actor: actor.to_owned(),
            after: None,
            before: None,
            details: BTreeMap::new(),
            object: object.into(),
            time: now(),
        }
    }

    /// Records a state transition.
    pub fn transition(mut self, before: Option<&str>, after: Option<&str>) -> Self {
        self.before = before.map(str::to_owned);
        self.after = after.map(str::to_owned);
        self
    }

    /// Adds a detail.
    pub fn detail(mut self, key: &str, value: impl Into<String>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// The canonical bytes that are logged.
    pub fn to_entry(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The current time, RFC 3339 UTC with second precision.
pub fn now() -> String {
    let now = jiff::Timestamp::now();
    jiff::Timestamp::from_second(now.as_second())
        .unwrap_or(now)
        .to_string()
}

/// Appends every pending outbox entry to `log` (or, for entries a crash left appended but
/// unrecorded, checks and records them). Returns the `(outbox id, log index)` pairs recorded.
pub fn flush_outbox(
    store: &dyn MetadataStore,
    log: &mut dyn TransparencyLog,
) -> Result<Vec<(i64, u64)>, Error> {
    let pending = store.pending_audit()?;
    let next_recorded = store.next_log_index()?;
    let log_size = log.tree_size()?;
    if log_size < next_recorded {
        return Err(Error::AuditInconsistent(format!(
            "the database records audit entries up to index {} but the log has only {log_size} entries: restore the log directory from backup",
            next_recorded.saturating_sub(1)
        )));
    }
    let mut recorded = Vec::with_capacity(pending.len());
    let mut to_append = Vec::new();
    for (position, (id, entry)) in pending.iter().enumerate() {
        let index = next_recorded.saturating_add(position as u64);
        if index < log_size {
            let logged = log.entry(index)?;
            if logged != *entry {
                return Err(Error::AuditInconsistent(format!(
                    "log entry {index} is not the pending audit entry {id}: the log was written by something else"
                )));
            }
            recorded.push((*id, index));
        } else {
            to_append.push((*id, entry.as_slice()));
        }
    }
    let already = next_recorded.saturating_add(recorded.len() as u64);
    if already < log_size {
        return Err(Error::AuditInconsistent(format!(
            "the log has {log_size} entries but only {already} audit entries exist: the log was written by something else"
        )));
    }
    if !to_append.is_empty() {
        let entries: Vec<&[u8]> = to_append.iter().map(|(_, entry)| *entry).collect();
        let indices = log.append(&entries)?;
        recorded.extend(to_append.iter().map(|(id, _)| *id).zip(indices));
    }
    if !recorded.is_empty() {
        store.record_log_indices(&recorded)?;
    }
    Ok(recorded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Change, SqliteStore};
    use crate::types::{Namespace, NamespacePolicy};
    use rampart_tlog::{KeyType, Log, SignerKey};

    fn setup() -> (tempfile::TempDir, SqliteStore, Log) {
        let dir = tempfile::tempdir().expect("tempdir");
        let signer = SignerKey::generate("test.example/audit", KeyType::Ed25519).expect("key");
        let log = Log::init(&dir.path().join("log"), "test.example/audit", &signer).expect("log");
        let store = SqliteStore::open(&dir.path().join("db.sqlite")).expect("db");
        (dir, store, log)
    }

    fn change() -> Change {
        Change::PutNamespace(Namespace {
            name: "ml".into(),
            policy: NamespacePolicy::default(),
            updated_at: now(),
            updated_by: "admin".into(),
        })
    }

    #[test]
    fn pending_entries_are_appended_once_in_order() {
        let (_dir, store, mut log) = setup();
        let events = [
            AuditEvent::new("a", "admin", "namespace:ml"),
            AuditEvent::new("b", "admin", "namespace:ml"),
        ];
        let ids = store.apply(&change(), &events).expect("apply");
        let recorded = flush_outbox(&store, &mut log).expect("flush");
        assert_eq!(recorded, vec![(ids[0], 0), (ids[1], 1)]);
        assert_eq!(log.entry(1).expect("entry"), events[1].to_entry());
        assert!(flush_outbox(&store, &mut log).expect("again").is_empty());
        assert_eq!(log.size(), 2);
    }

    #[test]
    fn an_entry_appended_before_a_crash_is_recorded_not_duplicated() {
        let (_dir, store, mut log) = setup();
        let event = AuditEvent::new("a", "admin", "namespace:ml");
        let ids = store
            .apply(&change(), std::slice::from_ref(&event))
            .expect("apply");
        // The crash: appended, but the index never recorded.
        log.append(&[event.to_entry()]).expect("append");
        let recorded = flush_outbox(&store, &mut log).expect("recover");
        assert_eq!(recorded, vec![(ids[0], 0)]);
        assert_eq!(log.size(), 1);
        assert_eq!(store.next_log_index().expect("next"), 1);
    }

    #[test]
    fn a_foreign_log_entry_is_detected() {
        let (_dir, store, mut log) = setup();
        log.append(&[b"not ours".to_vec()]).expect("append");
        store
            .apply(&change(), &[AuditEvent::new("a", "admin", "namespace:ml")])
            .expect("apply");
        assert!(matches!(
            flush_outbox(&store, &mut log),
            Err(Error::AuditInconsistent(_))
        ));
    }

    #[test]
    fn entries_are_canonical_json_with_sorted_keys() {
        let mut event = AuditEvent::new("version.create", "alice", "ml/fraud:1.0.0")
            .transition(None, Some("quarantined"))
            .detail("manifest", "sha256:00")
            .detail("files", "2");
        event.time = "2026-01-01T00:00:00Z".to_owned();
        let text = String::from_utf8(event.to_entry()).expect("utf-8");
        assert_eq!(
            text,
            r#"{"action":"version.create","actor":"alice","after":"quarantined","before":null,"details":{"files":"2","manifest":"sha256:00"},"object":"ml/fraud:1.0.0","time":"2026-01-01T00:00:00Z"}"#
        );
    }
}
