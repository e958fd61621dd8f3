//! One provisioning request from start to answer: method, failure budget, credentials (Digest
//! or, over TLS, Basic) identifying the device by its provisioning user name, the device's
//! state, its organization's IP allow-list, the User-Agent's MAC, the vendor's file name,
//! then the file from the render cache. Every refusal before the device is known to be
//! entitled to the file is the same bland 401 challenge; see the module doc for why.

use super::authorization::{self, Authorization};
use super::budget::{Budget, Key};
use super::cache::{Entry, RenderedFile};
use super::digest::{self, NonceState, Nonces};
use super::recorder::{DeviceRef, Outcome, Recorder};
use crate::devices::templates::RenderContext;
use crate::state::AppState;
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, Response, StatusCode, header};
use bytes::Bytes;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The body of every 401: the same bytes whatever went wrong.
pub const UNAUTHORIZED_BODY: &str = "401 Unauthorized\n";
/// The body of a 404 (an authenticated device asking for a name its vendor does not serve).
pub const NOT_FOUND_BODY: &str = "404 Not Found\n";
/// Longest User-Agent looked at.
const MAX_USER_AGENT: usize = 512;
/// Longest last path segment looked at (vendors' names are far shorter).
const MAX_FILE_NAME: usize = 128;

/// The provisioning server's shared parts.
pub struct Server {
    pub state: AppState,
    pub nonces: Nonces,
    pub budget: Budget,
    pub recorder: Recorder,
    /// The listener speaks TLS (Basic is accepted only then).
    pub tls: bool,
    /// `provisioning.allow_basic`.
    pub allow_basic: bool,
}

/// What the request carried, for the record.
struct Seen {
    ip: IpAddr,
    file: String,
    user_agent: Option<String>,
    username: Option<String>,
}

impl Server {
    pub async fn handle<B>(&self, request: Request<B>, peer: IpAddr) -> Response<Body> {
        let started = Instant::now();
        let (response, result) = self.answer(&request, peer).await;
        metrics::counter!("provisioning_requests_total", "result" => result).increment(1);
        metrics::histogram!("provisioning_request_duration_seconds")
            .record(started.elapsed().as_secs_f64());
        response
    }

    async fn answer<B>(
        &self,
        request: &Request<B>,
        peer: IpAddr,
    ) -> (Response<Body>, &'static str) {
        let ip = match peer {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
            v4 => v4,
        };
        let method = request.method();
        if method != Method::GET && method != Method::HEAD {
            let response = Response::builder()
                .status(StatusCode::METHOD_NOT_ALLOWED)
                .header(header::ALLOW, "GET, HEAD")
                .body(Body::empty())
                .unwrap_or_default();
            return (response, "method");
        }
        let path = request.uri().path();
        let file = path.rsplit('/').next().unwrap_or("").to_string();
        let user_agent = request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| {
                ua.chars()
                    .filter(|c| !c.is_control())
                    .take(MAX_USER_AGENT)
                    .collect::<String>()
            });
        let auth = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(authorization::parse);
        let seen = Seen {
            ip,
            file: file.chars().take(MAX_FILE_NAME).collect(),
            user_agent,
            username: auth.as_ref().map(|a| a.username().to_string()),
        };
        let mut keys = vec![Key::Ip(ip)];
        if let Some(username) = &seen.username {
            keys.push(Key::Target(username.to_ascii_lowercase()));
        }
        let now = Instant::now();
        if self.budget.locked(&keys, now) {
            self.refuse(&seen, None, "locked");
            return (self.challenge(false), "locked");
        }
        let Some(auth) = auth else {
            return (self.challenge(false), "challenge");
        };
        let mut stale = false;
        match &auth {
            Authorization::Basic { .. } if !self.basic() => {
                return self.fail(&keys, &seen, None, "basic_without_tls", now);
            }
            Authorization::Basic { .. } => {}
            Authorization::Digest(p) => {
                match self.nonces.check(&p.nonce, unix_now()) {
                    // Not a nonce of ours (say, from before a key change): ask again; no
                    // password was tried, so nothing is counted.
                    NonceState::Invalid => return (self.challenge(false), "challenge"),
                    NonceState::Stale => stale = true,
                    NonceState::Fresh => {}
                }
                let request_uri = request
                    .uri()
                    .path_and_query()
                    .map_or(path, |pq| pq.as_str());
                if p.realm != digest::REALM || p.uri != request_uri {
                    return self.fail(&keys, &seen, None, "digest_mismatch", now);
                }
            }
        }
        let username = auth.username();
        let entries = match self
            .state
            .provisioning_cache
            .by_username(&self.state.db, &self.state.secrets, username, now)
            .await
        {
            Ok(entries) => entries,
            Err(e) => {
                tracing::error!(error = %e, "provisioning: cannot load devices");
                return (
                    plain(StatusCode::SERVICE_UNAVAILABLE, "503 Service Unavailable\n"),
                    "error",
                );
            }
        };
        let wall = chrono::Utc::now();
        let method = method.as_str();
        let entry = entries.iter().find(|entry| {
            entry.passwords(wall).any(|password| match &auth {
                Authorization::Basic {
                    password: given, ..
                } => aws_lc_rs::constant_time::verify_slices_are_equal(
                    given.as_bytes(),
                    password.as_bytes(),
                )
                .is_ok(),
                Authorization::Digest(p) => digest::verify(p, password, method),
            })
        });
        let Some(entry) = entry.cloned() else {
            // Filed under the device whose user name was claimed, if any, for its operator.
            return self.fail(
                &keys,
                &seen,
                entries.first().map(|e| &**e),
                "credentials",
                now,
            );
        };
        if stale {
            return (self.challenge(true), "stale");
        }
        let device = Some(&*entry);
        if !entry.is_active() {
            return self.fail(&keys, &seen, device, "disabled", now);
        }
        if !entry.allows(ip) {
            return self.fail(&keys, &seen, device, "orgips", now);
        }
        let agent = seen
            .user_agent
            .as_deref()
            .map(crate::devices::user_agent::parse);
        if agent
            .as_ref()
            .and_then(|a| a.mac)
            .is_some_and(|mac| mac != entry.mac)
        {
            return self.fail(&keys, &seen, device, "ua_mac", now);
        }
        let vendor = entry.device.vendor;
        let catalog = self.state.templates.current();
        let Some(file_request) = catalog.resolve(vendor, &file) else {
            return (plain(StatusCode::NOT_FOUND, NOT_FOUND_BODY), "not_found");
        };
        if let Some(mac) = file_request.mac.filter(|mac| *mac != entry.mac) {
            // The device whose file was asked for is a target too.
            keys.push(Key::Target(mac.to_string()));
            return self.fail(&keys, &seen, device, "other_device", now);
        }
        let base_url = self.base_url(request);
        let cache_key = format!("{base_url} {file}");
        let generation = catalog.generation();
        let rendered = match entry.rendered(&cache_key, generation) {
            Some(rendered) => rendered,
            None => {
                let context = RenderContext {
                    device: &entry.device,
                    lines: RenderContext::lines_of(&entry.device, &entry.line_passwords),
                    variables: &entry.variables,
                    provisioning_url: &base_url,
                };
                match catalog.render(&file_request, &context) {
                    Ok(r) => {
                        let file = Arc::new(RenderedFile {
                            generation,
                            body: Bytes::from(r.body),
                            content_type: r.content_type,
                        });
                        entry.keep_rendered(&cache_key, file.clone());
                        file
                    }
                    Err(e) => {
                        tracing::error!(device = entry.device.id, error = %e, "provisioning: render failed");
                        return (
                            plain(
                                StatusCode::INTERNAL_SERVER_ERROR,
                                "500 Internal Server Error\n",
                            ),
                            "error",
                        );
                    }
                }
            }
        };
        self.recorder.record(Outcome {
            device: Some(device_ref(&entry)),
            username: None,
            file: seen.file,
            ip,
            user_agent: seen.user_agent,
            firmware: agent.and_then(|a| a.firmware),
            result: "served",
            at: wall,
        });
        let body = if request.method() == Method::HEAD {
            Body::empty()
        } else {
            Body::from(rendered.body.clone())
        };
        let response = Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, &rendered.content_type)
            .header(header::CONTENT_LENGTH, rendered.body.len())
            .header(header::CACHE_CONTROL, "no-store")
            .body(body)
            .unwrap_or_default();
        (response, "served")
    }

    /// Counts a failure against the budget, records it and answers the bland challenge.
    fn fail(
        &self,
        keys: &[Key],
        seen: &Seen,
        device: Option<&Entry>,
        reason: &'static str,
        now: Instant,
    ) -> (Response<Body>, &'static str) {
        if self.budget.fail(keys, now) {
            metrics::counter!("provisioning_lockouts_total").increment(1);
            tracing::warn!(ip = %seen.ip, "provisioning: failure budget spent; cooling off");
        }
        self.refuse(seen, device, reason);
        (self.challenge(false), reason)
    }

    fn refuse(&self, seen: &Seen, device: Option<&Entry>, reason: &'static str) {
        self.recorder.record(Outcome {
            device: device.map(device_ref),
            username: seen.username.clone(),
            file: seen.file.clone(),
            ip: seen.ip,
            user_agent: seen.user_agent.clone(),
            firmware: None,
            result: reason,
            at: chrono::Utc::now(),
        });
    }

    /// The 401 every unauthenticated or refused request gets: Digest (SHA-256, MD5) and, over
    /// TLS, Basic.
    fn challenge(&self, stale: bool) -> Response<Body> {
        let nonce = self.nonces.issue(unix_now(), rand::random());
        let mut response = plain(StatusCode::UNAUTHORIZED, UNAUTHORIZED_BODY);
        let headers = response.headers_mut();
        for value in digest::challenges(&nonce, stale) {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.append(header::WWW_AUTHENTICATE, value);
            }
        }
        if self.basic() {
            let basic = format!("Basic realm=\"{}\", charset=\"UTF-8\"", digest::REALM);
            if let Ok(value) = HeaderValue::from_str(&basic) {
                headers.append(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }

    fn basic(&self) -> bool {
        self.tls && self.allow_basic
    }

    /// `http(s)://host[:port]` as the phone addressed us (templates point phones back here).
    fn base_url<B>(&self, request: &Request<B>) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .filter(|h| {
                !h.is_empty()
                    && h.len() <= 255
                    && h.chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".-:[]_".contains(c))
            })
            .unwrap_or("localhost");
        format!("{scheme}://{host}")
    }
}

fn device_ref(entry: &Entry) -> DeviceRef {
    DeviceRef {
        id: entry.device.id,
        organization_id: entry.device.organization_id,
        organization_path: entry.device.organization_path.clone(),
    }
}

fn plain(status: StatusCode, body: &'static str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(body))
        .unwrap_or_default()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
