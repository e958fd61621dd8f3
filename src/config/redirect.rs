//! `[redirect]`: the SIP redirect listener and how it identifies the calling organization.

use super::{ConfigError, positive};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

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
    /// The org IP / trunk IP table reloads on every change to them (any instance's); this is
    /// how many seconds a failed reload waits before it is tried again.
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

impl RedirectConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        positive("redirect.refresh_s", self.refresh_s)?;
        if self.enabled && self.listen.is_empty() {
            return Err(ConfigError::Value {
                key: "redirect.listen".into(),
                message: "needs at least one address (or set redirect.enabled = false)".into(),
            });
        }
        for (key, name) in [
            ("redirect.org_header", &self.org_header),
            ("redirect.org_uri_param", &self.org_uri_param),
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;

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
}
