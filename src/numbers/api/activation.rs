//! `activate` and `deactivate`: a number in and out of service.

use super::number_id;
use crate::auth::Caller;
use crate::error::Result;
use crate::http::envelope::Envelope;
use crate::numbers::model::Number;
use crate::numbers::service;
use crate::state::AppState;
use axum::extract::{Path, State};

/// Put the number in service (`active`), from available, reserved, suspended or porting.
#[utoipa::path(post, path = "/v1/numbers/{id}/activate", tag = "numbers",
    params(("id" = i64, Path)),
    responses((status = 200, body = Number), (status = 404),
              (status = 409, description = "Not from this state")),
    security(("bearer" = [])))]
pub(super) async fn activate_number(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Number>> {
    let id = number_id(&id)?;
    Ok(Envelope::ok(
        service::activate(&state.db, &caller, id).await?,
    ))
}

/// Take the number out of service, back to `available` in its organization, from active or
/// suspended. The assignment is kept for a later activation.
#[utoipa::path(post, path = "/v1/numbers/{id}/deactivate", tag = "numbers",
    params(("id" = i64, Path)),
    responses((status = 200, body = Number), (status = 404),
              (status = 409, description = "Not from this state")),
    security(("bearer" = [])))]
pub(super) async fn deactivate_number(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Number>> {
    let id = number_id(&id)?;
    Ok(Envelope::ok(
        service::deactivate(&state.db, &caller, id).await?,
    ))
}
