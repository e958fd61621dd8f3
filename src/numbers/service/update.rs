//! Changing a number: its fields, its state along the state machine, its assignment, and a
//! move down the organization tree.

use super::record::record;
use super::{normalise, released_unassigned, reread, visible};
use crate::auth::{Caller, Permission};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::numbers::assignment::{check_assignment, hold_assignment};
use crate::numbers::model::{self, Assignment, Number, NumberState, tags_to_column};
use crate::numbers::store::{self, NumberFields};
use chrono::Utc;

/// Changes to a number: absent fields keep their value; `Some(None)` clears the assignment or
/// the channel limit. `number` may be repeated (in any accepted form) but not changed.
/// A new `organization_id` moves the number down the tree: only to a descendant of its
/// current organization that the caller sees.
#[derive(Debug, Clone, Default)]
pub struct NumberUpdate {
    pub number: Option<String>,
    pub organization_id: Option<i64>,
    pub state: Option<NumberState>,
    pub assignment: Option<Option<Assignment>>,
    pub channel_limit: Option<Option<i64>>,
    pub tags: Option<Vec<String>>,
}

pub async fn update(db: &Db, caller: &Caller, id: i64, input: NumberUpdate) -> Result<Number> {
    let current = visible(db, caller, id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let current_org = crate::orgs::visible(db, caller, current.organization_id).await?;
    if let Some(text) = &input.number
        && normalise("number", text, &current_org)? != current.number
    {
        return Err(Error::immutable(
            "number",
            "; create the new number and delete this one",
        ));
    }
    let moving = input
        .organization_id
        .filter(|org| *org != current.organization_id);
    let org = match moving {
        Some(target) => {
            let org = crate::orgs::visible_field(db, caller, "organization_id", target).await?;
            // Up or sideways conflicts with where the number is now (409): it is handed
            // back by releasing it, not by moving.
            if !org.path.starts_with(&current_org.path) {
                return Err(Error::Conflict(format!(
                    "organization_id: a number moves only down the tree: organization {target} is not a descendant of organization {}",
                    current.organization_id
                )));
            }
            org
        }
        None => current_org,
    };
    if let Some(to) = input.state
        && to != current.state()
    {
        model::transition(current.state(), to)
            .map_err(|why| Error::Conflict(format!("state: {why}")))?;
    }
    let tags = input
        .tags
        .as_deref()
        .map(|t| model::validate_tags("tags", t))
        .transpose()
        .map_err(Error::bad_request)?;
    let channel_limit = match input.channel_limit {
        Some(Some(l)) => Some(Some(
            model::validate_channel_limit("channel_limit", l).map_err(Error::bad_request)?,
        )),
        other => other,
    };
    // A released number routes nowhere: releasing clears the assignment.
    let releasing = input.state.unwrap_or(current.state()) == NumberState::Released;
    if releasing && matches!(input.assignment, Some(Some(_))) {
        return Err(released_unassigned());
    }
    // A target checked here is also held by the transaction below; an unchanged assignment is
    // neither, so a released number's stale one does not block editing its tags.
    let checked = matches!(input.assignment, Some(Some(_))) || moving.is_some();
    let assignment = match input.assignment {
        Some(Some(a)) => Some(check_assignment(db, caller, &org, a).await?),
        Some(None) => None,
        // Moving keeps the assignment only where it is still valid.
        None => match current.assignment {
            _ if releasing => None,
            Some(a) if moving.is_some() => Some(
                check_assignment(db, caller, &org, a)
                    .await
                    .map_err(|e| match e {
                        Error::BadRequest(m) => Error::BadRequest(format!(
                            "{m}; change or clear the assignment when moving the number"
                        )),
                        Error::Conflict(m) => Error::Conflict(format!(
                            "{m}; change or clear the assignment when moving the number"
                        )),
                        other => other,
                    })?,
            ),
            other => other,
        },
    };
    let now = Utc::now();
    let mut tx = db.begin().await?;
    if checked && let Some(a) = assignment {
        hold_assignment(&mut tx, a).await?;
    }
    let before = reread(&mut tx, id).await?;
    // An assignment the request leaves alone is the one stored now, not the one read before
    // the transaction: another writer may have changed it since.
    let untouched = input.assignment.is_none() && moving.is_none() && !releasing;
    let assignment = if untouched {
        before.assignment
    } else {
        assignment
    };
    if moving.is_some()
        && let Some(mobile) = store::mobile_of(&mut tx, id).await?
    {
        return Err(Error::Conflict(format!(
            "organization_id: the number is the MSISDN of mobile {mobile} of organization {}; unlink it first",
            before.organization_id
        )));
    }
    let tags = tags.map_or_else(|| tags_to_column(&before.tags), |t| tags_to_column(&t));
    let state = input.state.unwrap_or(before.state());
    let fields = NumberFields {
        organization_id: org.id,
        number: before.number.as_str(),
        state: state.as_str(),
        assignment,
        channel_limit: channel_limit.unwrap_or(before.channel_limit),
        tags: &tags,
    };
    store::update(&mut tx, id, &fields, now).await?;
    let after = reread(&mut tx, id).await?;
    let action = if moving.is_some() { "move" } else { "update" };
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
