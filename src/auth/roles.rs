//! Roles and what each may do, by the type of the organization the user belongs to.

use crate::orgs::OrgType;
use serde::{Deserialize, Serialize};

/// A user's role within their own organization (and, by inheritance, its descendants).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    User,
    Readonly,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
            Role::Readonly => "readonly",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "admin" => Some(Role::Admin),
            "user" => Some(Role::User),
            "readonly" => Some(Role::Readonly),
            _ => None,
        }
    }

    /// A stored role, or why it is not one.
    pub fn parse_stored(text: &str) -> Result<Self, String> {
        Self::parse(text).ok_or_else(|| "not one of admin, user, readonly".to_string())
    }
}

/// One thing a caller may do. Scope (which organizations) is separate: see `Caller::scope`.
/// Serialized as its name (`users:read`), as API keys list them.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub enum Permission {
    #[serde(rename = "organizations:read")]
    OrganizationsRead,
    /// Edit organizations in scope (name, status, domains, IPs, client access).
    #[serde(rename = "organizations:write")]
    OrganizationsWrite,
    /// Create child organizations: only organizations that can have children.
    #[serde(rename = "organizations:create")]
    OrganizationsCreate,
    #[serde(rename = "users:read")]
    UsersRead,
    #[serde(rename = "users:write")]
    UsersWrite,
    #[serde(rename = "auditlog:read")]
    AuditRead,
    /// Change one's own password, e-mail and two-factor settings.
    #[serde(rename = "profile:write")]
    ProfileWrite,
    /// See the API keys in scope (never their secrets).
    #[serde(rename = "apikeys:read")]
    ApiKeysRead,
    /// Create, change, rotate and revoke API keys in scope.
    #[serde(rename = "apikeys:write")]
    ApiKeysWrite,
    /// See the webhook endpoints in scope and their delivery logs (never their secrets).
    #[serde(rename = "webhooks:read")]
    WebhooksRead,
    /// Create, change, rotate, test and delete webhook endpoints; redeliver.
    #[serde(rename = "webhooks:write")]
    WebhooksWrite,
    /// See call queues' latest figures and time series.
    #[serde(rename = "queues:read")]
    QueuesRead,
    /// Report call queues' state (a PBX) and delete queues.
    #[serde(rename = "queues:write")]
    QueuesWrite,
    /// See retention settings and legal holds in scope.
    #[serde(rename = "retention:read")]
    RetentionRead,
    /// Change retention, place and release legal holds, start a purge.
    #[serde(rename = "retention:write")]
    RetentionWrite,
}

pub const ALL: [Permission; 15] = [
    Permission::OrganizationsRead,
    Permission::OrganizationsWrite,
    Permission::OrganizationsCreate,
    Permission::UsersRead,
    Permission::UsersWrite,
    Permission::AuditRead,
    Permission::ProfileWrite,
    Permission::ApiKeysRead,
    Permission::ApiKeysWrite,
    Permission::WebhooksRead,
    Permission::WebhooksWrite,
    Permission::QueuesRead,
    Permission::QueuesWrite,
    Permission::RetentionRead,
    Permission::RetentionWrite,
];

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::OrganizationsRead => "organizations:read",
            Permission::OrganizationsWrite => "organizations:write",
            Permission::OrganizationsCreate => "organizations:create",
            Permission::UsersRead => "users:read",
            Permission::UsersWrite => "users:write",
            Permission::AuditRead => "auditlog:read",
            Permission::ProfileWrite => "profile:write",
            Permission::ApiKeysRead => "apikeys:read",
            Permission::ApiKeysWrite => "apikeys:write",
            Permission::WebhooksRead => "webhooks:read",
            Permission::WebhooksWrite => "webhooks:write",
            Permission::QueuesRead => "queues:read",
            Permission::QueuesWrite => "queues:write",
            Permission::RetentionRead => "retention:read",
            Permission::RetentionWrite => "retention:write",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        ALL.into_iter().find(|p| p.as_str() == text)
    }
}

/// Whether `role` in an organization of `org_type` has `permission`.
pub fn allows(role: Role, org_type: OrgType, permission: Permission) -> bool {
    use Permission::*;
    match permission {
        OrganizationsRead | UsersRead | AuditRead | ProfileWrite | QueuesRead => true,
        // A PBX reports with a key of role user (or one holding just this permission).
        QueuesWrite => role != Role::Readonly,
        OrganizationsWrite | UsersWrite | ApiKeysRead | ApiKeysWrite | WebhooksRead
        | WebhooksWrite | RetentionRead | RetentionWrite => role == Role::Admin,
        OrganizationsCreate => role == Role::Admin && org_type.child_types().next().is_some(),
    }
}

/// Everything `role` in an organization of `org_type` may do, as permission names.
pub fn permissions(role: Role, org_type: OrgType) -> Vec<&'static str> {
    ALL.iter()
        .filter(|p| allows(role, org_type, **p))
        .map(|p| p.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_admins_cannot_create_children_readonly_cannot_write() {
        assert!(permissions(Role::Admin, OrgType::Partner).contains(&"organizations:create"));
        assert!(!permissions(Role::Admin, OrgType::Tenant).contains(&"organizations:create"));
        assert!(permissions(Role::Admin, OrgType::Tenant).contains(&"users:write"));
        let readonly = permissions(Role::Readonly, OrgType::Platform);
        assert!(
            !readonly
                .iter()
                .any(|p| p.ends_with(":write") && *p != "profile:write")
        );
        assert!(!allows(
            Role::User,
            OrgType::Platform,
            Permission::UsersWrite
        ));
        assert!(!permissions(Role::User, OrgType::Platform).contains(&"apikeys:read"));
        assert!(permissions(Role::Admin, OrgType::Tenant).contains(&"apikeys:write"));
    }

    #[test]
    fn permission_names_round_trip_through_serde_and_parse() {
        for permission in ALL {
            let json = serde_json::to_value(permission).unwrap();
            assert_eq!(json, permission.as_str());
            assert_eq!(
                serde_json::from_value::<Permission>(json).unwrap(),
                permission
            );
            assert_eq!(Permission::parse(permission.as_str()), Some(permission));
        }
        assert_eq!(Permission::parse("users:delete"), None);
    }
}
