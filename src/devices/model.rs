//! Devices, their lines and organizations' provisioning settings as stored, and the API views.
//! Secrets (line and provisioning passwords) live here only encrypted and are never serialized:
//! audit records and views cannot leak them by accident. Pure: no pool, no socket, no clock.

use crate::types::{Mac, Vendor};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Template variables: a flat object of names (`[a-z0-9_.]{1,64}`) to strings, numbers or
/// booleans.
pub type Variables = BTreeMap<String, Value>;

/// Transport a line registers over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LineTransport {
    #[default]
    Udp,
    Tcp,
    Tls,
}

impl LineTransport {
    pub fn as_str(self) -> &'static str {
        match self {
            LineTransport::Udp => "udp",
            LineTransport::Tcp => "tcp",
            LineTransport::Tls => "tls",
        }
    }

    pub(crate) fn parse_stored(text: &str) -> Result<Self, &'static str> {
        match text {
            "udp" => Ok(LineTransport::Udp),
            "tcp" => Ok(LineTransport::Tcp),
            "tls" => Ok(LineTransport::Tls),
            _ => Err("not one of udp, tcp, tls"),
        }
    }

    /// The registrar port a line uses when its address names none.
    pub fn default_port(self) -> u16 {
        match self {
            LineTransport::Tls => 5061,
            LineTransport::Udp | LineTransport::Tcp => 5060,
        }
    }
}

/// A disabled device is kept (and keeps its MAC) but is not served configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeviceStatus {
    #[default]
    Active,
    Disabled,
}

pub const STATUSES: [&str; 2] = ["active", "disabled"];

impl DeviceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Active => "active",
            DeviceStatus::Disabled => "disabled",
        }
    }

    /// The status named `text` (as stored and in the API).
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "active" => Ok(DeviceStatus::Active),
            "disabled" => Ok(DeviceStatus::Disabled),
            _ => Err(format!("not one of {}", STATUSES.join(", "))),
        }
    }
}

/// One SIP account on a device, as stored and as audit records show it (without its password).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    /// 0 for the first line key.
    pub position: i64,
    pub username: String,
    pub auth_user: String,
    /// Encrypted (`v1:…`); never serialized.
    #[serde(skip)]
    pub password: String,
    pub display_name: String,
    /// `host[:port]`.
    pub registrar: String,
    /// `host[:port]`, if the line registers through an outbound proxy.
    pub proxy: Option<String>,
    pub transport: LineTransport,
}

/// A device as stored, with its lines in position order. Serializes (for the audit log) without
/// any secret.
#[derive(Debug, Clone, Serialize)]
pub struct Device {
    pub id: i64,
    pub organization_id: i64,
    /// The owning organization's materialized path (tenancy, audit scope, settings inheritance).
    #[serde(skip)]
    pub organization_path: String,
    pub user_id: Option<i64>,
    /// Canonical 12 lower-case hex digits.
    pub mac: Mac,
    pub vendor: Vendor,
    pub model: String,
    pub variables: Variables,
    pub contact: Option<String>,
    pub status: DeviceStatus,
    pub provisioning_username: String,
    /// Encrypted; never serialized.
    #[serde(skip)]
    pub provisioning_password: String,
    /// Encrypted previous password, still accepted until `previous_password_valid_until`.
    #[serde(skip)]
    pub previous_provisioning_password: Option<String>,
    #[serde(skip)]
    pub previous_password_valid_until: Option<DateTime<Utc>>,
    pub last_provisioned_at: Option<DateTime<Utc>>,
    pub last_provisioned_ip: Option<String>,
    pub last_user_agent: Option<String>,
    pub firmware: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub lines: Vec<Line>,
}

/// A line as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LineView {
    pub position: i64,
    pub username: String,
    pub auth_user: String,
    /// Only in the response that created the device (generated or given); never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    pub display_name: String,
    pub registrar: String,
    pub proxy: Option<String>,
    pub transport: LineTransport,
}

/// A device as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeviceView {
    pub id: i64,
    /// Canonical 12 lower-case hex digits; unique platform-wide.
    pub mac: Mac,
    pub vendor: Vendor,
    pub model: String,
    pub organization_id: i64,
    pub user_id: Option<i64>,
    pub lines: Vec<LineView>,
    /// Template variables; they override the organization's.
    #[schema(value_type = Object)]
    pub variables: Variables,
    /// SIP URI NOTIFYs are sent to; null: the address the device last provisioned from.
    pub contact: Option<String>,
    pub status: DeviceStatus,
    /// User name of the device's provisioning (HTTP) credentials.
    pub provisioning_username: String,
    /// Only in the response that created the device, and from the admin-only reveal call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioning_password: Option<String>,
    /// Read-only: set by the provisioning server.
    pub last_provisioned_at: Option<DateTime<Utc>>,
    pub last_provisioned_ip: Option<String>,
    pub last_user_agent: Option<String>,
    pub firmware: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Device> for DeviceView {
    /// The view without any secret (GET, lists, updates).
    fn from(device: Device) -> Self {
        Self {
            id: device.id,
            mac: device.mac,
            vendor: device.vendor,
            model: device.model,
            organization_id: device.organization_id,
            user_id: device.user_id,
            lines: device
                .lines
                .into_iter()
                .map(|line| LineView {
                    position: line.position,
                    username: line.username,
                    auth_user: line.auth_user,
                    password: None,
                    display_name: line.display_name,
                    registrar: line.registrar,
                    proxy: line.proxy,
                    transport: line.transport,
                })
                .collect(),
            variables: device.variables,
            contact: device.contact,
            status: device.status,
            provisioning_username: device.provisioning_username,
            provisioning_password: None,
            last_provisioned_at: device.last_provisioned_at,
            last_provisioned_ip: device.last_provisioned_ip,
            last_user_agent: device.last_user_agent,
            firmware: device.firmware,
            created_at: device.created_at,
            updated_at: device.updated_at,
        }
    }
}

/// A device just created, with its secrets in clear: shown once, in the create response.
#[derive(Debug, Clone)]
pub struct CreatedDevice {
    pub device: Device,
    pub provisioning_password: String,
    /// In line position order.
    pub line_passwords: Vec<String>,
}

impl From<CreatedDevice> for DeviceView {
    fn from(created: CreatedDevice) -> Self {
        let mut view = DeviceView::from(created.device);
        view.provisioning_password = Some(created.provisioning_password);
        for (line, password) in view.lines.iter_mut().zip(created.line_passwords) {
            line.password = Some(password);
        }
        view
    }
}

/// The provisioning credentials of a device, from the admin-only reveal call.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Credentials {
    pub device_id: i64,
    pub provisioning_username: String,
    pub provisioning_password: String,
    /// After a rotation, until when the previous password is still accepted (null: it is not).
    pub previous_password_valid_until: Option<DateTime<Utc>>,
}

/// Provisioning settings of one organization; every field is optional, and unset ones are
/// inherited from the nearest ancestor that sets them when a device's variables are computed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct ProvisioningSettings {
    pub organization_id: i64,
    /// IANA time zone phones display (`Europe/Berlin`).
    pub timezone: Option<String>,
    /// Host name or address of the NTP server.
    pub ntp_server: Option<String>,
    /// Phone UI language (`en`, `de-DE` …; templates map it to each vendor's names).
    pub language: Option<String>,
    /// http(s) URL firmware is fetched from.
    pub firmware_url: Option<String>,
    /// Default registrar `host[:port]` for lines.
    pub registrar: Option<String>,
    /// SIP URI of the outbound proxy (also the path NOTIFYs may take).
    pub outbound_proxy: Option<String>,
    /// Template variables for every device of the organization (devices override them).
    #[schema(value_type = Object)]
    pub variables: Variables,
    pub updated_at: Option<DateTime<Utc>>,
}

impl ProvisioningSettings {
    /// The named settings as template variables (only those set).
    pub fn named(&self) -> impl Iterator<Item = (&'static str, &String)> {
        [
            ("timezone", &self.timezone),
            ("ntp_server", &self.ntp_server),
            ("language", &self.language),
            ("firmware_url", &self.firmware_url),
            ("registrar", &self.registrar),
            ("outbound_proxy", &self.outbound_proxy),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_ref().map(|v| (name, v)))
    }
}

/// The variables a device's templates see: each ancestor organization's settings from the top
/// down (named settings, then its `variables`), then the device's own; later ones win.
/// `chain` is the organizations' settings ordered root first.
pub fn merge_variables(chain: &[ProvisioningSettings], device: &Variables) -> Variables {
    let mut merged = Variables::new();
    for settings in chain {
        for (name, value) in settings.named() {
            merged.insert(name.to_string(), Value::String(value.clone()));
        }
        for (name, value) in &settings.variables {
            merged.insert(name.clone(), value.clone());
        }
    }
    for (name, value) in device {
        merged.insert(name.clone(), value.clone());
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(value: Value) -> Variables {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn nearer_settings_and_the_device_win() {
        let platform = ProvisioningSettings {
            organization_id: 1,
            ntp_server: Some("pool.ntp.org".into()),
            language: Some("en".into()),
            variables: vars(json!({"screensaver": 600, "brand": "Platform"})),
            ..Default::default()
        };
        let tenant = ProvisioningSettings {
            organization_id: 9,
            language: Some("de".into()),
            variables: vars(json!({"brand": "Tenant", "ntp_server": "ntp.tenant.example"})),
            ..Default::default()
        };
        let device = vars(json!({"screensaver": false}));
        let merged = merge_variables(&[platform, tenant], &device);
        assert_eq!(
            Value::Object(merged.into_iter().collect()),
            json!({
                "brand": "Tenant",
                "language": "de",
                "ntp_server": "ntp.tenant.example",
                "screensaver": false
            })
        );
    }

    #[test]
    fn views_hide_secrets_unless_just_created() {
        let now = Utc::now();
        let device = Device {
            id: 1,
            organization_id: 2,
            organization_path: "/1/2/".into(),
            user_id: None,
            mac: crate::types::Mac::parse("0015651234ab").unwrap(),
            vendor: crate::types::Vendor::Yealink,
            model: "T54W".into(),
            variables: Variables::new(),
            contact: None,
            status: crate::devices::model::DeviceStatus::Active,
            provisioning_username: "0015651234ab".into(),
            provisioning_password: "v1:encrypted".into(),
            previous_provisioning_password: Some("v1:old".into()),
            previous_password_valid_until: Some(now),
            last_provisioned_at: None,
            last_provisioned_ip: None,
            last_user_agent: None,
            firmware: None,
            created_at: now,
            updated_at: now,
            lines: vec![Line {
                position: 0,
                username: "201".into(),
                auth_user: "201".into(),
                password: "v1:line".into(),
                display_name: String::new(),
                registrar: "pbx.example.com".into(),
                proxy: None,
                transport: crate::devices::model::LineTransport::Udp,
            }],
        };
        for json in [
            serde_json::to_string(&device).unwrap(),
            serde_json::to_string(&DeviceView::from(device.clone())).unwrap(),
        ] {
            assert!(!json.contains("v1:"), "{json}");
            assert!(!json.contains("password\""), "{json}");
        }
        let created = DeviceView::from(CreatedDevice {
            device,
            provisioning_password: "prov-secret".into(),
            line_passwords: vec!["line-secret".into()],
        });
        let json = serde_json::to_value(&created).unwrap();
        assert_eq!(json["provisioning_password"], "prov-secret");
        assert_eq!(json["lines"][0]["password"], "line-secret");
    }
}
