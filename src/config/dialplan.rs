//! `[dialplan]`: how this instance keeps its compiled dial plan and channel counts current.

use super::{ConfigError, positive};
use serde::{Deserialize, Serialize};

/// Dial plans: how this instance keeps its compiled plan current.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DialplanConfig {
    /// No longer read: policy, trunk and organization changes (this instance's and other
    /// instances', through `system::changes`) recompile the plan within a second. Kept so
    /// existing config files still load.
    pub reload_interval_s: u64,
    /// Seconds a trunk's reported channel count (`PUT /v1/siptrunks/{id}/channels`) is
    /// believed; an older report counts as no report, so a silent PBX blocks no trunk.
    pub channel_report_ttl_s: u64,
}

impl Default for DialplanConfig {
    fn default() -> Self {
        Self {
            reload_interval_s: 5,
            channel_report_ttl_s: 60,
        }
    }
}

impl DialplanConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        positive("dialplan.reload_interval_s", self.reload_interval_s)?;
        positive("dialplan.channel_report_ttl_s", self.channel_report_ttl_s)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    #[test]
    fn dialplan_section_defaults_and_validation() {
        let config = Config::from_toml("").unwrap();
        assert_eq!(config.dialplan.reload_interval_s, 5);
        assert_eq!(config.dialplan.channel_report_ttl_s, 60);
        let config = Config::from_toml("[dialplan]\nreload_interval_s = 2\n").unwrap();
        assert_eq!(config.dialplan.reload_interval_s, 2);
        let err = Config::from_toml("[dialplan]\nreload = 2\n").unwrap_err();
        assert!(err.contains("reload"), "{err}");
        let mut config = Config::default();
        config.dialplan.channel_report_ttl_s = 0;
        let err = config.validate().unwrap_err().to_string();
        assert!(err.starts_with("dialplan.channel_report_ttl_s"), "{err}");
    }
}
