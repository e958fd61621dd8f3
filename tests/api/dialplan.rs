//! Dial plans over REST on the real daemon: policies (validation naming the rule field,
//! tenancy), history/diff/restore, groups and cycles, parents' enforced groups, templates, and
//! `POST /v1/dialplan/evaluate` with routes, gateway URIs, translated numbers and skipped routes
//! (a gateway the pinger found down, a trunk at its channel limit).

use crate::support::gateway::{answering_gateway, silent_gateway};
use crate::support::{self, Api, PASSWORD, TestApp, message};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A daemon that pings nobody: gateways stay `unknown`, which routes.
async fn quiet_app() -> TestApp {
    TestApp::start_with(|c| c.pinger.enabled = false).await
}

/// Creates a trunk of `org` with these gateway URIs; returns its id.
pub(crate) async fn trunk(
    api: &Api,
    org: i64,
    name: &str,
    uris: &[&str],
    max_channels: i64,
) -> i64 {
    let gateways: Vec<Value> = uris.iter().map(|u| json!({"uri": u})).collect();
    let (status, body) = api
        .post(
            "/v1/siptrunks",
            json!({"organization_id": org, "name": name, "direction": "outbound",
                   "max_channels": max_channels, "gateways": gateways}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["data"]["id"].as_i64().unwrap()
}

pub(crate) async fn policy(api: &Api, org: i64, name: &str, rules: Value) -> i64 {
    let (status, body) = api
        .post(
            "/v1/dialplans",
            json!({"organization_id": org, "name": name, "rules": rules}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["version"], 1);
    body["data"]["id"].as_i64().unwrap()
}

pub(crate) async fn group(
    api: &Api,
    org: i64,
    name: &str,
    enforced: bool,
    policies: &[i64],
) -> i64 {
    let (status, body) = api
        .post(
            "/v1/dialplans/groups",
            json!({"organization_id": org, "name": name, "enforced": enforced,
                   "policy_ids": policies}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["data"]["id"].as_i64().unwrap()
}

async fn evaluate(api: &Api, body: Value) -> Value {
    let (status, answer) = api.post("/v1/dialplan/evaluate", body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["data"].clone()
}

pub(crate) fn route_to(trunks: &[i64]) -> Value {
    let routes: Vec<Value> = trunks.iter().map(|t| json!({"trunk_id": t})).collect();
    json!({"type": "route", "routes": routes})
}

#[tokio::test]
async fn policies_are_validated_scoped_and_searchable() {
    let app = quiet_app().await;
    let (tree, root) = support::tree(&app).await;
    let partner_trunk = trunk(&root, tree.partner_a, "A carrier", &["sip:192.0.2.10"], 30).await;
    let sibling_trunk = trunk(&root, tree.partner_b, "B carrier", &["sip:192.0.2.20"], 30).await;
    root.create_user("a1-admin", tree.tenant_a1, "admin").await;
    root.create_user("b-admin", tree.partner_b, "admin").await;
    let tenant = app.login("a1-admin", PASSWORD).await;
    let sibling = app.login("b-admin", PASSWORD).await;

    // A tenant may route to its parent's trunk …
    let id = policy(
        &tenant,
        tree.tenant_a1,
        "UK calls",
        json!([{"name": "UK", "match": {"prefixes": ["+44"]}, "action": route_to(&[partner_trunk])}]),
    )
    .await;
    // … not to a sibling's: a 404 naming the rule field, as the trunk's own URL would answer.
    let (status, body) = tenant
        .post(
            "/v1/dialplans",
            json!({"name": "x", "rules": [{"action": route_to(&[sibling_trunk])}]}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(
        message(&body).starts_with("rules[0].action.routes[0].trunk_id: "),
        "{body}"
    );
    // A route listing a trunk twice is a 409 naming the second.
    let (status, body) = tenant
        .post(
            "/v1/dialplans",
            json!({"name": "x", "rules": [{"action": route_to(&[partner_trunk, partner_trunk])}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        message(&body).starts_with("rules[0].action.routes[1].trunk_id: trunk listed twice"),
        "{body}"
    );
    // Rules the compiler refuses name their field.
    let (status, body) = tenant
        .post(
            "/v1/dialplans",
            json!({"name": "bad", "rules": [
                {"action": {"type": "deny", "sip_code": 403, "reason": "ok"}},
                {"action": {"type": "deny", "sip_code": 200, "reason": "not a refusal"}}]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        message(&body).starts_with("rules[1].action.sip_code"),
        "{body}"
    );
    // Shape errors from JSON itself name the path too; unknown fields are refused.
    let (status, body) = tenant
        .post(
            "/v1/dialplans",
            json!({"name": "bad", "rules": [{"action": {"type": "teleport"}}]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).starts_with("rules[0].action"), "{body}");
    let (status, body) = tenant
        .post(
            "/v1/dialplans",
            json!({"name": "x", "rules": [], "colour": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let response = tenant
        .request(Method::POST, "/v1/dialplans")
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // The name is unique per organization.
    let (status, body) = tenant
        .post("/v1/dialplans", json!({"name": "UK calls", "rules": []}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(message(&body).starts_with("name"), "{body}");
    // Nothing of the refused writes was stored.
    assert_eq!(tenant.total("/v1/dialplans").await, 1);

    // Another tenant's policy is not found; the parent sees it.
    for (method, body) in [
        (Method::GET, None),
        (Method::PUT, Some(json!({"description": "mine now"}))),
        (Method::DELETE, None),
    ] {
        let (status, answer) = sibling
            .call(method, &format!("/v1/dialplans/{id}"), body)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    }
    let (status, body) = sibling.get(&format!("/v1/dialplans/{id}/history")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(sibling.total("/v1/dialplans").await, 0);
    let (status, body) = root.get(&format!("/v1/dialplans/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["rules"][0]["match"]["prefixes"][0], "+44");

    // Search by name, content and prefix.
    policy(
        &root,
        tree.partner_a,
        "Premium bar",
        json!([{"name": "premium", "match": {"prefixes": ["+1900"]},
                "action": {"type": "deny", "sip_code": 403, "reason": "Premium barred"}}]),
    )
    .await;
    assert_eq!(root.total("/v1/dialplans?name=premium").await, 1);
    assert_eq!(root.total("/v1/dialplans?q=barred").await, 1);
    assert_eq!(root.total("/v1/dialplans?prefix=%2B4420").await, 1);
    assert_eq!(root.total("/v1/dialplans?prefix=%2B1").await, 1);
    assert_eq!(root.total("/v1/dialplans?prefix=%2B33").await, 0);
    let (status, body) = root.get("/v1/dialplans?prefix=abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).starts_with("prefix"), "{body}");

    // Every write is audited.
    let (_, audit) = root
        .get("/v1/auditlog?entity_type=dialplan_policy&action=create")
        .await;
    assert_eq!(audit["total"], 2, "{audit}");
}

#[tokio::test]
async fn history_diff_and_restore() {
    let app = quiet_app().await;
    let (tree, root) = support::tree(&app).await;
    let deny = |code: u16| json!({"type": "deny", "sip_code": code, "reason": "no"});
    let id = policy(
        &root,
        tree.partner_a,
        "Bars",
        json!([{"name": "a", "match": {"prefixes": ["+1900"]}, "action": deny(403)}]),
    )
    .await;
    let (status, body) = root
        .put(
            &format!("/v1/dialplans/{id}"),
            json!({"rules": [{"name": "a", "match": {"prefixes": ["+1900"]}, "action": deny(603)},
                             {"name": "b", "match": {"prefixes": ["+1976"]}, "action": deny(403)}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["version"], 2);
    let (status, body) = root
        .put(&format!("/v1/dialplans/{id}"), json!({"name": "Bars v3"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["version"], 3);

    let (status, history) = root.get(&format!("/v1/dialplans/{id}/history")).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    assert_eq!(history["total"], 3);
    let versions: Vec<i64> = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, vec![3, 2, 1]);
    assert_eq!(history["data"][2]["change"], "create");
    assert_eq!(history["data"][2]["changed_by"], "root");
    let (_, page) = root
        .get(&format!("/v1/dialplans/{id}/history?limit=1&page=2"))
        .await;
    assert_eq!(page["data"][0]["version"], 2, "{page}");

    let (status, v1) = root.get(&format!("/v1/dialplans/{id}/history/1")).await;
    assert_eq!(status, StatusCode::OK, "{v1}");
    assert_eq!(v1["data"]["rules"][0]["action"]["sip_code"], 403);
    let (status, _) = root.get(&format!("/v1/dialplans/{id}/history/9")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, diff) = root
        .get(&format!("/v1/dialplans/{id}/diff?from=1&to=3"))
        .await;
    assert_eq!(status, StatusCode::OK, "{diff}");
    let diff = &diff["data"];
    assert_eq!(diff["fields"][0]["field"], "name");
    assert_eq!(diff["fields"][0]["to"], "Bars v3");
    assert_eq!(diff["rules"][0]["index"], 0);
    assert_eq!(diff["rules"][0]["change"], "changed");
    assert_eq!(diff["rules"][0]["to"]["action"]["sip_code"], 603);
    assert_eq!(diff["rules"][1]["change"], "added");
    let (status, last) = root.get(&format!("/v1/dialplans/{id}/diff")).await;
    assert_eq!(status, StatusCode::OK, "{last}");
    assert_eq!(last["data"]["from_version"], 2, "{last}");
    assert_eq!(last["data"]["to_version"], 3, "{last}");
    assert!(
        last["data"]["rules"].as_array().unwrap().is_empty(),
        "{last}"
    );
    let (status, body) = root.get(&format!("/v1/dialplans/{id}/diff?from=x")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).starts_with("from"), "{body}");

    // Restoring version 1 makes its content current as version 4.
    let (status, restored) = root
        .post(
            &format!("/v1/dialplans/{id}/restore"),
            json!({"version": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{restored}");
    assert_eq!(restored["data"]["version"], 4);
    assert_eq!(restored["data"]["name"], "Bars");
    assert_eq!(restored["data"]["rules"].as_array().unwrap().len(), 1);
    let (_, latest) = root.get(&format!("/v1/dialplans/{id}/history/4")).await;
    assert_eq!(latest["data"]["change"], "restore");
    let (status, body) = root
        .post(
            &format!("/v1/dialplans/{id}/restore"),
            json!({"version": 42}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(message(&body).starts_with("version"), "{body}");

    // After a delete the archive stays readable, ending with the delete.
    let (status, _) = root.delete(&format!("/v1/dialplans/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = root.get(&format!("/v1/dialplans/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, history) = root.get(&format!("/v1/dialplans/{id}/history")).await;
    assert_eq!(history["total"], 5, "{history}");
    assert_eq!(history["data"][0]["change"], "delete");
}

#[tokio::test]
async fn a_cycle_is_refused_and_nothing_is_written() {
    let app = quiet_app().await;
    let (tree, root) = support::tree(&app).await;
    let a = group(&root, tree.partner_a, "A", false, &[]).await;
    let b = group(&root, tree.partner_a, "B", false, &[]).await;
    let (status, body) = root
        .put(
            &format!("/v1/dialplans/groups/{a}"),
            json!({"depends_on": [b]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let revision_before: Value = root.get(&format!("/v1/dialplans/groups/{b}")).await.1;

    let (status, body) = root
        .put(
            &format!("/v1/dialplans/groups/{b}"),
            json!({"depends_on": [a], "description": "would close the loop"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(message(&body).contains("cycle"), "{body}");
    assert!(message(&body).contains("\"A\""), "{body}");
    let (_, after) = root.get(&format!("/v1/dialplans/groups/{b}")).await;
    assert_eq!(after, revision_before, "the refused write changed group B");
    let (status, body) = root
        .put(
            &format!("/v1/dialplans/groups/{b}"),
            json!({"depends_on": [b]}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // Through `continue`: a policy in group C that continues to C.
    let c = group(&root, tree.partner_a, "C", false, &[]).await;
    let looping = policy(
        &root,
        tree.partner_a,
        "Loop",
        json!([{"action": {"type": "continue", "group_id": c}}]),
    )
    .await;
    let (status, body) = root
        .put(
            &format!("/v1/dialplans/groups/{c}"),
            json!({"policy_ids": [looping]}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (_, c_now) = root.get(&format!("/v1/dialplans/groups/{c}")).await;
    assert_eq!(c_now["data"]["policy_ids"], json!([]));
    // A group that is depended on cannot go.
    let (status, body) = root.delete(&format!("/v1/dialplans/groups/{b}")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = root.delete(&format!("/v1/dialplans/groups/{c}")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(message(&body).contains("Loop"), "{body}");
}

#[tokio::test]
async fn a_parents_enforced_deny_beats_a_childs_route() {
    let app = quiet_app().await;
    let (tree, root) = support::tree(&app).await;
    let carrier = trunk(
        &root,
        tree.partner_a,
        "Carrier",
        &["sip:192.0.2.10:5060"],
        30,
    )
    .await;
    let bar = policy(
        &root,
        tree.partner_a,
        "Premium bar",
        json!([{"name": "No 900", "match": {"prefixes": ["+1900"]},
                "action": {"type": "deny", "sip_code": 403, "reason": "Premium numbers are barred"}}]),
    )
    .await;
    group(&root, tree.partner_a, "Partner rules", true, &[bar]).await;
    let everything = policy(
        &root,
        tree.tenant_a1,
        "Everything",
        json!([{"name": "all", "action": route_to(&[carrier])}]),
    )
    .await;
    group(&root, tree.tenant_a1, "Tenant routes", false, &[everything]).await;

    let denied = evaluate(
        &root,
        json!({"organization": tree.tenant_a1, "from": "+14155550100", "to": "+19005550100"}),
    )
    .await;
    assert_eq!(denied["action"], "deny", "{denied}");
    assert_eq!(denied["sip_code"], 403);
    assert_eq!(denied["reason"], "Premium numbers are barred");
    assert_eq!(denied["trail"][0]["rule_name"], "No 900", "{denied}");
    assert!(
        denied["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["reason"] == "denied_by_parent" && s["trunk_id"] == carrier),
        "{denied}"
    );
    let routed = evaluate(
        &root,
        json!({"organization": tree.tenant_a1, "to": "+14155550100"}),
    )
    .await;
    assert_eq!(routed["action"], "route", "{routed}");
    assert_eq!(routed["routes"][0]["trunk_id"], carrier);

    // A tenant cannot enforce anything.
    root.create_user("a1-admin", tree.tenant_a1, "admin").await;
    let tenant = app.login("a1-admin", PASSWORD).await;
    let (status, body) = tenant
        .post(
            "/v1/dialplans/groups",
            json!({"name": "Mine", "enforced": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(message(&body).starts_with("enforced"), "{body}");
}

#[tokio::test]
async fn templates_are_listed_and_emergency_first_binds_everyone() {
    let app = quiet_app().await;
    let (tree, root) = support::tree(&app).await;
    let (status, list) = root.get("/v1/dialplans/templates").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let names: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    for wanted in ["emergency-first", "nanp", "uk"] {
        assert!(names.contains(&wanted), "{names:?}");
    }

    let emergency = trunk(&root, tree.platform, "Emergency", &["sip:192.0.2.99"], 100).await;
    let outbound = trunk(&root, tree.partner_a, "Outbound", &["sip:192.0.2.10"], 30).await;
    let international = trunk(&root, tree.partner_a, "Intl", &["sip:192.0.2.11"], 30).await;

    // Bad bindings are named; an unknown template is not found.
    let (status, body) = root
        .post(
            "/v1/dialplans/templates/emergency-first/instantiate",
            json!({"organization_id": tree.platform, "bindings": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).starts_with("bindings.emergency"), "{body}");
    let (status, _) = root
        .post(
            "/v1/dialplans/templates/atlantis/instantiate",
            json!({"bindings": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A binding to a trunk the organization cannot use is a 404 naming the variable.
    let (status, body) = root
        .post(
            "/v1/dialplans/templates/emergency-first/instantiate",
            json!({"organization_id": tree.platform, "bindings": {"emergency": outbound}}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(
        message(&body).starts_with("bindings.emergency: SIP trunk"),
        "{body}"
    );

    let (status, created) = root
        .post(
            "/v1/dialplans/templates/emergency-first/instantiate",
            json!({"organization_id": tree.platform, "bindings": {"emergency": emergency}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["data"][0]["enforced"], true);
    let (status, again) = root
        .post(
            "/v1/dialplans/templates/emergency-first/instantiate",
            json!({"organization_id": tree.platform, "bindings": {"emergency": emergency}}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");

    let (status, nanp) = root
        .post(
            "/v1/dialplans/templates/nanp/instantiate",
            json!({"organization_id": tree.tenant_a1,
                   "bindings": {"outbound": outbound, "international": international}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{nanp}");

    // The tenant bars everything it can; emergency calls still go to the platform's trunk.
    let bar_all = policy(
        &root,
        tree.tenant_a1,
        "Closed",
        json!([{"name": "closed", "action": {"type": "deny", "sip_code": 403, "reason": "Closed"}}]),
    )
    .await;
    group(&root, tree.tenant_a1, "Closed", false, &[bar_all]).await;
    let call = evaluate(&root, json!({"organization": tree.tenant_a1, "to": "911"})).await;
    assert_eq!(call["action"], "route", "{call}");
    assert_eq!(call["routes"][0]["trunk_id"], emergency, "{call}");
    assert_eq!(call["routes"][0]["gateway_uri"], "sip:192.0.2.99");
    let other = evaluate(
        &root,
        json!({"organization": tree.tenant_a1, "to": "+14155550100"}),
    )
    .await;
    assert_eq!(other["action"], "route", "{other}");
    assert_eq!(other["routes"][0]["trunk_id"], outbound, "{other}");
    let premium = evaluate(
        &root,
        json!({"organization": tree.tenant_a1, "to": "+19005550100"}),
    )
    .await;
    assert_eq!(premium["action"], "deny", "{premium}");

    // A suspended partner's tenant reaches emergency numbers only, once the plan has seen the
    // suspension (the change feed rebuilds it at once; the refresh below only makes sure it has,
    // so it may find nothing left to rebuild).
    let (status, body) = root
        .put(
            &format!("/v1/organizations/{}", tree.partner_a),
            json!({"status": "suspended"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let state = app.state();
    state.dialplan.refresh(&state.db).await.unwrap();
    let barred = evaluate(
        &root,
        json!({"organization": tree.tenant_a1, "to": "+14155550100"}),
    )
    .await;
    assert_eq!(
        (&barred["action"], &barred["sip_code"], &barred["reason"]),
        (
            &json!("deny"),
            &json!(403),
            &json!(format!(
                "Organization suspended (organization {})",
                tree.partner_a
            ))
        ),
        "{barred}"
    );
    let call = evaluate(&root, json!({"organization": tree.tenant_a1, "to": "911"})).await;
    assert_eq!(call["routes"][0]["trunk_id"], emergency, "{call}");
    let (status, body) = root
        .put(
            &format!("/v1/organizations/{}", tree.partner_a),
            json!({"status": "active"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    state.dialplan.refresh(&state.db).await.unwrap();
    let other = evaluate(
        &root,
        json!({"organization": tree.tenant_a1, "to": "+14155550100"}),
    )
    .await;
    assert_eq!(other["routes"][0]["trunk_id"], outbound, "{other}");
}

#[tokio::test]
async fn evaluation_lists_gateway_uris_and_translated_numbers() {
    let app = quiet_app().await;
    let (tree, root) = support::tree(&app).await;
    let first = trunk(
        &root,
        tree.partner_a,
        "First",
        &["sip:192.0.2.10:5060", "sip:192.0.2.11:5060;transport=tcp"],
        30,
    )
    .await;
    let second = trunk(&root, tree.partner_a, "Second", &["sip:192.0.2.20"], 30).await;
    let translate = policy(
        &root,
        tree.partner_a,
        "Normalise",
        json!([{"name": "0044 → +44", "match": {"prefixes": ["+440"]},
                "action": {"type": "translate", "strip": 4, "prepend": "+44"}}]),
    )
    .await;
    let routes = policy(
        &root,
        tree.partner_a,
        "UK",
        json!([{"name": "UK", "match": {"prefixes": ["+44"]},
                "action": {"type": "route", "routes": [
                    {"trunk_id": first, "rewrite": {"strip": 1, "prepend": "00"}},
                    {"trunk_id": second}]}}]),
    )
    .await;
    group(&root, tree.partner_a, "Main", false, &[translate, routes]).await;

    let decision = evaluate(
        &root,
        json!({"organization": tree.partner_a, "from": "+14155550100", "to": "+4402079460000"}),
    )
    .await;
    assert_eq!(decision["action"], "route", "{decision}");
    let routes = decision["routes"].as_array().unwrap();
    assert_eq!(routes.len(), 3, "{decision}");
    assert_eq!(routes[0]["trunk_id"], first);
    assert_eq!(routes[0]["gateway_uri"], "sip:192.0.2.10:5060");
    assert_eq!(routes[0]["number"], "00442079460000");
    assert_eq!(routes[0]["order"], 1);
    assert_eq!(
        routes[1]["gateway_uri"],
        "sip:192.0.2.11:5060;transport=tcp"
    );
    assert_eq!(routes[2]["trunk_id"], second);
    assert_eq!(routes[2]["number"], "+442079460000");
    let effects: Vec<&str> = decision["trail"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["effect"].as_str())
        .collect();
    assert_eq!(effects, vec!["translate", "route"], "{decision}");
    // Nothing matching is a deny 404.
    let nothing = evaluate(
        &root,
        json!({"organization": tree.partner_a, "to": "+33142000000"}),
    )
    .await;
    assert_eq!(nothing["action"], "deny", "{nothing}");
    assert_eq!(nothing["sip_code"], 404);
}

#[tokio::test]
async fn a_trunk_at_its_channel_limit_is_skipped() {
    let app = quiet_app().await;
    let (tree, root) = support::tree(&app).await;
    let small = trunk(&root, tree.partner_a, "Small", &["sip:192.0.2.10"], 2).await;
    let big = trunk(&root, tree.partner_a, "Big", &["sip:192.0.2.20"], 100).await;
    let p = policy(
        &root,
        tree.partner_a,
        "All",
        json!([{"action": route_to(&[small, big])}]),
    )
    .await;
    group(&root, tree.partner_a, "Main", false, &[p]).await;
    let call = json!({"organization": tree.partner_a, "to": "+14155550100"});
    assert_eq!(
        evaluate(&root, call.clone()).await["routes"][0]["trunk_id"],
        small
    );

    let (status, body) = root
        .put(
            &format!("/v1/siptrunks/{small}/channels"),
            json!({"in_use": 2}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["in_use"], 2);
    assert_eq!(body["data"]["max_channels"], 2);
    let (_, got) = root.get(&format!("/v1/siptrunks/{small}/channels")).await;
    assert!(got["data"]["reported_at"].is_string(), "{got}");

    let decision = evaluate(&root, call.clone()).await;
    assert_eq!(decision["routes"][0]["trunk_id"], big, "{decision}");
    assert_eq!(decision["skipped"][0]["reason"], "channel_limit");
    assert_eq!(decision["skipped"][0]["trunk_id"], small);

    root.put(
        &format!("/v1/siptrunks/{small}/channels"),
        json!({"in_use": 1}),
    )
    .await;
    assert_eq!(evaluate(&root, call).await["routes"][0]["trunk_id"], small);

    // Bad reports and other tenants' trunks.
    let (status, body) = root
        .put(
            &format!("/v1/siptrunks/{small}/channels"),
            json!({"in_use": -1}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).starts_with("in_use"), "{body}");
    root.create_user("b-admin", tree.partner_b, "admin").await;
    let sibling = app.login("b-admin", PASSWORD).await;
    let (status, _) = sibling
        .put(
            &format!("/v1/siptrunks/{small}/channels"),
            json!({"in_use": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Reporting is a change: a read-only user may look, not report.
    root.create_user("a-reader", tree.partner_a, "readonly")
        .await;
    let reader = app.login("a-reader", PASSWORD).await;
    let (status, body) = reader
        .put(
            &format!("/v1/siptrunks/{small}/channels"),
            json!({"in_use": 2}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = reader.get(&format!("/v1/siptrunks/{small}/channels")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"]["in_use"], 1,
        "the refused report changed the count"
    );
}

#[tokio::test]
async fn time_windows_follow_the_instant_asked_about() {
    let app = quiet_app().await;
    let (tree, root) = support::tree(&app).await;
    let day = trunk(&root, tree.partner_a, "Day", &["sip:192.0.2.10"], 30).await;
    let night = trunk(&root, tree.partner_a, "Night", &["sip:192.0.2.20"], 30).await;
    let p = policy(
        &root,
        tree.partner_a,
        "Office hours",
        json!([
            {"name": "office", "match": {"time": [{"weekdays": ["mon", "tue", "wed", "thu", "fri"],
                                                  "from": "09:00", "to": "17:00"}]},
             "action": route_to(&[day])},
            {"name": "closed", "action": route_to(&[night])}
        ]),
    )
    .await;
    group(&root, tree.partner_a, "Main", false, &[p]).await;
    let at = |instant: &str| json!({"organization": tree.partner_a, "to": "+14155550100", "at": instant});
    // Organizations here are on UTC; 2026-11-23 is a Monday.
    let monday = evaluate(&root, at("2026-11-23T10:00:00Z")).await;
    assert_eq!(monday["routes"][0]["trunk_id"], day, "{monday}");
    let evening = evaluate(&root, at("2026-11-23T18:30:00Z")).await;
    assert_eq!(evening["routes"][0]["trunk_id"], night, "{evening}");
    let sunday = evaluate(&root, at("2026-11-22T10:00:00Z")).await;
    assert_eq!(sunday["routes"][0]["trunk_id"], night, "{sunday}");
}

#[tokio::test]
async fn evaluate_refuses_bad_input() {
    let app = quiet_app().await;
    let (tree, root) = support::tree(&app).await;
    let (status, body) = root
        .post(
            "/v1/dialplan/evaluate",
            json!({"organization": tree.partner_a}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).contains("to"), "{body}");
    let (status, body) = root
        .post(
            "/v1/dialplan/evaluate",
            json!({"organization": tree.partner_a, "to": ""}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).starts_with("to"), "{body}");
    let (status, body) = root
        .post(
            "/v1/dialplan/evaluate",
            json!({"organization": 987654, "to": "+14155550100"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = root
        .post(
            "/v1/dialplan/evaluate",
            json!({"organization": tree.partner_a, "to": "+1415", "at": "yesterday"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).starts_with("at"), "{body}");
    let response = root
        .request(Method::POST, "/v1/dialplan/evaluate")
        .header("content-type", "application/json")
        .body("{\"organization\": 1, \"to\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // Another tenant's organization is not found.
    root.create_user("b-admin", tree.partner_b, "admin").await;
    let sibling = app.login("b-admin", PASSWORD).await;
    let (status, body) = sibling
        .post(
            "/v1/dialplan/evaluate",
            json!({"organization": tree.partner_a, "to": "+14155550100"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // An organization with no policies at all is a deny, not an error.
    let empty = evaluate(
        &sibling,
        json!({"organization": tree.partner_b, "to": "+14155550100"}),
    )
    .await;
    assert_eq!(empty["action"], "deny", "{empty}");
}

#[tokio::test]
async fn a_route_is_skipped_when_its_gateway_is_down() {
    let app = TestApp::start_with(|c| {
        c.pinger.interval_s = 1;
        c.pinger.down_interval_s = 1;
        c.pinger.timeout_ms = 800;
    })
    .await;
    let (tree, root) = support::tree(&app).await;
    let dead_uri = silent_gateway().await;
    let live_uri = answering_gateway().await;
    let (status, body) = root
        .post(
            "/v1/siptrunks",
            json!({"organization_id": tree.partner_a, "name": "Primary", "direction": "outbound",
                   "max_channels": 30, "failures_to_down": 1, "gateways": [{"uri": dead_uri}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let primary = body["data"]["id"].as_i64().unwrap();
    let backup = trunk(&root, tree.partner_a, "Backup", &[&live_uri], 30).await;
    let p = policy(
        &root,
        tree.partner_a,
        "Failover",
        json!([{"name": "all", "action": route_to(&[primary, backup])}]),
    )
    .await;
    group(&root, tree.partner_a, "Main", false, &[p]).await;

    let call = json!({"organization": tree.partner_a, "to": "+14155550100"});
    let started = Instant::now();
    let decision = loop {
        let decision = evaluate(&root, call.clone()).await;
        if decision["skipped"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["reason"] == "gateway_down"))
        {
            break decision;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the silent gateway never went down: {decision}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(decision["action"], "route", "{decision}");
    assert_eq!(decision["skipped"][0]["trunk_id"], primary);
    assert_eq!(decision["skipped"][0]["gateway_uri"], dead_uri.as_str());
    assert!(
        decision["skipped"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("down"),
        "{decision}"
    );
    let routes = decision["routes"].as_array().unwrap();
    assert_eq!(routes.len(), 1, "{decision}");
    assert_eq!(routes[0]["trunk_id"], backup);
    assert_eq!(routes[0]["gateway_uri"], live_uri.as_str());
    assert_eq!(routes[0]["number"], "+14155550100");
}

#[tokio::test]
async fn another_instance_picks_up_changes_through_the_revision() {
    let app = TestApp::start_with(|c| c.pinger.enabled = false).await;
    let (tree, root) = support::tree(&app).await;
    let carrier = trunk(&root, tree.partner_a, "Carrier", &["sip:192.0.2.10"], 30).await;
    let p = policy(
        &root,
        tree.partner_a,
        "All",
        json!([{"action": route_to(&[carrier])}]),
    )
    .await;
    group(&root, tree.partner_a, "Main", false, &[p]).await;
    let state = app.state();
    let call = dialtone::dialplan::EvaluateRequest {
        organization_id: tree.partner_a,
        from: String::new(),
        to: "+14155550100".into(),
        at: None,
        trunk: None,
    };
    let routed = dialtone::dialplan::decide(state, &call).unwrap();
    assert_eq!(routed.routes.len(), 1);
    // Another instance would have written this: a change behind this instance's back.
    let db = &state.db;
    dialtone::on_db!(db, pool => {
        sqlx::query("UPDATE dialplan_policies SET rules_json = $1, version = version + 1")
            .bind(r#"[{"action":{"type":"deny","sip_code":480,"reason":"Gone fishing"}}]"#)
            .execute(pool).await.unwrap();
        sqlx::query("UPDATE dialplan_revision SET revision = revision + 1")
            .execute(pool).await.unwrap();
    });
    // ... and published the change, as its service does, through the revision table.
    dialtone::system::changes::Changes::new(db.clone())
        .publish(dialtone::system::changes::PolicyChanged)
        .await;
    let started = Instant::now();
    loop {
        let decision = dialtone::dialplan::decide(state, &call).unwrap();
        if decision.sip_code == Some(480) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{decision:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A stored plan that no longer compiles keeps the last good one and is an event.
    dialtone::on_db!(db, pool => {
        sqlx::query("UPDATE dialplan_policies SET rules_json = $1, version = version + 1")
            .bind(r#"[{"action":{"type":"deny","sip_code":200,"reason":"not a refusal"}}]"#)
            .execute(pool).await.unwrap();
        sqlx::query("UPDATE dialplan_revision SET revision = revision + 1")
            .execute(pool).await.unwrap();
    });
    // ... and published the change, as its service does, through the revision table.
    dialtone::system::changes::Changes::new(db.clone())
        .publish(dialtone::system::changes::PolicyChanged)
        .await;
    let started = Instant::now();
    let events = loop {
        let (status, events) = root
            .get("/v1/eventlog/1?event=dialplan.compile_failed")
            .await;
        assert_eq!(status, StatusCode::OK, "{events}");
        if events["total"].as_i64() == Some(1) {
            break events;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{events}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        events["data"][0]["message"]
            .as_str()
            .unwrap()
            .contains("rules[0].action.sip_code"),
        "{events}"
    );
    let still = dialtone::dialplan::decide(state, &call).unwrap();
    assert_eq!(still.sip_code, Some(480), "{still:?}");

    let metrics = app.http.get(app.url("/metrics")).send().await.unwrap();
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains("dialplan_evaluations_total{action=\"deny\"}"),
        "{text}"
    );
    assert!(text.contains("dialplan_compile_seconds"), "{text}");
}

#[tokio::test]
async fn groups_are_validated_and_scoped() {
    let app = quiet_app().await;
    let (tree, root) = support::tree(&app).await;
    let deny = json!([{"action": {"type": "deny", "sip_code": 403, "reason": "no"}}]);
    let partner_policy = policy(&root, tree.partner_a, "Partner bars", deny.clone()).await;
    let tenant_policy = policy(&root, tree.tenant_a1, "Tenant bars", deny).await;
    let partner_group = group(&root, tree.partner_a, "Partner", false, &[partner_policy]).await;
    let sibling_group = group(&root, tree.partner_b, "Sibling", false, &[]).await;

    let attempt = |body: Value| {
        let root = root.clone();
        async move { root.post("/v1/dialplans/groups", body).await }
    };
    for (body, field) in [
        (
            json!({"organization_id": tree.tenant_a1, "name": "x", "policy_ids": [partner_policy]}),
            "policy_ids[0]",
        ),
        (
            json!({"organization_id": tree.tenant_a1, "name": "x",
                   "policy_ids": [tenant_policy, tenant_policy]}),
            "policy_ids[1]",
        ),
        (
            json!({"organization_id": tree.tenant_a1, "name": "x", "depends_on": [sibling_group]}),
            "depends_on[0]",
        ),
        (
            json!({"organization_id": tree.tenant_a1, "name": "x", "priority": 5000}),
            "priority",
        ),
        (json!({"organization_id": tree.tenant_a1}), "name"),
        (
            json!({"organization_id": tree.tenant_a1, "name": "x", "enforced": "yes"}),
            "enforced",
        ),
    ] {
        let (status, answer) = attempt(body.clone()).await;
        // A missing (or foreign) policy or group is a 404, one listed twice a 409; the rest 400.
        let expected = match field {
            "policy_ids[0]" | "depends_on[0]" => StatusCode::NOT_FOUND,
            "policy_ids[1]" => StatusCode::CONFLICT,
            _ => StatusCode::BAD_REQUEST,
        };
        assert_eq!(status, expected, "{body}: {answer}");
        assert!(message(&answer).contains(field), "{body}: {answer}");
    }
    assert_eq!(
        root.total(&format!(
            "/v1/dialplans/groups?organization_id={}",
            tree.tenant_a1
        ))
        .await,
        0
    );

    // A tenant's group may depend on its parent's; the parent's group then runs first.
    let (status, body) = attempt(json!({"organization_id": tree.tenant_a1, "name": "Tenant",
        "policy_ids": [tenant_policy], "depends_on": [partner_group], "priority": -5}))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["depends_on"], json!([partner_group]));
    assert_eq!(body["data"]["priority"], -5);
    let decision = evaluate(
        &root,
        json!({"organization": tree.tenant_a1, "to": "+14155550100"}),
    )
    .await;
    assert_eq!(
        decision["trail"][0]["group_id"], partner_group,
        "{decision}"
    );

    // Lists are scoped to the caller's subtree.
    root.create_user("b-admin", tree.partner_b, "admin").await;
    let sibling = app.login("b-admin", PASSWORD).await;
    assert_eq!(sibling.total("/v1/dialplans/groups").await, 1);
    assert_eq!(root.total("/v1/dialplans/groups").await, 3);
    let (status, _) = sibling
        .get(&format!("/v1/dialplans/groups/{partner_group}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A listed policy cannot be deleted.
    let (status, body) = root
        .delete(&format!("/v1/dialplans/{partner_policy}"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

#[tokio::test]
async fn an_instance_that_does_not_ping_routes_with_the_pinging_instances_verdicts() {
    // This instance does not ping (pinger off); another one, sharing the database, wrote its
    // verdicts to `gateway_health`.
    let app = quiet_app().await;
    let (tree, root) = support::tree(&app).await;
    let primary = trunk(&root, tree.partner_a, "Primary", &["sip:192.0.2.10"], 30).await;
    let backup = trunk(&root, tree.partner_a, "Backup", &["sip:192.0.2.11"], 30).await;
    let p = policy(
        &root,
        tree.partner_a,
        "All",
        json!([{"action": route_to(&[primary, backup])}]),
    )
    .await;
    group(&root, tree.partner_a, "Main", false, &[p]).await;
    let (_, body) = root.get(&format!("/v1/siptrunks/{primary}")).await;
    let gateway = body["data"]["gateways"][0]["id"].as_i64().unwrap();
    let call = json!({"organization": tree.partner_a, "to": "+14155550100"});
    let before = evaluate(&root, call.clone()).await;
    assert_eq!(before["routes"][0]["trunk_id"], primary, "{before}");

    let db = &app.state().db;
    let since = chrono::Utc::now() - chrono::Duration::seconds(30);
    dialtone::on_db!(db, pool => sqlx::query(
        "INSERT INTO gateway_health (gateway_id, state, since, reason, updated_at) \
         VALUES ($1, 'down', $2, '2 probes failed (timeout)', $2)")
        .bind(gateway).bind(since).execute(pool).await.unwrap().rows_affected());
    dialtone::gateways::pinger::mirror_health(app.state())
        .await
        .unwrap();
    let after = evaluate(&root, call.clone()).await;
    assert_eq!(after["routes"][0]["trunk_id"], backup, "{after}");
    assert_eq!(after["skipped"][0]["trunk_id"], primary, "{after}");
    let (_, body) = root.get(&format!("/v1/siptrunks/{primary}")).await;
    assert_eq!(
        body["data"]["gateways"][0]["health"]["state"], "down",
        "{body}"
    );

    // The verdict withdrawn (the gateway is back, or gone), the route is used again.
    dialtone::on_db!(db, pool => sqlx::query("DELETE FROM gateway_health")
        .execute(pool).await.unwrap().rows_affected());
    dialtone::gateways::pinger::mirror_health(app.state())
        .await
        .unwrap();
    let again = evaluate(&root, call).await;
    assert_eq!(again["routes"][0]["trunk_id"], primary, "{again}");
}
