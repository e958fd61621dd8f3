//! The trunks-and-gateways service: CRUD of SIP trunks, their gateways and allowed source IPs
//! (tenancy-checked, validated, audited, one transaction each), and what the pinger, the dial
//! plan and the `/v1/sipgwping` route read.

mod audit;
pub mod gateways;
pub mod ips;
pub mod targets;
pub mod tenancy;
pub mod trunks;
pub mod validate;

use crate::system::changes::TrunkChanged;
use std::ops::RangeInclusive;

pub const MAX_CHANNELS: RangeInclusive<i64> = 1..=100_000;
/// Range of `failures_to_down` and `successes_to_up`.
pub const THRESHOLDS: RangeInclusive<i64> = 1..=100;
/// Range of the per-gateway ping intervals, in seconds.
pub const PING_INTERVALS: RangeInclusive<i64> = 1..=3600;
pub const DEFAULT_FAILURES_TO_DOWN: i64 = 3;
pub const DEFAULT_SUCCESSES_TO_UP: i64 = 2;
/// Gateways one trunk may have.
pub const MAX_GATEWAYS: usize = 100;

/// What every trunk, gateway and trunk IP write publishes once committed: the pinger, the
/// dial plan's trunk snapshot and the redirect source table reload on it.
fn changed(trunk_id: i64) -> TrunkChanged {
    TrunkChanged {
        trunk_id: Some(trunk_id),
    }
}
