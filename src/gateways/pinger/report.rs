//! What the pinger's writer task does with a state change: the shared health row (for the
//! instances that do not ping), the log, the event log and the audit trail; and writing again
//! the verdicts whose shared row a failure left missing.

use crate::gateways::PingTarget;
use crate::gateways::health::{State, Transition};
use crate::gateways::store;
use crate::state::AppState;
use crate::system::audit::{self, Actor, Change};
use chrono::Utc;
use std::collections::HashMap;
use std::time::Duration;

/// A state change goes to the shared health table (for the instances that do not ping), the
/// log, the event log and the audit trail, with its reason.
/// Returns whether the shared row was written.
pub(super) async fn report(
    state: &AppState,
    target: &PingTarget,
    transition: &Transition,
    since: chrono::DateTime<Utc>,
) -> bool {
    let shared = match store::pinger::save_health(
        &state.db,
        target.gateway_id,
        transition.to.as_str(),
        since,
        &transition.reason,
        Utc::now(),
    )
    .await
    {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, gateway = target.gateway_id, "cannot share gateway state; retrying later");
            false
        }
    };
    {
        let to = transition.to.as_str();
        metrics::counter!("pinger_state_changes_total", "to" => to).increment(1);
        let (id, from, reason) = (
            target.gateway_id,
            transition.from.as_str(),
            &transition.reason,
        );
        // Going down is worth a warning; coming up (or the first answer) is news, not trouble.
        if transition.to == State::Down {
            tracing::warn!(gateway = id, uri = %target.uri, from, to, %reason, "gateway state changed");
        } else {
            tracing::info!(gateway = id, uri = %target.uri, from, to, %reason, "gateway state changed");
        }
        let detail = serde_json::json!({
            "gateway_id": target.gateway_id,
            "trunk_id": target.trunk_id,
            "uri": target.uri.to_string(),
            "from": transition.from.as_str(),
            "to": to,
            "reason": transition.reason,
        });
        let event = crate::system::events::NewEvent {
            organization_id: target.organization_id,
            organization_path: &target.organization_path,
            source: "pinger",
            severity: if transition.to == State::Down {
                crate::system::events::Severity::Warning
            } else {
                crate::system::events::Severity::Info
            },
            entity_type: "gateway",
            entity_id: target.gateway_id.to_string(),
            event: if transition.to == State::Down {
                "gateway.down"
            } else {
                "gateway.up"
            },
            message: format!("Gateway {} is {to}: {}", target.uri, transition.reason),
            detail: Some(detail.clone()),
        };
        if let Err(e) = crate::system::events::record(&state.db, event).await {
            tracing::warn!(error = %e, "cannot record gateway event");
        }
        let audited = async {
            let mut tx = state.db.begin().await?;
            audit::record(
                &mut tx,
                &Actor::system("pinger"),
                Change {
                    organization_id: target.organization_id,
                    organization_path: &target.organization_path,
                    action: "health.change",
                    entity_type: "gateway",
                    entity_id: target.gateway_id.to_string(),
                    before: Some(serde_json::json!({"state": transition.from.as_str()})),
                    after: Some(detail),
                },
            )
            .await?;
            tx.commit().await?;
            Ok::<(), crate::error::Error>(())
        };
        if let Err(e) = audited.await {
            tracing::warn!(error = %e, "cannot audit gateway state change");
        }
    }
    shared
}

/// How often the pinging instance checks that every verdict it holds is shared.
pub(super) const SHARE_AGAIN_EVERY: Duration = Duration::from_secs(10);

/// Writes the verdicts whose shared row is missing or stale (`shared`: what was written).
pub(super) async fn share_again(
    state: &AppState,
    shared: &mut HashMap<i64, (State, chrono::DateTime<Utc>)>,
) {
    for (id, health_state, since) in state.gateway_health.states() {
        if shared.get(&id) == Some(&(health_state, since)) || health_state == State::Unknown {
            continue;
        }
        let written = store::pinger::save_health(
            &state.db,
            id,
            health_state.as_str(),
            since,
            "shared again after a missed write",
            Utc::now(),
        )
        .await;
        match written {
            Ok(()) => {
                shared.insert(id, (health_state, since));
            }
            Err(e) => {
                tracing::debug!(error = %e, gateway = id, "cannot share gateway state yet");
                return;
            }
        }
    }
}
