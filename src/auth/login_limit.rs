//! Failed-login budget per username and per client IP: past it, logins answer 429 for the rest
//! of the window even with the right password, which makes password guessing impractical.

use crate::config::AuthConfig;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct LoginLimiter {
    per_username: u32,
    per_ip: u32,
    window: Duration,
    usernames: Mutex<HashMap<String, (Instant, u32)>>,
    ips: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

fn blocked_for<K: Eq + Hash>(
    map: &Mutex<HashMap<K, (Instant, u32)>>,
    key: &K,
    max: u32,
    window: Duration,
    now: Instant,
) -> Option<Duration> {
    let map = map.lock().unwrap_or_else(|p| p.into_inner());
    let (start, count) = map.get(key)?;
    let elapsed = now.duration_since(*start);
    (elapsed < window && *count >= max).then(|| window - elapsed)
}

fn bump<K: Eq + Hash>(
    map: &Mutex<HashMap<K, (Instant, u32)>>,
    key: K,
    window: Duration,
    now: Instant,
) {
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    if map.len() > 100_000 {
        map.retain(|_, (start, _)| now.duration_since(*start) < window);
    }
    let entry = map.entry(key).or_insert((now, 0));
    if now.duration_since(entry.0) >= window {
        *entry = (now, 0);
    }
    entry.1 += 1;
}

impl LoginLimiter {
    pub fn new(config: &AuthConfig) -> Self {
        Self {
            per_username: config.max_failures_per_username,
            per_ip: config.max_failures_per_ip,
            window: Duration::from_secs(config.failure_window_s),
            usernames: Mutex::default(),
            ips: Mutex::default(),
        }
    }

    /// `Some(wait)` when this username or IP has used up its failures.
    pub fn blocked(&self, username: &str, ip: Option<IpAddr>, now: Instant) -> Option<Duration> {
        let by_name = blocked_for(
            &self.usernames,
            &username.to_string(),
            self.per_username,
            self.window,
            now,
        );
        let by_ip = ip.and_then(|ip| blocked_for(&self.ips, &ip, self.per_ip, self.window, now));
        by_name.max(by_ip)
    }

    pub fn failed(&self, username: &str, ip: Option<IpAddr>, now: Instant) {
        bump(&self.usernames, username.to_string(), self.window, now);
        if let Some(ip) = ip {
            bump(&self.ips, ip, self.window, now);
        }
    }

    /// A successful login clears the username's failures and gives back the IP's one attempt
    /// (not the IP's earlier failures: a scanner that knows one password must not reset its
    /// budget for guessing others).
    pub fn succeeded(&self, username: &str, ip: Option<IpAddr>) {
        self.usernames
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(username);
        if let Some(ip) = ip
            && let Some((_, count)) = self
                .ips
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_mut(&ip)
        {
            *count = count.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> LoginLimiter {
        LoginLimiter::new(&AuthConfig {
            max_failures_per_username: 3,
            max_failures_per_ip: 5,
            failure_window_s: 60,
            ..AuthConfig::default()
        })
    }

    #[test]
    fn blocks_a_username_after_its_budget_until_the_window_ends() {
        let l = limiter();
        let ip = Some(IpAddr::from([127, 0, 0, 1]));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.blocked("alice", ip, t0).is_none());
            l.failed("alice", ip, t0);
        }
        assert_eq!(l.blocked("alice", ip, t0), Some(Duration::from_secs(60)));
        assert!(
            l.blocked("bob", Some(IpAddr::from([127, 0, 0, 2])), t0)
                .is_none()
        );
        assert!(
            l.blocked("alice", ip, t0 + Duration::from_secs(61))
                .is_none()
        );
    }

    #[test]
    fn blocks_an_ip_spraying_many_usernames() {
        let l = limiter();
        let ip = Some(IpAddr::from([127, 0, 0, 9]));
        let t0 = Instant::now();
        for n in 0..5 {
            l.failed(&format!("user{n}"), ip, t0);
        }
        assert!(l.blocked("someone-else", ip, t0).is_some());
        // A success gives back only its own attempt, not the earlier failures.
        l.failed("someone-else", ip, t0);
        l.succeeded("someone-else", ip);
        assert!(
            l.blocked("someone-else", ip, t0).is_some(),
            "success does not clear the IP"
        );
    }
}
