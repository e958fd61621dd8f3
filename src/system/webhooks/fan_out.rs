//! From an event to its deliveries, inside the event's own transaction: the active endpoints of
//! the event's organization and its ancestors whose patterns want it each get one delivery, so
//! an event that commits has its deliveries committed too (and a rolled-back one has none).

use super::outbox::{self, NewDelivery};
use super::pattern::{EventPattern, any_matches};
use super::store;
use crate::db::Tx;
use crate::system::events::NewEvent;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;
use std::collections::BTreeMap;

/// The endpoints that may hear events of some organizations: per organization path, the
/// listening endpoints and their patterns.
#[derive(Debug, Default)]
pub struct Audience {
    by_path: BTreeMap<String, Vec<(i64, Vec<EventPattern>)>>,
}

impl Audience {
    /// The listeners of every path in `paths`, as `tx` sees them (one query per distinct path).
    pub async fn load(tx: &mut Tx, paths: &[&str]) -> sqlx::Result<Self> {
        let mut by_path = BTreeMap::new();
        for &path in paths {
            if by_path.contains_key(path) {
                continue;
            }
            let mut listening = Vec::new();
            for listener in store::listeners(tx, path).await? {
                match store::parse_events(&listener.events) {
                    Ok(patterns) => listening.push((listener.id, patterns)),
                    Err(e) => tracing::warn!(endpoint = listener.id, error = %e,
                        "webhook endpoint with unreadable events skipped"),
                }
            }
            by_path.insert(path.to_string(), listening);
        }
        Ok(Self { by_path })
    }

    /// The endpoints that want `event`.
    fn endpoints_for<'s>(&'s self, event: &'s NewEvent<'_>) -> impl Iterator<Item = i64> + 's {
        self.by_path
            .get(event.organization_path)
            .into_iter()
            .flatten()
            .filter(|(_, patterns)| any_matches(patterns, event.event))
            .map(|(id, _)| *id)
    }

    /// Whether any endpoint wants any of `events`.
    pub fn wants_any(&self, events: &[NewEvent<'_>]) -> bool {
        events
            .iter()
            .any(|e| self.endpoints_for(e).next().is_some())
    }

    /// Writes the deliveries of event `event_id` (recorded at `at`) for the endpoints that
    /// want it; returns how many.
    pub async fn deliver(
        &self,
        tx: &mut Tx,
        event_id: i64,
        event: &NewEvent<'_>,
        at: DateTime<Utc>,
    ) -> sqlx::Result<usize> {
        let endpoints: Vec<i64> = self.endpoints_for(event).collect();
        if endpoints.is_empty() {
            return Ok(0);
        }
        let payload = payload(event_id, event, at);
        let ids: Vec<String> = endpoints
            .iter()
            .map(|endpoint| format!("msg_{event_id}_{endpoint}"))
            .collect();
        let deliveries: Vec<NewDelivery<'_>> = endpoints
            .iter()
            .zip(&ids)
            .map(|(endpoint, message_id)| NewDelivery {
                endpoint_id: *endpoint,
                event_id: Some(event_id),
                message_id,
                event: event.event,
                payload: &payload,
            })
            .collect();
        outbox::insert(tx, &deliveries, at).await?;
        metrics::counter!("webhook_deliveries_queued_total").increment(deliveries.len() as u64);
        super::dispatch::wake();
        Ok(deliveries.len())
    }
}

/// The body of an event's delivery, in the Standard Webhooks shape (`type`, `timestamp`,
/// `data`).
pub fn payload(event_id: i64, event: &NewEvent<'_>, at: DateTime<Utc>) -> String {
    json!({
        "type": event.event,
        "timestamp": at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": {
            "event_id": event_id,
            "organization_id": event.organization_id,
            "source": event.source,
            "severity": event.severity.as_str(),
            "entity_type": event.entity_type,
            "entity_id": event.entity_id,
            "message": event.message,
            "detail": event.detail,
        }
    })
    .to_string()
}
