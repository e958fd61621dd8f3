//! The SIP redirect listener: a PBX or SBC sends an INVITE to dialtone's own redirect port
//! (`[redirect] listen`, default 5070, UDP and TCP); dialtone identifies the organization
//! ([`identify`]), evaluates its dial plan in memory and answers at once: `302 Moved
//! Temporarily` with one Contact per route in order ([`response::q_value`] gives the q-values),
//! or the refusal (403/404/480/503 …) with an RFC 3326 Reason header. The INVITE server
//! transaction ([`crate::sip::transaction::invite_server`]) retransmits the final response over UDP until the ACK, answers
//! retransmitted INVITEs from memory (never evaluating twice), and handles CANCEL (200, 481 when
//! nothing matches). OPTIONS gets 200 (SBC keep-alives), other methods 405, garbage is dropped
//! or answered 400.
//!
//! It runs on the SIP stack (its transport's receive loops, its message code, its INVITE server
//! transaction) but binds its own socket set with its own transaction table, so redirect traffic
//! never queues behind pings and NOTIFYs. What is the redirect's own: identifying the caller
//! ([`identify`]), reading the request ([`request`]), deciding ([`decide`]) and the answer's
//! headers ([`response`]).

mod decide;
mod handle;
pub mod identify;
pub mod request;
pub mod response;
pub mod tasks;

use crate::sip::SipError;
use crate::sip::transaction::Destination;
use crate::sip::transaction::invite_server::{Effect, ServerTable, ServerTimer, Slot};
use crate::sip::transport::{self, RequestHandler, Sockets};
use crate::state::AppState;
use crate::types::sip_uri::Transport;
use identify::SourceTable;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A cheap-to-clone handle to the running redirect listener.
#[derive(Clone)]
pub struct Listener {
    inner: Arc<Inner>,
}

struct Inner {
    state: AppState,
    sockets: Sockets,
    table: ServerTable,
    sources: RwLock<Arc<SourceTable>>,
    /// Dial plan evaluations made (a retransmitted INVITE must not add one).
    evaluations: AtomicU64,
    timers: mpsc::UnboundedSender<(Slot, ServerTimer, Instant)>,
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
        let (sockets, pending) =
            Sockets::bind(&config.listen, state.config.sip.max_message_bytes, shutdown)?;
        let (timers, timer_receiver) = mpsc::unbounded_channel();
        let listener = Self {
            inner: Arc::new(Inner {
                state,
                sockets,
                table: ServerTable::default(),
                sources: RwLock::default(),
                evaluations: AtomicU64::new(0),
                timers,
                last_unknown_source_event: Mutex::new(None),
                org_header: config.org_header.to_ascii_lowercase(),
            }),
        };
        if let Err(e) = listener.reload_sources().await {
            tracing::warn!(error = %e, "redirect listener: cannot load org and trunk IPs yet");
        }
        // The socket loops belong to the listener (they stop with its token); its timers and
        // the source reload are supervised jobs, restarted should one panic.
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, 4);
        Sockets::start(&listener, pending, workers);
        let jobs = &listener.inner.state.jobs;
        let timer_receiver = Arc::new(tokio::sync::Mutex::new(timer_receiver));
        jobs.spawn_loop("redirect.timers", {
            let listener = listener.clone();
            move |stop| tasks::timer_loop(listener.clone(), timer_receiver.clone(), stop)
        });
        jobs.spawn_loop("redirect.sources", {
            let (listener, every) = (listener.clone(), Duration::from_secs(config.refresh_s));
            move |stop| tasks::reload_loop(listener.clone(), every, stop)
        });
        Ok(listener)
    }

    /// The bound UDP addresses (the TCP listeners use the same ports).
    pub fn udp_addrs(&self) -> Vec<SocketAddr> {
        self.inner.sockets.udp_addrs()
    }

    pub fn tcp_addrs(&self) -> Vec<SocketAddr> {
        self.inner.sockets.tcp_addrs().to_vec()
    }

    /// How many dial plan evaluations the listener has made.
    pub fn evaluations(&self) -> u64 {
        self.inner.evaluations.load(Ordering::Relaxed)
    }

    /// INVITE transactions currently remembered.
    pub fn transactions(&self) -> usize {
        self.inner.table.invite_count()
    }

    /// Reloads the org IP / trunk IP table now (it also reloads on every change to them).
    pub async fn reload_sources(&self) -> crate::error::Result<()> {
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
                if let Err(e) = self.inner.sockets.send_udp(destination.addr, &bytes).await {
                    tracing::debug!(error = %e, to = %destination.addr, "redirect: udp send failed");
                }
            }
            Transport::Tcp => {
                let connections = self.inner.sockets.connections();
                if transport::tcp::reply(connections, destination.addr, bytes)
                    .await
                    .is_err()
                {
                    metrics::counter!("redirect_dropped_total", "reason" => "tcp_closed")
                        .increment(1);
                }
            }
        }
    }
}

impl RequestHandler for Listener {
    fn sockets(&self) -> &Sockets {
        &self.inner.sockets
    }

    async fn handle(&self, bytes: &[u8], source: SocketAddr, transport: Transport) {
        handle::handle(self, bytes, source, transport).await;
    }

    fn unframeable(&self, reason: &'static str) {
        metrics::counter!("redirect_dropped_total", "reason" => reason).increment(1);
    }

    fn connection_refused(&self) {
        metrics::counter!("redirect_dropped_total", "reason" => "too_many_connections")
            .increment(1);
    }
}
