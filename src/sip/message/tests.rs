//! Unit tests of the scanner, framer and builders, and a torture corpus in the spirit of RFC 4475:
//! tricky-but-valid messages must scan and parse; invalid ones must be refused without a panic.

use super::*;

const OPTIONS: &str = "OPTIONS sip:gw.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKabc;rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:ping@127.0.0.1>;tag=1\r\n\
To: <sip:gw.example.com>\r\n\
Call-ID: c1@127.0.0.1\r\n\
CSeq: 7 OPTIONS\r\n\
Content-Length: 0\r\n\r\n";

/// Valid but awkward messages (compact forms, folding, comma-joined Via, phone Contact params,
/// IPv6 references, escaped URIs, odd whitespace, long values, LF-only line ends).
fn tricky_valid() -> Vec<(&'static str, String)> {
    vec![
        ("plain", OPTIONS.to_string()),
        (
            "compact headers",
            "OPTIONS sip:gw.example.com SIP/2.0\r\nv: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\nf: <sip:a@127.0.0.1>;tag=2\r\nt: <sip:gw.example.com>\r\ni: compact@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nl: 0\r\n\r\n".into(),
        ),
        (
            "folded header",
            "OPTIONS sip:gw.example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070\r\n ;branch=z9hG4bK2\r\nFrom: <sip:a@127.0.0.1>\r\n\t;tag=3\r\nTo: <sip:gw.example.com>\r\nCall-ID: folded@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n".into(),
        ),
        (
            "comma-joined Via",
            "OPTIONS sip:gw.example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK3, SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK4\r\nFrom: <sip:a@127.0.0.1>;tag=4\r\nTo: <sip:gw.example.com>\r\nCall-ID: vias@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n".into(),
        ),
        (
            "phone contact params",
            "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK5;rport\r\nFrom: <sip:100@127.0.0.1>;tag=5\r\nTo: <sip:100@127.0.0.1>\r\nCall-ID: reg@127.0.0.1\r\nCSeq: 1 REGISTER\r\nContact: <sip:100@127.0.0.1:5070;transport=udp>;reg-id=1;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-0004f2a1b2c3>\";expires=3600\r\nContent-Length: 0\r\n\r\n".into(),
        ),
        (
            "IPv6 references",
            "OPTIONS sip:[::1]:5060 SIP/2.0\r\nVia: SIP/2.0/UDP [::1]:5070;branch=z9hG4bK6\r\nFrom: <sip:a@[::1]>;tag=6\r\nTo: <sip:[::1]>\r\nCall-ID: v6@[::1]\r\nCSeq: 1 OPTIONS\r\nContact: <sip:a@[::1]:5070>\r\nContent-Length: 0\r\n\r\n".into(),
        ),
        (
            "escaped user and display name",
            "OPTIONS sip:%61lice@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK7\r\nFrom: \"J. Smith \\\"Jr\\\"\" <sip:j%20s@127.0.0.1>;tag=7\r\nTo: <sip:%61lice@127.0.0.1>\r\nCall-ID: esc@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n".into(),
        ),
        (
            "unusual whitespace",
            "OPTIONS sip:gw.example.com SIP/2.0\r\nVia:    SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK8   \r\nFrom:<sip:a@127.0.0.1>;tag=8\r\nTo:   <sip:gw.example.com>\r\nCall-ID:ws@127.0.0.1\r\nCSeq:   1    OPTIONS\r\nContent-Length:   0\r\n\r\n".into(),
        ),
        (
            "long header value",
            format!(
                "OPTIONS sip:gw.example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK9\r\nFrom: <sip:a@127.0.0.1>;tag=9\r\nTo: <sip:gw.example.com>\r\nCall-ID: long@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nX-Long: {}\r\nContent-Length: 0\r\n\r\n",
                "x".repeat(4000)
            ),
        ),
        (
            "LF-only line ends",
            OPTIONS.replace("\r\n", "\n"),
        ),
        (
            "body with content length",
            "MESSAGE sip:gw.example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK10\r\nFrom: <sip:a@127.0.0.1>;tag=10\r\nTo: <sip:gw.example.com>\r\nCall-ID: body@127.0.0.1\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello".into(),
        ),
    ]
}

#[test]
fn tricky_valid_messages_scan_and_parse() {
    for (name, text) in tricky_valid() {
        let scan = scan(text.as_bytes()).unwrap_or_else(|| panic!("{name}: scan"));
        assert!(scan.request_method().is_some(), "{name}: request line");
        assert!(top_branch(&scan).is_some(), "{name}: branch");
        assert!(cseq(&scan).is_some(), "{name}: cseq");
        let normalized = normalize_line_endings(text.as_bytes());
        assert!(
            rsipstack::sip::Request::try_from(normalized.as_ref()).is_ok(),
            "{name}: rsipstack refused it"
        );
        for header in ["from", "to", "contact"] {
            for value in scan.all(header) {
                assert!(quotes_balanced(value), "{name}: {header}");
            }
        }
    }
}

#[test]
fn scanner_expands_compact_names_unfolds_and_keeps_all_vias() {
    let valid = tricky_valid();
    let compact = scan(valid[1].1.as_bytes()).unwrap();
    assert_eq!(compact.get("call-id"), Some("compact@127.0.0.1"));
    assert_eq!(compact.get("content-length"), Some("0"));
    let folded = scan(valid[2].1.as_bytes()).unwrap();
    assert_eq!(
        folded.get("via"),
        Some("SIP/2.0/UDP 127.0.0.1:5070 ;branch=z9hG4bK2")
    );
    assert_eq!(top_branch(&folded).as_deref(), Some("z9hG4bK2"));
    let vias = scan(valid[3].1.as_bytes()).unwrap();
    assert_eq!(
        top_branch(&vias).as_deref(),
        Some("z9hG4bK3"),
        "top entry of a joined Via"
    );
    assert_eq!(top_sent_by(&vias).as_deref(), Some("127.0.0.1:5070"));
}

/// Invalid messages: each is refused by the scanner, the start-line check, the mandatory-header
/// check or rsipstack — and none panics.
#[test]
fn invalid_messages_are_refused_without_panicking() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("no blank line", b"OPTIONS sip:a SIP/2.0\r\nVia: x".to_vec()),
        (
            "binary",
            vec![0xff, 0xfe, 0x00, 0x13, b'\r', b'\n', b'\r', b'\n'],
        ),
        (
            "bad version",
            OPTIONS
                .replace("SIP/2.0\r\nVia", "SIP/3.0\r\nVia")
                .into_bytes(),
        ),
        ("no method", b" sip:a SIP/2.0\r\n\r\n".to_vec()),
        (
            "header without colon",
            OPTIONS
                .replace("Max-Forwards: 70", "Max-Forwards 70")
                .into_bytes(),
        ),
        (
            "unterminated quote",
            OPTIONS
                .replace(
                    "From: <sip:ping@127.0.0.1>",
                    "From: \"Bob <sip:ping@127.0.0.1>",
                )
                .into_bytes(),
        ),
        (
            "bad content length",
            OPTIONS
                .replace("Content-Length: 0", "Content-Length: zero")
                .into_bytes(),
        ),
        ("status line garbage", b"SIP/2.0 abc OK\r\n\r\n".to_vec()),
        (
            "folding at start",
            b"OPTIONS sip:a SIP/2.0\r\n continuation\r\n\r\n".to_vec(),
        ),
    ];
    for (name, bytes) in cases {
        let refused = match scan(&bytes) {
            None => true,
            Some(s) => {
                s.request_method().is_none() && status_code(&s).is_none()
                    || s.content_length().is_err()
                    || s.headers.iter().any(|(_, v)| !quotes_balanced(v))
                    || rsipstack::sip::SipMessage::try_from(bytes.as_slice()).is_err()
            }
        };
        assert!(refused, "{name} was accepted");
    }
}

#[test]
fn huge_values_do_not_panic() {
    let huge = format!(
        "OPTIONS sip:a SIP/2.0\r\nVia: {}\r\n\r\n",
        "v".repeat(200_000)
    );
    let _ = scan(huge.as_bytes());
    let _ = rsipstack::sip::SipMessage::try_from(huge.as_bytes());
    let many = format!(
        "OPTIONS sip:a SIP/2.0\r\n{}\r\n",
        "X-A: b\r\n".repeat(20_000)
    );
    let _ = scan(many.as_bytes());
}

#[test]
fn tcp_framing_by_content_length() {
    let two = format!("{OPTIONS}{OPTIONS}");
    assert_eq!(frame(two.as_bytes(), 65_535), Frame::Message(OPTIONS.len()));
    assert_eq!(frame(&two.as_bytes()[..10], 65_535), Frame::Incomplete);
    let with_body = tricky_valid().pop().unwrap().1;
    assert_eq!(
        frame(with_body.as_bytes(), 65_535),
        Frame::Message(with_body.len())
    );
    assert_eq!(
        frame(&with_body.as_bytes()[..with_body.len() - 2], 65_535),
        Frame::Incomplete
    );
    assert_eq!(frame(b"\r\n\r\nOPTIONS", 65_535), Frame::KeepAlive(4));
    let bad = OPTIONS.replace("Content-Length: 0", "Content-Length: x");
    assert!(matches!(frame(bad.as_bytes(), 65_535), Frame::Invalid(_)));
    assert!(matches!(
        frame(&vec![b'a'; 70_000], 65_535),
        Frame::Invalid(_)
    ));
    let big = OPTIONS.replace("Content-Length: 0", "Content-Length: 999999");
    assert!(matches!(frame(big.as_bytes(), 65_535), Frame::Invalid(_)));
}

#[test]
fn built_requests_round_trip_through_rsipstack() {
    let bytes = build_request(&OutgoingRequest {
        method: Method::Options,
        request_uri: "sip:gw.example.com:5080;transport=tcp",
        transport: "TCP",
        local: "[::1]:5060".parse().unwrap(),
        branch: "z9hG4bKtest",
        call_id: "call@dialtone",
        from_tag: "tag1",
        cseq: 1,
        user_agent: "dialtone/test",
        extra: Vec::new(),
    })
    .unwrap();
    let parsed = rsipstack::sip::Request::try_from(bytes.as_slice()).unwrap();
    assert_eq!(parsed.method, Method::Options);
    let scanned = scan(&bytes).unwrap();
    assert_eq!(top_branch(&scanned).as_deref(), Some("z9hG4bKtest"));
    assert_eq!(top_sent_by(&scanned).as_deref(), Some("[::1]:5060"));
    assert_eq!(cseq(&scanned), Some((1, "OPTIONS".into())));
}

#[test]
fn responses_copy_the_dialog_headers_and_stamp_the_top_via() {
    let valid = tricky_valid();
    let request = scan(valid[3].1.as_bytes()).unwrap();
    let source: SocketAddr = "127.0.0.9:40000".parse().unwrap();
    let bytes = build_response(&request, 200, source, "srv", Vec::new());
    let parsed = rsipstack::sip::Response::try_from(bytes.as_slice()).unwrap();
    assert_eq!(parsed.status_code.code(), 200);
    let response = scan(&bytes).unwrap();
    let via = response.get("via").unwrap();
    assert!(
        via.starts_with("SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK3;received=127.0.0.9"),
        "{via}"
    );
    assert!(
        via.contains("127.0.0.2:5060;branch=z9hG4bK4"),
        "second Via kept: {via}"
    );
    assert_eq!(response.get("to"), Some("<sip:gw.example.com>;tag=srv"));
    assert_eq!(response.get("call-id"), Some("vias@127.0.0.1"));
    assert_eq!(status_code(&response), Some(200));

    let rport = scan(OPTIONS.as_bytes()).unwrap();
    let bytes = build_response(&rport, 405, source, "srv", Vec::new());
    let via = scan(&bytes).unwrap().get("via").unwrap().to_string();
    assert!(
        via.contains("rport=40000") && via.contains("received=127.0.0.9"),
        "{via}"
    );
}

#[test]
fn line_endings_are_normalised_only_in_the_head() {
    let text = b"OPTIONS sip:a SIP/2.0\nVia: x\n\nbody\nline";
    let out = normalize_line_endings(text);
    assert_eq!(
        &out[..],
        b"OPTIONS sip:a SIP/2.0\r\nVia: x\r\n\r\nbody\nline"
    );
    assert!(matches!(
        normalize_line_endings(OPTIONS.as_bytes()),
        std::borrow::Cow::Borrowed(_)
    ));
    assert!(quotes_balanced(r#""J. \"Jr\"" <sip:a@b>"#));
    assert!(!quotes_balanced(r#""Bob <sip:a@b>"#));
}

/// A stable-Rust stand-in for the fuzzer: mutates the corpus (bit flips, truncation, splices,
/// inserted separators) and feeds every variant to the wire entry point.
#[test]
fn mutated_corpus_never_panics() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(4475);
    let corpus: Vec<Vec<u8>> = tricky_valid()
        .into_iter()
        .map(|(_, t)| t.into_bytes())
        .collect();
    let separators: [&[u8]; 6] = [b"\r\n", b"\n", b":", b";", b",", b"\""];
    for round in 0..20_000 {
        let mut bytes = corpus[round % corpus.len()].clone();
        for _ in 0..rng.random_range(1..6) {
            if bytes.is_empty() {
                break;
            }
            let at = rng.random_range(0..bytes.len());
            match rng.random_range(0..5) {
                0 => bytes[at] ^= 1 << rng.random_range(0..8),
                1 => bytes.truncate(at),
                2 => {
                    let sep = separators[rng.random_range(0..separators.len())];
                    bytes.splice(at..at, sep.iter().copied());
                }
                3 => {
                    let other = &corpus[rng.random_range(0..corpus.len())];
                    let from = rng.random_range(0..other.len());
                    bytes.splice(at..at, other[from..].iter().copied().take(64));
                }
                _ => {
                    bytes.remove(at);
                }
            }
        }
        fuzz_one(&bytes);
    }
}

#[test]
fn udp_replies_go_to_rport_or_the_sent_by_port() {
    let source: SocketAddr = "127.0.0.9:40000".parse().unwrap();
    let with_rport = scan(OPTIONS.as_bytes()).unwrap();
    assert_eq!(udp_reply_addr(&with_rport, source), source);
    let plain = OPTIONS.replace(";rport", "");
    assert_eq!(
        udp_reply_addr(&scan(plain.as_bytes()).unwrap(), source),
        "127.0.0.9:5070".parse().unwrap()
    );
    let no_port = plain.replace("127.0.0.1:5070", "host.example");
    assert_eq!(
        udp_reply_addr(&scan(no_port.as_bytes()).unwrap(), source),
        "127.0.0.9:5060".parse().unwrap()
    );
    let v6 = plain.replace("127.0.0.1:5070", "[::1]:5071");
    assert_eq!(
        udp_reply_addr(&scan(v6.as_bytes()).unwrap(), source),
        "127.0.0.9:5071".parse().unwrap()
    );
    let v6_bare = plain.replace("127.0.0.1:5070", "[::1]");
    assert_eq!(
        udp_reply_addr(&scan(v6_bare.as_bytes()).unwrap(), source),
        "127.0.0.9:5060".parse().unwrap()
    );
}
