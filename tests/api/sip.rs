//! The SIP endpoint over real UDP and TCP sockets: answers to requests sent to dialtone, garbage
//! and oversized messages, retransmission absorption, and client transactions against peers that
//! answer, fail, stay silent, or answer only a retransmission.

use crate::support::TestApp;
use crate::support::sip::SipClient;
use dialtone::sip::message::{build_response, scan, status_code};
use dialtone::sip::{Destination, SipError};
use dialtone::types::sip_uri::Transport;
use rsipstack::sip::Method;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

fn options(branch: &str, method_line: &str, cseq_method: &str, local: SocketAddr) -> String {
    format!(
        "{method_line} sip:dialtone@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{branch};rport\r\nMax-Forwards: 70\r\nFrom: <sip:test@127.0.0.1>;tag=t{branch}\r\nTo: <sip:dialtone@127.0.0.1>\r\nCall-ID: {branch}@127.0.0.1\r\nCSeq: 1 {cseq_method}\r\nContent-Length: 0\r\n\r\n"
    )
}

#[tokio::test]
async fn options_to_dialtone_get_200_with_allow_accept_supported() {
    let app = TestApp::start().await;
    let client = SipClient::new(app.sip_addr()).await;
    let answer = client
        .ask(&options("o1", "OPTIONS", "OPTIONS", client.local()))
        .await;
    assert!(answer.starts_with("SIP/2.0 200 OK\r\n"), "{answer}");
    for header in [
        "Allow: ",
        "Accept: ",
        "Supported:",
        "Call-ID: o1@127.0.0.1",
        "CSeq: 1 OPTIONS",
    ] {
        assert!(answer.contains(header), "{header} missing: {answer}");
    }
    assert!(
        answer.contains(&format!("rport={}", client.local().port())),
        "{answer}"
    );
    let to = answer.lines().find(|l| l.starts_with("To:")).unwrap();
    assert!(to.contains(";tag="), "{to}");
    // The product, not its version: a version tells a scanner which flaws to try.
    assert_eq!(
        crate::support::sip::header(&answer, "Server"),
        Some("dialtone"),
        "{answer}"
    );
}

#[tokio::test]
async fn an_operator_may_name_the_server_as_they_like() {
    let app = TestApp::start_with(|c| c.sip.user_agent = "acme-voice".into()).await;
    let client = SipClient::new(app.sip_addr()).await;
    let answer = client
        .ask(&options("o2", "OPTIONS", "OPTIONS", client.local()))
        .await;
    assert_eq!(
        crate::support::sip::header(&answer, "Server"),
        Some("acme-voice"),
        "{answer}"
    );
}

#[tokio::test]
async fn methods_not_served_get_405_unknown_get_501_broken_get_400() {
    let app = TestApp::start().await;
    let client = SipClient::new(app.sip_addr()).await;
    let local = client.local();
    let answer = client
        .ask(&options("m1", "SUBSCRIBE", "SUBSCRIBE", local))
        .await;
    assert!(answer.starts_with("SIP/2.0 405 "), "{answer}");
    assert!(answer.contains("Allow: OPTIONS"));
    let answer = client
        .ask(&options("m2", "FROBNICATE", "FROBNICATE", local))
        .await;
    assert!(answer.starts_with("SIP/2.0 501 "), "{answer}");
    let answer = client.ask(&options("m3", "OPTIONS", "INVITE", local)).await;
    assert!(answer.starts_with("SIP/2.0 400 "), "{answer}");
    assert!(answer.contains("CSeq method"), "{answer}");
    let no_call_id =
        options("m4", "OPTIONS", "OPTIONS", local).replace("Call-ID: m4@127.0.0.1\r\n", "");
    let answer = client.ask(&no_call_id).await;
    assert!(
        answer.starts_with("SIP/2.0 400 ") && answer.contains("Missing Call-ID"),
        "{answer}"
    );
    let short_body = options("m5", "OPTIONS", "OPTIONS", local)
        .replace("Content-Length: 0", "Content-Length: 50");
    let answer = client.ask(&short_body).await;
    assert!(answer.starts_with("SIP/2.0 400 "), "{answer}");
    let answer = client.ask(&options("m6", "CANCEL", "CANCEL", local)).await;
    assert!(answer.starts_with("SIP/2.0 481 "), "{answer}");
    // ACK is never answered.
    client
        .send(options("m7", "ACK", "ACK", local).as_bytes())
        .await;
    assert!(client.answer(Duration::from_millis(300)).await.is_none());
}

#[tokio::test]
async fn garbage_and_oversized_messages_are_dropped_and_the_listener_keeps_going() {
    let app = TestApp::start_with(|c| c.sip.max_message_bytes = 2048).await;
    let client = SipClient::new(app.sip_addr()).await;
    let local = client.local();
    for garbage in [
        b"\x00\x01\x02garbage".to_vec(),
        b"hello world\r\n\r\n".to_vec(),
        b"SIP/2.0 200 OK\r\n\r\n".to_vec(),
        vec![0xff; 1500],
        options("g1", "OPTIONS", "OPTIONS", local)
            .replace("Via: SIP/2.0/UDP", "X-Via: SIP")
            .into_bytes(),
        format!(
            "{}{}",
            options("g2", "OPTIONS", "OPTIONS", local),
            "x".repeat(4000)
        )
        .into_bytes(),
    ] {
        client.send(&garbage).await;
    }
    assert!(
        client.answer(Duration::from_millis(300)).await.is_none(),
        "nothing answerable"
    );
    let answer = client
        .ask(&options("g3", "OPTIONS", "OPTIONS", local))
        .await;
    assert!(
        answer.starts_with("SIP/2.0 200"),
        "still listening: {answer}"
    );
    let metrics = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("sip_parse_failures_total"), "{metrics}");
    assert!(
        metrics.contains("sip_messages_dropped_total{reason=\"too_large\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn retransmitted_requests_get_the_same_answer_once_handled() {
    let app = TestApp::start().await;
    let client = SipClient::new(app.sip_addr()).await;
    let request = options("r1", "OPTIONS", "OPTIONS", client.local());
    let first = client.ask(&request).await;
    let second = client.ask(&request).await;
    assert_eq!(first, second, "the stored response, same To tag");
    let other = client
        .ask(&options("r2", "OPTIONS", "OPTIONS", client.local()))
        .await;
    assert_ne!(first, other);
}

#[tokio::test]
async fn options_over_tcp_with_framing_and_keepalive() {
    let app = TestApp::start().await;
    let addr = app.state().sip.tcp_addrs()[0];
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let local = stream.local_addr().unwrap();
    let a = options("t1", "OPTIONS", "OPTIONS", local).replace("SIP/2.0/UDP", "SIP/2.0/TCP");
    let b = options("t2", "REGISTER", "REGISTER", local).replace("SIP/2.0/UDP", "SIP/2.0/TCP");
    // Two messages in one write, split at an awkward place, after a keep-alive.
    let both = format!("\r\n\r\n{a}{b}");
    let (head, tail) = both.as_bytes().split_at(both.len() - 7);
    stream.write_all(head).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    stream.write_all(tail).await.unwrap();
    let mut got = String::new();
    let mut buf = vec![0u8; 8192];
    let deadline = Instant::now() + Duration::from_secs(3);
    while !(got.contains("SIP/2.0 200") && got.contains("SIP/2.0 405")) && Instant::now() < deadline
    {
        let n = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "connection closed: {got}");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(got.starts_with("\r\n"), "keep-alive pong first: {got:?}");
    assert!(
        got.contains("SIP/2.0 200") && got.contains("SIP/2.0 405"),
        "{got}"
    );
}

/// What one read on `stream` brings (the endpoint writes each response in one piece).
async fn read_tcp_answer(stream: &mut TcpStream) -> String {
    let mut buf = vec![0u8; 8192];
    let n = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut buf))
        .await
        .expect("an answer in time")
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn tcp_garbage_gets_400_or_closes_only_its_connection_and_is_counted() {
    let app = TestApp::start().await;
    let addr = app.state().sip.tcp_addrs()[0];
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let local = stream.local_addr().unwrap();
    // Framed but broken: 400 naming the problem, and the connection stays.
    let broken = options("g1", "OPTIONS", "OPTIONS", local)
        .replace("SIP/2.0/UDP", "SIP/2.0/TCP")
        .replace("CSeq: 1 OPTIONS\r\n", "");
    stream.write_all(broken.as_bytes()).await.unwrap();
    let answer = read_tcp_answer(&mut stream).await;
    assert!(answer.starts_with("SIP/2.0 400 "), "{answer}");
    assert!(answer.contains("Missing CSeq"), "{answer}");
    // Unframeable: that connection is closed without an answer.
    stream
        .write_all(b"OPTIONS sip:x@h SIP/2.0\r\nContent-Length: many\r\n\r\n")
        .await
        .unwrap();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut rest)).await;
    assert!(matches!(closed, Ok(Ok(_))), "the connection is closed");
    assert!(!String::from_utf8_lossy(&rest).contains("SIP/2.0"));
    let metrics = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("sip_messages_dropped_total{reason=\"bad Content-Length\"}"),
        "{metrics}"
    );
    // A new connection is served.
    let mut again = TcpStream::connect(addr).await.unwrap();
    let local = again.local_addr().unwrap();
    let ok = options("g2", "OPTIONS", "OPTIONS", local).replace("SIP/2.0/UDP", "SIP/2.0/TCP");
    again.write_all(ok.as_bytes()).await.unwrap();
    assert!(
        read_tcp_answer(&mut again)
            .await
            .starts_with("SIP/2.0 200 ")
    );
}

/// A UDP peer that answers each request according to `reply(n)` (n counts from 0), recording when
/// each copy arrived.
struct Peer {
    addr: SocketAddr,
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl Peer {
    async fn start(reply: impl Fn(usize) -> Option<u16> + Send + 'static) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let seen = arrivals.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65_535];
            let mut n = 0;
            while let Ok((len, from)) = socket.recv_from(&mut buf).await {
                seen.lock().unwrap().push(Instant::now());
                let Some(request) = scan(&buf[..len]) else {
                    continue;
                };
                if let Some(code) = reply(n) {
                    let bytes = build_response(&request, code, from, "peer", Vec::new());
                    let _ = socket.send_to(&bytes, from).await;
                    if code >= 200 {
                        // A retransmitted final response must be absorbed.
                        let _ = socket.send_to(&bytes, from).await;
                    }
                }
                n += 1;
            }
        });
        Self { addr, arrivals }
    }

    fn destination(&self) -> Destination {
        Destination {
            addr: self.addr,
            transport: Transport::Udp,
        }
    }

    fn uri(&self) -> String {
        format!("sip:{}", self.addr)
    }

    fn count(&self) -> usize {
        self.arrivals.lock().unwrap().len()
    }
}

#[tokio::test]
async fn client_transaction_gets_the_final_response() {
    let app = TestApp::start().await;
    let sip = &app.state().sip;
    for code in [200u16, 503, 404] {
        let peer = Peer::start(move |_| Some(code)).await;
        let response = sip
            .request(peer.destination(), Method::Options, &peer.uri(), Vec::new())
            .await
            .unwrap();
        assert_eq!(response.code, code);
        assert_eq!(peer.count(), 1, "no retransmission once answered");
    }
    // Provisional first, final later: the final one is delivered.
    let peer = Peer::start(|n| if n == 0 { Some(100) } else { Some(200) }).await;
    let response = sip
        .request(peer.destination(), Method::Options, &peer.uri(), Vec::new())
        .await
        .unwrap();
    assert_eq!(response.code, 200);
}

#[tokio::test]
async fn client_transaction_retransmits_until_answered() {
    let app = TestApp::start().await;
    let peer = Peer::start(|n| (n >= 2).then_some(200)).await;
    let started = Instant::now();
    let response = app
        .state()
        .sip
        .request(peer.destination(), Method::Options, &peer.uri(), Vec::new())
        .await
        .unwrap();
    assert_eq!(response.code, 200);
    let arrivals: Vec<u128> = peer
        .arrivals
        .lock()
        .unwrap()
        .iter()
        .map(|t| (*t - started).as_millis())
        .collect();
    assert_eq!(arrivals.len(), 3, "{arrivals:?}");
    // Timer E: 500 ms, then 1000 ms more.
    assert!((400..800).contains(&arrivals[1]), "{arrivals:?}");
    assert!((1300..1900).contains(&arrivals[2]), "{arrivals:?}");
}

#[tokio::test]
async fn silent_peer_times_out_and_abandoned_transactions_are_forgotten() {
    let app = TestApp::start().await;
    let peer = Peer::start(|_| None).await;
    let sip = app.state().sip.clone();
    let waited = tokio::time::timeout(
        Duration::from_millis(1700),
        sip.request(peer.destination(), Method::Options, &peer.uri(), Vec::new()),
    )
    .await;
    assert!(waited.is_err(), "no answer yet");
    assert!(
        peer.count() >= 3,
        "retransmitted meanwhile: {}",
        peer.count()
    );
    assert_eq!(
        sip.transactions_in_flight(),
        0,
        "the abandoned transaction was dropped"
    );

    // Nothing listening: TCP connect fails fast with a transport error.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let result = sip
        .request(
            Destination {
                addr,
                transport: Transport::Tcp,
            },
            Method::Options,
            &format!("sip:{addr};transport=tcp"),
            Vec::new(),
        )
        .await;
    assert!(matches!(result, Err(SipError::Io(_))), "{result:?}");
}

#[tokio::test]
async fn client_transaction_over_tcp() {
    let app = TestApp::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, peer) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 8192];
        let n = stream.read(&mut buf).await.unwrap();
        let request = scan(&buf[..n]).unwrap();
        let bytes = build_response(&request, 200, peer, "tcp", Vec::new());
        stream.write_all(&bytes).await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
    });
    let response = app
        .state()
        .sip
        .request(
            Destination {
                addr,
                transport: Transport::Tcp,
            },
            Method::Options,
            &format!("sip:{addr};transport=tcp"),
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(response.code, 200);
    assert_eq!(status_code(&response.scan), Some(200));
}

#[tokio::test]
async fn ipv6_listener_answers_over_udp_and_tcp_and_pings_ipv6_peers() {
    if std::net::UdpSocket::bind("[::1]:0").is_err() {
        println!("skipped: no IPv6 loopback on this machine");
        return;
    }
    let app = TestApp::start_with(|c| {
        c.sip.listen = vec!["127.0.0.1:0".parse().unwrap(), "[::1]:0".parse().unwrap()];
    })
    .await;
    let v6 = *app
        .state()
        .sip
        .udp_addrs()
        .iter()
        .find(|a| a.is_ipv6())
        .unwrap();
    let socket = UdpSocket::bind("[::1]:0").await.unwrap();
    let local = socket.local_addr().unwrap();
    let request = options("v6", "OPTIONS", "OPTIONS", local)
        .replace(&local.to_string(), &format!("[::1]:{}", local.port()));
    socket.send_to(request.as_bytes(), v6).await.unwrap();
    let mut buf = vec![0u8; 8192];
    let (n, _) = tokio::time::timeout(Duration::from_secs(2), socket.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
    assert!(answer.contains("received=::1"), "{answer}");

    let tcp = *app
        .state()
        .sip
        .tcp_addrs()
        .iter()
        .find(|a| a.is_ipv6())
        .unwrap();
    let mut stream = TcpStream::connect(tcp).await.unwrap();
    stream
        .write_all(request.replace("SIP/2.0/UDP", "SIP/2.0/TCP").as_bytes())
        .await
        .unwrap();
    let n = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("SIP/2.0 200"));

    // And dialtone pings an IPv6 peer from its IPv6 socket.
    let peer = UdpSocket::bind("[::1]:0").await.unwrap();
    let peer_addr = peer.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 8192];
        let (n, from) = peer.recv_from(&mut buf).await.unwrap();
        let request = scan(&buf[..n]).unwrap();
        assert!(
            request.get("via").unwrap().contains("[::1]:"),
            "Via names the IPv6 socket"
        );
        let _ = peer
            .send_to(&build_response(&request, 200, from, "v6", Vec::new()), from)
            .await;
    });
    let response = app
        .state()
        .sip
        .request(
            Destination {
                addr: peer_addr,
                transport: Transport::Udp,
            },
            Method::Options,
            &format!("sip:[::1]:{}", peer_addr.port()),
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(response.code, 200);
}
