//! The SQL of retention overrides.

use super::model::{OverrideRow, RetentionOverride};
use crate::db::{Db, Page, Tx};
use crate::{on_read, on_snapshot, on_tx};
use chrono::{DateTime, Utc};

const COLUMNS: &str =
    "r.organization_id, r.kind, r.days, r.minimum_days, r.updated_by, r.updated_at";
const FROM: &str = " FROM retention_policies r JOIN organizations o ON o.id = r.organization_id";

fn convert(rows: Vec<OverrideRow>) -> sqlx::Result<Vec<RetentionOverride>> {
    rows.into_iter().map(RetentionOverride::try_from).collect()
}

/// A page of the overrides under `like`, and how many match.
pub async fn list(
    db: &Db,
    like: &str,
    organization_id: Option<i64>,
    kind: Option<&str>,
    page: Page,
) -> sqlx::Result<(Vec<RetentionOverride>, i64)> {
    const WHERE: &str = " WHERE o.path LIKE $1 \
        AND (CAST($2 AS BIGINT) IS NULL OR r.organization_id = $2) \
        AND (CAST($3 AS TEXT) IS NULL OR r.kind = $3)";
    let list_sql = format!(
        "SELECT {COLUMNS}{FROM}{WHERE} ORDER BY r.organization_id, r.kind LIMIT $4 OFFSET $5"
    );
    let count_sql = format!("SELECT COUNT(*){FROM}{WHERE}");
    let (rows, total): (Vec<OverrideRow>, i64) = on_snapshot!(db, conn => {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(&*list_sql))
            .bind(like).bind(organization_id).bind(kind).bind(page.limit).bind(page.offset)
            .fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(&*count_sql))
            .bind(like).bind(organization_id).bind(kind).fetch_one(&mut *conn).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    Ok((convert(rows)?, total))
}

/// Every override of the organizations `ids`.
pub async fn of_organizations(db: &Db, ids: &[i64]) -> sqlx::Result<Vec<RetentionOverride>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT {COLUMNS}{FROM} WHERE r.organization_id IN ({}) ORDER BY r.organization_id, r.kind",
        list.join(", ")
    );
    let rows: Vec<OverrideRow> = on_read!(db, pool => {
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(&*sql));
        for id in ids {
            query = query.bind(*id);
        }
        query.fetch_all(pool).await
    })?;
    convert(rows)
}

/// The overrides of organization `id`, inside `tx`.
pub async fn of_organization_tx(tx: &mut Tx, id: i64) -> sqlx::Result<Vec<RetentionOverride>> {
    let sql = format!("SELECT {COLUMNS}{FROM} WHERE r.organization_id = $1 ORDER BY r.kind");
    let rows: Vec<OverrideRow> = on_tx!(tx, conn =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_all(conn).await)?;
    convert(rows)
}

/// Every override of `kind` (the purge resolves each organization's retention from them).
pub async fn of_kind(db: &Db, kind: &str) -> sqlx::Result<Vec<RetentionOverride>> {
    let sql = format!("SELECT {COLUMNS}{FROM} WHERE r.kind = $1");
    let rows: Vec<OverrideRow> = on_read!(db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(&*sql)).bind(kind).fetch_all(pool).await)?;
    convert(rows)
}

/// Sets (or, with neither value, removes) the override of `kind` of `organization_id`.
pub async fn set(
    tx: &mut Tx,
    organization_id: i64,
    kind: &str,
    days: Option<u32>,
    minimum_days: Option<u32>,
    by: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let to_i32 = |v: Option<u32>| v.and_then(|d| i32::try_from(d).ok());
    on_tx!(tx, conn => sqlx::query(
        "DELETE FROM retention_policies WHERE organization_id = $1 AND kind = $2")
        .bind(organization_id).bind(kind).execute(&mut *conn).await.map(|r| r.rows_affected()))?;
    if days.is_none() && minimum_days.is_none() {
        return Ok(());
    }
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO retention_policies (organization_id, kind, days, minimum_days, updated_by, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(organization_id).bind(kind).bind(to_i32(days)).bind(to_i32(minimum_days))
        .bind(by).bind(now)
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}
