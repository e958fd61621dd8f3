//! `/v1/legalholds` routes: place, list, read and release legal holds.

use super::NewHold;
use super::model::LegalHold;
use crate::auth::Caller;
use crate::error::Result;
use crate::http::envelope::{Envelope, ListEnvelope};
use crate::http::json::JsonBody;
use crate::http::pagination::{PageParams, Params};
use crate::http::path;
use crate::state::AppState;
use crate::system::retention::Kind;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_holds, place_hold))
        .routes(routes!(get_hold, release_hold))
}

/// The legal holds of the caller's subtree, newest first.
#[utoipa::path(get, path = "/v1/legalholds", tag = "retention",
    params(PageParams,
        ("organization_id" = Option<i64>, Query, description = "Only holds placed on this organization"),
        ("active" = Option<bool>, Query, description = "Only active (true) or released (false) holds")),
    responses((status = 200, body = Vec<LegalHold>),
              (status = 403, description = "Needs `retention:read`")),
    security(("bearer" = [])))]
async fn list_holds(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<ListEnvelope<LegalHold>> {
    let page = params.page()?;
    let organization_id = params.i64("organization_id")?;
    let active = params
        .one_of("active", &["true", "false"])?
        .map(|v| v == "true");
    let (rows, total) = super::list(&state.db, &caller, organization_id, active, page).await?;
    Ok(ListEnvelope::new(rows, total, page))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PlaceHold {
    /// The organization whose subtree is held; defaults to the caller's.
    organization_id: Option<i64>,
    /// The kinds of data held.
    #[schema(min_items = 1, max_items = 8)]
    kinds: Vec<Kind>,
    /// Hold only data created (jobs: finished) from this instant on.
    from: Option<DateTime<Utc>>,
    /// … and before this instant (exclusive); after `from`.
    until: Option<DateTime<Utc>>,
    /// Why (a case, a request): shown in every refusal the hold causes; not blank.
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    reason: String,
}

/// Place a hold: the data it names is neither purged nor deletable until it is released.
#[utoipa::path(post, path = "/v1/legalholds", tag = "retention", request_body = PlaceHold,
    responses((status = 201, body = LegalHold),
              (status = 400, description = "A field is invalid"),
              (status = 403, description = "Needs `retention:write`"),
              (status = 404, description = "`organization_id` names no organization the caller sees"),
              (status = 409, description = "`until` is not after `from`")),
    security(("bearer" = [])))]
async fn place_hold(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<PlaceHold>,
) -> Result<Envelope<LegalHold>> {
    let hold = super::place(
        &state.db,
        &caller,
        NewHold {
            organization_id: body.organization_id,
            kinds: body.kinds,
            from: body.from,
            until: body.until,
            reason: body.reason,
        },
    )
    .await?;
    Ok(Envelope::created(hold))
}

#[utoipa::path(get, path = "/v1/legalholds/{id}", tag = "retention", params(("id" = i64, Path)),
    responses((status = 200, body = LegalHold), (status = 404),
              (status = 403, description = "Needs `retention:read`")),
    security(("bearer" = [])))]
async fn get_hold(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<LegalHold>> {
    let id = path::id(&id, "legal hold")?;
    Ok(Envelope::ok(super::visible(&state.db, &caller, id).await?))
}

/// Release a hold (audited, and filed as a `legalhold.released` event); the next purge may
/// remove what it kept. The hold stays readable, inactive.
#[utoipa::path(delete, path = "/v1/legalholds/{id}", tag = "retention", params(("id" = i64, Path)),
    responses((status = 200, body = LegalHold), (status = 404),
              (status = 403, description = "Needs `retention:write`"),
              (status = 409, description = "The hold was released already")),
    security(("bearer" = [])))]
async fn release_hold(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<LegalHold>> {
    let id = path::id(&id, "legal hold")?;
    Ok(Envelope::ok(super::release(&state.db, &caller, id).await?))
}
