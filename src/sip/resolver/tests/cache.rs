//! The cache: TTLs, negative answers, errors, bounds.

use super::*;

#[tokio::test]
async fn caches_for_the_minimum_ttl() {
    let lookup = Arc::new(
        StaticLookup::new()
            .with_srv(
                "_sip._udp.example.com",
                [SrvRecord {
                    ttl: Duration::from_secs(600),
                    ..srv(0, 0, 5060, "pbx.example.com")
                }],
            )
            .with_ips(
                "pbx.example.com",
                [IpRecord {
                    ip: "192.0.2.1".parse().unwrap(),
                    ttl: Duration::from_secs(60),
                }],
            ),
    );
    let resolver = seeded(&lookup);
    let sip = uri("sip:example.com");
    let start = Instant::now();
    let expected = vec![target("192.0.2.1:5060", Transport::Udp)];

    assert_eq!(resolver.resolve(&sip, start).await.unwrap(), expected);
    assert_eq!((lookup.srv_calls(), lookup.ip_calls()), (1, 1));

    assert_eq!(
        resolver
            .resolve(&sip, start + Duration::from_secs(59))
            .await
            .unwrap(),
        expected
    );
    assert_eq!((lookup.srv_calls(), lookup.ip_calls()), (1, 1));

    // The A record's 60 s, not the SRV's 600 s, bounds the entry.
    assert_eq!(
        resolver
            .resolve(&sip, start + Duration::from_secs(60))
            .await
            .unwrap(),
        expected
    );
    assert_eq!((lookup.srv_calls(), lookup.ip_calls()), (2, 2));

    // Different port/transport of the same host is a different entry.
    resolver
        .resolve(
            &uri("sip:example.com;transport=udp"),
            start + Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(lookup.srv_calls(), 3);
    assert_eq!(resolver.cache_len(), 2);

    // Host names are compared case-insensitively.
    let upper = SipUri {
        host: Host::Name("EXAMPLE.com".into()),
        ..sip.clone()
    };
    resolver
        .resolve(&upper, start + Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(lookup.srv_calls(), 3);
}

#[tokio::test]
async fn zero_ttl_is_not_cached() {
    let lookup = Arc::new(StaticLookup::new().with_ips(
        "gw.example.com",
        [IpRecord {
            ip: "192.0.2.1".parse().unwrap(),
            ttl: Duration::ZERO,
        }],
    ));
    let resolver = seeded(&lookup);
    let now = Instant::now();
    for _ in 0..2 {
        resolver
            .resolve(&uri("sip:gw.example.com:5060"), now)
            .await
            .unwrap();
    }
    assert_eq!(lookup.ip_calls(), 2);
    assert_eq!(resolver.cache_len(), 0);
}

#[tokio::test]
async fn negative_answers_are_cached_briefly() {
    let lookup = Arc::new(StaticLookup::new());
    let resolver = seeded(&lookup);
    let sip = uri("sip:nowhere.example.com");
    let start = Instant::now();

    assert!(resolver.resolve(&sip, start).await.unwrap().is_empty());
    assert_eq!((lookup.srv_calls(), lookup.ip_calls()), (2, 1));

    let later = start + DEFAULT_NEGATIVE_TTL - Duration::from_millis(1);
    assert!(resolver.resolve(&sip, later).await.unwrap().is_empty());
    assert_eq!((lookup.srv_calls(), lookup.ip_calls()), (2, 1));

    assert!(
        resolver
            .resolve(&sip, start + DEFAULT_NEGATIVE_TTL)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!((lookup.srv_calls(), lookup.ip_calls()), (4, 2));
}

#[tokio::test]
async fn errors_propagate_and_are_not_cached() {
    let timeout = ResolveError::Timeout {
        name: "_sip._udp.example.com".into(),
    };
    let lookup = Arc::new(
        StaticLookup::new()
            .with_failure("_sip._udp.example.com", timeout.clone())
            .with_ips("example.com", [ip("192.0.2.1")]),
    );
    let resolver = seeded(&lookup);
    let now = Instant::now();
    for calls in 1..=2 {
        let error = resolver.resolve(&uri("sip:example.com"), now).await;
        assert_eq!(error, Err(timeout.clone()));
        assert_eq!(lookup.srv_calls(), calls);
    }
    assert_eq!(resolver.cache_len(), 0);

    let servfail = ResolveError::Failed {
        name: "gw.example.com".into(),
        reason: "SERVFAIL".into(),
    };
    let lookup = Arc::new(StaticLookup::new().with_failure("gw.example.com", servfail.clone()));
    let resolver = seeded(&lookup);
    assert_eq!(
        resolver.resolve(&uri("sip:gw.example.com:5060"), now).await,
        Err(servfail)
    );
    assert_eq!(resolver.cache_len(), 0);
}

#[tokio::test]
async fn failed_srv_target_is_skipped_and_retried_soon() {
    let lookup = Arc::new(
        StaticLookup::new()
            .with_srv(
                "_sip._udp.example.com",
                [
                    srv(0, 0, 5060, "bad.example.com"),
                    srv(1, 0, 5060, "good.example.com"),
                ],
            )
            .with_failure(
                "bad.example.com",
                ResolveError::Timeout {
                    name: "bad.example.com".into(),
                },
            )
            .with_ips("good.example.com", [ip("192.0.2.2")]),
    );
    let resolver = seeded(&lookup);
    let now = Instant::now();
    let sip = uri("sip:example.com");
    assert_eq!(
        resolver.resolve(&sip, now).await.unwrap(),
        vec![target("192.0.2.2:5060", Transport::Udp)]
    );
    assert_eq!(lookup.srv_calls(), 1);
    resolver
        .resolve(&sip, now + DEFAULT_NEGATIVE_TTL - Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(lookup.srv_calls(), 1);
    // Capped at the negative TTL although the records say 300 s.
    resolver
        .resolve(&sip, now + DEFAULT_NEGATIVE_TTL)
        .await
        .unwrap();
    assert_eq!(lookup.srv_calls(), 2);

    // Every target failing is an error.
    let lookup = Arc::new(
        StaticLookup::new()
            .with_srv(
                "_sip._udp.example.com",
                [srv(0, 0, 5060, "bad.example.com")],
            )
            .with_failure(
                "bad.example.com",
                ResolveError::Timeout {
                    name: "bad.example.com".into(),
                },
            ),
    );
    let resolver = seeded(&lookup);
    assert!(matches!(
        resolver.resolve(&sip, now).await,
        Err(ResolveError::Timeout { .. })
    ));
    assert_eq!(resolver.cache_len(), 0);
}

#[tokio::test]
async fn cache_is_bounded() {
    let mut table = StaticLookup::new();
    for i in 0..5 {
        table.insert_ips(&format!("h{i}.example.com"), [ip("192.0.2.1")]);
    }
    let lookup = Arc::new(table);
    let resolver = seeded(&lookup).with_cache_capacity(3);
    let start = Instant::now();
    for i in 0..5u64 {
        resolver
            .resolve(
                &uri(&format!("sip:h{i}.example.com:5060")),
                start + Duration::from_secs(i),
            )
            .await
            .unwrap();
    }
    assert_eq!(resolver.cache_len(), 3);
    let calls = lookup.ip_calls();
    // The newest survive; the oldest (h0) was evicted.
    resolver
        .resolve(
            &uri("sip:h4.example.com:5060"),
            start + Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(lookup.ip_calls(), calls);
    resolver
        .resolve(
            &uri("sip:h0.example.com:5060"),
            start + Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(lookup.ip_calls(), calls + 1);
    assert_eq!(resolver.cache_len(), 3);
}

#[tokio::test]
async fn duplicate_addresses_are_dropped() {
    let lookup = Arc::new(
        StaticLookup::new()
            .with_srv(
                "_sip._udp.example.com",
                [
                    srv(0, 0, 5060, "a.example.com"),
                    srv(1, 0, 5060, "b.example.com"),
                ],
            )
            .with_ips("a.example.com", [ip("192.0.2.1")])
            .with_ips("b.example.com", [ip("192.0.2.1"), ip("192.0.2.2")]),
    );
    let targets = seeded(&lookup)
        .resolve(&uri("sip:example.com"), Instant::now())
        .await
        .unwrap();
    assert_eq!(
        targets,
        vec![
            target("192.0.2.1:5060", Transport::Udp),
            target("192.0.2.2:5060", Transport::Udp),
        ]
    );
}
