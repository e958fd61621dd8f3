//! What happens to every message that arrives: responses go to their client transaction;
//! requests are checked, matched against server transactions (retransmissions get the stored
//! answer) and answered: OPTIONS with 200, methods we do not serve with 405, unknown ones with
//! 501, broken ones with 400. Nothing here panics or stops a listener; what cannot be answered is
//! counted and dropped.

use super::Endpoint;
use super::consts::TIMER_J_UNRELIABLE;
use super::message::{self, Scan};
use super::transaction::{ClientKey, Destination, Response, ServerKey};
use crate::types::sip_uri::Transport;
use rsipstack::sip::{self as rsip, Header};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::time::Instant;

/// Methods RFC 3261 and its extensions define; we answer them 405, anything else 501 (the
/// redirect listener too).
pub(crate) const KNOWN_METHODS: &[&str] = &[
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "OPTIONS",
    "REGISTER",
    "PRACK",
    "SUBSCRIBE",
    "NOTIFY",
    "PUBLISH",
    "INFO",
    "REFER",
    "MESSAGE",
    "UPDATE",
];
const ALLOW: &str = "OPTIONS";

/// A method name for a metric label: the known ones as they are, anything else "other".
fn method_label(method: &str) -> String {
    let upper = method.to_ascii_uppercase();
    if KNOWN_METHODS.contains(&upper.as_str()) {
        upper
    } else {
        "other".to_string()
    }
}

fn dropped(reason: &'static str) {
    metrics::counter!("sip_messages_dropped_total", "reason" => reason).increment(1);
}

fn parse_failed(transport: Transport) {
    metrics::counter!("sip_parse_failures_total", "transport" => transport.as_str()).increment(1);
}

pub async fn handle(endpoint: &Endpoint, bytes: &[u8], source: SocketAddr, transport: Transport) {
    let (normalized, scan) = match message::intake(bytes, endpoint.max_message_bytes()) {
        message::Intake::Message(normalized, scan) => (normalized, scan),
        message::Intake::TooLarge => return dropped("too_large"),
        message::Intake::KeepAlive => return,
        message::Intake::Unparseable => {
            parse_failed(transport);
            dropped("unparseable");
            tracing::debug!(%source, "unparseable SIP message dropped");
            return;
        }
    };
    let bytes = normalized.as_ref();
    if let Some(code) = message::status_code(&scan) {
        on_response(endpoint, bytes, scan, code, source, transport);
    } else if scan.request_method().is_some() {
        on_request(endpoint, bytes, scan, source, transport).await;
    } else {
        parse_failed(transport);
        dropped("bad_start_line");
    }
}

fn on_response(
    endpoint: &Endpoint,
    bytes: &[u8],
    scan: Scan,
    code: u16,
    source: SocketAddr,
    transport: Transport,
) {
    if rsip::Response::try_from(bytes).is_err() {
        parse_failed(transport);
        dropped("unparseable_response");
        return;
    }
    let (Some(branch), Some((_, method))) = (message::top_branch(&scan), message::cseq(&scan))
    else {
        dropped("response_without_branch");
        return;
    };
    let key = ClientKey { branch, method };
    let response = Response { code, scan, source };
    let label = method_label(&key.method);
    if endpoint
        .tables()
        .on_response(&key, response, Instant::now())
    {
        // Counted only once matched, and only with known method names: hostile responses must
        // not mint new metric series.
        metrics::counter!("sip_messages_in_total", "kind" => "response", "method" => label,
            "status" => code.to_string())
        .increment(1);
    } else {
        dropped("stray_response");
    }
}

/// The mandatory headers of RFC 3261 §8.1.1, checked so a broken request gets a 400 that says
/// which one.
pub(crate) fn check_request(
    scan: &Scan,
    method: &str,
    body_len: usize,
    transport: Transport,
) -> Result<(), String> {
    for (name, label) in [
        ("via", "Via"),
        ("from", "From"),
        ("to", "To"),
        ("call-id", "Call-ID"),
        ("cseq", "CSeq"),
    ] {
        if scan.get(name).is_none_or(|v| v.trim().is_empty()) {
            return Err(format!("Missing {label}"));
        }
    }
    for (name, label) in [("from", "From"), ("to", "To"), ("contact", "Contact")] {
        if scan.all(name).any(|v| !message::quotes_balanced(v)) {
            return Err(format!("Unterminated quote in {label}"));
        }
    }
    match message::cseq(scan) {
        Some((_, cseq_method)) if cseq_method.eq_ignore_ascii_case(method) => {}
        Some(_) => return Err("CSeq method does not match".into()),
        None => return Err("Malformed CSeq".into()),
    }
    if let Some(max) = scan.get("max-forwards")
        && max.trim().parse::<u8>().is_err()
    {
        return Err("Malformed Max-Forwards".into());
    }
    match scan.content_length() {
        Err(_) => return Err("Malformed Content-Length".into()),
        Ok(Some(length)) if transport == Transport::Udp && length > body_len => {
            return Err("Content-Length larger than the body".into());
        }
        _ => {}
    }
    Ok(())
}

async fn on_request(
    endpoint: &Endpoint,
    bytes: &[u8],
    scan: Scan,
    source: SocketAddr,
    transport: Transport,
) {
    let method = scan.request_method().unwrap_or_default().to_string();
    let upper = method.to_ascii_uppercase();
    let known = KNOWN_METHODS.contains(&upper.as_str());
    let method_label = if known {
        upper.clone()
    } else {
        "other".to_string()
    };
    metrics::counter!("sip_messages_in_total", "kind" => "request", "method" => method_label.clone())
        .increment(1);
    if scan.get("via").is_none() {
        dropped("request_without_via");
        return;
    }
    let addr = match transport {
        Transport::Udp => message::udp_reply_addr(&scan, source),
        // On TCP the answer goes back on the connection the request came on.
        Transport::Tcp => source,
    };
    let reply = Destination { addr, transport };
    let body_len = bytes.len().saturating_sub(scan.body_start);
    // A request we cannot fully parse still gets an answer, if it is answerable at all.
    let verdict = check_request(&scan, &method, body_len, transport).and_then(|()| {
        if !known {
            return Ok(());
        }
        rsip::Request::try_from(bytes).map(|_| ()).map_err(|e| {
            tracing::debug!(%source, error = %e, "request refused by the parser");
            "Malformed request".to_string()
        })
    });
    if upper == "ACK" {
        return; // ACKs are never answered (ours are all non-2xx, absorbed by their transaction).
    }
    let key = match (message::top_branch(&scan), message::top_sent_by(&scan)) {
        (Some(branch), Some(sent_by)) => Some(ServerKey {
            branch,
            sent_by,
            method: upper.clone(),
        }),
        _ => None,
    };
    if let Some(key) = &key
        && let Some(stored) = endpoint.tables().server_lookup(key)
    {
        metrics::counter!("sip_retransmissions_absorbed_total").increment(1);
        if let Some(bytes) = stored {
            let _ = endpoint.send(reply, bytes).await;
        }
        return;
    }
    let to_tag = message::new_token();
    let (code, extra): (u16, Vec<Header>) = match verdict {
        Err(reason) => {
            parse_failed(transport);
            (
                400,
                vec![Header::Warning(rsip::Warning::new(format!(
                    "399 dialtone \"{reason}\""
                )))],
            )
        }
        Ok(()) if upper == "OPTIONS" => (
            200,
            vec![
                Header::Allow(rsip::Allow::new(ALLOW)),
                Header::Accept(rsip::Accept::new("application/sdp")),
                Header::Supported(rsip::Supported::new("")),
                Header::Server(rsip::Server::new(endpoint.user_agent())),
            ],
        ),
        Ok(()) if upper == "CANCEL" => (481, Vec::new()),
        Ok(()) if known => (405, vec![Header::Allow(rsip::Allow::new(ALLOW))]),
        Ok(()) => (501, vec![Header::Allow(rsip::Allow::new(ALLOW))]),
    };
    let response = Arc::new(message::build_response(&scan, code, source, &to_tag, extra));
    metrics::counter!("sip_messages_out_total", "kind" => "response", "method" => method_label, "status" => code.to_string())
        .increment(1);
    if let Some(key) = key {
        let keep = (!transport.is_reliable()).then(|| Instant::now() + TIMER_J_UNRELIABLE);
        endpoint
            .tables()
            .server_answered(key, response.clone(), keep);
    }
    if let Err(e) = endpoint.send(reply, response).await {
        tracing::debug!(error = %e, %source, "cannot send response");
    }
}
