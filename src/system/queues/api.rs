//! `/v1/queues` routes: PBX reports in, latest figures and time series out.

use super::model::{Queue, QueueFigures, QueueName, QueueSample};
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::http::envelope::{Envelope, ListEnvelope, done};
use crate::http::json::JsonBody;
use crate::http::pagination::{PageParams, Params};
use crate::state::AppState;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_queues))
        .routes(routes!(get_queue, delete_queue))
        .routes(routes!(report_stats, list_stats))
}

/// Queues of the caller's subtree with their latest figures.
#[utoipa::path(get, path = "/v1/queues", tag = "queues",
    params(PageParams, ("organization_id" = Option<i64>, Query, description = "Only this organization")),
    responses((status = 200, body = Vec<Queue>)), security(("bearer" = [])))]
async fn list_queues(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<ListEnvelope<Queue>> {
    let page = params.page()?;
    let organization_id = params.i64("organization_id")?;
    let (rows, total) = super::list(&state.db, &caller, organization_id, page).await?;
    Ok(ListEnvelope::new(rows, total, page))
}

/// A queue's latest figures.
#[utoipa::path(get, path = "/v1/queues/{name}", tag = "queues",
    params(("name" = String, Path, description = "The queue's name on its PBX"),
        ("organization_id" = Option<i64>, Query, description = "Whose queue (default the caller's organization)")),
    responses((status = 200, body = Queue), (status = 404, description = "No such queue in that organization")),
    security(("bearer" = [])))]
async fn get_queue(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    params: Params,
) -> Result<Envelope<Queue>> {
    let organization_id = params.i64("organization_id")?;
    Ok(Envelope::ok(
        super::get(&state.db, &caller, &name, organization_id).await?,
    ))
}

/// Delete a queue and its time series (a queue removed from the PBX; it comes back with its
/// next report).
#[utoipa::path(delete, path = "/v1/queues/{name}", tag = "queues",
    params(("name" = String, Path, description = "The queue's name on its PBX"),
        ("organization_id" = Option<i64>, Query, description = "Whose queue (default the caller's organization)")),
    responses((status = 200, description = "Deleted"), (status = 404, description = "No such queue in that organization")),
    security(("bearer" = [])))]
async fn delete_queue(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    params: Params,
) -> Result<Envelope<Option<()>>> {
    let organization_id = params.i64("organization_id")?;
    super::delete(&state.db, &caller, &name, organization_id).await?;
    Ok(done())
}

/// A report of a queue's state. Figures are 0 to 10,000,000.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ReportBody {
    /// Whose queue (default the caller's organization).
    organization_id: Option<i64>,
    /// Calls waiting now.
    #[schema(minimum = 0, maximum = 10_000_000)]
    waiting: i64,
    /// Seconds the longest-waiting call has waited.
    #[schema(minimum = 0, maximum = 10_000_000)]
    longest_wait_s: i64,
    /// Agents logged in to the queue.
    #[schema(minimum = 0, maximum = 10_000_000)]
    agents_logged_in: i64,
    /// Agents logged in and free to take a call.
    #[schema(minimum = 0, maximum = 10_000_000)]
    agents_available: i64,
    /// Calls answered (the PBX's counter).
    #[schema(minimum = 0, maximum = 10_000_000)]
    answered: i64,
    /// Calls abandoned before an answer (the PBX's counter).
    #[schema(minimum = 0, maximum = 10_000_000)]
    abandoned: i64,
}

/// Report a queue's state (a PBX, typically every few seconds with an API key holding
/// `queues:write`). The first report of a name creates the queue. Answers the queue with these
/// figures as its latest.
#[utoipa::path(post, path = "/v1/queues/{name}/stats", tag = "queues",
    params(("name" = QueueName, Path, description = "The queue's name on its PBX")),
    request_body = ReportBody,
    responses((status = 201, body = Queue)), security(("bearer" = [])))]
async fn report_stats(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<ReportBody>,
) -> Result<Envelope<Queue>> {
    let name = QueueName::parse(&name).map_err(|e| Error::field("name", e))?;
    let figures = QueueFigures {
        waiting: body.waiting,
        longest_wait_s: body.longest_wait_s,
        agents_logged_in: body.agents_logged_in,
        agents_available: body.agents_available,
        answered: body.answered,
        abandoned: body.abandoned,
    };
    let queue = super::report(&state.db, &caller, &name, body.organization_id, figures).await?;
    Ok(Envelope::created(queue))
}

/// A queue's time series, newest first (kept per the `queue_stats` retention kind, 30 days by default).
#[utoipa::path(get, path = "/v1/queues/{name}/stats", tag = "queues",
    params(("name" = String, Path, description = "The queue's name on its PBX"),
        PageParams,
        ("organization_id" = Option<i64>, Query, description = "Whose queue (default the caller's organization)"),
        ("since" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "RFC 3339 time: only reports from then on")),
    responses((status = 200, body = Vec<QueueSample>), (status = 404, description = "No such queue in that organization")),
    security(("bearer" = [])))]
async fn list_stats(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    params: Params,
) -> Result<ListEnvelope<QueueSample>> {
    let page = params.page()?;
    let organization_id = params.i64("organization_id")?;
    // Blank is no time (the document says date-time), unlike a blank text filter.
    if params.raw("since").is_some_and(|v| v.trim().is_empty()) {
        return Err(Error::field("since", "must be an RFC 3339 time, not blank"));
    }
    let since = crate::system::events::api::time(&params, "since")?;
    let (rows, total) =
        super::samples(&state.db, &caller, &name, organization_id, since, page).await?;
    Ok(ListEnvelope::new(rows, total, page))
}
