//! The change feed end to end: a change made through instance A's REST API is served by
//! instance B on the same PostgreSQL within 2 s, for every in-memory copy (the provisioning
//! cache, the pinger's targets, the compiled dial plan and its trunk snapshot, the redirect
//! source table, the phone templates); and on either backend, a service called outside any
//! handler refreshes the caches as a request does.

use crate::dialplan::{group, policy, route_to, trunk};
use crate::provisioning::{
    LINE_SECRET, MAC_A, Phone, REGISTRAR, assert_bland_refusal, assert_served, yealink,
};
use crate::support::{self, Api, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;

/// How soon another instance must serve a change.
const LIMIT: Duration = Duration::from_secs(2);

/// Several instances share a database only on PostgreSQL.
fn on_postgres() -> bool {
    let yes = support::backend() == "postgres";
    if !yes {
        println!("skipped: several instances share a PostgreSQL database only");
    }
    yes
}

/// Two instances on one database, pinger off (these tests are not about health).
async fn pair() -> (TestApp, TestApp) {
    let a = TestApp::start_with(|c| c.pinger.enabled = false).await;
    let b = a.second_instance(|_| {}).await;
    (a, b)
}

/// Polls `probe` until it gives a value, which it returns; fails after [`LIMIT`].
async fn within_limit<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            started.elapsed() < LIMIT,
            "{what}: not seen within {LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ok(status: StatusCode, body: &Value) {
    assert!(status.is_success(), "{status}: {body}");
}

#[tokio::test]
async fn device_line_and_org_access_edits_on_a_reach_the_phone_fetching_from_b() {
    if !on_postgres() {
        return;
    }
    let (a, b) = pair().await;
    let (tree, root) = support::tree(&a).await;
    let id = yealink(&root, tree.tenant_a1, MAC_A, "active").await;
    let file = format!("/{MAC_A}.cfg");
    let phone = Phone::new(&b, MAC_A);
    // B learnt of the device (created on A) and now holds it in memory.
    let first = within_limit("the new device", async || {
        let answer = phone.digest(&file, "SHA-256").await;
        (answer.status == StatusCode::OK).then_some(answer)
    })
    .await;
    assert_served(&first, MAC_A);

    // A line edit on A: B's next fetch renders the new registrar.
    let (status, body) = root
        .put(
            &format!("/v1/devices/{id}"),
            json!({"lines": [{"username": "201", "password": LINE_SECRET,
                              "registrar": "pbx-moved.example:5060"}]}),
        )
        .await;
    ok(status, &body);
    within_limit("the line edit", async || {
        let answer = phone.digest(&file, "SHA-256").await;
        (answer.status == StatusCode::OK && answer.body.contains("pbx-moved.example")).then_some(())
    })
    .await;

    // The tenant restricts fetches to its orgips (it has none yet): B refuses the phone …
    let (status, body) = root
        .put(
            &format!("/v1/organizations/{}/clientaccess", tree.tenant_a1),
            json!({"restrict_to_orgips": true}),
        )
        .await;
    ok(status, &body);
    let refused = within_limit("the client access change", async || {
        let answer = phone.digest(&file, "SHA-256").await;
        (answer.status == StatusCode::UNAUTHORIZED).then_some(answer)
    })
    .await;
    assert_bland_refusal(&refused, "outside the orgips");
    // … until A lists the phone's address.
    let (status, body) = root
        .post(
            "/v1/orgips",
            json!({"organization_id": tree.tenant_a1, "cidr": "127.0.0.1"}),
        )
        .await;
    ok(status, &body);
    within_limit("the new org IP", async || {
        let answer = phone.digest(&file, "SHA-256").await;
        (answer.status == StatusCode::OK).then_some(())
    })
    .await;

    // Disabled on A: refused by B.
    let (status, body) = root
        .put(&format!("/v1/devices/{id}"), json!({"status": "disabled"}))
        .await;
    ok(status, &body);
    within_limit("the disabled device", async || {
        let answer = phone.digest(&file, "SHA-256").await;
        (answer.status == StatusCode::UNAUTHORIZED).then_some(())
    })
    .await;
    b.shutdown().await;
    a.shutdown().await;
}

/// A gateway on loopback that only counts what it receives.
async fn counting_gateway() -> (SocketAddr, Arc<AtomicUsize>) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_535];
        while socket.recv_from(&mut buf).await.is_ok() {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    (addr, seen)
}

#[tokio::test]
async fn a_gateway_added_on_b_is_pinged_by_the_instance_holding_the_lease() {
    if !on_postgres() {
        return;
    }
    // A starts first and takes the pinger lease; B only mirrors the verdicts.
    let a = TestApp::start_with(|c| {
        c.pinger.interval_s = 1;
        c.pinger.down_interval_s = 1;
    })
    .await;
    let b = a.second_instance(|_| {}).await;
    let on_b = b.root().await;
    let (gateway, pings) = counting_gateway().await;
    let (status, body) = on_b
        .post(
            "/v1/siptrunks",
            json!({"name": "Far", "direction": "outbound", "max_channels": 5,
                   "gateways": [{"uri": format!("sip:{gateway}"), "ping_interval_s": 1}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The first ping lands somewhere in the gateway's 1 s interval after the reload.
    let started = Instant::now();
    while pings.load(Ordering::SeqCst) == 0 {
        assert!(
            started.elapsed() < LIMIT + Duration::from_secs(1),
            "the new gateway was not pinged"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    b.shutdown().await;
    a.shutdown().await;
}

async fn evaluate(api: &Api, org: i64) -> Value {
    let (status, body) = api
        .post(
            "/v1/dialplan/evaluate",
            json!({"organization": org, "to": "+14155550100"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].clone()
}

#[tokio::test]
async fn policy_and_trunk_edits_on_a_are_evaluated_by_b() {
    if !on_postgres() {
        return;
    }
    let (a, b) = pair().await;
    let (tree, root) = support::tree(&a).await;
    let on_b = b.root().await;
    let carrier = trunk(&root, tree.partner_a, "Carrier", &["sip:192.0.2.10"], 30).await;
    let rules = json!([{"action": route_to(&[carrier])}]);
    let policy = policy(&root, tree.partner_a, "All", rules).await;
    group(&root, tree.partner_a, "Main", false, &[policy]).await;
    let gateway_of = async |uri: &str| {
        let decision = evaluate(&on_b, tree.partner_a).await;
        (decision["routes"][0]["gateway_uri"] == uri).then_some(())
    };
    within_limit("the new plan", async || gateway_of("sip:192.0.2.10").await).await;

    // A trunk edit alone (no policy moves): B's trunk snapshot follows.
    let (status, body) = root
        .put(
            &format!("/v1/siptrunks/{carrier}"),
            json!({"gateways": [{"uri": "sip:192.0.2.20"}]}),
        )
        .await;
    ok(status, &body);
    within_limit("the trunk edit", async || {
        gateway_of("sip:192.0.2.20").await
    })
    .await;

    // A policy edit: B recompiles.
    let (status, body) = root
        .put(
            &format!("/v1/dialplans/{policy}"),
            json!({"rules": [{"action": {"type": "deny", "sip_code": 480, "reason": "Closed"}}]}),
        )
        .await;
    ok(status, &body);
    within_limit("the policy edit", async || {
        let decision = evaluate(&on_b, tree.partner_a).await;
        (decision["sip_code"] == 480).then_some(())
    })
    .await;
    b.shutdown().await;
    a.shutdown().await;
}

/// Sends one INVITE from a fresh loopback socket and returns the response's status code.
async fn invite_status(target: SocketAddr, branch: &str) -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let local = socket.local_addr().unwrap();
    let request = format!(
        "INVITE sip:+442071234567@127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK{branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:+14155550100@127.0.0.1>;tag=f{branch}\r\n\
         To: <sip:+442071234567@127.0.0.1>\r\n\
         Call-ID: {branch}@127.0.0.1\r\n\
         CSeq: 1 INVITE\r\n\
         Content-Length: 0\r\n\r\n"
    );
    socket.send_to(request.as_bytes(), target).await.unwrap();
    let mut buf = vec![0u8; 65_535];
    let n = tokio::time::timeout(Duration::from_secs(2), socket.recv(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    text.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_trunk_ip_added_on_a_is_recognised_by_bs_redirect_listener() {
    if !on_postgres() {
        return;
    }
    let (a, b) = pair().await;
    let (tree, root) = support::tree(&a).await;
    let out = trunk(&root, tree.tenant_a1, "Out", &["sip:192.0.2.10"], 30).await;
    let rules = json!([{"action": route_to(&[out])}]);
    let policy = policy(&root, tree.tenant_a1, "UK", rules).await;
    group(&root, tree.tenant_a1, "Main", false, &[policy]).await;
    let (status, body) = root
        .post(
            "/v1/siptrunks",
            json!({"organization_id": tree.tenant_a1, "name": "PBX", "direction": "inbound",
                   "max_channels": 10, "gateways": []}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let pbx = body["data"]["id"].as_i64().unwrap();
    let redirect = b.redirect_addr();
    assert_eq!(invite_status(redirect, "before").await, 403, "unknown yet");

    let (status, body) = root
        .post(
            &format!("/v1/siptrunks/{pbx}/ips"),
            json!({"cidr": "127.0.0.1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mut attempt = 0;
    within_limit("the trunk IP", async || {
        attempt += 1;
        (invite_status(redirect, &format!("after{attempt}")).await == 302).then_some(())
    })
    .await;
    b.shutdown().await;
    a.shutdown().await;
}

#[tokio::test]
async fn a_template_reload_on_a_makes_b_look_at_its_folder_again() {
    if !on_postgres() {
        return;
    }
    // One folder both hosts see (as with a shared mount or a deployment to every host); only
    // A polls it, so B can learn of the change only through A's TemplatesChanged.
    let folder = tempfile::tempdir().unwrap();
    let template = folder.path().join("yealink/device.cfg.j2");
    std::fs::create_dir_all(template.parent().unwrap()).unwrap();
    std::fs::write(&template, "#!version:1.0.0.1\n# first\n").unwrap();
    let dir = folder.path().to_path_buf();
    let a = TestApp::start_with(move |c| {
        c.pinger.enabled = false;
        c.provisioning.templates_dir = dir;
        c.provisioning.templates_poll_s = 1;
    })
    .await;
    let b = a
        .second_instance(|c| c.provisioning.templates_poll_s = 0)
        .await;
    let (tree, root) = support::tree(&a).await;
    yealink(&root, tree.tenant_a1, MAC_A, "active").await;
    let file = format!("/{MAC_A}.cfg");
    let phone = Phone::new(&b, MAC_A);
    let fetched = async || phone.digest(&file, "SHA-256").await.body;
    within_limit("the device on B", async || {
        fetched().await.contains("# first").then_some(())
    })
    .await;

    std::fs::write(&template, "#!version:1.0.0.1\n# second\n").unwrap();
    let templates = a.state().templates.clone();
    let started = Instant::now();
    while templates.current().generation() == 1 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "A never reloaded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    within_limit("A's reload", async || {
        fetched().await.contains("# second").then_some(())
    })
    .await;
    assert!(
        b.state().templates.current().generation() > 1,
        "B reloaded its own catalog"
    );
    b.shutdown().await;
    a.shutdown().await;
}

#[tokio::test]
async fn a_service_called_outside_any_handler_refreshes_the_cache() {
    let app = TestApp::start_with(|c| c.pinger.enabled = false).await;
    let (tree, root) = support::tree(&app).await;
    let id = yealink(&root, tree.tenant_a1, MAC_A, "active").await;
    let file = format!("/{MAC_A}.cfg");
    let phone = Phone::new(&app, MAC_A);
    assert_served(&phone.digest(&file, "SHA-256").await, MAC_A);
    assert!(
        phone
            .digest(&file, "SHA-256")
            .await
            .body
            .contains(REGISTRAR)
    );

    // What a CLI import or a job does: the service itself, no request, no handler.
    let state = app.state();
    let caller = dialtone::auth::Caller {
        user_id: 1,
        username: support::ROOT_USER.into(),
        role: dialtone::auth::Role::Admin,
        organization_id: tree.platform,
        organization_path: format!("/{}/", tree.platform),
        organization_type: dialtone::orgs::OrgType::Platform,
        session_id: "job".into(),
        token_kind: dialtone::auth::TokenKind::Access,
        request_id: None,
        client_ip: None,
        api_key: None,
    };
    dialtone::devices::update(
        &state.db,
        &state.changes,
        &state.secrets,
        &caller,
        id,
        dialtone::devices::DeviceUpdate {
            status: Some(dialtone::devices::DeviceStatus::Disabled),
            ..Default::default()
        },
    )
    .await
    .expect("the service call");
    // Published locally at once: no poll to wait for.
    let refused = within_limit("the service's change", async || {
        let answer = phone.digest(&file, "SHA-256").await;
        (answer.status == StatusCode::UNAUTHORIZED).then_some(answer)
    })
    .await;
    assert_bland_refusal(&refused, "disabled by a job");
    app.shutdown().await;
}
