//! One OPTIONS round trip through dialtone's own message code, as the pinger and the inbound
//! handler run it (no sockets, no transaction tables):
//!
//! 1. build the OPTIONS request (`build_request`), as `Endpoint::request` does;
//! 2. parse it back as the gateway side would in dialtone (`scan` + `rsip::Request::try_from`);
//! 3. build the 200 (`build_response`, Via stamped with received/rport) and parse it as the
//!    pinger does on the way back (`scan` + `status_code` + `top_branch` + `cseq`, plus the
//!    `rsip::Response::try_from` check `inbound::on_response` makes).
//!
//! `cargo bench --bench sip_options`; criterion prints the time per iteration, i.e. ns per round
//! trip, and also each step on its own.

use criterion::{Criterion, criterion_group, criterion_main};
use dialtone::sip::message::{self, OutgoingRequest};
use rsipstack::sip::{self as rsip, Method};
use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Duration;

const LOCAL: ([u8; 4], u16) = ([127, 0, 0, 1], 5060);
const GATEWAY_URI: &str = "sip:127.0.0.1:20000";
const BRANCH: &str = "z9hG4bK5f1e2d3c4b5a6978";
const CALL_ID: &str = "0123456789abcdef@dialtone";
const FROM_TAG: &str = "fedcba9876543210";

fn build_options() -> Vec<u8> {
    message::build_request(&OutgoingRequest {
        method: Method::Options,
        request_uri: black_box(GATEWAY_URI),
        transport: "UDP",
        local: SocketAddr::from(LOCAL),
        branch: black_box(BRANCH),
        call_id: black_box(CALL_ID),
        from_tag: black_box(FROM_TAG),
        cseq: 1,
        user_agent: "dialtone",
        extra: Vec::new(),
    })
    .expect("OPTIONS builds")
}

/// The gateway's side: parse the request; returns the scan the response is built from.
fn parse_request(bytes: &[u8]) -> message::Scan {
    let scan = message::scan(bytes).expect("request scans");
    assert_eq!(scan.request_method(), Some("OPTIONS"));
    let request = rsip::Request::try_from(bytes).expect("rsipstack parses the request");
    black_box(&request);
    scan
}

fn build_ok(scan: &message::Scan) -> Vec<u8> {
    let source = SocketAddr::from(LOCAL);
    message::build_response(scan, 200, source, "0a1b2c3d", Vec::new())
}

/// The pinger's side: what `inbound::handle` + `on_response` read off a response.
fn parse_response(bytes: &[u8]) -> (u16, String, u32) {
    let scan = message::scan(bytes).expect("response scans");
    let code = message::status_code(&scan).expect("status line");
    assert!(rsip::Response::try_from(bytes).is_ok());
    let branch = message::top_branch(&scan).expect("branch");
    let (cseq, method) = message::cseq(&scan).expect("cseq");
    debug_assert_eq!(method, "OPTIONS");
    (code, branch, cseq)
}

fn round_trip() -> (u16, String, u32) {
    let request = build_options();
    let scan = parse_request(&request);
    let response = build_ok(&scan);
    parse_response(&response)
}

fn bench(c: &mut Criterion) {
    // Sanity: the round trip keeps the branch and answers 200.
    let (code, branch, cseq) = round_trip();
    assert_eq!((code, branch.as_str(), cseq), (200, BRANCH, 1));

    let request = build_options();
    let scan = parse_request(&request);
    let response = build_ok(&scan);

    let mut group = c.benchmark_group("sip_options");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50);
    group.bench_function("round_trip", |b| b.iter(|| black_box(round_trip())));
    group.bench_function("build_request", |b| b.iter(|| black_box(build_options())));
    group.bench_function("parse_request", |b| {
        b.iter(|| black_box(parse_request(black_box(&request))))
    });
    group.bench_function("build_response", |b| {
        b.iter(|| black_box(build_ok(black_box(&scan))))
    });
    group.bench_function("parse_response", |b| {
        b.iter(|| black_box(parse_response(black_box(&response))))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
