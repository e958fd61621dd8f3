//! The OpenAPI schemas of a rule's fields and of its action, written by hand so the document
//! states what the compiler ([`super::compile`]) checks: prefixes and patterns as patterns, codes,
//! weights and lengths as bounds, "weights only with `weighted`" as one branch per strategy and
//! "a translate must strip, prepend or set `caller_id`" as an `anyOf`. What only the data can
//! tell (a trunk that does not exist: 404; a trunk listed twice: 409) is documented on the
//! operations. Each pattern's tests check it against its checker.

use super::compile::{MAX_PREFIX, MAX_REGEX, MAX_ROUTES, MAX_TEXT};
use super::model::Action;
use crate::types::schema::{VISIBLE, nullable, string};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AdditionalProperties, AllOfBuilder, AnyOfBuilder, ArrayBuilder, ObjectBuilder, OneOfBuilder,
    Schema, SchemaFormat, Type,
};

/// A destination or caller prefix as `check_prefix` takes it: an optional `+`, then digits, `*`
/// or `#`, at most 32 characters in all (`+` alone is a prefix of every E.164 number).
pub const PREFIX: &str = r"^(?:\+[0-9*#]{0,31}|[0-9*#]{1,32})$";
/// A rewrite's `prepend`: a prefix, or empty for none.
pub const PREPEND: &str = r"^(?:\+[0-9*#]{0,31}|[0-9*#]{0,32})$";
/// A destination pattern as `Pattern::parse` takes it (its length bounded by `maxLength`).
pub const DIAL_PATTERN: &str = r"^(?:\+[0-9*#xXnNzZ]*|[0-9*#xXnNzZ]+)\.?$";
/// A rule name: no control characters (not trimmed; empty is fine).
pub const RULE_NAME: &str = r"^[^\x00-\x1f\x7f-\x9f]*$";

/// A deny reason: no control characters and not blank (sent as written, not trimmed).
pub fn reason_pattern() -> String {
    format!(r"^[^\x00-\x1f\x7f-\x9f]*{VISIBLE}[^\x00-\x1f\x7f-\x9f]*$")
}

pub fn prefix(description: &str) -> RefOr<Schema> {
    string(description, Some(PREFIX), (Some(1), Some(MAX_PREFIX)), None)
}

fn array(items: RefOr<Schema>, description: &str) -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(items)
        .description(Some(description))
        .into()
}

fn integer(minimum: i64, maximum: Option<i64>, description: Option<&str>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(
            utoipa::openapi::schema::KnownFormat::Int64,
        )))
        .minimum(Some(minimum))
        .maximum(maximum)
        .description(description)
}

fn id(description: &str) -> RefOr<Schema> {
    integer(1, None, Some(description)).into()
}

/// `match.prefixes`.
pub fn prefixes() -> RefOr<Schema> {
    array(
        prefix("`+` and digits, `*`, `#`"),
        "Destination prefixes such as `+44`, `+1900`; longest match wins within a policy.",
    )
}

/// `match.caller_prefixes`.
pub fn caller_prefixes() -> RefOr<Schema> {
    array(
        prefix("`+` and digits, `*`, `#`"),
        "Caller numbers or prefixes (`+1415`).",
    )
}

/// `match.pattern`.
pub fn dial_pattern() -> RefOr<Schema> {
    nullable(string(
        "Destination pattern: `+` and digits with `x` (any digit), `n` (2–9), `z` (1–9) and a \
         trailing `.` (one or more of anything), e.g. `+1415555xxxx`.",
        Some(DIAL_PATTERN),
        (Some(1), Some(super::pattern::MAX_LEN)),
        None,
    ))
}

/// `match.regex`: the format names what a pattern cannot say (it must compile as a Rust
/// `regex`, within a size limit).
pub fn regex() -> RefOr<Schema> {
    nullable(string(
        "Destination regular expression (Rust `regex` syntax, anchored), for what a pattern \
         cannot say. Compiled once; only tried for rules the prefix trie already selected.",
        None,
        (Some(1), Some(MAX_REGEX)),
        Some("rust-regex"),
    ))
}

/// `match.trunks`.
pub fn trunks() -> RefOr<Schema> {
    array(
        id("A trunk id (404 if no such trunk of the organization or a parent)"),
        "The trunk the call arrived on.",
    )
}

/// `match.organizations`.
pub fn organizations() -> RefOr<Schema> {
    array(
        id("An organization id"),
        "The calling organization (useful in a parent's group that applies to some children).",
    )
}

/// A rule's `name`.
pub fn rule_name() -> RefOr<Schema> {
    string(
        "Free text shown in evaluation trails (\"UK premium block\").",
        Some(RULE_NAME),
        (None, Some(MAX_TEXT)),
        None,
    )
}

fn closed(object: ObjectBuilder) -> ObjectBuilder {
    object.additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
}

fn tag(object: ObjectBuilder, name: &str) -> ObjectBuilder {
    object
        .property(
            "type",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([name])),
        )
        .required("type")
}

fn strip() -> ObjectBuilder {
    integer(
        0,
        Some(MAX_PREFIX as i64),
        Some("Digits to strip from the front"),
    )
}

fn prepend() -> RefOr<Schema> {
    string(
        "Digits to put in front (`+` allowed first)",
        Some(PREPEND),
        (None, Some(MAX_PREFIX)),
        None,
    )
}

/// One route target; `weighted` says whether its `weight` is required (1–1000) or absent.
fn route_target(weighted: bool) -> RefOr<Schema> {
    let rewrite = closed(ObjectBuilder::new())
        .description(Some(
            "Digits to strip from the front of the number, then digits to put in front.",
        ))
        .property("strip", strip())
        .property("prepend", prepend());
    let target = closed(ObjectBuilder::new())
        .property(
            "trunk_id",
            id("A trunk of the organization or a parent (404 if none; listed twice: 409)"),
        )
        .required("trunk_id")
        .property("rewrite", rewrite);
    if weighted {
        target
            .property("weight", integer(1, Some(1000), Some("1–1000")))
            .required("weight")
            .into()
    } else {
        target
            .property(
                "weight",
                ObjectBuilder::new()
                    .schema_type(Type::Null)
                    .description(Some("Only with `strategy = \"weighted\"`")),
            )
            .into()
    }
}

fn route(weighted: bool) -> RefOr<Schema> {
    let (strategy, description) = if weighted {
        (
            "weighted",
            "Send the call to these trunks, the first drawn by weight, the rest by descending \
             weight.",
        )
    } else {
        (
            "ordered",
            "Send the call to these trunks in order (failover); `strategy` defaults to `ordered`.",
        )
    };
    let object = tag(closed(ObjectBuilder::new()), "route")
        .description(Some(description))
        .property(
            "strategy",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([strategy])),
        )
        .property(
            "routes",
            ArrayBuilder::new()
                .items(route_target(weighted))
                .min_items(Some(1))
                .max_items(Some(MAX_ROUTES)),
        )
        .required("routes");
    if weighted {
        object.required("strategy").into()
    } else {
        object.into()
    }
}

fn translate() -> RefOr<Schema> {
    let fields = tag(closed(ObjectBuilder::new()), "translate")
        .property("strip", strip())
        .property("prepend", prepend())
        .property("caller_id", nullable(prefix("The caller id to send")));
    let does_something = AnyOfBuilder::new()
        .description(Some("A translate must strip, prepend or set `caller_id`"))
        .item(
            ObjectBuilder::new()
                .property("strip", integer(1, None, None))
                .required("strip"),
        )
        .item(
            ObjectBuilder::new()
                .property("prepend", string("", None, (Some(1), None), None))
                .required("prepend"),
        )
        .item(
            ObjectBuilder::new()
                .property("caller_id", ObjectBuilder::new().schema_type(Type::String))
                .required("caller_id"),
        );
    AllOfBuilder::new()
        .description(Some(
            "Rewrite the destination (and optionally the caller id), then go on with the next \
             policy.",
        ))
        .item(fields)
        .item(does_something)
        .into()
}

fn deny() -> RefOr<Schema> {
    tag(closed(ObjectBuilder::new()), "deny")
        .description(Some("Refuse the call with this SIP code and reason."))
        .property(
            "sip_code",
            integer(400, Some(699), Some("A SIP failure code")),
        )
        .required("sip_code")
        .property(
            "reason",
            string(
                "Sent as written: not blank, no control characters",
                Some(&reason_pattern()),
                (Some(1), Some(MAX_TEXT)),
                None,
            ),
        )
        .required("reason")
        .into()
}

fn continue_() -> RefOr<Schema> {
    tag(closed(ObjectBuilder::new()), "continue")
        .description(Some("Evaluate another policy group (by id) here."))
        .property(
            "group_id",
            id("A policy group of the organization or a parent (404 if none)"),
        )
        .required("group_id")
        .into()
}

impl utoipa::PartialSchema for Action {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .description(Some("What a matching rule does."))
            .item(route(false))
            .item(route(true))
            .item(translate())
            .item(deny())
            .item(continue_())
            .into()
    }
}

impl utoipa::ToSchema for Action {}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
