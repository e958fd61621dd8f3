//! `[database]`: which database (embedded SQLite or a shared PostgreSQL) and its pool.

use super::{ConfigError, positive};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://path/to/file.db` or `postgres://user@host/db`. Empty means the embedded SQLite
    /// file `dialtone.db` in the state directory.
    pub url: String,
    /// Upper bound of pooled connections.
    pub max_connections: u32,
    /// PostgreSQL: how long a request waits for a pooled connection (a free one, or a new one
    /// while the server restarts) before it answers 503 with `Retry-After`.
    pub acquire_timeout_s: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            max_connections: 16,
            acquire_timeout_s: 10,
        }
    }
}

impl DatabaseConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        positive("database.max_connections", self.max_connections.into())?;
        positive("database.acquire_timeout_s", self.acquire_timeout_s)?;
        let url = &self.url;
        if !(url.is_empty()
            || url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(ConfigError::Value {
                key: "database.url".into(),
                message: format!("expected sqlite://… or postgres://…, got {url:?}"),
            });
        }
        Ok(())
    }
}
