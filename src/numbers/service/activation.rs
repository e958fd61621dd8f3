//! Putting a number in service and taking it out (`activate`, `deactivate`).

use super::record::record;
use super::{reread, visible};
use crate::auth::{Caller, Permission};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::numbers::model::{self, Number, NumberState, tags_to_column};
use crate::numbers::store::{self, NumberFields};
use chrono::Utc;

/// Moves the number to `to` along the state machine (`activate`, `deactivate`), or 409.
async fn change_state(
    db: &Db,
    caller: &Caller,
    id: i64,
    action: &str,
    allowed_from: &[NumberState],
    to: NumberState,
) -> Result<Number> {
    visible(db, caller, id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let before = reread(&mut tx, id).await?;
    let from = before.state();
    if !allowed_from.contains(&from) {
        let why = model::transition(from, to)
            .err()
            .unwrap_or_else(|| format!("a {} number cannot be {action}d", from.as_str()));
        return Err(Error::Conflict(format!("state: {why}")));
    }
    let tags = tags_to_column(&before.tags);
    let fields = NumberFields {
        organization_id: before.organization_id,
        number: before.number.as_str(),
        state: to.as_str(),
        assignment: before.assignment,
        channel_limit: before.channel_limit,
        tags: &tags,
    };
    store::update(&mut tx, id, &fields, now).await?;
    let after = reread(&mut tx, id).await?;
    record(
        &mut tx,
        &caller.actor(),
        action,
        Some(&before),
        Some(&after),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Puts the number in service: from available, reserved, suspended or porting.
pub async fn activate(db: &Db, caller: &Caller, id: i64) -> Result<Number> {
    use NumberState::*;
    change_state(
        db,
        caller,
        id,
        "activate",
        &[Available, Reserved, Suspended, Porting],
        Active,
    )
    .await
}

/// Takes the number out of service, back to available: from active or suspended.
pub async fn deactivate(db: &Db, caller: &Caller, id: i64) -> Result<Number> {
    use NumberState::*;
    change_state(
        db,
        caller,
        id,
        "deactivate",
        &[Active, Suspended],
        Available,
    )
    .await
}
