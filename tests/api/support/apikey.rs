//! API keys as a client holds them: `Key::create(&admin, json!(…))` makes one and keeps its
//! secret; `key.bearer(&app)` is a client sending it as a bearer token, `key.basic(&app, …)` a
//! request sending it as HTTP Basic (what `mod_json_cdr` and phones do).

use super::{Api, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// A key and the secret shown once at its creation (or its last rotation).
#[derive(Debug, Clone)]
pub struct Key {
    pub id: i64,
    pub secret: String,
    /// The whole `data` of the answer that issued it.
    pub issued: Value,
}

impl Key {
    /// Creates a key as `admin` (asserting 201).
    pub async fn create(admin: &Api, body: Value) -> Key {
        let (status, answer) = admin.post("/v1/apikeys", body).await;
        assert_eq!(status, StatusCode::CREATED, "create key: {answer}");
        Key::from_answer(&answer)
    }

    /// The key a create or rotate answer issued.
    pub fn from_answer(answer: &Value) -> Key {
        let data = &answer["data"];
        Key {
            id: data["id"].as_i64().expect("key id"),
            secret: data["secret"].as_str().expect("secret").to_string(),
            issued: data.clone(),
        }
    }

    /// Rotates the key as `admin` with `overlap_s`, returning the key with its new secret.
    pub async fn rotate(&self, admin: &Api, overlap_s: Option<u64>) -> Key {
        let body = match overlap_s {
            Some(s) => serde_json::json!({"overlap_s": s}),
            None => serde_json::json!({}),
        };
        let (status, answer) = admin
            .post(&format!("/v1/apikeys/{}/rotate", self.id), body)
            .await;
        assert_eq!(status, StatusCode::OK, "rotate key {}: {answer}", self.id);
        Key::from_answer(&answer)
    }

    /// A client sending the secret as `Authorization: Bearer`.
    pub fn bearer(&self, app: &TestApp) -> Api {
        app.with_token(&self.secret)
    }

    /// A request with the key as HTTP Basic (user: the key's id, password: the secret).
    pub async fn basic(&self, app: &TestApp, method: Method, path: &str) -> (StatusCode, Value) {
        basic(app, method, path, &self.id.to_string(), &self.secret).await
    }
}

/// A request with any HTTP Basic credentials; status and JSON body.
pub async fn basic(
    app: &TestApp,
    method: Method,
    path: &str,
    user: &str,
    password: &str,
) -> (StatusCode, Value) {
    let response = app
        .http
        .request(method, app.url(path))
        .header("accept", "application/json")
        .basic_auth(user, Some(password))
        .send()
        .await
        .expect("request sent");
    let status = response.status();
    let text = response.text().await.expect("body read");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}
