//! The REST API's assembly: every capability's routes in one table, the middleware stack, the
//! OpenAPI document, and the listener that serves it (shared with phone provisioning).

pub mod client_ip;
pub mod envelope;
pub mod error_response;
pub mod errors;
pub mod json;
pub mod listener;
pub mod openapi;
pub mod pagination;
pub mod path;
pub mod rate_limit;
pub mod request_id;
pub mod trailing_slash;
pub mod whole_numbers;

use crate::state::AppState;
use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request};
use axum::http::HeaderName;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tower::ServiceExt;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa_axum::router::OpenApiRouter;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The full route table. Everything under `protected` passes `require_auth` first, so no
/// handler can be reached without a valid token by forgetting a check.
pub fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    let public = OpenApiRouter::new()
        .merge(crate::auth::api::public_router())
        .routes(utoipa_axum::routes!(crate::system::health::healthz))
        .routes(utoipa_axum::routes!(crate::system::health::readyz));
    let protected = OpenApiRouter::new()
        .merge(crate::auth::api::router())
        .merge(crate::orgs::api::router())
        .merge(crate::system::audit::api::router())
        .merge(crate::system::events::api::router())
        .merge(crate::gateways::api::router())
        .merge(crate::gateways::ping_api::router())
        .merge(crate::devices::api::router())
        .merge(crate::numbers::api::router())
        .merge(crate::dialplan::api::router())
        .merge(crate::devices::notify::api::router())
        .merge(crate::system::jobs::api::router())
        .merge(crate::system::apikeys::api::router())
        .merge(crate::system::webhooks::api::router())
        .merge(crate::system::sequences::api::router())
        .merge(crate::system::queues::api::router())
        .merge(crate::system::retention::api::router())
        .merge(crate::system::legalholds::api::router())
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::auth::require_auth,
        ));
    public.merge(protected)
}

/// The axum router with all middleware, ready to serve.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = routes(&state).split_for_parts();
    let mut openapi = openapi::finish(openapi);
    crate::devices::notify::api::document_bounds(&mut openapi, &state.config.notify);
    crate::auth::api::document_bounds(&mut openapi, &state.config.auth);
    let config = &state.config.http;
    let limits = BodyLimits {
        default: config.max_body_bytes,
        import: config.max_import_bytes,
    };
    let timeout = Duration::from_secs(config.request_timeout_s);
    api.route(
        "/v1/errors",
        get(errors::errors_endpoint)
            .post(errors::errors_endpoint)
            .put(errors::errors_endpoint)
            .patch(errors::errors_endpoint)
            .delete(errors::errors_endpoint),
    )
        .route("/metrics", get(crate::system::metrics::endpoint))
        .merge(openapi::routes(openapi))
        .fallback(errors::not_found)
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn_with_state(limits, limit_bodies))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit::enforce))
        .layer(middleware::from_fn_with_state(
            std::sync::Arc::<[ipnet::IpNet]>::from(config.trusted_proxies.as_slice()),
            client_ip::resolve,
        ))
        .layer(middleware::from_fn(crate::system::metrics::track))
        .layer(middleware::from_fn(errors::render_errors))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO))
                .make_span_with(|request: &Request| {
                let id = request
                    .headers()
                    .get(&REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("http", method = %request.method(), uri = %request.uri().path(), request_id = %id)
            }),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, request_id::MakeId::default()))
        .with_state(state)
}

/// The API as its listener serves it: [`router`], behind what has to happen before routing.
#[derive(Clone)]
pub struct Api(Router);

impl Api {
    pub fn new(state: AppState) -> Self {
        Self(router(state))
    }
}

impl listener::Handler for Api {
    fn handle(
        &self,
        request: axum::http::Request<hyper::body::Incoming>,
        peer: SocketAddr,
    ) -> impl Future<Output = Response> + Send + use<> {
        let mut request = trailing_slash::trim(request.map(axum::body::Body::new));
        request.extensions_mut().insert(ConnectInfo(peer));
        let router = self.0.clone();
        async move {
            match router.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        }
    }
}

/// The request-body limits: one for every route, a larger one for the whole-file routes.
#[derive(Debug, Clone, Copy)]
struct BodyLimits {
    default: usize,
    import: usize,
}

/// The routes that take a whole file (a CSV inventory, a fleet of devices).
const IMPORT_ROUTES: [&str; 2] = ["/v1/numbers/import", "/v1/devices/bulk"];

impl BodyLimits {
    fn for_path(self, path: &str) -> usize {
        if IMPORT_ROUTES.contains(&path.trim_end_matches('/')) {
            self.import
        } else {
            self.default
        }
    }
}

/// Applies the route's body limit: a declared `Content-Length` over it is refused before any of
/// the body is read, and a chunked body is cut off (413) once it passes the limit.
async fn limit_bodies(
    axum::extract::State(limits): axum::extract::State<BodyLimits>,
    request: Request,
    next: Next,
) -> Response {
    let limit = limits.for_path(request.uri().path());
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return crate::error::Error::PayloadTooLarge(limit).into_response();
    }
    let (mut parts, body) = request.into_parts();
    parts.extensions.insert(json::BodyLimit(limit));
    let body = axum::body::Body::new(http_body_util::Limited::new(body, limit));
    next.run(Request::from_parts(parts, body)).await
}
