//! What one connection is doing, for its timers: waiting for a request, reading a request's
//! headers, or serving one. hyper's own `header_read_timeout` starts counting as soon as a
//! connection is ready for its next request, so on a kept-alive connection it is an idle timeout
//! too; ours tells the two apart (headers: from their first byte; idle: from the last answer).

use hyper::body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

/// Why a connection's timer closed it (the `reason` of `http_connections_timed_out_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// A request's headers did not arrive within the header timeout.
    Header,
    /// No request came within the idle timeout after the last answer.
    Idle,
}

impl Expiry {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Header => "header",
            Self::Idle => "idle",
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// No byte of the next request yet (`first`: the connection has had no request).
    Waiting { since: Instant, first: bool },
    /// Bytes of a request arrived; its headers are not complete yet.
    Head { since: Instant },
    /// Requests are being served (or their answers written).
    Busy { requests: usize },
}

/// The timers' view of one connection, shared by its socket, its service and its task.
#[derive(Debug)]
pub struct Activity {
    phase: Mutex<Phase>,
    /// Woken on every change of phase, so the connection's task re-arms its timer.
    pub changed: Notify,
    header: Duration,
    idle: Duration,
}

impl Activity {
    pub fn new(now: Instant, header: Duration, idle: Duration) -> Self {
        Self {
            phase: Mutex::new(Phase::Waiting {
                since: now,
                first: true,
            }),
            changed: Notify::new(),
            header,
            idle,
        }
    }

    fn set(&self, change: impl FnOnce(Phase) -> Phase) {
        let mut phase = self.phase.lock().unwrap_or_else(|p| p.into_inner());
        *phase = change(*phase);
        drop(phase);
        self.changed.notify_one();
    }

    /// Bytes arrived: if no request was under way, one starts. A first request is timed from
    /// the connection's start, so connecting early buys no time.
    pub fn bytes_read(&self, now: Instant) {
        let waiting = matches!(
            *self.phase.lock().unwrap_or_else(|p| p.into_inner()),
            Phase::Waiting { .. }
        );
        if waiting {
            self.set(|phase| match phase {
                Phase::Waiting { since, first: true } => Phase::Head { since },
                Phase::Waiting { first: false, .. } => Phase::Head { since: now },
                other => other,
            });
        }
    }

    /// A request's headers are in: it is served until the guard (kept by its answer) drops.
    pub fn begin(self: &Arc<Self>) -> Busy {
        self.set(|phase| match phase {
            Phase::Busy { requests } => Phase::Busy {
                requests: requests + 1,
            },
            _ => Phase::Busy { requests: 1 },
        });
        Busy(self.clone())
    }

    fn end(&self, now: Instant) {
        self.set(|phase| match phase {
            Phase::Busy { requests } if requests > 1 => Phase::Busy {
                requests: requests - 1,
            },
            _ => Phase::Waiting {
                since: now,
                first: false,
            },
        });
    }

    /// When the current phase runs out, and what that would be.
    pub fn deadline(&self) -> Option<(Instant, Expiry)> {
        match *self.phase.lock().unwrap_or_else(|p| p.into_inner()) {
            Phase::Waiting { since, first: true } | Phase::Head { since } => {
                Some((since + self.header, Expiry::Header))
            }
            Phase::Waiting {
                since,
                first: false,
            } => Some((since + self.idle, Expiry::Idle)),
            Phase::Busy { .. } => None,
        }
    }

    /// What ran out at `now`, if anything.
    pub fn expired(&self, now: Instant) -> Option<Expiry> {
        self.deadline()
            .filter(|(at, _)| *at <= now)
            .map(|(_, why)| why)
    }
}

/// Held while a request is served; its drop (when hyper drops the answer's body, i.e. once the
/// body is written, or the request is abandoned) starts the idle timer.
#[derive(Debug)]
pub struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.end(Instant::now());
    }
}

/// A response body that keeps its request's [`Busy`] guard until hyper is done with it.
pub struct Tracked<B> {
    body: B,
    _busy: Busy,
}

impl<B> Tracked<B> {
    pub fn new(body: B, busy: Busy) -> Self {
        Self { body, _busy: busy }
    }
}

impl<B: Body + Unpin> Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A connection's socket that tells its [`Activity`] when bytes arrive.
pub struct Watched<T> {
    io: T,
    activity: Arc<Activity>,
}

impl<T> Watched<T> {
    pub fn new(io: T, activity: Arc<Activity>) -> Self {
        Self { io, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.io).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.bytes_read(Instant::now());
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: Duration = Duration::from_secs(10);
    const IDLE: Duration = Duration::from_secs(60);

    #[test]
    fn a_first_request_is_timed_from_the_connection_and_later_ones_from_their_first_byte() {
        let t0 = Instant::now();
        let activity = Arc::new(Activity::new(t0, HEADER, IDLE));
        assert_eq!(activity.deadline(), Some((t0 + HEADER, Expiry::Header)));
        // Connecting early buys no time: the first byte does not restart the clock.
        activity.bytes_read(t0 + Duration::from_secs(8));
        assert_eq!(activity.deadline(), Some((t0 + HEADER, Expiry::Header)));
        assert_eq!(activity.expired(t0 + HEADER), Some(Expiry::Header));
        let busy = activity.begin();
        assert_eq!(
            activity.deadline(),
            None,
            "a request being served has no timer"
        );
        // Bytes of the body (or of a pipelined request) change nothing while busy.
        activity.bytes_read(t0 + Duration::from_secs(9));
        assert_eq!(activity.deadline(), None);
        drop(busy);
        let (idle_until, why) = activity.deadline().unwrap();
        assert_eq!(why, Expiry::Idle);
        let answered = idle_until - IDLE;
        assert_eq!(
            activity.expired(answered + IDLE - Duration::from_secs(1)),
            None
        );
        // The next request's headers get their own time, from their first byte.
        activity.bytes_read(answered + Duration::from_secs(30));
        assert_eq!(
            activity.deadline(),
            Some((answered + Duration::from_secs(30) + HEADER, Expiry::Header))
        );
    }

    #[test]
    fn pipelined_requests_keep_the_connection_busy_until_the_last_answer() {
        let activity = Arc::new(Activity::new(Instant::now(), HEADER, IDLE));
        let first = activity.begin();
        let second = activity.begin();
        drop(first);
        assert_eq!(activity.deadline(), None);
        drop(second);
        assert_eq!(activity.deadline().map(|(_, why)| why), Some(Expiry::Idle));
    }
}
