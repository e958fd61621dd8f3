//! A fast webhook receiver for the webhook bench (bench/webhooks.sh): verifies every
//! Standard Webhooks signature, answers 204, and counts.
//!
//! `cargo run --release --example webhook_sink -- --port P --secret whsec_… [--stats FILE]`
//!
//! Binds 127.0.0.1:P (HTTP/1.1, keep-alive). A request whose `webhook-signature` does not
//! verify with the secret (HMAC-SHA256 over `id.timestamp.body`) is answered 401 and counted
//! as `bad`. For each good one it notes the delay from the payload's `timestamp` (when the event
//! was recorded, ms precision) to its arrival. Every 200 ms (and on SIGTERM) it writes FILE
//! atomically: `ok N`, `bad N`, `first_ms T` and `last_ms T` (Unix ms of the first and last
//! good request), then `p50_ms`, `p99_ms`, `max_ms` of the delays of the requests counted since
//! the last `POST /reset` (which also zeroes the counters).

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Default)]
struct Counts {
    ok: u64,
    bad: u64,
    first_ms: u64,
    last_ms: u64,
    delays_ms: Vec<u64>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// The event time in a payload (`"timestamp":"2026-…Z"`), in Unix ms.
fn event_ms(body: &[u8]) -> Option<u64> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let text = value.get("timestamp")?.as_str()?;
    let at = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    u64::try_from(at.timestamp_millis()).ok()
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn write_stats(path: &str, counts: &Mutex<Counts>) {
    let text = {
        let c = counts.lock().unwrap_or_else(|p| p.into_inner());
        let mut delays = c.delays_ms.clone();
        delays.sort_unstable();
        format!(
            "ok {}\nbad {}\nfirst_ms {}\nlast_ms {}\np50_ms {}\np99_ms {}\nmax_ms {}\n",
            c.ok,
            c.bad,
            c.first_ms,
            c.last_ms,
            percentile(&delays, 0.50),
            percentile(&delays, 0.99),
            delays.last().copied().unwrap_or(0)
        )
    };
    let tmp = format!("{path}.tmp");
    if std::fs::write(&tmp, text).is_ok() {
        let _ = std::fs::rename(&tmp, path);
    }
}

async fn handle(
    key: Arc<hmac::Key>,
    counts: Arc<Mutex<Counts>>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    if request.uri().path() == "/reset" {
        *counts.lock().unwrap_or_else(|p| p.into_inner()) = Counts::default();
        return Ok(Response::new(Full::new(Bytes::from_static(b"reset"))));
    }
    let (parts, body) = request.into_parts();
    let body = body.collect().await?.to_bytes();
    let good = verify_headers(&key, &Request::from_parts(parts, ()), &body);
    let arrived = now_ms();
    let mut c = counts.lock().unwrap_or_else(|p| p.into_inner());
    let status = if good {
        c.ok += 1;
        if c.first_ms == 0 {
            c.first_ms = arrived;
        }
        c.last_ms = arrived;
        if let Some(at) = event_ms(&body) {
            c.delays_ms.push(arrived.saturating_sub(at));
        }
        StatusCode::NO_CONTENT
    } else {
        c.bad += 1;
        StatusCode::UNAUTHORIZED
    };
    drop(c);
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    Ok(response)
}

fn verify_headers(key: &hmac::Key, request: &Request<()>, body: &[u8]) -> bool {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let (id, timestamp, signatures) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    );
    let mut signed = Vec::with_capacity(id.len() + timestamp.len() + body.len() + 2);
    signed.extend_from_slice(id.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(timestamp.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(body);
    let expected = STANDARD.encode(hmac::sign(key, &signed).as_ref());
    signatures
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .any(|sig| sig == expected)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = arg("--port").ok_or("--port P")?.parse()?;
    let secret = arg("--secret").ok_or("--secret whsec_…")?;
    let stats = arg("--stats");
    let key_bytes = STANDARD.decode(secret.trim_start_matches("whsec_"))?;
    let key = Arc::new(hmac::Key::new(hmac::HMAC_SHA256, &key_bytes));
    let counts = Arc::new(Mutex::new(Counts::default()));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    if let Some(path) = stats.clone() {
        let counts = counts.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            loop {
                tokio::select! {
                    _ = tick.tick() => write_stats(&path, &counts),
                    _ = term.recv() => {
                        write_stats(&path, &counts);
                        std::process::exit(0);
                    }
                }
            }
        });
    }
    loop {
        let (stream, _) = listener.accept().await?;
        let (key, counts) = (key.clone(), counts.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                handle(key.clone(), counts.clone(), request)
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
}
