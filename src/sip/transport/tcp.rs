//! TCP: a listener, and connections (accepted or opened by us) each with a reader framing
//! messages by Content-Length and a writer fed by a channel. Connections are kept by peer address
//! so responses and later requests reuse them.

use super::RequestHandler;
use crate::sip::SipError;
use crate::sip::message::{Frame, frame};
use crate::types::sip_uri::Transport;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Open connections at most; past it new inbound connections are closed at once, so a client
/// holding sockets open cannot exhaust the daemon's file descriptors.
const MAX_CONNECTIONS: usize = 10_000;

/// Open connections by peer address.
#[derive(Default)]
pub struct Connections {
    by_peer: Mutex<HashMap<SocketAddr, mpsc::Sender<Arc<Vec<u8>>>>>,
}

impl Connections {
    pub(crate) fn get(&self, peer: SocketAddr) -> Option<mpsc::Sender<Arc<Vec<u8>>>> {
        let map = self.by_peer.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&peer).filter(|s| !s.is_closed()).cloned()
    }

    fn insert(&self, peer: SocketAddr, sender: mpsc::Sender<Arc<Vec<u8>>>) {
        self.by_peer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(peer, sender);
    }

    /// Forgets `peer`'s connection, but only if it is still the one `sender` feeds (a newer
    /// connection to the same peer stays).
    fn remove(&self, peer: SocketAddr, sender: &mpsc::Sender<Arc<Vec<u8>>>) {
        let mut map = self.by_peer.lock().unwrap_or_else(|p| p.into_inner());
        if map.get(&peer).is_some_and(|s| s.same_channel(sender)) {
            map.remove(&peer);
        }
    }

    pub fn len(&self) -> usize {
        self.by_peer.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = super::socket_for(addr, socket2::Type::STREAM)?;
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
}

/// Accepts connections until the handler's sockets shut down; each gets its reader and writer.
pub async fn accept_loop<H: RequestHandler>(handler: H, listener: TcpListener) {
    let shutdown = handler.sockets().shutdown_token();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, _)) if handler.sockets().connections().len() >= MAX_CONNECTIONS => {
                handler.connection_refused();
                drop(stream);
            }
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                start_connection(handler.clone(), stream, peer);
            }
            Err(e) => {
                tracing::debug!(error = %e, "tcp accept error");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Sends `bytes` to `peer`, opening a connection if none is open (its reader hands what comes
/// back to `handler`).
pub async fn send<H: RequestHandler>(
    handler: &H,
    peer: SocketAddr,
    bytes: Arc<Vec<u8>>,
) -> Result<(), SipError> {
    let sender = match handler.sockets().connections().get(peer) {
        Some(sender) => sender,
        None => {
            let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(peer))
                .await
                .map_err(|_| {
                    SipError::Io(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "tcp connect timed out",
                    ))
                })??;
            let _ = stream.set_nodelay(true);
            start_connection(handler.clone(), stream, peer)
        }
    };
    sender.send(bytes).await.map_err(|_| closed())
}

/// Sends `bytes` on the connection open to `peer`, never opening one.
pub async fn reply(
    connections: &Connections,
    peer: SocketAddr,
    bytes: Arc<Vec<u8>>,
) -> Result<(), SipError> {
    let sender = connections.get(peer).ok_or_else(closed)?;
    sender.send(bytes).await.map_err(|_| closed())
}

fn closed() -> SipError {
    SipError::Io(std::io::Error::new(
        std::io::ErrorKind::BrokenPipe,
        "tcp connection closed",
    ))
}

fn start_connection<H: RequestHandler>(
    handler: H,
    stream: TcpStream,
    peer: SocketAddr,
) -> mpsc::Sender<Arc<Vec<u8>>> {
    let shutdown = handler.sockets().shutdown_token();
    let (mut reader, mut writer) = stream.into_split();
    let (sender, mut outgoing) = mpsc::channel::<Arc<Vec<u8>>>(256);
    handler.sockets().connections().insert(peer, sender.clone());
    let registered = sender.clone();
    let writer_shutdown = shutdown.clone();
    tokio::spawn(async move {
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
    tokio::spawn(async move {
        let max = handler.sockets().max_message_bytes();
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
                        // RFC 5626: answer a double-CRLF ping with a single CRLF pong.
                        if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                            let _ = registered.try_send(Arc::new(b"\r\n".to_vec()));
                        }
                        buf.drain(..len);
                    }
                    Frame::Message(len) => {
                        let message: Vec<u8> = buf.drain(..len).collect();
                        handler.handle(&message, peer, Transport::Tcp).await;
                    }
                    Frame::Invalid(reason) => {
                        handler.unframeable(reason);
                        tracing::debug!(%peer, reason, "closing unframeable tcp stream");
                        break 'read;
                    }
                }
            }
        }
        handler.sockets().connections().remove(peer, &registered);
    });
    sender
}
