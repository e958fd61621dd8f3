//! Many SIP gateways that only answer OPTIONS, for the pinger bench (bench/pinger_5000.sh).
//!
//! `cargo run --release --example udp_responders -- [--bind 127.0.0.1] [--base 20000]
//!  [--count 5000] [--stats FILE]`
//!
//! Binds `count` UDP sockets on consecutive ports from `base` (loopback by default; it refuses
//! any other address), answers every OPTIONS with a 200 that copies Via, From, To (tagged),
//! Call-ID and CSeq, and counts the OPTIONS each port received. Every second (and on SIGTERM) it
//! writes `FILE` atomically: `total N` (OPTIONS received, retransmissions included), `retrans N`
//! (OPTIONS whose top-Via branch equals the previous one on that port: UDP retransmissions),
//! `other N` (datagrams that were not an OPTIONS), then one `port count` line per socket.
//! One thread, one task per socket.

#[path = "support/loopback_uas.rs"]
mod loopback_uas;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::net::UdpSocket;

/// The branch parameter of the first Via line.
fn branch(reply: &[u8]) -> Option<&[u8]> {
    let at = reply
        .windows(7)
        .position(|w| w.eq_ignore_ascii_case(b"branch="))?
        + 7;
    let rest = &reply[at..];
    let end = rest
        .iter()
        .position(|b| matches!(b, b';' | b',' | b'\r' | b'\n' | b' '))
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// The 200 to an OPTIONS, or `None` when the datagram is not one.
fn answer(request: &[u8], tag: &str) -> Option<Vec<u8>> {
    loopback_uas::ok_to(request, "OPTIONS", "udp-responders", tag, |_, _| {})
}

struct Counters {
    per_port: Vec<AtomicU64>,
    retrans: AtomicU64,
    other: AtomicU64,
}

fn write_stats(path: &std::path::Path, base: u16, counters: &Counters) {
    let snapshot: Vec<u64> = counters
        .per_port
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .collect();
    let mut text = format!(
        "total {}\nretrans {}\nother {}\n",
        snapshot.iter().sum::<u64>(),
        counters.retrans.load(Ordering::Relaxed),
        counters.other.load(Ordering::Relaxed)
    );
    for (i, n) in snapshot.iter().enumerate() {
        text.push_str(&format!("{} {n}\n", u32::from(base) + i as u32));
    }
    let tmp = path.with_extension("tmp");
    if std::fs::write(&tmp, text).is_ok() {
        let _ = std::fs::rename(&tmp, path);
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = match loopback_uas::args(20_000) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("udp_responders: {e}");
            std::process::exit(2);
        }
    };
    let counters = Arc::new(Counters {
        per_port: (0..args.count).map(|_| AtomicU64::new(0)).collect(),
        retrans: AtomicU64::new(0),
        other: AtomicU64::new(0),
    });
    for i in 0..args.count {
        let addr = SocketAddr::new(args.bind, args.base + i);
        let socket = match UdpSocket::bind(addr).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("udp_responders: cannot bind {addr}: {e}");
                std::process::exit(1);
            }
        };
        let counters = counters.clone();
        tokio::spawn(async move {
            let tag = format!("resp{}", addr.port());
            let mut buf = vec![0u8; 65_535];
            let mut last_branch: Vec<u8> = Vec::new();
            loop {
                let Ok((n, source)) = socket.recv_from(&mut buf).await else {
                    continue;
                };
                match answer(&buf[..n], &tag) {
                    Some(reply) => {
                        counters.per_port[usize::from(i)].fetch_add(1, Ordering::Relaxed);
                        if let Some(b) = branch(&reply) {
                            if b == last_branch.as_slice() {
                                counters.retrans.fetch_add(1, Ordering::Relaxed);
                            } else {
                                last_branch.clear();
                                last_branch.extend_from_slice(b);
                            }
                        }
                        let _ = socket.send_to(&reply, source).await;
                    }
                    None => {
                        counters.other.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
    }
    loopback_uas::serve_until_terminated("udp_responders", "sockets", &args, |path| {
        write_stats(path, args.base, &counters);
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::answer;

    #[test]
    fn answers_options_with_copied_headers() {
        let request = b"OPTIONS sip:127.0.0.1:20000 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx;rport\r\nMax-Forwards: 70\r\nf: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1:20000>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
        let reply = String::from_utf8(answer(request, "t").unwrap()).unwrap();
        assert!(reply.starts_with("SIP/2.0 200 OK\r\n"));
        assert!(reply.contains("Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx;rport\r\n"));
        assert!(reply.contains("From: <sip:a@127.0.0.1>;tag=1\r\n"));
        assert!(reply.contains("To: <sip:127.0.0.1:20000>;tag=t\r\n"));
        assert!(reply.contains("CSeq: 1 OPTIONS\r\n"));
        assert!(answer(b"SIP/2.0 200 OK\r\n\r\n", "t").is_none());
        assert_eq!(super::branch(reply.as_bytes()), Some(&b"z9hG4bKx"[..]));
    }
}
