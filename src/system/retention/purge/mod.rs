//! The purge: one job kind ([`KIND`]) of the job queue that removes, per purged kind and
//! organization, what is older than the organization's retention (`retention::rules`), except
//! what an active legal hold keeps. Queued on demand (`POST /v1/retention/purge`, scoped to the
//! caller's subtree; `dry_run` counts instead of deleting) and by housekeeping every
//! `[retention] purge_every_h` for the whole tree. A run holds the lease [`LEASE`], so only one
//! purge runs at a time across every instance; it deletes in batches of `[retention] batch`
//! rows and reports what it removed (or would remove) per kind and organization.
//!
//! No table is partitioned today (on PostgreSQL either), so every kind is purged by deleting
//! rows; dropping whole partitions is for the kinds that will be (CDRs).

mod store;

use super::rules::{self, Held};
use super::{Kind, default_days, overrides_of_kind};
use crate::auth::{Caller, Permission};
use crate::db::lease;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::system::audit;
use crate::system::jobs::queue::{self, Context};
use crate::system::jobs::view::{self, QueuedJob};
use crate::system::legalholds;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// The queue's kind of a purge.
pub const KIND: &str = "retention.purge";
/// The lease a running purge holds.
pub const LEASE: &str = "retention.purge";
/// Who the scheduled purges are queued by.
const SCHEDULER: &str = "housekeeping";
/// How often a purge waiting for another instance's to end asks for the lease again.
const LEASE_RETRY: Duration = Duration::from_millis(250);

#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    dry_run: bool,
    /// The materialized path of the subtree to purge (`/1/`: everything).
    scope: String,
}

/// What one purge removed (a dry run: would remove), as the job's result.
#[derive(Debug, Serialize, Deserialize)]
pub struct Report {
    pub dry_run: bool,
    /// Rows per kind.
    pub removed: BTreeMap<String, u64>,
    /// Rows per kind and organization (organizations with none left out).
    pub organizations: Vec<Removed>,
    /// The instance that ran it, and when it held the lease.
    pub instance: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// The daemon stopped before the purge had looked at everything.
    pub interrupted: bool,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Removed {
    pub kind: Kind,
    pub organization_id: i64,
    pub removed: u64,
}

/// Makes the queue's workers run purges.
pub fn register(state: &AppState) {
    let state = state.clone();
    state
        .jobs
        .clone()
        .handle(KIND, move |context| Box::pin(run(state.clone(), context)));
}

/// `POST /v1/retention/purge`: queues a purge of the caller's subtree (audited) and answers
/// with the job.
pub async fn start(state: &AppState, caller: &Caller, dry_run: bool) -> Result<QueuedJob> {
    caller.require(Permission::RetentionWrite)?;
    let payload = Payload {
        dry_run,
        scope: caller.organization_path.clone(),
    };
    let id = enqueue(
        state,
        caller.organization_id,
        &caller.organization_path,
        &payload,
        &caller.username,
        Some(&caller.actor()),
    )
    .await?;
    view::visible(&state.db, caller, id).await
}

async fn enqueue(
    state: &AppState,
    organization_id: i64,
    path: &str,
    payload: &Payload,
    by: &str,
    actor: Option<&audit::Actor>,
) -> Result<i64> {
    let payload = serde_json::to_value(payload).map_err(|e| Error::Internal(e.to_string()))?;
    let mut tx = state.db.begin().await?;
    let job = queue::NewJob {
        kind: KIND,
        organization_id,
        payload: &payload,
        max_attempts: 3,
        created_by: by,
    };
    let id = queue::enqueue(&mut tx, &job).await?;
    let actor = actor.cloned().unwrap_or_else(|| audit::Actor::system(by));
    let change = audit::Change {
        organization_id,
        organization_path: path,
        action: "purge",
        entity_type: "retention",
        entity_id: organization_id.to_string(),
        before: None,
        after: Some(serde_json::json!({"job_id": id, "payload": payload})),
    };
    audit::record(&mut tx, &actor, change).await?;
    tx.commit().await?;
    state.jobs.wake();
    Ok(id)
}

/// Housekeeping's part: queues a purge of the whole tree when the last scheduled one was
/// queued `[retention] purge_every_h` ago or more (or never).
pub async fn schedule(state: &AppState) -> Result<()> {
    let every = state.config.retention.purge_every_h;
    if every == 0 {
        return Ok(());
    }
    let Some(platform) = crate::orgs::platform(&state.db).await? else {
        return Ok(());
    };
    let last = queue::store::last_queued(&state.db, KIND, SCHEDULER).await?;
    let due = chrono::Duration::hours(i64::from(every)) - chrono::Duration::minutes(5);
    if last.is_some_and(|at| Utc::now() - at < due) {
        return Ok(());
    }
    let payload = Payload {
        dry_run: false,
        scope: platform.path.clone(),
    };
    let id = enqueue(
        state,
        platform.id,
        &platform.path,
        &payload,
        SCHEDULER,
        None,
    )
    .await?;
    tracing::info!(job = id, "scheduled purge queued");
    Ok(())
}

/// Waits for the lease: another instance's purge ends first.
async fn hold_lease(state: &AppState, context: &Context) -> Result<lease::Lease> {
    loop {
        if let Some(held) = lease::try_acquire(&state.db, LEASE).await? {
            return Ok(held);
        }
        tokio::select! {
            _ = context.stop.cancelled() => {
                return Err(Error::Unavailable("the daemon stopped before the purge ran".into()));
            }
            _ = tokio::time::sleep(LEASE_RETRY) => {}
        }
    }
}

async fn run(state: AppState, context: Context) -> Result<Value> {
    let payload: Payload = serde_json::from_value(context.payload.clone())
        .map_err(|e| Error::Internal(format!("purge job {}: payload: {e}", context.id)))?;
    let _lease = hold_lease(&state, &context).await?;
    let started_at = Utc::now();
    let report = purge(&state, &context, &payload, started_at).await?;
    tracing::info!(job = context.id, dry_run = payload.dry_run, removed = ?report.removed,
        "purge done");
    serde_json::to_value(report).map_err(|e| Error::Internal(e.to_string()))
}

async fn purge(
    state: &AppState,
    context: &Context,
    payload: &Payload,
    now: DateTime<Utc>,
) -> Result<Report> {
    let db = &state.db;
    let like = format!("{}%", payload.scope);
    let batch = i64::from(state.config.retention.batch);
    let holds = legalholds::active(db).await?;
    let mut report = Report {
        dry_run: payload.dry_run,
        removed: BTreeMap::new(),
        organizations: Vec::new(),
        instance: state.jobs.instance().to_string(),
        started_at: now,
        finished_at: now,
        interrupted: false,
    };
    let total = i64::try_from(Kind::PURGED.len()).unwrap_or(0);
    for (done, kind) in (0..).zip(Kind::PURGED) {
        context.progress(done, Some(total)).await;
        let overrides = overrides_of_kind(db, kind).await?;
        let default = default_days(&state.config, kind);
        let shortest = overrides
            .shortest_days()
            .map_or(default, |d| d.min(default));
        let mut sum = 0;
        for (org, path) in store::candidates(db, kind, rules::cutoff(now, shortest), &like).await? {
            let resolved = rules::resolve(default, &overrides.chain(&rules::chain_ids(&path)));
            let held: Vec<Held> = holds
                .iter()
                .filter(|h| h.covers(&path, kind))
                .map(|h| (h.from, h.until))
                .collect();
            let mut removed = 0;
            for span in rules::deletable(rules::cutoff(now, resolved.days), &held) {
                if payload.dry_run {
                    removed += store::count(db, kind, org, span).await?;
                    continue;
                }
                loop {
                    let gone = store::delete_batch(db, kind, org, span, batch).await?;
                    removed += gone;
                    if gone < batch.unsigned_abs() || context.stop.is_cancelled() {
                        break;
                    }
                }
            }
            if removed > 0 {
                report.organizations.push(Removed {
                    kind,
                    organization_id: org,
                    removed,
                });
                sum += removed;
            }
            if context.stop.is_cancelled() {
                report.interrupted = true;
                break;
            }
        }
        report.removed.insert(kind.as_str().to_string(), sum);
        if report.interrupted {
            break;
        }
    }
    context.progress(total, Some(total)).await;
    report.finished_at = Utc::now();
    Ok(report)
}
