//! Updating and deleting a device (and the row locks other rooms take on it).

use super::super::model::{Device, DeviceStatus, Variables};
use super::super::store::{self, DeviceFields};
use super::super::validate::{self, LineInput};
use super::create::line_fields;
use super::{check_user, reread, to_json, visible};
use crate::auth::{Caller, Permission};
use crate::db::{Db, Tx};
use crate::error::{Error, Result};
use crate::system::audit::{self, Change};
use crate::system::changes::{Changes, DeviceChanged};
use crate::system::secrets::Secrets;
use crate::types::Mac;
use crate::types::Vendor;
use chrono::Utc;

/// Changes to a device: absent fields keep their value; `lines`, when given, is the whole new
/// list (a line without a password keeps the password of the line at the same position, or
/// gets a generated one); `Some(None)` clears `user_id` or `contact`. `organization_id` may be
/// repeated but not changed. A provisioning user name that was the MAC follows a MAC change.
#[derive(Debug, Clone, Default)]
pub struct DeviceUpdate {
    pub organization_id: Option<i64>,
    pub mac: Option<Mac>,
    pub vendor: Option<Vendor>,
    pub model: Option<String>,
    pub user_id: Option<Option<i64>>,
    pub lines: Option<Vec<LineInput>>,
    pub variables: Option<Variables>,
    pub contact: Option<Option<String>>,
    pub status: Option<DeviceStatus>,
    pub provisioning_username: Option<String>,
}

pub async fn update(
    db: &Db,
    changes: &Changes,
    secrets: &Secrets,
    caller: &Caller,
    id: i64,
    input: DeviceUpdate,
) -> Result<Device> {
    let current = visible(db, caller, id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    if let Some(org) = input.organization_id
        && org != current.organization_id
    {
        return Err(Error::immutable("organization_id", ""));
    }
    let model = input.model.as_deref().map(validate::model).transpose()?;
    let lines = input.lines.as_deref().map(validate::lines).transpose()?;
    let variables = input
        .variables
        .as_ref()
        .map(|v| validate::variables("variables", v))
        .transpose()?;
    let contact = match &input.contact {
        Some(Some(c)) => Some(Some(validate::sip_uri("contact", c)?)),
        Some(None) => Some(None),
        None => None,
    };
    let provisioning_username = input
        .provisioning_username
        .as_deref()
        .map(|u| validate::account("provisioning_username", u))
        .transpose()?;
    let user_id = match input.user_id {
        Some(Some(u)) => Some(Some(
            check_user(db, caller, u, current.organization_id).await?,
        )),
        other => other,
    };

    let now = Utc::now();
    let mut tx = db.begin().await?;
    let before = reread(&mut tx, id).await?;
    let mac = input.mac.unwrap_or(before.mac).to_string();
    let provisioning_username = match provisioning_username {
        Some(u) => u,
        None if before.provisioning_username == before.mac.to_string() => mac.clone(),
        None => before.provisioning_username.clone(),
    };
    let variables_json = to_json(variables.as_ref().unwrap_or(&before.variables));
    let contact = contact.unwrap_or_else(|| before.contact.clone());
    let fields = DeviceFields {
        user_id: user_id.unwrap_or(before.user_id),
        mac: &mac,
        vendor: input.vendor.unwrap_or(before.vendor).as_str(),
        model: model.as_deref().unwrap_or(&before.model),
        variables_json: &variables_json,
        contact: contact.as_deref(),
        status: input.status.unwrap_or(before.status).as_str(),
        provisioning_username: &provisioning_username,
    };
    store::update_device(&mut tx, id, &fields, now).await?;
    if let Some(lines) = &lines {
        let seal = |clear: &str| secrets.encrypt(clear);
        let sealed: Vec<String> = lines
            .iter()
            .enumerate()
            .map(|(i, line)| validate::line_password(line, before.lines.get(i), &seal).0)
            .collect();
        store::replace_lines(&mut tx, id, &line_fields(lines, &sealed)).await?;
        if lines.len() < before.lines.len() {
            let numbers =
                crate::numbers::service::assigned_to_lines_from(&mut tx, id, lines.len()).await?;
            Error::refuse_in_use(
                &match before.lines.len() - lines.len() {
                    1 => format!("line {} of device {id} ({})", lines.len(), before.mac),
                    _ => format!(
                        "lines {}-{} of device {id} ({})",
                        lines.len(),
                        before.lines.len() - 1,
                        before.mac
                    ),
                },
                &[numbers],
                "assign them elsewhere before removing the line",
            )?;
        }
    }
    let after = reread(&mut tx, id).await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&after, "update", Some(&before), Some(&after)),
    )
    .await?;
    tx.commit().await?;
    // Both MACs: the cache may hold the device (and its user name) under the old one.
    changes
        .publish(DeviceChanged {
            macs: vec![before.mac, after.mac],
        })
        .await;
    Ok(after)
}

/// Whether device `id` still exists, held until `tx` ends against a concurrent delete (whose
/// in-use check then sees what `tx` wrote): for a number assigned to one of its lines.
pub async fn hold(tx: &mut Tx, id: i64) -> Result<bool> {
    Ok(store::hold_device(tx, id).await?)
}

/// Whether device `id` still has line `position`, held until `tx` ends against a delete of the
/// device or an update that rewrites its lines (whose in-use check then sees what `tx` wrote).
pub async fn hold_line(tx: &mut Tx, id: i64, position: i64) -> Result<bool> {
    Ok(store::hold_device(tx, id).await? && store::hold_line(tx, id, position).await?)
}

/// Deletes a device with its lines; refused while numbers are assigned to one of its lines.
pub async fn delete(db: &Db, changes: &Changes, caller: &Caller, id: i64) -> Result<()> {
    visible(db, caller, id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let mut tx = db.begin().await?;
    let before = reread(&mut tx, id).await?;
    store::delete_device(&mut tx, id).await?;
    // After the DELETE: see `numbers::assigned_to`.
    let numbers = crate::numbers::service::assigned_to(
        &mut tx,
        crate::numbers::AssignmentType::DeviceLine,
        id,
    )
    .await?;
    Error::refuse_in_use(
        &format!("device {id} ({})", before.mac),
        &[numbers],
        "assign them elsewhere first",
    )?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&before, "delete", Some(&before), None),
    )
    .await?;
    tx.commit().await?;
    changes
        .publish(DeviceChanged {
            macs: vec![before.mac],
        })
        .await;
    Ok(())
}
