//! dialtone: the control plane of a VoIP service, as a library the binary and the tests share.

pub mod auth;
pub mod config;
pub mod daemon;
pub mod db;
pub mod devices;
pub mod dialplan;
pub mod error;
pub mod gateways;
pub mod http;
pub mod numbers;
pub mod orgs;
pub mod sip;
pub mod state;
pub mod system;
pub mod types;

pub use config::Config;
pub use error::Error;
