//! Referential integrity between rooms: a trunk, dial plan policy, device or user still in use
//! (routed to, or assigned to numbers) is not deleted — 409 naming what uses it, nothing
//! changed — and a number's `dialplan` assignment must name a policy it may use.

use crate::support::{Api, PASSWORD, TestApp, message, tree};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn id(body: &Value) -> i64 {
    body["data"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id: {body}"))
}

async fn created(api: &Api, path: &str, body: Value) -> i64 {
    let (status, response) = api.post(path, body).await;
    assert_eq!(status, StatusCode::CREATED, "POST {path}: {response}");
    id(&response)
}

async fn trunk(api: &Api, org: i64, name: &str) -> i64 {
    created(
        api,
        "/v1/siptrunks",
        json!({"organization_id": org, "name": name, "direction": "both", "max_channels": 10}),
    )
    .await
}

fn routing_to(trunk: i64) -> Value {
    json!([{"name": "UK out", "match": {"prefixes": ["+44"]},
            "action": {"type": "route", "routes": [{"trunk_id": trunk}]}}])
}

fn denying() -> Value {
    json!([{"match": {"prefixes": ["+44"]},
            "action": {"type": "deny", "sip_code": 403, "reason": "closed"}}])
}

async fn policy(api: &Api, org: i64, name: &str, rules: Value) -> i64 {
    created(
        api,
        "/v1/dialplans",
        json!({"organization_id": org, "name": name, "rules": rules}),
    )
    .await
}

async fn number(api: &Api, org: i64, number: &str, assignment: Value) -> i64 {
    created(
        api,
        "/v1/numbers",
        json!({"number": number, "organization_id": org, "assignment": assignment}),
    )
    .await
}

async fn unassign(api: &Api, number: i64) {
    let (status, body) = api
        .put(
            &format!("/v1/numbers/{number}"),
            json!({"assignment": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Tries to delete `path`, expects 409 whose message contains every `needle`, and checks that
/// the object is still there and nothing was audited.
async fn refused(api: &Api, path: &str, needles: &[&str]) -> String {
    let audit = api.total("/v1/auditlog").await;
    let (status, body) = api.delete(path).await;
    assert_eq!(status, StatusCode::CONFLICT, "DELETE {path}: {body}");
    let text = message(&body).to_string();
    for needle in needles {
        assert!(text.contains(needle), "{needle:?} not in {text:?}");
    }
    let (status, body) = api.get(path).await;
    assert_eq!(status, StatusCode::OK, "still there: {body}");
    assert_eq!(api.total("/v1/auditlog").await, audit, "nothing audited");
    text
}

async fn deleted(api: &Api, path: &str) {
    let (status, body) = api.delete(path).await;
    assert_eq!(status, StatusCode::OK, "DELETE {path}: {body}");
    let (status, _) = api.get(path).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{path} is gone");
}

#[tokio::test]
async fn a_trunk_routed_to_or_assigned_is_not_deleted() {
    let app = TestApp::start_with(|c| c.pinger.enabled = false).await;
    let (t, root) = tree(&app).await;
    let carrier = trunk(&root, t.partner_a, "Carrier").await;
    // The partner's trunk is used by its tenant's policy and number.
    let plan = policy(&root, t.tenant_a1, "A1 outbound", routing_to(carrier)).await;
    let main = number(
        &root,
        t.tenant_a1,
        "+14155550100",
        json!({"type": "trunk", "id": carrier}),
    )
    .await;
    let path = format!("/v1/siptrunks/{carrier}");
    let text = refused(
        &root,
        &path,
        &[
            &format!("SIP trunk {carrier} (Carrier)"),
            &format!("dial plan policies {plan} (A1 outbound)"),
            &format!("numbers +14155550100 (id {main})"),
        ],
    )
    .await;
    assert!(!text.contains("more"), "{text}");

    // The policy no longer routes there: only the number holds the trunk.
    let (status, body) = root
        .put(
            &format!("/v1/dialplans/{plan}"),
            json!({"rules": denying()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let text = refused(&root, &path, &["numbers +14155550100"]).await;
    assert!(!text.contains("dial plan"), "{text}");

    unassign(&root, main).await;
    deleted(&root, &path).await;
}

#[tokio::test]
async fn a_refusal_names_ten_users_and_counts_the_rest() {
    let app = TestApp::start_with(|c| c.pinger.enabled = false).await;
    let (t, root) = tree(&app).await;
    let carrier = trunk(&root, t.tenant_a1, "Carrier").await;
    for i in 0..12 {
        number(
            &root,
            t.tenant_a1,
            &format!("+1415555{:04}", 200 + i),
            json!({"type": "trunk", "id": carrier}),
        )
        .await;
    }
    let text = refused(
        &root,
        &format!("/v1/siptrunks/{carrier}"),
        &["+14155550200", "+14155550209", "and 2 more"],
    )
    .await;
    assert!(!text.contains("+14155550210"), "{text}");
}

#[tokio::test]
async fn a_dial_plan_with_numbers_is_not_deleted() {
    let app = TestApp::start_with(|c| c.pinger.enabled = false).await;
    let (t, root) = tree(&app).await;
    let plan = policy(&root, t.partner_a, "Partner plan", denying()).await;
    let main = number(
        &root,
        t.tenant_a1,
        "+14155550100",
        json!({"type": "dialplan", "id": plan}),
    )
    .await;
    let path = format!("/v1/dialplans/{plan}");
    let history = root.total(&format!("{path}/history")).await;
    refused(
        &root,
        &path,
        &[
            &format!("dial plan policy {plan}"),
            &format!("numbers +14155550100 (id {main})"),
        ],
    )
    .await;
    assert_eq!(
        root.total(&format!("{path}/history")).await,
        history,
        "no delete version archived"
    );
    unassign(&root, main).await;
    deleted(&root, &path).await;
}

#[tokio::test]
async fn a_device_whose_line_has_numbers_is_not_deleted() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let device = created(
        &root,
        "/v1/devices",
        json!({"organization_id": t.tenant_a1, "mac": "00:15:65:00:00:01", "vendor": "yealink",
               "model": "T54W", "lines": [{"username": "201", "registrar": "pbx.example.com"},
                                          {"username": "202", "registrar": "pbx.example.com"}]}),
    )
    .await;
    let main = number(
        &root,
        t.tenant_a1,
        "+14155550100",
        json!({"type": "device_line", "id": device, "line": 1}),
    )
    .await;
    let path = format!("/v1/devices/{device}");
    refused(
        &root,
        &path,
        &[
            &format!("device {device}"),
            &format!("numbers +14155550100 (id {main}, line 1)"),
        ],
    )
    .await;
    // Dropping the line the number rings is refused too; line 0 alone may change.
    let audit = root.total("/v1/auditlog").await;
    let one_line = json!({"lines": [{"username": "201", "registrar": "pbx.example.com"}]});
    let (status, body) = root.put(&path, one_line.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let text = message(&body);
    assert!(
        text.starts_with(&format!("line 1 of device {device}")),
        "{text}"
    );
    assert!(text.contains("+14155550100"), "{text}");
    let (_, body) = root.get(&path).await;
    assert_eq!(
        body["data"]["lines"].as_array().map(Vec::len),
        Some(2),
        "{body}"
    );
    assert_eq!(root.total("/v1/auditlog").await, audit, "nothing audited");
    let two_lines = json!({"lines": [{"username": "301", "registrar": "pbx.example.com"},
                                     {"username": "202", "registrar": "pbx.example.com"}]});
    let (status, body) = root.put(&path, two_lines).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    unassign(&root, main).await;
    let (status, body) = root.put(&path, one_line).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    deleted(&root, &path).await;
}

#[tokio::test]
async fn a_user_with_numbers_is_not_deleted_and_releasing_a_number_frees_it() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let baker = root.create_user("baker", t.tenant_a1, "user").await;
    let assigned = json!({"type": "user", "id": baker});
    let main = number(&root, t.tenant_a1, "+14155550100", assigned.clone()).await;
    let spare = number(&root, t.tenant_a1, "+14155550101", assigned.clone()).await;
    // A released number routes nowhere: it cannot be created or left with an assignment.
    let (status, body) = root
        .post(
            "/v1/numbers",
            json!({"number": "+14155550102", "organization_id": t.tenant_a1,
                   "state": "released", "assignment": assigned}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        message(&body).starts_with("assignment: a released number"),
        "{body}"
    );
    let spare_path = format!("/v1/numbers/{spare}");
    let (status, body) = root
        .put(
            &spare_path,
            json!({"state": "released", "assignment": assigned}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = root.put(&spare_path, json!({"state": "released"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"]["assignment"],
        Value::Null,
        "releasing clears it: {body}"
    );
    let (status, body) = root.put(&spare_path, json!({"assignment": assigned})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let path = format!("/v1/users/{baker}");
    let text = refused(
        &root,
        &path,
        &[
            &format!("user {baker} (baker)"),
            &format!("numbers +14155550100 (id {main})"),
        ],
    )
    .await;
    assert!(!text.contains("+14155550101"), "released: {text}");
    assert!(
        app.login_raw("baker", PASSWORD).await.0 == StatusCode::OK,
        "the user can still log in"
    );
    unassign(&root, main).await;
    deleted(&root, &path).await;
}

#[tokio::test]
async fn a_dialplan_assignment_names_a_policy_of_the_number_or_its_ancestors() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let dist_plan = policy(&root, t.dist, "Dist plan", denying()).await;
    let a_plan = policy(&root, t.partner_a, "A plan", denying()).await;
    let a1_plan = policy(&root, t.tenant_a1, "A1 plan", denying()).await;
    let b_plan = policy(&root, t.partner_b, "B plan", denying()).await;
    root.create_user("a-admin", t.partner_a, "admin").await;
    let partner = app.login("a-admin", PASSWORD).await;
    let a1_number = created(
        &partner,
        "/v1/numbers",
        json!({"number": "+14155550100", "organization_id": t.tenant_a1}),
    )
    .await;
    let a_number = created(
        &partner,
        "/v1/numbers",
        json!({"number": "+14155550101", "organization_id": t.partner_a}),
    )
    .await;
    let assign = |number: i64, plan: i64| {
        let partner = partner.clone();
        async move {
            partner
                .put(
                    &format!("/v1/numbers/{number}"),
                    json!({"assignment": {"type": "dialplan", "id": plan}}),
                )
                .await
        }
    };
    // The number's own organization's policy and its parent's are fine. The distributor's is an
    // ancestor's too, but the partner's admin does not see it: for them it reads as missing.
    for plan in [a1_plan, a_plan] {
        let (status, body) = assign(a1_number, plan).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["data"]["assignment"]["id"], plan);
    }
    let (status, body) = root
        .put(
            &format!("/v1/numbers/{a1_number}"),
            json!({"assignment": {"type": "dialplan", "id": dist_plan}}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "root assigns a parent's policy: {body}"
    );
    for (number, plan, needle) in [
        (
            a1_number,
            987654,
            "assignment.id: dial plan 987654 not found".to_string(),
        ),
        (
            a1_number,
            b_plan,
            format!("assignment.id: dial plan {b_plan} not found"),
        ),
        (
            a1_number,
            dist_plan,
            format!("assignment.id: dial plan {dist_plan} not found"),
        ),
        (
            a_number,
            a1_plan,
            format!(
                "assignment.id: dial plan {a1_plan} belongs to organization {}",
                t.tenant_a1
            ),
        ),
    ] {
        let (status, body) = assign(number, plan).await;
        // A plan that exists but serves another organization conflicts with the number's owner.
        let expected = if needle.ends_with("not found") {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::CONFLICT
        };
        assert_eq!(status, expected, "{plan}: {body}");
        assert!(message(&body).starts_with(&needle), "{needle}: {body}");
    }
    // A sibling's policy, seen by a caller above both, is refused for not being an ancestor's.
    let (status, body) = root
        .put(
            &format!("/v1/numbers/{a1_number}"),
            json!({"assignment": {"type": "dialplan", "id": b_plan}}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        message(&body).contains("which is not organization"),
        "{body}"
    );
    let (_, body) = root.get(&format!("/v1/numbers/{a1_number}")).await;
    assert_eq!(
        body["data"]["assignment"],
        json!({"type": "dialplan", "id": dist_plan}),
        "the refused changes left the assignment alone"
    );
}

#[tokio::test]
async fn a_delete_waits_for_a_writer_holding_the_trunk_and_sees_its_number() {
    let app = TestApp::start_with(|c| c.pinger.enabled = false).await;
    let (t, root) = tree(&app).await;
    let carrier = trunk(&root, t.tenant_a1, "Carrier").await;
    // A writer mid-way through assigning a number to the trunk: it holds the trunk, as
    // `numbers::update` does after checking the assignment.
    let db = app.state().db.clone();
    let mut writer = db.begin().await.unwrap();
    assert!(
        dialtone::gateways::hold_trunk(&mut writer, carrier)
            .await
            .unwrap()
    );
    let path = format!("/v1/siptrunks/{carrier}");
    let delete = tokio::spawn({
        let root = root.clone();
        let path = path.clone();
        async move { root.delete(&path).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!delete.is_finished(), "the delete waits for the writer");
    dialtone::on_tx!(&mut writer, conn => sqlx::query(
        "INSERT INTO numbers (organization_id, number, state, assignment_type, assignment_id, \
         created_at, updated_at) VALUES ($1, '+14155550100', 'active', 'trunk', $2, $3, $3)")
        .bind(t.tenant_a1).bind(carrier).bind(chrono::Utc::now())
        .execute(conn).await.map(|r| r.rows_affected()))
    .unwrap();
    writer.commit().await.unwrap();
    let (status, body) = delete.await.unwrap();
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(message(&body).contains("+14155550100"), "{body}");
    let (status, _) = root.get(&path).await;
    assert_eq!(status, StatusCode::OK, "the trunk stays");
}

#[tokio::test]
async fn a_trunk_a_rule_matches_calls_from_is_checked_and_not_deleted() {
    let app = TestApp::start_with(|c| c.pinger.enabled = false).await;
    let (t, root) = tree(&app).await;
    let inbound = trunk(&root, t.partner_a, "Inbound").await;
    let sibling = trunk(&root, t.partner_b, "Sibling's").await;
    let from = |trunk: i64| {
        json!([{"match": {"trunks": [trunk]},
                "action": {"type": "deny", "sip_code": 403, "reason": "not from there"}}])
    };
    // A trunk the tenant cannot use, or none at all, is refused at write time, naming the field.
    for bad in [sibling, 999_999] {
        let (status, body) = root
            .post(
                "/v1/dialplans",
                json!({"organization_id": t.tenant_a1, "name": "from", "rules": from(bad)}),
            )
            .await;
        // Another object the rule names, missing or not usable here: a 404 naming the field.
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert!(
            message(&body).starts_with("rules[0].match.trunks[0]: "),
            "{body}"
        );
    }
    assert_eq!(root.total("/v1/dialplans").await, 0, "nothing stored");
    let plan = policy(&root, t.tenant_a1, "from", from(inbound)).await;
    let path = format!("/v1/siptrunks/{inbound}");
    refused(
        &root,
        &path,
        &[&format!("dial plan policies {plan} (from)")],
    )
    .await;
    let (status, body) = root
        .put(
            &format!("/v1/dialplans/{plan}"),
            json!({"rules": denying()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    deleted(&root, &path).await;
}
