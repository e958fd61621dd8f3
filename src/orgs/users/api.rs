//! `/v1/users` routes, foreign ids and permissions.

use super::{ForeignId, NewUser, Permissions, User, UserFilter, UserUpdate, validate};
use crate::auth::Caller;
use crate::auth::Role;
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
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(list_foreign_ids, add_foreign_id))
        .routes(routes!(delete_foreign_id))
        .routes(routes!(get_permissions))
        .routes(routes!(reset_two_factor))
}

/// Users of the caller's subtree.
#[utoipa::path(get, path = "/v1/users", tag = "users",
    params(PageParams,
        ("organization_id" = Option<i64>, Query, description = "Only this organization"),
        ("role" = Option<Role>, Query, description = "admin, user or readonly"),
        ("username" = Option<String>, Query, description = "Substring of the username")),
    responses((status = 200, body = Vec<User>)), security(("bearer" = [])))]
async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<ListEnvelope<User>> {
    let page = params.page()?;
    let filter = UserFilter {
        organization_id: params.i64("organization_id")?,
        role: params.one_of("role", &["admin", "user", "readonly"])?,
        username: params.str("username").map(str::to_string),
    };
    let (rows, total) = super::list(&state.db, &caller, &filter, page).await?;
    Ok(ListEnvelope::new(rows, total, page))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Defaults to the caller's organization.
    organization_id: Option<i64>,
    #[schema(schema_with = validate::username_schema)]
    username: String,
    /// Write-only; at least 8 characters.
    #[schema(schema_with = validate::password_schema)]
    password: String,
    /// admin, user (default) or readonly.
    #[schema(value_type = Option<Role>)]
    role: Option<String>,
    #[schema(schema_with = validate::email_or_null)]
    email: Option<String>,
}

#[utoipa::path(post, path = "/v1/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = User), (status = 400),
              (status = 404, description = "`organization_id` names no organization the caller can see"),
              (status = 409, description = "Username taken")),
    security(("bearer" = [])))]
async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateUser>,
) -> Result<Envelope<User>> {
    let user = super::create(
        &state.db,
        &caller,
        NewUser {
            organization_id: body.organization_id,
            username: body.username,
            password: body.password,
            role: body.role,
            email: body.email,
        },
    )
    .await?;
    Ok(Envelope::created(user))
}

#[utoipa::path(get, path = "/v1/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = User), (status = 404)), security(("bearer" = [])))]
async fn get_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<User>> {
    let id = path::id(&id, "user")?;
    Ok(Envelope::ok(super::visible(&state.db, &caller, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[schema(schema_with = validate::password_or_null)]
    password: Option<String>,
    /// Required when changing your own password (403 when missing or wrong).
    current_password: Option<String>,
    #[schema(value_type = Option<Role>)]
    role: Option<String>,
    /// Null or blank clears it.
    #[serde(default, deserialize_with = "crate::http::json::present")]
    #[schema(schema_with = validate::email_or_null)]
    email: Option<Option<String>>,
    /// Accepted only when unchanged.
    organization_id: Option<i64>,
}

impl ReadOnlyFields for UpdateUser {
    const READ_ONLY: &'static [&'static str] = &[
        "id",
        "username",
        "twofactor_enabled",
        "created_at",
        "updated_at",
    ];
}

/// Change a user (only the fields given). A password change ends the user's other sessions.
#[utoipa::path(put, path = "/v1/users/{id}", tag = "users", params(("id" = i64, Path)), request_body = UpdateUser,
    responses((status = 200, body = User), (status = 400),
              (status = 403, description = "Changing your own password without the right `current_password`, or a permission is missing"),
              (status = 404),
              (status = 409, description = "`organization_id` cannot be changed, or the user name is taken")),
    security(("bearer" = [])))]
async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonEdit(body): JsonEdit<UpdateUser>,
) -> Result<Envelope<User>> {
    let id = path::id(&id, "user")?;
    let user = super::update(
        &state.db,
        &caller,
        id,
        UserUpdate {
            password: body.password,
            current_password: body.current_password,
            role: body.role,
            email: body.email,
            organization_id: body.organization_id,
        },
    )
    .await?;
    Ok(Envelope::ok(user))
}

#[utoipa::path(delete, path = "/v1/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 200), (status = 404),
              (status = 409, description = "Deleting yourself, or numbers are still assigned to the user")),
    security(("bearer" = [])))]
async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Option<()>>> {
    let id = path::id(&id, "user")?;
    super::delete(&state.db, &caller, id).await?;
    Ok(done())
}

#[utoipa::path(get, path = "/v1/users/{id}/foreignids", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<ForeignId>), (status = 404)), security(("bearer" = [])))]
async fn list_foreign_ids(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<ListEnvelope<ForeignId>> {
    let id = path::id(&id, "user")?;
    Ok(ListEnvelope::all(
        super::foreign_ids(&state.db, &caller, id).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewForeignId {
    /// The other system's name (e.g. `crm`); one id per user per source.
    #[schema(value_type = super::foreign_ids::Source)]
    source: String,
    /// The user's id there; unique within the source.
    #[schema(value_type = super::foreign_ids::ExternalId)]
    foreign_id: String,
}

#[utoipa::path(post, path = "/v1/users/{id}/foreignids", tag = "users", params(("id" = i64, Path)),
    request_body = NewForeignId,
    responses((status = 201, body = ForeignId), (status = 404), (status = 409, description = "Already used")),
    security(("bearer" = [])))]
async fn add_foreign_id(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<NewForeignId>,
) -> Result<Envelope<ForeignId>> {
    let id = path::id(&id, "user")?;
    let row = super::add_foreign_id(&state.db, &caller, id, &body.source, &body.foreign_id).await?;
    Ok(Envelope::created(row))
}

#[utoipa::path(delete, path = "/v1/users/{id}/foreignids/{foreign_id}", tag = "users",
    params(("id" = i64, Path), ("foreign_id" = i64, Path, description = "Id of the foreign-id record")),
    responses((status = 200), (status = 404)), security(("bearer" = [])))]
async fn delete_foreign_id(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, fid)): Path<(String, String)>,
) -> Result<Envelope<Option<()>>> {
    let id = path::id(&id, "user")?;
    let fid = path::id(&fid, "foreign id")?;
    super::delete_foreign_id(&state.db, &caller, id, fid).await?;
    Ok(done())
}

/// What the user may do, and over which organizations.
#[utoipa::path(get, path = "/v1/users/{id}/permissions", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = Permissions), (status = 404)), security(("bearer" = [])))]
async fn get_permissions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Permissions>> {
    let id = path::id(&id, "user")?;
    Ok(Envelope::ok(
        super::permissions(&state.db, &caller, id).await?,
    ))
}

/// Turn off a user's two-factor authentication (lost phone); ends their sessions.
#[utoipa::path(delete, path = "/v1/users/{id}/twofactor", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = User), (status = 404),
              (status = 409, description = "The caller's own two-factor is turned off with DELETE /v1/auth/twofactor and a code")),
    security(("bearer" = [])))]
async fn reset_two_factor(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<User>> {
    let id = path::id(&id, "user")?;
    Ok(Envelope::ok(
        super::reset_two_factor(&state.db, &caller, id).await?,
    ))
}
