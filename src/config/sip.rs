//! `[sip]`: the SIP endpoint's listeners, message size limit and User-Agent.

use super::{ConfigError, positive};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SipConfig {
    /// Addresses the SIP endpoint listens on, each on UDP and TCP (same port). Add `[::]:5060`
    /// for IPv6; port 0 picks a free port.
    pub listen: Vec<SocketAddr>,
    /// Largest SIP message accepted; bigger ones are dropped (and counted).
    pub max_message_bytes: usize,
    /// User-Agent / Server header of what dialtone sends: the product name without its version
    /// by default (a version tells a scanner which flaws to try); set your own if you like.
    pub user_agent: String,
}

impl Default for SipConfig {
    fn default() -> Self {
        Self {
            listen: vec![SocketAddr::from(([0, 0, 0, 0], 5060))],
            max_message_bytes: 65_535,
            user_agent: "dialtone".into(),
        }
    }
}

impl SipConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        positive("sip.max_message_bytes", self.max_message_bytes as u64)?;
        if self.listen.is_empty() {
            return Err(ConfigError::Value {
                key: "sip.listen".into(),
                message: "needs at least one address".into(),
            });
        }
        Ok(())
    }
}
