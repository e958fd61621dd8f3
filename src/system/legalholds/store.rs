//! The SQL of legal holds.

use super::model::{HoldRow, LegalHold};
use crate::db::{Db, Page, Tx};
use crate::{on_read, on_snapshot, on_tx};
use chrono::{DateTime, Utc};

const COLUMNS: &str = "h.id, h.organization_id, o.path AS organization_path, h.kinds, \
    h.from_time, h.until_time, h.reason, h.placed_by, h.placed_at, h.released_by, h.released_at";
const FROM: &str = " FROM legal_holds h JOIN organizations o ON o.id = h.organization_id";

fn convert(rows: Vec<HoldRow>) -> sqlx::Result<Vec<LegalHold>> {
    rows.into_iter().map(LegalHold::try_from).collect()
}

pub async fn list(
    db: &Db,
    like: &str,
    organization_id: Option<i64>,
    active: Option<bool>,
    page: Page,
) -> sqlx::Result<(Vec<LegalHold>, i64)> {
    const WHERE: &str = " WHERE o.path LIKE $1 \
        AND (CAST($2 AS BIGINT) IS NULL OR h.organization_id = $2) \
        AND (CAST($3 AS BOOLEAN) IS NULL OR (h.released_at IS NULL) = $3)";
    let list_sql = format!("SELECT {COLUMNS}{FROM}{WHERE} ORDER BY h.id DESC LIMIT $4 OFFSET $5");
    let count_sql = format!("SELECT COUNT(*){FROM}{WHERE}");
    let (rows, total): (Vec<HoldRow>, i64) = on_snapshot!(db, conn => {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(&*list_sql))
            .bind(like).bind(organization_id).bind(active).bind(page.limit).bind(page.offset)
            .fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(&*count_sql))
            .bind(like).bind(organization_id).bind(active).fetch_one(&mut *conn).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    Ok((convert(rows)?, total))
}

pub async fn fetch(db: &Db, id: i64) -> sqlx::Result<Option<LegalHold>> {
    let sql = format!("SELECT {COLUMNS}{FROM} WHERE h.id = $1");
    let row: Option<HoldRow> = on_read!(db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(&*sql)).bind(id).fetch_optional(pool).await)?;
    row.map(LegalHold::try_from).transpose()
}

pub async fn fetch_tx(tx: &mut Tx, id: i64) -> sqlx::Result<Option<LegalHold>> {
    let sql = format!("SELECT {COLUMNS}{FROM} WHERE h.id = $1");
    let row: Option<HoldRow> = on_tx!(tx, conn =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await)?;
    row.map(LegalHold::try_from).transpose()
}

/// The active holds placed on `path` or on one of its parents (those that hold its data).
pub async fn active_over(db: &Db, path: &str) -> sqlx::Result<Vec<LegalHold>> {
    let sql = format!(
        "SELECT {COLUMNS}{FROM} WHERE h.released_at IS NULL AND $1 LIKE o.path || '%' \
         ORDER BY h.id"
    );
    let rows: Vec<HoldRow> = on_read!(db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(&*sql)).bind(path).fetch_all(pool).await)?;
    convert(rows)
}

/// Every active hold (the purge honours each on its subtree).
pub async fn active_all(db: &Db) -> sqlx::Result<Vec<LegalHold>> {
    let sql = format!("SELECT {COLUMNS}{FROM} WHERE h.released_at IS NULL ORDER BY h.id");
    let rows: Vec<HoldRow> = on_read!(db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(&*sql)).fetch_all(pool).await)?;
    convert(rows)
}

pub struct NewRow<'a> {
    pub organization_id: i64,
    pub kinds: &'a str,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub reason: &'a str,
    pub placed_by: &'a str,
}

pub async fn insert(tx: &mut Tx, row: &NewRow<'_>, now: DateTime<Utc>) -> sqlx::Result<i64> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "INSERT INTO legal_holds (organization_id, kinds, from_time, until_time, reason, \
         placed_by, placed_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id")
        .bind(row.organization_id).bind(row.kinds).bind(row.from).bind(row.until)
        .bind(row.reason).bind(row.placed_by).bind(now)
        .fetch_one(conn).await)
}

/// Releases hold `id` if it is active; false if it was not.
pub async fn release(tx: &mut Tx, id: i64, by: &str, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let done = on_tx!(tx, conn => sqlx::query(
        "UPDATE legal_holds SET released_by = $2, released_at = $3 \
         WHERE id = $1 AND released_at IS NULL")
        .bind(id).bind(by).bind(now)
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}
