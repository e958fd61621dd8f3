//! API keys: long-lived credentials of an organization for automation and for clients that
//! only speak HTTP Basic (FreeSWITCH `mod_json_cdr`, phones fetching directories). A key has a
//! role or a list of permissions, never wider than whoever sets it, an optional expiry and
//! optional source networks; it acts as itself (the audit log names `apikey:7 (name)`), not as
//! the user who made it.
//!
//! Every request with a key is one lookup of its secret's hash, with no cache, so a revocation
//! or a rotation's end holds on the next request on every instance. Only the last use of each
//! key is kept in memory and written in batches (`usage`).

pub mod api;
mod authenticate;
mod expiry;
pub mod grant;
pub mod model;
pub mod secret;
mod store;
pub mod usage;

pub use authenticate::{authenticate, authenticate_basic};
pub use model::{ApiKey, ApiKeyName, IssuedApiKey};
pub use usage::Usage;

use crate::auth::{Caller, Permission, Role};
use crate::db::{Db, Page, Tx};
use crate::error::{Error, Result};
use crate::system::audit::{self, Change};
use crate::system::events::{self, NewEvent, Severity};
use crate::types::Cidr;
use chrono::{DateTime, Duration, Utc};
use grant::Grant;
use serde_json::json;

/// The overlap of a rotation when none is asked for: an hour to roll the new secret out.
pub const DEFAULT_OVERLAP_S: u64 = 3600;
/// The longest overlap: a week.
pub const MAX_OVERLAP_S: u64 = 7 * 24 * 3600;

/// The key `id` if the caller may see it; 404 otherwise (also for another tenant's key).
pub async fn visible(db: &Db, caller: &Caller, id: i64) -> Result<ApiKey> {
    caller.require(Permission::ApiKeysRead)?;
    match store::fetch(db, id).await? {
        Some(key) if caller.scope().contains(&key.organization_path) => Ok(key),
        _ => Err(Error::not_found("API key")),
    }
}

/// A page of the keys of the caller's subtree (of one organization, if given).
pub async fn list(
    db: &Db,
    caller: &Caller,
    organization_id: Option<i64>,
    page: Page,
) -> Result<(Vec<ApiKey>, i64)> {
    caller.require(Permission::ApiKeysRead)?;
    Ok(store::list(db, &caller.scope().like(), organization_id, page).await?)
}

/// A role or a list of permissions, from a request that may give either (not both).
fn grant_of(role: Option<Role>, permissions: Option<Vec<Permission>>) -> Result<Option<Grant>> {
    match (role, permissions) {
        (Some(_), Some(_)) => Err(Error::field(
            "permissions",
            "give a role or a list of permissions, not both",
        )),
        (Some(role), None) => Ok(Some(Grant::Role(role))),
        (None, Some(list)) if list.is_empty() => Err(Error::field(
            "permissions",
            "must name at least one permission",
        )),
        (None, Some(list)) => Ok(Some(Grant::permissions(list))),
        (None, None) => Ok(None),
    }
}

fn check_cidrs(cidrs: &[Cidr]) -> Result<()> {
    if cidrs.len() > model::MAX_SOURCE_CIDRS {
        return Err(Error::field(
            "source_cidrs",
            format!("at most {} networks", model::MAX_SOURCE_CIDRS),
        ));
    }
    Ok(())
}

fn ceiling(caller: &Caller) -> Option<DateTime<Utc>> {
    caller.api_key.as_ref().and_then(|k| k.expires_at)
}

/// 403 unless the caller may manage `key` (see [`grant::check_manageable`]).
async fn check_manageable(db: &Db, caller: &Caller, key: &ApiKey) -> Result<()> {
    caller.require(Permission::ApiKeysWrite)?;
    let org = crate::orgs::visible(db, caller, key.organization_id).await?;
    grant::check_manageable(
        key.id,
        &grant_of_key(key),
        org.org_type,
        key.expires_at,
        |p| caller.holds(p),
        ceiling(caller),
    )
}

fn grant_of_key(key: &ApiKey) -> Grant {
    match (&key.permissions, key.role) {
        (Some(list), _) => Grant::Permissions(list.clone()),
        (None, role) => Grant::Role(role.unwrap_or(Role::Readonly)),
    }
}

/// Records an event about `key` in `tx` (`apikey.created`, `.rotated`, `.revoked`).
async fn event(tx: &mut Tx, caller: &Caller, key: &ApiKey, name: &str, verb: &str) -> Result<()> {
    events::record_in(
        tx,
        NewEvent {
            organization_id: key.organization_id,
            organization_path: &key.organization_path,
            source: "apikeys",
            severity: Severity::Info,
            entity_type: "apikey",
            entity_id: key.id.to_string(),
            event: name,
            message: format!("{} {verb} by {}", key.label(), caller.username),
            detail: Some(json!({"prefix": key.prefix, "by": caller.username})),
        },
    )
    .await?;
    Ok(())
}

/// Input of a new key; `organization_id` defaults to the caller's, the grant to `readonly`.
pub struct NewApiKey {
    pub organization_id: Option<i64>,
    pub name: ApiKeyName,
    pub role: Option<Role>,
    pub permissions: Option<Vec<Permission>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub source_cidrs: Vec<Cidr>,
}

pub async fn create(db: &Db, caller: &Caller, input: NewApiKey) -> Result<IssuedApiKey> {
    caller.require(Permission::ApiKeysWrite)?;
    let org_id = input.organization_id.unwrap_or(caller.organization_id);
    let org = crate::orgs::visible_field(db, caller, "organization_id", org_id).await?;
    let grant = grant_of(input.role, input.permissions)?.unwrap_or(Grant::Role(Role::Readonly));
    grant::check_within(&grant, org.org_type, |p| caller.holds(p))?;
    check_cidrs(&input.source_cidrs)?;
    let now = Utc::now();
    let expires_at = grant::lifetime(input.expires_at, ceiling(caller), now)?;
    let secret = secret::generate();
    let mut tx = db.begin().await?;
    let id = store::insert(
        &mut tx,
        &store::NewKey {
            organization_id: org.id,
            name: &input.name,
            grant: &grant,
            expires_at,
            source_cidrs: &input.source_cidrs,
            prefix: &secret::shown(&secret),
            created_by: &caller.username,
        },
        &secret::hash(&secret),
        now,
    )
    .await?;
    let key = store::fetch_tx(&mut tx, id).await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&key, "create", None, Some(&key)),
    )
    .await?;
    event(&mut tx, caller, &key, "apikey.created", "created").await?;
    tx.commit().await?;
    Ok(IssuedApiKey { key, secret })
}

/// What an update changes: only the fields given. `Some(None)` clears an expiry or the source
/// networks.
#[derive(Default)]
pub struct ApiKeyUpdate {
    pub name: Option<ApiKeyName>,
    pub role: Option<Role>,
    pub permissions: Option<Vec<Permission>>,
    pub expires_at: Option<Option<DateTime<Utc>>>,
    pub source_cidrs: Option<Option<Vec<Cidr>>>,
    /// Accepted only when unchanged.
    pub organization_id: Option<i64>,
}

pub async fn update(db: &Db, caller: &Caller, id: i64, input: ApiKeyUpdate) -> Result<ApiKey> {
    let before = visible(db, caller, id).await?;
    check_manageable(db, caller, &before).await?;
    if let Some(org) = input.organization_id
        && org != before.organization_id
    {
        return Err(Error::immutable(
            "organization_id",
            "; create a key in the other organization",
        ));
    }
    let org = crate::orgs::visible(db, caller, before.organization_id).await?;
    let grant = match grant_of(input.role, input.permissions)? {
        Some(grant) => {
            grant::check_within(&grant, org.org_type, |p| caller.holds(p))?;
            grant
        }
        None => grant_of_key(&before),
    };
    let now = Utc::now();
    let expires_at = match input.expires_at {
        Some(wanted) => grant::lifetime(wanted, ceiling(caller), now)?,
        None => before.expires_at,
    };
    let source_cidrs = match input.source_cidrs {
        Some(cidrs) => cidrs.unwrap_or_default(),
        None => before.source_cidrs.clone(),
    };
    check_cidrs(&source_cidrs)?;
    let name = input.name.unwrap_or_else(|| before.name.clone());
    let mut tx = db.begin().await?;
    let change = store::KeyUpdate {
        name: &name,
        grant: &grant,
        expires_at,
        source_cidrs: &source_cidrs,
    };
    if !store::update(&mut tx, id, &change, now).await? {
        return Err(gone());
    }
    let after = store::fetch_tx(&mut tx, id).await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&after, "update", Some(&before), Some(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// A key revoked between the read and the write.
fn gone() -> Error {
    Error::not_found("API key")
}

/// A new secret for the key; the old one keeps working for `overlap_s` seconds (default
/// [`DEFAULT_OVERLAP_S`], at most [`MAX_OVERLAP_S`]). A secret replaced by an earlier rotation
/// stops at once.
pub async fn rotate(
    db: &Db,
    caller: &Caller,
    id: i64,
    overlap_s: Option<u64>,
) -> Result<IssuedApiKey> {
    let before = visible(db, caller, id).await?;
    check_manageable(db, caller, &before).await?;
    let overlap_s = overlap_s.unwrap_or(DEFAULT_OVERLAP_S);
    if overlap_s > MAX_OVERLAP_S {
        return Err(Error::field(
            "overlap_s",
            format!("must be at most {MAX_OVERLAP_S} (a week)"),
        ));
    }
    let now = Utc::now();
    if before.expires_at.is_some_and(|at| at <= now) {
        return Err(Error::Conflict(format!(
            "API key {id} has expired; set a later expires_at first"
        )));
    }
    let secret = secret::generate();
    let overlap_until = now + Duration::seconds(overlap_s as i64);
    let mut tx = db.begin().await?;
    let prefix = secret::shown(&secret);
    if !store::rotate(
        &mut tx,
        id,
        &secret::hash(&secret),
        &prefix,
        overlap_until,
        now,
    )
    .await?
    {
        return Err(gone());
    }
    let after = store::fetch_tx(&mut tx, id).await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&after, "rotate", Some(&before), Some(&after)),
    )
    .await?;
    event(&mut tx, caller, &after, "apikey.rotated", "rotated").await?;
    tx.commit().await?;
    Ok(IssuedApiKey { key: after, secret })
}

/// Revokes the key by deleting it: the next request with it, on any instance, is refused. The
/// audit record keeps what it was.
pub async fn revoke(db: &Db, caller: &Caller, id: i64) -> Result<()> {
    let key = visible(db, caller, id).await?;
    check_manageable(db, caller, &key).await?;
    let mut tx = db.begin().await?;
    if !store::delete(&mut tx, id).await? {
        return Err(gone());
    }
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&key, "revoke", Some(&key), None),
    )
    .await?;
    event(&mut tx, caller, &key, "apikey.revoked", "revoked").await?;
    tx.commit().await?;
    Ok(())
}
