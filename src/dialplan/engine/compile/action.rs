//! A rule's action: route targets (weights, duplicates, rewrites), translations, denies and
//! `continue`, checked with their field paths and compiled into a [`CompiledAction`].

use super::checks::{check_prefix, check_rewrite, check_text};
use super::{CompiledAction, MAX_ROUTES, Problems};
use crate::dialplan::engine::model::{Action, Rewrite, Strategy};

pub(super) fn compile_action(action: &Action, problems: &mut Problems) -> Option<CompiledAction> {
    let before = problems.errors.len();
    let compiled = match action {
        Action::Route { strategy, routes } => {
            if routes.is_empty() {
                problems.push("action.routes", "must list at least one trunk");
            }
            if routes.len() > MAX_ROUTES {
                problems.push("action.routes", format!("at most {MAX_ROUTES} trunks"));
            }
            for (i, target) in routes.iter().enumerate() {
                let at = |f: &str| format!("action.routes[{i}].{f}");
                if target.trunk_id <= 0 {
                    problems.push(&at("trunk_id"), "must be a trunk id (positive)");
                }
                if routes[..i].iter().any(|r| r.trunk_id == target.trunk_id) {
                    problems.conflict(&at("trunk_id"), "trunk listed twice");
                }
                match (strategy, target.weight) {
                    (Strategy::Ordered, Some(_)) => problems.push(
                        &at("weight"),
                        "weights need strategy \"weighted\"; ordered routes fail over in list order",
                    ),
                    (Strategy::Weighted, None) => {
                        problems.push(&at("weight"), "required with strategy \"weighted\" (1-1000)")
                    }
                    (Strategy::Weighted, Some(w)) if !(1..=1000).contains(&w) => {
                        problems.push(&at("weight"), "must be 1-1000")
                    }
                    _ => {}
                }
                if let Err(e) = check_rewrite(&target.rewrite) {
                    problems.push(&at(&format!("rewrite.{}", e.0)), e.1);
                }
            }
            CompiledAction::Route {
                strategy: *strategy,
                routes: routes.clone().into_boxed_slice(),
            }
        }
        Action::Translate {
            strip,
            prepend,
            caller_id,
        } => {
            if let Err(e) = check_rewrite(&Rewrite {
                strip: *strip,
                prepend: prepend.clone(),
            }) {
                problems.push(&format!("action.{}", e.0), e.1);
            }
            if let Some(id) = caller_id
                && let Err(e) = check_prefix(id)
            {
                problems.push("action.caller_id", e);
            }
            if *strip == 0 && prepend.is_empty() && caller_id.is_none() {
                problems.push(
                    "action",
                    "a translate action must strip, prepend or set caller_id",
                );
            }
            CompiledAction::Translate {
                strip: *strip,
                prepend: prepend.as_str().into(),
                caller_id: caller_id.as_deref().map(Into::into),
            }
        }
        Action::Deny { sip_code, reason } => {
            if !(400..=699).contains(sip_code) {
                problems.push("action.sip_code", "must be a SIP failure code (400-699)");
            }
            if let Err(e) = check_text(reason, false) {
                problems.push("action.reason", e);
            }
            CompiledAction::Deny {
                sip_code: *sip_code,
                reason: reason.as_str().into(),
            }
        }
        Action::Continue { group_id } => {
            if *group_id <= 0 {
                problems.push("action.group_id", "must be a policy group id (positive)");
            }
            CompiledAction::Continue {
                group_id: *group_id,
            }
        }
    };
    (problems.errors.len() == before).then_some(compiled)
}
