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
pub use service::{
    DEFAULT_FAILURES_TO_DOWN, DEFAULT_SUCCESSES_TO_UP, GatewayInput, GatewayUpdate, MAX_CHANNELS,
    MAX_GATEWAYS, NewTrunk, PING_INTERVALS, PingTarget, THRESHOLDS, TrunkUpdate, add_gateway,
    add_ip, all_trunk_ips, all_trunks, create, delete, delete_gateway, delete_ip,
    gateways_in_scope, hold_trunk, list, list_ips, ping_targets, trunk, trunk_gateway, update,
    update_gateway, visible_gateway, visible_trunk,
};
pub use store::TrunkFilter;
