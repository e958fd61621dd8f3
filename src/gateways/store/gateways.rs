//! SQL of a trunk's gateways.

use crate::db::{Db, Tx};
use crate::gateways::model::{GATEWAY, Gateway};
use crate::types::SipUri;
use crate::types::column::parse_stored;
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};

const COLUMNS: &str = "g.id, g.trunk_id, g.uri, g.enabled, g.ping_interval_s, \
    g.down_ping_interval_s, g.position, g.created_at, g.updated_at";
/// The same columns unqualified, for `RETURNING` (SQLite does not take a table alias there).
const RETURNING: &str = "id, trunk_id, uri, enabled, ping_interval_s, \
    down_ping_interval_s, position, created_at, updated_at";

/// A gateway as stored, before its URI is parsed.
#[derive(sqlx::FromRow)]
struct GatewayRow {
    id: i64,
    trunk_id: i64,
    uri: String,
    enabled: bool,
    ping_interval_s: Option<i64>,
    down_ping_interval_s: Option<i64>,
    position: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<GatewayRow> for Gateway {
    type Error = sqlx::Error;

    fn try_from(row: GatewayRow) -> sqlx::Result<Self> {
        Ok(Self {
            id: row.id,
            trunk_id: row.trunk_id,
            uri: parse_stored(GATEWAY, row.id, "uri", &row.uri, SipUri::parse)?,
            enabled: row.enabled,
            ping_interval_s: row.ping_interval_s,
            down_ping_interval_s: row.down_ping_interval_s,
            position: row.position,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

fn parsed(rows: Vec<GatewayRow>) -> sqlx::Result<Vec<Gateway>> {
    rows.into_iter().map(Gateway::try_from).collect()
}

/// The writable columns of a gateway, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayFields {
    pub uri: SipUri,
    pub enabled: bool,
    pub ping_interval_s: Option<i64>,
    pub down_ping_interval_s: Option<i64>,
    pub position: i64,
}

/// Gateways of the trunks `ids`, ordered by trunk id, then position.
pub async fn of_trunks(db: &Db, ids: &[i64]) -> sqlx::Result<Vec<Gateway>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT {COLUMNS} FROM sip_gateways g WHERE g.trunk_id IN ({}) \
         ORDER BY g.trunk_id, g.position, g.id",
        placeholders.join(", ")
    );
    let rows: Vec<GatewayRow> = on_db!(db, pool => {
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for id in ids {
            query = query.bind(id);
        }
        query.fetch_all(pool).await
    })?;
    parsed(rows)
}

/// The gateways of one trunk in position order, inside a transaction.
pub async fn of_trunk_in_tx(tx: &mut Tx, trunk_id: i64) -> sqlx::Result<Vec<Gateway>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM sip_gateways g WHERE g.trunk_id = $1 ORDER BY g.position, g.id"
    );
    let rows: Vec<GatewayRow> = on_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(trunk_id).fetch_all(conn).await)?;
    parsed(rows)
}

pub async fn get(db: &Db, id: i64) -> sqlx::Result<Option<Gateway>> {
    let sql = format!("SELECT {COLUMNS} FROM sip_gateways g WHERE g.id = $1");
    let row: Option<GatewayRow> = on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id).fetch_optional(pool).await)?;
    row.map(Gateway::try_from).transpose()
}

/// The position after the trunk's last gateway.
pub async fn next_position(tx: &mut Tx, trunk_id: i64) -> sqlx::Result<i64> {
    let max: Option<i64> = on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT MAX(position) FROM sip_gateways WHERE trunk_id = $1")
        .bind(trunk_id).fetch_one(conn).await)?;
    Ok(max.map_or(0, |m| m + 1))
}

pub async fn insert(
    tx: &mut Tx,
    trunk_id: i64,
    f: &GatewayFields,
    now: DateTime<Utc>,
) -> sqlx::Result<Gateway> {
    let sql = format!(
        "INSERT INTO sip_gateways (trunk_id, uri, enabled, ping_interval_s, \
         down_ping_interval_s, position, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {RETURNING}"
    );
    let row: GatewayRow = on_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(trunk_id).bind(&f.uri).bind(f.enabled).bind(f.ping_interval_s)
        .bind(f.down_ping_interval_s).bind(f.position).bind(now)
        .fetch_one(conn).await)?;
    Gateway::try_from(row)
}

pub async fn update(
    tx: &mut Tx,
    id: i64,
    f: &GatewayFields,
    now: DateTime<Utc>,
) -> sqlx::Result<Gateway> {
    let sql = format!(
        "UPDATE sip_gateways SET uri = $2, enabled = $3, ping_interval_s = $4, \
         down_ping_interval_s = $5, position = $6, updated_at = $7 WHERE id = $1 \
         RETURNING {RETURNING}"
    );
    let row: GatewayRow = on_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id).bind(&f.uri).bind(f.enabled).bind(f.ping_interval_s)
        .bind(f.down_ping_interval_s).bind(f.position).bind(now)
        .fetch_one(conn).await)?;
    Gateway::try_from(row)
}

pub async fn delete(tx: &mut Tx, id: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM sip_gateways WHERE id = $1")
        .bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// (gateway id, uri, trunk id) of every gateway under `scope_like`.
pub async fn in_scope(db: &Db, scope_like: &str) -> sqlx::Result<Vec<(i64, SipUri, i64)>> {
    const SQL: &str = "SELECT g.id, g.uri, g.trunk_id \
        FROM sip_gateways g JOIN sip_trunks t ON t.id = g.trunk_id \
        JOIN organizations o ON o.id = t.organization_id \
        WHERE o.path LIKE $1 ORDER BY g.trunk_id, g.position, g.id";
    let rows: Vec<(i64, String, i64)> =
        on_db!(db, pool => sqlx::query_as(SQL).bind(scope_like).fetch_all(pool).await)?;
    rows.into_iter()
        .map(|(id, uri, trunk_id)| -> sqlx::Result<_> {
            Ok((
                id,
                parse_stored(GATEWAY, id, "uri", &uri, SipUri::parse)?,
                trunk_id,
            ))
        })
        .collect()
}
