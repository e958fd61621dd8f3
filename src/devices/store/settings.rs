//! SQL of organizations' provisioning settings.

use super::super::model::ProvisioningSettings;
use super::rows::{SETTINGS_COLUMNS, SettingsRow};
use crate::db::{Db, Tx};
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};

/// The writable columns of an organization's provisioning settings, validated.
pub struct SettingsFields<'a> {
    pub timezone: Option<&'a str>,
    pub ntp_server: Option<&'a str>,
    pub language: Option<&'a str>,
    pub firmware_url: Option<&'a str>,
    pub registrar: Option<&'a str>,
    pub outbound_proxy: Option<&'a str>,
    pub variables_json: &'a str,
}

/// The stored provisioning settings of organization `id`, if any were ever set.
pub async fn settings(db: &Db, organization_id: i64) -> sqlx::Result<Option<ProvisioningSettings>> {
    let sql = format!(
        "SELECT {SETTINGS_COLUMNS} FROM organization_provisioning WHERE organization_id = $1"
    );
    let row: Option<SettingsRow> = on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(organization_id).fetch_optional(pool).await)?;
    Ok(row.map(ProvisioningSettings::from))
}

/// The stored settings of the organizations `ids` (any order; missing ones are absent).
pub async fn settings_of(db: &Db, ids: &[i64]) -> sqlx::Result<Vec<ProvisioningSettings>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT {SETTINGS_COLUMNS} FROM organization_provisioning WHERE organization_id IN ({})",
        placeholders.join(", ")
    );
    let rows: Vec<SettingsRow> = on_db!(db, pool => {
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for id in ids {
            query = query.bind(id);
        }
        query.fetch_all(pool).await
    })?;
    Ok(rows.into_iter().map(ProvisioningSettings::from).collect())
}

pub async fn set_settings(
    tx: &mut Tx,
    organization_id: i64,
    f: &SettingsFields<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<ProvisioningSettings> {
    let sql = format!(
        "INSERT INTO organization_provisioning (organization_id, timezone, ntp_server, language, \
         firmware_url, registrar, outbound_proxy, variables_json, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (organization_id) DO UPDATE SET \
         timezone = excluded.timezone, ntp_server = excluded.ntp_server, \
         language = excluded.language, firmware_url = excluded.firmware_url, \
         registrar = excluded.registrar, outbound_proxy = excluded.outbound_proxy, \
         variables_json = excluded.variables_json, updated_at = excluded.updated_at \
         RETURNING {SETTINGS_COLUMNS}"
    );
    let row: SettingsRow = on_tx!(tx, conn => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(organization_id).bind(f.timezone).bind(f.ntp_server).bind(f.language)
        .bind(f.firmware_url).bind(f.registrar).bind(f.outbound_proxy).bind(f.variables_json)
        .bind(now)
        .fetch_one(conn).await)?;
    Ok(row.into())
}
