//! The OpenAPI schemas of the device, line and provisioning-settings fields that `validate`
//! checks, so a request the document allows is one the server takes; each is tested against
//! its check below.

use super::validate::{MAX_HOST_CHARS, MAX_URL_CHARS, MAX_VARIABLE_CHARS, MAX_VARIABLES};
use crate::types::schema::{self, VISIBLE, WHITE_SPACE, nullable};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, SchemaType, Type};

/// A DNS label, as `SipUri` takes host names.
const LABEL: &str = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
/// 1-65535.
const PORT: &str =
    "(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";
/// Characters of a model name; the first and last are not spaces.
const MODEL_CHAR: &str = r"[A-Za-z0-9 \-_.+/()]";
const MODEL_EDGE: &str = r"[A-Za-z0-9\-_.+/()]";
/// The longest model name (`validate::model` counts the trimmed text).
const MODEL_MAX: usize = 64;

/// IPv6 in hex groups with at most one `::` (the forms that embed an IPv4 address are left
/// out: the parser takes them, the document does not offer them).
fn ipv6() -> String {
    let h = "[0-9A-Fa-f]{1,4}";
    [
        format!("(?:{h}:){{7}}{h}"),
        format!("(?:{h}:){{1,7}}:"),
        format!("(?:{h}:){{1,6}}:{h}"),
        format!("(?:{h}:){{1,5}}(?::{h}){{1,2}}"),
        format!("(?:{h}:){{1,4}}(?::{h}){{1,3}}"),
        format!("(?:{h}:){{1,3}}(?::{h}){{1,4}}"),
        format!("(?:{h}:){{1,2}}(?::{h}){{1,5}}"),
        format!("{h}:(?::{h}){{1,6}}"),
        format!(":(?:(?::{h}){{1,7}}|:)"),
    ]
    .join("|")
}

/// A host name, an IPv4 address or a bracketed IPv6 address.
fn host_body() -> String {
    format!(r"(?:{LABEL}(?:\.{LABEL})*\.?|\[(?:{})\])", ipv6())
}

/// `body` with white space around it (which the checks trim).
fn trimmed(body: &str) -> String {
    format!("^{WHITE_SPACE}*(?:{body}){WHITE_SPACE}*$")
}

fn text(description: &str, pattern: &str, max: Option<usize>) -> RefOr<Schema> {
    schema::string(description, Some(pattern), (None, max), None)
}

/// `validate::model`: 1-64 of letters, digits, spaces and `- _ . + / ( )`.
pub fn model() -> RefOr<Schema> {
    text(
        "Model name, e.g. `T54W` (1-64 of letters, digits, spaces and `- _ . + / ( )`)",
        &trimmed(&format!(
            "{MODEL_EDGE}(?:{MODEL_CHAR}{{0,{}}}{MODEL_EDGE})?",
            MODEL_MAX - 2
        )),
        None,
    )
}

pub fn model_or_null() -> RefOr<Schema> {
    nullable(model())
}

/// `validate::account`: a SIP or provisioning user name.
pub fn account() -> RefOr<Schema> {
    text(
        "1-64 of letters, digits and `. _ - + * ! ~ @`",
        &trimmed(r"[A-Za-z0-9._\-+*!~@]{1,64}"),
        None,
    )
}

pub fn account_or_null() -> RefOr<Schema> {
    nullable(account())
}

/// `validate::password`: 8-128 printable ASCII characters, no spaces.
pub fn password_or_null() -> RefOr<Schema> {
    nullable(schema::string(
        "8-128 printable ASCII characters without spaces",
        Some("^[!-~]+$"),
        (Some(8), Some(128)),
        None,
    ))
}

/// `validate::display_name`: at most 64 characters, no control characters.
pub fn display_name_or_null() -> RefOr<Schema> {
    let inner = r"[^\x00-\x1f\x7f-\x9f]";
    nullable(text(
        "At most 64 characters (trimmed), no control characters",
        &trimmed(&format!("(?:{VISIBLE}(?:{inner}{{0,62}}{VISIBLE})?)?")),
        None,
    ))
}

fn host_port_body() -> String {
    format!("{}(?::{PORT})?", host_body())
}

/// `validate::host_port`: `host[:port]`.
pub fn host_port() -> RefOr<Schema> {
    text(
        "`host[:port]`: a DNS name or an address (IPv6 in brackets), port 1-65535",
        &trimmed(&host_port_body()),
        Some(MAX_HOST_CHARS),
    )
}

pub fn host_port_or_null() -> RefOr<Schema> {
    nullable(host_port())
}

/// `validate::variables`: a flat object of template variables (or null).
pub fn variables_or_null() -> RefOr<Schema> {
    let value = ObjectBuilder::new()
        .schema_type(SchemaType::Array(vec![
            Type::String,
            Type::Number,
            Type::Boolean,
        ]))
        .description(Some(
            "A string (no control characters), a number or a boolean",
        ))
        .max_length(Some(MAX_VARIABLE_CHARS))
        .pattern(Some(r"^[^\x00-\x1f\x7f-\x9f]*$"));
    let name = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^[a-z0-9_.]{1,64}$"));
    ObjectBuilder::new()
        .schema_type(SchemaType::Array(vec![Type::Object, Type::Null]))
        .description(Some(
            "Template variables: names `[a-z0-9_.]{1,64}` to strings (at most 1024 characters), \
             numbers or booleans, at most 100",
        ))
        .max_properties(Some(MAX_VARIABLES))
        .property_names(Some(name))
        .additional_properties(Some(AdditionalProperties::RefOr(value.into())))
        .into()
}

/// Provisioning settings: each can be null or blank, which clears it.
pub mod settings {
    use super::*;
    use utoipa::openapi::schema::AnyOfBuilder;

    /// `value`, or blank (any white space, which clears the setting), or null.
    fn clearable(description: &str, value: RefOr<Schema>) -> RefOr<Schema> {
        let blank = text(
            "Blank: clears the setting",
            &format!("^{WHITE_SPACE}*$"),
            None,
        );
        AnyOfBuilder::new()
            .item(value)
            .item(blank)
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .description(Some(format!("{description}; null or blank clears it")))
            .into()
    }

    /// `validate::host`: an NTP server, no port.
    pub fn host() -> RefOr<Schema> {
        clearable(
            "Host name or address of the NTP server (IPv6 in brackets)",
            text(
                "A host name or address",
                &trimmed(&host_body()),
                Some(MAX_HOST_CHARS),
            ),
        )
    }

    pub fn host_port() -> RefOr<Schema> {
        clearable("Default registrar `host[:port]`", super::host_port())
    }

    /// `validate::language`.
    pub fn language() -> RefOr<Schema> {
        clearable(
            "Language tag such as `en` or `de-DE` (2-35 letters, digits, `-` and `_`)",
            text("A language tag", &trimmed("[A-Za-z0-9_-]{2,35}"), None),
        )
    }

    /// `validate::http_url`: the user info before the host has no `/ ? #` (they would end
    /// the authority).
    pub fn http_url() -> RefOr<Schema> {
        // VISIBLE is a negated class: add `/ ? #` to what it leaves out.
        let info = format!("{}/?#]", VISIBLE.trim_end_matches(']'));
        clearable(
            "`http://` or `https://` URL firmware is fetched from (at most 2048 characters)",
            text(
                "An http:// or https:// URL",
                &trimmed(&format!(
                    "[Hh][Tt][Tt][Pp][Ss]?://(?:{info}*@)?{}(?:[/?#]{VISIBLE}*)?",
                    host_port_body()
                )),
                Some(MAX_URL_CHARS),
            ),
        )
    }

    /// `validate::sip_uri`, as [`crate::types::SipUri`] describes it.
    pub fn sip_uri() -> RefOr<Schema> {
        use utoipa::PartialSchema;
        clearable(
            "SIP URI of the outbound proxy",
            crate::types::sip_uri::SipUri::schema(),
        )
    }

    /// An IANA time zone name as `chrono_tz` knows them (`orgs::model::validate_timezone`).
    pub fn timezone() -> RefOr<Schema> {
        let names: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
        clearable(
            "IANA time zone, e.g. `Europe/Berlin`",
            schema::one_of("An IANA time zone", &names),
        )
    }

    pub fn variables() -> RefOr<Schema> {
        super::variables_or_null()
    }
}

#[cfg(test)]
mod tests;
