//! `/v1/retention` and `/v1/legalholds`: overrides down the tree under legal minimums, the
//! effective view, and the purge job: it honours holds, a dry run counts what a purge removes,
//! a held organization cannot be deleted, and one purge runs at a time across instances.

use crate::support::{self, Api, PASSWORD, TestApp, message, tree};
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A daemon that purges only on demand, so a test's purges are the only ones.
async fn app() -> TestApp {
    TestApp::start_with(|c| c.retention.purge_every_h = 0).await
}

async fn path_of(app: &TestApp, org: i64) -> String {
    dialtone::on_db!(&app.state().db, pool => sqlx::query_scalar::<_, String>(
        "SELECT path FROM organizations WHERE id = $1")
        .bind(org).fetch_one(pool).await)
    .unwrap()
}

/// `n` events, audit records and finished jobs of `org`, `days` old.
async fn old_rows(app: &TestApp, org: i64, days: i64, n: usize) {
    let path = path_of(app, org).await;
    let at: DateTime<Utc> = Utc::now() - Duration::days(days);
    let db = &app.state().db;
    for i in 0..n {
        dialtone::on_db!(db, pool => sqlx::query(
            "INSERT INTO event_log (organization_id, organization_path, source, severity, \
             entity_type, entity_id, event, message, created_at) \
             VALUES ($1, $2, 'test', 'info', 'test', $3, 'test.old', 'old', $4)")
            .bind(org).bind(&path).bind(i.to_string()).bind(at).execute(pool).await.map(|r| r.rows_affected()))
        .unwrap();
        dialtone::on_db!(db, pool => sqlx::query(
            "INSERT INTO audit_log (organization_id, organization_path, actor_username, action, \
             entity_type, entity_id, created_at) VALUES ($1, $2, 'old', 'update', 'test', $3, $4)")
            .bind(org).bind(&path).bind(i.to_string()).bind(at).execute(pool).await.map(|r| r.rows_affected()))
        .unwrap();
        dialtone::on_db!(db, pool => sqlx::query(
            "INSERT INTO jobs (kind, organization_id, payload, state, max_attempts, run_after, \
             created_by, created_at, finished_at) VALUES ('test.old', $1, '{}', 'done', 1, $2, \
             'old', $2, $2)")
            .bind(org).bind(at).execute(pool).await.map(|r| r.rows_affected()))
        .unwrap();
    }
}

/// How many old test rows of `org` are left: (events, audit, jobs).
async fn left(app: &TestApp, org: i64) -> (i64, i64, i64) {
    let db = &app.state().db;
    let count = |sql: &'static str| async move {
        dialtone::on_db!(db, pool => sqlx::query_scalar::<_, i64>(sql)
            .bind(org).fetch_one(pool).await)
        .unwrap()
    };
    (
        count("SELECT COUNT(*) FROM event_log WHERE organization_id = $1 AND event = 'test.old'")
            .await,
        count(
            "SELECT COUNT(*) FROM audit_log WHERE organization_id = $1 AND actor_username = 'old'",
        )
        .await,
        count("SELECT COUNT(*) FROM jobs WHERE organization_id = $1 AND kind = 'test.old'").await,
    )
}

/// Starts a purge as `api` and returns the finished job.
async fn purge(app: &TestApp, api: &Api, dry_run: bool) -> Value {
    let path = format!("/v1/retention/purge?dry_run={dry_run}");
    let (status, body) = api.post(&path, json!(null)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["data"]["kind"], "retention.purge", "{body}");
    finished(app, api, body["data"]["id"].as_i64().unwrap()).await
}

async fn finished(app: &TestApp, api: &Api, id: i64) -> Value {
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
    let (status, job) = api.get(&format!("/v1/jobs/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{job}");
    job["data"].clone()
}

fn kind<'a>(view: &'a Value, kind: &str) -> &'a Value {
    view["data"]["effective"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {view}"))
}

#[tokio::test]
async fn overrides_go_down_the_tree_and_never_below_a_parents_minimum() {
    let app = app().await;
    let (tree, root) = tree(&app).await;
    let (status, view) = root.get(&format!("/v1/retention/{}", tree.tenant_a1)).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(kind(&view, "events")["days"], 90, "{view}");
    assert_eq!(kind(&view, "events")["days_source"], "platform");
    assert_eq!(kind(&view, "audit")["days"], 2555);
    assert_eq!(kind(&view, "cdrs")["purged"], false);
    assert_eq!(kind(&view, "queue_stats")["days"], 30);
    assert_eq!(kind(&view, "queue_stats")["purged"], true);
    assert_eq!(view["data"]["effective"].as_array().unwrap().len(), 9);

    let dist = format!("/v1/retention/{}", tree.dist);
    let (status, body) = root
        .put(
            &dist,
            json!({"events": {"days": 120, "minimum_days": 60}, "sms": {"days": 400}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let partner_a = format!("/v1/retention/{}", tree.partner_a);
    let (status, body) = root.put(&partner_a, json!({"events": {"days": 30}})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let text = message(&body);
    assert!(
        text.contains("events.days") && text.contains("legal minimum of 60 days"),
        "{body}"
    );
    assert!(
        text.contains(&format!("organization {}", tree.dist)),
        "{body}"
    );
    let (status, body) = root
        .put(&partner_a, json!({"events": {"minimum_days": 10}}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(message(&body).contains("events.minimum_days"), "{body}");
    // Keeping longer is fine.
    let (status, body) = root.put(&partner_a, json!({"events": {"days": 365}})).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (_, view) = root.get(&format!("/v1/retention/{}", tree.tenant_a1)).await;
    let events = kind(&view, "events");
    assert_eq!(events["days"], 365, "{view}");
    assert_eq!(events["days_source"], "organization");
    assert_eq!(events["days_organization_id"], tree.partner_a);
    assert_eq!(events["minimum_days"], 60);
    assert_eq!(events["minimum_organization_id"], tree.dist);
    assert_eq!(kind(&view, "sms")["days"], 400);
    assert_eq!(kind(&view, "audit")["days_source"], "platform");
    assert_eq!(
        view["data"]["overrides"],
        json!([]),
        "tenant_a1 sets nothing itself"
    );

    // The distributor's own admin cannot lower the minimum its parent set on it.
    root.create_user("distadmin", tree.dist, "admin").await;
    let dist_admin = app.login("distadmin", PASSWORD).await;
    let (status, body) = dist_admin
        .put(&dist, json!({"events": {"days": 120, "minimum_days": 10}}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(message(&body).contains("only a parent"), "{body}");
    // Removing an override at partner_a: the kind is inherited again.
    let (status, body) = dist_admin.put(&partner_a, json!({"events": {}})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(kind(&body, "events")["days"], 120, "{body}");
    assert_eq!(kind(&body, "events")["days_organization_id"], tree.dist);

    assert_eq!(root.total("/v1/retention").await, 2);
    assert_eq!(root.total("/v1/retention?kind=sms").await, 1);
    assert_eq!(
        root.total("/v1/auditlog?entity_type=retention").await,
        3,
        "every change is audited"
    );
    // Nothing to change: nothing written. Both instants valid, no span between: a conflict.
    let (status, _) = root.put(&partner_a, json!({"events": null})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(root.total("/v1/auditlog?entity_type=retention").await, 3);
    let (status, body) = root
        .post(
            "/v1/legalholds",
            json!({"kinds": ["sms"], "reason": "r", "from": "2024-01-01T00:00:00Z",
                   "until": "2024-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(message(&body).contains("until"), "{body}");
    // A user who is no admin reads nothing.
    root.create_user("distuser", tree.dist, "user").await;
    let user = app.login("distuser", PASSWORD).await;
    let (status, _) = user.get(&dist).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_hold_keeps_data_through_purges_and_deletes_until_it_is_released() {
    let app = app().await;
    let (tree, root) = tree(&app).await;
    old_rows(&app, tree.tenant_a1, 200, 3).await;
    old_rows(&app, tree.partner_b, 200, 2).await;
    // Newer than any retention: stays.
    old_rows(&app, tree.partner_b, 5, 1).await;
    // The audit log keeps about seven years by default: 100 days on this platform.
    let (status, body) = root
        .put(
            &format!("/v1/retention/{}", tree.platform),
            json!({"audit": {"days": 100}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, body) = root
        .post(
            "/v1/legalholds",
            json!({"organization_id": tree.partner_a, "kinds": ["events", "jobs"],
                   "reason": "Case 2024-17"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let hold = body["data"]["id"].as_i64().unwrap();
    assert_eq!(body["data"]["active"], true);
    assert_eq!(body["data"]["placed_by"], support::ROOT_USER);
    assert_eq!(body["data"]["kinds"], json!(["events", "jobs"]));

    // A held organization cannot be deleted.
    let (status, body) = root
        .delete(&format!("/v1/organizations/{}", tree.tenant_a1))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        message(&body).contains(&format!("legal hold {hold} (Case 2024-17)")),
        "{body}"
    );

    // A dry run counts and removes nothing; the purge then removes just that.
    let dry = purge(&app, &root, true).await;
    assert_eq!(dry["result"]["dry_run"], true, "{dry}");
    assert_eq!(left(&app, tree.tenant_a1).await, (3, 3, 3));
    assert_eq!(left(&app, tree.partner_b).await, (3, 3, 3));
    let real = purge(&app, &root, false).await;
    assert_eq!(real["result"]["dry_run"], false, "{real}");
    assert_eq!(
        real["result"]["removed"], dry["result"]["removed"],
        "{dry} {real}"
    );
    assert_eq!(
        real["result"]["organizations"], dry["result"]["organizations"],
        "{dry} {real}"
    );
    assert_eq!(real["result"]["removed"]["events"], 2, "{real}");
    assert_eq!(real["result"]["removed"]["jobs"], 2, "{real}");
    assert_eq!(real["result"]["removed"]["audit"], 5, "{real}");
    // tenant_a1's held kinds stayed, its audit went; partner_b kept only its new rows.
    assert_eq!(left(&app, tree.tenant_a1).await, (3, 0, 3));
    assert_eq!(left(&app, tree.partner_b).await, (1, 1, 1));
    let per_org = real["result"]["organizations"].as_array().unwrap();
    assert!(
        per_org
            .iter()
            .any(|r| r["organization_id"] == tree.partner_b
                && r["kind"] == "events"
                && r["removed"] == 2),
        "{real}"
    );

    // Releasing is audited and filed as an event; a second release is a conflict.
    let (status, body) = root.delete(&format!("/v1/legalholds/{hold}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["active"], false);
    assert_eq!(body["data"]["released_by"], support::ROOT_USER);
    let (status, body) = root.delete(&format!("/v1/legalholds/{hold}")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let audit = format!("/v1/auditlog?entity_type=legal_hold&entity_id={hold}&action=release");
    assert_eq!(root.total(&audit).await, 1);
    let (_, events) = root
        .get(&format!("/v1/eventlog/{}?limit=1000", tree.partner_a))
        .await;
    assert!(
        events["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "legalhold.released"),
        "{events}"
    );
    assert_eq!(root.total("/v1/legalholds?active=false").await, 1);
    assert_eq!(root.total("/v1/legalholds?active=true").await, 0);

    // The next purge removes what the hold kept, and the organization may go.
    let next = purge(&app, &root, false).await;
    assert_eq!(next["result"]["removed"]["events"], 3, "{next}");
    assert_eq!(next["result"]["removed"]["jobs"], 3, "{next}");
    assert_eq!(left(&app, tree.tenant_a1).await, (0, 0, 0));
    let (status, body) = root
        .delete(&format!("/v1/organizations/{}", tree.tenant_a1))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_purge_started_below_sees_only_its_subtree_and_a_ranged_hold_only_its_span() {
    let app = app().await;
    let (tree, root) = tree(&app).await;
    old_rows(&app, tree.tenant_a1, 200, 2).await;
    old_rows(&app, tree.partner_b, 200, 2).await;
    let (status, body) = root
        .put(
            &format!("/v1/retention/{}", tree.platform),
            json!({"audit": {"days": 100}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Held: what was created between 300 and 100 days ago (the 200-day-old rows).
    let from = Utc::now() - Duration::days(300);
    let until = Utc::now() - Duration::days(100);
    let (status, body) = root
        .post(
            "/v1/legalholds",
            json!({"organization_id": tree.tenant_a1, "kinds": ["audit"],
                   "from": from, "until": until, "reason": "Audit request"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    root.create_user("aadmin", tree.partner_a, "admin").await;
    let partner_admin = app.login("aadmin", PASSWORD).await;
    let job = purge(&app, &partner_admin, false).await;
    assert_eq!(job["organization_id"], tree.partner_a, "{job}");
    assert_eq!(left(&app, tree.tenant_a1).await, (0, 2, 0), "{job}");
    assert_eq!(
        left(&app, tree.partner_b).await,
        (2, 2, 2),
        "outside the caller's subtree"
    );
    // Its report names nothing outside partner_a's subtree.
    for row in job["result"]["organizations"].as_array().unwrap() {
        assert_eq!(row["organization_id"], tree.tenant_a1, "{job}");
    }
}

#[tokio::test]
async fn on_postgres_purges_run_one_at_a_time_across_instances() {
    if support::backend() != "postgres" {
        return;
    }
    let first = app().await;
    let second = first.second_instance(|_| {}).await;
    let (tree, root1) = tree(&first).await;
    let root2 = second.root().await;
    old_rows(&first, tree.tenant_a1, 200, 50).await;
    let mut ids = Vec::new();
    for n in 0..6 {
        let api = if n % 2 == 0 { &root1 } else { &root2 };
        let (status, body) = api
            .post("/v1/retention/purge?dry_run=true", json!(null))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        ids.push(body["data"]["id"].as_i64().unwrap());
    }
    let mut runs = Vec::new();
    for id in ids {
        let job = finished(&first, &root1, id).await;
        let at =
            |key: &str| -> DateTime<Utc> { job["result"][key].as_str().unwrap().parse().unwrap() };
        runs.push((
            at("started_at"),
            at("finished_at"),
            job["result"]["instance"].clone(),
        ));
        assert_eq!(job["result"]["removed"]["events"], 50, "{job}");
    }
    runs.sort_by_key(|r| r.0);
    for pair in runs.windows(2) {
        assert!(pair[1].0 >= pair[0].1, "two purges overlapped: {runs:?}");
    }
    second.shutdown().await;
}

#[tokio::test]
async fn a_held_delivery_log_keeps_its_webhook_from_being_deleted() {
    let app = TestApp::start_with(|c| {
        c.retention.purge_every_h = 0;
        c.webhooks.allow_private = true;
    })
    .await;
    let (tree, root) = tree(&app).await;
    let (status, body) = root
        .post(
            "/v1/webhooks",
            json!({"organization_id": tree.tenant_a1, "url": "http://127.0.0.1:9/hook",
                   "events": ["*"], "active": false}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let webhook = body["data"]["id"].as_i64().unwrap();
    let (status, body) = root
        .post(
            "/v1/legalholds",
            json!({"organization_id": tree.dist, "kinds": ["deliveries"], "reason": "Subpoena"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let hold = body["data"]["id"].as_i64().unwrap();
    let (status, body) = root.delete(&format!("/v1/webhooks/{webhook}")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        message(&body).contains(&format!("legal hold {hold}")),
        "{body}"
    );
    let (status, _) = root.delete(&format!("/v1/legalholds/{hold}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = root.delete(&format!("/v1/webhooks/{webhook}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
