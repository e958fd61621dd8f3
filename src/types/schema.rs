//! The OpenAPI schemas of the value types: the syntax each parser takes, as `pattern`,
//! `minLength` and `maxLength`, and a custom `format` naming the checks a pattern cannot say (a
//! Luhn digit, a network's host bits, a country's number lengths), so clients and fuzzers know
//! what a field accepts. The patterns are ECMA-262 and Rust `regex` alike; each type's tests
//! check its pattern against its parser.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, SchemaType, Type,
};

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

/// A string that is one of `names` (a query filter or a field whose parser takes a fixed list).
pub fn one_of(description: &str, names: &[&str]) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(names.iter().copied()))
        .into()
}

/// `schema`, also allowing `null`: an optional field a request may send as null (which the
/// server reads as absent, or as "clear" where the field says so).
pub fn nullable(schema: RefOr<Schema>) -> RefOr<Schema> {
    match schema {
        RefOr::T(Schema::Object(mut object)) => {
            object.schema_type = match object.schema_type {
                SchemaType::Type(t) if t != Type::Null => SchemaType::Array(vec![t, Type::Null]),
                SchemaType::Array(mut types) => {
                    if !types.contains(&Type::Null) {
                        types.push(Type::Null);
                    }
                    SchemaType::Array(types)
                }
                other => other,
            };
            // An enum lists its values: null must be one of them too.
            if let Some(values) = object.enum_values.as_mut()
                && !values.contains(&serde_json::Value::Null)
            {
                values.push(serde_json::Value::Null);
            }
            RefOr::T(Schema::Object(object))
        }
        other => OneOfBuilder::new()
            .item(other)
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .into(),
    }
}

/// Unicode `White_Space`, which `str::trim` removes (spelled out: `\s` differs between regex
/// engines).
pub const WHITE_SPACE: &str =
    r"[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
/// Neither white space nor a control character.
pub const VISIBLE: &str = r"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";

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

    /// A string schema's checks, compiled once: its pattern, its lengths (in characters, as
    /// JSON Schema counts them) and its enum; for `anyOf`/`oneOf`, any of its string branches.
    pub struct Allows(Vec<Branch>);

    struct Branch {
        pattern: Option<regex::Regex>,
        min: Option<usize>,
        max: Option<usize>,
        values: Option<Vec<serde_json::Value>>,
    }

    impl Allows {
        pub fn new(schema: &RefOr<Schema>) -> Self {
            let mut branches = Vec::new();
            collect(schema, &mut branches);
            assert!(!branches.is_empty(), "no string schema");
            Self(branches)
        }

        pub fn allows(&self, text: &str) -> bool {
            let chars = text.chars().count();
            self.0.iter().any(|b| {
                b.pattern.as_ref().is_none_or(|p| p.is_match(text))
                    && b.min.is_none_or(|min| chars >= min)
                    && b.max.is_none_or(|max| chars <= max)
                    && b.values.as_ref().is_none_or(|v| v.contains(&text.into()))
            })
        }
    }

    fn collect(schema: &RefOr<Schema>, branches: &mut Vec<Branch>) {
        use utoipa::openapi::schema::{SchemaType, Type};
        match schema {
            RefOr::T(Schema::Object(object)) => {
                let string = match &object.schema_type {
                    SchemaType::Type(t) => *t == Type::String,
                    SchemaType::Array(types) => types.contains(&Type::String),
                    SchemaType::AnyValue => true,
                };
                if string {
                    branches.push(Branch {
                        pattern: object
                            .pattern
                            .as_deref()
                            .map(|p| regex::Regex::new(p).unwrap_or_else(|e| panic!("{p}: {e}"))),
                        min: object.min_length,
                        max: object.max_length,
                        values: object.enum_values.clone(),
                    });
                }
            }
            RefOr::T(Schema::AnyOf(any)) => any.items.iter().for_each(|s| collect(s, branches)),
            RefOr::T(Schema::OneOf(one)) => one.items.iter().for_each(|s| collect(s, branches)),
            _ => panic!("not a string schema"),
        }
    }

    /// Texts of 1 to `max` pieces drawn from `pieces` (seeded: the same every run), for
    /// checking a pattern against its parser beyond the hand-picked samples.
    pub fn texts(pieces: &[&str], max: usize, count: usize) -> Vec<String> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(20261202);
        (0..count)
            .map(|_| {
                let n = rng.random_range(1..=max);
                (0..n)
                    .map(|_| pieces[rng.random_range(0..pieces.len())])
                    .collect()
            })
            .collect()
    }

    pub fn pattern_of(schema: RefOr<Schema>) -> regex::Regex {
        let RefOr::T(Schema::Object(object)) = schema else {
            panic!("not an object schema");
        };
        let pattern = object.pattern.expect("a pattern");
        regex::Regex::new(&pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::check::Allows;
    use crate::types::e164::{E164, input_schema};
    use crate::types::iccid::{Iccid, Imsi};
    use crate::types::mac::Mac;
    use crate::types::sip_uri::SipUri;
    use utoipa::PartialSchema;

    /// A value padded with white space to the document's `maxLength` is taken; one character
    /// more is refused by the document and by the parser alike.
    #[test]
    fn the_value_types_count_white_space_as_the_document_does() {
        type Parses = dyn Fn(&str) -> bool;
        let cases: [(_, &str, &Parses); 5] = [
            (Mac::schema(), "0015651234ab", &|t| Mac::parse(t).is_ok()),
            (Iccid::schema(), "8944500102198304826", &|t| {
                Iccid::parse(t).is_ok()
            }),
            (Imsi::schema(), "310150123456789", &|t| {
                Imsi::parse(t).is_ok()
            }),
            (input_schema(), "+14155550134", &|t| {
                E164::parse(t, None).is_ok()
            }),
            (SipUri::schema(), "sip:gw.example.com", &|t| {
                SipUri::parse(t).is_ok()
            }),
        ];
        for (schema, value, parses) in cases {
            let max = serde_json::to_value(&schema).unwrap()["maxLength"]
                .as_u64()
                .unwrap() as usize;
            let allows = Allows::new(&schema);
            let fits = format!("{value}{}", " ".repeat(max - value.len()));
            assert!(allows.allows(&fits) && parses(&fits), "{fits:?}");
            let over = format!("{fits} ");
            assert!(!allows.allows(&over) && !parses(&over), "{over:?}");
        }
    }
}
