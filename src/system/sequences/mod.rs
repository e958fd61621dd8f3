//! Sequences: named counters per organization (`invoice`, `ticket` …) with a prefix and zero
//! padding, whose numbers are gapless and unique under concurrent calls from every instance
//! (`store::take`). Invoices take their numbers here; operators' own tools call
//! `POST /v1/sequences/{name}/next`.

pub mod api;
pub mod model;
mod store;

pub use model::{Issued, Sequence, SequenceName};

use crate::auth::{Caller, Permission};
use crate::db::{Db, Page, Tx};
use crate::error::{Error, Result};
use crate::system::audit::{self, Change};
use chrono::Utc;

pub async fn visible(db: &Db, caller: &Caller, id: i64) -> Result<Sequence> {
    caller.require(Permission::OrganizationsRead)?;
    match store::fetch(db, id).await? {
        Some(s) if caller.scope().contains(&s.organization_path) => Ok(s),
        _ => Err(Error::not_found("sequence")),
    }
}

pub async fn list(
    db: &Db,
    caller: &Caller,
    organization_id: Option<i64>,
    page: Page,
) -> Result<(Vec<Sequence>, i64)> {
    caller.require(Permission::OrganizationsRead)?;
    Ok(store::list(db, &caller.scope().like(), organization_id, page).await?)
}

fn check_padding(padding: u32) -> Result<()> {
    if padding > model::PADDING_MAX {
        return Err(Error::field(
            "padding",
            format!("must be at most {}", model::PADDING_MAX),
        ));
    }
    Ok(())
}

/// Input of a new sequence; `organization_id` defaults to the caller's, `start` to 1.
pub struct NewSequence {
    pub organization_id: Option<i64>,
    pub name: SequenceName,
    pub prefix: String,
    pub padding: u32,
    pub start: i64,
}

pub async fn create(db: &Db, caller: &Caller, input: NewSequence) -> Result<Sequence> {
    caller.require(Permission::OrganizationsWrite)?;
    let org_id = input.organization_id.unwrap_or(caller.organization_id);
    let org = crate::orgs::visible_field(db, caller, "organization_id", org_id).await?;
    model::check_prefix(&input.prefix).map_err(|e| Error::field("prefix", e))?;
    check_padding(input.padding)?;
    if input.start < 0 {
        return Err(Error::field("start", "must be 0 or more"));
    }
    let mut tx = db.begin().await?;
    let id = store::insert(
        &mut tx,
        org.id,
        input.name.as_str(),
        &input.prefix,
        input.padding,
        input.start,
        Utc::now(),
    )
    .await?;
    let sequence = store::fetch_tx(&mut tx, id).await?.ok_or_else(gone)?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&sequence, "create", None, Some(&sequence)),
    )
    .await?;
    tx.commit().await?;
    Ok(sequence)
}

fn gone() -> Error {
    Error::not_found("sequence")
}

/// Changes the prefix or padding (the count goes on; it cannot be set back, which would hand
/// out numbers twice).
pub async fn update(
    db: &Db,
    caller: &Caller,
    id: i64,
    prefix: Option<String>,
    padding: Option<u32>,
) -> Result<Sequence> {
    let before = visible(db, caller, id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let prefix = prefix.unwrap_or_else(|| before.prefix.clone());
    model::check_prefix(&prefix).map_err(|e| Error::field("prefix", e))?;
    let padding = padding.unwrap_or(before.padding);
    check_padding(padding)?;
    let mut tx = db.begin().await?;
    if !store::update(&mut tx, id, &prefix, padding, Utc::now()).await? {
        return Err(gone());
    }
    let after = store::fetch_tx(&mut tx, id).await?.ok_or_else(gone)?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&after, "update", Some(&before), Some(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn delete(db: &Db, caller: &Caller, id: i64) -> Result<()> {
    let sequence = visible(db, caller, id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let mut tx = db.begin().await?;
    if !store::delete(&mut tx, id).await? {
        return Err(gone());
    }
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&sequence, "delete", Some(&sequence), None),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Takes the next number of sequence `id` inside the caller's transaction `tx` (an invoice
/// and its number commit or roll back together).
pub async fn take_in(tx: &mut Tx, id: i64) -> Result<Issued> {
    let (value, prefix, padding) = store::take(tx, id, Utc::now()).await?.ok_or_else(gone)?;
    let padding = u32::try_from(padding).unwrap_or(0);
    Ok(Issued {
        sequence_id: id,
        value,
        formatted: model::format(&prefix, padding, value),
    })
}

/// `POST /v1/sequences/{name}/next`: the next number of sequence `name` of the organization
/// (default the caller's).
pub async fn next(
    db: &Db,
    caller: &Caller,
    name: &str,
    organization_id: Option<i64>,
) -> Result<Issued> {
    caller.require(Permission::OrganizationsWrite)?;
    let org_id = organization_id.unwrap_or(caller.organization_id);
    let org = crate::orgs::visible_field(db, caller, "organization_id", org_id).await?;
    let name = SequenceName::parse(name).map_err(|_| gone())?;
    let id = store::find(db, org.id, name.as_str())
        .await?
        .ok_or_else(gone)?;
    let mut tx = db.begin().await?;
    let issued = take_in(&mut tx, id).await?;
    let sequence = store::fetch_tx(&mut tx, id).await?.ok_or_else(gone)?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&sequence, "next", None, Some(&sequence)),
    )
    .await?;
    tx.commit().await?;
    metrics::counter!("sequence_numbers_issued_total").increment(1);
    Ok(issued)
}
