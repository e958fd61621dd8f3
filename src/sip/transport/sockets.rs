//! One service's socket set: a UDP socket and a TCP listener on the same port for every listen
//! address, the open TCP connections, the size limit and the shutdown token, and the tasks that
//! receive on them for a [`RequestHandler`].

use super::tcp::{self, Connections};
use super::{RequestHandler, udp};
use crate::sip::SipError;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A service's bound sockets (cheap to share: the service's handle holds it).
pub struct Sockets {
    udp: Vec<Arc<UdpSocket>>,
    tcp_addrs: Vec<SocketAddr>,
    connections: Connections,
    max_message_bytes: usize,
    shutdown: CancellationToken,
}

/// TCP listeners bound by [`Sockets::bind`], not yet accepting: [`Sockets::start`] takes them
/// once the handler that owns the sockets exists.
pub struct Pending(Vec<TcpListener>);

impl Sockets {
    /// Binds every address on UDP and TCP (an ephemeral port 0 gets the same port on both).
    pub fn bind(
        addrs: &[SocketAddr],
        max_message_bytes: usize,
        shutdown: CancellationToken,
    ) -> Result<(Self, Pending), SipError> {
        let mut udp = Vec::new();
        let mut listeners = Vec::new();
        for addr in addrs {
            let (socket, listener) = bind_pair(*addr)?;
            udp.push(Arc::new(socket));
            listeners.push(listener);
        }
        let tcp_addrs = listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect();
        let sockets = Self {
            udp,
            tcp_addrs,
            connections: Connections::default(),
            max_message_bytes,
            shutdown,
        };
        Ok((sockets, Pending(listeners)))
    }

    /// Starts `handler`'s receive loops: `udp_workers` per UDP socket and one accept loop per
    /// TCP listener. They stop when the sockets' shutdown token is cancelled.
    pub fn start<H: RequestHandler>(
        handler: &H,
        pending: Pending,
        udp_workers: usize,
    ) -> Vec<JoinHandle<()>> {
        let mut tasks = Vec::new();
        for socket in &handler.sockets().udp {
            for _ in 0..udp_workers.max(1) {
                tasks.push(tokio::spawn(udp::receive_loop(
                    handler.clone(),
                    socket.clone(),
                )));
            }
        }
        for listener in pending.0 {
            tasks.push(tokio::spawn(tcp::accept_loop(handler.clone(), listener)));
        }
        tasks
    }

    /// The bound UDP addresses (the TCP listeners use the same ports).
    pub fn udp_addrs(&self) -> Vec<SocketAddr> {
        self.udp
            .iter()
            .filter_map(|s| s.local_addr().ok())
            .collect()
    }

    pub fn tcp_addrs(&self) -> &[SocketAddr] {
        &self.tcp_addrs
    }

    pub fn connections(&self) -> &Connections {
        &self.connections
    }

    pub fn max_message_bytes(&self) -> usize {
        self.max_message_bytes
    }

    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// The UDP socket of `dest`'s address family.
    pub fn udp_socket_for(&self, dest: SocketAddr) -> Option<&Arc<UdpSocket>> {
        self.udp
            .iter()
            .find(|s| s.local_addr().is_ok_and(|l| l.is_ipv4() == dest.is_ipv4()))
    }

    /// Sends a datagram from the socket of `dest`'s address family.
    pub async fn send_udp(&self, dest: SocketAddr, bytes: &[u8]) -> Result<(), SipError> {
        let socket = self.udp_socket_for(dest).ok_or_else(|| {
            SipError::Io(std::io::Error::new(
                std::io::ErrorKind::AddrNotAvailable,
                "no UDP socket for that address family",
            ))
        })?;
        socket.send_to(bytes, dest).await?;
        Ok(())
    }
}

/// Binds UDP and TCP on the same address; with port 0, retries until both get the same port.
fn bind_pair(addr: SocketAddr) -> Result<(UdpSocket, TcpListener), SipError> {
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
