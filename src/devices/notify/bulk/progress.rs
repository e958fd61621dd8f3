//! Reading a bulk NOTIFY job: its progress (a lost instance's job read as interrupted) and its
//! per-device results.

use super::super::store::{self as store, JobRow};
use super::{JobResultView, JobState, JobView, STALE_AFTER_S, view};
use crate::auth::{Caller, Permission};
use crate::db::Page;
use crate::error::{Error, Result};
use crate::state::AppState;
use chrono::Utc;

/// The job's row with its state as it really is: a running job with a stale heartbeat is
/// stored and reported as interrupted.
pub(super) async fn progress_of(state: &AppState, job_id: i64) -> Result<JobView> {
    let row = store::job(&state.db, job_id)
        .await?
        .ok_or_else(|| Error::not_found("notify job"))?;
    let job_state = current_state(state, &row).await?;
    Ok(view(row, job_state))
}

pub async fn current_state(state: &AppState, row: &JobRow) -> Result<JobState> {
    Ok(match row.state {
        JobState::Done => JobState::Done,
        JobState::Interrupted => JobState::Interrupted,
        JobState::Running => {
            let now = Utc::now();
            if now - row.heartbeat_at > chrono::Duration::seconds(STALE_AFTER_S) {
                store::interrupt_if_stale(&state.db, row.id, row.heartbeat_at, now).await?;
                tracing::warn!(
                    job = row.id,
                    "notify job lost its instance; marked interrupted"
                );
                JobState::Interrupted
            } else {
                JobState::Running
            }
        }
    })
}

/// The job `id` if the caller sees its organization; 404 otherwise.
async fn visible(state: &AppState, caller: &Caller, id: i64) -> Result<JobRow> {
    caller.require(Permission::OrganizationsRead)?;
    match store::job(&state.db, id).await? {
        Some(row) if caller.scope().contains(&row.organization_path) => Ok(row),
        _ => Err(Error::not_found("notify job")),
    }
}

pub async fn progress(state: &AppState, caller: &Caller, id: i64) -> Result<JobView> {
    let row = visible(state, caller, id).await?;
    let job_state = current_state(state, &row).await?;
    Ok(view(row, job_state))
}

/// A page of the job's per-device results; `outcome` filters (`pending` for unfinished ones).
pub async fn results(
    state: &AppState,
    caller: &Caller,
    id: i64,
    outcome: Option<&str>,
    page: Page,
) -> Result<(Vec<JobResultView>, i64)> {
    visible(state, caller, id).await?;
    let (rows, total) = store::results(&state.db, id, outcome, page).await?;
    Ok((rows.into_iter().map(JobResultView::from).collect(), total))
}
