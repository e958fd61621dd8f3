//! `/v1/dialplan/evaluate` and the channel counts PBXs report on `/v1/siptrunks/{id}/channels`,
//! beside the policies' own routes ([`super::policies::api`]).

use super::evaluation;
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::http::envelope::Envelope;
use crate::http::json::JsonBody;
use crate::http::path;
use crate::state::AppState;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    super::policies::api::router()
        .routes(routes!(evaluate))
        .routes(routes!(get_channels, put_channels))
}

// ---------------------------------------------------------------------------------------------
// Evaluation and channel counts.

/// What the dial plan decides for a call, with the routes, the skipped routes and why, and the
/// trail of rules that matched. Reads only memory.
#[utoipa::path(post, path = "/v1/dialplan/evaluate", tag = "dialplans",
    request_body = evaluation::EvaluateRequest,
    responses((status = 200, body = super::engine::evaluate::Decision), (status = 400), (status = 404)),
    security(("bearer" = [])))]
async fn evaluate(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<evaluation::EvaluateRequest>,
) -> Result<Envelope<super::engine::evaluate::Decision>> {
    Ok(Envelope::ok(
        evaluation::evaluate_for(&state, &caller, &body).await?,
    ))
}

/// The most channels a report may claim (the document's maximum).
const MAX_IN_USE: u32 = 1_000_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelsBody {
    /// Calls up on the trunk now, as the PBX counts them (at most 1000000).
    #[schema(maximum = 1_000_000)]
    in_use: u32,
}

/// Channels in use on a trunk as last reported to this instance (stale reports read as 0).
#[utoipa::path(get, path = "/v1/siptrunks/{id}/channels", tag = "telephony",
    params(("id" = i64, Path)),
    responses((status = 200, body = evaluation::ChannelsView), (status = 404)),
    security(("bearer" = [])))]
async fn get_channels(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<evaluation::ChannelsView>> {
    let id = path::id(&id, "SIP trunk")?;
    let trunk = crate::gateways::visible_trunk(&state.db, &caller, id).await?;
    Ok(Envelope::ok(evaluation::channels_view(&state, &trunk)))
}

/// Report channels in use on a trunk (PBXs call this as calls start and end, with an admin's
/// token); routes to a trunk at its `max_channels` are skipped with reason `channel_limit`.
/// Kept in memory by the instance that receives it, believed for `channel_report_ttl_s`.
#[utoipa::path(put, path = "/v1/siptrunks/{id}/channels", tag = "telephony",
    params(("id" = i64, Path)), request_body = ChannelsBody,
    responses((status = 200, body = evaluation::ChannelsView), (status = 400), (status = 403),
              (status = 404)),
    security(("bearer" = [])))]
async fn put_channels(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ChannelsBody>,
) -> Result<Envelope<evaluation::ChannelsView>> {
    let id = path::id(&id, "SIP trunk")?;
    let trunk = crate::gateways::visible_trunk(&state.db, &caller, id).await?;
    // A full trunk diverts traffic: reporting is a change, not a read.
    caller.require(crate::auth::Permission::OrganizationsWrite)?;
    if body.in_use > MAX_IN_USE {
        return Err(Error::field("in_use", "must be at most 1000000"));
    }
    state
        .dialplan
        .channels
        .report(id, body.in_use, chrono::Utc::now());
    Ok(Envelope::ok(evaluation::channels_view(&state, &trunk)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::PartialSchema;

    #[test]
    fn the_channel_report_maximum_is_the_checked_one() {
        let schema = serde_json::to_value(ChannelsBody::schema()).unwrap();
        assert_eq!(
            schema["properties"]["in_use"]["maximum"],
            serde_json::json!(MAX_IN_USE)
        );
        assert_eq!(
            schema["properties"]["in_use"]["minimum"],
            serde_json::json!(0)
        );
    }
}
