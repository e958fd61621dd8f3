//! Moving between groups: translations that go on, `continue` and `depends_on` evaluated in
//! place, and the cycles and bad references assembly refuses.

use super::*;

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
