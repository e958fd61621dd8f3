//! Organizations' provisioning settings (time zone, NTP, language, firmware URL, registrar,
//! outbound proxy, template variables), and the variables a device's templates see: its
//! organizations' settings from the top of the tree down, then its own.

pub mod api;

use super::model::{self, Device, ProvisioningSettings, Variables};
use super::service::to_json;
use super::store::{self, SettingsFields};
use super::validate;
use crate::auth::{Caller, Permission};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::system::audit::{self, Change};
use chrono::Utc;

/// The organization's stored settings, or empty ones if it never set any.
async fn stored(db: &Db, organization_id: i64) -> Result<ProvisioningSettings> {
    Ok(store::settings(db, organization_id)
        .await?
        .unwrap_or_else(|| ProvisioningSettings {
            organization_id,
            ..Default::default()
        }))
}

/// The provisioning settings of a visible organization (404 otherwise).
pub async fn settings(
    db: &Db,
    caller: &Caller,
    organization_id: i64,
) -> Result<ProvisioningSettings> {
    crate::orgs::visible(db, caller, organization_id).await?;
    stored(db, organization_id).await
}

/// Changes to an organization's provisioning settings: absent fields keep their value, null
/// (or an empty string) clears one, `variables` given replaces the whole object.
#[derive(Debug, Clone, Default)]
pub struct SettingsUpdate {
    pub timezone: Option<Option<String>>,
    pub ntp_server: Option<Option<String>>,
    pub language: Option<Option<String>>,
    pub firmware_url: Option<Option<String>>,
    pub registrar: Option<Option<String>>,
    pub outbound_proxy: Option<Option<String>>,
    pub variables: Option<Variables>,
}

/// Applies `check` to a given, non-blank value; blank and null clear; absent keeps `current`.
fn merge(
    given: Option<Option<String>>,
    current: &Option<String>,
    check: impl Fn(&str) -> Result<String>,
) -> Result<Option<String>> {
    match given {
        None => Ok(current.clone()),
        Some(None) => Ok(None),
        Some(Some(text)) if text.trim().is_empty() => Ok(None),
        Some(Some(text)) => check(&text).map(Some),
    }
}

pub async fn update_settings(
    db: &Db,
    changes: &crate::system::changes::Changes,
    caller: &Caller,
    organization_id: i64,
    input: SettingsUpdate,
) -> Result<ProvisioningSettings> {
    let org = crate::orgs::visible(db, caller, organization_id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let before = stored(db, organization_id).await?;
    let timezone = merge(input.timezone, &before.timezone, |t| {
        crate::orgs::model::validate_timezone("timezone", t)
    })?;
    let ntp_server = merge(input.ntp_server, &before.ntp_server, |t| {
        validate::host("ntp_server", t)
    })?;
    let language = merge(input.language, &before.language, validate::language)?;
    let firmware_url = merge(input.firmware_url, &before.firmware_url, |t| {
        validate::http_url("firmware_url", t)
    })?;
    let registrar = merge(input.registrar, &before.registrar, |t| {
        validate::host_port("registrar", t)
    })?;
    let outbound_proxy = merge(input.outbound_proxy, &before.outbound_proxy, |t| {
        validate::sip_uri("outbound_proxy", t)
    })?;
    let variables = match &input.variables {
        Some(v) => validate::variables("variables", v)?,
        None => before.variables.clone(),
    };
    let variables_json = to_json(&variables);
    let fields = SettingsFields {
        timezone: timezone.as_deref(),
        ntp_server: ntp_server.as_deref(),
        language: language.as_deref(),
        firmware_url: firmware_url.as_deref(),
        registrar: registrar.as_deref(),
        outbound_proxy: outbound_proxy.as_deref(),
        variables_json: &variables_json,
    };
    let mut tx = db.begin().await?;
    let after = store::set_settings(&mut tx, organization_id, &fields, Utc::now()).await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change {
            organization_id,
            organization_path: &org.path,
            action: "update",
            entity_type: "provisioning_settings",
            entity_id: organization_id.to_string(),
            before: serde_json::to_value(&before).ok(),
            after: serde_json::to_value(&after).ok(),
        },
    )
    .await?;
    tx.commit().await?;
    // The organization's devices and every descendant's see these settings.
    changes
        .publish(crate::system::changes::DeviceChanged::all())
        .await;
    Ok(after)
}

/// The template variables of `device`: the provisioning settings of each organization on its
/// path from the top of the tree down (named settings, then that organization's `variables`),
/// then the device's own `variables`; the nearer one wins. One query.
pub async fn effective_variables(db: &Db, device: &Device) -> Result<Variables> {
    let path: Vec<i64> = device
        .organization_path
        .split('/')
        .filter_map(|id| id.parse().ok())
        .collect();
    if path.is_empty() {
        return Err(Error::Internal(format!(
            "device {}: organization path {:?} names no organization",
            device.id, device.organization_path
        )));
    }
    let mut chain = store::settings_of(db, &path).await?;
    chain.sort_by_key(|s| path.iter().position(|id| *id == s.organization_id));
    Ok(model::merge_variables(&chain, &device.variables))
}
