//! SQL of mobile (SIM) records.

use super::model::Mobile;
use crate::db::Page;
use crate::db::{Db, Tx};
use crate::{on_db, on_snapshot, on_tx};
use chrono::{DateTime, Utc};

const COLUMNS: &str = "m.id, m.organization_id, o.path AS organization_path, m.iccid, m.imsi, \
    m.msisdn_number_id, n.number AS msisdn, m.state, m.created_at, m.updated_at";
const FROM: &str = " FROM mobiles m JOIN organizations o ON o.id = m.organization_id \
    LEFT JOIN numbers n ON n.id = m.msisdn_number_id";

/// Filters of `GET /v1/mobiles`.
#[derive(Debug, Default)]
pub struct MobileFilter {
    pub organization_id: Option<i64>,
    pub state: Option<String>,
    /// Canonical digits, exact.
    pub iccid: Option<String>,
    pub msisdn_number_id: Option<i64>,
}

const WHERE: &str = " WHERE o.path LIKE $1 \
    AND (CAST($2 AS BIGINT) IS NULL OR m.organization_id = $2) \
    AND (CAST($3 AS TEXT) IS NULL OR m.state = $3) \
    AND (CAST($4 AS TEXT) IS NULL OR m.iccid = $4) \
    AND (CAST($5 AS BIGINT) IS NULL OR m.msisdn_number_id = $5)";

pub async fn list(
    db: &Db,
    scope_like: &str,
    f: &MobileFilter,
    page: Page,
) -> sqlx::Result<(Vec<Mobile>, i64)> {
    let list_sql = format!("SELECT {COLUMNS}{FROM}{WHERE} ORDER BY m.id LIMIT $6 OFFSET $7");
    let count_sql = format!("SELECT COUNT(*){FROM}{WHERE}");
    on_snapshot!(db, conn => {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(list_sql))
            .bind(scope_like).bind(f.organization_id).bind(&f.state).bind(&f.iccid)
            .bind(f.msisdn_number_id).bind(page.limit).bind(page.offset)
            .fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count_sql))
            .bind(scope_like).bind(f.organization_id).bind(&f.state).bind(&f.iccid)
            .bind(f.msisdn_number_id)
            .fetch_one(&mut *conn).await?;
        Ok((rows, total))
    })
}

pub async fn get(db: &Db, id: i64) -> sqlx::Result<Option<Mobile>> {
    let sql = format!("SELECT {COLUMNS}{FROM} WHERE m.id = $1");
    on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)
}

pub async fn get_in_tx(tx: &mut Tx, id: i64) -> sqlx::Result<Option<Mobile>> {
    let sql = format!("SELECT {COLUMNS}{FROM} WHERE m.id = $1");
    on_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await)
}

/// The writable columns of a mobile, validated.
pub struct MobileFields<'a> {
    pub iccid: &'a str,
    pub imsi: Option<&'a str>,
    pub msisdn_number_id: Option<i64>,
    pub state: &'a str,
}

pub async fn insert(
    tx: &mut Tx,
    organization_id: i64,
    f: &MobileFields<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "INSERT INTO mobiles (organization_id, iccid, imsi, msisdn_number_id, state, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id")
        .bind(organization_id).bind(f.iccid).bind(f.imsi).bind(f.msisdn_number_id).bind(f.state)
        .bind(now)
        .fetch_one(conn).await)
}

pub async fn update(
    tx: &mut Tx,
    id: i64,
    f: &MobileFields<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE mobiles SET iccid = $2, imsi = $3, msisdn_number_id = $4, state = $5, \
         updated_at = $6 WHERE id = $1")
        .bind(id).bind(f.iccid).bind(f.imsi).bind(f.msisdn_number_id).bind(f.state).bind(now)
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn delete(tx: &mut Tx, id: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM mobiles WHERE id = $1")
        .bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}
