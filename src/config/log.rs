//! `[log]`: the `tracing` filter and the log format.

use super::ConfigError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `tracing` filter, e.g. `info` or `dialtone=debug,tower_http=info`.
    pub filter: String,
    /// `text` for humans, `json` for log shippers.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            filter: "info".into(),
            format: LogFormat::Text,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl LogConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if tracing_subscriber::EnvFilter::try_new(&self.filter).is_err() {
            return Err(ConfigError::Value {
                key: "log.filter".into(),
                message: format!("not a valid tracing filter: {:?}", self.filter),
            });
        }
        Ok(())
    }
}
