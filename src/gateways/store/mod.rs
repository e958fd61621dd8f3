//! SQL of trunks, gateways and trunk IPs, and of the health the pinger shares. Rows come back as
//! typed models: a stored value its type refuses is a [`crate::types::column::Corrupt`] error
//! naming the row, never a default.

pub mod gateways;
pub mod ips;
pub mod pinger;
pub mod trunks;
