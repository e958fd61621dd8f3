//! `[provisioning]`: the listener phones fetch their files from, its TLS, Digest nonces,
//! lockouts, template overrides and caches.

use super::{ConfigError, positive};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

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
    /// No longer read: device, settings and orgips changes reach the cache through
    /// `system::changes` (other instances' within a second). Kept so existing config files
    /// still load.
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

impl ProvisioningConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.rotation_grace_s > 365 * 24 * 3600 {
            return Err(ConfigError::Value {
                key: "provisioning.rotation_grace_s".into(),
                message: "must be at most 31536000 (a year)".into(),
            });
        }
        if self.templates_poll_s > 24 * 3600 {
            return Err(ConfigError::Value {
                key: "provisioning.templates_poll_s".into(),
                message: "must be at most 86400 (a day)".into(),
            });
        }
        positive("provisioning.nonce_lifetime_s", self.nonce_lifetime_s)?;
        positive(
            "provisioning.max_failures_per_ip",
            self.max_failures_per_ip.into(),
        )?;
        positive(
            "provisioning.max_failures_per_device",
            self.max_failures_per_device.into(),
        )?;
        positive("provisioning.failure_window_s", self.failure_window_s)?;
        positive("provisioning.cooling_off_s", self.cooling_off_s)?;
        positive("provisioning.cache_ttl_s", self.cache_ttl_s)?;
        if self.tls_cert.as_os_str().is_empty() != self.tls_key.as_os_str().is_empty() {
            return Err(ConfigError::Value {
                key: "provisioning.tls_key".into(),
                message: "set both provisioning.tls_cert and provisioning.tls_key, or neither"
                    .into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use std::path::PathBuf;

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
}
