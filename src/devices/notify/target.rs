//! Where a device's NOTIFY goes and what its answer means. Pure: no pool, no socket, no clock.
//!
//! The target (Request-URI and To) is the device's explicit `contact` when it has one; otherwise
//! `sip:<first line's user name>@<address it last provisioned from>:5060`: a phone fetches its
//! configuration from the address it also receives SIP on, and 5060 is every vendor's default
//! local SIP port (behind NAT that guess fails: set `contact` then). When the organization (or
//! the nearest ancestor that sets one) has an `outbound_proxy`, the NOTIFY keeps the phone as its
//! Request-URI, carries `Route: <proxy;lr>` (RFC 3261 §8.1.2 loose routing) and is sent to the
//! proxy, which forwards it over the phone's registration flow.

use crate::types::sip_uri::{Host, SipUri};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use utoipa::ToSchema;

/// The local SIP port a phone listens on unless told otherwise.
pub const DEFAULT_PHONE_PORT: u16 = 5060;

/// What the NOTIFY asks the phone to do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = NotifyAction)]
pub enum Action {
    /// Fetch the configuration again (and apply it; some vendors reboot to do so).
    #[default]
    Resync,
    Reboot,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Resync => "resync",
            Action::Reboot => "reboot",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "resync" => Some(Action::Resync),
            "reboot" => Some(Action::Reboot),
            _ => None,
        }
    }

    fn parse_stored(text: &str) -> Result<Self, &'static str> {
        Self::parse(text).ok_or("not resync or reboot")
    }

    /// The event-log name of a NOTIFY with this action.
    pub fn event_name(self) -> &'static str {
        match self {
            Action::Resync => "device.resync",
            Action::Reboot => "device.reboot",
        }
    }
}

/// How a NOTIFY ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The phone answered 2xx.
    Ok,
    /// The phone (or the proxy) answered with a final non-2xx: 481, 489, 401 …
    Rejected,
    /// No final answer in time.
    Timeout,
    /// Nothing was sent: no address, the name does not resolve, or the transport failed.
    Unreachable,
}

impl Outcome {
    pub const NAMES: [&'static str; 4] = ["ok", "rejected", "timeout", "unreachable"];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Rejected => "rejected",
            Outcome::Timeout => "timeout",
            Outcome::Unreachable => "unreachable",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "ok" => Some(Outcome::Ok),
            "rejected" => Some(Outcome::Rejected),
            "timeout" => Some(Outcome::Timeout),
            "unreachable" => Some(Outcome::Unreachable),
            _ => None,
        }
    }

    fn parse_stored(text: &str) -> Result<Self, String> {
        Self::parse(text).ok_or_else(|| format!("not one of {}", Self::NAMES.join(", ")))
    }

    /// What a final response code means.
    pub fn of_code(code: u16) -> Self {
        if (200..300).contains(&code) {
            Outcome::Ok
        } else {
            Outcome::Rejected
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

crate::text_column!(Action, "action", Action::parse_stored);
crate::text_column!(Outcome, "outcome", Outcome::parse_stored);

/// Why a device has no address to NOTIFY.
pub const NO_ADDRESS: &str = "the device has no contact and has never fetched its \
    configuration, so there is no address to NOTIFY: set its contact";

/// The fields of a device that decide its target.
#[derive(Debug, Clone, Copy)]
pub struct Addressing<'a> {
    pub contact: Option<&'a str>,
    pub last_provisioned_ip: Option<&'a str>,
    pub first_line_user: Option<&'a str>,
}

/// The URI the NOTIFY is addressed to, or why there is none.
pub fn target(device: Addressing<'_>) -> Result<SipUri, String> {
    if let Some(contact) = device.contact {
        return SipUri::parse(contact).map_err(|e| format!("contact: {e}"));
    }
    let Some(ip) = device.last_provisioned_ip.and_then(parse_ip) else {
        return Err(NO_ADDRESS.to_string());
    };
    Ok(SipUri {
        user: device.first_line_user.and_then(uri_user),
        host: Host::Ip(ip),
        port: Some(DEFAULT_PHONE_PORT),
        transport: None,
    })
}

/// The stored fetch address: an IP, tolerating a `[v6]`, an `ip:port` or an IPv4-mapped IPv6.
fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    let ip = text
        .parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            text.strip_prefix('[')
                .and_then(|t| t.strip_suffix(']'))
                .and_then(|t| t.parse().ok())
        })?;
    Some(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    })
}

/// A line user name as a Request-URI user part: the part before an `@` (`201@pbx.example.com`
/// is user 201), and none at all if what is left has characters a URI user cannot carry
/// unescaped (the phone is still reached at its address and port).
fn uri_user(user: &str) -> Option<String> {
    let user = user.split('@').next().unwrap_or("");
    let fits = !user.is_empty()
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.!~*'()+&=$,/".contains(&b));
    fits.then(|| user.to_string())
}

/// The Route header value that sends a request through `proxy` (loose routing).
pub fn route_via(proxy: &SipUri) -> String {
    format!("<{proxy};lr>")
}

/// The reason phrase of a status line (`SIP/2.0 481 Call Does Not Exist` → `Call Does Not
/// Exist`), bounded and stripped of control characters: it is shown to users and stored.
pub fn reason_phrase(status_line: &str) -> String {
    let reason = status_line.splitn(3, ' ').nth(2).unwrap_or("").trim();
    reason
        .chars()
        .filter(|c| !c.is_control())
        .take(120)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addressing<'a>(
        contact: Option<&'a str>,
        ip: Option<&'a str>,
        user: Option<&'a str>,
    ) -> Addressing<'a> {
        Addressing {
            contact,
            last_provisioned_ip: ip,
            first_line_user: user,
        }
    }

    #[test]
    fn explicit_contact_wins() {
        let uri = target(addressing(
            Some("sip:201@192.0.2.7:5062;transport=tcp"),
            Some("198.51.100.1"),
            Some("201"),
        ))
        .unwrap();
        assert_eq!(uri.to_string(), "sip:201@192.0.2.7:5062;transport=tcp");
    }

    #[test]
    fn else_the_fetch_address_at_5060_with_the_first_line_user() {
        let uri = target(addressing(None, Some("198.51.100.1"), Some("201"))).unwrap();
        assert_eq!(uri.to_string(), "sip:201@198.51.100.1:5060");
        let uri = target(addressing(None, Some("2001:db8::5"), Some("a+1@pbx"))).unwrap();
        assert_eq!(uri.to_string(), "sip:a+1@[2001:db8::5]:5060");
        let uri = target(addressing(None, Some("192.0.2.9"), Some("a;b"))).unwrap();
        assert_eq!(uri.to_string(), "sip:192.0.2.9:5060");
        let uri = target(addressing(None, Some("::ffff:192.0.2.9"), None)).unwrap();
        assert_eq!(uri.to_string(), "sip:192.0.2.9:5060");
        let uri = target(addressing(None, Some("192.0.2.9:40000"), Some("7"))).unwrap();
        assert_eq!(uri.to_string(), "sip:7@192.0.2.9:5060");
    }

    #[test]
    fn no_contact_and_never_provisioned_names_why() {
        for ip in [None, Some(""), Some("not an address")] {
            let err = target(addressing(None, ip, Some("201"))).unwrap_err();
            assert!(err.contains("no contact"), "{err}");
        }
        let err = target(addressing(Some("http://x"), None, None)).unwrap_err();
        assert!(err.starts_with("contact:"), "{err}");
    }

    #[test]
    fn route_is_loose() {
        let proxy = SipUri::parse("sip:proxy.example.com:5070;transport=tcp").unwrap();
        assert_eq!(
            route_via(&proxy),
            "<sip:proxy.example.com:5070;transport=tcp;lr>"
        );
    }

    #[test]
    fn outcomes_and_reasons() {
        assert_eq!(Outcome::of_code(200), Outcome::Ok);
        assert_eq!(Outcome::of_code(202), Outcome::Ok);
        for code in [300, 401, 481, 489, 503, 603] {
            assert_eq!(Outcome::of_code(code), Outcome::Rejected, "{code}");
        }
        for name in Outcome::NAMES {
            assert_eq!(Outcome::parse(name).unwrap().as_str(), name);
        }
        assert_eq!(
            reason_phrase("SIP/2.0 481 Call/Transaction Does Not Exist"),
            "Call/Transaction Does Not Exist"
        );
        assert_eq!(reason_phrase("SIP/2.0 200"), "");
        assert_eq!(reason_phrase("SIP/2.0 489 Bad\u{7}Event"), "BadEvent");
        assert_eq!(Action::parse("reboot"), Some(Action::Reboot));
        assert_eq!(Action::parse("Reboot"), None);
    }
}
