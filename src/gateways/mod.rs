//! SIP trunks, their gateways and allowed source IPs, and the OPTIONS pinger that keeps every
//! gateway's health.

pub mod api;
pub mod health;
pub mod model;
pub mod ping_api;
pub mod pinger;
mod service;
mod store;

pub use model::{
    Direction, Gateway, GatewayView, HealthSummary, HealthView, Trunk, TrunkIp, TrunkView,
    health_view,
};
pub use service::*;
pub use store::TrunkFilter;
