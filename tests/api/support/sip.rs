//! Talking SIP to the daemon from a test: a UDP client bound on loopback (IPv4 or IPv6, as the
//! target is), the requests it sends (INVITE, its ACK and CANCEL), readers for the answers, and
//! the helpers the `sipp` interop tests share.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::UdpSocket;

/// A UDP SIP client on loopback that sends text to one target and reads the answers.
pub struct SipClient {
    pub socket: UdpSocket,
    pub target: SocketAddr,
}

impl SipClient {
    pub async fn new(target: SocketAddr) -> Self {
        let any = if target.is_ipv4() {
            "127.0.0.1:0"
        } else {
            "[::1]:0"
        };
        Self {
            socket: UdpSocket::bind(any).await.unwrap(),
            target,
        }
    }

    pub fn local(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    pub async fn send(&self, text: &[u8]) {
        self.socket.send_to(text, self.target).await.unwrap();
    }

    /// The next datagram within `wait`, or `None`.
    pub async fn answer(&self, wait: Duration) -> Option<String> {
        let mut buf = vec![0u8; 65_535];
        match tokio::time::timeout(wait, self.socket.recv_from(&mut buf)).await {
            Ok(Ok((n, _))) => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
            _ => None,
        }
    }

    /// Sends `text` and returns the answer, panicking when none comes within 3 s.
    pub async fn ask(&self, text: &str) -> String {
        self.send(text.as_bytes()).await;
        self.answer(Duration::from_secs(3))
            .await
            .expect("an answer")
    }

    /// Sends an INVITE and ACKs its final response (so Timer G stays quiet).
    pub async fn call(&self, to: &str, branch: &str) -> String {
        let request = invite(to, branch, self.local(), "UDP", "");
        let response = self.ask(&request).await;
        self.send(ack_for(&request, &response).as_bytes()).await;
        response
    }
}

/// An INVITE from Alice to `to` over `transport`, with `extra` header lines.
pub fn invite(to: &str, branch: &str, local: SocketAddr, transport: &str, extra: &str) -> String {
    format!(
        "INVITE sip:{to}@127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/{transport} {local};branch=z9hG4bK{branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: \"Alice\" <sip:+14155550100@127.0.0.1>;tag=f{branch}\r\n\
         To: <sip:{to}@127.0.0.1>\r\n\
         Call-ID: {branch}@127.0.0.1\r\n\
         CSeq: 1 INVITE\r\n\
         {extra}Content-Length: 0\r\n\r\n"
    )
}

/// The ACK of a non-2xx final response: same branch, the response's To (with its tag).
pub fn ack_for(invite: &str, response: &str) -> String {
    let to = header(response, "To").expect("To in response");
    invite
        .replacen("INVITE sip:", "ACK sip:", 1)
        .replace("CSeq: 1 INVITE", "CSeq: 1 ACK")
        .lines()
        .map(|l| {
            if l.starts_with("To:") {
                format!("To: {to}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n")
        .trim_end()
        .to_string()
        + "\r\n\r\n"
}

/// The CANCEL of an INVITE: same branch, Call-ID and tags.
pub fn cancel_for(invite: &str) -> String {
    invite
        .replacen("INVITE sip:", "CANCEL sip:", 1)
        .replace("CSeq: 1 INVITE", "CSeq: 1 CANCEL")
}

/// The first value of header `name` in a response.
pub fn header<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Every value of header `name` in a response, in order.
pub fn all_headers<'a>(text: &'a str, name: &'a str) -> Vec<&'a str> {
    text.lines()
        .filter_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
        .collect()
}

/// The status code of a response (0 when it is not one).
pub fn status(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// Whether `sipp` (Debian package sip-tester) is installed; its tests skip, saying so, when not.
pub fn sipp_available() -> bool {
    std::process::Command::new("sipp")
        .arg("-v")
        .output()
        .is_ok()
}

/// A sipp scenario file under `tests/sipp/`.
pub fn scenario(name: &str) -> String {
    format!("{}/tests/sipp/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A UDP port on 127.0.0.1 that was free a moment ago (for a peer that binds it itself).
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
