//! Transaction tables: client non-INVITE transactions waiting for responses and server
//! transactions remembering their answer (the INVITE server transaction, for services that
//! answer INVITEs, is [`invite_server`]). One timer task (a `DelayQueue`) drives every timer of
//! every transaction; there is no task per transaction.
//!
//! Why not rsipstack's transaction layer (0.7.14, evaluated for the pinger's 10,000 gateways):
//! its `Transaction` must be driven by its owner awaiting `receive()` in a loop, which means a
//! task (or a hand-polled future) per transaction; its `Endpoint` owns the UDP/TCP sockets, so our
//! listeners, size limits, metrics and garbage handling would sit behind it; and its timers run
//! on its own wheel, not on a state machine we can step with explicit instants. Ours keeps the
//! RFC 3261 §17.1.2 machine pure (`client.rs`, tested to the millisecond), the tables bounded by
//! what is in flight, and every timer on one `DelayQueue`. We still parse and build every message
//! with rsipstack's `sip` types.

pub mod client;
pub mod invite_server;

use super::SipError;
use super::message::Scan;
use crate::types::sip_uri::Transport;
use client::{Action, ClientTransaction, Timer};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// Most server transactions remembered at once (each holds one small response for Timer J).
pub const MAX_SERVER_TRANSACTIONS: usize = 50_000;

/// Where a message goes: an address and a transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Destination {
    pub addr: SocketAddr,
    pub transport: Transport,
}

/// A final response handed to the transaction user.
#[derive(Debug, Clone)]
pub struct Response {
    pub code: u16,
    pub scan: Scan,
    pub source: SocketAddr,
}

/// RFC 3261 §17.1.3: a response matches a client transaction by top-Via branch and CSeq method.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey {
    pub branch: String,
    pub method: String,
}

/// RFC 3261 §17.2.3: a request matches a server transaction by branch, sent-by and method.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerKey {
    pub branch: String,
    pub sent_by: String,
    pub method: String,
}

struct ClientEntry {
    machine: ClientTransaction,
    request: std::sync::Arc<Vec<u8>>,
    destination: Destination,
    waiter: Option<oneshot::Sender<Result<Response, SipError>>>,
}

/// A timer to arm in the timer task.
#[derive(Debug)]
pub enum TimerCommand {
    Client(ClientKey, Timer, Instant),
    ServerExpiry(ServerKey, Instant),
    /// Disarm the transaction's pending timers: Timer E and F once it completed (Timer K stays),
    /// or all of them once it is gone. Saves a wake-up per timer and keeps the wheel small.
    CancelClient {
        key: ClientKey,
        keep_k: bool,
    },
}

/// What the driver must do after a table operation (send bytes, outside any lock).
pub struct Send {
    pub bytes: std::sync::Arc<Vec<u8>>,
    pub destination: Destination,
}

/// Both transaction tables and the channel to the timer task.
pub struct Tables {
    clients: Mutex<HashMap<ClientKey, ClientEntry>>,
    servers: Mutex<HashMap<ServerKey, Option<std::sync::Arc<Vec<u8>>>>>,
    timers: mpsc::UnboundedSender<TimerCommand>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Tables {
    pub fn new(timers: mpsc::UnboundedSender<TimerCommand>) -> Self {
        Self {
            clients: Mutex::default(),
            servers: Mutex::default(),
            timers,
        }
    }

    pub fn client_count(&self) -> usize {
        lock(&self.clients).len()
    }

    pub fn server_count(&self) -> usize {
        lock(&self.servers).len()
    }

    fn apply(
        &self,
        key: &ClientKey,
        entry: &mut ClientEntry,
        actions: Vec<Action>,
        out: &mut Vec<Send>,
        remove: &mut bool,
        response: Option<&Response>,
    ) {
        for action in actions {
            match action {
                Action::Retransmit => {
                    metrics::counter!("sip_retransmissions_total").increment(1);
                    out.push(Send {
                        bytes: entry.request.clone(),
                        destination: entry.destination,
                    });
                }
                Action::Schedule(timer, at) => {
                    let _ = self
                        .timers
                        .send(TimerCommand::Client(key.clone(), timer, at));
                }
                Action::Deliver(_) => {
                    if let (Some(waiter), Some(response)) = (entry.waiter.take(), response) {
                        let _ = waiter.send(Ok(response.clone()));
                    }
                    self.cancel_timers(key, true);
                }
                Action::TimedOut => {
                    metrics::counter!("sip_transactions_timed_out_total").increment(1);
                    if let Some(waiter) = entry.waiter.take() {
                        let _ = waiter.send(Err(SipError::TimedOut));
                    }
                }
                Action::Terminate => {
                    *remove = true;
                    self.cancel_timers(key, false);
                }
            }
        }
    }

    /// Registers a new client transaction whose request is being sent now.
    pub fn start_client(
        &self,
        key: ClientKey,
        request: std::sync::Arc<Vec<u8>>,
        destination: Destination,
        now: Instant,
    ) -> oneshot::Receiver<Result<Response, SipError>> {
        let (sender, receiver) = oneshot::channel();
        let (machine, actions) = ClientTransaction::start(destination.transport.is_reliable(), now);
        let mut entry = ClientEntry {
            machine,
            request,
            destination,
            waiter: Some(sender),
        };
        let (mut out, mut remove) = (Vec::new(), false);
        self.apply(&key, &mut entry, actions, &mut out, &mut remove, None);
        lock(&self.clients).insert(key, entry);
        receiver
    }

    /// Fails a client transaction at once (the request could not be sent).
    fn cancel_timers(&self, key: &ClientKey, keep_k: bool) {
        let _ = self.timers.send(TimerCommand::CancelClient {
            key: key.clone(),
            keep_k,
        });
    }

    pub fn fail_client(&self, key: &ClientKey, error: SipError) {
        self.cancel_timers(key, false);
        if let Some(mut entry) = lock(&self.clients).remove(key)
            && let Some(waiter) = entry.waiter.take()
        {
            let _ = waiter.send(Err(error));
        }
    }

    /// Forgets a client transaction whose user stopped waiting.
    pub fn abandon_client(&self, key: &ClientKey) {
        if lock(&self.clients).remove(key).is_some() {
            self.cancel_timers(key, false);
        }
    }

    /// A response arrived; false when it matched no transaction (a stray).
    pub fn on_response(&self, key: &ClientKey, response: Response, now: Instant) -> bool {
        let mut clients = lock(&self.clients);
        let Some(entry) = clients.get_mut(key) else {
            return false;
        };
        let actions = entry.machine.on_response(response.code, now);
        let (mut out, mut remove) = (Vec::new(), false);
        self.apply(key, entry, actions, &mut out, &mut remove, Some(&response));
        if remove {
            clients.remove(key);
        }
        true
    }

    /// A client timer fired; returns what to retransmit.
    pub fn on_client_timer(&self, key: &ClientKey, timer: Timer, now: Instant) -> Vec<Send> {
        let mut clients = lock(&self.clients);
        let Some(entry) = clients.get_mut(key) else {
            return Vec::new();
        };
        let actions = entry.machine.on_timer(timer, now);
        let (mut out, mut remove) = (Vec::new(), false);
        self.apply(key, entry, actions, &mut out, &mut remove, None);
        if remove {
            clients.remove(key);
        }
        out
    }

    /// A request arrived. `Some(stored)` means it is a retransmission: answer with the stored
    /// response (if any yet) and do nothing else. `None` means new: the caller handles it and
    /// records the answer with [`Tables::server_answered`].
    pub fn server_lookup(&self, key: &ServerKey) -> Option<Option<std::sync::Arc<Vec<u8>>>> {
        lock(&self.servers).get(key).cloned()
    }

    /// Remembers the answer of a new server transaction until Timer J (or not at all on TCP).
    /// The table is capped: past [`MAX_SERVER_TRANSACTIONS`] answers are not remembered (a
    /// retransmission is then answered afresh), so a flood of unique requests cannot grow it.
    pub fn server_answered(
        &self,
        key: ServerKey,
        response: std::sync::Arc<Vec<u8>>,
        keep_until: Option<Instant>,
    ) {
        let Some(at) = keep_until else { return };
        let mut servers = lock(&self.servers);
        if servers.len() >= MAX_SERVER_TRANSACTIONS {
            metrics::counter!("sip_server_transactions_not_kept_total").increment(1);
            return;
        }
        servers.insert(key.clone(), Some(response));
        drop(servers);
        let _ = self.timers.send(TimerCommand::ServerExpiry(key, at));
    }

    pub fn server_expired(&self, key: &ServerKey) {
        lock(&self.servers).remove(key);
    }
}
