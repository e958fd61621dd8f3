//! The native `/v1` contract fixes of issue 10: a trailing slash names the same route,
//! `per_page` is `limit` on every list, `POST /v1/dialplan/evaluate` takes `organization_id`
//! (and still `organization`). The rate-limit headers are in `rest_core.rs`.

use crate::support::{TestApp, message};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn a_trailing_slash_answers_as_the_route_without_it() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let id = root.create_org("Acme", "distributor", 1).await;
    for (with, without) in [
        ("/v1/organizations/", "/v1/organizations"),
        ("/v1/organizations//", "/v1/organizations"),
        ("/v1/organizations/?limit=1", "/v1/organizations?limit=1"),
        (
            &format!("/v1/organizations/{id}/") as &str,
            &format!("/v1/organizations/{id}") as &str,
        ),
        ("/v1/users/", "/v1/users"),
        ("/healthz/", "/healthz"),
    ] {
        assert_eq!(root.get(with).await, root.get(without).await, "{with}");
    }
    // Writes too, and the 404 of an unknown route stays a 404.
    let (status, body) = root
        .post(
            "/v1/organizations/",
            json!({"name": "Bakery", "type": "tenant", "parent_id": id}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = root.get("/v1/nothing-here/").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.anonymous().get("/v1/organizations/").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the slash is no way around auth"
    );
    // The documentation page keeps its own slash (it is a folder of files).
    let page = app.http.get(app.url("/swagger/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("swagger"));
    let (status, _) = root.get("/swagger.json/").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn per_page_is_limit_on_every_list() {
    let app = TestApp::start().await;
    let root = app.root().await;
    for name in ["A", "B", "C"] {
        root.create_org(name, "distributor", 1).await;
    }
    for list in [
        "/v1/organizations",
        "/v1/users",
        "/v1/auditlog",
        "/v1/numbers",
    ] {
        let (status, by_limit) = root.get(&format!("{list}?limit=1&page=2")).await;
        assert_eq!(status, StatusCode::OK, "{list}: {by_limit}");
        let (status, by_per_page) = root.get(&format!("{list}?per_page=1&page=2")).await;
        assert_eq!(status, StatusCode::OK, "{list}: {by_per_page}");
        assert_eq!(by_per_page, by_limit, "{list}");
        assert_eq!(by_per_page["limit"], 1, "{list}");
        assert_eq!(by_per_page["offset"], 1, "{list}");
    }
    let (_, page) = root.get("/v1/organizations?per_page=2").await;
    assert_eq!(page["data"].as_array().unwrap().len(), 2, "{page}");
    // Both names given: `limit` wins (a request the document allows is never refused), but a bad
    // `per_page` is still a 400 even beside a good `limit`.
    let (status, page) = root.get("/v1/organizations?per_page=2&limit=1").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["data"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page["limit"], 1, "{page}");
    for bad in ["per_page=0", "per_page=many", "per_page=0&limit=2"] {
        let (status, body) = root.get(&format!("/v1/organizations?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(message(&body).starts_with("per_page: "), "{bad}: {body}");
    }
    // The search takes it in its body too.
    let (status, body) = root
        .post("/v1/numbers/search", json!({"per_page": 3, "page": 2}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((&body["limit"], &body["offset"]), (&json!(3), &json!(3)));
}

#[tokio::test]
async fn evaluate_takes_organization_id_and_still_organization() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let org = root.create_org("Acme", "distributor", 1).await;
    let call = |key: &str| json!({key: org, "from": "+14155550100", "to": "+442079460000"});
    let (status, by_id) = root
        .post("/v1/dialplan/evaluate", call("organization_id"))
        .await;
    let (old_status, by_old_name) = root
        .post("/v1/dialplan/evaluate", call("organization"))
        .await;
    assert_eq!((status, &by_id), (old_status, &by_old_name));
    assert_ne!(status, StatusCode::BAD_REQUEST, "{by_id}");
    let (status, body) = root
        .post("/v1/dialplan/evaluate", json!({"to": "+442079460000"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).contains("organization_id"), "{body}");
    let (status, body) = root
        .post(
            "/v1/dialplan/evaluate",
            json!({"organization_id": org, "organization": org, "to": "+442079460000"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "one name only: {body}");
    // The document names the field as every other body does.
    let doc = app
        .http
        .request(Method::GET, app.url("/v1/documentation"))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let schema = &doc["components"]["schemas"]["EvaluateRequest"];
    assert!(
        schema["properties"]["organization_id"].is_object(),
        "{schema}"
    );
    assert!(schema["properties"]["organization"].is_null(), "{schema}");
    assert_eq!(schema["required"][0], "organization_id", "{schema}");
}
