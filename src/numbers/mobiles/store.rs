//! SQL of mobile (SIM) records.

use super::model::{Mobile, MobileState};
use crate::db::Page;
use crate::db::{Db, Tx};
use crate::types::E164;
use crate::types::column::parse_stored;
use crate::types::iccid::{Iccid, Imsi};
use crate::{on_db, on_snapshot, on_tx};
use chrono::{DateTime, Utc};

const COLUMNS: &str = "m.id, m.organization_id, o.path AS organization_path, m.iccid, m.imsi, \
    m.msisdn_number_id, n.number AS msisdn, m.state, m.created_at, m.updated_at";
const FROM: &str = " FROM mobiles m JOIN organizations o ON o.id = m.organization_id \
    LEFT JOIN numbers n ON n.id = m.msisdn_number_id";

/// A `mobiles` row, with its organization's path and its MSISDN's number, as stored.
#[derive(sqlx::FromRow)]
struct MobileRow {
    id: i64,
    organization_id: i64,
    organization_path: String,
    iccid: String,
    imsi: Option<String>,
    msisdn_number_id: Option<i64>,
    msisdn: Option<String>,
    state: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<MobileRow> for Mobile {
    type Error = sqlx::Error;

    /// A stored ICCID, IMSI or state that does not parse is an error naming the mobile; an
    /// MSISDN that does not, one naming its number.
    fn try_from(row: MobileRow) -> sqlx::Result<Self> {
        const ROW: &str = "mobile";
        let imsi = match &row.imsi {
            Some(text) => Some(parse_stored(ROW, row.id, "imsi", text, Imsi::parse)?),
            None => None,
        };
        let msisdn = match (&row.msisdn, row.msisdn_number_id) {
            (Some(text), Some(number)) => Some(parse_stored(
                "number",
                number,
                "number",
                text,
                E164::canonical,
            )?),
            _ => None,
        };
        Ok(Self {
            iccid: parse_stored(ROW, row.id, "iccid", &row.iccid, Iccid::parse)?,
            state: parse_stored(ROW, row.id, "state", &row.state, MobileState::parse_stored)?,
            imsi,
            msisdn,
            id: row.id,
            organization_id: row.organization_id,
            organization_path: row.organization_path,
            msisdn_number_id: row.msisdn_number_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// Filters of `GET /v1/mobiles`.
#[derive(Debug, Default)]
pub struct MobileFilter {
    pub organization_id: Option<i64>,
    pub state: Option<String>,
    /// Exact.
    pub iccid: Option<Iccid>,
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
    let (rows, total): (Vec<MobileRow>, i64) = on_snapshot!(db, conn => {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(&*list_sql))
            .bind(scope_like).bind(f.organization_id).bind(&f.state).bind(&f.iccid)
            .bind(f.msisdn_number_id).bind(page.limit).bind(page.offset)
            .fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(&*count_sql))
            .bind(scope_like).bind(f.organization_id).bind(&f.state).bind(&f.iccid)
            .bind(f.msisdn_number_id)
            .fetch_one(&mut *conn).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    let mobiles = rows
        .into_iter()
        .map(Mobile::try_from)
        .collect::<sqlx::Result<_>>()?;
    Ok((mobiles, total))
}

pub async fn get(db: &Db, id: i64) -> sqlx::Result<Option<Mobile>> {
    let sql = format!("SELECT {COLUMNS}{FROM} WHERE m.id = $1");
    let row: Option<MobileRow> = on_db!(db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?;
    row.map(Mobile::try_from).transpose()
}

pub async fn get_in_tx(tx: &mut Tx, id: i64) -> sqlx::Result<Option<Mobile>> {
    let sql = format!("SELECT {COLUMNS}{FROM} WHERE m.id = $1");
    let row: Option<MobileRow> = on_tx!(tx, conn =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await)?;
    row.map(Mobile::try_from).transpose()
}

/// The writable columns of a mobile, validated.
pub struct MobileFields<'a> {
    pub iccid: &'a Iccid,
    pub imsi: Option<&'a Imsi>,
    pub msisdn_number_id: Option<i64>,
    pub state: MobileState,
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
        .bind(organization_id).bind(f.iccid).bind(f.imsi).bind(f.msisdn_number_id)
        .bind(f.state.as_str()).bind(now)
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
        .bind(id).bind(f.iccid).bind(f.imsi).bind(f.msisdn_number_id).bind(f.state.as_str())
        .bind(now)
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn delete(tx: &mut Tx, id: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM mobiles WHERE id = $1")
        .bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}
