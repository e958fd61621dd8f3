//! `/v1/organizations/{id}/domains` routes.

use super::Domain;
use crate::auth::Caller;
use crate::error::Result;
use crate::http::envelope::{Envelope, ListEnvelope, done};
use crate::http::json::JsonBody;
use crate::http::path;
use crate::orgs::domains;
use crate::state::AppState;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_domains, add_domain))
        .routes(routes!(delete_domain))
}

#[utoipa::path(get, path = "/v1/organizations/{id}/domains", tag = "organizations",
    params(("id" = i64, Path)), responses((status = 200, body = Vec<Domain>), (status = 404)),
    security(("bearer" = [])))]
async fn list_domains(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<ListEnvelope<Domain>> {
    let id = path::id(&id, "organization")?;
    Ok(ListEnvelope::all(
        domains::list(&state.db, &caller, id).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDomain {
    #[schema(schema_with = domains::domain_schema)]
    domain: String,
}

#[utoipa::path(post, path = "/v1/organizations/{id}/domains", tag = "organizations",
    params(("id" = i64, Path)), request_body = NewDomain,
    responses((status = 201, body = Domain), (status = 400), (status = 404),
        (status = 409, description = "Domain taken")),
    security(("bearer" = [])))]
async fn add_domain(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<NewDomain>,
) -> Result<Envelope<Domain>> {
    let id = path::id(&id, "organization")?;
    Ok(Envelope::created(
        domains::add(&state.db, &caller, id, &body.domain).await?,
    ))
}

#[utoipa::path(delete, path = "/v1/organizations/{id}/domains/{domain_id}", tag = "organizations",
    params(("id" = i64, Path), ("domain_id" = i64, Path)), responses((status = 200), (status = 404)),
    security(("bearer" = [])))]
async fn delete_domain(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, domain_id)): Path<(String, String)>,
) -> Result<Envelope<Option<()>>> {
    let id = path::id(&id, "organization")?;
    let domain_id = path::id(&domain_id, "domain")?;
    domains::remove(&state.db, &caller, id, domain_id).await?;
    Ok(done())
}
