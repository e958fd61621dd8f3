//! The SIP redirect listener: a PBX or SBC sends an INVITE to dialtone's own redirect port
//! (`[redirect] listen`, default 5070, UDP and TCP); dialtone identifies the organization
//! ([`identify`]), evaluates its dial plan in memory and answers at once: `302 Moved
//! Temporarily` with one Contact per route in order ([`response::q_value`] gives the q-values),
//! or the refusal (403/404/480/503 …) with an RFC 3326 Reason header. The INVITE server
//! transaction ([`transaction`]) retransmits the final response over UDP until the ACK, answers
//! retransmitted INVITEs from memory (never evaluating twice), and handles CANCEL (200, 481 when
//! nothing matches). OPTIONS gets 200 (SBC keep-alives), other methods 405, garbage is dropped
//! or answered 400.
//!
//! It reuses the SIP stack's sockets and message code but is its own socket set with its own
//! transaction table, so redirect traffic never queues behind pings and NOTIFYs.

mod decide;
mod handle;
pub mod identify;
mod listener;
pub mod request;
pub mod response;
pub mod transaction;

use crate::sip::SipError;
use crate::sip::transaction::Destination;
use crate::state::AppState;
use crate::types::sip_uri::Transport;
use identify::SourceTable;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use transaction::{Effect, Slot, Table, Timer};

/// A cheap-to-clone handle to the running redirect listener.
#[derive(Clone)]
pub struct Listener {
    inner: Arc<Inner>,
}

struct Inner {
    state: AppState,
    udp: Vec<Arc<UdpSocket>>,
    tcp_addrs: Vec<SocketAddr>,
    /// Open TCP connections by peer: responses go back on the connection a request came on.
    connections: Mutex<HashMap<SocketAddr, mpsc::Sender<Arc<Vec<u8>>>>>,
    table: Table,
    sources: RwLock<Arc<SourceTable>>,
    /// Dial plan evaluations made (a retransmitted INVITE must not add one).
    evaluations: AtomicU64,
    timers: mpsc::UnboundedSender<(Slot, Timer, Instant)>,
    /// When the last "unknown source" event was written (they are rate-limited).
    last_unknown_source_event: Mutex<Option<Instant>>,
    /// The configured header name, lower-cased as the scanner stores names.
    org_header: String,
}

impl Listener {
    /// Binds every `[redirect] listen` address on UDP and TCP, loads the source table, and
    /// starts the receive loops, the timer task and the periodic source reload.
    pub async fn start(state: AppState, shutdown: CancellationToken) -> Result<Self, SipError> {
        let config = state.config.redirect.clone();
        let mut udp = Vec::new();
        let mut listeners = Vec::new();
        for addr in &config.listen {
            let (socket, listener) = listener::bind_pair(*addr)?;
            udp.push(Arc::new(socket));
            listeners.push(listener);
        }
        let tcp_addrs = listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect();
        let (timers, timer_receiver) = mpsc::unbounded_channel();
        let listener = Self {
            inner: Arc::new(Inner {
                state,
                udp: udp.clone(),
                tcp_addrs,
                connections: Mutex::default(),
                table: Table::default(),
                sources: RwLock::default(),
                evaluations: AtomicU64::new(0),
                timers,
                last_unknown_source_event: Mutex::new(None),
                org_header: config.org_header.to_ascii_lowercase(),
            }),
        };
        if let Err(e) = listener.refresh().await {
            tracing::warn!(error = %e, "redirect listener: cannot load org and trunk IPs yet");
        }
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, 4);
        for socket in udp {
            for _ in 0..workers {
                tokio::spawn(listener::receive_loop(
                    listener.clone(),
                    socket.clone(),
                    shutdown.clone(),
                ));
            }
        }
        for tcp in listeners {
            tokio::spawn(listener::accept_loop(
                listener.clone(),
                tcp,
                shutdown.clone(),
            ));
        }
        tokio::spawn(listener::timer_loop(
            listener.clone(),
            timer_receiver,
            shutdown.clone(),
        ));
        tokio::spawn(reload_loop(
            listener.clone(),
            Duration::from_secs(config.refresh_s),
            shutdown,
        ));
        Ok(listener)
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

    /// How many dial plan evaluations the listener has made.
    pub fn evaluations(&self) -> u64 {
        self.inner.evaluations.load(Ordering::Relaxed)
    }

    /// INVITE transactions currently remembered.
    pub fn transactions(&self) -> usize {
        self.inner.table.invite_count()
    }

    /// Reloads the org IP / trunk IP table now (it also reloads every `refresh_s`).
    pub async fn refresh(&self) -> crate::error::Result<()> {
        let db = &self.inner.state.db;
        let organizations = crate::orgs::all_paths(db).await?;
        let org_ips = crate::orgs::ips::all_networks(db).await?;
        let trunk_ips = crate::gateways::all_trunk_ips(db).await?;
        let (table, bad) = SourceTable::build(organizations, &org_ips, &trunk_ips);
        if bad > 0 {
            tracing::warn!(
                count = bad,
                "stored org/trunk IPs that do not parse are ignored"
            );
        }
        metrics::gauge!("redirect_source_networks").set(table.len() as f64);
        *self
            .inner
            .sources
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Arc::new(table);
        Ok(())
    }

    fn sources(&self) -> Arc<SourceTable> {
        self.inner
            .sources
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Carries out a transaction table's effects: sends, and timers for the timer task.
    async fn apply(&self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Send(bytes, destination) => self.send(destination, bytes).await,
                Effect::Arm(slot, timer, at) => {
                    let _ = self.inner.timers.send((slot, timer, at));
                }
            }
        }
    }

    /// Puts a response on the wire: UDP from the listener's socket of the right family, TCP on
    /// the connection the request came on (a closed connection loses it: the peer's own
    /// transaction times out, as RFC 3261 §18.2.2 allows when a new connection is not opened).
    async fn send(&self, destination: Destination, bytes: Arc<Vec<u8>>) {
        match destination.transport {
            Transport::Udp => {
                let socket = self.inner.udp.iter().find(|s| {
                    s.local_addr()
                        .is_ok_and(|l| l.is_ipv4() == destination.addr.is_ipv4())
                });
                if let Some(socket) = socket
                    && let Err(e) = socket.send_to(&bytes, destination.addr).await
                {
                    tracing::debug!(error = %e, to = %destination.addr, "redirect: udp send failed");
                }
            }
            Transport::Tcp => {
                let sender = self
                    .inner
                    .connections
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&destination.addr)
                    .cloned();
                match sender {
                    Some(sender) => {
                        let _ = sender.send(bytes).await;
                    }
                    None => {
                        metrics::counter!("redirect_dropped_total", "reason" => "tcp_closed")
                            .increment(1);
                    }
                }
            }
        }
    }
}

/// Reloads the source table every `every`, until shutdown.
async fn reload_loop(listener: Listener, every: Duration, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {
                if let Err(e) = listener.refresh().await {
                    tracing::warn!(error = %e, "redirect listener: reloading org and trunk IPs failed");
                }
            }
        }
    }
}
