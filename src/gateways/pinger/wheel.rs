//! The pinger's timer wheel: one `DelayQueue` for every gateway, a bounded number of pings in
//! flight (the rest wait their turn), jittered schedules, and each result recorded in the
//! health registry with state changes handed to the writer task.

use super::probe::probe;
use crate::config::PingerConfig;
use crate::gateways::PingTarget;
use crate::gateways::health::{Outcome, State, Transition};
use crate::sip::resolver::Resolver;
use crate::state::AppState;
use crate::types::SipUri;
use chrono::Utc;
use futures_util::stream::FuturesUnordered;
use rand::Rng;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
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
pub(super) type Report = (PingTarget, Transition, chrono::DateTime<Utc>);

/// The pinger's working state, owned by its one task.
pub(super) struct Pinger {
    state: AppState,
    config: PingerConfig,
    resolver: Arc<Resolver>,
    gateways: HashMap<i64, Scheduled>,
    pub(super) queue: DelayQueue<i64>,
    waiting: VecDeque<i64>,
    pub(super) in_flight: FuturesUnordered<Ping>,
    /// State changes go to a writer task, so database writes never stall the timer wheel.
    reports: tokio::sync::mpsc::Sender<Report>,
}

/// A random delay in `[0, span)`, so schedules spread out.
fn jitter(span: Duration) -> Duration {
    let ms = span.as_millis().max(1) as u64;
    Duration::from_millis(rand::rng().random_range(0..ms))
}

impl Pinger {
    pub(super) fn new(
        state: AppState,
        config: PingerConfig,
        resolver: Arc<Resolver>,
        reports: tokio::sync::mpsc::Sender<Report>,
    ) -> Self {
        Self {
            state,
            config,
            resolver,
            gateways: HashMap::new(),
            queue: DelayQueue::new(),
            waiting: VecDeque::new(),
            in_flight: FuturesUnordered::new(),
            reports,
        }
    }

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
    pub(super) async fn reload(&mut self) {
        let targets = match crate::gateways::ping_targets(&self.state.db).await {
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
    pub(super) fn due(&mut self, id: i64) {
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

    pub(super) fn finished(&mut self, id: i64, uri: SipUri, outcome: Outcome) {
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
