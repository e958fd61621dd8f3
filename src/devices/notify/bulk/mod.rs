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

mod progress;
mod run;
mod start;

use progress::progress_of;
pub use progress::{current_state, progress, results};
pub use run::{KIND, register};
pub use start::start;

use super::store::{JobRow, ResultRow};
use super::target::{Action, Outcome};
use crate::error::{Error, Result};
use crate::types::sip_uri::SipUri;
use crate::types::{Mac, Vendor};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
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
