//! What a key may do, as pure rules: a key is never wider than whoever creates or changes it
//! (each permission its role or list grants must be one the caller holds), a key limited to a
//! list acts with the lowest role that covers the list, and a key set by another key never
//! outlives it. Time comes in as an argument.

use crate::auth::roles::{ALL, allows};
use crate::auth::{Permission, Role};
use crate::error::{Error, Result};
use crate::orgs::OrgType;
use chrono::{DateTime, Utc};

/// How a key is limited: a role, or a list of permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    Role(Role),
    Permissions(Vec<Permission>),
}

impl Grant {
    /// A list, sorted and without repeats.
    pub fn permissions(mut list: Vec<Permission>) -> Self {
        list.sort();
        list.dedup();
        Grant::Permissions(list)
    }

    /// Everything the key may do in an organization of `org_type`.
    pub fn effective(&self, org_type: OrgType) -> Vec<Permission> {
        ALL.into_iter()
            .filter(|p| match self {
                Grant::Role(role) => allows(*role, org_type, *p),
                Grant::Permissions(list) => {
                    list.contains(p) && allows(covering_role(list, org_type), org_type, *p)
                }
            })
            .collect()
    }

    /// The role the key acts with.
    pub fn role(&self, org_type: OrgType) -> Role {
        match self {
            Grant::Role(role) => *role,
            Grant::Permissions(list) => covering_role(list, org_type),
        }
    }
}

/// The lowest role that grants every permission of `list` in an organization of `org_type`
/// (admin when none does: the organization's type still refuses what no role may do there).
pub fn covering_role(list: &[Permission], org_type: OrgType) -> Role {
    [Role::Readonly, Role::User, Role::Admin]
        .into_iter()
        .find(|role| list.iter().all(|p| allows(*role, org_type, *p)))
        .unwrap_or(Role::Admin)
}

/// 403 naming the field unless the caller holds everything `grant` gives a key of an
/// organization of `org_type`.
pub fn check_within(
    grant: &Grant,
    org_type: OrgType,
    holds: impl Fn(Permission) -> bool,
) -> Result<()> {
    let missing = grant.effective(org_type).into_iter().find(|p| !holds(*p));
    let listed = match grant {
        Grant::Permissions(list) => list.iter().copied().find(|p| !holds(*p)),
        Grant::Role(_) => None,
    };
    match (grant, listed.or(missing)) {
        (_, None) => Ok(()),
        (Grant::Role(role), Some(p)) => Err(Error::Forbidden(format!(
            "role: {} grants {}, which you do not hold; a key cannot be wider than its creator",
            role.as_str(),
            p.as_str()
        ))),
        (Grant::Permissions(_), Some(p)) => Err(Error::Forbidden(format!(
            "permissions: {} is not granted to you; a key cannot be wider than its creator",
            p.as_str()
        ))),
    }
}

/// 403 unless the caller may change, rotate or revoke a key with `grant` and `expires_at`: it
/// holds everything the key may do, and, being a key with expiry `ceiling`, the key does not
/// outlive it (a rotation hands out the key's secret, so a narrower caller must not get it).
pub fn check_manageable(
    id: i64,
    grant: &Grant,
    org_type: OrgType,
    expires_at: Option<DateTime<Utc>>,
    holds: impl Fn(Permission) -> bool,
    ceiling: Option<DateTime<Utc>>,
) -> Result<()> {
    if let Some(p) = grant.effective(org_type).into_iter().find(|p| !holds(*p)) {
        return Err(Error::Forbidden(format!(
            "API key {id} grants {}, which you do not hold; you cannot manage a key wider than yourself",
            p.as_str()
        )));
    }
    match (expires_at, ceiling) {
        (None, Some(_)) => Err(Error::Forbidden(format!(
            "API key {id} never expires; a key that expires cannot manage it"
        ))),
        (Some(at), Some(limit)) if at > limit => Err(Error::Forbidden(format!(
            "API key {id} outlives the API key you use; it cannot manage it"
        ))),
        _ => Ok(()),
    }
}

/// The expiry a key gets when `wanted` is asked for at `now` by a caller whose own key (if it
/// is one) expires at `ceiling`: in the future, and never after the ceiling (no expiry asked
/// for means the ceiling).
pub fn lifetime(
    wanted: Option<DateTime<Utc>>,
    ceiling: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    if let Some(at) = wanted
        && at <= now
    {
        return Err(Error::field("expires_at", "must be in the future"));
    }
    match (wanted, ceiling) {
        (Some(at), Some(limit)) if at > limit => Err(Error::Forbidden(format!(
            "expires_at: a key cannot outlive the API key that sets it ({})",
            limit.to_rfc3339()
        ))),
        (None, Some(limit)) => Ok(Some(limit)),
        (wanted, _) => Ok(wanted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Permission::*;
    use chrono::Duration;

    #[test]
    fn a_list_acts_with_the_lowest_role_that_covers_it() {
        assert_eq!(covering_role(&[AuditRead], OrgType::Tenant), Role::Readonly);
        assert_eq!(
            covering_role(&[AuditRead, UsersWrite], OrgType::Tenant),
            Role::Admin
        );
        assert_eq!(covering_role(&[], OrgType::Partner), Role::Readonly);
        // No role may create children of a tenant; the list keeps asking and is refused.
        assert_eq!(
            covering_role(&[OrganizationsCreate], OrgType::Tenant),
            Role::Admin
        );
        let grant = Grant::permissions(vec![OrganizationsCreate, AuditRead, AuditRead]);
        assert_eq!(
            grant,
            Grant::Permissions(vec![OrganizationsCreate, AuditRead])
        );
        assert_eq!(grant.effective(OrgType::Tenant), vec![AuditRead]);
        assert_eq!(
            grant.effective(OrgType::Partner),
            vec![OrganizationsCreate, AuditRead]
        );
    }

    #[test]
    fn a_key_is_never_wider_than_its_creator() {
        // A tenant admin holds everything an admin may do in a tenant.
        let tenant_admin = |p| allows(Role::Admin, OrgType::Tenant, p);
        assert!(check_within(&Grant::Role(Role::Admin), OrgType::Tenant, tenant_admin).is_ok());
        let wider = Grant::permissions(vec![OrganizationsCreate]);
        let err = check_within(&wider, OrgType::Tenant, tenant_admin)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("permissions: organizations:create"),
            "{err}"
        );
        // A key limited to a list creates keys within the list only.
        let limited = |p| [ApiKeysWrite, AuditRead].contains(&p);
        let err = check_within(&Grant::Role(Role::Readonly), OrgType::Tenant, limited)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("role: readonly grants organizations:read"),
            "{err}"
        );
        assert!(
            check_within(
                &Grant::permissions(vec![AuditRead]),
                OrgType::Tenant,
                limited
            )
            .is_ok()
        );
    }

    #[test]
    fn only_a_caller_as_wide_and_as_lasting_manages_a_key() {
        let now = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let admin = Grant::Role(Role::Admin);
        let all = |p| allows(Role::Admin, OrgType::Platform, p);
        assert!(check_manageable(7, &admin, OrgType::Tenant, None, all, None).is_ok());
        let narrow = |p| [ApiKeysWrite, AuditRead].contains(&p);
        let err = check_manageable(7, &admin, OrgType::Tenant, None, narrow, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("API key 7 grants organizations:read"),
            "{err}"
        );
        let audit = Grant::Permissions(vec![AuditRead]);
        assert!(check_manageable(7, &audit, OrgType::Tenant, Some(now), narrow, Some(now)).is_ok());
        assert!(check_manageable(7, &audit, OrgType::Tenant, None, narrow, Some(now)).is_err());
        let later = Some(now + Duration::seconds(1));
        assert!(check_manageable(7, &audit, OrgType::Tenant, later, narrow, Some(now)).is_err());
    }

    #[test]
    fn expiry_is_in_the_future_and_under_the_ceiling() {
        let now = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let later = now + Duration::days(1);
        assert_eq!(lifetime(None, None, now).unwrap(), None);
        assert_eq!(lifetime(Some(later), None, now).unwrap(), Some(later));
        let err = lifetime(Some(now), None, now).unwrap_err().to_string();
        assert_eq!(err, "expires_at: must be in the future");
        assert_eq!(lifetime(None, Some(later), now).unwrap(), Some(later));
        let err = lifetime(Some(later + Duration::seconds(1)), Some(later), now)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("expires_at: a key cannot outlive"), "{err}");
        assert_eq!(
            lifetime(Some(later), Some(later), now).unwrap(),
            Some(later)
        );
    }
}
