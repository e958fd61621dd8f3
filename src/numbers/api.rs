//! `/v1/numbers` routes: the number inventory (CRUD, search, CSV import), state moves
//! (`activate`, `deactivate`, or `state` in a PUT along the documented state machine),
//! channel limits, moves down the organization tree, and each number's history.

use super::import::{self, ImportSummary};
use super::model::{Assignment, HistoryEntry, Number, NumberState, STATES};
use super::pattern::{self, Pattern};
use super::service::{self, NewNumber, NumberUpdate};
use super::store::NumberFilter;
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::http::envelope::{Envelope, ListEnvelope, done};
use crate::http::json::{self, JsonBody, JsonEdit, ReadOnlyFields, STORED};
use crate::http::pagination::{PageParams, Params};
use crate::http::path;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_numbers, create_number))
        .routes(routes!(search_numbers))
        .routes(routes!(import_numbers))
        .routes(routes!(get_number, update_number, delete_number))
        .routes(routes!(activate_number))
        .routes(routes!(deactivate_number))
        .routes(routes!(get_channels, set_channels))
        .routes(routes!(number_history))
        .merge(super::mobiles::api::router())
}

fn number_id(text: &str) -> Result<i64> {
    path::id(text, "number")
}

fn tag_filter(text: Option<&str>) -> Result<Option<String>> {
    text.map(|t| {
        super::model::validate_tags("tag", &[t.to_string()])
            .map_err(Error::bad_request)
            .map(|mut tags| tags.remove(0))
    })
    .transpose()
}

fn prefix_filter(text: Option<&str>) -> Result<Option<String>> {
    text.map(|p| pattern::prefix(p).map_err(|e| Error::field("prefix", e)))
        .transpose()
}

fn pattern_filter(text: Option<&str>) -> Result<Option<Pattern>> {
    text.map(|p| Pattern::parse(p).map_err(|e| Error::field("pattern", e)))
        .transpose()
}

/// Numbers of the caller's subtree, in number order.
#[utoipa::path(get, path = "/v1/numbers", tag = "numbers",
    params(PageParams,
        ("state" = Option<String>, Query, description = "available, reserved, active, suspended, porting or released"),
        ("organization_id" = Option<i64>, Query, description = "Only this organization's numbers (not its descendants'; see search)"),
        ("tag" = Option<String>, Query, description = "Numbers with this tag"),
        ("prefix" = Option<String>, Query, description = "E.164 prefix, e.g. +1415"),
        ("pattern" = Option<String>, Query, description = "Whole-number pattern: digits, x (any digit), n (2-9), z (1-9), e.g. +1415555xxxx")),
    responses((status = 200, body = Vec<Number>), (status = 400)), security(("bearer" = [])))]
async fn list_numbers(
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
    number: String,
    /// Defaults to the caller's organization.
    organization_id: Option<i64>,
    /// Default available.
    state: Option<NumberState>,
    /// What the number routes to: a trunk of the organization or an ancestor, a user or a
    /// device line of the organization, or a dial plan id.
    assignment: Option<Assignment>,
    /// Concurrent calls, 0-10000; absent or null: unlimited.
    channel_limit: Option<i64>,
    /// Lower-case `[a-z0-9_-]{1,32}`, at most 20.
    tags: Option<Vec<String>>,
}

/// Add a number to the inventory.
#[utoipa::path(post, path = "/v1/numbers", tag = "numbers", request_body = CreateNumber,
    responses((status = 201, body = Number), (status = 400, description = "Invalid field"),
              (status = 409, description = "number: already exists")),
    security(("bearer" = [])))]
async fn create_number(
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

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchNumbers {
    /// E.164 prefix, e.g. `+1415`.
    prefix: Option<String>,
    /// Whole-number pattern: digits, `x` any digit, `n` 2-9, `z` 1-9 (`+1415555xxxx`).
    pattern: Option<String>,
    state: Option<NumberState>,
    /// This organization and its descendants (one the caller sees).
    organization_id: Option<i64>,
    tag: Option<String>,
    /// As the query parameters of lists (default 50, at most 1000); body or query.
    limit: Option<i64>,
    /// Another name of `limit`; give one of the two.
    per_page: Option<i64>,
    offset: Option<i64>,
    /// 1-based, instead of `offset`.
    page: Option<i64>,
}

/// Search the caller's numbers by prefix, pattern, state, organization (with its
/// descendants) and tag; every given criterion must hold. Paginated like lists (in the body or
/// the query string), with the total of matches.
#[utoipa::path(post, path = "/v1/numbers/search", tag = "numbers", params(PageParams),
    request_body = SearchNumbers,
    responses((status = 200, body = Vec<Number>), (status = 400)), security(("bearer" = [])))]
async fn search_numbers(
    State(state): State<AppState>,
    caller: Caller,
    mut params: Params,
    body: Bytes,
) -> Result<ListEnvelope<Number>> {
    let body: SearchNumbers = if body.iter().all(u8::is_ascii_whitespace) {
        SearchNumbers::default()
    } else {
        json::parse(&body)?
    };
    for (name, value) in [
        ("limit", body.limit),
        ("per_page", body.per_page),
        ("offset", body.offset),
        ("page", body.page),
    ] {
        if let Some(value) = value {
            params.0.insert(name.to_string(), value.to_string());
        }
    }
    let page = params.page()?;
    let subtree_path = match body.organization_id {
        Some(id) => Some(service::subtree_of(&state.db, &caller, "organization_id", id).await?),
        None => None,
    };
    let filter = NumberFilter {
        organization_id: None,
        subtree_path,
        state: body.state.map(|s| s.as_str().to_string()),
        tag: tag_filter(body.tag.as_deref())?,
        prefix: prefix_filter(body.prefix.as_deref())?,
        pattern: pattern_filter(body.pattern.as_deref())?,
    };
    let (rows, total) = service::list(&state.db, &caller, &filter, page).await?;
    Ok(ListEnvelope::new(rows, total, page))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportBody {
    /// The CSV text, as it would be sent with `Content-Type: text/csv`.
    csv: String,
}

/// Import numbers from CSV, all or nothing (at most 100,000 rows; the body must also fit
/// `http.max_import_bytes`). Header: `number,state,organization_id,tags,channel_limit` (only
/// `number` is required; columns in any order). `number` is E.164 or national in the row's
/// organization's country; `organization_id` defaults to the caller's; `state` to available;
/// `tags` are separated by `;`; an empty `channel_limit` is unlimited. Any bad row (also a
/// number twice in the file, or already stored) answers 400 listing the first 100 bad rows in
/// `errors` (`row` is the line in the file, the header being line 1; `errors_omitted` counts the
/// rest) and imports nothing.
#[utoipa::path(post, path = "/v1/numbers/import", tag = "numbers",
    request_body(description = "CSV text, or JSON {\"csv\": \"…\"}",
        content((String = "text/csv"), (ImportBody = "application/json"))),
    responses((status = 201, body = ImportSummary),
              (status = 400, body = crate::http::errors::RowErrorsBody, description = "Bad rows, the first 100 listed; nothing imported"),
              (status = 409, description = "A number was added meanwhile; nothing imported"),
              (status = 413, description = "Body larger than http.max_import_bytes")),
    security(("bearer" = [])))]
async fn import_numbers(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Envelope<ImportSummary>> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    let text = match content_type.as_deref() {
        Some("application/json") => json::parse::<ImportBody>(&body)?.csv,
        Some("text/csv" | "application/csv" | "text/plain") | None => {
            String::from_utf8(body.to_vec())
                .map_err(|_| Error::field("csv", "must be UTF-8 text"))?
        }
        Some(other) => {
            return Err(Error::bad_request(format!(
                "Content-Type must be text/csv or application/json, got {}",
                crate::types::text::quote_prefix(other)
            )));
        }
    };
    let summary = import::job::import_queued(&state, &caller, &text).await?;
    Ok(Envelope::created(summary))
}

/// A number.
#[utoipa::path(get, path = "/v1/numbers/{id}", tag = "numbers", params(("id" = i64, Path)),
    responses((status = 200, body = Number), (status = 404)), security(("bearer" = [])))]
async fn get_number(
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
    #[schema(value_type = Option<i64>)]
    channel_limit: Option<Option<i64>>,
    /// Replaces the tags.
    tags: Option<Vec<String>>,
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
              (status = 409, description = "State move not allowed (see the state machine)")),
    security(("bearer" = [])))]
async fn update_number(
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
async fn delete_number(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Option<()>>> {
    let id = number_id(&id)?;
    service::delete(&state.db, &caller, id).await?;
    Ok(done())
}

/// Put the number in service (`active`), from available, reserved, suspended or porting.
#[utoipa::path(post, path = "/v1/numbers/{id}/activate", tag = "numbers",
    params(("id" = i64, Path)),
    responses((status = 200, body = Number), (status = 404),
              (status = 409, description = "Not from this state")),
    security(("bearer" = [])))]
async fn activate_number(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Number>> {
    let id = number_id(&id)?;
    Ok(Envelope::ok(
        service::activate(&state.db, &caller, id).await?,
    ))
}

/// Take the number out of service, back to `available` in its organization, from active or
/// suspended. The assignment is kept for a later activation.
#[utoipa::path(post, path = "/v1/numbers/{id}/deactivate", tag = "numbers",
    params(("id" = i64, Path)),
    responses((status = 200, body = Number), (status = 404),
              (status = 409, description = "Not from this state")),
    security(("bearer" = [])))]
async fn deactivate_number(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Number>> {
    let id = number_id(&id)?;
    Ok(Envelope::ok(
        service::deactivate(&state.db, &caller, id).await?,
    ))
}

/// A number's channel limit.
#[derive(Debug, Serialize, ToSchema)]
pub struct Channels {
    pub number_id: i64,
    /// Concurrent calls allowed; null: unlimited.
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetChannels {
    /// 0-10000, or null for unlimited. Required.
    #[serde(default, deserialize_with = "crate::http::json::present")]
    #[schema(value_type = Option<i64>)]
    limit: Option<Option<i64>>,
}

impl ReadOnlyFields for SetChannels {
    const READ_ONLY: &'static [&'static str] = &["number_id"];
}

/// The number's channel limit.
#[utoipa::path(get, path = "/v1/numbers/{id}/channels", tag = "numbers",
    params(("id" = i64, Path)),
    responses((status = 200, body = Channels), (status = 404)), security(("bearer" = [])))]
async fn get_channels(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Channels>> {
    let id = number_id(&id)?;
    let number = service::visible(&state.db, &caller, id).await?;
    Ok(Envelope::ok(Channels {
        number_id: number.id,
        limit: number.channel_limit,
    }))
}

/// Set the number's channel limit (`{"limit": n}`, 0-10000; null: unlimited).
#[utoipa::path(put, path = "/v1/numbers/{id}/channels", tag = "numbers",
    params(("id" = i64, Path)), request_body = SetChannels,
    responses((status = 200, body = Channels), (status = 400), (status = 404)),
    security(("bearer" = [])))]
async fn set_channels(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonEdit(body): JsonEdit<SetChannels>,
) -> Result<Envelope<Channels>> {
    let id = number_id(&id)?;
    let Some(limit) = body.limit else {
        return Err(Error::field(
            "limit",
            "is required (a number 0-10000, or null for unlimited)",
        ));
    };
    let number = service::set_channels(&state.db, &caller, id, limit).await?;
    Ok(Envelope::ok(Channels {
        number_id: number.id,
        limit: number.channel_limit,
    }))
}

/// Every change of the number, oldest first: who, when, what, and the number before and after.
#[utoipa::path(get, path = "/v1/numbers/{id}/history", tag = "numbers",
    params(("id" = i64, Path), PageParams),
    responses((status = 200, body = Vec<HistoryEntry>), (status = 404)),
    security(("bearer" = [])))]
async fn number_history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<ListEnvelope<HistoryEntry>> {
    let id = number_id(&id)?;
    let page = params.page()?;
    let (rows, total) = service::history(&state.db, &caller, id, page).await?;
    Ok(ListEnvelope::new(rows, total, page))
}
