//! The purge's SQL: per purged kind, which organizations have rows older than a cutoff, and
//! counting or deleting (in bounded batches) one organization's rows within a span of time.
//! None of these tables is partitioned (on either database), so the purge deletes rows; a
//! partitioned kind would drop whole partitions instead.

use crate::db::Db;
use crate::on_db;
use crate::system::retention::Kind;
use chrono::{DateTime, Utc};

/// Where a purged kind's rows live: the table, the joins to its organization, the time a row
/// counts from, and which rows may go at all.
struct Table {
    table: &'static str,
    from: &'static str,
    org: &'static str,
    path: &'static str,
    time: &'static str,
    only: &'static str,
}

fn table(kind: Kind) -> Option<Table> {
    Some(match kind {
        Kind::Events => Table {
            table: "event_log",
            from: "event_log t",
            org: "t.organization_id",
            path: "t.organization_path",
            time: "t.created_at",
            only: "",
        },
        Kind::Audit => Table {
            table: "audit_log",
            from: "audit_log t",
            org: "t.organization_id",
            path: "t.organization_path",
            time: "t.created_at",
            only: "",
        },
        // Finished jobs only, counted from when they finished.
        Kind::Jobs => Table {
            table: "jobs",
            from: "jobs t JOIN organizations o ON o.id = t.organization_id",
            org: "t.organization_id",
            path: "o.path",
            time: "t.finished_at",
            only: " AND t.state IN ('done', 'failed', 'cancelled')",
        },
        // Delivered and failed deliveries; pending ones are still to be sent.
        Kind::Deliveries => Table {
            table: "webhook_deliveries",
            from: "webhook_deliveries t JOIN webhook_endpoints e ON e.id = t.endpoint_id \
                   JOIN organizations o ON o.id = e.organization_id",
            org: "e.organization_id",
            path: "o.path",
            time: "t.created_at",
            only: " AND t.state <> 'pending'",
        },
        // A call queue's time series (its latest figures stay on the queue).
        Kind::QueueStats => Table {
            table: "call_queue_samples",
            from: "call_queue_samples t JOIN call_queues q ON q.id = t.queue_id \
                   JOIN organizations o ON o.id = q.organization_id",
            org: "q.organization_id",
            path: "o.path",
            time: "t.reported_at",
            only: "",
        },
        Kind::Cdrs | Kind::Sms | Kind::Voicemail | Kind::Files => return None,
    })
}

/// (organization id, path) of every organization under `like` with rows of `kind` older than
/// `before`.
pub async fn candidates(
    db: &Db,
    kind: Kind,
    before: DateTime<Utc>,
    like: &str,
) -> sqlx::Result<Vec<(i64, String)>> {
    let Some(t) = table(kind) else {
        return Ok(Vec::new());
    };
    let sql = format!(
        "SELECT {org}, {path} FROM {from} WHERE {time} < $1 AND {path} LIKE $2{only} \
         GROUP BY {org}, {path} ORDER BY {org}",
        org = t.org,
        path = t.path,
        from = t.from,
        time = t.time,
        only = t.only
    );
    on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(before).bind(like).fetch_all(pool).await)
}

fn span_where(t: &Table) -> String {
    format!(
        "{org} = $1 AND {time} >= $2 AND {time} < $3{only}",
        org = t.org,
        time = t.time,
        only = t.only
    )
}

/// How many rows of `kind` of `organization_id` lie in `[from, to)` (a dry run's answer).
pub async fn count(
    db: &Db,
    kind: Kind,
    organization_id: i64,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> sqlx::Result<u64> {
    let Some(t) = table(kind) else {
        return Ok(0);
    };
    let sql = format!("SELECT COUNT(*) FROM {} WHERE {}", t.from, span_where(&t));
    let n: i64 = on_db!(db, pool => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(organization_id).bind(from).bind(to).fetch_one(pool).await)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Deletes at most `limit` rows of `kind` of `organization_id` in `[from, to)`; how many went.
pub async fn delete_batch(
    db: &Db,
    kind: Kind,
    organization_id: i64,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    limit: i64,
) -> sqlx::Result<u64> {
    let Some(t) = table(kind) else {
        return Ok(0);
    };
    let sql = format!(
        "DELETE FROM {} WHERE id IN (SELECT t.id FROM {} WHERE {} LIMIT $4)",
        t.table,
        t.from,
        span_where(&t)
    );
    on_db!(db, pool => sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(organization_id).bind(from).bind(to).bind(limit)
        .execute(pool).await.map(|r| r.rows_affected()))
}
