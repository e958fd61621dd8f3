//! The resolver's cache: what a URI's host/port/transport resolved to (the records, not one
//! ordering of them), bounded in size and by TTL.

use super::{MAX_CACHE_TTL, Target};
use crate::types::sip_uri::Transport;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// What the URI's host/port/transport resolved to, before ordering.
#[derive(Debug, Clone)]
pub(super) enum Plan {
    /// Addresses already in their final order (numeric host, or A/AAAA of the name).
    Addrs(Vec<Target>),
    /// SRV targets sorted by priority; weighted order is drawn per call.
    Srv(Vec<SrvTarget>),
}

#[derive(Debug, Clone)]
pub(super) struct SrvTarget {
    pub(super) priority: u16,
    pub(super) weight: u16,
    pub(super) targets: Vec<Target>,
}

impl Plan {
    pub(super) fn empty() -> Self {
        Plan::Addrs(Vec::new())
    }

    pub(super) fn is_empty(&self) -> bool {
        match self {
            Plan::Addrs(targets) => targets.is_empty(),
            Plan::Srv(srv) => srv.iter().all(|s| s.targets.is_empty()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct CacheKey {
    pub(super) host: String,
    pub(super) port: Option<u16>,
    pub(super) transport: Option<Transport>,
}

#[derive(Debug)]
struct CacheEntry {
    plan: Arc<Plan>,
    inserted: Instant,
    expires: Instant,
}

#[derive(Debug)]
pub(super) struct Cache {
    entries: HashMap<CacheKey, CacheEntry>,
    capacity: usize,
}

impl Cache {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            entries: HashMap::new(),
            capacity,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(super) fn clear(&mut self) {
        self.entries.clear();
    }

    pub(super) fn get(&mut self, key: &CacheKey, now: Instant) -> Option<Arc<Plan>> {
        let entry = self.entries.get(key)?;
        if now < entry.expires {
            return Some(entry.plan.clone());
        }
        self.entries.remove(key);
        None
    }

    pub(super) fn insert(&mut self, key: CacheKey, plan: Arc<Plan>, now: Instant, ttl: Duration) {
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
