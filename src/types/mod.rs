//! Value types parsed at the edge and shared by every room: a value enters as text once (a
//! request body, a CSV cell, a stored column) and is a type from then on, so nothing inside
//! re-validates strings. Each type has serde (through its parser, errors naming what is
//! wrong), sqlx encoding for SQLite and PostgreSQL (a stored value that does not parse is a
//! [`column::Corrupt`] error, never a default) and round-trip tests beside it. No I/O.

pub mod cidr;
pub mod column;
pub mod e164;
pub mod iccid;
pub mod mac;
pub mod money;
pub mod schema;
pub mod sip_uri;
pub mod text;
pub mod vendor;

pub use cidr::Cidr;
pub use e164::E164;
pub use mac::Mac;
pub use money::{Currency, Money};
pub use sip_uri::SipUri;
pub use text::{Description, Name};
pub use vendor::Vendor;
