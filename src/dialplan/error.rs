//! What can go wrong deciding a call, in dial-plan terms and no protocol's: each edge maps it to
//! its own answer (REST: `crate::error::Error`, shown as 400/404; SIP redirect: 484/404).

/// Why [`crate::dialplan::decide`] could not decide a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvaluationError {
    /// The plan in force knows no such organization (unknown, or created since the last
    /// refresh).
    #[error("organization not found")]
    UnknownOrganization,
    /// A number the evaluator refuses to look at (empty, too long, control characters).
    #[error("{field}: {message}")]
    BadNumber {
        field: &'static str,
        message: String,
    },
}

impl From<EvaluationError> for crate::error::Error {
    /// The REST edge: a bad number names its field (400), an unknown organization is "not
    /// found" like any other object (404).
    fn from(error: EvaluationError) -> Self {
        match error {
            EvaluationError::UnknownOrganization => Self::not_found("organization"),
            EvaluationError::BadNumber { field, message } => Self::field(field, message),
        }
    }
}
