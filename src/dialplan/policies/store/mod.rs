//! SQL of the dial plan room, one file per table family: [`policies`], their archive
//! ([`versions`]), policy [`groups`], what the plan reads of the [`organizations`] tree, and the
//! [`revision`] counter other instances poll.

pub mod groups;
pub mod organizations;
pub mod policies;
pub mod revision;
pub mod versions;
