//! Legal holds: an organization's subtree's data of some kinds (optionally only what was
//! created within a span of time) kept, for a litigation or an investigation, from the purge
//! and from every delete path of the API that would remove it (a 409 naming the hold), until
//! the hold is released. Placing and releasing are audited and filed as events
//! (`legalhold.placed`, `legalhold.released`); a released hold stays readable.

pub mod api;
pub mod model;
mod store;

pub use model::LegalHold;

use crate::auth::{Caller, Permission};
use crate::db::{Db, Page};
use crate::error::{Error, Result};
use crate::system::audit::{self, Change};
use crate::system::events::{self, NewEvent, Severity};
use crate::system::retention::Kind;
use chrono::{DateTime, Utc};

pub async fn visible(db: &Db, caller: &Caller, id: i64) -> Result<LegalHold> {
    caller.require(Permission::RetentionRead)?;
    match store::fetch(db, id).await? {
        Some(h) if caller.scope().contains(&h.organization_path) => Ok(h),
        _ => Err(gone()),
    }
}

fn gone() -> Error {
    Error::not_found("legal hold")
}

pub async fn list(
    db: &Db,
    caller: &Caller,
    organization_id: Option<i64>,
    active: Option<bool>,
    page: Page,
) -> Result<(Vec<LegalHold>, i64)> {
    caller.require(Permission::RetentionRead)?;
    Ok(store::list(db, &caller.scope().like(), organization_id, active, page).await?)
}

/// Input of a new hold; `organization_id` defaults to the caller's.
pub struct NewHold {
    pub organization_id: Option<i64>,
    pub kinds: Vec<Kind>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub reason: String,
}

pub async fn place(db: &Db, caller: &Caller, input: NewHold) -> Result<LegalHold> {
    caller.require(Permission::RetentionWrite)?;
    let org_id = input.organization_id.unwrap_or(caller.organization_id);
    let org = crate::orgs::visible_field(db, caller, "organization_id", org_id).await?;
    let mut kinds = input.kinds;
    kinds.sort();
    kinds.dedup();
    if kinds.is_empty() {
        return Err(Error::field("kinds", "name at least one data kind"));
    }
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().count() > model::REASON_MAX {
        return Err(Error::field(
            "reason",
            format!("must be 1 to {} characters", model::REASON_MAX),
        ));
    }
    if let (Some(from), Some(until)) = (input.from, input.until)
        && from >= until
    {
        // Both are valid instants; together they name no span.
        return Err(Error::Conflict(
            "until: must be after from (the hold would keep nothing)".into(),
        ));
    }
    let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    let joined = names.join(",");
    let mut tx = db.begin().await?;
    let row = store::NewRow {
        organization_id: org.id,
        kinds: &joined,
        from: input.from,
        until: input.until,
        reason,
        placed_by: &caller.username,
    };
    let id = store::insert(&mut tx, &row, Utc::now()).await?;
    let hold = store::fetch_tx(&mut tx, id).await?.ok_or_else(gone)?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&hold, "create", None, Some(&hold)),
    )
    .await?;
    let message = format!(
        "legal hold {id} placed on {} by {}: {reason}",
        names.join(", "),
        caller.username
    );
    events::record_in(&mut tx, event(&hold, "legalhold.placed", message)).await?;
    tx.commit().await?;
    Ok(hold)
}

fn event<'a>(hold: &'a LegalHold, name: &'a str, message: String) -> NewEvent<'a> {
    NewEvent {
        organization_id: hold.organization_id,
        organization_path: &hold.organization_path,
        source: "legalholds",
        severity: Severity::Info,
        entity_type: "legal_hold",
        entity_id: hold.id.to_string(),
        event: name,
        message,
        detail: audit::snapshot(Some(hold)),
    }
}

/// Releases hold `id`: its data is the purge's again. 409 if it was released already.
pub async fn release(db: &Db, caller: &Caller, id: i64) -> Result<LegalHold> {
    let before = visible(db, caller, id).await?;
    caller.require(Permission::RetentionWrite)?;
    if let Some(at) = before.released_at {
        return Err(Error::Conflict(format!(
            "legal hold {id} was released at {}",
            at.to_rfc3339()
        )));
    }
    let mut tx = db.begin().await?;
    if !store::release(&mut tx, id, &caller.username, Utc::now()).await? {
        return Err(Error::Conflict(format!(
            "legal hold {id} was released already"
        )));
    }
    let after = store::fetch_tx(&mut tx, id).await?.ok_or_else(gone)?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&after, "release", Some(&before), Some(&after)),
    )
    .await?;
    let message = format!("legal hold {id} released by {}", caller.username);
    events::record_in(&mut tx, event(&after, "legalhold.released", message)).await?;
    tx.commit().await?;
    Ok(after)
}

/// 409 naming the hold when an active hold keeps data of one of `kinds` of the organization at
/// `path` (its own or a parent's): `what` (`"organization 9"`) cannot be deleted. Delete paths
/// call it before they remove held data; it checks the kind, not each row's time, so a hold
/// limited to a span blocks the whole delete.
pub async fn refuse_held(db: &Db, path: &str, kinds: &[Kind], what: &str) -> Result<()> {
    let holds = store::active_over(db, path).await?;
    let held = holds
        .iter()
        .find(|h| kinds.iter().any(|k| h.covers(path, *k)));
    match held {
        Some(hold) => Err(Error::Conflict(format!(
            "{what} holds data kept by {}; release the hold first",
            hold.name()
        ))),
        None => Ok(()),
    }
}

/// Every active hold, for the purge.
pub async fn active(db: &Db) -> Result<Vec<LegalHold>> {
    Ok(store::active_all(db).await?)
}
