//! Identifying callers: claims, org IPs and trunk ACLs, longest prefix, refusals.

use super::*;

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// Platform 1 › partner 2 › tenants 3 and 4.
fn table() -> SourceTable {
    let orgs = vec![
        (1, "/1/".to_string()),
        (2, "/1/2/".to_string()),
        (3, "/1/2/3/".to_string()),
        (4, "/1/2/4/".to_string()),
    ];
    let org_ips = vec![
        (2, "192.0.2.0/24".to_string()),
        (3, "192.0.2.128/25".to_string()),
        (4, "2001:db8::/32".to_string()),
        (4, "not a cidr".to_string()),
    ];
    let trunk_ips = vec![
        (30, 3, "192.0.2.200/32".to_string()),
        (31, 4, "192.0.2.128/25".to_string()),
    ];
    let (table, bad) = SourceTable::build(orgs, &org_ips, &trunk_ips);
    assert_eq!(bad, 1);
    assert_eq!(table.len(), 5);
    table
}

#[test]
fn the_longest_prefix_wins_and_a_trunk_acl_before_an_org_ip_of_equal_length() {
    let t = table();
    let id = |s: &str| t.identify(Claim::None, ip(s), true);
    assert_eq!(
        id("192.0.2.7"),
        Ok(Identity {
            organization_id: 2,
            trunk_id: None
        })
    );
    assert_eq!(
        id("192.0.2.200"),
        Ok(Identity {
            organization_id: 3,
            trunk_id: Some(30)
        })
    );
    // 192.0.2.128/25 is both tenant 3's org IP and trunk 31's (tenant 4) ACL: the trunk wins.
    assert_eq!(
        id("192.0.2.129"),
        Ok(Identity {
            organization_id: 4,
            trunk_id: Some(31)
        })
    );
    assert_eq!(
        id("2001:db8::5"),
        Ok(Identity {
            organization_id: 4,
            trunk_id: None
        })
    );
    assert_eq!(
        id("::ffff:192.0.2.7"),
        Ok(Identity {
            organization_id: 2,
            trunk_id: None
        })
    );
    assert_eq!(id("198.51.100.1"), Err(Refusal::UnknownSource));
    assert_eq!(id("2001:db9::1"), Err(Refusal::UnknownSource));
}

#[test]
fn a_claim_is_trusted_from_the_organization_or_an_ancestor_only() {
    let t = table();
    // The partner's SBC speaks for tenant 3 and tenant 4.
    assert_eq!(
        t.identify(Claim::Organization(3), ip("192.0.2.7"), true),
        Ok(Identity {
            organization_id: 3,
            trunk_id: None
        })
    );
    assert_eq!(
        t.identify(Claim::Organization(4), ip("192.0.2.7"), false),
        Ok(Identity {
            organization_id: 4,
            trunk_id: None
        })
    );
    // Tenant 3's trunk may not speak for the partner nor for sibling tenant 4 …
    assert_eq!(
        t.identify(Claim::Organization(2), ip("192.0.2.200"), true),
        Ok(Identity {
            organization_id: 2,
            trunk_id: None
        }),
        "the partner's /24 also covers .200, so the claim is allowed through it"
    );
    assert_eq!(
        t.identify(Claim::Organization(1), ip("192.0.2.7"), true),
        Err(Refusal::NotAllowedForOrganization)
    );
    assert_eq!(
        t.identify(Claim::Organization(3), ip("2001:db8::1"), true),
        Err(Refusal::NotAllowedForOrganization)
    );
    // … and a claim needs a known source and a known organization.
    assert_eq!(
        t.identify(Claim::Organization(3), ip("198.51.100.1"), true),
        Err(Refusal::UnknownSource)
    );
    assert_eq!(
        t.identify(Claim::Organization(99), ip("192.0.2.7"), true),
        Err(Refusal::UnknownOrganization)
    );
    assert_eq!(
        t.identify(Claim::Malformed, ip("192.0.2.7"), true),
        Err(Refusal::UnknownOrganization)
    );
    assert_eq!(
        t.identify(Claim::None, ip("192.0.2.7"), false),
        Err(Refusal::OrganizationNotNamed)
    );
}

#[test]
fn the_trunk_of_a_claim_is_the_longest_qualifying_acl() {
    let t = table();
    // .200 is trunk 30 (tenant 3): a claim for tenant 3 keeps the trunk.
    assert_eq!(
        t.identify(Claim::Organization(3), ip("192.0.2.200"), true),
        Ok(Identity {
            organization_id: 3,
            trunk_id: Some(30)
        })
    );
}

#[test]
fn claims_parse_ids_only() {
    assert_eq!(Claim::parse(None), Claim::None);
    assert_eq!(Claim::parse(Some(" 42 ")), Claim::Organization(42));
    for bad in ["", "x", "-1", "0", "4 2", "99999999999999999999"] {
        assert_eq!(Claim::parse(Some(bad)), Claim::Malformed, "{bad}");
    }
}

#[test]
fn a_default_route_matches_everything_of_its_family() {
    let (t, _) = SourceTable::build(vec![(1, "/1/".into())], &[(1, "0.0.0.0/0".into())], &[]);
    assert_eq!(t.matches(ip("203.0.113.9")).len(), 1);
    assert!(t.matches(ip("::1")).is_empty());
}
