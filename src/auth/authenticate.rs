//! Resolving a bearer token into its [`Caller`], and the organization checks every
//! authentication (a token, an API key, a login, a refresh) passes.

use super::{Caller, TokenKind, store, token};
use crate::error::{Error, Result};
use crate::state::AppState;
use chrono::Utc;
use std::net::IpAddr;

/// The checks every authentication passes: organization chain active, API access allowed from
/// this address.
pub(crate) async fn check_org_access(
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

/// Resolves a bearer token into its caller; 401 for unknown, revoked, expired or refresh tokens.
/// A token with the API-key prefix is an API key (`system::apikeys`).
pub async fn authenticate(
    state: &AppState,
    token: &str,
    client_ip: Option<IpAddr>,
) -> Result<Caller> {
    if token.starts_with(crate::system::apikeys::secret::PREFIX) {
        return crate::system::apikeys::authenticate(state, token, client_ip).await;
    }
    let row = store::token(&state.db, &token::hash(token))
        .await?
        .ok_or_else(|| Error::Unauthorized("Invalid token".into()))?;
    if row.kind == TokenKind::Refresh || row.revoked_at.is_some() {
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
        role: row.role,
        organization_id: row.organization_id,
        organization_path: row.organization_path,
        organization_type: row.organization_type,
        session_id: row.session_id,
        token_kind: row.kind,
        request_id: None,
        client_ip,
        api_key: None,
    })
}
