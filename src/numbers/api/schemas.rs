//! The OpenAPI schemas of the number fields and filters a pattern can say (tags, prefixes,
//! number patterns), so a request the document allows is one the server takes; each is tested
//! against its parser below. The query filters are free text, read as absent when blank, so
//! their patterns also allow blank text; in a body the text must be given.

use crate::types::schema::{self, WHITE_SPACE, nullable};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

/// A tag as `validate_tags` takes it (and lower-cases).
const TAG: &str = "[A-Za-z0-9_-]{1,32}";
/// `pattern::prefix`: an optional `+`, then 1-15 digits, spaces and dashes between.
const PREFIX: &str = r"\+?[ \-]*(?:[0-9][ \-]*){1,15}";
/// `Pattern::parse`: an optional `+`, then 1-15 of digits, `x`, `n` and `z` (any case), the
/// first no `0`, spaces and dashes between.
const PATTERN: &str = r"\+?[ \-]*[1-9xXnNzZ](?:[ \-]*[0-9xXnNzZ]){0,14}[ \-]*";

/// `body` with white space around it; `blank`: or only white space.
fn trimmed(body: &str, blank: bool) -> String {
    let optional = if blank { "?" } else { "" };
    format!("^{WHITE_SPACE}*(?:{body}){optional}{WHITE_SPACE}*$")
}

pub fn tag() -> RefOr<Schema> {
    schema::string(
        "1-32 of letters, digits, `_` and `-` (stored lower-case)",
        Some(&trimmed(TAG, false)),
        (None, None),
        None,
    )
}

/// A tag in a body's `tags` (documentation only: the body reads it as text).
pub struct TagItem;

impl utoipa::PartialSchema for TagItem {
    fn schema() -> RefOr<Schema> {
        tag()
    }
}

impl utoipa::ToSchema for TagItem {}

/// The `tag` filter of a list (documentation only: the list reads it as text).
pub struct TagFilter;

impl utoipa::PartialSchema for TagFilter {
    fn schema() -> RefOr<Schema> {
        schema::string(
            "A tag (blank: any)",
            Some(&trimmed(TAG, true)),
            (None, None),
            None,
        )
    }
}

impl utoipa::ToSchema for TagFilter {}

pub fn prefix() -> RefOr<Schema> {
    schema::string(
        "An E.164 prefix: `+` and 1-15 digits, e.g. `+1415`",
        Some(&trimmed(PREFIX, false)),
        (None, None),
        None,
    )
}

pub fn prefix_or_null() -> RefOr<Schema> {
    nullable(prefix())
}

/// The `prefix` filter of a list (documentation only: the list reads it as text).
pub struct PrefixFilter;

impl utoipa::PartialSchema for PrefixFilter {
    fn schema() -> RefOr<Schema> {
        schema::string(
            "An E.164 prefix, e.g. `+1415` (blank: any)",
            Some(&trimmed(PREFIX, true)),
            (None, None),
            None,
        )
    }
}

impl utoipa::ToSchema for PrefixFilter {}

pub fn pattern() -> RefOr<Schema> {
    schema::string(
        "A whole-number pattern of 1-15 digits, `x` (any digit), `n` (2-9) and `z` (1-9), not \
         starting with 0, e.g. `+1415555xxxx`",
        Some(&trimmed(PATTERN, false)),
        (None, None),
        None,
    )
}

pub fn pattern_or_null() -> RefOr<Schema> {
    nullable(pattern())
}

/// The `pattern` filter of a list (documentation only: the list reads it as text).
pub struct PatternFilter;

impl utoipa::PartialSchema for PatternFilter {
    fn schema() -> RefOr<Schema> {
        schema::string(
            "A whole-number pattern: digits, `x` (any digit), `n` (2-9), `z` (1-9), e.g. `+1415555xxxx` (blank: any)",
            Some(&trimmed(PATTERN, true)),
            (None, None),
            None,
        )
    }
}

impl utoipa::ToSchema for PatternFilter {}

pub fn tag_or_null() -> RefOr<Schema> {
    nullable(tag())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numbers::model::validate_tags;
    use crate::numbers::pattern::{self, Pattern};
    use crate::types::schema::check::{Allows, texts};
    use utoipa::PartialSchema;

    fn agree(allows: &Allows, parses: &dyn Fn(&str) -> bool, samples: &[&str], pieces: &[&str]) {
        for text in samples {
            assert_eq!(allows.allows(text), parses(text), "{text:?}");
        }
        for text in texts(pieces, 20, 20_000) {
            if allows.allows(&text) {
                assert!(parses(&text), "{text:?}");
            }
        }
    }

    #[test]
    fn the_tag_pattern_agrees_with_the_check() {
        let parses = |t: &str| validate_tags("tags", &[t.to_string()]).is_ok();
        let samples = [
            "vip",
            " VIP ",
            "a_b-c",
            "",
            " ",
            "a b",
            "é",
            &"x".repeat(32),
        ];
        let pieces = ["a", "Z", "0", "_", "-", " ", "é", ",", "\u{a0}"];
        agree(&Allows::new(&tag()), &parses, &samples, &pieces);
        assert!(!Allows::new(&tag()).allows(&"x".repeat(33)));
        assert!(validate_tags("tags", &["x".repeat(33)]).is_err());
        let filter = Allows::new(&TagFilter::schema());
        assert!(filter.allows("") && filter.allows(" ") && filter.allows("vip"));
        assert!(!filter.allows("a b"));
    }

    #[test]
    fn the_prefix_pattern_agrees_with_the_parser() {
        let parses = |t: &str| pattern::prefix(t).is_ok();
        let samples = [
            "+1415",
            "1415",
            " +1 415-555 ",
            "+",
            "",
            "+x",
            "0",
            "+1234567890123456",
            "+123456789012345",
            "1+1",
        ];
        let pieces = ["+", "1", "0", " ", "-", "x", "\u{3000}"];
        agree(&Allows::new(&prefix()), &parses, &samples, &pieces);
        let filter = Allows::new(&PrefixFilter::schema());
        assert!(filter.allows("") && filter.allows("+1415"));
        assert!(!filter.allows("+"));
    }

    #[test]
    fn the_number_pattern_pattern_agrees_with_the_parser() {
        let parses = |t: &str| Pattern::parse(t).is_ok();
        let samples = [
            "+1415555xxxx",
            "+1 NXX-555-xxxx",
            "z",
            "0xx",
            "+0",
            "",
            "+",
            "x1y",
            "+1234567890123456",
            "123456789012345",
        ];
        let pieces = ["+", "1", "0", "x", "N", "z", " ", "-", "y"];
        agree(&Allows::new(&pattern()), &parses, &samples, &pieces);
        let filter = Allows::new(&PatternFilter::schema());
        assert!(filter.allows(" ") && filter.allows("+1415xxx"));
        assert!(!filter.allows("0"));
    }

    /// The bodies' bounds are the checks': tags and channel limits.
    #[test]
    fn the_body_bounds_are_the_checked_ones() {
        use super::super::inventory::{CreateNumber, UpdateNumber};
        use crate::numbers::model::{CHANNEL_LIMITS, MAX_TAGS};
        use serde_json::json;
        for body in [
            serde_json::to_value(CreateNumber::schema()).unwrap(),
            serde_json::to_value(UpdateNumber::schema()).unwrap(),
        ] {
            let field = |name: &str| body["properties"][name].clone();
            assert_eq!(field("tags")["maxItems"], json!(MAX_TAGS));
            assert_eq!(
                field("channel_limit")["minimum"],
                json!(CHANNEL_LIMITS.start())
            );
            assert_eq!(
                field("channel_limit")["maximum"],
                json!(CHANNEL_LIMITS.end())
            );
        }
    }
}
