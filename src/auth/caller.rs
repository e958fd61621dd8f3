//! Who is calling: resolved once per request from the bearer token by [`require_auth`], which
//! wraps every protected route, so no handler can forget authentication. [`Scope`] is the one
//! place tenancy is decided: a caller sees its own organization's subtree and nothing else.

use super::roles::{Permission, Role, allows};
use super::token::TokenKind;
use crate::error::{Error, Result};
use crate::orgs::OrgType;
use crate::state::AppState;
use crate::system::audit::Actor;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::IpAddr;

/// The authenticated user behind a request.
#[derive(Debug, Clone)]
pub struct Caller {
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

    /// 403 unless the caller's role (in its organization's type) grants `permission`.
    pub fn require(&self, permission: Permission) -> Result<()> {
        if allows(self.role, self.organization_type, permission) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "Permission denied: {} is not granted to role {} of a {} organization",
                permission.as_str(),
                self.role.as_str(),
                self.organization_type.as_str()
            )))
        }
    }

    pub fn actor(&self) -> Actor {
        Actor {
            user_id: Some(self.user_id),
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

/// Middleware on every protected route: 401 without a valid bearer token.
pub async fn require_auth(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(token) = crate::http::rate_limit::bearer_token(request.headers()) else {
        return Error::unauthenticated().into_response();
    };
    let client_ip = crate::http::rate_limit::peer_ip(&request);
    let request_id = crate::http::request_id::of(&request);
    match super::authenticate(&state, token, client_ip).await {
        Ok(mut caller) => {
            state
                .rate_limiter
                .mark_valid(token, std::time::Instant::now());
            caller.request_id = request_id;
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(e) => e.into_response(),
    }
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
