//! SIP NOTIFY to phones end to end: in-process UDP phones that answer 200, 481 or 489, answer
//! late, or stay silent; the Event header each vendor's manifest gives; the target (contact, or
//! the fetch address through the organization's outbound proxy); the outcome in the API, on the
//! device's event log and in the audit log; tenancy; bad input; bulk jobs to 500 phones with
//! their spread, concurrency bound, progress and paginated results; and `sipp` as a real phone.

use crate::support::phone::{Log, PhoneBehaviour as Behaviour, phone, phone_with};
use crate::support::sip::sipp_available;
use crate::support::{self, Api, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

async fn app() -> TestApp {
    TestApp::start_with(|c| c.notify.timeout_ms = 1_500).await
}

/// A device body; `n` makes the MAC unique.
fn device(n: u32, vendor: &str, user: &str, contact: Option<String>) -> Value {
    let mut body = json!({
        "mac": format!("00:15:65:{:02x}:{:02x}:{:02x}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff),
        "vendor": vendor, "model": "M1",
        "lines": [{"username": user, "registrar": "pbx.example.com"}],
    });
    if let Some(contact) = contact {
        body["contact"] = json!(contact);
    }
    body
}

async fn create_device(api: &Api, body: Value) -> i64 {
    let (status, created) = api.post("/v1/devices", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["data"]["id"].as_i64().unwrap()
}

/// The device's NOTIFY events on its event log, newest first.
async fn device_events(api: &Api, org: i64, device: i64) -> Vec<Value> {
    let (status, body) = api
        .get(&format!(
            "/v1/eventlog/{org}?entity_type=device&entity_id={device}&limit=1000"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn each_vendor_gets_its_manifest_event_at_its_contact() {
    let app = app().await;
    let root = app.root().await;
    let (addr, log) = phone(Behaviour::Answer(200)).await;
    let expected = [
        (
            "yealink",
            "check-sync;reboot=false",
            "check-sync;reboot=true",
        ),
        ("polycom", "check-sync", "check-sync"),
        ("grandstream", "resync", "check-sync;reboot=true"),
        ("cisco", "resync", "reboot_now"),
        ("snom", "check-sync;reboot=false", "check-sync;reboot=true"),
        ("fanvil", "check-sync", "check-sync;reboot=true"),
    ];
    for (n, (vendor, resync, reboot)) in expected.iter().enumerate() {
        let user = format!("{vendor}-{n}");
        let contact = format!("sip:{user}@{addr}");
        let id = create_device(
            &root,
            device(n as u32, vendor, "201", Some(contact.clone())),
        )
        .await;
        for (action, event) in [("notify", resync), ("reboot", reboot)] {
            let before = log.seen().len();
            let (status, body) = root
                .post(&format!("/v1/devices/{id}/{action}"), json!({}))
                .await;
            assert_eq!(status, StatusCode::OK, "{vendor} {action}: {body}");
            let data = &body["data"];
            assert_eq!(data["outcome"], "ok", "{body}");
            assert_eq!(data["code"], 200, "{body}");
            assert_eq!(data["reason"], "OK", "{body}");
            assert_eq!(data["event"], *event, "{body}");
            assert_eq!(data["target"], contact, "{body}");
            assert_eq!(data["proxy"], Value::Null, "{body}");
            assert_eq!(data["device_id"], id, "{body}");

            let seen = log.seen();
            assert_eq!(seen.len(), before + 1, "exactly one NOTIFY");
            let notify = seen.last().unwrap();
            assert_eq!(notify.request_line, format!("NOTIFY {contact} SIP/2.0"));
            assert_eq!(notify.header("event"), *event);
            assert_eq!(notify.header("subscription-state"), "terminated");
            assert_eq!(notify.header("content-length"), "0");
            assert_eq!(notify.header("cseq"), "1 NOTIFY");
            assert_eq!(notify.header("to"), format!("<{contact}>"));
            let from = notify.header("from");
            assert!(from.starts_with("<sip:dialtone@127.0.0.1:"), "{from}");
            assert!(from.contains(";tag="), "{from}");
            assert_eq!(notify.header("route"), "", "no proxy, no Route");
            assert_eq!(notify.user(), user);
        }
        let events = device_events(&root, 1, id).await;
        let names: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
        assert_eq!(names, ["device.reboot", "device.resync"], "{events:?}");
        assert_eq!(events[0]["severity"], "info");
        assert_eq!(events[0]["detail"]["code"], 200);
        let message = events[0]["message"].as_str().unwrap();
        assert!(
            message.contains(reboot) && message.contains("200"),
            "{message}"
        );
    }
    let (status, audit) = root.get("/v1/auditlog?action=notify.reboot").await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    assert_eq!(audit["total"], 6, "{audit}");
    assert_eq!(audit["data"][0]["after"]["outcome"], "ok", "{audit}");
}

#[tokio::test]
async fn rejections_carry_their_code_and_reason() {
    let app = app().await;
    let root = app.root().await;
    for (n, code) in [481u16, 489, 401].into_iter().enumerate() {
        let (addr, log) = phone(Behaviour::Answer(code)).await;
        let id = create_device(
            &root,
            device(n as u32, "yealink", "201", Some(format!("sip:201@{addr}"))),
        )
        .await;
        let (status, body) = root
            .post(&format!("/v1/devices/{id}/reboot"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["data"]["outcome"], "rejected", "{body}");
        assert_eq!(body["data"]["code"], code, "{body}");
        assert!(
            !body["data"]["reason"].as_str().unwrap().is_empty(),
            "{body}"
        );
        assert_eq!(log.seen().len(), 1);
        let events = device_events(&root, 1, id).await;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0]["severity"], "warning");
        assert!(
            events[0]["message"]
                .as_str()
                .unwrap()
                .contains(&code.to_string()),
            "{events:?}"
        );
    }
}

#[tokio::test]
async fn a_phone_that_is_gone_times_out_within_the_configured_wait() {
    let app = TestApp::start_with(|c| c.notify.timeout_ms = 700).await;
    let root = app.root().await;
    let (silent, log) = phone(Behaviour::Silent).await;
    // A port nobody listens on any more.
    let gone = {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.local_addr().unwrap()
    };
    for (n, addr) in [silent, gone].into_iter().enumerate() {
        let id = create_device(
            &root,
            device(n as u32, "snom", "300", Some(format!("sip:300@{addr}"))),
        )
        .await;
        let started = Instant::now();
        let (status, body) = root
            .post(&format!("/v1/devices/{id}/notify"), json!({}))
            .await;
        let took = started.elapsed();
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["data"]["outcome"], "timeout", "{body}");
        assert_eq!(body["data"]["code"], Value::Null, "{body}");
        assert!(
            body["data"]["reason"].as_str().unwrap().contains("700 ms"),
            "{body}"
        );
        assert!(
            took >= Duration::from_millis(650) && took < Duration::from_secs(5),
            "{took:?}"
        );
        let events = device_events(&root, 1, id).await;
        assert_eq!(events[0]["event"], "device.resync");
        assert_eq!(events[0]["severity"], "warning");
        assert_eq!(events[0]["detail"]["outcome"], "timeout");
    }
    // The silent phone saw the request and its retransmissions (one transaction).
    assert_eq!(log.seen().len(), 1);
}

#[tokio::test]
async fn without_contact_the_fetch_address_is_used_through_the_outbound_proxy() {
    let app = app().await;
    let root = app.root().await;
    let id = create_device(&root, device(1, "yealink", "alice@pbx", None)).await;

    // Never provisioned, no contact: nothing to send to, and it says why.
    let (status, body) = root
        .post(&format!("/v1/devices/{id}/notify"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("no contact") && message.contains("never fetched"),
        "{message}"
    );
    assert!(device_events(&root, 1, id).await.is_empty());

    // Once it has fetched its configuration from 127.0.0.1, that is where it is.
    let db = &app.state().db;
    dialtone::on_db!(db, pool => sqlx::query(
        "UPDATE devices SET last_provisioned_ip = '127.0.0.1' WHERE id = $1")
        .bind(id).execute(pool).await.unwrap().rows_affected());
    // The organization's outbound proxy (here a phone stand-in) carries it there.
    let (proxy, log) = phone(Behaviour::Answer(200)).await;
    let (status, body) = root
        .put(
            "/v1/organizations/1/provisioning",
            json!({"outbound_proxy": format!("sip:{proxy}")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = root
        .post(&format!("/v1/devices/{id}/reboot"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let target = "sip:alice@127.0.0.1:5060";
    assert_eq!(body["data"]["target"], target, "{body}");
    assert_eq!(body["data"]["proxy"], format!("sip:{proxy}"), "{body}");
    assert_eq!(body["data"]["outcome"], "ok", "{body}");
    let seen = log.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].request_line, format!("NOTIFY {target} SIP/2.0"));
    assert_eq!(seen[0].header("route"), format!("<sip:{proxy};lr>"));
    assert_eq!(seen[0].header("to"), format!("<{target}>"));
    assert_eq!(seen[0].header("event"), "check-sync;reboot=true");
}

#[tokio::test]
async fn other_tenants_devices_and_jobs_are_404_and_nothing_is_sent() {
    let app = app().await;
    let (tree, root) = support::tree(&app).await;
    root.create_user("b-admin", tree.partner_b, "admin").await;
    let sibling = app.login("b-admin", support::PASSWORD).await;
    let (addr, log) = phone(Behaviour::Answer(200)).await;
    let mut body = device(1, "fanvil", "9", Some(format!("sip:9@{addr}")));
    body["organization_id"] = json!(tree.partner_a);
    let id = create_device(&root, body).await;
    let (status, job) = root
        .post(
            "/v1/devices/notify",
            json!({"organization_id": tree.partner_a, "spread_s": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let job_id = job["data"]["id"].as_i64().unwrap();
    wait_done(&root, job_id).await;
    let sent = log.seen().len();
    assert_eq!(sent, 1);

    for path in [
        format!("/v1/devices/{id}/notify"),
        format!("/v1/devices/{id}/reboot"),
        "/v1/devices/987654/notify".to_string(),
    ] {
        let (status, body) = sibling.post(&path, json!({})).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(body["message"], "device not found", "{body}");
    }
    for path in [
        format!("/v1/devices/notify/{job_id}"),
        format!("/v1/devices/notify/{job_id}/results"),
        "/v1/devices/notify/987654".to_string(),
        "/v1/devices/notify/abc".to_string(),
    ] {
        let (status, body) = sibling.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(body["message"], "notify job not found", "{body}");
    }
    // A bulk job aimed at another tenant is refused, naming the field; its own fleet is empty.
    let (status, body) = sibling
        .post(
            "/v1/devices/notify",
            json!({"organization_id": tree.partner_a, "spread_s": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("organization_id")
    );
    let (status, body) = sibling
        .post("/v1/devices/notify", json!({"spread_s": 0}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["total"], 0, "{body}");
    assert_eq!(body["data"]["state"], "done", "{body}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(log.seen().len(), sent, "nothing more was sent");
    // The parent sees partner_a's job.
    let (status, body) = root.get(&format!("/v1/devices/notify/{job_id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["organization_id"], tree.partner_a);
}

#[tokio::test]
async fn bad_bulk_requests_are_refused_by_field_and_start_nothing() {
    let app = app().await;
    let root = app.root().await;
    let (addr, log) = phone(Behaviour::Answer(200)).await;
    create_device(
        &root,
        device(1, "yealink", "1", Some(format!("sip:1@{addr}"))),
    )
    .await;
    for (body, field) in [
        (json!({"spread_s": 3601}), "spread_s"),
        (json!({"spread_s": -1}), "spread_s"),
        (json!({"spread_s": "soon"}), "spread_s"),
        (json!({"concurrency": 0}), "concurrency"),
        (json!({"concurrency": 1001}), "concurrency"),
        (json!({"action": "explode"}), "action"),
        (json!({"vendor": "nokia"}), "vendor"),
        (json!({"model": ""}), "model"),
        (json!({"filter": {}}), "filter"),
    ] {
        let (status, response) = root.post("/v1/devices/notify", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {response}");
        let message = response["message"].as_str().unwrap();
        assert!(message.contains(field), "{body}: {message}");
    }
    let (status, response) = root
        .post("/v1/devices/notify", json!({"organization_id": 987654}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{response}");
    assert_eq!(
        response["message"],
        "organization_id: organization 987654 not found"
    );
    let response = root
        .request(reqwest::Method::POST, "/v1/devices/notify")
        .header("content-type", "application/json")
        .body("{\"spread_s\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(log.seen().is_empty(), "a refused request sent something");
    let (_, audit) = root.get("/v1/auditlog?entity_type=notify_job").await;
    assert_eq!(audit["total"], 0, "{audit}");
    let (status, body) = root
        .post("/v1/devices/notify", json!({"spread_s": 0}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let job = body["data"]["id"].as_i64().unwrap();
    let (status, body) = root
        .get(&format!("/v1/devices/notify/{job}/results?outcome=maybe"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"].as_str().unwrap().starts_with("outcome"));
}

/// Starts a bulk job (asserting 201) and returns its id.
async fn start_job(api: &Api, body: Value) -> i64 {
    let (status, job) = api.post("/v1/devices/notify", body).await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    job["data"]["id"].as_i64().unwrap()
}

/// The ids of a job list's page, and its `total`.
async fn listed(api: &Api, query: &str) -> (Vec<i64>, i64) {
    let (status, body) = api.get(&format!("/v1/devices/notify{query}")).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    let ids = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|job| job["id"].as_i64().unwrap())
        .collect();
    (ids, body["total"].as_i64().unwrap())
}

#[tokio::test]
async fn bulk_jobs_are_listed_newest_first_within_the_callers_subtree() {
    // The running job's phone never answers and the NOTIFY waits up to 30 s: wherever its random
    // send time falls in the hour, the job stays running, one device pending, during the test.
    let app = TestApp::start_with(|c| c.notify.timeout_ms = 30_000).await;
    let (tree, root) = support::tree(&app).await;
    root.create_user("a-admin", tree.partner_a, "admin").await;
    root.create_user("b-admin", tree.partner_b, "admin").await;
    let a = app.login("a-admin", support::PASSWORD).await;
    let b = app.login("b-admin", support::PASSWORD).await;
    let db = &app.state().db;
    let long_ago = chrono::Utc::now() - chrono::Duration::minutes(5);
    let died: i64 = dialtone::on_db!(db, pool => sqlx::query_scalar(
        "INSERT INTO notify_jobs (organization_id, action, filter_json, spread_s, concurrency, \
         state, total, created_by, created_at, heartbeat_at) \
         VALUES ($1, 'reboot', '{}', 60, 50, 'running', 2, 'a-admin', $2, $2) RETURNING id")
        .bind(tree.partner_a).bind(long_ago).fetch_one(pool).await.unwrap());
    let own = start_job(&a, json!({"spread_s": 0})).await;
    let tenant = start_job(
        &a,
        json!({"organization_id": tree.tenant_a1, "spread_s": 0}),
    )
    .await;
    let (addr, _) = phone(Behaviour::Silent).await;
    let mut body = device(1, "yealink", "1", Some(format!("sip:1@{addr}")));
    body["organization_id"] = json!(tree.partner_a);
    create_device(&root, body).await;
    let running = start_job(&a, json!({"spread_s": 3600})).await;
    let sibling = start_job(&b, json!({"spread_s": 0})).await;

    // Each caller sees its own subtree's jobs, newest first; never a sibling's.
    assert_eq!(listed(&a, "").await, (vec![running, tenant, own, died], 4));
    assert_eq!(listed(&b, "").await, (vec![sibling], 1));
    assert_eq!(
        listed(&root, "").await,
        (vec![sibling, running, tenant, own, died], 5)
    );
    assert_eq!(
        listed(&a, &format!("?organization_id={}", tree.partner_b)).await,
        (vec![], 0),
        "a sibling's jobs stay hidden when asked for by organization"
    );

    // Each job with its progress, as on its own GET, but without per-device results.
    let (status, body) = a.get("/v1/devices/notify?limit=1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["total"].clone(), body["limit"].clone()),
        (json!(4), json!(1))
    );
    let job = &body["data"][0];
    assert_eq!(job["state"], "running", "{body}");
    assert_eq!(
        (job["total"].clone(), job["pending"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(job["organization_id"], tree.partner_a, "{body}");
    assert!(job.get("results").is_none(), "{body}");
    let (_, single) = a.get(&format!("/v1/devices/notify/{running}")).await;
    assert_eq!(
        job.as_object().unwrap().keys().collect::<Vec<_>>(),
        single["data"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>()
    );

    // Pages.
    assert_eq!(listed(&a, "?limit=2").await, (vec![running, tenant], 4));
    assert_eq!(listed(&a, "?limit=2&page=2").await, (vec![own, died], 4));
    assert_eq!(listed(&a, "?limit=2&offset=3").await, (vec![died], 4));
    assert_eq!(listed(&a, "?page=3&limit=2").await, (vec![], 4));

    // Filters; the job whose instance died is listed (and stored) as interrupted.
    assert_eq!(listed(&a, "?state=interrupted").await, (vec![died], 1));
    assert_eq!(listed(&a, "?state=running").await, (vec![running], 1));
    assert_eq!(listed(&a, "?state=done").await, (vec![tenant, own], 2));
    assert_eq!(
        listed(&a, &format!("?organization_id={}", tree.tenant_a1)).await,
        (vec![tenant], 1)
    );
    assert_eq!(
        listed(
            &root,
            &format!("?organization_id={}&state=done&limit=1", tree.partner_a)
        )
        .await,
        (vec![own], 1)
    );
    let stored: String = dialtone::on_db!(db, pool => sqlx::query_scalar(
        "SELECT state FROM notify_jobs WHERE id = $1")
        .bind(died).fetch_one(pool).await.unwrap());
    assert_eq!(stored, "interrupted");

    // Bad filters are refused naming the parameter.
    for (query, parameter) in [
        ("?state=finished", "state"),
        ("?status=done&state=RUNNING", "state"),
        ("?organization_id=abc", "organization_id"),
        ("?organization_id=1.5", "organization_id"),
        ("?limit=0", "limit"),
        ("?offset=-1", "offset"),
        ("?page=0&offset=2", "page"),
    ] {
        let (status, body) = a.get(&format!("/v1/devices/notify{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.starts_with(parameter), "{query}: {message}");
    }

    // Documented beside the job's own routes.
    let (_, doc) = app.anonymous().get("/v1/documentation").await;
    let op = &doc["paths"]["/v1/devices/notify"]["get"];
    assert_eq!(op["tags"], json!(["devices"]), "{op}");
    assert!(op["security"].is_array(), "{op}");
}

/// Polls a job until it is no longer running; returns its last progress.
async fn wait_done(api: &Api, job: i64) -> Value {
    let started = Instant::now();
    loop {
        let (status, body) = api.get(&format!("/v1/devices/notify/{job}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["data"]["state"] != "running" {
            return body["data"].clone();
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn bulk_reboot_reaches_500_phones_once_each_spread_and_bounded() {
    let app = app().await;
    let root = app.root().await;
    let log = Arc::new(Log::default());
    let pause = Behaviour::AnswerAfter(200, Duration::from_millis(60));
    let mut phones = Vec::new();
    for _ in 0..5 {
        phones.push(phone_with(pause, log.clone()).await);
    }
    let mut rows = Vec::new();
    for n in 0..500u32 {
        let addr = phones[n as usize % phones.len()];
        rows.push(device(n, "yealink", "1", Some(format!("sip:u{n}@{addr}"))));
    }
    // Other vendors' phones are outside the filter and must hear nothing.
    for n in 500..510u32 {
        let addr = phones[0];
        rows.push(device(n, "snom", "1", Some(format!("sip:u{n}@{addr}"))));
    }
    let (status, body) = root
        .post("/v1/devices/bulk", json!({"devices": rows}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let started = Instant::now();
    let (status, body) = root
        .post(
            "/v1/devices/notify",
            json!({"vendor": "yealink", "action": "reboot", "spread_s": 1, "concurrency": 20}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let job = &body["data"];
    assert_eq!(job["total"], 500, "{body}");
    assert_eq!(job["action"], "reboot");
    assert_eq!(job["concurrency"], 20);
    assert_eq!(job["filter"]["vendor"], "yealink");
    let job_id = job["id"].as_i64().unwrap();
    let done = wait_done(&root, job_id).await;
    let took = started.elapsed();
    assert_eq!(done["state"], "done", "{done}");
    for (key, want) in [
        ("total", 500),
        ("sent", 500),
        ("ok", 500),
        ("failed", 0),
        ("pending", 0),
    ] {
        assert_eq!(done[key], want, "{key}: {done}");
    }
    assert!(done["finished_at"].is_string(), "{done}");

    // Every yealink phone got exactly one NOTIFY, with the reboot event; no snom did.
    let seen = log.seen();
    let mut per_user: HashMap<String, usize> = HashMap::new();
    for s in &seen {
        assert_eq!(s.header("event"), "check-sync;reboot=true");
        *per_user.entry(s.user()).or_default() += 1;
    }
    assert_eq!(per_user.len(), 500, "{:?}", per_user.len());
    assert!(per_user.values().all(|n| *n == 1));
    assert!((0..500).all(|n| per_user.contains_key(&format!("u{n}"))));

    // Spread over the second asked for, not all at once; never more than 20 in flight.
    let first = seen.iter().map(|s| s.at).min().unwrap();
    let last = seen.iter().map(|s| s.at).max().unwrap();
    let span = last - first;
    assert!(span >= Duration::from_millis(600), "sent within {span:?}");
    let early = seen
        .iter()
        .filter(|s| s.at - first < Duration::from_millis(100))
        .count();
    assert!(early < 150, "{early} of 500 in the first 100 ms");
    let most = log.most_held.load(Ordering::SeqCst);
    assert!((5..=20).contains(&most), "at most {most} in flight");
    assert!(took < Duration::from_secs(20), "{took:?}");

    // Per-device results, paginated, from the database.
    let mut ids = HashSet::new();
    for page in 1..=5 {
        let (status, body) = root
            .get(&format!(
                "/v1/devices/notify/{job_id}/results?limit=100&page={page}"
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["total"], 500);
        let rows = body["data"].as_array().unwrap();
        assert_eq!(rows.len(), 100);
        for row in rows {
            assert_eq!(row["outcome"], "ok", "{row}");
            assert_eq!(row["code"], 200, "{row}");
            assert!(row["target"].as_str().unwrap().starts_with("sip:u"));
            ids.insert(row["device_id"].as_i64().unwrap());
        }
    }
    assert_eq!(ids.len(), 500);
    let (_, pending) = root
        .get(&format!(
            "/v1/devices/notify/{job_id}/results?outcome=pending"
        ))
        .await;
    assert_eq!(pending["total"], 0, "{pending}");
    // Each device's event log has the job's NOTIFY.
    let some = *ids.iter().next().unwrap();
    let events = device_events(&root, 1, some).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["event"], "device.reboot");
    assert_eq!(events[0]["detail"]["job_id"], job_id);
    let (_, audit) = root.get("/v1/auditlog?action=notify.bulk_reboot").await;
    assert_eq!(audit["total"], 1, "{audit}");
}

#[tokio::test]
async fn bulk_results_say_what_went_wrong_per_device() {
    let app = TestApp::start_with(|c| c.notify.timeout_ms = 600).await;
    let root = app.root().await;
    let (ok, _) = phone(Behaviour::Answer(200)).await;
    let (gone, _) = phone(Behaviour::Answer(481)).await;
    let (silent, _) = phone(Behaviour::Silent).await;
    let mut ids = Vec::new();
    for (n, contact) in [
        Some(format!("sip:a@{ok}")),
        Some(format!("sip:b@{gone}")),
        Some(format!("sip:c@{silent}")),
        None,
    ]
    .into_iter()
    .enumerate()
    {
        ids.push(create_device(&root, device(n as u32, "grandstream", "5", contact)).await);
    }
    let (status, body) = root
        .post("/v1/devices/notify", json!({"spread_s": 0}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let job_id = body["data"]["id"].as_i64().unwrap();
    let done = wait_done(&root, job_id).await;
    for (key, want) in [
        ("total", 4),
        ("sent", 3),
        ("ok", 1),
        ("rejected", 1),
        ("timed_out", 1),
        ("unreachable", 1),
        ("failed", 3),
        ("pending", 0),
    ] {
        assert_eq!(done[key], want, "{key}: {done}");
    }
    let (_, body) = root
        .get(&format!("/v1/devices/notify/{job_id}/results"))
        .await;
    let rows = body["data"].as_array().unwrap();
    let outcomes: Vec<&str> = rows.iter().filter_map(|r| r["outcome"].as_str()).collect();
    assert_eq!(
        outcomes,
        ["ok", "rejected", "timeout", "unreachable"],
        "{body}"
    );
    assert_eq!(rows[1]["code"], 481);
    assert_eq!(rows[3]["target"], Value::Null);
    assert!(rows[3]["reason"].as_str().unwrap().contains("no contact"));
    let (_, body) = root
        .get(&format!(
            "/v1/devices/notify/{job_id}/results?outcome=timeout"
        ))
        .await;
    assert_eq!(body["total"], 1, "{body}");
    assert_eq!(body["data"][0]["device_id"], ids[2]);
    let events = device_events(&root, 1, ids[3]).await;
    assert_eq!(events[0]["detail"]["outcome"], "unreachable", "{events:?}");
}

#[tokio::test]
async fn a_job_whose_instance_died_reads_as_interrupted() {
    let app = app().await;
    let root = app.root().await;
    let db = &app.state().db;
    let long_ago = chrono::Utc::now() - chrono::Duration::minutes(5);
    let job_id: i64 = dialtone::on_db!(db, pool => sqlx::query_scalar(
        "INSERT INTO notify_jobs (organization_id, action, filter_json, spread_s, concurrency, \
         state, total, created_by, created_at, heartbeat_at) \
         VALUES (1, 'resync', '{}', 60, 50, 'running', 3, 'root', $1, $1) RETURNING id")
        .bind(long_ago).fetch_one(pool).await.unwrap());
    let (status, body) = root.get(&format!("/v1/devices/notify/{job_id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["state"], "interrupted", "{body}");
    assert_eq!(body["data"]["pending"], 3, "{body}");
    let stored: String = dialtone::on_db!(db, pool => sqlx::query_scalar(
        "SELECT state FROM notify_jobs WHERE id = $1")
        .bind(job_id).fetch_one(pool).await.unwrap());
    assert_eq!(stored, "interrupted");

    // A job that is alive keeps its heartbeat fresh and stays running while it spreads.
    let (addr, _) = phone(Behaviour::Answer(200)).await;
    create_device(
        &root,
        device(1, "polycom", "1", Some(format!("sip:1@{addr}"))),
    )
    .await;
    let (status, body) = root
        .post("/v1/devices/notify", json!({"spread_s": 3600}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["state"], "running", "{body}");
    assert_eq!(body["data"]["pending"], 1, "{body}");
}

// ---------------------------------------------------------------------------------------------
// sipp as a real phone.

#[tokio::test]
async fn sipp_phone_answers_the_reboot_notify() {
    if !sipp_available() {
        println!("skipped: sipp is not installed (Debian package sip-tester)");
        return;
    }
    let app = TestApp::start_with(|c| c.notify.timeout_ms = 3_000).await;
    let root = app.root().await;
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let scenario = format!("{}/tests/sipp/notify_uas.xml", env!("CARGO_MANIFEST_DIR"));
    let sipp = tokio::process::Command::new("sipp")
        .args([
            "-sf",
            &scenario,
            "-i",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-m",
            "1",
            "-nostdin",
            "-timeout",
            "20s",
            "-timeout_error",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("sipp starts");
    let contact = format!("sip:201@127.0.0.1:{port}");
    let id = create_device(&root, device(1, "yealink", "201", Some(contact.clone()))).await;
    // sipp needs a moment to bind; a NOTIFY lost before that is retransmitted (Timer E).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, body) = root
        .post(&format!("/v1/devices/{id}/reboot"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["outcome"], "ok", "{body}");
    assert_eq!(body["data"]["code"], 200, "{body}");
    assert_eq!(body["data"]["target"], contact, "{body}");
    let output = tokio::time::timeout(Duration::from_secs(20), sipp.wait_with_output())
        .await
        .expect("sipp finishes after one call")
        .expect("sipp ends");
    assert!(
        output.status.success(),
        "sipp failed its scenario: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // The scenario's regexps check the Event and Subscription-State headers: a NOTIFY without
    // the reboot event fails the call and sipp exits 1 (checked by hand with a resync event).
    let events = device_events(&root, 1, id).await;
    assert_eq!(events[0]["detail"]["outcome"], "ok", "{events:?}");
}

#[tokio::test]
async fn a_job_over_more_unaddressed_devices_than_one_statement_holds_settles_them_all() {
    // Devices with no address are settled as unreachable when the job is created, all in one
    // call of the multi-row writers: 1,100 rows are more than one statement of each holds.
    let app = app().await;
    let root = app.root().await;
    let total = 1_100u32;
    for first in [0, 1_000] {
        let rows: Vec<Value> = (first..total.min(first + 1_000))
            .map(|n| device(n, "polycom", "7", None))
            .collect();
        let (status, body) = root
            .post("/v1/devices/bulk", json!({"devices": rows}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = root
        .post("/v1/devices/notify", json!({"spread_s": 0}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let job_id = body["data"]["id"].as_i64().unwrap();
    let done = wait_done(&root, job_id).await;
    for (key, want) in [
        ("state", json!("done")),
        ("total", json!(total)),
        ("sent", json!(0)),
        ("unreachable", json!(total)),
        ("failed", json!(total)),
        ("pending", json!(0)),
    ] {
        assert_eq!(done[key], want, "{key}: {done}");
    }

    let results = format!("/v1/devices/notify/{job_id}/results");
    assert_eq!(root.total(&format!("{results}?outcome=pending")).await, 0);
    assert_eq!(
        root.total(&format!("{results}?outcome=unreachable")).await,
        total as i64
    );
    let mut devices = Vec::new();
    for page in 1..=2 {
        let (status, body) = root.get(&format!("{results}?limit=1000&page={page}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        for row in body["data"].as_array().unwrap() {
            assert_eq!(row["outcome"], "unreachable", "{row}");
            assert_eq!(row["code"], Value::Null, "{row}");
            assert!(
                row["reason"].as_str().unwrap().contains("no contact"),
                "{row}"
            );
            assert!(row["finished_at"].is_string(), "{row}");
            devices.push(row["device_id"].as_i64().unwrap());
        }
    }
    assert_eq!(devices.len(), total as usize);

    // One event per device, the last one included, each naming the job.
    assert_eq!(
        root.total("/v1/eventlog/1?entity_type=device&event=device.resync")
            .await,
        total as i64
    );
    for device in [devices[0], devices[550], devices[total as usize - 1]] {
        let events = device_events(&root, 1, device).await;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0]["detail"]["job_id"], job_id, "{events:?}");
        assert_eq!(events[0]["detail"]["outcome"], "unreachable", "{events:?}");
        assert_eq!(events[0]["detail"]["device_id"], device, "{events:?}");
    }
    app.shutdown().await;
}
