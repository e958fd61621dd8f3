//! SIP trunks, their gateways and allowed source IPs, and the OPTIONS pinger that keeps every
//! gateway's health.

pub mod health;
