//! The XML the catalog renders is well-formed and keeps every value as text; `key = value`
//! files cannot be given an extra key by a newline.

use super::*;

/// Parses `body` as a whole XML document with quick-xml: one root, balanced tags, valid
/// attributes and entities. Returns every attribute value and element text, unescaped.
pub(super) fn parse_xml(body: &str) -> Result<Vec<(String, String)>, String> {
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
