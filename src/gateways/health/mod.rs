//! Gateway health: which reply codes count as alive, the per-gateway state machine that turns
//! probe outcomes into up/down with hysteresis (pure, time passed in), and the registry that
//! holds every gateway's current health.

mod alive;
mod machine;
mod registry;

pub use alive::{AliveCodes, DEFAULT_ALIVE};
pub use machine::{GatewayHealth, HISTORY, Outcome, Policy, Probe, State, Transition};
pub use registry::Registry;
