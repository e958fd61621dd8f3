//! The pure dial-plan engine: the vocabulary of policies ([`model`]), dial strings and patterns,
//! number classes per country, the shipped templates, the compiler into prefix tries, the
//! assembled installation-wide [`plan::Plan`] and the evaluator. No pool, no socket, no clock:
//! time, the network's state and randomness are passed in, so it is unit-tested and benchmarked
//! directly.

pub mod classes;
pub mod compile;
pub mod evaluate;
#[cfg(test)]
mod golden;
pub mod model;
pub mod number;
pub mod pattern;
pub mod plan;
pub mod schema;
pub mod templates;
pub mod trie;
pub mod window;
