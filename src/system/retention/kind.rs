//! The data kinds retention and legal holds speak of. Five are purged today (the event log,
//! the audit log, finished queued jobs, the webhook delivery log, call-queue samples); the others are stored so the
//! rooms that add them (billing, messaging, files) find their settings and holds in place.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Events,
    Audit,
    Jobs,
    Deliveries,
    Cdrs,
    Sms,
    Voicemail,
    Files,
    QueueStats,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Events,
        Kind::Audit,
        Kind::Jobs,
        Kind::Deliveries,
        Kind::Cdrs,
        Kind::Sms,
        Kind::Voicemail,
        Kind::Files,
        Kind::QueueStats,
    ];
    pub const NAMES: [&'static str; 9] = [
        "events",
        "audit",
        "jobs",
        "deliveries",
        "cdrs",
        "sms",
        "voicemail",
        "files",
        "queue_stats",
    ];
    /// The kinds the purge removes data of.
    pub const PURGED: [Kind; 5] = [
        Kind::Events,
        Kind::Audit,
        Kind::Jobs,
        Kind::Deliveries,
        Kind::QueueStats,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Events => "events",
            Kind::Audit => "audit",
            Kind::Jobs => "jobs",
            Kind::Deliveries => "deliveries",
            Kind::Cdrs => "cdrs",
            Kind::Sms => "sms",
            Kind::Voicemail => "voicemail",
            Kind::Files => "files",
            Kind::QueueStats => "queue_stats",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    pub fn purged(self) -> bool {
        Kind::PURGED.contains(&self)
    }
}

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Kind::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{} is not a data kind (one of {})",
                crate::types::text::quote_prefix(&text),
                Kind::NAMES.join(", ")
            ))
        })
    }
}

impl utoipa::PartialSchema for Kind {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::types::schema::one_of("A data kind", &Kind::NAMES)
    }
}

impl utoipa::ToSchema for Kind {}

#[cfg(test)]
mod tests {
    use super::Kind;

    #[test]
    fn names_round_trip() {
        for (kind, name) in Kind::ALL.into_iter().zip(Kind::NAMES) {
            assert_eq!(kind.as_str(), name);
            assert_eq!(Kind::parse(name), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), serde_json::json!(name));
        }
        assert_eq!(Kind::parse("Events"), None);
        assert!(serde_json::from_str::<Kind>("\"logs\"").is_err());
    }
}
