//! NOTIFY routes: resync or reboot one device and answer with the SIP outcome, or start a bulk
//! job over a filter, list the jobs, and read a job's progress and per-device results.

use super::bulk::{self, BulkRequest, JobResultView, JobState, JobView};
use super::list;
use super::store::JobFilter;
use super::target::{Action, Outcome};
use super::{self as notify, NotifyResult};
use crate::auth::Caller;
use crate::config::NotifyConfig;
use crate::error::Result;
use crate::http::envelope::{Envelope, ListEnvelope};
use crate::http::json::JsonBody;
use crate::http::pagination::{PageParams, Params};
use crate::http::path;
use crate::state::AppState;
use crate::types::Vendor;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(notify_device))
        .routes(routes!(reboot_device))
        .routes(routes!(list_jobs, start_bulk))
        .routes(routes!(job_progress))
        .routes(routes!(job_results))
}

/// Send the vendor's resync NOTIFY (`check-sync`, `resync` …) to the device: its `contact`, or
/// `sip:<first line user>@<address it last provisioned from>:5060`, through the organization's
/// outbound proxy when one is set. Answers 200 with the SIP outcome (ok, rejected with the code,
/// timeout, unreachable), which is also kept on the device's event log and in the audit log.
#[utoipa::path(post, path = "/v1/devices/{id}/notify", tag = "devices",
    params(("id" = i64, Path)),
    responses((status = 200, body = NotifyResult),
        (status = 404, description = "No such device in the caller's scope"),
        (status = 409, description = "The device has no contact and never provisioned")),
    security(("bearer" = [])))]
async fn notify_device(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<NotifyResult>> {
    let id = path::id(&id, "device")?;
    let result = notify::notify_device(&state, &caller, id, Action::Resync).await?;
    Ok(Envelope::ok(result))
}

/// Send the vendor's reboot NOTIFY (`check-sync;reboot=true`, `reboot` …) to the device, as
/// for `notify`.
#[utoipa::path(post, path = "/v1/devices/{id}/reboot", tag = "devices",
    params(("id" = i64, Path)),
    responses((status = 200, body = NotifyResult),
        (status = 404, description = "No such device in the caller's scope"),
        (status = 409, description = "The device has no contact and never provisioned")),
    security(("bearer" = [])))]
async fn reboot_device(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<NotifyResult>> {
    let id = path::id(&id, "device")?;
    let result = notify::notify_device(&state, &caller, id, Action::Reboot).await?;
    Ok(Envelope::ok(result))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkNotify {
    /// Devices of this organization and its descendants; default the caller's organization.
    organization_id: Option<i64>,
    /// Only this vendor's devices.
    vendor: Option<Vendor>,
    /// Only this model (case-insensitive, exact).
    #[schema(schema_with = crate::devices::schemas::model_or_null)]
    model: Option<String>,
    /// resync (default) or reboot.
    action: Option<Action>,
    /// Seconds to spread the NOTIFYs over (a random start per device); default and bound from
    /// `notify.spread_s` / `notify.max_spread_s` (the document's maximum is this daemon's).
    /// 0 sends as fast as `concurrency` allows.
    spread_s: Option<u64>,
    /// NOTIFYs in flight at once; default and bound from `notify.concurrency` /
    /// `notify.max_concurrency` (the document's maximum is this daemon's).
    #[schema(minimum = 1)]
    concurrency: Option<u64>,
}

/// Writes this daemon's `notify.max_concurrency` and `notify.max_spread_s` into the document
/// it serves, as the maxima of a bulk request's `concurrency` and `spread_s`: the bounds are
/// configuration, and a client reading the document should see the ones it will meet.
pub fn document_bounds(doc: &mut serde_json::Value, config: &NotifyConfig) {
    let Some(properties) = doc
        .pointer_mut("/components/schemas/BulkNotify/properties")
        .and_then(serde_json::Value::as_object_mut)
    else {
        return;
    };
    for (name, maximum) in [
        ("concurrency", config.max_concurrency as u64),
        ("spread_s", config.max_spread_s),
    ] {
        if let Some(field) = properties.get_mut(name).and_then(|f| f.as_object_mut()) {
            field.insert("maximum".into(), maximum.into());
        }
    }
}

/// The values of a job's results' `outcome` filter: an outcome, or `pending` (not finished).
fn outcome_filters() -> Vec<&'static str> {
    let mut names = Outcome::NAMES.to_vec();
    names.push("pending");
    names
}

/// The `outcome` filter's schema: the values [`outcome_filters`] takes.
struct OutcomeFilter;

impl utoipa::PartialSchema for OutcomeFilter {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::types::schema::one_of(
            "An outcome, or `pending` (not finished)",
            &outcome_filters(),
        )
    }
}

impl ToSchema for OutcomeFilter {}

/// Resync or reboot every active device the filter selects, spread over `spread_s` with at most
/// `concurrency` NOTIFYs in flight. Answers 201 with the job at once; read its progress and
/// per-device results from any instance.
#[utoipa::path(post, path = "/v1/devices/notify", tag = "devices", request_body = BulkNotify,
    responses((status = 201, body = JobView),
        (status = 400, description = "A field is invalid or the filter matches too many devices")),
    security(("bearer" = [])))]
async fn start_bulk(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<BulkNotify>,
) -> Result<Envelope<JobView>> {
    let request = BulkRequest {
        organization_id: body.organization_id,
        vendor: body.vendor,
        model: body.model,
        action: body.action.unwrap_or_default(),
        spread_s: body.spread_s,
        concurrency: body.concurrency,
    };
    let job = bulk::start(&state, &caller, request).await?;
    Ok(Envelope::created(job))
}

/// The bulk jobs of the caller's subtree, newest first, each with its progress as on
/// `GET /v1/devices/notify/{job_id}` (per-device results stay on the job's `results`).
#[utoipa::path(get, path = "/v1/devices/notify", tag = "devices",
    params(PageParams,
        ("organization_id" = Option<i64>, Query, description = "Only the jobs of this organization"),
        ("state" = Option<JobState>, Query, description = "Only jobs in this state")),
    responses((status = 200, body = Vec<JobView>), (status = 400)), security(("bearer" = [])))]
async fn list_jobs(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<ListEnvelope<JobView>> {
    let page = params.page()?;
    let filter = JobFilter {
        organization_id: params.i64("organization_id")?,
        state: params.one_of("state", &JobState::NAMES)?,
    };
    let (rows, total) = list::list(&state, &caller, &filter, page).await?;
    Ok(ListEnvelope::new(rows, total, page))
}

/// A bulk job's progress: total, sent, ok, failed, pending and state (running, done, or
/// interrupted when the daemon stopped first).
#[utoipa::path(get, path = "/v1/devices/notify/{job_id}", tag = "devices",
    params(("job_id" = i64, Path)),
    responses((status = 200, body = JobView), (status = 404)), security(("bearer" = [])))]
async fn job_progress(
    State(state): State<AppState>,
    caller: Caller,
    Path(job_id): Path<String>,
) -> Result<Envelope<JobView>> {
    let id = path::id(&job_id, "notify job")?;
    Ok(Envelope::ok(bulk::progress(&state, &caller, id).await?))
}

/// A bulk job's per-device results in device id order.
#[utoipa::path(get, path = "/v1/devices/notify/{job_id}/results", tag = "devices",
    params(("job_id" = i64, Path), PageParams,
        ("outcome" = inline(Option<OutcomeFilter>), Query,
            description = "ok, rejected, timeout, unreachable, or pending (not finished)")),
    responses((status = 200, body = Vec<JobResultView>), (status = 400), (status = 404)),
    security(("bearer" = [])))]
async fn job_results(
    State(state): State<AppState>,
    caller: Caller,
    Path(job_id): Path<String>,
    params: Params,
) -> Result<ListEnvelope<JobResultView>> {
    let id = path::id(&job_id, "notify job")?;
    let page = params.page()?;
    let outcome = params.one_of("outcome", &outcome_filters())?;
    let (rows, total) = bulk::results(&state, &caller, id, outcome.as_deref(), page).await?;
    Ok(ListEnvelope::new(rows, total, page))
}
