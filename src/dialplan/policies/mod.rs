//! The dial plan policies service: CRUD (tenancy-checked, validated, audited, archived as a new
//! version, compiled before commit and swapped in after), history, diff and restore; policy
//! groups ([`groups`]) and instantiated templates ([`instantiate`]) beside it.

pub mod api;
pub mod groups;
pub mod history;
pub mod instantiate;
pub(crate) mod store;

use self::history::{Diff, Side};
use self::store::{PolicyFields, PolicyFilter, PolicyRow, VersionRow};
use crate::auth::{Caller, Permission};
use crate::db::Page;
use crate::db::{Db, Tx};
use crate::dialplan::engine::compile::CompiledPolicy;
use crate::dialplan::engine::model::{Action, PolicyBody, Rule};
use crate::error::{Error, InUse, Result};
use crate::numbers::AssignmentType;
use crate::state::AppState;
use crate::system::audit::{self, Change};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// Rules one policy may hold.
pub const MAX_RULES: usize = 1000;

const POLICY: &str = "dial plan policy";
const VERSION: &str = "policy version";

/// A policy as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Policy {
    pub id: i64,
    pub organization_id: i64,
    #[serde(skip)]
    pub organization_path: String,
    pub name: String,
    pub description: String,
    pub rules: Vec<Rule>,
    /// Grows by one with every change (create is 1).
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One archived version of a policy.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PolicyVersion {
    pub policy_id: i64,
    pub version: i64,
    pub name: String,
    pub description: String,
    pub rules: Vec<Rule>,
    /// `create`, `update`, `restore` or `delete`.
    pub change: String,
    /// The user (or system job) that made the change.
    pub changed_by: String,
    pub changed_at: DateTime<Utc>,
}

/// Rules as stored were validated on the way in; one that no longer parses is a bug worth a
/// log line, and reads as no rules rather than failing the whole list.
fn parse_rules(policy_id: i64, json: &str) -> Vec<Rule> {
    serde_json::from_str(json).unwrap_or_else(|e| {
        tracing::error!(policy_id, error = %e, "stored dial plan rules do not parse");
        Vec::new()
    })
}

impl From<PolicyRow> for Policy {
    fn from(row: PolicyRow) -> Self {
        Self {
            rules: parse_rules(row.id, &row.rules_json),
            id: row.id,
            organization_id: row.organization_id,
            organization_path: row.organization_path,
            name: row.name,
            description: row.description,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

impl From<VersionRow> for PolicyVersion {
    fn from(row: VersionRow) -> Self {
        Self {
            rules: parse_rules(row.policy_id, &row.rules_json),
            policy_id: row.policy_id,
            version: row.version,
            name: row.name,
            description: row.description,
            change: row.change_kind,
            changed_by: row.changed_by,
            changed_at: row.changed_at,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tenancy.

/// The policy `id` if the caller may see it; 404 otherwise.
pub async fn visible(state: &AppState, caller: &Caller, id: i64) -> Result<Policy> {
    visible_policy(&state.db, caller, id).await
}

/// Like [`visible`], for rooms that hold only the pool (a number assigned to a policy).
pub async fn visible_policy(db: &Db, caller: &Caller, id: i64) -> Result<Policy> {
    match store::get_policy(db, id).await? {
        Some(row) if caller.scope().contains(&row.organization_path) => Ok(row.into()),
        _ => Err(Error::not_found(POLICY)),
    }
}

/// Whether policy `id` still exists, held until `tx` ends against a concurrent delete (whose
/// in-use check then sees what `tx` wrote): for a number assigned to the policy.
pub async fn hold_policy(tx: &mut Tx, id: i64) -> Result<bool> {
    Ok(store::hold_policy(tx, id).await?)
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
    let users: Vec<String> = store::all_policies_in_tx(tx)
        .await?
        .into_iter()
        .map(Policy::from)
        .filter(|p| p.rules.iter().any(routes_to))
        .map(|p| format!("{} ({})", p.id, p.name))
        .collect();
    Ok(InUse {
        kind: "dial plan policies",
        total: users.len(),
        named: users.into_iter().take(InUse::NAMED).collect(),
    })
}

/// Like [`visible`], but also finds a deleted policy through its archive (history stays
/// readable after a delete).
async fn visible_archive(state: &AppState, caller: &Caller, id: i64) -> Result<()> {
    match store::archived_policy_path(&state.db, id).await? {
        Some(path) if caller.scope().contains(&path) => Ok(()),
        _ => Err(Error::not_found(POLICY)),
    }
}

// ---------------------------------------------------------------------------------------------
// Validation.

pub(super) fn validate_name(text: &str) -> Result<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::field("name", "must not be empty"));
    }
    if text.chars().count() > 100 {
        return Err(Error::field("name", "must be at most 100 characters"));
    }
    if text.chars().any(char::is_control) {
        return Err(Error::field("name", "must not contain control characters"));
    }
    Ok(text.to_string())
}

pub(super) fn validate_description(text: &str) -> Result<String> {
    let text = text.trim();
    if text.chars().count() > 1000 {
        return Err(Error::field(
            "description",
            "must be at most 1000 characters",
        ));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Error::field(
            "description",
            "must not contain control characters",
        ));
    }
    Ok(text.to_string())
}

/// Validates the policy's shape by compiling it alone: the first problem answers 400 with its
/// field path (`rules[2].action.sip_code: …`), the rest are summarised.
pub(super) fn check_compiles(name: &str, description: &str, rules: &[Rule]) -> Result<()> {
    let body = PolicyBody {
        name: name.to_string(),
        description: description.to_string(),
        rules: rules.to_vec(),
    };
    match CompiledPolicy::compile(0, &body) {
        Ok(_) => Ok(()),
        Err(errors) => {
            let Some(first) = errors.first() else {
                return Ok(());
            };
            let more = match errors.len() {
                1 => String::new(),
                n => format!(" (and {} more problems)", n - 1),
            };
            Err(Error::field(
                &first.field,
                format!("{}{more}", first.message),
            ))
        }
    }
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
            trunk_refs.push((format!("rules[{i}].conditions.trunks[{k}]"), *trunk_id));
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
            return Err(Error::field(
                &field,
                format!(
                    "SIP trunk {trunk_id} not found among the trunks of the policy's \
                     organization and its parents"
                ),
            ));
        }
    }
    let mut groups = None;
    for (i, rule) in rules.iter().enumerate() {
        match &rule.action {
            Action::Continue { group_id } => {
                if groups.is_none() {
                    groups = Some(store::all_groups_in_tx(tx).await?);
                }
                let known = groups.as_deref().unwrap_or_default();
                match known.iter().find(|g| g.id == *group_id) {
                    Some(g) if organization_path.starts_with(&g.organization_path) => {}
                    _ => {
                        return Err(Error::field(
                            &format!("rules[{i}].action.group_id"),
                            format!(
                                "policy group {group_id} not found among the groups of the \
                                 policy's organization and its parents"
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

// ---------------------------------------------------------------------------------------------
// Audit and archive.

impl crate::system::audit::Audited for Policy {
    const ENTITY_TYPE: &'static str = "dialplan_policy";
    fn audit_id(&self) -> i64 {
        self.id
    }
    fn audit_owner(&self) -> (i64, &str) {
        (self.organization_id, &self.organization_path)
    }
}

fn rules_json(rules: &[Rule]) -> Result<String> {
    serde_json::to_string(rules).map_err(|e| Error::Internal(format!("rules to JSON: {e}")))
}

async fn archive(tx: &mut Tx, caller: &Caller, policy: &Policy, kind: &str) -> Result<()> {
    store::insert_version(
        tx,
        &VersionRow {
            policy_id: policy.id,
            organization_id: policy.organization_id,
            version: policy.version,
            name: policy.name.clone(),
            description: policy.description.clone(),
            rules_json: rules_json(&policy.rules)?,
            change_kind: kind.to_string(),
            changed_by: caller.username.clone(),
            changed_at: policy.updated_at,
        },
    )
    .await?;
    Ok(())
}

async fn reread(tx: &mut Tx, id: i64) -> Result<Policy> {
    store::get_policy_in_tx(tx, id)
        .await?
        .map(Policy::from)
        .ok_or_else(|| Error::not_found(POLICY))
}

/// Compiles the plan as `tx` left it (refusing the write if it does not compile), commits,
/// then swaps the compiled plan in. The trunk snapshot is refreshed too, so a route to a trunk
/// created a moment ago resolves at once (trunk edits alone are picked up by the periodic
/// refresh).
pub(super) async fn commit_and_swap(state: &AppState, mut tx: Tx) -> Result<()> {
    store::bump_revision(&mut tx).await?;
    let prepared = state.dialplan.prepare_in_tx(&mut tx).await?;
    tx.commit().await?;
    state.dialplan.install(prepared);
    if let Err(e) = state.dialplan.refresh_trunks(&state.db).await {
        tracing::warn!(error = %e, "trunk snapshot refresh failed; the periodic refresh retries");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Policies.

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
        let (rows, total) = store::list_policies(&state.db, &scope, &filter, Some(page)).await?;
        return Ok((rows.into_iter().map(Policy::from).collect(), total));
    };
    if prefix.is_empty()
        || !prefix
            .trim_start_matches('+')
            .bytes()
            .all(|b| b.is_ascii_digit())
    {
        return Err(Error::field(
            "prefix",
            "must be digits, optionally after a +",
        ));
    }
    // Prefixes live inside the rules' JSON: filter parsed rules, then page.
    let (rows, _) = store::list_policies(&state.db, &scope, &filter, None).await?;
    let matching: Vec<Policy> = rows
        .into_iter()
        .map(Policy::from)
        .filter(|p| p.rules.iter().any(|r| rule_touches_prefix(r, prefix)))
        .collect();
    let total = matching.len() as i64;
    let start = usize::try_from(page.offset).unwrap_or(usize::MAX);
    let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
    Ok((
        matching.into_iter().skip(start).take(limit).collect(),
        total,
    ))
}

/// Input of a new policy; `organization_id` defaults to the caller's organization.
#[derive(Debug, Clone)]
pub struct NewPolicy {
    pub organization_id: Option<i64>,
    pub name: String,
    pub description: String,
    pub rules: Vec<Rule>,
}

pub async fn create(state: &AppState, caller: &Caller, input: NewPolicy) -> Result<Policy> {
    let organization_id = input.organization_id.unwrap_or(caller.organization_id);
    let org =
        crate::orgs::visible_field(&state.db, caller, "organization_id", organization_id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let name = validate_name(&input.name)?;
    let description = validate_description(&input.description)?;
    check_compiles(&name, &description, &input.rules)?;
    let json = rules_json(&input.rules)?;
    let mut tx = state.db.begin().await?;
    check_references(state, &mut tx, &org.path, &input.rules).await?;
    let policy = insert_in_tx(&mut tx, caller, organization_id, &name, &description, &json).await?;
    commit_and_swap(state, tx).await?;
    Ok(policy)
}

/// Inserts, archives and audits a new policy inside `tx` (also used by templates).
pub(super) async fn insert_in_tx(
    tx: &mut Tx,
    caller: &Caller,
    organization_id: i64,
    name: &str,
    description: &str,
    rules_json: &str,
) -> Result<Policy> {
    let fields = PolicyFields {
        name,
        description,
        rules_json,
    };
    let id = store::insert_policy(tx, organization_id, &fields, Utc::now()).await?;
    let policy = reread(tx, id).await?;
    archive(tx, caller, &policy, "create").await?;
    audit::record(
        tx,
        &caller.actor(),
        Change::of(&policy, "create", None, Some(&policy)),
    )
    .await?;
    Ok(policy)
}

/// Changes to a policy: absent fields keep their value; `rules` is the whole new list.
#[derive(Debug, Clone, Default)]
pub struct PolicyUpdate {
    pub organization_id: Option<i64>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub rules: Option<Vec<Rule>>,
}

pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: i64,
    input: PolicyUpdate,
) -> Result<Policy> {
    let current = visible(state, caller, id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    if let Some(org) = input.organization_id
        && org != current.organization_id
    {
        return Err(Error::field("organization_id", "cannot be changed"));
    }
    let name = input.name.as_deref().map(validate_name).transpose()?;
    let description = input
        .description
        .as_deref()
        .map(validate_description)
        .transpose()?;
    let mut tx = state.db.begin().await?;
    let before = reread(&mut tx, id).await?;
    let rules = input.rules.unwrap_or_else(|| before.rules.clone());
    let name = name.as_deref().unwrap_or(&before.name);
    let description = description.as_deref().unwrap_or(&before.description);
    check_compiles(name, description, &rules)?;
    check_references(state, &mut tx, &before.organization_path, &rules).await?;
    let after = write_version(
        &mut tx,
        caller,
        &before,
        name,
        description,
        &rules,
        "update",
    )
    .await?;
    commit_and_swap(state, tx).await?;
    Ok(after)
}

/// Writes the next version of `before` with this content, archives and audits it.
async fn write_version(
    tx: &mut Tx,
    caller: &Caller,
    before: &Policy,
    name: &str,
    description: &str,
    rules: &[Rule],
    kind: &str,
) -> Result<Policy> {
    let json = rules_json(rules)?;
    let fields = PolicyFields {
        name,
        description,
        rules_json: &json,
    };
    store::update_policy(tx, before.id, &fields, before.version + 1, Utc::now()).await?;
    let after = reread(tx, before.id).await?;
    archive(tx, caller, &after, kind).await?;
    audit::record(
        tx,
        &caller.actor(),
        Change::of(&after, kind, Some(before), Some(&after)),
    )
    .await?;
    Ok(after)
}

/// Deletes a policy (refused while a group lists it or numbers are assigned to it). Its archive
/// stays, with a last `delete` version.
pub async fn delete(state: &AppState, caller: &Caller, id: i64) -> Result<()> {
    visible(state, caller, id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let mut tx = state.db.begin().await?;
    let before = reread(&mut tx, id).await?;
    let groups = store::all_groups_in_tx(&mut tx).await?;
    if let Some(group) = groups.iter().find(|g| g.policy_ids.contains(&id)) {
        return Err(Error::Conflict(format!(
            "policy {id} is in policy group {} ({}); remove it from the group first",
            group.id, group.name
        )));
    }
    let mut gone = before.clone();
    gone.version += 1;
    gone.updated_at = Utc::now();
    archive(&mut tx, caller, &gone, "delete").await?;
    store::delete_policy(&mut tx, id).await?;
    // After the DELETE: see `numbers::assigned_to`.
    let numbers = crate::numbers::assigned_to(&mut tx, AssignmentType::Dialplan, id).await?;
    Error::refuse_in_use(
        &format!("dial plan policy {id}"),
        &[numbers],
        "assign them elsewhere first",
    )?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&before, "delete", Some(&before), None),
    )
    .await?;
    commit_and_swap(state, tx).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// History.

pub async fn history(
    state: &AppState,
    caller: &Caller,
    id: i64,
    page: Page,
) -> Result<(Vec<PolicyVersion>, i64)> {
    visible_archive(state, caller, id).await?;
    let (rows, total) = store::versions(&state.db, id, page).await?;
    Ok((rows.into_iter().map(PolicyVersion::from).collect(), total))
}

pub async fn version(
    state: &AppState,
    caller: &Caller,
    id: i64,
    version: i64,
) -> Result<PolicyVersion> {
    visible_archive(state, caller, id).await?;
    store::version(&state.db, id, version)
        .await?
        .map(PolicyVersion::from)
        .ok_or_else(|| Error::not_found(VERSION))
}

/// The difference between versions `from` and `to` (`to` defaults to the latest, `from` to
/// the version before `to`).
pub async fn diff(
    state: &AppState,
    caller: &Caller,
    id: i64,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<Diff> {
    visible_archive(state, caller, id).await?;
    let to = match to {
        Some(v) => v,
        None => {
            let page = Page {
                limit: 1,
                offset: 0,
            };
            let (latest, _) = store::versions(&state.db, id, page).await?;
            latest.first().map_or(0, |v| v.version)
        }
    };
    let from = from.unwrap_or((to - 1).max(1));
    let a: PolicyVersion = store::version(&state.db, id, from)
        .await?
        .map(Into::into)
        .ok_or_else(|| Error::field("from", format!("version {from} not found")))?;
    let b: PolicyVersion = store::version(&state.db, id, to)
        .await?
        .map(Into::into)
        .ok_or_else(|| Error::field("to", format!("version {to} not found")))?;
    Ok(history::diff(
        &Side {
            version: a.version,
            name: &a.name,
            description: &a.description,
            rules: &a.rules,
        },
        &Side {
            version: b.version,
            name: &b.name,
            description: &b.description,
            rules: &b.rules,
        },
    ))
}

/// Makes an archived version's content current again, as a new version (`restore`). The
/// restored rules are checked and compiled like any change: a trunk deleted since is refused.
pub async fn restore(state: &AppState, caller: &Caller, id: i64, version: i64) -> Result<Policy> {
    visible(state, caller, id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let old: PolicyVersion = store::version(&state.db, id, version)
        .await?
        .map(Into::into)
        .ok_or_else(|| Error::field("version", format!("version {version} not found")))?;
    check_compiles(&old.name, &old.description, &old.rules)?;
    let mut tx = state.db.begin().await?;
    let before = reread(&mut tx, id).await?;
    check_references(state, &mut tx, &before.organization_path, &old.rules).await?;
    let after = write_version(
        &mut tx,
        caller,
        &before,
        &old.name,
        &old.description,
        &old.rules,
        "restore",
    )
    .await?;
    commit_and_swap(state, tx).await?;
    Ok(after)
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

    #[test]
    fn names_and_descriptions_are_checked() {
        assert!(validate_name(" ").is_err());
        assert_eq!(validate_name(" UK ").unwrap(), "UK");
        assert!(
            validate_description(&"x".repeat(1001))
                .unwrap_err()
                .to_string()
                .starts_with("description: ")
        );
    }
}
