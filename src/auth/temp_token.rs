//! Temporary tokens (`POST /v1/tempauth`): short-lived bearer tokens in the caller's session,
//! for handing to a script or a browser without the login token.

use super::{Caller, TokenKind, store, token};
use crate::error::{Error, Result};
use crate::state::AppState;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::time::Instant;

/// A temporary token from `POST /v1/tempauth`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TempToken {
    pub token: String,
    pub token_type: &'static str,
    pub expires_at: DateTime<Utc>,
}

/// A short-lived token for the caller, valid `ttl_s` (capped at the configured maximum).
pub async fn temp_token(
    state: &AppState,
    caller: &Caller,
    ttl_s: Option<u64>,
) -> Result<TempToken> {
    caller.require_user_login("Temporary tokens")?;
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
        TokenKind::Temp,
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
