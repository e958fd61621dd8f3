//! `[http]`: the REST API listener, its body limits, timeouts, connection caps, trusted proxies
//! and metrics token.

use super::{ConfigError, positive};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address of the REST API listener.
    pub listen: SocketAddr,
    /// Largest request body accepted; larger ones answer 413.
    pub max_body_bytes: usize,
    /// Largest body of the endpoints that take a whole file (`POST /v1/numbers/import`,
    /// `POST /v1/devices/bulk`): 100,000 numbers are about 3.5 MB of CSV.
    pub max_import_bytes: usize,
    /// A request running longer than this answers 408.
    pub request_timeout_s: u64,
    /// A client must send a request's headers within this many seconds (the first request's
    /// from the moment it connects, a later one's from its first byte); a slower one is
    /// disconnected, counted in `http_connections_timed_out_total{reason="header"}`.
    pub header_read_timeout_s: u64,
    /// A kept-alive connection that sends no new request for this many seconds after its last
    /// answer is closed (`http_connections_timed_out_total{reason="idle"}`).
    pub idle_timeout_s: u64,
    /// Open API connections at most. Past it a new connection is answered 503 with
    /// `Retry-After: 1` and closed, counted in `http_connections_refused_total{reason="total"}`
    /// and logged (at most every 10 s).
    pub max_connections: usize,
    /// Open API connections per client address (an IPv4 address, an IPv6 /64) at most; past it
    /// the same 503 (`reason="per_address"`). `trusted_proxies` are held to `max_connections`
    /// only, as they carry many clients.
    pub max_connections_per_address: usize,
    /// On SIGTERM, how long in-flight requests may take to finish.
    pub shutdown_grace_s: u64,
    /// Reverse proxies (CIDRs, `10.0.0.0/8`, `::1/128`) whose `X-Forwarded-For` names the client
    /// for rate limits, login budgets, orgips and the audit log. Empty: the TCP peer is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// When set (16+ characters), `GET /metrics` answers only `Authorization: Bearer <token>`.
    /// Unset: open, for a listener only the scraper reaches.
    pub metrics_token: Option<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 1024 * 1024,
            max_import_bytes: 16 * 1024 * 1024,
            request_timeout_s: 30,
            header_read_timeout_s: 10,
            idle_timeout_s: 60,
            max_connections: 10_000,
            max_connections_per_address: 256,
            shutdown_grace_s: 30,
            trusted_proxies: Vec::new(),
            metrics_token: None,
        }
    }
}

impl HttpConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        positive("http.max_body_bytes", self.max_body_bytes as u64)?;
        positive("http.max_import_bytes", self.max_import_bytes as u64)?;
        positive("http.request_timeout_s", self.request_timeout_s)?;
        positive("http.header_read_timeout_s", self.header_read_timeout_s)?;
        positive("http.idle_timeout_s", self.idle_timeout_s)?;
        positive("http.max_connections", self.max_connections as u64)?;
        positive(
            "http.max_connections_per_address",
            self.max_connections_per_address as u64,
        )?;
        if let Some(token) = &self.metrics_token
            && (token.len() < 16 || !token.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(ConfigError::Value {
                key: "http.metrics_token".into(),
                message: "must be at least 16 printable characters without spaces".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    #[test]
    fn a_metrics_token_is_long_and_printable() {
        let mut config = Config::default();
        for bad in ["short", "with a space in it, long"] {
            config.http.metrics_token = Some(bad.into());
            let err = config.validate().unwrap_err().to_string();
            assert!(err.starts_with("http.metrics_token"), "{err}");
        }
        config.http.metrics_token = Some("0123456789abcdef".into());
        assert!(config.validate().is_ok());
    }

    #[test]
    fn trusted_proxies_are_cidrs_from_the_file_or_the_environment() {
        let config =
            Config::from_toml("[http]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1/128\"]\n").unwrap();
        assert_eq!(config.http.trusted_proxies.len(), 2);
        let err = Config::from_toml("[http]\ntrusted_proxies = [\"proxy.local\"]\n").unwrap_err();
        assert!(err.contains("trusted_proxies"), "{err}");
        let vars = vec![(
            "DIALTONE_HTTP_TRUSTED_PROXIES".to_string(),
            "10.0.0.0/8, 192.168.1.10/32".to_string(),
        )];
        let config = Config::load_with_env(None, &vars).unwrap();
        assert_eq!(config.http.trusted_proxies.len(), 2);
        let vars = vec![(
            "DIALTONE_HTTP_TRUSTED_PROXIES".to_string(),
            "10.0.0.1".to_string(),
        )];
        let err = Config::load_with_env(None, &vars).unwrap_err().to_string();
        assert!(
            err.contains("DIALTONE_HTTP_TRUSTED_PROXIES") && err.contains("CIDR"),
            "{err}"
        );
    }
}
