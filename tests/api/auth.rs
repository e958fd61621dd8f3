//! Authentication as a client sees it: logging in and out, bearer tokens (access, refresh,
//! temporary) and their expiry, two-factor codes, failed-login limiting, how secrets are stored,
//! the audit trail of logins, and the organization-level locks (suspension, client access).

use crate::support::{self, Api, PASSWORD, ROOT_PASSWORD, ROOT_USER, TestApp, message};
use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// helpers

fn parse_time(value: &Value) -> DateTime<Utc> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a timestamp: {value}"));
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text:?} is not RFC 3339: {e}"))
        .with_timezone(&Utc)
}

fn now_unix() -> u64 {
    Utc::now().timestamp() as u64
}

/// A code valid right now that was not handed out before for `secret`: the server takes each
/// 30 s time step once, and accepts one step of skew either way, so this walks the steps from
/// the one before now. At most three per 30 s window, which is more than any test needs.
fn current_code(secret: &str) -> String {
    static LAST: std::sync::Mutex<Vec<(String, u64)>> = std::sync::Mutex::new(Vec::new());
    let now = now_unix() / 30;
    let mut handed_out = LAST.lock().unwrap();
    let last = handed_out
        .iter()
        .find(|(s, _)| s == secret)
        .map(|(_, step)| *step);
    let step = match last {
        Some(last) if last + 1 >= now => last + 1,
        _ => now - 1,
    };
    assert!(
        step <= now + 1,
        "more than three two-factor codes in one window"
    );
    handed_out.retain(|(s, _)| s != secret);
    handed_out.push((secret.to_string(), step));
    dialtone::auth::totp::code_at(secret, step * 30).unwrap()
}

/// A code valid right now, whether or not it was used (for checks that never reach the code).
fn valid_code(secret: &str) -> String {
    dialtone::auth::totp::code_at(secret, now_unix()).unwrap()
}

/// A six-digit code that is not valid around now (the server accepts one step of skew).
fn wrong_code(secret: &str) -> String {
    let now = now_unix();
    let valid: Vec<String> = [now - 60, now - 30, now, now + 30, now + 60]
        .iter()
        .map(|t| dialtone::auth::totp::code_at(secret, *t).unwrap())
        .collect();
    (0..10u32)
        .map(|d| d.to_string().repeat(6))
        .find(|c| !valid.contains(c))
        .unwrap()
}

async fn login_with_otp(
    app: &TestApp,
    username: &str,
    password: &str,
    otp: &str,
) -> (StatusCode, Value) {
    app.anonymous()
        .post(
            "/v1/auth/user",
            json!({"username": username, "password": password, "otp": otp}),
        )
        .await
}

async fn refresh(app: &TestApp, refresh_token: &str) -> (StatusCode, Value) {
    app.anonymous()
        .post(
            "/v1/auth/token-refresh",
            json!({"refresh_token": refresh_token}),
        )
        .await
}

/// Asserts the client's token is accepted.
async fn assert_works(api: &Api) {
    let (status, body) = api.get("/v1/organizations").await;
    assert_eq!(status, StatusCode::OK, "token should work: {body}");
}

/// Asserts the client's token is refused with 401 and returns the message.
async fn assert_unauthorized(api: &Api) -> String {
    let (status, body) = api.get("/v1/organizations").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "token should be refused: {body}"
    );
    assert_eq!(body["status"], "error", "{body}");
    assert_eq!(body["code"], 401, "{body}");
    message(&body).to_string()
}

/// A tenant directly under the platform with one admin user "alice"; returns (org id, user id).
async fn tenant_with_alice(root: &Api) -> (i64, i64) {
    let org = root.create_org("Tenant", "tenant", 1).await;
    let user = root.create_user("alice", org, "admin").await;
    (org, user)
}

/// Creates and confirms a two-factor secret for `api`'s user; returns the secret.
async fn enable_two_factor(api: &Api) -> String {
    let (status, body) = api.post("/v1/auth/twofactor/secret", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let secret = body["data"]["secret"].as_str().unwrap().to_string();
    let (status, body) = api
        .post(
            "/v1/auth/twofactor/confirm",
            json!({"code": current_code(&secret)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    secret
}

async fn token_hashes(app: &TestApp) -> Vec<String> {
    dialtone::on_db!(&app.state().db, pool => sqlx::query_scalar::<_, String>(
        "SELECT token_hash FROM auth_tokens").fetch_all(pool).await)
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// login

#[tokio::test]
async fn login_returns_a_working_token_pair_and_the_user() {
    let app = TestApp::start().await;
    let before = Utc::now();
    let (status, body) = app.login_raw(ROOT_USER, ROOT_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "success");
    let data = &body["data"];

    let token = data["token"].as_str().unwrap();
    assert!(token.starts_with("dta_"), "{token}");
    assert_eq!(data["token_type"], "Bearer");
    let refresh_token = data["refresh_token"].as_str().unwrap();
    assert!(refresh_token.starts_with("dtr_"), "{refresh_token}");
    assert_ne!(token, refresh_token);

    let expires_at = parse_time(&data["expires_at"]);
    let ttl = (expires_at - before).num_seconds();
    assert!(
        (3590..=3610).contains(&ttl),
        "expires_at about token_ttl_s (3600) ahead, got {ttl} s"
    );
    let refresh_expires_at = parse_time(&data["refresh_expires_at"]);
    assert!(
        refresh_expires_at > expires_at,
        "refresh token outlives the access token"
    );

    assert_eq!(data["user"]["username"], ROOT_USER);
    assert_eq!(data["user"]["role"], "admin");
    assert_eq!(data["user"]["organization_id"], 1);
    assert!(data["user"]["id"].as_i64().unwrap() > 0);

    assert_works(&app.with_token(token)).await;
}

#[tokio::test]
async fn login_token_ttl_follows_the_configuration() {
    let app = TestApp::start_with(|c| c.auth.token_ttl_s = 120).await;
    let before = Utc::now();
    let (status, body) = app.login_raw(ROOT_USER, ROOT_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ttl = (parse_time(&body["data"]["expires_at"]) - before).num_seconds();
    assert!(
        (110..=130).contains(&ttl),
        "expires_at about 120 s ahead, got {ttl} s"
    );
}

#[tokio::test]
async fn usernames_are_case_insensitive_at_login() {
    let app = TestApp::start().await;
    let (status, body) = app.login_raw("ROOT", ROOT_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["user"]["username"], "root");
    assert_works(&app.with_token(body["data"]["token"].as_str().unwrap())).await;

    let (status, body) = app.login_raw("Root", ROOT_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn passwords_are_case_sensitive() {
    let app = TestApp::start().await;
    let (status, body) = app
        .login_raw(ROOT_USER, &ROOT_PASSWORD.to_uppercase())
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

#[tokio::test]
async fn legacy_get_login_with_a_json_body_works() {
    let app = TestApp::start().await;
    let (status, body) = app
        .anonymous()
        .call(
            Method::GET,
            "/v1/auth/user",
            Some(json!({"username": ROOT_USER, "password": ROOT_PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["data"]["refresh_token"].is_string(), "{body}");
    assert_works(&app.with_token(body["data"]["token"].as_str().unwrap())).await;

    let (status, body) = app
        .anonymous()
        .call(
            Method::GET,
            "/v1/auth/user",
            Some(json!({"username": ROOT_USER, "password": "nope-nope"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

#[tokio::test]
async fn wrong_password_and_unknown_user_look_the_same() {
    let app = TestApp::start().await;
    let (wrong_status, wrong_body) = app.login_raw(ROOT_USER, "not-the-password").await;
    let (unknown_status, unknown_body) = app.login_raw("nobody-here", ROOT_PASSWORD).await;
    assert_eq!(wrong_status, StatusCode::UNAUTHORIZED, "{wrong_body}");
    assert_eq!(unknown_status, StatusCode::UNAUTHORIZED, "{unknown_body}");
    assert_eq!(
        wrong_body, unknown_body,
        "no hint which of username or password was wrong"
    );
    assert_eq!(message(&wrong_body), "Invalid username or password");
    assert!(
        wrong_body["data"].is_null(),
        "no token on failure: {wrong_body}"
    );
}

#[tokio::test]
async fn requests_without_a_valid_bearer_token_are_refused() {
    let app = TestApp::start().await;
    assert_eq!(
        assert_unauthorized(&app.anonymous()).await,
        "Authentication required"
    );
    assert_eq!(
        assert_unauthorized(&app.with_token("garbage")).await,
        "Invalid token"
    );
    assert_eq!(
        assert_unauthorized(&app.with_token("dta_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
            .await,
        "Invalid token"
    );

    // Another scheme than Bearer is no token at all.
    let root = app.root().await;
    let response = app
        .anonymous()
        .request(Method::GET, "/v1/organizations")
        .header(
            "authorization",
            format!("Basic {}", root.token.as_deref().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_refresh_token_is_not_a_bearer_token() {
    let app = TestApp::start().await;
    let (_, body) = app.login_raw(ROOT_USER, ROOT_PASSWORD).await;
    let refresh_token = body["data"]["refresh_token"].as_str().unwrap();
    assert_eq!(
        assert_unauthorized(&app.with_token(refresh_token)).await,
        "Invalid token"
    );
}

#[tokio::test]
async fn an_access_token_is_not_a_refresh_token() {
    let app = TestApp::start().await;
    let (_, body) = app.login_raw(ROOT_USER, ROOT_PASSWORD).await;
    let token = body["data"]["token"].as_str().unwrap();
    let (status, body) = refresh(&app, token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(message(&body), "Invalid refresh token");
    assert_works(&app.with_token(token)).await;
}

// ---------------------------------------------------------------------------------------------
// logout and expiry

#[tokio::test]
async fn logout_ends_the_session_and_its_refresh_token() {
    let app = TestApp::start().await;
    let (_, body) = app.login_raw(ROOT_USER, ROOT_PASSWORD).await;
    let api = app.with_token(body["data"]["token"].as_str().unwrap());
    let refresh_token = body["data"]["refresh_token"].as_str().unwrap();
    let other_session = app.root().await;

    let (status, body) = api.delete("/v1/auth").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "success");

    assert_eq!(assert_unauthorized(&api).await, "Invalid token");
    let (status, body) = refresh(&app, refresh_token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    // Logging out twice is just another unauthenticated request.
    let (status, _) = api.delete("/v1/auth").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Only that session ended.
    assert_works(&other_session).await;
}

#[tokio::test]
async fn access_tokens_expire() {
    let app = TestApp::start_with(|c| c.auth.token_ttl_s = 1).await;
    let (status, body) = app.login_raw(ROOT_USER, ROOT_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let api = app.with_token(body["data"]["token"].as_str().unwrap());
    let refresh_token = body["data"]["refresh_token"].as_str().unwrap().to_string();
    assert_works(&api).await;

    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(assert_unauthorized(&api).await, "Token expired");

    // The refresh token outlives it and gets a fresh access token.
    let (status, body) = refresh(&app, &refresh_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_works(&app.with_token(body["data"]["token"].as_str().unwrap())).await;
}

#[tokio::test]
async fn refresh_tokens_expire() {
    let app = TestApp::start_with(|c| c.auth.refresh_ttl_s = 1).await;
    let (_, body) = app.login_raw(ROOT_USER, ROOT_PASSWORD).await;
    let refresh_token = body["data"]["refresh_token"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, body) = refresh(&app, &refresh_token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(message(&body), "Refresh token expired");
}

// ---------------------------------------------------------------------------------------------
// refresh

#[tokio::test]
async fn refresh_issues_a_new_working_pair_and_spends_the_old_refresh_token() {
    let app = TestApp::start().await;
    let (_, first) = app.login_raw(ROOT_USER, ROOT_PASSWORD).await;
    let first_refresh = first["data"]["refresh_token"].as_str().unwrap();

    let (status, second) = refresh(&app, first_refresh).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let token = second["data"]["token"].as_str().unwrap();
    let second_refresh = second["data"]["refresh_token"].as_str().unwrap();
    assert_ne!(token, first["data"]["token"].as_str().unwrap());
    assert_ne!(second_refresh, first_refresh);
    assert_eq!(second["data"]["user"]["username"], ROOT_USER);
    assert!(parse_time(&second["data"]["expires_at"]) > Utc::now());
    assert_works(&app.with_token(token)).await;

    // The new refresh token works in turn.
    let (status, third) = refresh(&app, second_refresh).await;
    assert_eq!(status, StatusCode::OK, "{third}");
    assert_works(&app.with_token(third["data"]["token"].as_str().unwrap())).await;
}

#[tokio::test]
async fn replaying_a_spent_refresh_token_revokes_the_whole_session() {
    let app = TestApp::start().await;
    let (_, first) = app.login_raw(ROOT_USER, ROOT_PASSWORD).await;
    let first_refresh = first["data"]["refresh_token"].as_str().unwrap();
    let other_session = app.root().await;

    let (status, second) = refresh(&app, first_refresh).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let new_api = app.with_token(second["data"]["token"].as_str().unwrap());
    let new_refresh = second["data"]["refresh_token"].as_str().unwrap();
    assert_works(&new_api).await;

    let (status, body) = refresh(&app, first_refresh).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "spent refresh token: {body}"
    );
    assert_eq!(message(&body), "Invalid refresh token");

    // The replay looks like theft: everything of that session is dead now.
    assert_unauthorized(&new_api).await;
    assert_unauthorized(&app.with_token(first["data"]["token"].as_str().unwrap())).await;
    let (status, body) = refresh(&app, new_refresh).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    // Other sessions of the same user are untouched.
    assert_works(&other_session).await;
}

#[tokio::test]
async fn refresh_refuses_unknown_tokens() {
    let app = TestApp::start().await;
    let (status, body) = refresh(&app, "dtr_not-a-real-token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(message(&body), "Invalid refresh token");
}

// ---------------------------------------------------------------------------------------------
// temporary tokens

#[tokio::test]
async fn tempauth_issues_a_working_short_lived_token() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let before = Utc::now();
    let (status, body) = root.post("/v1/tempauth", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = body["data"]["token"].as_str().unwrap();
    assert!(token.starts_with("dtt_"), "{token}");
    assert_eq!(body["data"]["token_type"], "Bearer");
    let ttl = (parse_time(&body["data"]["expires_at"]) - before).num_seconds();
    assert!(
        (290..=310).contains(&ttl),
        "default is temp_token_ttl_s (300), got {ttl} s"
    );
    assert_works(&app.with_token(token)).await;
    let (status, body) = app.with_token(token).post("/v1/tempauth", json!({})).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a temp token cannot mint more: {body}"
    );

    // No body at all is the same as an empty one.
    let response = root
        .request(Method::POST, "/v1/tempauth")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn tempauth_tokens_expire_after_their_ttl() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let (status, body) = root.post("/v1/tempauth", json!({"ttl_s": 1})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let temp = app.with_token(body["data"]["token"].as_str().unwrap());
    assert_works(&temp).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(assert_unauthorized(&temp).await, "Token expired");
    assert_works(&root).await;
}

#[tokio::test]
async fn tempauth_ttl_must_be_between_one_and_the_configured_maximum() {
    let app = TestApp::start_with(|c| c.auth.temp_token_ttl_s = 60).await;
    let root = app.root().await;

    // The document states the bounds this daemon enforces.
    let (status, doc) = root.get("/swagger.json").await;
    assert_eq!(status, StatusCode::OK);
    let ttl = &doc["components"]["schemas"]["TempAuthBody"]["properties"]["ttl_s"];
    assert_eq!(
        (ttl["minimum"].as_u64(), ttl["maximum"].as_u64()),
        (Some(1), Some(60)),
        "{ttl}"
    );
    let (status, body) = root.post("/v1/tempauth", json!({"ttl_s": 60})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (status, body) = root.post("/v1/tempauth", json!({"ttl_s": 0})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).starts_with("ttl_s"), "{body}");

    let (status, body) = root.post("/v1/tempauth", json!({"ttl_s": 61})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).starts_with("ttl_s"), "{body}");
    assert!(message(&body).contains("60"), "names the maximum: {body}");

    let (status, body) = root.post("/v1/tempauth", json!({"ttl_s": 60})).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the maximum itself is fine: {body}"
    );
}

#[tokio::test]
async fn tempauth_needs_a_token() {
    let app = TestApp::start().await;
    let (status, body) = app.anonymous().post("/v1/tempauth", json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

#[tokio::test]
async fn logout_also_revokes_the_sessions_temporary_tokens() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let (_, body) = root.post("/v1/tempauth", json!({})).await;
    let temp = app.with_token(body["data"]["token"].as_str().unwrap());
    assert_works(&temp).await;
    let (status, _) = root.delete("/v1/auth").await;
    assert_eq!(status, StatusCode::OK);
    assert_unauthorized(&temp).await;
}

// ---------------------------------------------------------------------------------------------
// two-factor authentication

#[tokio::test]
async fn two_factor_enrolment_login_and_disable() {
    let app = TestApp::start().await;
    let root = app.root().await;

    let (status, body) = root.get("/v1/auth/twofactor").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["enabled"], false);
    assert_eq!(body["data"]["pending"], false);

    // Before a secret exists there is nothing to show.
    let (status, body) = root.get("/v1/auth/twofactor/uri").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    let (status, body) = root.post("/v1/auth/twofactor/secret", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let secret = body["data"]["secret"].as_str().unwrap().to_string();
    let uri = body["data"]["otpauth_uri"].as_str().unwrap().to_string();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(uri.contains(ROOT_USER), "names the account: {uri}");

    let (_, body) = root.get("/v1/auth/twofactor").await;
    assert_eq!(body["data"]["enabled"], false, "{body}");
    assert_eq!(body["data"]["pending"], true, "{body}");

    let (status, body) = root.get("/v1/auth/twofactor/uri").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["otpauth_uri"], uri.as_str());

    let response = root
        .request(Method::GET, "/v1/auth/twofactor/qrcode")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
    assert!(response.text().await.unwrap().contains("<svg"));

    // A pending secret changes nothing about logging in yet.
    app.login(ROOT_USER, ROOT_PASSWORD).await;

    let (status, body) = root
        .post(
            "/v1/auth/twofactor/confirm",
            json!({"code": wrong_code(&secret)}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(message(&body).starts_with("code"), "{body}");
    let (_, body) = root.get("/v1/auth/twofactor").await;
    assert_eq!(
        body["data"]["enabled"], false,
        "a wrong code enables nothing: {body}"
    );

    let (status, body) = root
        .post(
            "/v1/auth/twofactor/confirm",
            json!({"code": current_code(&secret)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = root.get("/v1/auth/twofactor").await;
    assert_eq!(body["data"]["enabled"], true, "{body}");
    let (status, _) = root.get("/v1/auth/twofactor/uri").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "an active secret is never shown again"
    );
    let (status, _) = root.get("/v1/auth/twofactor/qrcode").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = root.delete("/v1/users/1/twofactor").await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "no code-less reset of one's own second factor"
    );
    assert_eq!(body["data"]["pending"], false, "{body}");

    // The session that enabled it keeps working.
    assert_works(&root).await;

    // Logins now need the code.
    let (status, body) = app.login_raw(ROOT_USER, ROOT_PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        message(&body).to_lowercase().contains("two-factor"),
        "{body}"
    );
    assert!(body["data"].is_null(), "{body}");

    let (status, body) = login_with_otp(&app, ROOT_USER, ROOT_PASSWORD, &wrong_code(&secret)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(message(&body), "Invalid two-factor code");

    let (status, body) = login_with_otp(&app, ROOT_USER, ROOT_PASSWORD, "").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an empty otp is no otp: {body}"
    );

    let (status, body) =
        login_with_otp(&app, ROOT_USER, ROOT_PASSWORD, &current_code(&secret)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_works(&app.with_token(body["data"]["token"].as_str().unwrap())).await;

    // A right code does not rescue a wrong password.
    let (status, body) =
        login_with_otp(&app, ROOT_USER, "wrong-password", &valid_code(&secret)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(message(&body), "Invalid username or password");

    // A second enrolment while enabled is refused.
    let (status, body) = root.post("/v1/auth/twofactor/secret", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // Disabling needs a current code too.
    let (status, body) = root
        .call(
            Method::DELETE,
            "/v1/auth/twofactor",
            Some(json!({"code": wrong_code(&secret)})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(message(&body).starts_with("code"), "{body}");

    let (status, body) = root
        .call(
            Method::DELETE,
            "/v1/auth/twofactor",
            Some(json!({"code": current_code(&secret)})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = root.get("/v1/auth/twofactor").await;
    assert_eq!(body["data"]["enabled"], false, "{body}");

    app.login(ROOT_USER, ROOT_PASSWORD).await;
}

#[tokio::test]
async fn two_factor_confirm_without_a_pending_secret_is_a_conflict() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let (status, body) = root
        .post("/v1/auth/twofactor/confirm", json!({"code": "123456"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = root
        .call(
            Method::DELETE,
            "/v1/auth/twofactor",
            Some(json!({"code": "123456"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

#[tokio::test]
async fn two_factor_routes_need_a_token() {
    let app = TestApp::start().await;
    let anonymous = app.anonymous();
    for (method, path) in [
        (Method::GET, "/v1/auth/twofactor"),
        (Method::POST, "/v1/auth/twofactor/secret"),
        (Method::GET, "/v1/auth/twofactor/uri"),
        (Method::GET, "/v1/auth/twofactor/qrcode"),
        (Method::POST, "/v1/auth/twofactor/confirm"),
        (Method::DELETE, "/v1/auth/twofactor"),
        (Method::DELETE, "/v1/auth"),
    ] {
        let (status, body) = anonymous
            .call(method.clone(), path, Some(json!({"code": "123456"})))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {body}");
    }
}

#[tokio::test]
async fn admin_reset_turns_off_another_users_two_factor_and_ends_their_sessions() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let (_, alice_id) = tenant_with_alice(&root).await;
    let alice = app.login("alice", PASSWORD).await;
    let secret = enable_two_factor(&alice).await;

    let (status, body) = app.login_raw("alice", PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "two-factor now on: {body}"
    );
    let (status, body) = root.get(&format!("/v1/users/{alice_id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["twofactor_enabled"], true, "{body}");
    let (status, body) = login_with_otp(&app, "alice", PASSWORD, &current_code(&secret)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let alice_second = app.with_token(body["data"]["token"].as_str().unwrap());

    let (status, body) = root
        .delete(&format!("/v1/users/{alice_id}/twofactor"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["twofactor_enabled"], false, "{body}");

    assert_unauthorized(&alice).await;
    assert_unauthorized(&alice_second).await;
    assert_works(&root).await;

    let alice = app.login("alice", PASSWORD).await;
    let (_, body) = alice.get("/v1/auth/twofactor").await;
    assert_eq!(body["data"]["enabled"], false, "{body}");
    assert_eq!(body["data"]["pending"], false, "{body}");
}

#[tokio::test]
async fn a_user_cannot_reset_two_factor_outside_their_scope() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let root_id = {
        let (_, body) = app.login_raw(ROOT_USER, ROOT_PASSWORD).await;
        body["data"]["user"]["id"].as_i64().unwrap()
    };
    tenant_with_alice(&root).await;
    enable_two_factor(&root).await;
    let alice = app.login("alice", PASSWORD).await;
    let (status, body) = alice
        .delete(&format!("/v1/users/{root_id}/twofactor"))
        .await;
    assert!(
        status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN,
        "a tenant admin must not reset the platform admin: {status} {body}"
    );
    assert_works(&root).await;
    let (_, body) = root.get("/v1/auth/twofactor").await;
    assert_eq!(body["data"]["enabled"], true, "{body}");
}

#[tokio::test]
async fn qrcode_renders_any_text_as_svg_for_a_logged_in_caller() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let response = root
        .request(
            Method::GET,
            "/v1/qrcode/https%3A%2F%2Fexample.com%2Fp%3Fx%3D1",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
    assert!(response.text().await.unwrap().contains("<svg"));
    let (status, _) = app.anonymous().get("/v1/qrcode/hello").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // PNG at a size: a real PNG a scanner can read, about that many pixels square.
    let response = root
        .request(Method::GET, "/v1/qrcode/hello%20world?format=png&size=300")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/png");
    let bytes = response.bytes().await.unwrap();
    let reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let (width, height) = (reader.info().width, reader.info().height);
    assert!(
        width == height && (300..340).contains(&width),
        "{width}x{height}"
    );
    let svg = root
        .request(Method::GET, "/v1/qrcode/hello?format=SVG&size=1024")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(svg.contains("width=\"10"), "{}", &svg[..200]);

    for (query, field) in [
        ("format=gif", "format:"),
        ("format=", "format:"),
        ("size=10", "size:"),
        ("size=4096", "size:"),
        ("size=big", "size:"),
    ] {
        let (status, body) = root.get(&format!("/v1/qrcode/hello?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(message(&body).starts_with(field), "{query}: {body}");
    }
    let (status, body) = root.get(&format!("/v1/qrcode/{}", "x".repeat(3000))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).starts_with("data:"), "{body}");
}

// ---------------------------------------------------------------------------------------------
// failed-login limiting

fn assert_rate_limit_headers(headers: &reqwest::header::HeaderMap) {
    for name in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ] {
        assert!(headers.contains_key(name), "missing {name}: {headers:?}");
    }
}

async fn raw_login(app: &TestApp, username: &str, password: &str) -> reqwest::Response {
    app.anonymous()
        .request(Method::POST, "/v1/auth/user")
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn too_many_failed_logins_block_the_username_even_with_the_right_password() {
    let app = TestApp::start_with(|c| c.auth.max_failures_per_username = 3).await;
    let root = app.root().await;
    tenant_with_alice(&root).await;

    for attempt in 1..=3 {
        let (status, body) = app.login_raw("alice", "wrong-password").await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}: {body}"
        );
    }

    let response = raw_login(&app, "alice", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=900).contains(&retry_after),
        "Retry-After within the window: {retry_after}"
    );
    assert_rate_limit_headers(response.headers());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], 429, "{body}");
    assert!(message(&body).contains("Too many failed logins"), "{body}");

    // The block is on the username, however it is spelled.
    let (status, _) = app.login_raw("ALICE", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);

    // Other users are not affected, nor are alice's existing sessions.
    app.login(ROOT_USER, ROOT_PASSWORD).await;
    assert_works(&root).await;
}

#[tokio::test]
async fn a_successful_login_clears_the_username_failures() {
    let app = TestApp::start_with(|c| c.auth.max_failures_per_username = 3).await;
    for _ in 0..2 {
        let (status, _) = app.login_raw(ROOT_USER, "wrong-password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    app.login(ROOT_USER, ROOT_PASSWORD).await;
    for _ in 0..2 {
        let (status, _) = app.login_raw(ROOT_USER, "wrong-password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    app.login(ROOT_USER, ROOT_PASSWORD).await;
}

#[tokio::test]
async fn the_username_block_lifts_after_the_failure_window() {
    let app = TestApp::start_with(|c| {
        c.auth.max_failures_per_username = 2;
        c.auth.failure_window_s = 1;
    })
    .await;
    for _ in 0..2 {
        let (status, _) = app.login_raw(ROOT_USER, "wrong-password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _) = app.login_raw(ROOT_USER, ROOT_PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    app.login(ROOT_USER, ROOT_PASSWORD).await;
}

#[tokio::test]
async fn wrong_two_factor_codes_count_as_failed_logins() {
    let app = TestApp::start_with(|c| c.auth.max_failures_per_username = 2).await;
    let root = app.root().await;
    let secret = enable_two_factor(&root).await;
    for _ in 0..2 {
        let (status, body) =
            login_with_otp(&app, ROOT_USER, ROOT_PASSWORD, &wrong_code(&secret)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    let (status, body) =
        login_with_otp(&app, ROOT_USER, ROOT_PASSWORD, &current_code(&secret)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
}

#[tokio::test]
async fn an_ip_spraying_many_usernames_is_blocked() {
    let app = TestApp::start_with(|c| {
        c.auth.max_failures_per_ip = 4;
        c.auth.max_failures_per_username = 100;
    })
    .await;
    for name in ["spray-a", "spray-b", "spray-c", "spray-d"] {
        let (status, body) = app.login_raw(name, "guess-password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {body}");
    }
    let response = raw_login(&app, ROOT_USER, ROOT_PASSWORD).await;
    assert_eq!(
        response.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "valid login from a blocked IP"
    );
    assert!(
        response.headers().contains_key("retry-after"),
        "{:?}",
        response.headers()
    );
    assert_rate_limit_headers(response.headers());
}

// ---------------------------------------------------------------------------------------------
// how secrets are stored

#[tokio::test]
async fn tokens_are_stored_only_as_sha256_hashes() {
    let app = TestApp::start().await;
    let (_, body) = app.login_raw(ROOT_USER, ROOT_PASSWORD).await;
    let token = body["data"]["token"].as_str().unwrap().to_string();
    let refresh_token = body["data"]["refresh_token"].as_str().unwrap().to_string();
    let (status, body) = app.with_token(&token).post("/v1/tempauth", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let temp = body["data"]["token"].as_str().unwrap().to_string();

    let stored = token_hashes(&app).await;
    for secret in [&token, &refresh_token, &temp] {
        assert!(
            stored.iter().all(|h| !h.contains(secret.as_str())),
            "plaintext token found in auth_tokens"
        );
        let hash = dialtone::auth::token::hash(secret);
        assert_eq!(hash.len(), 64);
        assert!(stored.contains(&hash), "SHA-256 hex of the token is stored");
    }

    // Nor is any plaintext anywhere else in that table.
    let rows = dialtone::on_db!(&app.state().db, pool => sqlx::query_scalar::<_, String>(
        "SELECT session_id || '|' || kind FROM auth_tokens").fetch_all(pool).await)
    .unwrap();
    for row in rows {
        for secret in [&token, &refresh_token, &temp] {
            assert!(
                !row.contains(secret.as_str()),
                "plaintext token in auth_tokens: {row}"
            );
        }
    }
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_hashes() {
    let app = TestApp::start().await;
    let root = app.root().await;
    tenant_with_alice(&root).await;
    let hashes = dialtone::on_db!(&app.state().db, pool => sqlx::query_scalar::<_, String>(
        "SELECT password_hash FROM users").fetch_all(pool).await)
    .unwrap();
    assert_eq!(hashes.len(), 2, "root and alice");
    for hash in &hashes {
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(
            !hash.contains(PASSWORD) && !hash.contains(ROOT_PASSWORD),
            "{hash}"
        );
    }
    assert_ne!(hashes[0], hashes[1], "salted");
}

// ---------------------------------------------------------------------------------------------
// audit

#[tokio::test]
async fn login_and_logout_are_audited() {
    let app = TestApp::start().await;
    let (_, body) = app.login_raw(ROOT_USER, ROOT_PASSWORD).await;
    let root_id = body["data"]["user"]["id"].as_i64().unwrap();
    let root = app.with_token(body["data"]["token"].as_str().unwrap());
    let (_, alice_id) = tenant_with_alice(&root).await;

    let response = app
        .anonymous()
        .request(Method::POST, "/v1/auth/user")
        .header("x-request-id", "login-req-1")
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let alice = app.with_token(body["data"]["token"].as_str().unwrap());
    let response = alice
        .request(Method::DELETE, "/v1/auth")
        .header("x-request-id", "logout-req-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (status, _) = app.login_raw("alice", "wrong-password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, body) = root.get("/v1/auditlog?action=login").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let logins = body["data"].as_array().unwrap();
    assert_eq!(
        body["total"], 2,
        "root's and alice's successful logins only: {body}"
    );
    assert!(logins.iter().all(|r| r["action"] == "login"), "{body}");
    let of = |id: i64| logins.iter().find(|r| r["actor_user_id"] == id).cloned();
    let root_login = of(root_id).expect("root's login recorded");
    assert_eq!(root_login["actor_username"], ROOT_USER);
    assert_eq!(root_login["entity_type"], "user");
    assert_eq!(root_login["entity_id"], root_id.to_string());
    assert!(
        root_login["client_ip"]
            .as_str()
            .unwrap_or_default()
            .contains("127.0.0.1"),
        "{root_login}"
    );
    let alice_login = of(alice_id).expect("alice's login recorded");
    assert_eq!(alice_login["actor_username"], "alice");
    assert_eq!(alice_login["request_id"], "login-req-1", "{alice_login}");

    let (status, body) = root.get("/v1/auditlog?action=logout").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["total"], 1, "{body}");
    assert_eq!(body["data"][0]["actor_user_id"], alice_id);
    assert_eq!(body["data"][0]["entity_id"], alice_id.to_string());
    assert_eq!(body["data"][0]["request_id"], "logout-req-1", "{body}");
}

#[tokio::test]
async fn deleting_a_user_ends_their_sessions() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let (_, alice_id) = tenant_with_alice(&root).await;
    let (_, body) = app.login_raw("alice", PASSWORD).await;
    let alice = app.with_token(body["data"]["token"].as_str().unwrap());
    let alice_refresh = body["data"]["refresh_token"].as_str().unwrap().to_string();
    assert_works(&alice).await;

    let (status, body) = root.delete(&format!("/v1/users/{alice_id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_unauthorized(&alice).await;
    let (status, _) = refresh(&app, &alice_refresh).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.login_raw("alice", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

// ---------------------------------------------------------------------------------------------
// organization-level locks

#[tokio::test]
async fn a_suspended_organization_locks_out_its_users_until_reactivated() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let (org, _) = tenant_with_alice(&root).await;
    let (_, body) = app.login_raw("alice", PASSWORD).await;
    let alice = app.with_token(body["data"]["token"].as_str().unwrap());
    let alice_refresh = body["data"]["refresh_token"].as_str().unwrap().to_string();
    assert_works(&alice).await;

    let (status, body) = root
        .put(
            &format!("/v1/organizations/{org}"),
            json!({"status": "suspended"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, body) = alice.get("/v1/organizations").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "existing token: {body}");
    assert_eq!(message(&body), "Organization suspended");
    let (status, body) = app.login_raw("alice", PASSWORD).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "new login: {body}");
    assert!(body["data"].is_null(), "{body}");
    let (status, body) = refresh(&app, &alice_refresh).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "refresh: {body}");
    assert_works(&root).await;

    let (status, body) = root
        .put(
            &format!("/v1/organizations/{org}"),
            json!({"status": "active"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_works(&alice).await;
    app.login("alice", PASSWORD).await;
    // The refused refresh did not spend the refresh token.
    let (status, body) = refresh(&app, &alice_refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn suspending_a_parent_locks_out_users_of_its_descendants() {
    let app = TestApp::start().await;
    let (tree, root) = support::tree(&app).await;
    root.create_user("alice", tree.tenant_a1, "admin").await;
    let alice = app.login("alice", PASSWORD).await;

    let (status, body) = root
        .put(
            &format!("/v1/organizations/{}", tree.dist),
            json!({"status": "suspended"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = alice.get("/v1/organizations").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.login_raw("alice", PASSWORD).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, _) = root
        .put(
            &format!("/v1/organizations/{}", tree.dist),
            json!({"status": "active"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_works(&alice).await;
}

#[tokio::test]
async fn restricting_to_org_ips_refuses_other_addresses_until_one_is_added() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let (org, _) = tenant_with_alice(&root).await;
    let alice = app.login("alice", PASSWORD).await;

    let (status, body) = root
        .put(
            &format!("/v1/organizations/{org}/clientaccess"),
            json!({"restrict_to_orgips": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["restrict_to_orgips"], true, "{body}");

    let (status, body) = alice.get("/v1/organizations").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(message(&body).contains("address"), "{body}");
    let (status, body) = app.login_raw("alice", PASSWORD).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_works(&root).await;

    // An address of another network does not help.
    let (status, body) = root
        .post(
            "/v1/orgips",
            json!({"organization_id": org, "cidr": "192.0.2.0/24"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = alice.get("/v1/organizations").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, body) = root
        .post(
            "/v1/orgips",
            json!({"organization_id": org, "cidr": "127.0.0.1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_works(&alice).await;
    app.login("alice", PASSWORD).await;
}

#[tokio::test]
async fn disabling_api_access_refuses_logins_and_tokens() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let (org, _) = tenant_with_alice(&root).await;
    let alice = app.login("alice", PASSWORD).await;

    let (status, body) = root
        .put(
            &format!("/v1/organizations/{org}/clientaccess"),
            json!({"api_enabled": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["api_enabled"], false, "{body}");

    let (status, body) = app.login_raw("alice", PASSWORD).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(message(&body).contains("API access is disabled"), "{body}");
    let (status, _) = alice.get("/v1/organizations").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_works(&root).await;

    let (status, body) = root
        .put(
            &format!("/v1/organizations/{org}/clientaccess"),
            json!({"api_enabled": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.login("alice", PASSWORD).await;
    assert_works(&alice).await;
}

#[tokio::test]
async fn a_two_factor_code_signs_in_once() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let secret = enable_two_factor(&root).await;
    let code = current_code(&secret);
    let (status, body) = login_with_otp(&app, ROOT_USER, ROOT_PASSWORD, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Someone who saw that code (over a shoulder, in a proxy log) cannot use it again.
    let (status, body) = login_with_otp(&app, ROOT_USER, ROOT_PASSWORD, &code).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(
        message(&body),
        "Two-factor code already used; wait for the next one"
    );
    // Nor to turn two-factor off; the next code does.
    let (status, body) = root
        .call(
            Method::DELETE,
            "/v1/auth/twofactor",
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(message(&body).contains("already used"), "{body}");
    let (status, body) =
        login_with_otp(&app, ROOT_USER, ROOT_PASSWORD, &current_code(&secret)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Signs in as root with an `X-Forwarded-For` header; returns the status.
async fn login_forwarded_for(app: &TestApp, forwarded: &str, password: &str) -> StatusCode {
    app.http
        .post(app.url("/v1/auth/user"))
        .header("x-forwarded-for", forwarded)
        .header("accept", "application/json")
        .json(&json!({"username": ROOT_USER, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_the_client() {
    let app = TestApp::start_with(|c| {
        c.http.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
        c.auth.max_failures_per_ip = 2;
    })
    .await;
    let root = app.root().await;
    // The audit log names the client the proxy saw, not the proxy; a spoofed entry to its left
    // is ignored.
    let status = login_forwarded_for(&app, "1.1.1.1, 203.0.113.7", ROOT_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = root.get("/v1/auditlog?action=login&limit=1").await;
    assert_eq!(body["data"][0]["client_ip"], "203.0.113.7", "{body}");
    // Each client behind the proxy has its own failure budget: one blocked client does not
    // lock out the others sharing the proxy.
    for _ in 0..3 {
        login_forwarded_for(&app, "203.0.113.66", "wrong-password").await;
    }
    assert_eq!(
        login_forwarded_for(&app, "203.0.113.66", ROOT_PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        login_forwarded_for(&app, "203.0.113.8", ROOT_PASSWORD).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn without_trusted_proxies_x_forwarded_for_is_ignored() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let status = login_forwarded_for(&app, "203.0.113.7", ROOT_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = root.get("/v1/auditlog?action=login&limit=1").await;
    let client = body["data"][0]["client_ip"].as_str().unwrap_or_default();
    assert!(client.contains("127.0.0.1"), "{body}");
}
