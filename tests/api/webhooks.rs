//! Webhooks end to end: a real receiver on loopback (Python, verifying the Standard Webhooks
//! signature on its own) gets the events of an endpoint's subtree, in order, retried after it
//! answers 500, with a delivery log, redelivery, test messages, secret rotation, the endpoint
//! turned off when it fails for the whole schedule, the SSRF guard, and no committed event lost
//! to a `kill -9`.

use crate::support::receiver::Receiver;
use crate::support::tree::tree;
use crate::support::{Api, TestApp, message};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

async fn start(schedule: &[u64]) -> TestApp {
    let schedule = schedule.to_vec();
    TestApp::start_with(move |c| {
        c.webhooks.allow_private = true;
        c.webhooks.retry_schedule_s = schedule;
        c.webhooks.dispatch_poll_ms = 100;
        c.webhooks.timeout_s = 5;
    })
    .await
}

/// Creates an endpoint and tells the receiver its secret; returns its id and secret.
async fn endpoint(api: &Api, receiver: &Receiver, org: i64, events: Value) -> (i64, String) {
    let (status, body) = api
        .post(
            "/v1/webhooks",
            json!({"organization_id": org, "url": receiver.url("/hook"), "events": events}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let secret = body["data"]["secret"].as_str().expect("secret").to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    receiver.control(json!({"secrets": [secret]})).await;
    (body["data"]["id"].as_i64().expect("id"), secret)
}

/// An event in `org`: creating an API key records `apikey.created` there.
async fn apikey_event(api: &Api, org: i64, name: &str) -> i64 {
    let (status, body) = api
        .post(
            "/v1/apikeys",
            json!({"organization_id": org, "name": name, "role": "readonly"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["data"]["id"].as_i64().expect("key id")
}

async fn deliveries(api: &Api, endpoint: i64) -> Vec<Value> {
    let (status, body) = api
        .get(&format!("/v1/webhooks/{endpoint}/deliveries?limit=1000"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].as_array().cloned().unwrap_or_default()
}

async fn wait_deliveries(api: &Api, endpoint: i64, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let list = deliveries(api, endpoint).await;
        if done(&list) {
            return list;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "deliveries: {}",
            json!(list)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn events_are_signed_retried_after_500_and_logged() {
    let app = start(&[1, 1, 1]).await;
    let (tree, root) = tree(&app).await;
    let receiver = Receiver::start();
    let (hook, _) = endpoint(&root, &receiver, tree.partner_a, json!(["apikey.*"])).await;
    receiver.control(json!({"fail_first": 2})).await;
    let key = apikey_event(&root, tree.partner_a, "CDR uploader").await;

    let got = receiver.wait_for(WAIT, |got| got.len() >= 3).await;
    assert_eq!(
        got.len(),
        3,
        "two failures then one success: {}",
        json!(got)
    );
    for request in &got {
        assert_eq!(request["verified_with"], json!([0]), "signature: {request}");
        assert_eq!(request["fresh"], true);
        assert_eq!(request["content_type"], "application/json");
        assert_eq!(request["id"], got[0]["id"], "a retry keeps its webhook-id");
        assert_eq!(request["body"]["type"], "apikey.created");
        assert_eq!(request["body"]["data"]["entity_id"], key.to_string());
        assert_eq!(request["body"]["data"]["organization_id"], tree.partner_a);
    }
    let log = wait_deliveries(&root, hook, |l| {
        l.first().is_some_and(|d| d["state"] == "delivered")
    })
    .await;
    assert_eq!(log.len(), 1, "{}", json!(log));
    let delivery = &log[0];
    assert_eq!(delivery["attempts"], 3, "{delivery}");
    assert_eq!(delivery["response_status"], 200);
    assert_eq!(delivery["event"], "apikey.created");
    assert_eq!(delivery["message_id"], got[0]["id"]);
    assert!(
        delivery["response_excerpt"]
            .as_str()
            .unwrap()
            .starts_with("thanks msg_"),
        "{delivery}"
    );
    assert!(delivery["latency_ms"].as_i64().is_some());
    assert!(delivery["delivered_at"].is_string());
    assert_eq!(delivery["error"], Value::Null);
    assert_eq!(delivery["next_attempt_at"], Value::Null);
    // The job queue shows the work.
    let (status, jobs) = root.get("/v1/jobs?kind=webhooks.deliver").await;
    assert_eq!(status, StatusCode::OK);
    assert!(jobs["total"].as_i64().unwrap() >= 1, "{jobs}");
}

#[tokio::test]
async fn an_endpoint_hears_its_subtree_only_in_order() {
    let app = start(&[1]).await;
    let (tree, root) = tree(&app).await;
    let receiver = Receiver::start();
    let (a_hook, _) = endpoint(&root, &receiver, tree.partner_a, json!(["*"])).await;
    let other = Receiver::start();
    let (b_hook, _) = endpoint(&root, &other, tree.partner_b, json!(["apikey.created"])).await;
    let quiet = Receiver::start();
    let (_quiet_hook, _) = endpoint(&root, &quiet, tree.partner_a, json!(["gateway.down"])).await;

    let mut keys = Vec::new();
    for i in 0..15 {
        let org = if i % 3 == 0 {
            tree.tenant_a1
        } else {
            tree.partner_a
        };
        keys.push(apikey_event(&root, org, &format!("key {i}")).await);
    }
    apikey_event(&root, tree.partner_b, "sibling's").await;

    let got = receiver.wait_for(WAIT, |got| got.len() >= 15).await;
    let entity_ids: Vec<i64> = got
        .iter()
        .map(|r| {
            r["body"]["data"]["entity_id"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(
        entity_ids, keys,
        "partner A's endpoint gets its subtree's events in order"
    );
    assert!(got.iter().all(|r| r["verified_with"] == json!([0])));
    let sibling = other.wait_for(WAIT, |got| !got.is_empty()).await;
    assert_eq!(sibling.len(), 1, "{}", json!(sibling));
    assert_eq!(
        sibling[0]["body"]["data"]["organization_id"],
        tree.partner_b
    );
    assert!(
        quiet.received().await.is_empty(),
        "an endpoint without matching events gets nothing"
    );
    assert_eq!(deliveries(&root, a_hook).await.len(), 15);
    assert_eq!(deliveries(&root, b_hook).await.len(), 1);
}

#[tokio::test]
async fn an_endpoint_failing_for_the_whole_schedule_is_disabled_then_resumes() {
    let app = start(&[1]).await;
    let (tree, root) = tree(&app).await;
    let receiver = Receiver::start();
    receiver.control(json!({"status": 503})).await;
    let (hook, _) = endpoint(&root, &receiver, tree.partner_a, json!(["apikey.created"])).await;
    apikey_event(&root, tree.partner_a, "first").await;
    apikey_event(&root, tree.partner_a, "second").await;

    let log = wait_deliveries(&root, hook, |l| l.iter().any(|d| d["state"] == "failed")).await;
    let (status, body) = root.get(&format!("/v1/webhooks/{hook}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["active"], false, "{body}");
    let reason = body["data"]["disabled_reason"].as_str().expect("a reason");
    assert!(reason.contains("failed 2 times"), "{reason}");
    let failed: Vec<&Value> = log.iter().filter(|d| d["state"] == "failed").collect();
    assert_eq!(
        failed.len(),
        1,
        "only the oldest delivery has used its schedule: {}",
        json!(log)
    );
    assert_eq!(failed[0]["attempts"], 2);
    assert_eq!(failed[0]["response_status"], 503);
    assert_eq!(
        received_count(&receiver).await,
        2,
        "the second waits behind the first"
    );
    let (_, events) = root
        .get(&format!(
            "/v1/eventlog/{}?event=webhook.disabled",
            tree.partner_a
        ))
        .await;
    assert_eq!(events["total"], 1, "{events}");

    // Turned back on, the receiver healthy: the waiting delivery goes out.
    receiver.control(json!({"status": 200})).await;
    let (status, body) = root
        .put(&format!("/v1/webhooks/{hook}"), json!({"active": true}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["disabled_reason"], Value::Null);
    let log = wait_deliveries(&root, hook, |l| l.iter().any(|d| d["state"] == "delivered")).await;
    assert_eq!(log.iter().filter(|d| d["state"] == "delivered").count(), 1);
    // The failed one can be sent again by hand, with its webhook-id.
    let failed_id = log.iter().find(|d| d["state"] == "failed").unwrap()["id"]
        .as_i64()
        .unwrap();
    let (status, body) = root
        .post(
            &format!("/v1/webhooks/{hook}/deliveries/{failed_id}/redeliver"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["data"]["state"], "pending");
    let again = body["data"]["id"].as_i64().unwrap();
    assert_ne!(again, failed_id);
    let got = receiver.wait_for(WAIT, |got| got.len() >= 4).await;
    assert_eq!(
        got[3]["id"], got[0]["id"],
        "a redelivery keeps the webhook-id"
    );
    assert_eq!(got[3]["verified_with"], json!([0]));
}

async fn received_count(receiver: &Receiver) -> usize {
    tokio::time::sleep(Duration::from_millis(300)).await;
    receiver.received().await.len()
}

#[tokio::test]
async fn test_messages_and_rotation_sign_with_both_secrets_during_the_overlap() {
    let app = start(&[1]).await;
    let (tree, root) = tree(&app).await;
    let receiver = Receiver::start();
    let (hook, old) = endpoint(&root, &receiver, tree.tenant_a1, json!(["*"])).await;
    let (status, body) = root
        .post(&format!("/v1/webhooks/{hook}/test"), json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["data"]["event"], "webhook.test");
    let test_id = body["data"]["id"].as_i64().unwrap();
    let got = receiver.wait_for(WAIT, |got| !got.is_empty()).await;
    assert_eq!(got[0]["body"]["type"], "webhook.test");
    assert_eq!(got[0]["signatures"], 1);
    let (_, one) = root
        .get(&format!("/v1/webhooks/{hook}/deliveries/{test_id}"))
        .await;
    let delivered =
        wait_deliveries(&root, hook, |l| l.iter().all(|d| d["state"] == "delivered")).await;
    assert_eq!(delivered.len(), 1, "{one}");

    let (status, body) = root
        .post(
            &format!("/v1/webhooks/{hook}/rotate"),
            json!({"overlap_s": 600}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let new = body["data"]["secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert!(body["data"]["previous_secret_expires_at"].is_string());
    receiver.control(json!({"secrets": [old, new]})).await;
    root.post(&format!("/v1/webhooks/{hook}/test"), json!({}))
        .await;
    let got = receiver.wait_for(WAIT, |got| got.len() >= 2).await;
    assert_eq!(got[1]["signatures"], 2);
    assert_eq!(
        got[1]["verified_with"],
        json!([0, 1]),
        "old and new both verify"
    );

    // No overlap: only the new secret signs.
    let (_, body) = root
        .post(
            &format!("/v1/webhooks/{hook}/rotate"),
            json!({"overlap_s": 0}),
        )
        .await;
    let newest = body["data"]["secret"].as_str().unwrap().to_string();
    receiver.control(json!({"secrets": [new, newest]})).await;
    root.post(&format!("/v1/webhooks/{hook}/test"), json!({}))
        .await;
    let got = receiver.wait_for(WAIT, |got| got.len() >= 3).await;
    assert_eq!(got[2]["verified_with"], json!([1]));
    // The secret is never shown again.
    let (_, body) = root.get(&format!("/v1/webhooks/{hook}")).await;
    assert!(body["data"].get("secret").is_none(), "{body}");
    let (_, list) = root.get("/v1/webhooks").await;
    assert!(!list.to_string().contains("whsec_"), "{list}");
}

#[tokio::test]
async fn inside_targets_are_refused_unless_allowed() {
    let app = TestApp::start().await;
    let root = app.root().await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://10.0.0.5/hook",
        "http://192.168.1.20/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:9/hook",
        "http://[fd00::1]/hook",
        "http://0.0.0.0/",
    ] {
        let (status, body) = root
            .post("/v1/webhooks", json!({"url": url, "events": ["*"]}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {body}");
        assert!(message(&body).starts_with("url: "), "{url}: {body}");
    }
    assert_eq!(root.total("/v1/webhooks").await, 0, "nothing was created");
    // Changing an endpoint to an inside URL is refused the same way.
    let allowed = start(&[1]).await;
    let root = allowed.root().await;
    let (status, body) = root
        .post(
            "/v1/webhooks",
            json!({"url": "http://127.0.0.1:9/x", "events": ["*"], "active": false}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "allowed by config: {body}");
}

#[tokio::test]
async fn bad_webhook_input_is_refused_and_changes_nothing() {
    let app = start(&[1]).await;
    let (tree, root) = tree(&app).await;
    let receiver = Receiver::start();
    let (hook, _) = endpoint(&root, &receiver, tree.partner_a, json!(["apikey.*"])).await;
    let url = receiver.url("/hook");
    for (body, field) in [
        (json!({"url": "ftp://example.com/", "events": ["*"]}), "url"),
        (
            json!({"url": "https://u:p@example.com/", "events": ["*"]}),
            "url",
        ),
        (json!({"url": url, "events": []}), "events"),
        (json!({"url": url, "events": ["Gateway.Down"]}), "events"),
        (json!({"url": url, "events": ["*.down"]}), "events"),
        (json!({"url": url, "events": "*"}), "events"),
        (json!({"url": url}), "events"),
        (json!({"events": ["*"]}), "url"),
        (
            json!({"url": url, "events": ["*"], "active": "yes"}),
            "active",
        ),
        (
            json!({"url": url, "events": ["*"], "secret": "whsec_mine"}),
            "secret",
        ),
        (
            json!({"url": url, "events": ["*"], "description": "x".repeat(501)}),
            "description",
        ),
    ] {
        let (status, response) = root.post("/v1/webhooks", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {response}");
        assert!(message(&response).contains(field), "{body}: {response}");
    }
    let (status, response) = root
        .post(
            "/v1/webhooks",
            json!({"organization_id": 987654, "url": url, "events": ["*"]}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{response}");
    assert_eq!(root.total("/v1/webhooks").await, 1);
    let one = format!("/v1/webhooks/{hook}");
    let (_, before) = root.get(&one).await;
    for (body, code) in [
        (json!({"events": []}), StatusCode::BAD_REQUEST),
        (json!({"url": "gopher://x"}), StatusCode::BAD_REQUEST),
        (
            json!({"organization_id": tree.partner_b}),
            StatusCode::CONFLICT,
        ),
        (json!({"unknown_field": 1}), StatusCode::BAD_REQUEST),
    ] {
        let (status, response) = root.put(&one, body.clone()).await;
        assert_eq!(status, code, "{body}: {response}");
    }
    let (status, response) = root
        .post(&format!("{one}/rotate"), json!({"overlap_s": 604801}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{response}");
    let (_, after) = root.get(&one).await;
    assert_eq!(before, after, "nothing changed");
    for path in [
        format!("{one}/deliveries?state=lost"),
        format!("{one}/deliveries?state="),
        "/v1/webhooks?active=maybe".to_string(),
    ] {
        let (status, response) = root.get(&path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {response}");
    }
    for path in [
        format!("{one}/deliveries/987654"),
        "/v1/webhooks/987654".into(),
        "/v1/webhooks/abc".into(),
    ] {
        let (status, _) = root.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    // A readonly user sees nothing of webhooks; a user cannot manage them.
    root.create_user("hook-reader", tree.partner_a, "readonly")
        .await;
    let reader = app.login("hook-reader", crate::support::PASSWORD).await;
    let (status, _) = reader.get("/v1/webhooks").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// The real binary, killed with SIGKILL while it delivers: after a restart every event that
/// was committed reaches the receiver (some may come twice, with the same `webhook-id`), in
/// the order of the events.
#[tokio::test]
async fn kill_9_while_delivering_loses_no_committed_event() {
    const EVENTS: usize = 30;
    let dir = tempfile::tempdir().expect("tempdir");
    let notify = dir.path().join("no-notify-socket");
    let output = crate::cli::bootstrap(dir.path(), "admin", "a-long-password");
    assert!(output.status.success(), "{output:?}");
    let env = [("DIALTONE_WEBHOOKS_ALLOW_PRIVATE", "true")];
    let (mut child, addr) = crate::cli::serve_with(dir.path(), &notify, &env);
    let http = reqwest::Client::new();
    let base = format!("http://{addr}");
    let login: Value = http
        .post(format!("{base}/v1/auth/user"))
        .json(&json!({"username": "admin", "password": "a-long-password"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let token = login["data"]["token"].as_str().expect("token").to_string();
    let post = |path: &str, body: Value| {
        http.post(format!("{base}{path}"))
            .bearer_auth(&token)
            .header("accept", "application/json")
            .json(&body)
            .send()
    };
    let receiver = Receiver::start();
    receiver.control(json!({"delay_ms": 40})).await;
    let created: Value = post(
        "/v1/webhooks",
        json!({"url": receiver.url("/hook"), "events": ["apikey.created"]}),
    )
    .await
    .expect("create")
    .json()
    .await
    .expect("json");
    let secret = created["data"]["secret"]
        .as_str()
        .expect("secret")
        .to_string();
    receiver.control(json!({"secrets": [secret]})).await;
    let mut keys = Vec::new();
    for i in 0..EVENTS {
        let answer: Value = post(
            "/v1/apikeys",
            json!({"name": format!("k{i}"), "role": "readonly"}),
        )
        .await
        .expect("key")
        .json()
        .await
        .expect("json");
        keys.push(answer["data"]["id"].as_i64().expect("key id"));
    }
    receiver.wait_for(WAIT, |got| got.len() >= 5).await;
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let before = receiver.received().await.len();
    assert!(
        before < EVENTS,
        "killed before it was done ({before} of {EVENTS})"
    );

    let (mut child, _addr) = crate::cli::serve_with(dir.path(), &notify, &env);
    // The killed instance's job is taken again once its claim (30 s) lapses.
    let distinct = |got: &[Value]| {
        let mut ids: Vec<&str> = got.iter().filter_map(|r| r["id"].as_str()).collect();
        ids.dedup();
        let mut seen = std::collections::BTreeSet::new();
        ids.retain(|id| seen.insert(*id));
        ids.len()
    };
    let got = receiver
        .wait_for(Duration::from_secs(90), |got| distinct(got) >= EVENTS)
        .await;
    let _ = child.kill();
    let _ = child.wait();
    let mut order = Vec::new();
    for request in &got {
        assert_eq!(request["verified_with"], json!([0]), "{request}");
        let key: i64 = request["body"]["data"]["entity_id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        if !order.contains(&key) {
            order.push(key);
        }
    }
    assert_eq!(order, keys, "every committed event, in order");
}

/// A queued job that ends is an event (`job.done`, `job.failed`) an endpoint can hear.
#[tokio::test]
async fn a_finished_job_is_announced() {
    let app = start(&[1]).await;
    let root = app.root().await;
    let receiver = Receiver::start();
    let (hook, _) = endpoint(&root, &receiver, 1, json!(["job.*"])).await;
    let csv = "number,state\n+14155550101,available\n+14155550102,available\n";
    let (status, body) = root.post("/v1/numbers/import", json!({ "csv": csv })).await;
    assert!(status.is_success(), "{body}");
    let got = receiver.wait_for(WAIT, |got| !got.is_empty()).await;
    assert_eq!(got[0]["body"]["type"], "job.done", "{}", got[0]);
    let data = &got[0]["body"]["data"];
    assert_eq!(data["entity_type"], "job");
    assert_eq!(data["detail"]["kind"], "numbers.import");
    assert_eq!(data["detail"]["result"]["imported"], 2, "{data}");
    // The delivery job itself is not announced (its end would start another without end).
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(receiver.received().await.len(), 1);
    assert_eq!(deliveries(&root, hook).await.len(), 1);
}
