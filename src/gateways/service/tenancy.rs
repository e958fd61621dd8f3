//! Tenancy: every per-object route resolves through these (404 outside the caller's subtree).

use crate::auth::Caller;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::gateways::model::{GATEWAY, Gateway, TRUNK, Trunk};
use crate::gateways::store;
use crate::types::SipUri;

/// The trunk `id` with its gateways, if the caller may see it; 404 otherwise.
pub async fn visible_trunk(db: &Db, caller: &Caller, id: i64) -> Result<Trunk> {
    match store::trunks::get(db, id).await? {
        Some(trunk) if caller.scope().contains(&trunk.organization_path) => Ok(trunk),
        _ => Err(Error::not_found(TRUNK)),
    }
}

/// The gateway `id` and its trunk, if the caller may see them; 404 otherwise.
pub async fn visible_gateway(db: &Db, caller: &Caller, id: i64) -> Result<(Gateway, Trunk)> {
    let gateway = store::gateways::get(db, id)
        .await?
        .ok_or_else(|| Error::not_found(GATEWAY))?;
    // Its trunk out of sight is the gateway out of sight; any other failure (a corrupt trunk
    // row) is shown as it is.
    match visible_trunk(db, caller, gateway.trunk_id).await {
        Ok(trunk) => Ok((gateway, trunk)),
        Err(Error::NotFound(_)) => Err(Error::not_found(GATEWAY)),
        Err(e) => Err(e),
    }
}

/// The gateway `gateway_id` of the visible trunk `trunk_id` (404 if either is not).
pub async fn trunk_gateway(
    db: &Db,
    caller: &Caller,
    trunk_id: i64,
    gateway_id: i64,
) -> Result<(Gateway, Trunk)> {
    let trunk = visible_trunk(db, caller, trunk_id).await?;
    let gateway = trunk
        .gateways
        .iter()
        .find(|g| g.id == gateway_id)
        .cloned()
        .ok_or_else(|| Error::not_found(GATEWAY))?;
    Ok((gateway, trunk))
}

/// (gateway id, uri, trunk id) of every gateway, enabled or not, of the trunks in the caller's
/// subtree, ordered by trunk and position.
pub async fn gateways_in_scope(db: &Db, caller: &Caller) -> Result<Vec<(i64, SipUri, i64)>> {
    Ok(store::gateways::in_scope(db, &caller.scope().like()).await?)
}
