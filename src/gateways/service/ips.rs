//! A trunk's allowed source IPs: the addresses and networks its calls may come from.

use super::audit::change;
use super::{changed, tenancy::visible_trunk, validate};
use crate::auth::{Caller, Permission};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::gateways::model::{TRUNK_IP, TrunkIp};
use crate::gateways::store;
use crate::system::audit;
use crate::system::changes::Changes;
use chrono::Utc;

pub async fn list_ips(db: &Db, caller: &Caller, trunk_id: i64) -> Result<Vec<TrunkIp>> {
    visible_trunk(db, caller, trunk_id).await?;
    Ok(store::ips::of_trunk(db, trunk_id).await?)
}

/// Adds an address or network (canonical form stored; host bits set is refused).
pub async fn add_ip(
    db: &Db,
    changes: &Changes,
    caller: &Caller,
    trunk_id: i64,
    cidr: &str,
    description: &str,
) -> Result<TrunkIp> {
    let trunk = visible_trunk(db, caller, trunk_id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let cidr = validate::cidr(cidr)?;
    let description = validate::description(description)?;
    let mut tx = db.begin().await?;
    let ip = store::ips::insert(&mut tx, trunk_id, &cidr, &description, Utc::now()).await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        change(&trunk, "create", "siptrunk_ip", ip.id, None, Some(&ip)),
    )
    .await?;
    tx.commit().await?;
    changes.publish(changed(trunk_id)).await;
    Ok(ip)
}

/// (trunk id, organization id, CIDR) of every trunk IP, unscoped: the SIP redirect listener's
/// source table (a call from a trunk's address is that trunk's call).
pub async fn all_trunk_ips(db: &Db) -> Result<Vec<(i64, i64, String)>> {
    Ok(store::ips::all(db).await?)
}

pub async fn delete_ip(
    db: &Db,
    changes: &Changes,
    caller: &Caller,
    trunk_id: i64,
    ip_id: i64,
) -> Result<()> {
    let trunk = visible_trunk(db, caller, trunk_id).await?;
    let ip = store::ips::get(db, ip_id)
        .await?
        .filter(|ip| ip.trunk_id == trunk_id)
        .ok_or_else(|| Error::not_found(TRUNK_IP))?;
    caller.require(Permission::OrganizationsWrite)?;
    let mut tx = db.begin().await?;
    store::ips::delete(&mut tx, ip_id).await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        change(&trunk, "delete", "siptrunk_ip", ip_id, Some(&ip), None),
    )
    .await?;
    tx.commit().await?;
    changes.publish(changed(trunk_id)).await;
    Ok(())
}
