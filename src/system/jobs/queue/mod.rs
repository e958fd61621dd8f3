//! The job queue: long work a request starts (a bulk NOTIFY, an import) is a row of `jobs` that
//! any instance's worker may claim, so it survives a restart and is readable over REST. A claim
//! is a lease (`claimed_until`, extended while the job runs): a job whose instance crashed is
//! taken again once that lapses. A failed attempt is retried after a backoff until
//! `max_attempts`; progress (done/total) and the result are stored on the row.

pub mod failure;
pub mod store;

use super::Jobs;
use super::schedule::Backoff;
use crate::db::{Db, Tx};
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// How long a claim lasts without being extended; a running job extends it every third of it.
pub const CLAIM: Duration = Duration::from_secs(30);
/// How often an idle worker looks for jobs queued by other instances.
const POLL: Duration = Duration::from_secs(1);
/// Jobs one instance runs at once.
const CONCURRENCY: usize = 16;
/// The wait before a failed attempt is retried.
const RETRY: Backoff = Backoff::new(Duration::from_secs(5), Duration::from_secs(600));

/// What runs a job of one kind: its result (stored as JSON) or why it failed.
pub type Handler = Arc<dyn Fn(Context) -> BoxFuture<'static, Result<Value>> + Send + Sync>;

/// The queue's share of the job set: the handlers by kind and the wake-ups.
#[derive(Default)]
pub(super) struct Shared {
    handlers: RwLock<HashMap<&'static str, Handler>>,
    /// A job was queued on this instance: look now instead of at the next poll.
    queued: Notify,
    /// A job ended on this instance: waiters read it again.
    ended: Notify,
}

/// A job to queue.
pub struct NewJob<'a> {
    pub kind: &'a str,
    /// The organization the job belongs to (it is listed to callers who see it).
    pub organization_id: i64,
    pub payload: &'a Value,
    pub max_attempts: i64,
    pub created_by: &'a str,
}

/// Queues a job inside the caller's transaction (so it exists exactly when the rest of the
/// request's writes do); call [`Jobs::wake`] after the commit.
pub async fn enqueue(tx: &mut Tx, job: &NewJob<'_>) -> sqlx::Result<i64> {
    let payload = job.payload.to_string();
    let row = store::NewRow {
        kind: job.kind,
        organization_id: job.organization_id,
        payload: &payload,
        max_attempts: job.max_attempts.max(1),
        created_by: job.created_by,
    };
    store::insert(tx, &row, Utc::now()).await
}

/// What a handler gets: the job, a way to report progress, and the set's stop signal.
#[derive(Clone)]
pub struct Context {
    pub id: i64,
    pub organization_id: i64,
    pub payload: Value,
    /// 1 for the first attempt.
    pub attempt: i64,
    pub created_by: String,
    /// Cancelled when the daemon stops: finish or give up soon; the daemon waits for you.
    pub stop: CancellationToken,
    db: Db,
}

impl Context {
    /// Stores how far the job is (`total` once known); failures are logged, not fatal.
    pub async fn progress(&self, done: i64, total: Option<i64>) {
        if let Err(e) = store::progress(&self.db, self.id, done, total).await {
            tracing::warn!(job = self.id, error = %e, "cannot store job progress");
        }
    }
}

impl Jobs {
    /// Registers the handler of `kind`; the worker claims only kinds it has a handler for.
    pub fn handle<F>(&self, kind: &'static str, handler: F)
    where
        F: Fn(Context) -> BoxFuture<'static, Result<Value>> + Send + Sync + 'static,
    {
        let mut handlers = self
            .0
            .queue
            .handlers
            .write()
            .unwrap_or_else(|p| p.into_inner());
        handlers.insert(kind, Arc::new(handler));
    }

    /// A job was queued: this instance's worker looks now.
    pub fn wake(&self) {
        self.0.queue.queued.notify_one();
    }

    /// Starts this instance's worker on `db`.
    pub fn start_queue(&self, db: Db) {
        let jobs = self.clone();
        self.spawn_loop("jobs.queue", move |stop| {
            work(jobs.clone(), db.clone(), stop)
        });
    }

    /// Waits until the job `id` has ended (done, failed or cancelled) and returns it; `None` if
    /// there is no such job.
    pub async fn wait(&self, db: &Db, id: i64) -> sqlx::Result<Option<store::JobRow>> {
        loop {
            let ended = self.0.queue.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            match store::get(db, id).await? {
                Some(row) if !matches!(row.state.as_str(), "queued" | "running") => {
                    return Ok(Some(row));
                }
                Some(_) => {}
                None => return Ok(None),
            }
            // Another instance may run it: read again now and then even without a wake-up.
            tokio::select! {
                _ = ended => {}
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
        }
    }

    fn handlers(&self) -> HashMap<&'static str, Handler> {
        self.0
            .queue
            .handlers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// The worker: claims due jobs while it has room, runs each in its own task, and on stop waits
/// for the running ones (they see `stop` too).
async fn work(jobs: Jobs, db: Db, stop: CancellationToken) {
    let handlers = jobs.handlers();
    let kinds: Vec<&str> = handlers.keys().copied().collect();
    let mut running = JoinSet::new();
    while !stop.is_cancelled() {
        while running.len() < CONCURRENCY {
            let now = Utc::now();
            match store::claim(&db, &kinds, jobs.instance(), now, until(now)).await {
                Ok(Some(row)) => {
                    let Some((kind, handler)) = handlers.get_key_value(row.kind.as_str()) else {
                        break;
                    };
                    let run = run(
                        jobs.clone(),
                        db.clone(),
                        row,
                        (kind, handler.clone()),
                        stop.clone(),
                    );
                    running.spawn(run);
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot claim a queued job");
                    break;
                }
            }
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = jobs.0.queue.queued.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
            Some(_) = running.join_next(), if !running.is_empty() => {}
        }
    }
    while running.join_next().await.is_some() {}
}

fn until(now: DateTime<Utc>) -> DateTime<Utc> {
    now + chrono::Duration::from_std(CLAIM).unwrap_or_else(|_| chrono::Duration::seconds(30))
}

/// Runs one claimed job to its end, keeping the claim fresh meanwhile.
async fn run(
    jobs: Jobs,
    db: Db,
    row: store::JobRow,
    (kind, handler): (&'static str, Handler),
    stop: CancellationToken,
) {
    let instance = jobs.instance().to_string();
    if row.attempts > row.max_attempts {
        let error = format!(
            "its instance stopped during attempt {} of {}",
            row.max_attempts, row.max_attempts
        );
        tracing::warn!(job = row.id, kind, "queued job lost its instance; failed");
        let end = store::End::Failed {
            error: &error,
            detail: None,
        };
        let _ = store::end(&db, row.id, &instance, end, Utc::now()).await;
        jobs.count(kind, true, false);
        jobs.0.queue.ended.notify_waiters();
        return;
    }
    let payload = serde_json::from_str(&row.payload).unwrap_or(Value::Null);
    let context = Context {
        id: row.id,
        organization_id: row.organization_id,
        payload,
        attempt: row.attempts,
        created_by: row.created_by.clone(),
        stop,
        db: db.clone(),
    };
    let span = tracing::info_span!("job", job = kind, id = row.id);
    let started = tokio::time::Instant::now();
    let mut task = tokio::spawn(handler(context).instrument(span));
    let mut refresh = tokio::time::interval(CLAIM / 3);
    refresh.tick().await;
    let outcome = loop {
        tokio::select! {
            outcome = &mut task => break outcome,
            _ = refresh.tick() => {
                match store::extend(&db, row.id, &instance, until(Utc::now())).await {
                    Ok(0) => tracing::warn!(job = row.id, "another instance took this job"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(job = row.id, error = %e, "cannot extend the claim"),
                }
            }
        }
    };
    metrics::histogram!("jobs_duration_seconds", "job" => kind)
        .record(started.elapsed().as_secs_f64());
    let now = Utc::now();
    let (result, panicked) = match outcome {
        Ok(result) => (result, false),
        Err(e) => (
            Err(Error::Internal(format!("the job panicked: {e}"))),
            e.is_panic(),
        ),
    };
    let failed = result.is_err();
    let mut ended = None;
    let stored = match result {
        Ok(value) => {
            let text = value.to_string();
            ended = Some(Ok(value));
            store::end(&db, row.id, &instance, store::End::Done(&text), now).await
        }
        Err(e) => {
            let error = e.to_string();
            let detail = failure::to_json(&e).to_string();
            tracing::warn!(job = row.id, kind, attempt = row.attempts, error = %error,
                "queued job failed");
            let end = if row.attempts < row.max_attempts && failure::retryable(&e) {
                let wait = RETRY.delay(row.attempts as u32, rand::random());
                let run_after = now + chrono::Duration::from_std(wait).unwrap_or_default();
                store::End::Retry {
                    error: &error,
                    run_after,
                }
            } else {
                ended = Some(Err(error.clone()));
                store::End::Failed {
                    error: &error,
                    detail: Some(&detail),
                }
            };
            store::end(&db, row.id, &instance, end, now).await
        }
    };
    match stored {
        Err(e) => tracing::warn!(job = row.id, error = %e, "cannot store the end of a queued job"),
        // 0 rows: another instance took the job meanwhile; its end is that one's to tell.
        Ok(0) => {}
        Ok(_) => {
            if let Some(outcome) = ended {
                announce(&db, &row, kind, outcome).await;
            }
        }
    }
    jobs.count(kind, failed, panicked);
    jobs.0.queue.ended.notify_waiters();
}

/// Records `job.done` or `job.failed` for a job that ended for good, so integrations (webhooks)
/// hear of it. Webhook delivery jobs are left out: their end would be an event, delivered by
/// another job, without end.
async fn announce(
    db: &Db,
    row: &store::JobRow,
    kind: &str,
    outcome: std::result::Result<Value, String>,
) {
    if kind == crate::system::webhooks::deliver::KIND {
        return;
    }
    let path = match crate::orgs::path_of(db, row.organization_id).await {
        Ok(Some(path)) => path,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(job = row.id, error = %e, "cannot file the job's end event");
            return;
        }
    };
    let (event, severity, message, detail) = match outcome {
        Ok(result) => (
            "job.done",
            crate::system::events::Severity::Info,
            format!("job {} ({kind}) done", row.id),
            serde_json::json!({"kind": kind, "attempts": row.attempts, "result": result}),
        ),
        Err(error) => (
            "job.failed",
            crate::system::events::Severity::Warning,
            format!("job {} ({kind}) failed: {error}", row.id),
            serde_json::json!({"kind": kind, "attempts": row.attempts, "error": error}),
        ),
    };
    let recorded = crate::system::events::record(
        db,
        crate::system::events::NewEvent {
            organization_id: row.organization_id,
            organization_path: &path,
            source: "jobs",
            severity,
            entity_type: "job",
            entity_id: row.id.to_string(),
            event,
            message,
            detail: Some(detail),
        },
    )
    .await;
    if let Err(e) = recorded {
        tracing::warn!(job = row.id, error = %e, "cannot record the job's end event");
    }
}
