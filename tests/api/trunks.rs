//! SIP trunks, their gateways (with live health) and allowed source IPs: `/v1/siptrunks`.

use crate::support::{Api, PASSWORD, TestApp, message, tree, without_live_health};
use dialtone::gateways::health::{Outcome, Policy};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

/// Creates a trunk (asserting 201) and returns its `data`.
async fn create_trunk(api: &Api, body: Value) -> Value {
    let (status, response) = api.post("/v1/siptrunks", body).await;
    assert_eq!(status, StatusCode::CREATED, "create trunk: {response}");
    response["data"].clone()
}

fn carrier(org: i64) -> Value {
    json!({
        "organization_id": org,
        "name": "Carrier A",
        "direction": "both",
        "max_channels": 30,
        "gateways": [
            {"uri": "sip:GW1.Example.com:5060;transport=TCP"},
            {"uri": "sip:192.0.2.10", "enabled": false, "ping_interval_s": 30, "down_ping_interval_s": 5}
        ]
    })
}

fn id(value: &Value) -> i64 {
    value["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id: {value}"))
}

#[tokio::test]
async fn crud_round_trip_with_gateways() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let trunk = create_trunk(&root, carrier(t.partner_a)).await;
    let trunk_id = id(&trunk);
    assert_eq!(trunk["organization_id"], t.partner_a);
    assert_eq!(trunk["direction"], "both");
    assert_eq!(trunk["max_channels"], 30);
    assert_eq!(trunk["alive_codes"], "2xx,4xx,!408", "default alive set");
    assert_eq!(trunk["failures_to_down"], 3);
    assert_eq!(trunk["successes_to_up"], 2);
    let gateways = trunk["gateways"].as_array().unwrap();
    assert_eq!(gateways.len(), 2);
    assert_eq!(
        gateways[0]["uri"], "sip:gw1.example.com:5060;transport=tcp",
        "normalised"
    );
    assert_eq!(gateways[0]["enabled"], true, "enabled by default");
    assert_eq!(gateways[0]["ping_interval_s"], Value::Null);
    assert_eq!(gateways[0]["position"], 0);
    assert_eq!(gateways[1]["enabled"], false);
    assert_eq!(gateways[1]["ping_interval_s"], 30);
    assert_eq!(gateways[1]["down_ping_interval_s"], 5);
    assert_eq!(gateways[1]["position"], 1);
    for g in gateways {
        assert_eq!(g["trunk_id"], trunk_id);
        assert_eq!(g["health"]["state"], "unknown", "never pinged: {g}");
        assert_eq!(g["health"]["gateway_id"], g["id"]);
        assert_eq!(g["health"]["uri"], g["uri"]);
    }
    assert_eq!(trunk["health"], json!({"up": 0, "down": 0, "unknown": 2}));

    // The single GET adds history; lists do not.
    let path = format!("/v1/siptrunks/{trunk_id}");
    let (status, body) = root.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["gateways"][0]["health"]["history"], json!([]));
    let (status, list) = root.get("/v1/siptrunks").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["total"], 1);
    assert_eq!(list["data"][0]["id"], trunk_id);
    assert_eq!(list["data"][0]["gateways"].as_array().unwrap().len(), 2);
    assert!(
        list["data"][0]["gateways"][0]["health"]
            .get("history")
            .is_none(),
        "{list}"
    );

    // Filters.
    create_trunk(
        &root,
        json!({"organization_id": t.partner_b, "name": "Inbound DIDs", "direction": "inbound", "max_channels": 5}),
    )
    .await;
    assert_eq!(root.total("/v1/siptrunks").await, 2);
    assert_eq!(root.total("/v1/siptrunks?direction=inbound").await, 1);
    assert_eq!(root.total("/v1/siptrunks?name=carrier").await, 1);
    assert_eq!(
        root.total(&format!("/v1/siptrunks?organization_id={}", t.partner_b))
            .await,
        1
    );
    assert_eq!(root.total("/v1/siptrunks?limit=1&page=2").await, 2);
    let (status, body) = root.get("/v1/siptrunks?direction=sideways").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).starts_with("direction:"), "{body}");

    // Update some fields; the rest stay.
    let (status, body) = root
        .put(
            &path,
            json!({"name": "Carrier A2", "max_channels": 60, "alive_codes": "200, 404"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["name"], "Carrier A2");
    assert_eq!(body["data"]["max_channels"], 60);
    assert_eq!(body["data"]["alive_codes"], "200,404", "canonical");
    assert_eq!(body["data"]["direction"], "both");
    assert_eq!(body["data"]["gateways"].as_array().unwrap().len(), 2);

    // A GET body sent back unchanged is accepted (read-only fields included) and changes nothing.
    let (_, current) = root.get(&path).await;
    let (status, body) = root.put(&path, current["data"].clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ids =
        |v: &Value| -> Vec<i64> { v["gateways"].as_array().unwrap().iter().map(id).collect() };
    assert_eq!(ids(&body["data"]), ids(&current["data"]));
    let (status, body) = root
        .put(&path, json!({"organization_id": t.partner_b}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(message(&body).starts_with("organization_id:"), "{body}");

    // Gateways one by one.
    let gateways_path = format!("{path}/gateways");
    let (status, body) = root
        .post(&gateways_path, json!({"uri": "sip:gw3.example.com"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["position"], 2, "appended");
    assert_eq!(body["data"]["health"]["state"], "unknown");
    let gw3 = id(&body["data"]);
    let (status, body) = root
        .post(&gateways_path, json!({"uri": "sip:GW3.example.com"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "same URI twice: {body}");
    assert!(message(&body).starts_with("uri"), "{body}");

    let gw3_path = format!("{gateways_path}/{gw3}");
    let (status, body) = root
        .put(&gw3_path, json!({"enabled": false, "ping_interval_s": 45}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["enabled"], false);
    assert_eq!(body["data"]["ping_interval_s"], 45);
    assert_eq!(body["data"]["uri"], "sip:gw3.example.com");
    let (status, body) = root.put(&gw3_path, json!({"ping_interval_s": null})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["ping_interval_s"], Value::Null, "null clears");
    assert_eq!(body["data"]["enabled"], false, "absent keeps");
    let (status, body) = root.get(&gw3_path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["health"]["history"], json!([]));
    // Sent back after a GET, read-only fields and all.
    let (status, body) = root.put(&gw3_path, body["data"].clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = root
        .put(
            &gw3_path,
            json!({"uri": "sip:gw4.example.com;transport=udp"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["uri"], "sip:gw4.example.com;transport=udp");
    assert_eq!(id(&body["data"]), gw3);

    let (status, body) = root.delete(&gw3_path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = root.get(&gw3_path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = root.delete(&gw3_path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, body) = root.get(&path).await;
    assert_eq!(body["data"]["gateways"].as_array().unwrap().len(), 2);

    // Delete the trunk.
    let (status, body) = root.delete(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = root.get(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(message(&body), "SIP trunk not found");
    let (status, _) = root.get(&format!("{path}/ips")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for bad in ["0", "abc", "-1"] {
        let (status, _) = root.get(&format!("/v1/siptrunks/{bad}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
    }
}

#[tokio::test]
async fn organization_defaults_to_the_callers_and_keeps_its_trunks() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    root.create_user("a-admin", t.partner_a, "admin").await;
    let admin = app.login("a-admin", PASSWORD).await;
    let trunk = create_trunk(
        &admin,
        json!({"name": "Own", "direction": "outbound", "max_channels": 1}),
    )
    .await;
    assert_eq!(trunk["organization_id"], t.partner_a);
    assert_eq!(trunk["gateways"], json!([]));
    assert_eq!(trunk["health"], json!({"up": 0, "down": 0, "unknown": 0}));
    // An organization that still has trunks cannot be deleted; without them it can.
    let org = root.create_org("With trunk", "tenant", t.partner_a).await;
    let trunk = create_trunk(
        &root,
        json!({"organization_id": org, "name": "T", "direction": "both", "max_channels": 2}),
    )
    .await;
    let (status, body) = root.delete(&format!("/v1/organizations/{org}")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = root.delete(&format!("/v1/siptrunks/{}", id(&trunk))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = root.delete(&format!("/v1/organizations/{org}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn validation_errors_name_the_field_and_write_nothing() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let base = || carrier(t.partner_a);
    let with = |key: &str, value: Value| {
        let mut body = base();
        body[key] = value;
        body
    };
    let gateway_with = |key: &str, value: Value| {
        let mut body = base();
        body["gateways"][0][key] = value;
        body
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            gateway_with("uri", json!("http://gw.example.com")),
            "gateways[0].uri:",
        ),
        (
            gateway_with("uri", json!("sip:gw.example.com:0")),
            "gateways[0].uri:",
        ),
        (gateway_with("uri", json!(42)), "gateways[0].uri:"),
        (
            gateway_with("ping_interval_s", json!(0)),
            "gateways[0].ping_interval_s:",
        ),
        (
            gateway_with("ping_interval_s", json!(3601)),
            "gateways[0].ping_interval_s:",
        ),
        (
            gateway_with("down_ping_interval_s", json!(-5)),
            "gateways[0].down_ping_interval_s:",
        ),
        (
            gateway_with("enabled", json!("yes")),
            "gateways[0].enabled:",
        ),
        (gateway_with("colour", json!("red")), "colour"),
        (
            with(
                "gateways",
                json!([{"uri": "sip:a.example.com"}, {"uri": "sip:A.example.com"}]),
            ),
            "gateways[1].uri:",
        ),
        (with("direction", json!("sideways")), "direction:"),
        (with("direction", json!(null)), "direction:"),
        (with("max_channels", json!(0)), "max_channels:"),
        (with("max_channels", json!(100_001)), "max_channels:"),
        (with("max_channels", json!("30")), "max_channels:"),
        (with("max_channels", json!(1.5)), "max_channels:"),
        (with("alive_codes", json!("7xx")), "alive_codes:"),
        (with("alive_codes", json!("!408")), "alive_codes:"),
        (with("failures_to_down", json!(0)), "failures_to_down:"),
        (with("successes_to_up", json!(101)), "successes_to_up:"),
        (with("name", json!("   ")), "name:"),
        (with("name", json!("x".repeat(101))), "name:"),
        (with("colour", json!("red")), "colour"),
        (json!({"direction": "both", "max_channels": 1}), "name"),
    ];
    for (body, needle) in cases {
        let (status, response) = root.post("/v1/siptrunks", body.clone()).await;
        // A gateway URI listed twice is a conflict, like one already on the trunk; the rest 400.
        let expected = if needle == "gateways[1].uri:" {
            StatusCode::CONFLICT
        } else {
            StatusCode::BAD_REQUEST
        };
        assert_eq!(status, expected, "{body}: {response}");
        let text = message(&response);
        assert!(
            if needle.ends_with(':') {
                text.starts_with(needle)
            } else {
                text.contains(needle)
            },
            "{body}: expected {needle:?} in {response}"
        );
    }
    let missing = with("organization_id", json!(987_654));
    let (status, response) = root.post("/v1/siptrunks", missing).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{response}");
    assert_eq!(
        message(&response),
        "organization_id: organization 987654 not found"
    );
    assert_eq!(root.total("/v1/siptrunks").await, 0, "nothing written");
    assert_eq!(
        root.total("/v1/auditlog?entity_type=siptrunk").await,
        0,
        "nothing audited"
    );

    // The same checks on PUT and on single gateways; a bad PUT changes nothing.
    let trunk = create_trunk(&root, base()).await;
    let path = format!("/v1/siptrunks/{}", id(&trunk));
    let put_cases: Vec<(String, Value, &str)> = vec![
        (path.clone(), json!({"max_channels": 0}), "max_channels:"),
        (path.clone(), json!({"direction": "up"}), "direction:"),
        (
            path.clone(),
            json!({"alive_codes": "2xx,!1000"}),
            "alive_codes:",
        ),
        (
            path.clone(),
            json!({"gateways": [{"uri": "sip:ok.example.com"}, {"uri": "bad"}]}),
            "gateways[1].uri:",
        ),
        (
            path.clone(),
            json!({"gateways": [{"uri": "sip:ok.example.com", "ping_interval_s": 0}]}),
            "gateways[0].ping_interval_s:",
        ),
        (path.clone(), json!({"max_chanels": 3}), "max_chanels"),
        (
            format!("{path}/gateways/{}", id(&trunk["gateways"][0])),
            json!({"ping_interval_s": 0}),
            "ping_interval_s:",
        ),
        (
            format!("{path}/gateways/{}", id(&trunk["gateways"][0])),
            json!({"uri": "sip:"}),
            "uri:",
        ),
        (
            format!("{path}/gateways/{}", id(&trunk["gateways"][0])),
            json!({"colour": 1}),
            "colour",
        ),
    ];
    for (target, body, needle) in put_cases {
        let (status, response) = root.put(&target, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{target} {body}: {response}"
        );
        assert!(message(&response).contains(needle), "{body}: {response}");
    }
    for (body, needle) in [
        (json!({"uri": "tel:+15551234"}), "uri:"),
        (
            json!({"uri": "sip:x.example.com", "down_ping_interval_s": 0}),
            "down_ping_interval_s:",
        ),
        (json!({}), "uri"),
    ] {
        let (status, response) = root.post(&format!("{path}/gateways"), body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {response}");
        assert!(message(&response).contains(needle), "{body}: {response}");
    }
    let (_, after) = root.get(&path).await;
    assert_eq!(
        without_live_health(&after["data"]),
        without_live_health(&trunk),
        "bad PUTs changed nothing"
    );
}

#[tokio::test]
async fn trunk_names_are_unique_per_organization() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    create_trunk(&root, carrier(t.partner_a)).await;
    let (status, body) = root.post("/v1/siptrunks", carrier(t.partner_a)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(message(&body).starts_with("name"), "{body}");
    create_trunk(&root, carrier(t.partner_b)).await;
    // Renaming onto a taken name is a conflict too.
    let other = create_trunk(
        &root,
        json!({"organization_id": t.partner_a, "name": "Other", "direction": "both", "max_channels": 1}),
    )
    .await;
    let (status, body) = root
        .put(
            &format!("/v1/siptrunks/{}", id(&other)),
            json!({"name": "Carrier A"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(message(&body).starts_with("name"), "{body}");
}

#[tokio::test]
async fn trunk_ips_are_canonical_strict_unique_and_removable() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let trunk = create_trunk(&root, carrier(t.partner_a)).await;
    let base = format!("/v1/siptrunks/{}/ips", id(&trunk));
    let (status, body) = root
        .post(&base, json!({"cidr": " 192.0.2.7 ", "description": "SBC"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["cidr"], "192.0.2.7/32");
    assert_eq!(body["data"]["description"], "SBC");
    let ip = id(&body["data"]);
    let (status, body) = root.post(&base, json!({"cidr": "2001:db8::/32"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (status, body) = root.post(&base, json!({"cidr": "10.0.0.1/8"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).starts_with("cidr:"), "{body}");
    assert!(message(&body).contains("did you mean 10.0.0.0/8"), "{body}");
    let (status, body) = root.post(&base, json!({"cidr": "example.com"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = root.post(&base, json!({"cidr": "192.0.2.7/32"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(message(&body).starts_with("cidr"), "{body}");
    let (status, body) = root
        .post(&base, json!({"cidr": "192.0.2.0/24", "port": 5060}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // The same network on another trunk is fine.
    let other = create_trunk(
        &root,
        json!({"organization_id": t.partner_a, "name": "Other", "direction": "both", "max_channels": 1}),
    )
    .await;
    let other_base = format!("/v1/siptrunks/{}/ips", id(&other));
    let (status, body) = root.post(&other_base, json!({"cidr": "192.0.2.7"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let other_ip = id(&body["data"]);

    let (status, list) = root.get(&base).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["data"].as_array().unwrap().len(), 2, "{list}");
    // An IP is deleted through its own trunk only.
    let (status, _) = root.delete(&format!("{base}/{other_ip}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = root.delete(&format!("{base}/{ip}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = root.delete(&format!("{base}/{ip}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = root.get(&base).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list}");
}

#[tokio::test]
async fn put_replacing_gateways_keeps_ids_of_unchanged_uris() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let trunk = create_trunk(
        &root,
        json!({"organization_id": t.partner_a, "name": "T", "direction": "outbound", "max_channels": 10,
               "gateways": [{"uri": "sip:a.example.com"}, {"uri": "sip:b.example.com", "enabled": false}]}),
    )
    .await;
    let a = id(&trunk["gateways"][0]);
    let b = id(&trunk["gateways"][1]);
    let path = format!("/v1/siptrunks/{}", id(&trunk));
    let (status, body) = root
        .put(
            &path,
            json!({"gateways": [{"uri": "sip:c.example.com"}, {"uri": "sip:B.EXAMPLE.COM", "ping_interval_s": 20}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let gateways = body["data"]["gateways"].as_array().unwrap();
    assert_eq!(gateways.len(), 2, "{body}");
    assert_eq!(gateways[0]["uri"], "sip:c.example.com");
    assert_eq!(gateways[0]["position"], 0);
    let c = id(&gateways[0]);
    assert!(c != a && c != b, "a new gateway gets a new id");
    assert_eq!(gateways[1]["uri"], "sip:b.example.com");
    assert_eq!(id(&gateways[1]), b, "unchanged URI keeps its id");
    assert_eq!(gateways[1]["position"], 1, "reordered");
    assert_eq!(
        gateways[1]["enabled"], false,
        "absent fields keep their value"
    );
    assert_eq!(gateways[1]["ping_interval_s"], 20);
    let (status, _) = root.get(&format!("{path}/gateways/{a}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "unlisted gateway removed");

    // Each gateway change is audited under its own id.
    for (entity, action) in [(a, "delete"), (b, "update"), (c, "create")] {
        let (_, records) = root
            .get(&format!(
                "/v1/auditlog?entity_type=gateway&entity_id={entity}&action={action}"
            ))
            .await;
        assert_eq!(records["total"], 1, "{action} of {entity}: {records}");
    }

    // An empty list removes them all; a PUT without `gateways` leaves the list alone.
    let (status, body) = root.put(&path, json!({"max_channels": 11})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["gateways"].as_array().unwrap().len(), 2);
    let (status, body) = root.put(&path, json!({"gateways": []})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["gateways"], json!([]));
    assert_eq!(
        body["data"]["health"],
        json!({"up": 0, "down": 0, "unknown": 0})
    );
}

#[tokio::test]
async fn health_comes_from_the_live_registry() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let trunk = create_trunk(&root, carrier(t.partner_a)).await;
    let gw = id(&trunk["gateways"][0]);
    let now = chrono::Utc::now();
    app.state().gateway_health.update(gw, now, |h| {
        h.record(
            &Outcome::Reply {
                code: 200,
                rtt: Duration::from_millis(25),
            },
            &Policy::default(),
            now,
        )
    });
    let path = format!("/v1/siptrunks/{}", id(&trunk));
    let (_, body) = root.get(&path).await;
    let health = &body["data"]["gateways"][0]["health"];
    assert_eq!(health["state"], "up", "{body}");
    assert_eq!(health["last_code"], 200);
    assert_eq!(health["rtt_ms"], 25.0);
    assert_eq!(health["consecutive_successes"], 1);
    assert_eq!(health["history"].as_array().unwrap().len(), 1, "{health}");
    assert_eq!(
        body["data"]["health"],
        json!({"up": 1, "down": 0, "unknown": 1})
    );
    let (_, list) = root.get("/v1/siptrunks").await;
    assert_eq!(list["data"][0]["gateways"][0]["health"]["state"], "up");
    assert!(
        list["data"][0]["gateways"][0]["health"]
            .get("history")
            .is_none()
    );

    // A new URI under the same id starts over.
    let (status, body) = root
        .put(
            &format!("{path}/gateways/{gw}"),
            json!({"uri": "sip:moved.example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["health"]["state"], "unknown", "{body}");
}

#[tokio::test]
async fn ping_targets_are_the_enabled_gateways_with_their_trunk_policy() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let mut body = carrier(t.partner_a);
    body["alive_codes"] = json!("200");
    body["failures_to_down"] = json!(5);
    body["successes_to_up"] = json!(1);
    body["gateways"][0]["ping_interval_s"] = json!(15);
    let trunk = create_trunk(&root, body).await;
    create_trunk(
        &root,
        json!({"organization_id": t.tenant_a1, "name": "B", "direction": "both", "max_channels": 1,
               "gateways": [{"uri": "sip:[2001:db8::1]:5080", "down_ping_interval_s": 7}]}),
    )
    .await;
    let targets = dialtone::gateways::ping_targets(&app.state().db)
        .await
        .unwrap();
    assert_eq!(targets.len(), 2, "the disabled gateway is not pinged");
    let first = &targets[0];
    assert_eq!(first.gateway_id, id(&trunk["gateways"][0]));
    assert_eq!(first.trunk_id, id(&trunk));
    assert_eq!(first.organization_id, t.partner_a);
    assert!(
        first
            .organization_path
            .ends_with(&format!("/{}/", t.partner_a)),
        "{}",
        first.organization_path
    );
    assert_eq!(
        first.uri.to_string(),
        "sip:gw1.example.com:5060;transport=tcp"
    );
    assert_eq!(first.ping_interval, Some(Duration::from_secs(15)));
    assert_eq!(first.down_ping_interval, None);
    assert_eq!(first.policy.failures_to_down, 5);
    assert_eq!(first.policy.successes_to_up, 1);
    assert!(first.policy.alive.contains(200) && !first.policy.alive.contains(404));
    let second = &targets[1];
    assert_eq!(second.organization_id, t.tenant_a1);
    assert_eq!(second.down_ping_interval, Some(Duration::from_secs(7)));
    assert_eq!(second.policy, Policy::default());
}

#[tokio::test]
async fn tenancy_sibling_gets_404_parent_sees_and_changes() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    root.create_user("dist-admin", t.dist, "admin").await;
    root.create_user("b-admin", t.partner_b, "admin").await;
    let parent = app.login("dist-admin", PASSWORD).await;
    let sibling = app.login("b-admin", PASSWORD).await;

    let trunk = create_trunk(&root, carrier(t.partner_a)).await;
    let tid = id(&trunk);
    let gw = id(&trunk["gateways"][0]);
    let (_, body) = root
        .post(
            &format!("/v1/siptrunks/{tid}/ips"),
            json!({"cidr": "192.0.2.0/24"}),
        )
        .await;
    let ip = id(&body["data"]);
    let own = create_trunk(
        &sibling,
        json!({"name": "B own", "direction": "both", "max_channels": 1, "gateways": [{"uri": "sip:b.example.com"}]}),
    )
    .await;
    let own_id = id(&own);
    let own_gw = id(&own["gateways"][0]);

    let before = without_live_health(&root.get(&format!("/v1/siptrunks/{tid}")).await.1);
    let before_ips = root.get(&format!("/v1/siptrunks/{tid}/ips")).await.1;
    let attempts: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/v1/siptrunks/{tid}"), None),
        (
            Method::PUT,
            format!("/v1/siptrunks/{tid}"),
            Some(json!({"max_channels": 2})),
        ),
        (
            Method::POST,
            format!("/v1/siptrunks/{tid}/gateways"),
            Some(json!({"uri": "sip:x.example.com"})),
        ),
        (
            Method::GET,
            format!("/v1/siptrunks/{tid}/gateways/{gw}"),
            None,
        ),
        (
            Method::PUT,
            format!("/v1/siptrunks/{tid}/gateways/{gw}"),
            Some(json!({"enabled": false})),
        ),
        (Method::GET, format!("/v1/siptrunks/{tid}/ips"), None),
        (
            Method::POST,
            format!("/v1/siptrunks/{tid}/ips"),
            Some(json!({"cidr": "198.51.100.0/24"})),
        ),
        // The sibling's own trunk with partner_a's gateway or IP.
        (
            Method::GET,
            format!("/v1/siptrunks/{own_id}/gateways/{gw}"),
            None,
        ),
        (
            Method::PUT,
            format!("/v1/siptrunks/{own_id}/gateways/{gw}"),
            Some(json!({"enabled": false})),
        ),
        (
            Method::DELETE,
            format!("/v1/siptrunks/{own_id}/gateways/{gw}"),
            None,
        ),
        (
            Method::DELETE,
            format!("/v1/siptrunks/{own_id}/ips/{ip}"),
            None,
        ),
        (
            Method::DELETE,
            format!("/v1/siptrunks/{tid}/gateways/{gw}"),
            None,
        ),
        (
            Method::DELETE,
            format!("/v1/siptrunks/{tid}/ips/{ip}"),
            None,
        ),
        (Method::DELETE, format!("/v1/siptrunks/{tid}"), None),
        // partner_a's trunk with the sibling's own gateway.
        (
            Method::DELETE,
            format!("/v1/siptrunks/{tid}/gateways/{own_gw}"),
            None,
        ),
    ];
    for (method, path, body) in &attempts {
        let (status, response) = sibling.call(method.clone(), path, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "sibling {method} {path}: {response}"
        );
    }
    assert_eq!(
        without_live_health(&root.get(&format!("/v1/siptrunks/{tid}")).await.1),
        before
    );
    assert_eq!(
        root.get(&format!("/v1/siptrunks/{tid}/ips")).await.1,
        before_ips
    );
    let (status, body) = sibling
        .post(
            "/v1/siptrunks",
            json!({"organization_id": t.partner_a, "name": "Intruder", "direction": "both", "max_channels": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(message(&body).starts_with("organization_id:"), "{body}");

    // partner_a's child (tenant_a1) does not see its parent's trunk either.
    root.create_user("a1-admin", t.tenant_a1, "admin").await;
    let child = app.login("a1-admin", PASSWORD).await;
    for (method, path, body) in attempts
        .iter()
        .filter(|(_, p, _)| !p.contains(&format!("/{own_id}/")))
    {
        let (status, response) = child.call(method.clone(), path, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "child {method} {path}: {response}"
        );
    }
    let (status, body) = child
        .post(
            "/v1/siptrunks",
            json!({"organization_id": t.partner_a, "name": "Intruder", "direction": "both", "max_channels": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(child.total("/v1/siptrunks").await, 0);
    assert_eq!(
        without_live_health(&root.get(&format!("/v1/siptrunks/{tid}")).await.1),
        before
    );

    // Lists exclude partner_a's trunk, even when asked for by organization.
    let (_, list) = sibling.get("/v1/siptrunks?limit=1000").await;
    let listed: Vec<i64> = list["data"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(listed, vec![own_id], "{list}");
    assert_eq!(
        sibling
            .total(&format!("/v1/siptrunks?organization_id={}", t.partner_a))
            .await,
        0
    );

    // The parent sees both (its subtree) and may change partner_a's trunk.
    let (_, list) = parent.get("/v1/siptrunks?limit=1000").await;
    let listed: Vec<i64> = list["data"].as_array().unwrap().iter().map(id).collect();
    assert!(listed.contains(&tid) && listed.contains(&own_id), "{list}");
    for (method, path, body) in [
        (Method::GET, format!("/v1/siptrunks/{tid}"), None),
        (
            Method::PUT,
            format!("/v1/siptrunks/{tid}"),
            Some(json!({"max_channels": 2})),
        ),
        (
            Method::GET,
            format!("/v1/siptrunks/{tid}/gateways/{gw}"),
            None,
        ),
        (
            Method::PUT,
            format!("/v1/siptrunks/{tid}/gateways/{gw}"),
            Some(json!({"enabled": false})),
        ),
        (Method::GET, format!("/v1/siptrunks/{tid}/ips"), None),
        (
            Method::DELETE,
            format!("/v1/siptrunks/{tid}/ips/{ip}"),
            None,
        ),
        (
            Method::DELETE,
            format!("/v1/siptrunks/{tid}/gateways/{gw}"),
            None,
        ),
        (Method::DELETE, format!("/v1/siptrunks/{tid}"), None),
    ] {
        let (status, response) = parent.call(method.clone(), &path, body).await;
        assert!(
            status.is_success(),
            "parent {method} {path}: {status} {response}"
        );
    }
    let (status, _) = root.get(&format!("/v1/siptrunks/{tid}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "deleted by the parent");
    let created = create_trunk(
        &parent,
        json!({"organization_id": t.partner_a, "name": "By dist", "direction": "both", "max_channels": 1}),
    )
    .await;
    assert_eq!(created["organization_id"], t.partner_a);
}

#[tokio::test]
async fn every_mutation_leaves_an_audit_record() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let trunk = create_trunk(&root, carrier(t.partner_a)).await;
    let tid = id(&trunk);
    let path = format!("/v1/siptrunks/{tid}");
    root.put(&path, json!({"max_channels": 40})).await;
    let (_, body) = root
        .post(
            &format!("{path}/gateways"),
            json!({"uri": "sip:gw9.example.com"}),
        )
        .await;
    let gw = id(&body["data"]);
    root.put(&format!("{path}/gateways/{gw}"), json!({"enabled": false}))
        .await;
    root.delete(&format!("{path}/gateways/{gw}")).await;
    let (_, body) = root
        .post(&format!("{path}/ips"), json!({"cidr": "203.0.113.0/24"}))
        .await;
    let ip = id(&body["data"]);
    root.delete(&format!("{path}/ips/{ip}")).await;
    root.delete(&path).await;

    let actions = |records: &Value| -> Vec<String> {
        records["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["action"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, records) = root
        .get(&format!(
            "/v1/auditlog?entity_type=siptrunk&entity_id={tid}"
        ))
        .await;
    assert_eq!(
        actions(&records),
        ["delete", "update", "create"],
        "{records}"
    );
    let update = &records["data"][1];
    assert_eq!(update["before"]["max_channels"], 30);
    assert_eq!(update["after"]["max_channels"], 40);
    assert_eq!(update["organization_id"], t.partner_a);
    assert_eq!(update["actor_username"], "root");
    assert_eq!(
        records["data"][2]["after"]["gateways"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "the created trunk with its gateways"
    );
    assert!(
        records["data"][2]["after"]
            .get("organization_path")
            .is_none()
    );
    let (_, records) = root
        .get(&format!("/v1/auditlog?entity_type=gateway&entity_id={gw}"))
        .await;
    assert_eq!(
        actions(&records),
        ["delete", "update", "create"],
        "{records}"
    );
    assert_eq!(records["data"][1]["before"]["enabled"], true);
    assert_eq!(records["data"][1]["after"]["enabled"], false);
    let (_, records) = root
        .get(&format!(
            "/v1/auditlog?entity_type=siptrunk_ip&entity_id={ip}"
        ))
        .await;
    assert_eq!(actions(&records), ["delete", "create"], "{records}");
    // The trunk's delete also recorded the removal of the gateways it still had.
    for g in trunk["gateways"].as_array().unwrap() {
        let (_, records) = root
            .get(&format!(
                "/v1/auditlog?entity_type=gateway&entity_id={}",
                id(g)
            ))
            .await;
        assert_eq!(actions(&records), ["delete", "create"], "{records}");
    }
    // Audit records are scoped like everything else.
    root.create_user("b-admin", t.partner_b, "admin").await;
    let sibling = app.login("b-admin", PASSWORD).await;
    assert_eq!(
        sibling
            .total(&format!(
                "/v1/auditlog?entity_type=siptrunk&entity_id={tid}"
            ))
            .await,
        0
    );
}

#[tokio::test]
async fn readonly_users_read_but_cannot_write() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let trunk = create_trunk(&root, carrier(t.partner_a)).await;
    let tid = id(&trunk);
    let gw = id(&trunk["gateways"][0]);
    let (_, body) = root
        .post(
            &format!("/v1/siptrunks/{tid}/ips"),
            json!({"cidr": "192.0.2.1"}),
        )
        .await;
    let ip = id(&body["data"]);
    root.create_user("viewer", t.partner_a, "readonly").await;
    let viewer = app.login("viewer", PASSWORD).await;
    for path in [
        "/v1/siptrunks".to_string(),
        format!("/v1/siptrunks/{tid}"),
        format!("/v1/siptrunks/{tid}/gateways/{gw}"),
        format!("/v1/siptrunks/{tid}/ips"),
    ] {
        let (status, body) = viewer.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    let writes: Vec<(Method, String, Value)> = vec![
        (
            Method::POST,
            "/v1/siptrunks".into(),
            json!({"name": "V", "direction": "both", "max_channels": 1}),
        ),
        (
            Method::PUT,
            format!("/v1/siptrunks/{tid}"),
            json!({"max_channels": 2}),
        ),
        (Method::DELETE, format!("/v1/siptrunks/{tid}"), Value::Null),
        (
            Method::POST,
            format!("/v1/siptrunks/{tid}/gateways"),
            json!({"uri": "sip:v.example.com"}),
        ),
        (
            Method::PUT,
            format!("/v1/siptrunks/{tid}/gateways/{gw}"),
            json!({"enabled": false}),
        ),
        (
            Method::DELETE,
            format!("/v1/siptrunks/{tid}/gateways/{gw}"),
            Value::Null,
        ),
        (
            Method::POST,
            format!("/v1/siptrunks/{tid}/ips"),
            json!({"cidr": "198.51.100.1"}),
        ),
        (
            Method::DELETE,
            format!("/v1/siptrunks/{tid}/ips/{ip}"),
            Value::Null,
        ),
    ];
    let before = without_live_health(&root.get(&format!("/v1/siptrunks/{tid}")).await.1);
    for (method, path, body) in writes {
        let body = (!body.is_null()).then_some(body);
        let (status, response) = viewer.call(method.clone(), &path, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {response}");
    }
    assert_eq!(
        without_live_health(&root.get(&format!("/v1/siptrunks/{tid}")).await.1),
        before
    );
    assert_eq!(root.total("/v1/siptrunks").await, 1);
}

#[tokio::test]
async fn documented_under_telephony() {
    let app = TestApp::start().await;
    let (status, doc) = app.anonymous().get("/v1/documentation").await;
    assert_eq!(status, StatusCode::OK);
    for (path, method) in [
        ("/v1/siptrunks", "get"),
        ("/v1/siptrunks", "post"),
        ("/v1/siptrunks/{id}", "put"),
        ("/v1/siptrunks/{id}/gateways/{gateway_id}", "delete"),
        ("/v1/siptrunks/{id}/ips/{ip_id}", "delete"),
    ] {
        let op = &doc["paths"][path][method];
        assert_eq!(op["tags"], json!(["telephony"]), "{method} {path}: {op}");
        assert!(op["security"].is_array(), "{method} {path}: {op}");
    }
}
