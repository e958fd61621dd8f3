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
//!
//! The walk through an organization's groups is in [`walk`], the resolution of a route's
//! targets into trunks and gateways in [`routes`].

mod routes;
#[cfg(test)]
pub(crate) mod tests;
mod walk;

use self::walk::{Found, Walk};
use super::model::NumberClass;
use super::number;
use super::plan::Plan;
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

/// Decides `call` on `plan`, resolving routes against `network`; `rng` draws weighted routes.
pub fn evaluate(plan: &Plan, call: &Call, network: &dyn Network, rng: &mut impl Rng) -> Decision {
    let Some(org) = plan.org(call.organization_id) else {
        return deny(
            call.to.clone(),
            404,
            "The organization has no dial plan".into(),
        );
    };
    let numbering = org.country.numbering;
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
