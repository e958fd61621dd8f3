//! The trunk routes: list, create (with gateways), read, change, delete.

use super::gateways::{GATEWAY_READ_ONLY, GatewayBody};
use super::{schemas, trunk_id};
use crate::auth::Caller;
use crate::error::Result;
use crate::gateways::model::{DIRECTIONS, Direction, TrunkName};
use crate::gateways::service::{self, trunks::NewTrunk, trunks::TrunkUpdate};
use crate::gateways::store::trunks::TrunkFilter;
use crate::gateways::views::TrunkView;
use crate::http::envelope::{Envelope, ListEnvelope, done};
use crate::http::json::{JsonEdit, ReadOnlyFields};
use crate::http::pagination::{PageParams, Params};
use crate::state::AppState;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::ToSchema;

/// SIP trunks of the caller's subtree, each with its gateways and their health.
#[utoipa::path(get, path = "/v1/siptrunks", tag = "telephony",
    params(PageParams,
        ("organization_id" = Option<i64>, Query, description = "Only this organization's trunks"),
        ("direction" = Option<Direction>, Query, description = "inbound, outbound or both"),
        ("name" = Option<String>, Query, description = "Case-insensitive substring of the name")),
    responses((status = 200, body = Vec<TrunkView>), (status = 400)), security(("bearer" = [])))]
pub(super) async fn list_siptrunks(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<ListEnvelope<TrunkView>> {
    let page = params.page()?;
    let filter = TrunkFilter {
        organization_id: params.i64("organization_id")?,
        direction: params.one_of("direction", &DIRECTIONS)?,
        name: params.str("name").map(str::to_string),
    };
    let (rows, total) = service::trunks::list(&state.db, &caller, &filter, page).await?;
    let views = rows
        .into_iter()
        .map(|t| TrunkView::new(t, &state.gateway_health, false))
        .collect();
    Ok(ListEnvelope::new(views, total, page))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTrunk {
    /// Defaults to the caller's organization.
    organization_id: Option<i64>,
    /// Unique within the organization (1-100 characters, trimmed).
    #[schema(value_type = TrunkName)]
    name: String,
    direction: Direction,
    /// Concurrent calls allowed (1-100000).
    #[schema(minimum = 1, maximum = 100000)]
    max_channels: i64,
    /// Reply codes that prove a gateway alive; default `2xx,4xx,!408`.
    #[schema(schema_with = schemas::alive_codes_or_null)]
    alive_codes: Option<String>,
    /// Consecutive failed pings that take a gateway down (1-100, default 3).
    #[schema(minimum = 1, maximum = 100)]
    failures_to_down: Option<i64>,
    /// Consecutive good pings that bring a down gateway back up (1-100, default 2).
    #[schema(minimum = 1, maximum = 100)]
    successes_to_up: Option<i64>,
    /// In order of preference (at most 100).
    #[serde(default)]
    #[schema(max_items = 100)]
    gateways: Vec<GatewayBody>,
}

impl ReadOnlyFields for CreateTrunk {
    const READ_ONLY: &'static [&'static str] = &[];
    const NESTED: &'static [(&'static str, &'static [&'static str])] =
        &[("gateways", &GATEWAY_READ_ONLY)];
}

/// Create a trunk with its gateways.
#[utoipa::path(post, path = "/v1/siptrunks", tag = "telephony", request_body = CreateTrunk,
    responses((status = 201, body = TrunkView), (status = 400, description = "Invalid field"),
              (status = 409, description = "Name taken in this organization, or two gateways with the same URI")),
    security(("bearer" = [])))]
pub(super) async fn create_siptrunk(
    State(state): State<AppState>,
    caller: Caller,
    JsonEdit(body): JsonEdit<CreateTrunk>,
) -> Result<Envelope<TrunkView>> {
    let trunk = service::trunks::create(
        &state.db,
        &state.changes,
        &caller,
        NewTrunk {
            organization_id: body.organization_id,
            name: body.name,
            direction: body.direction,
            max_channels: body.max_channels,
            alive_codes: body.alive_codes,
            failures_to_down: body.failures_to_down,
            successes_to_up: body.successes_to_up,
            gateways: body.gateways.into_iter().map(Into::into).collect(),
        },
    )
    .await?;
    Ok(Envelope::created(TrunkView::new(
        trunk,
        &state.gateway_health,
        false,
    )))
}

/// A trunk, its gateways and their health with recent probe history.
#[utoipa::path(get, path = "/v1/siptrunks/{id}", tag = "telephony", params(("id" = i64, Path)),
    responses((status = 200, body = TrunkView), (status = 404)), security(("bearer" = [])))]
pub(super) async fn get_siptrunk(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<TrunkView>> {
    let id = trunk_id(&id)?;
    let trunk = service::tenancy::visible_trunk(&state.db, &caller, id).await?;
    Ok(Envelope::ok(TrunkView::new(
        trunk,
        &state.gateway_health,
        true,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTrunk {
    /// Accepted only when unchanged.
    organization_id: Option<i64>,
    #[schema(value_type = Option<TrunkName>)]
    name: Option<String>,
    direction: Option<Direction>,
    #[schema(minimum = 1, maximum = 100000)]
    max_channels: Option<i64>,
    #[schema(schema_with = schemas::alive_codes_or_null)]
    alive_codes: Option<String>,
    #[schema(minimum = 1, maximum = 100)]
    failures_to_down: Option<i64>,
    #[schema(minimum = 1, maximum = 100)]
    successes_to_up: Option<i64>,
    /// The whole new list, in order (at most 100). A gateway whose URI is already on the trunk keeps its id
    /// and health; unlisted gateways are removed.
    #[schema(max_items = 100)]
    gateways: Option<Vec<GatewayBody>>,
}

impl ReadOnlyFields for UpdateTrunk {
    const READ_ONLY: &'static [&'static str] = &["id", "health", "created_at", "updated_at"];
    const NESTED: &'static [(&'static str, &'static [&'static str])] =
        &[("gateways", &GATEWAY_READ_ONLY)];
}

/// Change a trunk (only the fields given; `gateways`, if given, replaces the list).
#[utoipa::path(put, path = "/v1/siptrunks/{id}", tag = "telephony", params(("id" = i64, Path)),
    request_body = UpdateTrunk,
    responses((status = 200, body = TrunkView), (status = 400), (status = 404),
              (status = 409, description = "Name taken in this organization, or two gateways with the same URI")),
    security(("bearer" = [])))]
pub(super) async fn update_siptrunk(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonEdit(body): JsonEdit<UpdateTrunk>,
) -> Result<Envelope<TrunkView>> {
    let id = trunk_id(&id)?;
    let trunk = service::trunks::update(
        &state.db,
        &state.changes,
        &caller,
        id,
        TrunkUpdate {
            organization_id: body.organization_id,
            name: body.name,
            direction: body.direction,
            max_channels: body.max_channels,
            alive_codes: body.alive_codes,
            failures_to_down: body.failures_to_down,
            successes_to_up: body.successes_to_up,
            gateways: body
                .gateways
                .map(|list| list.into_iter().map(Into::into).collect()),
        },
    )
    .await?;
    Ok(Envelope::ok(TrunkView::new(
        trunk,
        &state.gateway_health,
        false,
    )))
}

/// Delete a trunk with its gateways and IPs.
#[utoipa::path(delete, path = "/v1/siptrunks/{id}", tag = "telephony", params(("id" = i64, Path)),
    responses((status = 200), (status = 404),
              (status = 409, description = "Still routed to by dial plan policies or assigned to numbers")),
    security(("bearer" = [])))]
pub(super) async fn delete_siptrunk(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Option<()>>> {
    let id = trunk_id(&id)?;
    service::trunks::delete(&state.db, &state.changes, &caller, id).await?;
    Ok(done())
}
