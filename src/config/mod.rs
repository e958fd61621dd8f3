//! Typed configuration: a TOML file, then `DIALTONE_*` environment overrides, then defaults that run.
//!
//! Unknown keys and bad values are startup errors that name the key (`http.listen: invalid socket
//! address syntax`), so a typo never silently falls back to a default.

mod auth;
mod database;
mod dialplan;
mod dns;
mod events;
mod http;
mod log;
mod notify;
mod pinger;
mod provisioning;
mod rate_limit;
mod redirect;
mod retention;
mod secrets;
mod sip;
mod webhooks;

// Each section's type is reached as `config::HttpConfig` (the section files are private).
pub use auth::AuthConfig;
pub use database::DatabaseConfig;
pub use dialplan::DialplanConfig;
pub use dns::{DnsConfig, DnsMode};
pub use events::EventsConfig;
pub use http::HttpConfig;
pub use log::{LogConfig, LogFormat};
pub use notify::NotifyConfig;
pub use pinger::PingerConfig;
pub use provisioning::ProvisioningConfig;
pub use rate_limit::RateLimitConfig;
pub use redirect::RedirectConfig;
pub use retention::RetentionConfig;
pub use secrets::SecretsConfig;
pub use sip::SipConfig;
pub use webhooks::WebhooksConfig;

use serde::{Deserialize, Serialize};
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
    pub webhooks: WebhooksConfig,
    pub retention: RetentionConfig,
    pub notify: NotifyConfig,
    pub dns: DnsConfig,
    pub log: LogConfig,
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
            webhooks: WebhooksConfig::default(),
            retention: RetentionConfig::default(),
            notify: NotifyConfig::default(),
            secrets: SecretsConfig::default(),
            provisioning: ProvisioningConfig::default(),
            dns: DnsConfig::default(),
            log: LogConfig::default(),
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
                "DIALTONE_WEBHOOKS_ALLOW_PRIVATE" => {
                    self.webhooks.allow_private = match value.as_str() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        other => return Err(bad(format!("expected true or false, got {other:?}"))),
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
        self.database.validate()?;
        self.http.validate()?;
        self.rate_limit.validate()?;
        self.auth.validate()?;
        self.sip.validate()?;
        self.pinger.validate()?;
        self.dialplan.validate()?;
        self.events.validate()?;
        self.webhooks.validate()?;
        self.retention.validate()?;
        self.notify.validate(self.http.request_timeout_s)?;
        self.provisioning.validate()?;
        self.redirect.validate()?;
        self.dns.validate()?;
        self.log.validate()
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

/// Refuses a zero where only a positive value makes sense, naming the key.
fn positive(key: &str, value: u64) -> Result<(), ConfigError> {
    if value == 0 {
        Err(ConfigError::Value {
            key: key.into(),
            message: "must be greater than 0".into(),
        })
    } else {
        Ok(())
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
    fn effective_config_round_trips() {
        let config = Config::default();
        let again = Config::from_toml(&config.to_toml()).unwrap();
        assert_eq!(again.http.listen, config.http.listen);
    }

    /// `systemd/dialtone.toml` is the operators' documentation of every key: it must load, and
    /// name (set or commented out) every key the configuration has, in its section.
    #[test]
    fn the_shipped_file_loads_and_names_every_key() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/dialtone.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        Config::from_toml(&text).unwrap().validate().unwrap();
        let mut named = std::collections::BTreeSet::new();
        let mut section = String::new();
        for line in text.lines() {
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = name.to_string();
            } else if let Some((key, _)) = line.trim_start_matches("# ").split_once(" = ")
                && key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            {
                named.insert(format!("{section}.{key}"));
            }
        }
        let mut config = Config::default();
        config.http.metrics_token = Some("0123456789abcdef".into());
        let effective: toml::Table = toml::from_str(&config.to_toml()).unwrap();
        for (key, value) in effective {
            match value {
                toml::Value::Table(table) => {
                    for sub in table.keys() {
                        let full = format!("{key}.{sub}");
                        assert!(named.contains(&full), "{full} is not in {path:?}");
                    }
                }
                _ => assert!(
                    named.contains(&format!(".{key}")),
                    "{key} is not in {path:?}"
                ),
            }
        }
    }
}
