//! Unit tests of the evaluator over small assembled plans: the fixtures (a four-organization
//! tree, a network table, a plan builder) here, the cases by topic beside it.

mod groups;
mod hierarchy;
mod matching;
mod routes;

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
