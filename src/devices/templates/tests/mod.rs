//! Catalog tests: golden files for every vendor's common and per-device files (byte for byte;
//! `UPDATE_GOLDEN=1` rewrites them), XML well-formedness (quick-xml), escaping against
//! injection, the operator's override folder, and reloads that keep the previous catalog.

mod overrides;
mod xml;

use super::catalog::MANIFEST;
use super::shipped::SHIPPED;
use super::*;
use crate::devices::{Device, Line, Variables};
use serde_json::json;
use std::path::{Path, PathBuf};

/// A display name that tries everything: markup, quotes, an entity, CDATA end, unicode.
const TRICKY_NAME: &str = "Tom & Jerry <Sales> \"Q\" 'A' ]]> Jürgen 日本";

fn line(
    position: i64,
    display_name: &str,
    registrar: &str,
    proxy: Option<&str>,
    transport: &str,
) -> Line {
    Line {
        position,
        username: format!("10{position}"),
        auth_user: format!("auth10{position}"),
        password: String::new(),
        display_name: display_name.into(),
        registrar: registrar.into(),
        proxy: proxy.map(Into::into),
        transport: crate::devices::model::LineTransport::parse_stored(transport).unwrap(),
    }
}

fn device(vendor: Vendor, mac: &str, model: &str, lines: Vec<Line>) -> Device {
    let epoch = chrono::DateTime::UNIX_EPOCH;
    Device {
        id: 42,
        organization_id: 7,
        organization_path: "/1/7/".into(),
        user_id: None,
        mac: crate::types::Mac::parse(mac).unwrap(),
        vendor,
        model: model.into(),
        variables: Variables::new(),
        contact: None,
        status: crate::devices::model::DeviceStatus::Active,
        provisioning_username: mac.into(),
        provisioning_password: String::new(),
        previous_provisioning_password: None,
        previous_password_valid_until: None,
        last_provisioned_at: None,
        last_provisioned_ip: None,
        last_user_agent: None,
        firmware: None,
        created_at: epoch,
        updated_at: epoch,
        lines,
    }
}

/// The fixed device of the golden files: two lines, a tricky display name, one line over TCP
/// with its own proxy.
fn fixture(vendor: Vendor, mac: &str, model: &str) -> Device {
    device(
        vendor,
        mac,
        model,
        vec![
            line(0, TRICKY_NAME, "pbx.example.com", None, "udp"),
            line(
                1,
                "Reception",
                "pbx.example.com:5070",
                Some("proxy.example.com:5080"),
                "tcp",
            ),
        ],
    )
}

fn variables() -> Variables {
    serde_json::from_value(json!({
        "timezone": "Europe/Berlin",
        "ntp_server": "ntp.example.com",
        "language": "de",
        "firmware_url": "http://firmware.example.com/fw/current.rom",
        "outbound_proxy": "sip:edge.example.com:5060;lr",
    }))
    .unwrap()
}

const PROVISIONING_URL: &str = "http://prov.example.com:8081";
const PASSWORDS: [&str; 2] = ["s3cret&<pw>", "second\"pw'"];

fn render_with(
    catalog: &Catalog,
    vendor: Vendor,
    name: &str,
    device: &Device,
    vars: &Variables,
) -> Rendered {
    let file = catalog
        .resolve(vendor, name)
        .unwrap_or_else(|| panic!("{vendor:?} does not serve {name}"));
    let passwords: Vec<String> = PASSWORDS.iter().map(|p| p.to_string()).collect();
    let ctx = RenderContext {
        device,
        lines: RenderContext::lines_of(device, &passwords),
        variables: vars,
        provisioning_url: PROVISIONING_URL,
    };
    catalog.render(&file, &ctx).unwrap()
}

/// Each vendor's fixture and the file names its phones ask for (common and per device).
fn cases() -> Vec<(Vendor, Device, Vec<&'static str>)> {
    vec![
        (
            Vendor::Yealink,
            fixture(Vendor::Yealink, "001565aabbcc", "T54W"),
            vec!["y000000000070.cfg", "001565aabbcc.cfg"],
        ),
        (
            Vendor::Polycom,
            fixture(Vendor::Polycom, "0004f2aabbcc", "VVX_410"),
            vec![
                "000000000000.cfg",
                "0004f2aabbcc.cfg",
                "0004f2aabbcc-phone.cfg",
            ],
        ),
        (
            Vendor::Grandstream,
            fixture(Vendor::Grandstream, "000b828aa872", "GXP2135"),
            vec!["cfg.xml", "cfggxp2135.xml", "cfg000b828aa872.xml"],
        ),
        (
            Vendor::Cisco,
            fixture(Vendor::Cisco, "001122334455", "SPA504G"),
            vec!["spa504g.cfg", "spa001122334455.xml", "001122334455.xml"],
        ),
        (
            Vendor::Snom,
            fixture(Vendor::Snom, "000413a1b2c3", "D785"),
            vec![
                "snomD785.htm",
                "snomD785-000413A1B2C3.htm",
                "000413a1b2c3.xml",
            ],
        ),
        (
            Vendor::Fanvil,
            fixture(Vendor::Fanvil, "0c383e112233", "X5U"),
            vec!["F0V0X5U00000.cfg", "0c383e112233.cfg"],
        ),
    ]
}

fn golden_path(vendor: Vendor, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/provisioning")
        .join(vendor.as_str())
        .join(name)
}

#[test]
fn golden_files_for_every_vendor() {
    let catalog = Templates::shipped().unwrap().current();
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut mismatches = Vec::new();
    for (vendor, device, names) in cases() {
        let mut common = 0;
        let mut per_device = 0;
        for name in names {
            let file = catalog.resolve(vendor, name).unwrap();
            if let Some(mac) = file.mac {
                per_device += 1;
                assert_eq!(mac, device.mac, "{name}");
            } else {
                common += 1;
            }
            let rendered = render_with(&catalog, vendor, name, &device, &variables());
            let path = golden_path(vendor, name);
            if update {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &rendered.body).unwrap();
                continue;
            }
            let want = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
            if want != rendered.body {
                mismatches.push(format!(
                    "{}:\n--- want\n{want}\n--- got\n{}",
                    path.display(),
                    rendered.body
                ));
            }
        }
        assert!(
            common >= 1 && per_device >= 1,
            "{vendor:?}: common and per-device files"
        );
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n\n"));
}
