//! A policy and an archived version as the API shows them, read from their stored rows: a stored
//! name, description or rule list that no longer parses is an error naming the row, never a
//! default.

use super::store::policies::PolicyRow;
use super::store::versions::VersionRow;
use crate::dialplan::engine::model::Rule;
use crate::error::{Error, Result};
use crate::types::column::parse_stored;
use crate::types::{Description, Name};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// The name of a policy or a policy group.
pub type PolicyName = Name<100>;
/// The description of a policy or a policy group (line breaks allowed).
pub type PolicyDescription = Description<1000, true>;

/// What a policy is called in messages: `dial plan policy not found`, a corrupt row's
/// `dial plan policy 7`.
pub(super) const POLICY: &str = "dial plan policy";

/// A policy as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Policy {
    pub id: i64,
    pub organization_id: i64,
    #[serde(skip)]
    pub organization_path: String,
    pub name: PolicyName,
    pub description: PolicyDescription,
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
    pub name: PolicyName,
    pub description: PolicyDescription,
    pub rules: Vec<Rule>,
    /// `create`, `update`, `restore` or `delete`.
    pub change: String,
    /// The user (or system job) that made the change.
    pub changed_by: String,
    pub changed_at: DateTime<Utc>,
}

/// The stored rules of row `id` of `table`.
pub(super) fn stored_rules(table: &str, id: i64, json: &str) -> sqlx::Result<Vec<Rule>> {
    parse_stored(table, id, "rules_json", json, |text| {
        serde_json::from_str::<Vec<Rule>>(text)
    })
}

/// The rules as stored.
pub(super) fn rules_json(rules: &[Rule]) -> Result<String> {
    serde_json::to_string(rules).map_err(|e| Error::Internal(format!("rules to JSON: {e}")))
}

impl TryFrom<PolicyRow> for Policy {
    type Error = sqlx::Error;

    fn try_from(row: PolicyRow) -> sqlx::Result<Self> {
        let (table, id) = (POLICY, row.id);
        Ok(Self {
            name: parse_stored(table, id, "name", &row.name, PolicyName::parse)?,
            description: parse_stored(
                table,
                id,
                "description",
                &row.description,
                PolicyDescription::parse,
            )?,
            rules: stored_rules(table, id, &row.rules_json)?,
            id,
            organization_id: row.organization_id,
            organization_path: row.organization_path,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

impl TryFrom<VersionRow> for PolicyVersion {
    type Error = sqlx::Error;

    fn try_from(row: VersionRow) -> sqlx::Result<Self> {
        let table = format!("{POLICY} {} version", row.policy_id);
        let (table, id) = (table.as_str(), row.version);
        Ok(Self {
            name: parse_stored(table, id, "name", &row.name, PolicyName::parse)?,
            description: parse_stored(
                table,
                id,
                "description",
                &row.description,
                PolicyDescription::parse,
            )?,
            rules: stored_rules(table, id, &row.rules_json)?,
            policy_id: row.policy_id,
            version: row.version,
            change: row.change_kind,
            changed_by: row.changed_by,
            changed_at: row.changed_at,
        })
    }
}

impl crate::system::audit::Audited for Policy {
    const ENTITY_TYPE: &'static str = "dialplan_policy";
    fn audit_id(&self) -> i64 {
        self.id
    }
    fn audit_owner(&self) -> (i64, &str) {
        (self.organization_id, &self.organization_path)
    }
}
