//! A corrupt stored value (written behind dialtone's back, straight into the database) is a
//! clear 500 naming the row and column, never a wrong value served as if it were true.

use crate::support::{Api, PASSWORD, TestApp, tree};
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
async fn corrupt_trunk_gateway_and_ip_rows_are_errors_naming_them() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let (status, body) = root
        .post(
            "/v1/siptrunks",
            json!({"organization_id": t.partner_a, "name": "Carrier A", "direction": "both",
                   "max_channels": 30,
                   "gateways": [{"uri": "sip:gw1.example.com"}, {"uri": "sip:gw2.example.com"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let trunk = body["data"]["id"].as_i64().unwrap();
    let gateway = body["data"]["gateways"][0]["id"].as_i64().unwrap();
    let (status, body) = root
        .post(
            &format!("/v1/siptrunks/{trunk}/ips"),
            json!({"cidr": "192.0.2.0/24"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let ip = body["data"]["id"].as_i64().unwrap();
    let db = &app.state().db;
    let trunk_path = format!("/v1/siptrunks/{trunk}");

    corrupt(
        db,
        "UPDATE sip_gateways SET uri = $1 WHERE id = $2",
        "http://gw1.example.com",
        gateway,
    )
    .await;
    let row = format!("Stored data is corrupt: gateway {gateway} (uri)");
    assert_corrupt(&root, &trunk_path, &row).await;
    assert_corrupt(&root, "/v1/siptrunks", &row).await;
    assert_corrupt(&root, &format!("/v1/sipgwping/gateway:{gateway}"), &row).await;
    assert_corrupt(&root, "/v1/sipgwping/all", &row).await;
    // The pinger does not guess either: the corrupt gateway is not pinged, the other one is.
    let targets = dialtone::gateways::ping_targets(db).await.unwrap();
    assert_eq!(
        targets
            .iter()
            .map(|t| t.uri.to_string())
            .collect::<Vec<_>>(),
        ["sip:gw2.example.com"]
    );
    corrupt(
        db,
        "UPDATE sip_gateways SET uri = $1 WHERE id = $2",
        "sip:gw1.example.com",
        gateway,
    )
    .await;

    corrupt(
        db,
        "UPDATE sip_trunks SET name = $1 WHERE id = $2",
        "Carrier\u{1b}[2J",
        trunk,
    )
    .await;
    let row = format!("Stored data is corrupt: SIP trunk {trunk} (name)");
    assert_corrupt(&root, &trunk_path, &row).await;
    assert_corrupt(&root, "/v1/siptrunks", &row).await;
    corrupt(
        db,
        "UPDATE sip_trunks SET name = $1 WHERE id = $2",
        "Carrier A",
        trunk,
    )
    .await;

    corrupt(
        db,
        "UPDATE sip_trunk_ips SET cidr = $1 WHERE id = $2",
        "192.0.2.1/24",
        ip,
    )
    .await;
    assert_corrupt(
        &root,
        &format!("{trunk_path}/ips"),
        &format!("Stored data is corrupt: trunk IP {ip} (cidr)"),
    )
    .await;

    // Put right, everything reads again as it was.
    let (status, body) = root.get(&trunk_path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["name"], "Carrier A");
    assert_eq!(body["data"]["gateways"][0]["uri"], "sip:gw1.example.com");
}

/// Runs `sql` (binding `value`, then `id`) on SQLite with CHECK constraints off, as a damaged
/// file or a careless manual edit would; `false` on PostgreSQL, which enforces them (such a
/// row cannot exist there).
async fn corrupt_past_check(db: &Db, sql: &'static str, value: &str, id: i64) -> bool {
    let Db::Sqlite(pool) = db else {
        return false;
    };
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("PRAGMA ignore_check_constraints = ON")
        .execute(&mut *conn)
        .await
        .unwrap();
    let done = sqlx::query(sql)
        .bind(value)
        .bind(id)
        .execute(&mut *conn)
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 1);
    sqlx::query("PRAGMA ignore_check_constraints = OFF")
        .execute(&mut *conn)
        .await
        .unwrap();
    true
}

/// A type no organization can have is not read as a tenant (or anything else): the
/// organization, the list and its children's creation all refuse with the row named.
#[tokio::test]
async fn a_corrupt_organization_type_is_an_error_naming_the_row() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let db = &app.state().db;
    let sql = "UPDATE organizations SET type = $1 WHERE id = $2";
    if !corrupt_past_check(db, sql, "tennant", t.partner_b).await {
        return;
    }
    let row = format!(
        "Stored data is corrupt: organization {} (type)",
        t.partner_b
    );
    let (status, body) = root
        .get(&format!("/v1/organizations/{}", t.partner_b))
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(body["message"], row);
    assert_corrupt(&root, "/v1/organizations", &row).await;
    let (status, body) = root
        .post(
            "/v1/organizations",
            json!({"name": "Under B", "type": "tenant", "parent_id": t.partner_b}),
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(body["message"], row);
    // Put right, it reads again as it was.
    assert!(corrupt_past_check(db, sql, "partner", t.partner_b).await);
    let (status, body) = root
        .get(&format!("/v1/organizations/{}", t.partner_b))
        .await;
    assert_eq!(
        (status, &body["data"]["type"]),
        (StatusCode::OK, &json!("partner"))
    );
}

/// A caller whose organization's stored type is unreadable is not given any organization
/// type's permissions: every request is the same 500 naming the organization.
#[tokio::test]
async fn a_corrupt_type_of_the_callers_organization_refuses_its_requests() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let (status, body) = root
        .post(
            "/v1/users",
            json!({"organization_id": t.tenant_a1, "username": "tenant.admin",
                   "password": PASSWORD, "role": "admin"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let tenant = app.login("tenant.admin", PASSWORD).await;
    let sql = "UPDATE organizations SET type = $1 WHERE id = $2";
    if !corrupt_past_check(&app.state().db, sql, "platform ", t.tenant_a1).await {
        return;
    }
    let (status, body) = tenant.get("/v1/numbers").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(
        body["message"],
        format!(
            "Stored data is corrupt: organization {} (type)",
            t.tenant_a1
        )
    );
}

#[tokio::test]
async fn a_corrupt_organization_name_is_an_error_naming_the_row() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    corrupt(
        &app.state().db,
        "UPDATE organizations SET name = $1 WHERE id = $2",
        "Tenant\u{1b}[2J",
        t.tenant_a1,
    )
    .await;
    let row = format!("organization {} (name)", t.tenant_a1);
    assert_corrupt(&root, &format!("/v1/organizations/{}", t.tenant_a1), &row).await;
    assert_corrupt(&root, "/v1/organizations", &row).await;
}

/// A stored network that does not parse is neither shown nor skipped when the organization's
/// allowed networks are read.
#[tokio::test]
async fn a_corrupt_orgip_is_an_error_naming_the_row() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let (status, body) = root
        .post(
            "/v1/orgips",
            json!({"organization_id": t.tenant_a1, "cidr": "192.0.2.0/24", "description": "office"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["data"]["id"].as_i64().unwrap();
    corrupt(
        &app.state().db,
        "UPDATE organization_ips SET cidr = $1 WHERE id = $2",
        "192.0.2.1/24",
        id,
    )
    .await;
    let row = format!("org IP {id} (cidr)");
    assert_corrupt(&root, &format!("/v1/orgips/{id}"), &row).await;
    assert_corrupt(&root, "/v1/orgips/index", &row).await;
    let networks = dialtone::orgs::restricted_networks(&app.state().db, t.tenant_a1).await;
    assert!(
        networks.is_ok(),
        "not restricted: the networks are not read"
    );
    let (status, body) = root
        .put(
            &format!("/v1/organizations/{}/clientaccess", t.tenant_a1),
            json!({"restrict_to_orgips": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let e = dialtone::orgs::restricted_networks(&app.state().db, t.tenant_a1)
        .await
        .unwrap_err();
    assert_eq!(e.public_message(), format!("Stored data is corrupt: {row}"));
}

#[tokio::test]
async fn a_corrupt_iccid_is_an_error_naming_the_mobile() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let (status, body) = root
        .post(
            "/v1/mobiles",
            json!({"organization_id": t.tenant_a1, "iccid": "89440001234567890120"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["data"]["id"].as_i64().unwrap();
    corrupt(
        &app.state().db,
        "UPDATE mobiles SET iccid = $1 WHERE id = $2",
        "89440001234567890121",
        id,
    )
    .await;
    let row = format!("mobile {id} (iccid)");
    assert_corrupt(&root, &format!("/v1/mobiles/{id}"), &row).await;
    assert_corrupt(&root, "/v1/mobiles", &row).await;
}

/// A token whose stored kind is unreadable is not taken for any kind of token.
#[tokio::test]
async fn a_corrupt_token_kind_is_an_error_naming_the_token() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let db = &app.state().db;
    let ids: Vec<i64> = dialtone::on_db!(db, pool => sqlx::query_scalar(
        "SELECT id FROM auth_tokens WHERE kind = 'access'")
        .fetch_all(pool).await)
    .unwrap();
    let [id] = ids[..] else {
        panic!("one access token expected, found {ids:?}");
    };
    let sql = "UPDATE auth_tokens SET kind = $1 WHERE id = $2";
    if !corrupt_past_check(db, sql, "acess", id).await {
        return;
    }
    let (status, body) = root.get("/v1/organizations").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(
        body["message"],
        format!("Stored data is corrupt: token {id} (kind)")
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
