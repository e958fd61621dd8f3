//! The routes of one gateway of a trunk: add, read (with recent probe history), change, remove.

use super::{gateway_id, trunk_id};
use crate::auth::Caller;
use crate::error::Result;
use crate::gateways::service::{self, validate::GatewayInput, validate::GatewayUpdate};
use crate::gateways::views::GatewayView;
use crate::http::envelope::{Envelope, done};
use crate::http::json::{JsonEdit, ReadOnlyFields};
use crate::state::AppState;
use crate::types::SipUri;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::ToSchema;

/// What a gateway shows but its body does not set.
pub(super) const GATEWAY_READ_ONLY: [&str; 6] = [
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
    #[schema(value_type = SipUri)]
    uri: String,
    /// Default true (on a PUT, an existing gateway keeps its value).
    enabled: Option<bool>,
    /// Seconds between pings while up (1-3600); null: the pinger's default.
    #[serde(default, deserialize_with = "crate::http::json::present")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 3600)]
    ping_interval_s: Option<Option<i64>>,
    /// Seconds between pings while down (1-3600); null: the pinger's default.
    #[serde(default, deserialize_with = "crate::http::json::present")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 3600)]
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

/// Add a gateway at the end of a trunk's list.
#[utoipa::path(post, path = "/v1/siptrunks/{id}/gateways", tag = "telephony",
    params(("id" = i64, Path)), request_body = GatewayBody,
    responses((status = 201, body = GatewayView), (status = 400), (status = 404),
              (status = 409, description = "URI already on the trunk")),
    security(("bearer" = [])))]
pub(super) async fn add_gateway(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonEdit(body): JsonEdit<GatewayBody>,
) -> Result<Envelope<GatewayView>> {
    let id = trunk_id(&id)?;
    let gateway =
        service::gateways::add_gateway(&state.db, &state.changes, &caller, id, body.into()).await?;
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
pub(super) async fn get_gateway(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, gw)): Path<(String, String)>,
) -> Result<Envelope<GatewayView>> {
    let id = trunk_id(&id)?;
    let gw = gateway_id(&gw)?;
    let (gateway, _) = service::tenancy::trunk_gateway(&state.db, &caller, id, gw).await?;
    Ok(Envelope::ok(GatewayView::new(
        gateway,
        &state.gateway_health,
        true,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateGateway {
    #[schema(value_type = Option<SipUri>)]
    uri: Option<String>,
    enabled: Option<bool>,
    /// 1-3600; null: the pinger's default.
    #[serde(default, deserialize_with = "crate::http::json::present")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 3600)]
    ping_interval_s: Option<Option<i64>>,
    /// 1-3600; null: the pinger's default.
    #[serde(default, deserialize_with = "crate::http::json::present")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 3600)]
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
pub(super) async fn update_gateway(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, gw)): Path<(String, String)>,
    JsonEdit(body): JsonEdit<UpdateGateway>,
) -> Result<Envelope<GatewayView>> {
    let id = trunk_id(&id)?;
    let gw = gateway_id(&gw)?;
    let (before, after) = service::gateways::update_gateway(
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
pub(super) async fn delete_gateway(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, gw)): Path<(String, String)>,
) -> Result<Envelope<Option<()>>> {
    let id = trunk_id(&id)?;
    let gw = gateway_id(&gw)?;
    service::gateways::delete_gateway(&state.db, &state.changes, &caller, id, gw).await?;
    Ok(done())
}
