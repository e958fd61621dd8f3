//! Dial plans: policies and policy groups per organization, shipped templates, the compiler
//! (prefix trie), the evaluator and the SIP 302 redirect listener.

pub mod api;
pub mod channels;
pub mod classes;
pub mod compile;
pub mod error;
pub mod evaluate;
pub mod evaluation;
#[cfg(test)]
mod golden;
pub mod groups;
pub mod history;
mod instantiate;
pub mod model;
pub mod number;
pub mod pattern;
pub mod plan;
pub mod plans;
pub mod redirect;
pub mod service;
mod store;
pub mod templates;
pub mod trie;
pub mod window;

pub use error::EvaluationError;
pub use evaluation::{EvaluateRequest, decide};
