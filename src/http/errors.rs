//! Renders every error response in the negotiated shape: legacy XML by default, JSON when the
//! `Accept` header prefers it. Errors produced outside our handlers (unknown route, wrong method,
//! timeouts, body limit) are caught here too, so clients only ever see one shape.

use crate::error::{Error, RowError, RowErrors};
use crate::http::error_response::ErrorInfo;
use crate::http::pagination::Params;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Whether the client asked for JSON errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorFormat {
    Xml,
    Json,
}

/// Picks the format from an `Accept` header: JSON only when it is preferred (by q-value) over
/// XML; ties, wildcards and absent headers keep the legacy XML.
pub fn negotiate(accept: Option<&str>) -> ErrorFormat {
    let Some(accept) = accept else {
        return ErrorFormat::Xml;
    };
    let mut json_q = 0.0f32;
    let mut xml_q = 0.0f32;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match media.as_str() {
            "application/json" | "text/json" => json_q = json_q.max(q),
            m if m.ends_with("+json") => json_q = json_q.max(q),
            "application/xml" | "text/xml" => xml_q = xml_q.max(q),
            "*/*" | "application/*" | "text/*" => xml_q = xml_q.max(q * 0.999),
            _ => {}
        }
    }
    if json_q > 0.0 && json_q > xml_q {
        ErrorFormat::Json
    } else {
        ErrorFormat::Xml
    }
}

/// Outermost middleware: turns any error response into the negotiated body.
pub async fn render_errors(request: Request, next: Next) -> Response {
    let format = negotiate(
        request
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok()),
    );
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let info = match response.extensions().get::<ErrorInfo>() {
        Some(info) => info.clone(),
        None => ErrorInfo {
            code: status.as_u16(),
            message: default_message(status),
        },
    };
    let rows = response.extensions().get::<RowErrors>().cloned();
    let (mut parts, _) = response.into_parts();
    let (content_type, body) = match rows {
        Some(rows) => render_rows(format, &info, &rows),
        None => render(format, &info),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Response::from_parts(parts, Body::from(body))
}

fn default_message(status: StatusCode) -> String {
    match status {
        StatusCode::NOT_FOUND => "Not found".into(),
        StatusCode::METHOD_NOT_ALLOWED => "Method not allowed".into(),
        StatusCode::PAYLOAD_TOO_LARGE => "Request body too large".into(),
        StatusCode::REQUEST_TIMEOUT => "Request timed out".into(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "Unsupported media type".into(),
        other => other.canonical_reason().unwrap_or("Error").to_string(),
    }
}

/// The body text of an error in either shape.
pub fn render(format: ErrorFormat, info: &ErrorInfo) -> (&'static str, String) {
    match format {
        ErrorFormat::Json => (
            "application/json",
            serde_json::json!({"status": "error", "code": info.code, "message": info.message})
                .to_string(),
        ),
        ErrorFormat::Xml => (
            "application/xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<error><code>{}</code><message>{}</message></error>",
                info.code,
                quick_xml::escape::escape(info.message.as_str())
            ),
        ),
    }
}

/// An error with the list of bad rows of a bulk input: JSON adds an `errors` array of
/// `{row, field, message}`, XML an `<errors>` element of `<error row=".." field="..">`. Rows
/// beyond those listed are counted: `errors_omitted` in JSON, `<errors omitted="..">` in XML
/// (both only when there are any).
pub fn render_rows(
    format: ErrorFormat,
    info: &ErrorInfo,
    rows: &RowErrors,
) -> (&'static str, String) {
    match format {
        ErrorFormat::Json => {
            let mut body = serde_json::json!({"status": "error", "code": info.code,
                "message": info.message, "errors": rows.errors});
            if rows.omitted > 0 {
                body["errors_omitted"] = rows.omitted.into();
            }
            ("application/json", body.to_string())
        }
        ErrorFormat::Xml => {
            let omitted = match rows.omitted {
                0 => String::new(),
                n => format!(" omitted=\"{n}\""),
            };
            let mut items = String::new();
            for row in &rows.errors {
                items.push_str(&format!(
                    "<error row=\"{}\" field=\"{}\">{}</error>",
                    row.row,
                    quick_xml::escape::escape(row.field.as_str()),
                    quick_xml::escape::escape(row.message.as_str())
                ));
            }
            (
                "application/xml",
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<error><code>{}</code><message>{}</message><errors{omitted}>{items}</errors></error>",
                    info.code,
                    quick_xml::escape::escape(info.message.as_str())
                ),
            )
        }
    }
}

/// `GET|POST|PUT|PATCH|DELETE /v1/errors`: answers an error in the negotiated shape (`?code=`
/// picks the status, default 400), so clients can test their error handling against the real
/// thing.
#[utoipa::path(method(get, post, put, patch, delete), path = "/v1/errors", tag = "system",
    params(("code" = Option<u16>, Query, minimum = 400, maximum = 599,
            description = "HTTP status to answer with (400-599)")),
    responses((status = "4XX", description = "The error asked for, in the negotiated shape"),
              (status = "5XX", description = "The error asked for, in the negotiated shape")))]
pub async fn errors_endpoint(params: Params) -> Response {
    let code = match params.i64("code") {
        Ok(code) => code.unwrap_or(400),
        Err(e) => return e.into_response(),
    };
    let Some(status) = u16::try_from(code)
        .ok()
        .and_then(|c| StatusCode::from_u16(c).ok())
        .filter(|s| s.is_client_error() || s.is_server_error())
    else {
        return Error::field("code", "must be an HTTP error status (400-599)").into_response();
    };
    let mut response = status.into_response();
    response.extensions_mut().insert(ErrorInfo {
        code: status.as_u16(),
        message: default_message(status),
    });
    response
}

/// Answers unknown routes with 404 in the API's shape.
pub async fn not_found() -> Error {
    Error::NotFound("Not found".into())
}

/// The body of a refused bulk input (a CSV import, a bulk create): a summary `message` and the
/// bad rows in `errors`, at most 100 of them; the route says how it counts rows. Documentation
/// only: the renderer writes this shape from [`RowErrors`].
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct RowErrorsBody {
    status: String,
    code: u16,
    message: String,
    /// The first 100 bad rows, in input order.
    errors: Vec<RowError>,
    /// How many more bad rows there are beyond those listed (absent when none).
    errors_omitted: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_prefers_xml_unless_json_wins() {
        assert_eq!(negotiate(None), ErrorFormat::Xml);
        assert_eq!(negotiate(Some("*/*")), ErrorFormat::Xml);
        assert_eq!(negotiate(Some("application/json")), ErrorFormat::Json);
        assert_eq!(
            negotiate(Some("application/json, */*;q=0.8")),
            ErrorFormat::Json
        );
        assert_eq!(
            negotiate(Some("application/xml, application/json;q=0.9")),
            ErrorFormat::Xml
        );
        assert_eq!(
            negotiate(Some("application/xml;q=0.5, application/json")),
            ErrorFormat::Json
        );
        assert_eq!(negotiate(Some("application/json;q=0")), ErrorFormat::Xml);
        assert_eq!(negotiate(Some("text/html")), ErrorFormat::Xml);
    }

    #[test]
    fn row_errors_are_listed_in_both_shapes() {
        let info = ErrorInfo {
            code: 400,
            message: "2 rows are invalid".into(),
        };
        let rows = vec![
            RowError {
                row: 2,
                field: "number".into(),
                message: "not a valid US number: \"<1>\"".into(),
            },
            RowError {
                row: 5,
                field: "state".into(),
                message: "unknown".into(),
            },
        ];
        let rows = RowErrors::new(info.message.clone(), rows);
        let (_, json) = render_rows(ErrorFormat::Json, &info, &rows);
        let json: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(json["errors"][1]["row"], 5);
        assert_eq!(json["errors"][0]["field"], "number");
        assert_eq!(json["message"], "2 rows are invalid");
        assert!(json.get("errors_omitted").is_none(), "{json}");
        let (content_type, xml) = render_rows(ErrorFormat::Xml, &info, &rows);
        assert_eq!(content_type, "application/xml");
        assert!(
            xml.contains(
                "<errors><error row=\"2\" field=\"number\">not a valid US number: &quot;&lt;1&gt;&quot;</error><error row=\"5\" field=\"state\">unknown</error></errors>"
            ),
            "{xml}"
        );
    }

    #[test]
    fn rows_beyond_those_listed_are_counted() {
        let info = ErrorInfo {
            code: 400,
            message: "250 of 250 rows are invalid".into(),
        };
        let rows: Vec<RowError> = (0..250)
            .map(|row| RowError {
                row,
                field: "number".into(),
                message: "bad".into(),
            })
            .collect();
        let rows = RowErrors::new(info.message.clone(), rows);
        let (_, json) = render_rows(ErrorFormat::Json, &info, &rows);
        let json: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(json["errors"].as_array().unwrap().len(), RowErrors::LISTED);
        assert_eq!(json["errors"][99]["row"], 99);
        assert_eq!(json["errors_omitted"], 150);
        let (_, xml) = render_rows(ErrorFormat::Xml, &info, &rows);
        assert!(
            xml.contains("<errors omitted=\"150\"><error row=\"0\""),
            "{xml}"
        );
        assert_eq!(xml.matches("<error row=").count(), RowErrors::LISTED);
    }

    #[test]
    fn xml_escapes_the_message() {
        let (_, body) = render(
            ErrorFormat::Xml,
            &ErrorInfo {
                code: 400,
                message: "name: <b> & \"x\"".into(),
            },
        );
        assert!(
            body.contains("<message>name: &lt;b&gt; &amp; &quot;x&quot;</message>"),
            "{body}"
        );
    }
}
