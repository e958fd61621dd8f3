//! RFC 3261 timer values and the stack's limits, in one place.

use std::time::Duration;

/// RTT estimate (RFC 3261 §17.1.1.1).
pub const T1: Duration = Duration::from_millis(500);
/// Maximum retransmit interval for non-INVITE requests.
pub const T2: Duration = Duration::from_secs(4);
/// Maximum time a message stays in the network.
pub const T4: Duration = Duration::from_secs(5);
/// Timer F: non-INVITE client transaction timeout (64·T1).
pub const TIMER_F: Duration = Duration::from_secs(32);
/// Timer H: how long a Completed INVITE server transaction waits for the ACK (64·T1).
pub const TIMER_H: Duration = TIMER_F;
/// Timer K on unreliable transports: how long a completed client transaction absorbs retransmitted
/// responses (T4; 0 on TCP).
pub const TIMER_K_UNRELIABLE: Duration = T4;
/// Timer J on unreliable transports: how long a completed server transaction answers retransmitted
/// requests with its stored response (64·T1; 0 on TCP).
pub const TIMER_J_UNRELIABLE: Duration = TIMER_F;
/// RFC 3261 branch magic cookie.
pub const BRANCH_COOKIE: &str = "z9hG4bK";
/// Largest UDP datagram we read; a bigger SIP message over UDP is truncated, so it is dropped.
pub const UDP_BUFFER: usize = 65_535;
