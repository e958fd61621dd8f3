//! A PBX call queue's name, the figures a report carries, and the queue and samples as the API
//! shows them.

use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

/// The largest count a report may carry (calls, agents, seconds of wait): far above any real
/// queue, low enough that a typo (or a PBX sending milliseconds) is caught.
pub const MAX_FIGURE: i64 = 10_000_000;

/// What a queue is called on its PBX (`support`, `sales.uk`): a letter or digit, then up to 63
/// letters, digits, `_`, `-` or `.`; case is kept and matters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueName(String);

pub const NAME_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$";

impl QueueName {
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let mut chars = text.chars();
        let ok = text.len() <= 64
            && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if ok {
            Ok(Self(text.to_string()))
        } else {
            Err(format!(
                "{} is not a queue name (a letter or digit, then up to 63 of A-Z, a-z, 0-9, _, - and .)",
                crate::types::text::quote_prefix(text)
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for QueueName {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for QueueName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for QueueName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::types::schema::string(
            "A letter or digit, then up to 63 of A-Z, a-z, 0-9, `_`, `-` and `.` (`support`)",
            Some(NAME_PATTERN),
            (Some(1), Some(64)),
            None,
        )
    }
}

impl ToSchema for QueueName {}

/// The state of a queue at one moment, as its PBX reports it (shown inline in [`Queue`] and
/// [`QueueSample`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct QueueFigures {
    /// Calls waiting now.
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub waiting: i64,
    /// How long the longest-waiting call has waited, in seconds.
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub longest_wait_s: i64,
    /// Agents logged in to the queue.
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub agents_logged_in: i64,
    /// Agents logged in and free to take a call.
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub agents_available: i64,
    /// Calls answered (the PBX's counter: since midnight, or since its restart).
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub answered: i64,
    /// Calls abandoned by the caller before an answer (the PBX's counter).
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub abandoned: i64,
}

impl QueueFigures {
    /// Each figure 0 to [`MAX_FIGURE`], naming the first one that is not.
    pub fn check(&self) -> Result<()> {
        for (name, value) in self.named() {
            if !(0..=MAX_FIGURE).contains(&value) {
                return Err(Error::field(name, format!("must be 0 to {MAX_FIGURE}")));
            }
        }
        Ok(())
    }

    /// The figures with their names, in document order (also the metric names' stems).
    pub fn named(&self) -> [(&'static str, i64); 6] {
        [
            ("waiting", self.waiting),
            ("longest_wait_s", self.longest_wait_s),
            ("agents_logged_in", self.agents_logged_in),
            ("agents_available", self.agents_available),
            ("answered", self.answered),
            ("abandoned", self.abandoned),
        ]
    }
}

/// A queue with its latest report.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Queue {
    pub id: i64,
    pub organization_id: i64,
    pub name: QueueName,
    #[serde(flatten)]
    pub latest: QueueFigures,
    /// When the latest report arrived.
    pub reported_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    #[serde(skip)]
    pub organization_path: String,
}

impl crate::system::audit::Audited for Queue {
    const ENTITY_TYPE: &'static str = "call_queue";
    fn audit_id(&self) -> i64 {
        self.id
    }
    fn audit_owner(&self) -> (i64, &str) {
        (self.organization_id, &self.organization_path)
    }
}

/// One report of a queue's time series.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct QueueSample {
    pub id: i64,
    pub queue_id: i64,
    #[serde(flatten)]
    pub figures: QueueFigures,
    pub reported_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_schema_agrees_with_the_parser() {
        let pattern =
            crate::types::schema::check::pattern_of(<QueueName as utoipa::PartialSchema>::schema());
        for good in ["support", "Sales.UK", "7", "q_1-a"] {
            assert!(
                QueueName::parse(good).is_ok() && pattern.is_match(good),
                "{good}"
            );
        }
        for bad in ["", ".x", "a b", "ü", "x/y", &"a".repeat(65)] {
            assert!(
                QueueName::parse(bad).is_err() && !pattern.is_match(bad),
                "{bad}"
            );
        }
    }

    #[test]
    fn figures_are_bounded_and_named() {
        let mut f = QueueFigures {
            waiting: 3,
            longest_wait_s: 95,
            agents_logged_in: 4,
            agents_available: 1,
            answered: 120,
            abandoned: 7,
        };
        assert!(f.check().is_ok());
        f.abandoned = -1;
        assert!(f.check().unwrap_err().to_string().contains("abandoned"));
        f.abandoned = MAX_FIGURE + 1;
        assert!(f.check().is_err());
    }
}
