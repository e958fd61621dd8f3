//! Numbers: the E.164 inventory (state machine, owner organization, assignment, channel
//! limits, tags, history of every change), its search and CSV import, and mobile (SIM)
//! records.

pub mod api;
mod assignment;
pub mod import;
mod mobiles;
pub mod model;
pub mod pattern;
pub mod service;
mod store;

pub use assignment::check_assignment;
pub use import::{ImportSummary, MAX_ROWS as MAX_IMPORT_ROWS, import};
pub use mobiles::model::Mobile;
pub use mobiles::{MobileUpdate, NewMobile};
pub use model::{Assignment, AssignmentType, HistoryEntry, Number, NumberState};
pub use store::NumberFilter;

/// The SIM record `id` if the caller may see it (404 otherwise).
pub use mobiles::visible as visible_mobile;
