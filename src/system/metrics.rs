//! Prometheus metrics: request counts and latency by route and status, plus process figures.
//!
//! One recorder per process (installed on first use), because `metrics` macros write to a global;
//! several daemons in one test process share it, which is fine for counters that only grow.

use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's metric registry and the sysinfo probe behind the process gauges.
pub struct Metrics {
    handle: PrometheusHandle,
    system: Mutex<(Option<System>, Option<Pid>)>,
}

impl Metrics {
    pub fn global() -> Self {
        let handle = HANDLE
            .get_or_init(|| {
                let builder = PrometheusBuilder::new()
                    .set_buckets_for_metric(
                        Matcher::Full("http_request_duration_seconds".into()),
                        LATENCY_BUCKETS,
                    )
                    .unwrap_or_else(|_| PrometheusBuilder::new());
                let recorder = builder.build_recorder();
                let handle = recorder.handle();
                // Fails only if another recorder was installed first; then ours stays unused.
                let _ = metrics::set_global_recorder(recorder);
                handle
            })
            .clone();
        let pid = sysinfo::get_current_pid().ok();
        Self {
            handle,
            system: Mutex::new((System::new().ok(), pid)),
        }
    }

    /// The exposition text, with process gauges refreshed just before rendering.
    pub fn render(&self) -> String {
        self.refresh_process();
        self.handle.render()
    }

    fn refresh_process(&self) {
        let mut guard = self.system.lock().unwrap_or_else(|p| p.into_inner());
        let (system, pid) = &mut *guard;
        let (Some(system), Some(pid)) = (system.as_mut(), *pid) else {
            return;
        };
        system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[pid]),
            true,
            ProcessRefreshKind::nothing().with_memory().with_cpu(),
        );
        if let Some(process) = system.process(pid) {
            metrics::gauge!("process_resident_memory_bytes").set(process.memory() as f64);
            metrics::gauge!("process_virtual_memory_bytes").set(process.virtual_memory() as f64);
            metrics::gauge!("process_cpu_usage_percent").set(f64::from(process.cpu_usage()));
            metrics::gauge!("process_start_time_seconds").set(process.start_time() as f64);
            metrics::gauge!("process_uptime_seconds").set(process.run_time() as f64);
        }
    }
}

/// Counts and times every HTTP request under its route template (never the raw path, so ids do
/// not explode the label set).
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

pub fn rate_limited() {
    metrics::counter!("http_rate_limited_total").increment(1);
}

pub fn login_failed(reason: &'static str) {
    metrics::counter!("auth_login_failures_total", "reason" => reason).increment(1);
}

/// One authentication with an API key, by outcome (`ok`, `unknown` (also a revoked key),
/// `expired`, `source`, `organization`, `malformed`).
pub fn apikey_auth(outcome: &'static str) {
    metrics::counter!("auth_apikey_total", "outcome" => outcome).increment(1);
}

/// `GET /metrics`: Prometheus text format; with `http.metrics_token` set, only for a request
/// bearing that token (Prometheus: `authorization: {credentials: …}`).
pub async fn endpoint(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(expected) = state.config.http.metrics_token.as_deref() {
        let given = crate::http::rate_limit::bearer_token(&headers).unwrap_or_default();
        let same = given.len() == expected.len()
            && given
                .bytes()
                .zip(expected.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if !same {
            return crate::error::Error::Unauthorized(
                "Metrics need the bearer token of http.metrics_token".into(),
            )
            .into_response();
        }
    }
    let mut text = state.metrics.render();
    // Figures kept in the database (the same on every instance), read at scrape time; a
    // database that does not answer leaves them out rather than failing the scrape.
    match crate::system::queues::exposition(&state.db).await {
        Ok(queues) => text.push_str(&queues),
        Err(e) => tracing::warn!(error = %e, "queue figures left out of /metrics"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
