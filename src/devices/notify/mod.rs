//! SIP NOTIFY to one device (resync or reboot): the vendor's event from its manifest, the target
//! (see `target`), the send through the SIP stack with a bounded wait, and what it leaves
//! behind: an entry on the device's event log and, for an operator's call, an audit record.
//! Bulk jobs (`bulk`) send through [`send`] too.

pub mod api;
pub mod bulk;
mod list;
mod store;
pub mod target;

use self::target::{Action, Addressing, Outcome};
use super::model::Device;
use super::store as device_store;
use crate::auth::{Caller, Permission};
use crate::db::{Db, Tx};
use crate::error::{Error, Result};
use crate::sip::resolver::Resolver;
use crate::sip::{Destination, Endpoint, SipError};
use crate::state::AppState;
use crate::system::audit::{self, Change};
use crate::system::events::{self, NewEvent, Severity};
use crate::types::Vendor;
use crate::types::sip_uri::SipUri;
use rsipstack::sip::Header;
use rsipstack::sip::Method;
use rsipstack::sip::headers::{Event, Route, SubscriptionState};
use serde::Serialize;
use std::time::Duration;
use tokio::time::Instant;
use utoipa::ToSchema;

/// What one NOTIFY did, as the API answers it and the event log keeps it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotifyResult {
    pub device_id: i64,
    pub action: Action,
    /// The `Event` header sent (from the vendor's manifest), e.g. `check-sync;reboot=true`.
    pub event: String,
    /// Request-URI the NOTIFY was addressed to; null when the device has no address.
    pub target: Option<String>,
    /// The outbound proxy it was routed through, if the organization has one.
    pub proxy: Option<String>,
    pub outcome: Outcome,
    /// Final SIP status code; null on timeout or when nothing could be sent.
    pub code: Option<u16>,
    /// The reason phrase, or why there was no answer.
    pub reason: String,
    /// Time from sending to the final answer.
    pub elapsed_ms: Option<u64>,
}

/// How a send ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub outcome: Outcome,
    pub code: Option<u16>,
    pub reason: String,
    pub elapsed_ms: Option<u64>,
}

impl Sent {
    pub fn unreachable(reason: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::Unreachable,
            code: None,
            reason: reason.into(),
            elapsed_ms: None,
        }
    }
}

/// The `Event` value the vendor's manifest gives for `action`.
pub fn event_for(state: &AppState, vendor: Vendor, action: Action) -> String {
    use super::templates::NotifyAction;
    let action = match action {
        Action::Resync => NotifyAction::Resync,
        Action::Reboot => NotifyAction::Reboot,
    };
    state
        .templates
        .current()
        .notify_event(vendor, action)
        .to_string()
}

/// The outbound proxy of the nearest organization on `organization_path` (the device's own
/// first, then its ancestors) that sets one.
pub async fn outbound_proxy(db: &Db, organization_path: &str) -> Result<Option<SipUri>> {
    let path: Vec<i64> = organization_path
        .split('/')
        .filter_map(|id| id.parse().ok())
        .collect();
    let settings = device_store::settings_of(db, &path).await?;
    let nearest = path
        .iter()
        .rev()
        .filter_map(|id| settings.iter().find(|s| s.organization_id == *id))
        .find_map(|s| s.outbound_proxy.as_deref());
    Ok(nearest.and_then(|text| match SipUri::parse(text) {
        Ok(uri) => Some(uri),
        Err(e) => {
            // Checked on the way in; a stored value that no longer parses is ignored, loudly.
            tracing::warn!(organization_path, error = %e, "stored outbound_proxy does not parse");
            None
        }
    }))
}

/// The addressing fields of a device.
pub fn addressing(device: &Device) -> Addressing<'_> {
    Addressing {
        contact: device.contact.as_deref(),
        last_provisioned_ip: device.last_provisioned_ip.as_deref(),
        first_line_user: device.lines.first().map(|l| l.username.as_str()),
    }
}

/// Sends one NOTIFY to `target` (through `proxy` when given) and waits at most `timeout` for
/// its final answer. Never fails: every way it can end is a [`Sent`].
pub async fn send(
    endpoint: &Endpoint,
    resolver: &Resolver,
    target: &SipUri,
    proxy: Option<&SipUri>,
    event: &str,
    timeout: Duration,
) -> Sent {
    let next_hop = proxy.unwrap_or(target);
    let destination = match resolver.resolve(next_hop, Instant::now()).await {
        Ok(targets) => match targets.first() {
            Some(first) => Destination {
                addr: first.addr,
                transport: first.transport,
            },
            None => return Sent::unreachable(format!("{next_hop} resolves to no address")),
        },
        Err(e) => return Sent::unreachable(format!("cannot resolve {next_hop}: {e}")),
    };
    let mut headers = Vec::with_capacity(3);
    if let Some(proxy) = proxy {
        headers.push(Header::Route(Route::new(target::route_via(proxy))));
    }
    headers.push(Header::Event(Event::new(event)));
    headers.push(Header::SubscriptionState(SubscriptionState::new(
        "terminated",
    )));
    let started = Instant::now();
    let request_uri = target.to_string();
    let answer = tokio::time::timeout(
        timeout,
        endpoint.request(destination, Method::Notify, &request_uri, headers),
    )
    .await;
    let elapsed_ms = Some(started.elapsed().as_millis() as u64);
    let sent = match answer {
        Ok(Ok(response)) => Sent {
            outcome: Outcome::of_code(response.code),
            code: Some(response.code),
            reason: target::reason_phrase(&response.scan.start_line),
            elapsed_ms,
        },
        Ok(Err(SipError::TimedOut)) | Err(_) => Sent {
            outcome: Outcome::Timeout,
            code: None,
            reason: format!("no answer within {} ms", timeout.as_millis()),
            elapsed_ms: None,
        },
        Ok(Err(e)) => Sent::unreachable(e.to_string()),
    };
    metrics::counter!("notify_sent_total", "outcome" => sent.outcome.as_str()).increment(1);
    if let Some(ms) = sent.elapsed_ms {
        metrics::histogram!("notify_duration_seconds").record(ms as f64 / 1000.0);
    }
    sent
}

/// The event-log entry of one NOTIFY to a device.
pub fn event<'a>(
    organization_id: i64,
    organization_path: &'a str,
    result: &NotifyResult,
    job_id: Option<i64>,
) -> NewEvent<'a> {
    let to = result.target.as_deref().unwrap_or("(no address)");
    let how = match (result.outcome, result.code) {
        (_, Some(code)) if result.reason.is_empty() => code.to_string(),
        (_, Some(code)) => format!("{code} {}", result.reason),
        (outcome, None) => format!("{}: {}", outcome.as_str(), result.reason),
    };
    let mut detail = serde_json::to_value(result).unwrap_or_default();
    if let (Some(job), Some(map)) = (job_id, detail.as_object_mut()) {
        map.insert("job_id".into(), job.into());
    }
    NewEvent {
        organization_id,
        organization_path,
        source: "notify",
        severity: if result.outcome == Outcome::Ok {
            Severity::Info
        } else {
            Severity::Warning
        },
        entity_type: "device",
        entity_id: result.device_id.to_string(),
        event: result.action.event_name(),
        message: format!("NOTIFY {} to {to}: {how}", result.event),
        detail: Some(detail),
    }
}

/// Sends a resync or reboot NOTIFY to the visible device `id` and keeps the outcome on its event
/// log, with an audit record of the operator's action (one transaction). A device with no
/// address is a 409 that says so.
pub async fn notify_device(
    state: &AppState,
    caller: &Caller,
    id: i64,
    action: Action,
) -> Result<NotifyResult> {
    let device = super::visible(&state.db, caller, id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let vendor = device.vendor;
    let event = event_for(state, vendor, action);
    let target = target::target(addressing(&device))
        .map_err(|why| Error::Conflict(format!("device {id}: {why}")))?;
    let proxy = outbound_proxy(&state.db, &device.organization_path).await?;
    let timeout = Duration::from_millis(state.config.notify.timeout_ms);
    let sent = send(
        &state.sip,
        &state.resolver,
        &target,
        proxy.as_ref(),
        &event,
        timeout,
    )
    .await;
    let result = NotifyResult {
        device_id: id,
        action,
        event,
        target: Some(target.to_string()),
        proxy: proxy.map(|p| p.to_string()),
        outcome: sent.outcome,
        code: sent.code,
        reason: sent.reason,
        elapsed_ms: sent.elapsed_ms,
    };
    let mut tx = state.db.begin().await?;
    keep(&mut tx, caller, &device, &result).await?;
    tx.commit().await?;
    Ok(result)
}

/// The event and the audit record of an operator's NOTIFY.
async fn keep(tx: &mut Tx, caller: &Caller, device: &Device, result: &NotifyResult) -> Result<()> {
    events::record_in(
        tx,
        event(
            device.organization_id,
            &device.organization_path,
            result,
            None,
        ),
    )
    .await?;
    audit::record(
        tx,
        &caller.actor(),
        Change {
            organization_id: device.organization_id,
            organization_path: &device.organization_path,
            action: match result.action {
                Action::Resync => "notify.resync",
                Action::Reboot => "notify.reboot",
            },
            entity_type: "device",
            entity_id: device.id.to_string(),
            before: None,
            after: serde_json::to_value(result).ok(),
        },
    )
    .await
}
