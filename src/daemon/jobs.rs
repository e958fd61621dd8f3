//! The daemon's background jobs: every room's schedules and loops registered with
//! `system::jobs`, the hourly housekeeping (which queues the daily retention purge), and the systemd watchdog.

use crate::state::AppState;
use crate::system::jobs::Scheduled;
use crate::system::jobs::schedule::Every;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Every background task of the daemon, as jobs of its set (`system::jobs`).
pub(super) fn spawn_jobs(state: &AppState) {
    let jobs = &state.jobs;
    jobs.spawn_every(
        Scheduled {
            name: "housekeeping",
            every: Every::new(Duration::from_secs(3600), Duration::from_secs(60)),
            first: Duration::ZERO,
            lease: Some(state.db.clone()),
        },
        {
            let state = state.clone();
            move || housekeeping(state.clone())
        },
    );
    jobs.spawn_loop("dialplan.reload", {
        let state = state.clone();
        move |stop| crate::dialplan::live::run(state.clone(), stop)
    });
    if state.config.pinger.enabled {
        let state = state.clone();
        jobs.spawn_loop("gateways.pinger", move |stop| {
            crate::gateways::pinger::run(
                state.clone(),
                state.config.pinger.clone(),
                state.resolver.clone(),
                stop,
            )
        });
    }
    jobs.spawn_loop("changes.follow", {
        let changes = state.changes.clone();
        move |stop| {
            crate::system::changes::follow(
                changes.clone(),
                crate::system::changes::POLL_EVERY,
                stop,
            )
        }
    });
    // Always running: besides its own poll (off at 0) it reloads on other instances' reloads.
    {
        let state = state.clone();
        let every = Duration::from_secs(state.config.provisioning.templates_poll_s);
        jobs.spawn_loop("templates.watch", move |stop| {
            let on_reload = {
                let state = state.clone();
                move |outcome| {
                    let state = state.clone();
                    tokio::spawn(async move {
                        let (db, templates) = (&state.db, &state.templates);
                        crate::devices::templates::reload_outcome(db, templates, "poll", outcome)
                            .await;
                    });
                }
            };
            state
                .templates
                .clone()
                .watch(every, state.changes.clone(), stop, on_reload)
        });
    }
    crate::system::apikeys::usage::register(state);
    crate::system::webhooks::deliver::register(state);
    crate::devices::notify::bulk::register(state);
    crate::numbers::import::job::register(state);
    crate::system::retention::purge::register(state);
    jobs.start_queue(state.db.clone());
}

/// Expired tokens go, and the retention purge is queued when due (`system::retention::purge`); on one instance at a time (leased).
async fn housekeeping(state: AppState) -> crate::error::Result<()> {
    let tokens = crate::auth::purge_expired_tokens(&state).await?;
    if tokens > 0 {
        tracing::info!(purged = tokens, "expired tokens removed");
    }
    crate::system::retention::purge::schedule(&state).await
}

/// Tells systemd we are alive every `every` while the database answers.
pub(super) async fn feed_watchdog(state: AppState, every: Duration, stop: CancellationToken) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {
                if state.db.ping().await.is_ok() {
                    let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
                } else {
                    tracing::warn!("database unreachable; withholding watchdog ping");
                }
            }
        }
    }
}
