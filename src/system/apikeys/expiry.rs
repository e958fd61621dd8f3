//! An expiry as a request gives it: an RFC 3339 time (`2030-01-31T12:00:00Z`), which must lie
//! in the future (checked by the service, which knows the time). Its schema names the custom
//! format `future-date-time`, so the contract check generates times to come.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

/// An RFC 3339 time, parsed strictly (`DateTime::parse_from_rfc3339`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry(pub DateTime<Utc>);

impl<'de> Deserialize<'de> for Expiry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|at| Expiry(at.to_utc()))
            .map_err(|e| {
                serde::de::Error::custom(format!(
                    "not an RFC 3339 time ({e}): {}",
                    crate::types::text::quote_prefix(&text)
                ))
            })
    }
}

/// What the parser takes, spelled as a pattern: every part in its range, days by month (only
/// 29 February of a year that is not a leap year passes the pattern and not the parser).
pub const PATTERN: &str = concat!(
    r"^[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-9]))",
    r"[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\.[0-9]+)?",
    r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$"
);

/// The schema of an expiry that may be `null` (no expiry).
pub fn nullable_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::Array(vec![Type::String, Type::Null]))
        .description(Some(
            "When the key stops working: an RFC 3339 time in the future; `null` or absent: never",
        ))
        .pattern(Some(PATTERN))
        .format(Some(SchemaFormat::Custom("future-date-time".into())))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parses(text: &str) -> bool {
        serde_json::from_value::<Expiry>(serde_json::json!(text)).is_ok()
    }

    /// Random times in and around every part's range: the pattern and the parser agree.
    #[test]
    fn the_pattern_is_the_parser() {
        use rand::{Rng, SeedableRng};
        let pattern = regex::Regex::new(PATTERN).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let mut accepted = 0;
        for _ in 0..100_000 {
            let text = format!(
                "{:04}-{:02}-{:02}{}{:02}:{:02}:{:02}{}{}",
                rng.random_range(0..=9999),
                rng.random_range(0..=13),
                rng.random_range(0..=32),
                ["T", "t", " ", "x"][rng.random_range(0..4)],
                rng.random_range(0..=25),
                rng.random_range(0..=61),
                rng.random_range(0..=61),
                ["", ".5", ".123456789", "."][rng.random_range(0..4)],
                ["Z", "z", "+02:00", "-23:59", "+24:00", "+01:60", ""][rng.random_range(0..7)],
            );
            let leap_day = text[5..10] == *"02-29";
            let parsed = parses(&text);
            accepted += usize::from(parsed);
            if !leap_day {
                assert_eq!(pattern.is_match(&text), parsed, "{text:?}");
            } else if parsed {
                assert!(pattern.is_match(&text), "{text:?}");
            }
        }
        assert!(accepted > 1000, "{accepted}");
    }

    #[test]
    fn the_pattern_admits_everything_the_parser_takes() {
        let pattern = regex::Regex::new(PATTERN).unwrap();
        for text in [
            "2030-01-31T12:00:00Z",
            "2030-01-31t12:00:00z",
            "2030-01-31 12:00:00+02:00",
            "2030-01-31T12:00:00.123456789-05:30",
        ] {
            assert!(parses(text), "{text}");
            assert!(pattern.is_match(text), "{text}");
        }
        for text in [
            "",
            "2030-01-31",
            "2030-01-31T12:00Z",
            "2030-01-31T12:00:00",
            " 2030-01-31T12:00:00Z",
            "2030-01-31T12:00:00Z ",
            "2030-1-31T12:00:00Z",
            "31.01.2030 12:00",
            "2030-01-31T12:00:00+0200",
        ] {
            assert!(!pattern.is_match(text), "{text:?}");
            assert!(!parses(text), "{text:?}");
        }
        assert_eq!(
            serde_json::from_value::<Expiry>(serde_json::json!("2030-01-31T14:00:00+02:00"))
                .unwrap()
                .0
                .to_rfc3339(),
            "2030-01-31T12:00:00+00:00"
        );
        let err = serde_json::from_value::<Expiry>(serde_json::json!("2030-13-01T00:00:00Z"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("not an RFC 3339 time"), "{err}");
    }
}
