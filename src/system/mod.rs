//! Cross-cutting system services: supervised jobs and their queue, the change feed, audit log,
//! metrics, health, logging, encrypted secrets, API keys, webhooks, sequences, QR codes, call
//! queues, retention and legal holds.

pub mod apikeys;
pub mod audit;
pub mod changes;
pub mod events;
pub mod health;
pub mod jobs;
pub mod legalholds;
pub mod logging;
pub mod metrics;
pub mod qrcode;
pub mod queues;
pub mod retention;
pub mod secrets;
pub mod sequences;
pub mod webhooks;
