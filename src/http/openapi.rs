//! The OpenAPI 3 document (generated from the handlers' annotations) and where it is served:
//! `/v1/documentation`, `/swagger.json`, and the Swagger UI page at `/swagger` (vendored, so it
//! renders with no internet access).

use crate::state::AppState;
use axum::Json;
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

/// Adds what the handlers cannot say about themselves: title, the errors route, bearer auth.
pub fn finish(collected: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let mut doc = Base::openapi().merge_from(collected);
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    doc
}

/// The document's routes: JSON at two addresses, and the browsable page.
pub fn routes(doc: utoipa::openapi::OpenApi) -> Router<AppState> {
    let json = doc.clone();
    Router::new()
        .route("/v1/documentation", get(move || async move { Json(json) }))
        .merge(SwaggerUi::new("/swagger").url("/swagger.json", doc))
}
