//! The first look at what arrived: refused when too large, a keep-alive, unparseable, or a
//! scanned message with its line endings normalized; and whether a header value's quotes balance.

use super::{Scan, head_end, scan};

/// What arrived on a listener, after the checks every listener makes before it looks closer.
pub enum Intake<'a> {
    /// Longer than the configured maximum.
    TooLarge,
    /// Only whitespace: a UDP keep-alive, nothing to answer.
    KeepAlive,
    /// No start line and headers to read.
    Unparseable,
    /// A message: its bytes with line endings normalized, and their scan.
    Message(std::borrow::Cow<'a, [u8]>, Scan),
}

/// Sorts `bytes` into an [`Intake`]: refused when over `max_bytes`, a keep-alive, unparseable,
/// or a scanned message.
pub fn intake(bytes: &[u8], max_bytes: usize) -> Intake<'_> {
    if bytes.len() > max_bytes {
        return Intake::TooLarge;
    }
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Intake::KeepAlive;
    }
    let normalized = normalize_line_endings(bytes);
    match scan(normalized.as_ref()) {
        Some(scan) => Intake::Message(normalized, scan),
        None => Intake::Unparseable,
    }
}

/// Rewrites bare-LF line ends of the header section to CRLF (some embedded stacks send LF only;
/// RFC 3261 §7 asks us to be liberal), leaving the body untouched.
pub fn normalize_line_endings(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let Some(end) = head_end(bytes) else {
        return std::borrow::Cow::Borrowed(bytes);
    };
    let head = &bytes[..end];
    let bare_lf = head
        .iter()
        .enumerate()
        .any(|(i, b)| *b == b'\n' && (i == 0 || head[i - 1] != b'\r'));
    if !bare_lf {
        return std::borrow::Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len() + 32);
    for (i, b) in head.iter().enumerate() {
        if *b == b'\n' && (i == 0 || head[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(*b);
    }
    out.extend_from_slice(&bytes[end..]);
    std::borrow::Cow::Owned(out)
}

/// Whether the double quotes of a header value pair up (backslash escapes honoured).
pub fn quotes_balanced(value: &str) -> bool {
    let mut open = false;
    let mut escaped = false;
    for c in value.chars() {
        match c {
            '\\' if open && !escaped => {
                escaped = true;
                continue;
            }
            '"' if !escaped => open = !open,
            _ => {}
        }
        escaped = false;
    }
    !open
}
