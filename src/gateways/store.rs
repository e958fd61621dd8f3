//! SQL of trunks, gateways and trunk IPs.

use super::model::{Gateway, Trunk, TrunkIp};
use crate::db::Page;
use crate::db::{Db, Tx};
use crate::{on_db, on_snapshot, on_tx};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

const TRUNK_COLUMNS: &str = "t.id, t.organization_id, o.path AS organization_path, t.name, \
    t.direction, t.max_channels, t.alive_codes, t.failures_to_down, t.successes_to_up, \
    t.created_at, t.updated_at";
const TRUNK_FROM: &str = " FROM sip_trunks t JOIN organizations o ON o.id = t.organization_id";
const GATEWAY_COLUMNS: &str = "g.id, g.trunk_id, g.uri, g.enabled, g.ping_interval_s, \
    g.down_ping_interval_s, g.position, g.created_at, g.updated_at";
/// The same columns unqualified, for `RETURNING` (SQLite does not take a table alias there).
const GATEWAY_RETURNING: &str = "id, trunk_id, uri, enabled, ping_interval_s, \
    down_ping_interval_s, position, created_at, updated_at";
const IP_COLUMNS: &str = "id, trunk_id, cidr, description, created_at, updated_at";

/// Filters of `GET /v1/siptrunks`.
#[derive(Debug, Default)]
pub struct TrunkFilter {
    pub organization_id: Option<i64>,
    pub direction: Option<String>,
    /// Case-insensitive substring of the name.
    pub name: Option<String>,
}

/// The writable columns of a trunk, validated.
pub struct TrunkFields<'a> {
    pub name: &'a str,
    pub direction: &'a str,
    pub max_channels: i64,
    pub alive_codes: &'a str,
    pub failures_to_down: i64,
    pub successes_to_up: i64,
}

/// The writable columns of a gateway, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayFields {
    pub uri: String,
    pub enabled: bool,
    pub ping_interval_s: Option<i64>,
    pub down_ping_interval_s: Option<i64>,
    pub position: i64,
}

const LIST_WHERE: &str = " WHERE o.path LIKE $1 \
    AND (CAST($2 AS BIGINT) IS NULL OR t.organization_id = $2) \
    AND (CAST($3 AS TEXT) IS NULL OR t.direction = $3) \
    AND (CAST($4 AS TEXT) IS NULL OR LOWER(t.name) LIKE $4)";

/// A page of the trunks under `scope_like`, each with its gateways (two queries in all).
pub async fn list(
    db: &Db,
    scope_like: &str,
    f: &TrunkFilter,
    page: Page,
) -> sqlx::Result<(Vec<Trunk>, i64)> {
    let list_sql =
        format!("SELECT {TRUNK_COLUMNS}{TRUNK_FROM}{LIST_WHERE} ORDER BY t.id LIMIT $5 OFFSET $6");
    let count_sql = format!("SELECT COUNT(*){TRUNK_FROM}{LIST_WHERE}");
    let name_like = f.name.as_ref().map(|n| format!("%{}%", n.to_lowercase()));
    let (mut trunks, total): (Vec<Trunk>, i64) = on_snapshot!(db, conn => {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(list_sql))
            .bind(scope_like).bind(f.organization_id).bind(&f.direction).bind(&name_like)
            .bind(page.limit).bind(page.offset)
            .fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count_sql))
            .bind(scope_like).bind(f.organization_id).bind(&f.direction).bind(&name_like)
            .fetch_one(&mut *conn).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    let ids: Vec<i64> = trunks.iter().map(|t| t.id).collect();
    let mut by_trunk: HashMap<i64, Vec<Gateway>> = HashMap::new();
    for gateway in gateways_of(db, &ids).await? {
        by_trunk.entry(gateway.trunk_id).or_default().push(gateway);
    }
    for trunk in &mut trunks {
        trunk.gateways = by_trunk.remove(&trunk.id).unwrap_or_default();
    }
    Ok((trunks, total))
}

/// Gateways of the trunks `ids`, ordered by trunk id, then position.
async fn gateways_of(db: &Db, ids: &[i64]) -> sqlx::Result<Vec<Gateway>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT {GATEWAY_COLUMNS} FROM sip_gateways g WHERE g.trunk_id IN ({}) \
         ORDER BY g.trunk_id, g.position, g.id",
        placeholders.join(", ")
    );
    on_db!(db, pool => {
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for id in ids {
            query = query.bind(id);
        }
        query.fetch_all(pool).await
    })
}

/// The trunk `id` with its gateways.
pub async fn get(db: &Db, id: i64) -> sqlx::Result<Option<Trunk>> {
    let sql = format!("SELECT {TRUNK_COLUMNS}{TRUNK_FROM} WHERE t.id = $1");
    let trunk: Option<Trunk> = on_db!(db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?;
    let Some(mut trunk) = trunk else {
        return Ok(None);
    };
    trunk.gateways = gateways_of(db, &[id]).await?;
    Ok(Some(trunk))
}

/// Like [`get`], inside a transaction (reads what the transaction wrote).
pub async fn get_in_tx(tx: &mut Tx, id: i64) -> sqlx::Result<Option<Trunk>> {
    let sql = format!("SELECT {TRUNK_COLUMNS}{TRUNK_FROM} WHERE t.id = $1");
    let trunk: Option<Trunk> = on_tx!(tx, conn =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await)?;
    let Some(mut trunk) = trunk else {
        return Ok(None);
    };
    trunk.gateways = gateways_in_tx(tx, id).await?;
    Ok(Some(trunk))
}

/// The gateways of one trunk in position order, inside a transaction.
pub async fn gateways_in_tx(tx: &mut Tx, trunk_id: i64) -> sqlx::Result<Vec<Gateway>> {
    let sql = format!(
        "SELECT {GATEWAY_COLUMNS} FROM sip_gateways g WHERE g.trunk_id = $1 \
         ORDER BY g.position, g.id"
    );
    on_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(trunk_id).fetch_all(conn).await)
}

pub async fn insert_trunk(
    tx: &mut Tx,
    organization_id: i64,
    f: &TrunkFields<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "INSERT INTO sip_trunks (organization_id, name, direction, max_channels, alive_codes, \
         failures_to_down, successes_to_up, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id")
        .bind(organization_id).bind(f.name).bind(f.direction).bind(f.max_channels)
        .bind(f.alive_codes).bind(f.failures_to_down).bind(f.successes_to_up).bind(now)
        .fetch_one(conn).await)
}

pub async fn update_trunk(
    tx: &mut Tx,
    id: i64,
    f: &TrunkFields<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE sip_trunks SET name = $2, direction = $3, max_channels = $4, alive_codes = $5, \
         failures_to_down = $6, successes_to_up = $7, updated_at = $8 WHERE id = $1")
        .bind(id).bind(f.name).bind(f.direction).bind(f.max_channels)
        .bind(f.alive_codes).bind(f.failures_to_down).bind(f.successes_to_up).bind(now)
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Deletes a trunk; its gateways and IPs go with it (ON DELETE CASCADE).
pub async fn delete_trunk(tx: &mut Tx, id: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM sip_trunks WHERE id = $1")
        .bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn get_gateway(db: &Db, id: i64) -> sqlx::Result<Option<Gateway>> {
    let sql = format!("SELECT {GATEWAY_COLUMNS} FROM sip_gateways g WHERE g.id = $1");
    on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id).fetch_optional(pool).await)
}

/// The position after the trunk's last gateway.
pub async fn next_position(tx: &mut Tx, trunk_id: i64) -> sqlx::Result<i64> {
    let max: Option<i64> = on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT MAX(position) FROM sip_gateways WHERE trunk_id = $1")
        .bind(trunk_id).fetch_one(conn).await)?;
    Ok(max.map_or(0, |m| m + 1))
}

pub async fn insert_gateway(
    tx: &mut Tx,
    trunk_id: i64,
    f: &GatewayFields,
    now: DateTime<Utc>,
) -> sqlx::Result<Gateway> {
    let sql = format!(
        "INSERT INTO sip_gateways (trunk_id, uri, enabled, ping_interval_s, \
         down_ping_interval_s, position, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {GATEWAY_RETURNING}"
    );
    on_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(trunk_id).bind(&f.uri).bind(f.enabled).bind(f.ping_interval_s)
        .bind(f.down_ping_interval_s).bind(f.position).bind(now)
        .fetch_one(conn).await)
}

pub async fn update_gateway(
    tx: &mut Tx,
    id: i64,
    f: &GatewayFields,
    now: DateTime<Utc>,
) -> sqlx::Result<Gateway> {
    let sql = format!(
        "UPDATE sip_gateways SET uri = $2, enabled = $3, ping_interval_s = $4, \
         down_ping_interval_s = $5, position = $6, updated_at = $7 WHERE id = $1 \
         RETURNING {GATEWAY_RETURNING}"
    );
    on_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id).bind(&f.uri).bind(f.enabled).bind(f.ping_interval_s)
        .bind(f.down_ping_interval_s).bind(f.position).bind(now)
        .fetch_one(conn).await)
}

pub async fn delete_gateway(tx: &mut Tx, id: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM sip_gateways WHERE id = $1")
        .bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn ips(db: &Db, trunk_id: i64) -> sqlx::Result<Vec<TrunkIp>> {
    let sql = format!("SELECT {IP_COLUMNS} FROM sip_trunk_ips WHERE trunk_id = $1 ORDER BY id");
    on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(trunk_id).fetch_all(pool).await)
}

pub async fn ips_in_tx(tx: &mut Tx, trunk_id: i64) -> sqlx::Result<Vec<TrunkIp>> {
    let sql = format!("SELECT {IP_COLUMNS} FROM sip_trunk_ips WHERE trunk_id = $1 ORDER BY id");
    on_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(trunk_id).fetch_all(conn).await)
}

/// (trunk id, organization id, CIDR) of every trunk IP.
pub async fn all_ips(db: &Db) -> sqlx::Result<Vec<(i64, i64, String)>> {
    const SQL: &str = "SELECT i.trunk_id, t.organization_id, i.cidr \
        FROM sip_trunk_ips i JOIN sip_trunks t ON t.id = i.trunk_id ORDER BY i.id";
    on_db!(db, pool => sqlx::query_as(SQL).fetch_all(pool).await)
}

pub async fn get_ip(db: &Db, id: i64) -> sqlx::Result<Option<TrunkIp>> {
    let sql = format!("SELECT {IP_COLUMNS} FROM sip_trunk_ips WHERE id = $1");
    on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id).fetch_optional(pool).await)
}

pub async fn insert_ip(
    tx: &mut Tx,
    trunk_id: i64,
    cidr: &str,
    description: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<TrunkIp> {
    let sql = format!(
        "INSERT INTO sip_trunk_ips (trunk_id, cidr, description, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING {IP_COLUMNS}"
    );
    on_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(trunk_id).bind(cidr).bind(description).bind(now)
        .fetch_one(conn).await)
}

pub async fn delete_ip(tx: &mut Tx, id: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM sip_trunk_ips WHERE id = $1")
        .bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// One enabled gateway with what the pinger needs of its trunk and organization.
#[derive(Debug, sqlx::FromRow)]
pub struct PingRow {
    pub gateway_id: i64,
    pub trunk_id: i64,
    pub organization_id: i64,
    pub organization_path: String,
    pub uri: String,
    pub ping_interval_s: Option<i64>,
    pub down_ping_interval_s: Option<i64>,
    pub failures_to_down: i64,
    pub successes_to_up: i64,
    pub alive_codes: String,
}

/// Every enabled gateway, in one query.
pub async fn ping_rows(db: &Db) -> sqlx::Result<Vec<PingRow>> {
    const SQL: &str = "SELECT g.id AS gateway_id, g.trunk_id, t.organization_id, \
        o.path AS organization_path, g.uri, g.ping_interval_s, g.down_ping_interval_s, \
        t.failures_to_down, t.successes_to_up, t.alive_codes \
        FROM sip_gateways g JOIN sip_trunks t ON t.id = g.trunk_id \
        JOIN organizations o ON o.id = t.organization_id \
        WHERE g.enabled ORDER BY g.id";
    on_db!(db, pool => sqlx::query_as(SQL).fetch_all(pool).await)
}

/// (gateway id, uri, trunk id) of every gateway under `scope_like`.
pub async fn gateways_in_scope(db: &Db, scope_like: &str) -> sqlx::Result<Vec<(i64, String, i64)>> {
    const SQL: &str = "SELECT g.id, g.uri, g.trunk_id \
        FROM sip_gateways g JOIN sip_trunks t ON t.id = g.trunk_id \
        JOIN organizations o ON o.id = t.organization_id \
        WHERE o.path LIKE $1 ORDER BY g.trunk_id, g.position, g.id";
    on_db!(db, pool => sqlx::query_as(SQL).bind(scope_like).fetch_all(pool).await)
}

/// Whether trunk `id` exists, held against a concurrent delete until `tx` ends.
pub async fn hold_trunk(tx: &mut Tx, id: i64) -> sqlx::Result<bool> {
    let sql = format!("SELECT id FROM sip_trunks WHERE id = $1{}", tx.key_share());
    let found: Option<i64> = on_tx!(tx, conn => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id).fetch_optional(conn).await)?;
    Ok(found.is_some())
}

// ---------------------------------------------------------------------------------------------
// Shared health: the pinger's verdicts for the instances that do not ping.

/// Records gateway `id`'s state as the pinger decided it (one row per gateway, replaced).
pub async fn save_health(
    db: &Db,
    id: i64,
    state: &str,
    since: DateTime<Utc>,
    reason: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    const SQL: &str = "INSERT INTO gateway_health (gateway_id, state, since, reason, updated_at) \
        VALUES ($1, $2, $3, $4, $5) ON CONFLICT (gateway_id) DO UPDATE SET state = $2, \
        since = $3, reason = $4, updated_at = $5";
    on_db!(db, pool => sqlx::query(SQL).bind(id).bind(state).bind(since).bind(reason).bind(now)
        .execute(pool).await.map(|_| ()))
}

/// Every gateway's recorded state and since when.
pub async fn all_health(db: &Db) -> sqlx::Result<Vec<(i64, String, DateTime<Utc>)>> {
    const SQL: &str = "SELECT gateway_id, state, since FROM gateway_health";
    on_db!(db, pool => sqlx::query_as(SQL).fetch_all(pool).await)
}
