//! The document states the limits of the device, number and dial plan routes as the server
//! applies them: bounds that come from the config, what a bulk request conflicts with, and
//! typed query parameters given empty. (Each pattern is checked against its parser by unit
//! tests; schemathesis runs the whole document in CI.)

use crate::support::{TestApp, message, tree};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn phone(org: i64, mac: &str) -> Value {
    json!({
        "organization_id": org,
        "mac": mac,
        "vendor": "yealink",
        "model": "T54W",
        "lines": [{"username": "201", "registrar": "pbx.example.com"}]
    })
}

#[tokio::test]
async fn bulk_notify_bounds_are_this_daemons_config() {
    let app = TestApp::start_with(|config| {
        config.notify.max_concurrency = 7;
        config.notify.concurrency = 5;
        config.notify.max_spread_s = 30;
        config.notify.spread_s = 10;
    })
    .await;
    let root = app.root().await;
    let (_, doc) = app.anonymous().get("/swagger.json").await;
    let fields = &doc["components"]["schemas"]["BulkNotify"]["properties"];
    assert_eq!(fields["concurrency"]["minimum"], 1, "{fields}");
    assert_eq!(fields["concurrency"]["maximum"], 7, "{fields}");
    assert_eq!(fields["spread_s"]["minimum"], 0, "{fields}");
    assert_eq!(fields["spread_s"]["maximum"], 30, "{fields}");

    let (status, body) = root
        .post(
            "/v1/devices/notify",
            json!({"concurrency": 7, "spread_s": 30}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "the documented maxima: {body}");
    for (field, body) in [
        ("concurrency", json!({"concurrency": 8})),
        ("concurrency", json!({"concurrency": 0})),
        ("spread_s", json!({"spread_s": 31})),
    ] {
        let (status, response) = root.post("/v1/devices/notify", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {response}");
        assert!(message(&response).starts_with(field), "{response}");
    }
}

#[tokio::test]
async fn bulk_devices_that_conflict_answer_409_and_create_nothing() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let (status, body) = root
        .post("/v1/devices", phone(t.partner_a, "001565000001"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Valid rows whose MAC is registered, or given twice: the stored state is in the way.
    let (status, body) = root
        .post(
            "/v1/devices/bulk",
            json!({"devices": [phone(t.partner_a, "001565000002"), phone(t.partner_a, "00:15:65:00:00:01")]}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        message(&body),
        "1 of 2 devices conflict with what is stored or with each other; nothing was created: \
         devices[1]: mac: already exists"
    );
    let (status, body) = root
        .post(
            "/v1/devices/bulk",
            json!({"devices": [phone(t.partner_a, "001565000003"), phone(t.partner_a, "001565000003")]}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        message(&body).ends_with("devices[1]: mac: 001565000003 is also devices[0]"),
        "{body}"
    );
    // A bad row among them makes it a 400 that lists the conflicts too.
    let mut bad = phone(t.partner_a, "001565000004");
    bad["model"] = json!("T54W<script>");
    let (status, body) = root
        .post(
            "/v1/devices/bulk",
            json!({"devices": [bad, phone(t.partner_a, "001565000001")]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(2), "{body}");
    assert_eq!(root.total("/v1/devices").await, 1, "nothing was created");

    // A user who exists, but in another organization.
    let user = root.create_user("elsewhere", t.partner_b, "user").await;
    let mut assigned = phone(t.partner_a, "001565000005");
    assigned["user_id"] = json!(user);
    let (status, body) = root.post("/v1/devices", assigned.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(message(&body).starts_with("user_id: "), "{body}");
    let (status, body) = root
        .post("/v1/devices/bulk", json!({"devices": [assigned]}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(message(&body).contains("devices[0]: user_id: "), "{body}");
    assert_eq!(root.total("/v1/devices").await, 1);
}

#[tokio::test]
async fn typed_query_parameters_given_empty_are_refused() {
    let app = TestApp::start().await;
    let root = app.root().await;
    for (query, field) in [
        ("status=", "status"),
        ("vendor=", "vendor"),
        ("organization_id=", "organization_id"),
        ("mac=", "mac"),
        ("limit=", "limit"),
        ("page=9223372036854777", "page"),
    ] {
        let (status, body) = root.get(&format!("/v1/devices?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(message(&body).starts_with(field), "{query}: {body}");
    }
    // Free text reads empty as no filter; the highest documented page is served (empty).
    for query in [
        "model=",
        "page=9223372036854776",
        "mac=%2000:15:65:00:00:01%20",
    ] {
        let (status, body) = root.get(&format!("/v1/devices?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
    }
}
