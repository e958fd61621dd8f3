//! Dial plans: the policies and policy groups operators edit ([`policies`]), the pure engine that
//! compiles and evaluates them ([`engine`]), this instance's live plan ([`live`]) and the call
//! decisions made on it ([`evaluation`]), and the SIP 302 redirect listener ([`redirect`]).

pub mod api;
pub mod channels;
pub mod engine;
pub mod evaluation;
pub mod live;
pub mod policies;
pub mod redirect;

pub use evaluation::{EvaluateRequest, decide};
