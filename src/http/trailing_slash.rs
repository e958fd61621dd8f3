//! A trailing slash names the same resource: `GET /v1/organizations/` answers as
//! `GET /v1/organizations`, on every route present and future. The path is rewritten before
//! the router sees it (a layer added with `Router::layer` runs after routing, too late). The
//! Swagger UI's pages under `/swagger/` keep theirs: the page is a folder whose files it loads
//! by relative address, and `/swagger` redirects there.

use axum::http::Request;
use axum::http::uri::{PathAndQuery, Uri};

/// Where the browsable documentation lives; its trailing slash is meaningful.
const SWAGGER_UI: &str = "/swagger/";

/// `request` with its path's trailing slashes removed (`/` stays `/`).
pub fn trim<B>(mut request: Request<B>) -> Request<B> {
    if let Some(uri) = trimmed(request.uri()) {
        *request.uri_mut() = uri;
    }
    request
}

fn trimmed(uri: &Uri) -> Option<Uri> {
    let path = uri.path();
    if path.len() < 2 || !path.ends_with('/') || path.starts_with(SWAGGER_UI) {
        return None;
    }
    let path = match path.trim_end_matches('/') {
        "" => "/",
        path => path,
    };
    let path_and_query = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_string(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(path_and_query).ok()?);
    Uri::from_parts(parts).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> String {
        let request = Request::builder().uri(text).body(()).unwrap();
        trim(request).uri().to_string()
    }

    #[test]
    fn trailing_slashes_go_and_the_query_stays() {
        assert_eq!(path("/v1/organizations/"), "/v1/organizations");
        assert_eq!(path("/v1/organizations//"), "/v1/organizations");
        assert_eq!(
            path("/v1/organizations/?limit=5"),
            "/v1/organizations?limit=5"
        );
        assert_eq!(path("/v1/organizations/7/"), "/v1/organizations/7");
        assert_eq!(path("/v1/organizations"), "/v1/organizations");
        assert_eq!(path("/"), "/");
        assert_eq!(path("//"), "/");
    }

    #[test]
    fn the_documentation_pages_keep_theirs() {
        assert_eq!(path("/swagger/"), "/swagger/");
        assert_eq!(path("/swagger/index.css"), "/swagger/index.css");
        assert_eq!(path("/swagger.json/"), "/swagger.json");
    }
}
