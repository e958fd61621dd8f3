//! `/v1/devices` routes: devices and their lines, one by one or in bulk, and the admin-only
//! provisioning-credentials calls; plus the organizations' provisioning settings beside them.

mod bodies;

use super::model::{Credentials, DeviceStatus, DeviceView, STATUSES};
use super::service;
use super::store::DeviceFilter;
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::http::envelope::{Envelope, ListEnvelope, done};
use crate::http::json::{self, JsonBody, JsonEdit};
use crate::http::pagination::{PageParams, Params};
use crate::http::path;
use crate::state::AppState;
use crate::types::Mac;
use crate::types::vendor::{VENDORS, Vendor};
use axum::body::Bytes;
use axum::extract::{Path, State};
use bodies::{BulkDevices, CreateDevice, RotateCredentials, UpdateDevice, parse_row};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_devices, create_device))
        .routes(routes!(bulk_create_devices))
        .routes(routes!(get_device, update_device, delete_device))
        .routes(routes!(reveal_credentials))
        .routes(routes!(rotate_credentials))
        .merge(super::settings::api::router())
}

fn device_id(text: &str) -> Result<i64> {
    path::id(text, "device")
}

/// Devices of the caller's subtree with their lines (never a password).
#[utoipa::path(get, path = "/v1/devices", tag = "devices",
    params(PageParams,
        ("organization_id" = Option<i64>, Query, description = "Only this organization's devices"),
        ("vendor" = Option<Vendor>, Query, description = "Only this vendor's devices"),
        ("model" = Option<String>, Query, description = "Model, case-insensitive, exact"),
        ("mac" = Option<Mac>, Query, description = "MAC in any notation, exact"),
        ("status" = Option<DeviceStatus>, Query, description = "Only active or only disabled devices"),
        ("user_id" = Option<i64>, Query, description = "Devices assigned to this user")),
    responses((status = 200, body = Vec<DeviceView>), (status = 400)), security(("bearer" = [])))]
async fn list_devices(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<ListEnvelope<DeviceView>> {
    let page = params.page()?;
    // As given, white space and all: the parser bounds its length as the document does.
    let mac = params
        .raw("mac")
        .map(|m| Mac::parse(m).map_err(|e| Error::field("mac", e)))
        .transpose()?;
    let filter = DeviceFilter {
        organization_id: params.i64("organization_id")?,
        vendor: params.one_of("vendor", &VENDORS)?,
        model: params.str("model").map(str::to_string),
        mac: mac.map(|m| m.to_string()),
        status: params.one_of("status", &STATUSES)?,
        user_id: params.i64("user_id")?,
    };
    let (rows, total) = service::list(&state.db, &caller, &filter, page).await?;
    Ok(ListEnvelope::new(
        rows.into_iter().map(DeviceView::from).collect(),
        total,
        page,
    ))
}

/// Register a device. The response is the only one that carries its line passwords and
/// (besides the admin-only reveal call) its provisioning password.
#[utoipa::path(post, path = "/v1/devices", tag = "devices", request_body = CreateDevice,
    responses((status = 201, body = DeviceView), (status = 400, description = "Invalid field"),
              (status = 409, description = "MAC already registered, or `user_id` is a user of another organization")),
    security(("bearer" = [])))]
async fn create_device(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateDevice>,
) -> Result<Envelope<DeviceView>> {
    let created = service::create(
        &state.db,
        &state.changes,
        &state.secrets,
        &caller,
        body.into(),
    )
    .await?;
    Ok(Envelope::created(created.into()))
}

/// Register many devices, all or none. Every row is checked first (each against the others and
/// against registered MACs too); any bad row answers 400 with an `errors` array listing the
/// first 100 bad rows, registered MACs among them (`row`: the 0-based index in `devices`,
/// `field`, `message`; in XML `<errors><error row=".." field="..">`; `errors_omitted` counts
/// the rest) and writes nothing. Rows valid by themselves whose only faults are conflicts (a
/// MAC registered or given twice, a user of another organization) answer 409, as a single
/// create does. The response carries each device's generated credentials, once.
#[utoipa::path(post, path = "/v1/devices/bulk", tag = "devices", request_body = BulkDevices,
    responses((status = 201, body = Vec<DeviceView>),
              (status = 400, body = crate::http::errors::RowErrorsBody,
               description = "Bad rows, the first 100 listed (with any registered MACs among the rows); nothing created"),
              (status = 409, description = "Every row is valid by itself, but some conflict with what is stored or with each other (a MAC registered or given twice, a user of another organization; the message names the rows); nothing created"),
              (status = 413, description = "Body larger than http.max_import_bytes")),
    security(("bearer" = [])))]
async fn bulk_create_devices(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<BulkDevices>,
) -> Result<ListEnvelope<DeviceView>> {
    let rows = body.devices.into_iter().map(parse_row).collect();
    let created =
        service::create_many(&state.db, &state.changes, &state.secrets, &caller, rows).await?;
    Ok(ListEnvelope::created(
        created.into_iter().map(DeviceView::from).collect(),
    ))
}

/// A device and its lines (never a password).
#[utoipa::path(get, path = "/v1/devices/{id}", tag = "devices", params(("id" = i64, Path)),
    responses((status = 200, body = DeviceView), (status = 404)), security(("bearer" = [])))]
async fn get_device(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<DeviceView>> {
    let id = device_id(&id)?;
    let device = service::visible(&state.db, &caller, id).await?;
    Ok(Envelope::ok(device.into()))
}

/// Change a device (only the fields given; `lines`, if given, replaces the list). The
/// provisioning password changes only through `credentials/rotate`.
#[utoipa::path(put, path = "/v1/devices/{id}", tag = "devices", params(("id" = i64, Path)),
    request_body = UpdateDevice,
    responses((status = 200, body = DeviceView), (status = 400), (status = 404), (status = 409, description = "MAC taken, `organization_id` cannot be changed, `user_id` is a user of another organization, or a dropped line still has numbers")),
    security(("bearer" = [])))]
async fn update_device(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonEdit(body): JsonEdit<UpdateDevice>,
) -> Result<Envelope<DeviceView>> {
    let id = device_id(&id)?;
    let device = service::update(
        &state.db,
        &state.changes,
        &state.secrets,
        &caller,
        id,
        body.into(),
    )
    .await?;
    Ok(Envelope::ok(device.into()))
}

/// Delete a device with its lines.
#[utoipa::path(delete, path = "/v1/devices/{id}", tag = "devices", params(("id" = i64, Path)),
    responses((status = 200), (status = 404),
              (status = 409, description = "Numbers are still assigned to its lines")),
    security(("bearer" = [])))]
async fn delete_device(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Option<()>>> {
    let id = device_id(&id)?;
    service::delete(&state.db, &state.changes, &caller, id).await?;
    Ok(done())
}

/// Show the device's provisioning credentials (administrators only; audited as
/// `credentials.reveal`).
#[utoipa::path(post, path = "/v1/devices/{id}/credentials/reveal", tag = "devices",
    params(("id" = i64, Path)),
    responses((status = 200, body = Credentials), (status = 403), (status = 404)),
    security(("bearer" = [])))]
async fn reveal_credentials(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<Credentials>> {
    let id = device_id(&id)?;
    let credentials = super::credentials::reveal(&state.db, &state.secrets, &caller, id).await?;
    Ok(Envelope::ok(credentials))
}

/// Give the device a new provisioning password (administrators only; the body is optional).
/// The previous password stays accepted for `provisioning.rotation_grace_s` so deployed phones
/// can fetch the new one.
#[utoipa::path(post, path = "/v1/devices/{id}/credentials/rotate", tag = "devices",
    params(("id" = i64, Path)), request_body = Option<RotateCredentials>,
    responses((status = 200, body = Credentials), (status = 400), (status = 403), (status = 404)),
    security(("bearer" = [])))]
async fn rotate_credentials(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Envelope<Credentials>> {
    let id = device_id(&id)?;
    let body: RotateCredentials = json::parse_or_default(&body)?;
    // Config validation bounds the grace to a year.
    let grace_s = i64::try_from(state.config.provisioning.rotation_grace_s).unwrap_or(i64::MAX);
    let grace = chrono::Duration::try_seconds(grace_s).unwrap_or_else(chrono::Duration::zero);
    let credentials = super::credentials::rotate(
        &state.db,
        &state.changes,
        &state.secrets,
        &caller,
        id,
        body.provisioning_password,
        grace,
    )
    .await?;
    Ok(Envelope::ok(credentials))
}
