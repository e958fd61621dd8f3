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
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = strip_position(&inner.to_string());
        // The syntax is already checked: serde_json reports some type mismatches (a boolean
        // for an enum) as syntax errors, and those are about the field.
        if path == "." {
            Error::bad_request(format!("request body: {message}"))
        } else {
            Error::field(&path, message)
        }
    })?;
    deserializer
        .end()
        .map_err(|e| Error::bad_request(format!("malformed JSON: {e}")))?;
    Ok(value)
}

/// serde_json appends " at line 1 column 9"; the path already says where.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
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
}
