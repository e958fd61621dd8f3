//! Sessions: a login (password, then the second factor) opens one with an access and a refresh
//! token; a refresh spends its token for a new pair; a logout revokes the session.

use super::authenticate::check_org_access;
use super::{Caller, Role, TokenKind, password, store, token, totp};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::system::audit::{self, Actor, Change};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::net::IpAddr;
use std::time::Instant;

/// What a successful login or refresh hands out.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Session {
    pub token: String,
    pub token_type: &'static str,
    pub expires_at: DateTime<Utc>,
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
    pub user: SessionUser,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionUser {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub organization_id: i64,
}

/// Login input: `otp` is required once two-factor authentication is enabled.
pub struct LoginRequest<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub otp: Option<&'a str>,
    pub client_ip: Option<IpAddr>,
    pub request_id: Option<String>,
}

/// Checks credentials (and the second factor) and opens a session.
pub async fn login(state: &AppState, req: LoginRequest<'_>) -> Result<Session> {
    let username = req.username.trim().to_lowercase();
    let limiter = &state.login_limiter;
    if let Some(wait) = limiter.blocked(&username, req.client_ip, Instant::now()) {
        crate::system::metrics::login_failed("blocked");
        let retry_after_s = wait.as_secs().max(1);
        return Err(Error::TooManyRequests {
            message: format!("Too many failed logins; retry in {retry_after_s} s"),
            retry_after_s,
        });
    }
    // Counted before the (slow) check, so parallel guesses cannot all slip under the budget;
    // a success gives the attempt back.
    limiter.failed(&username, req.client_ip, Instant::now());
    let creds = store::credentials(&state.db, &username).await?;
    let password_ok = password::verify(
        req.password,
        creds.as_ref().map(|c| c.password_hash.as_str()),
    )
    .await;
    let creds = match creds {
        Some(c) if password_ok => c,
        _ => {
            crate::system::metrics::login_failed("password");
            tracing::info!(username = %username, ip = ?req.client_ip, "login failed");
            return Err(Error::Unauthorized("Invalid username or password".into()));
        }
    };
    if creds.totp_enabled {
        let Some(code) = req.otp.filter(|c| !c.trim().is_empty()) else {
            return Err(Error::Unauthorized(
                "Two-factor code required (field otp)".into(),
            ));
        };
        let secret = creds.totp_secret.as_deref().unwrap_or_default();
        let Some(step) = totp::verify_step(secret, code, Utc::now().timestamp().max(0) as u64)
        else {
            crate::system::metrics::login_failed("otp");
            return Err(Error::Unauthorized("Invalid two-factor code".into()));
        };
        if !store::consume_totp_step(&state.db, creds.user_id, step).await? {
            crate::system::metrics::login_failed("otp_reused");
            return Err(Error::Unauthorized(
                "Two-factor code already used; wait for the next one".into(),
            ));
        }
    }
    limiter.succeeded(&username, req.client_ip);
    check_org_access(
        state,
        creds.organization_id,
        creds.suspended_orgs,
        creds.api_enabled,
        creds.restrict_to_orgips,
        req.client_ip,
    )
    .await?;

    let actor = Actor {
        user_id: Some(creds.user_id),
        username: creds.username.clone(),
        request_id: req.request_id,
        client_ip: req.client_ip,
    };
    let mut tx = state.db.begin().await?;
    let session = open_session(state, &mut tx, creds.user_id, &token::session_id()).await?;
    audit::record(
        &mut tx,
        &actor,
        Change {
            organization_id: creds.organization_id,
            organization_path: &creds.organization_path,
            action: "login",
            entity_type: "user",
            entity_id: creds.user_id.to_string(),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Session {
        user: SessionUser {
            id: creds.user_id,
            username: creds.username,
            role: creds.role,
            organization_id: creds.organization_id,
        },
        ..session
    })
}

/// Issues an access and a refresh token in `session_id`.
async fn open_session(
    state: &AppState,
    tx: &mut crate::db::Tx,
    user_id: i64,
    session_id: &str,
) -> Result<Session> {
    let now = Utc::now();
    let auth = &state.config.auth;
    let access = token::generate(TokenKind::Access);
    state.rate_limiter.mark_valid(&access, Instant::now());
    let refresh = token::generate(TokenKind::Refresh);
    let expires_at = now + Duration::seconds(auth.token_ttl_s as i64);
    let refresh_expires_at = now + Duration::seconds(auth.refresh_ttl_s as i64);
    store::insert_token(
        tx,
        user_id,
        session_id,
        TokenKind::Access,
        &token::hash(&access),
        now,
        expires_at,
    )
    .await?;
    store::insert_token(
        tx,
        user_id,
        session_id,
        TokenKind::Refresh,
        &token::hash(&refresh),
        now,
        refresh_expires_at,
    )
    .await?;
    Ok(Session {
        token: access,
        token_type: "Bearer",
        expires_at,
        refresh_token: refresh,
        refresh_expires_at,
        user: SessionUser {
            id: user_id,
            username: String::new(),
            role: Role::Readonly,
            organization_id: 0,
        },
    })
}

/// Exchanges a refresh token for a new access and refresh token (the old one is spent). A spent
/// refresh token presented again means it leaked: the whole session is revoked.
pub async fn refresh(
    state: &AppState,
    refresh_token: &str,
    client_ip: Option<IpAddr>,
) -> Result<Session> {
    let hash = token::hash(refresh_token);
    let row = store::token(&state.db, &hash)
        .await?
        .filter(|r| r.kind == TokenKind::Refresh)
        .ok_or_else(|| Error::Unauthorized("Invalid refresh token".into()))?;
    let now = Utc::now();
    let mut tx = state.db.begin().await?;
    if row.revoked_at.is_some() || !store::revoke_token(&mut tx, &hash, now).await? {
        store::revoke_session(&mut tx, &row.session_id, now).await?;
        tx.commit().await?;
        tracing::warn!(user = %row.username, "spent refresh token replayed; session revoked");
        return Err(Error::Unauthorized("Invalid refresh token".into()));
    }
    if row.expires_at <= now {
        return Err(Error::Unauthorized("Refresh token expired".into()));
    }
    check_org_access(
        state,
        row.organization_id,
        row.suspended_orgs,
        row.api_enabled,
        row.restrict_to_orgips,
        client_ip,
    )
    .await?;
    let session = open_session(state, &mut tx, row.user_id, &row.session_id).await?;
    tx.commit().await?;
    Ok(Session {
        user: SessionUser {
            id: row.user_id,
            username: row.username,
            role: row.role,
            organization_id: row.organization_id,
        },
        ..session
    })
}

/// Revokes every token of the caller's session (logout).
pub async fn logout(state: &AppState, caller: &Caller) -> Result<()> {
    caller.require_user_login("Logins and logouts")?;
    let mut tx = state.db.begin().await?;
    store::revoke_session(&mut tx, &caller.session_id, Utc::now()).await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change {
            organization_id: caller.organization_id,
            organization_path: &caller.organization_path,
            action: "logout",
            entity_type: "user",
            entity_id: caller.user_id.to_string(),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
