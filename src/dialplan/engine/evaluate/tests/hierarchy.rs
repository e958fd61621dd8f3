//! The organization tree: enforced parent groups, the platform's emergency group, suspension,
//! and parent rules aimed at some children.

use super::*;

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
