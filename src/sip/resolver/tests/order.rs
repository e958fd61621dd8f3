//! RFC 2782 weighted ordering, alone and through the resolver.

use super::*;
use std::collections::HashMap;

#[test]
fn weighted_selection_follows_weights() {
    let mut rng = StdRng::seed_from_u64(42);
    let records = vec![srv(1, 90, 5060, "heavy"), srv(1, 10, 5060, "light")];
    let mut heavy_first = 0;
    for _ in 0..1000 {
        let ordered = order_srv(records.clone(), &mut rng);
        assert_eq!(ordered.len(), 2);
        if ordered[0].target == "heavy" {
            heavy_first += 1;
        }
    }
    // RFC 2782 draws from 0..=sum: P(heavy first) = (90 + 0.5) / 101 ≈ 0.896.
    assert!((860..=930).contains(&heavy_first), "{heavy_first}");
}

#[test]
fn weight_zero_is_rarely_first_and_priority_wins() {
    let mut rng = StdRng::seed_from_u64(1);
    let records = vec![
        srv(1, 0, 5060, "zero"),
        srv(1, 10, 5060, "a"),
        srv(1, 10, 5060, "b"),
        srv(0, 0, 5060, "top"),
    ];
    let runs = 4000;
    let mut zero_first = 0;
    let mut zero_last = 0;
    for _ in 0..runs {
        let ordered = order_srv(records.clone(), &mut rng);
        // A lower priority number always comes first, whatever the weights.
        assert_eq!(ordered[0].target, "top");
        if ordered[1].target == "zero" {
            zero_first += 1;
        }
        if ordered[3].target == "zero" {
            zero_last += 1;
        }
    }
    // RFC 2782: weight 0 has "a very small chance" while heavier records remain:
    // 1 / (20 + 1) for the first pick, i.e. about 190 of 4000.
    assert!((100..=300).contains(&zero_first), "{zero_first}");
    assert!(zero_last > runs * 8 / 10, "{zero_last}");
}

#[test]
fn all_zero_weights_share_first_place() {
    let mut rng = StdRng::seed_from_u64(3);
    let records = vec![srv(0, 0, 1, "a"), srv(0, 0, 2, "b"), srv(0, 0, 3, "c")];
    let mut first = HashMap::new();
    for _ in 0..3000 {
        let ordered = order_srv(records.clone(), &mut rng);
        *first.entry(ordered[0].target.clone()).or_insert(0) += 1;
    }
    for name in ["a", "b", "c"] {
        let count = first.get(name).copied().unwrap_or(0);
        assert!((850..=1150).contains(&count), "{name}: {count}");
    }
}

#[tokio::test]
async fn resolver_draws_weighted_order_per_call_even_from_cache() {
    let lookup = Arc::new(
        StaticLookup::new()
            .with_srv(
                "_sip._udp.example.com",
                [
                    srv(0, 90, 5060, "heavy.example.com"),
                    srv(0, 10, 5060, "light.example.com"),
                ],
            )
            .with_ips("heavy.example.com", [ip("192.0.2.90")])
            .with_ips("light.example.com", [ip("192.0.2.10")]),
    );
    let resolver = seeded(&lookup);
    let now = Instant::now();
    let heavy = target("192.0.2.90:5060", Transport::Udp);
    let mut heavy_first = 0;
    for _ in 0..1000 {
        let targets = resolver
            .resolve(&uri("sip:example.com"), now)
            .await
            .unwrap();
        assert_eq!(targets.len(), 2);
        if targets[0] == heavy {
            heavy_first += 1;
        }
    }
    assert!((860..=930).contains(&heavy_first), "{heavy_first}");
    assert_eq!((lookup.srv_calls(), lookup.ip_calls()), (1, 2));
}

#[tokio::test]
async fn seeded_resolvers_agree() {
    let lookup = Arc::new(
        StaticLookup::new()
            .with_srv(
                "_sip._udp.example.com",
                (0..5).map(|i| srv(0, 10, 5060, &format!("h{i}.example.com"))),
            )
            .with_ips("h0.example.com", [ip("192.0.2.1")])
            .with_ips("h1.example.com", [ip("192.0.2.2")])
            .with_ips("h2.example.com", [ip("192.0.2.3")])
            .with_ips("h3.example.com", [ip("192.0.2.4")])
            .with_ips("h4.example.com", [ip("192.0.2.5")]),
    );
    let now = Instant::now();
    let a = Resolver::new(lookup.clone()).with_seed(99);
    let b = Resolver::new(lookup.clone()).with_seed(99);
    for _ in 0..20 {
        assert_eq!(
            a.resolve(&uri("sip:example.com"), now).await.unwrap(),
            b.resolve(&uri("sip:example.com"), now).await.unwrap()
        );
    }
}

// tokio's test-util (pause/advance) is not enabled in this crate: the clock is explicit.
