//! The list of bulk NOTIFY jobs: the caller's subtree's jobs, newest first, each with its
//! progress (per-device results stay on the job's own routes).

use super::bulk::{JobView, current_state, view};
use super::store::{self as store, JobFilter};
use crate::auth::{Caller, Permission};
use crate::db::Page;
use crate::error::Result;
use crate::state::AppState;

/// A page of the jobs the caller sees and how many match. Running jobs whose instance died
/// are first stored as interrupted, so the `state` filter, the page and `total` agree.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    filter: &JobFilter,
    page: Page,
) -> Result<(Vec<JobView>, i64)> {
    caller.require(Permission::OrganizationsRead)?;
    let scope = caller.scope().like();
    for row in store::running_jobs(&state.db, &scope).await? {
        current_state(state, &row).await?;
    }
    let (rows, total) = store::jobs(&state.db, &scope, filter, page).await?;
    let mut views = Vec::with_capacity(rows.len());
    for row in rows {
        let job_state = current_state(state, &row).await?;
        views.push(view(row, job_state));
    }
    Ok((views, total))
}
