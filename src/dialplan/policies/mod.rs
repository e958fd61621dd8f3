//! The dial plan policies service: CRUD (tenancy-checked, validated, audited, archived as a new
//! version, compiled before commit and swapped in after), history, diff and restore; policy
//! groups ([`groups`]) and instantiated templates ([`instantiate`]) beside it.
//!
//! A policy is read in [`read`], written in [`write`] (each write checked by [`checks`] and
//! ended by [`commit`]), its versions kept in [`archive`] and compared by [`diff`]; [`model`] is
//! what the API shows, [`store`] the SQL.

pub mod api;
pub mod archive;
pub mod checks;
pub mod commit;
pub mod diff;
pub mod groups;
pub mod instantiate;
pub mod model;
pub mod read;
pub(crate) mod store;
pub mod write;

// What other rooms call, at the path they have always called it by.
pub use read::{hold_policy, routing_to_trunk, visible_policy};
