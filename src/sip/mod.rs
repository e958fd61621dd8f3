//! dialtone's SIP endpoint: UDP and TCP transports, RFC 3261 transactions (non-INVITE client,
//! server retransmission absorption), RFC 3263 resolution, and answers to requests sent to us.
//! Messages are parsed and built with rsipstack's rsip-style `sip` types.

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
use tokio::net::UdpSocket;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use transaction::{ClientKey, Tables, TimerCommand};

/// A cheap-to-clone handle to the running SIP stack.
#[derive(Clone)]
pub struct Endpoint {
    inner: Arc<Inner>,
}

struct Inner {
    udp: Vec<Arc<UdpSocket>>,
    tcp_addrs: Vec<SocketAddr>,
    tcp: transport::tcp::Connections,
    tables: Tables,
    max_message_bytes: usize,
    user_agent: String,
    shutdown: CancellationToken,
    local_ips: Mutex<HashMap<IpAddr, IpAddr>>,
}

impl Endpoint {
    /// Binds every listen address on UDP and TCP (an ephemeral port 0 gets the same port on both)
    /// and starts the receive loops and the timer task.
    pub async fn bind(config: &SipConfig, shutdown: CancellationToken) -> Result<Self, SipError> {
        let mut udp = Vec::new();
        let mut listeners = Vec::new();
        for addr in &config.listen {
            let (socket, listener) = bind_pair(*addr)?;
            udp.push(Arc::new(socket));
            listeners.push(listener);
        }
        let (timer_sender, timer_receiver) = tokio::sync::mpsc::unbounded_channel();
        let tcp_addrs = listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect();
        let endpoint = Self {
            inner: Arc::new(Inner {
                udp: udp.clone(),
                tcp_addrs,
                tcp: Default::default(),
                tables: Tables::new(timer_sender),
                max_message_bytes: config.max_message_bytes,
                user_agent: config.user_agent.clone(),
                shutdown: shutdown.clone(),
                local_ips: Mutex::default(),
            }),
        };
        for socket in udp {
            tokio::spawn(transport::udp::receive_loop(
                endpoint.clone(),
                socket,
                shutdown.clone(),
            ));
        }
        for listener in listeners {
            tokio::spawn(transport::tcp::accept_loop(
                endpoint.clone(),
                listener,
                shutdown.clone(),
            ));
        }
        tokio::spawn(timer_loop(endpoint.clone(), timer_receiver, shutdown));
        Ok(endpoint)
    }

    /// The bound UDP addresses (the TCP listeners use the same ports).
    pub fn udp_addrs(&self) -> Vec<SocketAddr> {
        self.inner
            .udp
            .iter()
            .filter_map(|s| s.local_addr().ok())
            .collect()
    }

    pub fn tcp_addrs(&self) -> Vec<SocketAddr> {
        self.inner.tcp_addrs.clone()
    }

    pub fn user_agent(&self) -> &str {
        &self.inner.user_agent
    }

    pub(crate) fn tcp_connections(&self) -> &transport::tcp::Connections {
        &self.inner.tcp
    }

    pub(crate) fn shutdown_token(&self) -> CancellationToken {
        self.inner.shutdown.clone()
    }

    pub(crate) fn max_message_bytes(&self) -> usize {
        self.inner.max_message_bytes
    }

    pub(crate) fn tables(&self) -> &Tables {
        &self.inner.tables
    }

    /// Client transactions in flight (for metrics and tests).
    pub fn transactions_in_flight(&self) -> usize {
        self.inner.tables.client_count()
    }

    fn udp_socket_for(&self, dest: SocketAddr) -> Option<&Arc<UdpSocket>> {
        self.inner.udp.iter().find(|s| {
            s.local_addr()
                .map(|l| l.is_ipv4() == dest.is_ipv4())
                .unwrap_or(false)
        })
    }

    /// The address to put in our Via/From for a request to `dest`: the bound address, or, when
    /// bound to a wildcard, the local address the kernel would route from.
    fn local_addr_for(&self, dest: Destination) -> Result<SocketAddr, SipError> {
        let bound = match dest.transport {
            Transport::Udp => self
                .udp_socket_for(dest.addr)
                .and_then(|s| s.local_addr().ok()),
            Transport::Tcp => self
                .inner
                .tcp_addrs
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
            Transport::Udp => {
                let socket = self.udp_socket_for(dest.addr).ok_or_else(|| {
                    SipError::Io(std::io::Error::new(
                        std::io::ErrorKind::AddrNotAvailable,
                        "no UDP socket for that address family",
                    ))
                })?;
                socket.send_to(&bytes, dest.addr).await?;
                Ok(())
            }
            Transport::Tcp => transport::tcp::send(self, dest.addr, bytes).await,
        }
    }

    /// Everything received, from either transport.
    pub(crate) async fn on_bytes(
        &self,
        bytes: &[u8],
        source: SocketAddr,
        transport: Transport,
        _local: Option<SocketAddr>,
    ) {
        inbound::handle(self, bytes, source, transport).await;
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

/// Binds UDP and TCP on the same address; with port 0, retries until both get the same port.
fn bind_pair(addr: SocketAddr) -> Result<(UdpSocket, tokio::net::TcpListener), SipError> {
    let mut last_error = None;
    for _ in 0..20 {
        let udp = transport::udp::bind(addr)?;
        let port = udp.local_addr()?.port();
        match transport::tcp::bind(SocketAddr::new(addr.ip(), port)) {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if addr.port() == 0 => last_error = Some(e),
            Err(e) => return Err(e.into()),
        }
    }
    Err(last_error.map(SipError::Io).unwrap_or(SipError::Closed))
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
