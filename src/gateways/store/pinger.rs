//! SQL the pinger reads and writes: every enabled gateway with its trunk's policy, and the
//! shared health (the pinging instance's verdicts, for the instances that do not ping).

use crate::db::Db;
use crate::on_db;
use chrono::{DateTime, Utc};

/// One enabled gateway with what the pinger needs of its trunk and organization, as stored
/// (the service parses it into a `PingTarget`).
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
pub async fn targets(db: &Db) -> sqlx::Result<Vec<PingRow>> {
    const SQL: &str = "SELECT g.id AS gateway_id, g.trunk_id, t.organization_id, \
        o.path AS organization_path, g.uri, g.ping_interval_s, g.down_ping_interval_s, \
        t.failures_to_down, t.successes_to_up, t.alive_codes \
        FROM sip_gateways g JOIN sip_trunks t ON t.id = g.trunk_id \
        JOIN organizations o ON o.id = t.organization_id \
        WHERE g.enabled ORDER BY g.id";
    on_db!(db, pool => sqlx::query_as(SQL).fetch_all(pool).await)
}

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

/// Every gateway's recorded state (as stored) and since when.
pub async fn all_health(db: &Db) -> sqlx::Result<Vec<(i64, String, DateTime<Utc>)>> {
    const SQL: &str = "SELECT gateway_id, state, since FROM gateway_health";
    on_db!(db, pool => sqlx::query_as(SQL).fetch_all(pool).await)
}
