//! Auth routes: login (`/v1/auth/user`), logout, refresh, temporary tokens, two-factor, QR codes.

use super::twofactor::{TwoFactorSecret, TwoFactorStatus};
use super::{Caller, Session, TempToken};
use crate::error::{Error, Result};
use crate::http::client_ip::ClientIp;
use crate::http::envelope::{Envelope, done};
use crate::http::json::JsonBody;
use crate::http::pagination::Params;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

/// Routes that need no token.
pub fn public_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login, login_legacy_get))
        .routes(routes!(token_refresh))
}

/// Routes of an authenticated caller.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(logout))
        .routes(routes!(tempauth))
        .routes(routes!(twofactor_status, twofactor_disable))
        .routes(routes!(twofactor_secret))
        .routes(routes!(twofactor_uri))
        .routes(routes!(twofactor_qrcode))
        .routes(routes!(twofactor_confirm))
        .routes(routes!(qrcode))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    username: String,
    password: String,
    /// Six-digit code from the authenticator app, once two-factor authentication is enabled.
    otp: Option<String>,
}

fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

async fn do_login(
    state: &AppState,
    client_ip: Option<std::net::IpAddr>,
    headers: &HeaderMap,
    body: LoginBody,
) -> Result<Envelope<Session>> {
    let session = super::login(
        state,
        super::LoginRequest {
            username: &body.username,
            password: &body.password,
            otp: body.otp.as_deref(),
            client_ip,
            request_id: request_id(headers),
        },
    )
    .await?;
    Ok(Envelope::ok(session))
}

/// Log in with username and password (and `otp` when two-factor is on); returns a bearer token.
#[utoipa::path(post, path = "/v1/auth/user", tag = "auth", request_body = LoginBody,
    responses((status = 200, body = Session), (status = 401, description = "Wrong credentials"),
              (status = 429, description = "Too many failed logins")))]
async fn login(
    State(state): State<AppState>,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Envelope<Session>> {
    do_login(&state, client_ip, &headers, body).await
}

/// Legacy form of the login: GET with the same JSON body.
#[utoipa::path(get, path = "/v1/auth/user", tag = "auth", request_body = LoginBody,
    responses((status = 200, body = Session), (status = 401, description = "Wrong credentials")))]
async fn login_legacy_get(
    State(state): State<AppState>,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Envelope<Session>> {
    do_login(&state, client_ip, &headers, body).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    refresh_token: String,
}

/// Exchange a refresh token for a new token pair; the old refresh token is spent.
#[utoipa::path(post, path = "/v1/auth/token-refresh", tag = "auth", request_body = RefreshBody,
    responses((status = 200, body = Session), (status = 401, description = "Invalid or spent refresh token")))]
async fn token_refresh(
    State(state): State<AppState>,
    ClientIp(client_ip): ClientIp,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<Envelope<Session>> {
    Ok(Envelope::ok(
        super::refresh(&state, &body.refresh_token, client_ip).await?,
    ))
}

/// Log out: revokes the token and every token of its session.
#[utoipa::path(delete, path = "/v1/auth", tag = "auth",
    responses((status = 200, description = "Revoked")), security(("bearer" = [])))]
async fn logout(State(state): State<AppState>, caller: Caller) -> Result<Envelope<Option<()>>> {
    super::logout(&state, &caller).await?;
    Ok(done())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TempAuthBody {
    /// Lifetime in seconds (default and maximum: `auth.temp_token_ttl_s`; the document's maximum
    /// is this daemon's).
    #[schema(minimum = 1)]
    ttl_s: Option<u64>,
}

/// Writes this daemon's `auth.temp_token_ttl_s` into the document it serves as the maximum of
/// `POST /v1/tempauth`'s `ttl_s`: the bound is configuration, and a client reading the document
/// should see the one it will meet.
pub fn document_bounds(doc: &mut serde_json::Value, config: &crate::config::AuthConfig) {
    if let Some(field) = doc
        .pointer_mut("/components/schemas/TempAuthBody/properties/ttl_s")
        .and_then(serde_json::Value::as_object_mut)
    {
        field.insert("maximum".into(), config.temp_token_ttl_s.into());
    }
}

/// Issue a short-lived token for the caller (e.g. for a link handed to another tool).
#[utoipa::path(post, path = "/v1/tempauth", tag = "auth", request_body = Option<TempAuthBody>,
    responses((status = 201, body = TempToken),
        (status = 400, description = "`ttl_s` is out of its bounds"),
        (status = 403, description = "Not a login token")), security(("bearer" = [])))]
async fn tempauth(
    State(state): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<Envelope<TempToken>> {
    let body: TempAuthBody = crate::http::json::parse_or_default(&body)?;
    Ok(Envelope::created(
        super::temp_token(&state, &caller, body.ttl_s).await?,
    ))
}

/// Whether two-factor authentication is enabled (or pending confirmation) for the caller.
#[utoipa::path(get, path = "/v1/auth/twofactor", tag = "auth",
    responses((status = 200, body = TwoFactorStatus)), security(("bearer" = [])))]
async fn twofactor_status(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Envelope<TwoFactorStatus>> {
    Ok(Envelope::ok(
        super::two_factor_status(&state, &caller).await?,
    ))
}

/// Create a new pending TOTP secret for the caller.
#[utoipa::path(post, path = "/v1/auth/twofactor/secret", tag = "auth",
    responses((status = 201, body = TwoFactorSecret), (status = 409, description = "Already enabled")),
    security(("bearer" = [])))]
async fn twofactor_secret(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Envelope<TwoFactorSecret>> {
    Ok(Envelope::created(
        super::start_two_factor(&state, &caller).await?,
    ))
}

/// The otpauth URI of the caller's secret.
#[utoipa::path(get, path = "/v1/auth/twofactor/uri", tag = "auth",
    responses((status = 200, description = "{\"otpauth_uri\": …}")), security(("bearer" = [])))]
async fn twofactor_uri(State(state): State<AppState>, caller: Caller) -> Result<Envelope<Value>> {
    let uri = super::two_factor_uri(&state, &caller).await?;
    Ok(Envelope::ok(json!({ "otpauth_uri": uri })))
}

/// The caller's secret as a QR code (SVG) to scan with an authenticator app.
#[utoipa::path(get, path = "/v1/auth/twofactor/qrcode", tag = "auth",
    responses((status = 200, content_type = "image/svg+xml", description = "QR code")),
    security(("bearer" = [])))]
async fn twofactor_qrcode(State(state): State<AppState>, caller: Caller) -> Result<Response> {
    let uri = super::two_factor_uri(&state, &caller).await?;
    svg(&uri)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    /// The current six-digit code.
    #[schema(schema_with = super::totp::code_schema)]
    code: String,
}

/// Confirm the pending secret with a current code; from then on logins need `otp`.
#[utoipa::path(post, path = "/v1/auth/twofactor/confirm", tag = "auth", request_body = CodeBody,
    responses((status = 200, description = "Enabled"), (status = 400, description = "Not six digits"),
              (status = 403, description = "Wrong, expired or already used code, or not a login token"),
              (status = 409, description = "No pending secret (create one first), or already enabled")),
    security(("bearer" = [])))]
async fn twofactor_confirm(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CodeBody>,
) -> Result<Envelope<Value>> {
    super::confirm_two_factor(&state, &caller, &body.code).await?;
    Ok(Envelope::ok(json!({"enabled": true})))
}

/// Disable two-factor authentication (needs a current code).
#[utoipa::path(delete, path = "/v1/auth/twofactor", tag = "auth", request_body = CodeBody,
    responses((status = 200, description = "Disabled"), (status = 400, description = "Not six digits"),
              (status = 403, description = "Wrong, expired or already used code, or not a login token"),
              (status = 409, description = "Two-factor authentication is not enabled")),
    security(("bearer" = [])))]
async fn twofactor_disable(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CodeBody>,
) -> Result<Envelope<Value>> {
    super::disable_two_factor(&state, &caller, &body.code).await?;
    Ok(Envelope::ok(json!({"enabled": false})))
}

/// Any text as a QR code, e.g. a provisioning URL for a phone's screen: SVG (the default) or
/// PNG, `size` pixels square (64-2048, default 256; a PNG may be a few pixels larger, each
/// module being whole pixels).
#[utoipa::path(get, path = "/v1/qrcode/{data}", tag = "system",
    params(("data" = String, Path, description = "Text to encode (URL-encoded)"),
        ("format" = Option<String>, Query, description = "`svg` (default) or `png`", pattern = "^(?:[Ss][Vv][Gg]|[Pp][Nn][Gg])$"),
        ("size" = Option<u32>, Query, description = "Edge in pixels (default 256)", minimum = 64, maximum = 2048)),
    responses((status = 200, description = "QR code: SVG, or PNG with format=png",
                  content((String = "image/svg+xml"), (Vec<u8> = "image/png"))),
              (status = 400, description = "A bad format or size, or text too long for a QR code")),
    security(("bearer" = [])))]
async fn qrcode(_caller: Caller, Path(data): Path<String>, params: Params) -> Result<Response> {
    use crate::system::qrcode::{DEFAULT_SIZE, MAX_SIZE, MIN_SIZE, QrFormat, render};
    let format = match params.raw("format") {
        None => QrFormat::Svg,
        Some(text) => {
            QrFormat::parse(text).ok_or_else(|| Error::field("format", "must be svg or png"))?
        }
    };
    let size = match params.i64("size")? {
        None => DEFAULT_SIZE,
        Some(n) => u32::try_from(n)
            .ok()
            .filter(|n| (MIN_SIZE..=MAX_SIZE).contains(n))
            .ok_or_else(|| Error::field("size", format!("must be {MIN_SIZE}-{MAX_SIZE}")))?,
    };
    let image = render(&data, format, size)?;
    Ok(([(header::CONTENT_TYPE, format.content_type())], image).into_response())
}

fn svg(data: &str) -> Result<Response> {
    use crate::system::qrcode::{DEFAULT_SIZE, QrFormat, render};
    let image = render(data, QrFormat::Svg, DEFAULT_SIZE)?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], image).into_response())
}
