//! What the API shows of trunks and gateways: the stored values plus each gateway's live health,
//! read from the pinger's [`Registry`]. Pure: no pool, no socket, no clock.

use super::health::{AliveCodes, GatewayHealth, Probe, Registry, State};
use super::model::{Direction, Gateway, Trunk, TrunkName};
use crate::types::SipUri;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// A gateway's current health as the API shows it; `state` is `unknown` (and the rest empty)
/// until the pinger has probed it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct HealthView {
    pub gateway_id: i64,
    pub uri: SipUri,
    pub state: State,
    pub since: Option<DateTime<Utc>>,
    pub rtt_ms: Option<f64>,
    /// Smoothed RTT (RFC 6298 weighting).
    pub srtt_ms: Option<f64>,
    pub last_code: Option<u16>,
    pub consecutive_failures: u32,
    pub consecutive_successes: u32,
    pub last_probe_at: Option<DateTime<Utc>>,
    /// The last probes, oldest first (only on single-object reads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<Probe>>,
}

impl HealthView {
    /// The view of `health` (None: never probed) for a gateway.
    pub fn of(
        gateway_id: i64,
        uri: &SipUri,
        health: Option<GatewayHealth>,
        with_history: bool,
    ) -> Self {
        match health {
            Some(h) => Self {
                gateway_id,
                uri: uri.clone(),
                state: h.state,
                since: Some(h.since),
                rtt_ms: h.rtt_ms,
                srtt_ms: h.srtt_ms,
                last_code: h.last_code,
                consecutive_failures: h.consecutive_failures,
                consecutive_successes: h.consecutive_successes,
                last_probe_at: h.last_probe_at,
                history: with_history.then(|| h.history.into_iter().collect()),
            },
            None => Self {
                gateway_id,
                uri: uri.clone(),
                state: State::Unknown,
                since: None,
                rtt_ms: None,
                srtt_ms: None,
                last_code: None,
                consecutive_failures: 0,
                consecutive_successes: 0,
                last_probe_at: None,
                history: with_history.then(Vec::new),
            },
        }
    }
}

/// The health view of one gateway from the live registry.
pub fn health_view(
    registry: &Registry,
    gateway_id: i64,
    uri: &SipUri,
    with_history: bool,
) -> HealthView {
    HealthView::of(gateway_id, uri, registry.get(gateway_id), with_history)
}

/// A gateway with its health, as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GatewayView {
    pub id: i64,
    pub trunk_id: i64,
    pub uri: SipUri,
    pub enabled: bool,
    pub ping_interval_s: Option<i64>,
    pub down_ping_interval_s: Option<i64>,
    pub position: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub health: HealthView,
}

impl GatewayView {
    pub fn new(gateway: Gateway, registry: &Registry, with_history: bool) -> Self {
        let health = health_view(registry, gateway.id, &gateway.uri, with_history);
        Self {
            id: gateway.id,
            trunk_id: gateway.trunk_id,
            uri: gateway.uri,
            enabled: gateway.enabled,
            ping_interval_s: gateway.ping_interval_s,
            down_ping_interval_s: gateway.down_ping_interval_s,
            position: gateway.position,
            created_at: gateway.created_at,
            updated_at: gateway.updated_at,
            health,
        }
    }
}

/// How many of a trunk's gateways are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct HealthSummary {
    pub up: usize,
    pub down: usize,
    pub unknown: usize,
}

impl HealthSummary {
    pub fn of<'a>(states: impl IntoIterator<Item = &'a HealthView>) -> Self {
        let mut summary = Self::default();
        for view in states {
            match view.state {
                State::Up => summary.up += 1,
                State::Down => summary.down += 1,
                State::Unknown => summary.unknown += 1,
            }
        }
        summary
    }
}

/// A trunk with its gateways' health, as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrunkView {
    pub id: i64,
    pub organization_id: i64,
    /// Unique within the organization.
    pub name: TrunkName,
    pub direction: Direction,
    /// Concurrent calls allowed (1-100000).
    pub max_channels: i64,
    /// Reply codes that prove a gateway alive, e.g. `2xx,4xx,!408`.
    #[schema(value_type = String)]
    pub alive_codes: AliveCodes,
    /// Consecutive failed pings that take a gateway down (1-100).
    pub failures_to_down: i64,
    /// Consecutive good pings that bring a down gateway back up (1-100).
    pub successes_to_up: i64,
    pub gateways: Vec<GatewayView>,
    pub health: HealthSummary,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TrunkView {
    /// The view of `trunk`; `with_history` adds each gateway's recent probes.
    pub fn new(trunk: Trunk, registry: &Registry, with_history: bool) -> Self {
        let gateways: Vec<GatewayView> = trunk
            .gateways
            .into_iter()
            .map(|g| GatewayView::new(g, registry, with_history))
            .collect();
        let health = HealthSummary::of(gateways.iter().map(|g| &g.health));
        Self {
            id: trunk.id,
            organization_id: trunk.organization_id,
            name: trunk.name,
            direction: trunk.direction,
            max_channels: trunk.max_channels,
            alive_codes: trunk.alive_codes,
            failures_to_down: trunk.failures_to_down,
            successes_to_up: trunk.successes_to_up,
            gateways,
            health,
            created_at: trunk.created_at,
            updated_at: trunk.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateways::health::{Outcome, Policy};
    use std::time::Duration;

    fn gateway(id: i64) -> Gateway {
        let now = Utc::now();
        Gateway {
            id,
            trunk_id: 1,
            uri: SipUri::parse(&format!("sip:gw{id}.example.com")).unwrap(),
            enabled: true,
            ping_interval_s: None,
            down_ping_interval_s: None,
            position: id,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn never_probed_is_unknown_and_summary_counts_states() {
        let registry = Registry::default();
        let now = Utc::now();
        registry.update(2, now, |h| {
            h.record(
                &Outcome::Reply {
                    code: 200,
                    rtt: Duration::from_millis(12),
                },
                &Policy::default(),
                now,
            )
        });
        let view = GatewayView::new(gateway(1), &registry, false);
        assert_eq!(view.health.state, State::Unknown);
        assert_eq!(view.health.since, None);
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["health"]["state"], "unknown");
        assert!(json["health"].get("history").is_none(), "{json}");

        let up = GatewayView::new(gateway(2), &registry, true);
        assert_eq!(up.health.state, State::Up);
        assert_eq!(up.health.last_code, Some(200));
        assert_eq!(up.health.history.as_ref().map(Vec::len), Some(1));

        let summary = HealthSummary::of([&view.health, &up.health]);
        assert_eq!(
            summary,
            HealthSummary {
                up: 1,
                down: 0,
                unknown: 1
            }
        );
    }
}
