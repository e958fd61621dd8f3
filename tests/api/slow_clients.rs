//! Slow and greedy clients on the API listener: headers dribbled a line at a time are cut off by
//! the header timeout while the daemon keeps answering everyone else, a kept-alive connection
//! is let go after the idle timeout (not the header timeout), and one address past its cap of
//! open connections is answered 503 with `Retry-After` until it closes one.

use crate::support::TestApp;
use reqwest::StatusCode;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const REQUEST: &[u8] =
    b"GET /healthz HTTP/1.1\r\nHost: dialtone\r\nAccept: application/json\r\n\r\n";

/// Reads one answer of a kept-alive connection (the test routes answer with a length).
async fn read_answer(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("an answer within 5 s")
            .expect("read");
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&answer);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_string)
                })
                .and_then(|v| v.trim().parse::<usize>().ok());
            if length.is_some_and(|len| body.len() >= len) {
                break;
            }
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// Waits until the server closes `stream` (EOF or reset); how long that took.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 256];
    loop {
        match tokio::time::timeout(limit, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => continue,
            Err(_) => panic!("still open after {limit:?}"),
        }
    }
}

/// A client sending a header line every `every` and never finishing; resolves to how long the
/// server kept it.
async fn dribble(addr: SocketAddr, every: Duration) -> Duration {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let mut line = 0u32;
    loop {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => return started.elapsed(),
                Ok(_) => panic!("a dribbling client got an answer"),
            },
            _ = tokio::time::sleep(every) => {
                line += 1;
                if stream.write_all(format!("X-Slow-{line}: still here\r\n").as_bytes()).await.is_err() {
                    return started.elapsed();
                }
            }
        }
        assert!(started.elapsed() < Duration::from_secs(20), "never dropped");
    }
}

#[tokio::test]
async fn dribbled_headers_are_cut_off_while_everyone_else_is_served() {
    let app = TestApp::start_with(|c| {
        c.http.header_read_timeout_s = 2;
        c.http.max_connections_per_address = 1000;
    })
    .await;
    let slow: Vec<_> = (0..150)
        .map(|_| tokio::spawn(dribble(app.addr, Duration::from_millis(500))))
        .collect();
    // Meanwhile normal requests are answered, and quickly.
    let anonymous = app.anonymous();
    let started = Instant::now();
    let mut served = 0;
    while started.elapsed() < Duration::from_millis(2500) {
        let asked = Instant::now();
        let (status, _) = anonymous.get("/healthz").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            asked.elapsed() < Duration::from_secs(1),
            "slow answer: {:?}",
            asked.elapsed()
        );
        served += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served >= 10, "{served} answers");
    for client in slow {
        let kept = client.await.unwrap();
        assert!(
            (Duration::from_millis(1800)..Duration::from_secs(5)).contains(&kept),
            "a dribbling client was kept {kept:?} with a 2 s header timeout"
        );
    }
    let metrics = app.http.get(app.url("/metrics")).send().await.unwrap();
    let text = metrics.text().await.unwrap();
    let timed_out: f64 = text
        .lines()
        .find(|l| {
            l.starts_with("http_connections_timed_out_total")
                && l.contains("listener=\"api\"")
                && l.contains("reason=\"header\"")
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no header time-outs counted:\n{text}"));
    assert!(timed_out >= 150.0, "{timed_out}");
    let (status, _) = anonymous.get("/healthz").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_kept_alive_connection_waits_the_idle_timeout_not_the_header_timeout() {
    let app = TestApp::start_with(|c| {
        c.http.header_read_timeout_s = 1;
        c.http.idle_timeout_s = 3;
    })
    .await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream.write_all(REQUEST).await.unwrap();
    assert!(read_answer(&mut stream).await.starts_with("HTTP/1.1 200"));
    // Longer than the header timeout: still open, and the next request is answered.
    tokio::time::sleep(Duration::from_millis(1800)).await;
    stream.write_all(REQUEST).await.unwrap();
    assert!(read_answer(&mut stream).await.starts_with("HTTP/1.1 200"));
    let kept = closed_within(&mut stream, Duration::from_secs(6)).await;
    assert!(
        (Duration::from_millis(2500)..Duration::from_millis(4500)).contains(&kept),
        "closed {kept:?} after the last answer with a 3 s idle timeout"
    );
}

#[tokio::test]
async fn one_address_past_its_cap_is_answered_503_until_it_closes_a_connection() {
    let app = TestApp::start_with(|c| c.http.max_connections_per_address = 5).await;
    let mut held = Vec::new();
    for _ in 0..5 {
        let mut stream = TcpStream::connect(app.addr).await.unwrap();
        // Answered, so admitted: the cap counts it from here.
        stream.write_all(REQUEST).await.unwrap();
        assert!(read_answer(&mut stream).await.starts_with("HTTP/1.1 200"));
        held.push(stream);
    }
    let mut sixth = TcpStream::connect(app.addr).await.unwrap();
    sixth.write_all(REQUEST).await.unwrap();
    let answer = read_answer(&mut sixth).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(lower.contains("\r\nretry-after: 1\r\n"), "{answer}");
    assert!(
        lower.contains("\r\ncontent-type: application/json\r\n"),
        "{answer}"
    );
    let body: serde_json::Value =
        serde_json::from_str(answer.split_once("\r\n\r\n").unwrap().1).unwrap();
    assert_eq!(body["code"], 503);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Too many connections from your address"),
        "{body}"
    );
    closed_within(&mut sixth, Duration::from_secs(3)).await;
    // reqwest from the same address is refused too, in the default XML shape.
    let refused = reqwest::Client::new()
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers()["content-type"], "application/xml");
    assert!(refused.text().await.unwrap().contains("<code>503</code>"));
    // One closed: its slot is free again.
    drop(held.pop());
    let started = Instant::now();
    loop {
        let mut next = TcpStream::connect(app.addr).await.unwrap();
        next.write_all(REQUEST).await.unwrap();
        let answer = read_answer(&mut next).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(3), "{answer}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
