//! Route resolution: weighted draws, ordered failover past down, full and missing trunks.

use super::*;

#[test]
fn weighted_routes_follow_their_weights() {
    let plan = Fixture::new()
        .policy(
            1,
            json!([{"match": {"prefixes": ["+1"]}, "action": {"type": "route", "strategy": "weighted",
                "routes": [{"trunk_id": 1, "weight": 70}, {"trunk_id": 2, "weight": 20}, {"trunk_id": 3, "weight": 10}]}}]),
        )
        .group(group(10, 3, false, &[1]))
        .plan();
    let network = all_up(&[1, 2, 3]);
    let mut rng = StdRng::seed_from_u64(2026);
    let mut first = HashMap::<i64, u32>::new();
    const DRAWS: u32 = 10_000;
    for _ in 0..DRAWS {
        let d = evaluate(&plan, &call(3, "", "+14155550100"), &network, &mut rng);
        assert_eq!(d.routes.len(), 3, "every trunk stays in the failover list");
        assert_eq!(
            d.routes[0].weight,
            Some(match d.routes[0].trunk_id {
                1 => 70,
                2 => 20,
                _ => 10,
            })
        );
        assert!(d.routes.iter().all(|r| r.order.is_none()));
        *first.entry(d.routes[0].trunk_id).or_default() += 1;
        if d.routes[0].trunk_id == 3 {
            assert_eq!(trunks(&d), [3, 1, 2], "the rest by descending weight");
        }
    }
    // Binomial standard deviation at n = 10,000 is at most 0.005; allow four of them.
    for (trunk, share) in [(1, 0.70), (2, 0.20), (3, 0.10)] {
        let seen = f64::from(first[&trunk]) / f64::from(DRAWS);
        assert!(
            (seen - share).abs() < 0.02,
            "trunk {trunk}: {seen} vs {share}"
        );
    }
}

#[test]
fn ordered_routes_fail_over_past_down_full_and_missing_trunks() {
    let plan = Fixture::new()
        .policy(
            1,
            json!([{"match": {"prefixes": ["+1"]}, "action": {"type": "route",
                "routes": [{"trunk_id": 1}, {"trunk_id": 2}, {"trunk_id": 3}, {"trunk_id": 4}, {"trunk_id": 99}, {"trunk_id": 5, "rewrite": {"strip": 2, "prepend": "9"}}]}}]),
        )
        .group(group(10, 3, false, &[1]))
        .plan();
    let mut net = all_up(&[1, 2, 3, 4, 5]);
    net.0.get_mut(&1).unwrap().gateways = vec![
        gateway("sip:a.example", State::Down),
        gateway("sip:b.example", State::Up),
    ];
    let full = net.0.get_mut(&2).unwrap();
    full.max_channels = Some(30);
    full.channels_in_use = 30;
    net.0.get_mut(&3).unwrap().enabled = false;
    net.0.get_mut(&4).unwrap().gateways.clear();
    net.0
        .get_mut(&5)
        .unwrap()
        .gateways
        .push(gateway("sip:c.example", State::Unknown));
    let d = evaluate(
        &plan,
        &call(3, "", "+14155550100"),
        &net,
        &mut StdRng::seed_from_u64(1),
    );
    assert_eq!(d.action, Verdict::Route);
    let routes: Vec<_> = d
        .routes
        .iter()
        .map(|r| {
            (
                r.trunk_id,
                r.gateway_uri.as_str(),
                r.number.as_str(),
                r.order,
            )
        })
        .collect();
    assert_eq!(
        routes,
        [
            (1, "sip:b.example", "+14155550100", Some(1)),
            (5, "sip:gw5.example", "94155550100", Some(2)),
            (5, "sip:c.example", "94155550100", Some(3)),
        ]
    );
    let skipped: Vec<_> = d.skipped.iter().map(|s| (s.trunk_id, s.reason)).collect();
    assert_eq!(
        skipped,
        [
            (1, SkipReason::GatewayDown),
            (2, SkipReason::ChannelLimit),
            (3, SkipReason::TrunkDisabled),
            (4, SkipReason::NoGateway),
            (99, SkipReason::UnknownTrunk),
        ]
    );
    assert_eq!(d.skipped[0].gateway_uri.as_deref(), Some("sip:a.example"));
    assert_eq!(d.skipped[1].detail, "30 of 30 channels in use");

    for gw in net.0.values_mut().flat_map(|t| t.gateways.iter_mut()) {
        gw.health = State::Down;
    }
    let d = evaluate(
        &plan,
        &call(3, "", "+14155550100"),
        &net,
        &mut StdRng::seed_from_u64(1),
    );
    assert_eq!((d.action, d.sip_code), (Verdict::Deny, Some(503)));
    assert!(d.routes.is_empty());
    assert_eq!(
        d.skipped.len(),
        8,
        "two gateways each of 1 and 5, and trunks 2, 3, 4, 99"
    );
}
