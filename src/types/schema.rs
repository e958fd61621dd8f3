//! The OpenAPI schemas of the value types: the syntax each parser takes, as `pattern`,
//! `minLength` and `maxLength`, and a custom `format` naming the checks a pattern cannot say (a
//! Luhn digit, a network's host bits, a country's number lengths), so clients and fuzzers know
//! what a field accepts. The patterns are ECMA-262 and Rust `regex` alike; each type's tests
//! check its pattern against its parser.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaFormat, Type};

/// A string schema; `format` is a custom format name (`mac`, `cidr`, …) or none.
pub fn string(
    description: &str,
    pattern: Option<&str>,
    length: (Option<usize>, Option<usize>),
    format: Option<&str>,
) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .pattern(pattern)
        .min_length(length.0)
        .max_length(length.1)
        .format(format.map(|f| SchemaFormat::Custom(f.to_string())))
        .into()
}

/// Unicode `White_Space`, which `str::trim` removes (spelled out: `\s` differs between regex
/// engines).
pub const WHITE_SPACE: &str =
    r"[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
/// Neither white space nor a control character.
const VISIBLE: &str = r"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";

/// Text as [`crate::types::text`] takes it: trimmed of white space, then no control characters
/// (`\n` allowed where `newlines`); with `non_blank`, something must remain.
pub fn text_pattern(non_blank: bool, newlines: bool) -> String {
    let inner = if newlines {
        r"[^\x00-\x09\x0b-\x1f\x7f-\x9f]"
    } else {
        r"[^\x00-\x1f\x7f-\x9f]"
    };
    let trimmed = format!("{VISIBLE}(?:{inner}*{VISIBLE})?");
    let trimmed = if non_blank {
        trimmed
    } else {
        format!("(?:{trimmed})?")
    };
    format!("^{WHITE_SPACE}*{trimmed}{WHITE_SPACE}*$")
}

#[cfg(test)]
pub mod check {
    //! Test support: a type's pattern must match every text its parser accepts (so a
    //! schema-valid request is never refused for its syntax) and reject the refused ones it
    //! can tell.
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::Schema;

    pub fn pattern_of(schema: RefOr<Schema>) -> regex::Regex {
        let RefOr::T(Schema::Object(object)) = schema else {
            panic!("not an object schema");
        };
        let pattern = object.pattern.expect("a pattern");
        regex::Regex::new(&pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"))
    }
}
