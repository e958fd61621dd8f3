//! SQL of dial plan policies: the list with its filters, reads (also inside a write's
//! transaction), writes, and the hold a number's assignment takes on a policy.

use crate::db::Page;
use crate::db::{Db, Tx};
use crate::dialplan::policies::model::{PolicyDescription, PolicyName};
use crate::{on_db, on_snapshot, on_tx};
use chrono::{DateTime, Utc};

/// A policy as stored; the service parses name, description and `rules_json`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PolicyRow {
    pub id: i64,
    pub organization_id: i64,
    pub organization_path: String,
    pub name: String,
    pub description: String,
    pub rules_json: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Filters of `GET /v1/dialplans` that SQL applies (the prefix filter is applied by the
/// service on parsed rules).
#[derive(Debug, Default)]
pub struct PolicyFilter {
    pub organization_id: Option<i64>,
    /// Case-insensitive substring of the name.
    pub name: Option<String>,
    /// Case-insensitive substring of the rules' JSON or the description.
    pub q: Option<String>,
}

const POLICY_COLUMNS: &str = "p.id, p.organization_id, o.path AS organization_path, p.name, \
    p.description, p.rules_json, p.version, p.created_at, p.updated_at";
const POLICY_FROM: &str =
    " FROM dialplan_policies p JOIN organizations o ON o.id = p.organization_id";
const POLICY_WHERE: &str = " WHERE o.path LIKE $1 \
    AND (CAST($2 AS BIGINT) IS NULL OR p.organization_id = $2) \
    AND (CAST($3 AS TEXT) IS NULL OR LOWER(p.name) LIKE $3) \
    AND (CAST($4 AS TEXT) IS NULL OR LOWER(p.rules_json) LIKE $4 OR LOWER(p.description) LIKE $4)";

fn like(text: &Option<String>) -> Option<String> {
    text.as_ref().map(|t| {
        let escaped = t.to_lowercase().replace(['%', '_'], "");
        format!("%{escaped}%")
    })
}

/// A page of the policies under `scope_like` (all of them when `page` is None).
pub async fn list_policies(
    db: &Db,
    scope_like: &str,
    f: &PolicyFilter,
    page: Option<Page>,
) -> sqlx::Result<(Vec<PolicyRow>, i64)> {
    let (limit, offset) = page.map_or((i64::MAX, 0), |p| (p.limit, p.offset));
    let list_sql = format!(
        "SELECT {POLICY_COLUMNS}{POLICY_FROM}{POLICY_WHERE} ORDER BY p.id LIMIT $5 OFFSET $6"
    );
    let count_sql = format!("SELECT COUNT(*){POLICY_FROM}{POLICY_WHERE}");
    let (name, q) = (like(&f.name), like(&f.q));
    on_snapshot!(db, conn => {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(&*list_sql))
            .bind(scope_like).bind(f.organization_id).bind(&name).bind(&q)
            .bind(limit).bind(offset)
            .fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(&*count_sql))
            .bind(scope_like).bind(f.organization_id).bind(&name).bind(&q)
            .fetch_one(&mut *conn).await?;
        Ok((rows, total))
    })
}

pub async fn get_policy(db: &Db, id: i64) -> sqlx::Result<Option<PolicyRow>> {
    let sql = format!("SELECT {POLICY_COLUMNS}{POLICY_FROM} WHERE p.id = $1");
    on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)
}

pub async fn get_policy_in_tx(tx: &mut Tx, id: i64) -> sqlx::Result<Option<PolicyRow>> {
    let sql = format!("SELECT {POLICY_COLUMNS}{POLICY_FROM} WHERE p.id = $1");
    on_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await)
}

/// Every policy (what the compiler reads), inside `tx` so it sees the write being checked.
pub async fn all_policies_in_tx(tx: &mut Tx) -> sqlx::Result<Vec<PolicyRow>> {
    let sql = format!("SELECT {POLICY_COLUMNS}{POLICY_FROM} ORDER BY p.id");
    on_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(conn).await)
}

pub async fn all_policies(db: &Db) -> sqlx::Result<Vec<PolicyRow>> {
    let sql = format!("SELECT {POLICY_COLUMNS}{POLICY_FROM} ORDER BY p.id");
    on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await)
}

/// The writable columns of a policy, validated.
pub struct PolicyFields<'a> {
    pub name: &'a PolicyName,
    pub description: &'a PolicyDescription,
    pub rules_json: &'a str,
}

pub async fn insert_policy(
    tx: &mut Tx,
    organization_id: i64,
    fields: &PolicyFields<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    const SQL: &str = "INSERT INTO dialplan_policies \
        (organization_id, name, description, rules_json, version, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, 1, $5, $5) RETURNING id";
    on_tx!(tx, conn => sqlx::query_scalar(SQL)
        .bind(organization_id).bind(fields.name).bind(fields.description)
        .bind(fields.rules_json).bind(now)
        .fetch_one(conn).await)
}

pub async fn update_policy(
    tx: &mut Tx,
    id: i64,
    fields: &PolicyFields<'_>,
    version: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    const SQL: &str = "UPDATE dialplan_policies SET name = $2, description = $3, \
        rules_json = $4, version = $5, updated_at = $6 WHERE id = $1";
    on_tx!(tx, conn => sqlx::query(SQL)
        .bind(id).bind(fields.name).bind(fields.description).bind(fields.rules_json)
        .bind(version).bind(now)
        .execute(conn).await.map(|_| ()))?;
    Ok(())
}

pub async fn delete_policy(tx: &mut Tx, id: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM dialplan_policies WHERE id = $1")
        .bind(id).execute(conn).await.map(|_| ()))?;
    Ok(())
}

/// Whether policy `id` exists, held against a concurrent delete until `tx` ends.
pub async fn hold_policy(tx: &mut Tx, id: i64) -> sqlx::Result<bool> {
    let sql = format!(
        "SELECT id FROM dialplan_policies WHERE id = $1{}",
        tx.key_share()
    );
    let found: Option<i64> = on_tx!(tx, conn => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id).fetch_optional(conn).await)?;
    Ok(found.is_some())
}
