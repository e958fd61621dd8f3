//! A number's channel limit (concurrent calls).

use super::record::record;
use super::{reread, visible};
use crate::auth::{Caller, Permission};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::numbers::model::{self, Number, tags_to_column};
use crate::numbers::store::{self, NumberFields};
use chrono::Utc;

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
        number: before.number.as_str(),
        state: before.state.as_str(),
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
