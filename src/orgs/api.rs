//! `/v1/organizations` routes and the client-access settings beside them.

use super::model::{OrgName, TimeZone};
use super::{
    ClientAccess, NewOrganization, OrgFilter, OrgStatus, OrgType, Organization, OrganizationUpdate,
};
use crate::auth::Caller;
use crate::error::Result;
use crate::http::envelope::{Envelope, ListEnvelope, done};
use crate::http::json::{JsonBody, JsonEdit, ReadOnlyFields, STORED};
use crate::http::pagination::{PageParams, Params};
use crate::http::path;
use crate::state::AppState;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_organizations, create_organization))
        .routes(routes!(
            get_organization,
            update_organization,
            delete_organization
        ))
        .routes(routes!(get_client_access, update_client_access))
        .merge(super::domains::api::router())
        .merge(super::ips::api::router())
        .merge(super::users::api::router())
}

/// Organizations in the caller's subtree (its own included).
#[utoipa::path(get, path = "/v1/organizations", tag = "organizations",
    params(PageParams,
        ("type" = Option<OrgType>, Query, description = "platform, distributor, partner or tenant"),
        ("status" = Option<OrgStatus>, Query, description = "active or suspended"),
        ("parent_id" = Option<i64>, Query, description = "Direct children of this organization"),
        ("name" = Option<String>, Query, description = "Case-insensitive substring of the name")),
    responses((status = 200, body = Vec<Organization>)), security(("bearer" = [])))]
async fn list_organizations(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<ListEnvelope<Organization>> {
    let page = params.page()?;
    let filter = OrgFilter {
        org_type: params.one_of("type", &super::model::ORG_TYPES)?,
        status: params.one_of("status", &["active", "suspended"])?,
        parent_id: params.i64("parent_id")?,
        name: params.str("name").map(str::to_string),
    };
    let (rows, total) = super::list(&state.db, &caller, &filter, page).await?;
    Ok(ListEnvelope::new(rows, total, page))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganization {
    #[schema(value_type = OrgName)]
    name: String,
    /// platform › distributor › partner › tenant: a child must rank below its parent.
    #[serde(rename = "type")]
    #[schema(value_type = OrgType)]
    org_type: String,
    /// Defaults to the caller's organization.
    parent_id: Option<i64>,
    status: Option<OrgStatus>,
    /// IANA time zone; defaults to the parent's.
    #[schema(value_type = Option<TimeZone>)]
    timezone: Option<String>,
    /// ISO 3166-1 alpha-2 country (`US`, `GB` …); defaults to the parent's.
    #[schema(schema_with = super::model::country_or_null)]
    country: Option<String>,
}

/// Create a child organization.
#[utoipa::path(post, path = "/v1/organizations", tag = "organizations", request_body = CreateOrganization,
    responses((status = 201, body = Organization), (status = 400, description = "Invalid field"),
              (status = 404, description = "`parent_id` names no organization the caller can see"),
              (status = 409, description = "Name taken under this parent, or the parent's type cannot have a child of this `type` (a child ranks below its parent)")),
    security(("bearer" = [])))]
async fn create_organization(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateOrganization>,
) -> Result<Envelope<Organization>> {
    let org = super::create(
        &state.db,
        &state.changes,
        &caller,
        NewOrganization {
            name: body.name,
            org_type: body.org_type,
            parent_id: body.parent_id,
            status: body.status,
            timezone: body.timezone,
            country: body.country,
        },
    )
    .await?;
    Ok(Envelope::created(org))
}

#[utoipa::path(get, path = "/v1/organizations/{id}", tag = "organizations",
    params(("id" = i64, Path)), responses((status = 200, body = Organization), (status = 404)),
    security(("bearer" = [])))]
async fn get_organization(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Organization>> {
    let id = path::id(&id, "organization")?;
    Ok(Envelope::ok(super::visible(&state.db, &caller, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrganization {
    #[schema(value_type = Option<OrgName>)]
    name: Option<String>,
    status: Option<OrgStatus>,
    #[schema(value_type = Option<TimeZone>)]
    timezone: Option<String>,
    #[schema(schema_with = super::model::country_or_null)]
    country: Option<String>,
    /// Accepted only when unchanged.
    #[serde(rename = "type")]
    #[schema(value_type = Option<OrgType>)]
    org_type: Option<String>,
    /// Accepted only when unchanged.
    #[serde(default, deserialize_with = "crate::http::json::present")]
    #[schema(value_type = Option<i64>)]
    parent_id: Option<Option<i64>>,
}

impl ReadOnlyFields for UpdateOrganization {
    const READ_ONLY: &'static [&'static str] = &STORED;
}

/// Change name, status, time zone or country (only the fields given are applied).
#[utoipa::path(put, path = "/v1/organizations/{id}", tag = "organizations", request_body = UpdateOrganization,
    params(("id" = i64, Path)), responses((status = 200, body = Organization), (status = 404),
        (status = 409, description = "`type` or `parent_id` cannot be changed, or the name is taken")),
    security(("bearer" = [])))]
async fn update_organization(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonEdit(body): JsonEdit<UpdateOrganization>,
) -> Result<Envelope<Organization>> {
    let id = path::id(&id, "organization")?;
    let org = super::update(
        &state.db,
        &state.changes,
        &caller,
        id,
        OrganizationUpdate {
            name: body.name,
            status: body.status,
            timezone: body.timezone,
            country: body.country,
            org_type: body.org_type,
            parent_id: body.parent_id,
        },
    )
    .await?;
    Ok(Envelope::ok(org))
}

/// Delete an organization with no children and no users.
#[utoipa::path(delete, path = "/v1/organizations/{id}", tag = "organizations",
    params(("id" = i64, Path)), responses((status = 200), (status = 404),
        (status = 409, description = "Its own organization, one with children or users, or one whose jobs or webhook deliveries a legal hold keeps")),
    security(("bearer" = [])))]
async fn delete_organization(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Option<()>>> {
    let id = path::id(&id, "organization")?;
    super::delete(&state.db, &state.changes, &caller, id).await?;
    Ok(done())
}

#[utoipa::path(get, path = "/v1/organizations/{id}/clientaccess", tag = "organizations",
    params(("id" = i64, Path)), responses((status = 200, body = ClientAccess), (status = 404)),
    security(("bearer" = [])))]
async fn get_client_access(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<ClientAccess>> {
    let id = path::id(&id, "organization")?;
    Ok(Envelope::ok(
        super::client_access(&state.db, &caller, id).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateClientAccess {
    api_enabled: Option<bool>,
    restrict_to_orgips: Option<bool>,
}

impl ReadOnlyFields for UpdateClientAccess {
    const READ_ONLY: &'static [&'static str] = &["organization_id"];
}

/// Who of this organization may use the API, and from where.
#[utoipa::path(put, path = "/v1/organizations/{id}/clientaccess", tag = "organizations",
    request_body = UpdateClientAccess, params(("id" = i64, Path)),
    responses((status = 200, body = ClientAccess), (status = 404),
        (status = 409, description = "The caller would turn off its own organization's API access, or restrict it to IPs that leave out the caller's address")),
    security(("bearer" = [])))]
async fn update_client_access(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonEdit(body): JsonEdit<UpdateClientAccess>,
) -> Result<Envelope<ClientAccess>> {
    let id = path::id(&id, "organization")?;
    let access = super::set_client_access(
        &state.db,
        &state.changes,
        &caller,
        id,
        body.api_enabled,
        body.restrict_to_orgips,
    )
    .await?;
    Ok(Envelope::ok(access))
}
