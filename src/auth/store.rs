//! SQL of authentication: credentials by username, tokens by hash, sessions.

use super::{Role, TokenKind};
use crate::db::{Db, Tx};
use crate::orgs::OrgType;
use crate::types::column::parse_stored;
use crate::{on_db, on_read, on_tx};
use chrono::{DateTime, Utc};

/// A user's credentials and the state of its organization chain.
#[derive(Debug)]
pub struct Credentials {
    pub user_id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub organization_id: i64,
    pub organization_path: String,
    pub totp_enabled: bool,
    pub totp_secret: Option<String>,
    pub api_enabled: bool,
    pub restrict_to_orgips: bool,
    pub suspended_orgs: i64,
}

/// [`Credentials`] as stored.
#[derive(sqlx::FromRow)]
struct CredentialsRow {
    user_id: i64,
    username: String,
    password_hash: String,
    role: String,
    organization_id: i64,
    organization_path: String,
    totp_enabled: bool,
    totp_secret: Option<String>,
    api_enabled: bool,
    restrict_to_orgips: bool,
    suspended_orgs: i64,
}

impl TryFrom<CredentialsRow> for Credentials {
    type Error = sqlx::Error;

    /// A stored role that does not parse is an error naming the user.
    fn try_from(row: CredentialsRow) -> sqlx::Result<Self> {
        Ok(Self {
            role: parse_stored("user", row.user_id, "role", &row.role, Role::parse_stored)?,
            user_id: row.user_id,
            username: row.username,
            password_hash: row.password_hash,
            organization_id: row.organization_id,
            organization_path: row.organization_path,
            totp_enabled: row.totp_enabled,
            totp_secret: row.totp_secret,
            api_enabled: row.api_enabled,
            restrict_to_orgips: row.restrict_to_orgips,
            suspended_orgs: row.suspended_orgs,
        })
    }
}

/// A token joined with its user, for authenticating a request.
#[derive(Debug)]
pub struct TokenRow {
    pub user_id: i64,
    pub session_id: String,
    pub kind: TokenKind,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub username: String,
    pub role: Role,
    pub organization_id: i64,
    pub organization_path: String,
    pub organization_type: OrgType,
    pub api_enabled: bool,
    pub restrict_to_orgips: bool,
    pub suspended_orgs: i64,
}

/// [`TokenRow`] as stored.
#[derive(sqlx::FromRow)]
struct StoredToken {
    id: i64,
    user_id: i64,
    session_id: String,
    kind: String,
    expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    username: String,
    role: String,
    organization_id: i64,
    organization_path: String,
    organization_type: String,
    api_enabled: bool,
    restrict_to_orgips: bool,
    suspended_orgs: i64,
}

impl TryFrom<StoredToken> for TokenRow {
    type Error = sqlx::Error;

    /// A stored kind, role or organization type that does not parse is an error naming its
    /// row: an unreadable kind must not pass for any kind of token.
    fn try_from(row: StoredToken) -> sqlx::Result<Self> {
        Ok(Self {
            kind: parse_stored("token", row.id, "kind", &row.kind, TokenKind::parse_stored)?,
            role: parse_stored("user", row.user_id, "role", &row.role, Role::parse_stored)?,
            organization_type: parse_stored(
                "organization",
                row.organization_id,
                "type",
                &row.organization_type,
                OrgType::parse_stored,
            )?,
            user_id: row.user_id,
            session_id: row.session_id,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
            username: row.username,
            organization_id: row.organization_id,
            organization_path: row.organization_path,
            api_enabled: row.api_enabled,
            restrict_to_orgips: row.restrict_to_orgips,
            suspended_orgs: row.suspended_orgs,
        })
    }
}

/// The columns of an organization chain's access state (`o` the organization,
/// `ca` its client access row), for every kind of credential.
pub(crate) const ORG_STATE: &str = "COALESCE(ca.api_enabled, TRUE) AS api_enabled, \
    COALESCE(ca.restrict_to_orgips, FALSE) AS restrict_to_orgips, \
    (SELECT COUNT(*) FROM organizations a WHERE o.path LIKE (a.path || '%') \
        AND a.status = 'suspended') AS suspended_orgs";

pub async fn credentials(db: &Db, username: &str) -> sqlx::Result<Option<Credentials>> {
    let sql = format!(
        "SELECT u.id AS user_id, u.username, u.password_hash, u.role, u.organization_id, \
         o.path AS organization_path, o.type AS organization_type, u.totp_enabled, u.totp_secret, \
         {ORG_STATE} FROM users u JOIN organizations o ON o.id = u.organization_id \
         LEFT JOIN organization_client_access ca ON ca.organization_id = o.id \
         WHERE u.username = $1"
    );
    let row: Option<CredentialsRow> = on_read!(db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(&*sql)).bind(username).fetch_optional(pool).await)?;
    row.map(Credentials::try_from).transpose()
}

pub async fn token(db: &Db, token_hash: &str) -> sqlx::Result<Option<TokenRow>> {
    let sql = format!(
        "SELECT t.id, t.user_id, t.session_id, t.kind, t.expires_at, t.revoked_at, u.username, u.role, \
         u.organization_id, o.path AS organization_path, o.type AS organization_type, {ORG_STATE} \
         FROM auth_tokens t JOIN users u ON u.id = t.user_id \
         JOIN organizations o ON o.id = u.organization_id \
         LEFT JOIN organization_client_access ca ON ca.organization_id = o.id \
         WHERE t.token_hash = $1"
    );
    // Every authenticated request starts here, so this is the read that most often meets a
    // connection dropped by a database restart.
    let row: Option<StoredToken> = on_read!(db, pool =>
        sqlx::query_as(sqlx::AssertSqlSafe(&*sql)).bind(token_hash).fetch_optional(pool).await)?;
    row.map(TokenRow::try_from).transpose()
}

pub async fn insert_token(
    tx: &mut Tx,
    user_id: i64,
    session_id: &str,
    kind: TokenKind,
    token_hash: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO auth_tokens (user_id, session_id, kind, token_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(user_id).bind(session_id).bind(kind.as_str()).bind(token_hash).bind(now).bind(expires_at)
        .execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Revokes every live token of a session; returns how many.
pub async fn revoke_session(
    tx: &mut Tx,
    session_id: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    let done = on_tx!(tx, conn => sqlx::query(
        "UPDATE auth_tokens SET revoked_at = $1 WHERE session_id = $2 AND revoked_at IS NULL")
        .bind(now).bind(session_id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(done)
}

/// Revokes one token by hash; false when it was already revoked (a replayed refresh token).
pub async fn revoke_token(tx: &mut Tx, token_hash: &str, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let done = on_tx!(tx, conn => sqlx::query(
        "UPDATE auth_tokens SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL")
        .bind(now).bind(token_hash).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Revokes all tokens of a user except one session (after a password change).
pub async fn revoke_user_sessions(
    tx: &mut Tx,
    user_id: i64,
    keep_session: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE auth_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL \
         AND (CAST($3 AS TEXT) IS NULL OR session_id <> $3)")
        .bind(now).bind(user_id).bind(keep_session).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Deletes tokens that expired more than a day ago (housekeeping).
pub async fn purge_expired(db: &Db, before: DateTime<Utc>) -> sqlx::Result<u64> {
    let done = on_db!(db, pool => sqlx::query("DELETE FROM auth_tokens WHERE expires_at < $1")
        .bind(before).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(done)
}

/// Two-factor state of a user.
#[derive(Debug, sqlx::FromRow)]
pub struct TwoFactor {
    pub username: String,
    pub totp_enabled: bool,
    pub totp_secret: Option<String>,
    pub totp_pending_secret: Option<String>,
}

pub async fn two_factor(db: &Db, user_id: i64) -> sqlx::Result<Option<TwoFactor>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT username, totp_enabled, totp_secret, totp_pending_secret FROM users WHERE id = $1")
        .bind(user_id).fetch_optional(pool).await)
}

pub async fn set_two_factor(
    tx: &mut Tx,
    user_id: i64,
    enabled: bool,
    secret: Option<&str>,
    pending: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE users SET totp_enabled = $1, totp_secret = $2, totp_pending_secret = $3, \
         updated_at = $4 WHERE id = $5")
        .bind(enabled).bind(secret).bind(pending).bind(now).bind(user_id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Marks TOTP time step `step` used by `user_id`; false when that step (or a later one) was
/// already used, i.e. the code is a replay. One statement, so two requests with the same code
/// cannot both pass.
pub async fn consume_totp_step(db: &Db, user_id: i64, step: u64) -> sqlx::Result<bool> {
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    let updated = on_db!(db, pool => sqlx::query(
        "UPDATE users SET totp_last_step = $1 \
         WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)")
        .bind(step).bind(user_id).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(updated == 1)
}
