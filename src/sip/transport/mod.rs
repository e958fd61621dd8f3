//! The wire, shared by every SIP service: a [`Sockets`] set (UDP sockets and TCP connections on
//! the same ports) whose receive loops hand each framed message to a [`RequestHandler`]. The
//! endpoint (pings, NOTIFY, answers to requests sent to us) and the redirect listener each bind
//! their own set, with their own transaction table behind their handler.

mod sockets;
pub mod tcp;
pub mod udp;

pub use sockets::Sockets;

use crate::types::sip_uri::Transport;
use std::future::Future;
use std::net::SocketAddr;

/// What a SIP service does with what arrives on its sockets. The receive loops are generic over
/// it (no boxing, no channel per message): a UDP datagram or a TCP message framed by
/// Content-Length is handed to [`RequestHandler::handle`] in the loop that read it, so messages
/// on one TCP connection are handled in order.
pub trait RequestHandler: Clone + Send + Sync + 'static {
    /// The sockets this handler's messages arrive on and its answers leave from.
    fn sockets(&self) -> &Sockets;

    /// One message as received (not yet parsed: garbage is the handler's to count and drop or
    /// answer 400). `source` is the peer; on TCP, answers go back on its connection.
    fn handle(
        &self,
        bytes: &[u8],
        source: SocketAddr,
        transport: Transport,
    ) -> impl Future<Output = ()> + Send;

    /// A TCP stream that cannot be framed (its connection is closed), for the handler's metrics.
    fn unframeable(&self, reason: &'static str);

    /// An inbound TCP connection closed at once because too many are open.
    fn connection_refused(&self);
}

/// Binds a socket address with `IPV6_V6ONLY` on IPv6, so `0.0.0.0:5060` and `[::]:5060` can be
/// bound side by side.
pub fn socket_for(addr: SocketAddr, kind: socket2::Type) -> std::io::Result<socket2::Socket> {
    let domain = socket2::Domain::for_address(addr);
    let socket = socket2::Socket::new(domain, kind, None)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok(socket)
}
