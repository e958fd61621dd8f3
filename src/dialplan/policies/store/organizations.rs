//! What the compiled plan reads of the organization tree.

use crate::db::{Db, Tx};
use crate::{on_db, on_tx};

/// What the compiler needs of an organization.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OrgRow {
    pub id: i64,
    pub parent_id: Option<i64>,
    #[sqlx(rename = "type")]
    pub org_type: String,
    pub path: String,
    pub timezone: String,
    pub country: String,
    /// `active` or `suspended` (of this organization alone).
    pub status: String,
}

const ORG_COLUMNS: &str = "id, parent_id, type, path, timezone, country, status";

/// Every organization, for the compiled plan's view of the tree.
pub async fn all_orgs(db: &Db) -> sqlx::Result<Vec<OrgRow>> {
    let sql = format!("SELECT {ORG_COLUMNS} FROM organizations ORDER BY id");
    on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await)
}

pub async fn all_orgs_in_tx(tx: &mut Tx) -> sqlx::Result<Vec<OrgRow>> {
    let sql = format!("SELECT {ORG_COLUMNS} FROM organizations ORDER BY id");
    on_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(conn).await)
}
