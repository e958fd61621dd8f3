//! What a caller reads of the queue: a job with its progress and result, one at a time or a
//! page of the caller's subtree.

use super::queue::store::{self, Filter, JobRow};
use crate::auth::{Caller, Permission};
use crate::db::Db;
use crate::db::Page;
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// How far a job is.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobProgress {
    pub done: i64,
    /// null until the job knows.
    pub total: Option<i64>,
}

/// A queued job.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueuedJob {
    pub id: i64,
    /// What it does: `devices.notify` (a bulk NOTIFY), `numbers.import` (a CSV import) …
    pub kind: String,
    pub organization_id: i64,
    /// queued, running, done, failed or cancelled.
    pub state: String,
    /// Attempts started so far.
    pub attempts: i64,
    pub max_attempts: i64,
    pub progress: JobProgress,
    /// What the job produced (done), as its kind defines it.
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// A queued job waiting for a retry starts no earlier than this.
    pub run_after: DateTime<Utc>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<JobRow> for QueuedJob {
    fn from(row: JobRow) -> Self {
        Self {
            id: row.id,
            kind: row.kind,
            organization_id: row.organization_id,
            state: row.state,
            attempts: row.attempts,
            max_attempts: row.max_attempts,
            progress: JobProgress {
                done: row.progress_done,
                total: row.progress_total,
            },
            result: row.result.and_then(|r| serde_json::from_str(&r).ok()),
            error: row.error,
            run_after: row.run_after,
            created_by: row.created_by,
            created_at: row.created_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
        }
    }
}

/// A page of the queued jobs the caller sees, newest first, and how many match.
pub async fn list(
    db: &Db,
    caller: &Caller,
    filter: &Filter,
    page: Page,
) -> Result<(Vec<QueuedJob>, i64)> {
    caller.require(Permission::OrganizationsRead)?;
    let (rows, total) = store::list(db, &caller.scope().like(), filter, page).await?;
    Ok((rows.into_iter().map(QueuedJob::from).collect(), total))
}

/// The job `id` if the caller sees its organization; 404 otherwise.
pub async fn visible(db: &Db, caller: &Caller, id: i64) -> Result<QueuedJob> {
    caller.require(Permission::OrganizationsRead)?;
    match store::get(db, id).await? {
        Some(row) if caller.scope().contains(&row.organization_path) => Ok(QueuedJob::from(row)),
        _ => Err(Error::not_found("job")),
    }
}
