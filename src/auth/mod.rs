//! Authentication: logins, bearer tokens (access, refresh, temporary), two-factor codes, and
//! resolving a request's token into a [`Caller`].

pub mod api;
mod authenticate;
mod caller;
pub mod login_limit;
pub mod password;
pub mod roles;
mod session;
mod store;
mod temp_token;
pub mod token;
pub mod totp;
mod twofactor;

pub use authenticate::authenticate;
pub(crate) use authenticate::check_org_access;
pub use caller::{Caller, KeyGrant, Scope, require_auth};
pub use roles::{Permission, Role};
pub use session::{LoginRequest, Session, SessionUser, login, logout, refresh};
pub(crate) use store::ORG_STATE;
pub use temp_token::{TempToken, temp_token};
pub use token::TokenKind;
pub use twofactor::{
    confirm_two_factor, disable_two_factor, reset_two_factor, start_two_factor, two_factor_status,
    two_factor_uri,
};

use crate::error::Result;
use crate::state::AppState;
use chrono::{Duration, Utc};

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
