//! Records what the provisioning server saw without making phones wait for the database: the
//! request path hands each outcome to a bounded queue, and one writer task stores them in
//! batches (one transaction per batch): a served file moves the device's last-provisioned time,
//! address, User-Agent and firmware and files a `provisioning.fetch` event; a refusal files a
//! `provisioning.refused` event with the reason (for the operator; the phone never sees it).
//! Refusal events are rate-limited per minute, so a scanner cannot flood the event log; what
//! was left out is summed up in one event. Secrets never reach an event.

use crate::db::Db;
use crate::devices::store::{self, FetchRow};
use crate::system::events::{self, NewEvent, Severity};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Outcomes waiting to be stored before new ones are dropped (and counted).
const QUEUE: usize = 65_536;
/// Outcomes stored per transaction.
const BATCH: usize = 1_000;
/// How long the writer gathers a batch after the first outcome arrives.
const GATHER: Duration = Duration::from_millis(200);

/// The device a request was about, as far as it was identified.
#[derive(Debug, Clone)]
pub struct DeviceRef {
    pub id: i64,
    pub organization_id: i64,
    pub organization_path: String,
}

/// One request's outcome.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub device: Option<DeviceRef>,
    /// The user name the request claimed, for refusals of unknown devices.
    pub username: Option<String>,
    pub file: String,
    pub ip: IpAddr,
    pub user_agent: Option<String>,
    pub firmware: Option<String>,
    /// `served`, or why it was refused (`credentials`, `locked`, `orgips`, `ua_mac` …).
    pub result: &'static str,
    pub at: DateTime<Utc>,
}

/// The request path's end of the queue.
#[derive(Clone)]
pub struct Recorder {
    queue: mpsc::Sender<Outcome>,
}

impl Recorder {
    /// Starts the writer; it drains what is queued when `shutdown` fires, then stops.
    pub fn spawn(
        db: Db,
        refusals_per_minute: u32,
        shutdown: CancellationToken,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (queue, rx) = mpsc::channel(QUEUE);
        let task = tokio::spawn(write(db, rx, refusals_per_minute, shutdown));
        (Self { queue }, task)
    }

    pub fn record(&self, outcome: Outcome) {
        if self.queue.try_send(outcome).is_err() {
            metrics::counter!("provisioning_records_dropped_total").increment(1);
        }
    }
}

async fn write(
    db: Db,
    mut rx: mpsc::Receiver<Outcome>,
    refusals_per_minute: u32,
    shutdown: CancellationToken,
) {
    let mut limiter = RefusalLimiter::new(refusals_per_minute);
    let mut platform: Option<DeviceRef> = None;
    loop {
        let first = tokio::select! {
            first = rx.recv() => first,
            _ = shutdown.cancelled() => {
                rx.close();
                rx.recv().await
            }
        };
        let Some(first) = first else {
            return;
        };
        let mut batch = vec![first];
        let deadline = tokio::time::sleep(GATHER);
        tokio::pin!(deadline);
        while batch.len() < BATCH {
            tokio::select! {
                next = rx.recv() => match next {
                    Some(outcome) => batch.push(outcome),
                    None => break,
                },
                _ = &mut deadline => break,
            }
        }
        if platform.is_none() {
            platform = match crate::orgs::platform(&db).await {
                Ok(org) => org.map(|o| DeviceRef {
                    id: 0,
                    organization_id: o.id,
                    organization_path: o.path,
                }),
                Err(e) => {
                    tracing::warn!(error = %e, "provisioning recorder: cannot find the platform organization");
                    None
                }
            };
        }
        if let Err(e) = store_batch(&db, &batch, &mut limiter, platform.as_ref()).await {
            metrics::counter!("provisioning_records_dropped_total").increment(batch.len() as u64);
            tracing::warn!(error = %e, outcomes = batch.len(), "provisioning fetches not recorded");
        }
    }
}

async fn store_batch(
    db: &Db,
    batch: &[Outcome],
    limiter: &mut RefusalLimiter,
    platform: Option<&DeviceRef>,
) -> crate::error::Result<()> {
    // The device rows keep the latest fetch each.
    let mut latest: HashMap<i64, &Outcome> = HashMap::new();
    for outcome in batch.iter().filter(|o| o.result == "served") {
        if let Some(device) = &outcome.device {
            latest.insert(device.id, outcome);
        }
    }
    let ips: HashMap<i64, String> = latest
        .iter()
        .map(|(id, o)| (*id, canonical_ip(o.ip).to_string()))
        .collect();
    let rows: Vec<FetchRow<'_>> = latest
        .iter()
        .map(|(id, o)| FetchRow {
            id: *id,
            ip: &ips[id],
            user_agent: o.user_agent.as_deref(),
            firmware: o.firmware.as_deref(),
            at: o.at,
        })
        .collect();
    if !rows.is_empty() {
        store::record_fetches(db, &rows).await?;
    }
    let mut tx = db.begin().await?;
    for outcome in batch {
        let served = outcome.result == "served";
        if !served && !limiter.admit(outcome.at) {
            continue;
        }
        let Some(owner) = outcome.device.as_ref().or(platform) else {
            continue;
        };
        let (entity_id, who) = match &outcome.device {
            Some(d) => (d.id.to_string(), format!("device {}", d.id)),
            None => (
                String::new(),
                format!(
                    "unknown user {}",
                    crate::types::text::quote_prefix(outcome.username.as_deref().unwrap_or(""))
                ),
            ),
        };
        let ip = canonical_ip(outcome.ip);
        let (severity, event, message) = if served {
            (
                Severity::Info,
                "provisioning.fetch",
                format!("{who} fetched {} from {ip}", outcome.file),
            )
        } else {
            (
                Severity::Warning,
                "provisioning.refused",
                format!(
                    "{who}: {} from {ip} refused ({})",
                    outcome.file, outcome.result
                ),
            )
        };
        events::record_in(
            &mut tx,
            NewEvent {
                organization_id: owner.organization_id,
                organization_path: &owner.organization_path,
                source: "provisioning",
                severity,
                entity_type: "device",
                entity_id,
                event,
                message,
                detail: Some(json!({
                    "file": outcome.file,
                    "ip": ip.to_string(),
                    "user_agent": outcome.user_agent,
                    "firmware": outcome.firmware,
                    "result": outcome.result,
                    "username": outcome.username,
                })),
            },
        )
        .await?;
    }
    if let (Some(skipped), Some(owner)) = (limiter.take_skipped(), platform) {
        events::record_in(
            &mut tx,
            NewEvent {
                organization_id: owner.organization_id,
                organization_path: &owner.organization_path,
                source: "provisioning",
                severity: Severity::Warning,
                entity_type: "device",
                entity_id: String::new(),
                event: "provisioning.refused.suppressed",
                message: format!(
                    "{skipped} more refused provisioning requests were not logged one by one"
                ),
                detail: Some(json!({ "suppressed": skipped })),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// At most `per_minute` refusal events in each clock minute; the rest are counted.
struct RefusalLimiter {
    per_minute: u32,
    minute: i64,
    used: u32,
    skipped: u64,
}

impl RefusalLimiter {
    fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            minute: i64::MIN,
            used: 0,
            skipped: 0,
        }
    }

    fn admit(&mut self, at: DateTime<Utc>) -> bool {
        let minute = at.timestamp().div_euclid(60);
        if minute != self.minute {
            self.minute = minute;
            self.used = 0;
        }
        if self.used < self.per_minute {
            self.used += 1;
            true
        } else {
            self.skipped += 1;
            false
        }
    }

    /// The refusals left out since the last call, if any.
    fn take_skipped(&mut self) -> Option<u64> {
        (self.skipped > 0).then(|| std::mem::take(&mut self.skipped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_limited_per_minute_and_the_rest_counted() {
        let mut limiter = RefusalLimiter::new(3);
        let t0 = DateTime::parse_from_rfc3339("2026-01-01T10:00:05Z")
            .unwrap()
            .with_timezone(&Utc);
        let admitted = (0..10).filter(|_| limiter.admit(t0)).count();
        assert_eq!(admitted, 3);
        assert_eq!(limiter.take_skipped(), Some(7));
        assert_eq!(limiter.take_skipped(), None);
        assert!(
            limiter.admit(t0 + chrono::Duration::seconds(60)),
            "a new minute"
        );
    }
}
