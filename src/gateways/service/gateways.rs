//! A trunk's gateways one by one: add at the end, change, remove.

use super::validate::{GatewayInput, GatewayUpdate, ParsedGateway};
use super::{MAX_GATEWAYS, audit, changed, tenancy::trunk_gateway, tenancy::visible_trunk};
use crate::auth::{Caller, Permission};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::gateways::model::Gateway;
use crate::gateways::store;
use crate::system::changes::Changes;
use chrono::Utc;

/// Appends a gateway to a trunk.
pub async fn add_gateway(
    db: &Db,
    changes: &Changes,
    caller: &Caller,
    trunk_id: i64,
    input: GatewayInput,
) -> Result<Gateway> {
    let trunk = visible_trunk(db, caller, trunk_id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let parsed = ParsedGateway::parse("", &input)?;
    if trunk.gateways.len() >= MAX_GATEWAYS {
        return Err(Error::Conflict(format!(
            "gateways: the trunk already has the maximum of {MAX_GATEWAYS} gateways"
        )));
    }
    let mut tx = db.begin().await?;
    let position = store::gateways::next_position(&mut tx, trunk_id).await?;
    let gateway = store::gateways::insert(
        &mut tx,
        trunk_id,
        &parsed.fields(None, position),
        Utc::now(),
    )
    .await?;
    audit::gateway(
        &mut tx,
        &caller.actor(),
        &trunk,
        "create",
        None,
        Some(&gateway),
    )
    .await?;
    tx.commit().await?;
    changes.publish(changed(trunk_id)).await;
    Ok(gateway)
}

/// Returns the gateway before and after: a changed URI keeps the id but makes the health kept
/// under it stale.
pub async fn update_gateway(
    db: &Db,
    changes: &Changes,
    caller: &Caller,
    trunk_id: i64,
    gateway_id: i64,
    input: GatewayUpdate,
) -> Result<(Gateway, Gateway)> {
    let (before, trunk) = trunk_gateway(db, caller, trunk_id, gateway_id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let parsed = ParsedGateway::update(&before.uri, &input)?;
    let fields = parsed.fields(Some(&before), before.position);
    let mut tx = db.begin().await?;
    let after = store::gateways::update(&mut tx, gateway_id, &fields, Utc::now()).await?;
    audit::gateway(
        &mut tx,
        &caller.actor(),
        &trunk,
        "update",
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    changes.publish(changed(trunk_id)).await;
    Ok((before, after))
}

pub async fn delete_gateway(
    db: &Db,
    changes: &Changes,
    caller: &Caller,
    trunk_id: i64,
    gateway_id: i64,
) -> Result<()> {
    let (before, trunk) = trunk_gateway(db, caller, trunk_id, gateway_id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let mut tx = db.begin().await?;
    store::gateways::delete(&mut tx, gateway_id).await?;
    audit::gateway(
        &mut tx,
        &caller.actor(),
        &trunk,
        "delete",
        Some(&before),
        None,
    )
    .await?;
    tx.commit().await?;
    changes.publish(changed(trunk_id)).await;
    Ok(())
}
