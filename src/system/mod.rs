//! Cross-cutting system services: supervised jobs and their queue, audit log, metrics, health,
//! logging, encrypted secrets.

pub mod audit;
pub mod events;
pub mod health;
pub mod jobs;
pub mod logging;
pub mod metrics;
pub mod secrets;
