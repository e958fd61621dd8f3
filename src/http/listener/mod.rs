//! One accept loop for the daemon's HTTP/1.1 listeners (the REST API and phone provisioning), so
//! both treat slow and greedy clients the same way: optional TLS, a header timeout, an idle
//! timeout between requests, caps on open connections (in all and per client address), and a
//! drain on shutdown.
//!
//! What a client sees: a connection over a cap is answered `503` with `Retry-After: 1` in the
//! API's error shape and closed (over TLS it is closed unanswered: a handshake costs more than
//! the refusal is worth); a connection whose headers are late, or that sits idle too long
//! between requests, is closed. What an operator sees: both counted by `listener` and `reason`
//! (`http_connections_refused_total`, `http_connections_timed_out_total`, the gauge
//! `http_connections_open`); refusals logged at warn, at most once per 10 s with the count since
//! the last line (a full listener is news), timeouts at debug (a slow client is routine).

mod activity;
mod caps;

pub use caps::Caps;

use activity::{Activity, Tracked, Watched};
use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use caps::{Open, Refusal};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// What a listener serves: one request from one peer at a time.
pub trait Handler: Clone + Send + Sync + 'static {
    fn handle(
        &self,
        request: Request<Incoming>,
        peer: SocketAddr,
    ) -> impl Future<Output = Response<Body>> + Send + use<Self>;
}

/// How a listener treats its connections.
#[derive(Debug, Clone)]
pub struct Settings {
    /// What logs and metrics call the listener (`api`, `provisioning`).
    pub name: &'static str,
    /// A request's headers (and a TLS handshake) must arrive within this: for the first
    /// request from the connection's start, for later ones from their first byte.
    pub header_timeout: Duration,
    /// A kept-alive connection with no request for this long after its last answer is closed.
    pub idle_timeout: Duration,
    pub caps: Caps,
    /// On shutdown, how long requests in flight may take to finish.
    pub grace: Duration,
}

/// Refused connections answered at once at most; past it they are closed unanswered, so a
/// flood of refusals cannot itself hold the descriptors the caps protect.
const MAX_ANSWERING_REFUSALS: usize = 64;
/// How long a refused connection may take to send the request its 503 answers.
const REFUSAL_TIME: Duration = Duration::from_secs(2);
/// Refusals are logged at most this often.
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(10);

/// Accepts until `shutdown`, then drains connections for at most `settings.grace`.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    handler: H,
    settings: Settings,
    shutdown: CancellationToken,
) {
    let settings = Arc::new(settings);
    let open = Open::new(settings.caps.clone());
    let refusals = Refusals::default();
    let connections = TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: pause instead of spinning.
                    tracing::warn!(listener = settings.name, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let slot = match open.admit(peer.ip()) {
            Ok(slot) => slot,
            Err(why) => {
                refusals.refuse(stream, peer, why, tls.is_some(), &settings, &connections);
                continue;
            }
        };
        // Up and down rather than set: daemons sharing a process (tests) share the gauge.
        let gauge = metrics::gauge!("http_connections_open", "listener" => settings.name);
        gauge.increment(1.0);
        let (handler, settings, shutdown, tls) = (
            handler.clone(),
            settings.clone(),
            shutdown.clone(),
            tls.clone(),
        );
        connections.spawn(async move {
            match tls {
                None => connection(stream, peer, handler, &settings, shutdown).await,
                Some(acceptor) => {
                    let handshake = acceptor.accept(stream);
                    match tokio::time::timeout(settings.header_timeout, handshake).await {
                        Ok(Ok(stream)) => {
                            connection(stream, peer, handler, &settings, shutdown).await
                        }
                        _ => {
                            metrics::counter!(format!(
                                "{}_tls_handshake_failures_total",
                                settings.name
                            ))
                            .increment(1);
                        }
                    }
                }
            }
            drop(slot);
            gauge.decrement(1.0);
        });
    }
    drop(listener);
    connections.close();
    if tokio::time::timeout(settings.grace, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            listener = settings.name,
            grace_s = settings.grace.as_secs(),
            "requests in flight did not finish in time"
        );
    }
}

/// Serves one connection until it ends, its timer runs out, or shutdown has drained it.
async fn connection<S, H>(
    stream: S,
    peer: SocketAddr,
    handler: H,
    settings: &Settings,
    shutdown: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Handler,
{
    let activity = Arc::new(Activity::new(
        Instant::now(),
        settings.header_timeout,
        settings.idle_timeout,
    ));
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |request| {
            let busy = activity.begin();
            let answer = handler.handle(request, peer);
            async move {
                let response = answer.await;
                Ok::<_, Infallible>(response.map(|body| Tracked::new(body, busy)))
            }
        })
    };
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        // Ours, in `activity`: hyper's counts the wait between requests as header time.
        .header_read_timeout(None)
        .serve_connection(
            TokioIo::new(Watched::new(stream, activity.clone())),
            service,
        );
    tokio::pin!(conn);
    let mut draining = false;
    loop {
        // Made before the deadline is read: a change in between leaves a permit that wakes it.
        let changed = activity.changed.notified();
        let deadline = activity.deadline();
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(listener = settings.name, error = %e, %peer, "connection ended");
                }
                return;
            }
            _ = shutdown.cancelled(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = changed => {}
            _ = sleep_until(deadline) => {
                if let Some(why) = activity.expired(Instant::now()) {
                    metrics::counter!("http_connections_timed_out_total",
                        "listener" => settings.name, "reason" => why.as_str())
                    .increment(1);
                    tracing::debug!(listener = settings.name, %peer, reason = why.as_str(),
                        "closed a connection whose timer ran out");
                    return;
                }
            }
        }
    }
}

async fn sleep_until(deadline: Option<(Instant, activity::Expiry)>) {
    match deadline {
        Some((at, _)) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The refusals of one listener: how many are being answered, and when they were last logged.
#[derive(Debug, Default)]
struct Refusals {
    answering: Arc<AtomicUsize>,
    /// When the last line was logged, and refusals since.
    log: Mutex<(Option<Instant>, u64)>,
}

impl Refusals {
    fn refuse(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        why: Refusal,
        tls: bool,
        settings: &Settings,
        connections: &TaskTracker,
    ) {
        metrics::counter!("http_connections_refused_total",
            "listener" => settings.name, "reason" => why.as_str())
        .increment(1);
        self.note(settings, peer, why);
        if tls || self.answering.load(Ordering::Relaxed) >= MAX_ANSWERING_REFUSALS {
            return;
        }
        self.answering.fetch_add(1, Ordering::Relaxed);
        let answering = self.answering.clone();
        let message = match why {
            Refusal::PerAddress => format!(
                "Too many connections from your address (at most {}); close some and retry",
                settings.caps.per_address.unwrap_or_default()
            ),
            Refusal::Total => "The server is at its connection limit; retry later".to_string(),
        };
        connections.spawn(async move {
            let _ = tokio::time::timeout(REFUSAL_TIME, answer_refusal(stream, message)).await;
            answering.fetch_sub(1, Ordering::Relaxed);
        });
    }

    fn note(&self, settings: &Settings, peer: SocketAddr, why: Refusal) {
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        log.1 += 1;
        let now = Instant::now();
        if log
            .0
            .is_none_or(|last| now.duration_since(last) >= REFUSAL_LOG_EVERY)
        {
            tracing::warn!(
                listener = settings.name,
                %peer,
                reason = why.as_str(),
                refused = log.1,
                "refused connections over the cap (the count is since the last such line)"
            );
            *log = (Some(now), 0);
        }
    }
}

/// Reads the refused connection's request and answers it 503, then closes: answering before the
/// request is read would make the client's kernel see a reset instead of the answer.
async fn answer_refusal(stream: TcpStream, message: String) {
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let format = crate::http::errors::negotiate(
            request
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok()),
        );
        let info = crate::http::error_response::ErrorInfo {
            code: StatusCode::SERVICE_UNAVAILABLE.as_u16(),
            message: message.clone(),
        };
        let (content_type, body) = crate::http::errors::render(format, &info);
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        async move { Ok::<_, Infallible>(response) }
    });
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}
