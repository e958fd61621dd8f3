//! `[notify]`: SIP NOTIFY to phones (resync, reboot): bulk jobs' concurrency, spread and bounds.

use super::{ConfigError, positive};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// NOTIFYs a bulk job has in flight at once when the request does not say.
    pub concurrency: usize,
    /// Upper bound of the `concurrency` a bulk request may ask for.
    pub max_concurrency: usize,
    /// Seconds over which a bulk job spreads its NOTIFYs (each device gets a random delay in
    /// that window) when the request does not say, so a fleet does not reboot at once.
    pub spread_s: u64,
    /// Upper bound of the `spread_s` a bulk request may ask for.
    pub max_spread_s: u64,
    /// How long a NOTIFY waits for the phone's final answer before it counts as a timeout (at
    /// most Timer F, 32 s, and below `http.request_timeout_s`).
    pub timeout_ms: u64,
    /// Most devices one bulk job may cover; a filter matching more is refused.
    pub max_job_devices: usize,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            concurrency: 50,
            max_concurrency: 1_000,
            spread_s: 60,
            max_spread_s: 3_600,
            timeout_ms: 5_000,
            max_job_devices: 50_000,
        }
    }
}

impl NotifyConfig {
    /// `request_timeout_s` is `http.request_timeout_s`: a NOTIFY answered inside a request must
    /// finish before the request times out.
    pub(super) fn validate(&self, request_timeout_s: u64) -> Result<(), ConfigError> {
        positive("notify.concurrency", self.concurrency as u64)?;
        positive("notify.max_concurrency", self.max_concurrency as u64)?;
        positive("notify.timeout_ms", self.timeout_ms)?;
        positive("notify.max_job_devices", self.max_job_devices as u64)?;
        if self.concurrency > self.max_concurrency {
            return Err(ConfigError::Value {
                key: "notify.concurrency".into(),
                message: format!(
                    "must be at most notify.max_concurrency ({})",
                    self.max_concurrency
                ),
            });
        }
        if self.spread_s > self.max_spread_s {
            return Err(ConfigError::Value {
                key: "notify.spread_s".into(),
                message: format!(
                    "must be at most notify.max_spread_s ({})",
                    self.max_spread_s
                ),
            });
        }
        if self.timeout_ms > 32_000 || self.timeout_ms >= request_timeout_s.saturating_mul(1000) {
            return Err(ConfigError::Value {
                key: "notify.timeout_ms".into(),
                message: "must be at most 32000 (Timer F) and below http.request_timeout_s".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    #[test]
    fn notify_section_defaults_and_bounds() {
        let config = Config::from_toml("").unwrap();
        assert_eq!(config.notify.concurrency, 50);
        assert_eq!(config.notify.timeout_ms, 5_000);
        let config =
            Config::from_toml("[notify]\nconcurrency = 8\nspread_s = 0\ntimeout_ms = 300\n")
                .unwrap();
        config.validate().unwrap();
        assert_eq!(config.notify.concurrency, 8);
        let err = Config::from_toml("[notify]\nspread = 3\n").unwrap_err();
        assert!(err.contains("spread"), "{err}");
        for (mutate, key) in [
            (
                (|c: &mut Config| c.notify.concurrency = 0) as fn(&mut Config),
                "notify.concurrency",
            ),
            (|c| c.notify.concurrency = 5_000, "notify.concurrency"),
            (|c| c.notify.spread_s = 7_200, "notify.spread_s"),
            (|c| c.notify.timeout_ms = 40_000, "notify.timeout_ms"),
            (|c| c.http.request_timeout_s = 5, "notify.timeout_ms"),
        ] {
            let mut config = Config::default();
            mutate(&mut config);
            let err = config.validate().unwrap_err().to_string();
            assert!(err.starts_with(key), "{err}");
        }
    }
}
