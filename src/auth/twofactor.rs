//! Two-factor enrolment of the caller's own account: create a secret, show it (URI, QR),
//! confirm it with a code, disable it with a code; and an admin reset for a lost phone.

use super::{Caller, store, totp};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::system::audit::{self, Change};
use chrono::Utc;
use serde::Serialize;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TwoFactorStatus {
    pub enabled: bool,
    pub pending: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TwoFactorSecret {
    /// Base32 secret for manual entry.
    pub secret: String,
    pub otpauth_uri: String,
}

fn now_unix() -> u64 {
    Utc::now().timestamp().max(0) as u64
}

async fn load(state: &AppState, caller: &Caller) -> Result<store::TwoFactor> {
    store::two_factor(&state.db, caller.user_id)
        .await?
        .ok_or_else(|| Error::not_found("user"))
}

/// Two-factor changes need a login token: a temporary (or leaked short-lived) token must not be
/// able to enrol its holder's authenticator and lock the owner out, nor may an API key.
fn require_login_token(caller: &Caller) -> Result<()> {
    caller.require_user_login("Two-factor settings")?;
    if caller.token_kind == super::TokenKind::Access {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "Two-factor settings need a login token, not a temporary one".into(),
        ))
    }
}

async fn save(
    state: &AppState,
    caller: &Caller,
    action: &str,
    enabled: bool,
    secret: Option<&str>,
    pending: Option<&str>,
) -> Result<()> {
    let mut tx = state.db.begin().await?;
    store::set_two_factor(
        &mut tx,
        caller.user_id,
        enabled,
        secret,
        pending,
        Utc::now(),
    )
    .await?;
    audit::record(
        &mut tx,
        &caller.actor(),
        Change {
            organization_id: caller.organization_id,
            organization_path: &caller.organization_path,
            action,
            entity_type: "user",
            entity_id: caller.user_id.to_string(),
            before: None,
            after: Some(serde_json::json!({"twofactor_enabled": enabled})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn two_factor_status(state: &AppState, caller: &Caller) -> Result<TwoFactorStatus> {
    let tf = load(state, caller).await?;
    Ok(TwoFactorStatus {
        enabled: tf.totp_enabled,
        pending: tf.totp_pending_secret.is_some(),
    })
}

/// Creates (or replaces) a pending secret; it takes effect only once confirmed.
pub async fn start_two_factor(state: &AppState, caller: &Caller) -> Result<TwoFactorSecret> {
    require_login_token(caller)?;
    let tf = load(state, caller).await?;
    if tf.totp_enabled {
        return Err(Error::Conflict(
            "Two-factor authentication is already enabled; disable it first".into(),
        ));
    }
    let secret = totp::new_secret();
    let otpauth_uri = totp::uri(&secret, &state.config.auth.totp_issuer, &tf.username)?;
    save(
        state,
        caller,
        "twofactor.create",
        false,
        None,
        Some(&secret),
    )
    .await?;
    Ok(TwoFactorSecret {
        secret,
        otpauth_uri,
    })
}

/// The otpauth URI of the pending secret. Once confirmed the secret is never shown again, so a
/// stolen (or temporary) token cannot copy the second factor.
pub async fn two_factor_uri(state: &AppState, caller: &Caller) -> Result<String> {
    let tf = load(state, caller).await?;
    let secret = tf.totp_pending_secret.ok_or_else(|| {
        Error::NotFound(
            "No pending two-factor secret; create one first (an active one is never shown again)"
                .into(),
        )
    })?;
    totp::uri(&secret, &state.config.auth.totp_issuer, &tf.username)
}

/// Checks `code` against `secret` and uses its time step up: a code seen once is refused after.
/// A code not shaped like one is a bad request (400); a well-formed code that does not prove
/// the authenticator (wrong, expired or used) is a refusal (403), as the document says.
async fn use_code(state: &AppState, caller: &Caller, secret: &str, code: &str) -> Result<()> {
    if !totp::well_formed(code) {
        return Err(Error::field("code", "must be six digits"));
    }
    let Some(step) = totp::verify_step(secret, code, now_unix()) else {
        return Err(Error::Forbidden(
            "code: invalid or expired two-factor code".into(),
        ));
    };
    if !store::consume_totp_step(&state.db, caller.user_id, step).await? {
        return Err(Error::Forbidden(
            "code: this two-factor code was already used; wait for the next one".into(),
        ));
    }
    Ok(())
}

pub async fn confirm_two_factor(state: &AppState, caller: &Caller, code: &str) -> Result<()> {
    require_login_token(caller)?;
    let tf = load(state, caller).await?;
    let pending = tf
        .totp_pending_secret
        .ok_or_else(|| Error::Conflict("No pending two-factor secret; create one first".into()))?;
    use_code(state, caller, &pending, code).await?;
    save(
        state,
        caller,
        "twofactor.enable",
        true,
        Some(&pending),
        None,
    )
    .await
}

pub async fn disable_two_factor(state: &AppState, caller: &Caller, code: &str) -> Result<()> {
    require_login_token(caller)?;
    let tf = load(state, caller).await?;
    let secret = match (tf.totp_enabled, tf.totp_secret) {
        (true, Some(secret)) => secret,
        _ => {
            return Err(Error::Conflict(
                "Two-factor authentication is not enabled".into(),
            ));
        }
    };
    use_code(state, caller, &secret, code).await?;
    save(state, caller, "twofactor.disable", false, None, None).await
}

/// Turns off another user's two-factor authentication (lost phone); the caller must be allowed to
/// write that user, which the users room checks before calling.
pub async fn reset_two_factor(tx: &mut crate::db::Tx, user_id: i64) -> Result<()> {
    store::set_two_factor(tx, user_id, false, None, None, Utc::now()).await?;
    Ok(())
}
