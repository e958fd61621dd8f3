//! Many desk phones that only answer NOTIFY, for the NOTIFY fan-out bench (bench/notify_fanout.sh).
//!
//! `cargo run --release --example notify_phones -- [--bind 127.0.0.1] [--base 30000]
//!  [--count 5000] [--stats FILE]`
//!
//! Binds `count` UDP sockets on consecutive ports from `base` (loopback only), answers every
//! NOTIFY with a 200 that copies Via, From, To (tagged), Call-ID and CSeq, and counts what each
//! phone received. Every second (and on SIGTERM) it writes `FILE` atomically:
//! `notify N` (NOTIFYs, retransmissions included), `retrans N` (same top-Via branch as the
//! previous one on that port), `reached N` (phones with at least one NOTIFY), `twice N` (phones
//! with NOTIFYs of two or more transactions), `other N` (datagrams that were not a NOTIFY), then
//! `event <value> N` per Event header value seen. One thread, one task per socket.

use std::collections::HashMap;
#[path = "support/loopback_uas.rs"]
mod loopback_uas;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::UdpSocket;

/// What a phone makes of one datagram.
#[derive(Debug, PartialEq, Eq)]
struct Notify {
    reply: Vec<u8>,
    branch: String,
    event: String,
}

/// The 200 to a NOTIFY with its branch and Event, or `None` when the datagram is not one.
fn answer(request: &[u8], tag: &str) -> Option<Notify> {
    let (mut branch, mut event) = (None, String::new());
    let reply =
        loopback_uas::ok_to(
            request,
            "NOTIFY",
            "notify-phones",
            tag,
            |name, value| match name.to_ascii_lowercase().as_str() {
                "via" | "v" if branch.is_none() => {
                    branch = value
                        .split(';')
                        .find_map(|p| p.trim().strip_prefix("branch="))
                        .map(str::to_string);
                }
                "event" | "o" => event = value.to_string(),
                _ => {}
            },
        )?;
    Some(Notify {
        reply,
        branch: branch.unwrap_or_default(),
        event,
    })
}

#[derive(Default)]
struct Counters {
    notify: AtomicU64,
    retrans: AtomicU64,
    other: AtomicU64,
    reached: AtomicU64,
    twice: AtomicU64,
    events: Mutex<HashMap<String, u64>>,
}

fn write_stats(path: &std::path::Path, counters: &Counters) {
    let mut text = format!(
        "notify {}\nretrans {}\nreached {}\ntwice {}\nother {}\n",
        counters.notify.load(Ordering::Relaxed),
        counters.retrans.load(Ordering::Relaxed),
        counters.reached.load(Ordering::Relaxed),
        counters.twice.load(Ordering::Relaxed),
        counters.other.load(Ordering::Relaxed),
    );
    let events = counters.events.lock().unwrap_or_else(|p| p.into_inner());
    for (event, n) in events.iter() {
        text.push_str(&format!("event {event} {n}\n"));
    }
    let tmp = path.with_extension("tmp");
    if std::fs::write(&tmp, text).is_ok() {
        let _ = std::fs::rename(&tmp, path);
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = match loopback_uas::args(30_000) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("notify_phones: {e}");
            std::process::exit(2);
        }
    };
    let counters = Arc::new(Counters::default());
    for i in 0..args.count {
        let addr = SocketAddr::new(args.bind, args.base + i);
        let socket = match UdpSocket::bind(addr).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("notify_phones: cannot bind {addr}: {e}");
                std::process::exit(1);
            }
        };
        let counters = counters.clone();
        tokio::spawn(async move {
            let tag = format!("phone{}", addr.port());
            let mut buf = vec![0u8; 65_535];
            let mut last_branch = String::new();
            let mut transactions = 0u32;
            loop {
                let Ok((n, source)) = socket.recv_from(&mut buf).await else {
                    continue;
                };
                let Some(notify) = answer(&buf[..n], &tag) else {
                    counters.other.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                counters.notify.fetch_add(1, Ordering::Relaxed);
                if notify.branch == last_branch {
                    counters.retrans.fetch_add(1, Ordering::Relaxed);
                } else {
                    last_branch = notify.branch;
                    transactions += 1;
                    match transactions {
                        1 => counters.reached.fetch_add(1, Ordering::Relaxed),
                        2 => counters.twice.fetch_add(1, Ordering::Relaxed),
                        _ => 0,
                    };
                    *counters
                        .events
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .entry(notify.event)
                        .or_default() += 1;
                }
                let _ = socket.send_to(&notify.reply, source).await;
            }
        });
    }
    loopback_uas::serve_until_terminated("notify_phones", "phones", &args, |path| {
        write_stats(path, &counters);
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::answer;

    #[test]
    fn answers_notify_with_copied_headers() {
        let request = b"NOTIFY sip:p1@127.0.0.1:30000 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx;rport\r\nf: <sip:dialtone@127.0.0.1>;tag=1\r\nTo: <sip:p1@127.0.0.1:30000>\r\nCall-ID: c1\r\nCSeq: 1 NOTIFY\r\nEvent: check-sync;reboot=false\r\nContent-Length: 0\r\n\r\n";
        let notify = answer(request, "t").unwrap();
        let reply = String::from_utf8(notify.reply).unwrap();
        assert!(reply.starts_with("SIP/2.0 200 OK\r\n"));
        assert!(reply.contains("Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx;rport\r\n"));
        assert!(reply.contains("To: <sip:p1@127.0.0.1:30000>;tag=t\r\n"));
        assert!(reply.contains("CSeq: 1 NOTIFY\r\n"));
        assert_eq!(notify.branch, "z9hG4bKx");
        assert_eq!(notify.event, "check-sync;reboot=false");
        assert!(answer(b"OPTIONS sip:x SIP/2.0\r\n\r\n", "t").is_none());
    }
}
