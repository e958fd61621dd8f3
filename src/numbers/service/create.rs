//! Adding a number to the inventory.

use super::record::record;
use super::{normalise, released_unassigned, reread};
use crate::auth::{Caller, Permission};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::numbers::assignment::{check_assignment, hold_assignment};
use crate::numbers::model::{self, Assignment, Number, NumberState, tags_to_column};
use crate::numbers::store::{self, NumberFields};
use chrono::Utc;

/// A new number. `number` is E.164 or national in the organization's country;
/// `organization_id` defaults to the caller's organization, `state` to available.
#[derive(Debug, Clone, Default)]
pub struct NewNumber {
    pub number: String,
    pub organization_id: Option<i64>,
    pub state: Option<NumberState>,
    pub assignment: Option<Assignment>,
    pub channel_limit: Option<i64>,
    pub tags: Option<Vec<String>>,
}

pub async fn create(db: &Db, caller: &Caller, input: NewNumber) -> Result<Number> {
    let organization_id = input.organization_id.unwrap_or(caller.organization_id);
    let org = crate::orgs::visible_field(db, caller, "organization_id", organization_id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let number = normalise("number", &input.number, &org)?;
    let tags = model::validate_tags("tags", &input.tags.unwrap_or_default())
        .map_err(Error::bad_request)?;
    let channel_limit = input
        .channel_limit
        .map(|l| model::validate_channel_limit("channel_limit", l))
        .transpose()
        .map_err(Error::bad_request)?;
    if input.state == Some(NumberState::Released) && input.assignment.is_some() {
        return Err(released_unassigned());
    }
    let assignment = match input.assignment {
        Some(a) => Some(check_assignment(db, caller, &org, a).await?),
        None => None,
    };
    let tags = tags_to_column(&tags);
    let fields = NumberFields {
        organization_id: org.id,
        number: number.as_str(),
        state: input.state.unwrap_or(NumberState::Available).as_str(),
        assignment,
        channel_limit,
        tags: &tags,
    };
    let now = Utc::now();
    let mut tx = db.begin().await?;
    if let Some(a) = assignment {
        hold_assignment(&mut tx, a).await?;
    }
    let id = store::insert(&mut tx, &fields, now).await?;
    let created = reread(&mut tx, id).await?;
    record(
        &mut tx,
        &caller.actor(),
        "create",
        None,
        Some(&created),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}
