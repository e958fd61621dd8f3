//! `/v1/apikeys` routes. The create and update bodies take a `role` or a list of
//! `permissions`, not both: the document says so with one schema per choice (`oneOf`), while
//! the handlers read one flat body and refuse both with a 400 naming `permissions`.

use super::expiry::{self, Expiry};
use super::{ApiKey, ApiKeyName, ApiKeyUpdate, IssuedApiKey, NewApiKey};
use crate::auth::{Caller, Permission, Role};
use crate::error::Result;
use crate::http::envelope::{Envelope, ListEnvelope, done};
use crate::http::json::{JsonBody, JsonEdit, ReadOnlyFields};
use crate::http::pagination::{PageParams, Params};
use crate::http::path;
use crate::state::AppState;
use crate::types::Cidr;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_apikeys, create_apikey))
        .routes(routes!(get_apikey, update_apikey, revoke_apikey))
        .routes(routes!(rotate_apikey))
}

/// API keys of the caller's subtree (never their secrets).
#[utoipa::path(get, path = "/v1/apikeys", tag = "apikeys",
    params(PageParams, ("organization_id" = Option<i64>, Query, description = "Only this organization")),
    responses((status = 200, body = Vec<ApiKey>)), security(("bearer" = [])))]
async fn list_apikeys(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<ListEnvelope<ApiKey>> {
    let page = params.page()?;
    let organization_id = params.i64("organization_id")?;
    let (rows, total) = super::list(&state.db, &caller, organization_id, page).await?;
    Ok(ListEnvelope::new(rows, total, page))
}

/// The body of `POST /v1/apikeys` as the handler reads it (see [`NewKeyBody`] for its schema).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateApiKey {
    organization_id: Option<i64>,
    name: ApiKeyName,
    role: Option<Role>,
    permissions: Option<Vec<Permission>>,
    expires_at: Option<Expiry>,
    source_cidrs: Option<Vec<Cidr>>,
}

/// A new key with a role (`readonly` when none is given).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct NewKeyWithRole {
    /// Defaults to the caller's organization.
    organization_id: Option<i64>,
    name: ApiKeyName,
    /// The key's role: no wider than the caller's (default `readonly`).
    role: Option<Role>,
    #[schema(schema_with = null_only)]
    permissions: Option<()>,
    #[schema(schema_with = expiry::nullable_schema)]
    expires_at: Option<String>,
    /// Networks requests with the key must come from (at most 100); absent or empty: anywhere.
    #[schema(max_items = 100)]
    source_cidrs: Option<Vec<Cidr>>,
}

/// A new key limited to a list of permissions, each one the caller holds.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct NewKeyWithPermissions {
    /// Defaults to the caller's organization.
    organization_id: Option<i64>,
    name: ApiKeyName,
    #[schema(schema_with = null_only)]
    role: Option<()>,
    /// What the key may do (the organization's type still limits it: a tenant has no
    /// children to create).
    #[schema(min_items = 1)]
    permissions: Vec<Permission>,
    #[schema(schema_with = expiry::nullable_schema)]
    expires_at: Option<String>,
    /// Networks requests with the key must come from (at most 100); absent or empty: anywhere.
    #[schema(max_items = 100)]
    source_cidrs: Option<Vec<Cidr>>,
}

/// A new key: with a role, or limited to permissions.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum NewKeyBody {
    Role(NewKeyWithRole),
    Permissions(NewKeyWithPermissions),
}

/// A field that may only be absent or `null` (in the choice that does not use it).
fn null_only() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Null)
        .description(Some("Not with the other choice: absent or `null`"))
        .into()
}

/// Create a key. The answer is the only one that shows its `secret`.
#[utoipa::path(post, path = "/v1/apikeys", tag = "apikeys", request_body = NewKeyBody,
    responses((status = 201, body = IssuedApiKey),
              (status = 403, description = "Managing keys needs `apikeys:write`; the key would be wider than the caller, or outlive the key the caller uses")),
    security(("bearer" = [])))]
async fn create_apikey(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateApiKey>,
) -> Result<Envelope<IssuedApiKey>> {
    let issued = super::create(
        &state.db,
        &caller,
        NewApiKey {
            organization_id: body.organization_id,
            name: body.name,
            role: body.role,
            permissions: body.permissions,
            expires_at: body.expires_at.map(|e| e.0),
            source_cidrs: body.source_cidrs.unwrap_or_default(),
        },
    )
    .await?;
    Ok(Envelope::created(issued))
}

#[utoipa::path(get, path = "/v1/apikeys/{id}", tag = "apikeys", params(("id" = i64, Path)),
    responses((status = 200, body = ApiKey), (status = 404)), security(("bearer" = [])))]
async fn get_apikey(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<ApiKey>> {
    let id = path::id(&id, "API key")?;
    Ok(Envelope::ok(super::visible(&state.db, &caller, id).await?))
}

/// The body of `PUT /v1/apikeys/{id}` as the handler reads it (see [`UpdateKeyBody`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateApiKey {
    name: Option<ApiKeyName>,
    role: Option<Role>,
    permissions: Option<Vec<Permission>>,
    #[serde(default, deserialize_with = "crate::http::json::present")]
    expires_at: Option<Option<Expiry>>,
    #[serde(default, deserialize_with = "crate::http::json::present")]
    source_cidrs: Option<Option<Vec<Cidr>>>,
    organization_id: Option<i64>,
}

impl ReadOnlyFields for UpdateApiKey {
    const READ_ONLY: &'static [&'static str] = &[
        "id",
        "prefix",
        "created_by",
        "created_at",
        "updated_at",
        "rotated_at",
        "previous_secret_expires_at",
        "last_used_at",
        "last_used_ip",
    ];
}

/// A change of a key, keeping or setting a role.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct KeyUpdateWithRole {
    name: Option<ApiKeyName>,
    /// A new role (it replaces a list of permissions), no wider than the caller's.
    role: Option<Role>,
    #[schema(schema_with = null_only)]
    permissions: Option<()>,
    /// A new expiry; `null` removes it.
    #[schema(schema_with = expiry::nullable_schema)]
    expires_at: Option<String>,
    /// New networks (at most 100); `null` or empty: anywhere.
    #[schema(max_items = 100)]
    source_cidrs: Option<Vec<Cidr>>,
    /// Accepted only when unchanged.
    organization_id: Option<i64>,
}

/// A change of a key that limits it to a list of permissions (replacing its role).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct KeyUpdateWithPermissions {
    name: Option<ApiKeyName>,
    #[schema(schema_with = null_only)]
    role: Option<()>,
    #[schema(min_items = 1)]
    permissions: Vec<Permission>,
    /// A new expiry; `null` removes it.
    #[schema(schema_with = expiry::nullable_schema)]
    expires_at: Option<String>,
    /// New networks (at most 100); `null` or empty: anywhere.
    #[schema(max_items = 100)]
    source_cidrs: Option<Vec<Cidr>>,
    /// Accepted only when unchanged.
    organization_id: Option<i64>,
}

/// A change of a key: only the fields given.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum UpdateKeyBody {
    Role(KeyUpdateWithRole),
    Permissions(KeyUpdateWithPermissions),
}

/// Change a key's name, grant, expiry or networks (only the fields given).
#[utoipa::path(put, path = "/v1/apikeys/{id}", tag = "apikeys", params(("id" = i64, Path)),
    request_body = UpdateKeyBody,
    responses((status = 200, body = ApiKey), (status = 404),
              (status = 403, description = "The key, or what it would become, is wider than the caller"),
              (status = 409, description = "`organization_id` would change")),
    security(("bearer" = [])))]
async fn update_apikey(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonEdit(body): JsonEdit<UpdateApiKey>,
) -> Result<Envelope<ApiKey>> {
    let id = path::id(&id, "API key")?;
    let key = super::update(
        &state.db,
        &caller,
        id,
        ApiKeyUpdate {
            name: body.name,
            role: body.role,
            permissions: body.permissions,
            expires_at: body.expires_at.map(|e| e.map(|e| e.0)),
            source_cidrs: body.source_cidrs,
            organization_id: body.organization_id,
        },
    )
    .await?;
    Ok(Envelope::ok(key))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    /// How long the replaced secret keeps working, in seconds (default 3600, at most a week;
    /// 0: it stops now). A secret replaced by an earlier rotation stops at once either way.
    #[schema(minimum = 0, maximum = 604800)]
    overlap_s: Option<u64>,
}

/// Replace the key's secret: the new one is in this answer only; the old one keeps working
/// for the overlap.
#[utoipa::path(post, path = "/v1/apikeys/{id}/rotate", tag = "apikeys", params(("id" = i64, Path)),
    request_body = Option<RotateBody>,
    responses((status = 200, body = IssuedApiKey), (status = 404),
              (status = 403, description = "The key is wider than the caller, or outlives the key the caller uses"),
              (status = 409, description = "The key has expired")),
    security(("bearer" = [])))]
async fn rotate_apikey(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Envelope<IssuedApiKey>> {
    let id = path::id(&id, "API key")?;
    let body: RotateBody = crate::http::json::parse_or_default(&body)?;
    Ok(Envelope::ok(
        super::rotate(&state.db, &caller, id, body.overlap_s).await?,
    ))
}

/// Revoke the key: it is deleted, and from the next request on, on every instance, it is
/// refused (401). The audit log keeps what it was.
#[utoipa::path(delete, path = "/v1/apikeys/{id}", tag = "apikeys", params(("id" = i64, Path)),
    responses((status = 200, description = "Revoked"), (status = 404),
              (status = 403, description = "The key is wider than the caller, or outlives the key the caller uses")),
    security(("bearer" = [])))]
async fn revoke_apikey(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Option<()>>> {
    let id = path::id(&id, "API key")?;
    super::revoke(&state.db, &caller, id).await?;
    Ok(done())
}
