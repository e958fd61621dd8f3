//! Unit tests of the evaluator over small assembled plans.

use super::*;
use crate::dialplan::engine::compile::CompiledPolicy;
use crate::dialplan::engine::model::PolicyBody;
use crate::dialplan::engine::plan::{GroupInput, OrgInput, PlanError};
use crate::dialplan::engine::templates;
use chrono::TimeZone;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub(crate) struct Net(pub HashMap<i64, TrunkState>);

impl Network for Net {
    fn trunk(&self, trunk_id: i64) -> Option<TrunkState> {
        self.0.get(&trunk_id).cloned()
    }
}

fn gateway(uri: &str, health: State) -> GatewayState {
    GatewayState {
        uri: uri.into(),
        health,
    }
}

/// Every listed trunk with one healthy gateway `sip:gw<id>.example`.
pub(crate) fn all_up(ids: &[i64]) -> Net {
    Net(ids
        .iter()
        .map(|id| {
            (
                *id,
                TrunkState {
                    enabled: true,
                    gateways: vec![gateway(&format!("sip:gw{id}.example"), State::Up)],
                    channels_in_use: 0,
                    max_channels: None,
                },
            )
        })
        .collect())
}

/// Platform 1 (US, New York) › partner 2 › tenants 3 (US) and 4 (GB, London).
fn orgs() -> Vec<OrgInput> {
    let org = |id, parent, country: &str, tz: &str| OrgInput {
        id,
        parent_id: parent,
        country: country.into(),
        timezone: tz.into(),
        suspended: false,
    };
    vec![
        org(1, None, "US", "America/New_York"),
        org(2, Some(1), "US", "America/New_York"),
        org(3, Some(2), "US", "America/New_York"),
        org(4, Some(2), "GB", "Europe/London"),
    ]
}

fn group(id: i64, org: i64, enforced: bool, policies: &[i64]) -> GroupInput {
    GroupInput {
        id,
        organization_id: org,
        name: format!("group {id}"),
        enforced,
        policy_ids: policies.to_vec(),
        depends_on: vec![],
    }
}

struct Fixture {
    groups: Vec<GroupInput>,
    policies: HashMap<i64, Arc<CompiledPolicy>>,
}

impl Fixture {
    fn new() -> Self {
        Self {
            groups: vec![],
            policies: HashMap::new(),
        }
    }

    fn policy(mut self, id: i64, rules: serde_json::Value) -> Self {
        let body: PolicyBody =
            serde_json::from_value(json!({"name": format!("policy {id}"), "rules": rules}))
                .unwrap();
        let compiled = CompiledPolicy::compile(id, &body).unwrap();
        self.policies.insert(id, Arc::new(compiled));
        self
    }

    fn group(mut self, group: GroupInput) -> Self {
        self.groups.push(group);
        self
    }

    fn plan(&self) -> Plan {
        Plan::assemble(&orgs(), &self.groups, &self.policies).unwrap()
    }
}

fn route(trunk: i64) -> serde_json::Value {
    json!({"type": "route", "routes": [{"trunk_id": trunk}]})
}

fn call(org: i64, from: &str, to: &str) -> Call {
    Call {
        organization_id: org,
        from: from.into(),
        to: to.into(),
        at: Utc.with_ymd_and_hms(2026, 11, 18, 15, 0, 0).unwrap(), // Wednesday 10:00 in New York
        trunk_id: None,
    }
}

fn decide(plan: &Plan, call: &Call) -> Decision {
    evaluate(
        plan,
        call,
        &all_up(&[1, 2, 3, 4, 5, 6, 7, 8, 9]),
        &mut StdRng::seed_from_u64(7),
    )
}

fn trunks(d: &Decision) -> Vec<i64> {
    d.routes.iter().map(|r| r.trunk_id).collect()
}

#[test]
fn longest_prefix_wins_whatever_the_list_order() {
    let plan = Fixture::new()
        .policy(
            1,
            json!([
                {"name": "US", "match": {"prefixes": ["+1"]}, "action": route(1)},
                {"name": "SF", "match": {"prefixes": ["+14155"]}, "action": route(3)},
                {"name": "415", "match": {"prefixes": ["+1415"]}, "action": route(2)}
            ]),
        )
        .group(group(10, 3, false, &[1]))
        .plan();
    let d = decide(&plan, &call(3, "+12025550100", "+14155550100"));
    assert_eq!(d.action, Verdict::Route);
    assert_eq!(trunks(&d), [3]);
    assert_eq!(d.trail[0].rule, 1);
    assert_eq!(d.trail[0].rule_name, "SF");
    assert_eq!(trunks(&decide(&plan, &call(3, "", "+14165550100"))), [1]);
    assert_eq!(trunks(&decide(&plan, &call(3, "", "(415) 444-0100"))), [2]);
    let none = decide(&plan, &call(3, "", "+442079460000"));
    assert_eq!((none.action, none.sip_code), (Verdict::Deny, Some(404)));
}

#[test]
fn ties_go_to_the_first_rule_whose_conditions_hold() {
    let plan = Fixture::new()
        .policy(
            1,
            json!([
                {"name": "from US", "match": {"prefixes": ["+44"], "caller_prefixes": ["+1"]}, "action": route(1)},
                {"name": "on trunk 7", "match": {"prefixes": ["+44"], "trunks": [7]}, "action": route(2)},
                {"name": "anyone", "match": {"prefixes": ["+44"]}, "action": route(3)},
                {"name": "later tie", "match": {"prefixes": ["+44"]}, "action": route(4)}
            ]),
        )
        .group(group(10, 3, false, &[1]))
        .plan();
    assert_eq!(
        trunks(&decide(&plan, &call(3, "+12025550100", "+442079460000"))),
        [1]
    );
    assert_eq!(
        trunks(&decide(&plan, &call(3, "anonymous", "+442079460000"))),
        [3]
    );
    let mut on_trunk = call(3, "+33199001234", "+442079460000");
    on_trunk.trunk_id = Some(7);
    assert_eq!(trunks(&decide(&plan, &on_trunk)), [2]);
}

#[test]
fn patterns_and_regexes_rank_by_their_literal_head() {
    let plan = Fixture::new()
        .policy(
            1,
            json!([
                {"name": "any", "action": route(1)},
                {"name": "NANP shape", "match": {"pattern": "+1nxxnxxxxxx"}, "action": route(2)},
                {"name": "toll-free", "match": {"regex": r"\+18(00|88)\d{7}"}, "action": route(3)},
                {"name": "short", "match": {"regex": r"4\d\d"}, "action": route(4)},
                {"name": "never reached", "match": {"regex": r"\d{3}"}, "action": route(5)}
            ]),
        )
        .group(group(10, 3, false, &[1]))
        .plan();
    assert_eq!(trunks(&decide(&plan, &call(3, "", "+18005550199"))), [3]);
    assert_eq!(trunks(&decide(&plan, &call(3, "", "+18775550199"))), [2]);
    assert_eq!(
        trunks(&decide(&plan, &call(3, "", "+1800555019"))),
        [1],
        "too short for both"
    );
    assert_eq!(trunks(&decide(&plan, &call(3, "", "411"))), [4]);
    assert_eq!(
        trunks(&decide(&plan, &call(3, "", "311"))),
        [1],
        "root ties go by list order"
    );
}

#[test]
fn time_windows_use_the_organization_zone() {
    let plan = Fixture::new()
        .policy(
            1,
            json!([
                {"name": "office", "match": {"prefixes": ["+1"], "time": [{"weekdays": ["mon","tue","wed","thu","fri"], "from": "09:00", "to": "17:00"}]}, "action": route(1)},
                {"name": "night", "match": {"prefixes": ["+1"], "time": [{"from": "22:00", "to": "06:00"}]}, "action": route(2)},
                {"name": "otherwise", "match": {"prefixes": ["+1"]}, "action": route(3)}
            ]),
        )
        .group(group(10, 3, false, &[1]))
        .group(group(11, 4, false, &[1]))
        .plan();
    let at = |org, y, m, d, h, min| Call {
        at: Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap(),
        ..call(org, "", "+14155550100")
    };
    // Wednesday 2026-11-18 15:00 UTC: 10:00 in New York, 15:00 in London.
    assert_eq!(trunks(&decide(&plan, &at(3, 2026, 11, 18, 15, 0))), [1]);
    // 23:30 UTC: 18:30 New York (neither), 23:30 London (night).
    assert_eq!(trunks(&decide(&plan, &at(3, 2026, 11, 18, 23, 30))), [3]);
    assert_eq!(trunks(&decide(&plan, &at(4, 2026, 11, 18, 23, 30))), [2]);
    // Saturday 10:00 New York: not office hours.
    assert_eq!(trunks(&decide(&plan, &at(3, 2026, 11, 21, 15, 0))), [3]);
    // Night across midnight and the spring-forward change (New York 2026-03-08 02:00 → 03:00):
    // 05:59 EDT (09:59 UTC) is still night, 06:00 EDT is not.
    assert_eq!(trunks(&decide(&plan, &at(3, 2026, 3, 8, 9, 59))), [2]);
    assert_eq!(trunks(&decide(&plan, &at(3, 2026, 3, 8, 10, 0))), [3]);
    // The same UTC hour a day earlier is 04:59 EST: night.
    assert_eq!(trunks(&decide(&plan, &at(3, 2026, 3, 7, 9, 59))), [2]);
}

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

#[test]
fn a_parent_forbids_premium_for_every_tenant() {
    let plan = Fixture::new()
        .policy(
            1,
            json!([{"name": "no premium", "match": {"classes": ["premium"]},
                    "action": {"type": "deny", "sip_code": 403, "reason": "Premium numbers are barred"}}]),
        )
        .policy(2, json!([{"name": "everything US", "match": {"prefixes": ["+1"]}, "action": route(5)}]))
        .policy(3, json!([{"name": "premium allowed", "match": {"prefixes": ["+1900"]}, "action": route(6)}]))
        .group(group(20, 2, true, &[1]))
        .group(group(30, 3, false, &[2]))
        .group(group(31, 3, true, &[3]))
        .plan();
    let d = decide(&plan, &call(3, "+12025550100", "1-900-555-0100"));
    assert_eq!(d.action, Verdict::Deny);
    assert_eq!(d.sip_code, Some(403));
    assert_eq!(d.reason.as_deref(), Some("Premium numbers are barred"));
    assert_eq!(d.trail[0].organization_id, 2);
    assert_eq!(d.trail[0].rule_name, "no premium");
    assert!(!d.trail[0].overridden);
    assert_eq!(d.skipped.len(), 1);
    assert_eq!(
        d.skipped[0].trunk_id, 6,
        "the tenant's own enforced group comes after the partner's"
    );
    assert_eq!(d.skipped[0].reason, SkipReason::DeniedByParent);
    assert!(
        d.skipped[0].detail.contains("organization 2"),
        "{}",
        d.skipped[0].detail
    );
    assert!(d.trail[1].overridden);
    // Other numbers still route through the tenant's group.
    assert_eq!(trunks(&decide(&plan, &call(3, "", "+14155550100"))), [5]);
    // The tenant's own deny is not "by a parent".
    let own = Fixture::new()
        .policy(1, json!([{"match": {"classes": ["premium"]}, "action": {"type": "deny", "sip_code": 403, "reason": "no"}}]))
        .policy(2, json!([{"match": {"prefixes": ["+1"]}, "action": route(5)}]))
        .group(group(30, 3, false, &[1, 2]))
        .plan();
    let d = decide(&own, &call(3, "", "+19005550100"));
    assert_eq!(d.sip_code, Some(403));
    assert!(d.skipped.is_empty());
}

#[test]
fn the_platform_emergency_group_cannot_be_overridden() {
    let mut fixture = Fixture::new();
    let groups = templates::instantiate(
        "emergency-first",
        &BTreeMap::from([("emergency".into(), 9)]),
    )
    .unwrap();
    let body = &groups[0].policies[0];
    fixture
        .policies
        .insert(1, Arc::new(CompiledPolicy::compile(1, body).unwrap()));
    let plan = fixture
        .policy(2, json!([{"name": "tenant deny all", "action": {"type": "deny", "sip_code": 403, "reason": "Calls barred"}}]))
        .policy(3, json!([{"name": "tenant's emergency", "match": {"prefixes": ["911", "999"]}, "action": route(4)}]))
        .group(group(1, 1, true, &[1]))
        .group(group(30, 3, true, &[3]))
        .group(group(31, 3, false, &[2]))
        .group(group(40, 4, false, &[2]))
        .plan();
    for (org, number) in [(3, "911"), (3, "112"), (4, "999"), (4, "112")] {
        let d = decide(&plan, &call(org, "+14155550100", number));
        assert_eq!(d.action, Verdict::Route, "{org} {number}");
        assert_eq!(trunks(&d), [9], "{org} {number}");
        assert_eq!(d.trail.len(), 1);
        assert_eq!(d.trail[0].organization_id, 1);
    }
    // 999 is not an emergency number in the US, 911 is not one in the UK.
    assert_eq!(trunks(&decide(&plan, &call(3, "", "999"))), [4]);
    assert_eq!(decide(&plan, &call(4, "", "911")).sip_code, Some(403));
}

#[test]
fn a_suspended_organization_reaches_emergency_numbers_only() {
    let mut fixture = Fixture::new();
    let groups = templates::instantiate(
        "emergency-first",
        &BTreeMap::from([("emergency".into(), 9)]),
    )
    .unwrap();
    fixture.policies.insert(
        1,
        Arc::new(CompiledPolicy::compile(1, &groups[0].policies[0]).unwrap()),
    );
    let fixture = fixture
        .policy(2, json!([{"name": "everything", "action": route(4)}]))
        .group(group(1, 1, true, &[1]))
        .group(group(20, 2, false, &[2]));
    let mut orgs = orgs();
    orgs[1].suspended = true;
    let plan = Plan::assemble(&orgs, &fixture.groups, &fixture.policies).unwrap();
    // The partner (2) is suspended: it and its tenants (3, 4) are refused, 403 with a reason.
    for (org, reason) in [
        (2, "Organization suspended"),
        (3, "Organization suspended (organization 2)"),
        (4, "Organization suspended (organization 2)"),
    ] {
        let d = decide(&plan, &call(org, "+14155550100", "+14155550199"));
        assert_eq!(d.action, Verdict::Deny, "{org}");
        assert_eq!(
            (d.sip_code, d.reason.as_deref()),
            (Some(403), Some(reason)),
            "{org}"
        );
        assert!(d.routes.is_empty() && d.trail.is_empty());
    }
    // An emergency call still goes out through the platform's emergency group.
    for (org, number) in [(3, "911"), (4, "999"), (4, "112")] {
        let d = decide(&plan, &call(org, "+14155550100", number));
        assert_eq!(trunks(&d), [9], "{org} {number}");
    }
    // The platform itself is not suspended.
    assert_eq!(
        trunks(&decide(&fixture.plan(), &call(3, "", "+14155550199"))),
        [4]
    );
    assert_eq!(
        decide(&plan, &call(1, "", "+14155550199")).sip_code,
        Some(404)
    );
}

#[test]
fn translation_rewrites_the_number_and_caller_id_then_goes_on() {
    let plan = Fixture::new()
        .policy(
            1,
            json!([{"name": "to national", "match": {"prefixes": ["+1"]},
                    "action": {"type": "translate", "strip": 2, "caller_id": "+14155550000"}}]),
        )
        .policy(
            2,
            json!([{"name": "415 via carrier", "match": {"prefixes": ["415"]},
                    "action": {"type": "route", "routes": [{"trunk_id": 1, "rewrite": {"prepend": "1"}}]}}]),
        )
        .group(group(10, 3, false, &[1, 2]))
        .plan();
    let d = decide(&plan, &call(3, "+12025550100", "+1 415 555 0100"));
    assert_eq!(d.action, Verdict::Route);
    assert_eq!(d.destination, "4155550100");
    assert_eq!(d.routes[0].number, "14155550100");
    assert_eq!(d.caller_id.as_deref(), Some("+14155550000"));
    let effects: Vec<_> = d.trail.iter().map(|s| s.effect.as_str()).collect();
    assert_eq!(effects, ["translate", "route"]);
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["action"], "route");
    assert_eq!(json["routes"][0]["order"], 1);
    assert_eq!(json["caller_id"], "+14155550000");
    assert!(json.get("sip_code").is_none());
}

#[test]
fn continue_and_dependencies_evaluate_other_groups_in_place() {
    let plan = Fixture::new()
        .policy(1, json!([{"name": "bar cuba", "match": {"prefixes": ["+53"]}, "action": {"type": "deny", "sip_code": 403, "reason": "Barred"}}]))
        .policy(2, json!([{"name": "to partner", "match": {"prefixes": ["+5"]}, "action": {"type": "continue", "group_id": 20}}]))
        .policy(3, json!([{"name": "rest", "action": route(1)}]))
        .group(group(20, 2, false, &[1]))
        .group(group(30, 3, false, &[2, 3]))
        .group(GroupInput { depends_on: vec![20], ..group(40, 4, false, &[3]) })
        .plan();
    let d = decide(&plan, &call(3, "", "+5372345678"));
    assert_eq!(d.sip_code, Some(403));
    let effects: Vec<_> = d
        .trail
        .iter()
        .map(|s| (s.group_id, s.effect.as_str()))
        .collect();
    assert_eq!(effects, [(30, "continue"), (20, "deny")]);
    // The continued group decides nothing for Brazil: back to the next policy.
    let d = decide(&plan, &call(3, "", "+5511912345678"));
    assert_eq!(trunks(&d), [1]);
    // Tenant 4's group depends on the partner's barring group.
    assert_eq!(
        decide(&plan, &call(4, "", "+5372345678")).sip_code,
        Some(403)
    );
    assert_eq!(trunks(&decide(&plan, &call(4, "", "+33199001234"))), [1]);
}

#[test]
fn cycles_and_bad_references_are_refused() {
    let fixture = Fixture::new()
        .policy(1, json!([{"action": {"type": "continue", "group_id": 21}}]))
        .policy(2, json!([{"action": route(1)}]));
    let with = |groups: Vec<GroupInput>| Plan::assemble(&orgs(), &groups, &fixture.policies);
    let err = with(vec![
        group(20, 2, false, &[1]),
        GroupInput {
            depends_on: vec![20],
            ..group(21, 2, false, &[2])
        },
    ])
    .unwrap_err();
    assert!(matches!(&err, PlanError::Cycle(c) if c.len() == 3), "{err}");
    assert_eq!(
        err.to_string(),
        r#"policy groups form a cycle: "group 20" (20) → "group 21" (21) → "group 20" (20)"#
    );
    let self_loop = with(vec![GroupInput {
        depends_on: vec![22],
        ..group(22, 2, false, &[2])
    }]);
    assert!(matches!(self_loop, Err(PlanError::Cycle(_))));
    assert_eq!(
        with(vec![group(20, 2, false, &[1])]).unwrap_err(),
        PlanError::UnknownGroup {
            group_id: 21,
            referrer: 20
        }
    );
    // A partner cannot reach into a tenant's groups, nor a tenant into a sibling's.
    assert_eq!(
        with(vec![group(20, 2, false, &[1]), group(21, 3, false, &[2])]).unwrap_err(),
        PlanError::ForeignGroup {
            group_id: 21,
            referrer: 20
        }
    );
    assert_eq!(
        with(vec![group(20, 2, false, &[7])]).unwrap_err(),
        PlanError::UnknownPolicy {
            policy_id: 7,
            group_id: 20
        }
    );
    assert!(with(vec![group(20, 2, false, &[1]), group(21, 2, false, &[2])]).is_ok());
}

#[test]
fn unreadable_numbers_and_unknown_organizations_are_denied() {
    let plan = Fixture::new()
        .policy(1, json!([{"action": route(1)}]))
        .group(group(10, 3, false, &[1]))
        .plan();
    let d = decide(&plan, &call(3, "", "call me maybe"));
    assert_eq!(d.sip_code, Some(484));
    assert!(d.reason.unwrap().starts_with("Address Incomplete"));
    let d = decide(&plan, &call(99, "", "+14155550100"));
    assert_eq!(d.sip_code, Some(404));
    assert_eq!(
        decide(&Plan::empty(), &call(3, "", "911")).action,
        Verdict::Deny
    );
}

#[test]
fn a_parent_rule_can_target_some_children_and_uris_are_read() {
    let plan = Fixture::new()
        .policy(
            1,
            json!([
                {"name": "UK tenant", "match": {"organizations": [4]}, "action": route(7)},
                {"name": "everyone else", "action": route(8)}
            ]),
        )
        .group(group(20, 2, false, &[1]))
        .plan();
    assert_eq!(
        trunks(&decide(
            &plan,
            &call(3, "", "sip:+14155550100@pbx.example;user=phone")
        )),
        [8]
    );
    let d = decide(&plan, &call(4, "", "tel:+44-20-7946-0123"));
    assert_eq!(trunks(&d), [7]);
    assert_eq!(d.destination, "+442079460123");
    assert_eq!(
        d.trail[0].organization_id, 2,
        "the trail names the owner of the rule"
    );
}
