//! Cross-cutting system services: audit log, change feed, metrics, health, logging, encrypted secrets.

pub mod audit;
pub mod changes;
pub mod events;
pub mod health;
pub mod logging;
pub mod metrics;
pub mod secrets;
