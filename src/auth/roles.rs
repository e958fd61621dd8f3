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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    OrganizationsRead,
    /// Edit organizations in scope (name, status, domains, IPs, client access).
    OrganizationsWrite,
    /// Create child organizations: only organizations that can have children.
    OrganizationsCreate,
    UsersRead,
    UsersWrite,
    AuditRead,
    /// Change one's own password, e-mail and two-factor settings.
    ProfileWrite,
}

pub const ALL: [Permission; 7] = [
    Permission::OrganizationsRead,
    Permission::OrganizationsWrite,
    Permission::OrganizationsCreate,
    Permission::UsersRead,
    Permission::UsersWrite,
    Permission::AuditRead,
    Permission::ProfileWrite,
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
        }
    }
}

/// Whether `role` in an organization of `org_type` has `permission`.
pub fn allows(role: Role, org_type: OrgType, permission: Permission) -> bool {
    use Permission::*;
    match permission {
        OrganizationsRead | UsersRead | AuditRead | ProfileWrite => true,
        OrganizationsWrite | UsersWrite => role == Role::Admin,
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
    }
}
