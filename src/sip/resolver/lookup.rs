//! Where DNS answers come from: the [`DnsLookup`] seam, its record types, and
//! [`StaticLookup`], a fixed table for tests and operators' static overrides.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

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
pub(super) fn normalize_name(name: &str) -> String {
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
