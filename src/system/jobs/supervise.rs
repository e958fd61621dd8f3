//! The loops that run each kind of supervised job: restart after a panic, the schedule with its
//! lease, and what every run leaves in the metrics.

use super::schedule::Backoff;
use super::{Jobs, Scheduled};
use crate::db::lease;
use std::future::Future;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Runs `start(stop)` until it returns; a panic is counted and the task started again after a
/// backoff that grows while it keeps panicking.
pub(super) async fn run_loop<F, Fut>(jobs: Jobs, name: &'static str, backoff: Backoff, mut start: F)
where
    F: FnMut(CancellationToken) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let stop = jobs.stop_token();
    let mut panics = 0u32;
    loop {
        let span = tracing::info_span!("job", job = name);
        let task = tokio::spawn(start(stop.clone()).instrument(span));
        match task.await {
            Ok(()) => {
                jobs.count(name, false, false);
                return;
            }
            Err(e) if e.is_panic() => {
                jobs.count(name, false, true);
                panics += 1;
                let wait = backoff.delay(panics, rand::random());
                tracing::error!(
                    job = name,
                    panics,
                    restart_in_ms = wait.as_millis() as u64,
                    "job panicked; restarting"
                );
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
            Err(_) => return,
        }
    }
}

/// Runs `job` on its schedule while this instance holds its lease (if it has one); a run that
/// fails or panics is counted and the schedule goes on.
pub(super) async fn run_every<F, Fut>(jobs: Jobs, scheduled: Scheduled, mut job: F)
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = crate::error::Result<()>> + Send + 'static,
{
    let stop = jobs.stop_token();
    let name = scheduled.name;
    let mut delay = scheduled.first;
    loop {
        let mut held = match &scheduled.lease {
            Some(db) => match lease::acquire(db, name, &stop).await {
                Some(held) => Some(held),
                None => return,
            },
            None => None,
        };
        loop {
            let due = Instant::now() + delay;
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep_until(due) => {}
            }
            delay = scheduled.every.next_delay(rand::random());
            if let Some(held) = held.as_mut()
                && !held.still_held().await
            {
                tracing::warn!(
                    job = name,
                    "lease lost (database connection gone); standing by"
                );
                break;
            }
            let lag = Instant::now().saturating_duration_since(due);
            metrics::gauge!("jobs_lag_seconds", "job" => name).set(lag.as_secs_f64());
            let started = Instant::now();
            let span = tracing::info_span!("job", job = name);
            let outcome = tokio::spawn(job().instrument(span)).await;
            metrics::histogram!("jobs_duration_seconds", "job" => name)
                .record(started.elapsed().as_secs_f64());
            match outcome {
                Ok(Ok(())) => jobs.count(name, false, false),
                Ok(Err(e)) => {
                    jobs.count(name, true, false);
                    tracing::warn!(job = name, error = %e, "job run failed");
                }
                Err(e) => {
                    let panicked = e.is_panic();
                    jobs.count(name, true, panicked);
                    tracing::error!(job = name, "job run panicked; next run on schedule");
                }
            }
        }
        drop(held);
    }
}
