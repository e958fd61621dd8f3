//! SQL of the event log.
//!
//! On SQLite `created_at` is RFC 3339 text as sqlx writes a `DateTime<Utc>` (always `+00:00`,
//! fractions of 0, 3, 6 or 9 digits), which sorts and compares in time order as text; every
//! timestamp this file binds is a `DateTime<Utc>`, so comparisons stay like with like.

use super::{EventRecord, NewEvent, Severity};
use crate::db::Page;
use crate::db::{Db, Tx};
use crate::{on_db, on_snapshot, on_tx};
use chrono::{DateTime, Utc};

/// Optional filters of `GET /v1/eventlog/{orgId}`. `since` is inclusive, `until` exclusive.
#[derive(Debug, Default, Clone)]
pub struct EventFilter {
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub event: Option<String>,
    pub severity: Option<Severity>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    organization_id: i64,
    source: String,
    severity: String,
    entity_type: String,
    entity_id: String,
    event: String,
    message: String,
    detail_json: Option<String>,
    created_at: DateTime<Utc>,
}

impl TryFrom<Row> for EventRecord {
    type Error = sqlx::Error;

    fn try_from(row: Row) -> sqlx::Result<Self> {
        let severity = Severity::parse(&row.severity).ok_or_else(|| {
            sqlx::Error::Decode(format!("event_log.severity: unknown {:?}", row.severity).into())
        })?;
        Ok(Self {
            id: row.id,
            organization_id: row.organization_id,
            source: row.source,
            severity,
            entity_type: row.entity_type,
            entity_id: row.entity_id,
            event: row.event,
            message: row.message,
            detail: row
                .detail_json
                .and_then(|text| serde_json::from_str(&text).ok()),
            created_at: row.created_at,
        })
    }
}

const INSERT: &str = "INSERT INTO event_log (organization_id, organization_path, source, severity, \
    entity_type, entity_id, event, message, detail_json, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id";

/// Binds one event to [`INSERT`] and fetches the new id from `$executor`.
macro_rules! insert_event {
    ($executor:expr, $event:expr, $now:expr) => {{
        let event = $event;
        let detail = event.detail.as_ref().map(|v| v.to_string());
        let (id,): (i64,) = sqlx::query_as(INSERT)
            .bind(event.organization_id)
            .bind(event.organization_path)
            .bind(event.source)
            .bind(event.severity.as_str())
            .bind(event.entity_type)
            .bind(&event.entity_id)
            .bind(event.event)
            .bind(&event.message)
            .bind(&detail)
            .bind($now)
            .fetch_one($executor)
            .await?;
        Ok(id)
    }};
}

#[cfg(test)]
pub async fn insert_db(db: &Db, event: &NewEvent<'_>, now: DateTime<Utc>) -> sqlx::Result<i64> {
    on_db!(db, pool => insert_event!(pool, event, now))
}

pub async fn insert_tx(tx: &mut Tx, event: &NewEvent<'_>, now: DateTime<Utc>) -> sqlx::Result<i64> {
    on_tx!(tx, conn => insert_event!(conn, event, now))
}

/// Events per multi-row INSERT: 9 parameters each plus the shared timestamp, so at most 4,501
/// parameters a statement, well under SQLite's 32,766 and PostgreSQL's 65,535.
const INSERT_CHUNK: usize = 500;

/// What `event` adds to a statement's message: its texts, with the fixed-size values and
/// length prefixes rounded up.
fn wire_size(event: &NewEvent<'_>) -> usize {
    64 + event.organization_path.len()
        + event.source.len()
        + event.entity_type.len()
        + event.entity_id.len()
        + event.event.len()
        + event.message.len()
        + event.detail.as_ref().map_or(0, |d| d.to_string().len())
}

/// `events` cut into runs of at most [`INSERT_CHUNK`] events and, past the first event of a run,
/// [`crate::db::STATEMENT_BYTES`].
fn chunks<'e, 'a>(events: &'e [NewEvent<'a>]) -> Vec<&'e [NewEvent<'a>]> {
    crate::db::chunks(events, INSERT_CHUNK, wire_size)
}

/// Inserts `events` with a few multi-row statements (see [`chunks`]) inside `tx`, all stamped
/// `now`; returns how many rows went in.
pub async fn insert_many_tx(
    tx: &mut Tx,
    events: &[NewEvent<'_>],
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    let mut inserted = 0;
    for chunk in chunks(events) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p = 9 * i + 2;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, $1)",
                    p,
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4,
                    p + 5,
                    p + 6,
                    p + 7,
                    p + 8
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO event_log (organization_id, organization_path, source, severity, \
             entity_type, entity_id, event, message, detail_json, created_at) VALUES {}",
            values.join(", ")
        );
        let details: Vec<Option<String>> = chunk
            .iter()
            .map(|e| e.detail.as_ref().map(|v| v.to_string()))
            .collect();
        inserted += on_tx!(tx, conn => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
            for (event, detail) in chunk.iter().zip(&details) {
                query = query
                    .bind(event.organization_id)
                    .bind(event.organization_path)
                    .bind(event.source)
                    .bind(event.severity.as_str())
                    .bind(event.entity_type)
                    .bind(&event.entity_id)
                    .bind(event.event)
                    .bind(&event.message)
                    .bind(detail);
            }
            query.execute(conn).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(inserted)
}

const COLUMNS: &str = "id, organization_id, source, severity, entity_type, entity_id, event, \
    message, detail_json, created_at";

const WHERE: &str = " WHERE organization_path LIKE $1 \
    AND (CAST($2 AS TEXT) IS NULL OR entity_type = $2) \
    AND (CAST($3 AS TEXT) IS NULL OR entity_id = $3) \
    AND (CAST($4 AS TEXT) IS NULL OR event = $4) \
    AND (CAST($5 AS TEXT) IS NULL OR severity = $5) \
    AND (CAST($6 AS TIMESTAMPTZ) IS NULL OR created_at >= $6) \
    AND (CAST($7 AS TIMESTAMPTZ) IS NULL OR created_at < $7)";

pub async fn list(
    db: &Db,
    scope_like: &str,
    f: &EventFilter,
    page: Page,
) -> sqlx::Result<(Vec<EventRecord>, i64)> {
    let list_sql = format!(
        "SELECT {COLUMNS} FROM event_log{WHERE} ORDER BY created_at DESC, id DESC \
         LIMIT $8 OFFSET $9"
    );
    let count_sql = format!("SELECT COUNT(*) FROM event_log{WHERE}");
    let severity = f.severity.map(Severity::as_str);
    on_snapshot!(db, conn => {
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(&*list_sql))
            .bind(scope_like).bind(&f.entity_type).bind(&f.entity_id).bind(&f.event)
            .bind(severity).bind(f.since).bind(f.until)
            .bind(page.limit).bind(page.offset)
            .fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(&*count_sql))
            .bind(scope_like).bind(&f.entity_type).bind(&f.entity_id).bind(&f.event)
            .bind(severity).bind(f.since).bind(f.until)
            .fetch_one(&mut *conn).await?;
        let records = rows.into_iter().map(EventRecord::try_from).collect::<sqlx::Result<_>>()?;
        Ok((records, total))
    })
}

pub async fn get(db: &Db, scope_like: &str, id: i64) -> sqlx::Result<Option<EventRecord>> {
    let sql =
        format!("SELECT {COLUMNS} FROM event_log WHERE organization_path LIKE $1 AND id = $2");
    on_db!(db, pool => {
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(scope_like).bind(id).fetch_optional(pool).await?;
        row.map(EventRecord::try_from).transpose()
    })
}

pub async fn purge_older_than(db: &Db, cutoff: DateTime<Utc>) -> sqlx::Result<u64> {
    const SQL: &str = "DELETE FROM event_log WHERE created_at < $1";
    on_db!(db, pool => Ok(sqlx::query(SQL).bind(cutoff).execute(pool).await?.rows_affected()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(message: String) -> NewEvent<'static> {
        NewEvent {
            organization_id: 1,
            organization_path: "/1/",
            source: "notify",
            severity: Severity::Info,
            entity_type: "device",
            entity_id: "7".to_string(),
            event: "device.resync",
            message,
            detail: Some(json!({"n": 1})),
        }
    }

    #[test]
    fn chunks_keep_order_and_cap_rows_and_bytes() {
        let small: Vec<NewEvent> = (0..1_234).map(|i| event(i.to_string())).collect();
        let runs = chunks(&small[..]);
        let sizes: Vec<usize> = runs.iter().map(|r| r.len()).collect();
        assert!(sizes.iter().all(|n| *n <= INSERT_CHUNK), "{sizes:?}");
        assert_eq!(sizes.iter().sum::<usize>(), 1_234);
        let all = runs.concat();
        let messages: Vec<&str> = all.iter().map(|e| e.message.as_str()).collect();
        let want: Vec<String> = (0..1_234).map(|i| i.to_string()).collect();
        assert_eq!(messages, want, "every event once, in order");

        // Bigger than a third of the budget: two a statement; one bigger than all of it, alone.
        let big: Vec<NewEvent> = (0..5)
            .map(|_| event("x".repeat(crate::db::STATEMENT_BYTES / 3)))
            .collect();
        let sizes: Vec<usize> = chunks(&big[..]).iter().map(|r| r.len()).collect();
        assert_eq!(sizes, [2, 2, 1]);
        let huge = [
            event("x".repeat(crate::db::STATEMENT_BYTES * 2)),
            event(String::new()),
        ];
        assert_eq!(chunks(&huge[..]).len(), 2);
        assert!(chunks(&[]).is_empty());
    }
}
