//! The INVITE server transaction stepped with explicit instants: timers G, H, I and J to the
//! millisecond, retransmissions, CANCEL, keys and bounds.

use super::*;
use crate::types::sip_uri::Transport;

fn dest(transport: Transport) -> Destination {
    Destination {
        addr: "127.0.0.1:5099".parse().unwrap(),
        transport,
    }
}

fn key(n: u32) -> RequestKey {
    RequestKey::Branch {
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
    table: &ServerTable,
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
    let table = ServerTable::default();
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
    let table = ServerTable::default();
    let t0 = Instant::now();
    table.invite(&key(2), dest(Transport::Udp));
    let mut armed = table.complete(&key(2), bytes("404"), dest(Transport::Udp), t0);
    let ack = table.ack(&key(2), t0 + Duration::from_millis(100)).unwrap();
    assert!(matches!(&ack[..], [Effect::Arm(_, ServerTimer::I, _)]));
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
    let table = ServerTable::default();
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
    let table = ServerTable::default();
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
    let table = ServerTable::default();
    let t0 = Instant::now();
    table.invite(&key(5), dest(Transport::Tcp));
    let effects = table.complete(&key(5), bytes("302"), dest(Transport::Tcp), t0);
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::Arm(_, ServerTimer::G, _)))
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
    let table = ServerTable::default();
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
    let invite = RequestKey::of(&scan(
        "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKabc",
        "1 INVITE",
    ));
    let ack = RequestKey::of(&scan(
        "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKabc",
        "1 ACK",
    ));
    assert_eq!(invite, ack);
    assert!(matches!(invite, Some(RequestKey::Branch { .. })));
    let old = RequestKey::of(&scan("SIP/2.0/UDP 10.0.0.1:5060", "7 INVITE")).unwrap();
    let old_ack = RequestKey::of(&scan("SIP/2.0/UDP 10.0.0.1:5060;branch=1", "7 ACK")).unwrap();
    assert_eq!(old, old_ack);
    assert_eq!(
        old,
        RequestKey::Legacy {
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
    let table = ServerTable::default();
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
