//! The inventory routes: list, create, read, change (also moves and state moves), delete.

use super::schemas::{PatternFilter, PrefixFilter, TagFilter, TagItem};
use super::{number_id, pattern_filter, prefix_filter, tag_filter};
use crate::auth::Caller;
use crate::error::Result;
use crate::http::envelope::{Envelope, ListEnvelope, done};
use crate::http::json::{JsonBody, JsonEdit, ReadOnlyFields, STORED};
use crate::http::pagination::{PageParams, Params};
use crate::numbers::model::{Assignment, Number, NumberState, STATES};
use crate::numbers::service::{self, NewNumber, NumberUpdate};
use crate::numbers::store::NumberFilter;
use crate::state::AppState;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::ToSchema;

/// Numbers of the caller's subtree, in number order.
#[utoipa::path(get, path = "/v1/numbers", tag = "numbers",
    params(PageParams,
        ("state" = Option<NumberState>, Query, description = "available, reserved, active, suspended, porting or released"),
        ("organization_id" = Option<i64>, Query, description = "Only this organization's numbers (not its descendants'; see search)"),
        ("tag" = Option<TagFilter>, Query, description = "Numbers with this tag"),
        ("prefix" = Option<PrefixFilter>, Query, description = "E.164 prefix, e.g. +1415"),
        ("pattern" = Option<PatternFilter>, Query, description = "Whole-number pattern: digits, x (any digit), n (2-9), z (1-9), e.g. +1415555xxxx")),
    responses((status = 200, body = Vec<Number>), (status = 400)), security(("bearer" = [])))]
pub(super) async fn list_numbers(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<ListEnvelope<Number>> {
    let page = params.page()?;
    let filter = NumberFilter {
        organization_id: params.i64("organization_id")?,
        subtree_path: None,
        state: params.one_of("state", &STATES)?,
        tag: tag_filter(params.str("tag"))?,
        prefix: prefix_filter(params.str("prefix"))?,
        pattern: pattern_filter(params.str("pattern"))?,
    };
    let (rows, total) = service::list(&state.db, &caller, &filter, page).await?;
    Ok(ListEnvelope::new(rows, total, page))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateNumber {
    /// E.164 (`+14155550134`) or national in the organization's country (`(415) 555-0134`,
    /// `020 7946 0958`); stored as E.164. Unique platform-wide.
    #[schema(schema_with = crate::types::e164::input_schema)]
    number: String,
    /// Defaults to the caller's organization.
    organization_id: Option<i64>,
    /// Default available.
    state: Option<NumberState>,
    /// What the number routes to: a trunk of the organization or an ancestor, a user or a
    /// device line of the organization, or a dial plan id.
    assignment: Option<Assignment>,
    /// Concurrent calls, 0-10000; absent or null: unlimited.
    #[schema(minimum = 0, maximum = 10000)]
    channel_limit: Option<i64>,
    /// Lower-case `[a-z0-9_-]{1,32}`, at most 20.
    #[schema(value_type = Option<Vec<TagItem>>, max_items = 20)]
    tags: Option<Vec<String>>,
}

/// Add a number to the inventory.
#[utoipa::path(post, path = "/v1/numbers", tag = "numbers", request_body = CreateNumber,
    responses((status = 201, body = Number), (status = 400, description = "Invalid field"),
              (status = 409, description = "number: already exists")),
    security(("bearer" = [])))]
pub(super) async fn create_number(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateNumber>,
) -> Result<Envelope<Number>> {
    let number = service::create(
        &state.db,
        &caller,
        NewNumber {
            number: body.number,
            organization_id: body.organization_id,
            state: body.state,
            assignment: body.assignment,
            channel_limit: body.channel_limit,
            tags: body.tags,
        },
    )
    .await?;
    Ok(Envelope::created(number))
}

/// A number.
#[utoipa::path(get, path = "/v1/numbers/{id}", tag = "numbers", params(("id" = i64, Path)),
    responses((status = 200, body = Number), (status = 404)), security(("bearer" = [])))]
pub(super) async fn get_number(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Number>> {
    let id = number_id(&id)?;
    Ok(Envelope::ok(
        service::visible(&state.db, &caller, id).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateNumber {
    /// Accepted only when it names the same number.
    #[schema(schema_with = number_or_null)]
    number: Option<String>,
    /// Moves the number down the tree: only to a descendant of its organization that the
    /// caller sees (never up or sideways). Audited and recorded in the history as `move`; the
    /// assignment must still be valid in the new organization (or be changed in the same call).
    organization_id: Option<i64>,
    /// A move along the state machine (see this route's description); 409 if not allowed.
    state: Option<NumberState>,
    /// null removes the assignment.
    #[serde(default, deserialize_with = "crate::http::json::present")]
    #[schema(value_type = Option<Assignment>)]
    assignment: Option<Option<Assignment>>,
    /// 0-10000; null: unlimited.
    #[serde(default, deserialize_with = "crate::http::json::present")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 10000)]
    channel_limit: Option<Option<i64>>,
    /// Replaces the tags (at most 20).
    #[schema(value_type = Option<Vec<TagItem>>, max_items = 20)]
    tags: Option<Vec<String>>,
}

fn number_or_null() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    crate::types::schema::nullable(crate::types::e164::input_schema())
}

impl ReadOnlyFields for UpdateNumber {
    const READ_ONLY: &'static [&'static str] = &STORED;
}

/// Change a number (only the fields given). A new `organization_id` moves it down the tree.
/// A new `state` must follow the state machine: available → reserved, active, porting,
/// released; reserved → available, active, porting, released; active → suspended, available,
/// porting; suspended → active, available, porting, released; porting → available, active,
/// released; released → available, porting. Anything else (e.g. active → released) is 409.
#[utoipa::path(put, path = "/v1/numbers/{id}", tag = "numbers", params(("id" = i64, Path)),
    request_body = UpdateNumber,
    responses((status = 200, body = Number), (status = 400), (status = 404),
              (status = 409, description = "State move not allowed (see the state machine), `number` cannot be changed, or `organization_id` is not below the number's organization")),
    security(("bearer" = [])))]
pub(super) async fn update_number(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonEdit(body): JsonEdit<UpdateNumber>,
) -> Result<Envelope<Number>> {
    let id = number_id(&id)?;
    let number = service::update(
        &state.db,
        &caller,
        id,
        NumberUpdate {
            number: body.number,
            organization_id: body.organization_id,
            state: body.state,
            assignment: body.assignment,
            channel_limit: body.channel_limit,
            tags: body.tags,
        },
    )
    .await?;
    Ok(Envelope::ok(number))
}

/// Delete a number: only an available or released one that is no SIM's MSISDN (409 otherwise).
#[utoipa::path(delete, path = "/v1/numbers/{id}", tag = "numbers", params(("id" = i64, Path)),
    responses((status = 200), (status = 404), (status = 409)), security(("bearer" = [])))]
pub(super) async fn delete_number(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Option<()>>> {
    let id = number_id(&id)?;
    service::delete(&state.db, &caller, id).await?;
    Ok(done())
}
