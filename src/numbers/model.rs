//! Numbers, their state machine, assignments, tags and history entries, and mobile (SIM)
//! records, as stored and as the API shows them. Pure: no pool, no socket, no clock.
//!
//! The state machine of a number (every other move is refused with 409 naming both states):
//!
//! ```text
//! from \ to   available  reserved  active  suspended  porting  released
//! available       -          yes      yes       -        yes      yes
//! reserved       yes          -       yes       -        yes      yes
//! active         yes          -        -       yes       yes       -
//! suspended      yes          -       yes       -        yes      yes
//! porting        yes          -       yes       -         -       yes
//! released       yes          -        -        -        yes       -
//! ```
//!
//! `activate` is the move to `active` (from available, reserved, suspended or porting);
//! `deactivate` the move from active or suspended back to `available` in the same
//! organization (the assignment is kept, so activating again restores the routing; the dial
//! plan routes only active numbers). `released` numbers left the operator's inventory; they
//! may come back (`available`) or be ported. A number may be deleted only when `available`
//! or `released`.

use crate::types::E164;
use crate::types::text::quote_prefix;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// Where a number is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NumberState {
    Available,
    Reserved,
    Active,
    Suspended,
    Porting,
    Released,
}

pub const STATES: [&str; 6] = [
    "available",
    "reserved",
    "active",
    "suspended",
    "porting",
    "released",
];

impl NumberState {
    pub fn as_str(self) -> &'static str {
        match self {
            NumberState::Available => "available",
            NumberState::Reserved => "reserved",
            NumberState::Active => "active",
            NumberState::Suspended => "suspended",
            NumberState::Porting => "porting",
            NumberState::Released => "released",
        }
    }

    /// The state named `text` (lower case, as stored and in the API).
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "available" => Some(NumberState::Available),
            "reserved" => Some(NumberState::Reserved),
            "active" => Some(NumberState::Active),
            "suspended" => Some(NumberState::Suspended),
            "porting" => Some(NumberState::Porting),
            "released" => Some(NumberState::Released),
            _ => None,
        }
    }

    /// A stored state, or why it is not one.
    pub fn parse_stored(text: &str) -> Result<Self, String> {
        Self::parse(text).ok_or_else(|| format!("not one of {}", STATES.join(", ")))
    }

    /// Whether a number may move from `self` to `to` (staying put is not a move).
    pub fn can_become(self, to: NumberState) -> bool {
        use NumberState::*;
        match (self, to) {
            (from, to) if from == to => false,
            (_, Porting) => true,
            (Available, Reserved | Active | Released) => true,
            (Reserved, Available | Active | Released) => true,
            (Active, Suspended | Available) => true,
            (Suspended, Active | Available | Released) => true,
            (Porting, Available | Active | Released) => true,
            (Released, Available) => true,
            _ => false,
        }
    }

    /// Only numbers out of service may be deleted.
    pub fn deletable(self) -> bool {
        matches!(self, NumberState::Available | NumberState::Released)
    }
}

impl std::fmt::Display for NumberState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The move from `from` to `to`, or why not (the message names both states).
pub fn transition(from: NumberState, to: NumberState) -> Result<(), String> {
    if from.can_become(to) {
        return Ok(());
    }
    let why = match (from, to) {
        (a, b) if a == b => format!("the number is already {}", a.as_str()),
        (NumberState::Active, NumberState::Released) => {
            "an active number cannot be released; deactivate or suspend it first".to_string()
        }
        (a, b) => format!("a number cannot go from {} to {}", a.as_str(), b.as_str()),
    };
    Err(why)
}

/// What a number routes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentType {
    /// A SIP trunk of the number's organization or one of its ancestors.
    Trunk,
    /// A user of the number's organization.
    User,
    /// A line of a device of the number's organization (`line` is its position, from 0).
    DeviceLine,
    /// A dial plan (only its id is stored and checked to be positive for now: the dial plan
    /// room is being built in parallel).
    Dialplan,
}

impl AssignmentType {
    pub fn as_str(self) -> &'static str {
        match self {
            AssignmentType::Trunk => "trunk",
            AssignmentType::User => "user",
            AssignmentType::DeviceLine => "device_line",
            AssignmentType::Dialplan => "dialplan",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "trunk" => Some(AssignmentType::Trunk),
            "user" => Some(AssignmentType::User),
            "device_line" => Some(AssignmentType::DeviceLine),
            "dialplan" => Some(AssignmentType::Dialplan),
            _ => None,
        }
    }
}

/// A number's assignment target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    #[serde(rename = "type")]
    pub kind: AssignmentType,
    /// Id of the trunk, user, device or dial plan.
    pub id: i64,
    /// Line position (0-15) for `device_line`; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<i64>,
}

/// A number as stored and as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Number {
    pub id: i64,
    /// E.164 (`+` and 8-15 digits); unique platform-wide.
    #[schema(value_type = String)]
    pub number: E164,
    pub state: NumberState,
    /// The one organization that owns the number.
    pub organization_id: i64,
    #[serde(skip)]
    pub organization_path: String,
    /// What the number routes to; null: nothing yet.
    pub assignment: Option<Assignment>,
    /// Concurrent calls allowed on the number (0-10000); null: unlimited.
    pub channel_limit: Option<i64>,
    /// Lower-case `[a-z0-9_-]{1,32}`, at most 20.
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Number {
    pub fn state(&self) -> NumberState {
        self.state
    }
}

/// One change to a number, as `GET /v1/numbers/{id}/history` shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub id: i64,
    pub number_id: i64,
    /// create, import, update, move, activate, deactivate, channels.
    pub action: String,
    pub actor_user_id: Option<i64>,
    pub actor_username: String,
    /// The number before the change (null for a creation).
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
    pub created_at: DateTime<Utc>,
}

pub const MAX_TAGS: usize = 20;
pub const CHANNEL_LIMITS: std::ops::RangeInclusive<i64> = 0..=10_000;

/// Tags: each lower-cased and checked against `[a-z0-9_-]{1,32}`; duplicates dropped, order
/// kept; at most 20.
pub fn validate_tags(field: &str, tags: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for tag in tags {
        let tag = tag.trim().to_ascii_lowercase();
        let ok = (1..=32).contains(&tag.len())
            && tag
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !ok {
            return Err(format!(
                "{field}: each tag is 1-32 of a-z, 0-9, '_' and '-', got {}",
                quote_prefix(&tag)
            ));
        }
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    if out.len() > MAX_TAGS {
        return Err(format!(
            "{field}: at most {MAX_TAGS} tags, got {}",
            out.len()
        ));
    }
    Ok(out)
}

/// A channel limit in range, or why not.
pub fn validate_channel_limit(field: &str, limit: i64) -> Result<i64, String> {
    if CHANNEL_LIMITS.contains(&limit) {
        Ok(limit)
    } else {
        Err(format!(
            "{field}: must be {}-{} (null: unlimited), got {limit}",
            CHANNEL_LIMITS.start(),
            CHANNEL_LIMITS.end()
        ))
    }
}

/// Tags as stored: `,a,b,` so a tag filter is one `LIKE '%,a,%'`; empty for none.
pub fn tags_to_column(tags: &[String]) -> String {
    if tags.is_empty() {
        String::new()
    } else {
        format!(",{},", tags.join(","))
    }
}

pub fn tags_from_column(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

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
}

/// A SIM card as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Mobile {
    pub id: i64,
    pub organization_id: i64,
    #[serde(skip)]
    pub organization_path: String,
    /// 19-20 digits, Luhn-checked; unique platform-wide.
    pub iccid: String,
    /// 15 digits (MCC, MNC, subscriber); unique when set.
    pub imsi: Option<String>,
    /// The number (of the same organization) the SIM answers to.
    pub msisdn_number_id: Option<i64>,
    /// That number in E.164, for reading.
    pub msisdn: Option<String>,
    #[schema(value_type = MobileState)]
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use NumberState::*;

    #[test]
    fn the_documented_state_machine() {
        let allowed = [
            (Available, Reserved),
            (Reserved, Active),
            (Active, Suspended),
            (Suspended, Active),
            (Active, Available),
            (Suspended, Available),
            (Reserved, Available),
            (Available, Released),
            (Suspended, Released),
            (Released, Available),
            (Porting, Active),
            (Porting, Released),
        ];
        for (from, to) in allowed {
            assert!(transition(from, to).is_ok(), "{from:?} -> {to:?}");
        }
        for from in [Available, Reserved, Active, Suspended, Released] {
            assert!(from.can_become(Porting), "{from:?} -> porting");
        }
        let refused = [
            (Active, Released),
            (Released, Active),
            (Released, Reserved),
            (Active, Reserved),
            (Suspended, Reserved),
            (Porting, Porting),
            (Active, Active),
        ];
        for (from, to) in refused {
            assert!(transition(from, to).is_err(), "{from:?} -> {to:?}");
        }
        assert!(
            transition(Active, Released)
                .unwrap_err()
                .contains("deactivate")
        );
        assert!(
            transition(Active, Active)
                .unwrap_err()
                .contains("already active")
        );
        assert!(Available.deletable() && Released.deletable());
        assert!(!Active.deletable() && !Reserved.deletable() && !Porting.deletable());
        for s in STATES {
            assert_eq!(NumberState::parse(s).unwrap().as_str(), s);
        }
    }

    #[test]
    fn tags_are_checked_and_stored_searchably() {
        let tags = validate_tags(
            "tags",
            &[
                "VIP".into(),
                "sales-east".into(),
                "vip".into(),
                "a_b".into(),
            ],
        )
        .unwrap();
        assert_eq!(tags, vec!["vip", "sales-east", "a_b"]);
        assert_eq!(tags_to_column(&tags), ",vip,sales-east,a_b,");
        assert_eq!(tags_from_column(",vip,sales-east,a_b,"), tags);
        assert!(tags_from_column("").is_empty());
        assert_eq!(tags_to_column(&[]), "");
        for bad in ["", "has space", "comma,inside", &"x".repeat(33), "ümlaut"] {
            assert!(
                validate_tags("tags", &[bad.to_string()]).is_err(),
                "{bad:?}"
            );
        }
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert!(
            validate_tags("tags", &many)
                .unwrap_err()
                .contains("at most 20")
        );
    }

    #[test]
    fn channel_limits() {
        assert_eq!(validate_channel_limit("limit", 0), Ok(0));
        assert_eq!(validate_channel_limit("limit", 10_000), Ok(10_000));
        assert!(validate_channel_limit("limit", -1).is_err());
        assert!(validate_channel_limit("limit", 10_001).is_err());
    }

    #[test]
    fn assignments_read_and_write_their_type() {
        let a: Assignment =
            serde_json::from_str(r#"{"type":"device_line","id":4,"line":1}"#).unwrap();
        assert_eq!(a.kind, AssignmentType::DeviceLine);
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"type":"device_line","id":4,"line":1}"#
        );
        assert!(serde_json::from_str::<Assignment>(r#"{"type":"fax","id":4}"#).is_err());
        for t in ["trunk", "user", "device_line", "dialplan"] {
            assert_eq!(AssignmentType::parse(t).unwrap().as_str(), t);
        }
    }
}
