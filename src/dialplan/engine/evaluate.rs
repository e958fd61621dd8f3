//! Evaluating a call against the assembled [`Plan`]: which rule decides, which trunks and
//! gateways to try in what order, what was skipped and why, and the trail of rules that matched.
//!
//! Pure: the plan, the call (with its instant), the network's current state and the random
//! source are all passed in. The store implements [`Network`] from the gateway health registry
//! and the channel usage counters; tests implement it with a table.
//!
//! Decisions made here (see also the semantics in `model.rs`):
//! - `to` is read with the organization's country (national formats, `sip:`/`tel:` URIs);
//!   one that cannot be read is denied `484 Address Incomplete`. A `from` that cannot be read
//!   (`anonymous`) is kept as given and matches no caller prefix.
//! - Route targets are tried in list order (`ordered`) or with the first drawn by weight and the
//!   rest by descending weight (`weighted`); every gateway of a usable trunk becomes a route,
//!   in the order the network lists them. Down gateways, disabled or unknown trunks and trunks
//!   at their channel limit are `skipped` with the reason; nothing usable is `503`.
//! - A deny from an ancestor's policy still evaluates the organization's remaining groups, so
//!   that the routes it *would* have used are reported as skipped `denied_by_parent`.
//! - Nothing matching at all is `404 No route`.

use super::compile::{CompiledAction, CompiledConditions, CompiledPolicy};
use super::model::{NumberClass, Rewrite, RouteTarget, Strategy};
use super::number;
use super::plan::{OrgPlan, Plan};
use super::window;
use crate::gateways::health::State;
use chrono::{DateTime, Utc};
use rand::Rng;
use serde::Serialize;
use utoipa::ToSchema;

/// A call to decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub organization_id: i64,
    pub from: String,
    pub to: String,
    pub at: DateTime<Utc>,
    /// The trunk the call arrived on, if it came from one.
    pub trunk_id: Option<i64>,
}

/// A trunk's current state as the router needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkState {
    pub enabled: bool,
    /// In the order they should be tried.
    pub gateways: Vec<GatewayState>,
    pub channels_in_use: u32,
    pub max_channels: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayState {
    pub uri: String,
    pub health: State,
}

/// The live state of trunks and gateways.
pub trait Network {
    /// `None` when no such trunk exists.
    fn trunk(&self, trunk_id: i64) -> Option<TrunkState>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Route,
    Deny,
}

/// The answer of `POST /v1/dialplan/evaluate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Decision {
    pub action: Verdict,
    /// The destination as read and translated, before any per-route rewrite.
    pub destination: String,
    /// The caller id a translate rule set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_id: Option<String>,
    /// Where to send the call, in the order to try.
    pub routes: Vec<Route>,
    pub skipped: Vec<Skipped>,
    /// The rules that matched, in evaluation order.
    pub trail: Vec<TrailStep>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sip_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Route {
    pub trunk_id: i64,
    pub gateway_uri: String,
    /// The number to send to this trunk (after its rewrite).
    pub number: String,
    /// Position in the failover order (ordered routes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<u32>,
    /// The trunk's weight (weighted routes; the list is already in the drawn order).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    GatewayDown,
    ChannelLimit,
    DeniedByParent,
    TrunkDisabled,
    UnknownTrunk,
    NoGateway,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Skipped {
    pub trunk_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway_uri: Option<String>,
    pub reason: SkipReason,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TrailStep {
    pub organization_id: i64,
    pub group_id: i64,
    pub group: String,
    pub policy_id: i64,
    pub policy: String,
    /// The rule's index in its policy.
    pub rule: usize,
    pub rule_name: String,
    /// `route`, `deny`, `translate` or `continue`.
    pub effect: String,
    /// The step was taken after an ancestor's deny had already decided (what would have
    /// happened otherwise).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub overridden: bool,
}

/// A decision reached inside the groups, before routes are resolved.
enum Found<'p> {
    Route {
        strategy: Strategy,
        targets: &'p [RouteTarget],
    },
    Deny {
        sip_code: u16,
        reason: &'p str,
        group: usize,
    },
}

struct Walk<'p, 'c> {
    plan: &'p Plan,
    org: &'p OrgPlan,
    call: &'c Call,
    number: String,
    class: Option<NumberClass>,
    caller: String,
    caller_id: Option<String>,
    trail: Vec<TrailStep>,
    visited: Vec<usize>,
    overridden: bool,
}

/// Decides `call` on `plan`, resolving routes against `network`; `rng` draws weighted routes.
pub fn evaluate(plan: &Plan, call: &Call, network: &dyn Network, rng: &mut impl Rng) -> Decision {
    let Some(org) = plan.org(call.organization_id) else {
        return deny(
            call.to.clone(),
            404,
            "The organization has no dial plan".into(),
        );
    };
    let numbering = org.country.numbering.as_ref();
    let to = match number::normalise(&call.to, numbering) {
        Ok(to) => to.into_string(),
        Err(e) => return deny(call.to.clone(), 484, format!("Address Incomplete: to {e}")),
    };
    let class = org.country.classes.classify(&to);
    // A suspended organization's calls are refused, but never an emergency call.
    if let Some(by) = org.suspended_by
        && class != Some(NumberClass::Emergency)
    {
        let reason = if by == org.id {
            "Organization suspended".to_string()
        } else {
            format!("Organization suspended (organization {by})")
        };
        return deny(to, 403, reason);
    }
    let caller = number::normalise(&call.from, numbering)
        .map(number::Dialled::into_string)
        .unwrap_or_else(|_| call.from.trim().to_string());
    let mut walk = Walk {
        plan,
        org,
        call,
        class,
        number: to,
        caller,
        caller_id: None,
        trail: Vec::new(),
        visited: Vec::new(),
        overridden: false,
    };
    for (position, group) in org.order.iter().enumerate() {
        match walk.group(*group) {
            None => continue,
            Some(Found::Route { strategy, targets }) => {
                return walk.resolve(strategy, targets, network, rng);
            }
            Some(Found::Deny {
                sip_code,
                reason,
                group,
            }) => return walk.denied(sip_code, reason, group, &org.order[position + 1..]),
        }
    }
    let Walk { number, trail, .. } = walk;
    Decision {
        trail,
        ..deny(number, 404, "No route for this destination".into())
    }
}

fn deny(destination: String, sip_code: u16, reason: String) -> Decision {
    Decision {
        action: Verdict::Deny,
        destination,
        caller_id: None,
        routes: Vec::new(),
        skipped: Vec::new(),
        trail: Vec::new(),
        sip_code: Some(sip_code),
        reason: Some(reason),
    }
}

impl<'p> Walk<'p, '_> {
    /// Evaluates one group (its dependencies first); `None` when it decides nothing.
    fn group(&mut self, index: usize) -> Option<Found<'p>> {
        if self.visited.contains(&index) {
            return None; // each group at most once per call
        }
        self.visited.push(index);
        let group = &self.plan.groups[index];
        for dependency in group.depends_on.iter() {
            if let Some(found) = self.group(*dependency) {
                return Some(found);
            }
        }
        for policy in group.policies.iter() {
            let Some(rule) = self.winning_rule(policy) else {
                continue;
            };
            let action = &policy.actions[policy.rules[rule].action as usize];
            self.record(index, policy, rule, action.effect());
            match action {
                CompiledAction::Route { strategy, routes } => {
                    return Some(Found::Route {
                        strategy: *strategy,
                        targets: routes,
                    });
                }
                CompiledAction::Deny { sip_code, reason } => {
                    return Some(Found::Deny {
                        sip_code: *sip_code,
                        reason,
                        group: index,
                    });
                }
                CompiledAction::Translate {
                    strip,
                    prepend,
                    caller_id,
                } => {
                    self.number = rewrite(&self.number, *strip, prepend);
                    self.class = self.org.country.classes.classify(&self.number);
                    if let Some(id) = caller_id {
                        self.caller_id = Some(id.to_string());
                    }
                }
                CompiledAction::Continue { group_id } => {
                    if let Some(target) = self.plan.group_index(*group_id)
                        && let Some(found) = self.group(target)
                    {
                        return Some(found);
                    }
                }
            }
        }
        None
    }

    /// The policy's winning rule: longest destination prefix first, list order among equals.
    fn winning_rule(&self, policy: &CompiledPolicy) -> Option<usize> {
        policy
            .trie
            .matches(self.number.as_bytes())
            .flat_map(|(_, slots)| slots.iter())
            .map(|slot| *slot as usize)
            .find(|rule| {
                policy.rules[*rule]
                    .conditions
                    .as_deref()
                    .is_none_or(|c| self.holds(c))
            })
    }

    fn holds(&self, c: &CompiledConditions) -> bool {
        let call = self.call;
        c.pattern.as_ref().is_none_or(|p| p.matches(&self.number))
            && (c.callers.is_empty() || c.callers.iter().any(|p| self.caller.starts_with(&**p)))
            && (c.classes.is_empty() || self.class.is_some_and(|k| c.classes.contains(k)))
            && (c.trunks.is_empty() || call.trunk_id.is_some_and(|t| c.trunks.contains(&t)))
            && (c.organizations.is_empty() || c.organizations.contains(&call.organization_id))
            && window::any_holds(&c.time, call.at, self.org.tz)
            && c.regex.as_ref().is_none_or(|r| r.is_match(&self.number))
    }

    fn record(&mut self, group: usize, policy: &CompiledPolicy, rule: usize, effect: &str) {
        let g = &self.plan.groups[group];
        self.trail.push(TrailStep {
            organization_id: g.organization_id,
            group_id: g.id,
            group: g.name.clone(),
            policy_id: policy.id,
            policy: policy.name.to_string(),
            rule,
            rule_name: policy.rules[rule].name.to_string(),
            effect: effect.to_string(),
            overridden: self.overridden,
        });
    }

    /// A deny decided; when an ancestor's policy denied, find what the remaining groups would
    /// have routed to and report those trunks as skipped.
    fn denied(mut self, sip_code: u16, reason: &str, group: usize, rest: &[usize]) -> Decision {
        let destination = self.number.clone();
        let caller_id = self.caller_id.clone();
        let mut skipped = Vec::new();
        let decider = &self.plan.groups[group];
        if decider.organization_id != self.call.organization_id {
            let detail = format!(
                "{reason} (policy group {:?} of organization {})",
                decider.name, decider.organization_id
            );
            self.overridden = true;
            for next in rest {
                match self.group(*next) {
                    None => continue,
                    Some(Found::Deny { .. }) => break,
                    Some(Found::Route { targets, .. }) => {
                        skipped.extend(targets.iter().map(|t| Skipped {
                            trunk_id: t.trunk_id,
                            gateway_uri: None,
                            reason: SkipReason::DeniedByParent,
                            detail: detail.clone(),
                        }));
                        break;
                    }
                }
            }
        }
        Decision {
            caller_id,
            skipped,
            trail: self.trail,
            ..deny(destination, sip_code, reason.to_string())
        }
    }

    fn resolve(
        self,
        strategy: Strategy,
        targets: &[RouteTarget],
        network: &dyn Network,
        rng: &mut impl Rng,
    ) -> Decision {
        let ordered = match strategy {
            Strategy::Ordered => targets.iter().collect(),
            Strategy::Weighted => weighted_order(targets, rng),
        };
        let mut routes = Vec::new();
        let mut skipped = Vec::new();
        for target in ordered {
            let number = rewrite_target(&self.number, &target.rewrite);
            let skip = |reason, gateway_uri, detail: String| Skipped {
                trunk_id: target.trunk_id,
                gateway_uri,
                reason,
                detail,
            };
            let Some(trunk) = network.trunk(target.trunk_id) else {
                skipped.push(skip(SkipReason::UnknownTrunk, None, "no such trunk".into()));
                continue;
            };
            if !trunk.enabled {
                skipped.push(skip(
                    SkipReason::TrunkDisabled,
                    None,
                    "trunk is disabled".into(),
                ));
                continue;
            }
            if let Some(max) = trunk.max_channels
                && trunk.channels_in_use >= max
            {
                let detail = format!("{} of {max} channels in use", trunk.channels_in_use);
                skipped.push(skip(SkipReason::ChannelLimit, None, detail));
                continue;
            }
            if trunk.gateways.is_empty() {
                skipped.push(skip(
                    SkipReason::NoGateway,
                    None,
                    "trunk has no gateway".into(),
                ));
                continue;
            }
            for gateway in trunk.gateways {
                if gateway.health == State::Down {
                    let detail = "gateway is down (OPTIONS pings failing)".to_string();
                    skipped.push(skip(SkipReason::GatewayDown, Some(gateway.uri), detail));
                    continue;
                }
                routes.push(Route {
                    trunk_id: target.trunk_id,
                    gateway_uri: gateway.uri,
                    number: number.clone(),
                    order: (strategy == Strategy::Ordered).then_some(routes.len() as u32 + 1),
                    weight: target.weight,
                });
            }
        }
        let (action, sip_code, reason) = if routes.is_empty() {
            let reason = "No usable route: every trunk is down, full or disabled";
            (Verdict::Deny, Some(503), Some(reason.to_string()))
        } else {
            (Verdict::Route, None, None)
        };
        Decision {
            action,
            destination: self.number,
            caller_id: self.caller_id,
            routes,
            skipped,
            trail: self.trail,
            sip_code,
            reason,
        }
    }
}

/// The first target drawn with probability weight/total, then the others by descending weight
/// (list order among equal weights).
fn weighted_order<'t>(targets: &'t [RouteTarget], rng: &mut impl Rng) -> Vec<&'t RouteTarget> {
    let weight = |t: &RouteTarget| u64::from(t.weight.unwrap_or(1));
    let total: u64 = targets.iter().map(weight).sum();
    let mut rest: Vec<&RouteTarget> = targets.iter().collect();
    if total == 0 || rest.is_empty() {
        return rest;
    }
    let mut draw = rng.random_range(0..total);
    let first = rest
        .iter()
        .position(|t| {
            let w = weight(t);
            if draw < w {
                true
            } else {
                draw -= w;
                false
            }
        })
        .unwrap_or(0);
    let chosen = rest.remove(first);
    rest.sort_by_key(|t| std::cmp::Reverse(weight(t)));
    rest.insert(0, chosen);
    rest
}

/// Strips `strip` characters (a leading `+` counts as one) and prepends `prepend`.
fn rewrite(number: &str, strip: u32, prepend: &str) -> String {
    let kept = number.get(strip as usize..).unwrap_or("");
    let mut out = String::with_capacity(prepend.len() + kept.len());
    out.push_str(prepend);
    out.push_str(kept);
    out
}

fn rewrite_target(number: &str, rewrite_rule: &Rewrite) -> String {
    rewrite(number, rewrite_rule.strip, &rewrite_rule.prepend)
}

#[cfg(test)]
#[path = "evaluate_tests.rs"]
pub(crate) mod tests;
