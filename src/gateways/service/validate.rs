//! Request values checked and parsed into their types (pure): each refusal names its field,
//! with the same words on every route.

use super::{MAX_GATEWAYS, PING_INTERVALS};
use crate::error::{Error, Result};
use crate::gateways::health::AliveCodes;
use crate::gateways::model::{Gateway, IpDescription, TrunkName};
use crate::gateways::store::gateways::GatewayFields;
use crate::types::{Cidr, SipUri};
use std::ops::RangeInclusive;

/// The longest trunk name and IP description, counted as given (white space included), as
/// the document's `maxLength` counts them.
pub(super) const NAME_MAX_CHARS: usize = 100;
pub(super) const DESCRIPTION_MAX_CHARS: usize = 500;
/// The longest CIDR text, as given (the `Cidr` schema's `maxLength`).
pub(super) const CIDR_MAX_CHARS: usize = 64;

/// `text` is at most `max` characters as given, before trimming: what the document allows is
/// what is taken, also with white space around.
fn as_given(field: &str, text: &str, max: usize) -> Result<()> {
    if text.chars().count() > max {
        return Err(Error::field(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

pub(super) fn name(text: &str) -> Result<TrunkName> {
    as_given("name", text, NAME_MAX_CHARS)?;
    TrunkName::parse(text).map_err(|e| Error::field("name", e))
}

pub(super) fn description(text: &str) -> Result<IpDescription> {
    as_given("description", text, DESCRIPTION_MAX_CHARS)?;
    IpDescription::parse(text).map_err(|e| Error::field("description", e))
}

/// An address or network; host bits set is refused (with the network probably meant).
pub(super) fn cidr(text: &str) -> Result<Cidr> {
    as_given("cidr", text, CIDR_MAX_CHARS)?;
    Cidr::parse(text).map_err(|e| Error::field("cidr", e))
}

pub(super) fn in_range(
    field: &str,
    value: i64,
    range: RangeInclusive<i64>,
    unit: &str,
) -> Result<i64> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(Error::field(
            field,
            format!(
                "must be between {} and {}{unit}, got {value}",
                range.start(),
                range.end()
            ),
        ))
    }
}

/// An alive-codes set (stored and shown in its canonical text: `2xx, 4xx ,!408` → `2xx,4xx,!408`).
pub(super) fn alive_codes(text: &str) -> Result<AliveCodes> {
    AliveCodes::parse(text).map_err(|e| Error::field("alive_codes", e))
}

/// A gateway URI (stored and shown normalised).
fn uri(field: &str, text: &str) -> Result<SipUri> {
    SipUri::parse(text).map_err(|e| Error::field(field, e))
}

fn interval(field: &str, value: Option<i64>) -> Result<Option<i64>> {
    value
        .map(|v| {
            in_range(
                field,
                v,
                PING_INTERVALS,
                " seconds (or null for the default)",
            )
        })
        .transpose()
}

/// A gateway as a request gives it. `None` fields keep the current value of an existing gateway
/// (or take the default for a new one); `Some(None)` clears an interval.
#[derive(Debug, Clone, Default)]
pub struct GatewayInput {
    pub uri: String,
    pub enabled: Option<bool>,
    pub ping_interval_s: Option<Option<i64>>,
    pub down_ping_interval_s: Option<Option<i64>>,
}

/// Changes to one gateway; absent fields keep their value, a null interval clears it.
#[derive(Debug, Clone, Default)]
pub struct GatewayUpdate {
    pub uri: Option<String>,
    pub enabled: Option<bool>,
    pub ping_interval_s: Option<Option<i64>>,
    pub down_ping_interval_s: Option<Option<i64>>,
}

/// A [`GatewayInput`] (or a [`GatewayUpdate`]) with its values checked and its URI parsed.
#[derive(Debug, Clone)]
pub(super) struct ParsedGateway {
    pub(super) uri: SipUri,
    enabled: Option<bool>,
    ping_interval_s: Option<Option<i64>>,
    down_ping_interval_s: Option<Option<i64>>,
}

impl ParsedGateway {
    /// `prefix` names the gateway in errors (`gateways[2].`, or empty for a single gateway).
    pub(super) fn parse(prefix: &str, input: &GatewayInput) -> Result<Self> {
        let uri = uri(&format!("{prefix}uri"), &input.uri)?;
        let intervals = (input.ping_interval_s, input.down_ping_interval_s);
        Self::checked(prefix, uri, input.enabled, intervals)
    }

    /// Changes to one gateway whose URI is `current` unless the changes give another.
    pub(super) fn update(current: &SipUri, changes: &GatewayUpdate) -> Result<Self> {
        let uri = match &changes.uri {
            Some(text) => uri("uri", text)?,
            None => current.clone(),
        };
        let intervals = (changes.ping_interval_s, changes.down_ping_interval_s);
        Self::checked("", uri, changes.enabled, intervals)
    }

    /// `intervals`: the given (up, down) ping intervals.
    fn checked(
        prefix: &str,
        uri: SipUri,
        enabled: Option<bool>,
        (up, down): (Option<Option<i64>>, Option<Option<i64>>),
    ) -> Result<Self> {
        Ok(Self {
            uri,
            enabled,
            ping_interval_s: up
                .map(|v| interval(&format!("{prefix}ping_interval_s"), v))
                .transpose()?,
            down_ping_interval_s: down
                .map(|v| interval(&format!("{prefix}down_ping_interval_s"), v))
                .transpose()?,
        })
    }

    /// The stored fields: given values over `existing`'s, over the defaults.
    pub(super) fn fields(&self, existing: Option<&Gateway>, position: i64) -> GatewayFields {
        GatewayFields {
            uri: self.uri.clone(),
            enabled: self.enabled.or(existing.map(|g| g.enabled)).unwrap_or(true),
            ping_interval_s: self
                .ping_interval_s
                .unwrap_or_else(|| existing.and_then(|g| g.ping_interval_s)),
            down_ping_interval_s: self
                .down_ping_interval_s
                .unwrap_or_else(|| existing.and_then(|g| g.down_ping_interval_s)),
            position,
        }
    }
}

/// Checks a trunk's gateway list: every entry valid (400), not too many, no URI twice (409).
pub(super) fn gateway_list(inputs: &[GatewayInput]) -> Result<Vec<ParsedGateway>> {
    if inputs.len() > MAX_GATEWAYS {
        return Err(Error::field(
            "gateways",
            format!("at most {MAX_GATEWAYS} gateways per trunk"),
        ));
    }
    let mut parsed: Vec<ParsedGateway> = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let gateway = ParsedGateway::parse(&format!("gateways[{i}]."), input)?;
        // Each entry is valid; two that normalise alike conflict (409), as a URI already on
        // the trunk does for a single gateway: no schema can say "unique once normalised".
        if let Some(j) = parsed.iter().position(|p| p.uri == gateway.uri) {
            return Err(Error::Conflict(format!(
                "gateways[{i}].uri: {} is already gateways[{j}]",
                gateway.uri
            )));
        }
        parsed.push(gateway);
    }
    Ok(parsed)
}

/// The stored fields of `gateway` as they are.
pub(super) fn fields_of(gateway: &Gateway) -> GatewayFields {
    GatewayFields {
        uri: gateway.uri.clone(),
        enabled: gateway.enabled,
        ping_interval_s: gateway.ping_interval_s,
        down_ping_interval_s: gateway.down_ping_interval_s,
        position: gateway.position,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateways::MAX_CHANNELS;
    use crate::types::text::NO_CONTROL_CHARACTERS;
    use chrono::Utc;

    fn input(uri: &str) -> GatewayInput {
        GatewayInput {
            uri: uri.into(),
            ..Default::default()
        }
    }

    #[test]
    fn gateway_lists_name_the_bad_entry() {
        let err = gateway_list(&[input("sip:a.example.com"), input("http://x")])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("gateways[1].uri: "), "{err}");
        let err = gateway_list(&[input("sip:A.example.com"), input("sip:a.example.com.")])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("gateways[1].uri: ") && err.contains("gateways[0]"),
            "{err}"
        );
        assert!(matches!(
            gateway_list(&[input("sip:a.example.com"), input("sip:A.example.com")]),
            Err(Error::Conflict(_))
        ));
        let mut zero = input("sip:a.example.com");
        zero.ping_interval_s = Some(Some(0));
        let err = gateway_list(&[zero]).unwrap_err().to_string();
        assert!(err.starts_with("gateways[0].ping_interval_s: "), "{err}");
    }

    #[test]
    fn absent_fields_keep_existing_values_and_null_clears() {
        let now = Utc::now();
        let existing = Gateway {
            id: 7,
            trunk_id: 1,
            uri: SipUri::parse("sip:a.example.com").unwrap(),
            enabled: false,
            ping_interval_s: Some(30),
            down_ping_interval_s: Some(5),
            position: 3,
            created_at: now,
            updated_at: now,
        };
        let mut given = input("sip:a.example.com");
        given.down_ping_interval_s = Some(None);
        let parsed = ParsedGateway::parse("", &given).unwrap();
        let fields = parsed.fields(Some(&existing), 0);
        assert!(!fields.enabled);
        assert_eq!(fields.ping_interval_s, Some(30));
        assert_eq!(fields.down_ping_interval_s, None);
        let fresh = parsed.fields(None, 0);
        assert!(fresh.enabled);
        assert_eq!(fresh.ping_interval_s, None);
    }

    #[test]
    fn trunk_values_are_checked() {
        assert_eq!(
            alive_codes("2xx, 4xx ,!408").unwrap().to_string(),
            "2xx,4xx,!408"
        );
        assert!(
            alive_codes("7xx")
                .unwrap_err()
                .to_string()
                .starts_with("alive_codes: ")
        );
        assert!(in_range("max_channels", 0, MAX_CHANNELS, "").is_err());
        assert!(in_range("max_channels", 100_000, MAX_CHANNELS, "").is_ok());
        assert!(name("  ").is_err());
        assert_eq!(name(" Carrier A ").unwrap().as_str(), "Carrier A");
    }

    /// The lengths are counted as the document counts them: padded to its `maxLength` with
    /// white space a value is taken, one character more is refused by both.
    #[test]
    fn the_lengths_are_the_documents() {
        use crate::types::schema::check::Allows;
        use utoipa::PartialSchema;
        type Parses = dyn Fn(&str) -> bool;
        let cases: [(_, &str, &Parses); 3] = [
            (TrunkName::schema(), "Carrier", &|t| name(t).is_ok()),
            (IpDescription::schema(), "office", &|t| {
                description(t).is_ok()
            }),
            (Cidr::schema(), "192.0.2.0/24", &|t| cidr(t).is_ok()),
        ];
        for (schema, value, parses) in cases {
            let max = serde_json::to_value(&schema).unwrap()["maxLength"]
                .as_u64()
                .unwrap() as usize;
            let allows = Allows::new(&schema);
            let fits = format!("{value}{}", "\u{85}".repeat(max - value.len()));
            assert!(allows.allows(&fits) && parses(&fits), "{fits:?}");
            let over = format!("{fits} ");
            assert!(!allows.allows(&over) && !parses(&over), "{over:?}");
        }
    }

    /// The words clients see, exactly as before the shared text types took over.
    #[test]
    fn text_refusals_keep_their_words() {
        let err = |r: Result<String>| r.unwrap_err().to_string();
        let name = |t: &str| name(t).map(TrunkName::into_string);
        let description = |t: &str| description(t).map(IpDescription::into_string);
        assert_eq!(err(name("")), "name: must not be empty");
        assert_eq!(
            err(name(&"x".repeat(101))),
            "name: must be at most 100 characters"
        );
        assert_eq!(name(&"é".repeat(100)).unwrap().chars().count(), 100);
        assert_eq!(err(name("a\tb")), format!("name: {NO_CONTROL_CHARACTERS}"));
        assert_eq!(NO_CONTROL_CHARACTERS, "must not contain control characters");
        assert_eq!(description("  ").unwrap(), "");
        assert_eq!(
            err(description(&"x".repeat(501))),
            "description: must be at most 500 characters"
        );
        assert_eq!(
            err(description("line\nbreak")),
            "description: must not contain control characters"
        );
        assert_eq!(
            cidr("10.0.0.1/8").unwrap_err().to_string(),
            "cidr: 10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?"
        );
        assert_eq!(
            cidr("example.com").unwrap_err().to_string(),
            "cidr: not an IP address or CIDR: \"example.com\""
        );
    }
}
