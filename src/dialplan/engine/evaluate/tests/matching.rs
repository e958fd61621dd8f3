//! Which rule wins: longest prefix, list order among ties, patterns and regexes by their
//! literal head, time windows in the organization's zone, numbers that cannot be read.

use super::*;

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
