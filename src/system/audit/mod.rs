//! The audit trail: who changed what, when, with the object before and after. Written inside the
//! mutation's own transaction, so a change and its record land or fail together.

pub mod api;
mod store;

use crate::db::Page;
use crate::db::{Db, Tx};
use crate::error::Result;
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

/// A stored object the audit trail records whole: its kind, its id and the organization it
/// belongs to. Implemented by the objects each room audits as they are.
pub trait Audited: Serialize {
    /// `entity_type` of its records (`device`, `user` …).
    const ENTITY_TYPE: &'static str;
    fn audit_id(&self) -> i64;
    /// The owning organization's id and materialized path.
    fn audit_owner(&self) -> (i64, &str);
}

impl<'a> Change<'a> {
    /// A change to `entity`, with the object before and after as JSON.
    pub fn of<T: Audited>(
        entity: &'a T,
        action: &'a str,
        before: Option<&T>,
        after: Option<&T>,
    ) -> Self {
        let (organization_id, organization_path) = entity.audit_owner();
        Change {
            organization_id,
            organization_path,
            action,
            entity_type: T::ENTITY_TYPE,
            entity_id: entity.audit_id().to_string(),
            before: snapshot(before),
            after: snapshot(after),
        }
    }
}

/// An object as the audit record keeps it (`None` stays `None`).
pub fn snapshot<T: Serialize>(value: Option<&T>) -> Option<Value> {
    value.and_then(|v| serde_json::to_value(v).ok())
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
