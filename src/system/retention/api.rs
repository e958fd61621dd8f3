//! `/v1/retention` routes: the overrides of the caller's subtree, an organization's effective
//! retention and its overrides, and starting a purge.

use super::model::{RetentionOverride, RetentionView};
use super::{Kind, NewOverride};
use crate::auth::Caller;
use crate::error::Result;
use crate::http::envelope::{Envelope, ListEnvelope};
use crate::http::json::JsonBody;
use crate::http::pagination::{PageParams, Params};
use crate::http::path;
use crate::state::AppState;
use crate::system::jobs::view::QueuedJob;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_overrides))
        .routes(routes!(start_purge))
        .routes(routes!(get_retention, set_retention))
}

/// The retention overrides set in the caller's subtree.
#[utoipa::path(get, path = "/v1/retention", tag = "retention",
    params(PageParams,
        ("organization_id" = Option<i64>, Query, description = "Only this organization's"),
        ("kind" = inline(Option<Kind>), Query, description = "Only this kind's")),
    responses((status = 200, body = Vec<RetentionOverride>),
              (status = 403, description = "Needs `retention:read`")),
    security(("bearer" = [])))]
async fn list_overrides(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<ListEnvelope<RetentionOverride>> {
    let page = params.page()?;
    let organization_id = params.i64("organization_id")?;
    let kind = params
        .one_of("kind", &Kind::NAMES)?
        .and_then(|k| Kind::parse(&k));
    let (rows, total) = super::list(&state.db, &caller, organization_id, kind, page).await?;
    Ok(ListEnvelope::new(rows, total, page))
}

/// An organization's retention of every kind, where each value comes from, and its overrides.
#[utoipa::path(get, path = "/v1/retention/{id}", tag = "retention",
    params(("id" = i64, Path, description = "The organization")),
    responses((status = 200, body = RetentionView), (status = 404),
              (status = 403, description = "Needs `retention:read`")),
    security(("bearer" = [])))]
async fn get_retention(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<RetentionView>> {
    let id = path::id(&id, "organization")?;
    Ok(Envelope::ok(
        super::view(&state.db, &state.config, &caller, id).await?,
    ))
}

/// One kind's override; with neither value the override is removed (the kind is inherited).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OverrideBody {
    /// Days the organization's subtree keeps the kind (null: inherited).
    #[schema(minimum = 1, maximum = 36500)]
    days: Option<u32>,
    /// A legal minimum the subtree may not go below (null: none here). Only a parent
    /// organization may lower or remove the one set on the caller's own organization.
    #[schema(minimum = 1, maximum = 36500)]
    minimum_days: Option<u32>,
}

/// The kinds to change; a kind left out (or null) keeps its override.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SetRetention {
    events: Option<OverrideBody>,
    audit: Option<OverrideBody>,
    jobs: Option<OverrideBody>,
    deliveries: Option<OverrideBody>,
    cdrs: Option<OverrideBody>,
    sms: Option<OverrideBody>,
    voicemail: Option<OverrideBody>,
    files: Option<OverrideBody>,
    queue_stats: Option<OverrideBody>,
}

impl SetRetention {
    fn changes(self) -> Vec<NewOverride> {
        [
            (Kind::Events, self.events),
            (Kind::Audit, self.audit),
            (Kind::Jobs, self.jobs),
            (Kind::Deliveries, self.deliveries),
            (Kind::Cdrs, self.cdrs),
            (Kind::Sms, self.sms),
            (Kind::Voicemail, self.voicemail),
            (Kind::Files, self.files),
            (Kind::QueueStats, self.queue_stats),
        ]
        .into_iter()
        .filter_map(|(kind, body)| {
            body.map(|b| NewOverride {
                kind,
                days: b.days,
                minimum_days: b.minimum_days,
            })
        })
        .collect()
    }
}

/// Set an organization's overrides, all or none. A value below a parent's legal minimum (or
/// `days` below the same body's `minimum_days`) is refused with a 409 naming the kind and the
/// minimum.
#[utoipa::path(put, path = "/v1/retention/{id}", tag = "retention",
    params(("id" = i64, Path, description = "The organization")),
    request_body = SetRetention,
    responses((status = 200, body = RetentionView),
              (status = 400, description = "A value is out of range"),
              (status = 403, description = "Needs `retention:write`"),
              (status = 404),
              (status = 409, description = "A value is below a legal minimum, or lowers a minimum a parent set on the caller's own organization")),
    security(("bearer" = [])))]
async fn set_retention(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<SetRetention>,
) -> Result<Envelope<RetentionView>> {
    let id = path::id(&id, "organization")?;
    let changes = body.changes();
    Ok(Envelope::ok(
        super::set(&state.db, &state.config, &caller, id, &changes).await?,
    ))
}

/// Purge the caller's subtree now: a `retention.purge` job (at `/v1/jobs/{id}`) whose result
/// lists what it removed per kind and organization. With `dry_run=true` it counts what it
/// would remove and removes nothing. One purge runs at a time across all instances.
#[utoipa::path(post, path = "/v1/retention/purge", tag = "retention",
    params(("dry_run" = Option<bool>, Query, description = "Count, do not remove (default false)")),
    responses((status = 202, body = QueuedJob),
              (status = 400, description = "`dry_run` is not true or false"),
              (status = 403, description = "Needs `retention:write`")),
    security(("bearer" = [])))]
async fn start_purge(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Envelope<QueuedJob>> {
    let dry_run = params.one_of("dry_run", &["true", "false"])?.as_deref() == Some("true");
    Ok(Envelope::accepted(
        super::purge::start(&state, &caller, dry_run).await?,
    ))
}
