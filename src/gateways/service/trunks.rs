//! Trunks: list, create (with their gateways), update (a new gateway list replaces the old one,
//! keeping the ids of URIs already there), delete (refused while routed to or assigned), and the
//! unscoped reads the dial plan makes.

use super::audit::{self as audited, change};
use super::validate::{self, GatewayInput, ParsedGateway};
use super::{
    DEFAULT_FAILURES_TO_DOWN, DEFAULT_SUCCESSES_TO_UP, MAX_CHANNELS, THRESHOLDS, changed,
    tenancy::visible_trunk,
};
use crate::auth::{Caller, Permission};
use crate::db::Page;
use crate::db::{Db, Tx};
use crate::error::{Error, Result};
use crate::gateways::health::AliveCodes;
use crate::gateways::model::{Direction, TRUNK, Trunk};
use crate::gateways::store::{self, trunks::TrunkFields, trunks::TrunkFilter};
use crate::system::audit::{self, Actor};
use crate::system::changes::Changes;
use chrono::{DateTime, Utc};

async fn reread(tx: &mut Tx, id: i64) -> Result<Trunk> {
    store::trunks::get_in_tx(tx, id)
        .await?
        .ok_or_else(|| Error::not_found(TRUNK))
}

pub async fn list(
    db: &Db,
    caller: &Caller,
    filter: &TrunkFilter,
    page: Page,
) -> Result<(Vec<Trunk>, i64)> {
    Ok(store::trunks::list(db, &caller.scope().like(), filter, page).await?)
}

/// Input of a new trunk; `organization_id` defaults to the caller's organization.
#[derive(Debug, Clone)]
pub struct NewTrunk {
    pub organization_id: Option<i64>,
    pub name: String,
    pub direction: Direction,
    pub max_channels: i64,
    pub alive_codes: Option<String>,
    pub failures_to_down: Option<i64>,
    pub successes_to_up: Option<i64>,
    pub gateways: Vec<GatewayInput>,
}

/// Creates a trunk and its gateways (positions in list order) in one transaction.
pub async fn create(db: &Db, changes: &Changes, caller: &Caller, input: NewTrunk) -> Result<Trunk> {
    caller.require(Permission::OrganizationsWrite)?;
    let organization_id = input.organization_id.unwrap_or(caller.organization_id);
    crate::orgs::visible_field(db, caller, "organization_id", organization_id).await?;
    let name = validate::name(&input.name)?;
    let max_channels = validate::in_range("max_channels", input.max_channels, MAX_CHANNELS, "")?;
    let alive_codes = match input.alive_codes.as_deref() {
        Some(text) => validate::alive_codes(text)?,
        None => AliveCodes::default(),
    };
    let failures_to_down = validate::in_range(
        "failures_to_down",
        input.failures_to_down.unwrap_or(DEFAULT_FAILURES_TO_DOWN),
        THRESHOLDS,
        "",
    )?;
    let successes_to_up = validate::in_range(
        "successes_to_up",
        input.successes_to_up.unwrap_or(DEFAULT_SUCCESSES_TO_UP),
        THRESHOLDS,
        "",
    )?;
    let gateways = validate::gateway_list(&input.gateways)?;
    let fields = TrunkFields {
        name: &name,
        direction: input.direction,
        max_channels,
        alive_codes: &alive_codes,
        failures_to_down,
        successes_to_up,
    };
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let id = store::trunks::insert(&mut tx, organization_id, &fields, now).await?;
    for (position, gateway) in gateways.iter().enumerate() {
        let fields = gateway.fields(None, position as i64);
        store::gateways::insert(&mut tx, id, &fields, now).await?;
    }
    let trunk = reread(&mut tx, id).await?;
    let actor = caller.actor();
    audit::record(
        &mut tx,
        &actor,
        change(&trunk, "create", "siptrunk", id, None, Some(&trunk)),
    )
    .await?;
    for gateway in &trunk.gateways {
        audited::gateway(&mut tx, &actor, &trunk, "create", None, Some(gateway)).await?;
    }
    tx.commit().await?;
    changes.publish(changed(trunk.id)).await;
    Ok(trunk)
}

/// Changes to a trunk: absent fields keep their value. `gateways`, when given, is the whole new
/// list: a gateway whose URI is already on the trunk keeps its id (and so its health history),
/// the others are added, and those not listed are removed. `organization_id` may be repeated but
/// not changed.
#[derive(Debug, Clone, Default)]
pub struct TrunkUpdate {
    pub organization_id: Option<i64>,
    pub name: Option<String>,
    pub direction: Option<Direction>,
    pub max_channels: Option<i64>,
    pub alive_codes: Option<String>,
    pub failures_to_down: Option<i64>,
    pub successes_to_up: Option<i64>,
    pub gateways: Option<Vec<GatewayInput>>,
}

pub async fn update(
    db: &Db,
    changes: &Changes,
    caller: &Caller,
    id: i64,
    input: TrunkUpdate,
) -> Result<Trunk> {
    let current = visible_trunk(db, caller, id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    if let Some(org) = input.organization_id
        && org != current.organization_id
    {
        return Err(Error::immutable("organization_id", ""));
    }
    let name = input.name.as_deref().map(validate::name).transpose()?;
    let max_channels = input
        .max_channels
        .map(|v| validate::in_range("max_channels", v, MAX_CHANNELS, ""))
        .transpose()?;
    let alive_codes = input
        .alive_codes
        .as_deref()
        .map(validate::alive_codes)
        .transpose()?;
    let failures_to_down = input
        .failures_to_down
        .map(|v| validate::in_range("failures_to_down", v, THRESHOLDS, ""))
        .transpose()?;
    let successes_to_up = input
        .successes_to_up
        .map(|v| validate::in_range("successes_to_up", v, THRESHOLDS, ""))
        .transpose()?;
    let gateways = input
        .gateways
        .as_deref()
        .map(validate::gateway_list)
        .transpose()?;

    let now = Utc::now();
    let mut tx = db.begin().await?;
    let before = reread(&mut tx, id).await?;
    let fields = TrunkFields {
        name: name.as_ref().unwrap_or(&before.name),
        direction: input.direction.unwrap_or(before.direction),
        max_channels: max_channels.unwrap_or(before.max_channels),
        alive_codes: alive_codes.as_ref().unwrap_or(&before.alive_codes),
        failures_to_down: failures_to_down.unwrap_or(before.failures_to_down),
        successes_to_up: successes_to_up.unwrap_or(before.successes_to_up),
    };
    store::trunks::update(&mut tx, id, &fields, now).await?;
    let actor = caller.actor();
    if let Some(list) = &gateways {
        replace_gateways(&mut tx, &actor, &before, list, now).await?;
    }
    let after = reread(&mut tx, id).await?;
    audit::record(
        &mut tx,
        &actor,
        change(
            &after,
            "update",
            "siptrunk",
            id,
            Some(&before),
            Some(&after),
        ),
    )
    .await?;
    tx.commit().await?;
    changes.publish(changed(id)).await;
    Ok(after)
}

/// Makes `trunk`'s gateways the list `wanted` (see [`TrunkUpdate`]), auditing each change.
async fn replace_gateways(
    tx: &mut Tx,
    actor: &Actor,
    trunk: &Trunk,
    wanted: &[ParsedGateway],
    now: DateTime<Utc>,
) -> Result<()> {
    // Removals first, so a URI is never on the trunk twice.
    for old in &trunk.gateways {
        if !wanted.iter().any(|w| w.uri == old.uri) {
            store::gateways::delete(tx, old.id).await?;
            audited::gateway(tx, actor, trunk, "delete", Some(old), None).await?;
        }
    }
    for (position, want) in wanted.iter().enumerate() {
        let old = trunk.gateways.iter().find(|g| g.uri == want.uri);
        let fields = want.fields(old, position as i64);
        match old {
            Some(old) if validate::fields_of(old) == fields => {}
            Some(old) => {
                let new = store::gateways::update(tx, old.id, &fields, now).await?;
                audited::gateway(tx, actor, trunk, "update", Some(old), Some(&new)).await?;
            }
            None => {
                let new = store::gateways::insert(tx, trunk.id, &fields, now).await?;
                audited::gateway(tx, actor, trunk, "create", None, Some(&new)).await?;
            }
        }
    }
    Ok(())
}

/// Whether trunk `id` still exists, held until `tx` ends against a concurrent delete (whose
/// in-use check then sees what `tx` wrote): for rooms that route or assign to a trunk.
pub async fn hold_trunk(tx: &mut Tx, id: i64) -> Result<bool> {
    Ok(store::trunks::hold(tx, id).await?)
}

/// Deletes a trunk with its gateways and IPs (each removal audited); refused while a dial plan
/// policy routes to it or a number is assigned to it.
pub async fn delete(db: &Db, changes: &Changes, caller: &Caller, id: i64) -> Result<()> {
    visible_trunk(db, caller, id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let mut tx = db.begin().await?;
    let before = reread(&mut tx, id).await?;
    let ips = store::ips::of_trunk_in_tx(&mut tx, id).await?;
    store::trunks::delete(&mut tx, id).await?;
    // After the DELETE: see `numbers::assigned_to`.
    let policies = crate::dialplan::policies::routing_to_trunk(&mut tx, id).await?;
    let numbers =
        crate::numbers::service::assigned_to(&mut tx, crate::numbers::AssignmentType::Trunk, id)
            .await?;
    Error::refuse_in_use(
        &format!("SIP trunk {id} ({})", before.name),
        &[policies, numbers],
        "route and assign them elsewhere first",
    )?;
    let actor = caller.actor();
    for gateway in &before.gateways {
        audited::gateway(&mut tx, &actor, &before, "delete", Some(gateway), None).await?;
    }
    for ip in &ips {
        audit::record(
            &mut tx,
            &actor,
            change(&before, "delete", "siptrunk_ip", ip.id, Some(ip), None),
        )
        .await?;
    }
    audit::record(
        &mut tx,
        &actor,
        change(&before, "delete", "siptrunk", id, Some(&before), None),
    )
    .await?;
    tx.commit().await?;
    changes.publish(changed(id)).await;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The dial plan's view: trunks as route targets, unscoped (the dial plan checks that a target
// belongs to the policy's organization or an ancestor).

/// Every trunk with its gateways, for the dial plan's in-memory snapshot. Read a thousand at a
/// time: the gateways of a page are fetched with one bind parameter per trunk.
pub async fn all_trunks(db: &Db) -> Result<Vec<Trunk>> {
    const BATCH: i64 = 1000;
    let mut trunks = Vec::new();
    loop {
        let page = Page {
            limit: BATCH,
            offset: trunks.len() as i64,
        };
        let (batch, _) = store::trunks::list(db, "%", &TrunkFilter::default(), page).await?;
        let done = (batch.len() as i64) < BATCH;
        trunks.extend(batch);
        if done {
            return Ok(trunks);
        }
    }
}

/// The trunk `id` with its gateways, whoever owns it.
pub async fn trunk(db: &Db, id: i64) -> Result<Option<Trunk>> {
    Ok(store::trunks::get(db, id).await?)
}
