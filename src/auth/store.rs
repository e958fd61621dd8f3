//! SQL of authentication: credentials by username, tokens by hash, sessions.

use crate::db::{Db, Tx};
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};

/// A user's credentials and the state of its organization chain.
#[derive(Debug, sqlx::FromRow)]
pub struct Credentials {
    pub user_id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub organization_id: i64,
    pub organization_path: String,
    pub totp_enabled: bool,
    pub totp_secret: Option<String>,
    pub api_enabled: bool,
    pub restrict_to_orgips: bool,
    pub suspended_orgs: i64,
}

/// A token row joined with its user, for authenticating a request.
#[derive(Debug, sqlx::FromRow)]
pub struct TokenRow {
    pub user_id: i64,
    pub session_id: String,
    pub kind: String,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub username: String,
    pub role: String,
    pub organization_id: i64,
    pub organization_path: String,
    pub organization_type: String,
    pub api_enabled: bool,
    pub restrict_to_orgips: bool,
    pub suspended_orgs: i64,
}

const ORG_STATE: &str = "COALESCE(ca.api_enabled, TRUE) AS api_enabled, \
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
    on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(username).fetch_optional(pool).await)
}

pub async fn token(db: &Db, token_hash: &str) -> sqlx::Result<Option<TokenRow>> {
    let sql = format!(
        "SELECT t.user_id, t.session_id, t.kind, t.expires_at, t.revoked_at, u.username, u.role, \
         u.organization_id, o.path AS organization_path, o.type AS organization_type, {ORG_STATE} \
         FROM auth_tokens t JOIN users u ON u.id = t.user_id \
         JOIN organizations o ON o.id = u.organization_id \
         LEFT JOIN organization_client_access ca ON ca.organization_id = o.id \
         WHERE t.token_hash = $1"
    );
    on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(token_hash).fetch_optional(pool).await)
}

pub async fn insert_token(
    tx: &mut Tx,
    user_id: i64,
    session_id: &str,
    kind: &str,
    token_hash: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO auth_tokens (user_id, session_id, kind, token_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(user_id).bind(session_id).bind(kind).bind(token_hash).bind(now).bind(expires_at)
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
