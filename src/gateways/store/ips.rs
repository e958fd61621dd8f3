//! SQL of a trunk's allowed source IPs.

use crate::db::{Db, Tx};
use crate::gateways::model::{IpDescription, TRUNK_IP, TrunkIp};
use crate::types::Cidr;
use crate::types::column::parse_stored;
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};

const COLUMNS: &str = "id, trunk_id, cidr, description, created_at, updated_at";

/// A trunk IP as stored, before its values are parsed.
#[derive(sqlx::FromRow)]
struct IpRow {
    id: i64,
    trunk_id: i64,
    cidr: String,
    description: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<IpRow> for TrunkIp {
    type Error = sqlx::Error;

    fn try_from(row: IpRow) -> sqlx::Result<Self> {
        Ok(Self {
            id: row.id,
            trunk_id: row.trunk_id,
            cidr: parse_stored(TRUNK_IP, row.id, "cidr", &row.cidr, Cidr::parse)?,
            description: parse_stored(
                TRUNK_IP,
                row.id,
                "description",
                &row.description,
                IpDescription::parse,
            )?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

fn parsed(rows: Vec<IpRow>) -> sqlx::Result<Vec<TrunkIp>> {
    rows.into_iter().map(TrunkIp::try_from).collect()
}

pub async fn of_trunk(db: &Db, trunk_id: i64) -> sqlx::Result<Vec<TrunkIp>> {
    let sql = format!("SELECT {COLUMNS} FROM sip_trunk_ips WHERE trunk_id = $1 ORDER BY id");
    let rows: Vec<IpRow> = on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(trunk_id).fetch_all(pool).await)?;
    parsed(rows)
}

pub async fn of_trunk_in_tx(tx: &mut Tx, trunk_id: i64) -> sqlx::Result<Vec<TrunkIp>> {
    let sql = format!("SELECT {COLUMNS} FROM sip_trunk_ips WHERE trunk_id = $1 ORDER BY id");
    let rows: Vec<IpRow> = on_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(trunk_id).fetch_all(conn).await)?;
    parsed(rows)
}

/// (trunk id, organization id, CIDR text) of every trunk IP: the redirect listener's source
/// table parses (and counts) them itself.
pub async fn all(db: &Db) -> sqlx::Result<Vec<(i64, i64, String)>> {
    const SQL: &str = "SELECT i.trunk_id, t.organization_id, i.cidr \
        FROM sip_trunk_ips i JOIN sip_trunks t ON t.id = i.trunk_id ORDER BY i.id";
    on_db!(db, pool => sqlx::query_as(SQL).fetch_all(pool).await)
}

pub async fn get(db: &Db, id: i64) -> sqlx::Result<Option<TrunkIp>> {
    let sql = format!("SELECT {COLUMNS} FROM sip_trunk_ips WHERE id = $1");
    let row: Option<IpRow> = on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id).fetch_optional(pool).await)?;
    row.map(TrunkIp::try_from).transpose()
}

pub async fn insert(
    tx: &mut Tx,
    trunk_id: i64,
    cidr: &Cidr,
    description: &IpDescription,
    now: DateTime<Utc>,
) -> sqlx::Result<TrunkIp> {
    let sql = format!(
        "INSERT INTO sip_trunk_ips (trunk_id, cidr, description, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING {COLUMNS}"
    );
    let row: IpRow = on_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(trunk_id).bind(cidr).bind(description).bind(now)
        .fetch_one(conn).await)?;
    TrunkIp::try_from(row)
}

pub async fn delete(tx: &mut Tx, id: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM sip_trunk_ips WHERE id = $1")
        .bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}
