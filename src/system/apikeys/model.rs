//! An API key as the API shows it (never its secret or hash), and the one answer that carries
//! the secret: a create or a rotation.

use crate::auth::{Permission, Role};
use crate::types::{Cidr, Name};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// The longest name of a key.
pub const NAME_MAX: usize = 100;

/// What operators call a key (`CDR uploader`): 1 to 100 characters.
pub type ApiKeyName = Name<NAME_MAX>;

/// Most source networks one key may be limited to.
pub const MAX_SOURCE_CIDRS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ApiKey {
    pub id: i64,
    pub organization_id: i64,
    pub name: ApiKeyName,
    /// The key's role; `null` when it is limited to `permissions` instead.
    pub role: Option<Role>,
    /// The permissions the key is limited to; `null` when it has a `role`.
    pub permissions: Option<Vec<Permission>>,
    /// The first characters of the current secret (`dt_live_` and four more), to tell keys
    /// apart; not enough to use or guess one.
    pub prefix: String,
    /// When the key stops working; `null`: never.
    pub expires_at: Option<DateTime<Utc>>,
    /// Networks requests with the key must come from; empty: anywhere.
    pub source_cidrs: Vec<Cidr>,
    /// Who created it: a username, or another key (`apikey:7 (name)`).
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the secret was last replaced.
    pub rotated_at: Option<DateTime<Utc>>,
    /// Until when the secret replaced by the last rotation still works.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// The last request made with the key (written to the database every
    /// `auth.apikey_usage_flush_s` seconds, so up to that much behind).
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_used_ip: Option<String>,
    #[serde(skip)]
    pub organization_path: String,
}

impl ApiKey {
    /// How the audit log and the event log name the key.
    pub fn label(&self) -> String {
        label(self.id, self.name.as_str())
    }
}

/// `apikey:7 (CDR uploader)`.
pub fn label(id: i64, name: &str) -> String {
    format!("apikey:{id} ({name})")
}

impl crate::system::audit::Audited for ApiKey {
    const ENTITY_TYPE: &'static str = "apikey";
    fn audit_id(&self) -> i64 {
        self.id
    }
    fn audit_owner(&self) -> (i64, &str) {
        (self.organization_id, &self.organization_path)
    }
}

/// A key with its secret: the only answer the secret is ever in.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedApiKey {
    #[serde(flatten)]
    pub key: ApiKey,
    /// The secret: send it as `Authorization: Bearer <secret>`, or as the password of HTTP
    /// Basic with the key's `id` as the user name. Shown only now; store it safely.
    pub secret: String,
}
