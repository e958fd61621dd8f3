//! `/v1/webhooks` routes: endpoints, their secrets' rotation, test messages, the delivery log
//! and redelivery.

use super::model::{Delivery, DeliveryState, Endpoint, EndpointDescription, IssuedEndpoint};
use super::{EndpointUpdate, EventPattern, NewEndpoint, WebhookUrl};
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
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(rotate_webhook))
        .routes(routes!(test_webhook))
        .routes(routes!(list_deliveries))
        .routes(routes!(get_delivery))
        .routes(routes!(redeliver))
}

/// `true` or `false`, as a query filter.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum Flag {
    True,
    False,
}

/// Webhook endpoints of the caller's subtree (never their secrets).
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks",
    params(PageParams,
        ("organization_id" = Option<i64>, Query, description = "Only this organization's endpoints"),
        ("active" = Option<Flag>, Query, description = "Only active (`true`) or inactive (`false`) endpoints")),
    responses((status = 200, body = Vec<Endpoint>)), security(("bearer" = [])))]
async fn list_webhooks(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<ListEnvelope<Endpoint>> {
    let page = params.page()?;
    let organization_id = params.i64("organization_id")?;
    let active = params
        .one_of("active", &["true", "false"])?
        .map(|a| a == "true");
    let (rows, total) = super::list(&state.db, &caller, organization_id, active, page).await?;
    Ok(ListEnvelope::new(rows, total, page))
}

/// A new endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateWebhook {
    /// Defaults to the caller's organization; the endpoint receives the events of this
    /// organization and its descendants.
    organization_id: Option<i64>,
    url: WebhookUrl,
    /// Event names (`gateway.down`), families (`number.*`) or `*`: 1 to 100.
    #[schema(min_items = 1, max_items = 100)]
    events: Vec<EventPattern>,
    description: Option<EndpointDescription>,
    /// Default `true`.
    active: Option<bool>,
}

/// Register an endpoint. The answer is the only one that shows its signing `secret`.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = CreateWebhook,
    responses((status = 201, body = IssuedEndpoint),
              (status = 400, description = "A field is invalid, or `url` leads to a loopback, private or link-local address"),
              (status = 403, description = "Managing webhooks needs `webhooks:write`")),
    security(("bearer" = [])))]
async fn create_webhook(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateWebhook>,
) -> Result<Envelope<IssuedEndpoint>> {
    let issued = super::create(
        &state,
        &caller,
        NewEndpoint {
            organization_id: body.organization_id,
            url: body.url,
            events: body.events,
            description: body.description.unwrap_or_default(),
            active: body.active.unwrap_or(true),
        },
    )
    .await?;
    Ok(Envelope::created(issued))
}

#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = i64, Path)),
    responses((status = 200, body = Endpoint), (status = 404)), security(("bearer" = [])))]
async fn get_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Endpoint>> {
    let id = path::id(&id, "webhook")?;
    Ok(Envelope::ok(super::visible(&state.db, &caller, id).await?))
}

/// A change of an endpoint: only the fields given.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UpdateWebhook {
    url: Option<WebhookUrl>,
    #[schema(min_items = 1, max_items = 100)]
    events: Option<Vec<EventPattern>>,
    description: Option<EndpointDescription>,
    /// Turning an endpoint back on sends its waiting deliveries, in order.
    active: Option<bool>,
    /// Accepted only when unchanged.
    organization_id: Option<i64>,
}

impl ReadOnlyFields for UpdateWebhook {
    const READ_ONLY: &'static [&'static str] = &[
        "id",
        "disabled_reason",
        "failing_since",
        "previous_secret_expires_at",
        "created_by",
        "created_at",
        "updated_at",
    ];
}

/// Change an endpoint's URL, events, description or activity.
#[utoipa::path(put, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = i64, Path)),
    request_body = UpdateWebhook,
    responses((status = 200, body = Endpoint), (status = 404),
              (status = 400, description = "A field is invalid, or `url` leads to a loopback, private or link-local address"),
              (status = 409, description = "`organization_id` would change")),
    security(("bearer" = [])))]
async fn update_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonEdit(body): JsonEdit<UpdateWebhook>,
) -> Result<Envelope<Endpoint>> {
    let id = path::id(&id, "webhook")?;
    let endpoint = super::update(
        &state,
        &caller,
        id,
        EndpointUpdate {
            url: body.url,
            events: body.events,
            description: body.description,
            active: body.active,
            organization_id: body.organization_id,
        },
    )
    .await?;
    Ok(Envelope::ok(endpoint))
}

/// Delete an endpoint with its delivery log; waiting deliveries are dropped.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = i64, Path)),
    responses((status = 200, description = "Deleted"), (status = 404),
              (status = 409, description = "A legal hold keeps its delivery log")),
    security(("bearer" = [])))]
async fn delete_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Option<()>>> {
    let id = path::id(&id, "webhook")?;
    super::delete(&state, &caller, id).await?;
    Ok(done())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    /// How long the replaced secret keeps signing beside the new one, in seconds (default
    /// 86400, at most a week; 0: it stops now).
    #[schema(minimum = 0, maximum = 604800)]
    overlap_s: Option<u64>,
}

/// Replace the signing secret: the new one is in this answer only; during the overlap every
/// delivery carries a signature with each.
#[utoipa::path(post, path = "/v1/webhooks/{id}/rotate", tag = "webhooks", params(("id" = i64, Path)),
    request_body = Option<RotateBody>,
    responses((status = 200, body = IssuedEndpoint), (status = 404)), security(("bearer" = [])))]
async fn rotate_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Envelope<IssuedEndpoint>> {
    let id = path::id(&id, "webhook")?;
    let body: RotateBody = crate::http::json::parse_or_default(&body)?;
    Ok(Envelope::ok(
        super::rotate(&state, &caller, id, body.overlap_s).await?,
    ))
}

/// Queue a `webhook.test` message to the endpoint; follow it at
/// `/v1/webhooks/{id}/deliveries/{delivery_id}`.
#[utoipa::path(post, path = "/v1/webhooks/{id}/test", tag = "webhooks", params(("id" = i64, Path)),
    responses((status = 202, body = Delivery), (status = 404)), security(("bearer" = [])))]
async fn test_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Delivery>> {
    let id = path::id(&id, "webhook")?;
    Ok(Envelope::accepted(super::test(&state, &caller, id).await?))
}

/// The endpoint's delivery log, newest first: state, attempts, the last answer's status,
/// latency and first bytes.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = i64, Path), PageParams,
        ("state" = Option<DeliveryState>, Query, description = "Only deliveries in this state")),
    responses((status = 200, body = Vec<Delivery>), (status = 404)), security(("bearer" = [])))]
async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<ListEnvelope<Delivery>> {
    let id = path::id(&id, "webhook")?;
    let page = params.page()?;
    let wanted = params
        .one_of("state", &DeliveryState::NAMES)?
        .and_then(|s| DeliveryState::parse(&s));
    let (rows, total) = super::deliveries(&state.db, &caller, id, wanted, page).await?;
    Ok(ListEnvelope::new(rows, total, page))
}

#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries/{delivery_id}", tag = "webhooks",
    params(("id" = i64, Path), ("delivery_id" = i64, Path)),
    responses((status = 200, body = Delivery), (status = 404)), security(("bearer" = [])))]
async fn get_delivery(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, delivery_id)): Path<(String, String)>,
) -> Result<Envelope<Delivery>> {
    let id = path::id(&id, "webhook")?;
    let delivery_id = path::id(&delivery_id, "delivery")?;
    Ok(Envelope::ok(
        super::delivery(&state.db, &caller, id, delivery_id).await?,
    ))
}

/// Send a delivery again (same `webhook-id` and body) after the endpoint's waiting ones.
#[utoipa::path(post, path = "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", tag = "webhooks",
    params(("id" = i64, Path), ("delivery_id" = i64, Path)),
    responses((status = 202, body = Delivery), (status = 404)), security(("bearer" = [])))]
async fn redeliver(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, delivery_id)): Path<(String, String)>,
) -> Result<Envelope<Delivery>> {
    let id = path::id(&id, "webhook")?;
    let delivery_id = path::id(&delivery_id, "delivery")?;
    Ok(Envelope::accepted(
        super::redeliver(&state, &caller, id, delivery_id).await?,
    ))
}
