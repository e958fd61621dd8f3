//! API keys: created with a secret shown once, usable as Bearer and as HTTP Basic, named in the
//! audit log, rotated with an overlap, revoked at once (on every instance), refused once
//! expired or from outside their networks, never wider than whoever makes them, and their
//! last use written in batches.

use crate::support::apikey::{Key, basic};
use crate::support::{self, PASSWORD, TestApp, message};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

/// The latest audit record about `entity_type` with `action`.
async fn last_audit(root: &support::Api, entity_type: &str, action: &str) -> Value {
    let (status, body) = root
        .get(&format!(
            "/v1/auditlog?entity_type={entity_type}&action={action}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"][0].clone()
}

/// Whether the event log of `org` has `event` about key `id`.
async fn has_event(root: &support::Api, org: i64, event: &str, id: i64) -> bool {
    let (status, body) = root.get(&format!("/v1/eventlog/{org}?limit=1000")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = id.to_string();
    body["data"].as_array().unwrap().iter().any(|e| {
        e["event"] == event && e["entity_type"] == "apikey" && e["entity_id"] == id.as_str()
    })
}

fn refused(status: StatusCode, body: &Value, what: &str) {
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
    assert_eq!(message(body), "Invalid API key", "{what}: {body}");
}

#[tokio::test]
async fn a_key_works_as_bearer_and_basic_and_the_audit_names_it() {
    let app = TestApp::start().await;
    let (tree, root) = support::tree(&app).await;
    let key = Key::create(
        &root,
        json!({"name": "CDR uploader", "organization_id": tree.partner_a, "role": "admin"}),
    )
    .await;
    assert!(key.secret.starts_with("dt_live_"), "{}", key.secret);
    assert_eq!(key.issued["prefix"], key.secret[..12]);
    assert_eq!(key.issued["organization_id"], tree.partner_a);
    assert_eq!(key.issued["role"], "admin");
    assert!(key.issued["permissions"].is_null());
    assert_eq!(key.issued["created_by"], support::ROOT_USER);

    // Bearer: the key sees its organization's subtree and nothing else.
    let bearer = key.bearer(&app);
    let (status, body) = bearer.get("/v1/organizations?limit=1000").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ids: Vec<i64> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![tree.partner_a, tree.tenant_a1], "{body}");
    let (status, _) = bearer
        .get(&format!("/v1/organizations/{}", tree.partner_b))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Basic: user the key's id, password the secret.
    let (status, body) = key
        .basic(
            &app,
            Method::GET,
            &format!("/v1/organizations/{}", tree.tenant_a1),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for (user, password, what) in [
        (
            key.id.to_string(),
            "dt_live_wrong".to_string(),
            "wrong secret",
        ),
        (
            (key.id + 1).to_string(),
            key.secret.clone(),
            "another key's id",
        ),
        ("root".to_string(), key.secret.clone(), "a user name"),
        (
            "root".to_string(),
            support::ROOT_PASSWORD.to_string(),
            "a user's password",
        ),
    ] {
        let (status, body) = basic(&app, Method::GET, "/v1/organizations", &user, &password).await;
        refused(status, &body, what);
    }
    let response = app
        .http
        .get(app.url("/v1/organizations"))
        .header("authorization", "Basic not-base64!")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenges: Vec<&str> = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(
        challenges.iter().any(|c| c.starts_with("Basic realm=")),
        "{challenges:?}"
    );

    // A change made with the key is the key's, not a user's.
    let (status, body) = bearer
        .post(
            "/v1/orgips",
            json!({"organization_id": tree.tenant_a1, "cidr": "192.0.2.0/24"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let record = last_audit(&root, "orgip", "create").await;
    assert_eq!(
        record["actor_username"],
        format!("apikey:{} (CDR uploader)", key.id),
        "{record}"
    );
    assert!(record["actor_user_id"].is_null(), "{record}");

    // The secret and its hash are in no answer but the first.
    let hash = dialtone::auth::token::hash(&key.secret);
    for path in [
        "/v1/apikeys".to_string(),
        format!("/v1/apikeys/{}", key.id),
        "/v1/auditlog?entity_type=apikey".to_string(),
        format!("/v1/eventlog/{}", tree.partner_a),
    ] {
        let (status, body) = root.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let text = body.to_string();
        assert!(
            !text.contains(&key.secret) && !text.contains(&hash),
            "{path}: {text}"
        );
        assert!(!text.contains("\"secret\""), "{path}: {text}");
    }
    let (_, one) = root.get(&format!("/v1/apikeys/{}", key.id)).await;
    assert_eq!(one["data"]["prefix"], key.secret[..12]);
    let record = last_audit(&root, "apikey", "create").await;
    assert_eq!(record["entity_id"], key.id.to_string());
    assert!(has_event(&root, tree.partner_a, "apikey.created", key.id).await);

    let (_, metrics) = app.anonymous().get("/metrics").await;
    let metrics = metrics.as_str().unwrap_or_default().to_string();
    assert!(
        metrics.contains(r#"auth_apikey_total{outcome="ok"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"auth_apikey_total{outcome="unknown"}"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_key_is_no_login_it_cannot_touch_sessions_passwords_or_two_factor() {
    let app = TestApp::start().await;
    let (tree, root) = support::tree(&app).await;
    let user = root.create_user("alice", tree.partner_a, "user").await;
    let key = Key::create(&root, json!({"name": "Admin key", "role": "admin"})).await;
    let bearer = key.bearer(&app);
    for (method, path, body) in [
        (Method::DELETE, "/v1/auth".to_string(), None),
        (Method::POST, "/v1/tempauth".to_string(), Some(json!({}))),
        (
            Method::POST,
            "/v1/auth/twofactor/secret".to_string(),
            Some(json!({})),
        ),
        (
            Method::PUT,
            format!("/v1/users/{user}"),
            Some(json!({"password": "a-new-password-9"})),
        ),
        (Method::DELETE, format!("/v1/users/{user}/twofactor"), None),
    ] {
        let (status, answer) = bearer.call(method.clone(), &path, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {answer}");
        assert!(
            message(&answer).contains("not an API key"),
            "{method} {path}: {answer}"
        );
    }
    app.login("alice", PASSWORD).await;
    // What an admin key may do, it does: here, an e-mail change.
    let (status, body) = bearer
        .put(
            &format!("/v1/users/{user}"),
            json!({"email": "alice@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_key_limited_to_permissions_can_do_only_those() {
    let app = TestApp::start().await;
    let (tree, root) = support::tree(&app).await;
    let key = Key::create(
        &root,
        json!({"name": "Auditor", "organization_id": tree.partner_a, "permissions": ["auditlog:read", "auditlog:read"]}),
    )
    .await;
    assert_eq!(key.issued["permissions"], json!(["auditlog:read"]));
    assert!(key.issued["role"].is_null());
    let bearer = key.bearer(&app);
    let (status, body) = bearer.get("/v1/auditlog").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = bearer.get("/v1/users").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(message(&body).contains("users:read"), "{body}");
    let (status, body) = bearer.get("/v1/apikeys").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // A key that manages keys makes keys within its own list, and no longer-lived ones.
    let expires = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let manager = Key::create(
        &root,
        json!({"name": "Key manager", "organization_id": tree.partner_a,
               "permissions": ["apikeys:read", "apikeys:write", "auditlog:read"], "expires_at": expires}),
    )
    .await;
    let manager_api = manager.bearer(&app);
    let made = Key::create(
        &manager_api,
        json!({"name": "Made by a key", "permissions": ["auditlog:read"]}),
    )
    .await;
    assert_eq!(
        made.issued["created_by"],
        format!("apikey:{} (Key manager)", manager.id)
    );
    assert_eq!(
        made.issued["expires_at"], manager.issued["expires_at"],
        "{}",
        made.issued
    );
    for (body, field) in [
        (json!({"name": "Too wide", "role": "readonly"}), "role"),
        (
            json!({"name": "Too wide", "permissions": ["users:read"]}),
            "permissions",
        ),
        (
            json!({"name": "Too long", "permissions": ["auditlog:read"],
                "expires_at": (chrono::Utc::now() + chrono::Duration::days(60)).to_rfc3339()}),
            "expires_at",
        ),
    ] {
        let (status, answer) = manager_api.post("/v1/apikeys", body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
        assert!(message(&answer).starts_with(field), "{answer}");
    }
    // Nor may it rotate (and so obtain) a wider key.
    let (status, answer) = manager_api
        .post(&format!("/v1/apikeys/{}/rotate", key.id), json!({}))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "never expires, so it outlives the manager: {answer}"
    );
    let wide = Key::create(&root, json!({"name": "Wide", "organization_id": tree.partner_a, "role": "admin",
                                         "expires_at": (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339()})).await;
    let (status, answer) = manager_api
        .post(&format!("/v1/apikeys/{}/rotate", wide.id), json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(message(&answer).contains("wider than yourself"), "{answer}");
}

#[tokio::test]
async fn rotation_keeps_the_old_secret_for_the_overlap_only() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let first = Key::create(&root, json!({"name": "Phones"})).await;
    assert_eq!(first.issued["role"], "readonly", "the default grant");
    let second = first.rotate(&root, Some(1)).await;
    assert_eq!(second.id, first.id);
    assert_ne!(second.secret, first.secret);
    assert_eq!(second.issued["prefix"], second.secret[..12]);
    assert!(second.issued["rotated_at"].is_string());
    for key in [&first, &second] {
        let (status, body) = key.bearer(&app).get("/v1/organizations").await;
        assert_eq!(status, StatusCode::OK, "during the overlap: {body}");
    }
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (status, body) = first.bearer(&app).get("/v1/organizations").await;
    refused(status, &body, "after the overlap");
    let (status, body) = first.basic(&app, Method::GET, "/v1/organizations").await;
    refused(status, &body, "after the overlap, as Basic");
    let (status, _) = second.bearer(&app).get("/v1/organizations").await;
    assert_eq!(status, StatusCode::OK);

    // A second rotation ends the first one's overlap; overlap 0 ends the replaced one at once.
    let third = second.rotate(&root, None).await;
    let fourth = third.rotate(&root, Some(0)).await;
    for (key, what) in [(&second, "two rotations ago"), (&third, "overlap 0")] {
        let (status, body) = key.bearer(&app).get("/v1/organizations").await;
        refused(status, &body, what);
    }
    let (status, _) = fourth.bearer(&app).get("/v1/organizations").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        last_audit(&root, "apikey", "rotate").await["entity_id"],
        first.id.to_string()
    );
    assert!(has_event(&root, 1, "apikey.rotated", first.id).await);
}

#[tokio::test]
async fn a_revoked_key_is_refused_at_once_and_gone() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let key = Key::create(&root, json!({"name": "Leaked", "role": "admin"})).await;
    let (status, _) = key.bearer(&app).get("/v1/organizations").await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = root.delete(&format!("/v1/apikeys/{}", key.id)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = key.bearer(&app).get("/v1/organizations").await;
    refused(status, &body, "revoked");
    let (status, body) = key.basic(&app, Method::GET, "/v1/organizations").await;
    refused(status, &body, "revoked, as Basic");
    for (method, path) in [
        (Method::GET, format!("/v1/apikeys/{}", key.id)),
        (Method::DELETE, format!("/v1/apikeys/{}", key.id)),
        (Method::POST, format!("/v1/apikeys/{}/rotate", key.id)),
    ] {
        let (status, body) = root.call(method.clone(), &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {body}");
    }
    assert_eq!(root.total("/v1/apikeys").await, 0);
    let record = last_audit(&root, "apikey", "revoke").await;
    assert_eq!(record["before"]["name"], "Leaked", "{record}");
    assert!(has_event(&root, 1, "apikey.revoked", key.id).await);
}

#[tokio::test]
async fn an_expired_key_and_one_from_elsewhere_are_refused() {
    let app = TestApp::start().await;
    let (tree, root) = support::tree(&app).await;
    let soon = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let expiring = Key::create(
        &root,
        json!({"name": "Short", "expires_at": soon.to_rfc3339()}),
    )
    .await;
    let (status, _) = expiring.bearer(&app).get("/v1/organizations").await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1700)).await;
    let (status, body) = expiring.bearer(&app).get("/v1/organizations").await;
    refused(status, &body, "expired");
    let (status, body) = root
        .post(&format!("/v1/apikeys/{}/rotate", expiring.id), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // The tests' client is 127.0.0.1.
    let elsewhere = Key::create(
        &root,
        json!({"name": "Office", "source_cidrs": ["192.0.2.0/24"]}),
    )
    .await;
    let (status, body) = elsewhere.bearer(&app).get("/v1/organizations").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = elsewhere
        .basic(&app, Method::GET, "/v1/organizations")
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let here = Key::create(
        &root,
        json!({"name": "Local", "source_cidrs": ["127.0.0.0/8", "2001:db8::/32"]}),
    )
    .await;
    assert_eq!(
        here.issued["source_cidrs"],
        json!(["127.0.0.0/8", "2001:db8::/32"])
    );
    let (status, _) = here.bearer(&app).get("/v1/organizations").await;
    assert_eq!(status, StatusCode::OK);
    // Widening the networks lets the first key in.
    let (status, body) = root
        .put(
            &format!("/v1/apikeys/{}", elsewhere.id),
            json!({"source_cidrs": ["192.0.2.0/24", "127.0.0.1"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"]["source_cidrs"],
        json!(["192.0.2.0/24", "127.0.0.1/32"])
    );
    let (status, _) = elsewhere.bearer(&app).get("/v1/organizations").await;
    assert_eq!(status, StatusCode::OK);

    // A suspended organization, or one without API access, keeps its keys out too.
    let tenant_key = Key::create(
        &root,
        json!({"name": "Tenant", "organization_id": tree.tenant_a1}),
    )
    .await;
    let (status, body) = root
        .put(
            &format!("/v1/organizations/{}/clientaccess", tree.tenant_a1),
            json!({"api_enabled": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = tenant_key.bearer(&app).get("/v1/organizations").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    root.put(
        &format!("/v1/organizations/{}/clientaccess", tree.tenant_a1),
        json!({"api_enabled": true}),
    )
    .await;
    let (status, body) = root
        .put(
            &format!("/v1/organizations/{}", tree.partner_a),
            json!({"status": "suspended"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = tenant_key.bearer(&app).get("/v1/organizations").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a suspended parent: {body}");
}

#[tokio::test]
async fn a_tenant_admin_manages_its_own_keys_only_and_none_wider_than_itself() {
    let app = TestApp::start().await;
    let (tree, root) = support::tree(&app).await;
    root.create_user("a1-admin", tree.tenant_a1, "admin").await;
    root.create_user("a1-user", tree.tenant_a1, "user").await;
    let sibling_key = Key::create(
        &root,
        json!({"name": "B", "organization_id": tree.partner_b}),
    )
    .await;
    let parent_key = Key::create(
        &root,
        json!({"name": "A", "organization_id": tree.partner_a}),
    )
    .await;
    let admin = app.login("a1-admin", PASSWORD).await;
    let own = Key::create(&admin, json!({"name": "Mine", "role": "admin"})).await;
    assert_eq!(own.issued["organization_id"], tree.tenant_a1);
    let (status, body) = admin
        .post(
            "/v1/apikeys",
            json!({"name": "Wider", "permissions": ["organizations:create"]}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        message(&body).starts_with("permissions: organizations:create"),
        "{body}"
    );
    let (status, body) = admin
        .post(
            "/v1/apikeys",
            json!({"name": "Up", "organization_id": tree.partner_a}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(message(&body).starts_with("organization_id"), "{body}");
    let (_, list) = admin.get("/v1/apikeys").await;
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["data"][0]["id"], own.id);
    for other in [&sibling_key, &parent_key] {
        for (method, path) in [
            (Method::GET, format!("/v1/apikeys/{}", other.id)),
            (Method::PUT, format!("/v1/apikeys/{}", other.id)),
            (Method::POST, format!("/v1/apikeys/{}/rotate", other.id)),
            (Method::DELETE, format!("/v1/apikeys/{}", other.id)),
        ] {
            let body = (method == Method::PUT).then(|| json!({"name": "Mine now"}));
            let (status, answer) = admin.call(method.clone(), &path, body).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
            assert_eq!(message(&answer), "API key not found");
        }
        let (status, _) = other.bearer(&app).get("/v1/organizations").await;
        assert_eq!(status, StatusCode::OK, "untouched");
    }
    let user = app.login("a1-user", PASSWORD).await;
    let (status, body) = user.get("/v1/apikeys").await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "managing keys needs an admin: {body}"
    );
    let (status, body) = user.post("/v1/apikeys", json!({"name": "Nope"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

#[tokio::test]
async fn the_last_use_is_written_after_a_flush() {
    let app = TestApp::start_with(|c| c.auth.apikey_usage_flush_s = 1).await;
    let root = app.root().await;
    let used = Key::create(&root, json!({"name": "Used"})).await;
    let idle = Key::create(&root, json!({"name": "Idle"})).await;
    assert!(used.issued["last_used_at"].is_null());
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let (status, _) = used.basic(&app, Method::GET, "/v1/organizations").await;
    assert_eq!(status, StatusCode::OK);
    let mut seen = Value::Null;
    for _ in 0..50 {
        let (_, body) = root.get(&format!("/v1/apikeys/{}", used.id)).await;
        seen = body["data"].clone();
        if seen["last_used_at"].is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let at = chrono::DateTime::parse_from_rfc3339(
        seen["last_used_at"].as_str().expect("flushed within 5 s"),
    )
    .unwrap();
    assert!(at >= before, "{seen}");
    assert_eq!(seen["last_used_ip"], "127.0.0.1", "{seen}");
    let (_, body) = root.get(&format!("/v1/apikeys/{}", idle.id)).await;
    assert!(body["data"]["last_used_at"].is_null(), "{body}");
}

fn on_postgres() -> bool {
    let yes = support::backend() == "postgres";
    if !yes {
        println!("skipped: several instances share a PostgreSQL database only");
    }
    yes
}

#[tokio::test]
async fn revocation_and_rotation_on_one_instance_hold_on_the_other_at_once() {
    if !on_postgres() {
        return;
    }
    let a = TestApp::start_with(|c| c.pinger.enabled = false).await;
    let b = a
        .second_instance(|c| c.auth.apikey_usage_flush_s = 3600)
        .await;
    let on_a = a.root().await;
    let rotated = Key::create(&on_a, json!({"name": "Rotated"})).await;
    let revoked = Key::create(&on_a, json!({"name": "Revoked"})).await;
    for key in [&rotated, &revoked] {
        let (status, _) = key.bearer(&b).get("/v1/organizations").await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, _) = on_a.delete(&format!("/v1/apikeys/{}", revoked.id)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = revoked.bearer(&b).get("/v1/organizations").await;
    refused(status, &body, "revoked on A, used on B");
    let (status, body) = revoked.basic(&b, Method::GET, "/v1/organizations").await;
    refused(status, &body, "revoked on A, used on B as Basic");
    let new = rotated.rotate(&on_a, Some(0)).await;
    let (status, body) = rotated.bearer(&b).get("/v1/organizations").await;
    refused(status, &body, "rotated away on A, used on B");
    let (status, _) = new.bearer(&b).get("/v1/organizations").await;
    assert_eq!(status, StatusCode::OK);
    // B's uses are written when it stops, though its flush is an hour away.
    b.shutdown().await;
    let (_, body) = on_a.get(&format!("/v1/apikeys/{}", rotated.id)).await;
    assert!(body["data"]["last_used_at"].is_string(), "{body}");
    a.shutdown().await;
}
