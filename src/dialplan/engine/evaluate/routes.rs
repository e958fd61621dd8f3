//! Resolving the winning route action into routes: targets in list order or drawn by weight,
//! each usable trunk's gateways in the network's order, and every trunk or gateway passed over
//! `skipped` with its reason.

use super::walk::Walk;
use super::{Decision, Network, Route, SkipReason, Skipped, Verdict};
use crate::dialplan::engine::model::{Rewrite, RouteTarget, Strategy};
use crate::gateways::health::State;
use rand::Rng;

impl Walk<'_, '_> {
    pub(super) fn resolve(
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
pub(super) fn rewrite(number: &str, strip: u32, prepend: &str) -> String {
    let kept = number.get(strip as usize..).unwrap_or("");
    let mut out = String::with_capacity(prepend.len() + kept.len());
    out.push_str(prepend);
    out.push_str(kept);
    out
}

fn rewrite_target(number: &str, rewrite_rule: &Rewrite) -> String {
    rewrite(number, rewrite_rule.strip, &rewrite_rule.prepend)
}
