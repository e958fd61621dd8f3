//! The REST contracts: envelopes, error shapes, pagination, rate limits, body limits, health,
//! metrics, OpenAPI and request ids.

use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn errors_are_legacy_xml_by_default_and_json_when_preferred() {
    let app = TestApp::start().await;
    let response = app
        .http
        .get(app.url("/v1/organizations"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["content-type"], "application/xml");
    let body = response.text().await.unwrap();
    assert!(
        body.contains("<error><code>401</code><message>Authentication required</message></error>"),
        "{body}"
    );

    let response = app
        .http
        .get(app.url("/v1/organizations"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"status": "error", "code": 401, "message": "Authentication required"})
    );

    // XML preferred explicitly over JSON stays XML.
    let response = app
        .http
        .get(app.url("/v1/nothing-here"))
        .header("accept", "application/xml, application/json;q=0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.text().await.unwrap().contains("<code>404</code>"));
}

#[tokio::test]
async fn errors_endpoint_answers_any_method_in_the_same_shape() {
    let app = TestApp::start().await;
    for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
        let response = app
            .http
            .request(method.parse().unwrap(), app.url("/v1/errors"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{method}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("<error><code>400</code>")
        );
    }
    let (status, body) = app.anonymous().get("/v1/errors?code=503").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["code"], 503);
    let (status, body) = app.anonymous().get("/v1/errors?code=200").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().starts_with("code:"));
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_api_shape() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let (status, body) = root.get("/v1/no-such-thing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["status"], "error");
    let (status, body) = root
        .call(reqwest::Method::PATCH, "/v1/organizations", None)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["code"], 405);
}

#[tokio::test]
async fn success_envelope_and_list_fields() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let (status, body) = root.get("/v1/organizations/1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "success");
    for field in ["id", "name", "type", "parent_id", "status", "timezone"] {
        assert!(
            body["data"].get(field).is_some(),
            "organization lacks {field}: {body}"
        );
    }
    assert!(body["data"].get("path").is_none(), "internal path leaked");
    let (_, list) = root.get("/v1/organizations").await;
    assert_eq!(list["status"], "success");
    assert_eq!(list["total"], 1);
    assert_eq!(list["limit"], 50);
    assert_eq!(list["offset"], 0);
    assert!(list["data"].is_array());
}

#[tokio::test]
async fn pagination_edges() {
    let app = TestApp::start().await;
    let root = app.root().await;
    for n in 0..6 {
        root.create_org(&format!("Org {n}"), "tenant", 1).await;
    }
    // 7 organizations in all (platform + 6).
    let (_, body) = root.get("/v1/organizations?limit=2&offset=1").await;
    assert_eq!(
        (
            body["total"].as_i64(),
            body["limit"].as_i64(),
            body["offset"].as_i64()
        ),
        (Some(7), Some(2), Some(1))
    );
    let ids: Vec<i64> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![2, 3]);

    let (_, body) = root.get("/v1/organizations?limit=3&page=3").await;
    assert_eq!(body["offset"], 6);
    assert_eq!(body["data"].as_array().unwrap().len(), 1);

    // `offset` wins over `page` when both are given.
    let (_, body) = root.get("/v1/organizations?limit=3&page=3&offset=1").await;
    assert_eq!(body["offset"], 1);
    assert_eq!(body["data"].as_array().unwrap().len(), 3);

    let (_, body) = root.get("/v1/organizations?offset=100").await;
    assert_eq!(body["data"].as_array().unwrap().len(), 0);
    assert_eq!(body["total"], 7);

    // Documented clamp: above the maximum means the maximum.
    let (status, body) = root.get("/v1/organizations?limit=5000").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["limit"], 1000);

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=-3", "limit"),
        ("limit=abc", "limit"),
        ("limit=1.5", "limit"),
        ("offset=-1", "offset"),
        ("offset=ten", "offset"),
        ("page=0", "page"),
        ("page=x", "page"),
        ("page=0&offset=3", "page"),
    ] {
        let (status, body) = root.get(&format!("/v1/organizations?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(
            body["message"].as_str().unwrap().starts_with(field),
            "{query}: {body}"
        );
    }
}

#[tokio::test]
async fn rate_limit_headers_on_every_response_and_429_past_the_limit() {
    let app = TestApp::start_with(|c| {
        c.rate_limit.requests = 5;
        c.rate_limit.window_s = 60;
    })
    .await;
    // The login spends one request of this IP's budget and issues a genuine token.
    let user = app.root().await;
    let anonymous = app.anonymous();
    for n in 1..5u32 {
        let response = anonymous
            .request(reqwest::Method::GET, "/healthz")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["x-ratelimit-limit"], "5");
        assert_eq!(
            response.headers()["x-ratelimit-remaining"],
            (4 - n).to_string().as_str()
        );
        // The Unix time the window resets, as the platform API documents it.
        let reset: u64 = response.headers()["x-ratelimit-reset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!((now + 1..=now + 61).contains(&reset), "{reset} vs {now}");
    }
    let response = anonymous
        .request(reqwest::Method::GET, "/healthz")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["x-ratelimit-remaining"], "0");
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "seconds: {retry_after}");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], 429);

    // A made-up bearer value buys no budget of its own: it counts against the IP.
    let made_up = app.with_token("dta_not-a-real-token");
    let response = made_up
        .request(reqwest::Method::GET, "/healthz")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);

    // A genuine token has its own budget, separate from the IP's.
    let response = user
        .request(reqwest::Method::GET, "/healthz")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-ratelimit-remaining"], "4");
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413_and_write_nothing() {
    let app = TestApp::start_with(|c| c.http.max_body_bytes = 1024).await;
    let root = app.root().await;
    let before = root.total("/v1/organizations").await;
    let (status, body) = root
        .post(
            "/v1/organizations",
            json!({"name": "x".repeat(4000), "type": "tenant"}),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["code"], 413);
    assert_eq!(root.total("/v1/organizations").await, before);
}

#[tokio::test]
async fn whole_file_routes_take_larger_bodies_than_the_rest() {
    let app = TestApp::start_with(|c| {
        c.http.max_body_bytes = 1024;
        c.http.max_import_bytes = 64 * 1024;
    })
    .await;
    let root = app.root().await;
    // 2,000 numbers (~28 KB): over the general limit, under the import limit.
    let csv: String = std::iter::once("number".to_string())
        .chain((0..2000).map(|n| format!("+1212555{n:04}")))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(csv.len() > 1024 && csv.len() < 64 * 1024);
    let import = |body: String| {
        root.request(reqwest::Method::POST, "/v1/numbers/import")
            .header("content-type", "text/csv")
            .header("accept", "application/json")
            .body(body)
            .send()
    };
    let response = import(csv.clone()).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(root.total("/v1/numbers").await, 2000);
    // The same bytes are too many for an ordinary route.
    let (status, body) = root
        .post("/v1/numbers/search", json!({"prefix": "+1", "pad": csv}))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    // And the import route has its own ceiling.
    let huge: String = std::iter::once("number".to_string())
        .chain((0..6000).map(|n| format!("+1213555{n:04}")))
        .collect::<Vec<_>>()
        .join("\n");
    let response = import(huge).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], 413, "{body}");
    assert_eq!(
        root.total("/v1/numbers").await,
        2000,
        "nothing more imported"
    );
}

#[tokio::test]
async fn a_chunked_body_past_the_limit_is_cut_off_with_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::start_with(|c| c.http.max_body_bytes = 1024).await;
    let root = app.root().await;
    let before = root.total("/v1/organizations").await;
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let body = format!(r#"{{"name":"{}","type":"tenant"}}"#, "x".repeat(4000));
    let mut request = format!(
        "POST /v1/organizations HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
         Accept: application/json\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        root.token.as_ref().unwrap()
    );
    for chunk in body.as_bytes().chunks(500) {
        request.push_str(&format!(
            "{:x}\r\n{}\r\n",
            chunk.len(),
            String::from_utf8_lossy(chunk)
        ));
    }
    request.push_str("0\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"code\":413"), "{answer}");
    assert_eq!(root.total("/v1/organizations").await, before);
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::start().await;
    let (status, body) = app.anonymous().get("/healthz").await;
    assert_eq!(
        (status, body["data"]["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, body) = app.anonymous().get("/readyz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["database"], crate::support::backend());

    app.root().await.get("/v1/organizations/1").await;
    let response = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    assert!(
        text.contains(
            r#"http_requests_total{method="GET",route="/v1/organizations/{id}",status="200"}"#
        ),
        "route label is the template, not the raw path:\n{text}"
    );
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("process_resident_memory_bytes"), "{text}");
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = TestApp::start().await;
    app.state().db.close().await;
    let (status, body) = app.anonymous().get("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let (status, _) = app.anonymous().get("/healthz").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "liveness does not depend on the database"
    );
}

#[tokio::test]
async fn openapi_document_and_swagger_page() {
    let app = TestApp::start().await;
    let (status, doc) = app.anonymous().get("/v1/documentation").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/v1/auth/user",
        "/v1/organizations",
        "/v1/organizations/{id}",
        "/v1/users",
        "/v1/orgips/index",
        "/v1/auditlog",
        "/v1/errors",
        "/v1/tempauth",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from the OpenAPI document"
        );
    }
    let (_, same) = app.anonymous().get("/swagger.json").await;
    assert_eq!(same, doc);

    let page = app.http.get(app.url("/swagger/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(
        !html.contains("://unpkg.com") && !html.contains("cdn."),
        "must render offline"
    );
    let init = app
        .http
        .get(app.url("/swagger/swagger-initializer.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(init.status(), StatusCode::OK);
    assert!(init.text().await.unwrap().contains("/swagger.json"));
    let bundle = app
        .http
        .get(app.url("/swagger/swagger-ui-bundle.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(bundle.status(), StatusCode::OK);
}

#[tokio::test]
async fn request_ids_are_made_or_kept() {
    let app = TestApp::start().await;
    let response = app.http.get(app.url("/healthz")).send().await.unwrap();
    let made = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(!made.is_empty());
    let response = app
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", "client-chosen-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "client-chosen-42");

    // The request id lands in the audit record of the change it caused.
    let root = app.root().await;
    let response = root
        .request(reqwest::Method::POST, "/v1/organizations")
        .header("x-request-id", "trace-me-7")
        .json(&json!({"name": "Traced", "type": "tenant"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let (_, audit) = root
        .get("/v1/auditlog?entity_type=organization&action=create")
        .await;
    assert_eq!(audit["data"][0]["request_id"], "trace-me-7");
}

#[tokio::test]
async fn metrics_can_require_a_bearer_token() {
    let token = "scrape-token-0123456789";
    let app = TestApp::start_with(|c| c.http.metrics_token = Some(token.into())).await;
    let scrape = |bearer: Option<&str>| {
        let mut request = app
            .http
            .get(app.url("/metrics"))
            .header("accept", "application/json");
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        request.send()
    };
    for bearer in [None, Some("scrape-token-0123456788"), Some("short")] {
        let response = scrape(bearer).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{bearer:?}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], 401, "{body}");
        assert!(!body.to_string().contains("http_requests_total"));
    }
    let response = scrape(Some(token)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("process_resident_memory_bytes")
    );
}
