//! Devices (desk phones): their MACs, SIP lines, template variables and provisioning
//! credentials (encrypted at rest, shown once), organizations' provisioning settings, and what
//! the provisioning server and NOTIFY read and record about them.

pub mod api;
pub mod credentials;
pub mod model;
pub mod notify;
pub mod provisioning;
mod schemas;
mod service;
pub mod settings;
mod store;
pub mod templates;
pub mod user_agent;
pub mod validate;

pub use model::{
    CreatedDevice, Credentials, Device, DeviceStatus, DeviceView, Line, LineTransport,
    ProvisioningSettings, Variables,
};
pub use service::{
    DeviceUpdate, MAX_BULK, NewDevice, by_mac, create, create_many, delete, get, hold, hold_line,
    list, update, visible,
};
pub use store::DeviceFilter;
