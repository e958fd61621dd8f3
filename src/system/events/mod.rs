//! The event log: operational events that are not user edits (a gateway going down or up and
//! why, provisioning fetches, NOTIFY results, bulk jobs). User edits go to the audit log instead.
//!
//! Background jobs call [`record`]; a mutation that wants its event to land or fail with its
//! change calls [`record_in`] (or [`record_many_in`] for many events) with its own transaction.
//! Readers see events of an organization and its descendants, scoped by organization path like
//! the audit log. Old events are removed by [`purge_older_than`].

pub mod api;
mod store;

use crate::db::Page;
use crate::db::{Db, Tx};
use crate::error::Result;
use crate::system::webhooks::fan_out::Audience;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

pub use store::EventFilter;

/// How bad an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    /// Every severity, as the API and the database spell them.
    pub const NAMES: [&'static str; 3] = ["info", "warning", "error"];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

/// One event to record. `organization_path` scopes who may read it later; `event` is a short
/// machine name (`gateway.down`), `message` a sentence for people, `detail` anything structured.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub organization_id: i64,
    pub organization_path: &'a str,
    pub source: &'a str,
    pub severity: Severity,
    pub entity_type: &'a str,
    pub entity_id: String,
    pub event: &'a str,
    pub message: String,
    pub detail: Option<Value>,
}

/// A stored event as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventRecord {
    pub id: i64,
    pub organization_id: i64,
    /// What wrote the event (`pinger`, `provisioning`, …).
    pub source: String,
    pub severity: Severity,
    /// The kind of object the event is about (`gateway`, `device`, …).
    pub entity_type: String,
    pub entity_id: String,
    /// Short machine name (`gateway.down`).
    pub event: String,
    /// Human-readable sentence.
    pub message: String,
    /// Structured detail, if any.
    pub detail: Option<Value>,
    pub created_at: DateTime<Utc>,
}

/// Records `event` on its own (committed at once, with its webhook deliveries) and returns its
/// id.
pub async fn record(db: &Db, event: NewEvent<'_>) -> Result<i64> {
    let mut tx = db.begin().await?;
    let id = record_in(&mut tx, event).await?;
    tx.commit().await?;
    Ok(id)
}

/// Records `event` inside `tx`, so it lands or rolls back with the caller's change, and with
/// it the deliveries to the webhook endpoints that want it (`system::webhooks`).
///
/// The `events_recorded_total` counter is incremented on insert; a later rollback does not
/// undo it.
pub async fn record_in(tx: &mut Tx, event: NewEvent<'_>) -> Result<i64> {
    let now = Utc::now();
    let id = store::insert_tx(tx, &event, now).await?;
    let audience = Audience::load(tx, &[event.organization_path]).await?;
    audience.deliver(tx, id, &event, now).await?;
    count(&event);
    Ok(id)
}

/// Records every event of `events` inside `tx` with a few multi-row inserts (one round trip per
/// few hundred events instead of one per event), all with the same `created_at`; returns how
/// many were recorded. For writers of many events at once, such as a bulk NOTIFY job's results.
/// When a webhook endpoint wants some of them, they are recorded one by one instead, as each
/// delivery names its event.
///
/// `events_recorded_total` grows per event, as with [`record_in`].
pub async fn record_many_in(tx: &mut Tx, events: &[NewEvent<'_>]) -> Result<u64> {
    let now = Utc::now();
    let mut paths: Vec<&str> = events.iter().map(|e| e.organization_path).collect();
    paths.sort_unstable();
    paths.dedup();
    let audience = Audience::load(tx, &paths).await?;
    let recorded = if audience.wants_any(events) {
        for event in events {
            let id = store::insert_tx(tx, event, now).await?;
            audience.deliver(tx, id, event, now).await?;
        }
        events.len() as u64
    } else {
        store::insert_many_tx(tx, events, now).await?
    };
    events.iter().for_each(count);
    Ok(recorded)
}

fn count(event: &NewEvent<'_>) {
    metrics::counter!("events_recorded_total", "event" => event.event.to_string()).increment(1);
}

/// Events under `scope_like` (an organization path prefix pattern such as `/1/7/%`) matching
/// `filter`, newest first, and how many match in all.
pub async fn list(
    db: &Db,
    scope_like: &str,
    filter: &EventFilter,
    page: Page,
) -> Result<(Vec<EventRecord>, i64)> {
    Ok(store::list(db, scope_like, filter, page).await?)
}

/// Event `id` if it lies under `scope_like`.
pub async fn get(db: &Db, scope_like: &str, id: i64) -> Result<Option<EventRecord>> {
    Ok(store::get(db, scope_like, id).await?)
}

/// Deletes events created before `cutoff` (retention) and returns how many went.
pub async fn purge_older_than(db: &Db, cutoff: DateTime<Utc>) -> Result<u64> {
    Ok(store::purge_older_than(db, cutoff).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use serde_json::json;

    #[test]
    fn severity_names_round_trip() {
        for name in Severity::NAMES {
            let severity = Severity::parse(name).unwrap();
            assert_eq!(severity.as_str(), name);
            assert_eq!(serde_json::to_value(severity).unwrap(), json!(name));
        }
        assert_eq!(Severity::parse("INFO"), None);
        assert_eq!(Severity::parse("fatal"), None);
    }

    async fn memory_db() -> Db {
        let db = crate::db::connect("sqlite::memory:", 1).await.unwrap();
        crate::db::migrate(&db).await.unwrap();
        db
    }

    fn event<'a>(path: &'a str, org: i64, name: &'a str, entity_id: &str) -> NewEvent<'a> {
        NewEvent {
            organization_id: org,
            organization_path: path,
            source: "pinger",
            severity: Severity::Warning,
            entity_type: "gateway",
            entity_id: entity_id.to_string(),
            event: name,
            message: format!("gateway {entity_id}: {name}"),
            detail: Some(json!({"reason": "timeout", "rtt_ms": null})),
        }
    }

    #[tokio::test]
    async fn time_filters_order_and_purge_on_sqlite_text_timestamps() {
        let db = memory_db().await;
        // Fractions of different lengths (AutoSi: none, 3, 6, 9 digits) must still order by time.
        let base = DateTime::parse_from_rfc3339("2025-03-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let times = [
            base,
            base + Duration::nanoseconds(1),
            base + Duration::milliseconds(120),
            base + Duration::microseconds(120_001),
            base + Duration::seconds(1),
        ];
        let mut ids = Vec::new();
        for (i, at) in times.iter().enumerate() {
            let e = event("/1/2/", 2, "gateway.down", &i.to_string());
            ids.push(store::insert_db(&db, &e, *at).await.unwrap());
        }
        let page = Page {
            limit: 50,
            offset: 0,
        };
        let (rows, total) = list(&db, "/1/%", &EventFilter::default(), page)
            .await
            .unwrap();
        assert_eq!(total, 5);
        let got: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut want = ids.clone();
        want.reverse();
        assert_eq!(got, want, "newest first");
        assert_eq!(rows[4].created_at, base);
        assert_eq!(
            rows[0].detail,
            Some(json!({"reason": "timeout", "rtt_ms": null}))
        );

        for (cut, expect_since) in [(1, 4), (2, 3), (3, 2), (4, 1)] {
            let filter = EventFilter {
                since: Some(times[cut]),
                ..Default::default()
            };
            let (_, total) = list(&db, "/1/%", &filter, page).await.unwrap();
            assert_eq!(total, expect_since, "since times[{cut}]");
            let filter = EventFilter {
                until: Some(times[cut]),
                ..Default::default()
            };
            let (_, total) = list(&db, "/1/%", &filter, page).await.unwrap();
            assert_eq!(total, 5 - expect_since, "until times[{cut}]");
        }

        assert_eq!(purge_older_than(&db, times[2]).await.unwrap(), 2);
        assert!(get(&db, "/1/%", ids[1]).await.unwrap().is_none());
        assert!(get(&db, "/1/%", ids[2]).await.unwrap().is_some());
        assert!(
            get(&db, "/9/%", ids[2]).await.unwrap().is_none(),
            "out of scope"
        );
    }

    #[tokio::test]
    async fn record_in_rolls_back_with_its_transaction() {
        let db = memory_db().await;
        let mut tx = db.begin().await.unwrap();
        let id = record_in(&mut tx, event("/1/", 1, "bulk.done", "7"))
            .await
            .unwrap();
        drop(tx);
        assert!(get(&db, "/%", id).await.unwrap().is_none());

        let mut tx = db.begin().await.unwrap();
        let id = record_in(&mut tx, event("/1/", 1, "bulk.done", "7"))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let got = get(&db, "/%", id).await.unwrap().unwrap();
        assert_eq!(got.event, "bulk.done");
        assert_eq!(got.severity, Severity::Warning);
        assert_eq!(got.entity_id, "7");
    }
}
