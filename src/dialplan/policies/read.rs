//! Reading policies: the one a caller may see (404 otherwise), the list with its filters and
//! the destination-prefix search, and what other rooms ask of policies (the hold a number's
//! assignment takes, the policies routing to a trunk being deleted).

use super::model::{POLICY, Policy};
use super::store::{self, policies::PolicyFilter};
use crate::auth::Caller;
use crate::db::{Db, Page, Tx};
use crate::dialplan::engine::model::{Action, Rule};
use crate::error::{Error, InUse, Result};
use crate::state::AppState;

/// The policy `id` if the caller may see it; 404 otherwise.
pub async fn visible(state: &AppState, caller: &Caller, id: i64) -> Result<Policy> {
    visible_policy(&state.db, caller, id).await
}

/// Like [`visible`], for rooms that hold only the pool (a number assigned to a policy).
pub async fn visible_policy(db: &Db, caller: &Caller, id: i64) -> Result<Policy> {
    match store::policies::get_policy(db, id).await? {
        Some(row) if caller.scope().contains(&row.organization_path) => Ok(row.try_into()?),
        _ => Err(Error::not_found(POLICY)),
    }
}

/// Whether policy `id` still exists, held until `tx` ends against a concurrent delete (whose
/// in-use check then sees what `tx` wrote): for a number assigned to the policy.
pub async fn hold_policy(tx: &mut Tx, id: i64) -> Result<bool> {
    Ok(store::policies::hold_policy(tx, id).await?)
}

/// The policies with a rule routing to trunk `trunk_id` or matching calls that arrive on it, of
/// any organization, as `tx` sees them: for a delete of the trunk to refuse while they do,
/// inside its own transaction.
pub async fn routing_to_trunk(tx: &mut Tx, trunk_id: i64) -> Result<InUse> {
    let routes_to = |rule: &Rule| {
        rule.conditions.trunks.contains(&trunk_id)
            || match &rule.action {
                Action::Route { routes, .. } => routes.iter().any(|r| r.trunk_id == trunk_id),
                _ => false,
            }
    };
    let mut users = Vec::new();
    for row in store::policies::all_policies_in_tx(tx).await? {
        let policy = Policy::try_from(row)?;
        if policy.rules.iter().any(routes_to) {
            users.push(format!("{} ({})", policy.id, policy.name));
        }
    }
    Ok(InUse {
        kind: "dial plan policies",
        total: users.len(),
        named: users.into_iter().take(InUse::NAMED).collect(),
    })
}

/// Filters of `GET /v1/dialplans`.
#[derive(Debug, Default)]
pub struct Search {
    pub organization_id: Option<i64>,
    pub name: Option<String>,
    /// Substring of the rules' content or the description.
    pub q: Option<String>,
    /// A destination (or its beginning): policies with a rule whose prefix or pattern would
    /// match a number starting like this.
    pub prefix: Option<String>,
}

/// Whether a rule's destination prefixes overlap `wanted` (one is a prefix of the other).
fn rule_touches_prefix(rule: &Rule, wanted: &str) -> bool {
    let literal = |p: &str| {
        p.chars()
            .take_while(|c| *c == '+' || c.is_ascii_digit())
            .collect::<String>()
    };
    let overlaps = |p: &str| p.starts_with(wanted) || wanted.starts_with(p);
    rule.conditions.prefixes.iter().any(|p| overlaps(p))
        || rule
            .conditions
            .pattern
            .as_deref()
            .is_some_and(|p| overlaps(&literal(p)))
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    search: &Search,
    page: Page,
) -> Result<(Vec<Policy>, i64)> {
    let filter = PolicyFilter {
        organization_id: search.organization_id,
        name: search.name.clone(),
        q: search.q.clone(),
    };
    let scope = caller.scope().like();
    let Some(prefix) = search.prefix.as_deref().map(str::trim) else {
        let (rows, total) =
            store::policies::list_policies(&state.db, &scope, &filter, Some(page)).await?;
        let policies = rows.into_iter().map(Policy::try_from);
        return Ok((policies.collect::<sqlx::Result<_>>()?, total));
    };
    if !valid_prefix(prefix) {
        return Err(Error::field(
            "prefix",
            "must be digits, optionally after a +",
        ));
    }
    // Prefixes live inside the rules' JSON: filter parsed rules, then page.
    let (rows, _) = store::policies::list_policies(&state.db, &scope, &filter, None).await?;
    let mut matching = Vec::new();
    for row in rows {
        let policy = Policy::try_from(row)?;
        if policy.rules.iter().any(|r| rule_touches_prefix(r, prefix)) {
            matching.push(policy);
        }
    }
    let total = matching.len() as i64;
    let start = usize::try_from(page.offset).unwrap_or(usize::MAX);
    let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
    Ok((
        matching.into_iter().skip(start).take(limit).collect(),
        total,
    ))
}

/// A `prefix` filter (trimmed): digits, optionally after `+`.
pub(super) fn valid_prefix(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix
            .trim_start_matches('+')
            .bytes()
            .all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_search_overlaps_both_ways() {
        let rule: Rule = serde_json::from_value(serde_json::json!({
            "match": {"prefixes": ["+4490"]},
            "action": {"type": "deny", "sip_code": 403, "reason": "premium"}
        }))
        .unwrap();
        assert!(rule_touches_prefix(&rule, "+44"));
        assert!(rule_touches_prefix(&rule, "+449012345"));
        assert!(!rule_touches_prefix(&rule, "+4420"));
        let pattern: Rule = serde_json::from_value(serde_json::json!({
            "match": {"pattern": "+1415555xxxx"},
            "action": {"type": "deny", "sip_code": 403, "reason": "x"}
        }))
        .unwrap();
        assert!(rule_touches_prefix(&pattern, "+1415"));
        assert!(!rule_touches_prefix(&pattern, "+1212"));
    }
}
