//! `[pinger]`: how often and how patiently gateways are pinged with OPTIONS.

use super::{ConfigError, positive};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PingerConfig {
    /// Send OPTIONS to every enabled gateway.
    pub enabled: bool,
    /// Seconds between pings of a gateway that is up (or unknown); a gateway may override it.
    pub interval_s: u64,
    /// Seconds between pings of a gateway that is down (probe it more often to bring it back).
    pub down_interval_s: u64,
    /// How long a ping waits for a reply before it counts as a failure (at most Timer F, 32 s).
    pub timeout_ms: u64,
    /// Upper bound of pings in flight at once; the rest wait their turn.
    pub max_in_flight: usize,
    /// Seconds between full reloads of the gateway list (API changes also reload at once).
    pub reload_s: u64,
    /// On an instance that does not hold the pinger lease (PostgreSQL, several instances):
    /// seconds between reads of the pinging instance's verdicts, which route evaluation uses.
    pub health_sync_s: u64,
}

impl Default for PingerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_s: 30,
            down_interval_s: 10,
            timeout_ms: 5_000,
            max_in_flight: 2_000,
            reload_s: 60,
            health_sync_s: 2,
        }
    }
}

impl PingerConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        positive("pinger.interval_s", self.interval_s)?;
        positive("pinger.down_interval_s", self.down_interval_s)?;
        positive("pinger.timeout_ms", self.timeout_ms)?;
        positive("pinger.max_in_flight", self.max_in_flight as u64)?;
        positive("pinger.reload_s", self.reload_s)?;
        positive("pinger.health_sync_s", self.health_sync_s)?;
        if self.timeout_ms > 32_000 {
            return Err(ConfigError::Value {
                key: "pinger.timeout_ms".into(),
                message: "must be at most 32000 (Timer F)".into(),
            });
        }
        Ok(())
    }
}
