//! Deleting a number that is out of service.

use super::record::record;
use super::{reread, visible};
use crate::auth::{Caller, Permission};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::numbers::store;
use chrono::Utc;

/// Deletes a number that is out of service (available or released) and no SIM's MSISDN.
pub async fn delete(db: &Db, caller: &Caller, id: i64) -> Result<()> {
    visible(db, caller, id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let mut tx = db.begin().await?;
    let before = reread(&mut tx, id).await?;
    if !before.state().deletable() {
        return Err(Error::Conflict(format!(
            "state: a {} number cannot be deleted; only available or released ones can",
            before.state
        )));
    }
    if let Some(mobile) = store::mobile_of(&mut tx, id).await? {
        return Err(Error::Conflict(format!(
            "the number is the MSISDN of mobile {mobile}; unlink it first"
        )));
    }
    store::delete(&mut tx, id).await?;
    record(
        &mut tx,
        &caller.actor(),
        "delete",
        Some(&before),
        None,
        Utc::now(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
