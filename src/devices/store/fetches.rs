//! SQL of what the provisioning server notes about fetches, and its look-up by provisioning
//! user name.

use super::super::model::Device;
use super::rows::{DEVICE_COLUMNS, DEVICE_FROM, DeviceRow};
use super::with_lines_all;
use crate::db::Db;
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};

/// Notes a configuration fetch. `updated_at` is left alone: it tracks configuration changes.
pub async fn record_fetch(
    db: &Db,
    id: i64,
    ip: &str,
    user_agent: Option<&str>,
    firmware: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    on_db!(db, pool => sqlx::query(
        "UPDATE devices SET last_provisioned_at = $2, last_provisioned_ip = $3, \
         last_user_agent = COALESCE($4, last_user_agent), firmware = COALESCE($5, firmware) \
         WHERE id = $1")
        .bind(id).bind(now).bind(ip).bind(user_agent).bind(firmware)
        .execute(pool).await.map(|r| r.rows_affected()))
}

/// Most devices one provisioning user name is looked up for (it is normally unique: the MAC).
const MAX_SAME_USERNAME: i64 = 8;

/// The devices whose provisioning user name is `username` (normally one), with their lines.
pub async fn by_provisioning_username(db: &Db, username: &str) -> sqlx::Result<Vec<Device>> {
    let sql = format!(
        "SELECT {DEVICE_COLUMNS}{DEVICE_FROM} WHERE d.provisioning_username = $1 \
         ORDER BY d.id LIMIT $2"
    );
    let rows: Vec<DeviceRow> = on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(username).bind(MAX_SAME_USERNAME).fetch_all(pool).await)?;
    with_lines_all(db, rows).await
}

/// One fetch to note, for [`record_fetches`].
pub struct FetchRow<'a> {
    pub id: i64,
    pub ip: &'a str,
    pub user_agent: Option<&'a str>,
    pub firmware: Option<&'a str>,
    pub at: DateTime<Utc>,
}

/// Notes many fetches in one transaction (the provisioning recorder's batches).
pub async fn record_fetches(db: &Db, rows: &[FetchRow<'_>]) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    for row in rows {
        on_tx!(&mut tx, conn => sqlx::query(
            "UPDATE devices SET last_provisioned_at = $2, last_provisioned_ip = $3, \
             last_user_agent = COALESCE($4, last_user_agent), firmware = COALESCE($5, firmware) \
             WHERE id = $1")
            .bind(row.id).bind(row.at).bind(row.ip).bind(row.user_agent).bind(row.firmware)
            .execute(conn).await.map(|r| r.rows_affected()))?;
    }
    tx.commit().await
}
