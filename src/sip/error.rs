//! The SIP stack's own small error type (not HTTP's): what can go wrong sending a request.

/// Why a SIP operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SipError {
    #[error("transport: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot parse SIP message: {0}")]
    Parse(String),
    #[error("no response (transaction timed out)")]
    TimedOut,
    #[error("cannot resolve {0}")]
    Resolve(String),
    #[error("endpoint is shutting down")]
    Closed,
}
