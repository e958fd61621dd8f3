//! The failure budget that blocks credential guessing and MAC enumeration: failed fetches are
//! counted per client IP and per target (the MAC or user name a request aimed at); a key that
//! spends its budget within the window is locked for the cooling-off period, during which its
//! requests are refused without even looking at their credentials. A sequential MAC sweep from
//! one address spends that address's budget however many MACs it tries. Pure: time is passed in.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Limits of the budget (from `[provisioning]`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Failures one client IP may have within `window` before it is locked.
    pub per_ip: u32,
    /// Failures against one MAC or user name within `window` before it is locked.
    pub per_target: u32,
    pub window: Duration,
    pub cooling_off: Duration,
}

/// What failures are counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Ip(IpAddr),
    /// A MAC (canonical hex) or a provisioning user name, lower-cased.
    Target(String),
}

#[derive(Debug, Clone, Copy)]
struct Counter {
    failures: u32,
    window_start: Instant,
    locked_until: Option<Instant>,
}

/// Keys tracked before expired ones are swept (a scanner cycling addresses cannot grow the map
/// without bound between sweeps).
const SWEEP_AT: usize = 100_000;

/// The counters of one instance (each instance keeps its own; see the module doc of
/// `provisioning`).
pub struct Budget {
    limits: Limits,
    counters: Mutex<HashMap<Key, Counter>>,
}

impl Budget {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            counters: Mutex::new(HashMap::new()),
        }
    }

    /// Whether any of `keys` is locked at `now`.
    pub fn locked(&self, keys: &[Key], now: Instant) -> bool {
        let counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        keys.iter().any(|key| {
            counters
                .get(key)
                .and_then(|c| c.locked_until)
                .is_some_and(|until| now < until)
        })
    }

    /// Counts one failure against each of `keys`; returns whether this failure locked one.
    pub fn fail(&self, keys: &[Key], now: Instant) -> bool {
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        if counters.len() >= SWEEP_AT {
            let window = self.limits.window;
            counters.retain(|_, c| {
                c.locked_until.is_some_and(|until| now < until)
                    || now.duration_since(c.window_start) < window
            });
        }
        let mut locked_now = false;
        for key in keys {
            let limit = match key {
                Key::Ip(_) => self.limits.per_ip,
                Key::Target(_) => self.limits.per_target,
            };
            let counter = counters.entry(key.clone()).or_insert(Counter {
                failures: 0,
                window_start: now,
                locked_until: None,
            });
            if counter.locked_until.is_some_and(|until| now < until) {
                continue;
            }
            if counter.locked_until.is_some()
                || now.duration_since(counter.window_start) >= self.limits.window
            {
                *counter = Counter {
                    failures: 0,
                    window_start: now,
                    locked_until: None,
                };
            }
            counter.failures += 1;
            if counter.failures >= limit {
                counter.locked_until = Some(now + self.limits.cooling_off);
                locked_now = true;
            }
        }
        locked_now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget() -> Budget {
        Budget::new(Limits {
            per_ip: 5,
            per_target: 3,
            window: Duration::from_secs(60),
            cooling_off: Duration::from_secs(300),
        })
    }

    fn ip(last: u8) -> Key {
        Key::Ip(IpAddr::from([192, 0, 2, last]))
    }

    fn mac(n: u32) -> Key {
        Key::Target(format!("0015650000{n:02x}"))
    }

    #[test]
    fn a_sequential_mac_sweep_locks_the_address_until_the_cooling_off_ends() {
        let b = budget();
        let t0 = Instant::now();
        for n in 0..4 {
            assert!(!b.fail(&[ip(1), mac(n)], t0));
            assert!(!b.locked(&[ip(1)], t0));
        }
        assert!(b.fail(&[ip(1), mac(4)], t0), "fifth failure locks the IP");
        assert!(b.locked(&[ip(1), mac(9)], t0 + Duration::from_secs(299)));
        assert!(
            !b.locked(&[ip(2), mac(9)], t0),
            "other addresses and MACs are free"
        );
        assert!(!b.locked(&[ip(1)], t0 + Duration::from_secs(300)));
        assert!(
            !b.fail(&[ip(1), mac(5)], t0 + Duration::from_secs(300)),
            "a fresh budget"
        );
    }

    #[test]
    fn failures_against_one_mac_from_many_addresses_lock_the_mac() {
        let b = budget();
        let t0 = Instant::now();
        assert!(!b.fail(&[ip(1), mac(7)], t0));
        assert!(!b.fail(&[ip(2), mac(7)], t0));
        assert!(b.fail(&[ip(3), mac(7)], t0));
        assert!(b.locked(&[ip(4), mac(7)], t0));
        assert!(!b.locked(&[ip(4), mac(8)], t0));
    }

    #[test]
    fn failures_spread_beyond_the_window_never_lock() {
        let b = budget();
        let t0 = Instant::now();
        for i in 0..20u64 {
            let at = t0 + Duration::from_secs(i * 31);
            assert!(!b.fail(&[ip(1), mac(1)], at), "failure {i}");
        }
    }

    #[test]
    fn failures_while_locked_do_not_extend_the_lock() {
        let b = budget();
        let t0 = Instant::now();
        for _ in 0..3 {
            b.fail(&[mac(1)], t0);
        }
        for s in 1..10 {
            b.fail(&[mac(1)], t0 + Duration::from_secs(s * 20));
        }
        assert!(!b.locked(&[mac(1)], t0 + Duration::from_secs(300)));
    }
}
