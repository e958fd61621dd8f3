//! What every policy write checks before it stores anything: the name and description, the
//! rules' shape (by compiling the policy alone) and what only the database knows (the trunks and
//! groups the rules name).

use super::model::{PolicyDescription, PolicyName};
use super::store;
use crate::db::Tx;
use crate::dialplan::engine::compile::CompiledPolicy;
use crate::dialplan::engine::model::{Action, PolicyBody, Rule};
use crate::error::{Error, Result};
use crate::state::AppState;

/// Rules one policy may hold.
pub const MAX_RULES: usize = 1000;

/// The `name` field of a policy or a group, or the 400 naming it.
pub(super) fn name(text: &str) -> Result<PolicyName> {
    as_given("name", text, NAME_MAX_CHARS)?;
    PolicyName::parse(text).map_err(|e| Error::field("name", e))
}

/// The longest policy or group name and description, counted as given (white space
/// included), as the document's `maxLength` counts them.
const NAME_MAX_CHARS: usize = 100;
const DESCRIPTION_MAX_CHARS: usize = 1000;

fn as_given(field: &str, text: &str, max: usize) -> Result<()> {
    if text.chars().count() > max {
        return Err(Error::field(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

/// The `description` field of a policy or a group, or the 400 naming it.
pub(super) fn description(text: &str) -> Result<PolicyDescription> {
    as_given("description", text, DESCRIPTION_MAX_CHARS)?;
    PolicyDescription::parse(text).map_err(|e| Error::field("description", e))
}

/// Validates the policy's shape by compiling it alone: the first problem answers 400 with its
/// field path (`rules[2].action.sip_code: …`), the rest are summarised.
pub(super) fn check_compiles(
    name: &PolicyName,
    description: &PolicyDescription,
    rules: &[Rule],
) -> Result<()> {
    let body = PolicyBody {
        name: name.to_string(),
        description: description.to_string(),
        rules: rules.to_vec(),
    };
    let Err(errors) = CompiledPolicy::compile(0, &body) else {
        return Ok(());
    };
    // A malformed field answers 400 before any conflict (a trunk listed twice) answers 409.
    let (invalid, conflicts): (Vec<_>, Vec<_>) = errors.iter().partition(|e| !e.conflict);
    let (first, conflict) = match (invalid.first(), conflicts.first()) {
        (Some(first), _) => (*first, false),
        (None, Some(first)) => (*first, true),
        (None, None) => return Ok(()),
    };
    let more = match errors.len() {
        1 => String::new(),
        n => format!(" (and {} more problems)", n - 1),
    };
    let message = format!("{}: {}{more}", first.field, first.message);
    Err(if conflict {
        Error::Conflict(message)
    } else {
        Error::bad_request(message)
    })
}

/// Checks what only the database knows: every trunk a rule routes to or matches on, and every group it
/// continues to, belongs to the policy's organization or one of its ancestors. The trunks are
/// held by `tx` against a concurrent delete (which then sees the routes, see
/// `routing_to_trunk`). The rules' own shape (codes, weights, prefixes, patterns) is checked by
/// the compiler.
pub(super) async fn check_references(
    state: &AppState,
    tx: &mut Tx,
    organization_path: &str,
    rules: &[Rule],
) -> Result<()> {
    if rules.len() > MAX_RULES {
        return Err(Error::field(
            "rules",
            format!("at most {MAX_RULES} rules per policy"),
        ));
    }
    // Trunks are named by routes and by `conditions.trunks` (the trunk a call arrived on).
    let mut trunk_refs = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        for (k, trunk_id) in rule.conditions.trunks.iter().enumerate() {
            trunk_refs.push((format!("rules[{i}].match.trunks[{k}]"), *trunk_id));
        }
        if let Action::Route { routes, .. } = &rule.action {
            for (j, route) in routes.iter().enumerate() {
                trunk_refs.push((
                    format!("rules[{i}].action.routes[{j}].trunk_id"),
                    route.trunk_id,
                ));
            }
        }
    }
    // Many rules name the same few trunks: look each up once.
    let mut usable_trunks: std::collections::HashMap<i64, bool> = Default::default();
    for (field, trunk_id) in trunk_refs {
        let usable = match usable_trunks.get(&trunk_id) {
            Some(known) => *known,
            None => {
                let usable = crate::gateways::trunk(&state.db, trunk_id)
                    .await?
                    .is_some_and(|t| organization_path.starts_with(&t.organization_path))
                    && crate::gateways::hold_trunk(tx, trunk_id).await?;
                usable_trunks.insert(trunk_id, usable);
                usable
            }
        };
        if !usable {
            return Err(Error::missing(
                &field,
                format!(
                    "SIP trunk {trunk_id} (of the policy's organization or one of its parents)"
                ),
            ));
        }
    }
    let mut groups = None;
    for (i, rule) in rules.iter().enumerate() {
        match &rule.action {
            Action::Continue { group_id } => {
                if groups.is_none() {
                    groups = Some(store::groups::all_groups_in_tx(tx).await?);
                }
                let known = groups.as_deref().unwrap_or_default();
                match known.iter().find(|g| g.id == *group_id) {
                    Some(g) if organization_path.starts_with(&g.organization_path) => {}
                    _ => {
                        return Err(Error::missing(
                            &format!("rules[{i}].action.group_id"),
                            format!(
                                "policy group {group_id} (of the policy's organization or one \
                                 of its parents)"
                            ),
                        ));
                    }
                }
            }
            Action::Route { .. } | Action::Translate { .. } | Action::Deny { .. } => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_descriptions_are_bounded_as_the_document_counts() {
        use crate::types::schema::check::Allows;
        use utoipa::PartialSchema;
        type Parses = dyn Fn(&str) -> bool;
        let cases: [(_, &str, &Parses); 2] = [
            (PolicyName::schema(), "UK", &|t| name(t).is_ok()),
            (PolicyDescription::schema(), "calls", &|t| {
                description(t).is_ok()
            }),
        ];
        for (schema, value, parses) in cases {
            let max = serde_json::to_value(&schema).unwrap()["maxLength"]
                .as_u64()
                .unwrap() as usize;
            let allows = Allows::new(&schema);
            let fits = format!("{value}{}", "\u{85}".repeat(max - value.len()));
            assert!(allows.allows(&fits) && parses(&fits), "{fits:?}");
            let over = format!("{fits} ");
            assert!(!allows.allows(&over) && !parses(&over), "{over:?}");
        }
    }

    #[test]
    fn names_and_descriptions_are_checked() {
        assert!(name(" ").is_err());
        assert_eq!(name(" UK ").unwrap().as_str(), "UK");
        let too_long = |text: &str| description(text).unwrap_err().to_string();
        assert_eq!(
            too_long(&"x".repeat(1001)),
            "description: must be at most 1000 characters"
        );
        assert_eq!(
            name(&"x".repeat(101)).unwrap_err().to_string(),
            "name: must be at most 100 characters"
        );
        assert_eq!(
            name("a\u{7}").unwrap_err().to_string(),
            "name: must not contain control characters"
        );
        assert_eq!(description("two\nlines").unwrap().as_str(), "two\nlines");
        assert_eq!(
            description("tab\there").unwrap_err().to_string(),
            "description: must not contain control characters"
        );
    }
}
