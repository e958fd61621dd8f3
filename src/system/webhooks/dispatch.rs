//! The dispatcher: on every instance, a loop that finds endpoints with deliveries waiting and
//! no queued or running `webhooks.deliver` job, and queues one. The endpoint row names its one
//! active job (`job_id`, set by compare-and-swap), so instances never queue two for the same
//! endpoint and deliveries keep their order. Recording an event here wakes the loop at once;
//! otherwise it looks every `[webhooks] dispatch_poll_ms`, which also catches events recorded
//! on other instances, retries that came due and endpoints turned back on.

use super::deliver::KIND;
use super::store;
use crate::error::Result;
use crate::state::AppState;
use crate::system::jobs::queue::{self, NewJob};
use chrono::Utc;
use serde_json::json;
use std::sync::LazyLock;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

static WAKE: LazyLock<Notify> = LazyLock::new(Notify::new);

/// Endpoints one look queues jobs for at most.
const PER_LOOK: i64 = 200;
/// Attempts of one delivery job before the queue gives it up (it is queued again by the next
/// look when deliveries still wait).
const JOB_ATTEMPTS: i64 = 3;
/// The pause after a wake-up before looking: the wake comes from inside the transaction that
/// wrote the deliveries, which commits a moment later.
const SETTLE: Duration = Duration::from_millis(5);

/// A delivery was written: dispatchers look now (rather than at their next poll).
pub fn wake() {
    WAKE.notify_waiters();
}

/// The dispatcher loop of this instance.
pub async fn run(state: AppState, stop: CancellationToken) {
    let poll = Duration::from_millis(state.config.webhooks.dispatch_poll_ms);
    loop {
        let woken = WAKE.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        match look(&state).await {
            Ok(0) => {}
            Ok(queued) => tracing::debug!(queued, "webhook delivery jobs queued"),
            Err(e) => tracing::warn!(error = %e, "cannot queue webhook deliveries"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = &mut woken => tokio::time::sleep(SETTLE).await,
            _ = tokio::time::sleep(poll) => {}
        }
    }
}

/// One look: queues a delivery job for every endpoint that needs one; returns how many.
pub async fn look(state: &AppState) -> Result<usize> {
    let idle = store::idle_with_work(&state.db, Utc::now(), PER_LOOK).await?;
    let mut queued = 0;
    for endpoint in idle {
        let mut tx = state.db.begin().await?;
        let payload = json!({ "endpoint_id": endpoint.id });
        let job = queue::enqueue(
            &mut tx,
            &NewJob {
                kind: KIND,
                organization_id: endpoint.organization_id,
                payload: &payload,
                max_attempts: JOB_ATTEMPTS,
                created_by: "webhooks",
            },
        )
        .await?;
        if store::claim_job(&mut tx, endpoint.id, endpoint.job_id, job).await? {
            tx.commit().await?;
            queued += 1;
        } else {
            drop(tx);
        }
    }
    if queued > 0 {
        state.jobs.wake();
    }
    Ok(queued)
}
