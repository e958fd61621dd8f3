//! One OPTIONS probe of one gateway.

use crate::gateways::health::Outcome;
use crate::sip::resolver::Resolver;
use crate::sip::{Destination, Endpoint, SipError};
use crate::types::SipUri;
use rsipstack::sip::Method;
use std::time::Duration;
use tokio::time::Instant;

/// One OPTIONS probe: resolve, send, wait (bounded by `timeout`), and judge nothing yet: the
/// health machine decides what the reply means.
pub async fn probe(
    endpoint: &Endpoint,
    resolver: &Resolver,
    uri: &SipUri,
    timeout: Duration,
) -> Outcome {
    let targets = match resolver.resolve(uri, Instant::now()).await {
        Ok(targets) if !targets.is_empty() => targets,
        Ok(_) => return Outcome::TransportError(format!("{uri} resolves to no address")),
        Err(e) => return Outcome::TransportError(format!("cannot resolve {uri}: {e}")),
    };
    let first = &targets[0];
    let destination = Destination {
        addr: first.addr,
        transport: first.transport,
    };
    let request_uri = uri.to_string();
    let started = Instant::now();
    match tokio::time::timeout(
        timeout,
        endpoint.request(destination, Method::Options, &request_uri, Vec::new()),
    )
    .await
    {
        Ok(Ok(response)) => Outcome::Reply {
            code: response.code,
            rtt: started.elapsed(),
        },
        Ok(Err(SipError::TimedOut)) | Err(_) => Outcome::Timeout,
        Ok(Err(e)) => Outcome::TransportError(e.to_string()),
    }
}
