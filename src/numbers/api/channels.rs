//! `/v1/numbers/{id}/channels`: a number's channel limit.

use super::number_id;
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::http::envelope::Envelope;
use crate::http::json::{JsonEdit, ReadOnlyFields};
use crate::numbers::service;
use crate::state::AppState;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A number's channel limit.
#[derive(Debug, Serialize, ToSchema)]
pub struct Channels {
    pub number_id: i64,
    /// Concurrent calls allowed; null: unlimited.
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetChannels {
    /// 0-10000, or null for unlimited. Required.
    #[serde(default, deserialize_with = "crate::http::json::present")]
    #[schema(value_type = Option<i64>, required = true, minimum = 0, maximum = 10000)]
    limit: Option<Option<i64>>,
}

impl ReadOnlyFields for SetChannels {
    const READ_ONLY: &'static [&'static str] = &["number_id"];
}

/// The number's channel limit.
#[utoipa::path(get, path = "/v1/numbers/{id}/channels", tag = "numbers",
    params(("id" = i64, Path)),
    responses((status = 200, body = Channels), (status = 404)), security(("bearer" = [])))]
pub(super) async fn get_channels(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Channels>> {
    let id = number_id(&id)?;
    let number = service::visible(&state.db, &caller, id).await?;
    Ok(Envelope::ok(Channels {
        number_id: number.id,
        limit: number.channel_limit,
    }))
}

/// Set the number's channel limit (`{"limit": n}`, 0-10000; null: unlimited).
#[utoipa::path(put, path = "/v1/numbers/{id}/channels", tag = "numbers",
    params(("id" = i64, Path)), request_body = SetChannels,
    responses((status = 200, body = Channels), (status = 400), (status = 404)),
    security(("bearer" = [])))]
pub(super) async fn set_channels(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonEdit(body): JsonEdit<SetChannels>,
) -> Result<Envelope<Channels>> {
    let id = number_id(&id)?;
    let Some(limit) = body.limit else {
        return Err(Error::field(
            "limit",
            "is required (a number 0-10000, or null for unlimited)",
        ));
    };
    let number = service::set_channels(&state.db, &caller, id, limit).await?;
    Ok(Envelope::ok(Channels {
        number_id: number.id,
        limit: number.channel_limit,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numbers::model::CHANNEL_LIMITS;
    use serde_json::json;
    use utoipa::PartialSchema;

    /// `limit` is required (null being unlimited) and bounded as `validate_channel_limit` checks.
    #[test]
    fn the_limit_is_required_and_bounded_as_checked() {
        let schema = serde_json::to_value(SetChannels::schema()).unwrap();
        assert_eq!(schema["required"], json!(["limit"]));
        let limit = &schema["properties"]["limit"];
        assert_eq!(limit["minimum"], json!(CHANNEL_LIMITS.start()));
        assert_eq!(limit["maximum"], json!(CHANNEL_LIMITS.end()));
        assert_eq!(limit["type"], json!(["integer", "null"]));
    }
}
