//! The trunks-and-gateways service: CRUD of SIP trunks, their gateways and allowed source IPs
//! (tenancy-checked, validated, audited, one transaction each), and what the pinger and the
//! `/v1/sipgwping` route read.

use super::health::{AliveCodes, DEFAULT_ALIVE, Policy};
use super::model::{Direction, Gateway, Trunk, TrunkIp};
use super::store::{self, GatewayFields, TrunkFields, TrunkFilter};
use crate::auth::{Caller, Permission};
use crate::db::Page;
use crate::db::{Db, Tx};
use crate::error::{Error, Result};
use crate::sip::uri::SipUri;
use crate::system::audit::{self, Actor, Change};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::ops::RangeInclusive;
use std::time::Duration;

pub const MAX_CHANNELS: RangeInclusive<i64> = 1..=100_000;
/// Range of `failures_to_down` and `successes_to_up`.
pub const THRESHOLDS: RangeInclusive<i64> = 1..=100;
/// Range of the per-gateway ping intervals, in seconds.
pub const PING_INTERVALS: RangeInclusive<i64> = 1..=3600;
pub const DEFAULT_FAILURES_TO_DOWN: i64 = 3;
pub const DEFAULT_SUCCESSES_TO_UP: i64 = 2;
/// Gateways one trunk may have.
pub const MAX_GATEWAYS: usize = 100;

const TRUNK: &str = "SIP trunk";
const GATEWAY: &str = "gateway";
const TRUNK_IP: &str = "trunk IP";

// ---------------------------------------------------------------------------------------------
// Tenancy: every per-object route resolves through these (404 outside the caller's subtree).

/// The trunk `id` with its gateways, if the caller may see it; 404 otherwise.
pub async fn visible_trunk(db: &Db, caller: &Caller, id: i64) -> Result<Trunk> {
    match store::get(db, id).await? {
        Some(trunk) if caller.scope().contains(&trunk.organization_path) => Ok(trunk),
        _ => Err(Error::not_found(TRUNK)),
    }
}

/// The gateway `id` and its trunk, if the caller may see them; 404 otherwise.
pub async fn visible_gateway(db: &Db, caller: &Caller, id: i64) -> Result<(Gateway, Trunk)> {
    let gateway = store::get_gateway(db, id)
        .await?
        .ok_or_else(|| Error::not_found(GATEWAY))?;
    let trunk = visible_trunk(db, caller, gateway.trunk_id)
        .await
        .map_err(|_| Error::not_found(GATEWAY))?;
    Ok((gateway, trunk))
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
pub async fn gateways_in_scope(db: &Db, caller: &Caller) -> Result<Vec<(i64, String, i64)>> {
    Ok(store::gateways_in_scope(db, &caller.scope().like()).await?)
}

// ---------------------------------------------------------------------------------------------
// Validation (pure).

fn validate_name(text: &str) -> Result<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::field("name", "must not be empty"));
    }
    if text.chars().count() > 100 {
        return Err(Error::field("name", "must be at most 100 characters"));
    }
    if text.chars().any(char::is_control) {
        return Err(Error::field("name", "must not contain control characters"));
    }
    Ok(text.to_string())
}

fn in_range(field: &str, value: i64, range: RangeInclusive<i64>, unit: &str) -> Result<i64> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(Error::field(
            field,
            format!(
                "must be between {} and {}{unit}, got {value}",
                range.start(),
                range.end()
            ),
        ))
    }
}

/// The canonical text of an alive-codes set (`2xx, 4xx ,!408` → `2xx,4xx,!408`).
fn validate_alive_codes(text: &str) -> Result<String> {
    AliveCodes::parse(text)
        .map(|codes| codes.to_string())
        .map_err(|e| Error::field("alive_codes", e))
}

/// The normalised text of a gateway URI.
fn validate_uri(field: &str, text: &str) -> Result<String> {
    SipUri::parse(text)
        .map(|uri| uri.to_string())
        .map_err(|e| Error::field(field, e))
}

fn validate_interval(field: &str, value: Option<i64>) -> Result<Option<i64>> {
    value
        .map(|v| {
            in_range(
                field,
                v,
                PING_INTERVALS,
                " seconds (or null for the default)",
            )
        })
        .transpose()
}

fn validate_description(text: &str) -> Result<String> {
    let text = text.trim();
    if text.chars().count() > 500 {
        return Err(Error::field(
            "description",
            "must be at most 500 characters",
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(Error::field(
            "description",
            "must not contain control characters",
        ));
    }
    Ok(text.to_string())
}

/// A gateway as a request gives it. `None` fields keep the current value of an existing gateway
/// (or take the default for a new one); `Some(None)` clears an interval.
#[derive(Debug, Clone, Default)]
pub struct GatewayInput {
    pub uri: String,
    pub enabled: Option<bool>,
    pub ping_interval_s: Option<Option<i64>>,
    pub down_ping_interval_s: Option<Option<i64>>,
}

/// A [`GatewayInput`] with its values checked and its URI normalised.
#[derive(Debug, Clone)]
struct ParsedGateway {
    uri: String,
    enabled: Option<bool>,
    ping_interval_s: Option<Option<i64>>,
    down_ping_interval_s: Option<Option<i64>>,
}

impl ParsedGateway {
    /// `prefix` names the gateway in errors (`gateways[2].`, or empty for a single gateway).
    fn parse(prefix: &str, input: &GatewayInput) -> Result<Self> {
        Ok(Self {
            uri: validate_uri(&format!("{prefix}uri"), &input.uri)?,
            enabled: input.enabled,
            ping_interval_s: input
                .ping_interval_s
                .map(|v| validate_interval(&format!("{prefix}ping_interval_s"), v))
                .transpose()?,
            down_ping_interval_s: input
                .down_ping_interval_s
                .map(|v| validate_interval(&format!("{prefix}down_ping_interval_s"), v))
                .transpose()?,
        })
    }

    /// The stored fields: given values over `existing`'s, over the defaults.
    fn fields(&self, existing: Option<&Gateway>, position: i64) -> GatewayFields {
        GatewayFields {
            uri: self.uri.clone(),
            enabled: self.enabled.or(existing.map(|g| g.enabled)).unwrap_or(true),
            ping_interval_s: self
                .ping_interval_s
                .unwrap_or_else(|| existing.and_then(|g| g.ping_interval_s)),
            down_ping_interval_s: self
                .down_ping_interval_s
                .unwrap_or_else(|| existing.and_then(|g| g.down_ping_interval_s)),
            position,
        }
    }
}

/// Checks a trunk's gateway list: every entry valid, no URI twice, not too many.
fn parse_gateways(inputs: &[GatewayInput]) -> Result<Vec<ParsedGateway>> {
    if inputs.len() > MAX_GATEWAYS {
        return Err(Error::field(
            "gateways",
            format!("at most {MAX_GATEWAYS} gateways per trunk"),
        ));
    }
    let mut parsed: Vec<ParsedGateway> = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let gateway = ParsedGateway::parse(&format!("gateways[{i}]."), input)?;
        if let Some(j) = parsed.iter().position(|p| p.uri == gateway.uri) {
            return Err(Error::field(
                &format!("gateways[{i}].uri"),
                format!("{} is already gateways[{j}]", gateway.uri),
            ));
        }
        parsed.push(gateway);
    }
    Ok(parsed)
}

fn fields_of(gateway: &Gateway) -> GatewayFields {
    GatewayFields {
        uri: gateway.uri.clone(),
        enabled: gateway.enabled,
        ping_interval_s: gateway.ping_interval_s,
        down_ping_interval_s: gateway.down_ping_interval_s,
        position: gateway.position,
    }
}

// ---------------------------------------------------------------------------------------------
// Audit.

fn change<'a, T: Serialize>(
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
        before: crate::system::audit::snapshot(before),
        after: crate::system::audit::snapshot(after),
    }
}

async fn audit_gateway(
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

async fn reread(tx: &mut Tx, id: i64) -> Result<Trunk> {
    store::get_in_tx(tx, id)
        .await?
        .ok_or_else(|| Error::not_found(TRUNK))
}

// ---------------------------------------------------------------------------------------------
// Trunks.

pub async fn list(
    db: &Db,
    caller: &Caller,
    filter: &TrunkFilter,
    page: Page,
) -> Result<(Vec<Trunk>, i64)> {
    Ok(store::list(db, &caller.scope().like(), filter, page).await?)
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
pub async fn create(db: &Db, caller: &Caller, input: NewTrunk) -> Result<Trunk> {
    caller.require(Permission::OrganizationsWrite)?;
    let organization_id = input.organization_id.unwrap_or(caller.organization_id);
    crate::orgs::visible_field(db, caller, "organization_id", organization_id).await?;
    let name = validate_name(&input.name)?;
    let max_channels = in_range("max_channels", input.max_channels, MAX_CHANNELS, "")?;
    let alive_codes = validate_alive_codes(input.alive_codes.as_deref().unwrap_or(DEFAULT_ALIVE))?;
    let failures_to_down = in_range(
        "failures_to_down",
        input.failures_to_down.unwrap_or(DEFAULT_FAILURES_TO_DOWN),
        THRESHOLDS,
        "",
    )?;
    let successes_to_up = in_range(
        "successes_to_up",
        input.successes_to_up.unwrap_or(DEFAULT_SUCCESSES_TO_UP),
        THRESHOLDS,
        "",
    )?;
    let gateways = parse_gateways(&input.gateways)?;
    let fields = TrunkFields {
        name: &name,
        direction: input.direction.as_str(),
        max_channels,
        alive_codes: &alive_codes,
        failures_to_down,
        successes_to_up,
    };
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let id = store::insert_trunk(&mut tx, organization_id, &fields, now).await?;
    for (position, gateway) in gateways.iter().enumerate() {
        store::insert_gateway(&mut tx, id, &gateway.fields(None, position as i64), now).await?;
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
        audit_gateway(&mut tx, &actor, &trunk, "create", None, Some(gateway)).await?;
    }
    tx.commit().await?;
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

pub async fn update(db: &Db, caller: &Caller, id: i64, input: TrunkUpdate) -> Result<Trunk> {
    let current = visible_trunk(db, caller, id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    if let Some(org) = input.organization_id
        && org != current.organization_id
    {
        return Err(Error::field("organization_id", "cannot be changed"));
    }
    let name = input.name.as_deref().map(validate_name).transpose()?;
    let max_channels = input
        .max_channels
        .map(|v| in_range("max_channels", v, MAX_CHANNELS, ""))
        .transpose()?;
    let alive_codes = input
        .alive_codes
        .as_deref()
        .map(validate_alive_codes)
        .transpose()?;
    let failures_to_down = input
        .failures_to_down
        .map(|v| in_range("failures_to_down", v, THRESHOLDS, ""))
        .transpose()?;
    let successes_to_up = input
        .successes_to_up
        .map(|v| in_range("successes_to_up", v, THRESHOLDS, ""))
        .transpose()?;
    let gateways = input.gateways.as_deref().map(parse_gateways).transpose()?;

    let now = Utc::now();
    let mut tx = db.begin().await?;
    let before = reread(&mut tx, id).await?;
    let fields = TrunkFields {
        name: name.as_deref().unwrap_or(&before.name),
        direction: match input.direction {
            Some(d) => d.as_str(),
            None => &before.direction,
        },
        max_channels: max_channels.unwrap_or(before.max_channels),
        alive_codes: alive_codes.as_deref().unwrap_or(&before.alive_codes),
        failures_to_down: failures_to_down.unwrap_or(before.failures_to_down),
        successes_to_up: successes_to_up.unwrap_or(before.successes_to_up),
    };
    store::update_trunk(&mut tx, id, &fields, now).await?;
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
            store::delete_gateway(tx, old.id).await?;
            audit_gateway(tx, actor, trunk, "delete", Some(old), None).await?;
        }
    }
    for (position, want) in wanted.iter().enumerate() {
        let old = trunk.gateways.iter().find(|g| g.uri == want.uri);
        let fields = want.fields(old, position as i64);
        match old {
            Some(old) if fields_of(old) == fields => {}
            Some(old) => {
                let new = store::update_gateway(tx, old.id, &fields, now).await?;
                audit_gateway(tx, actor, trunk, "update", Some(old), Some(&new)).await?;
            }
            None => {
                let new = store::insert_gateway(tx, trunk.id, &fields, now).await?;
                audit_gateway(tx, actor, trunk, "create", None, Some(&new)).await?;
            }
        }
    }
    Ok(())
}

/// Whether trunk `id` still exists, held until `tx` ends against a concurrent delete (whose
/// in-use check then sees what `tx` wrote): for rooms that route or assign to a trunk.
pub async fn hold_trunk(tx: &mut Tx, id: i64) -> Result<bool> {
    Ok(store::hold_trunk(tx, id).await?)
}

/// Deletes a trunk with its gateways and IPs (each removal audited); refused while a dial plan
/// policy routes to it or a number is assigned to it.
pub async fn delete(db: &Db, caller: &Caller, id: i64) -> Result<()> {
    visible_trunk(db, caller, id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let mut tx = db.begin().await?;
    let before = reread(&mut tx, id).await?;
    let ips = store::ips_in_tx(&mut tx, id).await?;
    store::delete_trunk(&mut tx, id).await?;
    // After the DELETE: see `numbers::assigned_to`.
    let policies = crate::dialplan::policies::routing_to_trunk(&mut tx, id).await?;
    let numbers =
        crate::numbers::assigned_to(&mut tx, crate::numbers::AssignmentType::Trunk, id).await?;
    Error::refuse_in_use(
        &format!("SIP trunk {id} ({})", before.name),
        &[policies, numbers],
        "route and assign them elsewhere first",
    )?;
    let actor = caller.actor();
    for gateway in &before.gateways {
        audit_gateway(&mut tx, &actor, &before, "delete", Some(gateway), None).await?;
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
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Gateways one by one.

/// Appends a gateway to a trunk.
pub async fn add_gateway(
    db: &Db,
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
    let position = store::next_position(&mut tx, trunk_id).await?;
    let gateway = store::insert_gateway(
        &mut tx,
        trunk_id,
        &parsed.fields(None, position),
        Utc::now(),
    )
    .await?;
    audit_gateway(
        &mut tx,
        &caller.actor(),
        &trunk,
        "create",
        None,
        Some(&gateway),
    )
    .await?;
    tx.commit().await?;
    Ok(gateway)
}

/// Changes to one gateway; absent fields keep their value, a null interval clears it.
#[derive(Debug, Clone, Default)]
pub struct GatewayUpdate {
    pub uri: Option<String>,
    pub enabled: Option<bool>,
    pub ping_interval_s: Option<Option<i64>>,
    pub down_ping_interval_s: Option<Option<i64>>,
}

/// Returns the gateway before and after: a changed URI keeps the id but makes the health kept
/// under it stale.
pub async fn update_gateway(
    db: &Db,
    caller: &Caller,
    trunk_id: i64,
    gateway_id: i64,
    input: GatewayUpdate,
) -> Result<(Gateway, Gateway)> {
    let (before, trunk) = trunk_gateway(db, caller, trunk_id, gateway_id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let parsed = ParsedGateway::parse(
        "",
        &GatewayInput {
            uri: input.uri.unwrap_or_else(|| before.uri.clone()),
            enabled: input.enabled,
            ping_interval_s: input.ping_interval_s,
            down_ping_interval_s: input.down_ping_interval_s,
        },
    )?;
    let fields = parsed.fields(Some(&before), before.position);
    let mut tx = db.begin().await?;
    let after = store::update_gateway(&mut tx, gateway_id, &fields, Utc::now()).await?;
    audit_gateway(
        &mut tx,
        &caller.actor(),
        &trunk,
        "update",
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok((before, after))
}

pub async fn delete_gateway(
    db: &Db,
    caller: &Caller,
    trunk_id: i64,
    gateway_id: i64,
) -> Result<()> {
    let (before, trunk) = trunk_gateway(db, caller, trunk_id, gateway_id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let mut tx = db.begin().await?;
    store::delete_gateway(&mut tx, gateway_id).await?;
    audit_gateway(
        &mut tx,
        &caller.actor(),
        &trunk,
        "delete",
        Some(&before),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Allowed source IPs of a trunk.

pub async fn list_ips(db: &Db, caller: &Caller, trunk_id: i64) -> Result<Vec<TrunkIp>> {
    visible_trunk(db, caller, trunk_id).await?;
    Ok(store::ips(db, trunk_id).await?)
}

/// Adds an address or network (canonical form stored; host bits set is refused).
pub async fn add_ip(
    db: &Db,
    caller: &Caller,
    trunk_id: i64,
    cidr: &str,
    description: &str,
) -> Result<TrunkIp> {
    let trunk = visible_trunk(db, caller, trunk_id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let cidr = crate::orgs::ips::parse_cidr(cidr)?.to_string();
    let description = validate_description(description)?;
    let mut tx = db.begin().await?;
    let ip = store::insert_ip(&mut tx, trunk_id, &cidr, &description, Utc::now()).await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        change(&trunk, "create", "siptrunk_ip", ip.id, None, Some(&ip)),
    )
    .await?;
    tx.commit().await?;
    Ok(ip)
}

/// (trunk id, organization id, CIDR) of every trunk IP, unscoped: the SIP redirect listener's
/// source table (a call from a trunk's address is that trunk's call).
pub async fn all_trunk_ips(db: &Db) -> Result<Vec<(i64, i64, String)>> {
    Ok(store::all_ips(db).await?)
}

pub async fn delete_ip(db: &Db, caller: &Caller, trunk_id: i64, ip_id: i64) -> Result<()> {
    let trunk = visible_trunk(db, caller, trunk_id).await?;
    let ip = store::get_ip(db, ip_id)
        .await?
        .filter(|ip| ip.trunk_id == trunk_id)
        .ok_or_else(|| Error::not_found(TRUNK_IP))?;
    caller.require(Permission::OrganizationsWrite)?;
    let mut tx = db.begin().await?;
    store::delete_ip(&mut tx, ip_id).await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        change(&trunk, "delete", "siptrunk_ip", ip_id, Some(&ip), None),
    )
    .await?;
    tx.commit().await?;
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
        let (batch, _) = store::list(db, "%", &TrunkFilter::default(), page).await?;
        let done = (batch.len() as i64) < BATCH;
        trunks.extend(batch);
        if done {
            return Ok(trunks);
        }
    }
}

/// The trunk `id` with its gateways, whoever owns it.
pub async fn trunk(db: &Db, id: i64) -> Result<Option<Trunk>> {
    Ok(store::get(db, id).await?)
}

// ---------------------------------------------------------------------------------------------
// The pinger's view.

/// One enabled gateway as the pinger needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct PingTarget {
    pub gateway_id: i64,
    pub trunk_id: i64,
    pub organization_id: i64,
    /// The owning organization's path (scopes the events the pinger logs).
    pub organization_path: String,
    pub uri: SipUri,
    /// Override of the pinger's interval while up (None: the default).
    pub ping_interval: Option<Duration>,
    /// Override of the pinger's interval while down (None: the default).
    pub down_ping_interval: Option<Duration>,
    pub policy: Policy,
}

/// Every enabled gateway with its trunk's policy, in one query. A stored value that no longer
/// parses (it was validated on the way in) is logged: the gateway is skipped for a bad URI, the
/// default alive set is used for bad alive codes.
pub async fn ping_targets(db: &Db) -> Result<Vec<PingTarget>> {
    let rows = store::ping_rows(db).await?;
    let seconds = |s: Option<i64>| {
        s.and_then(|s| u64::try_from(s).ok())
            .filter(|s| *s > 0)
            .map(Duration::from_secs)
    };
    let threshold =
        |v: i64, default: u32| u32::try_from(v).ok().filter(|v| *v > 0).unwrap_or(default);
    let mut targets = Vec::with_capacity(rows.len());
    for row in rows {
        let uri = match SipUri::parse(&row.uri) {
            Ok(uri) => uri,
            Err(e) => {
                tracing::warn!(gateway_id = row.gateway_id, error = %e, "stored gateway URI does not parse; not pinged");
                continue;
            }
        };
        let alive = AliveCodes::parse(&row.alive_codes).unwrap_or_else(|e| {
            tracing::warn!(trunk_id = row.trunk_id, error = %e, "stored alive_codes do not parse; using the default");
            AliveCodes::default()
        });
        targets.push(PingTarget {
            gateway_id: row.gateway_id,
            trunk_id: row.trunk_id,
            organization_id: row.organization_id,
            organization_path: row.organization_path,
            uri,
            ping_interval: seconds(row.ping_interval_s),
            down_ping_interval: seconds(row.down_ping_interval_s),
            policy: Policy {
                failures_to_down: threshold(row.failures_to_down, 3),
                successes_to_up: threshold(row.successes_to_up, 2),
                alive,
            },
        });
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(uri: &str) -> GatewayInput {
        GatewayInput {
            uri: uri.into(),
            ..Default::default()
        }
    }

    #[test]
    fn gateway_lists_name_the_bad_entry() {
        let err = parse_gateways(&[input("sip:a.example.com"), input("http://x")])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("gateways[1].uri: "), "{err}");
        let err = parse_gateways(&[input("sip:A.example.com"), input("sip:a.example.com.")])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("gateways[1].uri: ") && err.contains("gateways[0]"),
            "{err}"
        );
        let mut zero = input("sip:a.example.com");
        zero.ping_interval_s = Some(Some(0));
        let err = parse_gateways(&[zero]).unwrap_err().to_string();
        assert!(err.starts_with("gateways[0].ping_interval_s: "), "{err}");
    }

    #[test]
    fn absent_fields_keep_existing_values_and_null_clears() {
        let now = Utc::now();
        let existing = Gateway {
            id: 7,
            trunk_id: 1,
            uri: "sip:a.example.com".into(),
            enabled: false,
            ping_interval_s: Some(30),
            down_ping_interval_s: Some(5),
            position: 3,
            created_at: now,
            updated_at: now,
        };
        let mut given = input("sip:a.example.com");
        given.down_ping_interval_s = Some(None);
        let parsed = ParsedGateway::parse("", &given).unwrap();
        let fields = parsed.fields(Some(&existing), 0);
        assert!(!fields.enabled);
        assert_eq!(fields.ping_interval_s, Some(30));
        assert_eq!(fields.down_ping_interval_s, None);
        let fresh = parsed.fields(None, 0);
        assert!(fresh.enabled);
        assert_eq!(fresh.ping_interval_s, None);
    }

    #[test]
    fn trunk_values_are_checked() {
        assert!(validate_alive_codes("2xx, 4xx ,!408").unwrap() == "2xx,4xx,!408");
        assert!(
            validate_alive_codes("7xx")
                .unwrap_err()
                .to_string()
                .starts_with("alive_codes: ")
        );
        assert!(in_range("max_channels", 0, MAX_CHANNELS, "").is_err());
        assert!(in_range("max_channels", 100_000, MAX_CHANNELS, "").is_ok());
        assert!(validate_name("  ").is_err());
        assert_eq!(validate_name(" Carrier A ").unwrap(), "Carrier A");
    }
}
