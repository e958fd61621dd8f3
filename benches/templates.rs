//! The provisioning hot path's template half, as the provisioning server runs it for a phone's
//! request after authentication: resolve the requested file name against the vendor's
//! manifest, then render the per-device file (two lines) with the shipped templates. Also a
//! User-Agent parse and a full catalog reload (what a SIGHUP or a changed file costs).
//!
//! `cargo bench --bench templates`; criterion prints the time per iteration.

use criterion::{Criterion, criterion_group, criterion_main};
use dialtone::devices::templates::{RenderContext, Templates};
use dialtone::devices::{Device, Line, Variables};
use dialtone::types::Vendor;
use std::hint::black_box;
use std::time::Duration;

fn device(vendor: Vendor, mac: &str) -> Device {
    let epoch = chrono::DateTime::UNIX_EPOCH;
    let line = |position: i64| Line {
        position,
        username: format!("20{position}"),
        auth_user: format!("20{position}"),
        password: String::new(),
        display_name: format!("Desk {position} & Co <Sales>"),
        registrar: "pbx.example.com:5060".into(),
        proxy: None,
        transport: dialtone::devices::LineTransport::Udp,
    };
    Device {
        id: 1,
        organization_id: 1,
        organization_path: "/1/".into(),
        user_id: None,
        mac: dialtone::types::Mac::parse(mac).expect("sample MAC parses"),
        vendor,
        model: "T54W".into(),
        variables: Variables::new(),
        contact: None,
        status: dialtone::devices::DeviceStatus::Active,
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
        lines: vec![line(0), line(1)],
    }
}

fn bench(c: &mut Criterion) {
    let templates = Templates::shipped().expect("shipped templates load");
    let variables: Variables = serde_json::from_value(serde_json::json!({
        "timezone": "Europe/Berlin",
        "ntp_server": "ntp.example.com",
        "language": "de",
        "outbound_proxy": "sip:edge.example.com",
    }))
    .expect("variables");
    let passwords = vec!["secret-one".to_string(), "secret-two".to_string()];

    let mut group = c.benchmark_group("templates");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50);
    for (vendor, mac, name) in [
        (Vendor::Yealink, "001565aabbcc", "001565aabbcc.cfg"),
        (Vendor::Polycom, "0004f2aabbcc", "0004f2aabbcc-phone.cfg"),
    ] {
        let device = device(vendor, mac);
        let serve = || {
            let catalog = templates.current();
            let file = catalog.resolve(vendor, black_box(name)).expect("served");
            let ctx = RenderContext {
                device: &device,
                lines: RenderContext::lines_of(&device, &passwords),
                variables: &variables,
                provisioning_url: "http://prov.example.com:8081",
            };
            catalog.render(&file, &ctx).expect("renders")
        };
        assert!(serve().body.contains("secret-two"));
        group.bench_function(format!("resolve_and_render/{}", vendor.as_str()), |b| {
            b.iter(|| black_box(serve()))
        });
    }
    group.bench_function("user_agent", |b| {
        b.iter(|| {
            black_box(dialtone::devices::user_agent::parse(black_box(
                "Yealink SIP-T54W 96.86.0.10 001565aabbcc",
            )))
        })
    });
    group.bench_function("reload", |b| {
        b.iter(|| templates.reload().expect("reloads"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
