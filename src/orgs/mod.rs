//! Organizations (platform › distributor › partner › tenant), their domains, IPs, client-access
//! settings, and their users.

pub mod api;
pub mod domains;
pub mod ips;
pub mod model;
mod store;
pub mod users;

pub use model::{OrgStatus, OrgType, Organization};
pub use store::{ClientAccess, OrgFilter};

use crate::auth::{Caller, Permission, password};
use crate::db::Db;
use crate::db::Page;
use crate::error::{Error, Result};
use crate::system::audit::{self, Actor, Change};
use crate::system::changes::{Changes, OrgAccessChanged, OrganizationChanged};
use chrono::Utc;
use serde_json::to_value;
use std::net::IpAddr;

/// The organization `id` if the caller may see it; 404 otherwise (never 403: a caller must not
/// learn that another tenant's object exists). Every per-object route resolves through here.
pub async fn visible(db: &Db, caller: &Caller, id: i64) -> Result<Organization> {
    match store::get(db, id).await? {
        Some(org) if caller.scope().contains(&org.path) => Ok(org),
        _ => Err(Error::not_found("organization")),
    }
}

/// Like [`visible`], for an organization named in a request body (the error names the field).
/// Only "not found" becomes the field's 404: a database error (a corrupt row) stays itself.
pub async fn visible_field(db: &Db, caller: &Caller, field: &str, id: i64) -> Result<Organization> {
    visible(db, caller, id).await.map_err(|e| match e {
        Error::NotFound(_) => Error::missing(field, format_args!("organization {id}")),
        other => other,
    })
}

pub async fn list(
    db: &Db,
    caller: &Caller,
    filter: &OrgFilter,
    page: Page,
) -> Result<(Vec<Organization>, i64)> {
    Ok(store::list(db, &caller.scope().like(), filter, page).await?)
}

/// Input of a new organization; `parent_id` defaults to the caller's organization.
pub struct NewOrganization {
    pub name: String,
    pub org_type: String,
    pub parent_id: Option<i64>,
    pub status: Option<OrgStatus>,
    pub timezone: Option<String>,
    pub country: Option<String>,
}

pub async fn create(
    db: &Db,
    changes: &Changes,
    caller: &Caller,
    input: NewOrganization,
) -> Result<Organization> {
    let name = model::parse_name("name", &input.name)?;
    let org_type = model::parse_type("type", &input.org_type)?;
    let parent_id = input.parent_id.unwrap_or(caller.organization_id);
    let parent = visible_field(db, caller, "parent_id", parent_id).await?;
    // Scope first (a foreign parent is "not found"), then the permission.
    caller.require(Permission::OrganizationsCreate)?;
    // The request is well formed; the parent it names cannot take it: a conflict with the tree.
    if !parent.org_type.child_types().any(|t| t == org_type) {
        return Err(Error::Conflict(format!(
            "type: a {} organization cannot have a {} child",
            parent.org_type.as_str(),
            org_type.as_str()
        )));
    }
    let timezone = match &input.timezone {
        Some(tz) => model::validate_timezone("timezone", tz)?,
        None => parent.timezone.clone(),
    };
    let country = match &input.country {
        Some(c) => model::validate_country("country", c)?,
        None => parent.country.clone(),
    };
    let status = input.status.unwrap_or(OrgStatus::Active);
    let mut tx = db.begin().await?;
    let org = store::insert(
        &mut tx,
        Some(&parent),
        org_type,
        &name,
        status,
        store::Locale {
            timezone: &timezone,
            country: &country,
        },
        Utc::now(),
    )
    .await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&org, "create", None, Some(&org)),
    )
    .await?;
    tx.commit().await?;
    changes
        .publish(OrganizationChanged { id: Some(org.id) })
        .await;
    Ok(org)
}

impl crate::system::audit::Audited for Organization {
    const ENTITY_TYPE: &'static str = "organization";
    fn audit_id(&self) -> i64 {
        self.id
    }
    fn audit_owner(&self) -> (i64, &str) {
        (self.id, &self.path)
    }
}

/// Changes to an organization; `type` and `parent_id` may be repeated but not changed.
#[derive(Default)]
pub struct OrganizationUpdate {
    pub name: Option<String>,
    pub status: Option<OrgStatus>,
    pub timezone: Option<String>,
    pub country: Option<String>,
    pub org_type: Option<String>,
    pub parent_id: Option<Option<i64>>,
}

pub async fn update(
    db: &Db,
    changes: &Changes,
    caller: &Caller,
    id: i64,
    input: OrganizationUpdate,
) -> Result<Organization> {
    let before = visible(db, caller, id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    if let Some(t) = &input.org_type
        && model::parse_type("type", t)? != before.org_type
    {
        return Err(Error::immutable("type", ""));
    }
    if let Some(p) = input.parent_id
        && p != before.parent_id
    {
        return Err(Error::immutable("parent_id", ""));
    }
    let name = match &input.name {
        Some(n) => model::parse_name("name", n)?,
        None => before.name.clone(),
    };
    let timezone = match &input.timezone {
        Some(tz) => model::validate_timezone("timezone", tz)?,
        None => before.timezone.clone(),
    };
    let country = match &input.country {
        Some(c) => model::validate_country("country", c)?,
        None => before.country.clone(),
    };
    let status = input.status.unwrap_or(before.status);
    if id == caller.organization_id && status != before.status {
        return Err(Error::Conflict(
            "status: you cannot suspend or reactivate your own organization".into(),
        ));
    }
    let mut tx = db.begin().await?;
    let after = store::update(&mut tx, id, &name, status, &timezone, &country, Utc::now()).await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&after, "update", Some(&before), Some(&after)),
    )
    .await?;
    tx.commit().await?;
    changes.publish(OrganizationChanged { id: Some(id) }).await;
    Ok(after)
}

pub async fn delete(db: &Db, changes: &Changes, caller: &Caller, id: i64) -> Result<()> {
    let org = visible(db, caller, id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    if id == caller.organization_id {
        return Err(Error::Conflict(
            "You cannot delete your own organization".into(),
        ));
    }
    // Its job records and webhook delivery log go with it: not while a hold keeps them.
    let what = format!("organization {id}");
    let kinds = [
        crate::system::retention::Kind::Jobs,
        crate::system::retention::Kind::Deliveries,
    ];
    crate::system::legalholds::refuse_held(db, &org.path, &kinds, &what).await?;
    let mut tx = db.begin().await?;
    let (children, users) = store::dependents(&mut tx, id).await?;
    if children > 0 || users > 0 {
        return Err(Error::Conflict(format!(
            "Organization still has {children} child organization(s) and {users} user(s); remove them first"
        )));
    }
    store::delete(&mut tx, id).await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&org, "delete", Some(&org), None),
    )
    .await?;
    tx.commit().await?;
    changes.publish(OrganizationChanged { id: Some(id) }).await;
    Ok(())
}

pub async fn client_access(db: &Db, caller: &Caller, id: i64) -> Result<ClientAccess> {
    visible(db, caller, id).await?;
    Ok(store::client_access(db, id).await?)
}

pub async fn set_client_access(
    db: &Db,
    changes: &Changes,
    caller: &Caller,
    id: i64,
    api_enabled: Option<bool>,
    restrict_to_orgips: Option<bool>,
) -> Result<ClientAccess> {
    let org = visible(db, caller, id).await?;
    caller.require(Permission::OrganizationsWrite)?;
    let before = store::client_access(db, id).await?;
    let after = ClientAccess {
        organization_id: id,
        api_enabled: api_enabled.unwrap_or(before.api_enabled),
        restrict_to_orgips: restrict_to_orgips.unwrap_or(before.restrict_to_orgips),
    };
    if id == caller.organization_id && !after.api_enabled {
        return Err(Error::Conflict(
            "api_enabled: you cannot disable API access of your own organization".into(),
        ));
    }
    ips::keep_caller_inside(db, caller, id, Some(after.restrict_to_orgips), None).await?;
    let mut tx = db.begin().await?;
    store::set_client_access(&mut tx, &after, Utc::now()).await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change {
            organization_id: id,
            organization_path: &org.path,
            action: "update",
            entity_type: "client_access",
            entity_id: id.to_string(),
            before: to_value(&before).ok(),
            after: to_value(&after).ok(),
        },
    )
    .await?;
    tx.commit().await?;
    changes
        .publish(OrgAccessChanged {
            organization_id: Some(id),
        })
        .await;
    Ok(after)
}

/// Whether `ip` falls in one of the organization's registered IPs/CIDRs.
pub async fn ip_allowed(db: &Db, organization_id: i64, ip: IpAddr) -> Result<bool> {
    ips::contains(db, organization_id, ip).await
}

/// (id, materialized path) of every organization, unscoped: for listeners that identify an
/// organization from the wire (the SIP redirect listener), never for API answers.
pub async fn all_paths(db: &Db) -> Result<Vec<(i64, String)>> {
    Ok(store::all_paths(db).await?)
}

/// The materialized path of organization `id`, unscoped: for background work that files an
/// event under the organization a job belongs to, never for API answers.
pub async fn path_of(db: &Db, id: i64) -> Result<Option<String>> {
    Ok(store::get(db, id).await?.map(|org| org.path))
}

/// The networks an organization's equipment must come from when it restricts access to its
/// orgips (`restrict_to_orgips`); `None` when it does not restrict.
pub async fn restricted_networks(
    db: &Db,
    organization_id: i64,
) -> Result<Option<Vec<ipnet::IpNet>>> {
    if !store::client_access(db, organization_id)
        .await?
        .restrict_to_orgips
    {
        return Ok(None);
    }
    Ok(Some(ips::networks(db, organization_id).await?))
}

/// The platform organization (the root of the tree), once bootstrapped: where events about
/// no particular tenant (a provisioning request for an unknown device) are filed.
pub async fn platform(db: &Db) -> Result<Option<Organization>> {
    let mut tx = db.begin().await?;
    let id = store::platform_exists(&mut tx).await?;
    tx.commit().await?;
    match id {
        Some(id) => Ok(store::get(db, id).await?),
        None => Ok(None),
    }
}

/// What `dialtone bootstrap` created.
#[derive(Debug)]
pub struct Bootstrapped {
    pub organization_id: i64,
    pub user_id: i64,
}

/// Why bootstrap refused.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(
        "already bootstrapped: the platform organization exists (id {0}); log in with an existing administrator"
    )]
    AlreadyDone(i64),
    #[error("{0}")]
    Invalid(Error),
}

impl From<Error> for BootstrapError {
    fn from(e: Error) -> Self {
        Self::Invalid(e)
    }
}

impl From<sqlx::Error> for BootstrapError {
    fn from(e: sqlx::Error) -> Self {
        Self::Invalid(e.into())
    }
}

/// Creates the platform organization and its first administrator, once.
pub async fn bootstrap(
    db: &Db,
    org_name: &str,
    username: &str,
    password_text: &str,
) -> Result<Bootstrapped, BootstrapError> {
    let name = model::parse_name("organization name", org_name)?;
    let username = users::validate_username(username)?;
    password::validate("password", password_text)?;
    let hash = password::hash(password_text).await?;
    let mut tx = db.begin().await?;
    if let Some(id) = store::platform_exists(&mut tx).await? {
        return Err(BootstrapError::AlreadyDone(id));
    }
    let now = Utc::now();
    let org = store::insert(
        &mut tx,
        None,
        OrgType::Platform,
        &name,
        OrgStatus::Active,
        store::Locale {
            timezone: "UTC",
            country: "US",
        },
        now,
    )
    .await?;
    let actor = Actor::system("bootstrap");
    audit::record(
        &mut tx,
        &actor,
        Change::of(&org, "create", None, Some(&org)),
    )
    .await?;
    let user = users::insert_admin(&mut tx, &actor, &org, &username, &hash).await?;
    tx.commit().await?;
    // Bootstrap runs from the CLI, usually with no daemon in this process: a feed of its own
    // reaches the running instances (if any) through the revision table.
    Changes::new(db.clone())
        .publish(OrganizationChanged { id: Some(org.id) })
        .await;
    Ok(Bootstrapped {
        organization_id: org.id,
        user_id: user,
    })
}
