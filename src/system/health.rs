//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the database answers a
//! real round trip now, within `db::PING_TIMEOUT`, so a restarting database shows as 503 with
//! `Retry-After` until the pool has a working connection again).

use crate::error::Error;
use crate::http::envelope::Envelope;
use crate::state::AppState;
use axum::extract::State;
use serde_json::{Value, json};

#[utoipa::path(get, path = "/healthz", tag = "system",
    responses((status = 200, description = "The process is alive")))]
pub async fn healthz() -> Envelope<Value> {
    Envelope::ok(json!({"status": "ok"}))
}

#[utoipa::path(get, path = "/readyz", tag = "system",
    responses((status = 200, description = "The database answers"),
              (status = 503, description = "The database does not answer; `Retry-After` says when to ask again")))]
pub async fn readyz(State(state): State<AppState>) -> Result<Envelope<Value>, Error> {
    // Whatever the failure (a refused password after a restart, too), the daemon cannot serve.
    state
        .db
        .ping()
        .await
        .map_err(|e| Error::DatabaseUnavailable(e.to_string()))?;
    Ok(Envelope::ok(
        json!({"status": "ready", "database": state.db.backend()}),
    ))
}
