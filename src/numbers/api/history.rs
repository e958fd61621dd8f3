//! `/v1/numbers/{id}/history`: every change of a number.

use super::number_id;
use crate::auth::Caller;
use crate::error::Result;
use crate::http::envelope::ListEnvelope;
use crate::http::pagination::{PageParams, Params};
use crate::numbers::model::HistoryEntry;
use crate::numbers::service;
use crate::state::AppState;
use axum::extract::{Path, State};

/// Every change of the number, oldest first: who, when, what, and the number before and after.
#[utoipa::path(get, path = "/v1/numbers/{id}/history", tag = "numbers",
    params(("id" = i64, Path), PageParams),
    responses((status = 200, body = Vec<HistoryEntry>), (status = 404)),
    security(("bearer" = [])))]
pub(super) async fn number_history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<ListEnvelope<HistoryEntry>> {
    let id = number_id(&id)?;
    let page = params.page()?;
    let (rows, total) = service::history(&state.db, &caller, id, page).await?;
    Ok(ListEnvelope::new(rows, total, page))
}
