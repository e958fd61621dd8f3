//! Where a delivery may go: an `http(s)` URL without credentials, and the SSRF guard, which
//! refuses loopback, private, link-local, shared, multicast and unspecified addresses and this
//! daemon's own listen addresses unless `[webhooks] allow_private` is on. The guard runs when an
//! endpoint is saved (its name is resolved then) and again on every connection: delivery
//! resolves names through [`GuardedResolver`], so a name re-pointed at an inside address after
//! the check still cannot reach it, and a literal address is checked before sending.

use reqwest::Url;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// The longest URL.
pub const MAX_URL_CHARS: usize = 2048;

/// The URLs the document offers: a host name whose labels start with a letter, an optional
/// port, a path and query without white space (the parser takes more: IP addresses, other
/// host names).
const URL_PATTERN: &str = r"^https?://[a-z][a-z0-9-]{0,62}(\.[a-z][a-z0-9-]{0,62})*(:[1-9][0-9]{0,3})?(/(%[0-9A-Fa-f]{2}|[A-Za-z0-9._~!$&'()*+,;=:@/?-])*)?$";

/// An endpoint's URL, parsed and checked for shape (the address check is [`Guard`]'s).
/// It is kept and shown as written (trimmed), so what an operator reads back is what they sent
/// and what the document describes; requests go to its parsed form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    text: String,
    url: Url,
}

impl WebhookUrl {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.chars().count() > MAX_URL_CHARS {
            return Err(format!("must be at most {MAX_URL_CHARS} characters"));
        }
        let url = Url::parse(text).map_err(|e| {
            format!(
                "not a URL ({e}): {}",
                crate::types::text::quote_prefix(text)
            )
        })?;
        check_uri_characters(text)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("must be http or https, not {}", url.scheme()));
        }
        if url.host().is_none() {
            return Err("must name a host".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(
                "must not carry a user or password (receivers check the signature instead)".into(),
            );
        }
        if url.fragment().is_some() {
            return Err("must not have a #fragment".into());
        }
        Ok(Self {
            text: text.to_string(),
            url,
        })
    }

    pub fn as_url(&self) -> &Url {
        &self.url
    }

    /// The URL as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The literal address the URL names, if it names one instead of a host name.
    pub fn literal_ip(&self) -> Option<IpAddr> {
        let host = self.url.host_str()?;
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .ok()
    }
}

/// RFC 3986's characters only, `%` starting an escape: a URL is sent as written, so an IRI
/// (`/½`) or a space must be percent-encoded by whoever writes it, not guessed at here.
fn check_uri_characters(text: &str) -> Result<(), String> {
    let bytes = text.as_bytes();
    for (at, c) in text.char_indices() {
        let escape = c == '%'
            && bytes.get(at + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(at + 2).is_some_and(u8::is_ascii_hexdigit);
        let allowed = c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=".contains(c);
        if !(allowed || escape) {
            return Err(format!(
                "{c:?} at character {} is not allowed in a URL; percent-encode it (an \
                 international host name goes in its xn-- form)",
                text[..at].chars().count() + 1
            ));
        }
    }
    Ok(())
}

impl Serialize for WebhookUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for WebhookUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for WebhookUrl {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::types::schema::string(
            "An http or https URL without a user or password (https is recommended); loopback, \
             private and link-local targets are refused unless the daemon allows them",
            Some(URL_PATTERN),
            (Some(8), Some(MAX_URL_CHARS)),
            Some("uri"),
        )
    }
}

impl utoipa::ToSchema for WebhookUrl {}

/// Why `ip` is not a public address, if it is not.
pub fn inside(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => inside_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => inside_v4(v4),
            None => inside_v6(v6),
        },
    }
}

fn inside_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address")
    } else if ip.is_unspecified() || a == 0 {
        Some("an unspecified address")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a shared (carrier-grade NAT) address")
    } else if ip.is_multicast() || ip.is_broadcast() || a >= 240 {
        Some("a multicast or reserved address")
    } else {
        None
    }
}

fn inside_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_unspecified() {
        Some("an unspecified address")
    } else if first & 0xfe00 == 0xfc00 {
        Some("a private (unique local) address")
    } else if first & 0xffc0 == 0xfe80 {
        Some("a link-local address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if ip.to_ipv4().is_some() && first == 0 {
        // IPv4-compatible (::a.b.c.d), deprecated: judged as the IPv4 address it carries.
        ip.to_ipv4().and_then(inside_v4)
    } else {
        None
    }
}

/// The SSRF guard of one daemon.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    pub allow_private: bool,
    /// This daemon's own listen addresses (the specific ones; a wildcard listen is covered by
    /// the loopback and private checks for the host's inside addresses).
    pub own: Vec<IpAddr>,
}

impl Guard {
    /// The guard of a daemon with `config`.
    pub fn of(config: &crate::config::Config) -> Self {
        let mut own: Vec<IpAddr> = [config.http.listen, config.provisioning.listen]
            .into_iter()
            .chain(config.sip.listen.iter().copied())
            .chain(config.redirect.listen.iter().copied())
            .map(|a| a.ip())
            .filter(|ip| !ip.is_unspecified())
            .collect();
        own.sort();
        own.dedup();
        Self {
            allow_private: config.webhooks.allow_private,
            own,
        }
    }

    /// `Err` naming why a delivery may not go to `ip`.
    pub fn check(&self, ip: IpAddr) -> Result<(), String> {
        if self.allow_private {
            return Ok(());
        }
        if self.own.contains(&ip) {
            return Err(format!("{ip} is this daemon's own address"));
        }
        match inside(ip) {
            Some(why) => Err(format!(
                "{ip} is {why} (allowed only with [webhooks] allow_private)"
            )),
            None => Ok(()),
        }
    }

    /// Checks where `url` leads now: its literal address, or every address its name resolves
    /// to (a name that does not resolve is refused too). With `allow_private` nothing is
    /// checked, nor resolved.
    pub async fn check_url(&self, url: &WebhookUrl) -> Result<(), String> {
        if self.allow_private {
            return Ok(());
        }
        if let Some(ip) = url.literal_ip() {
            return self.check(ip);
        }
        let host = url.as_url().host_str().unwrap_or_default().to_string();
        let port = url.as_url().port_or_known_default().unwrap_or(443);
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| format!("{host} does not resolve: {e}"))?
            .collect();
        if addrs.is_empty() {
            return Err(format!("{host} does not resolve"));
        }
        addrs.iter().try_for_each(|a| self.check(a.ip()))
    }
}

/// reqwest's name resolution through the guard: only the allowed addresses of a name are
/// offered to the connector.
pub struct GuardedResolver(pub Arc<Guard>);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.0.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = all
                .iter()
                .copied()
                .filter(|a| guard.check(a.ip()).is_ok())
                .collect();
            if allowed.is_empty() {
                let why = all
                    .first()
                    .and_then(|a| guard.check(a.ip()).err())
                    .unwrap_or_else(|| "no address".into());
                return Err(format!("{host}: {why}").into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect(text)
    }

    #[test]
    fn inside_addresses_are_refused_and_public_ones_pass() {
        let guard = Guard::default();
        for bad in [
            "127.0.0.1",
            "127.9.9.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "100.64.0.1",
            "100.127.255.254",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
        ] {
            assert!(guard.check(ip(bad)).is_err(), "{bad} must be refused");
        }
        for good in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "192.0.2.1",
            "2001:db8::1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(guard.check(ip(good)).is_ok(), "{good} must pass");
        }
        let own = Guard {
            allow_private: false,
            own: vec![ip("203.0.113.7")],
        };
        assert!(
            own.check(ip("203.0.113.7"))
                .unwrap_err()
                .contains("own address")
        );
        let open = Guard {
            allow_private: true,
            own: vec![],
        };
        assert!(open.check(ip("127.0.0.1")).is_ok());
    }

    #[test]
    fn urls_must_be_plain_http_or_https() {
        assert!(WebhookUrl::parse(" https://hooks.example.com/in?x=1 ").is_ok());
        assert_eq!(
            WebhookUrl::parse("http://[::1]:8080/h")
                .expect("v6")
                .literal_ip(),
            Some(ip("::1"))
        );
        for (bad, why) in [
            ("ftp://example.com/", "http or https"),
            ("https://user:pw@example.com/", "user or password"),
            ("https://example.com/#x", "fragment"),
            ("not a url", "not a URL"),
            ("mailto:a@example.com", "http or https"),
            ("https://e.com/\u{bd}\u{b2}", "percent-encode"),
            ("https://e.com/a b", "percent-encode"),
            ("https://e.com/%zz", "percent-encode"),
            ("https://e.com/<x>", "percent-encode"),
        ] {
            let error = WebhookUrl::parse(bad).expect_err(bad);
            assert!(error.contains(why), "{bad}: {error}");
        }
        assert!(
            WebhookUrl::parse(&format!("https://e.com/{}", "a".repeat(MAX_URL_CHARS))).is_err()
        );
    }

    #[test]
    fn a_url_reads_back_as_written() {
        let host = format!(
            "h{}.example",
            "a".repeat(MAX_URL_CHARS - "https://h.example".len())
        );
        let given = format!("https://{host}");
        assert_eq!(given.chars().count(), MAX_URL_CHARS);
        let url = WebhookUrl::parse(&format!(" {given}\n")).expect("longest");
        assert_eq!(url.as_str(), given, "trimmed, not normalised");
        assert_eq!(url.as_url().path(), "/", "sent in its normal form");
        assert_eq!(WebhookUrl::parse(url.as_str()), Ok(url));
    }

    #[test]
    fn the_schema_pattern_only_allows_urls_the_parser_takes() {
        let pattern = crate::types::schema::check::pattern_of(
            <WebhookUrl as utoipa::PartialSchema>::schema(),
        );
        for good in [
            "https://hooks.example.com/in?x=1",
            "http://h-1.example:8080",
            "https://e.com",
            "https://e.com/a%20b/~x;y=1,2@z?q=(1)&r=$*+!'",
        ] {
            assert!(
                pattern.is_match(good) && WebhookUrl::parse(good).is_ok(),
                "{good}"
            );
        }
        for bad in [
            "https://u:p@e.com/",
            "https://e.com/#f",
            "ftp://e.com",
            "https:///x",
            "http://1.2.3.4/",
            "http://e.com:99999/",
            "https://e.com/\u{bd}",
            "https://e.com/a b",
            "https://e.com/%zz",
            "https://e.com/{x}",
        ] {
            assert!(!pattern.is_match(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn names_are_judged_by_what_they_resolve_to() {
        let guard = Guard::default();
        let url = WebhookUrl::parse("http://localhost:9/").expect("url");
        let error = guard
            .check_url(&url)
            .await
            .expect_err("localhost is loopback");
        assert!(error.contains("loopback"), "{error}");
        let literal = WebhookUrl::parse("http://169.254.169.254/latest/meta-data").expect("url");
        assert!(guard.check_url(&literal).await.is_err());
    }
}
