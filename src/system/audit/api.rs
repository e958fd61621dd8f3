//! `GET /v1/auditlog` and `GET /v1/auditlog/{id}`, scoped to the caller's subtree.

use super::{AuditFilter, AuditRecord};
use crate::auth::{Caller, Permission};
use crate::error::{Error, Result};
use crate::http::envelope::{Envelope, ListEnvelope};
use crate::http::pagination::{PageParams, Params};
use crate::state::AppState;
use axum::extract::{Path, State};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_audit))
        .routes(routes!(get_audit))
}

/// Audit records of the caller's organization and its descendants, newest first.
#[utoipa::path(get, path = "/v1/auditlog", tag = "audit",
    params(PageParams,
        ("organization_id" = Option<i64>, Query, description = "Only this organization"),
        ("entity_type" = Option<String>, Query, description = "organization, user, orgip, …"),
        ("entity_id" = Option<String>, Query, description = "Only this object"),
        ("action" = Option<String>, Query, description = "create, update, delete, login, …"),
        ("actor_user_id" = Option<i64>, Query, description = "Only changes by this user")),
    responses((status = 200, body = Vec<AuditRecord>)),
    security(("bearer" = [])))]
async fn list_audit(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<ListEnvelope<AuditRecord>> {
    caller.require(Permission::AuditRead)?;
    let page = params.page()?;
    let filter = AuditFilter {
        organization_id: params.i64("organization_id")?,
        entity_type: params.str("entity_type").map(str::to_string),
        entity_id: params.str("entity_id").map(str::to_string),
        action: params.str("action").map(str::to_string),
        actor_user_id: params.i64("actor_user_id")?,
    };
    let (rows, total) = super::list(&state.db, &caller.scope().like(), &filter, page).await?;
    Ok(ListEnvelope::new(rows, total, page))
}

#[utoipa::path(get, path = "/v1/auditlog/{id}", tag = "audit",
    params(("id" = i64, Path, description = "Audit record id")),
    responses((status = 200, body = AuditRecord), (status = 404, description = "Not in scope")),
    security(("bearer" = [])))]
async fn get_audit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<AuditRecord>> {
    caller.require(Permission::AuditRead)?;
    let id = crate::http::path::id(&id, "audit record")?;
    super::get(&state.db, &caller.scope().like(), id)
        .await?
        .map(Envelope::ok)
        .ok_or_else(|| Error::not_found("audit record"))
}
