//! SQL of the policies' archive: one row per version, written with each change and kept after
//! a delete.

use crate::db::Page;
use crate::db::{Db, Tx};
use crate::dialplan::policies::model::{PolicyDescription, PolicyName};
use crate::{on_db, on_snapshot, on_tx};
use chrono::{DateTime, Utc};

/// One archived version of a policy as stored (the service parses it).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VersionRow {
    pub policy_id: i64,
    pub organization_id: i64,
    pub version: i64,
    pub name: String,
    pub description: String,
    pub rules_json: String,
    pub change_kind: String,
    pub changed_by: String,
    pub changed_at: DateTime<Utc>,
}

const VERSION_COLUMNS: &str = "policy_id, organization_id, version, name, description, \
    rules_json, change_kind, changed_by, changed_at";

/// A version to archive: the policy's content as it now is, and who changed it how.
pub struct NewVersion<'a> {
    pub policy_id: i64,
    pub organization_id: i64,
    pub version: i64,
    pub name: &'a PolicyName,
    pub description: &'a PolicyDescription,
    pub rules_json: &'a str,
    /// `create`, `update`, `restore` or `delete`.
    pub change_kind: &'a str,
    pub changed_by: &'a str,
    pub changed_at: DateTime<Utc>,
}

pub async fn insert_version(tx: &mut Tx, row: &NewVersion<'_>) -> sqlx::Result<()> {
    let sql = format!(
        "INSERT INTO dialplan_policy_versions ({VERSION_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    );
    on_tx!(tx, conn => sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(row.policy_id).bind(row.organization_id).bind(row.version).bind(row.name)
        .bind(row.description).bind(row.rules_json).bind(row.change_kind)
        .bind(row.changed_by).bind(row.changed_at)
        .execute(conn).await.map(|_| ()))?;
    Ok(())
}

/// A page of a policy's versions, newest first, and how many there are.
pub async fn versions(db: &Db, policy_id: i64, page: Page) -> sqlx::Result<(Vec<VersionRow>, i64)> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM dialplan_policy_versions WHERE policy_id = $1 \
         ORDER BY version DESC LIMIT $2 OFFSET $3"
    );
    on_snapshot!(db, conn => {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(&*sql))
            .bind(policy_id).bind(page.limit).bind(page.offset)
            .fetch_all(&mut *conn).await?;
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM dialplan_policy_versions WHERE policy_id = $1")
            .bind(policy_id).fetch_one(&mut *conn).await?;
        Ok((rows, total))
    })
}

pub async fn version(db: &Db, policy_id: i64, version: i64) -> sqlx::Result<Option<VersionRow>> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM dialplan_policy_versions \
         WHERE policy_id = $1 AND version = $2"
    );
    on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(policy_id).bind(version).fetch_optional(pool).await)
}

/// The organization path of an archived policy (also after it was deleted).
pub async fn archived_policy_path(db: &Db, policy_id: i64) -> sqlx::Result<Option<String>> {
    const SQL: &str = "SELECT o.path FROM dialplan_policy_versions v \
        JOIN organizations o ON o.id = v.organization_id \
        WHERE v.policy_id = $1 ORDER BY v.version DESC LIMIT 1";
    on_db!(db, pool => sqlx::query_scalar(SQL).bind(policy_id).fetch_optional(pool).await)
}
