//! Which events an endpoint wants: an event name (`gateway.down`), a family (`number.*`: every
//! event whose name starts with `number.`) or `*` (every event).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The longest pattern.
pub const MAX_CHARS: usize = 100;
/// Most patterns one endpoint may list.
pub const MAX_PATTERNS: usize = 100;

/// The pattern's text in the document: `*`, or dot-separated lower-case words, optionally
/// ending in `.*`.
pub const PATTERN: &str = r"^(\*|[a-z][a-z0-9_]*(\.[a-z0-9_]+)*(\.\*)?)$";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventPattern(String);

impl EventPattern {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("must not be empty".into());
        }
        if text.len() > MAX_CHARS {
            return Err(format!("must be at most {MAX_CHARS} characters"));
        }
        if text == "*" {
            return Ok(Self(text.into()));
        }
        let name = text.strip_suffix(".*").unwrap_or(text);
        let mut words = name.split('.');
        let first_ok = words
            .next()
            .and_then(|w| w.chars().next())
            .is_some_and(|c| c.is_ascii_lowercase());
        let words_ok = name.split('.').all(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        });
        if !(first_ok && words_ok) {
            return Err(format!(
                "{} is not an event name (`gateway.down`), a family (`number.*`) or `*`",
                crate::types::text::quote_prefix(text)
            ));
        }
        Ok(Self(text.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the event named `event` is one this pattern wants.
    pub fn matches(&self, event: &str) -> bool {
        match self.0.strip_suffix('*') {
            Some("") => true,
            Some(family) => event.starts_with(family),
            None => self.0 == event,
        }
    }
}

impl fmt::Display for EventPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for EventPattern {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EventPattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for EventPattern {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::types::schema::string(
            "An event name (`gateway.down`), a family (`number.*`) or `*` for every event",
            Some(PATTERN),
            (Some(1), Some(MAX_CHARS)),
            None,
        )
    }
}

impl utoipa::ToSchema for EventPattern {}

/// Whether any of `patterns` wants `event`.
pub fn any_matches(patterns: &[EventPattern], event: &str) -> bool {
    patterns.iter().any(|p| p.matches(event))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> EventPattern {
        EventPattern::parse(text).expect(text)
    }

    #[test]
    fn names_families_and_everything_match_as_documented() {
        assert!(p("*").matches("gateway.down"));
        assert!(p("gateway.down").matches("gateway.down"));
        assert!(!p("gateway.down").matches("gateway.up"));
        assert!(!p("gateway.down").matches("gateway.down.later"));
        assert!(p("gateway.*").matches("gateway.up"));
        assert!(!p("gateway.*").matches("gateways.up"));
        assert!(!p("gateway.*").matches("gateway"));
        assert!(p("device.notify.*").matches("device.notify.done"));
        assert!(any_matches(&[p("a.b"), p("job.*")], "job.done"));
        assert!(!any_matches(&[], "job.done"));
    }

    #[test]
    fn the_schema_pattern_agrees_with_the_parser() {
        let pattern = crate::types::schema::check::pattern_of(
            <EventPattern as utoipa::PartialSchema>::schema(),
        );
        for good in [
            "*",
            "job.done",
            "number.*",
            "a",
            "a1_b.c2",
            "device.notify.*",
        ] {
            assert!(EventPattern::parse(good).is_ok(), "{good}");
            assert!(pattern.is_match(good), "{good}");
        }
        for bad in [
            "",
            "**",
            "Job.done",
            "job..done",
            ".job",
            "job.",
            "job.*.x",
            "1job",
            "job *",
            "*.done",
        ] {
            assert!(EventPattern::parse(bad).is_err(), "{bad}");
            assert!(!pattern.is_match(bad), "{bad}");
        }
        assert!(EventPattern::parse(&"a".repeat(MAX_CHARS + 1)).is_err());
    }
}
