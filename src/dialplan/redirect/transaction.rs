//! The redirect listener's server transactions. INVITE (RFC 3261 §17.2.1): Proceeding while the
//! dial plan is evaluated, Completed once the final 3xx–6xx is sent (retransmitted on UDP with
//! Timer G, T1 doubling up to T2, until the ACK or Timer H, 64·T1), Confirmed after the ACK
//! (absorbing ACK retransmissions for Timer I, T4 on UDP, 0 on TCP), then gone. A retransmitted
//! INVITE gets the stored response again and is never evaluated twice. Non-INVITE requests
//! (OPTIONS, CANCEL, refused methods) keep their answer for Timer J (64·T1 on UDP) so their
//! retransmissions get it too.
//!
//! Pure state with explicit instants: every operation returns the [`Effect`]s (bytes to send,
//! timers to arm) for the listener to carry out outside the lock.

use crate::sip::consts::{BRANCH_COOKIE, T1, T2, T4, TIMER_F};
use crate::sip::message::{self, Scan};
use crate::sip::transaction::Destination;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Timer H: how long a Completed INVITE transaction waits for the ACK (64·T1).
pub const TIMER_H: Duration = TIMER_F;
/// Timer J: how long a non-INVITE answer is kept on UDP (64·T1).
pub const TIMER_J: Duration = TIMER_F;
/// INVITE transactions remembered at once; past it a new INVITE is still answered, just not
/// kept (its retransmissions are then evaluated afresh), so a flood cannot grow the table.
pub const MAX_TRANSACTIONS: usize = 200_000;

/// Which transaction a request belongs to (RFC 3261 §17.2.3). RFC 3261 peers: the top Via's
/// branch and sent-by (an INVITE, its CANCEL and the ACK of a non-2xx share them). RFC 2543
/// peers (no magic cookie): Call-ID, CSeq number, From tag and sent-by, which an INVITE, its
/// CANCEL and its ACK also share.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
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

impl Key {
    /// The key of a scanned request, `None` when it lacks what matching needs.
    pub fn of(scan: &Scan) -> Option<Self> {
        let sent_by = message::top_sent_by(scan)?;
        match message::top_branch(scan) {
            Some(branch) if branch.starts_with(BRANCH_COOKIE) => {
                Some(Key::Branch { branch, sent_by })
            }
            _ => Some(Key::Legacy {
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
pub enum Timer {
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
    pub key: Key,
    /// `None` for the INVITE transaction, else the request's method.
    pub method: Option<String>,
}

/// What the listener must do after a table operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Send(Arc<Vec<u8>>, Destination),
    Arm(Slot, Timer, Instant),
}

/// What a newly arrived INVITE is.
#[derive(Debug, Clone, PartialEq)]
pub enum Arrival {
    /// A new transaction (now Proceeding): evaluate and [`Table::complete`] it.
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
    /// [`Table::complete`], which then wins over the evaluation's answer).
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
pub struct Table {
    invites: Mutex<HashMap<Key, Invite>>,
    others: Mutex<HashMap<Slot, Arc<Vec<u8>>>>,
}

impl Table {
    pub fn invite_count(&self) -> usize {
        lock(&self.invites).len()
    }

    pub fn other_count(&self) -> usize {
        lock(&self.others).len()
    }

    /// An INVITE arrived from `destination` (where its responses go).
    pub fn invite(&self, key: &Key, destination: Destination) -> Arrival {
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
        key: &Key,
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
            effects.push(Effect::Arm(slot.clone(), Timer::G, now + T1));
        }
        effects.push(Effect::Arm(slot, Timer::H, now + TIMER_H));
        effects
    }

    /// An ACK arrived. `None`: it matches no transaction (a stray, or the ACK of someone
    /// else's 2xx). `Some(effects)`: absorbed; the transaction is Confirmed (Timer I on UDP)
    /// or, on TCP, gone.
    pub fn ack(&self, key: &Key, now: Instant) -> Option<Vec<Effect>> {
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
                Some(vec![Effect::Arm(slot, Timer::I, now + T4)])
            }
            Phase::Confirmed => Some(Vec::new()),
            // An ACK before any final response is not ours to absorb.
            Phase::Proceeding => None,
        }
    }

    /// A CANCEL for INVITE `key` arrived.
    pub fn cancel(&self, key: &Key) -> Cancelled {
        match lock(&self.invites).get(key).map(|e| &e.phase) {
            None => Cancelled::NoTransaction,
            Some(Phase::Proceeding) => Cancelled::Pending,
            Some(_) => Cancelled::AlreadyAnswered,
        }
    }

    /// The stored answer of a non-INVITE request, if this is a retransmission.
    pub fn answered(&self, key: &Key, method: &str) -> Option<Arc<Vec<u8>>> {
        let slot = Slot {
            key: key.clone(),
            method: Some(method.to_string()),
        };
        lock(&self.others).get(&slot).cloned()
    }

    /// Keeps a non-INVITE answer for Timer J (UDP only; TCP peers do not retransmit).
    pub fn remember(
        &self,
        key: Key,
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
        vec![Effect::Arm(slot, Timer::J, now + TIMER_J)]
    }

    /// A timer fired.
    pub fn on_timer(&self, slot: &Slot, timer: Timer, now: Instant) -> Vec<Effect> {
        if slot.method.is_some() {
            if timer == Timer::J {
                lock(&self.others).remove(slot);
            }
            return Vec::new();
        }
        let mut invites = lock(&self.invites);
        let Some(entry) = invites.get_mut(&slot.key) else {
            return Vec::new();
        };
        match (timer, &mut entry.phase) {
            (Timer::G, Phase::Completed { response, interval }) => {
                metrics::counter!("redirect_retransmissions_total").increment(1);
                *interval = (*interval * 2).min(T2);
                vec![
                    Effect::Send(response.clone(), entry.destination),
                    Effect::Arm(slot.clone(), Timer::G, now + *interval),
                ]
            }
            (Timer::H, Phase::Completed { .. }) => {
                metrics::counter!("redirect_ack_timeouts_total").increment(1);
                invites.remove(&slot.key);
                Vec::new()
            }
            (Timer::I, Phase::Confirmed) => {
                invites.remove(&slot.key);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::sip_uri::Transport;

    fn dest(transport: Transport) -> Destination {
        Destination {
            addr: "127.0.0.1:5099".parse().unwrap(),
            transport,
        }
    }

    fn key(n: u32) -> Key {
        Key::Branch {
            branch: format!("z9hG4bK{n}"),
            sent_by: "127.0.0.1:5099".into(),
        }
    }

    fn bytes(text: &str) -> Arc<Vec<u8>> {
        Arc::new(text.as_bytes().to_vec())
    }

    /// Fires every armed timer in time order until none is left or `until` is reached,
    /// recording the instants of the sends.
    fn run(
        table: &Table,
        mut armed: Vec<Effect>,
        start: Instant,
        until: Duration,
    ) -> Vec<Duration> {
        let mut sends = Vec::new();
        loop {
            armed.retain(|e| matches!(e, Effect::Arm(..)));
            armed.sort_by_key(|e| match e {
                Effect::Arm(_, _, at) => *at,
                Effect::Send(..) => start,
            });
            if armed.is_empty() {
                return sends;
            }
            let Effect::Arm(slot, timer, at) = armed.remove(0) else {
                unreachable!()
            };
            if at - start > until {
                return sends;
            }
            for effect in table.on_timer(&slot, timer, at) {
                if let Effect::Send(..) = effect {
                    sends.push(at - start);
                }
                armed.push(effect);
            }
        }
    }

    #[test]
    fn without_an_ack_the_final_response_is_retransmitted_by_timer_g_until_timer_h() {
        let table = Table::default();
        let t0 = Instant::now();
        assert_eq!(table.invite(&key(1), dest(Transport::Udp)), Arrival::New);
        let effects = table.complete(&key(1), bytes("302"), dest(Transport::Udp), t0);
        assert!(matches!(&effects[0], Effect::Send(b, _) if b.as_slice() == b"302"));
        let sends = run(&table, effects, t0, Duration::from_secs(60));
        let ms: Vec<u128> = sends.iter().map(|d| d.as_millis()).collect();
        // T1 doubling up to T2: 0.5, 1.5, 3.5, 7.5, then every 4 s until H at 32 s.
        assert_eq!(ms[..5], [500, 1500, 3500, 7500, 11500]);
        assert!(ms.iter().all(|m| *m < 32_000), "{ms:?}");
        assert_eq!(table.invite_count(), 0, "Timer H ends the transaction");
    }

    #[test]
    fn the_ack_stops_retransmissions_and_is_absorbed_until_timer_i() {
        let table = Table::default();
        let t0 = Instant::now();
        table.invite(&key(2), dest(Transport::Udp));
        let mut armed = table.complete(&key(2), bytes("404"), dest(Transport::Udp), t0);
        let ack = table.ack(&key(2), t0 + Duration::from_millis(100)).unwrap();
        assert!(matches!(&ack[..], [Effect::Arm(_, Timer::I, _)]));
        assert_eq!(
            table.ack(&key(2), t0),
            Some(Vec::new()),
            "a retransmitted ACK is absorbed"
        );
        armed.extend(ack);
        assert!(run(&table, armed, t0, Duration::from_secs(60)).is_empty());
        assert_eq!(table.invite_count(), 0, "Timer I ends the transaction");
        assert_eq!(table.ack(&key(2), t0), None, "then an ACK is a stray");
    }

    #[test]
    fn a_retransmitted_invite_gets_the_stored_response_and_nothing_is_evaluated_again() {
        let table = Table::default();
        let t0 = Instant::now();
        table.invite(&key(3), dest(Transport::Udp));
        assert_eq!(
            table.invite(&key(3), dest(Transport::Udp)),
            Arrival::Retransmission(None),
            "while Proceeding it is absorbed"
        );
        table.complete(&key(3), bytes("302"), dest(Transport::Udp), t0);
        assert_eq!(
            table.invite(&key(3), dest(Transport::Udp)),
            Arrival::Retransmission(Some(bytes("302")))
        );
    }

    #[test]
    fn cancel_finds_pending_answered_or_nothing_and_the_first_final_response_wins() {
        let table = Table::default();
        let t0 = Instant::now();
        assert_eq!(table.cancel(&key(4)), Cancelled::NoTransaction);
        table.invite(&key(4), dest(Transport::Udp));
        assert_eq!(table.cancel(&key(4)), Cancelled::Pending);
        assert!(
            !table
                .complete(&key(4), bytes("487"), dest(Transport::Udp), t0)
                .is_empty()
        );
        assert!(
            table
                .complete(&key(4), bytes("302"), dest(Transport::Udp), t0)
                .is_empty(),
            "the evaluation's late answer is dropped"
        );
        assert_eq!(table.cancel(&key(4)), Cancelled::AlreadyAnswered);
        assert_eq!(
            table.invite(&key(4), dest(Transport::Udp)),
            Arrival::Retransmission(Some(bytes("487")))
        );
    }

    #[test]
    fn over_tcp_there_is_no_timer_g_and_the_ack_ends_the_transaction() {
        let table = Table::default();
        let t0 = Instant::now();
        table.invite(&key(5), dest(Transport::Tcp));
        let effects = table.complete(&key(5), bytes("302"), dest(Transport::Tcp), t0);
        assert!(
            !effects
                .iter()
                .any(|e| matches!(e, Effect::Arm(_, Timer::G, _)))
        );
        assert_eq!(table.ack(&key(5), t0), Some(Vec::new()));
        assert_eq!(table.invite_count(), 0);
        assert!(
            table
                .remember(key(5), "OPTIONS", bytes("200"), true, t0)
                .is_empty()
        );
        assert_eq!(table.other_count(), 0);
    }

    #[test]
    fn non_invite_answers_are_kept_for_timer_j() {
        let table = Table::default();
        let t0 = Instant::now();
        let armed = table.remember(key(6), "CANCEL", bytes("200"), false, t0);
        assert_eq!(table.answered(&key(6), "CANCEL"), Some(bytes("200")));
        assert_eq!(table.answered(&key(6), "OPTIONS"), None);
        run(&table, armed, t0, Duration::from_secs(60));
        assert_eq!(table.answered(&key(6), "CANCEL"), None);
    }

    #[test]
    fn keys_follow_rfc_3261_branches_or_rfc_2543_dialog_fields() {
        let scan = |via: &str, cseq: &str| {
            let text = format!(
                "INVITE sip:1@h SIP/2.0\r\nVia: {via}\r\nFrom: \"A;tag=x\" <sip:a@h;tag=u>;tag=ft\r\nTo: <sip:1@h>\r\nCall-ID: c1\r\nCSeq: {cseq}\r\n\r\n"
            );
            message::scan(text.as_bytes()).unwrap()
        };
        let invite = Key::of(&scan(
            "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKabc",
            "1 INVITE",
        ));
        let ack = Key::of(&scan(
            "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKabc",
            "1 ACK",
        ));
        assert_eq!(invite, ack);
        assert!(matches!(invite, Some(Key::Branch { .. })));
        let old = Key::of(&scan("SIP/2.0/UDP 10.0.0.1:5060", "7 INVITE")).unwrap();
        let old_ack = Key::of(&scan("SIP/2.0/UDP 10.0.0.1:5060;branch=1", "7 ACK")).unwrap();
        assert_eq!(old, old_ack);
        assert_eq!(
            old,
            Key::Legacy {
                call_id: "c1".into(),
                cseq: 7,
                from_tag: "ft".into(),
                sent_by: "10.0.0.1:5060".into()
            }
        );
        assert_eq!(tag_of("<sip:a@h>"), None);
    }

    #[test]
    fn the_table_is_bounded() {
        let table = Table::default();
        let t0 = Instant::now();
        {
            let mut invites = lock(&table.invites);
            for n in 0..MAX_TRANSACTIONS as u32 {
                invites.insert(
                    key(n + 1000),
                    Invite {
                        phase: Phase::Confirmed,
                        destination: dest(Transport::Udp),
                    },
                );
            }
        }
        assert_eq!(
            table.invite(&key(7), dest(Transport::Udp)),
            Arrival::Untracked
        );
        let effects = table.complete(&key(7), bytes("302"), dest(Transport::Udp), t0);
        assert_eq!(
            effects,
            vec![Effect::Send(bytes("302"), dest(Transport::Udp))]
        );
    }
}
