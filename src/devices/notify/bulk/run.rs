//! Sending a bulk NOTIFY job as a queued job: devices spread over `spread_s`, NOTIFYs bounded
//! by a semaphore, results stored in batches while a heartbeat proves the job alive.

use super::super::store::{self as store, Counts, Finished};
use super::super::target::{Action, Outcome};
use super::super::{self as notify, NotifyResult, Sent};
use super::{BATCH, BATCH_WAIT, HEARTBEAT, JobState, Plan, Planned};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::system::events;
use crate::system::jobs::queue;
use crate::types::Vendor;
use crate::types::sip_uri::SipUri;
use chrono::Utc;
use rand::Rng;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// A random start in `[0, spread)` for each device, earliest first.
fn schedule(devices: Vec<Planned>, spread: Duration) -> Vec<(Duration, Planned)> {
    let spread_ms = spread.as_millis() as u64;
    let mut rng = rand::rng();
    let mut scheduled: Vec<(Duration, Planned)> = devices
        .into_iter()
        .map(|device| {
            let delay = if spread_ms == 0 {
                0
            } else {
                rng.random_range(0..spread_ms)
            };
            (Duration::from_millis(delay), device)
        })
        .collect();
    scheduled.sort_by_key(|(delay, _)| *delay);
    scheduled
}

/// The queue's kind of a bulk NOTIFY.
pub const KIND: &str = "devices.notify";

/// Makes the queue's workers run bulk NOTIFYs.
pub fn register(state: &AppState) {
    let state = state.clone();
    state.jobs.clone().handle(KIND, move |context| {
        Box::pin(run_queued(state.clone(), context))
    });
}

/// Runs the bulk NOTIFY a queued job names: the devices still pending with an address, as the
/// job planned them at its creation.
async fn run_queued(state: AppState, context: queue::Context) -> Result<Value> {
    let job_id = context
        .payload
        .get("notify_job_id")
        .and_then(Value::as_i64)
        .ok_or_else(|| Error::Internal("a notify job without notify_job_id".into()))?;
    let row = store::job(&state.db, job_id)
        .await?
        .ok_or_else(|| Error::not_found("notify job"))?;
    if row.state != JobState::Running {
        return Ok(json!({ "notify_job_id": job_id, "state": row.state }));
    }
    let action = row.action;
    let mut events_by_vendor: HashMap<Vendor, Arc<str>> = HashMap::new();
    let mut proxies: HashMap<String, Option<Arc<SipUri>>> = HashMap::new();
    let mut paths: HashMap<String, Arc<str>> = HashMap::new();
    let mut devices = Vec::new();
    for pending in store::pending_targets(&state.db, job_id).await? {
        let vendor = pending.vendor;
        let target = pending.target;
        let event = events_by_vendor
            .entry(vendor)
            .or_insert_with(|| notify::event_for(&state, vendor, action).into())
            .clone();
        let organization_path = paths
            .entry(pending.organization_path.clone())
            .or_insert_with(|| pending.organization_path.as_str().into())
            .clone();
        let proxy = match proxies.get(&pending.organization_path) {
            Some(p) => p.clone(),
            None => {
                let p = notify::outbound_proxy(&state.db, &pending.organization_path)
                    .await?
                    .map(Arc::new);
                proxies.insert(pending.organization_path.clone(), p.clone());
                p
            }
        };
        devices.push(Planned {
            device_id: pending.device_id,
            organization_id: pending.organization_id,
            organization_path,
            target,
            proxy,
            event,
        });
    }
    let plan = Plan {
        action,
        spread: Duration::from_secs(row.spread_s.max(0) as u64),
        concurrency: row.concurrency.max(1) as usize,
        timeout: Duration::from_millis(state.config.notify.timeout_ms),
        devices,
    };
    let settled = row.total - plan.devices.len() as i64;
    context.progress(settled, Some(row.total)).await;
    let end = run(state, job_id, plan, &context, settled).await;
    if end == "interrupted" {
        return Err(Error::Unavailable(
            "interrupted: the daemon stopped before every device was reached".into(),
        ));
    }
    Ok(json!({ "notify_job_id": job_id, "state": end }))
}

/// Sends the job's NOTIFYs and stores their results; ends the job done or interrupted (and
/// says which).
async fn run(
    state: AppState,
    job_id: i64,
    plan: Plan,
    context: &queue::Context,
    settled: i64,
) -> &'static str {
    metrics::gauge!("notify_jobs_running").increment(1.0);
    let shutdown = context.stop.clone();
    let (results, incoming) = mpsc::channel::<(Planned, Sent)>(plan.concurrency * 2 + 64);
    let writer = tokio::spawn(write_results(
        state.clone(),
        job_id,
        plan.action,
        incoming,
        context.clone(),
        settled,
    ));
    let semaphore = Arc::new(Semaphore::new(plan.concurrency));
    let mut in_flight = JoinSet::new();
    let started = Instant::now();
    let interrupted = 'dispatch: {
        for (delay, device) in schedule(plan.devices, plan.spread) {
            tokio::select! {
                _ = shutdown.cancelled() => break 'dispatch true,
                _ = tokio::time::sleep_until(started + delay) => {}
            }
            let permit = tokio::select! {
                _ = shutdown.cancelled() => break 'dispatch true,
                permit = semaphore.clone().acquire_owned() => permit,
            };
            let Ok(permit) = permit else {
                break 'dispatch true;
            };
            let (state, results, timeout) = (state.clone(), results.clone(), plan.timeout);
            in_flight.spawn(async move {
                let sent = notify::send(
                    &state.sip,
                    &state.resolver,
                    &device.target,
                    device.proxy.as_deref(),
                    &device.event,
                    timeout,
                )
                .await;
                drop(permit);
                let _ = results.send((device, sent)).await;
            });
            while in_flight.try_join_next().is_some() {}
        }
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break 'dispatch true,
                next = in_flight.join_next() => if next.is_none() { break 'dispatch false },
            }
        }
    };
    in_flight.abort_all();
    drop(results);
    let _ = writer.await;
    let end = if interrupted { "interrupted" } else { "done" };
    if let Err(e) = store::finish(&state.db, job_id, end, Utc::now()).await {
        tracing::warn!(job = job_id, error = %e, "cannot store the end of a notify job");
    }
    tracing::info!(
        job = job_id,
        state = end,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "notify job ended"
    );
    metrics::gauge!("notify_jobs_running").decrement(1.0);
    end
}

/// Stores results in batches (each with its devices' event-log entries) and keeps the job's
/// heartbeat fresh while it runs. A batch is a handful of statements (multi-row update and
/// insert), not two per device, so the writer keeps up on PostgreSQL too.
async fn write_results(
    state: AppState,
    job_id: i64,
    action: Action,
    mut incoming: mpsc::Receiver<(Planned, Sent)>,
    context: queue::Context,
    mut settled: i64,
) {
    let mut batch: Vec<(Planned, Sent)> = Vec::with_capacity(BATCH);
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    let mut deadline: Option<Instant> = None;
    loop {
        let flush_at = deadline.unwrap_or_else(|| Instant::now() + HEARTBEAT);
        tokio::select! {
            received = incoming.recv() => match received {
                Some(item) => {
                    batch.push(item);
                    deadline.get_or_insert_with(|| Instant::now() + BATCH_WAIT);
                    if batch.len() >= BATCH {
                        settled += batch.len() as i64;
                        store_batch(&state, job_id, action, &mut batch).await;
                        context.progress(settled, None).await;
                        deadline = None;
                    }
                }
                None => break,
            },
            _ = tokio::time::sleep_until(flush_at), if deadline.is_some() => {
                settled += batch.len() as i64;
                store_batch(&state, job_id, action, &mut batch).await;
                context.progress(settled, None).await;
                deadline = None;
            }
            _ = heartbeat.tick() => {
                if let Err(e) = store::heartbeat(&state.db, job_id, Utc::now()).await {
                    tracing::warn!(job = job_id, error = %e, "notify job heartbeat failed");
                }
            }
        }
    }
    settled += batch.len() as i64;
    store_batch(&state, job_id, action, &mut batch).await;
    context.progress(settled, None).await;
}

async fn store_batch(
    state: &AppState,
    job_id: i64,
    action: Action,
    batch: &mut Vec<(Planned, Sent)>,
) {
    if batch.is_empty() {
        return;
    }
    for attempt in 0..2 {
        match try_store_batch(state, job_id, action, batch).await {
            Ok(()) => break,
            Err(e) if attempt == 0 => {
                tracing::warn!(job = job_id, error = %e, "storing notify results failed; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => {
                tracing::error!(job = job_id, error = %e, lost = batch.len(),
                    "storing notify results failed; these devices stay pending");
            }
        }
    }
    batch.clear();
}

async fn try_store_batch(
    state: &AppState,
    job_id: i64,
    action: Action,
    batch: &[(Planned, Sent)],
) -> Result<()> {
    let mut counts = Counts::default();
    for (_, sent) in batch {
        match sent.outcome {
            Outcome::Ok => counts.ok += 1,
            Outcome::Rejected => counts.rejected += 1,
            Outcome::Timeout => counts.timed_out += 1,
            Outcome::Unreachable => counts.unreachable += 1,
        }
    }
    counts.sent = counts.ok + counts.rejected + counts.timed_out;
    let finished: Vec<Finished> = batch
        .iter()
        .map(|(device, sent)| Finished {
            device_id: device.device_id,
            outcome: sent.outcome.as_str(),
            code: sent.code.map(i64::from),
            reason: &sent.reason,
        })
        .collect();
    let results: Vec<NotifyResult> = batch
        .iter()
        .map(|(device, sent)| NotifyResult {
            device_id: device.device_id,
            action,
            event: device.event.to_string(),
            target: Some(device.target.to_string()),
            proxy: device.proxy.as_ref().map(|p| p.to_string()),
            outcome: sent.outcome,
            code: sent.code,
            reason: sent.reason.clone(),
            elapsed_ms: sent.elapsed_ms,
        })
        .collect();
    let new_events: Vec<_> = batch
        .iter()
        .zip(&results)
        .map(|((device, _), result)| {
            notify::event(
                device.organization_id,
                &device.organization_path,
                result,
                Some(job_id),
            )
        })
        .collect();
    let mut tx = state.db.begin().await?;
    store::record_finished(&mut tx, job_id, &finished, counts, Utc::now()).await?;
    events::record_many_in(&mut tx, &new_events).await?;
    tx.commit().await?;
    Ok(())
}
