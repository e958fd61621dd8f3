//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the database answers).

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
              (status = 503, description = "The database does not answer")))]
pub async fn readyz(State(state): State<AppState>) -> Result<Envelope<Value>, Error> {
    if state.db.ping().await {
        Ok(Envelope::ok(
            json!({"status": "ready", "database": state.db.backend()}),
        ))
    } else {
        Err(Error::Unavailable("database unreachable".into()))
    }
}
