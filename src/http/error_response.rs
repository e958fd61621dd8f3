//! The REST edge of [`Error`]: its HTTP status and the response that carries it. The body (legacy
//! XML or JSON) is chosen later by [`crate::http::errors`], which can see the request's `Accept`
//! header; here only the code, the message and any bad rows are attached to the response.

use crate::error::{Error, ErrorClass};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Attached to an error response so the renderer can build the negotiated body.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub code: u16,
    pub message: String,
}

/// The HTTP status of an error.
pub fn status_code(error: &Error) -> StatusCode {
    match error.class() {
        ErrorClass::Invalid => StatusCode::BAD_REQUEST,
        ErrorClass::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorClass::Forbidden => StatusCode::FORBIDDEN,
        ErrorClass::NotFound => StatusCode::NOT_FOUND,
        ErrorClass::Conflict => StatusCode::CONFLICT,
        ErrorClass::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorClass::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorClass::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorClass::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = status_code(&self);
        match &self {
            Self::Database(e) => tracing::error!(error = %e, "database error"),
            Self::DatabaseUnavailable(e) => tracing::warn!(error = %e, "database unavailable"),
            Self::Internal(e) => tracing::error!(error = %e, "internal error"),
            _ => {}
        }
        let info = ErrorInfo {
            code: status.as_u16(),
            message: bounded(self.public_message()),
        };
        let mut response = status.into_response();
        if let Some(retry_after_s) = self.retry_after_s()
            && let Ok(value) = retry_after_s.to_string().parse()
        {
            response.headers_mut().insert("retry-after", value);
        }
        if let Self::Rows(rows) = self {
            response.extensions_mut().insert(rows);
        }
        response.extensions_mut().insert(info);
        response
    }
}

/// Characters of an error message a client is sent at most.
const MAX_MESSAGE_CHARS: usize = 8192;

/// The last line of defence against echoed input: every message that quotes a value quotes only
/// its prefix (`types::text::quote_prefix`), but a message built from many parts (a path of map
/// keys, a long list) is still cut here rather than grow with the input.
fn bounded(message: String) -> String {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        None => message,
        Some((end, _)) => format!("{}…", &message[..end]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_never_longer_than_the_cap() {
        let short = Error::bad_request("name: must not be empty").into_response();
        let info = short.extensions().get::<ErrorInfo>().unwrap();
        assert_eq!(info.message, "name: must not be empty");
        let long = Error::bad_request("é".repeat(100_000)).into_response();
        let info = long.extensions().get::<ErrorInfo>().unwrap();
        assert_eq!(info.message.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(info.message.ends_with('…'));
    }

    #[test]
    fn each_class_has_its_status() {
        assert_eq!(
            status_code(&Error::bad_request("x")),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(status_code(&Error::not_found("x")), StatusCode::NOT_FOUND);
        assert_eq!(
            status_code(&Error::Internal("x".into())),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        let limited = Error::TooManyRequests {
            message: "slow down".into(),
            retry_after_s: 7,
        }
        .into_response();
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited.headers()["retry-after"], "7");
        assert_eq!(
            limited.extensions().get::<ErrorInfo>().map(|i| i.code),
            Some(429)
        );
    }

    #[test]
    fn a_lost_database_is_503_with_retry_after_and_no_detail() {
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let response = Error::from(sqlx::Error::Io(reset)).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()["retry-after"], "2");
        let info = response.extensions().get::<ErrorInfo>().unwrap();
        assert_eq!(info.message, "The database is unavailable; retry shortly");
        let timed_out = Error::from(sqlx::Error::PoolTimedOut).into_response();
        assert_eq!(timed_out.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(timed_out.headers()["retry-after"], "2");
        let bug = Error::from(sqlx::Error::RowNotFound).into_response();
        assert_eq!(bug.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(bug.headers().get("retry-after").is_none());
    }
}
