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

/// The `state` filter's schema: the values [`STATES`] lists.
struct StateFilter;

impl utoipa::PartialSchema for StateFilter {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::types::schema::one_of("A queued job's state", &STATES)
    }
}

impl utoipa::ToSchema for StateFilter {}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_jobs))
        .routes(routes!(get_job))
}

/// The queued jobs of the caller's subtree, newest first.
#[utoipa::path(get, path = "/v1/jobs", tag = "jobs",
    params(PageParams,
        ("kind" = Option<String>, Query, description = "Only jobs of this kind (devices.notify, numbers.import)"),
        ("state" = inline(Option<StateFilter>), Query, description = "queued, running, done, failed or cancelled"),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::pagination::Params;
    use crate::types::schema::check::Allows;
    use utoipa::PartialSchema;

    #[test]
    fn the_state_filter_schema_lists_what_the_filter_takes() {
        let schema = Allows::new(&StateFilter::schema());
        for text in [
            "queued",
            "running",
            "done",
            "failed",
            "cancelled",
            "",
            "Done",
            "x",
        ] {
            let params = Params([("state".to_string(), text.to_string())].into());
            assert_eq!(
                schema.allows(text),
                params.one_of("state", &STATES).is_ok(),
                "{text:?}"
            );
        }
    }
}
