//! `/v1/sequences`: named, prefixed, padded counters whose numbers stay gapless and unique
//! under concurrent calls on two instances of one database.

use crate::support::tree::tree;
use crate::support::{TestApp, message};
use reqwest::StatusCode;
use serde_json::json;
use std::collections::BTreeSet;

#[tokio::test]
async fn parallel_calls_on_two_instances_get_every_number_once() {
    let app = TestApp::start().await;
    let (tree, root) = tree(&app).await;
    let (status, body) = root
        .post(
            "/v1/sequences",
            json!({"organization_id": tree.partner_a, "name": "invoice", "prefix": "INV-", "padding": 6}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["next_value"], 1);
    let second = app.second_instance(|_| {}).await;
    let other = second.root().await;
    let mut calls = Vec::new();
    for i in 0..200 {
        let api = if i % 2 == 0 {
            root.clone()
        } else {
            other.clone()
        };
        let org = tree.partner_a;
        calls.push(tokio::spawn(async move {
            api.post(
                "/v1/sequences/invoice/next",
                json!({"organization_id": org}),
            )
            .await
        }));
    }
    let mut values = BTreeSet::new();
    for call in calls {
        let (status, body) = call.await.expect("joined");
        assert_eq!(status, StatusCode::OK, "{body}");
        let value = body["data"]["value"].as_i64().unwrap();
        assert_eq!(body["data"]["formatted"], format!("INV-{value:06}"));
        assert!(values.insert(value), "{value} handed out twice");
    }
    assert_eq!(values, (1..=200).collect(), "gapless from 1 to 200");
    let (_, list) = root.get("/v1/sequences").await;
    assert_eq!(list["data"][0]["next_value"], 201, "{list}");
    second.shutdown().await;
}

#[tokio::test]
async fn sequences_are_per_organization_and_refuse_bad_input() {
    let app = TestApp::start().await;
    let (tree, root) = tree(&app).await;
    for org in [tree.partner_a, tree.partner_b] {
        let (status, body) = root
            .post(
                "/v1/sequences",
                json!({"organization_id": org, "name": "ticket", "start": 1000}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = root
        .post(
            "/v1/sequences",
            json!({"organization_id": tree.partner_a, "name": "ticket"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(message(&body).contains("name"), "{body}");
    let (_, a) = root
        .post(
            "/v1/sequences/ticket/next",
            json!({"organization_id": tree.partner_a}),
        )
        .await;
    let (_, b) = root
        .post(
            "/v1/sequences/ticket/next",
            json!({"organization_id": tree.partner_b}),
        )
        .await;
    assert_eq!(
        (
            a["data"]["formatted"].as_str(),
            b["data"]["formatted"].as_str()
        ),
        (Some("1000"), Some("1000"))
    );
    for (body, field) in [
        (json!({"name": "Invoice"}), "name"),
        (json!({"name": "inv", "prefix": "x".repeat(21)}), "prefix"),
        (json!({"name": "inv", "padding": 21}), "padding"),
        (json!({"name": "inv", "start": -1}), "start"),
        (json!({"name": "inv", "next_value": 5}), "next_value"),
    ] {
        let (status, response) = root.post("/v1/sequences", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {response}");
        assert!(message(&response).contains(field), "{body}: {response}");
    }
    for (path, body) in [
        ("/v1/sequences/nothing/next", json!({})),
        ("/v1/sequences/Bad Name/next", json!({})),
        (
            "/v1/sequences/ticket/next",
            json!({"organization_id": 987_654}),
        ),
    ] {
        let (status, response) = root.post(path, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {response}");
    }
    // A sibling cannot take partner A's numbers; the count did not move.
    root.create_user("b-admin", tree.partner_b, "admin").await;
    let sibling = app.login("b-admin", crate::support::PASSWORD).await;
    let (status, _) = sibling
        .post(
            "/v1/sequences/ticket/next",
            json!({"organization_id": tree.partner_a}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = root
        .get(&format!("/v1/sequences?organization_id={}", tree.partner_a))
        .await;
    assert_eq!(list["data"][0]["next_value"], 1001, "{list}");
}
