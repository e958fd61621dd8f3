//! The SQL of call queues and their samples.

use super::model::{Queue, QueueFigures, QueueName, QueueSample};
use crate::db::{Db, Page, Tx};
use crate::types::column::parse_stored;
use crate::{on_snapshot, on_tx};
use chrono::{DateTime, Utc};

const COLUMNS: &str = "q.id, q.organization_id, o.path AS organization_path, q.name, q.waiting, \
    q.longest_wait_s, q.agents_logged_in, q.agents_available, q.answered, q.abandoned, \
    q.reported_at, q.created_at";
const FROM: &str = " FROM call_queues q JOIN organizations o ON o.id = q.organization_id";
const FIGURES: &str =
    "waiting, longest_wait_s, agents_logged_in, agents_available, answered, abandoned";

#[derive(sqlx::FromRow)]
struct QueueRow {
    id: i64,
    organization_id: i64,
    organization_path: String,
    name: String,
    waiting: i64,
    longest_wait_s: i64,
    agents_logged_in: i64,
    agents_available: i64,
    answered: i64,
    abandoned: i64,
    reported_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
}

impl TryFrom<QueueRow> for Queue {
    type Error = sqlx::Error;

    fn try_from(row: QueueRow) -> sqlx::Result<Self> {
        Ok(Self {
            name: parse_stored("call_queue", row.id, "name", &row.name, QueueName::parse)?,
            id: row.id,
            organization_id: row.organization_id,
            organization_path: row.organization_path,
            latest: QueueFigures {
                waiting: row.waiting,
                longest_wait_s: row.longest_wait_s,
                agents_logged_in: row.agents_logged_in,
                agents_available: row.agents_available,
                answered: row.answered,
                abandoned: row.abandoned,
            },
            reported_at: row.reported_at,
            created_at: row.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct SampleRow {
    id: i64,
    queue_id: i64,
    waiting: i64,
    longest_wait_s: i64,
    agents_logged_in: i64,
    agents_available: i64,
    answered: i64,
    abandoned: i64,
    reported_at: DateTime<Utc>,
}

impl From<SampleRow> for QueueSample {
    fn from(row: SampleRow) -> Self {
        Self {
            id: row.id,
            queue_id: row.queue_id,
            figures: QueueFigures {
                waiting: row.waiting,
                longest_wait_s: row.longest_wait_s,
                agents_logged_in: row.agents_logged_in,
                agents_available: row.agents_available,
                answered: row.answered,
                abandoned: row.abandoned,
            },
            reported_at: row.reported_at,
        }
    }
}

pub async fn list(
    db: &Db,
    like: &str,
    organization_id: Option<i64>,
    page: Page,
) -> sqlx::Result<(Vec<Queue>, i64)> {
    const WHERE: &str =
        " WHERE o.path LIKE $1 AND (CAST($2 AS BIGINT) IS NULL OR q.organization_id = $2)";
    let list_sql = format!(
        "SELECT {COLUMNS}{FROM}{WHERE} ORDER BY q.organization_id, q.name LIMIT $3 OFFSET $4"
    );
    let count_sql = format!("SELECT COUNT(*){FROM}{WHERE}");
    let (rows, total): (Vec<QueueRow>, i64) = on_snapshot!(db, conn => {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(&*list_sql))
            .bind(like).bind(organization_id).bind(page.limit).bind(page.offset)
            .fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(&*count_sql))
            .bind(like).bind(organization_id).fetch_one(&mut *conn).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    let list = rows
        .into_iter()
        .map(Queue::try_from)
        .collect::<sqlx::Result<_>>()?;
    Ok((list, total))
}

/// Queue `name` of `organization_id`.
pub async fn find(db: &Db, organization_id: i64, name: &str) -> sqlx::Result<Option<Queue>> {
    let sql = format!("SELECT {COLUMNS}{FROM} WHERE q.organization_id = $1 AND q.name = $2");
    let row: Option<QueueRow> = crate::on_read!(db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(&*sql)).bind(organization_id).bind(name)
            .fetch_optional(pool).await)?;
    row.map(Queue::try_from).transpose()
}

pub async fn fetch_tx(tx: &mut Tx, id: i64) -> sqlx::Result<Option<Queue>> {
    let sql = format!("SELECT {COLUMNS}{FROM} WHERE q.id = $1");
    let row: Option<QueueRow> = on_tx!(tx, conn =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await)?;
    row.map(Queue::try_from).transpose()
}

/// Records a report in `tx`: the queue's latest figures (the queue created on its first report)
/// and a sample. Returns the queue's id and whether this report created it. Two instances
/// taking a queue's first report at once both land: the second insert finds the row and updates.
pub async fn report(
    tx: &mut Tx,
    organization_id: i64,
    name: &str,
    f: &QueueFigures,
    now: DateTime<Utc>,
) -> sqlx::Result<(i64, bool)> {
    let inserted: Option<i64> = on_tx!(tx, conn => sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "INSERT INTO call_queues (organization_id, name, {FIGURES}, reported_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
         ON CONFLICT (organization_id, name) DO NOTHING RETURNING id")))
        .bind(organization_id).bind(name).bind(f.waiting).bind(f.longest_wait_s)
        .bind(f.agents_logged_in).bind(f.agents_available).bind(f.answered).bind(f.abandoned)
        .bind(now).fetch_optional(conn).await)?;
    let (id, created) = match inserted {
        Some(id) => (id, true),
        None => {
            let id: i64 = on_tx!(tx, conn => sqlx::query_scalar(
                "UPDATE call_queues SET waiting = $3, longest_wait_s = $4, agents_logged_in = $5, \
                 agents_available = $6, answered = $7, abandoned = $8, reported_at = $9 \
                 WHERE organization_id = $1 AND name = $2 RETURNING id")
                .bind(organization_id).bind(name).bind(f.waiting).bind(f.longest_wait_s)
                .bind(f.agents_logged_in).bind(f.agents_available).bind(f.answered)
                .bind(f.abandoned).bind(now).fetch_one(conn).await)?;
            (id, false)
        }
    };
    on_tx!(tx, conn => sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO call_queue_samples (queue_id, {FIGURES}, reported_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")))
        .bind(id).bind(f.waiting).bind(f.longest_wait_s).bind(f.agents_logged_in)
        .bind(f.agents_available).bind(f.answered).bind(f.abandoned).bind(now)
        .execute(conn).await.map(|_| ()))?;
    Ok((id, created))
}

/// Queue `queue_id`'s reports since `since` (all when none), newest first.
pub async fn samples(
    db: &Db,
    queue_id: i64,
    since: Option<DateTime<Utc>>,
    page: Page,
) -> sqlx::Result<(Vec<QueueSample>, i64)> {
    const WHERE: &str = " FROM call_queue_samples WHERE queue_id = $1 AND (CAST($2 AS TIMESTAMPTZ) IS NULL OR reported_at >= $2)";
    let list_sql = format!(
        "SELECT id, queue_id, {FIGURES}, reported_at{WHERE} ORDER BY reported_at DESC, id DESC \
         LIMIT $3 OFFSET $4"
    );
    let count_sql = format!("SELECT COUNT(*){WHERE}");
    let (rows, total): (Vec<SampleRow>, i64) = on_snapshot!(db, conn => {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(&*list_sql))
            .bind(queue_id).bind(since).bind(page.limit).bind(page.offset)
            .fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(&*count_sql))
            .bind(queue_id).bind(since).fetch_one(&mut *conn).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    Ok((rows.into_iter().map(QueueSample::from).collect(), total))
}

pub async fn delete(tx: &mut Tx, id: i64) -> sqlx::Result<bool> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM call_queue_samples WHERE queue_id = $1")
        .bind(id).execute(conn).await.map(|_| ()))?;
    let done = on_tx!(tx, conn => sqlx::query("DELETE FROM call_queues WHERE id = $1")
        .bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Every queue's latest figures, for `/metrics`.
pub async fn all_latest(db: &Db) -> sqlx::Result<Vec<Queue>> {
    let sql = format!("SELECT {COLUMNS}{FROM} ORDER BY q.organization_id, q.name");
    let rows: Vec<QueueRow> = crate::on_read!(db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(&*sql)).fetch_all(pool).await)?;
    rows.into_iter().map(Queue::try_from).collect()
}
