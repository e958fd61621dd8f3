//! The pinger's view: every enabled gateway with its trunk's policy, parsed from what is stored.

use super::{PING_INTERVALS, THRESHOLDS};
use crate::db::Db;
use crate::error::Result;
use crate::gateways::health::{AliveCodes, Policy};
use crate::gateways::model::{GATEWAY, TRUNK};
use crate::gateways::store::{self, pinger::PingRow};
use crate::types::SipUri;
use crate::types::column::{Corrupt, parse_stored};
use std::ops::RangeInclusive;
use std::time::Duration;

/// One enabled gateway as the pinger needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct PingTarget {
    pub gateway_id: i64,
    pub trunk_id: i64,
    pub organization_id: i64,
    /// The owning organization's path (scopes the events the pinger logs).
    pub organization_path: String,
    pub uri: SipUri,
    /// Override of the pinger's interval while up (None: the default).
    pub ping_interval: Option<Duration>,
    /// Override of the pinger's interval while down (None: the default).
    pub down_ping_interval: Option<Duration>,
    pub policy: Policy,
}

/// A stored number the API would have refused is corrupt, like any other stored value.
fn stored_in_range(
    (table, id): (&str, i64),
    column: &'static str,
    value: i64,
    range: RangeInclusive<i64>,
) -> sqlx::Result<u32> {
    range
        .contains(&value)
        .then(|| u32::try_from(value).ok())
        .flatten()
        .ok_or_else(|| {
            let why = format!("not between {} and {}", range.start(), range.end());
            Corrupt::value(column, &value.to_string(), why)
                .row(table, id)
                .into_sqlx()
        })
}

impl TryFrom<PingRow> for PingTarget {
    type Error = sqlx::Error;

    fn try_from(row: PingRow) -> sqlx::Result<Self> {
        let gateway = (GATEWAY, row.gateway_id);
        let trunk = (TRUNK, row.trunk_id);
        let seconds = |column, value: Option<i64>| {
            value
                .map(|s| stored_in_range(gateway, column, s, PING_INTERVALS))
                .transpose()
                .map(|s| s.map(|s| Duration::from_secs(u64::from(s))))
        };
        Ok(Self {
            gateway_id: row.gateway_id,
            trunk_id: row.trunk_id,
            organization_id: row.organization_id,
            uri: parse_stored(GATEWAY, row.gateway_id, "uri", &row.uri, SipUri::parse)?,
            ping_interval: seconds("ping_interval_s", row.ping_interval_s)?,
            down_ping_interval: seconds("down_ping_interval_s", row.down_ping_interval_s)?,
            policy: Policy {
                failures_to_down: stored_in_range(
                    trunk,
                    "failures_to_down",
                    row.failures_to_down,
                    THRESHOLDS,
                )?,
                successes_to_up: stored_in_range(
                    trunk,
                    "successes_to_up",
                    row.successes_to_up,
                    THRESHOLDS,
                )?,
                alive: parse_stored(
                    TRUNK,
                    row.trunk_id,
                    "alive_codes",
                    &row.alive_codes,
                    AliveCodes::parse,
                )?,
            },
            organization_path: row.organization_path,
        })
    }
}

/// Every enabled gateway with its trunk's policy, in one query. A gateway whose stored values
/// no longer parse (they were validated on the way in) is not pinged, and the log names the
/// row: its health stays unknown rather than judged by a default policy.
pub async fn ping_targets(db: &Db) -> Result<Vec<PingTarget>> {
    let rows = store::pinger::targets(db).await?;
    let mut targets = Vec::with_capacity(rows.len());
    for row in rows {
        match PingTarget::try_from(row) {
            Ok(target) => targets.push(target),
            Err(e) => tracing::warn!(error = %e, "stored gateway does not parse; not pinged"),
        }
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::column::corrupt_of;

    fn row() -> PingRow {
        PingRow {
            gateway_id: 7,
            trunk_id: 3,
            organization_id: 1,
            organization_path: "/1/".into(),
            uri: "sip:gw.example.com".into(),
            ping_interval_s: Some(15),
            down_ping_interval_s: None,
            failures_to_down: 5,
            successes_to_up: 1,
            alive_codes: "200".into(),
        }
    }

    #[test]
    fn a_stored_row_becomes_a_target() {
        let target = PingTarget::try_from(row()).unwrap();
        assert_eq!(target.uri.to_string(), "sip:gw.example.com");
        assert_eq!(target.ping_interval, Some(Duration::from_secs(15)));
        assert_eq!(target.down_ping_interval, None);
        assert_eq!(
            (
                target.policy.failures_to_down,
                target.policy.successes_to_up
            ),
            (5, 1)
        );
        assert!(target.policy.alive.contains(200) && !target.policy.alive.contains(404));
    }

    /// No default stands in for a value that does not parse: the error names the row.
    #[test]
    fn a_corrupt_row_is_refused_naming_it() {
        let refused = |edit: fn(&mut PingRow)| {
            let mut bad = row();
            edit(&mut bad);
            let e = PingTarget::try_from(bad).unwrap_err();
            let corrupt = corrupt_of(&e).cloned().unwrap();
            (corrupt.row, corrupt.column)
        };
        assert_eq!(
            refused(|r| r.uri = "sip:".into()),
            ("gateway 7".to_string(), "uri")
        );
        assert_eq!(
            refused(|r| r.alive_codes = "7xx".into()),
            ("SIP trunk 3".to_string(), "alive_codes")
        );
        assert_eq!(
            refused(|r| r.failures_to_down = 0),
            ("SIP trunk 3".to_string(), "failures_to_down")
        );
        assert_eq!(
            refused(|r| r.successes_to_up = i64::MAX),
            ("SIP trunk 3".to_string(), "successes_to_up")
        );
        assert_eq!(
            refused(|r| r.down_ping_interval_s = Some(-1)),
            ("gateway 7".to_string(), "down_ping_interval_s")
        );
    }
}
