//! Golden tests of the shipped templates: real-world numbers as people dial them in each
//! country, with the class the template gives them and what the instantiated plan decides.
//! UK numbers come from Ofcom's ranges reserved for drama, NANP ones from 555-01xx (reserved
//! for fictional use by NANPA), so no row is anybody's real line.

use super::compile::CompiledPolicy;
use super::evaluate::{self, Verdict};
use super::model::NumberClass::{self, *};
use super::plan::{GroupInput, OrgInput, Plan};
use super::templates;
use chrono::{TimeZone, Utc};
use rand::SeedableRng;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

const EMERGENCY_TRUNK: i64 = 9;
const US_OUTBOUND: i64 = 1;
const US_INTERNATIONAL: i64 = 2;
const UK_OUTBOUND: i64 = 5;
const UK_INTERNATIONAL: i64 = 6;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Route(i64),
    Deny(u16),
}
use Expect::*;

/// (dialled, normalised, class, decision)
type Row = (&'static str, &'static str, Option<NumberClass>, Expect);

const NANP: &[Row] = &[
    ("911", "911", Some(Emergency), Route(EMERGENCY_TRUNK)),
    ("112", "112", Some(Emergency), Route(EMERGENCY_TRUNK)),
    (
        "1-800-555-0199",
        "+18005550199",
        Some(TollFree),
        Route(US_OUTBOUND),
    ),
    (
        "(888) 555-0123",
        "+18885550123",
        Some(TollFree),
        Route(US_OUTBOUND),
    ),
    (
        "+1 833 555 0100",
        "+18335550100",
        Some(TollFree),
        Route(US_OUTBOUND),
    ),
    ("1-900-555-0100", "+19005550100", Some(Premium), Deny(403)),
    (
        "(212) 555-0142",
        "+12125550142",
        Some(National),
        Route(US_OUTBOUND),
    ),
    (
        "1 415 555 0100",
        "+14155550100",
        Some(National),
        Route(US_OUTBOUND),
    ),
    (
        "+1 416 555 0199",
        "+14165550199",
        Some(National),
        Route(US_OUTBOUND),
    ),
    ("311", "311", Some(Local), Route(US_OUTBOUND)),
    ("711", "711", Some(Local), Route(US_OUTBOUND)),
    (
        "011 44 20 7946 0123",
        "+442079460123",
        Some(International),
        Route(US_INTERNATIONAL),
    ),
    (
        "011 33 1 99 00 12 34",
        "+33199001234",
        Some(International),
        Route(US_INTERNATIONAL),
    ),
    (
        "1 876 555 0100",
        "+18765550100",
        Some(International),
        Route(US_INTERNATIONAL),
    ),
    (
        "+1 809 555 0100",
        "+18095550100",
        Some(International),
        Route(US_INTERNATIONAL),
    ),
    ("999", "999", None, Deny(404)),
    ("55501", "55501", None, Deny(404)),
];

const UK: &[Row] = &[
    ("999", "999", Some(Emergency), Route(EMERGENCY_TRUNK)),
    ("112", "112", Some(Emergency), Route(EMERGENCY_TRUNK)),
    (
        "0808 157 0123",
        "+448081570123",
        Some(TollFree),
        Route(UK_OUTBOUND),
    ),
    (
        "+44 800 157 0999",
        "+448001570999",
        Some(TollFree),
        Route(UK_OUTBOUND),
    ),
    ("116 123", "116123", Some(TollFree), Route(UK_OUTBOUND)),
    ("0909 879 0123", "+449098790123", Some(Premium), Deny(403)),
    ("07011 900000", "+447011900000", Some(Premium), Deny(403)),
    ("118 500", "118500", Some(Premium), Deny(403)),
    (
        "07700 900123",
        "+447700900123",
        Some(Mobile),
        Route(UK_OUTBOUND),
    ),
    (
        "020 7946 0123",
        "+442079460123",
        Some(Local),
        Route(UK_OUTBOUND),
    ),
    (
        "0113 496 0123",
        "+441134960123",
        Some(Local),
        Route(UK_OUTBOUND),
    ),
    (
        "03069 990123",
        "+443069990123",
        Some(National),
        Route(UK_OUTBOUND),
    ),
    (
        "00 33 1 99 00 12 34",
        "+33199001234",
        Some(International),
        Route(UK_INTERNATIONAL),
    ),
    (
        "001 202 555 0100",
        "+12025550100",
        Some(International),
        Route(UK_INTERNATIONAL),
    ),
    ("911", "911", None, Deny(404)),
];

/// Platform 1 (US) with emergency-first; tenant 3 (US) with nanp; tenant 4 (GB) with uk.
fn plan() -> Plan {
    let orgs = [
        (1, None, "US", "America/New_York"),
        (3, Some(1), "US", "America/Chicago"),
        (4, Some(1), "GB", "Europe/London"),
    ]
    .map(|(id, parent_id, country, tz)| OrgInput {
        id,
        parent_id,
        country: country.into(),
        timezone: tz.into(),
        suspended: false,
    });
    let mut policies = HashMap::new();
    let mut groups = Vec::new();
    let mut add = |org: i64, template: &str, bindings: &[(&str, i64)]| {
        let bindings: BTreeMap<String, i64> =
            bindings.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        for group in templates::instantiate(template, &bindings).unwrap() {
            let mut ids = Vec::new();
            for body in &group.policies {
                let id = policies.len() as i64 + 1;
                policies.insert(id, Arc::new(CompiledPolicy::compile(id, body).unwrap()));
                ids.push(id);
            }
            groups.push(GroupInput {
                id: groups.len() as i64 + 100,
                organization_id: org,
                name: group.name,
                enforced: group.enforced,
                policy_ids: ids,
                depends_on: vec![],
            });
        }
    };
    add(1, "emergency-first", &[("emergency", EMERGENCY_TRUNK)]);
    add(
        3,
        "nanp",
        &[
            ("outbound", US_OUTBOUND),
            ("international", US_INTERNATIONAL),
        ],
    );
    add(
        4,
        "uk",
        &[
            ("outbound", UK_OUTBOUND),
            ("international", UK_INTERNATIONAL),
        ],
    );
    Plan::assemble(&orgs, &groups, &policies).unwrap()
}

fn check(org: i64, rows: &[Row]) {
    let plan = plan();
    let org_plan = plan.org(org).unwrap();
    let network = evaluate::tests::all_up(&[1, 2, 5, 6, 9]);
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    for (dialled, normalised, class, expect) in rows {
        let call = evaluate::Call {
            organization_id: org,
            from: "+14155550100".into(),
            to: (*dialled).into(),
            at: Utc.with_ymd_and_hms(2026, 11, 18, 15, 0, 0).unwrap(),
            trunk_id: None,
        };
        let d = evaluate::evaluate(&plan, &call, &network, &mut rng);
        assert_eq!(d.destination, *normalised, "{dialled}: normalised");
        assert_eq!(
            org_plan.country.classes.classify(normalised),
            *class,
            "{dialled}: class"
        );
        let got = match d.action {
            Verdict::Route => Route(d.routes[0].trunk_id),
            Verdict::Deny => Deny(d.sip_code.unwrap_or(0)),
        };
        assert_eq!(got, *expect, "{dialled}: decision {d:?}");
        if let Route(_) = expect {
            assert_eq!(d.routes.len(), 1, "{dialled}");
            assert_eq!(d.trail.last().map(|s| s.effect.as_str()), Some("route"));
        }
    }
}

#[test]
fn nanp_template_on_real_world_numbers() {
    check(3, NANP);
}

#[test]
fn uk_template_on_real_world_numbers() {
    check(4, UK);
}
