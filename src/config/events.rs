//! `[events]`: how long the event log keeps an event.

use super::{ConfigError, positive};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// Days the event log keeps an event (gateway up/down, provisioning fetches …); older ones
    /// are purged hourly. The audit log is kept.
    pub retention_days: u32,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self { retention_days: 90 }
    }
}

impl EventsConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        positive("events.retention_days", self.retention_days.into())
    }
}
