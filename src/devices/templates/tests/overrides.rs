//! The shipped catalog, the operator's override folder, broken overrides refused at load, and
//! reloads (by hand and by the watcher) that keep the previous catalog.

use super::xml::parse_xml;
use super::*;

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
