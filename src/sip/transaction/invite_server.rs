//! The INVITE server transaction of a service that answers INVITEs itself (the redirect
//! listener), and the answers it keeps for non-INVITE requests. INVITE (RFC 3261 §17.2.1):
//! Proceeding while the answer is worked out, Completed once the final 3xx–6xx is sent (retransmitted on UDP with
//! Timer G, T1 doubling up to T2, until the ACK or Timer H, 64·T1), Confirmed after the ACK
//! (absorbing ACK retransmissions for Timer I, T4 on UDP, 0 on TCP), then gone. A retransmitted
//! INVITE gets the stored response again and is never evaluated twice. Non-INVITE requests
//! (OPTIONS, CANCEL, refused methods) keep their answer for Timer J (64·T1 on UDP) so their
//! retransmissions get it too.
//!
//! Pure state with explicit instants: every operation returns the [`Effect`]s (bytes to send,
//! timers to arm) for its user to carry out outside the lock; the timer values are those of
//! [`crate::sip::consts`].

use crate::sip::consts::{BRANCH_COOKIE, T1, T2, T4, TIMER_H, TIMER_J_UNRELIABLE};
use crate::sip::message::{self, Scan};
use crate::sip::transaction::Destination;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// INVITE transactions remembered at once; past it a new INVITE is still answered, just not
/// kept (its retransmissions are then evaluated afresh), so a flood cannot grow the table.
pub const MAX_TRANSACTIONS: usize = 200_000;

/// Which transaction a request belongs to (RFC 3261 §17.2.3). RFC 3261 peers: the top Via's
/// branch and sent-by (an INVITE, its CANCEL and the ACK of a non-2xx share them). RFC 2543
/// peers (no magic cookie): Call-ID, CSeq number, From tag and sent-by, which an INVITE, its
/// CANCEL and its ACK also share.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RequestKey {
    Branch {
        branch: String,
        sent_by: String,
    },
    Legacy {
        call_id: String,
        cseq: u32,
        from_tag: String,
        sent_by: String,
    },
}

impl RequestKey {
    /// The key of a scanned request, `None` when it lacks what matching needs.
    pub fn of(scan: &Scan) -> Option<Self> {
        let sent_by = message::top_sent_by(scan)?;
        match message::top_branch(scan) {
            Some(branch) if branch.starts_with(BRANCH_COOKIE) => {
                Some(RequestKey::Branch { branch, sent_by })
            }
            _ => Some(RequestKey::Legacy {
                call_id: scan.get("call-id")?.trim().to_string(),
                cseq: message::cseq(scan)?.0,
                from_tag: tag_of(scan.get("from")?).unwrap_or_default(),
                sent_by,
            }),
        }
    }
}

/// The `tag` parameter of a From/To value (outside the `<…>` URI).
pub fn tag_of(value: &str) -> Option<String> {
    let params = match value.rfind('>') {
        Some(end) => &value[end + 1..],
        None => value,
    };
    params.split(';').skip(1).find_map(|p| {
        let (name, v) = p.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("tag")
            .then(|| v.trim().to_string())
    })
}

/// The transaction timers this module arms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerTimer {
    /// Retransmit the final response (UDP).
    G,
    /// Give up waiting for the ACK.
    H,
    /// Stop absorbing ACKs.
    I,
    /// Forget a non-INVITE answer.
    J,
}

/// A transaction a timer belongs to: the INVITE one, or a non-INVITE one by method.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slot {
    pub key: RequestKey,
    /// `None` for the INVITE transaction, else the request's method.
    pub method: Option<String>,
}

/// What the listener must do after a table operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Send(Arc<Vec<u8>>, Destination),
    Arm(Slot, ServerTimer, Instant),
}

/// What a newly arrived INVITE is.
#[derive(Debug, Clone, PartialEq)]
pub enum Arrival {
    /// A new transaction (now Proceeding): work out the answer and [`ServerTable::complete`] it.
    New,
    /// The table is full: answer it without keeping it.
    Untracked,
    /// A retransmission: send this stored response (none while Proceeding or Confirmed).
    Retransmission(Option<Arc<Vec<u8>>>),
}

/// What a CANCEL finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancelled {
    /// No INVITE transaction matches: 481.
    NoTransaction,
    /// The INVITE already has its final response: 200 to the CANCEL, nothing else.
    AlreadyAnswered,
    /// The INVITE is still being evaluated: 200 to the CANCEL and 487 to the INVITE (via
    /// [`ServerTable::complete`], which then wins over the evaluation's answer).
    Pending,
}

#[derive(Debug)]
enum Phase {
    Proceeding,
    Completed {
        response: Arc<Vec<u8>>,
        interval: Duration,
    },
    Confirmed,
}

#[derive(Debug)]
struct Invite {
    phase: Phase,
    destination: Destination,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Both tables: INVITE transactions and non-INVITE answers.
#[derive(Debug, Default)]
pub struct ServerTable {
    invites: Mutex<HashMap<RequestKey, Invite>>,
    others: Mutex<HashMap<Slot, Arc<Vec<u8>>>>,
}

impl ServerTable {
    pub fn invite_count(&self) -> usize {
        lock(&self.invites).len()
    }

    pub fn other_count(&self) -> usize {
        lock(&self.others).len()
    }

    /// An INVITE arrived from `destination` (where its responses go).
    pub fn invite(&self, key: &RequestKey, destination: Destination) -> Arrival {
        let mut invites = lock(&self.invites);
        match invites.get(key) {
            Some(entry) => Arrival::Retransmission(match &entry.phase {
                Phase::Completed { response, .. } => Some(response.clone()),
                Phase::Proceeding | Phase::Confirmed => None,
            }),
            None if invites.len() >= MAX_TRANSACTIONS => Arrival::Untracked,
            None => {
                invites.insert(
                    key.clone(),
                    Invite {
                        phase: Phase::Proceeding,
                        destination,
                    },
                );
                Arrival::New
            }
        }
    }

    /// The final response of INVITE `key` is ready: sends it and arms Timer G (UDP) and H.
    /// Only the first final response counts (a 487 after CANCEL beats a late evaluation).
    /// An untracked INVITE's response is sent to `fallback` and not kept.
    pub fn complete(
        &self,
        key: &RequestKey,
        response: Arc<Vec<u8>>,
        fallback: Destination,
        now: Instant,
    ) -> Vec<Effect> {
        let mut invites = lock(&self.invites);
        let Some(entry) = invites.get_mut(key) else {
            return vec![Effect::Send(response, fallback)];
        };
        if !matches!(entry.phase, Phase::Proceeding) {
            return Vec::new();
        }
        let destination = entry.destination;
        entry.phase = Phase::Completed {
            response: response.clone(),
            interval: T1,
        };
        let slot = Slot {
            key: key.clone(),
            method: None,
        };
        let mut effects = vec![Effect::Send(response, destination)];
        if !destination.transport.is_reliable() {
            effects.push(Effect::Arm(slot.clone(), ServerTimer::G, now + T1));
        }
        effects.push(Effect::Arm(slot, ServerTimer::H, now + TIMER_H));
        effects
    }

    /// An ACK arrived. `None`: it matches no transaction (a stray, or the ACK of someone
    /// else's 2xx). `Some(effects)`: absorbed; the transaction is Confirmed (Timer I on UDP)
    /// or, on TCP, gone.
    pub fn ack(&self, key: &RequestKey, now: Instant) -> Option<Vec<Effect>> {
        let mut invites = lock(&self.invites);
        let entry = invites.get_mut(key)?;
        match entry.phase {
            Phase::Completed { .. } if entry.destination.transport.is_reliable() => {
                invites.remove(key);
                Some(Vec::new())
            }
            Phase::Completed { .. } => {
                entry.phase = Phase::Confirmed;
                let slot = Slot {
                    key: key.clone(),
                    method: None,
                };
                Some(vec![Effect::Arm(slot, ServerTimer::I, now + T4)])
            }
            Phase::Confirmed => Some(Vec::new()),
            // An ACK before any final response is not ours to absorb.
            Phase::Proceeding => None,
        }
    }

    /// A CANCEL for INVITE `key` arrived.
    pub fn cancel(&self, key: &RequestKey) -> Cancelled {
        match lock(&self.invites).get(key).map(|e| &e.phase) {
            None => Cancelled::NoTransaction,
            Some(Phase::Proceeding) => Cancelled::Pending,
            Some(_) => Cancelled::AlreadyAnswered,
        }
    }

    /// The stored answer of a non-INVITE request, if this is a retransmission.
    pub fn answered(&self, key: &RequestKey, method: &str) -> Option<Arc<Vec<u8>>> {
        let slot = Slot {
            key: key.clone(),
            method: Some(method.to_string()),
        };
        lock(&self.others).get(&slot).cloned()
    }

    /// Keeps a non-INVITE answer for Timer J (UDP only; TCP peers do not retransmit).
    pub fn remember(
        &self,
        key: RequestKey,
        method: &str,
        response: Arc<Vec<u8>>,
        reliable: bool,
        now: Instant,
    ) -> Vec<Effect> {
        let mut others = lock(&self.others);
        if reliable || others.len() >= MAX_TRANSACTIONS {
            return Vec::new();
        }
        let slot = Slot {
            key,
            method: Some(method.to_string()),
        };
        others.insert(slot.clone(), response);
        vec![Effect::Arm(slot, ServerTimer::J, now + TIMER_J_UNRELIABLE)]
    }

    /// A timer fired.
    pub fn on_timer(&self, slot: &Slot, timer: ServerTimer, now: Instant) -> Vec<Effect> {
        if slot.method.is_some() {
            if timer == ServerTimer::J {
                lock(&self.others).remove(slot);
            }
            return Vec::new();
        }
        let mut invites = lock(&self.invites);
        let Some(entry) = invites.get_mut(&slot.key) else {
            return Vec::new();
        };
        match (timer, &mut entry.phase) {
            (ServerTimer::G, Phase::Completed { response, interval }) => {
                metrics::counter!("redirect_retransmissions_total").increment(1);
                *interval = (*interval * 2).min(T2);
                vec![
                    Effect::Send(response.clone(), entry.destination),
                    Effect::Arm(slot.clone(), ServerTimer::G, now + *interval),
                ]
            }
            (ServerTimer::H, Phase::Completed { .. }) => {
                metrics::counter!("redirect_ack_timeouts_total").increment(1);
                invites.remove(&slot.key);
                Vec::new()
            }
            (ServerTimer::I, Phase::Confirmed) => {
                invites.remove(&slot.key);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests;
