//! A presented key (a bearer token, or the id and secret of HTTP Basic) into its [`Caller`].
//! Every refusal of the key itself reads the same ("Invalid API key"), whether the key is
//! unknown or revoked (a revoked key is gone), expired or its secret rotated away, so the
//! answer tells a guesser nothing; the reason goes to the log and the `auth_apikey_total` metric. A key used from
//! outside its networks, or for a suspended organization, is a 403.

use super::grant::Grant;
use super::{model, secret, store};
use crate::auth::{Caller, KeyGrant, TokenKind, check_org_access};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::system::metrics::apikey_auth;
use chrono::Utc;
use std::net::IpAddr;

/// The caller of a bearer token that is an API key secret.
pub async fn authenticate(
    state: &AppState,
    token: &str,
    client_ip: Option<IpAddr>,
) -> Result<Caller> {
    resolve(state, None, token, client_ip).await
}

/// The caller of HTTP Basic credentials: user name the key's id, password its secret.
pub async fn authenticate_basic(
    state: &AppState,
    id: i64,
    secret: &str,
    client_ip: Option<IpAddr>,
) -> Result<Caller> {
    resolve(state, Some(id), secret, client_ip).await
}

fn refuse(outcome: &'static str, key: Option<i64>, client_ip: Option<IpAddr>) -> Error {
    apikey_auth(outcome);
    tracing::info!(outcome, key, ip = ?client_ip, "API key refused");
    Error::Unauthorized("Invalid API key".into())
}

async fn resolve(
    state: &AppState,
    expected_id: Option<i64>,
    presented: &str,
    client_ip: Option<IpAddr>,
) -> Result<Caller> {
    if !presented.starts_with(secret::PREFIX) {
        return Err(refuse("malformed", expected_id, client_ip));
    }
    let Some(key) = store::credential(&state.db, &secret::hash(presented)).await? else {
        return Err(refuse("unknown", expected_id, client_ip));
    };
    if expected_id.is_some_and(|id| id != key.id) {
        return Err(refuse("unknown", expected_id, client_ip));
    }
    let now = Utc::now();
    if key.expires_at.is_some_and(|at| at <= now)
        || key.secret_expires_at.is_some_and(|at| at <= now)
    {
        return Err(refuse("expired", Some(key.id), client_ip));
    }
    let from = client_ip.map(|ip| ip.to_canonical());
    if !key.source_cidrs.is_empty()
        && !from.is_some_and(|ip| key.source_cidrs.iter().any(|net| net.contains(&ip)))
    {
        apikey_auth("source");
        tracing::info!(key = key.id, ip = ?client_ip, "API key used from outside its networks");
        return Err(Error::Forbidden(
            "This API key may not be used from this address".into(),
        ));
    }
    check_org_access(
        state,
        key.organization_id,
        key.suspended_orgs,
        key.api_enabled,
        key.restrict_to_orgips,
        client_ip,
    )
    .await
    .inspect_err(|_| apikey_auth("organization"))?;
    state.apikey_usage.record(key.id, now, client_ip);
    apikey_auth("ok");
    let permissions = match &key.grant {
        Grant::Permissions(list) => Some(list.clone()),
        Grant::Role(_) => None,
    };
    Ok(Caller {
        user_id: 0,
        username: model::label(key.id, &key.name),
        role: key.grant.role(key.organization_type),
        organization_id: key.organization_id,
        organization_path: key.organization_path,
        organization_type: key.organization_type,
        session_id: format!("apikey:{}", key.id),
        token_kind: TokenKind::ApiKey,
        request_id: None,
        client_ip,
        api_key: Some(KeyGrant {
            id: key.id,
            name: key.name,
            permissions,
            expires_at: key.expires_at,
        }),
    })
}
