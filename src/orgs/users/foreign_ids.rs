//! A user's ids in other systems (`/v1/users/{id}/foreignids`): one per source, audited on the
//! user.

use super::{store, visible};
use crate::auth::{Caller, Permission};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::system::audit::{self, Change};
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

fn validate_token(field: &str, text: &str, max: usize) -> Result<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::field(field, "must not be empty"));
    }
    if text.chars().count() > max || text.chars().any(char::is_control) {
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
    let source = validate_token("source", source, 64)?.to_lowercase();
    let foreign_id = validate_token("foreign_id", foreign_id, 255)?;
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
