//! SIP trunks, their gateways and allowed source IPs, and the OPTIONS pinger that keeps every
//! gateway's health.

pub mod api;
pub mod health;
pub mod model;
pub mod ping_api;
pub mod pinger;
mod service;
mod store;
pub mod views;

pub use model::{Direction, Gateway, IpDescription, Trunk, TrunkIp, TrunkName};
pub use service::gateways::{add_gateway, delete_gateway, update_gateway};
pub use service::ips::{add_ip, all_trunk_ips, delete_ip, list_ips};
pub use service::targets::{PingTarget, ping_targets};
pub use service::tenancy::{gateways_in_scope, trunk_gateway, visible_gateway, visible_trunk};
pub use service::trunks::{
    NewTrunk, TrunkUpdate, all_trunks, create, delete, hold_trunk, list, trunk,
};
pub use service::validate::{GatewayInput, GatewayUpdate};
pub use service::{
    DEFAULT_FAILURES_TO_DOWN, DEFAULT_SUCCESSES_TO_UP, MAX_CHANNELS, MAX_GATEWAYS, PING_INTERVALS,
    THRESHOLDS,
};
pub use store::trunks::TrunkFilter;
pub use views::{GatewayView, HealthSummary, HealthView, TrunkView, health_view};
