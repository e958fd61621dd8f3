//! Typed configuration: a TOML file, then `DIALTONE_*` environment overrides, then defaults that run.
//!
//! Unknown keys and bad values are startup errors that name the key (`http.listen: invalid socket
//! address syntax`), so a typo never silently falls back to a default.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("{key}: {message}")]
    Value { key: String, message: String },
}

/// The whole daemon configuration (`systemd/dialtone.toml` documents every field).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the embedded database and other state live. Defaults to `$STATE_DIRECTORY`
    /// (set by systemd's `StateDirectory=`) or `./dialtone-data`.
    pub state_directory: PathBuf,
    pub database: DatabaseConfig,
    pub http: HttpConfig,
    pub rate_limit: RateLimitConfig,
    pub auth: AuthConfig,
    pub sip: SipConfig,
    pub pinger: PingerConfig,
    pub dialplan: DialplanConfig,
    pub redirect: RedirectConfig,
    pub secrets: SecretsConfig,
    pub provisioning: ProvisioningConfig,
    pub events: EventsConfig,
    pub notify: NotifyConfig,
    pub log: LogConfig,
}

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

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecretsConfig {
    /// File holding the 32-byte key that encrypts recoverable secrets (SIP line and
    /// provisioning passwords). Empty means `secrets.key` in the state directory, created with
    /// mode 0600 on first start. Instances sharing one PostgreSQL must share this file.
    pub key_file: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProvisioningConfig {
    /// After a device's provisioning password is rotated, how long (seconds) the previous one
    /// is still accepted, so phones already deployed can fetch the new one. 0: not at all.
    pub rotation_grace_s: u64,
    /// Folder of the operator's own templates (`<vendor>/<file>`, as in
    /// `provisioning-templates/`); each file replaces the shipped one of the same name. Empty:
    /// the shipped templates only.
    pub templates_dir: PathBuf,
    /// Seconds between checks of `templates_dir` for changes (SIGHUP also reloads); 0: only
    /// on SIGHUP.
    pub templates_poll_s: u64,
    /// Address of the provisioning listener phones fetch their files from.
    pub listen: SocketAddr,
    /// PEM certificate chain; with `tls_key`, the listener speaks HTTPS (and accepts Basic
    /// credentials). Empty: plain HTTP, Digest only.
    pub tls_cert: PathBuf,
    /// PEM private key of `tls_cert`.
    pub tls_key: PathBuf,
    /// Accept HTTP Basic credentials over TLS (never over plain HTTP) besides Digest.
    pub allow_basic: bool,
    /// Seconds a Digest nonce stays fresh; an older one with right credentials earns a new
    /// challenge with `stale=true`.
    pub nonce_lifetime_s: u64,
    /// Failed fetches one client address may have within `failure_window_s` before it is
    /// locked out for `cooling_off_s` (phones behind one NAT share it: keep it generous).
    pub max_failures_per_ip: u32,
    /// Failed fetches against one device (its provisioning user name, normally the MAC)
    /// within `failure_window_s` before that device is locked out for `cooling_off_s`.
    pub max_failures_per_device: u32,
    /// Window of the failure counters, in seconds.
    pub failure_window_s: u64,
    /// Seconds a locked-out address or device is refused without its credentials being read.
    pub cooling_off_s: u64,
    /// Seconds between checks for device, settings and orgips changes made by other instances
    /// sharing the database (this instance's own changes apply at once).
    pub cache_ttl_s: u64,
    /// Refused requests written to the event log per minute; the rest are only counted.
    pub refusal_events_per_minute: u32,
}

impl Default for ProvisioningConfig {
    fn default() -> Self {
        Self {
            rotation_grace_s: 7 * 24 * 3600,
            templates_dir: PathBuf::new(),
            templates_poll_s: 5,
            listen: SocketAddr::from(([0, 0, 0, 0], 8081)),
            tls_cert: PathBuf::new(),
            tls_key: PathBuf::new(),
            allow_basic: true,
            nonce_lifetime_s: 300,
            max_failures_per_ip: 50,
            max_failures_per_device: 10,
            failure_window_s: 600,
            cooling_off_s: 900,
            cache_ttl_s: 5,
            refusal_events_per_minute: 60,
        }
    }
}

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

/// Dial plans: how this instance keeps its compiled plan current.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DialplanConfig {
    /// Seconds between checks of the dial plan revision (another instance's change is compiled
    /// here within this time) and refreshes of the trunk and gateway snapshot routes use.
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

/// The SIP redirect listener: PBXs and SBCs send INVITEs, dialtone answers 302 with the dial
/// plan's routes (or 403/404/480/503 with a Reason).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedirectConfig {
    /// Run the redirect listener.
    pub enabled: bool,
    /// Addresses it listens on, each on UDP and TCP (same port); its own port, apart from
    /// `sip.listen`. Add `[::]:5070` for IPv6; port 0 picks a free port.
    pub listen: Vec<SocketAddr>,
    /// Request header naming the calling organization by id (`X-Dialtone-Org: 42`); empty
    /// turns it off. Trusted only from an address of that organization or of an ancestor.
    pub org_header: String,
    /// Request-URI parameter naming the calling organization by id (`sip:+4420…@host;dialtone_org=42`);
    /// empty turns it off. Trusted like `org_header`.
    pub org_uri_param: String,
    /// Identify the organization by the source address alone (org IPs and trunk IP ACLs,
    /// longest prefix) when neither the header nor the parameter names one.
    pub identify_by_source_ip: bool,
    /// Seconds between reloads of the org IP / trunk IP table the listener identifies sources by.
    pub refresh_s: u64,
}

impl Default for RedirectConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: vec![SocketAddr::from(([0, 0, 0, 0], 5070))],
            org_header: "X-Dialtone-Org".into(),
            org_uri_param: "dialtone_org".into(),
            identify_by_source_ip: true,
            refresh_s: 5,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SipConfig {
    /// Addresses the SIP endpoint listens on, each on UDP and TCP (same port). Add `[::]:5060`
    /// for IPv6; port 0 picks a free port.
    pub listen: Vec<SocketAddr>,
    /// Largest SIP message accepted; bigger ones are dropped (and counted).
    pub max_message_bytes: usize,
    /// User-Agent / Server header of what dialtone sends.
    pub user_agent: String,
}

impl Default for SipConfig {
    fn default() -> Self {
        Self {
            listen: vec![SocketAddr::from(([0, 0, 0, 0], 5060))],
            max_message_bytes: 65_535,
            user_agent: format!("dialtone/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://path/to/file.db` or `postgres://user@host/db`. Empty means the embedded SQLite
    /// file `dialtone.db` in the state directory.
    pub url: String,
    /// Upper bound of pooled connections.
    pub max_connections: u32,
}

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
    /// On SIGTERM, how long in-flight requests may take to finish.
    pub shutdown_grace_s: u64,
    /// Reverse proxies (CIDRs, `10.0.0.0/8`, `::1/128`) whose `X-Forwarded-For` names the client
    /// for rate limits, login budgets, orgips and the audit log. Empty: the TCP peer is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// When set (16+ characters), `GET /metrics` answers only `Authorization: Bearer <token>`.
    /// Unset: open, for a listener only the scraper reaches.
    pub metrics_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Requests allowed per window, per bearer token (or per client IP without one).
    pub requests: u32,
    /// Length of the window in seconds.
    pub window_s: u64,
}

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
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `tracing` filter, e.g. `info` or `dialtone=debug,tower_http=info`.
    pub filter: String,
    /// `text` for humans, `json` for log shippers.
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        let state_directory = std::env::var_os("STATE_DIRECTORY")
            .and_then(|dirs| {
                // systemd passes a colon-separated list when several directories are configured.
                dirs.to_str()
                    .and_then(|s| s.split(':').next())
                    .map(PathBuf::from)
            })
            .unwrap_or_else(|| PathBuf::from("./dialtone-data"));
        Self {
            state_directory,
            database: DatabaseConfig::default(),
            http: HttpConfig::default(),
            rate_limit: RateLimitConfig::default(),
            auth: AuthConfig::default(),
            sip: SipConfig::default(),
            pinger: PingerConfig::default(),
            dialplan: DialplanConfig::default(),
            redirect: RedirectConfig::default(),
            events: EventsConfig::default(),
            notify: NotifyConfig::default(),
            secrets: SecretsConfig::default(),
            provisioning: ProvisioningConfig::default(),
            log: LogConfig::default(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            max_connections: 16,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 1024 * 1024,
            max_import_bytes: 16 * 1024 * 1024,
            request_timeout_s: 30,
            shutdown_grace_s: 30,
            trusted_proxies: Vec::new(),
            metrics_token: None,
        }
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            requests: 1200,
            window_s: 60,
        }
    }
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
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            filter: "info".into(),
            format: LogFormat::Text,
        }
    }
}

impl Config {
    /// Loads the file (if any), applies the process environment, and validates.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        Self::load_with_env(path, &vars)
    }

    /// Like [`Config::load`] with an explicit environment, so tests need not mutate the process.
    pub fn load_with_env(
        path: Option<&Path>,
        vars: &[(String, String)],
    ) -> Result<Self, ConfigError> {
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                Self::from_toml(&text).map_err(|message| ConfigError::Invalid {
                    path: path.to_path_buf(),
                    message,
                })?
            }
            None => Self::default(),
        };
        config.apply_env(vars)?;
        config.validate()?;
        Ok(config)
    }

    /// Parses TOML text; the error names the offending key path.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let deserializer = toml::Deserializer::parse(text).map_err(|e| e.to_string())?;
        serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            let message = inner.message().to_string();
            if key == "." || key.is_empty() {
                message
            } else {
                format!("{key}: {message}")
            }
        })
    }

    fn apply_env(&mut self, vars: &[(String, String)]) -> Result<(), ConfigError> {
        for (var, value) in vars {
            let bad = |message: String| ConfigError::Env {
                var: var.clone(),
                message,
            };
            match var.as_str() {
                "DIALTONE_DATABASE_URL" => self.database.url = value.clone(),
                "DIALTONE_STATE_DIRECTORY" => self.state_directory = PathBuf::from(value),
                "DIALTONE_HTTP_LISTEN" => {
                    self.http.listen = value.parse().map_err(|e| bad(format!("{e}: {value:?}")))?
                }
                "DIALTONE_PROVISIONING_LISTEN" => {
                    self.provisioning.listen =
                        value.parse().map_err(|e| bad(format!("{e}: {value:?}")))?
                }
                "DIALTONE_SIP_LISTEN" => {
                    self.sip.listen = value
                        .split(',')
                        .map(|a| a.trim().parse())
                        .collect::<Result<_, _>>()
                        .map_err(|e| bad(format!("{e}: {value:?}")))?
                }
                "DIALTONE_REDIRECT_LISTEN" => {
                    self.redirect.listen = value
                        .split(',')
                        .map(|a| a.trim().parse())
                        .collect::<Result<_, _>>()
                        .map_err(|e| bad(format!("{e}: {value:?}")))?
                }
                "DIALTONE_HTTP_TRUSTED_PROXIES" => {
                    self.http.trusted_proxies = value
                        .split(',')
                        .map(str::trim)
                        .filter(|n| !n.is_empty())
                        .map(str::parse)
                        .collect::<Result<_, _>>()
                        .map_err(|e| bad(format!("{e} (CIDRs such as 10.0.0.0/8): {value:?}")))?
                }
                "DIALTONE_HTTP_METRICS_TOKEN" => {
                    self.http.metrics_token = Some(value.clone()).filter(|t| !t.is_empty())
                }
                "DIALTONE_LOG_FILTER" => self.log.filter = value.clone(),
                "DIALTONE_SECRETS_KEY_FILE" => self.secrets.key_file = PathBuf::from(value),
                "DIALTONE_LOG_FORMAT" => {
                    self.log.format = match value.as_str() {
                        "text" => LogFormat::Text,
                        "json" => LogFormat::Json,
                        other => return Err(bad(format!("expected text or json, got {other:?}"))),
                    }
                }
                "DIALTONE_RATE_LIMIT_REQUESTS" => {
                    self.rate_limit.requests =
                        value.parse().map_err(|e| bad(format!("{e}: {value:?}")))?
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let positive = |key: &str, value: u64| {
            if value == 0 {
                Err(ConfigError::Value {
                    key: key.into(),
                    message: "must be greater than 0".into(),
                })
            } else {
                Ok(())
            }
        };
        positive(
            "database.max_connections",
            self.database.max_connections.into(),
        )?;
        positive("http.max_body_bytes", self.http.max_body_bytes as u64)?;
        positive("http.max_import_bytes", self.http.max_import_bytes as u64)?;
        positive("http.request_timeout_s", self.http.request_timeout_s)?;
        if let Some(token) = &self.http.metrics_token
            && (token.len() < 16 || !token.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(ConfigError::Value {
                key: "http.metrics_token".into(),
                message: "must be at least 16 printable characters without spaces".into(),
            });
        }
        positive("rate_limit.requests", self.rate_limit.requests.into())?;
        positive("rate_limit.window_s", self.rate_limit.window_s)?;
        positive("auth.token_ttl_s", self.auth.token_ttl_s)?;
        positive("auth.refresh_ttl_s", self.auth.refresh_ttl_s)?;
        positive("auth.temp_token_ttl_s", self.auth.temp_token_ttl_s)?;
        positive("auth.failure_window_s", self.auth.failure_window_s)?;
        positive(
            "auth.max_failures_per_username",
            self.auth.max_failures_per_username.into(),
        )?;
        positive(
            "auth.max_failures_per_ip",
            self.auth.max_failures_per_ip.into(),
        )?;
        positive("sip.max_message_bytes", self.sip.max_message_bytes as u64)?;
        positive("pinger.interval_s", self.pinger.interval_s)?;
        positive("pinger.down_interval_s", self.pinger.down_interval_s)?;
        positive("pinger.timeout_ms", self.pinger.timeout_ms)?;
        positive("pinger.max_in_flight", self.pinger.max_in_flight as u64)?;
        positive("pinger.reload_s", self.pinger.reload_s)?;
        positive("pinger.health_sync_s", self.pinger.health_sync_s)?;
        positive(
            "dialplan.reload_interval_s",
            self.dialplan.reload_interval_s,
        )?;
        positive(
            "dialplan.channel_report_ttl_s",
            self.dialplan.channel_report_ttl_s,
        )?;
        positive("events.retention_days", self.events.retention_days.into())?;
        if self.pinger.timeout_ms > 32_000 {
            return Err(ConfigError::Value {
                key: "pinger.timeout_ms".into(),
                message: "must be at most 32000 (Timer F)".into(),
            });
        }
        positive("notify.concurrency", self.notify.concurrency as u64)?;
        positive("notify.max_concurrency", self.notify.max_concurrency as u64)?;
        positive("notify.timeout_ms", self.notify.timeout_ms)?;
        positive("notify.max_job_devices", self.notify.max_job_devices as u64)?;
        if self.notify.concurrency > self.notify.max_concurrency {
            return Err(ConfigError::Value {
                key: "notify.concurrency".into(),
                message: format!(
                    "must be at most notify.max_concurrency ({})",
                    self.notify.max_concurrency
                ),
            });
        }
        if self.notify.spread_s > self.notify.max_spread_s {
            return Err(ConfigError::Value {
                key: "notify.spread_s".into(),
                message: format!(
                    "must be at most notify.max_spread_s ({})",
                    self.notify.max_spread_s
                ),
            });
        }
        if self.notify.timeout_ms > 32_000
            || self.notify.timeout_ms >= self.http.request_timeout_s.saturating_mul(1000)
        {
            return Err(ConfigError::Value {
                key: "notify.timeout_ms".into(),
                message: "must be at most 32000 (Timer F) and below http.request_timeout_s".into(),
            });
        }
        if self.provisioning.rotation_grace_s > 365 * 24 * 3600 {
            return Err(ConfigError::Value {
                key: "provisioning.rotation_grace_s".into(),
                message: "must be at most 31536000 (a year)".into(),
            });
        }
        if self.provisioning.templates_poll_s > 24 * 3600 {
            return Err(ConfigError::Value {
                key: "provisioning.templates_poll_s".into(),
                message: "must be at most 86400 (a day)".into(),
            });
        }
        positive(
            "provisioning.nonce_lifetime_s",
            self.provisioning.nonce_lifetime_s,
        )?;
        positive(
            "provisioning.max_failures_per_ip",
            self.provisioning.max_failures_per_ip.into(),
        )?;
        positive(
            "provisioning.max_failures_per_device",
            self.provisioning.max_failures_per_device.into(),
        )?;
        positive(
            "provisioning.failure_window_s",
            self.provisioning.failure_window_s,
        )?;
        positive(
            "provisioning.cooling_off_s",
            self.provisioning.cooling_off_s,
        )?;
        positive("provisioning.cache_ttl_s", self.provisioning.cache_ttl_s)?;
        if self.provisioning.tls_cert.as_os_str().is_empty()
            != self.provisioning.tls_key.as_os_str().is_empty()
        {
            return Err(ConfigError::Value {
                key: "provisioning.tls_key".into(),
                message: "set both provisioning.tls_cert and provisioning.tls_key, or neither"
                    .into(),
            });
        }
        if self.sip.listen.is_empty() {
            return Err(ConfigError::Value {
                key: "sip.listen".into(),
                message: "needs at least one address".into(),
            });
        }
        positive("redirect.refresh_s", self.redirect.refresh_s)?;
        if self.redirect.enabled && self.redirect.listen.is_empty() {
            return Err(ConfigError::Value {
                key: "redirect.listen".into(),
                message: "needs at least one address (or set redirect.enabled = false)".into(),
            });
        }
        for (key, name) in [
            ("redirect.org_header", &self.redirect.org_header),
            ("redirect.org_uri_param", &self.redirect.org_uri_param),
        ] {
            if !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.!%*+`'~".contains(&b))
            {
                return Err(ConfigError::Value {
                    key: key.into(),
                    message: format!("not a SIP token: {name:?}"),
                });
            }
        }
        let url = &self.database.url;
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
        if tracing_subscriber::EnvFilter::try_new(&self.log.filter).is_err() {
            return Err(ConfigError::Value {
                key: "log.filter".into(),
                message: format!("not a valid tracing filter: {:?}", self.log.filter),
            });
        }
        Ok(())
    }

    /// The database URL in force: the configured one, or the embedded SQLite file.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!(
                "sqlite://{}",
                self.state_directory.join("dialtone.db").display()
            )
        } else {
            self.database.url.clone()
        }
    }

    /// The key file in force: the configured one, or `secrets.key` in the state directory.
    pub fn secrets_key_file(&self) -> PathBuf {
        if self.secrets.key_file.as_os_str().is_empty() {
            self.state_directory.join("secrets.key")
        } else {
            self.secrets.key_file.clone()
        }
    }

    /// The effective configuration as TOML (for `check-config`).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults_that_run() {
        let config = Config::from_toml("").unwrap();
        assert_eq!(config.http.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.rate_limit.window_s, 60);
    }

    #[test]
    fn unknown_key_is_named() {
        let err = Config::from_toml("[http]\nlisten = \"127.0.0.1:1\"\nlisen = 3\n").unwrap_err();
        assert!(err.contains("lisen"), "{err}");
    }

    #[test]
    fn bad_value_names_its_key() {
        let err = Config::from_toml("[http]\nlisten = \"nope\"\n").unwrap_err();
        assert!(err.starts_with("http.listen"), "{err}");
        let err = Config::from_toml("[rate_limit]\nrequests = \"many\"\n").unwrap_err();
        assert!(err.starts_with("rate_limit.requests"), "{err}");
    }

    #[test]
    fn environment_overrides_the_file_and_names_bad_variables() {
        let vars = vec![
            ("DIALTONE_HTTP_LISTEN".to_string(), "[::1]:9000".to_string()),
            (
                "DIALTONE_DATABASE_URL".to_string(),
                "postgres://x@h/db".to_string(),
            ),
        ];
        let config = Config::load_with_env(None, &vars).unwrap();
        assert_eq!(config.http.listen.to_string(), "[::1]:9000");
        assert_eq!(config.database_url(), "postgres://x@h/db");

        let vars = vec![("DIALTONE_HTTP_LISTEN".to_string(), "eighty".to_string())];
        let err = Config::load_with_env(None, &vars).unwrap_err().to_string();
        assert!(err.contains("DIALTONE_HTTP_LISTEN"), "{err}");
    }

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

    #[test]
    fn zero_values_are_refused_by_name() {
        let mut config = Config::default();
        config.rate_limit.window_s = 0;
        let err = config.validate().unwrap_err().to_string();
        assert!(err.starts_with("rate_limit.window_s"), "{err}");
    }

    #[test]
    fn secrets_and_provisioning_sections() {
        let config = Config::from_toml("").unwrap();
        assert_eq!(
            config.secrets_key_file(),
            config.state_directory.join("secrets.key")
        );
        assert_eq!(config.provisioning.rotation_grace_s, 604_800);
        let config = Config::from_toml(
            "[secrets]\nkey_file = \"/etc/dialtone/key\"\n[provisioning]\nrotation_grace_s = 60\n",
        )
        .unwrap();
        assert_eq!(
            config.secrets_key_file(),
            PathBuf::from("/etc/dialtone/key")
        );
        assert_eq!(config.provisioning.rotation_grace_s, 60);
        let vars = vec![(
            "DIALTONE_SECRETS_KEY_FILE".to_string(),
            "/run/key".to_string(),
        )];
        let config = Config::load_with_env(None, &vars).unwrap();
        assert_eq!(config.secrets_key_file(), PathBuf::from("/run/key"));
        let err = Config::from_toml("[secrets]\nkeyfile = \"x\"\n").unwrap_err();
        assert!(err.contains("keyfile"), "{err}");
        let mut config = Config::default();
        config.provisioning.rotation_grace_s = 400 * 24 * 3600;
        let err = config.validate().unwrap_err().to_string();
        assert!(err.starts_with("provisioning.rotation_grace_s"), "{err}");
    }

    #[test]
    fn redirect_section_defaults_overrides_and_validation() {
        let config = Config::from_toml("").unwrap();
        assert!(config.redirect.enabled);
        assert_eq!(config.redirect.listen[0].to_string(), "0.0.0.0:5070");
        assert_eq!(config.redirect.org_header, "X-Dialtone-Org");
        let config = Config::from_toml(
            "[redirect]\nlisten = [\"127.0.0.1:5099\"]\norg_header = \"\"\nidentify_by_source_ip = false\n",
        )
        .unwrap();
        assert_eq!(config.redirect.listen[0].to_string(), "127.0.0.1:5099");
        assert!(config.redirect.org_header.is_empty());
        let err = Config::from_toml("[redirect]\nlisen = []\n").unwrap_err();
        assert!(err.contains("lisen"), "{err}");
        let vars = vec![(
            "DIALTONE_REDIRECT_LISTEN".to_string(),
            "127.0.0.1:7000, [::1]:7000".to_string(),
        )];
        let config = Config::load_with_env(None, &vars).unwrap();
        assert_eq!(config.redirect.listen.len(), 2);
        let mut config = Config::default();
        config.redirect.listen.clear();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.starts_with("redirect.listen"), "{err}");
        config.redirect.enabled = false;
        assert!(config.validate().is_ok());
        let mut config = Config::default();
        config.redirect.org_header = "X Org".into();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.starts_with("redirect.org_header"), "{err}");
    }

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

    #[test]
    fn template_keys() {
        let config = Config::from_toml("").unwrap();
        assert!(config.provisioning.templates_dir.as_os_str().is_empty());
        assert_eq!(config.provisioning.templates_poll_s, 5);
        let config = Config::from_toml(
            "[provisioning]\ntemplates_dir = \"/etc/dialtone/templates\"\ntemplates_poll_s = 0\n",
        )
        .unwrap();
        assert_eq!(
            config.provisioning.templates_dir,
            PathBuf::from("/etc/dialtone/templates")
        );
        assert_eq!(config.provisioning.templates_poll_s, 0);
        let err = Config::from_toml("[provisioning]\ntemplates_poll_s = -1\n").unwrap_err();
        assert!(err.starts_with("provisioning.templates_poll_s"), "{err}");
        let mut config = Config::default();
        config.provisioning.templates_poll_s = 100_000;
        let err = config.validate().unwrap_err().to_string();
        assert!(err.starts_with("provisioning.templates_poll_s"), "{err}");
    }

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

    #[test]
    fn provisioning_listener_keys() {
        let config = Config::from_toml("").unwrap();
        assert_eq!(config.provisioning.listen.to_string(), "0.0.0.0:8081");
        assert!(config.provisioning.tls_cert.as_os_str().is_empty());
        let config = Config::from_toml(
            "[provisioning]\nlisten = \"127.0.0.1:9443\"\ntls_cert = \"/c.pem\"\ntls_key = \"/k.pem\"\ncooling_off_s = 30\n",
        )
        .unwrap();
        assert_eq!(config.provisioning.listen.to_string(), "127.0.0.1:9443");
        assert_eq!(config.provisioning.cooling_off_s, 30);
        let mut config = Config::default();
        config.provisioning.tls_cert = PathBuf::from("/c.pem");
        let err = config.validate().unwrap_err().to_string();
        assert!(err.starts_with("provisioning.tls_key"), "{err}");
        let mut config = Config::default();
        config.provisioning.max_failures_per_ip = 0;
        let err = config.validate().unwrap_err().to_string();
        assert!(err.starts_with("provisioning.max_failures_per_ip"), "{err}");
        let err = Config::from_toml("[provisioning]\nlisten = \"nowhere\"\n").unwrap_err();
        assert!(err.starts_with("provisioning.listen"), "{err}");
    }

    #[test]
    fn effective_config_round_trips() {
        let config = Config::default();
        let again = Config::from_toml(&config.to_toml()).unwrap();
        assert_eq!(again.http.listen, config.http.listen);
    }
}
