//! dialtone's SIP stack and its endpoint: UDP and TCP transports (a socket set with receive
//! loops generic over a request handler, so each SIP service binds its own), RFC 3261
//! transactions (non-INVITE client, server retransmission absorption, the INVITE server
//! transaction the redirect listener answers through), RFC 3263 resolution, and the endpoint's
//! answers to requests sent to us. Messages are parsed and built with rsipstack's rsip-style
//! `sip` types.

pub mod consts;
mod error;
pub(crate) mod inbound;
pub mod message;
pub mod resolver;
pub mod transaction;
pub mod transport;

pub use error::SipError;
pub use transaction::{Destination, Response};

use crate::config::SipConfig;
use crate::types::sip_uri::Transport;
use rsipstack::sip::{Header, Method};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use transaction::{ClientKey, Tables, TimerCommand};

/// A cheap-to-clone handle to the running SIP stack.
#[derive(Clone)]
pub struct Endpoint {
    inner: Arc<Inner>,
}

struct Inner {
    sockets: transport::Sockets,
    tables: Tables,
    user_agent: String,
    local_ips: Mutex<HashMap<IpAddr, IpAddr>>,
}

impl Endpoint {
    /// Binds every listen address on UDP and TCP (an ephemeral port 0 gets the same port on both)
    /// and starts the receive loops and the timer task.
    pub async fn bind(config: &SipConfig, shutdown: CancellationToken) -> Result<Self, SipError> {
        let (sockets, pending) =
            transport::Sockets::bind(&config.listen, config.max_message_bytes, shutdown.clone())?;
        let (timer_sender, timer_receiver) = tokio::sync::mpsc::unbounded_channel();
        let endpoint = Self {
            inner: Arc::new(Inner {
                sockets,
                tables: Tables::new(timer_sender),
                user_agent: config.user_agent.clone(),
                local_ips: Mutex::default(),
            }),
        };
        transport::Sockets::start(&endpoint, pending, 1);
        tokio::spawn(timer_loop(endpoint.clone(), timer_receiver, shutdown));
        Ok(endpoint)
    }

    /// The bound UDP addresses (the TCP listeners use the same ports).
    pub fn udp_addrs(&self) -> Vec<SocketAddr> {
        self.inner.sockets.udp_addrs()
    }

    pub fn tcp_addrs(&self) -> Vec<SocketAddr> {
        self.inner.sockets.tcp_addrs().to_vec()
    }

    pub fn user_agent(&self) -> &str {
        &self.inner.user_agent
    }

    pub(crate) fn max_message_bytes(&self) -> usize {
        self.inner.sockets.max_message_bytes()
    }

    pub(crate) fn tables(&self) -> &Tables {
        &self.inner.tables
    }

    /// Client transactions in flight (for metrics and tests).
    pub fn transactions_in_flight(&self) -> usize {
        self.inner.tables.client_count()
    }

    /// The address to put in our Via/From for a request to `dest`: the bound address, or, when
    /// bound to a wildcard, the local address the kernel would route from.
    fn local_addr_for(&self, dest: Destination) -> Result<SocketAddr, SipError> {
        let bound = match dest.transport {
            Transport::Udp => self
                .inner
                .sockets
                .udp_socket_for(dest.addr)
                .and_then(|s| s.local_addr().ok()),
            Transport::Tcp => self
                .inner
                .sockets
                .tcp_addrs()
                .iter()
                .find(|a| a.is_ipv4() == dest.addr.is_ipv4())
                .copied(),
        }
        .ok_or_else(|| {
            SipError::Io(std::io::Error::new(
                std::io::ErrorKind::AddrNotAvailable,
                format!(
                    "no {} listener for the address family of {}",
                    dest.transport.as_str(),
                    dest.addr
                ),
            ))
        })?;
        if !bound.ip().is_unspecified() {
            return Ok(bound);
        }
        let mut cache = self
            .inner
            .local_ips
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let ip = match cache.get(&dest.addr.ip()) {
            Some(ip) => *ip,
            None => {
                let probe = std::net::UdpSocket::bind(SocketAddr::new(bound.ip(), 0))?;
                probe.connect(dest.addr)?;
                let ip = probe.local_addr()?.ip();
                if cache.len() > 10_000 {
                    cache.clear();
                }
                cache.insert(dest.addr.ip(), ip);
                ip
            }
        };
        Ok(SocketAddr::new(ip, bound.port()))
    }

    /// Sends an out-of-dialog non-INVITE request and waits for its final response (or Timer F).
    /// Dropping the future abandons the transaction.
    pub async fn request(
        &self,
        dest: Destination,
        method: Method,
        request_uri: &str,
        extra: Vec<Header>,
    ) -> Result<Response, SipError> {
        let local = self.local_addr_for(dest)?;
        let branch = message::new_branch();
        let call_id = format!("{}@dialtone", message::new_token());
        let bytes = message::build_request(&message::OutgoingRequest {
            method,
            request_uri,
            transport: dest.transport.as_str(),
            local,
            branch: &branch,
            call_id: &call_id,
            from_tag: &message::new_token(),
            cseq: 1,
            user_agent: &self.inner.user_agent,
            extra,
        })
        .map_err(|e| SipError::Parse(e.to_string()))?;
        let bytes = Arc::new(bytes);
        let key = ClientKey {
            branch,
            method: method.to_string(),
        };
        let receiver =
            self.inner
                .tables
                .start_client(key.clone(), bytes.clone(), dest, Instant::now());
        let guard = Abandon {
            endpoint: self,
            key: Some(key.clone()),
        };
        if let Err(e) = self.send(dest, bytes).await {
            self.inner.tables.fail_client(&key, e);
        }
        metrics::counter!("sip_messages_out_total", "kind" => "request", "method" => method.to_string()).increment(1);
        let result = receiver.await.unwrap_or(Err(SipError::Closed));
        drop(guard.disarm());
        result
    }

    /// Puts bytes on the wire.
    pub(crate) async fn send(
        &self,
        dest: Destination,
        bytes: Arc<Vec<u8>>,
    ) -> Result<(), SipError> {
        match dest.transport {
            Transport::Udp => self.inner.sockets.send_udp(dest.addr, &bytes).await,
            Transport::Tcp => transport::tcp::send(self, dest.addr, bytes).await,
        }
    }
}

impl transport::RequestHandler for Endpoint {
    fn sockets(&self) -> &transport::Sockets {
        &self.inner.sockets
    }

    /// Everything received, from either transport.
    async fn handle(&self, bytes: &[u8], source: SocketAddr, transport: Transport) {
        inbound::handle(self, bytes, source, transport).await;
    }

    fn unframeable(&self, reason: &'static str) {
        metrics::counter!("sip_messages_dropped_total", "reason" => reason).increment(1);
    }

    fn connection_refused(&self) {
        metrics::counter!("sip_tcp_connections_refused_total").increment(1);
    }
}

/// Removes the transaction if the caller stops waiting before it finishes.
struct Abandon<'a> {
    endpoint: &'a Endpoint,
    key: Option<ClientKey>,
}

impl Abandon<'_> {
    fn disarm(mut self) -> Self {
        self.key = None;
        self
    }
}

impl Drop for Abandon<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.endpoint.inner.tables.abandon_client(&key);
        }
    }
}

/// The one task that fires every transaction timer.
async fn timer_loop(
    endpoint: Endpoint,
    mut commands: tokio::sync::mpsc::UnboundedReceiver<TimerCommand>,
    shutdown: CancellationToken,
) {
    use futures_util::StreamExt;
    use tokio_util::time::delay_queue;
    let mut queue: tokio_util::time::DelayQueue<TimerCommand> = tokio_util::time::DelayQueue::new();
    // The armed timers of each client transaction, so completion can disarm them.
    let mut armed: HashMap<ClientKey, Vec<(transaction::client::Timer, delay_queue::Key)>> =
        HashMap::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            command = commands.recv() => {
                let Some(command) = command else { return };
                match command {
                    TimerCommand::Client(key, timer, at) => {
                        let slot = queue.insert_at(TimerCommand::Client(key.clone(), timer, at), at);
                        armed.entry(key).or_default().push((timer, slot));
                    }
                    TimerCommand::ServerExpiry(_, at) => {
                        queue.insert_at(command, at);
                    }
                    TimerCommand::CancelClient { key, keep_k } => {
                        if let Some(timers) = armed.get_mut(&key) {
                            timers.retain(|(timer, slot)| {
                                let keep = keep_k && *timer == transaction::client::Timer::K;
                                if !keep {
                                    queue.remove(slot);
                                }
                                keep
                            });
                            if timers.is_empty() {
                                armed.remove(&key);
                            }
                        }
                    }
                }
            }
            Some(expired) = queue.next(), if !queue.is_empty() => {
                let now = Instant::now();
                let slot = expired.key();
                match expired.into_inner() {
                    TimerCommand::Client(key, timer, _) => {
                        if let Some(timers) = armed.get_mut(&key) {
                            timers.retain(|(_, s)| *s != slot);
                            if timers.is_empty() {
                                armed.remove(&key);
                            }
                        }
                        for send in endpoint.tables().on_client_timer(&key, timer, now) {
                            if let Err(e) = endpoint.send(send.destination, send.bytes).await {
                                tracing::debug!(error = %e, "retransmission failed");
                            }
                        }
                    }
                    TimerCommand::ServerExpiry(key, _) => endpoint.tables().server_expired(&key),
                    TimerCommand::CancelClient { .. } => {}
                }
            }
        }
    }
}
