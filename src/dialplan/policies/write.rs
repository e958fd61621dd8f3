//! Writing policies: create, update, delete and restore, each checked, archived as a new
//! version, audited and compiled into the plan before it commits.

use super::archive::{archive, stored_version};
use super::checks::{self, check_compiles, check_references};
use super::commit::commit_and_swap;
use super::model::{POLICY, Policy, PolicyDescription, PolicyName, rules_json};
use super::read::visible;
use super::store::{self, policies::PolicyFields};
use crate::auth::{Caller, Permission};
use crate::db::Tx;
use crate::dialplan::engine::model::Rule;
use crate::error::{Error, Result};
use crate::numbers::AssignmentType;
use crate::state::AppState;
use crate::system::audit::{self, Change};
use chrono::Utc;

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
    let name = checks::name(&input.name)?;
    let description = checks::description(&input.description)?;
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
    name: &PolicyName,
    description: &PolicyDescription,
    rules_json: &str,
) -> Result<Policy> {
    let fields = PolicyFields {
        name,
        description,
        rules_json,
    };
    let id = store::policies::insert_policy(tx, organization_id, &fields, Utc::now()).await?;
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
        return Err(Error::immutable("organization_id", ""));
    }
    let name = input.name.as_deref().map(checks::name).transpose()?;
    let description = input
        .description
        .as_deref()
        .map(checks::description)
        .transpose()?;
    let mut tx = state.db.begin().await?;
    let before = reread(&mut tx, id).await?;
    let rules = input.rules.unwrap_or_else(|| before.rules.clone());
    let name = name.as_ref().unwrap_or(&before.name);
    let description = description.as_ref().unwrap_or(&before.description);
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
    name: &PolicyName,
    description: &PolicyDescription,
    rules: &[Rule],
    kind: &str,
) -> Result<Policy> {
    let json = rules_json(rules)?;
    let fields = PolicyFields {
        name,
        description,
        rules_json: &json,
    };
    store::policies::update_policy(tx, before.id, &fields, before.version + 1, Utc::now()).await?;
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
    let groups = store::groups::all_groups_in_tx(&mut tx).await?;
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
    store::policies::delete_policy(&mut tx, id).await?;
    // After the DELETE: see `numbers::assigned_to`.
    let numbers =
        crate::numbers::service::assigned_to(&mut tx, AssignmentType::Dialplan, id).await?;
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

/// Makes an archived version's content current again, as a new version (`restore`). The
/// restored rules are checked and compiled like any change: a trunk deleted since is refused.
pub async fn restore(state: &AppState, caller: &Caller, id: i64, version: i64) -> Result<Policy> {
    visible(state, caller, id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let old = stored_version(state, id, version)
        .await?
        .ok_or_else(|| Error::missing("version", format_args!("version {version}")))?;
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

/// The policy as `tx` sees it.
async fn reread(tx: &mut Tx, id: i64) -> Result<Policy> {
    match store::policies::get_policy_in_tx(tx, id).await? {
        Some(row) => Ok(row.try_into()?),
        None => Err(Error::not_found(POLICY)),
    }
}
