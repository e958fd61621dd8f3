//! When and from where each key was last used: noted in memory on every request (a request
//! costs no write) and written to the database by the `apikeys.usage` job every
//! `auth.apikey_usage_flush_s` seconds and once more at shutdown, only for keys used since the
//! last write.

use crate::state::AppState;
use chrono::{DateTime, SubsecRound, Utc};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// When and from where a key was last used.
type LastUse = (DateTime<Utc>, Option<IpAddr>);

/// The uses not yet written, the latest per key.
#[derive(Debug, Default)]
pub struct Usage {
    pending: Mutex<HashMap<i64, LastUse>>,
}

impl Usage {
    /// Notes that key `id` was used at `at` from `ip`.
    pub fn record(&self, id: i64, at: DateTime<Utc>, ip: Option<IpAddr>) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.insert(id, (at.trunc_subsecs(0), ip));
    }

    /// The uses noted since the last call, oldest key first.
    pub fn take(&self) -> Vec<(i64, DateTime<Utc>, Option<IpAddr>)> {
        let taken = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        let mut uses: Vec<_> = taken
            .into_iter()
            .map(|(id, (at, ip))| (id, at, ip))
            .collect();
        uses.sort_by_key(|(id, _, _)| *id);
        uses
    }

    /// Puts back uses a failed write did not store, unless a newer use came meanwhile.
    fn restore(&self, uses: Vec<(i64, DateTime<Utc>, Option<IpAddr>)>) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        for (id, at, ip) in uses {
            pending.entry(id).or_insert((at, ip));
        }
    }
}

/// Writes what was noted; on failure the uses wait for the next flush.
pub async fn flush(state: &AppState) -> crate::error::Result<usize> {
    let uses = state.apikey_usage.take();
    if uses.is_empty() {
        return Ok(0);
    }
    match super::store::record_usage(&state.db, &uses).await {
        Ok(()) => Ok(uses.len()),
        Err(e) => {
            state.apikey_usage.restore(uses);
            Err(e.into())
        }
    }
}

/// Starts the `apikeys.usage` job.
pub fn register(state: &AppState) {
    let state = state.clone();
    let every = Duration::from_secs(state.config.auth.apikey_usage_flush_s);
    state
        .jobs
        .clone()
        .spawn_loop("apikeys.usage", move |stop| run(state.clone(), every, stop));
}

async fn run(state: AppState, every: Duration, stop: CancellationToken) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        let stopping = tokio::select! {
            _ = stop.cancelled() => true,
            _ = tick.tick() => false,
        };
        if let Err(e) = flush(&state).await {
            tracing::warn!(error = %e, "cannot write API keys' last use; retrying at the next flush");
        }
        if stopping {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_use_per_key_is_kept_until_taken() {
        let usage = Usage::default();
        let t0 = DateTime::parse_from_rfc3339("2030-01-01T00:00:00.750Z")
            .unwrap()
            .to_utc();
        let ip = |last: u8| Some(IpAddr::from([192, 0, 2, last]));
        usage.record(7, t0, ip(1));
        usage.record(3, t0, None);
        usage.record(7, t0 + chrono::Duration::seconds(5), ip(2));
        let taken = usage.take();
        let whole = t0.trunc_subsecs(0);
        assert_eq!(
            taken,
            vec![
                (3, whole, None),
                (7, whole + chrono::Duration::seconds(5), ip(2))
            ]
        );
        assert!(usage.take().is_empty(), "only uses since the last flush");
        usage.record(7, t0 + chrono::Duration::seconds(9), ip(3));
        usage.restore(taken);
        let again = usage.take();
        assert_eq!(again.len(), 2);
        assert_eq!(
            again[1],
            (7, whole + chrono::Duration::seconds(9), ip(3)),
            "newer wins"
        );
    }
}
