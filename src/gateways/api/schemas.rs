//! The OpenAPI schemas of the trunk fields a pattern can say (alive codes), so a request the
//! document allows is one `validate` takes; the numeric bounds are attributes on the bodies,
//! and the tests below check both against the checks.

use crate::types::schema::{self, WHITE_SPACE, nullable};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

/// `AliveCodes::parse`: comma-separated reply codes (100-699) and classes (`1xx`-`6xx`), each
/// optionally negated with `!`; empty entries are skipped and at least one entry is not
/// negated.
pub fn alive_codes() -> RefOr<Schema> {
    let item = "(?:[1-6](?:xx|XX)|[1-6][0-9]{2})";
    let any = format!("{WHITE_SPACE}*(?:(?:!{WHITE_SPACE}*)?{item})?{WHITE_SPACE}*");
    let included = format!("{WHITE_SPACE}*{item}{WHITE_SPACE}*");
    schema::string(
        "Comma-separated SIP reply codes (100-699) and classes (`2xx`), `!` excluding one; at \
         least one included, e.g. `2xx,4xx,!408`",
        Some(&format!("^(?:{any},)*{included}(?:,{any})*$")),
        (None, None),
        None,
    )
}

pub fn alive_codes_or_null() -> RefOr<Schema> {
    nullable(alive_codes())
}

#[cfg(test)]
mod tests {
    use super::super::gateways::{GatewayBody, UpdateGateway};
    use super::super::trunks::{CreateTrunk, UpdateTrunk};
    use super::*;
    use crate::gateways::health::AliveCodes;
    use crate::gateways::{MAX_CHANNELS, MAX_GATEWAYS, PING_INTERVALS, THRESHOLDS};
    use crate::types::schema::check::{Allows, texts};
    use serde_json::{Value, json};
    use utoipa::PartialSchema;

    #[test]
    fn the_alive_codes_pattern_agrees_with_the_parser() {
        let allows = Allows::new(&alive_codes());
        for text in [
            "2xx",
            "2xx,4xx,!408",
            " 2xx , 4xx ,! 408 ",
            "200",
            "6XX",
            ",,200,",
            "!408,2xx",
            "699",
            "100",
        ] {
            assert!(allows.allows(text), "{text:?}");
            assert!(AliveCodes::parse(text).is_ok(), "{text:?}");
        }
        for text in [
            "",
            " ",
            "!408",
            "7xx",
            "099",
            "700",
            "2xX",
            "2xx;4xx",
            ",",
            "!2xx,!3xx",
        ] {
            assert!(!allows.allows(text), "{text:?}");
            assert!(AliveCodes::parse(text).is_err(), "{text:?}");
        }
        // What the pattern allows, the parser takes.
        let pieces = ["2xx", "4XX", "408", "!", ",", " ", "7", "0", "x", "\u{a0}"];
        for text in texts(&pieces, 8, 20_000) {
            if allows.allows(&text) {
                assert!(AliveCodes::parse(&text).is_ok(), "{text:?}");
            }
        }
    }

    fn property(schema: &Value, path: &[&str]) -> Value {
        let mut at = schema;
        for name in path {
            at = &at["properties"][name];
        }
        at.clone()
    }

    fn bounds(schema: &Value, path: &[&str]) -> (Value, Value) {
        let p = property(schema, path);
        (p["minimum"].clone(), p["maximum"].clone())
    }

    /// The bodies' numeric bounds are the checks' ranges.
    #[test]
    fn the_documented_bounds_are_the_checked_ranges() {
        let range = |r: &std::ops::RangeInclusive<i64>| (json!(r.start()), json!(r.end()));
        for body in [
            serde_json::to_value(CreateTrunk::schema()).unwrap(),
            serde_json::to_value(UpdateTrunk::schema()).unwrap(),
        ] {
            assert_eq!(bounds(&body, &["max_channels"]), range(&MAX_CHANNELS));
            assert_eq!(bounds(&body, &["failures_to_down"]), range(&THRESHOLDS));
            assert_eq!(bounds(&body, &["successes_to_up"]), range(&THRESHOLDS));
            assert_eq!(
                property(&body, &["gateways"])["maxItems"],
                json!(MAX_GATEWAYS)
            );
        }
        for gateway in [
            serde_json::to_value(GatewayBody::schema()).unwrap(),
            serde_json::to_value(UpdateGateway::schema()).unwrap(),
        ] {
            assert_eq!(
                bounds(&gateway, &["ping_interval_s"]),
                range(&PING_INTERVALS)
            );
            assert_eq!(
                bounds(&gateway, &["down_ping_interval_s"]),
                range(&PING_INTERVALS)
            );
        }
    }
}
