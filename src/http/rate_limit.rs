//! Per-client request budget: a fixed window per bearer token (or per client IP without one),
//! reported in `X-RateLimit-*` headers on every response (`X-RateLimit-Reset` is the Unix time,
//! in seconds, when the window resets, as the platform API documents it); past the budget the
//! answer is 429 with `Retry-After` in seconds.

use crate::error::Error;
use crate::state::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// Who a budget belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// First 16 bytes of the SHA-256 of the bearer token (the token itself is never kept).
    Token([u8; 16]),
    Ip(IpAddr),
}

/// The outcome of counting one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Until the window resets, exactly and in whole seconds rounded up.
    pub reset_after: Duration,
    pub reset_after_s: u64,
}

/// Most budgets kept at once; past it stale windows are swept, and if that is not enough the
/// table starts over (budgets reset) rather than grow without bound.
const MAX_WINDOWS: usize = 100_000;

/// Fixed-window counters; stale windows are swept as the map grows.
pub struct RateLimiter {
    limit: u32,
    window: Duration,
    windows: Mutex<HashMap<ClientKey, (Instant, u32)>>,
    /// Tokens seen to be valid (issued or authenticated here). Only these get a budget of their
    /// own: a made-up bearer value counts against its sender's IP, so inventing tokens cannot
    /// buy fresh budgets.
    known_tokens: Mutex<HashMap<[u8; 16], Instant>>,
}

impl RateLimiter {
    pub fn new(limit: u32, window_s: u64) -> Self {
        Self {
            limit,
            window: Duration::from_secs(window_s),
            windows: Mutex::new(HashMap::new()),
            known_tokens: Mutex::new(HashMap::new()),
        }
    }

    /// Records that `token` is genuine, so its requests get the token's own budget.
    pub fn mark_valid(&self, token: &str, now: Instant) {
        let mut known = self.known_tokens.lock().unwrap_or_else(|p| p.into_inner());
        if known.len() >= MAX_WINDOWS {
            let day = Duration::from_secs(86_400);
            known.retain(|_, seen| now.duration_since(*seen) < day);
            if known.len() >= MAX_WINDOWS {
                known.clear();
            }
        }
        known.insert(token_digest(token), now);
    }

    /// The budget a request is counted against: its token's if the token is known, else its IP's.
    pub fn key_for(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> ClientKey {
        if let Some(token) = bearer_token(headers) {
            let digest = token_digest(token);
            let known = self.known_tokens.lock().unwrap_or_else(|p| p.into_inner());
            if known.contains_key(&digest) {
                return ClientKey::Token(digest);
            }
        }
        ClientKey::Ip(peer.unwrap_or(IpAddr::from([0, 0, 0, 0])))
    }

    /// Counts one request for `key` at `now` (time is passed in so tests control it).
    pub fn check(&self, key: ClientKey, now: Instant) -> Decision {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= MAX_WINDOWS {
            let window = self.window;
            windows.retain(|_, (start, _)| now.duration_since(*start) < window);
            if windows.len() >= MAX_WINDOWS {
                windows.clear();
            }
        }
        let entry = windows.entry(key).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        let allowed = entry.1 < self.limit;
        if allowed {
            entry.1 += 1;
        }
        let reset = self.window.saturating_sub(now.duration_since(entry.0));
        Decision {
            allowed,
            limit: self.limit,
            remaining: self.limit - entry.1,
            reset_after: reset,
            reset_after_s: reset.as_secs() + u64::from(reset.subsec_nanos() > 0),
        }
    }
}

fn token_digest(token: &str) -> [u8; 16] {
    let digest = Sha256::digest(token.as_bytes());
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The client's IP as `client_ip::resolve` found it, else the TCP peer (tests without
/// `ConnectInfo` fall back to "unknown").
pub fn peer_ip(request: &Request) -> Option<IpAddr> {
    if let Some(super::client_ip::ClientIp(ip)) = request.extensions().get() {
        return *ip;
    }
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

pub async fn enforce(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let key = state
        .rate_limiter
        .key_for(request.headers(), peer_ip(&request));
    let decision = state.rate_limiter.check(key, Instant::now());
    let mut response = if decision.allowed {
        next.run(request).await
    } else {
        crate::system::metrics::rate_limited();
        Error::TooManyRequests {
            message: format!(
                "Rate limit exceeded: {} requests per window; retry in {} s",
                decision.limit, decision.reset_after_s
            ),
            retry_after_s: decision.reset_after_s,
        }
        .into_response()
    };
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(decision.limit));
    headers.insert(
        "x-ratelimit-remaining",
        HeaderValue::from(decision.remaining),
    );
    headers.insert(
        "x-ratelimit-reset",
        HeaderValue::from(reset_at(SystemTime::now(), decision.reset_after)),
    );
    response
}

/// The Unix time (seconds) `reset_after` from `now`: when the window resets. Rounded up, as
/// `Retry-After` is, so a client that waits until then finds a fresh budget.
fn reset_at(now: SystemTime, reset_after: Duration) -> u64 {
    let at = (now + reset_after)
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    at.as_secs() + u64::from(at.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_refuses_then_resets() {
        let limiter = RateLimiter::new(2, 10);
        let key = ClientKey::Ip(IpAddr::from([127, 0, 0, 1]));
        let t0 = Instant::now();
        let first = limiter.check(key.clone(), t0);
        assert_eq!(
            (first.allowed, first.remaining, first.reset_after_s),
            (true, 1, 10)
        );
        assert!(limiter.check(key.clone(), t0).allowed);
        let refused = limiter.check(key.clone(), t0 + Duration::from_millis(2500));
        assert_eq!(
            (refused.allowed, refused.remaining, refused.reset_after_s),
            (false, 0, 8)
        );
        let other = limiter.check(ClientKey::Ip(IpAddr::from([127, 0, 0, 2])), t0);
        assert!(other.allowed, "budgets are per client");
        let later = limiter.check(key, t0 + Duration::from_secs(10));
        assert_eq!((later.allowed, later.remaining), (true, 1));
    }

    #[test]
    fn the_reset_is_the_unix_time_of_the_next_window() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_250);
        assert_eq!(reset_at(now, Duration::from_millis(7_500)), 1_700_000_008);
        assert_eq!(reset_at(now, Duration::from_millis(7_800)), 1_700_000_009);
        let whole = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(reset_at(whole, Duration::from_secs(60)), 1_700_000_060);
    }

    #[test]
    fn only_known_tokens_get_their_own_budget() {
        let limiter = RateLimiter::new(2, 10);
        let ip = Some(IpAddr::from([127, 0, 0, 1]));
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(
            limiter.key_for(&headers, ip),
            ClientKey::Ip(IpAddr::from([127, 0, 0, 1]))
        );
        limiter.mark_valid("abc", Instant::now());
        assert!(matches!(limiter.key_for(&headers, ip), ClientKey::Token(_)));
        assert_eq!(bearer_token(&headers), Some("abc"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&headers), None);
    }
}
