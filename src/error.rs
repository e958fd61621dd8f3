//! The protocol-neutral error type services return: what kind of failure it is ([`ErrorClass`]),
//! the field it is about and a message. Each edge renders it in its own protocol: the REST API in
//! `http::error_response` (status code, negotiated XML/JSON body), the SIP edges by their own
//! mapping. Nothing here knows HTTP.

/// What a handler can fail with. Database errors are logged and hidden from the client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// A bulk input (CSV import, bulk create) with bad rows: 400 listing the first
    /// [`RowErrors::LISTED`] of them and counting the rest.
    #[error("{}", .0.message)]
    Rows(RowErrors),
    #[error("Request body too large (limit {0} bytes)")]
    PayloadTooLarge(usize),
    #[error("{message}")]
    TooManyRequests { message: String, retry_after_s: u64 },
    #[error("{0}")]
    Unavailable(String),
    /// The database is lost or unreachable (a restart, a network cut, no connection within the
    /// pool's timeout): the same request should work once the pool reconnects, so the client is
    /// told to retry after [`Error::DATABASE_RETRY_AFTER_S`]. The detail is logged, not shown.
    #[error("database unavailable: {0}")]
    DatabaseUnavailable(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

/// One bad row of a bulk input: where it is, which field, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct RowError {
    /// The row as the client counts it (for CSV: the line in the file, the header being 1).
    pub row: usize,
    pub field: String,
    pub message: String,
}

/// A summary message and the list of bad rows; rendered as an `errors` array in JSON and as
/// `<errors><error row=".." field="..">message</error></errors>` in XML. Also attached to the
/// response, beside `http::error_response::ErrorInfo`, for the renderer.
#[derive(Debug, Clone)]
pub struct RowErrors {
    pub message: String,
    /// The first [`RowErrors::LISTED`] bad rows, in the order the input has them.
    pub errors: Vec<RowError>,
    /// Bad rows beyond those listed: counted, not spelled out, so 100,000 bad rows of a CSV
    /// do not make an answer bigger than the file.
    pub omitted: usize,
}

impl RowErrors {
    /// Bad rows an answer lists at most.
    pub const LISTED: usize = 100;

    /// `message` and `errors`, keeping the first [`RowErrors::LISTED`] and counting the rest.
    pub fn new(message: String, mut errors: Vec<RowError>) -> Self {
        let omitted = errors.len().saturating_sub(Self::LISTED);
        errors.truncate(Self::LISTED);
        Self {
            message,
            errors,
            omitted,
        }
    }
}

/// What kind of failure an [`Error`] is, for an edge to map to its protocol's codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The input is wrong (a field, a row, a parameter).
    Invalid,
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    TooLarge,
    RateLimited,
    Unavailable,
    /// Our fault (the database, a bug); the detail is logged, not shown.
    Internal,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What still uses an object a delete would remove, e.g. the numbers assigned to a trunk: the
/// first [`InUse::NAMED`] of them named, and how many there are in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InUse {
    /// What they are, plural: `numbers`, `dial plan policies`.
    pub kind: &'static str,
    pub named: Vec<String>,
    pub total: usize,
}

impl InUse {
    /// How many users a refusal names; the rest are counted.
    pub const NAMED: usize = 10;

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

impl std::fmt::Display for InUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.named.join(", "))?;
        match self.total.saturating_sub(self.named.len()) {
            0 => Ok(()),
            more => write!(f, " and {more} more"),
        }
    }
}

impl Error {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }

    /// "`field`: message": every validation error names the field it is about.
    pub fn field(field: &str, message: impl std::fmt::Display) -> Self {
        Self::BadRequest(format!("{field}: {message}"))
    }

    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    /// 409 "`field`: cannot be changed`advice`": an update that would change a field fixed at
    /// creation conflicts with the object as it is (sending the current value back is fine).
    pub fn immutable(field: &str, advice: &str) -> Self {
        Self::Conflict(format!("{field}: cannot be changed{advice}"))
    }

    /// 404 "`field`: `what` not found" for an object a request names in `field` that does not
    /// exist or that the caller cannot see: the answer its own URL would give, with the field
    /// named. (A request the document allows names ids the server may not have, so this is no
    /// malformed request but a missing object.)
    pub fn missing(field: &str, what: impl std::fmt::Display) -> Self {
        Self::NotFound(format!("{field}: {what} not found"))
    }

    /// 409 refusing to delete `subject` while anything in `users` still uses it; `Ok` when
    /// nothing does. Nothing is written either way.
    pub fn refuse_in_use(subject: &str, users: &[InUse], advice: &str) -> Result<()> {
        let used: Vec<String> = users
            .iter()
            .filter(|u| !u.is_empty())
            .map(ToString::to_string)
            .collect();
        if used.is_empty() {
            return Ok(());
        }
        Err(Self::Conflict(format!(
            "{subject} is still in use by {}; {advice}",
            used.join("; ")
        )))
    }

    pub fn unauthenticated() -> Self {
        Self::Unauthorized("Authentication required".into())
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            Self::BadRequest(_) | Self::Rows(_) => ErrorClass::Invalid,
            Self::Unauthorized(_) => ErrorClass::Unauthenticated,
            Self::Forbidden(_) => ErrorClass::Forbidden,
            Self::NotFound(_) => ErrorClass::NotFound,
            Self::Conflict(_) => ErrorClass::Conflict,
            Self::PayloadTooLarge(_) => ErrorClass::TooLarge,
            Self::TooManyRequests { .. } => ErrorClass::RateLimited,
            Self::Unavailable(_) | Self::DatabaseUnavailable(_) => ErrorClass::Unavailable,
            Self::Database(_) | Self::Internal(_) => ErrorClass::Internal,
        }
    }

    /// The message a client may see: internal details are logged, never shown.
    pub fn public_message(&self) -> String {
        match self {
            // A corrupt stored value names its row (the value itself goes to the log only).
            Self::Database(e) if let Some(corrupt) = crate::types::column::corrupt_of(e) => {
                corrupt.public_message()
            }
            Self::Database(_) | Self::Internal(_) => "Internal server error".into(),
            Self::DatabaseUnavailable(_) => Self::DATABASE_UNAVAILABLE.into(),
            other => other.to_string(),
        }
    }

    /// What a client is told when the database is away.
    pub const DATABASE_UNAVAILABLE: &str = "The database is unavailable; retry shortly";

    /// Seconds a client is told to wait when the database is away: about what a PostgreSQL
    /// restart takes, and the pool reconnects on the first request after it.
    pub const DATABASE_RETRY_AFTER_S: u64 = 2;

    /// Seconds after which the same request may succeed, for the edges that can say so
    /// (`Retry-After`).
    pub fn retry_after_s(&self) -> Option<u64> {
        match self {
            Self::TooManyRequests { retry_after_s, .. } => Some(*retry_after_s),
            Self::DatabaseUnavailable(_) => Some(Self::DATABASE_RETRY_AFTER_S),
            _ => None,
        }
    }
}

impl From<sqlx::Error> for Error {
    /// Unique-constraint violations become 409 naming the column, a lost or unreachable database
    /// [`Error::DatabaseUnavailable`]; everything else is a 500.
    fn from(error: sqlx::Error) -> Self {
        if crate::db::is_unavailable(&error) {
            return Self::DatabaseUnavailable(error.to_string());
        }
        if let Some(db) = error.as_database_error()
            && db.is_unique_violation()
        {
            let detail = db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .and_then(|pg| pg.detail())
                .and_then(postgres_key_columns);
            let field =
                detail.unwrap_or_else(|| unique_violation_field(db.message(), db.constraint()));
            return Self::Conflict(format!("{field}: already exists"));
        }
        if let Some(db) = error.as_database_error()
            && db.is_foreign_key_violation()
        {
            return Self::Conflict("object is still referenced".into());
        }
        Self::Database(error)
    }
}

/// PostgreSQL's detail reads `Key (organization_id, cidr)=(1, 10.0.0.0/8) already exists.`
fn postgres_key_columns(detail: &str) -> Option<String> {
    let rest = detail.strip_prefix("Key (")?;
    let columns = rest.split(")=").next()?;
    // Scoping columns (organization_id, user_id, parent_id) are context, not the clashing value.
    let named: Vec<&str> = columns
        .split(", ")
        .filter(|c| !c.ends_with("_id") || c == &"foreign_id")
        .collect();
    Some(if named.is_empty() {
        columns.to_string()
    } else {
        named.join(", ")
    })
}

/// Finds the column a unique violation is about, from SQLite's message
/// (`UNIQUE constraint failed: users.username`) or PostgreSQL's constraint name
/// (`users_username_key`, or our own `uq_<table>__<column>` names).
fn unique_violation_field(message: &str, constraint: Option<&str>) -> String {
    if let Some(rest) = message.split("UNIQUE constraint failed: ").nth(1) {
        let columns: Vec<&str> = rest
            .split(", ")
            .map(|c| c.rsplit('.').next().unwrap_or(c))
            .collect();
        let named: Vec<&str> = columns
            .iter()
            .copied()
            .filter(|c| !c.ends_with("_id") || *c == "foreign_id")
            .collect();
        return if named.is_empty() {
            columns.join(", ")
        } else {
            named.join(", ")
        };
    }
    if let Some(name) = constraint {
        if let Some((_, column)) = name.split_once("__") {
            return column.to_string();
        }
        if let Some(stripped) = name.strip_suffix("_key") {
            return stripped
                .split_once('_')
                .map_or(stripped, |(_, c)| c)
                .to_string();
        }
        return name.to_string();
    }
    "value".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_use_names_ten_and_counts_the_rest() {
        let numbers = InUse {
            kind: "numbers",
            named: (0..InUse::NAMED).map(|i| format!("n{i}")).collect(),
            total: 13,
        };
        let policies = InUse {
            kind: "dial plan policies",
            named: vec!["4 (UK)".into()],
            total: 1,
        };
        let err = Error::refuse_in_use(
            "SIP trunk 7",
            &[policies, InUse::default(), numbers],
            "change them first",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "SIP trunk 7 is still in use by dial plan policies 4 (UK); numbers n0, n1, n2, n3, \
             n4, n5, n6, n7, n8, n9 and 3 more; change them first"
        );
        assert_eq!(err.class(), ErrorClass::Conflict);
        assert!(Error::refuse_in_use("user 1", &[InUse::default()], "x").is_ok());
    }

    #[test]
    fn names_the_column_of_a_unique_violation() {
        assert_eq!(
            unique_violation_field("UNIQUE constraint failed: users.username", None),
            "username"
        );
        assert_eq!(
            unique_violation_field(
                "UNIQUE constraint failed: foreign_ids.source, foreign_ids.foreign_id",
                None
            ),
            "source, foreign_id"
        );
        assert_eq!(
            unique_violation_field(
                "UNIQUE constraint failed: organization_ips.organization_id, organization_ips.cidr",
                None
            ),
            "cidr"
        );
        assert_eq!(
            postgres_key_columns("Key (organization_id, cidr)=(1, 10.0.0.0/8) already exists.")
                .as_deref(),
            Some("cidr")
        );
        assert_eq!(
            unique_violation_field("duplicate key", Some("users_username_key")),
            "username"
        );
        assert_eq!(
            unique_violation_field("duplicate key", Some("uq_org_ips__cidr")),
            "cidr"
        );
    }
}
