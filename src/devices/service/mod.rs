//! The devices service: CRUD of devices and their lines, one by one or in bulk (tenancy-checked,
//! validated, secrets encrypted, audited, one transaction each).

mod create;
mod update;

pub use create::{MAX_BULK, NewDevice, create, create_many};
pub use update::{DeviceUpdate, delete, hold, hold_line, update};

use super::model::{Device, Variables};
use super::store::{self, DeviceFilter};
use crate::auth::Caller;
use crate::db::Page;
use crate::db::{Db, Tx};
use crate::error::{Error, Result};
use crate::types::Mac;

const DEVICE: &str = "device";

// ---------------------------------------------------------------------------------------------
// Tenancy and audit.

/// The device `id` with its lines, if the caller may see it; 404 otherwise.
pub async fn visible(db: &Db, caller: &Caller, id: i64) -> Result<Device> {
    match store::get(db, id).await? {
        Some(device) if caller.scope().contains(&device.organization_path) => Ok(device),
        _ => Err(Error::not_found(DEVICE)),
    }
}

/// Audited whole; secrets are never part of a serialized [`Device`].
impl crate::system::audit::Audited for Device {
    const ENTITY_TYPE: &'static str = "device";
    fn audit_id(&self) -> i64 {
        self.id
    }
    fn audit_owner(&self) -> (i64, &str) {
        (self.organization_id, &self.organization_path)
    }
}

pub(super) async fn reread(tx: &mut Tx, id: i64) -> Result<Device> {
    store::get_in_tx(tx, id)
        .await?
        .ok_or_else(|| Error::not_found(DEVICE))
}

pub(super) fn to_json(variables: &Variables) -> String {
    serde_json::to_string(variables).unwrap_or_else(|_| "{}".to_string())
}

/// The user `user_id` if the caller sees it and it belongs to the device's organization.
async fn check_user(db: &Db, caller: &Caller, user_id: i64, organization_id: i64) -> Result<i64> {
    let user = match crate::orgs::users::visible(db, caller, user_id).await {
        Ok(user) => user,
        Err(Error::NotFound(_)) => {
            return Err(Error::missing("user_id", format_args!("user {user_id}")));
        }
        Err(e) => return Err(e),
    };
    // The user exists and is visible, in the wrong place: the stored state is in the way.
    if user.organization_id != organization_id {
        return Err(Error::Conflict(format!(
            "user_id: user {user_id} is not in the device's organization {organization_id}"
        )));
    }
    Ok(user_id)
}

// ---------------------------------------------------------------------------------------------
// Reads.

pub async fn list(
    db: &Db,
    caller: &Caller,
    filter: &DeviceFilter,
    page: Page,
) -> Result<(Vec<Device>, i64)> {
    Ok(store::list(db, &caller.scope().like(), filter, page).await?)
}

/// The device `id`, whoever asks (for the provisioning server and NOTIFY, not the API).
pub async fn get(db: &Db, id: i64) -> Result<Option<Device>> {
    Ok(store::get(db, id).await?)
}

/// The device registered under `mac`, whoever asks (for the provisioning server).
pub async fn by_mac(db: &Db, mac: &Mac) -> Result<Option<Device>> {
    Ok(store::by_mac(db, mac).await?)
}
