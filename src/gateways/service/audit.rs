//! The audit records of trunk, gateway and trunk IP writes, in the trunk's organization.

use crate::db::Tx;
use crate::error::Result;
use crate::gateways::model::{Gateway, Trunk};
use crate::system::audit::{self, Actor, Change};
use serde::Serialize;

/// One audited change of something belonging to `trunk`.
pub(super) fn change<'a, T: Serialize>(
    trunk: &'a Trunk,
    action: &'a str,
    entity_type: &'a str,
    entity_id: i64,
    before: Option<&T>,
    after: Option<&T>,
) -> Change<'a> {
    Change {
        organization_id: trunk.organization_id,
        organization_path: &trunk.organization_path,
        action,
        entity_type,
        entity_id: entity_id.to_string(),
        before: audit::snapshot(before),
        after: audit::snapshot(after),
    }
}

pub(super) async fn gateway(
    tx: &mut Tx,
    actor: &Actor,
    trunk: &Trunk,
    action: &str,
    before: Option<&Gateway>,
    after: Option<&Gateway>,
) -> Result<()> {
    let id = after.or(before).map_or(0, |g| g.id);
    audit::record(
        tx,
        actor,
        change(trunk, action, "gateway", id, before, after),
    )
    .await
}
