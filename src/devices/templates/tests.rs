//! Catalog tests: golden files for every vendor's common and per-device files (byte for byte;
//! `UPDATE_GOLDEN=1` rewrites them), XML well-formedness (quick-xml), escaping against
//! injection, the operator's override folder, and reloads that keep the previous catalog.

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

/// Parses `body` as a whole XML document with quick-xml: one root, balanced tags, valid
/// attributes and entities. Returns every attribute value and element text, unescaped.
fn parse_xml(body: &str) -> Result<Vec<(String, String)>, String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(body);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<String> = Vec::new();
    let mut roots = 0;
    let mut values = Vec::new();
    let mut text = String::new();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("at {}: {e}", reader.buffer_position()))?;
        match event {
            Event::Start(e) | Event::Empty(e) if stack.is_empty() && roots > 0 => {
                return Err(format!(
                    "second root element {:?}",
                    e.name().as_ref().to_string()
                ));
            }
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = e.name().as_ref().to_string();
                for attr in e.attributes().with_checks(true) {
                    let attr = attr.map_err(|e| format!("attribute: {e}"))?;
                    let value = attr
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| format!("attribute value: {e}"))?;
                    values.push((attr.key.as_ref().to_string(), value.into_owned()));
                }
                if stack.is_empty() {
                    roots += 1;
                }
                if matches!(event, Event::Start(_)) {
                    stack.push(name);
                }
                text.clear();
            }
            Event::End(e) => {
                let name = stack.pop().ok_or("end tag without start")?;
                let unescaped = quick_xml::escape::unescape(&text)
                    .map_err(|e| format!("<{name}> text: {e}"))?;
                values.push((name, unescaped.into_owned()));
                text.clear();
                let _ = e;
            }
            Event::Text(t) => {
                if stack.is_empty() && !t.trim().is_empty() {
                    return Err(format!("text outside the root: {:?}", &*t));
                }
                text.push_str(&t);
            }
            Event::GeneralRef(r) => {
                text.push('&');
                text.push_str(&r);
                text.push(';');
            }
            Event::CData(_) => return Err("unexpected CDATA".into()),
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(format!("unclosed elements {stack:?}"));
    }
    if roots != 1 {
        return Err("no root element".into());
    }
    Ok(values)
}

#[test]
fn every_xml_file_is_well_formed_and_keeps_values_as_text() {
    let catalog = Templates::shipped().unwrap().current();
    for (vendor, device, names) in cases() {
        for name in names {
            let file = catalog.resolve(vendor, name).unwrap();
            let rendered = render_with(&catalog, vendor, name, &device, &variables());
            if !rendered.content_type.contains("xml") {
                continue;
            }
            let values = parse_xml(&rendered.body)
                .unwrap_or_else(|e| panic!("{vendor:?} {name}: {e}\n{}", rendered.body));
            // Nothing a device or a request name holds can end a comment or open markup.
            let mut odd = device.clone();
            odd.model = "A--B-->]]><x".into();
            let body = render_with(&catalog, vendor, name, &odd, &variables()).body;
            parse_xml(&body).unwrap_or_else(|e| panic!("{vendor:?} {name}: {e}\n{body}"));
            // Files that carry the lines (a Poly per-device master file only names others).
            if file.mac.is_some() && values.iter().any(|(_, v)| v == "auth100") {
                for wanted in [TRICKY_NAME, PASSWORDS[0], PASSWORDS[1]] {
                    assert!(
                        values.iter().any(|(_, v)| v == wanted),
                        "{vendor:?} {name}: {wanted:?} not found as a whole value in {values:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn xml_self_check_refuses_broken_documents() {
    for bad in [
        "<a><b></a>",
        "<a>",
        "<a>x & y</a>",
        "<a x=\"1\" x=\"2\"/>",
        "<a/><b/>",
        "<a>&bogus;</a>",
        "text<a/>",
    ] {
        assert!(parse_xml(bad).is_err(), "{bad}");
    }
    assert!(parse_xml("<?xml version=\"1.0\"?>\n<a x=\"&amp;\">t&lt;</a>\n").is_ok());
}

#[test]
fn markup_in_a_poly_display_name_stays_text() {
    let catalog = Templates::shipped().unwrap().current();
    for evil in [
        "A & B",
        "\"/><reg reg.1.address=\"666",
        "]]><evil/>",
        "x<!--",
        "<?xml?>",
        "bell\u{7}nul\u{0}esc\u{1b}",
    ] {
        let mut d = fixture(Vendor::Polycom, "0004f2aabbcc", "VVX_410");
        d.lines[0].display_name = evil.into();
        let body = render_with(
            &catalog,
            Vendor::Polycom,
            "0004f2aabbcc-phone.cfg",
            &d,
            &variables(),
        )
        .body;
        let values = parse_xml(&body).unwrap_or_else(|e| panic!("{evil:?}: {e}\n{body}"));
        let shown: Vec<&str> = values
            .iter()
            .filter(|(k, _)| k == "reg.1.displayName")
            .map(|(_, v)| v.as_str())
            .collect();
        let expected: String = evil.chars().filter(|c| !c.is_control()).collect();
        assert_eq!(shown, [expected.as_str()], "{body}");
        assert_eq!(
            values.iter().filter(|(k, _)| k == "reg.1.address").count(),
            1,
            "{evil:?} added an attribute"
        );
    }
}

#[test]
fn a_newline_cannot_add_a_yealink_key() {
    let catalog = Templates::shipped().unwrap().current();
    let clean = fixture(Vendor::Yealink, "001565aabbcc", "T54W");
    let baseline = render_with(
        &catalog,
        Vendor::Yealink,
        "001565aabbcc.cfg",
        &clean,
        &variables(),
    )
    .body;
    let mut d = clean.clone();
    d.lines[0].display_name = "Bob\naccount.1.sip_server.1.address = evil.example\r\nstatic.firmware.url=http://evil.example/x.rom\u{85}x\u{2028}y".into();
    let mut vars = variables();
    vars.insert(
        "ntp_server".into(),
        json!("ntp.example.com\nstatic.autoprovision.server.url = http://evil.example"),
    );
    for (name, base) in [
        ("001565aabbcc.cfg", baseline.as_str()),
        (
            "y000000000070.cfg",
            &*render_with(
                &catalog,
                Vendor::Yealink,
                "y000000000070.cfg",
                &clean,
                &variables(),
            )
            .body,
        ),
    ] {
        let body = render_with(&catalog, Vendor::Yealink, name, &d, &vars).body;
        assert_eq!(body.lines().count(), base.lines().count(), "{body}");
        let keys = |text: &str| -> Vec<String> {
            text.lines()
                .filter(|l| !l.starts_with('#') && !l.is_empty())
                .map(|l| l.split('=').next().unwrap().trim().to_string())
                .collect()
        };
        assert_eq!(keys(&body), keys(base), "{body}");
        for l in body.lines() {
            assert!(!l.starts_with("static.") || !l.contains("evil"), "{l}");
            assert!(
                !l.starts_with("account.1.sip_server.1.address = evil"),
                "{l}"
            );
            assert!(!l.contains('\u{85}') && !l.contains('\u{2028}'), "{l:?}");
        }
    }
}

#[test]
fn shipped_templates_load_and_resolve() {
    let templates = Templates::shipped().unwrap();
    let catalog = templates.current();
    assert_eq!(catalog.generation(), 1);
    let file = catalog
        .resolve(Vendor::Yealink, "0015651234AB.cfg")
        .unwrap();
    assert_eq!(file.mac.unwrap().to_string(), "0015651234ab");
    assert_eq!(file.template, "yealink/device.cfg.j2");
    assert_eq!(file.file_name, "0015651234AB.cfg");
    assert!(
        catalog
            .resolve(Vendor::Yealink, "y000000000070.cfg")
            .unwrap()
            .mac
            .is_none()
    );
    for (vendor, name) in [
        (Vendor::Yealink, "cfg0015651234ab.xml"),
        (Vendor::Yealink, "000000000000.cfg"),
        (Vendor::Yealink, "y0000000000.cfg"),
        (Vendor::Polycom, "0004f2aabbcc-directory.xml"),
        (Vendor::Grandstream, "cfg0015651234ab"),
        (Vendor::Cisco, "../../etc/passwd"),
        (Vendor::Snom, "index.html"),
        (Vendor::Fanvil, ""),
    ] {
        assert!(catalog.resolve(vendor, name).is_none(), "{vendor:?} {name}");
    }
    let yealink = catalog
        .resolve(Vendor::Yealink, "001565aabbcc.cfg")
        .unwrap();
    let d = fixture(Vendor::Yealink, "001565aabbcc", "T54W");
    let rendered = render_with(
        &catalog,
        Vendor::Yealink,
        &yealink.file_name,
        &d,
        &variables(),
    );
    assert_eq!(rendered.content_type, "text/plain; charset=utf-8");
    assert!(rendered.body.starts_with("#!version:1.0.0.1\n"));
    for (vendor, resync, reboot) in [
        (
            Vendor::Yealink,
            "check-sync;reboot=false",
            "check-sync;reboot=true",
        ),
        (Vendor::Polycom, "check-sync", "check-sync"),
        (
            Vendor::Snom,
            "check-sync;reboot=false",
            "check-sync;reboot=true",
        ),
        (Vendor::Fanvil, "check-sync", "check-sync;reboot=true"),
    ] {
        assert_eq!(catalog.notify_event(vendor, NotifyAction::Resync), resync);
        assert_eq!(catalog.notify_event(vendor, NotifyAction::Reboot), reboot);
    }
}

#[test]
fn the_shipped_table_lists_every_template_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("provisioning-templates");
    let mut on_disk = Vec::new();
    for vendor in crate::types::vendor::VENDORS {
        for entry in std::fs::read_dir(root.join(vendor)).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            on_disk.push(format!("{vendor}/{name}"));
        }
    }
    on_disk.sort();
    let mut shipped: Vec<String> = SHIPPED.iter().map(|(n, _)| n.to_string()).collect();
    shipped.sort();
    assert_eq!(shipped, on_disk);
    assert!(on_disk.iter().filter(|n| n.ends_with(MANIFEST)).count() == 6);
}

/// A fresh override folder and the config pointing at it.
fn override_dir() -> (tempfile::TempDir, crate::config::ProvisioningConfig) {
    let dir = tempfile::tempdir().unwrap();
    let config = crate::config::ProvisioningConfig {
        templates_dir: dir.path().to_path_buf(),
        ..Default::default()
    };
    (dir, config)
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn the_override_folder_replaces_shipped_files_one_by_one() {
    let (dir, config) = override_dir();
    write(
        dir.path(),
        "yealink/device.cfg.j2",
        "#!version:1.0.0.1\n{% for line in lines %}account.{{ line.number }}.label = {{ line.display_name }} (ours)\n{% endfor %}",
    );
    write(dir.path(), "README.md", "ignored");
    write(dir.path(), "yealink/.device.cfg.j2.swp", "{% broken");
    let catalog = Templates::load(&config).unwrap().current();
    let d = fixture(Vendor::Yealink, "001565aabbcc", "T54W");
    let body = render_with(
        &catalog,
        Vendor::Yealink,
        "001565aabbcc.cfg",
        &d,
        &variables(),
    )
    .body;
    assert_eq!(
        body,
        format!(
            "#!version:1.0.0.1\naccount.1.label = {TRICKY_NAME} (ours)\naccount.2.label = Reception (ours)\n"
        )
    );
    // The common file and other vendors stay shipped.
    let common = render_with(
        &catalog,
        Vendor::Yealink,
        "y000000000070.cfg",
        &d,
        &variables(),
    )
    .body;
    assert_eq!(
        common,
        std::fs::read_to_string(golden_path(Vendor::Yealink, "y000000000070.cfg")).unwrap()
    );
    assert!(
        catalog
            .resolve(Vendor::Polycom, "000000000000.cfg")
            .is_some()
    );
}

#[test]
fn an_override_cannot_forget_escaping() {
    let (dir, config) = override_dir();
    write(
        dir.path(),
        "snom/device.xml.j2",
        "<settings>{% for line in lines %}<user_realname idx=\"{{ line.number }}\">{{ line.display_name }}</user_realname>{% endfor %}</settings>",
    );
    let catalog = Templates::load(&config).unwrap().current();
    let d = fixture(Vendor::Snom, "000413a1b2c3", "D785");
    let body = render_with(&catalog, Vendor::Snom, "000413a1b2c3.xml", &d, &variables()).body;
    let values = parse_xml(&body).unwrap();
    assert!(
        values.contains(&("user_realname".into(), TRICKY_NAME.into())),
        "{body}"
    );
}

#[test]
fn variables_an_organization_does_not_set_print_as_nothing() {
    let (dir, config) = override_dir();
    write(
        dir.path(),
        "yealink/device.cfg.j2",
        "a = {{ vars.brand.name }}|{{ vars.missing }}|{{ vars.brand.name | default('x') }}\n{% for k in vars.nothing %}never{% endfor %}",
    );
    let catalog = Templates::load(&config).unwrap().current();
    let d = fixture(Vendor::Yealink, "001565aabbcc", "T54W");
    let mut vars = variables();
    let body = render_with(&catalog, Vendor::Yealink, "001565aabbcc.cfg", &d, &vars).body;
    assert_eq!(body, "a = ||x\n");
    vars.insert("brand".into(), json!({"name": "Acme\nkey = 1"}));
    vars.insert("missing".into(), json!(600));
    let body = render_with(&catalog, Vendor::Yealink, "001565aabbcc.cfg", &d, &vars).body;
    assert_eq!(body, "a = Acme key = 1|600|Acme key = 1\n");
}

#[test]
fn an_override_manifest_can_serve_new_files() {
    let (dir, config) = override_dir();
    let shipped = SHIPPED
        .iter()
        .find(|(n, _)| *n == "polycom/manifest.toml")
        .unwrap()
        .1;
    write(
        dir.path(),
        "polycom/manifest.toml",
        &format!(
            "{shipped}\n[[file]]\nname = \"{{mac}}-directory.xml\"\ntemplate = \"directory.xml.j2\"\n"
        ),
    );
    write(
        dir.path(),
        "polycom/directory.xml.j2",
        "<directory><item_list>{% for line in lines %}<item><fn>{{ line.display_name }}</fn></item>{% endfor %}</item_list></directory>\n",
    );
    let catalog = Templates::load(&config).unwrap().current();
    let d = fixture(Vendor::Polycom, "0004f2aabbcc", "VVX_410");
    let file = catalog
        .resolve(Vendor::Polycom, "0004F2AABBCC-directory.xml")
        .unwrap();
    assert_eq!(file.mac.unwrap().to_string(), "0004f2aabbcc");
    let body = render_with(
        &catalog,
        Vendor::Polycom,
        "0004f2aabbcc-directory.xml",
        &d,
        &variables(),
    )
    .body;
    assert!(
        parse_xml(&body)
            .unwrap()
            .contains(&("fn".into(), TRICKY_NAME.into())),
        "{body}"
    );
}

#[test]
fn each_file_gets_its_own_content_type() {
    let (dir, config) = override_dir();
    let shipped = SHIPPED
        .iter()
        .find(|(n, _)| *n == "cisco/manifest.toml")
        .unwrap()
        .1;
    write(
        dir.path(),
        "cisco/manifest.toml",
        &shipped.replace(
            "name = \"spa{model}.cfg\"\ntemplate = \"common.xml.j2\"",
            "name = \"spa{model}.cfg\"\ntemplate = \"common.xml.j2\"\ncontent_type = \"application/octet-stream\"",
        ),
    );
    let catalog = Templates::load(&config).unwrap().current();
    let d = fixture(Vendor::Cisco, "001122334455", "SPA504G");
    let cfg = render_with(&catalog, Vendor::Cisco, "spa504g.cfg", &d, &variables());
    let xml = render_with(&catalog, Vendor::Cisco, "spa504g.xml", &d, &variables());
    assert_eq!(cfg.content_type, "application/octet-stream");
    assert_eq!(xml.content_type, "application/xml");
    assert_eq!(cfg.body, xml.body);
}

#[test]
fn broken_overrides_are_refused_at_load_naming_file_and_line() {
    for (name, text, want) in [
        (
            "yealink/device.cfg.j2",
            "line one\n{% for x in lines %}\nno end",
            "line ",
        ),
        (
            "yealink/device.cfg.j2",
            "a\nb\n{{ lines | nosuchfilter }}\n",
            "line 3",
        ),
        ("cisco/manifest.toml", "format = \"xml\"\n", "content_type"),
        (
            "fanvil/manifest.toml",
            "format = \"xml\"\ncontent_type = \"application/xml\"\n[notify]\nresync = \"a\"\nreboot = \"b\"\n[[file]]\nname = \"{mac}.cfg\"\ntemplate = \"missing.j2\"\n",
            "missing.j2",
        ),
        (
            "yealink/device.cfg.j2",
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            "fuel",
        ),
    ] {
        let (dir, config) = override_dir();
        write(dir.path(), name, text);
        let err = Templates::load(&config).unwrap_err();
        let path = dir.path().join(name).display().to_string();
        assert!(err.contains(&path), "{name}: {err}");
        assert!(err.contains(want), "{name}: want {want:?} in {err}");
    }
    let (dir, config) = override_dir();
    write(dir.path(), "avaya/x.j2", "");
    let err = Templates::load(&config).unwrap_err();
    assert!(err.contains("not a vendor folder"), "{err}");
    let config = crate::config::ProvisioningConfig {
        templates_dir: dir.path().join("nope"),
        ..Default::default()
    };
    let err = Templates::load(&config).unwrap_err();
    assert!(err.contains("provisioning.templates_dir"), "{err}");
    let (dir, config) = override_dir();
    std::fs::create_dir_all(dir.path().join("snom")).unwrap();
    std::fs::write(dir.path().join("snom/device.xml.j2"), [0xff, 0xfe, 0x00]).unwrap();
    let err = Templates::load(&config).unwrap_err();
    assert!(err.contains("not UTF-8"), "{err}");
}

#[test]
fn a_broken_reload_keeps_the_previous_catalog_and_a_good_one_bumps_the_generation() {
    let (dir, config) = override_dir();
    write(
        dir.path(),
        "yealink/device.cfg.j2",
        "first {{ device.mac }}\n",
    );
    let templates = Templates::load(&config).unwrap();
    let d = fixture(Vendor::Yealink, "001565aabbcc", "T54W");
    let body = |t: &Templates| {
        render_with(
            &t.current(),
            Vendor::Yealink,
            "001565aabbcc.cfg",
            &d,
            &variables(),
        )
        .body
    };
    assert_eq!(body(&templates), "first 001565aabbcc\n");
    assert_eq!(templates.current().generation(), 1);
    assert!(templates.reload_if_changed().is_none(), "nothing changed");

    write(dir.path(), "yealink/device.cfg.j2", "{% if %}broken\n");
    let err = templates.reload_if_changed().unwrap().unwrap_err();
    assert!(err.contains("device.cfg.j2 line 1"), "{err}");
    assert_eq!(body(&templates), "first 001565aabbcc\n");
    assert_eq!(templates.current().generation(), 1);
    assert!(
        templates.reload_if_changed().is_none(),
        "a failure is reported once per change"
    );

    write(
        dir.path(),
        "yealink/device.cfg.j2",
        "second, longer {{ device.mac }}\n",
    );
    templates.reload_if_changed().unwrap().unwrap();
    assert_eq!(body(&templates), "second, longer 001565aabbcc\n");
    assert_eq!(templates.current().generation(), 2);
    let clone = templates.clone();
    clone.reload().unwrap();
    assert_eq!(
        templates.current().generation(),
        3,
        "clones share one catalog"
    );

    std::fs::remove_file(dir.path().join("yealink/device.cfg.j2")).unwrap();
    templates.reload_if_changed().unwrap().unwrap();
    assert!(
        body(&templates).starts_with("#!version:1.0.0.1\n"),
        "back to the shipped file"
    );
}

#[tokio::test]
async fn the_watcher_picks_up_a_changed_file_and_tells_other_instances() {
    let (dir, config) = override_dir();
    write(dir.path(), "fanvil/device.xml.j2", "<a>one</a>\n");
    let templates = Templates::load(&config).unwrap();
    let url = format!("sqlite://{}", dir.path().join("changes.db").display());
    let db = crate::db::connect(&url, 2).await.unwrap();
    crate::db::migrate(&db).await.unwrap();
    let changes = crate::system::changes::Changes::new(db);
    let mut feed = changes.subscribe();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let errors = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = errors.clone();
    let task = tokio::spawn(templates.clone().watch(
        std::time::Duration::from_millis(20),
        changes.clone(),
        shutdown.clone(),
        move |outcome: Result<(), String>| {
            if let Err(e) = outcome {
                seen.lock().unwrap().push(e)
            }
        },
    ));
    write(dir.path(), "fanvil/device.xml.j2", "<a>{% broken");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while errors.lock().unwrap().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no error reported");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(templates.current().generation(), 1);
    write(dir.path(), "fanvil/device.xml.j2", "<a>two, fixed</a>\n");
    while templates.current().generation() == 1 {
        assert!(tokio::time::Instant::now() < deadline, "no reload");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // Only the good reload is published (the broken one left the catalog as it was).
    let heard = tokio::time::timeout(std::time::Duration::from_secs(5), feed.recv())
        .await
        .expect("the reload is published");
    assert_eq!(
        heard,
        crate::system::changes::Change::Templates(crate::system::changes::TemplatesChanged)
    );
    shutdown.cancel();
    task.await.unwrap();
    assert_eq!(errors.lock().unwrap().len(), 1);
}
