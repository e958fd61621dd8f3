//! `TestApp`: starts the real daemon in-process on 127.0.0.1:0 with a fresh database, and small
//! helpers that read like the product (`app.root().await.post("/v1/organizations", …)`). The
//! peers a test talks to live beside it: `sip` (a UDP SIP client, sipp), `gateway` (a loopback
//! OPTIONS responder), `phone` (a loopback phone answering NOTIFY), `tree` (organization trees),
//! `pg_cluster` (a private PostgreSQL a test may restart).

#![allow(dead_code)]

pub mod apikey;
pub mod database;
pub mod gateway;
pub mod pg_cluster;
pub mod phone;
pub mod receiver;
pub mod sip;
pub mod tree;

use database::{PgDatabase, fresh_database};
use dialtone::config::{Config, DnsMode};
use dialtone::daemon::{self, Running};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::net::SocketAddr;
pub use tree::{Tree, tree};

pub const ROOT_USER: &str = "root";
pub const ROOT_PASSWORD: &str = "root-password-1";
pub const PASSWORD: &str = "user-password-1";

/// The `message` of an error body (empty when there is none).
pub fn message(body: &Value) -> &str {
    body["message"].as_str().unwrap_or_default()
}

/// `value` without its `health` objects (at any depth): gateway health moves with the pinger,
/// not with API calls, so "nothing changed" compares everything else.
pub fn without_live_health(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, _)| key.as_str() != "health")
                .map(|(key, v)| (key.clone(), without_live_health(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_live_health).collect()),
        other => other.clone(),
    }
}

pub fn backend() -> &'static str {
    match std::env::var("DIALTONE_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => "postgres",
        _ => "sqlite",
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    /// The provisioning listener (phones' side).
    pub provisioning_addr: SocketAddr,
    pub http: reqwest::Client,
    running: Option<Running>,
    _pg: Option<PgDatabase>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts with a config adjusted by `adjust` (after the test defaults are set).
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (url, pg) = fresh_database(dir.path()).await;
        Self::start_at(dir, url, pg, adjust).await
    }

    /// Starts on the database at `url` (a [`pg_cluster::PgCluster`] of the test's own), which
    /// must outlive the app.
    pub async fn start_on(url: &str, adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        Self::start_at(dir, url.to_string(), None, adjust).await
    }

    async fn start_at(
        dir: tempfile::TempDir,
        url: String,
        pg: Option<PgDatabase>,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        let mut config = Config {
            state_directory: dir.path().to_path_buf(),
            ..Config::default()
        };
        config.database.url = url;
        config.database.max_connections = 4;
        config.http.listen = "127.0.0.1:0".parse().unwrap();
        config.sip.listen = vec!["127.0.0.1:0".parse().unwrap()];
        config.redirect.listen = vec!["127.0.0.1:0".parse().unwrap()];
        config.provisioning.listen = "127.0.0.1:0".parse().unwrap();
        // Matrix tests make thousands of calls with one token; the limiter has its own tests.
        config.rate_limit.requests = 100_000;
        // No test asks a DNS server: a name a test does not list in `dns.hosts` resolves to
        // nothing, so the pinger never sends a packet off loopback.
        config.dns.mode = DnsMode::Static;
        adjust(&mut config);
        let running = daemon::start(config).await.expect("daemon starts");
        dialtone::orgs::bootstrap(&running.state.db, "Platform", ROOT_USER, ROOT_PASSWORD)
            .await
            .expect("bootstrap");
        Self {
            addr: running.http_addr,
            provisioning_addr: running.provisioning_addr,
            http: reqwest::Client::new(),
            running: Some(running),
            _pg: pg,
            _dir: dir,
        }
    }

    /// Another instance on this one's database and state directory (its secrets key), as a
    /// second daemon of a cluster would run: no bootstrap. Shut it down before this one.
    pub async fn second_instance(&self, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = self.state().config.clone();
        config.http.listen = "127.0.0.1:0".parse().unwrap();
        config.sip.listen = vec!["127.0.0.1:0".parse().unwrap()];
        config.redirect.listen = vec!["127.0.0.1:0".parse().unwrap()];
        config.provisioning.listen = "127.0.0.1:0".parse().unwrap();
        adjust(&mut config);
        let running = daemon::start(config).await.expect("second daemon starts");
        Self {
            addr: running.http_addr,
            provisioning_addr: running.provisioning_addr,
            http: reqwest::Client::new(),
            running: Some(running),
            _pg: None,
            _dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn state(&self) -> &dialtone::state::AppState {
        &self.running.as_ref().unwrap().state
    }

    /// The SIP redirect listener (started in every test app).
    pub fn redirect(&self) -> &dialtone::dialplan::redirect::Listener {
        self.running.as_ref().unwrap().redirect.as_ref().unwrap()
    }

    /// The redirect listener's UDP (and TCP: same port) address.
    pub fn redirect_addr(&self) -> SocketAddr {
        self.redirect().udp_addrs()[0]
    }

    /// The SIP endpoint's first UDP address (the pinger's and NOTIFY's socket).
    pub fn sip_addr(&self) -> SocketAddr {
        self.state().sip.udp_addrs()[0]
    }

    /// A client without a token.
    pub fn anonymous(&self) -> Api {
        Api {
            app_url: self.url(""),
            http: self.http.clone(),
            token: None,
        }
    }

    /// Logs in and returns the whole response body.
    pub async fn login_raw(&self, username: &str, password: &str) -> (StatusCode, Value) {
        self.anonymous()
            .call(
                Method::POST,
                "/v1/auth/user",
                Some(json!({"username": username, "password": password})),
            )
            .await
    }

    pub async fn login(&self, username: &str, password: &str) -> Api {
        let (status, body) = self.login_raw(username, password).await;
        assert_eq!(status, StatusCode::OK, "login {username}: {body}");
        self.with_token(body["data"]["token"].as_str().unwrap())
    }

    pub fn with_token(&self, token: &str) -> Api {
        Api {
            app_url: self.url(""),
            http: self.http.clone(),
            token: Some(token.to_string()),
        }
    }

    /// The platform administrator created by bootstrap.
    pub async fn root(&self) -> Api {
        self.login(ROOT_USER, ROOT_PASSWORD).await
    }

    pub async fn shutdown(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await.expect("clean shutdown");
        }
    }
}

/// A client with (or without) a bearer token; every call returns status and parsed JSON body.
#[derive(Clone)]
pub struct Api {
    app_url: String,
    pub http: reqwest::Client,
    pub token: Option<String>,
}

impl Api {
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut builder = self
            .http
            .request(method, format!("{}{}", self.app_url, path))
            .header("accept", "application/json");
        if let Some(token) = &self.token {
            builder = builder.bearer_auth(token);
        }
        builder
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut builder = self.request(method, path);
        if let Some(body) = body {
            builder = builder.json(&body);
        }
        let response = builder.send().await.expect("request sent");
        let status = response.status();
        let text = response.text().await.expect("body read");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }

    /// Creates an organization and returns its id (asserting 201).
    pub async fn create_org(&self, name: &str, org_type: &str, parent_id: i64) -> i64 {
        let (status, body) = self
            .post(
                "/v1/organizations",
                json!({"name": name, "type": org_type, "parent_id": parent_id}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "create org {name}: {body}");
        body["data"]["id"].as_i64().unwrap()
    }

    /// Creates a user (password [`PASSWORD`]) and returns its id.
    pub async fn create_user(&self, username: &str, org_id: i64, role: &str) -> i64 {
        let (status, body) = self
            .post(
                "/v1/users",
                json!({"username": username, "password": PASSWORD, "organization_id": org_id, "role": role}),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "create user {username}: {body}"
        );
        body["data"]["id"].as_i64().unwrap()
    }

    /// The `total` of a list call.
    pub async fn total(&self, path: &str) -> i64 {
        let (status, body) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body["total"].as_i64().unwrap()
    }
}
