//! A corrupt stored value (written behind dialtone's back, straight into the database) is a
//! clear 500 naming the row and column, never a wrong value served as if it were true.

use crate::support::{Api, TestApp, tree};
use dialtone::db::Db;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn corrupt(db: &Db, sql: &'static str, value: &str, id: i64) {
    let affected = dialtone::on_db!(db, pool => sqlx::query(sql)
        .bind(value)
        .bind(id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))
    .expect("corrupting update");
    assert_eq!(affected, 1);
}

async fn assert_corrupt(api: &Api, path: &str, row: &str) {
    let (status, body) = api.get(path).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}: {body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(row),
        "{path}: {message:?} does not name {row}"
    );
}

#[tokio::test]
async fn a_corrupt_number_is_an_error_naming_the_row() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let (status, body) = root
        .post(
            "/v1/numbers",
            json!({"number": "+442079460958", "organization_id": t.tenant_a1}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["data"]["id"].as_i64().unwrap();
    let db = &app.state().db;
    corrupt(
        db,
        "UPDATE numbers SET number = $1 WHERE id = $2",
        "020 7946",
        id,
    )
    .await;
    let row = format!("number {id} (number)");
    assert_corrupt(&root, &format!("/v1/numbers/{id}"), &row).await;
    // The list does not skip or default the row either.
    assert_corrupt(&root, "/v1/numbers", &row).await;
    // Put right, the number reads again as it was.
    corrupt(
        db,
        "UPDATE numbers SET number = $1 WHERE id = $2",
        "+442079460958",
        id,
    )
    .await;
    let (status, body) = root.get(&format!("/v1/numbers/{id}")).await;
    assert_eq!(
        (status, &body["data"]["number"]),
        (StatusCode::OK, &json!("+442079460958"))
    );
}

/// The state column has a CHECK constraint; SQLite lets a test step around it (as a damaged
/// file or a careless manual edit would), and the state no longer reads as "available".
#[tokio::test]
async fn a_corrupt_state_is_not_read_as_available() {
    let app = TestApp::start().await;
    let Db::Sqlite(pool) = &app.state().db else {
        return; // PostgreSQL enforces the CHECK: such a row cannot exist there
    };
    let (t, root) = tree(&app).await;
    let (status, body) = root
        .post(
            "/v1/numbers",
            json!({"number": "+14155550134", "organization_id": t.tenant_a1}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["data"]["id"].as_i64().unwrap();
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("PRAGMA ignore_check_constraints = ON")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("UPDATE numbers SET state = 'availble' WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("PRAGMA ignore_check_constraints = OFF")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    assert_corrupt(
        &root,
        &format!("/v1/numbers/{id}"),
        &format!("number {id} (state)"),
    )
    .await;
    // Nothing acts on the unreadable row: a state change is refused the same way.
    let (status, _) = root
        .put(&format!("/v1/numbers/{id}"), json!({"state": "active"}))
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn a_corrupt_mac_is_an_error_naming_the_device() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let (status, body) = root
        .post(
            "/v1/devices",
            json!({"organization_id": t.tenant_a1, "mac": "00:15:65:12:34:AB", "vendor": "yealink",
                   "model": "T54W", "lines": [{"username": "201", "registrar": "pbx.example.com"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["data"]["id"].as_i64().unwrap();
    corrupt(
        &app.state().db,
        "UPDATE devices SET mac = $1 WHERE id = $2",
        "00:15:65:zz",
        id,
    )
    .await;
    let (status, body): (StatusCode, Value) = root.get(&format!("/v1/devices/{id}")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(
        body["message"],
        format!("Stored data is corrupt: device {id} (mac)")
    );
}

#[tokio::test]
async fn corrupt_dial_plan_rows_are_errors_naming_the_row() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let deny = json!([{"action": {"type": "deny", "sip_code": 403, "reason": "barred"}}]);
    let policy = crate::dialplan::policy(&root, t.tenant_a1, "Barred", deny.clone()).await;
    let group = crate::dialplan::group(&root, t.tenant_a1, "Defaults", false, &[policy]).await;
    let db = &app.state().db;

    // A name with a terminal escape in it, a rule list that is no longer JSON.
    const POLICY_NAME: &str = "UPDATE dialplan_policies SET name = $1 WHERE id = $2";
    corrupt(db, POLICY_NAME, "Barred\u{1b}[2J", policy).await;
    let row = format!("dial plan policy {policy} (name)");
    assert_corrupt(&root, &format!("/v1/dialplans/{policy}"), &row).await;
    assert_corrupt(&root, "/v1/dialplans", &row).await;
    corrupt(db, POLICY_NAME, "Barred", policy).await;
    const RULES: &str = "UPDATE dialplan_policies SET rules_json = $1 WHERE id = $2";
    corrupt(db, RULES, "[{\"action\": ", policy).await;
    let row = format!("dial plan policy {policy} (rules_json)");
    assert_corrupt(&root, &format!("/v1/dialplans/{policy}"), &row).await;
    // The prefix search reads every policy's rules: it does not skip the row either.
    assert_corrupt(&root, "/v1/dialplans?prefix=%2B44", &row).await;
    // Put right (as a rule list that parses), the policy reads again.
    corrupt(db, RULES, &deny.to_string(), policy).await;
    let (status, body) = root.get(&format!("/v1/dialplans/{policy}")).await;
    assert_eq!(
        (status, &body["data"]["name"]),
        (StatusCode::OK, &json!("Barred"))
    );

    // An archived version names the policy and the version.
    const VERSION: &str = "UPDATE dialplan_policy_versions SET description = $1 \
        WHERE policy_id = $2 AND version = 1";
    corrupt(db, VERSION, "\u{7}", policy).await;
    assert_corrupt(
        &root,
        &format!("/v1/dialplans/{policy}/history/1"),
        &format!("dial plan policy {policy} version 1 (description)"),
    )
    .await;

    const GROUP_NAME: &str = "UPDATE dialplan_groups SET name = $1 WHERE id = $2";
    corrupt(db, GROUP_NAME, "", group).await;
    let row = format!("policy group {group} (name)");
    assert_corrupt(&root, &format!("/v1/dialplans/groups/{group}"), &row).await;
    assert_corrupt(&root, "/v1/dialplans/groups", &row).await;
}
