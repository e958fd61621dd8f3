//! The request bodies of the `/v1/devices` routes, with the schemas of what `validate` takes.

use super::super::model::{DeviceStatus, LineTransport, Variables};
use super::super::schemas;
use super::super::service::{DeviceUpdate, NewDevice};
use super::super::validate::LineInput;
use crate::error::{Error, Result};
use crate::http::json::ReadOnlyFields;
use crate::types::Mac;
use crate::types::sip_uri::SipUri;
use crate::types::vendor::Vendor;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

/// A line in a device's body. `position` (from a GET) is accepted and ignored: the order of
/// the list is the order of the line keys.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineBody {
    /// SIP user name (1-64 of letters, digits and `. _ - + * ! ~ @`).
    #[schema(schema_with = schemas::account)]
    username: String,
    /// Digest user name; defaults to `username`.
    #[schema(schema_with = schemas::account_or_null)]
    auth_user: Option<String>,
    /// 8-128 printable ASCII characters; generated (20 characters) when omitted on a new line,
    /// kept when omitted on an existing one (matched by position). Stored encrypted.
    #[schema(schema_with = schemas::password_or_null)]
    password: Option<String>,
    /// Up to 64 characters.
    #[schema(schema_with = schemas::display_name_or_null)]
    display_name: Option<String>,
    /// `host[:port]` the line registers with.
    #[schema(schema_with = schemas::host_port)]
    registrar: String,
    /// `host[:port]` of an outbound proxy.
    #[schema(schema_with = schemas::host_port_or_null)]
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
    #[schema(schema_with = schemas::model)]
    model: String,
    /// A user of the device's organization.
    user_id: Option<i64>,
    /// 1-16 lines, in line-key order.
    #[schema(min_items = 1, max_items = 16)]
    lines: Vec<LineBody>,
    /// Flat object: names `[a-z0-9_.]{1,64}` to strings, numbers or booleans (at most 100).
    #[schema(schema_with = schemas::variables_or_null)]
    variables: Option<Variables>,
    /// SIP URI NOTIFYs go to; default: the address the device last provisioned from.
    #[schema(value_type = Option<SipUri>)]
    contact: Option<String>,
    /// Default active.
    status: Option<DeviceStatus>,
    /// Defaults to the MAC.
    #[schema(schema_with = schemas::account_or_null)]
    provisioning_username: Option<String>,
    /// Generated (24 characters) when omitted. Stored encrypted; shown in the create response.
    #[schema(schema_with = schemas::password_or_null)]
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkDevices {
    /// Up to 1000 devices, each as for `POST /v1/devices`.
    #[schema(value_type = Vec<CreateDevice>, min_items = 1, max_items = 1000)]
    pub(super) devices: Vec<Value>,
}

/// One row of a bulk request, parsed like a single device's body; the error names the field
/// inside the row (`mac`, `lines[0].registrar`), also for a missing one.
pub(super) fn parse_row(mut row: Value) -> Result<NewDevice> {
    if !row.is_object() {
        return Err(Error::bad_request("must be a JSON object"));
    }
    let parsed = match serde_path_to_error::deserialize::<_, CreateDevice>(&row) {
        // JSON Schema's integers include `3.0`, as for a single device's body.
        Err(e) if e.inner().to_string().contains("floating point") => {
            crate::http::json::whole_floats_to_integers(&mut row);
            serde_path_to_error::deserialize::<_, CreateDevice>(&row)
        }
        other => other,
    };
    parsed.map(NewDevice::from).map_err(|e| {
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDevice {
    /// Accepted only when unchanged.
    organization_id: Option<i64>,
    mac: Option<Mac>,
    vendor: Option<Vendor>,
    #[schema(schema_with = schemas::model_or_null)]
    model: Option<String>,
    /// null unassigns the device.
    #[serde(default, deserialize_with = "crate::http::json::present")]
    #[schema(value_type = Option<i64>)]
    user_id: Option<Option<i64>>,
    /// The whole new list, in order. A line without `password` keeps the password of the line
    /// at the same position (or gets a generated one).
    #[schema(min_items = 1, max_items = 16)]
    lines: Option<Vec<LineBody>>,
    /// Replaces the whole object.
    #[schema(schema_with = schemas::variables_or_null)]
    variables: Option<Variables>,
    /// null: NOTIFY the address the device last provisioned from.
    #[serde(default, deserialize_with = "crate::http::json::present")]
    #[schema(value_type = Option<SipUri>)]
    contact: Option<Option<String>>,
    status: Option<DeviceStatus>,
    #[schema(schema_with = schemas::account_or_null)]
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

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateCredentials {
    /// The new password (8-128 printable ASCII characters); generated when omitted.
    #[schema(schema_with = schemas::password_or_null)]
    pub(super) provisioning_password: Option<String>,
}

impl From<UpdateDevice> for DeviceUpdate {
    fn from(body: UpdateDevice) -> Self {
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
        }
    }
}
