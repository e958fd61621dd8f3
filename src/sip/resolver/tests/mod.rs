//! The resolver's tests: helpers, RFC 3263 resolution, static and hickory lookups built.

mod cache;
mod order;

use super::*;

const TTL: Duration = Duration::from_secs(300);

fn uri(text: &str) -> SipUri {
    SipUri::parse(text).unwrap()
}

fn srv(priority: u16, weight: u16, port: u16, target: &str) -> SrvRecord {
    SrvRecord {
        priority,
        weight,
        port,
        target: target.to_string(),
        ttl: TTL,
    }
}

fn ip(text: &str) -> IpRecord {
    IpRecord {
        ip: text.parse().unwrap(),
        ttl: TTL,
    }
}

fn target(addr: &str, transport: Transport) -> Target {
    Target {
        addr: addr.parse().unwrap(),
        transport,
    }
}

fn seeded(lookup: &Arc<StaticLookup>) -> Resolver {
    Resolver::new(lookup.clone()).with_seed(7)
}

#[tokio::test]
async fn numeric_host_does_no_dns() {
    let lookup = Arc::new(StaticLookup::new());
    let resolver = seeded(&lookup);
    let now = Instant::now();
    assert_eq!(
        resolver.resolve(&uri("sip:192.0.2.1"), now).await.unwrap(),
        vec![target("192.0.2.1:5060", Transport::Udp)]
    );
    assert_eq!(
        resolver
            .resolve(&uri("sip:[2001:db8::1]:5080;transport=tcp"), now)
            .await
            .unwrap(),
        vec![target("[2001:db8::1]:5080", Transport::Tcp)]
    );
    assert_eq!((lookup.srv_calls(), lookup.ip_calls()), (0, 0));
    assert_eq!(resolver.cache_len(), 0);
}

#[tokio::test]
async fn explicit_port_skips_srv() {
    let lookup = Arc::new(
        StaticLookup::new()
            .with_srv(
                "_sip._udp.gw.example.com",
                [srv(0, 0, 5070, "other.example.com")],
            )
            .with_ips("gw.example.com", [ip("192.0.2.10"), ip("2001:db8::10")]),
    );
    let resolver = seeded(&lookup);
    let targets = resolver
        .resolve(
            &uri("sip:gw.example.com:5080;transport=tcp"),
            Instant::now(),
        )
        .await
        .unwrap();
    assert_eq!(
        targets,
        vec![
            target("192.0.2.10:5080", Transport::Tcp),
            target("[2001:db8::10]:5080", Transport::Tcp),
        ]
    );
    assert_eq!((lookup.srv_calls(), lookup.ip_calls()), (0, 1));
}

#[tokio::test]
async fn srv_priority_order_with_ipv4_and_ipv6() {
    let lookup = Arc::new(
        StaticLookup::new()
            .with_srv(
                "_sip._udp.example.com",
                [
                    srv(20, 0, 5062, "c.example.com."),
                    srv(10, 0, 5061, "b.example.com."),
                    srv(5, 0, 5060, "A.Example.com."),
                ],
            )
            .with_ips("a.example.com", [ip("192.0.2.1"), ip("2001:db8::1")])
            .with_ips("b.example.com", [ip("2001:db8::2")])
            .with_ips("c.example.com", [ip("192.0.2.3")]),
    );
    let resolver = seeded(&lookup);
    let targets = resolver
        .resolve(&uri("sip:example.com"), Instant::now())
        .await
        .unwrap();
    assert_eq!(
        targets,
        vec![
            target("192.0.2.1:5060", Transport::Udp),
            target("[2001:db8::1]:5060", Transport::Udp),
            target("[2001:db8::2]:5061", Transport::Udp),
            target("192.0.2.3:5062", Transport::Udp),
        ]
    );
    assert_eq!(lookup.srv_calls(), 1);
}

#[tokio::test]
async fn transport_tcp_queries_only_tcp_srv() {
    let lookup = Arc::new(
        StaticLookup::new()
            .with_srv(
                "_sip._udp.example.com",
                [srv(0, 0, 5060, "udp.example.com")],
            )
            .with_srv(
                "_sip._tcp.example.com",
                [srv(0, 0, 5065, "tcp.example.com")],
            )
            .with_ips("udp.example.com", [ip("192.0.2.1")])
            .with_ips("tcp.example.com", [ip("192.0.2.2")]),
    );
    let resolver = seeded(&lookup);
    let targets = resolver
        .resolve(&uri("sip:example.com;transport=tcp"), Instant::now())
        .await
        .unwrap();
    assert_eq!(targets, vec![target("192.0.2.2:5065", Transport::Tcp)]);
    assert_eq!(lookup.srv_calls(), 1);
}

#[tokio::test]
async fn falls_back_from_udp_to_tcp_srv() {
    let lookup = Arc::new(
        StaticLookup::new()
            .with_srv(
                "_sip._tcp.example.com",
                [srv(0, 0, 5065, "tcp.example.com")],
            )
            .with_ips("tcp.example.com", [ip("192.0.2.2")])
            .with_ips("example.com", [ip("192.0.2.99")]),
    );
    let resolver = seeded(&lookup);
    let targets = resolver
        .resolve(&uri("sip:example.com"), Instant::now())
        .await
        .unwrap();
    assert_eq!(targets, vec![target("192.0.2.2:5065", Transport::Tcp)]);
    assert_eq!(lookup.srv_calls(), 2);

    // An explicit transport=udp does not fall back to TCP: no SRV at all → A on 5060.
    let targets = resolver
        .resolve(&uri("sip:example.com;transport=udp"), Instant::now())
        .await
        .unwrap();
    assert_eq!(targets, vec![target("192.0.2.99:5060", Transport::Udp)]);
}

#[tokio::test]
async fn no_srv_uses_a_and_aaaa_on_5060() {
    let lookup = Arc::new(
        StaticLookup::new().with_ips("gw.example.com", [ip("192.0.2.7"), ip("2001:db8::7")]),
    );
    let resolver = seeded(&lookup);
    let targets = resolver
        .resolve(&uri("sip:gw.example.com"), Instant::now())
        .await
        .unwrap();
    assert_eq!(
        targets,
        vec![
            target("192.0.2.7:5060", Transport::Udp),
            target("[2001:db8::7]:5060", Transport::Udp),
        ]
    );
    assert_eq!((lookup.srv_calls(), lookup.ip_calls()), (2, 1));

    let targets = resolver
        .resolve(&uri("sip:gw.example.com;transport=tcp"), Instant::now())
        .await
        .unwrap();
    assert_eq!(targets[0], target("192.0.2.7:5060", Transport::Tcp));
}

#[tokio::test]
async fn ipv6_only_srv_target() {
    let lookup = Arc::new(
        StaticLookup::new()
            .with_srv(
                "_sip._udp.v6.example.com",
                [srv(0, 0, 5060, "pbx.v6.example.com")],
            )
            .with_ips(
                "pbx.v6.example.com",
                [ip("2001:db8::5060"), ip("2001:db8::5061")],
            ),
    );
    let resolver = seeded(&lookup);
    let targets = resolver
        .resolve(&uri("sip:v6.example.com"), Instant::now())
        .await
        .unwrap();
    assert_eq!(
        targets,
        vec![
            target("[2001:db8::5060]:5060", Transport::Udp),
            target("[2001:db8::5061]:5060", Transport::Udp),
        ]
    );
}

#[tokio::test]
async fn dot_target_means_not_available() {
    let lookup = Arc::new(
        StaticLookup::new()
            .with_srv("_sip._udp.example.com", [srv(0, 0, 0, ".")])
            .with_ips("example.com", [ip("192.0.2.1")]),
    );
    let resolver = seeded(&lookup);
    let now = Instant::now();
    let targets = resolver
        .resolve(&uri("sip:example.com"), now)
        .await
        .unwrap();
    assert!(targets.is_empty());
    // Tried TCP SRV (a different service), never the A record.
    assert_eq!((lookup.srv_calls(), lookup.ip_calls()), (2, 0));

    let targets = resolver
        .resolve(&uri("sip:example.com;transport=udp"), now)
        .await
        .unwrap();
    assert!(targets.is_empty());
    assert_eq!((lookup.srv_calls(), lookup.ip_calls()), (3, 0));

    // "." for UDP does not hide a TCP service when the transport is open.
    let lookup = Arc::new(
        StaticLookup::new()
            .with_srv("_sip._udp.example.com", [srv(0, 0, 0, ".")])
            .with_srv(
                "_sip._tcp.example.com",
                [srv(0, 0, 5060, "tcp.example.com")],
            )
            .with_ips("tcp.example.com", [ip("192.0.2.2")]),
    );
    let targets = seeded(&lookup)
        .resolve(&uri("sip:example.com"), now)
        .await
        .unwrap();
    assert_eq!(targets, vec![target("192.0.2.2:5060", Transport::Tcp)]);
}

#[tokio::test]
async fn static_lookup_names_are_case_and_dot_insensitive() {
    let lookup = StaticLookup::new().with_ips("GW.example.com.", [ip("192.0.2.1")]);
    let answer = lookup.ips("gw.EXAMPLE.com").await.unwrap();
    assert_eq!(answer, vec![ip("192.0.2.1")]);
    assert!(lookup.srv("gw.example.com").await.unwrap().is_empty());
}

#[tokio::test]
async fn hickory_lookup_builds_with_explicit_servers() {
    assert!(HickoryLookup::with_name_servers(vec![]).is_err());
    let lookup = HickoryLookup::with_name_servers(vec!["127.0.0.1:5353".parse().unwrap()]);
    assert!(lookup.is_ok());
}
