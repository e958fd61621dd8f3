//! Numbers (`/v1/numbers`): inventory CRUD with E.164 normalisation, the state machine,
//! channel limits, search, CSV import, moves down the tree, assignments and history.

use crate::support::{Api, PASSWORD, TestApp, message, tree};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Instant;

fn id(body: &Value) -> i64 {
    body["data"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id: {body}"))
}

/// Creates an organization in `country` and returns its id.
async fn org_in(api: &Api, name: &str, kind: &str, parent: i64, country: &str) -> i64 {
    let (status, body) = api
        .post(
            "/v1/organizations",
            json!({"name": name, "type": kind, "parent_id": parent, "country": country}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    id(&body)
}

/// Creates a number (asserting 201) and returns its `data`.
async fn create(api: &Api, body: Value) -> Value {
    let (status, response) = api.post("/v1/numbers", body).await;
    assert_eq!(status, StatusCode::CREATED, "create number: {response}");
    response["data"].clone()
}

/// Posts `csv` as `text/csv` to the import route.
async fn import_csv(api: &Api, csv: &str) -> (StatusCode, Value) {
    let response = api
        .request(Method::POST, "/v1/numbers/import")
        .header("content-type", "text/csv")
        .body(csv.to_string())
        .send()
        .await
        .expect("import sent");
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn search(api: &Api, body: Value) -> (StatusCode, Value) {
    api.post("/v1/numbers/search", body).await
}

fn numbers_in(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {body}"))
        .iter()
        .map(|n| n["number"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn crud_with_national_and_e164_forms() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let gb = org_in(&root, "London Ltd", "tenant", t.dist, "GB").await;
    let us = org_in(&root, "SF Inc", "tenant", t.dist, "US").await;

    let london = create(
        &root,
        json!({"number": "020 7946 0958", "organization_id": gb}),
    )
    .await;
    assert_eq!(london["number"], "+442079460958", "{london}");
    assert_eq!(london["state"], "available");
    assert_eq!(london["organization_id"], gb);
    assert_eq!(london["assignment"], Value::Null);
    assert_eq!(london["channel_limit"], Value::Null);
    assert_eq!(london["tags"], json!([]));
    let sf = create(
        &root,
        json!({"number": "1 (415) 555-0134", "organization_id": us, "tags": ["Main", "sales"],
               "channel_limit": 4}),
    )
    .await;
    assert_eq!(sf["number"], "+14155550134");
    assert_eq!(sf["tags"], json!(["main", "sales"]));
    assert_eq!(sf["channel_limit"], 4);
    // E.164 input needs no country; a national number is read in the organization's country.
    let berlin = create(
        &root,
        json!({"number": "+49 30 1234567", "organization_id": us}),
    )
    .await;
    assert_eq!(berlin["number"], "+49301234567");
    let same_text_de = org_in(&root, "Berlin GmbH", "tenant", t.dist, "DE").await;
    let (status, body) = root
        .post(
            "/v1/numbers",
            json!({"number": "030 1234567", "organization_id": same_text_de}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "same number, national form: {body}"
    );
    assert_eq!(message(&body), "number: already exists");

    // Platform-unique whatever the form it is written in.
    for (org, text) in [
        (us, "+1 415 555 0134"),
        (us, "415.555.0134"),
        (gb, "+14155550134"),
    ] {
        let (status, body) = root
            .post(
                "/v1/numbers",
                json!({"number": text, "organization_id": org}),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{text}: {body}");
        assert_eq!(message(&body), "number: already exists");
    }
    for (org, text, needle) in [
        (us, "415-555-CALL", "number: may contain only digits"),
        (us, "555-0134", "number: not a valid US number"),
        (gb, "020 7946", "number: not a valid GB number"),
        (
            us,
            "+0 123 456 789",
            "number: a country code does not start with 0",
        ),
        (us, "", "number: must not be empty"),
    ] {
        let (status, body) = root
            .post(
                "/v1/numbers",
                json!({"number": text, "organization_id": org}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}: {body}");
        assert!(message(&body).starts_with(needle), "{text}: {body}");
    }
    assert_eq!(
        root.total("/v1/numbers").await,
        3,
        "nothing more was written"
    );

    let sf_id = sf["id"].as_i64().unwrap();
    let (status, body) = root.get(&format!("/v1/numbers/{sf_id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"], sf);
    let (status, body) = root
        .put(
            &format!("/v1/numbers/{sf_id}"),
            json!({"tags": ["vip"], "channel_limit": null, "number": "(415) 555-0134"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["tags"], json!(["vip"]));
    assert_eq!(body["data"]["channel_limit"], Value::Null);
    let (status, body) = root
        .put(
            &format!("/v1/numbers/{sf_id}"),
            json!({"number": "+14155550135"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        message(&body).starts_with("number: cannot be changed"),
        "{body}"
    );

    // Lists filter by organization, state, tag and prefix.
    assert_eq!(
        root.total(&format!("/v1/numbers?organization_id={us}"))
            .await,
        2
    );
    assert_eq!(root.total("/v1/numbers?tag=vip").await, 1);
    assert_eq!(root.total("/v1/numbers?prefix=%2B44").await, 1);
    assert_eq!(root.total("/v1/numbers?prefix=49").await, 1);
    assert_eq!(root.total("/v1/numbers?state=available").await, 3);
    assert_eq!(root.total("/v1/numbers?state=active").await, 0);
    // `_` is a LIKE wildcard in SQL: a tag filter must still match it literally.
    create(
        &root,
        json!({"number": "+14155550170", "organization_id": us, "tags": ["a_b"]}),
    )
    .await;
    create(
        &root,
        json!({"number": "+14155550171", "organization_id": us, "tags": ["axb"]}),
    )
    .await;
    assert_eq!(root.total("/v1/numbers?tag=a_b").await, 1);
    assert_eq!(root.total("/v1/numbers?tag=axb").await, 1);
    assert_eq!(root.total("/v1/numbers?tag=a").await, 0, "whole tags only");
    for n in ["+14155550170", "+14155550171"] {
        let (_, body) = search(&root, json!({ "pattern": n })).await;
        let (status, _) = root
            .delete(&format!("/v1/numbers/{}", body["data"][0]["id"]))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, body) = root.get("/v1/numbers?state=gone").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).starts_with("state:"), "{body}");
    let (status, body) = root.get("/v1/numbers?tag=Not%20A%20Tag").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).starts_with("tag:"), "{body}");

    let (status, body) = root.delete(&format!("/v1/numbers/{sf_id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = root.get(&format!("/v1/numbers/{sf_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, audit) = root
        .get(&format!(
            "/v1/auditlog?entity_type=number&entity_id={sf_id}"
        ))
        .await;
    let actions: Vec<&str> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"create") && actions.contains(&"update") && actions.contains(&"delete"),
        "{audit}"
    );
}

#[tokio::test]
async fn state_machine_moves_allowed_and_refused_with_history() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let n = create(
        &root,
        json!({"number": "+14155550100", "organization_id": t.partner_a}),
    )
    .await;
    let path = format!("/v1/numbers/{}", n["id"]);
    let put_state = |state: &'static str| {
        let root = root.clone();
        let path = path.clone();
        async move { root.put(&path, json!({"state": state})).await }
    };

    let (status, body) = put_state("reserved").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = root.post(&format!("{path}/activate"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["state"], "active");
    let (status, body) = root.post(&format!("{path}/activate"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(message(&body).contains("already active"), "{body}");
    let (status, body) = put_state("released").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        message(&body).starts_with("state:") && message(&body).contains("deactivate"),
        "{body}"
    );
    let (status, body) = put_state("reserved").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        message(&body),
        "state: a number cannot go from active to reserved"
    );
    let (status, body) = root.delete(&path).await;
    assert_eq!(status, StatusCode::CONFLICT, "active numbers stay: {body}");
    assert!(message(&body).contains("cannot be deleted"), "{body}");

    let (status, body) = put_state("suspended").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = root.post(&format!("{path}/activate"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = root.post(&format!("{path}/deactivate"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["state"], "available");
    let (status, body) = root.post(&format!("{path}/deactivate"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(message(&body).starts_with("state:"), "{body}");
    let (status, body) = put_state("porting").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = put_state("released").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = root.post(&format!("{path}/activate"), json!({})).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "released cannot be activated: {body}"
    );
    let (status, body) = put_state("gone").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).starts_with("state:"), "{body}");

    let (status, history) = root.get(&format!("{path}/history")).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let entries = history["data"].as_array().unwrap();
    let moves: Vec<(String, String)> = entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["after"]["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("create", "available"),
        ("update", "reserved"),
        ("activate", "active"),
        ("update", "suspended"),
        ("activate", "active"),
        ("deactivate", "available"),
        ("update", "porting"),
        ("update", "released"),
    ]
    .iter()
    .map(|(a, s)| (a.to_string(), s.to_string()))
    .collect();
    assert_eq!(moves, expected, "refused moves leave no trace: {history}");
    assert_eq!(history["total"], 8);
    let last = &entries[7];
    assert_eq!(last["before"]["state"], "porting");
    assert_eq!(last["actor_username"], "root");
    assert!(last["created_at"].is_string());
    let (status, page) = root.get(&format!("{path}/history?limit=3&page=2")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["data"][0]["action"], "update");
    assert_eq!(page["data"][0]["after"]["state"], "suspended");
    assert_eq!(page["total"], 8);

    let (status, body) = root.delete(&path).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "released numbers may be deleted: {body}"
    );
}

#[tokio::test]
async fn channels_get_and_put_with_bounds() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let n = create(
        &root,
        json!({"number": "+14155550101", "organization_id": t.tenant_a1}),
    )
    .await;
    let path = format!("/v1/numbers/{}/channels", n["id"]);
    let (status, body) = root.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"], json!({"number_id": n["id"], "limit": null}));
    for limit in [json!(0), json!(10_000), json!(30), Value::Null] {
        let (status, body) = root.put(&path, json!({ "limit": limit })).await;
        assert_eq!(status, StatusCode::OK, "{limit}: {body}");
        assert_eq!(body["data"]["limit"], limit);
        let (_, body) = root.get(&path).await;
        assert_eq!(body["data"]["limit"], limit);
    }
    let (_, body) = root.put(&path, json!({"limit": 12})).await;
    assert_eq!(body["data"]["limit"], 12);
    for (bad, needle) in [
        (json!({"limit": -1}), "limit: must be 0-10000"),
        (json!({"limit": 10_001}), "limit: must be 0-10000"),
        (json!({"limit": "5"}), "limit:"),
        (json!({"limit": 2.5}), "limit:"),
        (json!({}), "limit: is required"),
        (json!({"limit": 5, "max": 3}), "unknown field `max`"),
    ] {
        let (status, body) = root.put(&path, bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(message(&body).contains(needle), "{bad}: {body}");
    }
    let (_, body) = root.get(&path).await;
    assert_eq!(body["data"]["limit"], 12, "refused puts changed nothing");
    let (_, history) = root.get(&format!("/v1/numbers/{}/history", n["id"])).await;
    assert_eq!(history["total"], 6, "create + 5 channel changes: {history}");
    assert_eq!(history["data"][5]["action"], "channels");
    assert_eq!(history["data"][5]["before"]["channel_limit"], Value::Null);
    assert_eq!(history["data"][5]["after"]["channel_limit"], 12);
}

#[tokio::test]
async fn search_by_prefix_pattern_state_tag_and_organization_with_totals() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let mut csv = String::from("number,organization_id,state,tags\n");
    // 20 numbers +1415555 01xx in tenant_a1 (even ones tagged vip, every fifth active),
    // 5 numbers +1212 in partner_a, 3 in partner_b.
    for i in 0..20 {
        let state = if i % 5 == 0 { "active" } else { "available" };
        let tags = if i % 2 == 0 { "vip;east" } else { "east" };
        csv.push_str(&format!(
            "+1415555{:04},{},{state},{tags}\n",
            100 + i,
            t.tenant_a1
        ));
    }
    // +1212555L100 for L = 0..4: the digit after 555 tells n (2-9) from z (1-9) from x.
    for i in 0..5 {
        csv.push_str(&format!("+1212555{i}100,{},available,\n", t.partner_a));
    }
    for i in 0..3 {
        csv.push_str(&format!(
            "+1646555{:04},{},available,west\n",
            200 + i,
            t.partner_b
        ));
    }
    let (status, body) = import_csv(&root, &csv).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["imported"], 28);

    let cases: Vec<(Value, i64)> = vec![
        (json!({"prefix": "+1415"}), 20),
        (json!({"prefix": "1415555011"}), 10),
        (json!({"pattern": "+1415555xxxx"}), 20),
        (json!({"pattern": "+1415555011x"}), 10),
        (json!({"pattern": "+1415555xxx"}), 0),
        (json!({"pattern": "+1n15nxxxxxx"}), 20),
        (json!({"pattern": "+1n15zxxxxxx"}), 20),
        (json!({"pattern": "+1z1n1xxxxxx"}), 0),
        (json!({"pattern": "+1212555nxxx"}), 3),
        (json!({"pattern": "+1212555zxxx"}), 4),
        (json!({"pattern": "+1212555xxxx"}), 5),
        (json!({"state": "active"}), 4),
        (json!({"tag": "vip"}), 10),
        (json!({"tag": "east", "state": "active"}), 4),
        (json!({"organization_id": t.partner_a}), 25),
        (json!({"organization_id": t.tenant_a1}), 20),
        (json!({"organization_id": t.dist, "tag": "west"}), 3),
        (json!({"prefix": "+1415", "pattern": "+1212xxxxxxx"}), 0),
        (json!({}), 28),
    ];
    for (criteria, expected) in cases {
        let (status, body) = search(&root, criteria.clone()).await;
        assert_eq!(status, StatusCode::OK, "{criteria}: {body}");
        assert_eq!(body["total"], expected, "{criteria}: {body}");
    }
    let (_, body) = search(&root, json!({"pattern": "+1212555nxxx"})).await;
    assert_eq!(
        numbers_in(&body),
        vec!["+12125552100", "+12125553100", "+12125554100"],
        "n is 2-9: {body}"
    );

    // Pagination in the body or the query, with the total of all matches.
    let (status, body) = search(&root, json!({"prefix": "+1415", "limit": 7, "page": 3})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["total"].as_i64(),
            body["limit"].as_i64(),
            body["offset"].as_i64()
        ),
        (Some(20), Some(7), Some(14))
    );
    assert_eq!(
        numbers_in(&body),
        (114..120)
            .map(|i| format!("+1415555{i:04}"))
            .collect::<Vec<_>>()
    );
    let (status, body) = root
        .post(
            "/v1/numbers/search?limit=5&offset=5",
            json!({"tag": "east"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["total"], 20);
    assert_eq!(numbers_in(&body).len(), 5);
    assert_eq!(numbers_in(&body)[0], "+14155550105");

    for (criteria, needle) in [
        (json!({"pattern": "+1415%"}), "pattern:"),
        (json!({"pattern": "+0xx"}), "pattern:"),
        (json!({"prefix": "+1-415-abc"}), "prefix:"),
        (json!({"state": "gone"}), "state:"),
        (json!({"tag": "Two Words"}), "tag:"),
        (json!({"limit": 0}), "limit:"),
        (json!({"page": 0, "offset": 3}), "page:"),
        (json!({"organization_id": "x"}), "organization_id:"),
        (json!({"prefx": "+1"}), "unknown field `prefx`"),
    ] {
        let (status, body) = search(&root, criteria.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{criteria}: {body}");
        assert!(message(&body).contains(needle), "{criteria}: {body}");
    }
    let (status, body) = search(&root, json!({"organization_id": 987654})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(
        message(&body),
        "organization_id: organization 987654 not found"
    );

    // Scoped: partner_b's admin sees its own three and cannot name partner_a.
    root.create_user("b-admin", t.partner_b, "admin").await;
    let b = app.login("b-admin", PASSWORD).await;
    let (_, body) = search(&b, json!({})).await;
    assert_eq!(body["total"], 3, "{body}");
    let (_, body) = search(&b, json!({"prefix": "+1415"})).await;
    assert_eq!(body["total"], 0, "{body}");
    let (status, body) = search(&b, json!({"organization_id": t.partner_a})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(message(&body).starts_with("organization_id:"), "{body}");
}

#[tokio::test]
async fn import_is_all_or_nothing_and_lists_every_bad_row() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let gb = org_in(&root, "London Ltd", "tenant", t.dist, "GB").await;
    create(
        &root,
        json!({"number": "+14155550100", "organization_id": t.partner_a}),
    )
    .await;
    let audit_before = root.total("/v1/auditlog").await;

    let csv = format!(
        "number,state,organization_id,tags,channel_limit\n\
         +14155550101,available,{a},vip,10\n\
         not-a-number,available,{a},,\n\
         +14155550102,gone,{a},,\n\
         +14155550101,available,{a},,\n\
         +14155550100,available,{a},,\n\
         020 7946 0958,reserved,{gb},uk;london,\n\
         +14155550103,available,{a},Bad Tag!,\n\
         +14155550104,available,{a},,20000\n\
         +14155550105,available,987654,,\n\
         +14155550106,available,{a},,x\n",
        a = t.partner_a
    );
    let (status, body) = import_csv(&root, &csv).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        message(&body),
        "8 of 10 rows are invalid; nothing was imported",
        "{body}"
    );
    let errors: Vec<(i64, String)> = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors array: {body}"))
        .iter()
        .map(|e| {
            (
                e["row"].as_i64().unwrap(),
                e["field"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: Vec<(i64, String)> = [
        (3, "number"),
        (4, "state"),
        (5, "number"),
        (6, "number"),
        (8, "tags"),
        (9, "channel_limit"),
        (10, "organization_id"),
        (11, "channel_limit"),
    ]
    .iter()
    .map(|(r, f)| (*r, f.to_string()))
    .collect();
    assert_eq!(errors, expected, "{body}");
    let text = body.to_string();
    assert!(text.contains("is also on line 2"), "{body}");
    assert!(text.contains("already exists"), "{body}");
    assert_eq!(root.total("/v1/numbers").await, 1, "nothing was imported");
    assert_eq!(
        root.total("/v1/auditlog").await,
        audit_before,
        "nothing audited"
    );

    // The same errors in legacy XML for clients that do not ask for JSON.
    let response = app
        .http
        .post(app.url("/v1/numbers/import"))
        .bearer_auth(root.token.as_ref().unwrap())
        .header("content-type", "text/csv")
        .body(csv.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.headers()["content-type"], "application/xml");
    let xml = response.text().await.unwrap();
    assert!(
        xml.contains("<errors><error row=\"3\" field=\"number\">"),
        "{xml}"
    );
    assert!(
        xml.contains("<error row=\"11\" field=\"channel_limit\">"),
        "{xml}"
    );

    // The good rows alone go in, in one piece; the national GB row read as GB.
    let good = format!(
        "number,state,organization_id,tags,channel_limit\n\
         +14155550101,available,{a},vip,10\n\
         020 7946 0958,reserved,{gb},uk;london,\n",
        a = t.partner_a
    );
    let (status, body) = root.post("/v1/numbers/import", json!({"csv": good})).await;
    assert_eq!(status, StatusCode::CREATED, "JSON form: {body}");
    assert_eq!(body["data"]["imported"], 2);
    assert_eq!(body["data"]["organization_ids"], json!([t.partner_a, gb]));
    let (_, body) = search(&root, json!({"prefix": "+44"})).await;
    let london = &body["data"][0];
    assert_eq!(london["number"], "+442079460958", "{body}");
    assert_eq!(london["state"], "reserved");
    assert_eq!(london["tags"], json!(["uk", "london"]));
    let (_, history) = root
        .get(&format!("/v1/numbers/{}/history", london["id"]))
        .await;
    assert_eq!(history["data"][0]["action"], "import", "{history}");
    assert_eq!(history["data"][0]["after"]["number"], "+442079460958");
    let (_, audit) = root.get("/v1/auditlog?entity_type=number_import").await;
    assert_eq!(audit["total"], 1, "{audit}");
    assert_eq!(audit["data"][0]["after"]["imported"], 2);

    // Header problems and empty files are refused as a whole.
    for (csv, needle) in [
        (
            "number,colour\n+14155550199,red\n",
            "csv: unknown column \"colour\"",
        ),
        (
            "state\navailable\n",
            "csv: the header must name a number column",
        ),
        ("number,number\n+1,+1\n", "appears twice"),
        ("number\n", "csv: no rows"),
        ("", "csv:"),
    ] {
        let (status, body) = import_csv(&root, csv).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{csv:?}: {body}");
        assert!(message(&body).contains(needle), "{csv:?}: {body}");
    }
    // A row with the wrong number of fields is a row error like any other.
    let (status, body) = import_csv(&root, "number,state\n+14155550190,available,extra\n").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["errors"][0]["row"], 2, "{body}");
    assert_eq!(body["errors"][0]["field"], "csv", "{body}");
    let response = root
        .request(Method::POST, "/v1/numbers/import")
        .header("content-type", "application/xml")
        .body("<numbers/>")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let (status, body) = root.post("/v1/numbers/import", json!({"csv": 5})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).starts_with("csv:"), "{body}");
    assert_eq!(root.total("/v1/numbers").await, 3);

    // Another tenant's organization is a row error for a partner, and nothing is written.
    root.create_user("b-admin", t.partner_b, "admin").await;
    let b = app.login("b-admin", PASSWORD).await;
    let (status, body) = import_csv(
        &b,
        &format!(
            "number,organization_id\n+14155550180,{}\n+14155550181,\n",
            t.partner_a
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["errors"],
        json!([{"row": 2, "field": "organization_id",
        "message": format!("organization {} not found", t.partner_a)}])
    );
    assert_eq!(root.total("/v1/numbers").await, 3);

    let metrics = app.http.get(app.url("/metrics")).send().await.unwrap();
    let metrics = metrics.text().await.unwrap();
    assert!(metrics.contains("numbers_imported_rows_total"), "{metrics}");
    assert!(
        metrics.contains("numbers_imports_total{result=\"refused\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn import_of_ten_thousand_rows_is_quick() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let mut csv = String::with_capacity(10_000 * 40);
    csv.push_str("number,organization_id,tags\n");
    for i in 0..10_000 {
        // +1 212 2ee llll: exchanges 200-209, lines 0000-0999.
        csv.push_str(&format!(
            "+1212{}{:04},{},bulk\n",
            200 + i / 1000,
            i % 1000,
            t.tenant_a1
        ));
    }
    let started = Instant::now();
    let (status, body) = import_csv(&root, &csv).await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["imported"], 10_000);
    println!(
        "imported 10,000 numbers in {took:?} ({})",
        crate::support::backend()
    );
    assert!(took.as_secs() < 60, "import took {took:?}");
    assert_eq!(root.total("/v1/numbers").await, 10_000);
    let (_, body) = search(&root, json!({"pattern": "+1212205xxxx", "tag": "bulk"})).await;
    assert_eq!(body["total"], 1000);
    // Importing the same file again clashes on every row, and writes nothing.
    let (status, body) = import_csv(&root, &csv).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The first 100 clashes are listed, the rest counted.
    assert_eq!(body["errors"].as_array().unwrap().len(), 100);
    assert_eq!(body["errors_omitted"], 9_900);
    assert!(
        message(&body).starts_with("10000 of 10000 rows are invalid"),
        "{body}"
    );
    assert_eq!(root.total("/v1/numbers").await, 10_000);
}

#[tokio::test]
async fn moving_down_the_tree_is_audited_and_in_history_up_and_sideways_refused() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let user = root.create_user("a-user", t.partner_a, "user").await;
    root.create_user("a-admin", t.partner_a, "admin").await;
    root.create_user("a1-admin", t.tenant_a1, "admin").await;
    let a = app.login("a-admin", PASSWORD).await;
    let a1 = app.login("a1-admin", PASSWORD).await;
    let n = create(
        &a,
        json!({"number": "+14155550100", "assignment": {"type": "user", "id": user}}),
    )
    .await;
    assert_eq!(
        n["organization_id"], t.partner_a,
        "the caller's organization by default"
    );
    let path = format!("/v1/numbers/{}", n["id"]);

    // The user belongs to partner_a: the assignment does not survive a move as is.
    let (status, body) = a.put(&path, json!({"organization_id": t.tenant_a1})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        message(&body).starts_with("assignment.id: user") && message(&body).contains("when moving"),
        "{body}"
    );
    let (status, body) = a
        .put(
            &path,
            json!({"organization_id": t.tenant_a1, "assignment": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["organization_id"], t.tenant_a1);
    assert_eq!(body["data"]["assignment"], Value::Null);

    // Up and sideways are refused, by anyone; nothing changes.
    for (api, target, needle) in [
        (
            &a1,
            t.partner_a,
            format!("organization_id: organization {} not found", t.partner_a),
        ),
        (
            &root,
            t.partner_a,
            "organization_id: a number moves only down the tree".to_string(),
        ),
        (
            &root,
            t.partner_b,
            "organization_id: a number moves only down the tree".to_string(),
        ),
        (
            &root,
            t.platform,
            "organization_id: a number moves only down the tree".to_string(),
        ),
    ] {
        let (status, body) = api.put(&path, json!({"organization_id": target})).await;
        // Not visible reads like missing (404); visible but not below is a conflict (409).
        let expected = if needle.ends_with("not found") {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::CONFLICT
        };
        assert_eq!(status, expected, "to {target}: {body}");
        assert!(message(&body).starts_with(&needle), "to {target}: {body}");
    }
    let (_, body) = root.get(&path).await;
    assert_eq!(body["data"]["organization_id"], t.tenant_a1);
    // The new owner sees it now; it had not before.
    let (status, _) = a1.get(&path).await;
    assert_eq!(status, StatusCode::OK);

    let (_, history) = a1.get(&format!("{path}/history")).await;
    let moved = &history["data"][1];
    assert_eq!(moved["action"], "move", "{history}");
    assert_eq!(moved["actor_username"], "a-admin");
    assert_eq!(moved["before"]["organization_id"], t.partner_a);
    assert_eq!(moved["after"]["organization_id"], t.tenant_a1);
    assert_eq!(moved["before"]["assignment"]["id"], user);
    assert_eq!(
        history["total"], 2,
        "refused moves are not history: {history}"
    );
    for api in [&a, &a1] {
        let (_, audit) = api
            .get(&format!(
                "/v1/auditlog?entity_type=number&action=move&entity_id={}",
                n["id"]
            ))
            .await;
        assert_eq!(
            audit["total"], 1,
            "both the old and the new owner see the move: {audit}"
        );
        assert_eq!(audit["data"][0]["after"]["organization_id"], t.tenant_a1);
    }
}

#[tokio::test]
async fn assignment_targets_are_checked() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let trunk_of = |org: i64, name: &'static str| {
        let root = root.clone();
        async move {
            let (status, body) = root
                .post(
                    "/v1/siptrunks",
                    json!({"organization_id": org, "name": name, "direction": "both", "max_channels": 10}),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            id(&body)
        }
    };
    let dist_trunk = trunk_of(t.dist, "Dist trunk").await;
    let b_trunk = trunk_of(t.partner_b, "B trunk").await;
    let a1_trunk = trunk_of(t.tenant_a1, "A1 trunk").await;
    let a1_user = root.create_user("a1-user", t.tenant_a1, "user").await;
    let a_user = root.create_user("a-user", t.partner_a, "user").await;
    let (status, device) = root
        .post(
            "/v1/devices",
            json!({"organization_id": t.tenant_a1, "mac": "00:15:65:00:00:01", "vendor": "yealink",
                   "model": "T54W", "lines": [{"username": "201", "registrar": "pbx.example.com"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{device}");
    let device = id(&device);
    let plan_of = |org: i64, name: &'static str| {
        let root = root.clone();
        async move {
            let (status, body) = root
                .post(
                    "/v1/dialplans",
                    json!({"organization_id": org, "name": name, "rules": []}),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            id(&body)
        }
    };
    let dist_plan = plan_of(t.dist, "Dist plan").await;
    let b_plan = plan_of(t.partner_b, "B plan").await;
    let n = create(
        &root,
        json!({"number": "+14155550100", "organization_id": t.tenant_a1}),
    )
    .await;
    let path = format!("/v1/numbers/{}", n["id"]);

    for good in [
        json!({"type": "trunk", "id": dist_trunk}),
        json!({"type": "trunk", "id": a1_trunk}),
        json!({"type": "user", "id": a1_user}),
        json!({"type": "device_line", "id": device, "line": 0}),
        json!({"type": "dialplan", "id": dist_plan}),
    ] {
        let (status, body) = root.put(&path, json!({ "assignment": good })).await;
        assert_eq!(status, StatusCode::OK, "{good}: {body}");
        assert_eq!(body["data"]["assignment"], good);
    }
    for (bad, needle) in [
        (
            json!({"type": "trunk", "id": b_trunk}),
            "assignment.id: trunk",
        ),
        (
            json!({"type": "trunk", "id": 987654}),
            "assignment.id: trunk 987654 not found",
        ),
        (json!({"type": "user", "id": a_user}), "assignment.id: user"),
        (
            json!({"type": "device_line", "id": device, "line": 3}),
            "assignment.line: line 3 on device",
        ),
        (
            json!({"type": "device_line", "id": device}),
            "assignment.line:",
        ),
        (
            json!({"type": "device_line", "id": 987654, "line": 0}),
            "assignment.id: device 987654 not found",
        ),
        (
            json!({"type": "dialplan", "id": 0}),
            "assignment.id: must be a positive id",
        ),
        (
            json!({"type": "dialplan", "id": 987654}),
            "assignment.id: dial plan 987654 not found",
        ),
        (
            json!({"type": "dialplan", "id": b_plan}),
            "assignment.id: dial plan",
        ),
        (
            json!({"type": "user", "id": a1_user, "line": 1}),
            "assignment.line: only a device_line",
        ),
        (json!({"type": "fax", "id": 1}), "assignment.type"),
        (json!({"type": "user"}), "assignment: missing field `id`"),
        (json!({"type": "user", "id": "x"}), "assignment.id"),
    ] {
        let (status, body) = root.put(&path, json!({ "assignment": bad })).await;
        // Missing targets (and lines) are 404; one serving another organization is a 409.
        let expected = match needle {
            _ if needle.ends_with("not found") => StatusCode::NOT_FOUND,
            "assignment.line: line 3 on device" => StatusCode::NOT_FOUND,
            "assignment.id: trunk" | "assignment.id: user" | "assignment.id: dial plan" => {
                StatusCode::CONFLICT
            }
            _ => StatusCode::BAD_REQUEST,
        };
        assert_eq!(status, expected, "{bad}: {body}");
        assert!(message(&body).starts_with(needle), "{bad}: {body}");
    }
    let (_, body) = root.get(&path).await;
    assert_eq!(
        body["data"]["assignment"],
        json!({"type": "dialplan", "id": dist_plan})
    );
    let (status, body) = root.put(&path, json!({"assignment": null})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["assignment"], Value::Null);
}

#[tokio::test]
async fn another_tenants_number_is_404_and_bad_bodies_name_the_field() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let n = create(
        &root,
        json!({"number": "+14155550100", "organization_id": t.partner_a}),
    )
    .await;
    root.create_user("b-admin", t.partner_b, "admin").await;
    let b = app.login("b-admin", PASSWORD).await;
    let path = format!("/v1/numbers/{}", n["id"]);
    for (method, suffix, body) in [
        (Method::GET, "", None),
        (Method::PUT, "", Some(json!({"tags": ["mine"]}))),
        (Method::DELETE, "", None),
        (Method::POST, "/activate", None),
        (Method::GET, "/history", None),
        (Method::PUT, "/channels", Some(json!({"limit": 1}))),
    ] {
        let (status, response) = b
            .call(method.clone(), &format!("{path}{suffix}"), body)
            .await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{method} {suffix}: {response}"
        );
        assert_eq!(message(&response), "number not found");
    }
    let (status, body) = b
        .post(
            "/v1/numbers",
            json!({"number": "+14155550101", "organization_id": t.partner_a}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(message(&body).starts_with("organization_id:"), "{body}");
    let (_, body) = root.get(&path).await;
    assert_eq!(body["data"], n, "unchanged");

    for (bad, needle) in [
        (json!({"number": 4155550100u64}), "number: invalid type"),
        (
            json!({"number": "+14155550102", "channel_limit": "ten"}),
            "channel_limit:",
        ),
        (
            json!({"number": "+14155550102", "channel_limit": 10_001}),
            "channel_limit: must be 0-10000",
        ),
        (json!({"number": "+14155550102", "tags": "vip"}), "tags:"),
        (
            json!({"number": "+14155550102", "tags": ["ok", "NOT OK"]}),
            "tags:",
        ),
        (json!({"number": "+14155550102", "state": "sold"}), "state:"),
        (
            json!({"number": "+14155550102", "organization_id": "2"}),
            "organization_id:",
        ),
        (
            json!({"number": "+14155550102", "colour": "red"}),
            "unknown field `colour`",
        ),
        (json!({"state": "available"}), "missing field `number`"),
    ] {
        let (status, body) = root.post("/v1/numbers", bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(message(&body).contains(needle), "{bad}: {body}");
    }
    let response = root
        .request(Method::POST, "/v1/numbers")
        .header("content-type", "application/json")
        .body("{\"number\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let (status, body) = root.put(&path, json!({"tags": 5})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).starts_with("tags:"), "{body}");
    assert_eq!(root.total("/v1/numbers").await, 1, "nothing was written");
    // Read-only users read, and change nothing.
    root.create_user("a-reader", t.partner_a, "readonly").await;
    let reader = app.login("a-reader", PASSWORD).await;
    let (status, _) = reader.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    for (status, body) in [
        reader
            .post("/v1/numbers", json!({"number": "+14155550109"}))
            .await,
        reader.put(&path, json!({"tags": ["x"]})).await,
        reader.post(&format!("{path}/activate"), json!({})).await,
        reader.delete(&path).await,
        import_csv(&reader, "number\n+14155550108\n").await,
    ] {
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    let (status, _) = search(&reader, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    for bad_id in ["0", "abc", "-1"] {
        let (status, _) = root.get(&format!("/v1/numbers/{bad_id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad_id}");
    }
}

#[tokio::test]
async fn documented_under_numbers() {
    let app = TestApp::start().await;
    let (status, doc) = app.anonymous().get("/v1/documentation").await;
    assert_eq!(status, StatusCode::OK);
    for (path, method) in [
        ("/v1/numbers", "get"),
        ("/v1/numbers", "post"),
        ("/v1/numbers/search", "post"),
        ("/v1/numbers/import", "post"),
        ("/v1/numbers/{id}", "get"),
        ("/v1/numbers/{id}", "put"),
        ("/v1/numbers/{id}", "delete"),
        ("/v1/numbers/{id}/activate", "post"),
        ("/v1/numbers/{id}/deactivate", "post"),
        ("/v1/numbers/{id}/channels", "get"),
        ("/v1/numbers/{id}/channels", "put"),
        ("/v1/numbers/{id}/history", "get"),
    ] {
        let op = &doc["paths"][path][method];
        assert_eq!(op["tags"], json!(["numbers"]), "{method} {path}: {op}");
        assert!(op["security"].is_array(), "{method} {path}: {op}");
    }
    let put = doc["paths"]["/v1/numbers/{id}"]["put"].to_string();
    assert!(
        put.contains("active → suspended"),
        "state machine documented: {put}"
    );
    let import = &doc["paths"]["/v1/numbers/import"]["post"]["requestBody"]["content"];
    assert!(
        import["text/csv"].is_object() && import["application/json"].is_object(),
        "{import}"
    );
}

#[tokio::test]
async fn import_size_is_bounded_in_rows_and_bytes() {
    // 100,001 rows fit the default import limit (16 MiB) but not the general one (1 MiB).
    let app = TestApp::start().await;
    let root = app.root().await;
    let mut csv = String::from("number\n");
    for i in 0..=100_000u32 {
        csv.push_str(&format!("+1212{}{:04}\n", 200 + i / 10_000, i % 10_000));
    }
    let (status, body) = import_csv(&root, &csv).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "{}",
        &body.to_string()[..200.min(body.to_string().len())]
    );
    assert_eq!(message(&body), "csv: at most 100000 rows per import");
    assert_eq!(root.total("/v1/numbers").await, 0);
    let big = "x".repeat(16 * 1024 * 1024 + 1);
    let (status, _) = import_csv(&root, &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(root.total("/v1/numbers").await, 0);
}

#[tokio::test]
async fn well_formed_numbers_the_organization_or_state_cannot_take_are_conflicts() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    // A country without a numbering plan here: national numbers cannot be read, E.164 can.
    let nowhere = org_in(&root, "Nowhere", "tenant", t.partner_a, "AA").await;
    let (status, body) = root
        .post(
            "/v1/numbers",
            json!({"number": "020 7946 0000", "organization_id": nowhere}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        message(&body).starts_with("number: organization") && message(&body).contains("E.164"),
        "{body}"
    );
    create(
        &root,
        json!({"number": "+442079460000", "organization_id": nowhere}),
    )
    .await;

    // A released number with an assignment: the state cannot take it; nothing is written.
    let user = root.create_user("a1-user", t.tenant_a1, "user").await;
    let (status, body) = root
        .post(
            "/v1/numbers",
            json!({"number": "+14155550111", "organization_id": t.tenant_a1, "state": "released",
                   "assignment": {"type": "user", "id": user}}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        message(&body).starts_with("assignment: a released number"),
        "{body}"
    );
    assert_eq!(
        root.total(&format!("/v1/numbers?organization_id={}", t.tenant_a1))
            .await,
        0
    );
}

#[tokio::test]
async fn every_committed_number_change_is_an_event_and_a_refused_one_is_not() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let n = create(
        &root,
        json!({"number": "+14155550100", "organization_id": t.partner_a}),
    )
    .await;
    let path = format!("/v1/numbers/{}", n["id"]);
    let (status, body) = root.put(&path, json!({"tags": ["vip"]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = root
        .put(&path, json!({"organization_id": t.tenant_a1}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = root
        .put(&format!("{path}/channels"), json!({"limit": 4}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Refused: changes nothing, so no event.
    let (status, _) = root.put(&path, json!({"state": "bogus"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = root.delete(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = import_csv(&root, "number\n+14155550177\n+14155550178\n").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (_, events) = root.get("/v1/eventlog/1?limit=1000").await;
    let names: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source"] == "numbers")
        .map(|e| e["event"].as_str().unwrap())
        .rev()
        .collect();
    assert_eq!(
        names,
        [
            "number.created",
            "number.updated",
            "number.moved",
            "number.channels_changed",
            "number.deleted",
            "number.imported"
        ],
        "{events}"
    );
    // The partner sees its moved number's events (the tenant is below it).
    let moved = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "number.moved")
        .unwrap();
    assert_eq!(moved["organization_id"], t.tenant_a1, "{moved}");
    assert_eq!(
        moved["detail"]["before"]["organization_id"], t.partner_a,
        "{moved}"
    );
}
