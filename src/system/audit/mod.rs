//! The audit trail: who changed what, when, with the object before and after. Written inside the
//! mutation's own transaction, so a change and its record land or fail together.

pub mod api;
mod store;

use crate::db::{Db, Tx};
use crate::error::Result;
use crate::http::pagination::Page;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use std::net::IpAddr;

pub use store::AuditFilter;

/// Who did it, as the audit record names them.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub username: String,
    pub request_id: Option<String>,
    pub client_ip: Option<IpAddr>,
}

impl Actor {
    /// The command line (`dialtone bootstrap`), not a logged-in user.
    pub fn system(name: &str) -> Self {
        Self {
            user_id: None,
            username: name.to_string(),
            request_id: None,
            client_ip: None,
        }
    }
}

/// One change to record. `organization_path` scopes who may read it later.
pub struct Change<'a> {
    pub organization_id: i64,
    pub organization_path: &'a str,
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// A stored audit record as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditRecord {
    pub id: i64,
    pub organization_id: i64,
    pub actor_user_id: Option<i64>,
    pub actor_username: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub request_id: Option<String>,
    pub client_ip: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Records `change` by `actor` inside `tx`.
pub async fn record(tx: &mut Tx, actor: &Actor, change: Change<'_>) -> Result<()> {
    store::insert(tx, actor, &change, Utc::now()).await?;
    Ok(())
}

/// Audit records under `scope_like` (an organization path prefix pattern).
pub async fn list(
    db: &Db,
    scope_like: &str,
    filter: &AuditFilter,
    page: Page,
) -> Result<(Vec<AuditRecord>, i64)> {
    Ok(store::list(db, scope_like, filter, page).await?)
}

pub async fn get(db: &Db, scope_like: &str, id: i64) -> Result<Option<AuditRecord>> {
    Ok(store::get(db, scope_like, id).await?)
}
