//! The OpenAPI document describes what the server sends (envelopes, every error an operation
//! can answer, limits, links), and the server takes what the document allows (a `null`
//! optional body, `3.0` for an integer). schemathesis checks the whole document in CI; these
//! pin the rules a client generator depends on.

use crate::support::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn response<'a>(doc: &'a Value, path: &str, method: &str, status: &str) -> &'a Value {
    let response = &doc["paths"][path][method]["responses"][status];
    match response["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap();
            &doc["components"]["responses"][name]
        }
        None => response,
    }
}

#[tokio::test]
async fn the_document_shows_envelopes_errors_limits_and_links() {
    let app = TestApp::start().await;
    let (_, doc) = app.anonymous().get("/swagger.json").await;

    let list =
        &response(&doc, "/v1/organizations", "get", "200")["content"]["application/json"]["schema"];
    assert_eq!(
        list["required"],
        json!(["status", "data", "total", "limit", "offset"])
    );
    assert_eq!(list["properties"]["data"]["type"], "array");
    let one = &response(&doc, "/v1/organizations/{id}", "get", "200")["content"]["application/json"]
        ["schema"];
    assert_eq!(one["required"], json!(["status", "data"]));

    for status in ["400", "401", "403", "404", "429", "503"] {
        let error = response(&doc, "/v1/organizations/{id}", "get", status);
        assert!(
            error["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{status}"
        );
        assert!(error["content"]["application/xml"].is_object(), "{status}");
        assert!(error["content"]["application/json"].is_object(), "{status}");
    }
    let limit = doc["paths"]["/v1/organizations"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap();
    assert_eq!(limit["schema"]["minimum"], 1);

    let links = &doc["paths"]["/v1/organizations"]["post"]["responses"]["201"]["links"];
    assert_eq!(
        links["get_organization"]["parameters"]["id"],
        "$response.body#/data/id"
    );

    let schemas = doc["components"]["schemas"].as_object().unwrap();
    assert!(
        schemas.contains_key("NotifyAction"),
        "bulk NOTIFY's action has its own name"
    );
    assert_eq!(
        schemas["BulkNotify"]["properties"]["action"]["oneOf"][0]["$ref"],
        "#/components/schemas/NotifyAction"
    );
}

#[tokio::test]
async fn the_server_takes_what_the_document_allows() {
    let app = TestApp::start().await;
    let root = app.root().await;

    let null_body = root
        .request(Method::POST, "/v1/tempauth")
        .header("content-type", "application/json")
        .body("null")
        .send()
        .await
        .unwrap();
    assert_eq!(
        null_body.status(),
        StatusCode::CREATED,
        "a null optional body"
    );

    let (status, body) = root
        .post(
            "/v1/organizations",
            json!({"name": "Whole float", "type": "tenant", "parent_id": 1.0}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "3.0 is an integer: {body}");
    assert_eq!(body["data"]["parent_id"], 1);
    let (status, body) = root
        .post(
            "/v1/organizations",
            json!({"name": "Fraction", "type": "tenant", "parent_id": 1.5}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"].as_str().unwrap().starts_with("parent_id:"),
        "{body}"
    );

    let trace = app
        .http
        .request(Method::TRACE, app.url("/v1/errors"))
        .send()
        .await
        .unwrap();
    assert_eq!(trace.status(), StatusCode::METHOD_NOT_ALLOWED);
    let (status, _) = root.delete("/v1/errors?code=418").await;
    assert_eq!(
        status.as_u16(),
        418,
        "the documented methods answer the asked error"
    );
}
