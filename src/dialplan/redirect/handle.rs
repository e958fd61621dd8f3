//! What the redirect listener does with each message: INVITEs are identified, evaluated once and
//! answered through their server transaction; ACKs are absorbed; CANCEL gets 200 (481 when
//! nothing matches, 487 to a still-pending INVITE); OPTIONS 200; other methods 405 (unknown ones
//! 501); broken requests 400; everything else is counted and dropped. Never panics.

use super::Listener;
use super::decide::{self, Answer};
use super::identify::Claim;
use super::request;
use super::response;
use crate::sip::inbound::{KNOWN_METHODS, check_request};
use crate::sip::message::{self, Scan};
use crate::sip::transaction::Destination;
use crate::sip::transaction::invite_server::{Arrival, Cancelled, RequestKey};
use crate::types::sip_uri::Transport;
use rsipstack::sip::{self as rsip, Header};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::time::Instant;

const ALLOW: &str = "INVITE, ACK, CANCEL, OPTIONS";
/// At most one "unknown source" event per this long (the metric counts every one).
const UNKNOWN_SOURCE_EVENT_EVERY: Duration = Duration::from_secs(60);

fn dropped(reason: &'static str) {
    metrics::counter!("redirect_dropped_total", "reason" => reason).increment(1);
}

pub(super) async fn handle(
    listener: &Listener,
    bytes: &[u8],
    source: SocketAddr,
    transport: Transport,
) {
    let max_bytes = listener.inner.state.config.sip.max_message_bytes;
    let (normalized, scan) = match message::intake(bytes, max_bytes) {
        message::Intake::Message(normalized, scan) => (normalized, scan),
        message::Intake::TooLarge => return dropped("too_large"),
        message::Intake::KeepAlive => return,
        message::Intake::Unparseable => {
            dropped("unparseable");
            tracing::debug!(%source, "redirect: unparseable message dropped");
            return;
        }
    };
    let bytes = normalized.as_ref();
    let Some(method) = scan.request_method().map(str::to_ascii_uppercase) else {
        // We send no requests, so no response is ours.
        dropped(if message::status_code(&scan).is_some() {
            "response"
        } else {
            "bad_start_line"
        });
        return;
    };
    if scan.get("via").is_none() {
        dropped("request_without_via");
        return;
    }
    let reply = Destination {
        addr: match transport {
            Transport::Udp => message::udp_reply_addr(&scan, source),
            // On TCP the answer goes back on the connection the request came on.
            Transport::Tcp => source,
        },
        transport,
    };
    let now = Instant::now();
    let key = RequestKey::of(&scan);
    if method == "ACK" {
        match key.and_then(|k| listener.inner.table.ack(&k, now)) {
            Some(effects) => {
                metrics::counter!("redirect_acks_absorbed_total").increment(1);
                listener.apply(effects).await;
            }
            None => dropped("stray_ack"),
        }
        return;
    }
    let body_len = bytes.len().saturating_sub(scan.body_start);
    let checked = check_request(&scan, &method, body_len, transport)
        .and_then(|()| key.clone().ok_or_else(|| "Via has no sent-by".to_string()));
    let key = match checked {
        Ok(key) => key,
        Err(reason) => {
            let warning = Header::Warning(rsip::Warning::new(format!("399 dialtone \"{reason}\"")));
            let bytes = build(listener, &scan, 400, source, vec![warning]);
            listener.send(reply, bytes).await;
            return;
        }
    };
    if method == "INVITE" {
        on_invite(listener, &scan, key, reply, source, now).await;
        return;
    }
    if let Some(stored) = listener.inner.table.answered(&key, &method) {
        metrics::counter!("redirect_retransmissions_absorbed_total", "method" => "other")
            .increment(1);
        listener.send(reply, stored).await;
        return;
    }
    let (code, extra): (u16, Vec<Header>) = match method.as_str() {
        "OPTIONS" => (
            200,
            vec![
                Header::Allow(rsip::Allow::new(ALLOW)),
                Header::Accept(rsip::Accept::new("application/sdp")),
                Header::Supported(rsip::Supported::new("")),
            ],
        ),
        "CANCEL" => (
            on_cancel(listener, &scan, &key, reply, source, now).await,
            Vec::new(),
        ),
        known if KNOWN_METHODS.contains(&known) => {
            (405, vec![Header::Allow(rsip::Allow::new(ALLOW))])
        }
        _ => (501, vec![Header::Allow(rsip::Allow::new(ALLOW))]),
    };
    let bytes = build(listener, &scan, code, source, extra);
    let effects =
        listener
            .inner
            .table
            .remember(key, &method, bytes.clone(), transport.is_reliable(), now);
    listener.send(reply, bytes).await;
    listener.apply(effects).await;
}

/// Builds a response with our Server header and a fresh To tag, and counts it.
fn build(
    listener: &Listener,
    scan: &Scan,
    code: u16,
    source: SocketAddr,
    mut extra: Vec<Header>,
) -> Arc<Vec<u8>> {
    extra.push(Header::Server(rsip::Server::new(
        listener.inner.state.config.sip.user_agent.as_str(),
    )));
    metrics::counter!("redirect_responses_total", "code" => code.to_string()).increment(1);
    Arc::new(message::build_response(
        scan,
        code,
        source,
        &message::new_token(),
        extra,
    ))
}

async fn on_invite(
    listener: &Listener,
    scan: &Scan,
    key: RequestKey,
    reply: Destination,
    source: SocketAddr,
    now: Instant,
) {
    match listener.inner.table.invite(&key, reply) {
        Arrival::Retransmission(stored) => {
            metrics::counter!("redirect_retransmissions_absorbed_total", "method" => "INVITE")
                .increment(1);
            if let Some(bytes) = stored {
                listener.send(reply, bytes).await;
            }
        }
        Arrival::New | Arrival::Untracked => {
            let (code, extra) = answer(listener, scan, source).await;
            let bytes = build(listener, scan, code, source, extra);
            let effects = listener.inner.table.complete(&key, bytes, reply, now);
            listener.apply(effects).await;
        }
    }
}

/// Identifies the caller, evaluates the dial plan and turns the verdict into a status code and
/// headers.
async fn answer(listener: &Listener, scan: &Scan, source: SocketAddr) -> (u16, Vec<Header>) {
    let config = &listener.inner.state.config.redirect;
    let call = request::read(scan, &listener.inner.org_header, &config.org_uri_param);
    let claim = Claim::parse(call.claim.as_deref());
    let identity =
        match listener
            .sources()
            .identify(claim, source.ip(), config.identify_by_source_ip)
        {
            Ok(identity) => identity,
            Err(refusal) => {
                metrics::counter!("redirect_unidentified_total", "reason" => refusal.label())
                    .increment(1);
                unknown_source_event(listener, source, refusal.text());
                return refuse(403, refusal.text());
            }
        };
    if call.to.is_empty() {
        return refuse(404, "No number in the Request-URI");
    }
    listener.inner.evaluations.fetch_add(1, Ordering::Relaxed);
    metrics::counter!("redirect_evaluations_total").increment(1);
    let started = std::time::Instant::now();
    let verdict = decide::decide(listener, identity, &call);
    metrics::histogram!("redirect_evaluation_seconds").record(started.elapsed().as_secs_f64());
    match verdict {
        Answer::Redirect(contacts) => (
            302,
            contacts
                .into_iter()
                .map(|c| Header::Contact(rsip::Contact::new(c)))
                .collect(),
        ),
        Answer::Refuse { code, reason } => refuse(response::refusal_code(code), &reason),
    }
}

fn refuse(code: u16, reason: &str) -> (u16, Vec<Header>) {
    (
        code,
        vec![Header::Reason(rsip::Reason::new(response::reason(
            code, reason,
        )))],
    )
}

/// A CANCEL: the status for the CANCEL itself; a still-pending INVITE also gets its 487.
async fn on_cancel(
    listener: &Listener,
    scan: &Scan,
    key: &RequestKey,
    reply: Destination,
    source: SocketAddr,
    now: Instant,
) -> u16 {
    match listener.inner.table.cancel(key) {
        Cancelled::NoTransaction => 481,
        Cancelled::AlreadyAnswered => 200,
        Cancelled::Pending => {
            // RFC 3261 §9.2: the 487 carries the CANCEL's headers with the INVITE's CSeq method.
            let mut invite = scan.clone();
            if let Some((number, _)) = message::cseq(scan) {
                for (name, value) in &mut invite.headers {
                    if name == "cseq" {
                        *value = format!("{number} INVITE");
                    }
                }
            }
            let bytes = build(listener, &invite, 487, source, Vec::new());
            let effects = listener.inner.table.complete(key, bytes, reply, now);
            listener.apply(effects).await;
            200
        }
    }
}

/// Writes an event about an unidentifiable caller, at most once a minute, against the root
/// organization (the operator's).
fn unknown_source_event(listener: &Listener, source: SocketAddr, why: &str) {
    let now = Instant::now();
    {
        let mut last = listener
            .inner
            .last_unknown_source_event
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|at| now.duration_since(at) < UNKNOWN_SOURCE_EVENT_EVERY) {
            return;
        }
        *last = Some(now);
    }
    tracing::info!(%source, why, "redirect: INVITE from an unidentified source refused");
    let Some((root_id, root_path)) = listener.sources().root() else {
        return;
    };
    let state = listener.inner.state.clone();
    let why = why.to_string();
    tokio::spawn(async move {
        let event = crate::system::events::NewEvent {
            organization_id: root_id,
            organization_path: &root_path,
            source: "redirect",
            severity: crate::system::events::Severity::Warning,
            entity_type: "sip_source",
            entity_id: source.ip().to_string(),
            event: "redirect.unidentified",
            message: format!("INVITE from {} refused: {why}", source.ip()),
            detail: None,
        };
        if let Err(e) = crate::system::events::record(&state.db, event).await {
            tracing::debug!(error = %e, "redirect: cannot record the unidentified-source event");
        }
    });
}
