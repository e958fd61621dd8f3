//! The redirect listener's sockets and tasks: UDP receive loops, TCP connections framed by
//! Content-Length (the SIP stack's framer), and the one timer task for every transaction timer.
//! Nothing received can stop a loop.

use super::Listener;
use super::transaction::{Slot, Timer};
use crate::sip::SipError;
use crate::sip::consts::UDP_BUFFER;
use crate::sip::message::{Frame, frame};
use crate::sip::transport::{tcp, udp};
use crate::types::sip_uri::Transport;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Open TCP connections at most; past it new ones are closed at once.
const MAX_CONNECTIONS: usize = 10_000;

/// Binds UDP and TCP on the same address; with port 0, retries until both get the same port.
pub(super) fn bind_pair(addr: SocketAddr) -> Result<(UdpSocket, TcpListener), SipError> {
    let mut last_error = None;
    for _ in 0..20 {
        let socket = udp::bind(addr)?;
        let port = socket.local_addr()?.port();
        match tcp::bind(SocketAddr::new(addr.ip(), port)) {
            Ok(listener) => return Ok((socket, listener)),
            Err(e) if addr.port() == 0 => last_error = Some(e),
            Err(e) => return Err(e.into()),
        }
    }
    Err(last_error.map(SipError::Io).unwrap_or(SipError::Closed))
}

/// Receives datagrams until shutdown; several of these share one socket.
pub(super) async fn receive_loop(
    listener: Listener,
    socket: Arc<UdpSocket>,
    shutdown: CancellationToken,
) {
    let mut buf = vec![0u8; UDP_BUFFER];
    loop {
        let received = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = socket.recv_from(&mut buf) => r,
        };
        match received {
            Ok((len, source)) => {
                super::handle::handle(&listener, &buf[..len], source, Transport::Udp).await;
            }
            // ICMP port-unreachable surfaces here on Linux; it must not stop the listener.
            Err(e) => tracing::debug!(error = %e, "redirect: udp receive error"),
        }
    }
}

pub(super) async fn accept_loop(listener: Listener, tcp: TcpListener, shutdown: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            a = tcp.accept() => a,
        };
        match accepted {
            Ok((stream, _)) if listener.connection_count() >= MAX_CONNECTIONS => {
                metrics::counter!("redirect_dropped_total", "reason" => "too_many_connections")
                    .increment(1);
                drop(stream);
            }
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                tokio::spawn(connection(listener.clone(), stream, peer, shutdown.clone()));
            }
            Err(e) => {
                tracing::debug!(error = %e, "redirect: tcp accept error");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

impl Listener {
    fn connection_count(&self) -> usize {
        self.inner
            .connections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    fn register(&self, peer: SocketAddr, sender: mpsc::Sender<Arc<Vec<u8>>>) {
        self.inner
            .connections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(peer, sender);
    }

    fn unregister(&self, peer: SocketAddr, sender: &mpsc::Sender<Arc<Vec<u8>>>) {
        let mut map = self
            .inner
            .connections
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if map.get(&peer).is_some_and(|s| s.same_channel(sender)) {
            map.remove(&peer);
        }
    }
}

/// One accepted TCP connection: a writer task fed by a channel (so responses from timers and
/// other tasks reach it) and this reader, which frames and handles messages in order.
async fn connection(
    listener: Listener,
    stream: TcpStream,
    peer: SocketAddr,
    shutdown: CancellationToken,
) {
    let (mut reader, mut writer) = stream.into_split();
    let (sender, mut outgoing) = mpsc::channel::<Arc<Vec<u8>>>(256);
    listener.register(peer, sender.clone());
    let writer_shutdown = shutdown.clone();
    let writer_task = tokio::spawn(async move {
        loop {
            let next = tokio::select! {
                _ = writer_shutdown.cancelled() => break,
                n = outgoing.recv() => n,
            };
            let Some(bytes) = next else { break };
            if writer.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = writer.shutdown().await;
    });
    let max = listener.inner.state.config.sip.max_message_bytes;
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 16 * 1024];
    'read: loop {
        let read = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = tokio::time::timeout(IDLE_TIMEOUT, reader.read(&mut chunk)) => r,
        };
        let n = match read {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        loop {
            match frame(&buf, max) {
                Frame::Incomplete => break,
                Frame::KeepAlive(len) => {
                    // RFC 5626: a double-CRLF ping gets a single CRLF pong.
                    if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                        let _ = sender.try_send(Arc::new(b"\r\n".to_vec()));
                    }
                    buf.drain(..len);
                }
                Frame::Message(len) => {
                    let message: Vec<u8> = buf.drain(..len).collect();
                    super::handle::handle(&listener, &message, peer, Transport::Tcp).await;
                }
                Frame::Invalid(reason) => {
                    metrics::counter!("redirect_dropped_total", "reason" => reason).increment(1);
                    tracing::debug!(%peer, reason, "redirect: closing unframeable tcp stream");
                    break 'read;
                }
            }
        }
    }
    listener.unregister(peer, &sender);
    drop(sender);
    let _ = writer_task.await;
}

/// The one task that fires every transaction timer of the listener.
pub(super) async fn timer_loop(
    listener: Listener,
    mut commands: mpsc::UnboundedReceiver<(Slot, Timer, Instant)>,
    shutdown: CancellationToken,
) {
    use futures_util::StreamExt;
    let mut queue: tokio_util::time::DelayQueue<(Slot, Timer)> =
        tokio_util::time::DelayQueue::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            command = commands.recv() => {
                let Some((slot, timer, at)) = command else { return };
                queue.insert_at((slot, timer), at);
            }
            Some(expired) = queue.next(), if !queue.is_empty() => {
                let (slot, timer) = expired.into_inner();
                let effects = listener.inner.table.on_timer(&slot, timer, Instant::now());
                listener.apply(effects).await;
            }
        }
    }
}
