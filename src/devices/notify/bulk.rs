//! Bulk NOTIFY: a job that resyncs or reboots every active device a filter selects, without a
//! boot storm. The job and one result row per device live in the database (so any instance can
//! report progress); the sending is a queued job (`system::jobs::queue`, also listed at
//! `/v1/jobs`) that the first free worker of any instance takes: each device gets a random
//! start within `spread_s`, a semaphore bounds the NOTIFYs in flight, and a writer stores
//! results in batches (one transaction each, with their event-log entries).
//!
//! A job ends `done`, or `interrupted` when the daemon stops first: on a graceful stop the job
//! marks itself; after a crash its heartbeat (refreshed every few seconds while it runs) goes
//! stale and the next read of the job stores and reports it as interrupted. Devices not reached
//! stay `pending`.

use super::store::{self as store, Counts, Finished, JobRow, NewJob, ResultRow};
use super::target::{self, Action, Addressing, Outcome};
use super::{self as notify, NotifyResult, Sent};
use crate::auth::{Caller, Permission};
use crate::db::Page;
use crate::devices::validate;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::system::audit::{self, Change};
use crate::system::events;
use crate::system::jobs::queue;
use crate::types::sip_uri::SipUri;
use crate::types::{Mac, Vendor};
use chrono::{DateTime, Utc};
use rand::Rng;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::Instant;
use utoipa::ToSchema;

/// How often a running job proves it is alive.
const HEARTBEAT: Duration = Duration::from_secs(2);
/// A running job whose heartbeat is older than this has lost its instance.
const STALE_AFTER_S: i64 = 15;
/// Results stored per transaction, and how long a partial batch may wait.
const BATCH: usize = 256;
const BATCH_WAIT: Duration = Duration::from_millis(100);

/// A bulk request, as the API parsed it.
#[derive(Debug, Clone, Default)]
pub struct BulkRequest {
    /// Default: the caller's organization. Its descendants' devices are included.
    pub organization_id: Option<i64>,
    pub vendor: Option<Vendor>,
    pub model: Option<String>,
    pub action: Action,
    pub spread_s: Option<u64>,
    pub concurrency: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Running,
    Done,
    /// The daemon stopped before the job finished; unreached devices stay pending.
    Interrupted,
}

impl JobState {
    /// The values of the list's `state` filter.
    pub const NAMES: [&'static str; 3] = ["running", "done", "interrupted"];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Interrupted => "interrupted",
        }
    }

    fn parse_stored(text: &str) -> std::result::Result<Self, String> {
        match text {
            "running" => Ok(JobState::Running),
            "done" => Ok(JobState::Done),
            "interrupted" => Ok(JobState::Interrupted),
            _ => Err(format!("not one of {}", Self::NAMES.join(", "))),
        }
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

crate::text_column!(JobState, "state", JobState::parse_stored);

/// A job and its progress.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobView {
    pub id: i64,
    /// The organization whose devices (and descendants' devices) the job covers.
    pub organization_id: i64,
    pub action: Action,
    /// The filter as given (`organization_id`, `vendor`, `model`).
    #[schema(value_type = Object)]
    pub filter: Value,
    pub spread_s: i64,
    pub concurrency: i64,
    pub state: JobState,
    /// Devices the job covers.
    pub total: i64,
    /// NOTIFYs that went out and ended (answered or timed out).
    pub sent: i64,
    /// Answered 2xx.
    pub ok: i64,
    /// Not ok: rejected + timed_out + unreachable.
    pub failed: i64,
    /// Not finished yet.
    pub pending: i64,
    pub rejected: i64,
    pub timed_out: i64,
    /// No address, not resolvable, or the transport failed.
    pub unreachable: i64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

pub(super) fn view(row: JobRow, state: JobState) -> JobView {
    let failed = row.rejected + row.timed_out + row.unreachable;
    JobView {
        id: row.id,
        organization_id: row.organization_id,
        action: row.action,
        filter: serde_json::from_str(&row.filter_json).unwrap_or(Value::Null),
        spread_s: row.spread_s,
        concurrency: row.concurrency,
        state,
        total: row.total,
        sent: row.sent,
        ok: row.ok,
        failed,
        pending: (row.total - row.ok - failed).max(0),
        rejected: row.rejected,
        timed_out: row.timed_out,
        unreachable: row.unreachable,
        created_by: row.created_by,
        created_at: row.created_at,
        finished_at: row.finished_at,
    }
}

/// One device's result in a job.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobResultView {
    pub device_id: i64,
    #[schema(value_type = String)]
    pub mac: Mac,
    /// Request-URI the NOTIFY goes to; null when the device has no address.
    pub target: Option<String>,
    /// null while pending.
    pub outcome: Option<Outcome>,
    pub code: Option<i64>,
    pub reason: Option<String>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<ResultRow> for JobResultView {
    fn from(row: ResultRow) -> Self {
        Self {
            device_id: row.device_id,
            mac: row.mac,
            target: row.target,
            outcome: row.outcome,
            code: row.code,
            reason: row.reason,
            finished_at: row.finished_at,
        }
    }
}

/// A device the job will NOTIFY.
struct Planned {
    device_id: i64,
    organization_id: i64,
    organization_path: Arc<str>,
    target: SipUri,
    proxy: Option<Arc<SipUri>>,
    event: Arc<str>,
}

/// Where a job's sending is heading, decided at creation.
struct Plan {
    action: Action,
    spread: Duration,
    concurrency: usize,
    timeout: Duration,
    devices: Vec<Planned>,
}

fn bounded(field: &str, value: u64, low: u64, high: u64, key: &str) -> Result<u64> {
    if value < low || value > high {
        return Err(Error::field(
            field,
            format!("must be between {low} and {high} (notify.{key}), got {value}"),
        ));
    }
    Ok(value)
}

/// Checks the request, records the job with a pending result per device (devices without an
/// address are settled at once as unreachable), an audit record and the queued job that sends
/// (`system::jobs::queue`, kind [`KIND`]), all in one transaction.
pub async fn start(state: &AppState, caller: &Caller, request: BulkRequest) -> Result<JobView> {
    caller.require(Permission::OrganizationsWrite)?;
    let config = &state.config.notify;
    let organization_id = request.organization_id.unwrap_or(caller.organization_id);
    let org =
        crate::orgs::visible_field(&state.db, caller, "organization_id", organization_id).await?;
    let spread_s = bounded(
        "spread_s",
        request.spread_s.unwrap_or(config.spread_s),
        0,
        config.max_spread_s,
        "max_spread_s",
    )?;
    let concurrency = bounded(
        "concurrency",
        request.concurrency.unwrap_or(config.concurrency as u64),
        1,
        config.max_concurrency as u64,
        "max_concurrency",
    )?;
    let model = request.model.as_deref().map(validate::model).transpose()?;
    let vendor = request.vendor.map(Vendor::as_str);
    let limit = config.max_job_devices as i64;
    let rows = store::targets(
        &state.db,
        &format!("{}%", org.path),
        vendor,
        model.as_deref(),
        limit + 1,
    )
    .await?;
    if rows.len() as i64 > limit {
        return Err(Error::bad_request(format!(
            "the filter matches more than {limit} devices (notify.max_job_devices): narrow it \
             by organization_id, vendor or model"
        )));
    }

    let action = request.action;
    let mut events_by_vendor: HashMap<Vendor, Arc<str>> = HashMap::new();
    let mut addressed = 0usize;
    let mut unaddressed = Vec::new();
    let mut pending: Vec<(i64, Mac, Option<String>)> = Vec::with_capacity(rows.len());
    for row in &rows {
        let vendor = row.vendor;
        let event = events_by_vendor
            .entry(vendor)
            .or_insert_with(|| notify::event_for(state, vendor, action).into())
            .clone();
        let addressing = Addressing {
            contact: row.contact.as_deref(),
            last_provisioned_ip: row.last_provisioned_ip.as_deref(),
            first_line_user: row.first_user.as_deref(),
        };
        match target::target(addressing) {
            Ok(target) => {
                addressed += 1;
                pending.push((row.id, row.mac, Some(target.to_string())));
            }
            Err(why) => {
                pending.push((row.id, row.mac, None));
                unaddressed.push((row, event, why));
            }
        }
    }

    let filter = json!({
        "organization_id": organization_id,
        "vendor": vendor,
        "model": model,
    });
    let filter_json = filter.to_string();
    let now = Utc::now();
    let actor = caller.actor();
    let mut tx = state.db.begin().await?;
    let job_id = store::insert_job(
        &mut tx,
        &NewJob {
            organization_id,
            action: action.as_str(),
            filter_json: &filter_json,
            spread_s: spread_s as i64,
            concurrency: concurrency as i64,
            total: rows.len() as i64,
            created_by: &actor.username,
        },
        now,
    )
    .await?;
    let pending_rows: Vec<(i64, Mac, Option<&str>)> = pending
        .iter()
        .map(|(id, mac, target)| (*id, *mac, target.as_deref()))
        .collect();
    store::insert_pending(&mut tx, job_id, &pending_rows).await?;
    if !unaddressed.is_empty() {
        let finished: Vec<Finished> = unaddressed
            .iter()
            .map(|(row, _, why)| Finished {
                device_id: row.id,
                outcome: Outcome::Unreachable.as_str(),
                code: None,
                reason: why,
            })
            .collect();
        let counts = Counts {
            unreachable: unaddressed.len() as i64,
            ..Counts::default()
        };
        store::record_finished(&mut tx, job_id, &finished, counts, now).await?;
        let results: Vec<NotifyResult> = unaddressed
            .iter()
            .map(|(row, event, why)| NotifyResult {
                device_id: row.id,
                action,
                event: event.to_string(),
                target: None,
                proxy: None,
                outcome: Outcome::Unreachable,
                code: None,
                reason: why.clone(),
                elapsed_ms: None,
            })
            .collect();
        let new_events: Vec<_> = unaddressed
            .iter()
            .zip(&results)
            .map(|((row, _, _), result)| {
                notify::event(
                    row.organization_id,
                    &row.organization_path,
                    result,
                    Some(job_id),
                )
            })
            .collect();
        events::record_many_in(&mut tx, &new_events).await?;
    }
    audit::record(
        &mut tx,
        &actor,
        Change {
            organization_id,
            organization_path: &org.path,
            action: match action {
                Action::Resync => "notify.bulk_resync",
                Action::Reboot => "notify.bulk_reboot",
            },
            entity_type: "notify_job",
            entity_id: job_id.to_string(),
            before: None,
            after: Some(json!({
                "filter": filter,
                "spread_s": spread_s,
                "concurrency": concurrency,
                "total": rows.len(),
            })),
        },
    )
    .await?;
    queue::enqueue(
        &mut tx,
        &queue::NewJob {
            kind: KIND,
            organization_id,
            payload: &json!({ "notify_job_id": job_id }),
            // A second attempt would NOTIFY devices twice; unreached ones stay pending.
            max_attempts: 1,
            created_by: &actor.username,
        },
    )
    .await?;
    tx.commit().await?;
    metrics::counter!("notify_jobs_total", "action" => action.as_str()).increment(1);
    if addressed == 0 {
        store::finish(&state.db, job_id, "done", Utc::now()).await?;
    }
    state.jobs.wake();
    progress_of(state, job_id).await
}

/// The job's row with its state as it really is: a running job with a stale heartbeat is
/// stored and reported as interrupted.
async fn progress_of(state: &AppState, job_id: i64) -> Result<JobView> {
    let row = store::job(&state.db, job_id)
        .await?
        .ok_or_else(|| Error::not_found("notify job"))?;
    let job_state = current_state(state, &row).await?;
    Ok(view(row, job_state))
}

pub(super) async fn current_state(state: &AppState, row: &JobRow) -> Result<JobState> {
    Ok(match row.state {
        JobState::Done => JobState::Done,
        JobState::Interrupted => JobState::Interrupted,
        JobState::Running => {
            let now = Utc::now();
            if now - row.heartbeat_at > chrono::Duration::seconds(STALE_AFTER_S) {
                store::interrupt_if_stale(&state.db, row.id, row.heartbeat_at, now).await?;
                tracing::warn!(
                    job = row.id,
                    "notify job lost its instance; marked interrupted"
                );
                JobState::Interrupted
            } else {
                JobState::Running
            }
        }
    })
}

/// The job `id` if the caller sees its organization; 404 otherwise.
async fn visible(state: &AppState, caller: &Caller, id: i64) -> Result<JobRow> {
    caller.require(Permission::OrganizationsRead)?;
    match store::job(&state.db, id).await? {
        Some(row) if caller.scope().contains(&row.organization_path) => Ok(row),
        _ => Err(Error::not_found("notify job")),
    }
}

pub async fn progress(state: &AppState, caller: &Caller, id: i64) -> Result<JobView> {
    let row = visible(state, caller, id).await?;
    let job_state = current_state(state, &row).await?;
    Ok(view(row, job_state))
}

/// A page of the job's per-device results; `outcome` filters (`pending` for unfinished ones).
pub async fn results(
    state: &AppState,
    caller: &Caller,
    id: i64,
    outcome: Option<&str>,
    page: Page,
) -> Result<(Vec<JobResultView>, i64)> {
    visible(state, caller, id).await?;
    let (rows, total) = store::results(&state.db, id, outcome, page).await?;
    Ok((rows.into_iter().map(JobResultView::from).collect(), total))
}

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
