//! The `webhooks.deliver` job: sends one endpoint's waiting deliveries in order, signed, one at
//! a time, and stores how each attempt went. The first failure stops the run (later deliveries
//! wait behind it, keeping the order) and schedules its retry; when the schedule is spent the
//! delivery fails for good and the endpoint is turned off with a `webhook.disabled` event.
//! A delivery counts as sent only once its attempt is stored, so a crash between the POST and
//! the write sends it again: at least once, with the same `webhook-id`.

use super::outbox::{self, Attempt, AttemptEnd, Waiting};
use super::retry::{self, Next};
use super::signing::{self, Signer};
use super::store::{self, Sending};
use super::target::{Guard, GuardedResolver, WebhookUrl};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::system::events::{self, NewEvent, Severity};
use crate::system::jobs::queue::Context;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The job kind.
pub const KIND: &str = "webhooks.deliver";
/// Deliveries read per round trip to the database.
const BATCH: i64 = 200;
/// Bytes of an answer kept in the delivery log.
pub const EXCERPT_BYTES: usize = 1024;

/// The HTTP client of deliveries, with the SSRF guard in its name resolution.
pub struct Sender {
    client: reqwest::Client,
    guard: Arc<Guard>,
}

impl Sender {
    pub fn new(config: &crate::config::Config) -> Result<Self> {
        let guard = Arc::new(Guard::of(config));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.webhooks.timeout_s))
            .connect_timeout(Duration::from_secs(config.webhooks.timeout_s.min(5)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent("dialtone-webhooks")
            .pool_idle_timeout(Duration::from_secs(30))
            .dns_resolver(Arc::new(GuardedResolver(guard.clone())))
            .build()
            .map_err(|e| Error::Internal(format!("webhook HTTP client: {e}")))?;
        Ok(Self { client, guard })
    }

    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// One attempt: the POST and the first bytes of the answer.
    async fn send(&self, url: &WebhookUrl, signer: &Signer, delivery: &Waiting) -> Sent {
        let started = Instant::now();
        if let Some(ip) = url.literal_ip()
            && let Err(why) = self.guard.check(ip)
        {
            return Sent::refused(why);
        }
        let timestamp = Utc::now().timestamp();
        let signature = signer.sign(&delivery.message_id, timestamp, delivery.payload.as_bytes());
        let answer = self
            .client
            .post(url.as_url().clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &delivery.message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(delivery.payload.clone())
            .send()
            .await;
        let mut response = match answer {
            Ok(response) => response,
            Err(e) => return Sent::error(started, error_chain(&e)),
        };
        let status = response.status();
        let mut body = Vec::new();
        let mut error = None;
        while body.len() < EXCERPT_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => {
                    error = Some(error_chain(&e));
                    break;
                }
            }
        }
        let ok = status.is_success();
        Sent {
            status: Some(status.as_u16()),
            excerpt: Some(excerpt(&body)),
            latency_ms: elapsed_ms(started),
            error: match (ok, error) {
                (true, _) => None,
                (false, Some(e)) => Some(e),
                (false, None) => Some(format!("answered {status}")),
            },
            ok,
        }
    }
}

/// How one attempt went.
struct Sent {
    status: Option<u16>,
    excerpt: Option<String>,
    latency_ms: i64,
    error: Option<String>,
    ok: bool,
}

impl Sent {
    fn error(started: Instant, error: String) -> Self {
        Self {
            status: None,
            excerpt: None,
            latency_ms: elapsed_ms(started),
            error: Some(error),
            ok: false,
        }
    }

    fn refused(why: String) -> Self {
        Self {
            status: None,
            excerpt: None,
            latency_ms: 0,
            error: Some(format!("refused: {why}")),
            ok: false,
        }
    }
}

fn elapsed_ms(started: Instant) -> i64 {
    i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)
}

/// The first [`EXCERPT_BYTES`] of `body` as text (cut at a character boundary).
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_BYTES)]).into_owned();
    let mut end = text.len().min(EXCERPT_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// An error with its causes (`error sending request: connection refused`).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Registers the job handler and starts this instance's dispatcher.
pub fn register(state: &AppState) {
    let sender = match Sender::new(&state.config) {
        Ok(sender) => Arc::new(sender),
        Err(e) => {
            tracing::error!(error = %e, "webhooks disabled: cannot build the HTTP client");
            return;
        }
    };
    {
        let state = state.clone();
        state.jobs.clone().handle(KIND, move |context| {
            Box::pin(run(state.clone(), sender.clone(), context))
        });
    }
    let dispatching = state.clone();
    state.jobs.spawn_loop("webhooks.dispatch", move |stop| {
        super::dispatch::run(dispatching.clone(), stop)
    });
}

/// The signer of an endpoint's secrets in force at `now`.
fn signer_of(state: &AppState, endpoint: &Sending, now: DateTime<Utc>) -> Result<Signer> {
    let mut keys = Vec::with_capacity(2);
    let mut add = |stored: &str| -> Result<()> {
        let secret = state
            .secrets
            .decrypt(stored)
            .map_err(|e| Error::Internal(format!("webhook {} secret: {e}", endpoint.id)))?;
        let key = signing::key_of(&secret).ok_or_else(|| {
            Error::Internal(format!(
                "webhook {} secret is not a whsec_ value",
                endpoint.id
            ))
        })?;
        keys.push(key);
        Ok(())
    };
    add(&endpoint.secret)?;
    if let (Some(previous), Some(until)) =
        (&endpoint.previous_secret, endpoint.previous_secret_until)
        && until > now
    {
        add(previous)?;
    }
    Ok(Signer::new(&keys))
}

/// Why a run ended.
enum RunEnd {
    /// Nothing more is waiting.
    Drained,
    /// The oldest waiting delivery is not due before this.
    WaitsUntil(DateTime<Utc>),
    /// The daemon is stopping.
    Stopping,
}

async fn run(state: AppState, sender: Arc<Sender>, context: Context) -> Result<Value> {
    let endpoint_id = context
        .payload
        .get("endpoint_id")
        .and_then(Value::as_i64)
        .ok_or_else(|| Error::Internal(format!("webhook job {}: no endpoint_id", context.id)))?;
    let (mut delivered, mut failed) = (0i64, 0i64);
    let end = loop {
        if context.stop.is_cancelled() {
            break RunEnd::Stopping;
        }
        let Some(endpoint) = store::sending(&state.db, endpoint_id).await? else {
            break RunEnd::Drained;
        };
        if !endpoint.active {
            break RunEnd::Drained;
        }
        let batch = outbox::waiting(&state.db, endpoint_id, BATCH).await?;
        if batch.is_empty() {
            break RunEnd::Drained;
        }
        let round = round(&state, &sender, &endpoint, &batch, &context).await?;
        delivered += round.delivered;
        failed += round.failed;
        context.progress(delivered, None).await;
        if let Some(end) = round.end {
            break end;
        }
    };
    let stopped = match end {
        RunEnd::Drained => "drained",
        RunEnd::WaitsUntil(_) => "waiting for a retry",
        RunEnd::Stopping => "stopping",
    };
    Ok(json!({
        "endpoint_id": endpoint_id,
        "delivered": delivered,
        "failed_attempts": failed,
        "stopped": stopped,
    }))
}

/// What one round (one batch) did, and how the run goes on (`None`: read the next batch).
struct Round {
    delivered: i64,
    failed: i64,
    end: Option<RunEnd>,
}

async fn round(
    state: &AppState,
    sender: &Sender,
    endpoint: &Sending,
    batch: &[Waiting],
    context: &Context,
) -> Result<Round> {
    let url = WebhookUrl::parse(&endpoint.url)
        .map_err(|e| Error::Internal(format!("webhook {} url: {e}", endpoint.id)))?;
    let signer = signer_of(state, endpoint, Utc::now())?;
    let schedule = &state.config.webhooks.retry_schedule_s;
    let mut attempts = Vec::with_capacity(batch.len());
    let mut end = None;
    let mut gave_up = None;
    for delivery in batch {
        let now = Utc::now();
        if delivery.next_attempt_at > now {
            end = Some(RunEnd::WaitsUntil(delivery.next_attempt_at));
            break;
        }
        let sent = sender.send(&url, &signer, delivery).await;
        let at = Utc::now();
        let outcome = if sent.ok {
            AttemptEnd::Delivered
        } else {
            match retry::after_failure(schedule, i64::from(delivery.attempts) + 1, at) {
                Next::RetryAt(when) => AttemptEnd::RetryAt(when),
                Next::GiveUp => AttemptEnd::Failed,
            }
        };
        metrics::counter!("webhook_attempts_total",
            "outcome" => if sent.ok { "delivered" } else { "failed" })
        .increment(1);
        metrics::histogram!("webhook_attempt_seconds").record(sent.latency_ms as f64 / 1000.0);
        attempts.push(Attempt {
            id: delivery.id,
            at,
            status: sent.status,
            excerpt: sent.excerpt,
            latency_ms: sent.latency_ms,
            error: sent.error.clone(),
            outcome,
        });
        match outcome {
            AttemptEnd::Delivered => {}
            AttemptEnd::RetryAt(when) => {
                end = Some(RunEnd::WaitsUntil(when));
                break;
            }
            AttemptEnd::Failed => {
                gave_up = Some((delivery.id, sent.error.unwrap_or_default()));
                end = Some(RunEnd::Drained);
                break;
            }
        }
        if context.stop.is_cancelled() {
            end = Some(RunEnd::Stopping);
            break;
        }
    }
    let delivered = attempts
        .iter()
        .filter(|a| a.outcome == AttemptEnd::Delivered)
        .count() as i64;
    let failed = attempts.len() as i64 - delivered;
    let mut tx = state.db.begin().await?;
    outbox::record(&mut tx, &attempts).await?;
    let now = Utc::now();
    match (&end, failed > 0) {
        (Some(RunEnd::WaitsUntil(when)), true) => {
            let since = endpoint.failing_since.unwrap_or(now);
            store::set_failing(&mut tx, endpoint.id, Some(since), Some(*when)).await?;
        }
        (Some(RunEnd::WaitsUntil(when)), false) => {
            store::set_failing(&mut tx, endpoint.id, endpoint.failing_since, Some(*when)).await?;
        }
        (_, false) if delivered > 0 && endpoint.failing_since.is_some() => {
            store::set_failing(&mut tx, endpoint.id, None, None).await?;
        }
        _ => {}
    }
    if let Some((delivery_id, why)) = &gave_up {
        disable(&mut tx, endpoint, *delivery_id, why, schedule, now).await?;
    }
    tx.commit().await?;
    Ok(Round {
        delivered,
        failed,
        end,
    })
}

/// Turns the endpoint off after delivery `delivery_id` failed for the whole schedule.
async fn disable(
    tx: &mut crate::db::Tx,
    endpoint: &Sending,
    delivery_id: i64,
    why: &str,
    schedule: &[u64],
    now: DateTime<Utc>,
) -> Result<()> {
    let hours = retry::span_s(schedule) as f64 / 3600.0;
    let reason = format!(
        "delivery {delivery_id} failed {} times over {hours:.1} h; last: {why}",
        schedule.len() + 1
    );
    if store::disable(tx, endpoint.id, &reason, now).await? {
        metrics::counter!("webhook_endpoints_disabled_total").increment(1);
        events::record_in(
            tx,
            NewEvent {
                organization_id: endpoint.organization_id,
                organization_path: &endpoint.organization_path,
                source: "webhooks",
                severity: Severity::Warning,
                entity_type: "webhook",
                entity_id: endpoint.id.to_string(),
                event: "webhook.disabled",
                message: format!("webhook {} turned off: {reason}", endpoint.id),
                detail: Some(json!({"delivery_id": delivery_id, "url": endpoint.url})),
            },
        )
        .await?;
    }
    Ok(())
}
