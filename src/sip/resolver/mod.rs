//! RFC 3263 target resolution: turns a [`SipUri`] into the ordered socket addresses and
//! transports to try (SRV with RFC 2782 weighting, then A/AAAA; no NAPTR), behind a
//! [`DnsLookup`] seam, with a TTL-bounded, size-bounded cache of the answers.
//!
//! Rules (RFC 3263 §4.1/§4.2 without NAPTR):
//! - a numeric host is used as is: the URI port or 5060, the URI transport or UDP; no DNS;
//! - a name with an explicit port: A/AAAA only;
//! - a name without a port: SRV `_sip._udp.<name>` (transport UDP or unspecified), then
//!   `_sip._tcp.<name>` if the transport is unspecified and UDP had no usable records;
//!   `_sip._tcp.<name>` only for `transport=tcp`; SRV sorted by priority, RFC 2782 weighted
//!   random order within a priority, each target expanded to its A and AAAA records;
//! - a SRV target of `.` means the service is decidedly not available there;
//! - no SRV records at all: A/AAAA of the name on port 5060.
//!
//! What is cached is the set of records, not one ordering of them: every call (hit or miss)
//! draws a fresh weighted order, so load still spreads by weight while the answer is cached.

mod cache;
mod hickory;
#[cfg(test)]
mod hickory_tests;
mod lookup;
mod srv;
#[cfg(test)]
mod tests;

pub use hickory::HickoryLookup;
pub use lookup::{BoxFuture, DnsLookup, IpRecord, ResolveError, SrvRecord, StaticLookup};
pub use srv::order_srv;

use cache::{Cache, CacheKey, Plan, SrvTarget};
use lookup::normalize_name;
use srv::{for_each_priority, weighted_order};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::time::Instant;

use crate::types::sip_uri::{Host, SipUri, Transport};

/// The port used when neither the URI nor a SRV record gives one (RFC 3261 §19.1.2).
pub const DEFAULT_SIP_PORT: u16 = 5060;
/// How long "this name has no targets" is remembered.
pub const DEFAULT_NEGATIVE_TTL: Duration = Duration::from_secs(30);
/// How many URIs' answers are remembered at most.
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;
/// Upper bound on how long any answer is cached, whatever its TTL says.
pub const MAX_CACHE_TTL: Duration = Duration::from_secs(86_400);

/// Where a request goes: one address and the transport to reach it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Target {
    pub addr: SocketAddr,
    pub transport: Transport,
}

/// RFC 3263 resolver with a cache. Cheap to share behind an `Arc`; `resolve` takes `&self`.
pub struct Resolver {
    lookup: Arc<dyn DnsLookup>,
    cache: Mutex<Cache>,
    rng: Mutex<StdRng>,
    negative_ttl: Duration,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("cached", &self.cache_len())
            .field("negative_ttl", &self.negative_ttl)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// SRV owner name for SIP over `transport` at `domain`.
fn srv_name(transport: Transport, domain: &str) -> String {
    match transport {
        Transport::Udp => format!("_sip._udp.{domain}"),
        Transport::Tcp => format!("_sip._tcp.{domain}"),
    }
}

fn keep_min(ttl: &mut Option<Duration>, candidate: Duration) {
    *ttl = Some(ttl.map_or(candidate, |current| current.min(candidate)));
}

impl Resolver {
    /// A resolver over `lookup`, with a randomly seeded SRV order, the default cache capacity
    /// and negative TTL.
    pub fn new(lookup: Arc<dyn DnsLookup>) -> Self {
        Self {
            lookup,
            cache: Mutex::new(Cache::new(DEFAULT_CACHE_CAPACITY)),
            rng: Mutex::new(StdRng::from_rng(&mut rand::rng())),
            negative_ttl: DEFAULT_NEGATIVE_TTL,
        }
    }

    /// Seeds the weighted SRV ordering (deterministic tests).
    pub fn with_seed(self, seed: u64) -> Self {
        *lock(&self.rng) = StdRng::seed_from_u64(seed);
        self
    }

    /// How many URIs' answers are kept at most (0 disables caching).
    pub fn with_cache_capacity(self, capacity: usize) -> Self {
        *lock(&self.cache) = Cache::new(capacity);
        self
    }

    /// How long an empty answer (no such name, no records, SRV target `.`) is remembered.
    pub fn with_negative_ttl(mut self, ttl: Duration) -> Self {
        self.negative_ttl = ttl;
        self
    }

    /// Number of cached answers (expired ones included until they are touched or evicted).
    pub fn cache_len(&self) -> usize {
        lock(&self.cache).len()
    }

    /// Forgets every cached answer.
    pub fn clear_cache(&self) {
        lock(&self.cache).clear();
    }

    /// Where to send requests for `uri`, best first (RFC 3263 §4, without NAPTR). An empty
    /// list means the name has no usable targets; `Err` means DNS failed (not cached).
    /// `now` is the clock the cache expires against.
    pub async fn resolve(&self, uri: &SipUri, now: Instant) -> Result<Vec<Target>, ResolveError> {
        let name = match &uri.host {
            Host::Ip(ip) => {
                return Ok(vec![Target {
                    addr: SocketAddr::new(*ip, uri.port.unwrap_or(DEFAULT_SIP_PORT)),
                    transport: uri.transport.unwrap_or(Transport::Udp),
                }]);
            }
            Host::Name(name) => normalize_name(name),
        };
        let key = CacheKey {
            host: name.clone(),
            port: uri.port,
            transport: uri.transport,
        };
        let cached = lock(&self.cache).get(&key, now);
        if let Some(plan) = cached {
            metrics::counter!("sip_dns_cache_hits_total").increment(1);
            return Ok(self.order(&plan));
        }
        metrics::counter!("sip_dns_cache_misses_total").increment(1);

        let (plan, ttl) = self.plan(&name, uri.port, uri.transport).await?;
        let ttl = if plan.is_empty() {
            self.negative_ttl
        } else {
            ttl
        };
        let plan = Arc::new(plan);
        lock(&self.cache).insert(key, plan.clone(), now, ttl);
        Ok(self.order(&plan))
    }

    /// Looks the name up; returns what was found and how long it may be cached.
    async fn plan(
        &self,
        name: &str,
        port: Option<u16>,
        transport: Option<Transport>,
    ) -> Result<(Plan, Duration), ResolveError> {
        if let Some(port) = port {
            return self
                .addresses(name, port, transport.unwrap_or(Transport::Udp))
                .await;
        }
        let candidates: &[Transport] = match transport {
            None => &[Transport::Udp, Transport::Tcp],
            Some(Transport::Udp) => &[Transport::Udp],
            Some(Transport::Tcp) => &[Transport::Tcp],
        };
        let mut found_srv = false;
        for &candidate in candidates {
            let owner = srv_name(candidate, name);
            let records = self.srv(&owner).await?;
            if records.is_empty() {
                continue;
            }
            found_srv = true;
            let usable: Vec<SrvRecord> = records
                .into_iter()
                .filter(|record| !normalize_name(&record.target).is_empty())
                .collect();
            if usable.is_empty() {
                tracing::debug!(%owner, "SRV target \".\": service not available");
                continue;
            }
            return self.expand_srv(&owner, usable, candidate).await;
        }
        if found_srv {
            return Ok((Plan::empty(), self.negative_ttl));
        }
        self.addresses(name, DEFAULT_SIP_PORT, transport.unwrap_or(Transport::Udp))
            .await
    }

    /// A/AAAA of `name` on `port`.
    async fn addresses(
        &self,
        name: &str,
        port: u16,
        transport: Transport,
    ) -> Result<(Plan, Duration), ResolveError> {
        let records = self.ips(name).await?;
        let mut ttl = None;
        let mut targets = Vec::with_capacity(records.len());
        for record in records {
            keep_min(&mut ttl, record.ttl);
            let target = Target {
                addr: SocketAddr::new(record.ip, port),
                transport,
            };
            if !targets.contains(&target) {
                targets.push(target);
            }
        }
        Ok((Plan::Addrs(targets), ttl.unwrap_or(self.negative_ttl)))
    }

    /// Resolves every SRV target's A/AAAA records concurrently. A target whose lookup fails is
    /// skipped (and the answer cached no longer than the negative TTL so it is retried soon);
    /// if every lookup failed, the first error is returned.
    async fn expand_srv(
        &self,
        owner: &str,
        mut records: Vec<SrvRecord>,
        transport: Transport,
    ) -> Result<(Plan, Duration), ResolveError> {
        records.sort_by_key(|record| record.priority);
        let mut ttl = None;
        for record in &records {
            keep_min(&mut ttl, record.ttl);
        }

        let mut names: Vec<String> = Vec::new();
        for record in &records {
            let name = normalize_name(&record.target);
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let mut lookups = tokio::task::JoinSet::new();
        for (index, name) in names.iter().enumerate() {
            metrics::counter!("sip_dns_lookups_total", "kind" => "ip").increment(1);
            let lookup = self.lookup.clone();
            let name = name.clone();
            lookups.spawn(async move { (index, lookup.ips(&name).await) });
        }
        let mut answers: Vec<Option<Result<Vec<IpRecord>, ResolveError>>> = vec![None; names.len()];
        while let Some(joined) = lookups.join_next().await {
            match joined {
                Ok((index, answer)) => {
                    if let Some(slot) = answers.get_mut(index) {
                        *slot = Some(answer);
                    }
                }
                Err(error) => {
                    tracing::warn!(%owner, %error, "SRV target lookup task failed");
                }
            }
        }

        let mut first_error = None;
        let mut any_failed = false;
        let mut by_name: HashMap<&str, Vec<IpRecord>> = HashMap::new();
        for (name, answer) in names.iter().zip(answers) {
            match answer {
                Some(Ok(ips)) => {
                    by_name.insert(name.as_str(), ips);
                }
                Some(Err(error)) => {
                    tracing::warn!(%owner, target = %name, %error, "SRV target lookup failed");
                    metrics::counter!("sip_dns_lookup_errors_total", "kind" => "ip").increment(1);
                    any_failed = true;
                    first_error.get_or_insert(error);
                }
                None => any_failed = true,
            }
        }

        let mut plan = Vec::with_capacity(records.len());
        for record in records {
            let Some(ips) = by_name.get(normalize_name(&record.target).as_str()) else {
                continue;
            };
            if ips.is_empty() {
                tracing::debug!(%owner, target = %record.target, "SRV target has no addresses");
                continue;
            }
            let mut targets = Vec::with_capacity(ips.len());
            for ip in ips {
                keep_min(&mut ttl, ip.ttl);
                targets.push(Target {
                    addr: SocketAddr::new(ip.ip, record.port),
                    transport,
                });
            }
            plan.push(SrvTarget {
                priority: record.priority,
                weight: record.weight,
                targets,
            });
        }

        if plan.is_empty()
            && let Some(error) = first_error
        {
            return Err(error);
        }
        let mut ttl = ttl.unwrap_or(self.negative_ttl);
        if any_failed {
            ttl = ttl.min(self.negative_ttl);
        }
        Ok((Plan::Srv(plan), ttl))
    }

    async fn srv(&self, name: &str) -> Result<Vec<SrvRecord>, ResolveError> {
        metrics::counter!("sip_dns_lookups_total", "kind" => "srv").increment(1);
        let answer = self.lookup.srv(name).await;
        if let Err(error) = &answer {
            metrics::counter!("sip_dns_lookup_errors_total", "kind" => "srv").increment(1);
            tracing::debug!(%name, %error, "SRV lookup failed");
        }
        answer
    }

    async fn ips(&self, name: &str) -> Result<Vec<IpRecord>, ResolveError> {
        metrics::counter!("sip_dns_lookups_total", "kind" => "ip").increment(1);
        let answer = self.lookup.ips(name).await;
        if let Err(error) = &answer {
            metrics::counter!("sip_dns_lookup_errors_total", "kind" => "ip").increment(1);
            tracing::debug!(%name, %error, "A/AAAA lookup failed");
        }
        answer
    }

    /// Draws this call's order: priorities ascending, weighted random within each priority,
    /// each SRV target's addresses in DNS order; duplicates dropped.
    fn order(&self, plan: &Plan) -> Vec<Target> {
        let groups = match plan {
            Plan::Addrs(targets) => return targets.clone(),
            Plan::Srv(groups) => groups.clone(),
        };
        let mut rng = lock(&self.rng);
        let mut seen = HashSet::new();
        let mut ordered = Vec::new();
        for_each_priority(
            groups,
            |g| g.priority,
            |group| {
                for srv in weighted_order(group, |g| g.weight, &mut *rng) {
                    for target in srv.targets {
                        if seen.insert(target) {
                            ordered.push(target);
                        }
                    }
                }
            },
        );
        ordered
    }
}
