//! The OPTIONS pinger: one task and one timer wheel (`DelayQueue`) for every gateway, a bounded
//! number of pings in flight, jittered schedules so thousands of gateways never fire in the same
//! millisecond, and health kept per gateway with hysteresis. Trunk and gateway changes (from
//! any instance: `system::changes`) reload the targets at once.

mod probe;
mod report;
mod wheel;

pub use probe::probe;

use crate::config::PingerConfig;
use crate::gateways::health::State;
use crate::gateways::model::GATEWAY;
use crate::gateways::store;
use crate::sip::resolver::Resolver;
use crate::state::AppState;
use crate::types::column::parse_stored;
use futures_util::StreamExt;
use report::{SHARE_AGAIN_EVERY, report, share_again};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use wheel::{Pinger, Report};

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
    let mut pinger = Pinger::new(state.clone(), config.clone(), resolver, reports);
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

/// Replaces this instance's gateway health with the verdicts the pinging instance shared. A
/// shared state that does not parse is left out (the log names the row): that gateway shows as
/// unknown here rather than as a guess.
pub async fn mirror_health(state: &AppState) -> crate::error::Result<()> {
    let mut verdicts = Vec::new();
    for (id, text, since) in store::pinger::all_health(&state.db).await? {
        let parsed = parse_stored(GATEWAY, id, "state", &text, |t| {
            State::parse(t).ok_or("not a gateway state")
        });
        match parsed {
            Ok(health_state) => verdicts.push((id, health_state, since)),
            Err(e) => {
                tracing::warn!(error = %e, "shared gateway state does not parse; not mirrored")
            }
        }
    }
    state.gateway_health.mirror(&verdicts);
    metrics::counter!("pinger_health_mirrored_total").increment(1);
    Ok(())
}
