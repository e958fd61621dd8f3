//! Webhooks: endpoints an organization registers to receive, signed per the Standard Webhooks
//! spec, the event-log events of its subtree that match its patterns. Deliveries are written in
//! the event's own transaction (`fan_out`), queued per endpoint by the dispatcher (`dispatch`)
//! and sent in order by a `webhooks.deliver` job (`deliver`), with retries over about a day;
//! the log of each delivery is kept for `[webhooks] log_retention_days` (the retention purge's
//! default for kind `deliveries`).

pub mod api;
pub mod deliver;
pub mod dispatch;
pub mod fan_out;
pub mod model;
pub mod outbox;
pub mod pattern;
pub mod retry;
pub mod signing;
mod store;
pub mod target;

pub use model::{Delivery, DeliveryState, Endpoint, EndpointDescription, IssuedEndpoint};
pub use pattern::EventPattern;
pub use target::WebhookUrl;

use crate::auth::{Caller, Permission};
use crate::db::{Db, Page};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::system::audit::{self, Change};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use outbox::NewDelivery;
use serde_json::json;

/// The overlap of a rotation when none is asked for: a day for receivers to take the new one.
pub const DEFAULT_OVERLAP_S: u64 = 24 * 3600;
/// The longest overlap: a week.
pub const MAX_OVERLAP_S: u64 = 7 * 24 * 3600;

/// Endpoint `id` if the caller may see it; 404 otherwise (also for another tenant's).
pub async fn visible(db: &Db, caller: &Caller, id: i64) -> Result<Endpoint> {
    caller.require(Permission::WebhooksRead)?;
    match store::fetch(db, id).await? {
        Some(endpoint) if caller.scope().contains(&endpoint.organization_path) => Ok(endpoint),
        _ => Err(Error::not_found("webhook")),
    }
}

/// A page of the endpoints of the caller's subtree.
pub async fn list(
    db: &Db,
    caller: &Caller,
    organization_id: Option<i64>,
    active: Option<bool>,
    page: Page,
) -> Result<(Vec<Endpoint>, i64)> {
    caller.require(Permission::WebhooksRead)?;
    Ok(store::list(db, &caller.scope().like(), organization_id, active, page).await?)
}

fn check_events(events: &[EventPattern]) -> Result<()> {
    if events.is_empty() {
        return Err(Error::field(
            "events",
            "must name at least one event (or `*` for all)",
        ));
    }
    if events.len() > pattern::MAX_PATTERNS {
        return Err(Error::field(
            "events",
            format!("at most {} patterns", pattern::MAX_PATTERNS),
        ));
    }
    Ok(())
}

fn sorted(mut events: Vec<EventPattern>) -> Vec<EventPattern> {
    events.sort();
    events.dedup();
    events
}

async fn check_url(state: &AppState, url: &WebhookUrl) -> Result<()> {
    target::Guard::of(&state.config)
        .check_url(url)
        .await
        .map_err(|why| Error::field("url", why))
}

/// Input of a new endpoint; `organization_id` defaults to the caller's.
pub struct NewEndpoint {
    pub organization_id: Option<i64>,
    pub url: WebhookUrl,
    pub events: Vec<EventPattern>,
    pub description: EndpointDescription,
    pub active: bool,
}

pub async fn create(
    state: &AppState,
    caller: &Caller,
    input: NewEndpoint,
) -> Result<IssuedEndpoint> {
    caller.require(Permission::WebhooksWrite)?;
    let org_id = input.organization_id.unwrap_or(caller.organization_id);
    let org = crate::orgs::visible_field(&state.db, caller, "organization_id", org_id).await?;
    check_events(&input.events)?;
    let events = sorted(input.events);
    check_url(state, &input.url).await?;
    let secret = signing::generate();
    let now = Utc::now();
    let mut tx = state.db.begin().await?;
    let id = store::insert(
        &mut tx,
        &store::NewEndpoint {
            organization_id: org.id,
            url: &input.url,
            events: &events,
            description: input.description.as_str(),
            active: input.active,
            secret: &state.secrets.encrypt(&secret),
            created_by: &caller.username,
        },
        now,
    )
    .await?;
    let endpoint = store::fetch_tx(&mut tx, id).await?.ok_or_else(gone)?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&endpoint, "create", None, Some(&endpoint)),
    )
    .await?;
    tx.commit().await?;
    Ok(IssuedEndpoint { endpoint, secret })
}

/// What an update changes: only the fields given.
#[derive(Default)]
pub struct EndpointUpdate {
    pub url: Option<WebhookUrl>,
    pub events: Option<Vec<EventPattern>>,
    pub description: Option<EndpointDescription>,
    pub active: Option<bool>,
    /// Accepted only when unchanged.
    pub organization_id: Option<i64>,
}

pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: i64,
    input: EndpointUpdate,
) -> Result<Endpoint> {
    let before = visible(&state.db, caller, id).await?;
    caller.require(Permission::WebhooksWrite)?;
    if input
        .organization_id
        .is_some_and(|org| org != before.organization_id)
    {
        return Err(Error::immutable(
            "organization_id",
            "; create an endpoint in the other organization",
        ));
    }
    let events = match input.events {
        Some(events) => {
            check_events(&events)?;
            sorted(events)
        }
        None => before.events.clone(),
    };
    let url = match input.url {
        Some(url) => {
            check_url(state, &url).await?;
            url
        }
        None => before.url.clone(),
    };
    let description = input
        .description
        .unwrap_or_else(|| before.description.clone());
    let mut tx = state.db.begin().await?;
    let change = store::EndpointUpdate {
        url: &url,
        events: &events,
        description: description.as_str(),
        active: input.active.unwrap_or(before.active),
    };
    if !store::update(&mut tx, id, &change, Utc::now()).await? {
        return Err(gone());
    }
    let after = store::fetch_tx(&mut tx, id).await?.ok_or_else(gone)?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&after, "update", Some(&before), Some(&after)),
    )
    .await?;
    tx.commit().await?;
    if after.active && !before.active {
        dispatch::wake();
    }
    Ok(after)
}

/// An endpoint deleted between the read and the write.
fn gone() -> Error {
    Error::not_found("webhook")
}

/// Deletes the endpoint and its delivery log (waiting deliveries are dropped).
pub async fn delete(state: &AppState, caller: &Caller, id: i64) -> Result<()> {
    let endpoint = visible(&state.db, caller, id).await?;
    caller.require(Permission::WebhooksWrite)?;
    // Its delivery log goes with it.
    let what = format!("webhook {id}");
    let held = [crate::system::retention::Kind::Deliveries];
    crate::system::legalholds::refuse_held(&state.db, &endpoint.organization_path, &held, &what)
        .await?;
    let mut tx = state.db.begin().await?;
    if !store::delete(&mut tx, id).await? {
        return Err(gone());
    }
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&endpoint, "delete", Some(&endpoint), None),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A new secret; the current one keeps signing beside it for `overlap_s` seconds (default
/// [`DEFAULT_OVERLAP_S`], at most [`MAX_OVERLAP_S`]; 0: it stops now).
pub async fn rotate(
    state: &AppState,
    caller: &Caller,
    id: i64,
    overlap_s: Option<u64>,
) -> Result<IssuedEndpoint> {
    let before = visible(&state.db, caller, id).await?;
    caller.require(Permission::WebhooksWrite)?;
    let overlap_s = overlap_s.unwrap_or(DEFAULT_OVERLAP_S);
    if overlap_s > MAX_OVERLAP_S {
        return Err(Error::field(
            "overlap_s",
            format!("must be at most {MAX_OVERLAP_S} (a week)"),
        ));
    }
    let now = Utc::now();
    let until = (overlap_s > 0).then(|| now + Duration::seconds(overlap_s as i64));
    let secret = signing::generate();
    let mut tx = state.db.begin().await?;
    if !store::rotate(&mut tx, id, &state.secrets.encrypt(&secret), until, now).await? {
        return Err(gone());
    }
    let after = store::fetch_tx(&mut tx, id).await?.ok_or_else(gone)?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&after, "rotate", Some(&before), Some(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(IssuedEndpoint {
        endpoint: after,
        secret,
    })
}

/// Queues a `webhook.test` message to the endpoint (even an inactive one's test waits for it
/// to be turned on) and returns its delivery.
pub async fn test(state: &AppState, caller: &Caller, id: i64) -> Result<Delivery> {
    let endpoint = visible(&state.db, caller, id).await?;
    caller.require(Permission::WebhooksWrite)?;
    let now = Utc::now();
    let message_id = format!("msg_test_{}", random_id());
    let payload = json!({
        "type": "webhook.test",
        "timestamp": now.to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": {
            "endpoint_id": endpoint.id,
            "organization_id": endpoint.organization_id,
            "message": format!("A test message from dialtone, sent by {}", caller.username),
        }
    })
    .to_string();
    queue_one(
        state,
        caller,
        &endpoint,
        None,
        &message_id,
        "webhook.test",
        &payload,
        now,
    )
    .await
}

/// Sends delivery `delivery_id` again as a new delivery with the same `webhook-id` and body,
/// after the endpoint's other waiting deliveries.
pub async fn redeliver(
    state: &AppState,
    caller: &Caller,
    id: i64,
    delivery_id: i64,
) -> Result<Delivery> {
    let endpoint = visible(&state.db, caller, id).await?;
    caller.require(Permission::WebhooksWrite)?;
    let original = delivery(&state.db, caller, id, delivery_id).await?;
    let payload = original.payload.to_string();
    queue_one(
        state,
        caller,
        &endpoint,
        original.event_id,
        &original.message_id,
        &original.event,
        &payload,
        Utc::now(),
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn queue_one(
    state: &AppState,
    caller: &Caller,
    endpoint: &Endpoint,
    event_id: Option<i64>,
    message_id: &str,
    event: &str,
    payload: &str,
    now: DateTime<Utc>,
) -> Result<Delivery> {
    let mut tx = state.db.begin().await?;
    let new = NewDelivery {
        endpoint_id: endpoint.id,
        event_id,
        message_id,
        event,
        payload,
    };
    let delivery_id = outbox::insert_one(&mut tx, &new, now).await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(endpoint, event_action(event), None, Some(endpoint)),
    )
    .await?;
    let delivery = outbox::get_tx(&mut tx, delivery_id).await?;
    tx.commit().await?;
    dispatch::wake();
    Ok(delivery)
}

fn event_action(event: &str) -> &'static str {
    if event == "webhook.test" {
        "test"
    } else {
        "redeliver"
    }
}

fn random_id() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A page of the endpoint's deliveries, newest first.
pub async fn deliveries(
    db: &Db,
    caller: &Caller,
    id: i64,
    state: Option<DeliveryState>,
    page: Page,
) -> Result<(Vec<Delivery>, i64)> {
    visible(db, caller, id).await?;
    Ok(outbox::list(db, id, state, page).await?)
}

/// Delivery `delivery_id` of endpoint `id`.
pub async fn delivery(db: &Db, caller: &Caller, id: i64, delivery_id: i64) -> Result<Delivery> {
    visible(db, caller, id).await?;
    outbox::get(db, id, delivery_id)
        .await?
        .ok_or_else(|| Error::not_found("delivery"))
}
