//! SQL of the job queue: enqueue, claim (`FOR UPDATE SKIP LOCKED` on PostgreSQL, one write
//! transaction on SQLite), the claimant's lease, progress, the end of a run, and the scoped list.

use crate::db::Page;
use crate::db::{Db, Tx};
use crate::{on_db, on_snapshot, on_tx};
use chrono::{DateTime, Utc};

/// A queued job as stored, with its organization's path.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub organization_id: i64,
    pub organization_path: String,
    pub payload: String,
    pub state: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_after: DateTime<Utc>,
    pub claimed_by: Option<String>,
    pub claimed_until: Option<DateTime<Utc>>,
    pub progress_done: i64,
    pub progress_total: Option<i64>,
    pub result: Option<String>,
    pub error: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "j.id, j.kind, j.organization_id, o.path AS organization_path, j.payload, \
    j.state, j.attempts, j.max_attempts, j.run_after, j.claimed_by, j.claimed_until, \
    j.progress_done, j.progress_total, j.result, j.error, j.created_by, j.created_at, \
    j.started_at, j.finished_at";

/// A new job's columns.
pub struct NewRow<'a> {
    pub kind: &'a str,
    pub organization_id: i64,
    pub payload: &'a str,
    pub max_attempts: i64,
    pub created_by: &'a str,
}

pub async fn insert(tx: &mut Tx, row: &NewRow<'_>, now: DateTime<Utc>) -> sqlx::Result<i64> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "INSERT INTO jobs (kind, organization_id, payload, state, max_attempts, run_after, \
         created_by, created_at) VALUES ($1, $2, $3, 'queued', $4, $5, $6, $5) RETURNING id")
        .bind(row.kind).bind(row.organization_id).bind(row.payload).bind(row.max_attempts)
        .bind(now).bind(row.created_by)
        .fetch_one(conn).await)
}

/// Takes the next job of one of `kinds` that is due, or whose claimant's lease lapsed, for
/// `instance` until `until`; its attempt count grows by one.
pub async fn claim(
    db: &Db,
    kinds: &[&str],
    instance: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> sqlx::Result<Option<JobRow>> {
    if kinds.is_empty() {
        return Ok(None);
    }
    let list: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 4)).collect();
    let lock = match db {
        Db::Pg(_) => " FOR UPDATE SKIP LOCKED",
        Db::Sqlite(_) => "",
    };
    let sql = format!(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, claimed_by = $1, \
         claimed_until = $2, started_at = COALESCE(started_at, $3) \
         WHERE id = (SELECT id FROM jobs WHERE kind IN ({}) \
           AND ((state = 'queued' AND run_after <= $3) \
             OR (state = 'running' AND claimed_until < $3)) \
           ORDER BY run_after, id LIMIT 1{lock}) RETURNING id",
        list.join(", ")
    );
    let mut tx = db.begin().await?;
    let id: Option<i64> = on_tx!(&mut tx, conn => {
        let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(instance).bind(until).bind(now);
        for kind in kinds {
            query = query.bind(*kind);
        }
        query.fetch_optional(conn).await
    })?;
    tx.commit().await?;
    match id {
        Some(id) => get(db, id).await,
        None => Ok(None),
    }
}

/// Extends `instance`'s claim on a running job; 0 rows when it lost the job.
pub async fn extend(db: &Db, id: i64, instance: &str, until: DateTime<Utc>) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query(
        "UPDATE jobs SET claimed_until = $3 WHERE id = $1 AND claimed_by = $2 \
         AND state = 'running'")
        .bind(id).bind(instance).bind(until)
        .execute(pool).await.map(|r| r.rows_affected()))
}

pub async fn progress(db: &Db, id: i64, done: i64, total: Option<i64>) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query(
        "UPDATE jobs SET progress_done = $2, progress_total = COALESCE($3, progress_total) \
         WHERE id = $1")
        .bind(id).bind(done).bind(total)
        .execute(pool).await.map(|r| r.rows_affected()))
}

/// Ends a run of `instance`'s: `done` with a result, `failed` with an error, or back to
/// `queued` (a retry after `run_after`) with the error of this attempt.
pub async fn end(
    db: &Db,
    id: i64,
    instance: &str,
    end: End<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    let (state, result, error, run_after, finished) = match end {
        End::Done(result) => ("done", Some(result), None, None, Some(now)),
        End::Failed { error, detail } => ("failed", detail, Some(error), None, Some(now)),
        End::Retry { error, run_after } => ("queued", None, Some(error), Some(run_after), None),
    };
    on_db!(db, pool => sqlx::query(
        "UPDATE jobs SET state = $3, result = $4, error = $5, \
         run_after = COALESCE($6, run_after), finished_at = $7, claimed_until = NULL \
         WHERE id = $1 AND claimed_by = $2 AND state = 'running'")
        .bind(id).bind(instance).bind(state).bind(result).bind(error).bind(run_after)
        .bind(finished)
        .execute(pool).await.map(|r| r.rows_affected()))
}

/// How a run ended.
pub enum End<'a> {
    Done(&'a str),
    /// `detail`: the error as `failure::to_json` stores it, in `result`.
    Failed {
        error: &'a str,
        detail: Option<&'a str>,
    },
    Retry {
        error: &'a str,
        run_after: DateTime<Utc>,
    },
}

pub async fn get(db: &Db, id: i64) -> sqlx::Result<Option<JobRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM jobs j JOIN organizations o ON o.id = j.organization_id \
         WHERE j.id = $1"
    );
    on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)
}

/// When the latest job of `kind` queued by `created_by` was queued (a schedule that queues
/// work on one instance at a time asks whether it is due).
pub async fn last_queued(
    db: &Db,
    kind: &str,
    created_by: &str,
) -> sqlx::Result<Option<DateTime<Utc>>> {
    on_db!(db, pool => sqlx::query_scalar(
        "SELECT created_at FROM jobs WHERE kind = $1 AND created_by = $2          ORDER BY created_at DESC LIMIT 1")
        .bind(kind).bind(created_by).fetch_optional(pool).await)
}

/// Which jobs a list shows, inside the caller's scope.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub kind: Option<String>,
    pub state: Option<String>,
    pub organization_id: Option<i64>,
}

const FROM: &str = " FROM jobs j JOIN organizations o ON o.id = j.organization_id";
const WHERE: &str = " WHERE o.path LIKE $1 \
    AND (CAST($2 AS TEXT) IS NULL OR j.kind = $2) \
    AND (CAST($3 AS TEXT) IS NULL OR j.state = $3) \
    AND (CAST($4 AS BIGINT) IS NULL OR j.organization_id = $4)";

/// A page of the jobs under `scope_like`, newest first, and how many match.
pub async fn list(
    db: &Db,
    scope_like: &str,
    f: &Filter,
    page: Page,
) -> sqlx::Result<(Vec<JobRow>, i64)> {
    let list_sql = format!("SELECT {COLUMNS}{FROM}{WHERE} ORDER BY j.id DESC LIMIT $5 OFFSET $6");
    let count_sql = format!("SELECT COUNT(*){FROM}{WHERE}");
    on_snapshot!(db, conn => {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(&*list_sql))
            .bind(scope_like).bind(&f.kind).bind(&f.state).bind(f.organization_id)
            .bind(page.limit).bind(page.offset)
            .fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(&*count_sql))
            .bind(scope_like).bind(&f.kind).bind(&f.state).bind(f.organization_id)
            .fetch_one(&mut *conn).await?;
        Ok((rows, total))
    })
}
