//! SQL of numbers' history: one entry per change, with the number before and after as JSON.

use super::CHUNK;
use crate::db::{Db, Page, Tx};
use crate::numbers::model::HistoryEntry;
use crate::system::audit::Actor;
use crate::types::column::parse_stored;
use crate::{on_snapshot, on_tx};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// One history entry to write.
pub struct NewHistory<'a> {
    pub number_id: i64,
    pub organization_id: i64,
    pub action: &'a str,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Writes history entries (multi-row INSERTs) by `actor` at `now`.
pub async fn insert_history(
    tx: &mut Tx,
    actor: &Actor,
    entries: &[NewHistory<'_>],
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    for chunk in entries.chunks(CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = i * 5;
                format!(
                    "(${}, ${}, ${}, $1, $2, ${}, ${}, $3)",
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 8
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO number_history (number_id, organization_id, action, actor_user_id, \
             actor_username, before_json, after_json, created_at) VALUES {}",
            values.join(", ")
        );
        on_tx!(tx, conn => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(actor.user_id).bind(&actor.username).bind(now);
            for e in chunk {
                query = query.bind(e.number_id).bind(e.organization_id).bind(e.action)
                    .bind(&e.before).bind(&e.after);
            }
            query.execute(conn).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct HistoryRow {
    id: i64,
    number_id: i64,
    action: String,
    actor_user_id: Option<i64>,
    actor_username: String,
    before_json: Option<String>,
    after_json: Option<String>,
    created_at: DateTime<Utc>,
}

/// A stored snapshot of entry `id`, as JSON.
fn snapshot(id: i64, column: &'static str, text: Option<&str>) -> sqlx::Result<Option<Value>> {
    let json = |t: &str| serde_json::from_str::<Value>(t);
    text.map(|t| parse_stored("number history", id, column, t, json))
        .transpose()
}

impl TryFrom<HistoryRow> for HistoryEntry {
    type Error = sqlx::Error;

    /// A stored snapshot that is not JSON is an error naming the entry, never a null.
    fn try_from(r: HistoryRow) -> sqlx::Result<Self> {
        Ok(Self {
            before: snapshot(r.id, "before_json", r.before_json.as_deref())?,
            after: snapshot(r.id, "after_json", r.after_json.as_deref())?,
            id: r.id,
            number_id: r.number_id,
            action: r.action,
            actor_user_id: r.actor_user_id,
            actor_username: r.actor_username,
            created_at: r.created_at,
        })
    }
}

/// A page of a number's history, oldest first, and its length.
pub async fn history(
    db: &Db,
    number_id: i64,
    page: Page,
) -> sqlx::Result<(Vec<HistoryEntry>, i64)> {
    let (rows, total): (Vec<HistoryRow>, i64) = on_snapshot!(db, conn => {
        let rows = sqlx::query_as(
            "SELECT id, number_id, action, actor_user_id, actor_username, before_json, \
             after_json, created_at FROM number_history WHERE number_id = $1 ORDER BY id \
             LIMIT $2 OFFSET $3")
            .bind(number_id).bind(page.limit).bind(page.offset)
            .fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM number_history WHERE number_id = $1")
            .bind(number_id).fetch_one(&mut *conn).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    let entries = rows
        .into_iter()
        .map(HistoryEntry::try_from)
        .collect::<sqlx::Result<_>>()?;
    Ok((entries, total))
}
