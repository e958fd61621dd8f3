//! Call-queue monitoring (`/v1/queues`): PBX reports, latest figures, the time series, scoping
//! per organization, who may report, `/metrics`, and audit of creation and deletion only.

use crate::support::{PASSWORD, TestApp, message, tree};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn figures(waiting: i64, longest: i64) -> Value {
    json!({"waiting": waiting, "longest_wait_s": longest, "agents_logged_in": 4,
           "agents_available": 1, "answered": 120, "abandoned": 7})
}

#[tokio::test]
async fn queues_are_per_organization_with_latest_figures_and_a_time_series() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    root.create_user("a1-pbx", t.tenant_a1, "user").await;
    root.create_user("a1-viewer", t.tenant_a1, "readonly").await;
    root.create_user("b-admin", t.partner_b, "admin").await;
    let pbx = app.login("a1-pbx", PASSWORD).await;
    let viewer = app.login("a1-viewer", PASSWORD).await;
    let sibling = app.login("b-admin", PASSWORD).await;

    // Three reports of the tenant's `support` queue; the caller's organization by default.
    for (waiting, longest) in [(1, 10), (5, 95), (3, 40)] {
        let (status, body) = pbx
            .post("/v1/queues/support/stats", figures(waiting, longest))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["data"]["organization_id"], t.tenant_a1);
        assert_eq!(body["data"]["waiting"], waiting);
    }
    // A parent reports for its tenant by organization_id; names are per organization.
    let mut sales = figures(0, 0);
    sales["organization_id"] = json!(t.tenant_a1);
    let (status, body) = root.post("/v1/queues/Sales.UK/stats", sales).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (status, body) = viewer.get("/v1/queues/support").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["data"]["waiting"].clone(),
            body["data"]["longest_wait_s"].clone()
        ),
        (json!(3), json!(40)),
        "the latest report: {body}"
    );
    let (status, body) = viewer.get("/v1/queues/support/stats?limit=2").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["total"], 3, "{body}");
    let waits: Vec<&Value> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["waiting"])
        .collect();
    assert_eq!(waits, [&json!(3), &json!(5)], "newest first: {body}");
    let (_, body) = viewer
        .get("/v1/queues/support/stats?since=2999-01-01T00:00:00Z")
        .await;
    assert_eq!(body["total"], 0, "{body}");
    let (_, body) = viewer.get("/v1/queues").await;
    assert_eq!(body["total"], 2, "{body}");

    // A readonly user may look but not report; a sibling partner sees nothing of A's tree.
    let (status, body) = viewer.post("/v1/queues/support/stats", figures(9, 9)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (_, body) = sibling.get("/v1/queues").await;
    assert_eq!(body["total"], 0, "{body}");
    let foreign = format!("organization_id={}", t.tenant_a1);
    for path in [
        format!("/v1/queues/support?{foreign}"),
        format!("/v1/queues/support/stats?{foreign}"),
    ] {
        let (status, body) = sibling.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let mut intrusion = figures(1, 1);
    intrusion["organization_id"] = json!(t.tenant_a1);
    let (status, body) = sibling.post("/v1/queues/support/stats", intrusion).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(message(&body).starts_with("organization_id"), "{body}");
    let (status, _) = sibling
        .delete(&format!("/v1/queues/support?{foreign}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, body) = viewer.get("/v1/queues/support/stats").await;
    assert_eq!(body["total"], 3, "the sibling changed nothing: {body}");

    // /metrics exports the latest figures of every queue, from the database.
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = format!(
        "dialtone_queue_longest_wait_s{{organization_id=\"{}\",queue=\"support\"}} 40",
        t.tenant_a1
    );
    assert!(text.contains(&line), "{line} in {text}");
    assert!(
        text.contains("# TYPE dialtone_queue_waiting gauge"),
        "{text}"
    );
    assert!(
        text.contains("dialtone_queue_report_age_seconds{"),
        "{text}"
    );

    // Creation (the first report) and deletion are audited; reports are not.
    let (status, _) = pbx.delete("/v1/queues/support").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = viewer.get("/v1/queues/support").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, audit) = root
        .get("/v1/auditlog?entity_type=call_queue&limit=100")
        .await;
    let actions: Vec<&str> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    let count = |a: &str| actions.iter().filter(|x| **x == a).count();
    assert_eq!((count("create"), count("delete")), (2, 1), "{audit}");
}

#[tokio::test]
async fn a_queues_first_reports_at_once_make_one_queue() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let reports = (0..20).map(|i| {
        let root = root.clone();
        async move { root.post("/v1/queues/burst/stats", figures(i, i)).await }
    });
    for (status, body) in futures_util::future::join_all(reports).await {
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (_, body) = root.get("/v1/queues").await;
    assert_eq!(body["total"], 1, "{body}");
    let (_, body) = root.get("/v1/queues/burst/stats").await;
    assert_eq!(body["total"], 20, "{body}");
}

#[tokio::test]
async fn the_retention_purge_removes_old_samples_and_keeps_the_latest_figures() {
    let app = TestApp::start_with(|c| c.retention.purge_every_h = 0).await;
    let root = app.root().await;
    for waiting in [1, 2, 3] {
        let (status, body) = root
            .post("/v1/queues/support/stats", figures(waiting, 5))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // Two reports from 40 days ago (queue_stats are kept 30 days by default).
    let old = chrono::Utc::now() - chrono::Duration::days(40);
    let aged = dialtone::on_db!(&app.state().db, pool => sqlx::query(
        "UPDATE call_queue_samples SET reported_at = $1 WHERE waiting < 3")
        .bind(old).execute(pool).await.map(|r| r.rows_affected()))
    .unwrap();
    assert_eq!(aged, 2);

    let (status, body) = root.post("/v1/retention/purge", json!(null)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = body["data"]["id"].as_i64().unwrap();
    let state = app.state();
    let row = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        state.jobs.wait(&state.db, id),
    )
    .await
    .expect("the purge ends")
    .unwrap()
    .unwrap();
    assert_eq!(row.state, "done", "{row:?}");

    let (_, body) = root.get("/v1/queues/support/stats").await;
    assert_eq!(body["total"], 1, "{body}");
    assert_eq!(body["data"][0]["waiting"], 3, "{body}");
    let (_, body) = root.get("/v1/queues/support").await;
    assert_eq!(
        body["data"]["waiting"], 3,
        "the latest figures stay: {body}"
    );
    let (_, job) = root.get(&format!("/v1/jobs/{id}")).await;
    assert!(job.to_string().contains("queue_stats"), "{job}");
}
