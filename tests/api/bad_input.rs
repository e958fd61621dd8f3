//! Bad input gets a clear 4xx whose message names the field, and writes nothing: no row, no
//! audit record, no change to the object addressed.

use crate::support::{self, Api, PASSWORD, ROOT_PASSWORD, ROOT_USER, TestApp, Tree};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One bad request and what it must answer.
struct Bad {
    method: Method,
    path: String,
    /// The raw request body (`None`: no body at all).
    body: Option<String>,
    status: StatusCode,
    /// Words the error message must contain: the field's name, and what is wrong with it.
    mentions: Vec<&'static str>,
}

fn bad(
    method: Method,
    path: &str,
    body: &str,
    status: StatusCode,
    mentions: &[&'static str],
) -> Bad {
    Bad {
        method,
        path: path.to_string(),
        body: Some(body.to_string()),
        status,
        mentions: mentions.to_vec(),
    }
}

/// 400 naming `mentions`.
fn b400(method: Method, path: &str, body: impl ToString, mentions: &[&'static str]) -> Bad {
    bad(
        method,
        path,
        &body.to_string(),
        StatusCode::BAD_REQUEST,
        mentions,
    )
}

/// A body naming an object that does not exist (or that the caller cannot see): 404 naming the
/// field.
fn b404(method: Method, path: &str, body: impl ToString, field: &'static str) -> Bad {
    bad(
        method,
        path,
        &body.to_string(),
        StatusCode::NOT_FOUND,
        &[field, "not found"],
    )
}

/// An update of a field fixed at creation: 409 naming the field.
fn b409(method: Method, path: &str, body: impl ToString, field: &'static str) -> Bad {
    bad(
        method,
        path,
        &body.to_string(),
        StatusCode::CONFLICT,
        &[field, "cannot be changed"],
    )
}

/// The body-shape cases every JSON endpoint must refuse the same way.
fn shapes(method: Method, path: &str) -> Vec<Bad> {
    vec![
        b400(method.clone(), path, r#"{"name": "#, &["malformed JSON"]),
        b400(method.clone(), path, "", &["request body", "JSON object"]),
        b400(
            method.clone(),
            path,
            "   \n",
            &["request body", "JSON object"],
        ),
        b400(
            method.clone(),
            path,
            r#"[{"name": "x"}]"#,
            &["request body", "JSON object"],
        ),
        b400(method.clone(), path, "[]", &["request body", "JSON object"]),
        b400(
            method.clone(),
            path,
            r#""a string""#,
            &["request body", "JSON object"],
        ),
        b400(method.clone(), path, "42", &["request body", "JSON object"]),
        b400(
            method.clone(),
            path,
            "null",
            &["request body", "JSON object"],
        ),
        b400(
            method,
            path,
            r#"{"name": "x"} trailing"#,
            &["malformed JSON"],
        ),
    ]
}

struct Ctx {
    app: TestApp,
    root: Api,
    tree: Tree,
    /// A user in partner_a (with a `crm` foreign id) that PUT /v1/users cases address.
    user: i64,
    /// An org IP of partner_a: 192.0.2.0/24.
    orgip: i64,
    /// An API key of partner_a (role admin) that the PUT and rotate cases address.
    apikey: i64,
    /// A webhook endpoint of partner_a (inactive, on loopback) for the PUT and rotate cases.
    webhook: i64,
}

async fn ctx() -> Ctx {
    // The webhook below is on loopback (allowed here) and inactive: nothing is ever sent.
    let app = TestApp::start_with(|c| c.webhooks.allow_private = true).await;
    let (tree, root) = support::tree(&app).await;
    let user = root.create_user("existing", tree.partner_a, "user").await;
    let (status, body) = root
        .post(
            &format!("/v1/users/{user}/foreignids"),
            json!({"source": "crm", "foreign_id": "C-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = root
        .post(
            "/v1/orgips",
            json!({"organization_id": tree.partner_a, "cidr": "192.0.2.0/24"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let orgip = body["data"]["id"].as_i64().unwrap();
    let (status, body) = root
        .post(
            &format!("/v1/organizations/{}/domains", tree.partner_a),
            json!({"domain": "pbx.partner-a.example"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = root
        .post(
            "/v1/apikeys",
            json!({"organization_id": tree.partner_a, "name": "Existing key", "role": "admin"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let apikey = body["data"]["id"].as_i64().unwrap();
    let (status, body) = root
        .post(
            "/v1/webhooks",
            json!({"organization_id": tree.partner_a, "url": "http://127.0.0.1:9/hook",
                   "events": ["*"], "active": false}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let webhook = body["data"]["id"].as_i64().unwrap();
    Ctx {
        app,
        root,
        tree,
        user,
        orgip,
        apikey,
        webhook,
    }
}

impl Ctx {
    /// What bad input must not change: the size of every list (the audit log's included) and
    /// the objects the PUT cases address.
    async fn state(&self) -> Value {
        let mut state = serde_json::Map::new();
        for list in [
            "/v1/organizations",
            "/v1/users",
            "/v1/orgips/index",
            "/v1/auditlog",
            "/v1/apikeys",
            "/v1/webhooks",
            "/v1/sequences",
            "/v1/retention",
            "/v1/legalholds",
            "/v1/jobs",
        ] {
            state.insert(list.to_string(), json!(self.root.total(list).await));
        }
        state.insert(
            "eventlog".into(),
            json!(self.root.total("/v1/eventlog/1").await),
        );
        for path in [
            format!("/v1/organizations/{}", self.tree.partner_a),
            format!("/v1/organizations/{}/domains", self.tree.partner_a),
            format!("/v1/organizations/{}/clientaccess", self.tree.partner_a),
            format!("/v1/users/{}", self.user),
            format!("/v1/users/{}/foreignids", self.user),
            format!("/v1/orgips/{}", self.orgip),
            format!("/v1/apikeys/{}", self.apikey),
            format!("/v1/webhooks/{}", self.webhook),
            format!("/v1/webhooks/{}/deliveries", self.webhook),
            format!("/v1/retention/{}", self.tree.partner_a),
        ] {
            let (status, body) = self.root.get(&path).await;
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
            state.insert(path, body);
        }
        Value::Object(state)
    }

    /// Sends every case as `api` and checks status, message and that nothing was written.
    async fn refuse_all(&self, api: &Api, cases: Vec<Bad>) {
        let before = self.state().await;
        for c in cases {
            let label = format!(
                "{} {} {:?}",
                c.method,
                c.path,
                c.body.as_deref().unwrap_or("<no body>")
            );
            let (status, body) = send(api, c.method.clone(), &c.path, c.body.as_deref()).await;
            assert_eq!(status, c.status, "{label}: {body}");
            assert_eq!(body["status"], "error", "{label}: {body}");
            assert_eq!(body["code"], c.status.as_u16(), "{label}: {body}");
            assert!(body.get("data").is_none(), "{label}: {body}");
            let message = body["message"]
                .as_str()
                .unwrap_or_else(|| panic!("{label}: no message: {body}"));
            for word in &c.mentions {
                assert!(
                    message.contains(word),
                    "{label}: message {message:?} should mention {word:?}"
                );
            }
            assert_eq!(self.state().await, before, "{label} wrote something");
        }
    }
}

/// Sends a raw JSON body (as a client would, with `Content-Type: application/json`).
async fn send(api: &Api, method: Method, path: &str, body: Option<&str>) -> (StatusCode, Value) {
    let mut request = api.request(method, path);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.expect("request sent");
    let status = response.status();
    let text = response.text().await.expect("body read");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn create_organization_refuses_bad_input() {
    use Method as M;
    let c = ctx().await;
    let (a, a1) = (c.tree.partner_a, c.tree.tenant_a1);
    let path = "/v1/organizations";
    let mut cases = shapes(M::POST, path);
    cases.extend([
        // The fields in order, as an array, are not an object either.
        b400(
            M::POST,
            path,
            json!(["Array Org", "tenant", a, null, null]),
            &["request body", "JSON object"],
        ),
        b400(
            M::POST,
            path,
            json!({"type": "tenant", "parent_id": a}),
            &["missing field `name`"],
        ),
        b400(
            M::POST,
            path,
            json!({"name": "New", "parent_id": a}),
            &["missing field `type`"],
        ),
        b400(
            M::POST,
            path,
            json!({"name": 5, "type": "tenant", "parent_id": a}),
            &["name", "invalid type"],
        ),
        b400(
            M::POST,
            path,
            json!({"name": "New", "type": 3, "parent_id": a}),
            &["type", "invalid type"],
        ),
        b400(
            M::POST,
            path,
            json!({"name": "New", "type": "tenant", "parent_id": a.to_string()}),
            &["parent_id", "invalid type"],
        ),
        b400(
            M::POST,
            path,
            json!({"name": "New", "type": "tenant", "parent_id": a, "status": true}),
            &["status"],
        ),
        b400(
            M::POST,
            path,
            json!({"name": "New", "type": "tenant", "parent_id": a, "colour": "red"}),
            &["colour", "unknown field"],
        ),
        b400(
            M::POST,
            path,
            json!({"name": "New", "type": "reseller", "parent_id": a}),
            &["type", "reseller"],
        ),
        b400(
            M::POST,
            path,
            json!({"name": "New", "type": "tenant", "parent_id": a, "status": "sleeping"}),
            &["status", "sleeping"],
        ),
        b400(
            M::POST,
            path,
            json!({"name": "New", "type": "tenant", "parent_id": a, "timezone": "Mars/Olympus"}),
            &["timezone", "Mars/Olympus"],
        ),
        b400(
            M::POST,
            path,
            json!({"name": "  ", "type": "tenant", "parent_id": a}),
            &["name", "empty"],
        ),
        b400(
            M::POST,
            path,
            json!({"name": "x".repeat(201), "type": "tenant", "parent_id": a}),
            &["name", "200"],
        ),
        b400(
            M::POST,
            path,
            json!({"name": "a\u{7}b", "type": "tenant", "parent_id": a}),
            &["name", "control"],
        ),
        b404(
            M::POST,
            path,
            json!({"name": "New", "type": "tenant", "parent_id": 987_654}),
            "parent_id",
        ),
        // A tenant cannot have children; a partner cannot have a partner: well-formed requests
        // the parent cannot take, so a conflict.
        bad(
            M::POST,
            path,
            &json!({"name": "Sub", "type": "tenant", "parent_id": a1}).to_string(),
            StatusCode::CONFLICT,
            &["type", "tenant"],
        ),
        bad(
            M::POST,
            path,
            &json!({"name": "Sub", "type": "partner", "parent_id": a}).to_string(),
            StatusCode::CONFLICT,
            &["type", "partner"],
        ),
        bad(
            M::POST,
            path,
            &json!({"name": "Another", "type": "platform", "parent_id": 1}).to_string(),
            StatusCode::CONFLICT,
            &["type", "platform"],
        ),
        bad(
            M::POST,
            path,
            &json!({"name": "Tenant A1", "type": "tenant", "parent_id": a}).to_string(),
            StatusCode::CONFLICT,
            &["name"],
        ),
    ]);
    c.refuse_all(&c.root, cases).await;
}

#[tokio::test]
async fn update_organization_refuses_bad_input() {
    use Method as M;
    let c = ctx().await;
    let path = &format!("/v1/organizations/{}", c.tree.partner_a);
    let mut cases = shapes(M::PUT, path);
    cases.extend([
        b400(M::PUT, path, json!({"name": 5}), &["name", "invalid type"]),
        b400(M::PUT, path, json!({"name": ""}), &["name", "empty"]),
        b400(
            M::PUT,
            path,
            json!({"name": "Ok", "nmae": "typo"}),
            &["nmae", "unknown field"],
        ),
        b400(
            M::PUT,
            path,
            json!({"timezone": "Nowhere/City"}),
            &["timezone", "Nowhere/City"],
        ),
        b400(
            M::PUT,
            path,
            json!({"timezone": 1}),
            &["timezone", "invalid type"],
        ),
        b400(
            M::PUT,
            path,
            json!({"status": "paused"}),
            &["status", "paused"],
        ),
        b409(M::PUT, path, json!({"type": "tenant"}), "type"),
        b400(M::PUT, path, json!({"type": "reseller"}), &["type"]),
        b409(
            M::PUT,
            path,
            json!({"parent_id": c.tree.partner_b}),
            "parent_id",
        ),
        b409(M::PUT, path, json!({"parent_id": null}), "parent_id"),
        b400(
            M::PUT,
            path,
            json!({"parent_id": "2"}),
            &["parent_id", "invalid type"],
        ),
        // Everything valid but one field: nothing of it is applied.
        b400(
            M::PUT,
            path,
            json!({"name": "Half Applied", "timezone": "Bad/Zone"}),
            &["timezone"],
        ),
        bad(
            M::PUT,
            path,
            &json!({"name": "Partner B"}).to_string(),
            StatusCode::CONFLICT,
            &["name"],
        ),
    ]);
    let access = &format!("/v1/organizations/{}/clientaccess", c.tree.partner_a);
    cases.extend([
        b400(
            M::PUT,
            access,
            json!({"api_enabled": "yes"}),
            &["api_enabled", "invalid type"],
        ),
        b400(
            M::PUT,
            access,
            json!({"restrict_to_orgips": 1}),
            &["restrict_to_orgips", "invalid type"],
        ),
        b400(
            M::PUT,
            access,
            json!({"restrict": true}),
            &["restrict", "unknown field"],
        ),
    ]);
    c.refuse_all(&c.root, cases).await;
}

#[tokio::test]
async fn create_user_refuses_bad_input() {
    use Method as M;
    let c = ctx().await;
    let a = c.tree.partner_a;
    let path = "/v1/users";
    let mut cases = shapes(M::POST, path);
    cases.extend([
        b400(M::POST, path, json!({"password": PASSWORD, "organization_id": a}), &["missing field `username`"]),
        b400(M::POST, path, json!({"username": "newbie", "organization_id": a}), &["missing field `password`"]),
        b400(M::POST, path, json!({"username": 5, "password": PASSWORD, "organization_id": a}), &[
            "username",
            "invalid type",
        ]),
        b400(M::POST, path, json!({"username": "newbie", "password": PASSWORD, "organization_id": "abc"}), &[
            "organization_id",
            "invalid type",
        ]),
        b400(M::POST, path, json!({"username": "newbie", "password": 12345678, "organization_id": a}), &[
            "password",
            "invalid type",
        ]),
        b400(M::POST, path, json!({"username": "newbie", "password": PASSWORD, "organization_id": a, "admin": true}), &[
            "admin",
            "unknown field",
        ]),
        b400(M::POST, path, json!({"username": "new bie", "password": PASSWORD, "organization_id": a}), &["username"]),
        b400(M::POST, path, json!({"username": "ab", "password": PASSWORD, "organization_id": a}), &["username"]),
        b400(M::POST, path, json!({"username": "newbie", "password": "short", "organization_id": a}), &["password"]),
        b400(M::POST, path, json!({"username": "newbie", "password": PASSWORD, "organization_id": a, "role": "superuser"}), &[
            "role",
            "superuser",
        ]),
        b400(M::POST, path, json!({"username": "newbie", "password": PASSWORD, "organization_id": a, "email": "nope"}), &[
            "email", "nope",
        ]),
        b404(M::POST, path, json!({"username": "newbie", "password": PASSWORD, "organization_id": 987_654}), "organization_id"),
        bad(
            M::POST,
            path,
            &json!({"username": "existing", "password": PASSWORD, "organization_id": a}).to_string(),
            StatusCode::CONFLICT,
            &["username"],
        ),
        // Usernames are case-insensitive: a different spelling is the same user.
        bad(
            M::POST,
            path,
            &json!({"username": "EXISTING", "password": PASSWORD, "organization_id": c.tree.partner_b}).to_string(),
            StatusCode::CONFLICT,
            &["username"],
        ),
    ]);
    c.refuse_all(&c.root, cases).await;
    assert_eq!(c.root.total("/v1/users?username=newbie").await, 0);
    assert_eq!(c.root.total("/v1/users?username=new").await, 0);
}

#[tokio::test]
async fn update_user_refuses_bad_input() {
    use Method as M;
    let c = ctx().await;
    let path = &format!("/v1/users/{}", c.user);
    let mut cases = shapes(M::PUT, path);
    cases.extend([
        b400(M::PUT, path, json!({"role": 5}), &["role", "invalid type"]),
        b400(
            M::PUT,
            path,
            json!({"role": "superuser"}),
            &["role", "superuser"],
        ),
        b400(
            M::PUT,
            path,
            json!({"email": "not-an-address"}),
            &["email", "not-an-address"],
        ),
        b400(
            M::PUT,
            path,
            json!({"email": false}),
            &["email", "invalid type"],
        ),
        b400(M::PUT, path, json!({"password": "short"}), &["password"]),
        b409(
            M::PUT,
            path,
            json!({"organization_id": c.tree.partner_b}),
            "organization_id",
        ),
        b400(
            M::PUT,
            path,
            json!({"organization_id": "x"}),
            &["organization_id", "invalid type"],
        ),
        b400(
            M::PUT,
            path,
            json!({"nickname": "bob"}),
            &["nickname", "unknown field"],
        ),
        // A valid role with an invalid e-mail: the role is not applied either.
        b400(
            M::PUT,
            path,
            json!({"role": "admin", "email": "nope"}),
            &["email"],
        ),
    ]);
    // Foreign ids: one per user per source, and unique within a source.
    let other = c.root.create_user("other", c.tree.partner_a, "user").await;
    let before_other = c.root.get(&format!("/v1/users/{other}/foreignids")).await;
    let fids = &format!("/v1/users/{}/foreignids", c.user);
    let other_fids = &format!("/v1/users/{other}/foreignids");
    cases.extend([
        b400(
            M::POST,
            fids,
            json!({"source": "erp"}),
            &["missing field `foreign_id`"],
        ),
        b400(
            M::POST,
            fids,
            json!({"source": "erp", "foreign_id": 7}),
            &["foreign_id", "invalid type"],
        ),
        b400(
            M::POST,
            fids,
            json!({"source": " ", "foreign_id": "E-1"}),
            &["source", "empty"],
        ),
        bad(
            M::POST,
            fids,
            &json!({"source": "crm", "foreign_id": "C-2"}).to_string(),
            StatusCode::CONFLICT,
            &["source"],
        ),
        bad(
            M::POST,
            other_fids,
            &json!({"source": "crm", "foreign_id": "C-1"}).to_string(),
            StatusCode::CONFLICT,
            &["foreign_id"],
        ),
    ]);
    c.refuse_all(&c.root, cases).await;
    assert_eq!(
        c.root.get(&format!("/v1/users/{other}/foreignids")).await,
        before_other
    );
    // The user can still log in with the old password.
    c.app.login("existing", PASSWORD).await;
}

#[tokio::test]
async fn orgips_and_domains_refuse_bad_input() {
    use Method as M;
    let c = ctx().await;
    let a = c.tree.partner_a;
    let path = "/v1/orgips";
    let mut cases = shapes(M::POST, path);
    cases.extend([
        b400(
            M::POST,
            path,
            json!({"organization_id": a}),
            &["missing field `cidr`"],
        ),
        b400(
            M::POST,
            path,
            json!({"cidr": "10.0.0.0/8"}),
            &["missing field `organization_id`"],
        ),
        b400(
            M::POST,
            path,
            json!({"organization_id": a, "cidr": 10}),
            &["cidr", "invalid type"],
        ),
        b400(
            M::POST,
            path,
            json!({"organization_id": "a", "cidr": "10.0.0.0/8"}),
            &["organization_id", "invalid type"],
        ),
        b400(
            M::POST,
            path,
            json!({"organization_id": a, "cidr": "10.0.0.1/8"}),
            &["cidr", "10.0.0.0/8"],
        ),
        b400(
            M::POST,
            path,
            json!({"organization_id": a, "cidr": "300.1.1.1"}),
            &["cidr", "300.1.1.1"],
        ),
        b400(
            M::POST,
            path,
            json!({"organization_id": a, "cidr": "10.0.0.0/33"}),
            &["cidr"],
        ),
        b400(
            M::POST,
            path,
            json!({"organization_id": a, "cidr": "example.com"}),
            &["cidr"],
        ),
        b400(
            M::POST,
            path,
            json!({"organization_id": a, "cidr": ""}),
            &["cidr"],
        ),
        b400(
            M::POST,
            path,
            json!({"organization_id": a, "cidr": "10.0.0.0/8", "mask": 8}),
            &["mask", "unknown field"],
        ),
        b400(
            M::POST,
            path,
            json!({"organization_id": a, "cidr": "10.0.0.0/8", "description": "d".repeat(501)}),
            &["description"],
        ),
        b404(
            M::POST,
            path,
            json!({"organization_id": 987_654, "cidr": "10.0.0.0/8"}),
            "organization_id",
        ),
        bad(
            M::POST,
            path,
            &json!({"organization_id": a, "cidr": "192.0.2.0/24"}).to_string(),
            StatusCode::CONFLICT,
            &["cidr"],
        ),
        // The same network spelled differently is still a duplicate.
        bad(
            M::POST,
            path,
            &json!({"organization_id": a, "cidr": " 192.0.2.0/24 "}).to_string(),
            StatusCode::CONFLICT,
            &["cidr"],
        ),
    ]);
    let one = &format!("/v1/orgips/{}", c.orgip);
    cases.extend([
        b400(
            M::PUT,
            one,
            json!({"cidr": "10.0.0.1/8"}),
            &["cidr", "10.0.0.0/8"],
        ),
        b400(
            M::PUT,
            one,
            json!({"cidr": "300.1.1.1"}),
            &["cidr", "300.1.1.1"],
        ),
        b400(
            M::PUT,
            one,
            json!({"organization_id": a}),
            &["organization_id", "unknown field"],
        ),
    ]);
    let domains = &format!("/v1/organizations/{a}/domains");
    cases.extend([
        b400(M::POST, domains, json!({}), &["missing field `domain`"]),
        b400(
            M::POST,
            domains,
            json!({"domain": "localhost"}),
            &["domain", "localhost"],
        ),
        b400(M::POST, domains, json!({"domain": "10.0.0.1"}), &["domain"]),
        b400(
            M::POST,
            domains,
            json!({"domain": "a_b.example"}),
            &["domain"],
        ),
        b400(
            M::POST,
            domains,
            json!({"domain": 5}),
            &["domain", "invalid type"],
        ),
        bad(
            M::POST,
            domains,
            &json!({"domain": "pbx.partner-a.example"}).to_string(),
            StatusCode::CONFLICT,
            &["domain"],
        ),
        // Domains are unique platform-wide and case-insensitive.
        bad(
            M::POST,
            &format!("/v1/organizations/{}/domains", c.tree.partner_b),
            &json!({"domain": "PBX.Partner-A.example."}).to_string(),
            StatusCode::CONFLICT,
            &["domain"],
        ),
    ]);
    c.refuse_all(&c.root, cases).await;
}

#[tokio::test]
async fn sequences_refuse_bad_input() {
    use Method as M;
    let c = ctx().await;
    let path = "/v1/sequences";
    let mut cases = shapes(M::POST, path);
    let create = |body: Value, mentions: &[&'static str]| b400(M::POST, path, body, mentions);
    cases.extend([
        create(json!({"prefix": "INV-"}), &["missing field `name`"]),
        create(json!({"name": "Invoice"}), &["name", "Invoice"]),
        create(json!({"name": 7}), &["name", "invalid type"]),
        create(
            json!({"name": "inv", "prefix": "p".repeat(21)}),
            &["prefix", "20"],
        ),
        create(
            json!({"name": "inv", "prefix": "a\u{7}"}),
            &["prefix", "control"],
        ),
        create(json!({"name": "inv", "padding": 21}), &["padding", "20"]),
        create(json!({"name": "inv", "padding": -1}), &["padding"]),
        create(json!({"name": "inv", "start": -5}), &["start"]),
        create(
            json!({"name": "inv", "next_value": 9}),
            &["next_value", "unknown field"],
        ),
        b404(
            M::POST,
            path,
            json!({"name": "inv", "organization_id": 987_654}),
            "organization_id",
        ),
    ]);
    let next = "/v1/sequences/invoice/next";
    cases.extend([
        b400(
            M::POST,
            next,
            json!({"organization_id": "a"}),
            &["organization_id", "invalid type"],
        ),
        b400(M::POST, next, json!({"org": 1}), &["org", "unknown field"]),
        b400(M::POST, next, "[]", &["request body", "JSON object"]),
    ]);
    c.refuse_all(&c.root, cases).await;
}

#[tokio::test]
async fn queue_reports_refuse_bad_input() {
    use Method as M;
    let c = ctx().await;
    let path = "/v1/queues/support/stats";
    let good = json!({"waiting": 1, "longest_wait_s": 30, "agents_logged_in": 2,
                      "agents_available": 1, "answered": 10, "abandoned": 0});
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let mut cases = shapes(M::POST, path);
    let report = |body: Value, mentions: &[&'static str]| b400(M::POST, path, body, mentions);
    cases.extend([
        report(json!({"waiting": 1}), &["missing field"]),
        report(with("waiting", json!(-1)), &["waiting", "0 to"]),
        report(with("abandoned", json!(10_000_001)), &["abandoned", "0 to"]),
        report(with("answered", json!("7")), &["answered", "invalid type"]),
        report(with("longest_wait_s", json!(1.5)), &["longest_wait_s"]),
        report(with("colour", json!("red")), &["colour", "unknown field"]),
        b400(
            M::POST,
            "/v1/queues/bad%20name/stats",
            good.clone(),
            &["name", "queue name"],
        ),
        b404(
            M::POST,
            path,
            with("organization_id", json!(987_654)),
            "organization_id",
        ),
    ]);
    cases.extend([
        b400(
            M::GET,
            "/v1/queues?organization_id=x",
            "",
            &["organization_id", "integer"],
        ),
        b400(
            M::GET,
            "/v1/queues/support/stats?since=yesterday",
            "",
            &["since"],
        ),
        b400(
            M::GET,
            "/v1/queues/support/stats?since=",
            "",
            &["since", "blank"],
        ),
    ]);
    c.refuse_all(&c.root, cases).await;
    let (status, body) = c.root.get("/v1/queues").await;
    assert_eq!(
        (status, body["total"].clone()),
        (StatusCode::OK, json!(0)),
        "{body}"
    );
}

#[tokio::test]
async fn retention_and_legal_holds_refuse_bad_input() {
    use Method as M;
    let c = ctx().await;
    let one = &format!("/v1/retention/{}", c.tree.partner_a);
    let mut cases = shapes(M::PUT, one);
    let set = |body: Value, mentions: &[&'static str]| b400(M::PUT, one, body, mentions);
    cases.extend([
        set(json!({"logs": {"days": 5}}), &["logs", "unknown field"]),
        set(
            json!({"events": {"days": 0}}),
            &["events.days", "between 1 and 36500"],
        ),
        set(
            json!({"events": {"days": 36501}}),
            &["events.days", "36500"],
        ),
        set(json!({"events": {"days": -1}}), &["days"]),
        set(json!({"events": {"days": "9"}}), &["days", "invalid type"]),
        set(
            json!({"events": {"minimum_days": 0}}),
            &["events.minimum_days"],
        ),
        set(json!({"events": {"weeks": 2}}), &["weeks", "unknown field"]),
        set(json!({"events": 5}), &["events", "invalid type"]),
    ]);
    cases.push(bad(
        M::PUT,
        "/v1/retention/x",
        r#"{"events": {"days": 5}}"#,
        StatusCode::NOT_FOUND,
        &["organization", "not found"],
    ));
    let purge = "/v1/retention/purge?dry_run=maybe";
    cases.push(bad(
        M::POST,
        purge,
        "",
        StatusCode::BAD_REQUEST,
        &["dry_run", "true, false"],
    ));
    let holds = "/v1/legalholds";
    cases.extend(shapes(M::POST, holds));
    let place = |body: Value, mentions: &[&'static str]| b400(M::POST, holds, body, mentions);
    cases.extend([
        place(json!({"reason": "r"}), &["missing field `kinds`"]),
        place(json!({"kinds": ["events"]}), &["missing field `reason`"]),
        place(
            json!({"kinds": [], "reason": "r"}),
            &["kinds", "at least one"],
        ),
        place(
            json!({"kinds": ["logs"], "reason": "r"}),
            &["logs", "not a data kind"],
        ),
        place(
            json!({"kinds": ["events"], "reason": "  "}),
            &["reason", "1 to 500"],
        ),
        place(
            json!({"kinds": ["events"], "reason": "r".repeat(501)}),
            &["reason", "500"],
        ),
        place(
            json!({"kinds": ["events"], "reason": "r", "from": "yesterday"}),
            &["from"],
        ),
        place(
            json!({"kinds": ["events"], "reason": "r", "active": false}),
            &["active", "unknown field"],
        ),
        b404(
            M::POST,
            holds,
            json!({"kinds": ["events"], "reason": "r", "organization_id": 987_654}),
            "organization_id",
        ),
    ]);
    c.refuse_all(&c.root, cases).await;
}

#[tokio::test]
async fn webhooks_refuse_bad_input() {
    use Method as M;
    let c = ctx().await;
    let path = "/v1/webhooks";
    let url = "http://127.0.0.1:9/hook";
    let mut cases = shapes(M::POST, path);
    let create = |body: Value, mentions: &[&'static str]| b400(M::POST, path, body, mentions);
    cases.extend([
        create(json!({"events": ["*"]}), &["missing field `url`"]),
        create(json!({"url": url}), &["missing field `events`"]),
        create(
            json!({"url": "ftp://x.example/", "events": ["*"]}),
            &["url", "http or https"],
        ),
        create(
            json!({"url": "https://u:p@x.example/", "events": ["*"]}),
            &["url", "password"],
        ),
        create(json!({"url": 5, "events": ["*"]}), &["url", "invalid type"]),
        create(
            json!({"url": url, "events": []}),
            &["events", "at least one"],
        ),
        create(
            json!({"url": url, "events": ["Gateway.Down"]}),
            &["events", "Gateway.Down"],
        ),
        create(
            json!({"url": url, "events": "*"}),
            &["events", "invalid type"],
        ),
        create(
            json!({"url": url, "events": ["*"], "active": 1}),
            &["active", "invalid type"],
        ),
        create(
            json!({"url": url, "events": ["*"], "description": "d".repeat(501)}),
            &["description", "500"],
        ),
        create(
            json!({"url": url, "events": ["*"], "secret": "whsec_mine"}),
            &["secret", "unknown field"],
        ),
        b404(
            M::POST,
            path,
            json!({"url": url, "events": ["*"], "organization_id": 987_654}),
            "organization_id",
        ),
    ]);
    let one = &format!("/v1/webhooks/{}", c.webhook);
    let mut edits = shapes(M::PUT, one);
    let edit = |body: Value, mentions: &[&'static str]| b400(M::PUT, one, body, mentions);
    edits.extend([
        edit(json!({"events": []}), &["events", "at least one"]),
        edit(json!({"url": "gopher://x.example"}), &["url"]),
        // Valid but for one field: nothing of it is applied.
        edit(
            json!({"description": "Half applied", "events": ["a..b"]}),
            &["events"],
        ),
        edit(json!({"colour": "red"}), &["colour", "unknown field"]),
        b409(
            M::PUT,
            one,
            json!({"organization_id": c.tree.partner_b}),
            "organization_id",
        ),
    ]);
    cases.extend(edits);
    let rotate = &format!("/v1/webhooks/{}/rotate", c.webhook);
    cases.extend([
        b400(
            M::POST,
            rotate,
            json!({"overlap_s": 604_801}),
            &["overlap_s", "604800"],
        ),
        b400(
            M::POST,
            rotate,
            json!({"overlap_s": "1h"}),
            &["overlap_s", "invalid type"],
        ),
        b400(M::POST, rotate, "[]", &["request body", "JSON object"]),
    ]);
    c.refuse_all(&c.root, cases).await;
}

#[tokio::test]
async fn apikeys_refuse_bad_input() {
    use Method as M;
    let c = ctx().await;
    let a = c.tree.partner_a;
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let later = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let cidrs: Vec<String> = (0..101).map(|i| format!("10.0.{i}.0/24")).collect();
    let path = "/v1/apikeys";
    let mut cases = shapes(M::POST, path);
    let create = |body: Value, mentions: &[&'static str]| b400(M::POST, path, body, mentions);
    cases.extend([
        create(json!({"organization_id": a}), &["missing field `name`"]),
        create(json!({"name": " "}), &["name", "empty"]),
        create(json!({"name": "k".repeat(101)}), &["name", "100"]),
        create(json!({"name": "a\u{7}b"}), &["name", "control"]),
        create(json!({"name": 5}), &["name", "invalid type"]),
        create(
            json!({"name": "K", "role": "superuser"}),
            &["role", "superuser"],
        ),
        create(
            json!({"name": "K", "permissions": ["users:delete"]}),
            &["permissions", "users:delete"],
        ),
        create(
            json!({"name": "K", "permissions": "users:read"}),
            &["permissions", "invalid type"],
        ),
        create(
            json!({"name": "K", "permissions": []}),
            &["permissions", "at least one"],
        ),
        create(
            json!({"name": "K", "role": "admin", "permissions": ["users:read"]}),
            &["permissions", "not both"],
        ),
        create(
            json!({"name": "K", "expires_at": past}),
            &["expires_at", "future"],
        ),
        create(
            json!({"name": "K", "expires_at": "tomorrow"}),
            &["expires_at", "RFC 3339"],
        ),
        create(
            json!({"name": "K", "expires_at": "2030-02-30T00:00:00Z"}),
            &["expires_at"],
        ),
        create(
            json!({"name": "K", "source_cidrs": ["10.0.0.1/8"]}),
            &["source_cidrs", "10.0.0.0/8"],
        ),
        create(
            json!({"name": "K", "source_cidrs": ["example.com"]}),
            &["source_cidrs", "example.com"],
        ),
        create(
            json!({"name": "K", "source_cidrs": "10.0.0.0/8"}),
            &["source_cidrs", "invalid type"],
        ),
        create(
            json!({"name": "K", "source_cidrs": cidrs}),
            &["source_cidrs", "100"],
        ),
        create(
            json!({"name": "K", "organization_id": "a"}),
            &["organization_id", "invalid type"],
        ),
        create(
            json!({"name": "K", "secret": "dt_live_mine"}),
            &["secret", "unknown field"],
        ),
        b404(
            M::POST,
            path,
            json!({"name": "K", "organization_id": 987_654}),
            "organization_id",
        ),
    ]);
    let one = &format!("/v1/apikeys/{}", c.apikey);
    let mut edits = shapes(M::PUT, one);
    let edit = |body: Value, mentions: &[&'static str]| b400(M::PUT, one, body, mentions);
    edits.extend([
        edit(json!({"name": ""}), &["name", "empty"]),
        edit(json!({"role": "owner"}), &["role", "owner"]),
        edit(
            json!({"role": "admin", "permissions": ["users:read"]}),
            &["permissions", "not both"],
        ),
        edit(json!({"expires_at": past}), &["expires_at", "future"]),
        edit(
            json!({"source_cidrs": ["300.1.1.1"]}),
            &["source_cidrs", "300.1.1.1"],
        ),
        // Valid but for one field: nothing of it is applied.
        edit(
            json!({"name": "Half applied", "expires_at": later, "source_cidrs": ["::/129"]}),
            &["source_cidrs"],
        ),
        edit(json!({"colour": "red"}), &["colour", "unknown field"]),
        b409(
            M::PUT,
            one,
            json!({"organization_id": c.tree.partner_b}),
            "organization_id",
        ),
    ]);
    cases.extend(edits);
    let rotate = &format!("/v1/apikeys/{}/rotate", c.apikey);
    cases.extend([
        b400(
            M::POST,
            rotate,
            json!({"overlap_s": 604_801}),
            &["overlap_s", "604800"],
        ),
        b400(M::POST, rotate, json!({"overlap_s": -1}), &["overlap_s"]),
        b400(
            M::POST,
            rotate,
            json!({"overlap_s": "1h"}),
            &["overlap_s", "invalid type"],
        ),
        b400(
            M::POST,
            rotate,
            json!({"overlap": 5}),
            &["overlap", "unknown field"],
        ),
        b400(M::POST, rotate, "[]", &["request body", "JSON object"]),
    ]);
    c.refuse_all(&c.root, cases).await;

    // A tenant's admin asks for what it does not hold: 403 naming the field, nothing written.
    c.root
        .create_user("a1-admin", c.tree.tenant_a1, "admin")
        .await;
    let tenant_admin = c.app.login("a1-admin", PASSWORD).await;
    let forbidden = |body: Value, field: &'static str| {
        bad(
            M::POST,
            path,
            &body.to_string(),
            StatusCode::FORBIDDEN,
            &[field, "wider than its creator"],
        )
    };
    let before_own = c
        .root
        .total(&format!("/v1/apikeys?organization_id={}", c.tree.tenant_a1))
        .await;
    c.refuse_all(
        &tenant_admin,
        vec![
            forbidden(
                json!({"name": "K", "permissions": ["organizations:create"]}),
                "permissions",
            ),
            forbidden(
                json!({"name": "K", "permissions": ["auditlog:read", "organizations:create"]}),
                "permissions",
            ),
            b404(
                M::POST,
                path,
                json!({"name": "K", "organization_id": a}),
                "organization_id",
            ),
        ],
    )
    .await;
    assert_eq!(
        c.root
            .total(&format!("/v1/apikeys?organization_id={}", c.tree.tenant_a1))
            .await,
        before_own
    );
}

#[tokio::test]
async fn login_refuses_bad_input_and_logs_nobody_in() {
    use Method as M;
    let c = ctx().await;
    let path = "/v1/auth/user";
    let mut cases = shapes(M::POST, path);
    cases.extend([
        b400(
            M::POST,
            path,
            json!([ROOT_USER, ROOT_PASSWORD, null]),
            &["request body", "JSON object"],
        ),
        b400(
            M::POST,
            path,
            json!({"username": ROOT_USER}),
            &["missing field `password`"],
        ),
        b400(
            M::POST,
            path,
            json!({"password": ROOT_PASSWORD}),
            &["missing field `username`"],
        ),
        b400(
            M::POST,
            path,
            json!({"username": 5, "password": ROOT_PASSWORD}),
            &["username", "invalid type"],
        ),
        b400(
            M::POST,
            path,
            json!({"username": ROOT_USER, "password": true}),
            &["password", "invalid type"],
        ),
        b400(
            M::POST,
            path,
            json!({"username": ROOT_USER, "password": ROOT_PASSWORD, "otp": 123456}),
            &["otp", "invalid type"],
        ),
        // The right credentials with an unknown field still log nobody in.
        b400(
            M::POST,
            path,
            json!({"username": ROOT_USER, "password": ROOT_PASSWORD, "remember": true}),
            &["remember", "unknown field"],
        ),
    ]);
    c.refuse_all(&c.app.anonymous(), cases).await;
}

#[tokio::test]
async fn query_parameters_and_path_ids_are_checked() {
    use Method as M;
    let c = ctx().await;
    let get = |path: &str, mentions: &[&'static str]| Bad {
        method: M::GET,
        path: path.to_string(),
        body: None,
        status: StatusCode::BAD_REQUEST,
        mentions: mentions.to_vec(),
    };
    let not_found = |path: &str| Bad {
        method: M::GET,
        path: path.to_string(),
        body: None,
        status: StatusCode::NOT_FOUND,
        mentions: vec!["not found"],
    };
    let cases = vec![
        get("/v1/users?limit=ten", &["limit"]),
        get("/v1/users?limit=0", &["limit"]),
        get("/v1/organizations?offset=-1", &["offset"]),
        get("/v1/organizations?page=0", &["page"]),
        get("/v1/organizations?type=reseller", &["type", "reseller"]),
        get("/v1/users?role=superuser", &["role", "superuser"]),
        get("/v1/orgips/index?organization_id=abc", &["organization_id"]),
        get("/v1/auditlog?actor_user_id=x", &["actor_user_id"]),
        get("/v1/jobs?state=stuck", &["state", "stuck"]),
        get("/v1/jobs?organization_id=abc", &["organization_id"]),
        get("/v1/jobs?limit=0", &["limit"]),
        get("/v1/apikeys?organization_id=abc", &["organization_id"]),
        get("/v1/apikeys?page=9223372036854777", &["page", "at most"]),
        // Ids are opaque: a malformed one is simply not found, on every route.
        not_found("/v1/organizations/abc"),
        not_found("/v1/organizations/0"),
        not_found("/v1/users/-1"),
        not_found("/v1/orgips/1.5"),
        not_found("/v1/auditlog/abc"),
        not_found("/v1/auditlog/0"),
        not_found("/v1/jobs/abc"),
        not_found("/v1/jobs/0"),
        not_found("/v1/apikeys/abc"),
        not_found("/v1/apikeys/0"),
    ];
    c.refuse_all(&c.root, cases).await;
}

/// A 10 KB organization, well over a 2048-byte limit.
fn oversized_body() -> String {
    json!({"name": "x".repeat(10 * 1024), "type": "tenant", "parent_id": 1}).to_string()
}

/// Sends `body` to `path` with chunked transfer encoding (no `Content-Length`), over a raw
/// HTTP/1.1 connection; returns the status and the JSON body of the answer.
async fn post_chunked(app: &TestApp, token: &str, path: &str, body: &str) -> (StatusCode, Value) {
    let mut stream = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nAccept: application/json\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        app.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // Chunks of 1000 bytes; the server may answer (and close) before reading them all.
    for chunk in body.as_bytes().chunks(1000) {
        let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
        frame.extend_from_slice(chunk);
        frame.extend_from_slice(b"\r\n");
        if stream.write_all(&frame).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut raw = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut raw),
    )
    .await
    .expect("answer within 10 s")
    .expect("read answer");
    let text = String::from_utf8_lossy(&raw).to_string();
    let status_code: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text:?}"));
    let (headers, payload) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end: {text:?}"));
    let payload = if headers
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(payload)
    } else {
        payload.to_string()
    };
    let value = serde_json::from_str(&payload).unwrap_or(Value::String(payload));
    (StatusCode::from_u16(status_code).unwrap(), value)
}

/// Decodes a chunked HTTP/1.1 body.
fn dechunk(mut text: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = text.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        text = rest[size..].trim_start_matches("\r\n");
    }
    out
}

#[tokio::test]
async fn oversized_bodies_get_413_with_or_without_content_length() {
    let app = TestApp::start_with(|c| c.http.max_body_bytes = 2048).await;
    let root = app.root().await;
    let token = root.token.clone().unwrap();
    let counts = || async {
        (
            root.total("/v1/organizations").await,
            root.total("/v1/users").await,
            root.total("/v1/auditlog").await,
        )
    };
    let before = counts().await;
    let body = oversized_body();
    assert!(body.len() > 10 * 1024);

    // With a Content-Length: refused before the body is read.
    let (status, answer) = send(&root, Method::POST, "/v1/organizations", Some(&body)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert_eq!(answer["code"], 413, "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.contains("body") && message.contains("2048"),
        "{message}"
    );

    // Without one (chunked): refused once the limit is passed.
    for path in [
        "/v1/organizations",
        "/v1/users",
        "/v1/orgips",
        "/v1/auth/user",
    ] {
        let (status, answer) = post_chunked(&app, &token, path, &body).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{path}: {answer}");
        assert_eq!(answer["code"], 413, "{path}: {answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(
            message.contains("body") && message.contains("2048"),
            "{path}: {message}"
        );
    }
    assert_eq!(counts().await, before, "an oversized body wrote something");

    // Control: a small chunked body is read and applied.
    let small = json!({"name": "Chunked", "type": "distributor", "parent_id": 1}).to_string();
    let (status, answer) = post_chunked(&app, &token, "/v1/organizations", &small).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(root.total("/v1/organizations").await, before.0 + 1);
}

#[tokio::test]
async fn errors_default_to_legacy_xml_without_an_accept_header() {
    let c = ctx().await;
    let token = c.root.token.clone().unwrap();
    let before = c.state().await;
    for (body, message_start) in [
        (r#"{"name": 5, "type": "tenant"}"#, "name: invalid type"),
        (r#"{"name": "#, "malformed JSON"),
        (
            r#"{"name": "X", "type": "reseller"}"#,
            "type: unknown organization type",
        ),
    ] {
        let response = c
            .app
            .http
            .post(c.app.url("/v1/organizations"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            content_type.starts_with("application/xml"),
            "{content_type}"
        );
        let text = response.text().await.unwrap();
        assert!(text.starts_with("<?xml"), "{text}");
        assert!(
            text.contains(&format!("<error><code>400</code><message>{message_start}")),
            "{text}"
        );
        assert!(text.ends_with("</message></error>"), "{text}");
    }
    assert_eq!(c.state().await, before);
}
