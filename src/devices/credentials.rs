//! A device's secrets: the admin-only reveal and rotation of its provisioning password (the
//! previous one stays valid for a grace period so a deployed fleet is not bricked), and what the
//! provisioning server reads and records: the passwords it accepts, the line passwords it
//! renders, the fetches it saw. Secrets are decrypted only here and never logged.

use super::model::{Credentials, Device};
use super::service::{reread, visible};
use super::store;
use super::validate::{self, PROVISIONING_PASSWORD_LEN};
use crate::auth::{Caller, Permission};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::system::audit::{self, Change};
use crate::system::secrets::{Secrets, generate_password};
use chrono::{DateTime, Utc};
use std::net::IpAddr;

/// Longest User-Agent kept for a device.
const MAX_USER_AGENT: usize = 512;
/// Longest firmware version kept for a device.
const MAX_FIRMWARE: usize = 128;

fn open(secrets: &Secrets, device: &Device, what: &str, sealed: &str) -> Result<String> {
    secrets.decrypt(sealed).map_err(|e| {
        Error::Internal(format!(
            "device {}: stored {what} cannot be opened: {e}",
            device.id
        ))
    })
}

/// An audit record of a credentials action; `detail` never holds a secret.
fn credentials_change<'a>(
    device: &'a Device,
    action: &'a str,
    detail: Option<serde_json::Value>,
) -> Change<'a> {
    Change {
        organization_id: device.organization_id,
        organization_path: &device.organization_path,
        action,
        entity_type: "device",
        entity_id: device.id.to_string(),
        before: None,
        after: detail,
    }
}

/// The device's provisioning credentials in clear, for an administrator; audited as
/// `credentials.reveal`.
pub async fn reveal(db: &Db, secrets: &Secrets, caller: &Caller, id: i64) -> Result<Credentials> {
    let device = visible(db, caller, id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let password = open(
        secrets,
        &device,
        "provisioning password",
        &device.provisioning_password,
    )?;
    let mut tx = db.begin().await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        credentials_change(&device, "credentials.reveal", None),
    )
    .await?;
    tx.commit().await?;
    Ok(Credentials {
        device_id: device.id,
        provisioning_username: device.provisioning_username,
        provisioning_password: password,
        previous_password_valid_until: device
            .previous_password_valid_until
            .filter(|until| *until > Utc::now()),
    })
}

/// Gives the device a new provisioning password (`new_password`, or a generated one); the
/// current one stays accepted for `grace` (zero: not at all). Only one previous password is
/// kept: rotating again within the grace period ends the older one. Audited as
/// `credentials.rotate`.
pub async fn rotate(
    db: &Db,
    changes: &crate::system::changes::Changes,
    secrets: &Secrets,
    caller: &Caller,
    id: i64,
    new_password: Option<String>,
    grace: chrono::Duration,
) -> Result<Credentials> {
    visible(db, caller, id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let password = match new_password {
        Some(p) => validate::password("provisioning_password", &p)?,
        None => generate_password(PROVISIONING_PASSWORD_LEN),
    };
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let before = reread(&mut tx, id).await?;
    let (previous, until) = if grace > chrono::Duration::zero() {
        (
            Some(before.provisioning_password.as_str()),
            Some(now + grace),
        )
    } else {
        (None, None)
    };
    store::set_provisioning_password(
        &mut tx,
        id,
        &secrets.encrypt(&password),
        previous,
        until,
        now,
    )
    .await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        credentials_change(
            &before,
            "credentials.rotate",
            Some(serde_json::json!({ "previous_password_valid_until": until })),
        ),
    )
    .await?;
    tx.commit().await?;
    changes
        .publish(crate::system::changes::DeviceChanged {
            macs: vec![before.mac],
        })
        .await;
    Ok(Credentials {
        device_id: id,
        provisioning_username: before.provisioning_username,
        provisioning_password: password,
        previous_password_valid_until: until,
    })
}

/// The provisioning passwords `device` is accepted with at `now`: the current one, then the
/// previous one while its grace period lasts.
pub fn accepted_passwords(
    secrets: &Secrets,
    device: &Device,
    now: DateTime<Utc>,
) -> Result<Vec<String>> {
    let mut passwords = vec![open(
        secrets,
        device,
        "provisioning password",
        &device.provisioning_password,
    )?];
    if let (Some(previous), Some(until)) = (
        &device.previous_provisioning_password,
        device.previous_password_valid_until,
    ) && now < until
    {
        passwords.push(open(
            secrets,
            device,
            "previous provisioning password",
            previous,
        )?);
    }
    Ok(passwords)
}

/// The provisioning passwords the device `device_id` is accepted with now (current first; the
/// previous one while its grace period lasts). Empty for an unknown device.
pub async fn provisioning_passwords(
    db: &Db,
    secrets: &Secrets,
    device_id: i64,
) -> Result<Vec<String>> {
    match store::get(db, device_id).await? {
        Some(device) => accepted_passwords(secrets, &device, Utc::now()),
        None => Ok(Vec::new()),
    }
}

/// The SIP passwords of the device's lines in clear, in position order, for rendering.
pub fn line_passwords(secrets: &Secrets, device: &Device) -> Result<Vec<String>> {
    device
        .lines
        .iter()
        .map(|line| open(secrets, device, "line password", &line.password))
        .collect()
}

/// Keeps at most `max` characters of text a phone sent, without control characters.
fn clean(text: &str, max: usize) -> Option<String> {
    let cleaned: String = text.chars().filter(|c| !c.is_control()).take(max).collect();
    let cleaned = cleaned.trim();
    (!cleaned.is_empty()).then(|| cleaned.to_string())
}

/// Notes that the device fetched its configuration from `ip` (the provisioning server calls
/// this). An absent User-Agent or firmware keeps the last one known. The device's
/// `updated_at` does not move: it tracks configuration changes.
pub async fn record_fetch(
    db: &Db,
    device_id: i64,
    ip: IpAddr,
    user_agent: Option<&str>,
    firmware: Option<&str>,
) -> Result<()> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    store::record_fetch(
        db,
        device_id,
        &ip.to_string(),
        user_agent
            .and_then(|ua| clean(ua, MAX_USER_AGENT))
            .as_deref(),
        firmware.and_then(|fw| clean(fw, MAX_FIRMWARE)).as_deref(),
        Utc::now(),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::model::Variables;

    fn device(secrets: &Secrets, previous: Option<(&str, DateTime<Utc>)>) -> Device {
        let now = Utc::now();
        Device {
            id: 1,
            organization_id: 2,
            organization_path: "/1/2/".into(),
            user_id: None,
            mac: crate::types::Mac::parse("0015651234ab").unwrap(),
            vendor: crate::types::Vendor::Yealink,
            model: "T54W".into(),
            variables: Variables::new(),
            contact: None,
            status: crate::devices::model::DeviceStatus::Active,
            provisioning_username: "0015651234ab".into(),
            provisioning_password: secrets.encrypt("current-password"),
            previous_provisioning_password: previous.map(|(p, _)| secrets.encrypt(p)),
            previous_password_valid_until: previous.map(|(_, until)| until),
            last_provisioned_at: None,
            last_provisioned_ip: None,
            last_user_agent: None,
            firmware: None,
            created_at: now,
            updated_at: now,
            lines: Vec::new(),
        }
    }

    #[test]
    fn previous_password_is_accepted_until_its_grace_ends() {
        let secrets = Secrets::from_key(&[3; 32]);
        let now = Utc::now();
        let until = now + chrono::Duration::seconds(60);
        let d = device(&secrets, Some(("previous-password", until)));
        assert_eq!(
            accepted_passwords(&secrets, &d, now).unwrap(),
            ["current-password", "previous-password"]
        );
        assert_eq!(
            accepted_passwords(&secrets, &d, until).unwrap(),
            ["current-password"]
        );
        let d = device(&secrets, None);
        assert_eq!(
            accepted_passwords(&secrets, &d, now).unwrap(),
            ["current-password"]
        );
        let other = Secrets::from_key(&[4; 32]);
        let err = accepted_passwords(&other, &d, now).unwrap_err().to_string();
        assert!(!err.contains("current-password"), "{err}");
    }

    #[test]
    fn phone_supplied_text_is_cleaned() {
        assert_eq!(
            clean("Yealink SIP-T54W\r\n96.86.0.10 ", 512).as_deref(),
            Some("Yealink SIP-T54W96.86.0.10")
        );
        assert_eq!(clean(&"x".repeat(600), 512).map(|s| s.len()), Some(512));
        assert_eq!(clean(" \t", 512), None);
    }
}
