//! A SIP gateway on loopback for the pinger and the router to ping: answers OPTIONS with a code,
//! stays silent, answers only a retransmission, or answers garbage, and counts what it received.

use dialtone::sip::message::{build_response, scan, top_branch};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::net::UdpSocket;

/// How a loopback gateway answers.
#[derive(Clone, Copy)]
pub enum GatewayBehaviour {
    Answer(u16),
    Silent,
    /// Ignores every first copy, answers the retransmission.
    AnswerRetransmission,
    Garbage,
}

/// A gateway on loopback; returns its address and a counter of requests seen.
pub async fn gateway(behaviour: GatewayBehaviour) -> (SocketAddr, Arc<AtomicUsize>) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_535];
        let mut last_branch = String::new();
        while let Ok((len, from)) = socket.recv_from(&mut buf).await {
            counter.fetch_add(1, Ordering::SeqCst);
            let Some(request) = scan(&buf[..len]) else {
                continue;
            };
            let reply = match behaviour {
                GatewayBehaviour::Answer(code) => {
                    Some(build_response(&request, code, from, "gw", Vec::new()))
                }
                GatewayBehaviour::Silent => None,
                GatewayBehaviour::AnswerRetransmission => {
                    let branch = top_branch(&request).unwrap_or_default();
                    let retransmission = branch == last_branch;
                    last_branch = branch;
                    retransmission.then(|| build_response(&request, 200, from, "gw", Vec::new()))
                }
                GatewayBehaviour::Garbage => Some(b"\x00\x01 not sip at all\r\n\r\n".to_vec()),
            };
            if let Some(bytes) = reply {
                let _ = socket.send_to(&bytes, from).await;
            }
        }
    });
    (addr, seen)
}

/// A gateway that answers every OPTIONS with 200; returns its `sip:` URI.
pub async fn answering_gateway() -> String {
    let (addr, _) = gateway(GatewayBehaviour::Answer(200)).await;
    format!("sip:{addr}")
}

/// A gateway that never answers (the pinger takes it down); returns its `sip:` URI.
pub async fn silent_gateway() -> String {
    let (addr, _) = gateway(GatewayBehaviour::Silent).await;
    format!("sip:{addr}")
}
