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

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
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

/// A boxed, sendable future (what [`DnsLookup`] methods return).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One SRV resource record. `target` is a domain name; `"."` means "service not available".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvRecord {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub target: String,
    pub ttl: Duration,
}

/// One A or AAAA resource record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRecord {
    pub ip: IpAddr,
    pub ttl: Duration,
}

/// A DNS failure (not "no such name": that is an empty answer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("DNS lookup of {name} timed out")]
    Timeout { name: String },
    #[error("DNS lookup of {name} failed: {reason}")]
    Failed { name: String, reason: String },
    #[error("DNS resolver configuration: {0}")]
    Config(String),
}

/// Where DNS answers come from. NXDOMAIN and "no records of this type" are `Ok(vec![])`;
/// `Err` is for failures (timeouts, SERVFAIL, refused, unreachable servers).
pub trait DnsLookup: Send + Sync + 'static {
    /// SRV records of `name` (e.g. `_sip._udp.example.com`).
    fn srv(&self, name: &str) -> BoxFuture<'_, Result<Vec<SrvRecord>, ResolveError>>;
    /// A and AAAA records of `name`, both families.
    fn ips(&self, name: &str) -> BoxFuture<'_, Result<Vec<IpRecord>, ResolveError>>;
}

/// Where a request goes: one address and the transport to reach it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Target {
    pub addr: SocketAddr,
    pub transport: Transport,
}

// ---------------------------------------------------------------------------------------------
// Hickory

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

impl DnsLookup for HickoryLookup {
    fn srv(&self, name: &str) -> BoxFuture<'_, Result<Vec<SrvRecord>, ResolveError>> {
        let name = absolute(name);
        Box::pin(async move {
            let lookup = match self.resolver.srv_lookup(name.as_str()).await {
                Ok(lookup) => lookup,
                Err(error) => return empty_or_error(&name, error),
            };
            let remaining = lookup
                .valid_until()
                .saturating_duration_since(std::time::Instant::now());
            Ok(lookup
                .answers()
                .iter()
                .filter_map(|record| match &record.data {
                    RData::SRV(srv) => Some(SrvRecord {
                        priority: srv.priority,
                        weight: srv.weight,
                        port: srv.port,
                        target: srv.target.to_ascii(),
                        ttl: record_ttl(record.ttl, remaining),
                    }),
                    _ => None,
                })
                .collect())
        })
    }

    fn ips(&self, name: &str) -> BoxFuture<'_, Result<Vec<IpRecord>, ResolveError>> {
        let name = absolute(name);
        Box::pin(async move {
            let lookup = match self.resolver.lookup_ip(name.as_str()).await {
                Ok(lookup) => lookup,
                Err(error) => return empty_or_error(&name, error),
            };
            let remaining = lookup
                .valid_until()
                .saturating_duration_since(std::time::Instant::now());
            Ok(lookup
                .as_lookup()
                .answers()
                .iter()
                .filter_map(|record| {
                    let ip = match &record.data {
                        RData::A(a) => IpAddr::V4(a.0),
                        RData::AAAA(aaaa) => IpAddr::V6(aaaa.0),
                        _ => return None,
                    };
                    Some(IpRecord {
                        ip,
                        ttl: record_ttl(record.ttl, remaining),
                    })
                })
                .collect())
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Static table

/// A fixed table of answers: for tests, and for operators' static overrides. Names are matched
/// case-insensitively, with or without a trailing dot; unknown names answer "no records".
/// A name can also be made to fail. It counts the lookups it is asked for.
#[derive(Debug, Default)]
pub struct StaticLookup {
    srv: HashMap<String, Vec<SrvRecord>>,
    ips: HashMap<String, Vec<IpRecord>>,
    failures: HashMap<String, ResolveError>,
    srv_calls: AtomicUsize,
    ip_calls: AtomicUsize,
}

/// The key a name is stored and looked up under.
fn normalize_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl StaticLookup {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds SRV records for `name` (appended to any already there).
    pub fn with_srv(mut self, name: &str, records: impl IntoIterator<Item = SrvRecord>) -> Self {
        self.insert_srv(name, records);
        self
    }

    /// Adds A/AAAA records for `name` (appended to any already there).
    pub fn with_ips(mut self, name: &str, records: impl IntoIterator<Item = IpRecord>) -> Self {
        self.insert_ips(name, records);
        self
    }

    /// Makes every lookup of `name` (SRV or A/AAAA) fail with `error`.
    pub fn with_failure(mut self, name: &str, error: ResolveError) -> Self {
        self.failures.insert(normalize_name(name), error);
        self
    }

    pub fn insert_srv(&mut self, name: &str, records: impl IntoIterator<Item = SrvRecord>) {
        self.srv
            .entry(normalize_name(name))
            .or_default()
            .extend(records);
    }

    pub fn insert_ips(&mut self, name: &str, records: impl IntoIterator<Item = IpRecord>) {
        self.ips
            .entry(normalize_name(name))
            .or_default()
            .extend(records);
    }

    /// How many SRV lookups were asked for so far.
    pub fn srv_calls(&self) -> usize {
        self.srv_calls.load(Ordering::Relaxed)
    }

    /// How many A/AAAA lookups were asked for so far.
    pub fn ip_calls(&self) -> usize {
        self.ip_calls.load(Ordering::Relaxed)
    }

    fn answer<T: Clone>(
        &self,
        table: &HashMap<String, Vec<T>>,
        name: &str,
    ) -> Result<Vec<T>, ResolveError> {
        let key = normalize_name(name);
        if let Some(error) = self.failures.get(&key) {
            return Err(error.clone());
        }
        Ok(table.get(&key).cloned().unwrap_or_default())
    }
}

impl DnsLookup for StaticLookup {
    fn srv(&self, name: &str) -> BoxFuture<'_, Result<Vec<SrvRecord>, ResolveError>> {
        self.srv_calls.fetch_add(1, Ordering::Relaxed);
        let answer = self.answer(&self.srv, name);
        Box::pin(std::future::ready(answer))
    }

    fn ips(&self, name: &str) -> BoxFuture<'_, Result<Vec<IpRecord>, ResolveError>> {
        self.ip_calls.fetch_add(1, Ordering::Relaxed);
        let answer = self.answer(&self.ips, name);
        Box::pin(std::future::ready(answer))
    }
}

// ---------------------------------------------------------------------------------------------
// RFC 2782 ordering

/// Orders SRV records as RFC 2782 says to try them: priority ascending, and within a priority
/// by repeated weighted random selection (weight-0 records only have a small chance,
/// `1 / (sum of weights + 1)`, of being picked while heavier records remain).
pub fn order_srv<R: Rng + ?Sized>(mut records: Vec<SrvRecord>, rng: &mut R) -> Vec<SrvRecord> {
    records.sort_by_key(|record| record.priority);
    let mut ordered = Vec::with_capacity(records.len());
    for_each_priority(
        records,
        |r| r.priority,
        |group| {
            ordered.extend(weighted_order(group, |r| r.weight, rng));
        },
    );
    ordered
}

/// Splits `items` (sorted by priority) into runs of equal priority, in order.
fn for_each_priority<T>(items: Vec<T>, priority: impl Fn(&T) -> u16, mut each: impl FnMut(Vec<T>)) {
    let mut group: Vec<T> = Vec::new();
    for item in items {
        if group
            .first()
            .is_some_and(|first| priority(first) != priority(&item))
        {
            each(std::mem::take(&mut group));
        }
        group.push(item);
    }
    if !group.is_empty() {
        each(group);
    }
}

/// The RFC 2782 selection algorithm over one priority: zero-weight entries first in the
/// unordered list, a uniform number in `0..=sum`, pick the first entry whose running sum
/// reaches it, remove it, repeat. The list is shuffled first ("arrange in any order") so
/// equal weights, including all-zero, share the first place evenly.
fn weighted_order<T, R: Rng + ?Sized>(
    mut pool: Vec<T>,
    weight: impl Fn(&T) -> u16,
    rng: &mut R,
) -> Vec<T> {
    pool.shuffle(rng);
    pool.sort_by_key(|item| weight(item) != 0); // stable: zero weights to the front
    let mut ordered = Vec::with_capacity(pool.len());
    while !pool.is_empty() {
        let total: u64 = pool.iter().map(|item| u64::from(weight(item))).sum();
        let pick = rng.random_range(0..=total);
        let mut running = 0u64;
        let index = pool
            .iter()
            .position(|item| {
                running += u64::from(weight(item));
                running >= pick
            })
            .unwrap_or(0);
        ordered.push(pool.remove(index));
    }
    ordered
}

// ---------------------------------------------------------------------------------------------
// Resolver and cache

/// What the URI's host/port/transport resolved to, before ordering.
#[derive(Debug, Clone)]
enum Plan {
    /// Addresses already in their final order (numeric host, or A/AAAA of the name).
    Addrs(Vec<Target>),
    /// SRV targets sorted by priority; weighted order is drawn per call.
    Srv(Vec<SrvTarget>),
}

#[derive(Debug, Clone)]
struct SrvTarget {
    priority: u16,
    weight: u16,
    targets: Vec<Target>,
}

impl Plan {
    fn empty() -> Self {
        Plan::Addrs(Vec::new())
    }

    fn is_empty(&self) -> bool {
        match self {
            Plan::Addrs(targets) => targets.is_empty(),
            Plan::Srv(srv) => srv.iter().all(|s| s.targets.is_empty()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    host: String,
    port: Option<u16>,
    transport: Option<Transport>,
}

#[derive(Debug)]
struct CacheEntry {
    plan: Arc<Plan>,
    inserted: Instant,
    expires: Instant,
}

#[derive(Debug)]
struct Cache {
    entries: HashMap<CacheKey, CacheEntry>,
    capacity: usize,
}

impl Cache {
    fn get(&mut self, key: &CacheKey, now: Instant) -> Option<Arc<Plan>> {
        let entry = self.entries.get(key)?;
        if now < entry.expires {
            return Some(entry.plan.clone());
        }
        self.entries.remove(key);
        None
    }

    fn insert(&mut self, key: CacheKey, plan: Arc<Plan>, now: Instant, ttl: Duration) {
        if self.capacity == 0 || ttl.is_zero() {
            self.entries.remove(&key);
            return;
        }
        if !self.entries.contains_key(&key) && self.entries.len() >= self.capacity {
            self.entries.retain(|_, entry| entry.expires > now);
            if self.entries.len() >= self.capacity {
                let oldest = self
                    .entries
                    .iter()
                    .min_by_key(|(_, entry)| entry.inserted)
                    .map(|(key, _)| key.clone());
                if let Some(oldest) = oldest {
                    self.entries.remove(&oldest);
                }
            }
        }
        let expires = now + ttl.min(MAX_CACHE_TTL);
        self.entries.insert(
            key,
            CacheEntry {
                plan,
                inserted: now,
                expires,
            },
        );
    }
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
            cache: Mutex::new(Cache {
                entries: HashMap::new(),
                capacity: DEFAULT_CACHE_CAPACITY,
            }),
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
        {
            let mut cache = lock(&self.cache);
            cache.capacity = capacity;
            cache.entries.clear();
        }
        self
    }

    /// How long an empty answer (no such name, no records, SRV target `.`) is remembered.
    pub fn with_negative_ttl(mut self, ttl: Duration) -> Self {
        self.negative_ttl = ttl;
        self
    }

    /// Number of cached answers (expired ones included until they are touched or evicted).
    pub fn cache_len(&self) -> usize {
        lock(&self.cache).entries.len()
    }

    /// Forgets every cached answer.
    pub fn clear_cache(&self) {
        lock(&self.cache).entries.clear();
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

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(300);

    fn uri(text: &str) -> SipUri {
        SipUri::parse(text).unwrap()
    }

    fn srv(priority: u16, weight: u16, port: u16, target: &str) -> SrvRecord {
        SrvRecord {
            priority,
            weight,
            port,
            target: target.to_string(),
            ttl: TTL,
        }
    }

    fn ip(text: &str) -> IpRecord {
        IpRecord {
            ip: text.parse().unwrap(),
            ttl: TTL,
        }
    }

    fn target(addr: &str, transport: Transport) -> Target {
        Target {
            addr: addr.parse().unwrap(),
            transport,
        }
    }

    fn seeded(lookup: &Arc<StaticLookup>) -> Resolver {
        Resolver::new(lookup.clone()).with_seed(7)
    }

    #[tokio::test]
    async fn numeric_host_does_no_dns() {
        let lookup = Arc::new(StaticLookup::new());
        let resolver = seeded(&lookup);
        let now = Instant::now();
        assert_eq!(
            resolver.resolve(&uri("sip:192.0.2.1"), now).await.unwrap(),
            vec![target("192.0.2.1:5060", Transport::Udp)]
        );
        assert_eq!(
            resolver
                .resolve(&uri("sip:[2001:db8::1]:5080;transport=tcp"), now)
                .await
                .unwrap(),
            vec![target("[2001:db8::1]:5080", Transport::Tcp)]
        );
        assert_eq!((lookup.srv_calls(), lookup.ip_calls()), (0, 0));
        assert_eq!(resolver.cache_len(), 0);
    }

    #[tokio::test]
    async fn explicit_port_skips_srv() {
        let lookup = Arc::new(
            StaticLookup::new()
                .with_srv(
                    "_sip._udp.gw.example.com",
                    [srv(0, 0, 5070, "other.example.com")],
                )
                .with_ips("gw.example.com", [ip("192.0.2.10"), ip("2001:db8::10")]),
        );
        let resolver = seeded(&lookup);
        let targets = resolver
            .resolve(
                &uri("sip:gw.example.com:5080;transport=tcp"),
                Instant::now(),
            )
            .await
            .unwrap();
        assert_eq!(
            targets,
            vec![
                target("192.0.2.10:5080", Transport::Tcp),
                target("[2001:db8::10]:5080", Transport::Tcp),
            ]
        );
        assert_eq!((lookup.srv_calls(), lookup.ip_calls()), (0, 1));
    }

    #[tokio::test]
    async fn srv_priority_order_with_ipv4_and_ipv6() {
        let lookup = Arc::new(
            StaticLookup::new()
                .with_srv(
                    "_sip._udp.example.com",
                    [
                        srv(20, 0, 5062, "c.example.com."),
                        srv(10, 0, 5061, "b.example.com."),
                        srv(5, 0, 5060, "A.Example.com."),
                    ],
                )
                .with_ips("a.example.com", [ip("192.0.2.1"), ip("2001:db8::1")])
                .with_ips("b.example.com", [ip("2001:db8::2")])
                .with_ips("c.example.com", [ip("192.0.2.3")]),
        );
        let resolver = seeded(&lookup);
        let targets = resolver
            .resolve(&uri("sip:example.com"), Instant::now())
            .await
            .unwrap();
        assert_eq!(
            targets,
            vec![
                target("192.0.2.1:5060", Transport::Udp),
                target("[2001:db8::1]:5060", Transport::Udp),
                target("[2001:db8::2]:5061", Transport::Udp),
                target("192.0.2.3:5062", Transport::Udp),
            ]
        );
        assert_eq!(lookup.srv_calls(), 1);
    }

    #[tokio::test]
    async fn transport_tcp_queries_only_tcp_srv() {
        let lookup = Arc::new(
            StaticLookup::new()
                .with_srv(
                    "_sip._udp.example.com",
                    [srv(0, 0, 5060, "udp.example.com")],
                )
                .with_srv(
                    "_sip._tcp.example.com",
                    [srv(0, 0, 5065, "tcp.example.com")],
                )
                .with_ips("udp.example.com", [ip("192.0.2.1")])
                .with_ips("tcp.example.com", [ip("192.0.2.2")]),
        );
        let resolver = seeded(&lookup);
        let targets = resolver
            .resolve(&uri("sip:example.com;transport=tcp"), Instant::now())
            .await
            .unwrap();
        assert_eq!(targets, vec![target("192.0.2.2:5065", Transport::Tcp)]);
        assert_eq!(lookup.srv_calls(), 1);
    }

    #[tokio::test]
    async fn falls_back_from_udp_to_tcp_srv() {
        let lookup = Arc::new(
            StaticLookup::new()
                .with_srv(
                    "_sip._tcp.example.com",
                    [srv(0, 0, 5065, "tcp.example.com")],
                )
                .with_ips("tcp.example.com", [ip("192.0.2.2")])
                .with_ips("example.com", [ip("192.0.2.99")]),
        );
        let resolver = seeded(&lookup);
        let targets = resolver
            .resolve(&uri("sip:example.com"), Instant::now())
            .await
            .unwrap();
        assert_eq!(targets, vec![target("192.0.2.2:5065", Transport::Tcp)]);
        assert_eq!(lookup.srv_calls(), 2);

        // An explicit transport=udp does not fall back to TCP: no SRV at all → A on 5060.
        let targets = resolver
            .resolve(&uri("sip:example.com;transport=udp"), Instant::now())
            .await
            .unwrap();
        assert_eq!(targets, vec![target("192.0.2.99:5060", Transport::Udp)]);
    }

    #[tokio::test]
    async fn no_srv_uses_a_and_aaaa_on_5060() {
        let lookup = Arc::new(
            StaticLookup::new().with_ips("gw.example.com", [ip("192.0.2.7"), ip("2001:db8::7")]),
        );
        let resolver = seeded(&lookup);
        let targets = resolver
            .resolve(&uri("sip:gw.example.com"), Instant::now())
            .await
            .unwrap();
        assert_eq!(
            targets,
            vec![
                target("192.0.2.7:5060", Transport::Udp),
                target("[2001:db8::7]:5060", Transport::Udp),
            ]
        );
        assert_eq!((lookup.srv_calls(), lookup.ip_calls()), (2, 1));

        let targets = resolver
            .resolve(&uri("sip:gw.example.com;transport=tcp"), Instant::now())
            .await
            .unwrap();
        assert_eq!(targets[0], target("192.0.2.7:5060", Transport::Tcp));
    }

    #[tokio::test]
    async fn ipv6_only_srv_target() {
        let lookup = Arc::new(
            StaticLookup::new()
                .with_srv(
                    "_sip._udp.v6.example.com",
                    [srv(0, 0, 5060, "pbx.v6.example.com")],
                )
                .with_ips(
                    "pbx.v6.example.com",
                    [ip("2001:db8::5060"), ip("2001:db8::5061")],
                ),
        );
        let resolver = seeded(&lookup);
        let targets = resolver
            .resolve(&uri("sip:v6.example.com"), Instant::now())
            .await
            .unwrap();
        assert_eq!(
            targets,
            vec![
                target("[2001:db8::5060]:5060", Transport::Udp),
                target("[2001:db8::5061]:5060", Transport::Udp),
            ]
        );
    }

    #[tokio::test]
    async fn dot_target_means_not_available() {
        let lookup = Arc::new(
            StaticLookup::new()
                .with_srv("_sip._udp.example.com", [srv(0, 0, 0, ".")])
                .with_ips("example.com", [ip("192.0.2.1")]),
        );
        let resolver = seeded(&lookup);
        let now = Instant::now();
        let targets = resolver
            .resolve(&uri("sip:example.com"), now)
            .await
            .unwrap();
        assert!(targets.is_empty());
        // Tried TCP SRV (a different service), never the A record.
        assert_eq!((lookup.srv_calls(), lookup.ip_calls()), (2, 0));

        let targets = resolver
            .resolve(&uri("sip:example.com;transport=udp"), now)
            .await
            .unwrap();
        assert!(targets.is_empty());
        assert_eq!((lookup.srv_calls(), lookup.ip_calls()), (3, 0));

        // "." for UDP does not hide a TCP service when the transport is open.
        let lookup = Arc::new(
            StaticLookup::new()
                .with_srv("_sip._udp.example.com", [srv(0, 0, 0, ".")])
                .with_srv(
                    "_sip._tcp.example.com",
                    [srv(0, 0, 5060, "tcp.example.com")],
                )
                .with_ips("tcp.example.com", [ip("192.0.2.2")]),
        );
        let targets = seeded(&lookup)
            .resolve(&uri("sip:example.com"), now)
            .await
            .unwrap();
        assert_eq!(targets, vec![target("192.0.2.2:5060", Transport::Tcp)]);
    }

    #[test]
    fn weighted_selection_follows_weights() {
        let mut rng = StdRng::seed_from_u64(42);
        let records = vec![srv(1, 90, 5060, "heavy"), srv(1, 10, 5060, "light")];
        let mut heavy_first = 0;
        for _ in 0..1000 {
            let ordered = order_srv(records.clone(), &mut rng);
            assert_eq!(ordered.len(), 2);
            if ordered[0].target == "heavy" {
                heavy_first += 1;
            }
        }
        // RFC 2782 draws from 0..=sum: P(heavy first) = (90 + 0.5) / 101 ≈ 0.896.
        assert!((860..=930).contains(&heavy_first), "{heavy_first}");
    }

    #[test]
    fn weight_zero_is_rarely_first_and_priority_wins() {
        let mut rng = StdRng::seed_from_u64(1);
        let records = vec![
            srv(1, 0, 5060, "zero"),
            srv(1, 10, 5060, "a"),
            srv(1, 10, 5060, "b"),
            srv(0, 0, 5060, "top"),
        ];
        let runs = 4000;
        let mut zero_first = 0;
        let mut zero_last = 0;
        for _ in 0..runs {
            let ordered = order_srv(records.clone(), &mut rng);
            // A lower priority number always comes first, whatever the weights.
            assert_eq!(ordered[0].target, "top");
            if ordered[1].target == "zero" {
                zero_first += 1;
            }
            if ordered[3].target == "zero" {
                zero_last += 1;
            }
        }
        // RFC 2782: weight 0 has "a very small chance" while heavier records remain:
        // 1 / (20 + 1) for the first pick, i.e. about 190 of 4000.
        assert!((100..=300).contains(&zero_first), "{zero_first}");
        assert!(zero_last > runs * 8 / 10, "{zero_last}");
    }

    #[test]
    fn all_zero_weights_share_first_place() {
        let mut rng = StdRng::seed_from_u64(3);
        let records = vec![srv(0, 0, 1, "a"), srv(0, 0, 2, "b"), srv(0, 0, 3, "c")];
        let mut first = HashMap::new();
        for _ in 0..3000 {
            let ordered = order_srv(records.clone(), &mut rng);
            *first.entry(ordered[0].target.clone()).or_insert(0) += 1;
        }
        for name in ["a", "b", "c"] {
            let count = first.get(name).copied().unwrap_or(0);
            assert!((850..=1150).contains(&count), "{name}: {count}");
        }
    }

    #[tokio::test]
    async fn resolver_draws_weighted_order_per_call_even_from_cache() {
        let lookup = Arc::new(
            StaticLookup::new()
                .with_srv(
                    "_sip._udp.example.com",
                    [
                        srv(0, 90, 5060, "heavy.example.com"),
                        srv(0, 10, 5060, "light.example.com"),
                    ],
                )
                .with_ips("heavy.example.com", [ip("192.0.2.90")])
                .with_ips("light.example.com", [ip("192.0.2.10")]),
        );
        let resolver = seeded(&lookup);
        let now = Instant::now();
        let heavy = target("192.0.2.90:5060", Transport::Udp);
        let mut heavy_first = 0;
        for _ in 0..1000 {
            let targets = resolver
                .resolve(&uri("sip:example.com"), now)
                .await
                .unwrap();
            assert_eq!(targets.len(), 2);
            if targets[0] == heavy {
                heavy_first += 1;
            }
        }
        assert!((860..=930).contains(&heavy_first), "{heavy_first}");
        assert_eq!((lookup.srv_calls(), lookup.ip_calls()), (1, 2));
    }

    #[tokio::test]
    async fn seeded_resolvers_agree() {
        let lookup = Arc::new(
            StaticLookup::new()
                .with_srv(
                    "_sip._udp.example.com",
                    (0..5).map(|i| srv(0, 10, 5060, &format!("h{i}.example.com"))),
                )
                .with_ips("h0.example.com", [ip("192.0.2.1")])
                .with_ips("h1.example.com", [ip("192.0.2.2")])
                .with_ips("h2.example.com", [ip("192.0.2.3")])
                .with_ips("h3.example.com", [ip("192.0.2.4")])
                .with_ips("h4.example.com", [ip("192.0.2.5")]),
        );
        let now = Instant::now();
        let a = Resolver::new(lookup.clone()).with_seed(99);
        let b = Resolver::new(lookup.clone()).with_seed(99);
        for _ in 0..20 {
            assert_eq!(
                a.resolve(&uri("sip:example.com"), now).await.unwrap(),
                b.resolve(&uri("sip:example.com"), now).await.unwrap()
            );
        }
    }

    // tokio's test-util (pause/advance) is not enabled in this crate: the clock is explicit.
    #[tokio::test]
    async fn caches_for_the_minimum_ttl() {
        let lookup = Arc::new(
            StaticLookup::new()
                .with_srv(
                    "_sip._udp.example.com",
                    [SrvRecord {
                        ttl: Duration::from_secs(600),
                        ..srv(0, 0, 5060, "pbx.example.com")
                    }],
                )
                .with_ips(
                    "pbx.example.com",
                    [IpRecord {
                        ip: "192.0.2.1".parse().unwrap(),
                        ttl: Duration::from_secs(60),
                    }],
                ),
        );
        let resolver = seeded(&lookup);
        let sip = uri("sip:example.com");
        let start = Instant::now();
        let expected = vec![target("192.0.2.1:5060", Transport::Udp)];

        assert_eq!(resolver.resolve(&sip, start).await.unwrap(), expected);
        assert_eq!((lookup.srv_calls(), lookup.ip_calls()), (1, 1));

        assert_eq!(
            resolver
                .resolve(&sip, start + Duration::from_secs(59))
                .await
                .unwrap(),
            expected
        );
        assert_eq!((lookup.srv_calls(), lookup.ip_calls()), (1, 1));

        // The A record's 60 s, not the SRV's 600 s, bounds the entry.
        assert_eq!(
            resolver
                .resolve(&sip, start + Duration::from_secs(60))
                .await
                .unwrap(),
            expected
        );
        assert_eq!((lookup.srv_calls(), lookup.ip_calls()), (2, 2));

        // Different port/transport of the same host is a different entry.
        resolver
            .resolve(
                &uri("sip:example.com;transport=udp"),
                start + Duration::from_secs(60),
            )
            .await
            .unwrap();
        assert_eq!(lookup.srv_calls(), 3);
        assert_eq!(resolver.cache_len(), 2);

        // Host names are compared case-insensitively.
        let upper = SipUri {
            host: Host::Name("EXAMPLE.com".into()),
            ..sip.clone()
        };
        resolver
            .resolve(&upper, start + Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(lookup.srv_calls(), 3);
    }

    #[tokio::test]
    async fn zero_ttl_is_not_cached() {
        let lookup = Arc::new(StaticLookup::new().with_ips(
            "gw.example.com",
            [IpRecord {
                ip: "192.0.2.1".parse().unwrap(),
                ttl: Duration::ZERO,
            }],
        ));
        let resolver = seeded(&lookup);
        let now = Instant::now();
        for _ in 0..2 {
            resolver
                .resolve(&uri("sip:gw.example.com:5060"), now)
                .await
                .unwrap();
        }
        assert_eq!(lookup.ip_calls(), 2);
        assert_eq!(resolver.cache_len(), 0);
    }

    #[tokio::test]
    async fn negative_answers_are_cached_briefly() {
        let lookup = Arc::new(StaticLookup::new());
        let resolver = seeded(&lookup);
        let sip = uri("sip:nowhere.example.com");
        let start = Instant::now();

        assert!(resolver.resolve(&sip, start).await.unwrap().is_empty());
        assert_eq!((lookup.srv_calls(), lookup.ip_calls()), (2, 1));

        let later = start + DEFAULT_NEGATIVE_TTL - Duration::from_millis(1);
        assert!(resolver.resolve(&sip, later).await.unwrap().is_empty());
        assert_eq!((lookup.srv_calls(), lookup.ip_calls()), (2, 1));

        assert!(
            resolver
                .resolve(&sip, start + DEFAULT_NEGATIVE_TTL)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!((lookup.srv_calls(), lookup.ip_calls()), (4, 2));
    }

    #[tokio::test]
    async fn errors_propagate_and_are_not_cached() {
        let timeout = ResolveError::Timeout {
            name: "_sip._udp.example.com".into(),
        };
        let lookup = Arc::new(
            StaticLookup::new()
                .with_failure("_sip._udp.example.com", timeout.clone())
                .with_ips("example.com", [ip("192.0.2.1")]),
        );
        let resolver = seeded(&lookup);
        let now = Instant::now();
        for calls in 1..=2 {
            let error = resolver.resolve(&uri("sip:example.com"), now).await;
            assert_eq!(error, Err(timeout.clone()));
            assert_eq!(lookup.srv_calls(), calls);
        }
        assert_eq!(resolver.cache_len(), 0);

        let servfail = ResolveError::Failed {
            name: "gw.example.com".into(),
            reason: "SERVFAIL".into(),
        };
        let lookup = Arc::new(StaticLookup::new().with_failure("gw.example.com", servfail.clone()));
        let resolver = seeded(&lookup);
        assert_eq!(
            resolver.resolve(&uri("sip:gw.example.com:5060"), now).await,
            Err(servfail)
        );
        assert_eq!(resolver.cache_len(), 0);
    }

    #[tokio::test]
    async fn failed_srv_target_is_skipped_and_retried_soon() {
        let lookup = Arc::new(
            StaticLookup::new()
                .with_srv(
                    "_sip._udp.example.com",
                    [
                        srv(0, 0, 5060, "bad.example.com"),
                        srv(1, 0, 5060, "good.example.com"),
                    ],
                )
                .with_failure(
                    "bad.example.com",
                    ResolveError::Timeout {
                        name: "bad.example.com".into(),
                    },
                )
                .with_ips("good.example.com", [ip("192.0.2.2")]),
        );
        let resolver = seeded(&lookup);
        let now = Instant::now();
        let sip = uri("sip:example.com");
        assert_eq!(
            resolver.resolve(&sip, now).await.unwrap(),
            vec![target("192.0.2.2:5060", Transport::Udp)]
        );
        assert_eq!(lookup.srv_calls(), 1);
        resolver
            .resolve(&sip, now + DEFAULT_NEGATIVE_TTL - Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(lookup.srv_calls(), 1);
        // Capped at the negative TTL although the records say 300 s.
        resolver
            .resolve(&sip, now + DEFAULT_NEGATIVE_TTL)
            .await
            .unwrap();
        assert_eq!(lookup.srv_calls(), 2);

        // Every target failing is an error.
        let lookup = Arc::new(
            StaticLookup::new()
                .with_srv(
                    "_sip._udp.example.com",
                    [srv(0, 0, 5060, "bad.example.com")],
                )
                .with_failure(
                    "bad.example.com",
                    ResolveError::Timeout {
                        name: "bad.example.com".into(),
                    },
                ),
        );
        let resolver = seeded(&lookup);
        assert!(matches!(
            resolver.resolve(&sip, now).await,
            Err(ResolveError::Timeout { .. })
        ));
        assert_eq!(resolver.cache_len(), 0);
    }

    #[tokio::test]
    async fn cache_is_bounded() {
        let mut table = StaticLookup::new();
        for i in 0..5 {
            table.insert_ips(&format!("h{i}.example.com"), [ip("192.0.2.1")]);
        }
        let lookup = Arc::new(table);
        let resolver = seeded(&lookup).with_cache_capacity(3);
        let start = Instant::now();
        for i in 0..5u64 {
            resolver
                .resolve(
                    &uri(&format!("sip:h{i}.example.com:5060")),
                    start + Duration::from_secs(i),
                )
                .await
                .unwrap();
        }
        assert_eq!(resolver.cache_len(), 3);
        let calls = lookup.ip_calls();
        // The newest survive; the oldest (h0) was evicted.
        resolver
            .resolve(
                &uri("sip:h4.example.com:5060"),
                start + Duration::from_secs(5),
            )
            .await
            .unwrap();
        assert_eq!(lookup.ip_calls(), calls);
        resolver
            .resolve(
                &uri("sip:h0.example.com:5060"),
                start + Duration::from_secs(5),
            )
            .await
            .unwrap();
        assert_eq!(lookup.ip_calls(), calls + 1);
        assert_eq!(resolver.cache_len(), 3);
    }

    #[tokio::test]
    async fn duplicate_addresses_are_dropped() {
        let lookup = Arc::new(
            StaticLookup::new()
                .with_srv(
                    "_sip._udp.example.com",
                    [
                        srv(0, 0, 5060, "a.example.com"),
                        srv(1, 0, 5060, "b.example.com"),
                    ],
                )
                .with_ips("a.example.com", [ip("192.0.2.1")])
                .with_ips("b.example.com", [ip("192.0.2.1"), ip("192.0.2.2")]),
        );
        let targets = seeded(&lookup)
            .resolve(&uri("sip:example.com"), Instant::now())
            .await
            .unwrap();
        assert_eq!(
            targets,
            vec![
                target("192.0.2.1:5060", Transport::Udp),
                target("192.0.2.2:5060", Transport::Udp),
            ]
        );
    }

    #[test]
    fn static_lookup_names_are_case_and_dot_insensitive() {
        let lookup = StaticLookup::new().with_ips("GW.example.com.", [ip("192.0.2.1")]);
        let answer = lookup.answer(&lookup.ips, "gw.EXAMPLE.com").unwrap();
        assert_eq!(answer, vec![ip("192.0.2.1")]);
        assert!(
            lookup
                .answer(&lookup.srv, "gw.example.com")
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn hickory_lookup_builds_with_explicit_servers() {
        assert!(HickoryLookup::with_name_servers(vec![]).is_err());
        let lookup = HickoryLookup::with_name_servers(vec!["127.0.0.1:5353".parse().unwrap()]);
        assert!(lookup.is_ok());
    }
}

/// [`HickoryLookup`] against a tiny authoritative DNS server on 127.0.0.1 (no real DNS).
#[cfg(test)]
mod hickory_tests {
    use super::*;
    use hickory_resolver::proto::op::{Message, OpCode, ResponseCode};
    use hickory_resolver::proto::rr::rdata::{A, AAAA, SRV};
    use hickory_resolver::proto::rr::{Name, Record, RecordType};
    use tokio::net::UdpSocket;

    fn record(name: &str, ttl: u32, data: RData) -> Record {
        Record::from_rdata(Name::from_ascii(name).unwrap(), ttl, data)
    }

    /// Answers for the zone `example.test`; anything else is NXDOMAIN.
    fn answer(query: &Message) -> Message {
        let mut response = Message::response(query.metadata.id, OpCode::Query);
        response.metadata.recursion_desired = query.metadata.recursion_desired;
        response.metadata.recursion_available = true;
        response.metadata.authoritative = true;
        let Some(question) = query.queries.first().cloned() else {
            response.metadata.response_code = ResponseCode::FormErr;
            return response;
        };
        let name = question.name().to_ascii().to_ascii_lowercase();
        let kind = question.query_type();
        response.add_query(question);
        let srv = |priority, weight, port, target: &str| {
            RData::SRV(SRV::new(
                priority,
                weight,
                port,
                Name::from_ascii(target).unwrap(),
            ))
        };
        match (name.as_str(), kind) {
            ("_sip._udp.example.test.", RecordType::SRV) => {
                response.add_answers([
                    record(&name, 120, srv(20, 0, 5070, "pbx2.example.test.")),
                    record(&name, 120, srv(10, 0, 5060, "pbx1.example.test.")),
                ]);
            }
            ("_sip._udp.closed.example.test.", RecordType::SRV) => {
                response.add_answer(record(&name, 120, srv(0, 0, 0, ".")));
            }
            ("pbx1.example.test.", RecordType::A) => {
                response.add_answer(record(&name, 60, RData::A(A("192.0.2.1".parse().unwrap()))));
            }
            ("pbx1.example.test.", RecordType::AAAA) => {
                response.add_answer(record(
                    &name,
                    30,
                    RData::AAAA(AAAA("2001:db8::1".parse().unwrap())),
                ));
            }
            ("pbx2.example.test.", RecordType::A) => {
                response.add_answer(record(&name, 60, RData::A(A("192.0.2.2".parse().unwrap()))));
            }
            ("broken.example.test.", _) | ("_sip._udp.broken.example.test.", _) => {
                response.metadata.response_code = ResponseCode::ServFail;
            }
            (name, _) if name.ends_with("example.test.") => {} // exists, no such records
            _ => response.metadata.response_code = ResponseCode::NXDomain,
        }
        response
    }

    async fn dns_server() -> SocketAddr {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buffer = vec![0u8; 4096];
            while let Ok((len, peer)) = socket.recv_from(&mut buffer).await {
                let Ok(query) = Message::from_vec(&buffer[..len]) else {
                    continue;
                };
                let bytes = answer(&query).to_vec().unwrap();
                let _ = socket.send_to(&bytes, peer).await;
            }
        });
        addr
    }

    #[tokio::test]
    async fn hickory_reads_srv_and_ip_records() {
        let lookup = HickoryLookup::with_name_servers(vec![dns_server().await]).unwrap();

        let mut records = lookup.srv("_sip._udp.example.test").await.unwrap();
        records.sort_by_key(|r| r.priority);
        assert_eq!(records.len(), 2);
        assert_eq!(
            (
                records[0].priority,
                records[0].port,
                records[0].target.as_str()
            ),
            (10, 5060, "pbx1.example.test.")
        );
        assert!(records[0].ttl <= Duration::from_secs(120));
        assert!(records[0].ttl >= Duration::from_secs(110));

        let ips = lookup.ips("pbx1.example.test").await.unwrap();
        let addrs: Vec<IpAddr> = ips.iter().map(|r| r.ip).collect();
        assert_eq!(
            addrs,
            vec![
                "192.0.2.1".parse::<IpAddr>().unwrap(),
                "2001:db8::1".parse().unwrap()
            ]
        );
        assert!(ips.iter().all(|r| r.ttl <= Duration::from_secs(60)));

        // NXDOMAIN and "no records of that type" are empty answers, not errors.
        assert_eq!(lookup.srv("_sip._udp.nowhere.invalid").await, Ok(vec![]));
        assert_eq!(lookup.ips("nowhere.invalid").await, Ok(vec![]));
        assert_eq!(lookup.srv("_sip._tcp.example.test").await, Ok(vec![]));
        assert_eq!(lookup.ips("pbx2.example.test").await.unwrap().len(), 1);

        // SERVFAIL is an error.
        assert!(matches!(
            lookup.ips("broken.example.test").await,
            Err(ResolveError::Failed { .. })
        ));
    }

    #[tokio::test]
    async fn resolver_over_hickory() {
        let lookup = HickoryLookup::with_name_servers(vec![dns_server().await]).unwrap();
        let resolver = Resolver::new(Arc::new(lookup)).with_seed(1);
        let now = Instant::now();
        let targets = resolver
            .resolve(&SipUri::parse("sip:example.test").unwrap(), now)
            .await
            .unwrap();
        let addrs: Vec<SocketAddr> = targets.iter().map(|t| t.addr).collect();
        assert_eq!(
            addrs,
            vec![
                "192.0.2.1:5060".parse::<SocketAddr>().unwrap(),
                "[2001:db8::1]:5060".parse().unwrap(),
                "192.0.2.2:5070".parse().unwrap(),
            ]
        );
        assert!(targets.iter().all(|t| t.transport == Transport::Udp));

        let closed = resolver
            .resolve(&SipUri::parse("sip:closed.example.test").unwrap(), now)
            .await
            .unwrap();
        assert!(closed.is_empty());

        assert!(
            resolver
                .resolve(&SipUri::parse("sip:broken.example.test").unwrap(), now)
                .await
                .is_err()
        );
    }
}
