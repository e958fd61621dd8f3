//! The change feed that keeps every in-memory copy fresh: a service publishes a typed
//! [`Change`] after its transaction commits (from the service function, so a CLI import or a
//! job that calls it refreshes caches as a request does), and each copy subscribes in its own
//! room. Locally a change travels on a broadcast channel; a subscriber that falls behind is
//! told [`Change::Everything`] instead of blocking publishers. Other instances sharing the
//! database see it through one revision table (a row per kind, bumped by every publish), which
//! [`follow`] polls and republishes to this instance's subscribers.

mod change;
mod poll;
mod store;

pub use change::{
    Change, DeviceChanged, OrgAccessChanged, OrganizationChanged, PolicyChanged, TemplatesChanged,
    TrunkChanged,
};
pub use poll::{POLL_EVERY, follow};

use crate::db::Db;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use tokio::sync::broadcast;

/// Changes a subscriber may fall behind by before it is told "everything changed".
const CAPACITY: usize = 1024;

/// The feed: cheap to clone, one per instance.
#[derive(Clone)]
pub struct Changes(Arc<Inner>);

struct Inner {
    db: Db,
    sender: broadcast::Sender<Change>,
    /// Per kind, the revision this instance's subscribers have heard of; None until the table
    /// was first read.
    seen: Mutex<Option<HashMap<String, i64>>>,
}

impl std::fmt::Debug for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Changes").finish_non_exhaustive()
    }
}

impl Changes {
    pub fn new(db: Db) -> Self {
        Self::with_capacity(db, CAPACITY)
    }

    /// A feed whose subscribers may fall `capacity` changes behind.
    pub fn with_capacity(db: Db, capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        Self(Arc::new(Inner {
            db,
            sender,
            seen: Mutex::new(None),
        }))
    }

    /// Tells this instance's subscribers and, through the revision table, every other
    /// instance. Call it after the transaction that made the change committed, so whoever
    /// reloads on it reads the new rows. Never fails: if the table cannot be written the
    /// change still reaches this instance, and other instances' caches age out (logged).
    pub async fn publish(&self, change: impl Into<Change>) {
        let change = change.into();
        if change == Change::Everything {
            self.deliver(change);
            return;
        }
        match store::bump(&self.0.db, change.kind(), &change.detail()).await {
            Ok(revision) => self.heard(change.kind(), revision),
            Err(e) => {
                metrics::counter!("changes_publish_failures_total").increment(1);
                tracing::warn!(error = %e, kind = change.kind(), "cannot record a change for other instances");
            }
        }
        metrics::counter!("changes_published_total", "kind" => change.kind()).increment(1);
        self.deliver(change);
    }

    /// Changes published from now on, in order.
    pub fn subscribe(&self) -> Subscription {
        Subscription(self.0.sender.subscribe())
    }

    fn deliver(&self, change: Change) {
        // No subscriber (a CLI command, a test) is fine: nothing holds a copy.
        let _ = self.0.sender.send(change);
    }

    /// Our own publish moved `kind` to `revision`: if that is the only step since what we
    /// had seen, the poller need not republish it.
    fn heard(&self, kind: &str, revision: i64) {
        let mut seen = self.0.seen.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(seen) = seen.as_mut() {
            let known = seen.entry(kind.to_string()).or_insert(0);
            if *known == revision - 1 {
                *known = revision;
            }
        }
    }
}

/// One subscriber's place in the feed.
pub struct Subscription(broadcast::Receiver<Change>);

impl Subscription {
    /// The next change. A subscriber that fell more than the channel's capacity behind gets
    /// [`Change::Everything`] (what it missed is gone) and continues with the newest ones.
    pub async fn recv(&mut self) -> Change {
        match self.0.recv().await {
            Ok(change) => change,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                metrics::counter!("changes_lagged_total").increment(missed);
                Change::Everything
            }
            // The feed lives as long as the state; once dropped nothing changes any more.
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests;
