//! `/v1/orgips` routes (`/v1/orgips/index` lists, as in the platform API).

use super::OrgIp;
use crate::auth::Caller;
use crate::error::Result;
use crate::http::envelope::{Envelope, ListEnvelope, done};
use crate::http::json::JsonBody;
use crate::http::pagination::{PageParams, Params};
use crate::http::path;
use crate::orgs::ips::{self, OrgIpDescription};
use crate::state::AppState;
use crate::types::Cidr;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orgips))
        .routes(routes!(create_orgip))
        .routes(routes!(get_orgip, update_orgip, delete_orgip))
}

/// Org IPs of the caller's subtree.
#[utoipa::path(get, path = "/v1/orgips/index", tag = "organizations",
    params(PageParams, ("organization_id" = Option<i64>, Query, description = "Only this organization")),
    responses((status = 200, body = Vec<OrgIp>)), security(("bearer" = [])))]
async fn list_orgips(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<ListEnvelope<OrgIp>> {
    let page = params.page()?;
    let (rows, total) = ips::list(&state.db, &caller, params.i64("organization_id")?, page).await?;
    Ok(ListEnvelope::new(rows, total, page))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrgIp {
    organization_id: i64,
    /// An address or network; host bits must be zero.
    #[schema(value_type = Cidr)]
    cidr: String,
    #[serde(default)]
    #[schema(value_type = OrgIpDescription)]
    description: String,
}

#[utoipa::path(post, path = "/v1/orgips", tag = "organizations", request_body = NewOrgIp,
    responses((status = 201, body = OrgIp), (status = 400), (status = 409, description = "Duplicate CIDR")),
    security(("bearer" = [])))]
async fn create_orgip(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<NewOrgIp>,
) -> Result<Envelope<OrgIp>> {
    let row = ips::create(
        &state.db,
        &state.changes,
        &caller,
        body.organization_id,
        &body.cidr,
        &body.description,
    )
    .await?;
    Ok(Envelope::created(row))
}

#[utoipa::path(get, path = "/v1/orgips/{id}", tag = "organizations", params(("id" = i64, Path)),
    responses((status = 200, body = OrgIp), (status = 404)), security(("bearer" = [])))]
async fn get_orgip(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<OrgIp>> {
    let id = path::id(&id, "org IP")?;
    Ok(Envelope::ok(ips::visible(&state.db, &caller, id).await?.0))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrgIp {
    #[schema(value_type = Option<Cidr>)]
    cidr: Option<String>,
    #[schema(value_type = Option<OrgIpDescription>)]
    description: Option<String>,
}

#[utoipa::path(put, path = "/v1/orgips/{id}", tag = "organizations", params(("id" = i64, Path)),
    request_body = UpdateOrgIp, responses((status = 200, body = OrgIp), (status = 404),
        (status = 409, description = "The caller's own address would fall outside its restricted organization's IPs")),
    security(("bearer" = [])))]
async fn update_orgip(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateOrgIp>,
) -> Result<Envelope<OrgIp>> {
    let id = path::id(&id, "org IP")?;
    let row = ips::update(
        &state.db,
        &state.changes,
        &caller,
        id,
        body.cidr.as_deref(),
        body.description.as_deref(),
    )
    .await?;
    Ok(Envelope::ok(row))
}

#[utoipa::path(delete, path = "/v1/orgips/{id}", tag = "organizations", params(("id" = i64, Path)),
    responses((status = 200), (status = 404),
        (status = 409, description = "The caller's own address would fall outside its restricted organization's IPs")),
    security(("bearer" = [])))]
async fn delete_orgip(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Option<()>>> {
    let id = path::id(&id, "org IP")?;
    ips::delete(&state.db, &state.changes, &caller, id).await?;
    Ok(done())
}
