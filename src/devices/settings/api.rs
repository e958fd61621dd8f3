//! `/v1/organizations/{id}/provisioning`: an organization's provisioning settings.

use super::SettingsUpdate;
use crate::auth::Caller;
use crate::devices::model::{ProvisioningSettings, Variables};
use crate::devices::schemas;
use crate::error::Result;
use crate::http::envelope::Envelope;
use crate::http::json::JsonBody;
use crate::http::path;
use crate::state::AppState;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(
        get_provisioning_settings,
        update_provisioning_settings
    ))
}

/// The organization's provisioning settings (all null and `variables` empty until set). Unset
/// fields are inherited from the nearest ancestor that sets them when devices are provisioned.
#[utoipa::path(get, path = "/v1/organizations/{id}/provisioning", tag = "devices",
    params(("id" = i64, Path)),
    responses((status = 200, body = ProvisioningSettings), (status = 404)),
    security(("bearer" = [])))]
async fn get_provisioning_settings(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Envelope<ProvisioningSettings>> {
    let id = path::id(&id, "organization")?;
    Ok(Envelope::ok(super::settings(&state.db, &caller, id).await?))
}

/// Given fields change; null or "" clears one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProvisioningSettings {
    /// IANA time zone, e.g. `Europe/Berlin`.
    #[serde(default, deserialize_with = "crate::http::json::present")]
    #[schema(schema_with = schemas::settings::timezone)]
    timezone: Option<Option<String>>,
    /// Host name or address of the NTP server.
    #[serde(default, deserialize_with = "crate::http::json::present")]
    #[schema(schema_with = schemas::settings::host)]
    ntp_server: Option<Option<String>>,
    /// Language tag such as `en` or `de-DE`.
    #[serde(default, deserialize_with = "crate::http::json::present")]
    #[schema(schema_with = schemas::settings::language)]
    language: Option<Option<String>>,
    /// `http://` or `https://` URL firmware is fetched from.
    #[serde(default, deserialize_with = "crate::http::json::present")]
    #[schema(schema_with = schemas::settings::http_url)]
    firmware_url: Option<Option<String>>,
    /// Default registrar `host[:port]`.
    #[serde(default, deserialize_with = "crate::http::json::present")]
    #[schema(schema_with = schemas::settings::host_port)]
    registrar: Option<Option<String>>,
    /// SIP URI of the outbound proxy.
    #[serde(default, deserialize_with = "crate::http::json::present")]
    #[schema(schema_with = schemas::settings::sip_uri)]
    outbound_proxy: Option<Option<String>>,
    /// Replaces the whole object: names `[a-z0-9_.]{1,64}` to strings, numbers or booleans.
    #[schema(schema_with = schemas::settings::variables)]
    variables: Option<Variables>,
    #[serde(default, rename = "organization_id")]
    #[schema(ignore)]
    _organization_id: Option<Value>,
    #[serde(default, rename = "updated_at")]
    #[schema(ignore)]
    _updated_at: Option<Value>,
}

/// Change the organization's provisioning settings (only the fields given).
#[utoipa::path(put, path = "/v1/organizations/{id}/provisioning", tag = "devices",
    params(("id" = i64, Path)), request_body = UpdateProvisioningSettings,
    responses((status = 200, body = ProvisioningSettings), (status = 400), (status = 404)),
    security(("bearer" = [])))]
async fn update_provisioning_settings(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateProvisioningSettings>,
) -> Result<Envelope<ProvisioningSettings>> {
    let id = path::id(&id, "organization")?;
    let settings = super::update_settings(
        &state.db,
        &state.changes,
        &caller,
        id,
        SettingsUpdate {
            timezone: body.timezone,
            ntp_server: body.ntp_server,
            language: body.language,
            firmware_url: body.firmware_url,
            registrar: body.registrar,
            outbound_proxy: body.outbound_proxy,
            variables: body.variables,
        },
    )
    .await?;
    Ok(Envelope::ok(settings))
}
