//! A phone on loopback for NOTIFY: answers every request with a code, after a pause, or not at
//! all, and logs what it saw (request line, headers, when) and how many requests it held at once.

use dialtone::sip::message::{build_response, scan, top_branch};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;

/// One request a phone received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub request_line: String,
    pub headers: HashMap<String, String>,
    pub branch: String,
    pub at: Instant,
}

impl Seen {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }

    /// The user part of the Request-URI.
    pub fn user(&self) -> String {
        let uri = self.request_line.split(' ').nth(1).unwrap_or("");
        let rest = uri.strip_prefix("sip:").unwrap_or(uri);
        rest.split('@').next().unwrap_or("").to_string()
    }
}

#[derive(Clone, Copy)]
pub enum PhoneBehaviour {
    Answer(u16),
    /// Answers after a pause (to observe how many NOTIFYs are in flight at once).
    AnswerAfter(u16, Duration),
    Silent,
}

/// Shared by the phones of one test: what they saw and how many requests they held at once.
#[derive(Default)]
pub struct Log {
    pub seen: Mutex<Vec<Seen>>,
    pub holding: AtomicUsize,
    pub most_held: AtomicUsize,
}

impl Log {
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A phone on loopback answering every request as `behaviour` says.
pub async fn phone_with(behaviour: PhoneBehaviour, log: Arc<Log>) -> SocketAddr {
    let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_535];
        while let Ok((len, from)) = socket.recv_from(&mut buf).await {
            let Some(request) = scan(&buf[..len]) else {
                continue;
            };
            let branch = top_branch(&request).unwrap_or_default();
            let first_copy = {
                let mut seen = log.seen.lock().unwrap();
                let first = !seen.iter().any(|s| s.branch == branch);
                if first {
                    seen.push(Seen {
                        request_line: request.start_line.clone(),
                        headers: request.headers.iter().cloned().collect(),
                        branch: branch.clone(),
                        at: Instant::now(),
                    });
                }
                first
            };
            let (code, pause) = match behaviour {
                PhoneBehaviour::Answer(code) => (code, None),
                PhoneBehaviour::AnswerAfter(code, pause) => (code, Some(pause)),
                PhoneBehaviour::Silent => continue,
            };
            let reply = build_response(&request, code, from, "phone", Vec::new());
            let (socket, log) = (socket.clone(), log.clone());
            tokio::spawn(async move {
                if let (Some(pause), true) = (pause, first_copy) {
                    let held = log.holding.fetch_add(1, Ordering::SeqCst) + 1;
                    log.most_held.fetch_max(held, Ordering::SeqCst);
                    tokio::time::sleep(pause).await;
                    log.holding.fetch_sub(1, Ordering::SeqCst);
                }
                let _ = socket.send_to(&reply, from).await;
            });
        }
    });
    addr
}

pub async fn phone(behaviour: PhoneBehaviour) -> (SocketAddr, Arc<Log>) {
    let log = Arc::new(Log::default());
    (phone_with(behaviour, log.clone()).await, log)
}

/// A phone that answers every request 200; returns its address.
pub async fn answering_phone() -> SocketAddr {
    phone(PhoneBehaviour::Answer(200)).await.0
}
