//! A mobile (SIM) record as stored and shown, and its states.

use crate::types::E164;
use crate::types::iccid::{Iccid, Imsi};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The state of a mobile (SIM) record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MobileState {
    Active,
    Suspended,
    Inactive,
}

pub const MOBILE_STATES: [&str; 3] = ["active", "suspended", "inactive"];

impl MobileState {
    pub fn as_str(self) -> &'static str {
        match self {
            MobileState::Active => "active",
            MobileState::Suspended => "suspended",
            MobileState::Inactive => "inactive",
        }
    }

    /// A stored state, or why it is not one.
    pub fn parse_stored(text: &str) -> Result<Self, String> {
        match text {
            "active" => Ok(MobileState::Active),
            "suspended" => Ok(MobileState::Suspended),
            "inactive" => Ok(MobileState::Inactive),
            _ => Err(format!("not one of {}", MOBILE_STATES.join(", "))),
        }
    }
}

/// A SIM card as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Mobile {
    pub id: i64,
    pub organization_id: i64,
    #[serde(skip)]
    pub organization_path: String,
    /// 19-20 digits, Luhn-checked; unique platform-wide.
    pub iccid: Iccid,
    /// 15 digits (MCC, MNC, subscriber); unique when set.
    pub imsi: Option<Imsi>,
    /// The number (of the same organization) the SIM answers to.
    pub msisdn_number_id: Option<i64>,
    /// That number in E.164, for reading.
    pub msisdn: Option<E164>,
    pub state: MobileState,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_read_back_as_written() {
        for text in MOBILE_STATES {
            assert_eq!(MobileState::parse_stored(text).unwrap().as_str(), text);
        }
        assert!(MobileState::parse_stored("lost").is_err());
    }
}
