//! The numbers service: CRUD, state moves, channels, moves down the organization tree and
//! assignments, each tenancy-checked, validated and written in one transaction with its history
//! entry and audit record.

use super::assignment::{check_assignment, hold_assignment};
use super::e164::E164;
use super::model::{
    self, Assignment, AssignmentType, HistoryEntry, Number, NumberState, tags_to_column,
};
use super::store::{self, NewHistory, NumberFields, NumberFilter};
use crate::auth::{Caller, Permission};
use crate::db::Page;
use crate::db::{Db, Tx};
use crate::error::{Error, InUse, Result};
use crate::orgs::Organization;
use crate::system::audit::{self, Actor, Change};
use chrono::{DateTime, Utc};

const NUMBER: &str = "number";

/// The number `id` if the caller may see it; 404 otherwise.
pub async fn visible(db: &Db, caller: &Caller, id: i64) -> Result<Number> {
    match store::get(db, id).await? {
        Some(n) if caller.scope().contains(&n.organization_path) => Ok(n),
        _ => Err(Error::not_found(NUMBER)),
    }
}

/// Like [`visible`], for a number named in a request body (the error names the field).
pub async fn visible_field(db: &Db, caller: &Caller, field: &str, id: i64) -> Result<Number> {
    visible(db, caller, id).await.map_err(|e| match e {
        Error::NotFound(_) => Error::field(field, format!("number {id} not found")),
        other => other,
    })
}

/// The numbers of the caller's subtree that pass `filter`.
pub async fn list(
    db: &Db,
    caller: &Caller,
    filter: &NumberFilter,
    page: Page,
) -> Result<(Vec<Number>, i64)> {
    Ok(store::list(db, &caller.scope().like(), filter, page).await?)
}

/// The path of organization `id` for a subtree filter (400 naming `field` if not visible).
pub async fn subtree_of(db: &Db, caller: &Caller, field: &str, id: i64) -> Result<String> {
    Ok(crate::orgs::visible_field(db, caller, field, id)
        .await?
        .path)
}

/// Reads `text` as a number of `org`'s country (400 naming `field`).
pub fn normalise(field: &str, text: &str, org: &Organization) -> Result<E164> {
    E164::parse(text, Some(&org.country)).map_err(|e| Error::field(field, e))
}

// ---------------------------------------------------------------------------------------------
// History and audit, written together in the change's transaction.

fn snapshot(n: &Number) -> Option<String> {
    serde_json::to_string(n).ok()
}

/// Records a change of `after` (or of `before` for a delete) in the number's history and in
/// the audit log. The audit record is filed under the number's (new) organization, which for
/// a move down the tree the old owner's callers see too.
async fn record(
    tx: &mut Tx,
    actor: &Actor,
    action: &str,
    before: Option<&Number>,
    after: Option<&Number>,
    now: DateTime<Utc>,
) -> Result<()> {
    let Some(subject) = after.or(before) else {
        return Ok(());
    };
    if after.is_some() {
        store::insert_history(
            tx,
            actor,
            &[NewHistory {
                number_id: subject.id,
                organization_id: subject.organization_id,
                action,
                before: before.and_then(snapshot),
                after: after.and_then(snapshot),
            }],
            now,
        )
        .await?;
    }
    audit::record(
        tx,
        actor,
        Change {
            organization_id: subject.organization_id,
            organization_path: &subject.organization_path,
            action,
            entity_type: NUMBER,
            entity_id: subject.id.to_string(),
            before: crate::system::audit::snapshot(before),
            after: crate::system::audit::snapshot(after),
        },
    )
    .await
}

async fn reread(tx: &mut Tx, id: i64) -> Result<Number> {
    store::get_in_tx(tx, id)
        .await?
        .ok_or_else(|| Error::not_found(NUMBER))
}

// ---------------------------------------------------------------------------------------------
// Create.

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

// ---------------------------------------------------------------------------------------------
// Update, move, state moves, channels.

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
        && normalise("number", text, &current_org)?.as_str() != current.number
    {
        return Err(Error::field(
            "number",
            "cannot be changed; create the new number and delete this one",
        ));
    }
    let moving = input
        .organization_id
        .filter(|org| *org != current.organization_id);
    let org = match moving {
        Some(target) => {
            let org = crate::orgs::visible_field(db, caller, "organization_id", target).await?;
            if !org.path.starts_with(&current_org.path) {
                return Err(Error::field(
                    "organization_id",
                    format!(
                        "a number moves only down the tree: organization {target} is not a descendant of organization {}",
                        current.organization_id
                    ),
                ));
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
        number: &before.number,
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
        number: &before.number,
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

/// Sets the number's channel limit (`None`: unlimited).
pub async fn set_channels(db: &Db, caller: &Caller, id: i64, limit: Option<i64>) -> Result<Number> {
    let limit = limit
        .map(|l| model::validate_channel_limit("limit", l))
        .transpose()
        .map_err(Error::bad_request)?;
    visible(db, caller, id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let before = reread(&mut tx, id).await?;
    let tags = tags_to_column(&before.tags);
    let fields = NumberFields {
        organization_id: before.organization_id,
        number: &before.number,
        state: &before.state,
        assignment: before.assignment,
        channel_limit: limit,
        tags: &tags,
    };
    store::update(&mut tx, id, &fields, now).await?;
    let after = reread(&mut tx, id).await?;
    record(
        &mut tx,
        &caller.actor(),
        "channels",
        Some(&before),
        Some(&after),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

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

/// The numbers that route to `kind` `id` (released ones do not), as `tx` sees them: for a
/// delete of the target to refuse while they do. Call it after the target's `DELETE`, in the
/// same transaction: a writer assigning a number holds the target (`hold_assignment`), so the
/// `DELETE` waits for it to commit and this then sees its number, or the writer waits for the
/// delete and finds the target gone.
pub async fn assigned_to(tx: &mut Tx, kind: AssignmentType, id: i64) -> Result<InUse> {
    in_use(tx, kind, id, None).await
}

/// The numbers on device `device`'s lines from position `first` on: for an update that drops
/// those lines to refuse while numbers route to them.
pub async fn assigned_to_lines_from(tx: &mut Tx, device: i64, first: usize) -> Result<InUse> {
    let first = i64::try_from(first).unwrap_or(i64::MAX);
    in_use(tx, AssignmentType::DeviceLine, device, Some(first)).await
}

async fn in_use(
    tx: &mut Tx,
    kind: AssignmentType,
    id: i64,
    first_line: Option<i64>,
) -> Result<InUse> {
    let limit = InUse::NAMED as i64;
    let (rows, total) = store::assigned_to(tx, kind.as_str(), id, first_line, limit).await?;
    let named = rows
        .into_iter()
        .map(|(id, number, line)| match line {
            Some(line) => format!("{number} (id {id}, line {line})"),
            None => format!("{number} (id {id})"),
        })
        .collect();
    Ok(InUse {
        kind: "numbers",
        named,
        total: usize::try_from(total).unwrap_or(usize::MAX),
    })
}

/// A page of the number's history, oldest first.
pub async fn history(
    db: &Db,
    caller: &Caller,
    id: i64,
    page: Page,
) -> Result<(Vec<HistoryEntry>, i64)> {
    visible(db, caller, id).await?;
    Ok(store::history(db, id, page).await?)
}

fn released_unassigned() -> Error {
    Error::field(
        "assignment",
        "a released number has no assignment (releasing a number clears it)",
    )
}
