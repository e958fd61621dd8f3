//! Refused input is not echoed whole: an error quotes at most a short prefix of a bad value (a
//! 5 MB MAC gives a small answer, not a 10 MB one), and a bulk refusal lists at most 100 bad
//! rows and counts the rest.

use crate::support::{TestApp, message};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A body's size and its JSON.
async fn send(api: &crate::support::Api, path: &str, body: Value) -> (StatusCode, usize, Value) {
    let response = api
        .request(Method::POST, path)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, text.len(), serde_json::from_str(&text).unwrap())
}

#[tokio::test]
async fn a_five_megabyte_mac_gets_a_small_answer() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let huge = "a".repeat(5 * 1024 * 1024);
    let device = json!({"mac": huge, "vendor": "yealink", "model": "T54W"});
    let (status, size, body) = send(&root, "/v1/devices/bulk", json!({"devices": [device]})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(size < 2048, "{size} bytes: {body}");
    let error = &body["errors"][0];
    assert_eq!(error["field"], "mac", "{body}");
    let quoted = format!("\"{}\"… ({} characters)", "a".repeat(64), huge.len());
    assert!(
        error["message"].as_str().unwrap().ends_with(&quoted),
        "{body}"
    );
    assert!(message(&body).contains(&quoted), "{body}");

    // Within the ordinary body limit, the single create answers as briefly, in both shapes.
    let big = "b".repeat(900 * 1024);
    let device = json!({"mac": big, "vendor": "yealink", "model": "T54W"});
    let (status, size, body) = send(&root, "/v1/devices", device.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(size < 512, "{size} bytes: {body}");
    assert!(message(&body).starts_with("mac: "), "{body}");
    let xml = app
        .http
        .post(app.url("/v1/devices"))
        .bearer_auth(root.token.as_deref().unwrap())
        .json(&device)
        .send()
        .await
        .unwrap();
    assert_eq!(xml.status(), StatusCode::BAD_REQUEST);
    assert!(xml.text().await.unwrap().len() < 512);

    // What serde itself quotes (an unknown variant, a string for a number) is cut the same way.
    let device = json!({"mac": "001565000001", "vendor": "yealink", "model": "T54W",
                        "status": "x".repeat(500_000)});
    let (status, size, body) = send(&root, "/v1/devices", device).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(size < 512, "{size} bytes: {body}");
    assert!(
        message(&body).starts_with("status: unknown variant"),
        "{body}"
    );

    // A query parameter too.
    let (status, body) = root
        .get(&format!("/v1/organizations?limit={}", "9x".repeat(20_000)))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().len() < 512, "{body}");
}

#[tokio::test]
async fn a_csv_of_many_bad_rows_lists_a_hundred_and_counts_the_rest() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let mut csv = String::from("number,state\n");
    for i in 0..5000 {
        csv.push_str(&format!("not-a-number-{i}-{},available\n", "z".repeat(200)));
    }
    let response = root
        .request(Method::POST, "/v1/numbers/import")
        .header("content-type", "text/csv")
        .body(csv.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let text = response.text().await.unwrap();
    assert!(
        text.len() < 64 * 1024,
        "{} bytes for a {} byte file",
        text.len(),
        csv.len()
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        message(&body),
        "5000 of 5000 rows are invalid; nothing was imported"
    );
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 100, "{body}");
    assert_eq!(errors[0]["row"], 2, "the header is line 1");
    assert_eq!(errors[99]["row"], 101);
    assert_eq!(body["errors_omitted"], 4900, "{body}");
    assert!(
        errors[0]["message"].as_str().unwrap().contains("…"),
        "a long bad value is quoted by its prefix: {}",
        errors[0]
    );

    // The XML shape counts them too.
    let xml = app
        .http
        .post(app.url("/v1/numbers/import"))
        .bearer_auth(root.token.as_deref().unwrap())
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(xml.contains("<errors omitted=\"4900\">"), "{}", &xml[..200]);
    assert_eq!(xml.matches("<error row=").count(), 100);

    // A few bad rows: all listed, nothing counted.
    let (status, body) = root
        .post(
            "/v1/numbers/import",
            json!({"csv": "number\n+14155550100\nnope\n"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["errors"].as_array().unwrap().len(), 1);
    assert!(body.get("errors_omitted").is_none(), "{body}");
}
