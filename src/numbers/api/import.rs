//! `POST /v1/numbers/import`: a CSV file (as text or in JSON), imported by a queued job.

use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::http::envelope::Envelope;
use crate::http::json;
use crate::numbers::import::{self, ImportSummary};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportBody {
    /// The CSV text, as it would be sent with `Content-Type: text/csv`.
    csv: String,
}

/// Import numbers from CSV, all or nothing (at most 100,000 rows; the body must also fit
/// `http.max_import_bytes`). Header: `number,state,organization_id,tags,channel_limit` (only
/// `number` is required; columns in any order). `number` is E.164 or national in the row's
/// organization's country; `organization_id` defaults to the caller's; `state` to available;
/// `tags` are separated by `;`; an empty `channel_limit` is unlimited. Any bad row (also a
/// number twice in the file, or already stored) answers 400 listing the first 100 bad rows in
/// `errors` (`row` is the line in the file, the header being line 1; `errors_omitted` counts the
/// rest) and imports nothing.
#[utoipa::path(post, path = "/v1/numbers/import", tag = "numbers",
    request_body(description = "CSV text, or JSON {\"csv\": \"…\"}",
        content((String = "text/csv"), (ImportBody = "application/json"))),
    responses((status = 201, body = ImportSummary),
              (status = 400, body = crate::http::errors::RowErrorsBody, description = "Bad rows, the first 100 listed; nothing imported"),
              (status = 409, description = "A number was added meanwhile; nothing imported"),
              (status = 413, description = "Body larger than http.max_import_bytes")),
    security(("bearer" = [])))]
pub(super) async fn import_numbers(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Envelope<ImportSummary>> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    let text = match content_type.as_deref() {
        Some("application/json") => json::parse::<ImportBody>(&body)?.csv,
        Some("text/csv" | "application/csv" | "text/plain") | None => {
            String::from_utf8(body.to_vec())
                .map_err(|_| Error::field("csv", "must be UTF-8 text"))?
        }
        Some(other) => {
            return Err(Error::bad_request(format!(
                "Content-Type must be text/csv or application/json, got {}",
                crate::types::text::quote_prefix(other)
            )));
        }
    };
    let summary = import::job::import_queued(&state, &caller, &text).await?;
    Ok(Envelope::created(summary))
}
