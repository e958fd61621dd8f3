//! A sequence as the API shows it, its name, and the number it hands out.

use crate::types::column::parse_stored;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

/// The longest prefix.
pub const PREFIX_MAX: usize = 20;
/// The most digits a number is padded to.
pub const PADDING_MAX: u32 = 20;

/// What a sequence is called within its organization (`invoice`, `ticket`): a lower-case
/// letter, then up to 31 lower-case letters, digits, `_` or `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceName(String);

pub const NAME_PATTERN: &str = "^[a-z][a-z0-9_-]{0,31}$";

impl SequenceName {
    pub fn parse(text: &str) -> Result<Self, String> {
        let ok = text.len() <= 32
            && text.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if ok {
            Ok(Self(text.to_string()))
        } else {
            Err(format!(
                "{} is not a sequence name (a lower-case letter, then up to 31 of a-z, 0-9, _ and -)",
                crate::types::text::quote_prefix(text)
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for SequenceName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SequenceName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for SequenceName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::types::schema::string(
            "A lower-case letter, then up to 31 of a-z, 0-9, `_` and `-` (`invoice`)",
            Some(NAME_PATTERN),
            (Some(1), Some(32)),
            None,
        )
    }
}

impl ToSchema for SequenceName {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Sequence {
    pub id: i64,
    pub organization_id: i64,
    pub name: SequenceName,
    /// Put before every number (`INV-`).
    pub prefix: String,
    /// Numbers are zero-padded to this many digits (0: not padded).
    pub padding: u32,
    /// The number the next call hands out.
    pub next_value: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip)]
    pub organization_path: String,
}

impl crate::system::audit::Audited for Sequence {
    const ENTITY_TYPE: &'static str = "sequence";
    fn audit_id(&self) -> i64 {
        self.id
    }
    fn audit_owner(&self) -> (i64, &str) {
        (self.organization_id, &self.organization_path)
    }
}

/// One number taken from a sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Issued {
    pub sequence_id: i64,
    pub value: i64,
    /// The prefix and the zero-padded value (`INV-000042`).
    pub formatted: String,
}

/// `prefix` and `value` padded to `padding` digits.
pub fn format(prefix: &str, padding: u32, value: i64) -> String {
    format!("{prefix}{value:0width$}", width = padding as usize)
}

/// A prefix: at most [`PREFIX_MAX`] characters, no control characters, kept as given.
pub fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.chars().count() > PREFIX_MAX {
        return Err(format!("must be at most {PREFIX_MAX} characters"));
    }
    crate::types::text::check_control(prefix, false).map_err(|e| e.to_string())
}

#[derive(sqlx::FromRow)]
pub(super) struct SequenceRow {
    pub id: i64,
    pub organization_id: i64,
    pub organization_path: String,
    pub name: String,
    pub prefix: String,
    pub padding: i32,
    pub next_value: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<SequenceRow> for Sequence {
    type Error = sqlx::Error;

    fn try_from(row: SequenceRow) -> sqlx::Result<Self> {
        Ok(Self {
            name: parse_stored("sequence", row.id, "name", &row.name, SequenceName::parse)?,
            padding: u32::try_from(row.padding).unwrap_or(0),
            id: row.id,
            organization_id: row.organization_id,
            organization_path: row.organization_path,
            prefix: row.prefix,
            next_value: row.next_value,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_prefixed_and_padded() {
        assert_eq!(format("INV-", 6, 42), "INV-000042");
        assert_eq!(format("", 0, 7), "7");
        assert_eq!(format("T", 2, 12345), "T12345", "padding never cuts");
    }

    #[test]
    fn the_name_schema_agrees_with_the_parser() {
        let pattern = crate::types::schema::check::pattern_of(
            <SequenceName as utoipa::PartialSchema>::schema(),
        );
        for good in ["invoice", "t", "credit_note-2"] {
            assert!(
                SequenceName::parse(good).is_ok() && pattern.is_match(good),
                "{good}"
            );
        }
        for bad in ["", "Invoice", "1st", "in voice", "_x", &"a".repeat(33)] {
            assert!(
                SequenceName::parse(bad).is_err() && !pattern.is_match(bad),
                "{bad}"
            );
        }
        assert!(check_prefix(&"p".repeat(21)).is_err());
        assert!(check_prefix("INV\n").is_err());
        assert!(check_prefix("INV-").is_ok());
        // C1 controls too, as the document's pattern says (`\x7f-\x9f`).
        for c1 in ['\u{7f}', '\u{80}', '\u{85}', '\u{9f}'] {
            assert!(check_prefix(&format!("INV{c1}")).is_err(), "{c1:?}");
        }
        assert!(check_prefix("Ā-").is_ok());
    }
}
