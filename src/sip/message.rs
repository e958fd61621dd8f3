//! SIP messages on the wire: a tolerant scanner for the parts every response needs (so even a
//! request rsipstack refuses can get its 400/501), the TCP framer, and builders of the requests
//! and responses dialtone sends, made with rsipstack's `sip` types.

use super::consts::BRANCH_COOKIE;
use rsipstack::sip::{self as rsip, Header, Headers, Method, StatusCode, Uri, Version};
use std::net::SocketAddr;

mod arrival;
mod framing;

pub use arrival::{Intake, intake, normalize_line_endings, quotes_balanced};
pub use framing::{Frame, frame};

/// The header section of a message, unfolded, with compact names expanded and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    pub start_line: String,
    pub headers: Vec<(String, String)>,
    /// Offset of the body in the scanned bytes.
    pub body_start: usize,
}

/// Expands RFC 3261 §7.3.3 compact header names.
pub fn canonical_name(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    let full = match lower.as_str() {
        "v" => "via",
        "f" => "from",
        "t" => "to",
        "i" => "call-id",
        "m" => "contact",
        "l" => "content-length",
        "c" => "content-type",
        "k" => "supported",
        "e" => "content-encoding",
        "s" => "subject",
        "o" => "event",
        "r" => "refer-to",
        "u" => "allow-events",
        "b" => "referred-by",
        "x" => "session-expires",
        _ => return lower,
    };
    full.to_string()
}

/// Where the header section ends: the index just past the blank line.
fn head_end(bytes: &[u8]) -> Option<usize> {
    let crlf = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4);
    let lf = bytes.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Scans the start line and headers; `None` when there is no complete, UTF-8 header section.
pub fn scan(bytes: &[u8]) -> Option<Scan> {
    let end = head_end(bytes)?;
    let head = std::str::from_utf8(&bytes[..end]).ok()?;
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let start_line = lines.next()?.trim().to_string();
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            // Folded continuation of the previous header (RFC 3261 §7.3.1).
            let (_, value) = headers.last_mut()?;
            value.push(' ');
            value.push_str(line.trim());
            continue;
        }
        let (name, value) = line.split_once(':')?;
        if name.trim().is_empty() || name.contains(' ') && name.trim().contains(' ') {
            return None;
        }
        headers.push((canonical_name(name), value.trim().to_string()));
    }
    Some(Scan {
        start_line,
        headers,
        body_start: end,
    })
}

impl Scan {
    /// The first value of a header (by canonical lower-case name).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// All values of a header, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Content-Length as a number; `Err` when present but not a number.
    pub fn content_length(&self) -> Result<Option<usize>, std::num::ParseIntError> {
        self.get("content-length")
            .map(|v| v.trim().parse())
            .transpose()
    }

    /// The method token of a request line (`None` for a status line or garbage).
    pub fn request_method(&self) -> Option<&str> {
        let mut parts = self.start_line.split(' ');
        let method = parts.next()?;
        let _uri = parts.next()?;
        let version = parts.next()?;
        let token = !method.is_empty()
            && method
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b));
        (token && version.eq_ignore_ascii_case("SIP/2.0") && parts.next().is_none())
            .then_some(method)
    }
}

/// A new RFC 3261 branch (`z9hG4bK` + 64 random bits).
pub fn new_branch() -> String {
    format!("{BRANCH_COOKIE}{:016x}", rand::random::<u64>())
}

/// A random tag or Call-ID part.
pub fn new_token() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// `host:port` of a socket address as it goes in a Via sent-by (IPv6 in brackets).
pub fn host_port(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(v4) => v4.to_string(),
        SocketAddr::V6(v6) => format!("[{}]:{}", v6.ip(), v6.port()),
    }
}

/// What an outgoing out-of-dialog request needs.
pub struct OutgoingRequest<'a> {
    pub method: Method,
    pub request_uri: &'a str,
    pub transport: &'a str,
    pub local: SocketAddr,
    pub branch: &'a str,
    pub call_id: &'a str,
    pub from_tag: &'a str,
    pub cseq: u32,
    pub user_agent: &'a str,
    pub extra: Vec<Header>,
}

/// Builds an out-of-dialog request (OPTIONS, NOTIFY …) with rsipstack's types.
pub fn build_request(req: &OutgoingRequest<'_>) -> Result<Vec<u8>, rsip::Error> {
    let uri = Uri::try_from(req.request_uri)?;
    let local = host_port(req.local);
    let method = req.method.to_string();
    let mut headers = Headers::default();
    headers.push(Header::Via(rsip::Via::new(format!(
        "SIP/2.0/{} {local};branch={};rport",
        req.transport, req.branch
    ))));
    headers.push(Header::MaxForwards(rsip::MaxForwards::new("70")));
    headers.push(Header::From(rsip::From::new(format!(
        "<sip:dialtone@{local}>;tag={}",
        req.from_tag
    ))));
    headers.push(Header::To(rsip::To::new(format!("<{}>", req.request_uri))));
    headers.push(Header::CallId(rsip::CallId::new(req.call_id)));
    headers.push(Header::CSeq(rsip::CSeq::new(format!(
        "{} {method}",
        req.cseq
    ))));
    headers.push(Header::UserAgent(rsip::UserAgent::new(req.user_agent)));
    for header in &req.extra {
        headers.push(header.clone());
    }
    headers.push(Header::ContentLength(rsip::ContentLength::new("0")));
    Ok(rsip::Request {
        method: req.method,
        uri,
        version: Version::V2,
        headers,
        body: Vec::new(),
    }
    .to_bytes())
}

/// Builds a response to a scanned request: Via (with `received`/`rport` filled in for the top
/// one), From, To (tagged), Call-ID and CSeq copied; `extra` headers added.
pub fn build_response(
    request: &Scan,
    code: u16,
    source: SocketAddr,
    to_tag: &str,
    extra: Vec<Header>,
) -> Vec<u8> {
    let mut headers = Headers::default();
    for (i, via) in request.all("via").enumerate() {
        let value = if i == 0 {
            stamp_via(via, source)
        } else {
            via.to_string()
        };
        headers.push(Header::Via(rsip::Via::new(value)));
    }
    if let Some(from) = request.get("from") {
        headers.push(Header::From(rsip::From::new(from)));
    }
    if let Some(to) = request.get("to") {
        let tagged = if to.to_ascii_lowercase().contains(";tag=") || code == 100 {
            to.to_string()
        } else {
            format!("{to};tag={to_tag}")
        };
        headers.push(Header::To(rsip::To::new(tagged)));
    }
    if let Some(call_id) = request.get("call-id") {
        headers.push(Header::CallId(rsip::CallId::new(call_id)));
    }
    if let Some(cseq) = request.get("cseq") {
        headers.push(Header::CSeq(rsip::CSeq::new(cseq)));
    }
    headers.extend(extra);
    headers.push(Header::ContentLength(rsip::ContentLength::new("0")));
    rsip::Response {
        status_code: StatusCode::from(code),
        wire_reason: None,
        version: Version::V2,
        headers,
        body: Vec::new(),
    }
    .to_bytes()
}

/// Adds `received` (and the port to a bare `rport`) to the top Via, as RFC 3261 §18.2.1 and
/// RFC 3581 ask, so the response finds its way back through NAT.
fn stamp_via(via: &str, source: SocketAddr) -> String {
    // Only the first entry of a comma-joined Via is ours to stamp.
    let (first, rest) = match split_first_via(via) {
        Some((a, b)) => (a, Some(b)),
        None => (via, None),
    };
    let mut params: Vec<String> = first.split(';').map(str::to_string).collect();
    let mut has_received = false;
    for param in params.iter_mut().skip(1) {
        let name = param
            .split('=')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if name == "rport" {
            *param = format!("rport={}", source.port());
        } else if name == "received" {
            has_received = true;
        }
    }
    if !has_received {
        params.push(format!("received={}", source.ip()));
    }
    let stamped = params.join(";");
    match rest {
        Some(rest) => format!("{stamped}, {rest}"),
        None => stamped,
    }
}

/// Splits `a, b` at the first comma outside quotes and brackets.
fn split_first_via(via: &str) -> Option<(&str, &str)> {
    let mut quoted = false;
    let mut depth = 0i32;
    for (i, c) in via.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '[' | '<' if !quoted => depth += 1,
            ']' | '>' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => return Some((via[..i].trim(), via[i + 1..].trim())),
            _ => {}
        }
    }
    None
}

/// The branch parameter of the top Via of a scanned message.
pub fn top_branch(scan: &Scan) -> Option<String> {
    let via = scan.get("via")?;
    let first = split_first_via(via).map_or(via, |(a, _)| a);
    first.split(';').skip(1).find_map(|p| {
        let (name, value) = p.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("branch")
            .then(|| value.trim().to_string())
    })
}

/// The sent-by of the top Via (`host[:port]`), for server transaction matching.
pub fn top_sent_by(scan: &Scan) -> Option<String> {
    let via = scan.get("via")?;
    let first = split_first_via(via).map_or(via, |(a, _)| a);
    let proto_and_host = first.split(';').next()?;
    proto_and_host
        .split_whitespace()
        .nth(1)
        .map(str::to_ascii_lowercase)
}

/// Where a UDP response goes (RFC 3261 §18.2.2, RFC 3581): the source address when the top Via
/// asks for `rport` (NAT), otherwise the source IP at the sent-by port (default 5060).
pub fn udp_reply_addr(scan: &Scan, source: SocketAddr) -> SocketAddr {
    let Some(via) = scan.get("via") else {
        return source;
    };
    let first = split_first_via(via).map_or(via, |(a, _)| a);
    let mut params = first.split(';');
    let sent_by = params.next().and_then(|p| p.split_whitespace().nth(1));
    if params.any(|p| {
        p.split('=')
            .next()
            .is_some_and(|n| n.trim().eq_ignore_ascii_case("rport"))
    }) {
        return source;
    }
    let port = sent_by
        .and_then(sent_by_port)
        .filter(|p| *p != 0)
        .unwrap_or(5060);
    SocketAddr::new(source.ip(), port)
}

/// The port of a sent-by (`host`, `host:port`, `[v6]`, `[v6]:port`), if it names one.
fn sent_by_port(sent_by: &str) -> Option<u16> {
    let port = match sent_by.strip_prefix('[') {
        Some(v6) => v6.split_once(']')?.1.strip_prefix(':')?,
        None => sent_by.split_once(':')?.1,
    };
    port.parse().ok()
}

/// The CSeq number and method of a scanned message.
pub fn cseq(scan: &Scan) -> Option<(u32, String)> {
    let value = scan.get("cseq")?;
    let mut parts = value.split_whitespace();
    let number = parts.next()?.parse().ok()?;
    let method = parts.next()?.to_ascii_uppercase();
    parts.next().is_none().then_some((number, method))
}

/// The status code of a response's status line.
pub fn status_code(scan: &Scan) -> Option<u16> {
    let mut parts = scan.start_line.splitn(3, ' ');
    let version = parts.next()?;
    let code: u16 = parts.next()?.parse().ok()?;
    (version.eq_ignore_ascii_case("SIP/2.0") && (100..=699).contains(&code)).then_some(code)
}

/// Everything that reads bytes off the wire, in one call: the fuzz target's entry point (and the
/// stable-Rust mutation test's). It must never panic, whatever the input.
pub fn fuzz_one(data: &[u8]) {
    let _ = frame(data, 65_535);
    let normalized = normalize_line_endings(data);
    let data = normalized.as_ref();
    if let Some(scanned) = scan(data) {
        let _ = scanned.request_method();
        let _ = status_code(&scanned);
        let _ = scanned.content_length();
        let _ = top_branch(&scanned);
        let _ = top_sent_by(&scanned);
        let _ = cseq(&scanned);
        for (_, value) in &scanned.headers {
            let _ = quotes_balanced(value);
        }
        let source = SocketAddr::from(([127, 0, 0, 1], 5060));
        let _ = build_response(&scanned, 400, source, "fuzz", Vec::new());
    }
    let _ = rsip::SipMessage::try_from(data);
}

#[cfg(test)]
mod tests;
