//! `/v1/devices` routes: devices and their lines, one by one or in bulk, and the admin-only
//! provisioning-credentials calls; plus the organizations' provisioning settings beside them.

use super::model::{Credentials, DeviceStatus, DeviceView, LineTransport, STATUSES, Variables};
use super::service::{self, DeviceUpdate, NewDevice};
use super::store::DeviceFilter;
use super::validate::LineInput;
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::http::envelope::{Envelope, ListEnvelope, done};
use crate::http::json::{self, JsonBody, JsonEdit, ReadOnlyFields};
use crate::http::pagination::{PageParams, Params};
use crate::http::path;
use crate::state::AppState;
use crate::types::Mac;
use crate::types::vendor::{VENDORS, Vendor};
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
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
        ("vendor" = Option<String>, Query, description = "yealink, polycom, grandstream, cisco, snom or fanvil"),
        ("model" = Option<String>, Query, description = "Model, case-insensitive, exact"),
        ("mac" = Option<String>, Query, description = "MAC in any notation, exact"),
        ("status" = Option<String>, Query, description = "active or disabled"),
        ("user_id" = Option<i64>, Query, description = "Devices assigned to this user")),
    responses((status = 200, body = Vec<DeviceView>), (status = 400)), security(("bearer" = [])))]
async fn list_devices(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<ListEnvelope<DeviceView>> {
    let page = params.page()?;
    let mac = params
        .str("mac")
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

/// A line in a device's body. `position` (from a GET) is accepted and ignored: the order of
/// the list is the order of the line keys.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineBody {
    /// SIP user name (1-64 of letters, digits and `. _ - + * ! ~ @`).
    username: String,
    /// Digest user name; defaults to `username`.
    auth_user: Option<String>,
    /// 8-128 printable ASCII characters; generated (20 characters) when omitted on a new line,
    /// kept when omitted on an existing one (matched by position). Stored encrypted.
    password: Option<String>,
    /// Up to 64 characters.
    display_name: Option<String>,
    /// `host[:port]` the line registers with.
    registrar: String,
    /// `host[:port]` of an outbound proxy.
    proxy: Option<String>,
    /// Default udp.
    transport: Option<LineTransport>,
    #[serde(default, rename = "position")]
    #[schema(ignore)]
    _position: Option<Value>,
}

impl From<LineBody> for LineInput {
    fn from(body: LineBody) -> Self {
        LineInput {
            username: body.username,
            auth_user: body.auth_user,
            password: body.password,
            display_name: body.display_name,
            registrar: body.registrar,
            proxy: body.proxy,
            transport: body.transport,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDevice {
    /// Defaults to the caller's organization.
    organization_id: Option<i64>,
    /// Any common notation (`AA:BB:…`, `aa-bb-…`, `aabb.ccdd.eeff`, bare hex); stored as 12
    /// lower-case hex digits. Unique platform-wide.
    mac: Mac,
    vendor: Vendor,
    /// Model name, e.g. `T54W` (1-64 of letters, digits, spaces and `- _ . + / ( )`).
    model: String,
    /// A user of the device's organization.
    user_id: Option<i64>,
    /// 1-16 lines, in line-key order.
    lines: Vec<LineBody>,
    /// Flat object: names `[a-z0-9_.]{1,64}` to strings, numbers or booleans (at most 100).
    #[schema(value_type = Option<Object>)]
    variables: Option<Variables>,
    /// SIP URI NOTIFYs go to; default: the address the device last provisioned from.
    contact: Option<String>,
    /// Default active.
    status: Option<DeviceStatus>,
    /// Defaults to the MAC.
    provisioning_username: Option<String>,
    /// Generated (24 characters) when omitted. Stored encrypted; shown in the create response.
    provisioning_password: Option<String>,
}

impl From<CreateDevice> for NewDevice {
    fn from(body: CreateDevice) -> Self {
        NewDevice {
            organization_id: body.organization_id,
            mac: body.mac,
            vendor: body.vendor,
            model: body.model,
            user_id: body.user_id,
            lines: body.lines.into_iter().map(Into::into).collect(),
            variables: body.variables,
            contact: body.contact,
            status: body.status,
            provisioning_username: body.provisioning_username,
            provisioning_password: body.provisioning_password,
        }
    }
}

/// Register a device. The response is the only one that carries its line passwords and
/// (besides the admin-only reveal call) its provisioning password.
#[utoipa::path(post, path = "/v1/devices", tag = "devices", request_body = CreateDevice,
    responses((status = 201, body = DeviceView), (status = 400, description = "Invalid field"),
              (status = 409, description = "MAC already registered")),
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkDevices {
    /// Up to 1000 devices, each as for `POST /v1/devices`.
    #[schema(value_type = Vec<CreateDevice>)]
    devices: Vec<Value>,
}

/// One row of a bulk request, parsed like a single device's body; the error names the field
/// inside the row (`mac`, `lines[0].registrar`), also for a missing one.
fn parse_row(row: Value) -> Result<NewDevice> {
    if !row.is_object() {
        return Err(Error::bad_request("must be a JSON object"));
    }
    serde_path_to_error::deserialize::<_, CreateDevice>(row)
        .map(NewDevice::from)
        .map_err(|e| {
            let path = e.path().to_string();
            let message = e.into_inner().to_string();
            let field = match named_field(&message) {
                Some(name) if path == "." => name.to_string(),
                Some(name) => format!("{path}.{name}"),
                None => path,
            };
            if field == "." {
                Error::bad_request(message)
            } else {
                Error::field(&field, message)
            }
        })
}

/// The field serde names in ``missing field `x` ``, which it reports at the enclosing object's
/// path (an unknown field's path already ends with its name).
fn named_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split_once('`').map(|(name, _)| name)
}

/// Register many devices, all or none. Every row is checked first (each against the others and
/// against registered MACs too); any bad row answers 400 with an `errors` array listing the
/// first 100 bad rows (`row`: the 0-based index in `devices`, `field`, `message`; in XML
/// `<errors><error row=".." field="..">`; `errors_omitted` counts the rest) and writes nothing.
/// The response carries each device's generated credentials, once.
#[utoipa::path(post, path = "/v1/devices/bulk", tag = "devices", request_body = BulkDevices,
    responses((status = 201, body = Vec<DeviceView>),
              (status = 400, body = crate::http::errors::RowErrorsBody,
               description = "Bad rows, the first 100 listed (also a MAC registered meanwhile); nothing created"),
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDevice {
    /// Accepted only when unchanged.
    organization_id: Option<i64>,
    mac: Option<Mac>,
    vendor: Option<Vendor>,
    model: Option<String>,
    /// null unassigns the device.
    #[serde(default, deserialize_with = "crate::http::json::present")]
    #[schema(value_type = Option<i64>)]
    user_id: Option<Option<i64>>,
    /// The whole new list, in order. A line without `password` keeps the password of the line
    /// at the same position (or gets a generated one).
    lines: Option<Vec<LineBody>>,
    /// Replaces the whole object.
    #[schema(value_type = Option<Object>)]
    variables: Option<Variables>,
    /// null: NOTIFY the address the device last provisioned from.
    #[serde(default, deserialize_with = "crate::http::json::present")]
    #[schema(value_type = Option<String>)]
    contact: Option<Option<String>>,
    status: Option<DeviceStatus>,
    provisioning_username: Option<String>,
}

impl ReadOnlyFields for UpdateDevice {
    const READ_ONLY: &'static [&'static str] = &[
        "id",
        "last_provisioned_at",
        "last_provisioned_ip",
        "last_user_agent",
        "firmware",
        "created_at",
        "updated_at",
    ];
}

/// Change a device (only the fields given; `lines`, if given, replaces the list). The
/// provisioning password changes only through `credentials/rotate`.
#[utoipa::path(put, path = "/v1/devices/{id}", tag = "devices", params(("id" = i64, Path)),
    request_body = UpdateDevice,
    responses((status = 200, body = DeviceView), (status = 400), (status = 404), (status = 409, description = "MAC taken, `organization_id` cannot be changed, or a dropped line still has numbers")),
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
        DeviceUpdate {
            organization_id: body.organization_id,
            mac: body.mac,
            vendor: body.vendor,
            model: body.model,
            user_id: body.user_id,
            lines: body
                .lines
                .map(|list| list.into_iter().map(Into::into).collect()),
            variables: body.variables,
            contact: body.contact,
            status: body.status,
            provisioning_username: body.provisioning_username,
        },
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

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateCredentials {
    /// The new password (8-128 printable ASCII characters); generated when omitted.
    provisioning_password: Option<String>,
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
