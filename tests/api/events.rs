//! The event log: events recorded by the service (`dialtone::system::events::record`), read
//! through `GET /v1/eventlog/{orgId}` (the organization and its descendants) and
//! `GET /v1/eventlog/{orgId}/{id}`, scoped like everything else: out of scope answers 404.

use crate::support::{self, PASSWORD, TestApp, Tree};
use chrono::{DateTime, SecondsFormat, Utc};
use dialtone::db::Db;
use dialtone::system::events::{self, NewEvent, Severity};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

/// The organization's materialized path, as the service is given it by its callers.
async fn org_path(db: &Db, id: i64) -> String {
    dialtone::on_db!(db, pool => {
        let (path,): (String,) = sqlx::query_as("SELECT path FROM organizations WHERE id = $1")
            .bind(id)
            .fetch_one(pool)
            .await
            .expect("organization path");
        path
    })
}

/// Records one event for `org` and returns its id.
async fn record(
    db: &Db,
    org: i64,
    severity: Severity,
    entity_type: &str,
    entity_id: &str,
    event: &str,
) -> i64 {
    let path = org_path(db, org).await;
    events::record(
        db,
        NewEvent {
            organization_id: org,
            organization_path: &path,
            source: "pinger",
            severity,
            entity_type,
            entity_id: entity_id.to_string(),
            event,
            message: format!("{entity_type} {entity_id}: {event}"),
            detail: Some(json!({"reason": "408 Request Timeout", "attempts": 3})),
        },
    )
    .await
    .expect("record event")
}

fn ids(body: &Value) -> Vec<i64> {
    body["data"]
        .as_array()
        .expect("data is a list")
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect()
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// partner_a: two events, tenant_a1: one, partner_b: one. Returns them in that order.
async fn seed(app: &TestApp, t: &Tree) -> [i64; 4] {
    let db = &app.state().db;
    let a1 = record(
        db,
        t.partner_a,
        Severity::Error,
        "gateway",
        "11",
        "gateway.down",
    )
    .await;
    let a2 = record(
        db,
        t.partner_a,
        Severity::Info,
        "gateway",
        "11",
        "gateway.up",
    )
    .await;
    let ta = record(
        db,
        t.tenant_a1,
        Severity::Warning,
        "device",
        "d-1",
        "device.fetch",
    )
    .await;
    let b = record(
        db,
        t.partner_b,
        Severity::Error,
        "gateway",
        "22",
        "gateway.down",
    )
    .await;
    [a1, a2, ta, b]
}

#[tokio::test]
async fn an_organization_sees_its_own_and_its_descendants_events() {
    let app = TestApp::start().await;
    let (t, root) = support::tree(&app).await;
    let [a1, a2, ta, b] = seed(&app, &t).await;
    root.create_user("dist-admin", t.dist, "admin").await;
    let dist = app.login("dist-admin", PASSWORD).await;

    let (status, body) = dist.get(&format!("/v1/eventlog/{}", t.partner_a)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "success");
    assert_eq!(body["total"], 3);
    assert_eq!(ids(&body), vec![ta, a2, a1], "newest first, no partner_b");

    let first = &body["data"][0];
    assert_eq!(first["organization_id"], t.tenant_a1);
    assert_eq!(first["source"], "pinger");
    assert_eq!(first["severity"], "warning");
    assert_eq!(first["entity_type"], "device");
    assert_eq!(first["entity_id"], "d-1");
    assert_eq!(first["event"], "device.fetch");
    assert_eq!(first["message"], "device d-1: device.fetch");
    assert_eq!(
        first["detail"],
        json!({"reason": "408 Request Timeout", "attempts": 3})
    );
    let created = first["created_at"].as_str().unwrap();
    assert!(
        DateTime::parse_from_rfc3339(created).is_ok(),
        "created_at is RFC 3339: {created}"
    );
    assert!(
        first.get("organization_path").is_none(),
        "path stays internal"
    );

    assert_eq!(dist.total(&format!("/v1/eventlog/{}", t.dist)).await, 4);
    assert_eq!(
        dist.total(&format!("/v1/eventlog/{}", t.tenant_a1)).await,
        1
    );
    assert_eq!(
        dist.total(&format!("/v1/eventlog/{}", t.partner_b)).await,
        1
    );

    // One event, through the organization it belongs to or an ancestor.
    let (status, one) = dist
        .get(&format!("/v1/eventlog/{}/{ta}", t.partner_a))
        .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["data"]["id"], ta);
    assert_eq!(one["data"]["event"], "device.fetch");
    assert_eq!(one["data"]["detail"]["attempts"], 3);
    let (status, _) = dist
        .get(&format!("/v1/eventlog/{}/{ta}", t.tenant_a1))
        .await;
    assert_eq!(status, StatusCode::OK);
    // Not under the organization named in the path: 404 even though the caller may see both.
    for (org, id) in [(t.tenant_a1, a1), (t.partner_a, b), (t.partner_b, a1)] {
        let (status, body) = dist.get(&format!("/v1/eventlog/{org}/{id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{org}/{id}: {body}");
    }

    // Any role may read.
    root.create_user("a-readonly", t.partner_a, "readonly")
        .await;
    let readonly = app.login("a-readonly", PASSWORD).await;
    assert_eq!(
        readonly
            .total(&format!("/v1/eventlog/{}", t.partner_a))
            .await,
        3
    );

    // Counted per event name (the recorder is process-wide, so only presence is certain).
    let metrics = app.http.get(app.url("/metrics")).send().await.unwrap();
    let metrics = metrics.text().await.unwrap();
    assert!(
        metrics.contains("events_recorded_total{event=\"gateway.down\"}"),
        "{metrics}"
    );
    // Documented in the OpenAPI document under the platform API's route names.
    let (status, doc) = app.anonymous().get("/v1/documentation").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["paths"]["/v1/eventlog/{orgId}"]["get"].is_object());
    assert!(doc["paths"]["/v1/eventlog/{orgId}/{id}"]["get"].is_object());
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["EventRecord"].is_object(), "{schemas}");
    assert!(schemas["Severity"].is_object(), "{schemas}");
    app.shutdown().await;
}

#[tokio::test]
async fn out_of_scope_organizations_and_events_answer_404() {
    let app = TestApp::start().await;
    let (t, root) = support::tree(&app).await;
    let [a1, _, ta, b] = seed(&app, &t).await;
    root.create_user("b-admin", t.partner_b, "admin").await;
    root.create_user("t-admin", t.tenant_a1, "admin").await;
    let partner_b = app.login("b-admin", PASSWORD).await;
    let tenant = app.login("t-admin", PASSWORD).await;

    // The sibling sees neither partner_a's list nor its events, nor the parent's.
    for path in [
        format!("/v1/eventlog/{}", t.partner_a),
        format!("/v1/eventlog/{}/{a1}", t.partner_a),
        format!("/v1/eventlog/{}/{ta}", t.tenant_a1),
        format!("/v1/eventlog/{}", t.dist),
        format!("/v1/eventlog/{}/{b}", t.dist),
        format!("/v1/eventlog/{}/{a1}", t.partner_b),
    ] {
        let (status, body) = partner_b.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(body["status"], "error", "{path}");
    }
    // Its own log works and holds only its own event.
    let (status, body) = partner_b
        .get(&format!("/v1/eventlog/{}", t.partner_b))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ids(&body), vec![b]);

    // A child does not see its parent's log.
    let (status, _) = tenant.get(&format!("/v1/eventlog/{}", t.partner_a)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = tenant.get(&format!("/v1/eventlog/{}", t.tenant_a1)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&body), vec![ta]);

    // Malformed or unknown ids are simply not found.
    for path in [
        "/v1/eventlog/abc".to_string(),
        "/v1/eventlog/0".to_string(),
        "/v1/eventlog/999999".to_string(),
        format!("/v1/eventlog/{}/abc", t.partner_b),
        format!("/v1/eventlog/{}/-1", t.partner_b),
        format!("/v1/eventlog/{}/999999", t.partner_b),
    ] {
        let (status, body) = partner_b.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }

    // Without a token: 401.
    let (status, _) = app
        .anonymous()
        .get(&format!("/v1/eventlog/{}", t.partner_b))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.shutdown().await;
}

#[tokio::test]
async fn pagination_and_filters() {
    let app = TestApp::start().await;
    let (t, root) = support::tree(&app).await;
    let db = &app.state().db;
    let before = Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let [a1, a2, ta, _] = seed(&app, &t).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let middle = Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let a3 = record(
        db,
        t.partner_a,
        Severity::Warning,
        "gateway",
        "12",
        "gateway.down",
    )
    .await;
    let a4 = record(
        db,
        t.tenant_a1,
        Severity::Error,
        "gateway",
        "13",
        "gateway.down",
    )
    .await;
    root.create_user("a-admin", t.partner_a, "admin").await;
    let api = app.login("a-admin", PASSWORD).await;
    let base = format!("/v1/eventlog/{}", t.partner_a);

    // Five events under partner_a; pages of two.
    let (status, body) = api.get(&format!("{base}?limit=2")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["total"].clone(),
            body["limit"].clone(),
            body["offset"].clone()
        ),
        (json!(5), json!(2), json!(0))
    );
    assert_eq!(ids(&body), vec![a4, a3]);
    let (_, body) = api.get(&format!("{base}?limit=2&offset=2")).await;
    assert_eq!(ids(&body), vec![ta, a2]);
    assert_eq!(body["offset"], 2);
    let (_, body) = api.get(&format!("{base}?limit=2&page=3")).await;
    assert_eq!(ids(&body), vec![a1]);
    assert_eq!(body["offset"], 4);
    assert_eq!(body["total"], 5);
    let (_, body) = api.get(&format!("{base}?offset=10")).await;
    assert_eq!(ids(&body), Vec::<i64>::new());
    assert_eq!(body["total"], 5);

    // Filters, alone and together.
    let cases: Vec<(String, Vec<i64>)> = vec![
        ("entity_type=device".into(), vec![ta]),
        ("entity_type=gateway".into(), vec![a4, a3, a2, a1]),
        ("entity_type=gateway&entity_id=11".into(), vec![a2, a1]),
        ("event=gateway.down".into(), vec![a4, a3, a1]),
        ("severity=error".into(), vec![a4, a1]),
        ("severity=warning&event=gateway.down".into(), vec![a3]),
        ("entity_id=nope".into(), vec![]),
        (format!("since={}", rfc3339(middle)), vec![a4, a3]),
        (format!("until={}", rfc3339(middle)), vec![ta, a2, a1]),
        (
            format!("since={}&until={}", rfc3339(before), rfc3339(middle)),
            vec![ta, a2, a1],
        ),
        (
            // An offset other than Z, with its + encoded.
            format!(
                "since={}",
                middle
                    .with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).unwrap())
                    .to_rfc3339_opts(SecondsFormat::Micros, false)
                    .replace('+', "%2B")
            ),
            vec![a4, a3],
        ),
        (
            format!("since={}&severity=error", rfc3339(middle)),
            vec![a4],
        ),
    ];
    for (query, want) in cases {
        let (status, body) = api.get(&format!("{base}?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        assert_eq!(ids(&body), want, "{query}");
        assert_eq!(body["total"], want.len(), "{query}");
    }

    // Bad values answer 400 naming the parameter.
    for (query, field) in [
        ("since=yesterday", "since"),
        ("since=2025-01-01", "since"),
        ("until=2025-13-01T00:00:00Z", "until"),
        (
            "since=2025-02-01T00:00:00Z&until=2025-01-01T00:00:00Z",
            "until",
        ),
        ("severity=fatal", "severity"),
        ("limit=0", "limit"),
        ("offset=-1", "offset"),
    ] {
        let (status, body) = api.get(&format!("{base}?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(field), "{query}: {body}");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn record_in_follows_its_transaction_and_purge_removes_old_events() {
    // No scheduled retention purge: its job's `job.done` event would be one more event that
    // purge_older_than below removes (it purges every organization's).
    let app = TestApp::start_with(|c| c.retention.purge_every_h = 0).await;
    let (t, root) = support::tree(&app).await;
    let db = &app.state().db;
    let path = org_path(db, t.partner_a).await;
    let event = |id: &str| NewEvent {
        organization_id: t.partner_a,
        organization_path: &path,
        source: "bulk",
        severity: Severity::Info,
        entity_type: "job",
        entity_id: id.to_string(),
        event: "bulk.done",
        message: "Bulk job finished".to_string(),
        detail: None,
    };

    let mut tx = db.begin().await.unwrap();
    events::record_in(&mut tx, event("rolled-back"))
        .await
        .unwrap();
    drop(tx);
    let mut tx = db.begin().await.unwrap();
    let kept = events::record_in(&mut tx, event("kept")).await.unwrap();
    tx.commit().await.unwrap();

    root.create_user("a-admin", t.partner_a, "admin").await;
    let api = app.login("a-admin", PASSWORD).await;
    let base = format!("/v1/eventlog/{}", t.partner_a);
    let (status, body) = api.get(&base).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ids(&body), vec![kept]);
    assert_eq!(body["data"][0]["entity_id"], "kept");
    assert_eq!(body["data"][0]["detail"], Value::Null);

    // Retention: nothing is older than an hour ago; everything is older than a second from now.
    let hour_ago = Utc::now() - chrono::Duration::hours(1);
    assert_eq!(events::purge_older_than(db, hour_ago).await.unwrap(), 0);
    let soon = Utc::now() + chrono::Duration::seconds(1);
    assert_eq!(events::purge_older_than(db, soon).await.unwrap(), 1);
    assert_eq!(api.total(&base).await, 0);
    let (status, _) = api.get(&format!("{base}/{kept}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.shutdown().await;
}

#[tokio::test]
async fn a_page_and_its_total_agree_while_events_are_written() {
    // The event log is written from background tasks (pinger, redirect, provisioning) while
    // operators page through it; a page read between two writes must still match its total.
    let app = TestApp::start().await;
    let (t, root) = support::tree(&app).await;
    let db = app.state().db.clone();
    let org = t.partner_a;
    let writer = tokio::spawn(async move {
        for n in 0..150 {
            record(
                &db,
                org,
                Severity::Info,
                "gateway",
                &n.to_string(),
                "gateway.up",
            )
            .await;
        }
    });
    let path = format!("/v1/eventlog/{org}?limit=1000");
    let mut reads = 0;
    while !writer.is_finished() || reads == 0 {
        let (status, body) = root.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body["data"].as_array().map(Vec::len),
            body["total"].as_u64().map(|t| t as usize),
            "one snapshot: {body}"
        );
        reads += 1;
    }
    writer.await.expect("writer");
    assert_eq!(root.total(&path).await, 150);
    app.shutdown().await;
}

#[tokio::test]
async fn record_many_in_lists_every_event_with_its_fields_and_follows_its_transaction() {
    let app = TestApp::start().await;
    let (t, root) = support::tree(&app).await;
    let db = &app.state().db;
    let path_a = org_path(db, t.partner_a).await;
    let path_t = org_path(db, t.tenant_a1).await;
    let severities = [Severity::Info, Severity::Warning, Severity::Error];
    let batch: Vec<NewEvent> = (0..5)
        .map(|i| NewEvent {
            organization_id: if i % 2 == 0 { t.partner_a } else { t.tenant_a1 },
            organization_path: if i % 2 == 0 { &path_a } else { &path_t },
            source: "notify",
            severity: severities[i % 3],
            entity_type: "device",
            entity_id: format!("dev-{i}"),
            event: if i < 3 {
                "device.resync"
            } else {
                "device.reboot"
            },
            message: format!("NOTIFY {i} to sip:u{i}@127.0.0.1 — «ok»"),
            detail: (i != 4).then(|| json!({"n": i, "code": 200, "reason": "O'K"})),
        })
        .collect();

    let mut tx = db.begin().await.unwrap();
    assert_eq!(
        events::record_many_in(&mut tx, &batch[..2]).await.unwrap(),
        2
    );
    drop(tx);
    let mut tx = db.begin().await.unwrap();
    assert_eq!(events::record_many_in(&mut tx, &[]).await.unwrap(), 0);
    assert_eq!(events::record_many_in(&mut tx, &batch).await.unwrap(), 5);
    tx.commit().await.unwrap();

    root.create_user("a-admin", t.partner_a, "admin").await;
    let api = app.login("a-admin", PASSWORD).await;
    let (status, body) = api.get(&format!("/v1/eventlog/{}", t.partner_a)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["total"], 5, "the rolled-back pair is gone: {body}");
    let rows = body["data"].as_array().unwrap();
    // One timestamp for the batch; newest first, so ties go by id, last inserted first.
    let created = &rows[0]["created_at"];
    assert!(rows.iter().all(|r| &r["created_at"] == created), "{body}");
    for (row, (i, want)) in rows.iter().zip(batch.iter().enumerate().rev()) {
        assert_eq!(row["organization_id"], want.organization_id, "{i}: {row}");
        assert_eq!(row["source"], "notify", "{row}");
        assert_eq!(row["severity"], want.severity.as_str(), "{row}");
        assert_eq!(row["entity_type"], "device", "{row}");
        assert_eq!(row["entity_id"], want.entity_id, "{row}");
        assert_eq!(row["event"], want.event, "{row}");
        assert_eq!(row["message"], want.message, "{row}");
        assert_eq!(
            row["detail"],
            want.detail.clone().unwrap_or(Value::Null),
            "{row}"
        );
        let id = row["id"].as_i64().unwrap();
        let (status, one) = api.get(&format!("/v1/eventlog/{}/{id}", t.partner_a)).await;
        assert_eq!(status, StatusCode::OK, "{one}");
        assert_eq!(one["data"], *row);
    }
    // Scoped by each event's own path: the tenant sees only its two.
    assert_eq!(api.total(&format!("/v1/eventlog/{}", t.tenant_a1)).await, 2);
    app.shutdown().await;
}

#[tokio::test]
async fn record_many_in_stores_a_batch_of_several_statements_completely() {
    let app = TestApp::start().await;
    let (t, root) = support::tree(&app).await;
    let db = &app.state().db;
    let path = org_path(db, t.partner_b).await;
    // More than one statement holds (at most 500 events and about 12 KiB each).
    let count = 1_234;
    let batch: Vec<NewEvent> = (0..count)
        .map(|i| NewEvent {
            organization_id: t.partner_b,
            organization_path: &path,
            source: "notify",
            severity: Severity::Info,
            entity_type: "device",
            entity_id: i.to_string(),
            event: "device.resync",
            message: format!("NOTIFY {i}"),
            detail: Some(json!({"n": i})),
        })
        .collect();
    let mut tx = db.begin().await.unwrap();
    let recorded = events::record_many_in(&mut tx, &batch).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(recorded, count as u64);

    root.create_user("b-admin", t.partner_b, "admin").await;
    let api = app.login("b-admin", PASSWORD).await;
    let base = format!("/v1/eventlog/{}", t.partner_b);
    let mut seen = std::collections::HashSet::new();
    for page in 1..=2 {
        let (status, body) = api.get(&format!("{base}?limit=1000&page={page}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["total"], count, "{body}");
        for row in body["data"].as_array().unwrap() {
            let n: usize = row["entity_id"].as_str().unwrap().parse().unwrap();
            assert_eq!(row["message"], format!("NOTIFY {n}"), "{row}");
            assert_eq!(row["detail"], json!({"n": n}), "{row}");
            seen.insert(n);
        }
    }
    assert_eq!(seen.len(), count);
    assert!((0..count).all(|n| seen.contains(&n)));
    app.shutdown().await;
}
