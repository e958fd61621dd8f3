//! Deciding a call on this instance's live plan: the [`Network`] seen through the in-memory
//! trunk snapshot, the pinger's health registry and the reported channel counts. [`decide`]
//! never touches the database; the REST endpoint adds the caller's tenancy check.

use super::channels::Channels;
use super::engine::evaluate::{self, Call, Decision, GatewayState, Network, TrunkState, Verdict};
use super::error::EvaluationError;
use super::live::Trunks;
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::gateways::Trunk;
use crate::gateways::health::{Registry, State};
use crate::state::AppState;
use crate::types::text::check_control;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Longest `from` or `to` accepted.
const MAX_NUMBER: usize = 256;

/// `POST /v1/dialplan/evaluate`, and what the SIP redirect listener asks.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluateRequest {
    /// The calling organization's id (`organization` is read as the same, as older clients
    /// send it).
    #[serde(alias = "organization")]
    pub organization_id: i64,
    /// The caller's number or SIP URI (may be `anonymous`); at most 256 characters, no control
    /// characters.
    #[serde(default)]
    #[schema(schema_with = from_schema)]
    pub from: String,
    /// The dialled number, national or E.164, or a `sip:`/`tel:` URI; 1-256 characters
    /// (trimmed), no control characters.
    #[schema(schema_with = to_schema)]
    pub to: String,
    /// The instant to decide for (time-of-day rules); default now.
    pub at: Option<DateTime<Utc>>,
    /// The trunk the call arrived on.
    pub trunk: Option<i64>,
}

/// The network as this instance sees it right now.
struct LiveNetwork<'a> {
    trunks: &'a Trunks,
    health: &'a Registry,
    channels: &'a Channels,
    now: DateTime<Utc>,
}

impl Network for LiveNetwork<'_> {
    fn trunk(&self, trunk_id: i64) -> Option<TrunkState> {
        let trunk = self.trunks.get(&trunk_id)?;
        Some(TrunkState {
            enabled: true,
            gateways: trunk
                .gateways
                .iter()
                .filter(|g| g.enabled)
                .map(|g| GatewayState {
                    uri: g.uri.clone(),
                    // Never probed (or the pinger is off): not known to be down, so tried.
                    health: self.health.get(g.id).map_or(State::Unknown, |h| h.state),
                })
                .collect(),
            channels_in_use: self.channels.in_use(trunk_id, self.now),
            max_channels: u32::try_from(trunk.max_channels).ok(),
        })
    }
}

/// `check_number` for `to`: required, so not blank.
fn to_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use crate::types::schema::{string, text_pattern};
    let pattern = text_pattern(true, false);
    string(
        "A number or URI",
        Some(&pattern),
        (Some(1), Some(MAX_NUMBER)),
        None,
    )
}

/// `check_number` for `from`: may be blank.
fn from_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use crate::types::schema::{string, text_pattern};
    let pattern = text_pattern(false, false);
    string(
        "A number or URI",
        Some(&pattern),
        (None, Some(MAX_NUMBER)),
        None,
    )
}

fn check_number(field: &'static str, text: &str, required: bool) -> Result<(), EvaluationError> {
    let bad = |message: String| EvaluationError::BadNumber { field, message };
    if required && text.trim().is_empty() {
        return Err(bad("must not be empty".into()));
    }
    if text.chars().count() > MAX_NUMBER {
        return Err(bad(format!("must be at most {MAX_NUMBER} characters")));
    }
    // The number is used trimmed: white space around it (a tab, a line break) is not in it.
    check_control(text.trim(), false).map_err(|e| bad(e.to_string()))
}

/// The decision for `request` on the plan in force. Reads only memory (plan, trunk snapshot,
/// gateway health, channel counts), so the SIP redirect listener can call it per INVITE.
/// Its errors are the dial plan's own ([`EvaluationError`]); each edge maps them.
pub fn decide(state: &AppState, request: &EvaluateRequest) -> Result<Decision, EvaluationError> {
    check_number("to", &request.to, true)?;
    check_number("from", &request.from, false)?;
    let compiled = state.dialplan.current();
    if compiled.plan.org(request.organization_id).is_none() {
        return Err(EvaluationError::UnknownOrganization);
    }
    let now = Utc::now();
    let trunks = state.dialplan.trunks();
    let network = LiveNetwork {
        trunks: &trunks,
        health: &state.gateway_health,
        channels: &state.dialplan.channels,
        now,
    };
    let call = Call {
        organization_id: request.organization_id,
        from: request.from.trim().to_string(),
        to: request.to.trim().to_string(),
        at: request.at.unwrap_or(now),
        trunk_id: request.trunk,
    };
    let decision = evaluate::evaluate(&compiled.plan, &call, &network, &mut rand::rng());
    let action = match decision.action {
        Verdict::Route => "route",
        Verdict::Deny => "deny",
    };
    metrics::counter!("dialplan_evaluations_total", "action" => action).increment(1);
    Ok(decision)
}

/// The organization's materialized path (`/1/7/`) from its lineage in the plan.
fn plan_path(state: &AppState, organization: i64) -> Option<String> {
    let compiled = state.dialplan.current();
    let org = compiled.plan.org(organization)?;
    let mut path = String::from("/");
    for id in org.lineage.iter() {
        path.push_str(&id.to_string());
        path.push('/');
    }
    Some(path)
}

/// `POST /v1/dialplan/evaluate` for `caller`: an organization outside the caller's subtree is
/// "not found", like any other object.
pub async fn evaluate_for(
    state: &AppState,
    caller: &Caller,
    request: &EvaluateRequest,
) -> Result<Decision> {
    let path = match plan_path(state, request.organization_id) {
        Some(path) => path,
        None => {
            // Created since the last refresh: check it exists and is ours, then reassemble.
            let org = crate::orgs::visible(&state.db, caller, request.organization_id).await?;
            state.dialplan.refresh(&state.db).await?;
            org.path
        }
    };
    if !caller.scope().contains(&path) {
        return Err(Error::not_found("organization"));
    }
    Ok(decide(state, request)?)
}

/// Channel usage of a trunk as this instance knows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChannelsView {
    pub trunk_id: i64,
    /// Calls up now per the last fresh report (0 when none).
    pub in_use: u32,
    pub max_channels: i64,
    /// When the report in force was made; absent when there is none or it went stale.
    pub reported_at: Option<DateTime<Utc>>,
}

pub fn channels_view(state: &AppState, trunk: &Trunk) -> ChannelsView {
    let report = state.dialplan.channels.current(trunk.id, Utc::now());
    ChannelsView {
        trunk_id: trunk.id,
        in_use: report.map_or(0, |r| r.in_use),
        max_channels: trunk.max_channels,
        reported_at: report.map(|r| r.reported_at),
    }
}

#[cfg(test)]
mod schema_tests {
    use super::*;
    use crate::types::schema::check::Allows;

    /// `to` and `from` are documented as `check_number` takes them.
    #[test]
    fn the_number_schemas_agree_with_the_check() {
        let to = Allows::new(&to_schema());
        let from = Allows::new(&from_schema());
        let long = "1".repeat(MAX_NUMBER);
        let over = "1".repeat(MAX_NUMBER + 1);
        for text in [
            "+14155550134",
            " 0207 ",
            "\t1\n",
            "sip:a@b",
            "",
            "  ",
            "a\tb",
            &long,
            &over,
            "é",
        ] {
            assert_eq!(
                to.allows(text),
                check_number("to", text, true).is_ok(),
                "{text:?}"
            );
            assert_eq!(
                from.allows(text),
                check_number("from", text, false).is_ok(),
                "{text:?}"
            );
        }
    }
}
