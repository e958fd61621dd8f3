//! Users: members of one organization with a role; their foreign ids in other systems; what they
//! may do.

pub mod api;
mod foreign_ids;
mod store;
mod validate;

pub use foreign_ids::{ForeignId, add_foreign_id, delete_foreign_id, foreign_ids};
pub use store::UserFilter;
pub use validate::validate_username;

use super::Organization;
use crate::auth::{self, Caller, Permission, Role, password, roles};
use crate::db::Page;
use crate::db::{Db, Tx};
use crate::error::{Error, Result};
use crate::system::audit::{self, Actor, Change};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use validate::{parse_role, validate_email};

/// A user as the API shows it (the password never leaves the server).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: i64,
    pub organization_id: i64,
    pub username: String,
    pub role: Role,
    pub email: Option<String>,
    pub twofactor_enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip)]
    pub organization_path: String,
}

/// What a user may do, for `GET /v1/users/{id}/permissions`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Permissions {
    pub user_id: i64,
    pub role: String,
    pub organization_id: i64,
    pub organization_type: String,
    /// Organizations in scope: this one and all its descendants.
    pub scope: &'static str,
    pub permissions: Vec<&'static str>,
}

/// The user `id` if the caller may see it; 404 otherwise.
pub async fn visible(db: &Db, caller: &Caller, id: i64) -> Result<User> {
    match store::get(db, id).await? {
        Some(user) if caller.scope().contains(&user.organization_path) => Ok(user),
        _ => Err(Error::not_found("user")),
    }
}

pub async fn list(
    db: &Db,
    caller: &Caller,
    filter: &UserFilter,
    page: Page,
) -> Result<(Vec<User>, i64)> {
    caller.require(Permission::UsersRead)?;
    Ok(store::list(db, &caller.scope().like(), filter, page).await?)
}

impl crate::system::audit::Audited for User {
    const ENTITY_TYPE: &'static str = "user";
    fn audit_id(&self) -> i64 {
        self.id
    }
    fn audit_owner(&self) -> (i64, &str) {
        (self.organization_id, &self.organization_path)
    }
}

pub struct NewUser {
    pub organization_id: Option<i64>,
    pub username: String,
    pub password: String,
    pub role: Option<String>,
    pub email: Option<String>,
}

pub async fn create(db: &Db, caller: &Caller, input: NewUser) -> Result<User> {
    caller.require(Permission::UsersWrite)?;
    let org_id = input.organization_id.unwrap_or(caller.organization_id);
    super::visible_field(db, caller, "organization_id", org_id).await?;
    let username = validate_username(&input.username)?;
    password::validate("password", &input.password)?;
    let role = parse_role(input.role.as_deref().unwrap_or("user"))?;
    let email = validate_email(input.email.as_deref())?;
    let hash = password::hash(&input.password).await?;
    let mut tx = db.begin().await?;
    let user = store::insert(
        &mut tx,
        org_id,
        &username,
        &hash,
        role,
        email.as_deref(),
        Utc::now(),
    )
    .await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&user, "create", None, Some(&user)),
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}

/// The first administrator of the platform (bootstrap); returns the user id.
pub async fn insert_admin(
    tx: &mut Tx,
    actor: &Actor,
    org: &Organization,
    username: &str,
    hash: &str,
) -> Result<i64> {
    let user = store::insert(tx, org.id, username, hash, Role::Admin, None, Utc::now()).await?;
    audit::record(tx, actor, Change::of(&user, "create", None, Some(&user))).await?;
    Ok(user.id)
}

#[derive(Default)]
pub struct UserUpdate {
    pub password: Option<String>,
    pub current_password: Option<String>,
    pub role: Option<String>,
    pub email: Option<Option<String>>,
    pub organization_id: Option<i64>,
}

/// Admins change users in scope; anyone may change their own password (with the current one) and
/// e-mail, but not their own role.
pub async fn update(db: &Db, caller: &Caller, id: i64, input: UserUpdate) -> Result<User> {
    let before = visible(db, caller, id).await?;
    let is_self = id == caller.user_id;
    if is_self {
        caller.require(Permission::ProfileWrite)?;
    } else {
        caller.require(Permission::UsersWrite)?;
    }
    if let Some(org) = input.organization_id
        && org != before.organization_id
    {
        return Err(Error::immutable(
            "organization_id",
            "; create the user in the other organization",
        ));
    }
    let role = match &input.role {
        Some(r) => parse_role(r)?,
        None => before.role,
    };
    if is_self && role != before.role {
        return Err(Error::Conflict(
            "role: you cannot change your own role".into(),
        ));
    }
    let email = match &input.email {
        Some(e) => validate_email(e.as_deref())?,
        None => before.email.clone(),
    };
    let hash = match &input.password {
        Some(new) => {
            caller.require_user_login("Password changes")?;
            password::validate("password", new)?;
            // Whether the caller may change its own password depends on proving the current
            // one, not on the request's shape: missing or wrong, it is a refusal (403).
            if is_self {
                let current = input.current_password.as_deref().ok_or_else(|| {
                    Error::Forbidden(
                        "current_password: is required to change your own password".into(),
                    )
                })?;
                let stored = store::password_hash(db, id).await?;
                if !password::verify(current, stored.as_deref()).await {
                    return Err(Error::Forbidden("current_password: is wrong".into()));
                }
            }
            Some(password::hash(new).await?)
        }
        None => None,
    };
    let mut tx = db.begin().await?;
    let after = store::update(
        &mut tx,
        id,
        role,
        email.as_deref(),
        hash.as_deref(),
        Utc::now(),
    )
    .await?;
    if hash.is_some() {
        let keep = is_self.then_some(caller.session_id.as_str());
        auth::revoke_other_sessions(&mut tx, id, keep).await?;
    }
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&after, "update", Some(&before), Some(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Whether user `id` still exists, held until `tx` ends against a concurrent delete (whose
/// in-use check then sees what `tx` wrote): for a number assigned to the user.
pub async fn hold(tx: &mut Tx, id: i64) -> Result<bool> {
    Ok(store::hold(tx, id).await?)
}

/// Deletes a user; refused for oneself and while numbers are assigned to the user.
pub async fn delete(db: &Db, caller: &Caller, id: i64) -> Result<()> {
    let user = visible(db, caller, id).await?;
    caller.require(Permission::UsersWrite)?;
    if id == caller.user_id {
        return Err(Error::Conflict("You cannot delete yourself".into()));
    }
    let mut tx = db.begin().await?;
    store::delete(&mut tx, id).await?;
    // After the DELETE: see `numbers::assigned_to`.
    let numbers =
        crate::numbers::service::assigned_to(&mut tx, crate::numbers::AssignmentType::User, id)
            .await?;
    Error::refuse_in_use(
        &format!("user {id} ({})", user.username),
        &[numbers],
        "assign them elsewhere first",
    )?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&user, "delete", Some(&user), None),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn permissions(db: &Db, caller: &Caller, id: i64) -> Result<Permissions> {
    let user = visible(db, caller, id).await?;
    let org = super::visible(db, caller, user.organization_id).await?;
    Ok(Permissions {
        user_id: user.id,
        role: user.role.as_str().to_string(),
        organization_id: org.id,
        organization_type: org.org_type.as_str().to_string(),
        scope: "organization and descendants",
        permissions: roles::permissions(user.role, org.org_type),
    })
}

/// Turns off a user's two-factor authentication (lost phone) and ends their sessions.
pub async fn reset_two_factor(db: &Db, caller: &Caller, id: i64) -> Result<User> {
    let user = visible(db, caller, id).await?;
    caller.require(Permission::UsersWrite)?;
    caller.require_user_login("Two-factor resets")?;
    if id == caller.user_id {
        return Err(Error::Conflict(
            "Your own two-factor authentication is turned off with DELETE /v1/auth/twofactor and a current code".into(),
        ));
    }
    let mut tx = db.begin().await?;
    auth::reset_two_factor(&mut tx, id).await?;
    auth::revoke_other_sessions(&mut tx, id, None).await?;
    let mut after = user.clone();
    after.twofactor_enabled = false;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change::of(&user, "twofactor.reset", Some(&user), Some(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}
