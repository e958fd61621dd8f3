//! The rows of devices, lines and provisioning settings as SQL returns them, and how each
//! becomes its model (a stored value that does not parse is a `Corrupt` error naming the row).

use super::super::model::{
    Device, DeviceStatus, Line, LineTransport, ProvisioningSettings, Variables,
};
use crate::types::column::parse_stored;
use crate::types::{Mac, Vendor};
use chrono::{DateTime, Utc};

pub(super) const DEVICE_COLUMNS: &str = "d.id, d.organization_id, o.path AS organization_path, d.user_id, \
    d.mac, d.vendor, d.model, d.variables_json, d.contact, d.status, d.provisioning_username, \
    d.provisioning_password, d.previous_provisioning_password, d.previous_password_valid_until, \
    d.last_provisioned_at, d.last_provisioned_ip, d.last_user_agent, d.firmware, \
    d.created_at, d.updated_at";
pub(super) const DEVICE_FROM: &str =
    " FROM devices d JOIN organizations o ON o.id = d.organization_id";
pub(super) const LINE_COLUMNS: &str = "device_id, position, username, auth_user, password, display_name, \
    registrar, proxy, transport";
pub(super) const SETTINGS_COLUMNS: &str = "organization_id, timezone, ntp_server, language, firmware_url, \
    registrar, outbound_proxy, variables_json, updated_at";

/// A `devices` row; variables are JSON text in both backends.
#[derive(sqlx::FromRow)]
pub(super) struct DeviceRow {
    pub(super) id: i64,
    pub(super) organization_id: i64,
    pub(super) organization_path: String,
    pub(super) user_id: Option<i64>,
    pub(super) mac: String,
    pub(super) vendor: String,
    pub(super) model: String,
    pub(super) variables_json: String,
    pub(super) contact: Option<String>,
    pub(super) status: String,
    pub(super) provisioning_username: String,
    pub(super) provisioning_password: String,
    pub(super) previous_provisioning_password: Option<String>,
    pub(super) previous_password_valid_until: Option<DateTime<Utc>>,
    pub(super) last_provisioned_at: Option<DateTime<Utc>>,
    pub(super) last_provisioned_ip: Option<String>,
    pub(super) last_user_agent: Option<String>,
    pub(super) firmware: Option<String>,
    pub(super) created_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
}

/// Stored JSON that no longer parses (it was checked on the way in) reads as no variables.
fn parse_variables(text: &str, what: &str, id: i64) -> Variables {
    serde_json::from_str(text).unwrap_or_else(|e| {
        tracing::warn!(id, error = %e, "stored {what} variables do not parse; ignoring them");
        Variables::new()
    })
}

impl TryFrom<DeviceRow> for Device {
    type Error = sqlx::Error;

    /// A stored MAC, vendor or status that does not parse is an error naming the device, never
    /// a value served to a phone.
    fn try_from(row: DeviceRow) -> sqlx::Result<Self> {
        let mac = parse_stored("device", row.id, "mac", &row.mac, Mac::parse)?;
        let vendor = parse_stored(
            "device",
            row.id,
            "vendor",
            &row.vendor,
            str::parse::<Vendor>,
        )?;
        let status = parse_stored("device", row.id, "status", &row.status, DeviceStatus::parse)?;
        Ok(Self {
            variables: parse_variables(&row.variables_json, "device", row.id),
            id: row.id,
            organization_id: row.organization_id,
            organization_path: row.organization_path,
            user_id: row.user_id,
            mac,
            vendor,
            model: row.model,
            contact: row.contact,
            status,
            provisioning_username: row.provisioning_username,
            provisioning_password: row.provisioning_password,
            previous_provisioning_password: row.previous_provisioning_password,
            previous_password_valid_until: row.previous_password_valid_until,
            last_provisioned_at: row.last_provisioned_at,
            last_provisioned_ip: row.last_provisioned_ip,
            last_user_agent: row.last_user_agent,
            firmware: row.firmware,
            created_at: row.created_at,
            updated_at: row.updated_at,
            lines: Vec::new(),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct LineRow {
    pub(super) device_id: i64,
    pub(super) position: i64,
    pub(super) username: String,
    pub(super) auth_user: String,
    pub(super) password: String,
    pub(super) display_name: String,
    pub(super) registrar: String,
    pub(super) proxy: Option<String>,
    pub(super) transport: String,
}

impl TryFrom<LineRow> for Line {
    type Error = sqlx::Error;

    /// A stored transport that does not parse is an error naming the device.
    fn try_from(row: LineRow) -> sqlx::Result<Self> {
        let transport = parse_stored(
            "device",
            row.device_id,
            "transport",
            &row.transport,
            LineTransport::parse_stored,
        )?;
        Ok(Self {
            position: row.position,
            username: row.username,
            auth_user: row.auth_user,
            password: row.password,
            display_name: row.display_name,
            registrar: row.registrar,
            proxy: row.proxy,
            transport,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct SettingsRow {
    pub(super) organization_id: i64,
    pub(super) timezone: Option<String>,
    pub(super) ntp_server: Option<String>,
    pub(super) language: Option<String>,
    pub(super) firmware_url: Option<String>,
    pub(super) registrar: Option<String>,
    pub(super) outbound_proxy: Option<String>,
    pub(super) variables_json: String,
    pub(super) updated_at: DateTime<Utc>,
}

impl From<SettingsRow> for ProvisioningSettings {
    fn from(row: SettingsRow) -> Self {
        Self {
            variables: parse_variables(&row.variables_json, "organization", row.organization_id),
            organization_id: row.organization_id,
            timezone: row.timezone,
            ntp_server: row.ntp_server,
            language: row.language,
            firmware_url: row.firmware_url,
            registrar: row.registrar,
            outbound_proxy: row.outbound_proxy,
            updated_at: Some(row.updated_at),
        }
    }
}
