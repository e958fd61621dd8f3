//! The policy groups service: an organization's ordered lists of policies, their priority,
//! whether they are enforced on every descendant, and the groups they depend on. Every write is
//! compiled before commit, so a dependency cycle is refused with nothing written.

use super::checks;
use super::commit::commit_and_swap;
use super::model::{Policy, PolicyDescription, PolicyName};
use super::store::{
    self,
    groups::{GroupFields, GroupRow},
};
use crate::auth::{Caller, Permission};
use crate::db::Page;
use crate::db::Tx;
use crate::dialplan::engine::model::Action;
use crate::error::{Error, Result};
use crate::orgs::{OrgType, Organization};
use crate::state::AppState;
use crate::system::audit::{self, Change};
use crate::types::column::parse_stored;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::ops::RangeInclusive;
use utoipa::ToSchema;

/// Range of a group's priority (lower runs first among an organization's groups).
pub const PRIORITIES: RangeInclusive<i64> = -1000..=1000;
/// Policies one group may list.
pub const MAX_POLICIES: usize = 100;

/// What a group is called in messages: `policy group not found`, a corrupt row's
/// `policy group 4`.
const GROUP: &str = "policy group";

/// A policy group as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Group {
    pub id: i64,
    pub organization_id: i64,
    #[serde(skip)]
    pub organization_path: String,
    pub name: PolicyName,
    pub description: PolicyDescription,
    /// Evaluated before any group of the organization's descendants, which cannot override
    /// it. Only platform, distributor and partner organizations may enforce a group.
    pub enforced: bool,
    /// Order among the organization's groups (lower first).
    pub priority: i64,
    /// The group's policies in evaluation order.
    pub policy_ids: Vec<i64>,
    /// Groups (of this organization or a parent) evaluated before this one.
    pub depends_on: Vec<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<GroupRow> for Group {
    type Error = sqlx::Error;

    /// A stored name or description that no longer parses is an error naming the group.
    fn try_from(row: GroupRow) -> sqlx::Result<Self> {
        let (table, id) = (GROUP, row.id);
        Ok(Self {
            name: parse_stored(table, id, "name", &row.name, PolicyName::parse)?,
            description: parse_stored(
                table,
                id,
                "description",
                &row.description,
                PolicyDescription::parse,
            )?,
            id,
            organization_id: row.organization_id,
            organization_path: row.organization_path,
            enforced: row.enforced,
            priority: row.priority,
            policy_ids: row.policy_ids,
            depends_on: row.depends_on,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

pub async fn visible(state: &AppState, caller: &Caller, id: i64) -> Result<Group> {
    match store::groups::get_group(&state.db, id).await? {
        Some(row) if caller.scope().contains(&row.organization_path) => Ok(row.try_into()?),
        _ => Err(Error::not_found(GROUP)),
    }
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    organization_id: Option<i64>,
    page: Page,
) -> Result<(Vec<Group>, i64)> {
    let (rows, total) =
        store::groups::list_groups(&state.db, &caller.scope().like(), organization_id, page)
            .await?;
    let groups = rows.into_iter().map(Group::try_from);
    Ok((groups.collect::<sqlx::Result<_>>()?, total))
}

/// A group's content as a request gives it (for an update: absent fields keep their value).
#[derive(Debug, Clone, Default)]
pub struct GroupInput {
    pub organization_id: Option<i64>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub enforced: Option<bool>,
    pub priority: Option<i64>,
    pub policy_ids: Option<Vec<i64>>,
    pub depends_on: Option<Vec<i64>>,
}

/// The validated content of a group.
pub(super) struct Checked {
    pub name: PolicyName,
    pub description: PolicyDescription,
    pub enforced: bool,
    pub priority: i64,
    pub policy_ids: Vec<i64>,
    pub depends_on: Vec<i64>,
}

fn check_enforced(org: &Organization, enforced: bool) -> Result<bool> {
    if enforced && org.kind() == OrgType::Tenant {
        // A well-formed request the organization's type cannot take: a conflict, like a parent
        // that cannot take a child of that type.
        return Err(Error::Conflict(
            "enforced: only platform, distributor and partner organizations may enforce a group"
                .to_string(),
        ));
    }
    Ok(enforced)
}

/// Checks members and dependencies against what `tx` sees: every policy belongs to the
/// group's organization, every dependency is a group of it or of a parent, nothing twice.
async fn check_links(
    tx: &mut Tx,
    org: &Organization,
    self_id: Option<i64>,
    policy_ids: &[i64],
    depends_on: &[i64],
) -> Result<()> {
    if policy_ids.len() > MAX_POLICIES {
        return Err(Error::field(
            "policy_ids",
            format!("at most {MAX_POLICIES} policies per group"),
        ));
    }
    let policies = store::policies::all_policies_in_tx(tx).await?;
    for (i, id) in policy_ids.iter().enumerate() {
        if policy_ids[..i].contains(id) {
            // Each id is valid alone; together they conflict (409), as rows of a bulk do.
            return Err(Error::Conflict(format!(
                "policy_ids[{i}]: policy {id} is listed twice"
            )));
        }
        if !policies
            .iter()
            .any(|p| p.id == *id && p.organization_id == org.id)
        {
            // A missing reference: 404, as for any id that names nothing the caller may use.
            return Err(Error::NotFound(format!(
                "policy_ids[{i}]: policy {id} not found in organization {}",
                org.id
            )));
        }
    }
    let groups = store::groups::all_groups_in_tx(tx).await?;
    for (i, id) in depends_on.iter().enumerate() {
        let field = format!("depends_on[{i}]");
        if depends_on[..i].contains(id) {
            return Err(Error::Conflict(format!(
                "{field}: group {id} is listed twice"
            )));
        }
        if Some(*id) == self_id {
            return Err(Error::Conflict(format!(
                "{field}: cycle: group {id} would depend on itself"
            )));
        }
        match groups.iter().find(|g| g.id == *id) {
            Some(g) if org.path.starts_with(&g.organization_path) => {}
            _ => {
                return Err(Error::NotFound(format!(
                    "{field}: policy group {id} not found among the groups of the organization \
                     and its parents"
                )));
            }
        }
    }
    Ok(())
}

fn check_priority(priority: i64) -> Result<i64> {
    if PRIORITIES.contains(&priority) {
        Ok(priority)
    } else {
        Err(Error::field(
            "priority",
            format!(
                "must be between {} and {}, got {priority}",
                PRIORITIES.start(),
                PRIORITIES.end()
            ),
        ))
    }
}

impl crate::system::audit::Audited for Group {
    const ENTITY_TYPE: &'static str = "dialplan_group";
    fn audit_id(&self) -> i64 {
        self.id
    }
    fn audit_owner(&self) -> (i64, &str) {
        (self.organization_id, &self.organization_path)
    }
}

async fn reread(tx: &mut Tx, id: i64) -> Result<Group> {
    let row = store::groups::all_groups_in_tx(tx)
        .await?
        .into_iter()
        .find(|g| g.id == id);
    match row {
        Some(row) => Ok(row.try_into()?),
        None => Err(Error::not_found(GROUP)),
    }
}

/// Inserts a checked group inside `tx`, audited (also used by templates).
pub(super) async fn insert_in_tx(
    tx: &mut Tx,
    caller: &Caller,
    org: &Organization,
    checked: &Checked,
) -> Result<Group> {
    check_links(tx, org, None, &checked.policy_ids, &checked.depends_on).await?;
    let fields = GroupFields {
        name: &checked.name,
        description: &checked.description,
        enforced: checked.enforced,
        priority: checked.priority,
    };
    let id = store::groups::insert_group(tx, org.id, &fields, Utc::now()).await?;
    store::groups::set_group_links(tx, id, &checked.policy_ids, &checked.depends_on).await?;
    let group = reread(tx, id).await?;
    audit::record(
        tx,
        &caller.actor(),
        Change::of(&group, "create", None, Some(&group)),
    )
    .await?;
    Ok(group)
}

pub(super) fn checked(org: &Organization, input: &GroupInput) -> Result<Checked> {
    Ok(Checked {
        name: checks::name(input.name.as_deref().unwrap_or_default())?,
        description: checks::description(input.description.as_deref().unwrap_or_default())?,
        enforced: check_enforced(org, input.enforced.unwrap_or(false))?,
        priority: check_priority(input.priority.unwrap_or(0))?,
        policy_ids: input.policy_ids.clone().unwrap_or_default(),
        depends_on: input.depends_on.clone().unwrap_or_default(),
    })
}

pub async fn create(state: &AppState, caller: &Caller, input: GroupInput) -> Result<Group> {
    let organization_id = input.organization_id.unwrap_or(caller.organization_id);
    let org =
        crate::orgs::visible_field(&state.db, caller, "organization_id", organization_id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let checked = checked(&org, &input)?;
    let mut tx = state.db.begin().await?;
    let group = insert_in_tx(&mut tx, caller, &org, &checked).await?;
    commit_and_swap(state, tx).await?;
    Ok(group)
}

pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: i64,
    input: GroupInput,
) -> Result<Group> {
    let current = visible(state, caller, id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    if let Some(org) = input.organization_id
        && org != current.organization_id
    {
        return Err(Error::immutable("organization_id", ""));
    }
    let org = crate::orgs::visible(&state.db, caller, current.organization_id).await?;
    let merged = GroupInput {
        organization_id: None,
        name: Some(input.name.unwrap_or_else(|| current.name.to_string())),
        description: Some(
            input
                .description
                .unwrap_or_else(|| current.description.to_string()),
        ),
        enforced: Some(input.enforced.unwrap_or(current.enforced)),
        priority: Some(input.priority.unwrap_or(current.priority)),
        policy_ids: Some(
            input
                .policy_ids
                .unwrap_or_else(|| current.policy_ids.clone()),
        ),
        depends_on: Some(
            input
                .depends_on
                .unwrap_or_else(|| current.depends_on.clone()),
        ),
    };
    let checked = checked(&org, &merged)?;
    let mut tx = state.db.begin().await?;
    let before = reread(&mut tx, id).await?;
    check_links(
        &mut tx,
        &org,
        Some(id),
        &checked.policy_ids,
        &checked.depends_on,
    )
    .await?;
    let fields = GroupFields {
        name: &checked.name,
        description: &checked.description,
        enforced: checked.enforced,
        priority: checked.priority,
    };
    store::groups::update_group(&mut tx, id, &fields, Utc::now()).await?;
    store::groups::set_group_links(&mut tx, id, &checked.policy_ids, &checked.depends_on).await?;
    let after = reread(&mut tx, id).await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&after, "update", Some(&before), Some(&after)),
    )
    .await?;
    commit_and_swap(state, tx).await?;
    Ok(after)
}

/// Deletes a group, refused while another group depends on it or a rule continues to it.
pub async fn delete(state: &AppState, caller: &Caller, id: i64) -> Result<()> {
    visible(state, caller, id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let mut tx = state.db.begin().await?;
    let before = reread(&mut tx, id).await?;
    let groups = store::groups::all_groups_in_tx(&mut tx).await?;
    if let Some(other) = groups.iter().find(|g| g.depends_on.contains(&id)) {
        return Err(Error::Conflict(format!(
            "policy group {id} is a dependency of group {} ({})",
            other.id, other.name
        )));
    }
    for row in store::policies::all_policies_in_tx(&mut tx).await? {
        let policy = Policy::try_from(row)?;
        let continues =
            |action: &Action| matches!(action, Action::Continue { group_id } if *group_id == id);
        if policy.rules.iter().any(|r| continues(&r.action)) {
            return Err(Error::Conflict(format!(
                "policy group {id} is continued to by policy {} ({})",
                policy.id, policy.name
            )));
        }
    }
    store::groups::delete_group(&mut tx, id).await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&before, "delete", Some(&before), None),
    )
    .await?;
    commit_and_swap(state, tx).await?;
    Ok(())
}
