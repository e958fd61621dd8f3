//! `/v1/siptrunks` routes: trunks, their gateways and allowed source IPs (the platform API's
//! "Telephony" section). The service publishes every change for the pinger, the dial plan
//! and the redirect listener.

use super::model::{DIRECTIONS, Direction, GatewayView, TrunkIp, TrunkView};
use super::service::{self, GatewayInput, GatewayUpdate, NewTrunk, TrunkUpdate};
use super::store::TrunkFilter;
use crate::auth::Caller;
use crate::error::Result;
use crate::http::envelope::{Envelope, ListEnvelope, done};
use crate::http::json::{JsonBody, JsonEdit, ReadOnlyFields};
use crate::http::pagination::{PageParams, Params};
use crate::http::path;
use crate::state::AppState;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_siptrunks, create_siptrunk))
        .routes(routes!(get_siptrunk, update_siptrunk, delete_siptrunk))
        .routes(routes!(add_gateway))
        .routes(routes!(get_gateway, update_gateway, delete_gateway))
        .routes(routes!(list_trunk_ips, add_trunk_ip))
        .routes(routes!(delete_trunk_ip))
}

fn trunk_id(text: &str) -> Result<i64> {
    path::id(text, "SIP trunk")
}

fn gateway_id(text: &str) -> Result<i64> {
    path::id(text, "gateway")
}

/// SIP trunks of the caller's subtree, each with its gateways and their health.
#[utoipa::path(get, path = "/v1/siptrunks", tag = "telephony",
    params(PageParams,
        ("organization_id" = Option<i64>, Query, description = "Only this organization's trunks"),
        ("direction" = Option<String>, Query, description = "inbound, outbound or both"),
        ("name" = Option<String>, Query, description = "Case-insensitive substring of the name")),
    responses((status = 200, body = Vec<TrunkView>), (status = 400)), security(("bearer" = [])))]
async fn list_siptrunks(
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
    let (rows, total) = service::list(&state.db, &caller, &filter, page).await?;
    let views = rows
        .into_iter()
        .map(|t| TrunkView::new(t, &state.gateway_health, false))
        .collect();
    Ok(ListEnvelope::new(views, total, page))
}

/// What a gateway shows but its body does not set.
const GATEWAY_READ_ONLY: [&str; 6] = [
    "id",
    "trunk_id",
    "position",
    "health",
    "created_at",
    "updated_at",
];

/// A gateway in a trunk's body. Read-only fields of a GET response are accepted and ignored.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GatewayBody {
    /// `sip:host[:port][;transport=udp|tcp]`; stored normalised. Unique within the trunk.
    uri: String,
    /// Default true (on a PUT, an existing gateway keeps its value).
    enabled: Option<bool>,
    /// Seconds between pings while up (1-3600); null: the pinger's default.
    #[serde(default, deserialize_with = "crate::http::json::present")]
    #[schema(value_type = Option<i64>)]
    ping_interval_s: Option<Option<i64>>,
    /// Seconds between pings while down (1-3600); null: the pinger's default.
    #[serde(default, deserialize_with = "crate::http::json::present")]
    #[schema(value_type = Option<i64>)]
    down_ping_interval_s: Option<Option<i64>>,
}

impl ReadOnlyFields for GatewayBody {
    const READ_ONLY: &'static [&'static str] = &GATEWAY_READ_ONLY;
}

impl From<GatewayBody> for GatewayInput {
    fn from(body: GatewayBody) -> Self {
        GatewayInput {
            uri: body.uri,
            enabled: body.enabled,
            ping_interval_s: body.ping_interval_s,
            down_ping_interval_s: body.down_ping_interval_s,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTrunk {
    /// Defaults to the caller's organization.
    organization_id: Option<i64>,
    /// Unique within the organization.
    name: String,
    direction: Direction,
    /// Concurrent calls allowed (1-100000).
    max_channels: i64,
    /// Reply codes that prove a gateway alive; default `2xx,4xx,!408`.
    alive_codes: Option<String>,
    /// Consecutive failed pings that take a gateway down (1-100, default 3).
    failures_to_down: Option<i64>,
    /// Consecutive good pings that bring a down gateway back up (1-100, default 2).
    successes_to_up: Option<i64>,
    /// In order of preference.
    #[serde(default)]
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
              (status = 409, description = "Name taken in this organization")),
    security(("bearer" = [])))]
async fn create_siptrunk(
    State(state): State<AppState>,
    caller: Caller,
    JsonEdit(body): JsonEdit<CreateTrunk>,
) -> Result<Envelope<TrunkView>> {
    let trunk = service::create(
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
async fn get_siptrunk(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<TrunkView>> {
    let id = trunk_id(&id)?;
    let trunk = service::visible_trunk(&state.db, &caller, id).await?;
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
    name: Option<String>,
    direction: Option<Direction>,
    max_channels: Option<i64>,
    alive_codes: Option<String>,
    failures_to_down: Option<i64>,
    successes_to_up: Option<i64>,
    /// The whole new list, in order. A gateway whose URI is already on the trunk keeps its id
    /// and health; unlisted gateways are removed.
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
    responses((status = 200, body = TrunkView), (status = 400), (status = 404), (status = 409)),
    security(("bearer" = [])))]
async fn update_siptrunk(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonEdit(body): JsonEdit<UpdateTrunk>,
) -> Result<Envelope<TrunkView>> {
    let id = trunk_id(&id)?;
    let trunk = service::update(
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
async fn delete_siptrunk(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Option<()>>> {
    let id = trunk_id(&id)?;
    service::delete(&state.db, &state.changes, &caller, id).await?;
    Ok(done())
}

/// Add a gateway at the end of a trunk's list.
#[utoipa::path(post, path = "/v1/siptrunks/{id}/gateways", tag = "telephony",
    params(("id" = i64, Path)), request_body = GatewayBody,
    responses((status = 201, body = GatewayView), (status = 400), (status = 404),
              (status = 409, description = "URI already on the trunk")),
    security(("bearer" = [])))]
async fn add_gateway(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonEdit(body): JsonEdit<GatewayBody>,
) -> Result<Envelope<GatewayView>> {
    let id = trunk_id(&id)?;
    let gateway = service::add_gateway(&state.db, &state.changes, &caller, id, body.into()).await?;
    Ok(Envelope::created(GatewayView::new(
        gateway,
        &state.gateway_health,
        false,
    )))
}

/// A gateway and its health with recent probe history.
#[utoipa::path(get, path = "/v1/siptrunks/{id}/gateways/{gateway_id}", tag = "telephony",
    params(("id" = i64, Path), ("gateway_id" = i64, Path)),
    responses((status = 200, body = GatewayView), (status = 404)), security(("bearer" = [])))]
async fn get_gateway(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, gw)): Path<(String, String)>,
) -> Result<Envelope<GatewayView>> {
    let id = trunk_id(&id)?;
    let gw = gateway_id(&gw)?;
    let (gateway, _) = service::trunk_gateway(&state.db, &caller, id, gw).await?;
    Ok(Envelope::ok(GatewayView::new(
        gateway,
        &state.gateway_health,
        true,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateGateway {
    uri: Option<String>,
    enabled: Option<bool>,
    /// 1-3600; null: the pinger's default.
    #[serde(default, deserialize_with = "crate::http::json::present")]
    #[schema(value_type = Option<i64>)]
    ping_interval_s: Option<Option<i64>>,
    /// 1-3600; null: the pinger's default.
    #[serde(default, deserialize_with = "crate::http::json::present")]
    #[schema(value_type = Option<i64>)]
    down_ping_interval_s: Option<Option<i64>>,
}

impl ReadOnlyFields for UpdateGateway {
    const READ_ONLY: &'static [&'static str] = &GATEWAY_READ_ONLY;
}

/// Change a gateway (only the fields given).
#[utoipa::path(put, path = "/v1/siptrunks/{id}/gateways/{gateway_id}", tag = "telephony",
    params(("id" = i64, Path), ("gateway_id" = i64, Path)), request_body = UpdateGateway,
    responses((status = 200, body = GatewayView), (status = 400), (status = 404), (status = 409)),
    security(("bearer" = [])))]
async fn update_gateway(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, gw)): Path<(String, String)>,
    JsonEdit(body): JsonEdit<UpdateGateway>,
) -> Result<Envelope<GatewayView>> {
    let id = trunk_id(&id)?;
    let gw = gateway_id(&gw)?;
    let (before, after) = service::update_gateway(
        &state.db,
        &state.changes,
        &caller,
        id,
        gw,
        GatewayUpdate {
            uri: body.uri,
            enabled: body.enabled,
            ping_interval_s: body.ping_interval_s,
            down_ping_interval_s: body.down_ping_interval_s,
        },
    )
    .await?;
    if before.uri != after.uri {
        // The health kept under this id was about another address.
        state.gateway_health.retain(|id| id != gw);
    }
    Ok(Envelope::ok(GatewayView::new(
        after,
        &state.gateway_health,
        false,
    )))
}

/// Remove a gateway from its trunk.
#[utoipa::path(delete, path = "/v1/siptrunks/{id}/gateways/{gateway_id}", tag = "telephony",
    params(("id" = i64, Path), ("gateway_id" = i64, Path)),
    responses((status = 200), (status = 404)), security(("bearer" = [])))]
async fn delete_gateway(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, gw)): Path<(String, String)>,
) -> Result<Envelope<Option<()>>> {
    let id = trunk_id(&id)?;
    let gw = gateway_id(&gw)?;
    service::delete_gateway(&state.db, &state.changes, &caller, id, gw).await?;
    Ok(done())
}

/// Addresses and networks the trunk's traffic may come from.
#[utoipa::path(get, path = "/v1/siptrunks/{id}/ips", tag = "telephony",
    params(("id" = i64, Path)), responses((status = 200, body = Vec<TrunkIp>), (status = 404)),
    security(("bearer" = [])))]
async fn list_trunk_ips(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<ListEnvelope<TrunkIp>> {
    let id = trunk_id(&id)?;
    Ok(ListEnvelope::all(
        service::list_ips(&state.db, &caller, id).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTrunkIp {
    /// An address or network; host bits must be zero.
    cidr: String,
    #[serde(default)]
    description: String,
}

#[utoipa::path(post, path = "/v1/siptrunks/{id}/ips", tag = "telephony",
    params(("id" = i64, Path)), request_body = NewTrunkIp,
    responses((status = 201, body = TrunkIp), (status = 400), (status = 404),
              (status = 409, description = "CIDR already on the trunk")),
    security(("bearer" = [])))]
async fn add_trunk_ip(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<NewTrunkIp>,
) -> Result<Envelope<TrunkIp>> {
    let id = trunk_id(&id)?;
    let ip = service::add_ip(
        &state.db,
        &state.changes,
        &caller,
        id,
        &body.cidr,
        &body.description,
    )
    .await?;
    Ok(Envelope::created(ip))
}

#[utoipa::path(delete, path = "/v1/siptrunks/{id}/ips/{ip_id}", tag = "telephony",
    params(("id" = i64, Path), ("ip_id" = i64, Path)),
    responses((status = 200), (status = 404)), security(("bearer" = [])))]
async fn delete_trunk_ip(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, ip_id)): Path<(String, String)>,
) -> Result<Envelope<Option<()>>> {
    let id = trunk_id(&id)?;
    let ip_id = path::id(&ip_id, "trunk IP")?;
    service::delete_ip(&state.db, &state.changes, &caller, id, ip_id).await?;
    Ok(done())
}
