//! The client's address: the TCP peer, or — when the peer is one of `http.trusted_proxies` — the
//! nearest address in `X-Forwarded-For` that is not a trusted proxy. Rate limits, login budgets,
//! orgips and the audit log all use it.

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The resolved client address of a request (`None` only without a TCP peer, as in unit tests).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(parts
            .extensions
            .get::<ClientIp>()
            .copied()
            .unwrap_or_else(|| {
                ClientIp(
                    parts
                        .extensions
                        .get::<ConnectInfo<SocketAddr>>()
                        .map(|ConnectInfo(peer)| peer.ip()),
                )
            }))
    }
}

/// Puts the request's [`ClientIp`] on it, for the layers and handlers after this one.
pub async fn resolve(
    State(trusted): State<Arc<[IpNet]>>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    let client = peer.map(|peer| client_of(peer, request.headers(), &trusted));
    request.extensions_mut().insert(ClientIp(client));
    next.run(request).await
}

/// The client behind `peer`: `peer` itself unless it is a trusted proxy; then the rightmost
/// `X-Forwarded-For` address that is not a trusted proxy (a client can write anything to the
/// left of what its first proxy appended, so nothing left of that is believed). An unreadable
/// header leaves the proxy's own address.
pub fn client_of(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(&canonical(*ip)));
    if !is_trusted(&peer) {
        return peer;
    }
    // Right to left: each hop was appended by the proxy to its right, so stop at the first one
    // that is not a trusted proxy. Whatever stands further left the client wrote itself, so its
    // shape does not matter; an unreadable hop before that point leaves the last trusted one.
    let lines: Vec<Option<&str>> = headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|value| value.to_str().ok())
        .collect();
    let mut client = peer;
    for line in lines.into_iter().rev() {
        let Some(line) = line else {
            return client;
        };
        for hop in line.rsplit(',') {
            let Some(hop) = parse_hop(hop) else {
                return client;
            };
            client = hop;
            if !is_trusted(&hop) {
                return client;
            }
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, possibly `[v6]:port` or `v4:port`.
fn parse_hop(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(canonical)
}

/// IPv4-mapped IPv6 (`::ffff:10.0.0.1`, what a dual-stack socket reports) as plain IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append("x-forwarded-for", v.parse().unwrap());
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn only_a_trusted_peer_is_looked_behind() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let forwarded = headers(&["203.0.113.7"]);
        assert_eq!(
            client_of(ip("198.51.100.1"), &forwarded, &trusted),
            ip("198.51.100.1")
        );
        assert_eq!(
            client_of(ip("10.1.2.3"), &forwarded, &trusted),
            ip("203.0.113.7")
        );
        assert_eq!(
            client_of(ip("10.1.2.3"), &HeaderMap::new(), &trusted),
            ip("10.1.2.3")
        );
        assert_eq!(client_of(ip("10.1.2.3"), &forwarded, &[]), ip("10.1.2.3"));
    }

    #[test]
    fn the_rightmost_untrusted_hop_wins_and_spoofed_entries_are_ignored() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
        // The client wrote 1.1.1.1 itself; its first proxy appended the real 203.0.113.7.
        let chain = headers(&["1.1.1.1, 203.0.113.7, 10.0.0.2"]);
        assert_eq!(client_of(ip("::1"), &chain, &trusted), ip("203.0.113.7"));
        // Several header lines are one list, in order.
        let lines = headers(&["1.1.1.1", "203.0.113.7", "10.0.0.2"]);
        assert_eq!(
            client_of(ip("10.0.0.1"), &lines, &trusted),
            ip("203.0.113.7")
        );
        // All trusted: the leftmost.
        let inner = headers(&["10.9.9.9, 10.0.0.2"]);
        assert_eq!(client_of(ip("10.0.0.1"), &inner, &trusted), ip("10.9.9.9"));
        // Ports and mapped addresses.
        let ported = headers(&["[2001:db8::1]:4711, 203.0.113.9:80, ::ffff:10.0.0.5"]);
        assert_eq!(
            client_of(ip("10.0.0.1"), &ported, &trusted),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn garbage_leaves_the_proxy_address() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        // A client's own junk left of what the proxy appended does not matter.
        let junk_first = headers(&["unknown, <script>, 203.0.113.7"]);
        assert_eq!(
            client_of(ip("10.0.0.1"), &junk_first, &trusted),
            ip("203.0.113.7")
        );
        let junk_line = headers(&["unknown", "203.0.113.7"]);
        assert_eq!(
            client_of(ip("10.0.0.1"), &junk_line, &trusted),
            ip("203.0.113.7")
        );
        // Junk where the trusted proxies wrote leaves the nearest trusted address.
        let behind_junk = headers(&["203.0.113.7, unknown, 10.0.0.3"]);
        assert_eq!(
            client_of(ip("10.0.0.1"), &behind_junk, &trusted),
            ip("10.0.0.3")
        );
        for bad in [
            "unknown",
            "203.0.113.7, ",
            "<script>",
            "203.0.113.7; 1.1.1.1",
        ] {
            assert_eq!(
                client_of(ip("10.0.0.1"), &headers(&[bad]), &trusted),
                ip("10.0.0.1"),
                "{bad}"
            );
        }
    }
}
