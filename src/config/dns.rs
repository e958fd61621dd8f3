//! `[dns]`: where SIP host names (gateways, phones' contacts) are resolved: the machine's DNS, or
//! a static table named here, so a closed network (or a test) never asks a DNS server.

use super::ConfigError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Host names' answers for the SIP resolver (RFC 3263: SRV, then A/AAAA).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DnsConfig {
    /// `system`: the machine's resolver (`/etc/resolv.conf`). `static`: only the names in
    /// `hosts` and `srv` resolve; any other name resolves to nothing (like NXDOMAIN), and no
    /// DNS server is ever asked.
    pub mode: DnsMode,
    /// In `static` mode, each host name with its addresses (IPv4 or IPv6), e.g.
    /// `{ "gw1.example.com" = ["192.0.2.10"] }`.
    pub hosts: BTreeMap<String, Vec<IpAddr>>,
    /// In `static` mode, SRV records by name, each `"priority weight port target"`, e.g.
    /// `{ "_sip._udp.carrier.example" = ["10 60 5060 gw1.example.com"] }`; every target must be
    /// in `hosts` (or be `.`, "no service").
    pub srv: BTreeMap<String, Vec<SrvEntry>>,
}

/// Where the resolver's answers come from.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DnsMode {
    #[default]
    System,
    Static,
}

/// One SRV record of the static table, written `"priority weight port target"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SrvEntry {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub target: String,
}

impl TryFrom<String> for SrvEntry {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let bad = || format!("expected \"priority weight port target\", got {text:?}");
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [priority, weight, port, target] = fields[..] else {
            return Err(bad());
        };
        Ok(Self {
            priority: priority.parse().map_err(|_| bad())?,
            weight: weight.parse().map_err(|_| bad())?,
            port: port.parse().map_err(|_| bad())?,
            target: target.to_string(),
        })
    }
}

impl From<SrvEntry> for String {
    fn from(entry: SrvEntry) -> String {
        format!(
            "{} {} {} {}",
            entry.priority, entry.weight, entry.port, entry.target
        )
    }
}

/// The key a host name is compared under (the resolver matches the same way).
fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl DnsConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.mode == DnsMode::System && !(self.hosts.is_empty() && self.srv.is_empty()) {
            let key = if self.hosts.is_empty() {
                "dns.srv"
            } else {
                "dns.hosts"
            };
            return Err(ConfigError::Value {
                key: key.into(),
                message: "only used with dns.mode = \"static\"".into(),
            });
        }
        for name in self.hosts.keys().chain(self.srv.keys()) {
            if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c.is_control()) {
                return Err(ConfigError::Value {
                    key: "dns.hosts".into(),
                    message: format!("not a host name: {name:?}"),
                });
            }
        }
        let hosts: Vec<String> = self.hosts.keys().map(|h| normalize(h)).collect();
        for (name, entries) in &self.srv {
            for entry in entries {
                if entry.target != "." && !hosts.contains(&normalize(&entry.target)) {
                    return Err(ConfigError::Value {
                        key: format!("dns.srv.{name}"),
                        message: format!(
                            "target {:?} is not in dns.hosts (nothing else resolves in static mode)",
                            entry.target
                        ),
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::*;

    #[test]
    fn system_by_default_and_a_static_table_from_the_file() {
        let config = Config::from_toml("").unwrap();
        assert_eq!(config.dns.mode, DnsMode::System);
        assert!(config.dns.hosts.is_empty());
        let config = Config::from_toml(
            "[dns]\nmode = \"static\"\nhosts = { \"gw1.example.com\" = [\"127.0.0.1\", \"::1\"] }\n\
             srv = { \"_sip._udp.carrier.test\" = [\"10 60 5062 gw1.example.com\"] }\n",
        )
        .unwrap();
        config.validate().unwrap();
        assert_eq!(config.dns.mode, DnsMode::Static);
        assert_eq!(config.dns.hosts["gw1.example.com"].len(), 2);
        let srv = &config.dns.srv["_sip._udp.carrier.test"][0];
        assert_eq!((srv.priority, srv.weight, srv.port), (10, 60, 5062));
        assert_eq!(srv.target, "gw1.example.com");
        let again = Config::from_toml(&config.to_toml()).unwrap();
        assert_eq!(again.dns.srv, config.dns.srv);
        assert_eq!(again.dns.hosts, config.dns.hosts);
    }

    #[test]
    fn bad_tables_are_refused_by_key() {
        for (text, key) in [
            ("[dns]\nmode = \"magic\"\n", "dns.mode"),
            (
                "[dns]\nmode = \"static\"\nhosts = { \"gw\" = [\"not-an-ip\"] }\n",
                "dns.hosts",
            ),
            (
                "[dns]\nmode = \"static\"\nsrv = { \"_sip._udp.x\" = [\"10 60 gw\"] }\n",
                "dns.srv",
            ),
            ("[dns]\nresolver = \"x\"\n", "resolver"),
        ] {
            let err = Config::from_toml(text).unwrap_err();
            assert!(err.contains(key), "{text}: {err}");
        }
        let config = Config::from_toml("[dns]\nhosts = { \"gw\" = [\"127.0.0.1\"] }\n").unwrap();
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.starts_with("dns.hosts") && err.contains("static"),
            "{err}"
        );
        let config = Config::from_toml(
            "[dns]\nmode = \"static\"\nsrv = { \"_sip._udp.x\" = [\"10 60 5060 elsewhere\"] }\n",
        )
        .unwrap();
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.starts_with("dns.srv") && err.contains("elsewhere"),
            "{err}"
        );
    }
}
