//! The OPTIONS pinger: one task and one timer wheel (`DelayQueue`) for every gateway, a bounded
//! number of pings in flight, jittered schedules so thousands of gateways never fire in the same
//! millisecond, and health kept per gateway with hysteresis. Trunk and gateway changes (from
//! any instance: `system::changes`) reload the targets at once.

use super::PingTarget;
use super::health::{Outcome, State, Transition};
use crate::config::PingerConfig;
use crate::sip::resolver::Resolver;
use crate::sip::{Destination, Endpoint, SipError};
use crate::state::AppState;
use crate::system::audit::{self, Actor, Change};
use crate::types::sip_uri::SipUri;
use chrono::Utc;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use rand::Rng;
use rsipstack::sip::Method;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::time::{DelayQueue, delay_queue};

/// A ping in flight: the gateway, the URI it went to, and what came back.
type Ping = Pin<Box<dyn Future<Output = (i64, SipUri, Outcome)> + Send>>;

struct Scheduled {
    target: PingTarget,
    key: Option<delay_queue::Key>,
    in_flight: bool,
    /// Due, but queued behind the in-flight budget (never also on the timer wheel).
    waiting: bool,
}

/// A state change for the writer task: the gateway, the change, and when it happened.
type Report = (PingTarget, Transition, chrono::DateTime<Utc>);

/// The pinger's working state, owned by its one task.
struct Pinger {
    state: AppState,
    config: PingerConfig,
    resolver: Arc<Resolver>,
    gateways: HashMap<i64, Scheduled>,
    queue: DelayQueue<i64>,
    waiting: VecDeque<i64>,
    in_flight: FuturesUnordered<Ping>,
    /// State changes go to a writer task, so database writes never stall the timer wheel.
    reports: tokio::sync::mpsc::Sender<Report>,
}

/// A random delay in `[0, span)`, so schedules spread out.
fn jitter(span: Duration) -> Duration {
    let ms = span.as_millis().max(1) as u64;
    Duration::from_millis(rand::rng().random_range(0..ms))
}

impl Pinger {
    fn interval_for(&self, id: i64) -> Duration {
        let Some(entry) = self.gateways.get(&id) else {
            return Duration::from_secs(self.config.interval_s);
        };
        let down = self
            .state
            .gateway_health
            .get(id)
            .is_some_and(|h| h.state == State::Down);
        if down {
            entry
                .target
                .down_ping_interval
                .unwrap_or(Duration::from_secs(self.config.down_interval_s))
        } else {
            entry
                .target
                .ping_interval
                .unwrap_or(Duration::from_secs(self.config.interval_s))
        }
    }

    fn schedule(&mut self, id: i64, after: Duration) {
        if let Some(entry) = self.gateways.get_mut(&id) {
            if let Some(key) = entry.key.take() {
                self.queue.remove(&key);
            }
            entry.key = Some(self.queue.insert(id, after));
        }
    }

    /// Reloads the gateway list: new ones start at a random point of their interval, removed
    /// ones are forgotten, changed ones are rescheduled.
    async fn reload(&mut self) {
        let targets = match super::ping_targets(&self.state.db).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "pinger cannot load gateways; keeping the old list");
                return;
            }
        };
        let fresh: HashMap<i64, PingTarget> =
            targets.into_iter().map(|t| (t.gateway_id, t)).collect();
        let gone: Vec<i64> = self
            .gateways
            .keys()
            .filter(|id| !fresh.contains_key(id))
            .copied()
            .collect();
        for id in gone {
            if let Some(entry) = self.gateways.remove(&id)
                && let Some(key) = entry.key
            {
                self.queue.remove(&key);
            }
        }
        self.waiting.retain(|id| fresh.contains_key(id));
        self.state
            .gateway_health
            .retain(|id| fresh.contains_key(&id));
        for (id, target) in fresh {
            match self.gateways.get_mut(&id) {
                Some(entry) if entry.target == target => {}
                Some(entry) => {
                    if entry.target.uri != target.uri {
                        // Another peer now: its history says nothing about the new one.
                        self.state.gateway_health.remove(id);
                    }
                    entry.target = target;
                    if !entry.in_flight && !entry.waiting {
                        let first = jitter(self.interval_for(id));
                        self.schedule(id, first);
                    }
                }
                None => {
                    self.gateways.insert(
                        id,
                        Scheduled {
                            target,
                            key: None,
                            in_flight: false,
                            waiting: false,
                        },
                    );
                    let first = jitter(self.interval_for(id).min(Duration::from_secs(5)));
                    self.schedule(id, first);
                }
            }
        }
        metrics::gauge!("pinger_gateways").set(self.gateways.len() as f64);
    }

    /// Starts a ping now, or queues it when the in-flight budget is spent.
    fn due(&mut self, id: i64) {
        let Some(entry) = self.gateways.get_mut(&id) else {
            return;
        };
        // Called when its timer expired (the key is spent) or from the waiting line (no key).
        entry.key = None;
        entry.waiting = false;
        if entry.in_flight {
            return;
        }
        if self.in_flight.len() >= self.config.max_in_flight {
            entry.waiting = true;
            self.waiting.push_back(id);
            metrics::counter!("pinger_deferred_total").increment(1);
            return;
        }
        entry.in_flight = true;
        let uri = entry.target.uri.clone();
        let endpoint = self.state.sip.clone();
        let resolver = self.resolver.clone();
        let timeout = Duration::from_millis(self.config.timeout_ms);
        self.in_flight.push(Box::pin(async move {
            let outcome = probe(&endpoint, &resolver, &uri, timeout).await;
            (id, uri, outcome)
        }));
        metrics::gauge!("pinger_in_flight").set(self.in_flight.len() as f64);
    }

    fn finished(&mut self, id: i64, uri: SipUri, outcome: Outcome) {
        metrics::counter!("pinger_probes_total", "result" => match &outcome {
            Outcome::Reply { .. } => "reply",
            Outcome::Timeout => "timeout",
            Outcome::TransportError(_) => "error",
        })
        .increment(1);
        if let Some(entry) = self.gateways.get_mut(&id) {
            entry.in_flight = false;
            let target = entry.target.clone();
            // A result for a URI the gateway no longer has is stale.
            if target.uri == uri {
                let now = Utc::now();
                let transition = self.state.gateway_health.update(id, now, |health| {
                    health.record(&outcome, &target.policy, now)
                });
                if let Some(transition) = transition
                    && self.reports.try_send((target, transition, now)).is_err()
                {
                    metrics::counter!("pinger_reports_dropped_total").increment(1);
                    tracing::warn!(
                        gateway = id,
                        "state-change report queue full; report dropped"
                    );
                }
            }
            let interval = self.interval_for(id);
            // ±10% so gateways that started together drift apart.
            let spread = interval / 10;
            let next = interval - spread + jitter(spread * 2);
            self.schedule(id, next);
        }
        // Whatever became of this ping, a slot is free: start the next waiting one.
        while self.in_flight.len() < self.config.max_in_flight {
            let Some(waiting) = self.waiting.pop_front() else {
                break;
            };
            self.due(waiting);
        }
    }
}

/// A state change goes to the shared health table (for the instances that do not ping), the
/// log, the event log and the audit trail, with its reason.
/// Returns whether the shared row was written.
async fn report(
    state: &AppState,
    target: &PingTarget,
    transition: &Transition,
    since: chrono::DateTime<Utc>,
) -> bool {
    let shared = match super::store::save_health(
        &state.db,
        target.gateway_id,
        transition.to.as_str(),
        since,
        &transition.reason,
        Utc::now(),
    )
    .await
    {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, gateway = target.gateway_id, "cannot share gateway state; retrying later");
            false
        }
    };
    {
        let to = transition.to.as_str();
        metrics::counter!("pinger_state_changes_total", "to" => to).increment(1);
        let (id, from, reason) = (
            target.gateway_id,
            transition.from.as_str(),
            &transition.reason,
        );
        // Going down is worth a warning; coming up (or the first answer) is news, not trouble.
        if transition.to == State::Down {
            tracing::warn!(gateway = id, uri = %target.uri, from, to, %reason, "gateway state changed");
        } else {
            tracing::info!(gateway = id, uri = %target.uri, from, to, %reason, "gateway state changed");
        }
        let detail = serde_json::json!({
            "gateway_id": target.gateway_id,
            "trunk_id": target.trunk_id,
            "uri": target.uri.to_string(),
            "from": transition.from.as_str(),
            "to": to,
            "reason": transition.reason,
        });
        let event = crate::system::events::NewEvent {
            organization_id: target.organization_id,
            organization_path: &target.organization_path,
            source: "pinger",
            severity: if transition.to == State::Down {
                crate::system::events::Severity::Warning
            } else {
                crate::system::events::Severity::Info
            },
            entity_type: "gateway",
            entity_id: target.gateway_id.to_string(),
            event: if transition.to == State::Down {
                "gateway.down"
            } else {
                "gateway.up"
            },
            message: format!("Gateway {} is {to}: {}", target.uri, transition.reason),
            detail: Some(detail.clone()),
        };
        if let Err(e) = crate::system::events::record(&state.db, event).await {
            tracing::warn!(error = %e, "cannot record gateway event");
        }
        let audited = async {
            let mut tx = state.db.begin().await?;
            audit::record(
                &mut tx,
                &Actor::system("pinger"),
                Change {
                    organization_id: target.organization_id,
                    organization_path: &target.organization_path,
                    action: "health.change",
                    entity_type: "gateway",
                    entity_id: target.gateway_id.to_string(),
                    before: Some(serde_json::json!({"state": transition.from.as_str()})),
                    after: Some(detail),
                },
            )
            .await?;
            tx.commit().await?;
            Ok::<(), crate::error::Error>(())
        };
        if let Err(e) = audited.await {
            tracing::warn!(error = %e, "cannot audit gateway state change");
        }
    }
    shared
}

/// How often the pinging instance checks that every verdict it holds is shared.
const SHARE_AGAIN_EVERY: Duration = Duration::from_secs(10);

/// Writes the verdicts whose shared row is missing or stale (`shared`: what was written).
async fn share_again(state: &AppState, shared: &mut HashMap<i64, (State, chrono::DateTime<Utc>)>) {
    for (id, health_state, since) in state.gateway_health.states() {
        if shared.get(&id) == Some(&(health_state, since)) || health_state == State::Unknown {
            continue;
        }
        let written = super::store::save_health(
            &state.db,
            id,
            health_state.as_str(),
            since,
            "shared again after a missed write",
            Utc::now(),
        )
        .await;
        match written {
            Ok(()) => {
                shared.insert(id, (health_state, since));
            }
            Err(e) => {
                tracing::debug!(error = %e, gateway = id, "cannot share gateway state yet");
                return;
            }
        }
    }
}

/// One OPTIONS probe: resolve, send, wait (bounded by `timeout`), and judge nothing yet: the
/// health machine decides what the reply means.
pub async fn probe(
    endpoint: &Endpoint,
    resolver: &Resolver,
    uri: &crate::types::sip_uri::SipUri,
    timeout: Duration,
) -> Outcome {
    let targets = match resolver.resolve(uri, Instant::now()).await {
        Ok(targets) if !targets.is_empty() => targets,
        Ok(_) => return Outcome::TransportError(format!("{uri} resolves to no address")),
        Err(e) => return Outcome::TransportError(format!("cannot resolve {uri}: {e}")),
    };
    let first = &targets[0];
    let destination = Destination {
        addr: first.addr,
        transport: first.transport,
    };
    let request_uri = uri.to_string();
    let started = Instant::now();
    match tokio::time::timeout(
        timeout,
        endpoint.request(destination, Method::Options, &request_uri, Vec::new()),
    )
    .await
    {
        Ok(Ok(response)) => Outcome::Reply {
            code: response.code,
            rtt: started.elapsed(),
        },
        Ok(Err(SipError::TimedOut)) | Err(_) => Outcome::Timeout,
        Ok(Err(e)) => Outcome::TransportError(e.to_string()),
    }
}

/// The name of the pinger's cross-instance lease (`db::lease`).
pub const LEASE: &str = "gateways.pinger";

/// Runs the pinger until shutdown. On PostgreSQL only the instance holding the pinger lease
/// pings (several instances share one database); on SQLite there is only one instance.
pub async fn run(
    state: AppState,
    config: PingerConfig,
    resolver: Arc<Resolver>,
    shutdown: CancellationToken,
) {
    loop {
        // Standing by (PostgreSQL, another instance pings), this instance routes with that
        // instance's verdicts. SQLite has one instance: the lease comes at once, and verdicts
        // stored by an earlier run are not taken over.
        let lease = if matches!(state.db, crate::db::Db::Pg(_)) {
            let standby = mirror_until_cancelled(&state, config.health_sync_s);
            tokio::select! {
                lease = crate::db::lease::acquire(&state.db, LEASE, &shutdown) => lease,
                never = standby => match never {},
            }
        } else {
            crate::db::lease::acquire(&state.db, LEASE, &shutdown).await
        };
        let Some(lease) = lease else {
            return;
        };
        let lost = lead(&state, &config, resolver.clone(), &shutdown, lease).await;
        if !lost {
            return;
        }
        tracing::warn!("pinger lease lost (database connection gone); standing by to re-acquire");
    }
}

/// Pings while this instance holds `lease`. Returns true if the lease was lost, false on shutdown.
async fn lead(
    state: &AppState,
    config: &PingerConfig,
    resolver: Arc<Resolver>,
    shutdown: &CancellationToken,
    mut lease: crate::db::lease::Lease,
) -> bool {
    let (reports, mut incoming) = tokio::sync::mpsc::channel::<Report>(4096);
    let writer_state = state.clone();
    let writer = tokio::spawn(async move {
        // Shared verdicts a failed write or a dropped report left behind are written again.
        let mut shared = HashMap::new();
        let mut reconcile = tokio::time::interval(SHARE_AGAIN_EVERY);
        loop {
            tokio::select! {
                next = incoming.recv() => {
                    let Some((target, transition, at)) = next else { break };
                    if report(&writer_state, &target, &transition, at).await {
                        shared.insert(target.gateway_id, (transition.to, at));
                    }
                }
                _ = reconcile.tick() => share_again(&writer_state, &mut shared).await,
            }
        }
    });
    let mut pinger = Pinger {
        state: state.clone(),
        config: config.clone(),
        resolver,
        gateways: HashMap::new(),
        queue: DelayQueue::new(),
        waiting: VecDeque::new(),
        in_flight: FuturesUnordered::new(),
        reports,
    };
    // Subscribed before the first load, so a change committed in between is not missed.
    let mut changes = state.changes.subscribe();
    pinger.reload().await;
    let mut reload_tick = tokio::time::interval(Duration::from_secs(config.reload_s));
    reload_tick.tick().await;
    let lost = loop {
        tokio::select! {
            _ = shutdown.cancelled() => break false,
            change = changes.recv() => {
                if matches!(change, crate::system::changes::Change::Trunk(_) | crate::system::changes::Change::Everything) {
                    pinger.reload().await;
                }
            }
            _ = reload_tick.tick() => {
                if !lease.still_held().await {
                    break true;
                }
                pinger.reload().await;
            }
            Some(expired) = pinger.queue.next(), if !pinger.queue.is_empty() => {
                pinger.due(expired.into_inner());
            }
            Some((id, uri, outcome)) = pinger.in_flight.next(), if !pinger.in_flight.is_empty() => {
                pinger.finished(id, uri, outcome);
                metrics::gauge!("pinger_in_flight").set(pinger.in_flight.len() as f64);
            }
        }
    };
    drop(pinger);
    let _ = writer.await;
    drop(lease);
    lost
}

/// Copies the shared verdicts into this instance's registry every `every_s` seconds; runs
/// until dropped (the lease came, or shutdown).
async fn mirror_until_cancelled(state: &AppState, every_s: u64) -> std::convert::Infallible {
    // Not at once: an instance that gets the lease right away keeps a fresh start.
    let every = Duration::from_secs(every_s.max(1));
    let mut tick = tokio::time::interval_at(Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = mirror_health(state).await {
            tracing::debug!(error = %e, "cannot read the shared gateway health; retrying");
        }
    }
}

/// Replaces this instance's gateway health with the verdicts the pinging instance shared.
pub async fn mirror_health(state: &AppState) -> crate::error::Result<()> {
    let verdicts: Vec<_> = super::store::all_health(&state.db)
        .await?
        .into_iter()
        .filter_map(|(id, text, since)| State::parse(&text).map(|s| (id, s, since)))
        .collect();
    state.gateway_health.mirror(&verdicts);
    metrics::counter!("pinger_health_mirrored_total").increment(1);
    Ok(())
}
