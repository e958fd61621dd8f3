//! The numbers service: CRUD, state moves, channels, moves down the organization tree and
//! assignments, each tenancy-checked, validated and written in one transaction with its history
//! entry and audit record.

mod activation;
mod channels;
mod create;
mod delete;
mod in_use;
mod record;
mod update;

pub use activation::{activate, deactivate};
pub use channels::set_channels;
pub use create::{NewNumber, create};
pub use delete::delete;
pub use in_use::{assigned_to, assigned_to_lines_from};
pub use update::{NumberUpdate, update};

use super::model::{HistoryEntry, Number};
use super::store::{self, NumberFilter};
use crate::auth::Caller;
use crate::db::Page;
use crate::db::{Db, Tx};
use crate::error::{Error, Result};
use crate::orgs::Organization;
use crate::types::E164;

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
        Error::NotFound(_) => Error::missing(field, format_args!("number {id}")),
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

/// Reads `text` as a number of `org`'s country (400 naming `field`). A national number for an
/// organization whose country has no numbering plan here is a 409: the request is well formed,
/// the organization's data cannot read it (give it in E.164, or set the country).
pub fn normalise(field: &str, text: &str, org: &Organization) -> Result<E164> {
    let international = text.trim().starts_with('+');
    if !international && crate::types::e164::country_of(&org.country).is_none() {
        return Err(Error::Conflict(format!(
            "{field}: organization {} has no known country ({}), so national numbers cannot be \
             read; give the number in E.164 form (+…)",
            org.id,
            crate::types::text::quote_prefix(&org.country)
        )));
    }
    E164::parse(text, Some(&org.country)).map_err(|e| Error::field(field, e))
}

async fn reread(tx: &mut Tx, id: i64) -> Result<Number> {
    store::get_in_tx(tx, id)
        .await?
        .ok_or_else(|| Error::not_found(NUMBER))
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

/// 409: an assignment on a released number conflicts with its state (well formed, not possible).
fn released_unassigned() -> Error {
    Error::Conflict(
        "assignment: a released number has no assignment (releasing a number clears it)".into(),
    )
}
