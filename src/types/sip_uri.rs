//! Gateway and device addresses as typed SIP URIs: `sip:host[:port][;transport=udp|tcp]`.
//!
//! Parsed once at the API edge; the resolver and the pinger only ever see [`SipUri`].

use crate::types::text::quote_prefix;
use std::fmt;
use std::net::IpAddr;

/// Transport of a SIP hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }

    /// Reliable transports retransmit for us (RFC 3261 §17: no Timer E, Timer K = 0).
    pub fn is_reliable(self) -> bool {
        matches!(self, Transport::Tcp)
    }
}

/// The host part: a literal address or a DNS name (lower-cased).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    Ip(IpAddr),
    Name(String),
}

/// A `sip:` URI naming a peer to send requests to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SipUri {
    pub user: Option<String>,
    pub host: Host,
    pub port: Option<u16>,
    pub transport: Option<Transport>,
}

/// Why a URI was refused (the message is shown to API users).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UriError(pub String);

impl SipUri {
    /// Parses `sip:[user@]host[:port][;params]`. IPv6 literals go in brackets. Only the
    /// `transport` parameter is interpreted; `sips:` and unknown transports are refused.
    pub fn parse(text: &str) -> Result<Self, UriError> {
        let err = |why: &str| Err(UriError(format!("{why}: {}", quote_prefix(text))));
        // The document's `maxLength`, white space around included.
        if text.chars().count() > 259 {
            return err("too long");
        }
        let text = text.trim();
        let Some(rest) = text
            .strip_prefix("sip:")
            .or_else(|| text.strip_prefix("SIP:"))
        else {
            return err("must start with sip:");
        };
        if rest.len() > 255 {
            return err("too long");
        }
        let (addr, params) = match rest.split_once(';') {
            Some((a, p)) => (a, Some(p)),
            None => (rest, None),
        };
        if addr.contains(['?', ' ', '<', '>', '"']) {
            return err("unexpected character");
        }
        let (user, hostport) = match addr.rsplit_once('@') {
            Some((u, h)) if valid_user(u) => (Some(u.to_string()), h),
            Some(("", _)) => return err("empty user part"),
            Some(_) => return err("invalid character in the user part"),
            None => (None, addr),
        };
        let (host_text, port_text) = if let Some(v6) = hostport.strip_prefix('[') {
            let Some((inside, after)) = v6.split_once(']') else {
                return err("unterminated IPv6 reference");
            };
            let port = match after {
                "" => None,
                p => match p.strip_prefix(':') {
                    Some(p) => Some(p),
                    None => return err("unexpected text after IPv6 reference"),
                },
            };
            match inside.parse::<std::net::Ipv6Addr>() {
                Ok(_) => (inside, port),
                Err(_) => return err("invalid IPv6 address"),
            }
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        let port = match port_text {
            None => None,
            Some(p) => match p.parse::<u16>() {
                Ok(0) | Err(_) => return err("port must be 1-65535"),
                Ok(p) => Some(p),
            },
        };
        let host = if let Ok(ip) = host_text.parse::<IpAddr>() {
            Host::Ip(ip)
        } else if valid_hostname(host_text) {
            Host::Name(host_text.trim_end_matches('.').to_ascii_lowercase())
        } else {
            return err("invalid host");
        };
        let mut transport = None;
        for param in params.into_iter().flat_map(|p| p.split(';')) {
            let (name, value) = param.split_once('=').unwrap_or((param, ""));
            if name.eq_ignore_ascii_case("transport") {
                transport = Some(match value.to_ascii_lowercase().as_str() {
                    "udp" => Transport::Udp,
                    "tcp" => Transport::Tcp,
                    other => {
                        return err(&format!("unsupported transport {}", quote_prefix(other)));
                    }
                });
            }
        }
        Ok(Self {
            user,
            host,
            port,
            transport,
        })
    }

    /// The `host[:port]` text as it appears in a Request-URI or header.
    pub fn host_port(&self) -> String {
        let host = match &self.host {
            Host::Ip(IpAddr::V6(v6)) => format!("[{v6}]"),
            Host::Ip(ip) => ip.to_string(),
            Host::Name(name) => name.clone(),
        };
        match self.port {
            Some(port) => format!("{host}:{port}"),
            None => host,
        }
    }
}

/// RFC 3261 §25.1 user: unreserved, escaped (`%XX`) and `& = + $ , ; ? /` — never a control
/// character, so a URI can never inject a header line.
fn valid_user(text: &str) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.iter().enumerate().all(|(i, b)| match b {
            b'%' => {
                bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
            }
            b if b.is_ascii_alphanumeric() => true,
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')' => true,
            b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'?' | b'/' => true,
            _ => false,
        })
}

fn valid_hostname(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text.trim_end_matches('.').split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sip:")?;
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        f.write_str(&self.host_port())?;
        if let Some(t) = self.transport {
            write!(f, ";transport={}", t.as_str().to_ascii_lowercase())?;
        }
        Ok(())
    }
}

impl std::str::FromStr for SipUri {
    type Err = UriError;
    fn from_str(text: &str) -> Result<Self, UriError> {
        Self::parse(text)
    }
}

impl serde::Serialize for SipUri {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for SipUri {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

crate::text_column!(SipUri, "uri", SipUri::parse);

impl utoipa::PartialSchema for SipUri {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let ws = crate::types::schema::WHITE_SPACE;
        let user = r"(?:[A-Za-z0-9\-_.!~*'()&=+$,/]|%[0-9A-Fa-f]{2})+";
        let label = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
        let host = format!(r"(?:{label}(?:\.{label})*\.?|\[[0-9A-Fa-f:.]+\])");
        let port = "(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";
        let parameter = "(?:[Tt][Rr][Aa][Nn][Ss][Pp][Oo][Rr][Tt]=(?:[Uu][Dd][Pp]|[Tt][Cc][Pp])|[A-SU-Za-su-z0-9\\-_.!~*'()%][A-Za-z0-9\\-_.!~*'()%]*(?:=[A-Za-z0-9\\-_.!~*'()%\\[\\]:]*)?)";
        let pattern =
            format!("^{ws}*(?:sip|SIP):(?:{user}@)?{host}(?::{port})?(?:;{parameter})*{ws}*$");
        crate::types::schema::string(
            "A SIP URI, `sip:[user@]host[:port][;transport=udp|tcp]` (IPv6 literals in brackets; `sips:` and other transports are refused)",
            Some(&pattern),
            (Some(5), Some(259)),
            Some("sip-uri"),
        )
    }
}

impl utoipa::ToSchema for SipUri {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_pattern_agrees_with_the_parser() {
        use utoipa::PartialSchema;
        let pattern = crate::types::schema::check::pattern_of(SipUri::schema());
        for text in [
            "sip:127.0.0.1:5080",
            "sip:gw.example.com",
            "SIP:alice@pbx.example.com;transport=TCP",
            "sip:[::1]:5060",
            "sip:a%20b@host",
            "sip:host;lr",
            "sip:host;transport=tls",
            "sips:host",
            "sip:",
            "sip:host:0",
            "sip:host:65536",
            "sip:-bad.example",
            "sip:a..b",
            "sip:@host",
            "sip:a b@host",
            " sip:host ",
            "sip:host:5060;transport=udp;lr",
        ] {
            assert_eq!(
                pattern.is_match(text),
                SipUri::parse(text).is_ok(),
                "{text:?}"
            );
        }
    }

    #[tokio::test]
    async fn uris_round_trip_through_json_and_the_database() {
        let uri = SipUri::parse("sip:gw.example.com:5080;transport=tcp").unwrap();
        let json = serde_json::to_string(&uri).unwrap();
        assert_eq!(json, "\"sip:gw.example.com:5080;transport=tcp\"");
        assert_eq!(serde_json::from_str::<SipUri>(&json).unwrap(), uri);
        assert!(serde_json::from_str::<SipUri>("\"http://x\"").is_err());
        let stored = crate::types::column::tests::sqlite_round_trip(&uri).await;
        assert_eq!(stored, (uri.clone(), uri.to_string()));
        let e = crate::types::column::tests::sqlite_decode::<SipUri>("sip:")
            .await
            .unwrap_err();
        assert_eq!(crate::types::column::corrupt_of(&e).unwrap().column, "uri");
    }

    #[test]
    fn round_trips() {
        for text in [
            "sip:192.0.2.1",
            "sip:192.0.2.1:5080",
            "sip:gw.example.com;transport=tcp",
            "sip:[2001:db8::1]:5060;transport=udp",
            "sip:[::1]",
            "sip:alice@pbx.example.com:5061",
        ] {
            let uri = SipUri::parse(text).unwrap();
            assert_eq!(uri.to_string(), text);
            assert_eq!(SipUri::parse(&uri.to_string()).unwrap(), uri);
        }
    }

    #[test]
    fn fields() {
        let uri = SipUri::parse(" sip:GW.Example.COM:5080;transport=TCP;lr ").unwrap();
        assert_eq!(uri.host, Host::Name("gw.example.com".into()));
        assert_eq!(uri.port, Some(5080));
        assert_eq!(uri.transport, Some(Transport::Tcp));
        let uri = SipUri::parse("sip:[::1]:5070").unwrap();
        assert_eq!(uri.host, Host::Ip("::1".parse().unwrap()));
        assert_eq!(uri.port, Some(5070));
    }

    #[test]
    fn refuses_nonsense() {
        for bad in [
            "",
            "http://x",
            "sips:gw.example.com",
            "sip:",
            "sip:gw:0",
            "sip:gw:99999",
            "sip:gw:port",
            "sip:[::1",
            "sip:[nothex]",
            "sip:gw;transport=sctp",
            "sip:bad_host",
            "sip:@gw",
            "sip:a b",
            "sip:a\r\nMax-Forwards:0\r\nContent-Length:500@gw.example.com",
            "sip:a\tb@gw",
            "sip:%zz@gw",
        ] {
            assert!(SipUri::parse(bad).is_err(), "{bad}");
        }
    }
}
