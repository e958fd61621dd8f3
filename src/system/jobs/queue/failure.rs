//! A failed job's error kept as JSON on its row (`result`), so whoever waits for the job (the
//! request that queued it, on whichever instance) answers with the same error as if it had run
//! the work itself. Only the class, message and bad rows travel; a database error's detail
//! stays in the log of the instance that ran the job.

use crate::error::{Error, RowError, RowErrors};
use serde_json::{Value, json};

/// The stored form of `error`.
pub fn to_json(error: &Error) -> Value {
    let (class, message) = match error {
        Error::BadRequest(m) => ("bad_request", m.clone()),
        Error::Unauthorized(m) => ("unauthorized", m.clone()),
        Error::Forbidden(m) => ("forbidden", m.clone()),
        Error::NotFound(m) => ("not_found", m.clone()),
        Error::Conflict(m) => ("conflict", m.clone()),
        Error::Rows(rows) => {
            return json!({
                "class": "rows",
                "message": rows.message,
                "errors": rows.errors,
                "omitted": rows.omitted,
            });
        }
        Error::Unavailable(m) => ("unavailable", m.clone()),
        Error::DatabaseUnavailable(_) => ("database_unavailable", error.public_message()),
        other => ("internal", other.to_string()),
    };
    json!({ "class": class, "message": message })
}

/// The error a stored failure stands for; a failure stored without detail is internal.
pub fn from_json(detail: Option<&Value>, error: Option<&str>) -> Error {
    let fallback = || error.unwrap_or("the job failed").to_string();
    let Some(detail) = detail else {
        return Error::Internal(fallback());
    };
    let message = detail
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(fallback);
    match detail.get("class").and_then(Value::as_str) {
        Some("bad_request") => Error::BadRequest(message),
        Some("unauthorized") => Error::Unauthorized(message),
        Some("forbidden") => Error::Forbidden(message),
        Some("not_found") => Error::NotFound(message),
        Some("conflict") => Error::Conflict(message),
        Some("unavailable") => Error::Unavailable(message),
        Some("database_unavailable") => Error::DatabaseUnavailable(message),
        Some("rows") => Error::Rows(RowErrors {
            message,
            errors: rows(detail.get("errors")),
            omitted: detail.get("omitted").and_then(Value::as_u64).unwrap_or(0) as usize,
        }),
        _ => Error::Internal(message),
    }
}

fn rows(errors: Option<&Value>) -> Vec<RowError> {
    let Some(Value::Array(errors)) = errors else {
        return Vec::new();
    };
    errors
        .iter()
        .map(|e| RowError {
            row: e.get("row").and_then(Value::as_u64).unwrap_or(0) as usize,
            field: text(e, "field"),
            message: text(e, "message"),
        })
        .collect()
}

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Whether another attempt may go better: not for a refusal of the job's input.
pub fn retryable(error: &Error) -> bool {
    matches!(
        error,
        Error::Database(_)
            | Error::Internal(_)
            | Error::Unavailable(_)
            | Error::DatabaseUnavailable(_)
    )
}

#[cfg(test)]
mod tests {
    use super::{from_json, to_json};
    use crate::error::{Error, RowError, RowErrors};

    #[test]
    fn bad_rows_come_back_as_they_were() {
        let error = Error::Rows(RowErrors {
            message: "2 of 3 rows are invalid; nothing was imported".into(),
            errors: vec![RowError {
                row: 3,
                field: "number".into(),
                message: "already exists".into(),
            }],
            omitted: 1,
        });
        let Error::Rows(back) = from_json(Some(&to_json(&error)), None) else {
            panic!("not rows");
        };
        assert_eq!(
            back.message,
            "2 of 3 rows are invalid; nothing was imported"
        );
        assert_eq!(back.errors.len(), 1);
        assert_eq!(back.errors[0].row, 3);
        assert_eq!(back.errors[0].field, "number");
        assert_eq!(back.omitted, 1);
    }

    #[test]
    fn each_class_keeps_its_class_and_message() {
        for error in [
            Error::bad_request("csv: no rows after the header"),
            Error::Forbidden("Permission denied".into()),
            Error::Conflict("number exists".into()),
            Error::not_found("organization"),
        ] {
            let back = from_json(Some(&to_json(&error)), None);
            assert_eq!(
                std::mem::discriminant(&back),
                std::mem::discriminant(&error)
            );
            assert_eq!(back.to_string(), error.to_string());
        }
    }

    #[test]
    fn a_database_error_is_internal_and_a_missing_detail_too() {
        let back = from_json(
            Some(&to_json(&Error::Database(sqlx::Error::RowNotFound))),
            None,
        );
        assert!(matches!(back, Error::Internal(_)));
        assert!(matches!(from_json(None, Some("lost")), Error::Internal(m) if m == "lost"));
    }

    #[test]
    fn a_lost_database_stays_unavailable_without_its_detail() {
        let lost = Error::from(sqlx::Error::PoolTimedOut);
        let stored = to_json(&lost);
        assert!(!stored.to_string().contains("pool timed out"), "{stored}");
        let back = from_json(Some(&stored), None);
        assert!(matches!(back, Error::DatabaseUnavailable(_)));
        assert_eq!(back.retry_after_s(), Some(Error::DATABASE_RETRY_AFTER_S));
        assert_eq!(back.public_message(), Error::DATABASE_UNAVAILABLE);
    }
}
