//! Users: CRUD, roles, self-service, foreign ids and permissions.

use crate::support::{PASSWORD, TestApp, tree};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn user_crud_never_shows_a_password() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let (status, body) = root
        .post(
            "/v1/users",
            json!({"username": "Alice", "password": PASSWORD, "organization_id": t.tenant_a1, "role": "admin", "email": "alice@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let user = &body["data"];
    assert_eq!(
        user["username"], "alice",
        "usernames are case-insensitive, stored lower-case"
    );
    assert_eq!(user["organization_id"], t.tenant_a1);
    assert_eq!(user["role"], "admin");
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());
    let id = user["id"].as_i64().unwrap();

    let (status, body) = root
        .post(
            "/v1/users",
            json!({"username": "ALICE", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body["message"].as_str().unwrap().starts_with("username"),
        "{body}"
    );

    let (_, list) = root
        .get(&format!("/v1/users?organization_id={}", t.tenant_a1))
        .await;
    assert_eq!(list["total"], 1);
    assert!(!list.to_string().contains("argon2"));
    let (_, list) = root.get("/v1/users?role=admin").await;
    assert_eq!(list["total"], 2);

    let (status, body) = root
        .put(
            &format!("/v1/users/{id}"),
            json!({"role": "readonly", "email": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["data"]["role"].as_str(),
            body["data"]["email"].as_str()
        ),
        (Some("readonly"), None)
    );
    let (status, _) = root
        .put(&format!("/v1/users/{id}"), json!({"role": "superuser"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = root
        .put(
            &format!("/v1/users/{id}"),
            json!({"organization_id": t.partner_b}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, _) = root.delete(&format!("/v1/users/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = root.get(&format!("/v1/users/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = root.delete("/v1/users/1").await;
    assert_eq!(status, StatusCode::CONFLICT, "nobody deletes themselves");
}

#[tokio::test]
async fn self_service_password_change_needs_the_current_one_and_ends_other_sessions() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let id = root.create_user("bob", t.partner_a, "user").await;
    let first = app.login("bob", PASSWORD).await;
    let second = app.login("bob", PASSWORD).await;
    let path = format!("/v1/users/{id}");

    let (status, body) = second
        .put(&path, json!({"password": "a-new-password"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("current_password")
    );
    let (status, _) = second
        .put(
            &path,
            json!({"password": "a-new-password", "current_password": "wrong-one!"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = second
        .put(
            &path,
            json!({"password": "short", "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = second
        .put(
            &path,
            json!({"password": "a-new-password", "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    assert_eq!(
        second.get("/v1/organizations").await.0,
        StatusCode::OK,
        "this session stays"
    );
    assert_eq!(
        first.get("/v1/organizations").await.0,
        StatusCode::UNAUTHORIZED,
        "others end"
    );
    assert_eq!(
        app.login_raw("bob", PASSWORD).await.0,
        StatusCode::UNAUTHORIZED
    );
    app.login("bob", "a-new-password").await;

    // A plain user may not raise their own role, nor touch another user.
    let (status, _) = second.put(&path, json!({"role": "admin"})).await;
    assert!(status == StatusCode::CONFLICT || status == StatusCode::FORBIDDEN);
    let other = root.create_user("carol", t.partner_a, "user").await;
    let (status, _) = second
        .put(&format!("/v1/users/{other}"), json!({"email": "x@y.zz"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = second
        .post(
            "/v1/users",
            json!({"username": "dave", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn foreign_ids_are_unique_per_source() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let a = root.create_user("fa1", t.partner_a, "user").await;
    let b = root.create_user("fb1", t.partner_a, "user").await;
    let (status, body) = root
        .post(
            &format!("/v1/users/{a}/foreignids"),
            json!({"source": "CRM", "foreign_id": "C-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["source"], "crm");
    let fid = body["data"]["id"].as_i64().unwrap();
    let (status, body) = root
        .post(
            &format!("/v1/users/{b}/foreignids"),
            json!({"source": "crm", "foreign_id": "C-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("foreign_id"),
        "{body}"
    );
    let (status, _) = root
        .post(
            &format!("/v1/users/{b}/foreignids"),
            json!({"source": "billing", "foreign_id": "C-1"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "same id in another source is fine"
    );
    let (status, _) = root
        .post(
            &format!("/v1/users/{a}/foreignids"),
            json!({"source": "crm", "foreign_id": "C-2"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "one id per source per user");
    let (status, _) = root
        .post(
            &format!("/v1/users/{a}/foreignids"),
            json!({"source": "", "foreign_id": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (_, list) = root.get(&format!("/v1/users/{a}/foreignids")).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let (status, _) = root
        .delete(&format!("/v1/users/{b}/foreignids/{fid}"))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a foreign id is removed through its own user"
    );
    let (status, _) = root
        .delete(&format!("/v1/users/{a}/foreignids/{fid}"))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn permissions_follow_role_and_organization_type() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let partner_admin = root.create_user("padmin", t.partner_a, "admin").await;
    let tenant_admin = root.create_user("tadmin", t.tenant_a1, "admin").await;
    let viewer = root.create_user("viewer", t.tenant_a1, "readonly").await;
    let perms = |id: i64| {
        let root = root.clone();
        async move {
            let (status, body) = root.get(&format!("/v1/users/{id}/permissions")).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body["data"].clone()
        }
    };
    let p = perms(partner_admin).await;
    assert_eq!(p["organization_type"], "partner");
    assert!(
        p["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("organizations:create"))
    );
    let p = perms(tenant_admin).await;
    assert!(
        !p["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("organizations:create"))
    );
    assert!(
        p["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("users:write"))
    );
    let p = perms(viewer).await;
    let list = p["permissions"].as_array().unwrap();
    assert!(!list.contains(&json!("users:write")) && list.contains(&json!("users:read")));
}
