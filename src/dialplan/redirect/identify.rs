//! Who is calling: the organization (and trunk) an INVITE to the redirect listener belongs to,
//! from its source address and, optionally, a header or Request-URI parameter naming an
//! organization. Pure: the table is built from rows the caller loaded.
//!
//! The rules, in order:
//! 1. The configured header (`X-Dialtone-Org: 42`), else the configured Request-URI parameter
//!    (`;dialtone_org=42`), names an organization. The claim is trusted only when the source
//!    address is an org IP or a trunk IP ACL of that organization *or of one of its ancestors*
//!    (a partner's SBC may speak for its tenants; a tenant's address may not speak for its
//!    partner or a sibling). The longest matching network that qualifies decides the trunk.
//! 2. Otherwise, when identification by source is on, the longest matching network among all org
//!    IPs and trunk IPs names the organization; at equal length a trunk's ACL wins over an org
//!    IP (it says more: the trunk), then the lowest row id.
//! 3. Otherwise the call is refused with 403.

use ipnet::IpNet;
use std::collections::HashMap;
use std::net::IpAddr;

/// One network the calls may come from: an org IP (`trunk_id` None) or a trunk's IP ACL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    pub organization_id: i64,
    pub trunk_id: Option<i64>,
}

/// The result of identification: whose dial plan runs, and on which trunk the call arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub organization_id: i64,
    pub trunk_id: Option<i64>,
}

/// What the INVITE says about its organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Neither the header nor the parameter is present.
    None,
    /// An organization id.
    Organization(i64),
    /// Present but not an id.
    Malformed,
}

impl Claim {
    /// Parses the value of the header or parameter (a decimal id, surrounding blanks allowed).
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            None => Claim::None,
            Some(v) => match v.trim().parse::<i64>() {
                Ok(id) if id > 0 => Claim::Organization(id),
                _ => Claim::Malformed,
            },
        }
    }
}

/// Why a call could not be identified; answered 403 with this text as the Reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    UnknownSource,
    UnknownOrganization,
    NotAllowedForOrganization,
    OrganizationNotNamed,
}

impl Refusal {
    pub fn text(self) -> &'static str {
        match self {
            Refusal::UnknownSource => "Unknown source",
            Refusal::UnknownOrganization => "Unknown organization",
            Refusal::NotAllowedForOrganization => "Source not allowed for this organization",
            Refusal::OrganizationNotNamed => "Organization not named",
        }
    }

    /// A short label for metrics.
    pub fn label(self) -> &'static str {
        match self {
            Refusal::UnknownSource => "unknown_source",
            Refusal::UnknownOrganization => "unknown_organization",
            Refusal::NotAllowedForOrganization => "not_allowed",
            Refusal::OrganizationNotNamed => "not_named",
        }
    }
}

/// Networks of one address family, grouped by prefix length (longest first) and keyed by the
/// network address, so a lookup is one hash probe per distinct prefix length in use.
#[derive(Debug, Default)]
struct Family<K> {
    by_length: Vec<(u8, HashMap<K, Vec<Source>>)>,
}

impl<K: std::hash::Hash + Eq + Copy> Family<K> {
    fn insert(&mut self, length: u8, network: K, source: Source) {
        let slot = match self.by_length.iter().position(|(l, _)| *l == length) {
            Some(i) => i,
            None => {
                self.by_length.push((length, HashMap::new()));
                self.by_length
                    .sort_by_key(|(length, _)| std::cmp::Reverse(*length));
                self.by_length
                    .iter()
                    .position(|(l, _)| *l == length)
                    .unwrap_or(0)
            }
        };
        self.by_length[slot]
            .1
            .entry(network)
            .or_default()
            .push(source);
    }

    fn matches(&self, mask: impl Fn(u8) -> K) -> impl Iterator<Item = &Source> + '_ {
        let mut found = Vec::new();
        for (length, table) in &self.by_length {
            if let Some(sources) = table.get(&mask(*length)) {
                found.extend(sources.iter());
            }
        }
        found.into_iter()
    }

    fn finish(&mut self) {
        // At equal length a trunk's ACL comes first; otherwise insertion (row id) order stays.
        for (_, table) in &mut self.by_length {
            for sources in table.values_mut() {
                sources.sort_by_key(|s| s.trunk_id.is_none());
            }
        }
    }
}

fn mask_v4(ip: u32, length: u8) -> u32 {
    if length == 0 {
        0
    } else {
        ip & (u32::MAX << (32 - u32::from(length)))
    }
}

fn mask_v6(ip: u128, length: u8) -> u128 {
    if length == 0 {
        0
    } else {
        ip & (u128::MAX << (128 - u32::from(length)))
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`, from dual-stack sockets) are their IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Every org IP and trunk IP ACL, plus every organization's materialized path.
#[derive(Debug, Default)]
pub struct SourceTable {
    v4: Family<u32>,
    v6: Family<u128>,
    paths: HashMap<i64, String>,
    networks: usize,
}

impl SourceTable {
    /// Builds the table from rows: organizations `(id, path)`, org IPs `(organization id,
    /// cidr)`, trunk IPs `(trunk id, organization id, cidr)`. Returns the table and how many
    /// stored CIDRs did not parse (they were validated on the way in, so this is a warning).
    pub fn build(
        organizations: Vec<(i64, String)>,
        org_ips: &[(i64, String)],
        trunk_ips: &[(i64, i64, String)],
    ) -> (Self, usize) {
        let mut table = SourceTable {
            paths: organizations.into_iter().collect(),
            ..Self::default()
        };
        let mut bad = 0;
        let rows = org_ips
            .iter()
            .map(|(org, cidr)| {
                (
                    Source {
                        organization_id: *org,
                        trunk_id: None,
                    },
                    cidr,
                )
            })
            .chain(trunk_ips.iter().map(|(trunk, org, cidr)| {
                (
                    Source {
                        organization_id: *org,
                        trunk_id: Some(*trunk),
                    },
                    cidr,
                )
            }));
        for (source, cidr) in rows {
            match cidr.parse::<IpNet>() {
                Ok(IpNet::V4(net)) => {
                    let length = net.prefix_len();
                    let network = mask_v4(u32::from(net.network()), length);
                    table.v4.insert(length, network, source);
                    table.networks += 1;
                }
                Ok(IpNet::V6(net)) => {
                    let length = net.prefix_len();
                    let network = mask_v6(u128::from(net.network()), length);
                    table.v6.insert(length, network, source);
                    table.networks += 1;
                }
                Err(_) => bad += 1,
            }
        }
        table.v4.finish();
        table.v6.finish();
        (table, bad)
    }

    /// How many networks the table holds.
    pub fn len(&self) -> usize {
        self.networks
    }

    pub fn is_empty(&self) -> bool {
        self.networks == 0
    }

    /// The networks containing `ip`, longest prefix first.
    pub fn matches(&self, ip: IpAddr) -> Vec<Source> {
        match canonical(ip) {
            IpAddr::V4(v4) => {
                let ip = u32::from(v4);
                self.v4.matches(|l| mask_v4(ip, l)).copied().collect()
            }
            IpAddr::V6(v6) => {
                let ip = u128::from(v6);
                self.v6.matches(|l| mask_v6(ip, l)).copied().collect()
            }
        }
    }

    /// The root organization (the operator's): the shortest path, then the lowest id.
    pub fn root(&self) -> Option<(i64, String)> {
        self.paths
            .iter()
            .min_by_key(|(id, path)| (path.len(), **id))
            .map(|(id, path)| (*id, path.clone()))
    }

    /// Whether `ancestor` is `organization` itself or above it in the tree.
    fn is_self_or_ancestor(&self, ancestor: i64, organization_path: &str) -> bool {
        self.paths
            .get(&ancestor)
            .is_some_and(|path| organization_path.starts_with(path.as_str()))
    }

    /// Identifies the caller by the rules in this module's documentation.
    pub fn identify(
        &self,
        claim: Claim,
        source: IpAddr,
        by_source_ip: bool,
    ) -> Result<Identity, Refusal> {
        match claim {
            Claim::Malformed => Err(Refusal::UnknownOrganization),
            Claim::Organization(id) => {
                let path = self.paths.get(&id).ok_or(Refusal::UnknownOrganization)?;
                let matches = self.matches(source);
                if matches.is_empty() {
                    return Err(Refusal::UnknownSource);
                }
                matches
                    .iter()
                    .find(|s| self.is_self_or_ancestor(s.organization_id, path))
                    .map(|s| Identity {
                        organization_id: id,
                        trunk_id: s.trunk_id,
                    })
                    .ok_or(Refusal::NotAllowedForOrganization)
            }
            Claim::None if by_source_ip => self
                .matches(source)
                .first()
                .map(|s| Identity {
                    organization_id: s.organization_id,
                    trunk_id: s.trunk_id,
                })
                .ok_or(Refusal::UnknownSource),
            Claim::None => Err(Refusal::OrganizationNotNamed),
        }
    }
}

#[cfg(test)]
mod tests {
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
}
