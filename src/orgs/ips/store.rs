//! The SQL of organization IPs.

use super::{OrgIp, OrgIpDescription};
use crate::db::{Db, Page, Tx};
use crate::types::Cidr;
use crate::types::column::parse_stored;
use crate::{on_db, on_snapshot, on_tx};
use chrono::{DateTime, Utc};

/// How a corrupt row is named.
const ROW: &str = "org IP";

const COLUMNS: &str = "i.id, i.organization_id, i.cidr, i.description, i.created_at, i.updated_at";
const RETURNING: &str = "RETURNING id, organization_id, cidr, description, created_at, updated_at";

/// An `organization_ips` row as stored.
#[derive(sqlx::FromRow)]
struct OrgIpRow {
    id: i64,
    organization_id: i64,
    cidr: String,
    description: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<OrgIpRow> for OrgIp {
    type Error = sqlx::Error;

    /// A stored network or description that does not parse is an error naming the row.
    fn try_from(row: OrgIpRow) -> sqlx::Result<Self> {
        Ok(Self {
            cidr: parse_stored(ROW, row.id, "cidr", &row.cidr, Cidr::parse)?,
            description: parse_stored(
                ROW,
                row.id,
                "description",
                &row.description,
                OrgIpDescription::parse,
            )?,
            id: row.id,
            organization_id: row.organization_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A page of the org IPs under `like` (a path prefix pattern), optionally of one organization,
/// and how many there are.
pub async fn list(
    db: &Db,
    like: &str,
    organization_id: Option<i64>,
    page: Page,
) -> sqlx::Result<(Vec<OrgIp>, i64)> {
    const FROM: &str = " FROM organization_ips i JOIN organizations o ON o.id = i.organization_id \
        WHERE o.path LIKE $1 AND (CAST($2 AS BIGINT) IS NULL OR i.organization_id = $2)";
    let list_sql = format!("SELECT {COLUMNS}{FROM} ORDER BY i.id LIMIT $3 OFFSET $4");
    let count_sql = format!("SELECT COUNT(*){FROM}");
    let (rows, total): (Vec<OrgIpRow>, i64) = on_snapshot!(db, conn => {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(&*list_sql))
            .bind(like).bind(organization_id).bind(page.limit).bind(page.offset)
            .fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(&*count_sql))
            .bind(like).bind(organization_id).fetch_one(&mut *conn).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    let ips = rows
        .into_iter()
        .map(OrgIp::try_from)
        .collect::<sqlx::Result<_>>()?;
    Ok((ips, total))
}

pub async fn fetch(db: &Db, id: i64) -> sqlx::Result<Option<OrgIp>> {
    let sql = format!("SELECT {COLUMNS} FROM organization_ips i WHERE i.id = $1");
    let row: Option<OrgIpRow> = on_db!(db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?;
    row.map(OrgIp::try_from).transpose()
}

pub async fn insert(
    tx: &mut Tx,
    organization_id: i64,
    cidr: Cidr,
    description: &OrgIpDescription,
    now: DateTime<Utc>,
) -> sqlx::Result<OrgIp> {
    let sql = format!(
        "INSERT INTO organization_ips (organization_id, cidr, description, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) {RETURNING}"
    );
    let row: OrgIpRow = on_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(organization_id).bind(cidr).bind(description).bind(now).fetch_one(conn).await)?;
    OrgIp::try_from(row)
}

pub async fn update(
    tx: &mut Tx,
    id: i64,
    cidr: Cidr,
    description: &OrgIpDescription,
    now: DateTime<Utc>,
) -> sqlx::Result<OrgIp> {
    let sql = format!(
        "UPDATE organization_ips SET cidr = $2, description = $3, updated_at = $4 WHERE id = $1 \
         {RETURNING}"
    );
    let row: OrgIpRow = on_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id).bind(cidr).bind(description).bind(now).fetch_one(conn).await)?;
    OrgIp::try_from(row)
}

pub async fn delete(tx: &mut Tx, id: i64) -> sqlx::Result<u64> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM organization_ips WHERE id = $1")
        .bind(id).execute(conn).await.map(|r| r.rows_affected()))
}

/// (organization id, CIDR) of every org IP, unscoped.
pub async fn all_networks(db: &Db) -> sqlx::Result<Vec<(i64, String)>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT organization_id, cidr FROM organization_ips ORDER BY id")
        .fetch_all(pool).await)
}

/// The CIDRs of one organization (a corrupt one is an error naming its row).
pub async fn cidrs(db: &Db, organization_id: i64) -> sqlx::Result<Vec<Cidr>> {
    Ok(cidrs_by_id(db, organization_id)
        .await?
        .into_iter()
        .map(|(_, cidr)| cidr)
        .collect())
}

/// (row id, CIDR) of one organization's IPs.
pub async fn cidrs_by_id(db: &Db, organization_id: i64) -> sqlx::Result<Vec<(i64, Cidr)>> {
    let rows: Vec<(i64, String)> = on_db!(db, pool => sqlx::query_as(
        "SELECT id, cidr FROM organization_ips WHERE organization_id = $1")
        .bind(organization_id).fetch_all(pool).await)?;
    rows.iter()
        .map(|(id, cidr)| Ok((*id, parse_stored(ROW, *id, "cidr", cidr, Cidr::parse)?)))
        .collect()
}
