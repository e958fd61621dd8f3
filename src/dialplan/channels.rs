//! Channels in use per trunk as the PBX reports them (`PUT /v1/siptrunks/{id}/channels`), kept
//! in memory per instance. A report older than the staleness bound is ignored: a PBX that
//! stopped reporting must not keep a trunk blocked. Time is passed in.

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::RwLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub in_use: u32,
    pub reported_at: DateTime<Utc>,
}

/// The last report of every trunk.
pub struct Channels {
    ttl: Duration,
    by_trunk: RwLock<HashMap<i64, Report>>,
}

impl Channels {
    pub fn new(ttl: std::time::Duration) -> Self {
        Self {
            ttl: Duration::from_std(ttl).unwrap_or(Duration::MAX),
            by_trunk: RwLock::default(),
        }
    }

    pub fn report(&self, trunk_id: i64, in_use: u32, now: DateTime<Utc>) {
        self.by_trunk
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                trunk_id,
                Report {
                    in_use,
                    reported_at: now,
                },
            );
    }

    /// The last report, if any and not stale at `now`.
    pub fn current(&self, trunk_id: i64, now: DateTime<Utc>) -> Option<Report> {
        self.by_trunk
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&trunk_id)
            .copied()
            .filter(|r| now - r.reported_at <= self.ttl)
    }

    /// Channels in use now (0 when unknown or stale).
    pub fn in_use(&self, trunk_id: i64, now: DateTime<Utc>) -> u32 {
        self.current(trunk_id, now).map_or(0, |r| r.in_use)
    }

    pub fn forget(&self, trunk_id: i64) {
        self.by_trunk
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&trunk_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_reports_are_ignored() {
        let channels = Channels::new(std::time::Duration::from_secs(60));
        let t0 = Utc::now();
        assert_eq!(channels.in_use(1, t0), 0);
        channels.report(1, 30, t0);
        assert_eq!(channels.in_use(1, t0 + Duration::seconds(60)), 30);
        assert_eq!(channels.in_use(1, t0 + Duration::seconds(61)), 0);
        assert!(channels.current(1, t0 + Duration::seconds(61)).is_none());
        channels.forget(1);
        assert_eq!(channels.in_use(1, t0), 0);
    }
}
