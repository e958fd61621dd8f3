//! `[auth]`: API tokens' lifetimes, the failed-login budgets, API keys' usage bookkeeping.

use super::{ConfigError, positive};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Lifetime of an access token from `POST /v1/auth/user`.
    pub token_ttl_s: u64,
    /// Lifetime of a refresh token.
    pub refresh_ttl_s: u64,
    /// Default lifetime of a `POST /v1/tempauth` token (a caller may ask for less).
    pub temp_token_ttl_s: u64,
    /// Failed logins allowed per username within the failure window before 429.
    pub max_failures_per_username: u32,
    /// Failed logins allowed per client IP within the failure window before 429.
    pub max_failures_per_ip: u32,
    /// Window (and cooling-off period) for failed logins, in seconds.
    pub failure_window_s: u64,
    /// Issuer shown by authenticator apps for two-factor secrets.
    pub totp_issuer: String,
    /// How often the last use of each API key (time and address), kept in memory per request,
    /// is written to the database, in seconds (and once more at shutdown).
    pub apikey_usage_flush_s: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            token_ttl_s: 3600,
            refresh_ttl_s: 30 * 24 * 3600,
            temp_token_ttl_s: 300,
            max_failures_per_username: 5,
            max_failures_per_ip: 20,
            failure_window_s: 900,
            totp_issuer: "dialtone".into(),
            apikey_usage_flush_s: 30,
        }
    }
}

impl AuthConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        positive("auth.token_ttl_s", self.token_ttl_s)?;
        positive("auth.refresh_ttl_s", self.refresh_ttl_s)?;
        positive("auth.temp_token_ttl_s", self.temp_token_ttl_s)?;
        positive("auth.failure_window_s", self.failure_window_s)?;
        positive("auth.apikey_usage_flush_s", self.apikey_usage_flush_s)?;
        positive(
            "auth.max_failures_per_username",
            self.max_failures_per_username.into(),
        )?;
        positive("auth.max_failures_per_ip", self.max_failures_per_ip.into())
    }
}
