//! SIP trunks, gateways and trunk IPs as stored and as audit records show them: typed values
//! (names, URIs, networks, alive codes), each parsed once at the edge or on the way out of the
//! database. Pure: no pool, no socket, no clock.

use super::health::AliveCodes;
use crate::types::{Cidr, Description, Name, SipUri};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What errors call each kind of row: a 404, or a stored value that no longer parses.
pub(super) const TRUNK: &str = "SIP trunk";
pub(super) const GATEWAY: &str = "gateway";
pub(super) const TRUNK_IP: &str = "trunk IP";

/// A trunk's name: unique within its organization.
pub type TrunkName = Name<100>;
/// What an operator notes about a trunk IP.
pub type IpDescription = Description<500>;

/// Which calls a trunk carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Inbound,
    Outbound,
    Both,
}

pub const DIRECTIONS: [&str; 3] = ["inbound", "outbound", "both"];

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::Both => "both",
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "inbound" => Ok(Direction::Inbound),
            "outbound" => Ok(Direction::Outbound),
            "both" => Ok(Direction::Both),
            _ => Err(format!("not one of {}", DIRECTIONS.join(", "))),
        }
    }
}

/// A SIP trunk with its gateways (in `position` order), as stored and as audit records show it.
#[derive(Debug, Clone, Serialize)]
pub struct Trunk {
    pub id: i64,
    pub organization_id: i64,
    /// The owning organization's materialized path (tenancy, audit scope); not shown by the API.
    #[serde(skip)]
    pub organization_path: String,
    pub name: TrunkName,
    pub direction: Direction,
    pub max_channels: i64,
    pub alive_codes: AliveCodes,
    pub failures_to_down: i64,
    pub successes_to_up: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub gateways: Vec<Gateway>,
}

/// One gateway of a trunk: a `sip:` URI the pinger sends OPTIONS to.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Gateway {
    pub id: i64,
    pub trunk_id: i64,
    /// Normalised `sip:host[:port][;transport=udp|tcp]`.
    pub uri: SipUri,
    pub enabled: bool,
    /// Seconds between pings while up; null means the pinger's default.
    pub ping_interval_s: Option<i64>,
    /// Seconds between pings while down; null means the pinger's default.
    pub down_ping_interval_s: Option<i64>,
    /// Order within the trunk (0 first).
    pub position: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An address or network a trunk's traffic may come from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrunkIp {
    pub id: i64,
    pub trunk_id: i64,
    /// Canonical CIDR (`192.0.2.0/24`; a bare address becomes /32 or /128).
    pub cidr: Cidr,
    pub description: IpDescription,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_read_back_as_written() {
        for text in DIRECTIONS {
            assert_eq!(Direction::parse(text).unwrap().as_str(), text);
        }
        assert!(Direction::parse("Both").is_err());
    }
}
