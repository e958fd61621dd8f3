//! The dial plan's answer for one identified call, as the listener's [`Answer`]: the in-memory
//! evaluator is asked (never the database) and its decision mapped to Contacts or a refusal.

use super::Listener;
use super::identify::Identity;
use super::request::Invite;
use super::response::{self, Target};
use crate::dialplan::engine::evaluate::{Decision, Verdict as Action};
use crate::dialplan::{EvaluateRequest, EvaluationError, decide as evaluate};

/// What the listener answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// 302 with these Contact values, in order.
    Redirect(Vec<String>),
    /// Refuse with this code and Reason text.
    Refuse { code: u16, reason: String },
}

pub(super) fn decide(listener: &Listener, identity: Identity, call: &Invite) -> Answer {
    let request = EvaluateRequest {
        organization_id: identity.organization_id,
        from: call.from.clone(),
        to: call.to.clone(),
        at: None,
        trunk: identity.trunk_id,
    };
    match evaluate(&listener.inner.state, &request) {
        Ok(decision) => verdict(&decision),
        Err(e) => refusal_for_error(&e),
    }
}

/// Maps a decision: a route with usable Contacts is a 302; a deny keeps its code and reason
/// (403 when it has none); a route whose every gateway URI is unusable is a 503.
pub fn verdict(decision: &Decision) -> Answer {
    match decision.action {
        Action::Route => {
            let targets: Vec<Target<'_>> = decision
                .routes
                .iter()
                .map(|r| Target {
                    gateway_uri: &r.gateway_uri,
                    number: &r.number,
                })
                .collect();
            let (contacts, skipped) = response::contacts(&targets);
            if skipped > 0 {
                tracing::warn!(
                    skipped,
                    "redirect: routes with unusable gateway URIs left out"
                );
            }
            if contacts.is_empty() {
                Answer::Refuse {
                    code: 503,
                    reason: "No usable route".into(),
                }
            } else {
                Answer::Redirect(contacts)
            }
        }
        Action::Deny => Answer::Refuse {
            code: decision.sip_code.unwrap_or(403),
            reason: decision
                .reason
                .clone()
                .unwrap_or_else(|| "Denied by dial plan".into()),
        },
    }
}

/// The SIP edge's answer to an evaluation that could not run: an organization without a plan
/// is 404, a number the evaluator refuses is 484 Address Incomplete.
fn refusal_for_error(error: &EvaluationError) -> Answer {
    let (code, reason) = match error {
        EvaluationError::UnknownOrganization => {
            (404, "No dial plan for this organization".to_string())
        }
        EvaluationError::BadNumber { .. } => (484, error.to_string()),
    };
    Answer::Refuse { code, reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialplan::engine::evaluate::Route;

    fn decision(action: Action, routes: Vec<Route>, sip_code: Option<u16>) -> Decision {
        Decision {
            action,
            destination: "+442071234567".into(),
            caller_id: None,
            routes,
            skipped: Vec::new(),
            trail: Vec::new(),
            sip_code,
            reason: sip_code.map(|_| "Premium blocked".to_string()),
        }
    }

    fn route(uri: &str, number: &str) -> Route {
        Route {
            trunk_id: 1,
            gateway_uri: uri.into(),
            number: number.into(),
            order: None,
            weight: None,
        }
    }

    #[test]
    fn routes_become_contacts_in_order_and_denies_keep_code_and_reason() {
        let d = decision(
            Action::Route,
            vec![
                route("sip:192.0.2.1:5060", "+44"),
                route("sip:192.0.2.2;transport=tcp", "44"),
            ],
            None,
        );
        assert_eq!(
            verdict(&d),
            Answer::Redirect(vec![
                "<sip:+44@192.0.2.1:5060>;q=1.0".into(),
                "<sip:44@192.0.2.2;transport=tcp>;q=0.5".into()
            ])
        );
        let d = decision(Action::Route, vec![route("bogus", "1")], None);
        assert_eq!(
            verdict(&d),
            Answer::Refuse {
                code: 503,
                reason: "No usable route".into()
            }
        );
        let d = decision(Action::Deny, Vec::new(), Some(480));
        assert_eq!(
            verdict(&d),
            Answer::Refuse {
                code: 480,
                reason: "Premium blocked".into()
            }
        );
        let d = decision(Action::Deny, Vec::new(), None);
        assert!(matches!(verdict(&d), Answer::Refuse { code: 403, .. }));
        assert!(matches!(
            refusal_for_error(&EvaluationError::UnknownOrganization),
            Answer::Refuse { code: 404, .. }
        ));
        assert!(matches!(
            refusal_for_error(&EvaluationError::BadNumber {
                field: "to",
                message: "must not be empty".into()
            }),
            Answer::Refuse { code: 484, reason } if reason == "to: must not be empty"
        ));
    }
}
