//! SQL of bulk NOTIFY jobs: the devices a filter selects, the job row with its counters, and the
//! per-device result rows.

use super::bulk::JobState;
use super::target::{Action, Outcome};
use crate::db::Page;
use crate::db::{Db, Tx};
use crate::types::sip_uri::SipUri;
use crate::types::{Mac, Vendor};
use crate::{on_db, on_snapshot, on_tx};
use chrono::{DateTime, Utc};

/// What a bulk job needs of each device it covers.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TargetRow {
    pub id: i64,
    pub organization_id: i64,
    pub organization_path: String,
    pub mac: Mac,
    pub vendor: Vendor,
    pub contact: Option<String>,
    pub last_provisioned_ip: Option<String>,
    pub first_user: Option<String>,
}

/// A job as stored, with its organization's path.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRow {
    pub id: i64,
    pub organization_id: i64,
    pub organization_path: String,
    pub action: Action,
    pub filter_json: String,
    pub spread_s: i64,
    pub concurrency: i64,
    pub state: JobState,
    pub total: i64,
    pub sent: i64,
    pub ok: i64,
    pub rejected: i64,
    pub timed_out: i64,
    pub unreachable: i64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A per-device result as stored (outcome null: not finished yet).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResultRow {
    pub device_id: i64,
    pub mac: Mac,
    pub target: Option<String>,
    pub outcome: Option<Outcome>,
    pub code: Option<i64>,
    pub reason: Option<String>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A device a job has not reached yet, with what sending to it needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingRow {
    pub device_id: i64,
    pub target: SipUri,
    pub organization_id: i64,
    pub organization_path: String,
    pub vendor: Vendor,
}

/// A new job's columns.
pub struct NewJob<'a> {
    pub organization_id: i64,
    pub action: &'a str,
    pub filter_json: &'a str,
    pub spread_s: i64,
    pub concurrency: i64,
    pub total: i64,
    pub created_by: &'a str,
}

/// A finished NOTIFY of a job.
pub struct Finished<'a> {
    pub device_id: i64,
    pub outcome: &'a str,
    pub code: Option<i64>,
    pub reason: &'a str,
}

/// How much each counter of a job grows.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub sent: i64,
    pub ok: i64,
    pub rejected: i64,
    pub timed_out: i64,
    pub unreachable: i64,
}

const JOB_COLUMNS: &str = "j.id, j.organization_id, o.path AS organization_path, j.action, \
    j.filter_json, j.spread_s, j.concurrency, j.state, j.total, j.sent, j.ok, j.rejected, \
    j.timed_out, j.unreachable, j.created_by, j.created_at, j.heartbeat_at, j.finished_at";

/// Active devices under `scope_like`, optionally of one organization's subtree (`subtree_like`),
/// vendor and model (case-insensitive), in id order; at most `limit`.
pub async fn targets(
    db: &Db,
    subtree_like: &str,
    vendor: Option<&str>,
    model: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<TargetRow>> {
    let model = model.map(str::to_lowercase);
    on_db!(db, pool => sqlx::query_as(
        "SELECT d.id, d.organization_id, o.path AS organization_path, d.mac, d.vendor, \
         d.contact, d.last_provisioned_ip, \
         (SELECT l.username FROM device_lines l WHERE l.device_id = d.id \
          ORDER BY l.position LIMIT 1) AS first_user \
         FROM devices d JOIN organizations o ON o.id = d.organization_id \
         WHERE o.path LIKE $1 AND d.status = 'active' \
         AND (CAST($2 AS TEXT) IS NULL OR d.vendor = $2) \
         AND (CAST($3 AS TEXT) IS NULL OR LOWER(d.model) = $3) \
         ORDER BY d.id LIMIT $4")
        .bind(subtree_like).bind(vendor).bind(&model).bind(limit)
        .fetch_all(pool).await)
}

pub async fn insert_job(tx: &mut Tx, job: &NewJob<'_>, now: DateTime<Utc>) -> sqlx::Result<i64> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "INSERT INTO notify_jobs (organization_id, action, filter_json, spread_s, concurrency, \
         state, total, created_by, created_at, heartbeat_at) \
         VALUES ($1, $2, $3, $4, $5, 'running', $6, $7, $8, $8) RETURNING id")
        .bind(job.organization_id).bind(job.action).bind(job.filter_json).bind(job.spread_s)
        .bind(job.concurrency).bind(job.total).bind(job.created_by).bind(now)
        .fetch_one(conn).await)
}

/// Rows per multi-row INSERT (5 parameters each; well under SQLite's parameter limit).
const INSERT_CHUNK: usize = 400;
/// One pending result row per device: `(device_id, mac, target)`.
pub async fn insert_pending(
    tx: &mut Tx,
    job_id: i64,
    rows: &[(i64, Mac, Option<&str>)],
) -> sqlx::Result<()> {
    let size = |(_, _, target): &(i64, Mac, Option<&str>)| 44 + target.map_or(0, str::len);
    for chunk in crate::db::chunks(rows, INSERT_CHUNK, size) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("($1, ${}, ${}, ${})", 3 * i + 2, 3 * i + 3, 3 * i + 4))
            .collect();
        let sql = format!(
            "INSERT INTO notify_job_results (job_id, device_id, mac, target) VALUES {}",
            values.join(", ")
        );
        on_tx!(tx, conn => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(job_id);
            for (device_id, mac, target) in chunk {
                query = query.bind(*device_id).bind(*mac).bind(*target);
            }
            query.execute(conn).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// Rows per multi-row UPDATE of results (4 parameters each; well under both backends' limits).
const UPDATE_CHUNK: usize = 500;

/// Stores finished NOTIFYs and grows the job's counters; refreshes its heartbeat.
///
/// The results go in one `UPDATE … FROM (VALUES …)` per [`chunks`] run (up to [`UPDATE_CHUNK`]
/// rows), not one statement per device: on PostgreSQL every statement is a round trip, and a
/// job's writer fell behind its sending. The VALUES sit in a CTE because SQLite (3.33+ has
/// `UPDATE … FROM`) cannot name a subquery's columns; the first row's casts type the columns on
/// PostgreSQL.
pub async fn record_finished(
    tx: &mut Tx,
    job_id: i64,
    finished: &[Finished<'_>],
    counts: Counts,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let size = |f: &Finished<'_>| 40 + f.outcome.len() + f.reason.len();
    for chunk in crate::db::chunks(finished, UPDATE_CHUNK, size) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p = 4 * i + 3;
                if i == 0 {
                    format!(
                        "(CAST(${} AS BIGINT), CAST(${} AS TEXT), CAST(${} AS BIGINT), \
                         CAST(${} AS TEXT))",
                        p,
                        p + 1,
                        p + 2,
                        p + 3
                    )
                } else {
                    format!("(${}, ${}, ${}, ${})", p, p + 1, p + 2, p + 3)
                }
            })
            .collect();
        let sql = format!(
            "WITH v (device_id, outcome, code, reason) AS (VALUES {}) \
             UPDATE notify_job_results SET outcome = v.outcome, code = v.code, \
             reason = v.reason, finished_at = $2 FROM v \
             WHERE notify_job_results.job_id = $1 AND notify_job_results.device_id = v.device_id",
            values.join(", ")
        );
        on_tx!(tx, conn => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(job_id).bind(now);
            for f in chunk {
                query = query.bind(f.device_id).bind(f.outcome).bind(f.code).bind(f.reason);
            }
            query.execute(conn).await.map(|r| r.rows_affected())
        })?;
    }
    on_tx!(tx, conn => sqlx::query(
        "UPDATE notify_jobs SET sent = sent + $2, ok = ok + $3, rejected = rejected + $4, \
         timed_out = timed_out + $5, unreachable = unreachable + $6, heartbeat_at = $7 \
         WHERE id = $1")
        .bind(job_id).bind(counts.sent).bind(counts.ok).bind(counts.rejected)
        .bind(counts.timed_out).bind(counts.unreachable).bind(now)
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The job's unfinished results that have an address, in device id order, with their devices'
/// organization and vendor (a device deleted since stays pending).
pub async fn pending_targets(db: &Db, job_id: i64) -> sqlx::Result<Vec<PendingRow>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT r.device_id, r.target, d.organization_id, o.path AS organization_path, d.vendor \
         FROM notify_job_results r JOIN devices d ON d.id = r.device_id \
         JOIN organizations o ON o.id = d.organization_id \
         WHERE r.job_id = $1 AND r.outcome IS NULL AND r.target IS NOT NULL \
         ORDER BY r.device_id")
        .bind(job_id)
        .fetch_all(pool).await)
}

pub async fn heartbeat(db: &Db, job_id: i64, now: DateTime<Utc>) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query(
        "UPDATE notify_jobs SET heartbeat_at = $2 WHERE id = $1 AND state = 'running'")
        .bind(job_id).bind(now)
        .execute(pool).await.map(|r| r.rows_affected()))
}

/// Ends a running job in `state` (`done` or `interrupted`); a job already ended stays as it is.
pub async fn finish(db: &Db, job_id: i64, state: &str, now: DateTime<Utc>) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query(
        "UPDATE notify_jobs SET state = $2, finished_at = $3, heartbeat_at = $3 \
         WHERE id = $1 AND state = 'running'")
        .bind(job_id).bind(state).bind(now)
        .execute(pool).await.map(|r| r.rows_affected()))
}

/// Marks a running job interrupted if its heartbeat is still the stale one the caller read.
pub async fn interrupt_if_stale(
    db: &Db,
    job_id: i64,
    stale_heartbeat: DateTime<Utc>,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query(
        "UPDATE notify_jobs SET state = 'interrupted', finished_at = $3 \
         WHERE id = $1 AND state = 'running' AND heartbeat_at = $2")
        .bind(job_id).bind(stale_heartbeat).bind(now)
        .execute(pool).await.map(|r| r.rows_affected()))
}

pub async fn job(db: &Db, id: i64) -> sqlx::Result<Option<JobRow>> {
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM notify_jobs j JOIN organizations o ON o.id = j.organization_id \
         WHERE j.id = $1"
    );
    on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)
}

/// `outcome`: one of the outcomes, `pending` (not finished), or `None` for all.
const RESULTS_WHERE: &str = " WHERE job_id = $1 AND (CAST($2 AS TEXT) IS NULL \
    OR ($2 = 'pending' AND outcome IS NULL) OR outcome = $2)";

/// A page of a job's results in device id order, and how many match.
pub async fn results(
    db: &Db,
    job_id: i64,
    outcome: Option<&str>,
    page: Page,
) -> sqlx::Result<(Vec<ResultRow>, i64)> {
    let list_sql = format!(
        "SELECT device_id, mac, target, outcome, code, reason, finished_at \
         FROM notify_job_results{RESULTS_WHERE} ORDER BY device_id LIMIT $3 OFFSET $4"
    );
    let count_sql = format!("SELECT COUNT(*) FROM notify_job_results{RESULTS_WHERE}");
    on_snapshot!(db, conn => {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(&*list_sql))
            .bind(job_id).bind(outcome).bind(page.limit).bind(page.offset)
            .fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(&*count_sql))
            .bind(job_id).bind(outcome)
            .fetch_one(&mut *conn).await?;
        Ok((rows, total))
    })
}

/// Which jobs a list shows, inside the caller's scope.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    /// Jobs of exactly this organization.
    pub organization_id: Option<i64>,
    /// `running`, `done` or `interrupted`.
    pub state: Option<String>,
}

const JOBS_FROM: &str = " FROM notify_jobs j JOIN organizations o ON o.id = j.organization_id";
const JOBS_WHERE: &str = " WHERE o.path LIKE $1 \
    AND (CAST($2 AS BIGINT) IS NULL OR j.organization_id = $2) \
    AND (CAST($3 AS TEXT) IS NULL OR j.state = $3)";

/// A page of the jobs under `scope_like`, newest first, and how many match.
pub async fn jobs(
    db: &Db,
    scope_like: &str,
    f: &JobFilter,
    page: Page,
) -> sqlx::Result<(Vec<JobRow>, i64)> {
    let list_sql = format!(
        "SELECT {JOB_COLUMNS}{JOBS_FROM}{JOBS_WHERE} ORDER BY j.id DESC LIMIT $4 OFFSET $5"
    );
    let count_sql = format!("SELECT COUNT(*){JOBS_FROM}{JOBS_WHERE}");
    on_snapshot!(db, conn => {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(&*list_sql))
            .bind(scope_like).bind(f.organization_id).bind(&f.state)
            .bind(page.limit).bind(page.offset)
            .fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(&*count_sql))
            .bind(scope_like).bind(f.organization_id).bind(&f.state)
            .fetch_one(&mut *conn).await?;
        Ok((rows, total))
    })
}

/// The jobs under `scope_like` stored as running (to find those whose instance died).
pub async fn running_jobs(db: &Db, scope_like: &str) -> sqlx::Result<Vec<JobRow>> {
    let sql =
        format!("SELECT {JOB_COLUMNS}{JOBS_FROM} WHERE o.path LIKE $1 AND j.state = 'running'");
    on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(scope_like)
        .fetch_all(pool).await)
}
