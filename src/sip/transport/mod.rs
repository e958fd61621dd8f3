//! The wire: UDP sockets and TCP connections, both feeding received bytes to the endpoint.

pub mod tcp;
pub mod udp;

use std::net::SocketAddr;

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
