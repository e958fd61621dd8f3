//! Other instances' changes: every [`POLL_EVERY`] one read of the revision table, and each
//! kind whose revision moved past what this instance has heard of is republished here — with
//! its detail when exactly one change happened, as the whole kind when several did.

use super::{Change, Changes};
use std::collections::HashMap;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A read of a few rows by primary key: cheap enough to keep other instances within a second.
pub const POLL_EVERY: Duration = Duration::from_millis(250);

/// Polls the revision table every `every` until `shutdown` and republishes what other
/// instances published. The first read only notes where the table stands (what happened before
/// this instance started is already in what it loads); if that read fails, the first later one
/// that succeeds tells subscribers `Everything`, since changes may have been missed meanwhile.
pub async fn follow(changes: Changes, every: Duration, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        match changes.catch_up().await {
            Ok(()) => failing = false,
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "cannot read the change revisions; other instances' changes wait");
            }
            Err(e) => tracing::debug!(error = %e, "change revisions still unreadable"),
        }
    }
}

impl Changes {
    /// Notes where the revision table stands without republishing anything; the daemon calls
    /// it before it loads its copies, so a change committed in between is not missed.
    pub async fn prime(&self) -> sqlx::Result<()> {
        let rows = super::store::all(&self.0.db).await?;
        let mut seen = self.0.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.is_none() {
            *seen = Some(rows.into_iter().map(|(k, r, _)| (k, r)).collect());
        }
        Ok(())
    }

    /// One poll: republishes every kind that moved since it was last seen.
    pub async fn catch_up(&self) -> sqlx::Result<()> {
        let rows = super::store::all(&self.0.db).await?;
        let missed = {
            let mut guard = self.0.seen.lock().unwrap_or_else(|p| p.into_inner());
            match guard.as_mut() {
                None => {
                    *guard = Some(rows.into_iter().map(|(k, r, _)| (k, r)).collect());
                    vec![Change::Everything]
                }
                Some(seen) => moved(seen, rows),
            }
        };
        for change in missed {
            metrics::counter!("changes_received_total", "kind" => change.kind()).increment(1);
            self.deliver(change);
        }
        Ok(())
    }
}

/// The changes `rows` show past `seen`, which it moves on.
fn moved(seen: &mut HashMap<String, i64>, rows: Vec<(String, i64, String)>) -> Vec<Change> {
    let mut out = Vec::new();
    for (kind, revision, detail) in rows {
        let known = seen.entry(kind.clone()).or_insert(0);
        if revision <= *known {
            continue;
        }
        let detail = (revision == *known + 1).then_some(detail.as_str());
        *known = revision;
        if let Some(change) = Change::from_row(&kind, detail) {
            out.push(change);
        }
    }
    out
}
