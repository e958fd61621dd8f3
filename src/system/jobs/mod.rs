//! Supervised background work: every task the daemon runs besides its listeners is a job of one
//! [`Jobs`] set. A job has a name (its tracing span, its metric label), runs as a long-lived
//! loop, on a schedule (an interval with jitter), or off the queue (`queue`: rows any instance
//! may claim), and may hold a database lease (`db::lease`) so only one instance runs it. A job
//! that panics is logged, counted and restarted after a backoff; the daemon never goes down
//! with it. Shutdown stops every job and waits for those mid-work before the pool closes.

pub mod api;
pub mod queue;
pub mod schedule;
mod supervise;
pub mod view;

use schedule::{Backoff, Every};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long a panicked job waits before it is started again (doubling while it keeps failing).
const RESTART: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));

/// What a job has done since the daemon started; also exported to Prometheus as
/// `jobs_runs_total`, `jobs_failures_total`, `jobs_panics_total` (label `job`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Runs that ended (scheduled and queued jobs) or starts (loops, counting restarts).
    pub runs: u64,
    /// Runs that ended in an error or a panic.
    pub failures: u64,
    /// Of those, panics.
    pub panics: u64,
}

/// The daemon's job set: a cheap-to-clone handle every room can spawn on.
#[derive(Clone)]
pub struct Jobs(Arc<Inner>);

struct Inner {
    tracker: TaskTracker,
    stop: CancellationToken,
    /// Who this process is in the queue's `claimed_by`.
    instance: String,
    stats: Mutex<HashMap<&'static str, Stats>>,
    queue: queue::Shared,
}

impl Default for Jobs {
    fn default() -> Self {
        Self::new()
    }
}

impl Jobs {
    pub fn new() -> Self {
        Self(Arc::new(Inner {
            tracker: TaskTracker::new(),
            stop: CancellationToken::new(),
            instance: format!("{}-{:08x}", std::process::id(), rand::random::<u32>()),
            stats: Mutex::default(),
            queue: queue::Shared::default(),
        }))
    }

    /// This process's name in the queue (`claimed_by`).
    pub fn instance(&self) -> &str {
        &self.0.instance
    }

    /// What the job `name` has done so far.
    pub fn stats(&self, name: &str) -> Stats {
        let stats = self.0.stats.lock().unwrap_or_else(|p| p.into_inner());
        stats.get(name).copied().unwrap_or_default()
    }

    /// A long-running task (a listener loop, a watcher): `start(stop)` is called once, and again
    /// after a backoff if the task panicked. The task ends when it returns; it must return soon
    /// after `stop` is cancelled.
    pub fn spawn_loop<F, Fut>(&self, name: &'static str, start: F)
    where
        F: FnMut(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let jobs = self.clone();
        self.0
            .tracker
            .spawn(supervise::run_loop(jobs, name, RESTART, start));
    }

    /// A job run every `every` (first at `first`), on one instance only when `lease` names the
    /// database to take the job's lease in. A run is never cut short by shutdown: the set waits
    /// for it.
    pub fn spawn_every<F, Fut>(&self, scheduled: Scheduled, job: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = crate::error::Result<()>> + Send + 'static,
    {
        let jobs = self.clone();
        self.0
            .tracker
            .spawn(supervise::run_every(jobs, scheduled, job));
    }

    /// Tells every job to stop (and the queue's worker to claim nothing more); see [`shutdown`].
    ///
    /// [`shutdown`]: Jobs::shutdown
    pub fn stop(&self) {
        self.0.stop.cancel();
        self.0.tracker.close();
    }

    /// Whether [`stop`](Jobs::stop) was called.
    pub fn stopping(&self) -> bool {
        self.0.stop.is_cancelled()
    }

    /// Stops every job and waits at most `grace` for them to end. False if some did not.
    pub async fn shutdown(&self, grace: Duration) -> bool {
        self.stop();
        let ended = tokio::time::timeout(grace, self.0.tracker.wait())
            .await
            .is_ok();
        if !ended {
            tracing::warn!(
                grace_s = grace.as_secs(),
                "jobs did not finish within the drain timeout"
            );
        }
        ended
    }

    fn stop_token(&self) -> CancellationToken {
        self.0.stop.child_token()
    }

    fn count(&self, name: &'static str, failed: bool, panicked: bool) {
        let mut stats = self.0.stats.lock().unwrap_or_else(|p| p.into_inner());
        let entry = stats.entry(name).or_default();
        entry.runs += 1;
        metrics::counter!("jobs_runs_total", "job" => name).increment(1);
        if failed || panicked {
            entry.failures += 1;
            metrics::counter!("jobs_failures_total", "job" => name).increment(1);
        }
        if panicked {
            entry.panics += 1;
            metrics::counter!("jobs_panics_total", "job" => name).increment(1);
        }
    }
}

/// How a scheduled job runs.
#[derive(Debug, Clone)]
pub struct Scheduled {
    pub name: &'static str,
    pub every: Every,
    /// The wait before the first run.
    pub first: Duration,
    /// The database whose lease (named after the job) makes it a cross-instance singleton.
    pub lease: Option<crate::db::Db>,
}

#[cfg(test)]
mod tests;
