//! Users: members of one organization with a role; their foreign ids in other systems; what they
//! may do.

pub mod api;
mod store;

pub use store::UserFilter;

use super::Organization;
use crate::auth::{self, Caller, Permission, Role, password, roles};
use crate::db::Page;
use crate::db::{Db, Tx};
use crate::error::{Error, Result};
use crate::system::audit::{self, Actor, Change};
use crate::types::text::quote_prefix;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// A user as the API shows it (the password never leaves the server).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub organization_id: i64,
    pub username: String,
    #[schema(value_type = Role)]
    pub role: String,
    pub email: Option<String>,
    pub twofactor_enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip)]
    pub organization_path: String,
}

/// A user's id in another system (CRM, billing, the platform migrated from).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct ForeignId {
    pub id: i64,
    pub user_id: i64,
    pub source: String,
    pub foreign_id: String,
    pub created_at: DateTime<Utc>,
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

/// Usernames: 3–64 of letters, digits and `. _ @ -`, stored lower-case (logins are
/// case-insensitive).
pub fn validate_username(text: &str) -> Result<String> {
    let name = text.trim().to_lowercase();
    let len = name.chars().count();
    if !(3..=64).contains(&len) {
        return Err(Error::field("username", "must be 3-64 characters"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'))
    {
        return Err(Error::field(
            "username",
            "may contain only letters, digits, '.', '_', '@' and '-'",
        ));
    }
    Ok(name)
}

fn validate_email(text: Option<&str>) -> Result<Option<String>> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let valid = text.len() <= 254
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
        && text.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if valid {
        Ok(Some(text.to_string()))
    } else {
        Err(Error::field(
            "email",
            format!("not an e-mail address: {}", quote_prefix(text)),
        ))
    }
}

fn parse_role(text: &str) -> Result<Role> {
    Role::parse(text).ok_or_else(|| {
        Error::field(
            "role",
            format!(
                "unknown role {}; expected one of admin, user, readonly",
                quote_prefix(text)
            ),
        )
    })
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
        role.as_str(),
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
    let user = store::insert(tx, org.id, username, hash, "admin", None, Utc::now()).await?;
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
        return Err(Error::field(
            "organization_id",
            "cannot be changed; create the user in the other organization",
        ));
    }
    let role = match &input.role {
        Some(r) => parse_role(r)?.as_str().to_string(),
        None => before.role.clone(),
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
            password::validate("password", new)?;
            if is_self {
                let current = input.current_password.as_deref().ok_or_else(|| {
                    Error::field(
                        "current_password",
                        "is required to change your own password",
                    )
                })?;
                let stored = store::password_hash(db, id).await?;
                if !password::verify(current, stored.as_deref()).await {
                    return Err(Error::field("current_password", "is wrong"));
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
        &role,
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
    let role = parse_role(&user.role)?;
    Ok(Permissions {
        user_id: user.id,
        role: user.role,
        organization_id: org.id,
        organization_type: org.org_type.clone(),
        scope: "organization and descendants",
        permissions: roles::permissions(role, org.kind()),
    })
}

/// Turns off a user's two-factor authentication (lost phone) and ends their sessions.
pub async fn reset_two_factor(db: &Db, caller: &Caller, id: i64) -> Result<User> {
    let user = visible(db, caller, id).await?;
    caller.require(Permission::UsersWrite)?;
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

pub async fn foreign_ids(db: &Db, caller: &Caller, user_id: i64) -> Result<Vec<ForeignId>> {
    visible(db, caller, user_id).await?;
    Ok(store::foreign_ids(db, user_id).await?)
}

fn validate_token(field: &str, text: &str, max: usize) -> Result<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::field(field, "must not be empty"));
    }
    if text.chars().count() > max || text.chars().any(char::is_control) {
        return Err(Error::field(
            field,
            format!("must be at most {max} printable characters"),
        ));
    }
    Ok(text.to_string())
}

pub async fn add_foreign_id(
    db: &Db,
    caller: &Caller,
    user_id: i64,
    source: &str,
    foreign_id: &str,
) -> Result<ForeignId> {
    let user = visible(db, caller, user_id).await?;
    caller.require(Permission::UsersWrite)?;
    let source = validate_token("source", source, 64)?.to_lowercase();
    let foreign_id = validate_token("foreign_id", foreign_id, 255)?;
    let mut tx = db.begin().await?;
    let row = store::insert_foreign_id(&mut tx, user_id, &source, &foreign_id, Utc::now()).await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change {
            after: serde_json::to_value(&row).ok(),
            ..Change::of(&user, "foreignid.create", None, None)
        },
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn delete_foreign_id(db: &Db, caller: &Caller, user_id: i64, id: i64) -> Result<()> {
    let user = visible(db, caller, user_id).await?;
    caller.require(Permission::UsersWrite)?;
    let mut tx = db.begin().await?;
    let row = store::delete_foreign_id(&mut tx, user_id, id)
        .await?
        .ok_or_else(|| Error::not_found("foreign id"))?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change {
            before: serde_json::to_value(&row).ok(),
            ..Change::of(&user, "foreignid.delete", None, None)
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_and_emails() {
        assert_eq!(
            validate_username(" Alice.Smith@Acme ").unwrap(),
            "alice.smith@acme"
        );
        for bad in ["ab", "with space", "colon:x", "ünï", &"x".repeat(65)] {
            assert!(validate_username(bad).is_err(), "{bad}");
        }
        assert_eq!(
            validate_email(Some("a@b.co")).unwrap().as_deref(),
            Some("a@b.co")
        );
        assert_eq!(validate_email(Some(" ")).unwrap(), None);
        for bad in ["nope", "a@b", "a b@c.d", "@c.d", "a@.c"] {
            assert!(validate_email(Some(bad)).is_err(), "{bad}");
        }
    }
}
