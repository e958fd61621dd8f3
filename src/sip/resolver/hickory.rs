//! [`DnsLookup`] over hickory-resolver: the system's resolv.conf or explicit name servers.

use super::lookup::{BoxFuture, DnsLookup, IpRecord, ResolveError, SrvRecord};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;

/// [`DnsLookup`] backed by hickory-resolver. Names are queried as absolute (a trailing dot is
/// added), so resolv.conf search domains are not appended to SIP host names. Both A and AAAA
/// are queried in parallel; IPv4 answers come first.
#[derive(Clone)]
pub struct HickoryLookup {
    resolver: TokioResolver,
}

impl std::fmt::Debug for HickoryLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HickoryLookup").finish_non_exhaustive()
    }
}

impl HickoryLookup {
    /// Uses the system configuration (`/etc/resolv.conf`, `/etc/hosts`).
    pub fn from_system_conf() -> Result<Self, ResolveError> {
        let mut builder =
            TokioResolver::builder_tokio().map_err(|e| ResolveError::Config(e.to_string()))?;
        builder.options_mut().ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
        let resolver = builder
            .build()
            .map_err(|e| ResolveError::Config(e.to_string()))?;
        Ok(Self { resolver })
    }

    /// Queries exactly these name servers (UDP, then TCP on truncation; at the given ports),
    /// ignoring resolv.conf and the hosts file: e.g. a test DNS server on 127.0.0.1.
    pub fn with_name_servers(servers: Vec<SocketAddr>) -> Result<Self, ResolveError> {
        if servers.is_empty() {
            return Err(ResolveError::Config("no name servers given".into()));
        }
        let name_servers = servers
            .iter()
            .map(|server| {
                let mut config = NameServerConfig::udp_and_tcp(server.ip());
                for connection in &mut config.connections {
                    connection.port = server.port();
                }
                config
            })
            .collect();
        let mut builder = TokioResolver::builder_with_config(
            ResolverConfig::from_name_servers(name_servers),
            TokioRuntimeProvider::default(),
        );
        let options = builder.options_mut();
        options.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
        options.use_hosts_file = ResolveHosts::Never;
        let resolver = builder
            .build()
            .map_err(|e| ResolveError::Config(e.to_string()))?;
        Ok(Self { resolver })
    }
}

/// `name.` (absolute), so the system search list is not applied.
fn absolute(name: &str) -> String {
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

/// Empty answers are `Ok(vec![])`; everything else is a [`ResolveError`].
fn empty_or_error<T>(name: &str, error: NetError) -> Result<Vec<T>, ResolveError> {
    if error.is_no_records_found() {
        return Ok(Vec::new());
    }
    let name = name.trim_end_matches('.').to_string();
    match error {
        NetError::Timeout => Err(ResolveError::Timeout { name }),
        other => Err(ResolveError::Failed {
            name,
            reason: other.to_string(),
        }),
    }
}

/// The record's own TTL, but no longer than the answer's remaining validity in hickory's cache.
fn record_ttl(ttl: u32, remaining: Duration) -> Duration {
    Duration::from_secs(u64::from(ttl)).min(remaining)
}

/// The records of `lookup` that `each` keeps, each given its TTL capped by the answer's validity.
fn records<T>(
    lookup: &hickory_resolver::lookup::Lookup,
    mut each: impl FnMut(&RData, Duration) -> Option<T>,
) -> Vec<T> {
    let remaining = lookup
        .valid_until()
        .saturating_duration_since(std::time::Instant::now());
    lookup
        .answers()
        .iter()
        .filter_map(|record| each(&record.data, record_ttl(record.ttl, remaining)))
        .collect()
}

impl DnsLookup for HickoryLookup {
    fn srv(&self, name: &str) -> BoxFuture<'_, Result<Vec<SrvRecord>, ResolveError>> {
        let name = absolute(name);
        Box::pin(async move {
            let lookup = match self.resolver.srv_lookup(name.as_str()).await {
                Ok(lookup) => lookup,
                Err(error) => return empty_or_error(&name, error),
            };
            Ok(records(&lookup, |data, ttl| match data {
                RData::SRV(srv) => Some(SrvRecord {
                    priority: srv.priority,
                    weight: srv.weight,
                    port: srv.port,
                    target: srv.target.to_ascii(),
                    ttl,
                }),
                _ => None,
            }))
        })
    }

    fn ips(&self, name: &str) -> BoxFuture<'_, Result<Vec<IpRecord>, ResolveError>> {
        let name = absolute(name);
        Box::pin(async move {
            let lookup = match self.resolver.lookup_ip(name.as_str()).await {
                Ok(lookup) => lookup,
                Err(error) => return empty_or_error(&name, error),
            };
            Ok(records(lookup.as_lookup(), |data, ttl| {
                let ip = match data {
                    RData::A(a) => IpAddr::V4(a.0),
                    RData::AAAA(aaaa) => IpAddr::V6(aaaa.0),
                    _ => return None,
                };
                Some(IpRecord { ip, ttl })
            }))
        })
    }
}
