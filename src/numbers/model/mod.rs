//! Numbers, their assignments, channel limits and history entries, as stored and as the API
//! shows them; their state machine (`state.rs`) and tags (`tags.rs`) beside them. Pure: no
//! pool, no socket, no clock.

mod state;
mod tags;

pub use state::{NumberState, STATES, transition};
pub use tags::{MAX_TAGS, tags_from_column, tags_to_column, validate_tags};

use crate::types::E164;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

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

/// A number's assignment target. Its document is [`AssignmentSchema`]'s: `line` belongs to a
/// `device_line` only, which the derived schema could not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// `Assignment` in the document: a trunk, user or dial plan by id (no `line`), or a device line
/// by device id and line position.
impl utoipa::PartialSchema for Assignment {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        assignment_schema().into()
    }
}

impl ToSchema for Assignment {}

fn assignment_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
    let id = || {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Int64,
            )))
            .minimum(Some(1))
            .description(Some("Id of the trunk, user, device or dial plan."))
    };
    let kind = |names: &[&str]| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(names.iter().copied()))
    };
    let by_id = ObjectBuilder::new()
        .property("type", kind(&["trunk", "user", "dialplan"]))
        .property("id", id())
        .property(
            "line",
            ObjectBuilder::new()
                .schema_type(Type::Null)
                .description(Some("Only a device_line has a line.")),
        )
        .required("type")
        .required("id")
        .additional_properties(Some(
            utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
        ));
    let device_line = ObjectBuilder::new()
        .property("type", kind(&["device_line"]))
        .property("id", id())
        .property(
            "line",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                    utoipa::openapi::KnownFormat::Int64,
                )))
                .minimum(Some(0))
                .description(Some("The line's position on the device, from 0.")),
        )
        .required("type")
        .required("id")
        .required("line")
        .additional_properties(Some(
            utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
        ));
    Schema::OneOf(
        OneOfBuilder::new()
            .description(Some("What a number routes to."))
            .item(by_id)
            .item(device_line)
            .build(),
    )
}

/// A number as stored and as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Number {
    pub id: i64,
    /// E.164 (`+` and 8-15 digits); unique platform-wide.
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

pub const CHANNEL_LIMITS: std::ops::RangeInclusive<i64> = 0..=10_000;

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

#[cfg(test)]
mod tests {
    use super::*;

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
