//! The OpenAPI 3 document (generated from the handlers' annotations) and where it is served:
//! `/v1/documentation`, `/swagger.json`, and the Swagger UI page at `/swagger` (vendored, so it
//! renders with no internet access).

mod contract;

use crate::state::AppState;
use axum::Router;
use axum::routing::get;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_swagger_ui::SwaggerUi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "dialtone",
        description = "Control plane of a VoIP service. Success bodies are `{\"status\":\"success\",\"data\":…}` \
            (lists add `total`, `limit`, `offset`); errors are legacy XML `<error><code/><message/></error>` \
            unless `Accept` prefers `application/json`. Every response carries `X-RateLimit-Limit`, \
            `X-RateLimit-Remaining` and `X-RateLimit-Reset` (the Unix time, in seconds, when the \
            window resets); past the limit the answer is 429 with `Retry-After` in seconds."
    ),
    paths(super::errors::errors_endpoint)
)]
struct Base;

/// Adds what the handlers cannot say about themselves: title, the errors route, bearer auth,
/// and the rules every operation shares (`contract`). The result is JSON: utoipa's typed model
/// cannot read back every schema it writes (an any-value `{}`), and nothing needs it typed.
pub fn finish(collected: utoipa::openapi::OpenApi) -> serde_json::Value {
    let mut doc = Base::openapi().merge_from(collected);
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    let mut value = serde_json::to_value(&doc).unwrap_or_else(|e| {
        tracing::error!(error = %e, "the OpenAPI document does not serialize");
        serde_json::Value::Null
    });
    contract::apply(&mut value);
    value
}

/// The document's routes: JSON at two addresses, and the browsable page reading it.
pub fn routes(doc: serde_json::Value) -> Router<AppState> {
    // Serialized once: the document does not change while the daemon runs.
    let body = axum::body::Bytes::from(doc.to_string());
    let served = move || {
        let body = body.clone();
        async move {
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                body,
            )
        }
    };
    Router::new()
        .route("/v1/documentation", get(served.clone()))
        .route("/swagger.json", get(served))
        .merge(SwaggerUi::new("/swagger").config(utoipa_swagger_ui::Config::from("/swagger.json")))
}
