//! `/v1/jobs`: the queued jobs of the caller's subtree (bulk NOTIFYs, imports …) with their
//! state, attempts, progress and result.

use super::queue::store::Filter;
use super::view::{self, QueuedJob};
use crate::auth::Caller;
use crate::error::Result;
use crate::http::envelope::{Envelope, ListEnvelope};
use crate::http::pagination::{PageParams, Params};
use crate::http::path;
use crate::state::AppState;
use axum::extract::{Path, State};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The values of the `state` filter.
pub const STATES: [&str; 5] = ["queued", "running", "done", "failed", "cancelled"];

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_jobs))
        .routes(routes!(get_job))
}

/// The queued jobs of the caller's subtree, newest first.
#[utoipa::path(get, path = "/v1/jobs", tag = "jobs",
    params(PageParams,
        ("kind" = Option<String>, Query, description = "Only jobs of this kind (devices.notify, numbers.import)"),
        ("state" = Option<String>, Query, description = "queued, running, done, failed or cancelled"),
        ("organization_id" = Option<i64>, Query, description = "Only the jobs of this organization")),
    responses((status = 200, body = Vec<QueuedJob>), (status = 400)), security(("bearer" = [])))]
async fn list_jobs(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<ListEnvelope<QueuedJob>> {
    let page = params.page()?;
    let filter = Filter {
        kind: params.str("kind").map(str::to_string),
        state: params.one_of("state", &STATES)?,
        organization_id: params.i64("organization_id")?,
    };
    let (jobs, total) = view::list(&state.db, &caller, &filter, page).await?;
    Ok(ListEnvelope::new(jobs, total, page))
}

/// One queued job with its progress; 404 for a job outside the caller's subtree.
#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "jobs",
    params(("id" = i64, Path)),
    responses((status = 200, body = QueuedJob), (status = 404)), security(("bearer" = [])))]
async fn get_job(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<QueuedJob>> {
    let id = path::id(&id, "job")?;
    Ok(Envelope::ok(view::visible(&state.db, &caller, id).await?))
}
