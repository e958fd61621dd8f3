//! Authentication: logins, bearer tokens (access, refresh, temporary), two-factor codes, and
//! resolving a request's token into a [`Caller`].

pub mod api;
mod caller;
pub mod login_limit;
pub mod password;
pub mod roles;
mod store;
pub mod token;
pub mod totp;
mod twofactor;

pub use caller::{Caller, Scope, require_auth};
pub use roles::{Permission, Role};
pub use token::TokenKind;

use crate::error::{Error, Result};
use crate::orgs::OrgType;
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

/// A temporary token from `POST /v1/tempauth`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TempToken {
    pub token: String,
    pub token_type: &'static str,
    pub expires_at: DateTime<Utc>,
}

/// The checks every authentication passes: organization chain active, API access allowed from
/// this address.
async fn check_org_access(
    state: &AppState,
    organization_id: i64,
    suspended_orgs: i64,
    api_enabled: bool,
    restrict_to_orgips: bool,
    client_ip: Option<IpAddr>,
) -> Result<()> {
    if suspended_orgs > 0 {
        return Err(Error::Forbidden("Organization suspended".into()));
    }
    if !api_enabled {
        return Err(Error::Forbidden(
            "API access is disabled for this organization".into(),
        ));
    }
    if restrict_to_orgips {
        let allowed = match client_ip {
            Some(ip) => crate::orgs::ip_allowed(&state.db, organization_id, ip).await?,
            None => false,
        };
        if !allowed {
            return Err(Error::Forbidden(
                "API access from this address is not allowed for this organization".into(),
            ));
        }
    }
    Ok(())
}

fn parse_role(text: &str) -> Result<Role> {
    Role::parse(text).ok_or_else(|| Error::Internal(format!("unknown role {text:?} stored")))
}

fn parse_org_type(text: &str) -> Result<OrgType> {
    OrgType::parse(text).ok_or_else(|| Error::Internal(format!("unknown org type {text:?} stored")))
}

/// Resolves a bearer token into its caller; 401 for unknown, revoked, expired or refresh tokens.
pub async fn authenticate(
    state: &AppState,
    token: &str,
    client_ip: Option<IpAddr>,
) -> Result<Caller> {
    let row = store::token(&state.db, &token::hash(token))
        .await?
        .ok_or_else(|| Error::Unauthorized("Invalid token".into()))?;
    let kind = TokenKind::parse(&row.kind).unwrap_or(TokenKind::Refresh);
    if kind == TokenKind::Refresh || row.revoked_at.is_some() {
        return Err(Error::Unauthorized("Invalid token".into()));
    }
    if row.expires_at <= Utc::now() {
        return Err(Error::Unauthorized("Token expired".into()));
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
    Ok(Caller {
        user_id: row.user_id,
        username: row.username,
        role: parse_role(&row.role)?,
        organization_id: row.organization_id,
        organization_path: row.organization_path,
        organization_type: parse_org_type(&row.organization_type)?,
        session_id: row.session_id,
        token_kind: kind,
        request_id: None,
        client_ip,
    })
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
            role: parse_role(&creds.role)?,
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
        "access",
        &token::hash(&access),
        now,
        expires_at,
    )
    .await?;
    store::insert_token(
        tx,
        user_id,
        session_id,
        "refresh",
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
        .filter(|r| r.kind == "refresh")
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
            role: parse_role(&row.role)?,
            organization_id: row.organization_id,
        },
        ..session
    })
}

/// Revokes every token of the caller's session (logout).
pub async fn logout(state: &AppState, caller: &Caller) -> Result<()> {
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

/// A short-lived token for the caller, valid `ttl_s` (capped at the configured maximum).
pub async fn temp_token(
    state: &AppState,
    caller: &Caller,
    ttl_s: Option<u64>,
) -> Result<TempToken> {
    if caller.token_kind != TokenKind::Access {
        return Err(Error::Forbidden(
            "A temporary token cannot issue temporary tokens; use a login token".into(),
        ));
    }
    let max = state.config.auth.temp_token_ttl_s;
    let ttl = match ttl_s {
        Some(0) => return Err(Error::field("ttl_s", "must be at least 1")),
        Some(t) if t > max => {
            return Err(Error::field("ttl_s", format!("must be at most {max}")));
        }
        Some(t) => t,
        None => max,
    };
    let now = Utc::now();
    let expires_at = now + Duration::seconds(ttl as i64);
    let secret = token::generate(TokenKind::Temp);
    state.rate_limiter.mark_valid(&secret, Instant::now());
    let mut tx = state.db.begin().await?;
    store::insert_token(
        &mut tx,
        caller.user_id,
        &caller.session_id,
        "temp",
        &token::hash(&secret),
        now,
        expires_at,
    )
    .await?;
    tx.commit().await?;
    Ok(TempToken {
        token: secret,
        token_type: "Bearer",
        expires_at,
    })
}

/// Revokes all sessions of a user but `keep` (after a password change or 2FA reset).
pub async fn revoke_other_sessions(
    tx: &mut crate::db::Tx,
    user_id: i64,
    keep: Option<&str>,
) -> Result<()> {
    store::revoke_user_sessions(tx, user_id, keep, Utc::now()).await?;
    Ok(())
}

/// Housekeeping: forget tokens that expired over a day ago.
pub async fn purge_expired_tokens(state: &AppState) -> Result<u64> {
    Ok(store::purge_expired(&state.db, Utc::now() - Duration::days(1)).await?)
}

pub use twofactor::{
    confirm_two_factor, disable_two_factor, reset_two_factor, start_two_factor, two_factor_status,
    two_factor_uri,
};
