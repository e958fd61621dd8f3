//! How many connections a listener holds open, in all and per client address, and the slot a
//! connection keeps while it is open. A client address is an IPv4 address or an IPv6 /64 (one
//! host usually has a whole /64, so counting single IPv6 addresses would cap nothing).

use ipnet::IpNet;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};

/// Why a connection was refused (the `reason` of `http_connections_refused_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The listener holds `max_connections` already.
    Total,
    /// This client address holds `max_connections_per_address` already.
    PerAddress,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Total => "total",
            Self::PerAddress => "per_address",
        }
    }
}

/// The caps; `None` is no cap.
#[derive(Debug, Clone, Default)]
pub struct Caps {
    pub total: Option<usize>,
    pub per_address: Option<usize>,
    /// Peers not held to the per-address cap (reverse proxies carry many clients each); they
    /// still count towards the total.
    pub uncapped: Arc<[IpNet]>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// The open connections of one listener.
#[derive(Debug, Clone, Default)]
pub struct Open {
    caps: Caps,
    counts: Arc<Mutex<Counts>>,
}

/// An open connection's place in the counts, given back when it drops.
#[derive(Debug)]
pub struct Slot {
    counts: Arc<Mutex<Counts>>,
    address: Option<IpAddr>,
}

impl Open {
    pub fn new(caps: Caps) -> Self {
        Self {
            caps,
            counts: Arc::default(),
        }
    }

    /// A slot for a connection from `peer`, or why there is none.
    pub fn admit(&self, peer: IpAddr) -> Result<Slot, Refusal> {
        let peer = peer.to_canonical();
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if self.caps.total.is_some_and(|cap| counts.total >= cap) {
            return Err(Refusal::Total);
        }
        let address = match self.caps.per_address {
            Some(cap) if !self.caps.uncapped.iter().any(|net| net.contains(&peer)) => {
                let address = client_address(peer);
                if counts.by_address.get(&address).copied().unwrap_or(0) >= cap {
                    return Err(Refusal::PerAddress);
                }
                *counts.by_address.entry(address).or_insert(0) += 1;
                Some(address)
            }
            _ => None,
        };
        counts.total += 1;
        Ok(Slot {
            counts: self.counts.clone(),
            address,
        })
    }

    /// Connections open now.
    #[cfg(test)]
    pub fn total(&self) -> usize {
        self.counts.lock().unwrap_or_else(|p| p.into_inner()).total
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.total = counts.total.saturating_sub(1);
        if let Some(address) = self.address
            && let Some(n) = counts.by_address.get_mut(&address)
        {
            *n -= 1;
            if *n == 0 {
                counts.by_address.remove(&address);
            }
        }
    }
}

/// The address a connection is counted under: IPv4 as it is, IPv6 by its /64.
fn client_address(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V4(_) => peer,
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_cap_per_address_refuses_the_next_and_a_closed_one_frees_its_slot() {
        let open = Open::new(Caps {
            total: Some(10),
            per_address: Some(2),
            uncapped: Arc::from(vec!["10.0.0.0/8".parse::<IpNet>().unwrap()]),
        });
        let a = open.admit(ip("192.0.2.1")).unwrap();
        let _b = open.admit(ip("192.0.2.1")).unwrap();
        assert_eq!(
            open.admit(ip("192.0.2.1")).unwrap_err(),
            Refusal::PerAddress
        );
        // The same client over IPv4-mapped IPv6 is the same address.
        assert_eq!(
            open.admit(ip("::ffff:192.0.2.1")).unwrap_err(),
            Refusal::PerAddress
        );
        let _other = open.admit(ip("192.0.2.2")).unwrap();
        drop(a);
        let _again = open.admit(ip("192.0.2.1")).unwrap();
        // A trusted proxy carries many clients: only the total holds it.
        let proxied: Vec<Slot> = (0..7)
            .map(|_| open.admit(ip("10.1.2.3")).unwrap())
            .collect();
        assert_eq!(open.total(), 10);
        assert_eq!(open.admit(ip("10.1.2.3")).unwrap_err(), Refusal::Total);
        assert_eq!(open.admit(ip("192.0.2.9")).unwrap_err(), Refusal::Total);
        drop(proxied);
        assert_eq!(open.total(), 3);
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let open = Open::new(Caps {
            total: None,
            per_address: Some(1),
            uncapped: Arc::from(Vec::new()),
        });
        let _a = open.admit(ip("2001:db8:1:2::1")).unwrap();
        assert_eq!(
            open.admit(ip("2001:db8:1:2:ffff::9")).unwrap_err(),
            Refusal::PerAddress
        );
        let _b = open.admit(ip("2001:db8:1:3::1")).unwrap();
    }
}
