//! The audit log: who did what in the newsroom, append-only.

use async_trait::async_trait;

use super::newsroom::{AuditEntry, NewAuditEntry};
use super::shared::{audit_entry_from_row, to_unix_ms};
use super::sql::{Statement, Tx, sql};
use super::{SqlStore, StoreResult};

/// The one statement that appends to the log.
fn audit_insert(entry: &NewAuditEntry) -> Statement {
    sql("INSERT INTO audit_log (at_ms, user_id, action, target_kind, target_id, detail) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(to_unix_ms(entry.at))
        .bind(entry.user_id)
        .bind(&entry.action)
        .bind(&entry.target_kind)
        .bind(entry.target_id)
        .bind(&entry.detail)
}

/// Appends `entry` inside the transaction of the change it describes, so the line is stored if and
/// only if the change is: a crash or a failed write leaves neither, a committed change always both.
pub(super) async fn record_in(tx: &mut Tx, entry: &NewAuditEntry) -> StoreResult<()> {
    audit_insert(entry).execute(tx).await?;
    Ok(())
}

/// Records `entry` in `tx` and commits it: the usual end of a write that carries an audit line.
pub(super) async fn commit_with(mut tx: Tx, entry: &NewAuditEntry) -> StoreResult<()> {
    record_in(&mut tx, entry).await?;
    tx.commit().await
}

#[async_trait]
pub trait AuditRepo: Send + Sync {
    /// Appends a line about something that is not a store write of its own (a sign-in, a sign-out).
    /// Every newsroom change records its line in its own transaction instead (each writing method
    /// takes the [`NewAuditEntry`]).
    async fn record_audit(&self, entry: NewAuditEntry) -> StoreResult<()>;

    /// Newest first.
    async fn audit_entries(&self, limit: i64, offset: i64) -> StoreResult<Vec<AuditEntry>>;
}

#[async_trait]
impl AuditRepo for SqlStore {
    async fn record_audit(&self, entry: NewAuditEntry) -> StoreResult<()> {
        audit_insert(&entry).execute(&self.db).await?;
        Ok(())
    }

    async fn audit_entries(&self, limit: i64, offset: i64) -> StoreResult<Vec<AuditEntry>> {
        // The log is append-only, so the id is the order of events (and what the index is on).
        let rows = sql("SELECT l.id, l.at_ms, u.name AS user_name, l.action, l.target_kind, l.target_id, l.detail \
             FROM audit_log l LEFT JOIN users u ON u.id = l.user_id ORDER BY l.id DESC LIMIT $1 OFFSET $2")
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.db)
        .await?;
        rows.iter().map(audit_entry_from_row).collect()
    }
}
