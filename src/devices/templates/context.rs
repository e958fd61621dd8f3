//! What a template sees: the device, its lines (with clear-text passwords), the merged
//! variables, the provisioning URL and the requested file, flattened into the names the
//! templates use (`device.mac_upper`, `lines[0].registrar_host`, `tz.offset_s` …). Pure.

use super::FileRequest;
use crate::devices::{Device, Line, Variables};
use crate::types::sip_uri::SipUri;
use chrono::{Offset, TimeZone};
use chrono_tz::OffsetComponents;
use serde::Serialize;

/// One line with its SIP password in clear (from `devices::credentials::line_passwords`).
#[derive(Debug, Clone, Copy)]
pub struct RenderLine<'a> {
    pub line: &'a Line,
    pub password: &'a str,
}

/// Everything a render needs. Build `lines` with [`RenderContext::lines_of`].
#[derive(Debug, Clone)]
pub struct RenderContext<'a> {
    pub device: &'a Device,
    pub lines: Vec<RenderLine<'a>>,
    /// `devices::settings::effective_variables` of the device.
    pub variables: &'a Variables,
    /// Base URL phones fetch from, without a trailing slash (`http://prov.example:8081`).
    pub provisioning_url: &'a str,
}

impl<'a> RenderContext<'a> {
    /// Pairs the device's lines with their passwords (same order as `line_passwords`).
    pub fn lines_of(device: &'a Device, passwords: &'a [String]) -> Vec<RenderLine<'a>> {
        device
            .lines
            .iter()
            .zip(passwords)
            .map(|(line, password)| RenderLine { line, password })
            .collect()
    }
}

#[derive(Serialize)]
pub(super) struct TemplateContext<'a> {
    device: DeviceContext<'a>,
    lines: Vec<LineContext<'a>>,
    vars: &'a Variables,
    provisioning_url: &'a str,
    file: FileContext<'a>,
    tz: Option<TzContext>,
}

#[derive(Serialize)]
struct DeviceContext<'a> {
    id: i64,
    /// `0015651234ab`.
    mac: String,
    /// `0015651234AB`.
    mac_upper: String,
    /// `00:15:65:12:34:ab`.
    mac_colon: String,
    vendor: &'static str,
    model: &'a str,
    provisioning_username: &'a str,
}

#[derive(Serialize)]
struct LineContext<'a> {
    /// 1-based (the phone's account number).
    number: i64,
    position: i64,
    username: &'a str,
    auth_user: &'a str,
    password: &'a str,
    display_name: &'a str,
    /// `host[:port]` as stored.
    registrar: &'a str,
    registrar_host: String,
    /// The port, or the transport's default (5060, 5061 for TLS).
    registrar_port: u16,
    /// The line's proxy, else the organization's `outbound_proxy`, as `host[:port]`.
    proxy: Option<String>,
    proxy_host: Option<String>,
    proxy_port: Option<u16>,
    /// `udp`, `tcp` or `tls`.
    transport: &'a str,
}

#[derive(Serialize)]
struct FileContext<'a> {
    name: &'a str,
    /// Set for per-device files.
    mac: Option<String>,
}

/// The organization's time zone in the shapes phones want.
#[derive(Serialize)]
struct TzContext {
    /// IANA name (`Europe/Berlin`).
    name: String,
    /// Standard (winter) offset from UTC in seconds (`3600`).
    offset_s: i32,
    /// Standard offset in hours, signed (`+1`, `-5`, `+5.5`).
    offset_h: String,
    /// `GMT+01:00`.
    gmt: String,
    /// True when the zone observes daylight saving time.
    dst: bool,
}

/// `host[:port]` into its parts; IPv6 literals keep their brackets.
fn split_host_port(text: &str) -> Option<(String, Option<u16>)> {
    let uri = SipUri::parse(&format!("sip:{text}")).ok()?;
    let host_port = uri.host_port();
    let host = match uri.port {
        Some(port) => host_port
            .strip_suffix(&format!(":{port}"))
            .unwrap_or(&host_port)
            .to_string(),
        None => host_port,
    };
    Some((host, uri.port))
}

/// `sip:proxy.example:5070;lr` → `proxy.example:5070`.
fn proxy_of_uri(text: &str) -> Option<String> {
    let bare = text.trim();
    let bare = bare.strip_prefix('<').unwrap_or(bare);
    let bare = bare.split(['>', ';']).next()?;
    let bare = bare.strip_prefix("sip:").unwrap_or(bare);
    split_host_port(bare).map(|(host, port)| match port {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

fn tz_context(name: &str) -> Option<TzContext> {
    let tz: chrono_tz::Tz = name.parse().ok()?;
    // A fixed instant: the standard offset does not depend on when we render.
    let instant = chrono::NaiveDate::from_ymd_opt(2025, 1, 15)?.and_hms_opt(12, 0, 0)?;
    let offset = tz.offset_from_utc_datetime(&instant);
    let base = offset.base_utc_offset().num_seconds() as i32;
    let summer = chrono::NaiveDate::from_ymd_opt(2025, 7, 15)?.and_hms_opt(12, 0, 0)?;
    let dst =
        tz.offset_from_utc_datetime(&summer).fix() != tz.offset_from_utc_datetime(&instant).fix();
    let sign = if base < 0 { '-' } else { '+' };
    let abs = base.unsigned_abs();
    let (hours, minutes) = (abs / 3600, abs % 3600 / 60);
    let offset_h = match minutes {
        0 => format!("{sign}{hours}"),
        30 => format!("{sign}{hours}.5"),
        45 => format!("{sign}{hours}.75"),
        _ => format!("{sign}{hours}.{:02}", minutes * 100 / 60),
    };
    Some(TzContext {
        name: name.to_string(),
        offset_s: base,
        offset_h,
        gmt: format!("GMT{sign}{hours:02}:{minutes:02}"),
        dst,
    })
}

pub(super) fn build<'a>(ctx: &'a RenderContext<'a>, file: &'a FileRequest) -> TemplateContext<'a> {
    let device = ctx.device;
    let mac = device.mac;
    let org_proxy = ctx
        .variables
        .get("outbound_proxy")
        .and_then(|v| v.as_str())
        .and_then(proxy_of_uri);
    let lines = ctx
        .lines
        .iter()
        .map(|RenderLine { line, password }| {
            let (registrar_host, registrar_port) =
                split_host_port(&line.registrar).unwrap_or((line.registrar.clone(), None));
            let proxy = line.proxy.clone().or_else(|| org_proxy.clone());
            let proxy_parts = proxy.as_deref().and_then(split_host_port);
            LineContext {
                number: line.position + 1,
                position: line.position,
                username: &line.username,
                auth_user: &line.auth_user,
                password,
                display_name: &line.display_name,
                registrar: &line.registrar,
                registrar_host,
                registrar_port: registrar_port.unwrap_or(line.transport.default_port()),
                proxy_host: proxy_parts.as_ref().map(|(h, _)| h.clone()),
                proxy_port: proxy_parts
                    .as_ref()
                    .map(|(_, p)| p.unwrap_or(line.transport.default_port())),
                proxy,
                transport: line.transport.as_str(),
            }
        })
        .collect();
    TemplateContext {
        device: DeviceContext {
            id: device.id,
            mac: mac.to_string(),
            mac_upper: mac.upper(),
            mac_colon: mac.colon(),
            vendor: device.vendor.as_str(),
            model: &device.model,
            provisioning_username: &device.provisioning_username,
        },
        lines,
        vars: ctx.variables,
        provisioning_url: ctx.provisioning_url.trim_end_matches('/'),
        file: FileContext {
            name: &file.file_name,
            mac: file.mac.map(|m| m.to_string()),
        },
        tz: ctx
            .variables
            .get("timezone")
            .and_then(|v| v.as_str())
            .and_then(tz_context),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_ports_and_proxies_split() {
        assert_eq!(
            split_host_port("pbx.example.com:5070"),
            Some(("pbx.example.com".into(), Some(5070)))
        );
        assert_eq!(
            split_host_port("[2001:db8::1]:5060"),
            Some(("[2001:db8::1]".into(), Some(5060)))
        );
        assert_eq!(
            split_host_port("192.0.2.1"),
            Some(("192.0.2.1".into(), None))
        );
        assert_eq!(
            proxy_of_uri("sip:proxy.example:5070;lr").as_deref(),
            Some("proxy.example:5070")
        );
        assert_eq!(
            proxy_of_uri("<sip:proxy.example>").as_deref(),
            Some("proxy.example")
        );
    }

    #[test]
    fn time_zones_in_phone_shapes() {
        let berlin = tz_context("Europe/Berlin").unwrap();
        assert_eq!((berlin.offset_s, berlin.offset_h.as_str()), (3600, "+1"));
        assert_eq!(berlin.gmt, "GMT+01:00");
        assert!(berlin.dst);
        let ny = tz_context("America/New_York").unwrap();
        assert_eq!((ny.offset_s, ny.offset_h.as_str()), (-18000, "-5"));
        let kolkata = tz_context("Asia/Kolkata").unwrap();
        assert_eq!((kolkata.offset_h.as_str(), kolkata.dst), ("+5.5", false));
        assert_eq!(kolkata.gmt, "GMT+05:30");
        assert!(tz_context("Mars/Olympus").is_none());
    }
}
