//! The routes of a trunk's allowed source IPs.

use super::trunk_id;
use crate::auth::Caller;
use crate::error::Result;
use crate::gateways::model::{IpDescription, TrunkIp};
use crate::gateways::service;
use crate::http::envelope::{Envelope, ListEnvelope, done};
use crate::http::json::JsonBody;
use crate::http::path;
use crate::state::AppState;
use crate::types::Cidr;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::ToSchema;

/// Addresses and networks the trunk's traffic may come from.
#[utoipa::path(get, path = "/v1/siptrunks/{id}/ips", tag = "telephony",
    params(("id" = i64, Path)), responses((status = 200, body = Vec<TrunkIp>), (status = 404)),
    security(("bearer" = [])))]
pub(super) async fn list_trunk_ips(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<ListEnvelope<TrunkIp>> {
    let id = trunk_id(&id)?;
    Ok(ListEnvelope::all(
        service::ips::list_ips(&state.db, &caller, id).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTrunkIp {
    /// An address or network; host bits must be zero.
    #[schema(value_type = Cidr)]
    cidr: String,
    #[serde(default)]
    #[schema(value_type = IpDescription)]
    description: String,
}

#[utoipa::path(post, path = "/v1/siptrunks/{id}/ips", tag = "telephony",
    params(("id" = i64, Path)), request_body = NewTrunkIp,
    responses((status = 201, body = TrunkIp), (status = 400), (status = 404),
              (status = 409, description = "CIDR already on the trunk")),
    security(("bearer" = [])))]
pub(super) async fn add_trunk_ip(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<NewTrunkIp>,
) -> Result<Envelope<TrunkIp>> {
    let id = trunk_id(&id)?;
    let ip = service::ips::add_ip(
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
pub(super) async fn delete_trunk_ip(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, ip_id)): Path<(String, String)>,
) -> Result<Envelope<Option<()>>> {
    let id = trunk_id(&id)?;
    let ip_id = path::id(&ip_id, "trunk IP")?;
    service::ips::delete_ip(&state.db, &state.changes, &caller, id, ip_id).await?;
    Ok(done())
}
