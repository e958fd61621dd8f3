//! The JSON request-body extractor: errors name the field (`name: invalid type …`) and an
//! oversized body is a 413 in the API's error shape.

use crate::error::Error;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// The configured body limit, put on each request by the HTTP layer so a 413 can name it.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A request body parsed as JSON into `T`.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let limit = req.extensions().get::<BodyLimit>().map_or(0, |l| l.0);
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                Error::PayloadTooLarge(limit)
            } else {
                Error::bad_request(rejection.body_text())
            }
        })?;
        parse(&bytes).map(JsonBody)
    }
}

/// A request body that may carry back the read-only fields of the resource it edits, so a
/// client can `PUT` what it got from a `GET`: those keys are dropped before parsing, whatever
/// their value, and every other key still has to be known.
pub trait ReadOnlyFields {
    /// Top-level keys the resource shows but the body does not set (`id`, `created_at` …).
    const READ_ONLY: &'static [&'static str];
    /// Lists of objects in the body whose items have read-only keys of their own.
    const NESTED: &'static [(&'static str, &'static [&'static str])] = &[];
}

/// The read-only keys every stored resource shows.
pub const STORED: [&str; 3] = ["id", "created_at", "updated_at"];

/// A request body parsed as JSON into `T` after dropping `T`'s read-only keys.
pub struct JsonEdit<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + ReadOnlyFields> FromRequest<S> for JsonEdit<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let JsonBody(value) = JsonBody::<serde_json::Value>::from_request(req, state).await?;
        parse_edit(value).map(JsonEdit)
    }
}

/// Drops `T`'s read-only keys from a parsed body, then deserializes what is left.
pub fn parse_edit<T: DeserializeOwned + ReadOnlyFields>(
    mut value: serde_json::Value,
) -> Result<T, Error> {
    if let Some(body) = value.as_object_mut() {
        drop_keys(body, T::READ_ONLY);
        for (list, keys) in T::NESTED {
            let items = body
                .get_mut(*list)
                .and_then(serde_json::Value::as_array_mut);
            for item in items.into_iter().flatten() {
                if let Some(item) = item.as_object_mut() {
                    drop_keys(item, keys);
                }
            }
        }
    }
    deserialize_named(value)
}

fn drop_keys(object: &mut serde_json::Map<String, serde_json::Value>, keys: &[&str]) {
    for key in keys {
        object.remove(*key);
    }
}

/// Parses an optional body: none at all, or JSON `null`, is `T::default()`.
pub fn parse_or_default<T: DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, Error> {
    let text = bytes.trim_ascii();
    if text.is_empty() || text == b"null" {
        return Ok(T::default());
    }
    parse(bytes)
}

/// Parses JSON bytes, naming the path of the field that failed.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::bad_request(
            "request body: a JSON object is required",
        ));
    }
    // Syntax first: a broken body is "malformed JSON" even when an earlier key is unknown.
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        return Err(Error::bad_request(format!(
            "malformed JSON: {}",
            strip_position(&e.to_string())
        )));
    }
    // serde reads a struct from an array of its fields in order too; the API takes objects only.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(Error::bad_request(
            "request body: a JSON object is required",
        ));
    }
    // Whole floats (`3.0`, `1e3`) read as the integers they spell, exactly, into any body
    // (typed or a `Value` for an edit); see `whole_numbers`.
    let text = String::from_utf8_lossy(bytes);
    let rewritten = super::whole_numbers::rewrite(&text);
    let mut deserializer = serde_json::Deserializer::from_slice(rewritten.as_bytes());
    match serde_path_to_error::deserialize(&mut deserializer) {
        Ok(value) => {
            deserializer
                .end()
                .map_err(|e| Error::bad_request(format!("malformed JSON: {e}")))?;
            Ok(value)
        }
        Err(e) => Err(named(e)),
    }
}

/// Replaces every float without a fraction (`3.0`, `1e3`) in `value` by the same integer.
pub fn whole_floats_to_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() < 9.0e15
            {
                // Exact: |f| < 2^53, so the cast keeps every digit.
                *value = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_floats_to_integers),
        Value::Object(map) => map.values_mut().for_each(whole_floats_to_integers),
        _ => {}
    }
}

/// Deserializes an already parsed JSON object into `T`, naming the path of the field that
/// failed.
pub fn deserialize_named<T: DeserializeOwned>(mut value: serde_json::Value) -> Result<T, Error> {
    match serde_path_to_error::deserialize(&value) {
        Ok(parsed) => Ok(parsed),
        // JSON Schema's integers include `3.0`: read whole floats as integers, then try again.
        Err(e) if e.inner().to_string().contains("floating point") => {
            whole_floats_to_integers(&mut value);
            serde_path_to_error::deserialize(value).map_err(named)
        }
        Err(e) => Err(named(e)),
    }
}

fn named<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> Error {
    let path = short_path(e.path().to_string());
    let message = strip_position(&e.into_inner().to_string());
    // The syntax is already checked: serde_json reports some type mismatches (a boolean for an
    // enum) as syntax errors, and those are about the field.
    if path == "." {
        Error::bad_request(format!("request body: {message}"))
    } else {
        Error::field(&path, message)
    }
}

/// A path names the map keys on the way, and a key is as long as the client made it: a long
/// path keeps its start, as a quoted value does.
fn short_path(path: String) -> String {
    match path
        .char_indices()
        .nth(2 * crate::types::text::QUOTED_PREFIX)
    {
        None => path,
        Some((end, _)) => format!("{}…", &path[..end]),
    }
}

/// serde_json appends " at line 1 column 9"; the path already says where. What serde quotes
/// of the input (`invalid type: string "…"`, `unknown variant `…``) is cut to a prefix.
fn strip_position(message: &str) -> String {
    let message = match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => message,
    };
    crate::types::text::shorten_quotes(message).into_owned()
}

/// For `Option<Option<T>>` fields: distinguishes "absent" (None) from "null" (Some(None)).
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Input {
        name: String,
        count: Option<u32>,
        kind: Option<Kind>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        Small,
    }

    #[test]
    fn names_the_field() {
        let err = parse::<Input>(br#"{"name": 5}"#).unwrap_err().to_string();
        assert!(err.starts_with("name: invalid type"), "{err}");
        let err = parse::<Input>(br#"{"name": "x", "count": "many"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("count:"), "{err}");
        let err = parse::<Input>(br#"{"name": "x", "kind": true}"#)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("kind:"), "{err}");
        let err = parse::<Input>(br#"{"count": 1}"#).unwrap_err().to_string();
        assert!(err.contains("missing field `name`"), "{err}");
        let err = parse::<Input>(br#"{"name": "x", "nmae": 1}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `nmae`"), "{err}");
    }

    #[test]
    fn what_serde_quotes_of_a_huge_value_is_cut() {
        let huge = "x".repeat(1_000_000);
        let body = format!(r#"{{"name": "x", "kind": "{huge}"}}"#);
        let err = parse::<Input>(body.as_bytes()).unwrap_err().to_string();
        assert!(err.starts_with("kind: unknown variant `xxx"), "{err}");
        assert!(err.len() < 300, "{} bytes", err.len());
        let body = format!(r#"{{"name": "x", "count": "{huge}"}}"#);
        let err = parse::<Input>(body.as_bytes()).unwrap_err().to_string();
        assert!(err.starts_with("count: invalid type: string"), "{err}");
        assert!(err.len() < 300, "{} bytes", err.len());
    }

    #[test]
    fn whole_floats_are_integers_and_fractions_are_refused_by_name() {
        let input = parse::<Input>(br#"{"name": "x", "count": 3.0}"#).unwrap();
        assert_eq!(input.count, Some(3));
        let input = parse::<Input>(br#"{"name": "x", "count": 2e1}"#).unwrap();
        assert_eq!(input.count, Some(20));
        let err = parse::<Input>(br#"{"name": "x", "count": 3.5}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("count: invalid type: floating point"),
            "{err}"
        );
    }

    #[test]
    fn an_optional_body_may_be_empty_or_null() {
        #[derive(serde::Deserialize, Default, Debug, PartialEq)]
        struct Optional {
            ttl_s: Option<u32>,
        }
        assert_eq!(
            parse_or_default::<Optional>(b"").unwrap(),
            Optional::default()
        );
        assert_eq!(
            parse_or_default::<Optional>(b" null ").unwrap(),
            Optional::default()
        );
        assert_eq!(
            parse_or_default::<Optional>(br#"{"ttl_s": 60}"#).unwrap(),
            Optional { ttl_s: Some(60) }
        );
        assert!(parse_or_default::<Optional>(b"[]").is_err());
    }

    #[test]
    fn malformed_and_empty_bodies() {
        let err = parse::<Input>(br#"{"name": "#).unwrap_err().to_string();
        assert!(err.starts_with("malformed JSON"), "{err}");
        let err = parse::<Input>(b"  ").unwrap_err().to_string();
        assert!(err.contains("JSON object is required"), "{err}");
        assert!(parse::<Input>(br#"{"name": "x"} trailing"#).is_err());
        let err = parse::<Input>(br#"{"nmae": "#).unwrap_err().to_string();
        assert!(err.starts_with("malformed JSON"), "{err}");
        for not_object in [&br#"["x", 1]"#[..], b"null", b"\"x\"", b"7"] {
            let err = parse::<Input>(not_object).unwrap_err().to_string();
            assert!(err.contains("JSON object is required"), "{err}");
        }
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Edit {
        name: Option<String>,
        items: Option<Vec<Item>>,
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Item {
        uri: String,
    }

    impl ReadOnlyFields for Edit {
        const READ_ONLY: &'static [&'static str] = &STORED;
        const NESTED: &'static [(&'static str, &'static [&'static str])] = &[("items", &["id"])];
    }

    #[test]
    fn an_edit_takes_back_what_a_get_showed_and_nothing_else() {
        let body = serde_json::json!({
            "id": 7, "created_at": "2026-01-01T00:00:00Z", "updated_at": null, "name": "x",
            "items": [{"id": 1, "uri": "sip:a"}, {"uri": "sip:b"}]
        });
        let edit: Edit = parse_edit(body).unwrap();
        assert_eq!(edit.name.as_deref(), Some("x"));
        assert_eq!(edit.items.map(|i| i.len()), Some(2));
        let err = parse_edit::<Edit>(serde_json::json!({"name": "x", "owner": 1}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `owner`"), "{err}");
        let err =
            parse_edit::<Edit>(serde_json::json!({"items": [{"uri": "sip:a", "created_at": 1}]}))
                .unwrap_err()
                .to_string();
        assert!(
            err.starts_with("items[0]"),
            "only the listed nested keys are dropped: {err}"
        );
        let err = parse_edit::<Edit>(serde_json::json!({"name": 5}))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("name: invalid type"), "{err}");
    }
}
