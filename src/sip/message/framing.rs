//! Framing SIP over a TCP stream: one message at the front of the buffer, by Content-Length.

use super::{head_end, scan};

/// The outcome of looking for one message at the front of a TCP stream buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// More bytes are needed.
    Incomplete,
    /// A keep-alive (RFC 5626 CRLF) of this many bytes to discard.
    KeepAlive(usize),
    /// A whole message of this many bytes.
    Message(usize),
    /// The stream cannot be parsed further; close it.
    Invalid(&'static str),
}

/// Finds the next message in a TCP buffer, framed by Content-Length (RFC 3261 §18.3).
pub fn frame(buf: &[u8], max_bytes: usize) -> Frame {
    let blank = buf
        .iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count();
    if blank > 0 {
        return Frame::KeepAlive(blank);
    }
    let Some(end) = head_end(buf) else {
        return if buf.len() > max_bytes {
            Frame::Invalid("header section too large")
        } else {
            Frame::Incomplete
        };
    };
    let Some(scan) = scan(&buf[..end]) else {
        return Frame::Invalid("unreadable header section");
    };
    let length = match scan.content_length() {
        Ok(Some(n)) => n,
        Ok(None) => 0,
        Err(_) => return Frame::Invalid("bad Content-Length"),
    };
    let total = end.saturating_add(length);
    if total > max_bytes {
        Frame::Invalid("message too large")
    } else if buf.len() < total {
        Frame::Incomplete
    } else {
        Frame::Message(total)
    }
}
