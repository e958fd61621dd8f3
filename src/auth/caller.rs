//! Who is calling: resolved once per request from the bearer token (or an API key, as Bearer
//! or HTTP Basic) by [`require_auth`], which wraps every protected route, so no handler can
//! forget authentication. [`Scope`] is the one place tenancy is decided: a caller sees its own
//! organization's subtree and nothing else.

use super::roles::{Permission, Role, allows};
use super::token::TokenKind;
use crate::error::{Error, Result};
use crate::orgs::OrgType;
use crate::state::AppState;
use crate::system::audit::Actor;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// The authenticated user (or API key) behind a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user; 0 for an API key, which acts as itself and no user (see `api_key`).
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    pub organization_id: i64,
    pub organization_path: String,
    pub organization_type: OrgType,
    pub session_id: String,
    pub token_kind: TokenKind,
    pub request_id: Option<String>,
    pub client_ip: Option<IpAddr>,
    /// The API key the request authenticated with, if it did.
    pub api_key: Option<KeyGrant>,
}

/// What an API key brings to its [`Caller`] besides its role: its name for the audit log, the
/// permissions it is limited to, and its expiry (a key it creates cannot outlive it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyGrant {
    pub id: i64,
    pub name: String,
    /// `None`: everything the caller's role grants.
    pub permissions: Option<Vec<Permission>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// The subtree of organizations a caller may see, as a materialized-path prefix (`/1/7/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    prefix: String,
}

impl Scope {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_string(),
        }
    }

    /// The `LIKE` pattern store queries filter organization paths with.
    pub fn like(&self) -> String {
        format!("{}%", self.prefix)
    }

    /// Whether an organization (by its path) is inside this scope.
    pub fn contains(&self, organization_path: &str) -> bool {
        organization_path.starts_with(&self.prefix)
    }
}

impl Caller {
    pub fn scope(&self) -> Scope {
        Scope::new(&self.organization_path)
    }

    /// Whether the caller's role (in its organization's type) grants `permission`, and, for an
    /// API key limited to a list of permissions, the list has it.
    pub fn holds(&self, permission: Permission) -> bool {
        let listed = match self.api_key.as_ref().and_then(|k| k.permissions.as_ref()) {
            Some(list) => list.contains(&permission),
            None => true,
        };
        listed && allows(self.role, self.organization_type, permission)
    }

    /// 403 unless the caller [holds](Caller::holds) `permission`.
    pub fn require(&self, permission: Permission) -> Result<()> {
        if self.holds(permission) {
            Ok(())
        } else if let Some(key) = &self.api_key {
            Err(Error::Forbidden(format!(
                "Permission denied: {} is not granted to API key {}",
                permission.as_str(),
                key.id
            )))
        } else {
            Err(Error::Forbidden(format!(
                "Permission denied: {} is not granted to role {} of a {} organization",
                permission.as_str(),
                self.role.as_str(),
                self.organization_type.as_str()
            )))
        }
    }

    /// 403 for an API key: `what` (a user's sessions, password or second factor) belongs to
    /// the person, and only their own login may change it.
    pub fn require_user_login(&self, what: &str) -> Result<()> {
        match &self.api_key {
            Some(_) => Err(Error::Forbidden(format!(
                "{what} need a user's login token, not an API key"
            ))),
            None => Ok(()),
        }
    }

    /// Who the audit log names: the user, or the key (`apikey:7 (CDR uploader)`).
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.api_key.is_none().then_some(self.user_id),
            username: self.username.clone(),
            request_id: self.request_id.clone(),
            client_ip: self.client_ip,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(Error::unauthenticated)
    }
}

/// Middleware on every protected route: 401 without a valid bearer token or API key. Every
/// 401 names both schemes in `WWW-Authenticate`, so clients that answer a challenge (phones,
/// libcurl with "any" auth) send their key as Basic.
pub async fn require_auth(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let client_ip = crate::http::rate_limit::peer_ip(&request);
    let request_id = crate::http::request_id::of(&request);
    let headers = request.headers();
    let outcome = if let Some(token) = crate::http::rate_limit::bearer_token(headers) {
        let outcome = super::authenticate(&state, token, client_ip).await;
        if outcome.is_ok() {
            state
                .rate_limiter
                .mark_valid(token, std::time::Instant::now());
        }
        outcome
    } else if let Some(basic) = crate::system::apikeys::secret::basic_credentials(headers) {
        match basic {
            Some((id, secret)) => {
                crate::system::apikeys::authenticate_basic(&state, id, &secret, client_ip).await
            }
            None => {
                crate::system::metrics::apikey_auth("malformed");
                Err(Error::Unauthorized("Invalid API key".into()))
            }
        }
    } else {
        Err(Error::unauthenticated())
    };
    match outcome {
        Ok(mut caller) => {
            caller.request_id = request_id;
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(e) => challenge(e.into_response()),
    }
}

/// Adds the schemes a 401 may be answered with.
fn challenge(mut response: Response) -> Response {
    if response.status() == axum::http::StatusCode::UNAUTHORIZED {
        let headers = response.headers_mut();
        headers.append(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"dialtone\""),
        );
        headers.append(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"dialtone\", charset=\"UTF-8\""),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_is_a_subtree() {
        let scope = Scope::new("/1/7/");
        assert!(scope.contains("/1/7/"));
        assert!(scope.contains("/1/7/12/"));
        assert!(!scope.contains("/1/"), "parent");
        assert!(
            !scope.contains("/1/70/"),
            "sibling with a common digit prefix"
        );
        assert!(!scope.contains("/1/8/"));
        assert_eq!(scope.like(), "/1/7/%");
    }
}
