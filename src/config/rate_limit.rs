//! `[rate_limit]`: the REST API's request budget per token or client address.

use super::{ConfigError, positive};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Requests allowed per window, per bearer token (or per client IP without one).
    pub requests: u32,
    /// Length of the window in seconds.
    pub window_s: u64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            requests: 1200,
            window_s: 60,
        }
    }
}

impl RateLimitConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        positive("rate_limit.requests", self.requests.into())?;
        positive("rate_limit.window_s", self.window_s)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    #[test]
    fn zero_values_are_refused_by_name() {
        let mut config = Config::default();
        config.rate_limit.window_s = 0;
        let err = config.validate().unwrap_err().to_string();
        assert!(err.starts_with("rate_limit.window_s"), "{err}");
    }
}
