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
mod tests;
