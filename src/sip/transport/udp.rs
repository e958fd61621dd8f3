//! UDP: one socket per listen address, one receive loop per socket.

use crate::sip::Endpoint;
use crate::sip::consts::UDP_BUFFER;
use crate::types::sip_uri::Transport;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

pub fn bind(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let socket = super::socket_for(addr, socket2::Type::DGRAM)?;
    // Room for bursts: 10,000 gateways answering within a second.
    let _ = socket.set_recv_buffer_size(4 * 1024 * 1024);
    UdpSocket::from_std(socket.into())
}

/// Receives until shutdown; every datagram goes to the endpoint, nothing here can stop the loop.
pub async fn receive_loop(endpoint: Endpoint, socket: Arc<UdpSocket>, shutdown: CancellationToken) {
    let mut buf = vec![0u8; UDP_BUFFER];
    let local = socket.local_addr().ok();
    loop {
        let received = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = socket.recv_from(&mut buf) => r,
        };
        match received {
            Ok((len, source)) => {
                endpoint
                    .on_bytes(&buf[..len], source, Transport::Udp, local)
                    .await;
            }
            Err(e) => {
                // ICMP port-unreachable surfaces here on Linux; it must not stop the listener.
                tracing::debug!(error = %e, "udp receive error");
            }
        }
    }
}
