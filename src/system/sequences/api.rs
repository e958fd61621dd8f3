//! `/v1/sequences` routes.

use super::model::{Issued, Sequence, SequenceName};
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
        .routes(routes!(list_sequences, create_sequence))
        .routes(routes!(get_sequence, update_sequence, delete_sequence))
        .routes(routes!(next_number))
}

/// Sequences of the caller's subtree.
#[utoipa::path(get, path = "/v1/sequences", tag = "sequences",
    params(PageParams, ("organization_id" = Option<i64>, Query, description = "Only this organization")),
    responses((status = 200, body = Vec<Sequence>)), security(("bearer" = [])))]
async fn list_sequences(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<ListEnvelope<Sequence>> {
    let page = params.page()?;
    let organization_id = params.i64("organization_id")?;
    let (rows, total) = super::list(&state.db, &caller, organization_id, page).await?;
    Ok(ListEnvelope::new(rows, total, page))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateSequence {
    /// Defaults to the caller's organization.
    organization_id: Option<i64>,
    name: SequenceName,
    /// Put before every number, at most 20 characters (default none).
    #[schema(max_length = 20, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$")]
    prefix: Option<String>,
    /// Zero-pad numbers to this many digits (default 0: no padding).
    #[schema(minimum = 0, maximum = 20)]
    padding: Option<u32>,
    /// The first number handed out (default 1).
    #[schema(minimum = 0)]
    start: Option<i64>,
}

/// Create a sequence; its name is unique within its organization.
#[utoipa::path(post, path = "/v1/sequences", tag = "sequences", request_body = CreateSequence,
    responses((status = 201, body = Sequence),
              (status = 409, description = "The organization has a sequence of that name")),
    security(("bearer" = [])))]
async fn create_sequence(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateSequence>,
) -> Result<Envelope<Sequence>> {
    let sequence = super::create(
        &state.db,
        &caller,
        super::NewSequence {
            organization_id: body.organization_id,
            name: body.name,
            prefix: body.prefix.unwrap_or_default(),
            padding: body.padding.unwrap_or(0),
            start: body.start.unwrap_or(1),
        },
    )
    .await?;
    Ok(Envelope::created(sequence))
}

#[utoipa::path(get, path = "/v1/sequences/{id}", tag = "sequences", params(("id" = i64, Path)),
    responses((status = 200, body = Sequence), (status = 404)), security(("bearer" = [])))]
async fn get_sequence(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Sequence>> {
    let id = path::id(&id, "sequence")?;
    Ok(Envelope::ok(super::visible(&state.db, &caller, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UpdateSequence {
    #[schema(max_length = 20, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$")]
    prefix: Option<String>,
    #[schema(minimum = 0, maximum = 20)]
    padding: Option<u32>,
}

impl ReadOnlyFields for UpdateSequence {
    const READ_ONLY: &'static [&'static str] = &[
        "id",
        "organization_id",
        "name",
        "next_value",
        "created_at",
        "updated_at",
    ];
}

/// Change the prefix or padding; the count goes on (it cannot be set back).
#[utoipa::path(put, path = "/v1/sequences/{id}", tag = "sequences", params(("id" = i64, Path)),
    request_body = UpdateSequence,
    responses((status = 200, body = Sequence), (status = 404)), security(("bearer" = [])))]
async fn update_sequence(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonEdit(body): JsonEdit<UpdateSequence>,
) -> Result<Envelope<Sequence>> {
    let id = path::id(&id, "sequence")?;
    Ok(Envelope::ok(
        super::update(&state.db, &caller, id, body.prefix, body.padding).await?,
    ))
}

#[utoipa::path(delete, path = "/v1/sequences/{id}", tag = "sequences", params(("id" = i64, Path)),
    responses((status = 200, description = "Deleted"), (status = 404)), security(("bearer" = [])))]
async fn delete_sequence(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Option<()>>> {
    let id = path::id(&id, "sequence")?;
    super::delete(&state.db, &caller, id).await?;
    Ok(done())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NextBody {
    /// Whose sequence (default the caller's organization).
    organization_id: Option<i64>,
}

/// Take the next number: gapless and unique, also under concurrent calls on several instances.
#[utoipa::path(post, path = "/v1/sequences/{name}/next", tag = "sequences",
    params(("name" = String, Path, description = "The sequence's name (`invoice`)")),
    request_body = Option<NextBody>,
    responses((status = 200, body = Issued),
              (status = 404, description = "No such sequence in that organization")),
    security(("bearer" = [])))]
async fn next_number(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Result<Envelope<Issued>> {
    let body: NextBody = crate::http::json::parse_or_default(&body)?;
    Ok(Envelope::ok(
        super::next(&state.db, &caller, &name, body.organization_id).await?,
    ))
}
