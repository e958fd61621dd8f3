//! `[webhooks]`: where deliveries may go, how long one may take, and the retry schedule.

use super::{ConfigError, positive};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// Allow endpoints whose address is loopback, private, link-local or this host's own. Off,
    /// a URL naming or resolving to one is refused (at creation and again at every delivery, so
    /// a name re-pointed to an inside address cannot reach it).
    pub allow_private: bool,
    /// Seconds a delivery may take (connect, send, answer) before it counts as failed.
    pub timeout_s: u64,
    /// Waits, in seconds, before each retry of a failed delivery; when the last retry fails the
    /// delivery is `failed` and its endpoint disabled (with a `webhook.disabled` event). The
    /// default retries for about a day (27.6 hours), as the Standard Webhooks spec suggests.
    pub retry_schedule_s: Vec<u64>,
    /// How often each instance looks for endpoints with deliveries to send that no job is
    /// sending yet, in milliseconds (events recorded on this instance wake it at once).
    pub dispatch_poll_ms: u64,
    /// Days the delivery log keeps a delivered or failed delivery.
    pub log_retention_days: u32,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            allow_private: false,
            timeout_s: 10,
            retry_schedule_s: vec![5, 300, 1800, 7200, 18000, 36000, 36000],
            dispatch_poll_ms: 500,
            log_retention_days: 30,
        }
    }
}

impl WebhooksConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        positive("webhooks.timeout_s", self.timeout_s)?;
        positive("webhooks.dispatch_poll_ms", self.dispatch_poll_ms)?;
        positive(
            "webhooks.log_retention_days",
            self.log_retention_days.into(),
        )?;
        if self.retry_schedule_s.len() > 50 {
            return Err(ConfigError::Value {
                key: "webhooks.retry_schedule_s".into(),
                message: "at most 50 retries".into(),
            });
        }
        Ok(())
    }
}
