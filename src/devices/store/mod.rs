//! SQL of devices, their lines and organizations' provisioning settings.

mod fetches;
mod rows;
mod settings;

pub use fetches::{FetchRow, by_provisioning_username, record_fetch, record_fetches};
pub use settings::{SettingsFields, set_settings, settings, settings_of};

use super::model::{Device, Line};
use crate::db::Page;
use crate::db::{Db, Tx};
use crate::types::Mac;
use crate::{on_db, on_snapshot, on_tx};
use chrono::{DateTime, Utc};
use rows::{DEVICE_COLUMNS, DEVICE_FROM, DeviceRow, LINE_COLUMNS, LineRow};
use std::collections::HashMap;

/// Filters of `GET /v1/devices`.
#[derive(Debug, Default)]
pub struct DeviceFilter {
    pub organization_id: Option<i64>,
    pub vendor: Option<String>,
    /// Case-insensitive, exact.
    pub model: Option<String>,
    /// Canonical MAC, exact.
    pub mac: Option<String>,
    pub status: Option<String>,
    pub user_id: Option<i64>,
}

/// The writable columns of a device, validated; passwords already encrypted.
pub struct DeviceFields<'a> {
    pub user_id: Option<i64>,
    pub mac: &'a str,
    pub vendor: &'a str,
    pub model: &'a str,
    pub variables_json: &'a str,
    pub contact: Option<&'a str>,
    pub status: &'a str,
    pub provisioning_username: &'a str,
}

/// One line to store, its password encrypted.
pub struct LineFields<'a> {
    pub username: &'a str,
    pub auth_user: &'a str,
    pub password: &'a str,
    pub display_name: &'a str,
    pub registrar: &'a str,
    pub proxy: Option<&'a str>,
    pub transport: &'a str,
}

const LIST_WHERE: &str = " WHERE o.path LIKE $1 \
    AND (CAST($2 AS BIGINT) IS NULL OR d.organization_id = $2) \
    AND (CAST($3 AS TEXT) IS NULL OR d.vendor = $3) \
    AND (CAST($4 AS TEXT) IS NULL OR LOWER(d.model) = $4) \
    AND (CAST($5 AS TEXT) IS NULL OR d.mac = $5) \
    AND (CAST($6 AS TEXT) IS NULL OR d.status = $6) \
    AND (CAST($7 AS BIGINT) IS NULL OR d.user_id = $7)";

/// A page of the devices under `scope_like`, each with its lines (two queries in all).
pub async fn list(
    db: &Db,
    scope_like: &str,
    f: &DeviceFilter,
    page: Page,
) -> sqlx::Result<(Vec<Device>, i64)> {
    let list_sql = format!(
        "SELECT {DEVICE_COLUMNS}{DEVICE_FROM}{LIST_WHERE} ORDER BY d.id LIMIT $8 OFFSET $9"
    );
    let count_sql = format!("SELECT COUNT(*){DEVICE_FROM}{LIST_WHERE}");
    let model = f.model.as_ref().map(|m| m.to_lowercase());
    let (rows, total): (Vec<DeviceRow>, i64) = on_snapshot!(db, conn => {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(&*list_sql))
            .bind(scope_like).bind(f.organization_id).bind(&f.vendor).bind(&model)
            .bind(&f.mac).bind(&f.status).bind(f.user_id)
            .bind(page.limit).bind(page.offset)
            .fetch_all(&mut *conn).await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(&*count_sql))
            .bind(scope_like).bind(f.organization_id).bind(&f.vendor).bind(&model)
            .bind(&f.mac).bind(&f.status).bind(f.user_id)
            .fetch_one(&mut *conn).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    Ok((with_lines_all(db, rows).await?, total))
}

/// Lines of the devices `ids`, ordered by device, then position.
async fn lines_of(db: &Db, ids: &[i64]) -> sqlx::Result<Vec<LineRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT {LINE_COLUMNS} FROM device_lines WHERE device_id IN ({}) \
         ORDER BY device_id, position",
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

/// `rows` as devices, each with its lines (one query for all of them).
async fn with_lines_all(db: &Db, rows: Vec<DeviceRow>) -> sqlx::Result<Vec<Device>> {
    let mut devices: Vec<Device> = rows
        .into_iter()
        .map(Device::try_from)
        .collect::<sqlx::Result<_>>()?;
    let ids: Vec<i64> = devices.iter().map(|d| d.id).collect();
    let mut by_device: HashMap<i64, Vec<Line>> = HashMap::new();
    for row in lines_of(db, &ids).await? {
        by_device
            .entry(row.device_id)
            .or_default()
            .push(Line::try_from(row)?);
    }
    for device in &mut devices {
        device.lines = by_device.remove(&device.id).unwrap_or_default();
    }
    Ok(devices)
}

async fn with_lines(db: &Db, row: Option<DeviceRow>) -> sqlx::Result<Option<Device>> {
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(with_lines_all(db, vec![row]).await?.pop())
}

/// The device `id` with its lines.
pub async fn get(db: &Db, id: i64) -> sqlx::Result<Option<Device>> {
    let sql = format!("SELECT {DEVICE_COLUMNS}{DEVICE_FROM} WHERE d.id = $1");
    let row: Option<DeviceRow> = on_db!(db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?;
    with_lines(db, row).await
}

/// The device with the canonical MAC `mac`, with its lines.
pub async fn by_mac(db: &Db, mac: &Mac) -> sqlx::Result<Option<Device>> {
    let sql = format!("SELECT {DEVICE_COLUMNS}{DEVICE_FROM} WHERE d.mac = $1");
    let row: Option<DeviceRow> = on_db!(db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(mac).fetch_optional(pool).await)?;
    with_lines(db, row).await
}

/// Like [`get`], inside a transaction (reads what the transaction wrote).
pub async fn get_in_tx(tx: &mut Tx, id: i64) -> sqlx::Result<Option<Device>> {
    let sql = format!("SELECT {DEVICE_COLUMNS}{DEVICE_FROM} WHERE d.id = $1");
    let row: Option<DeviceRow> = on_tx!(tx, conn =>
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mut device = Device::try_from(row)?;
    let sql =
        format!("SELECT {LINE_COLUMNS} FROM device_lines WHERE device_id = $1 ORDER BY position");
    let lines: Vec<LineRow> = on_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id).fetch_all(conn).await)?;
    device.lines = lines
        .into_iter()
        .map(Line::try_from)
        .collect::<sqlx::Result<_>>()?;
    Ok(Some(device))
}

/// Which of the canonical MACs `macs` are already registered.
pub async fn existing_macs(db: &Db, macs: &[Mac]) -> sqlx::Result<Vec<Mac>> {
    if macs.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=macs.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT mac FROM devices WHERE mac IN ({})",
        placeholders.join(", ")
    );
    on_db!(db, pool => {
        let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
        for mac in macs {
            query = query.bind(mac);
        }
        query.fetch_all(pool).await
    })
}

pub async fn insert_device(
    tx: &mut Tx,
    organization_id: i64,
    f: &DeviceFields<'_>,
    provisioning_password: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "INSERT INTO devices (organization_id, user_id, mac, vendor, model, variables_json, \
         contact, status, provisioning_username, provisioning_password, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id")
        .bind(organization_id).bind(f.user_id).bind(f.mac).bind(f.vendor).bind(f.model)
        .bind(f.variables_json).bind(f.contact).bind(f.status).bind(f.provisioning_username)
        .bind(provisioning_password).bind(now)
        .fetch_one(conn).await)
}

pub async fn update_device(
    tx: &mut Tx,
    id: i64,
    f: &DeviceFields<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE devices SET user_id = $2, mac = $3, vendor = $4, model = $5, variables_json = $6, \
         contact = $7, status = $8, provisioning_username = $9, updated_at = $10 WHERE id = $1")
        .bind(id).bind(f.user_id).bind(f.mac).bind(f.vendor).bind(f.model)
        .bind(f.variables_json).bind(f.contact).bind(f.status).bind(f.provisioning_username)
        .bind(now)
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Makes `lines` (in order, positions from 0) the device's whole line list.
pub async fn replace_lines(
    tx: &mut Tx,
    device_id: i64,
    lines: &[LineFields<'_>],
) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM device_lines WHERE device_id = $1")
        .bind(device_id).execute(conn).await.map(|r| r.rows_affected()))?;
    for (position, line) in lines.iter().enumerate() {
        on_tx!(tx, conn => sqlx::query(
            "INSERT INTO device_lines (device_id, position, username, auth_user, password, \
             display_name, registrar, proxy, transport) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(device_id).bind(position as i64).bind(line.username).bind(line.auth_user)
            .bind(line.password).bind(line.display_name).bind(line.registrar).bind(line.proxy)
            .bind(line.transport)
            .execute(conn).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Deletes a device; its lines go with it (ON DELETE CASCADE).
pub async fn delete_device(tx: &mut Tx, id: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM devices WHERE id = $1")
        .bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Stores a new current provisioning password and the previous one with its end of validity.
pub async fn set_provisioning_password(
    tx: &mut Tx,
    id: i64,
    current: &str,
    previous: Option<&str>,
    previous_valid_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE devices SET provisioning_password = $2, previous_provisioning_password = $3, \
         previous_password_valid_until = $4, updated_at = $5 WHERE id = $1")
        .bind(id).bind(current).bind(previous).bind(previous_valid_until).bind(now)
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Whether device `id` exists, held against a concurrent delete until `tx` ends.
pub async fn hold_device(tx: &mut Tx, id: i64) -> sqlx::Result<bool> {
    let sql = format!("SELECT id FROM devices WHERE id = $1{}", tx.key_share());
    let found: Option<i64> = on_tx!(tx, conn => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id).fetch_optional(conn).await)?;
    Ok(found.is_some())
}

/// Whether device `id` has a line at `position`, held against a concurrent delete of the device
/// or a rewrite of its lines until `tx` ends.
pub async fn hold_line(tx: &mut Tx, id: i64, position: i64) -> sqlx::Result<bool> {
    let sql = format!(
        "SELECT device_id FROM device_lines WHERE device_id = $1 AND position = $2{}",
        tx.key_share()
    );
    let found: Option<i64> = on_tx!(tx, conn => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id).bind(position).fetch_optional(conn).await)?;
    Ok(found.is_some())
}
