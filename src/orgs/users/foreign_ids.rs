//! A user's ids in other systems (`/v1/users/{id}/foreignids`): one per source, audited on the
//! user.

use super::{store, visible};
use crate::auth::{Caller, Permission};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::system::audit::{self, Change};
use crate::types::Name;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// A user's id in another system (CRM, billing, the platform migrated from).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct ForeignId {
    pub id: i64,
    pub user_id: i64,
    pub source: String,
    pub foreign_id: String,
    pub created_at: DateTime<Utc>,
}

pub async fn foreign_ids(db: &Db, caller: &Caller, user_id: i64) -> Result<Vec<ForeignId>> {
    visible(db, caller, user_id).await?;
    Ok(store::foreign_ids(db, user_id).await?)
}

/// The longest source name and foreign id.
const SOURCE_MAX: usize = 64;
const FOREIGN_ID_MAX: usize = 255;

/// A source as [`validate_token`] takes it: the syntax of a [`Name`].
pub type Source = Name<SOURCE_MAX>;
/// A foreign id as [`validate_token`] takes it.
pub type ExternalId = Name<FOREIGN_ID_MAX>;

/// Trimmed, 1 to `max` characters, no control characters: a [`Name`]'s rule, with this room's
/// messages; the length counts the text as given, as the document's `maxLength` does.
fn validate_token(field: &str, text: &str, max: usize) -> Result<String> {
    let given = text.chars().count();
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::field(field, "must not be empty"));
    }
    if given > max || text.chars().any(char::is_control) {
        return Err(Error::field(
            field,
            format!("must be at most {max} printable characters"),
        ));
    }
    Ok(text.to_string())
}

pub async fn add_foreign_id(
    db: &Db,
    caller: &Caller,
    user_id: i64,
    source: &str,
    foreign_id: &str,
) -> Result<ForeignId> {
    let user = visible(db, caller, user_id).await?;
    caller.require(Permission::UsersWrite)?;
    let source = validate_token("source", source, SOURCE_MAX)?.to_lowercase();
    let foreign_id = validate_token("foreign_id", foreign_id, FOREIGN_ID_MAX)?;
    let mut tx = db.begin().await?;
    let row = store::insert_foreign_id(&mut tx, user_id, &source, &foreign_id, Utc::now()).await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change {
            after: serde_json::to_value(&row).ok(),
            ..Change::of(&user, "foreignid.create", None, None)
        },
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn delete_foreign_id(db: &Db, caller: &Caller, user_id: i64, id: i64) -> Result<()> {
    let user = visible(db, caller, user_id).await?;
    caller.require(Permission::UsersWrite)?;
    let mut tx = db.begin().await?;
    let row = store::delete_foreign_id(&mut tx, user_id, id)
        .await?
        .ok_or_else(|| Error::not_found("foreign id"))?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change {
            before: serde_json::to_value(&row).ok(),
            ..Change::of(&user, "foreignid.delete", None, None)
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::schema::check::{Allows, texts};
    use utoipa::PartialSchema;

    #[test]
    fn the_schemas_agree_with_the_checks() {
        for (schema, max) in [
            (Source::schema(), SOURCE_MAX),
            (ExternalId::schema(), FOREIGN_ID_MAX),
        ] {
            let allows = Allows::new(&schema);
            let takes = |t: &str| validate_token("f", t, max).is_ok();
            for text in [
                "crm",
                " Billing System ",
                "ü-1",
                &"x".repeat(max),
                "",
                " ",
                "a\tb",
                "a\u{85}b",
                &"x".repeat(max + 1),
                &format!("x{}", "\u{85}".repeat(max - 1)),
                &format!("x{}", "\u{85}".repeat(max)),
            ] {
                assert_eq!(allows.allows(text), takes(text), "{text:?}");
            }
            let pieces = ["a", " ", "\u{a0}", "\u{7}", "é", "\n", "xyz"];
            for text in texts(&pieces, 12, 2000) {
                assert_eq!(allows.allows(&text), takes(&text), "{text:?}");
            }
        }
    }
}
