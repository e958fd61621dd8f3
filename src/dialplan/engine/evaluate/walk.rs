//! The walk through an organization's effective plan: each group at most once, its dependencies
//! first, a policy's winning rule by longest prefix, translations applied as they match, and
//! `continue` evaluated in place; the trail of every rule that matched.

use super::routes::rewrite;
use super::{Call, Decision, SkipReason, Skipped, TrailStep, deny};
use crate::dialplan::engine::compile::{CompiledAction, CompiledConditions, CompiledPolicy};
use crate::dialplan::engine::model::{NumberClass, RouteTarget, Strategy};
use crate::dialplan::engine::plan::{OrgPlan, Plan};
use crate::dialplan::engine::window;

/// A decision reached inside the groups, before routes are resolved.
pub(super) enum Found<'p> {
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

pub(super) struct Walk<'p, 'c> {
    pub(super) plan: &'p Plan,
    pub(super) org: &'p OrgPlan,
    pub(super) call: &'c Call,
    pub(super) number: String,
    pub(super) class: Option<NumberClass>,
    pub(super) caller: String,
    pub(super) caller_id: Option<String>,
    pub(super) trail: Vec<TrailStep>,
    pub(super) visited: Vec<usize>,
    pub(super) overridden: bool,
}

impl<'p> Walk<'p, '_> {
    /// Evaluates one group (its dependencies first); `None` when it decides nothing.
    pub(super) fn group(&mut self, index: usize) -> Option<Found<'p>> {
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
    pub(super) fn denied(
        mut self,
        sip_code: u16,
        reason: &str,
        group: usize,
        rest: &[usize],
    ) -> Decision {
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
}
