//! UDP: one socket per listen address, one or more receive loops per socket.

use super::RequestHandler;
use crate::sip::consts::UDP_BUFFER;
use crate::types::sip_uri::Transport;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::UdpSocket;

pub fn bind(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let socket = super::socket_for(addr, socket2::Type::DGRAM)?;
    // Room for bursts: 10,000 gateways answering within a second.
    let _ = socket.set_recv_buffer_size(4 * 1024 * 1024);
    UdpSocket::from_std(socket.into())
}

/// Receives until the handler's sockets shut down; every datagram goes to the handler, nothing
/// received can stop the loop. Several loops may share one socket.
pub async fn receive_loop<H: RequestHandler>(handler: H, socket: Arc<UdpSocket>) {
    let shutdown = handler.sockets().shutdown_token();
    let mut buf = vec![0u8; UDP_BUFFER];
    loop {
        let received = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = socket.recv_from(&mut buf) => r,
        };
        match received {
            Ok((len, source)) => handler.handle(&buf[..len], source, Transport::Udp).await,
            // ICMP port-unreachable surfaces here on Linux; it must not stop the listener.
            Err(e) => tracing::debug!(error = %e, "udp receive error"),
        }
    }
}
