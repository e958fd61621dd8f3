//! `POST /v1/numbers/search`: the list's filters (and a subtree) in a body.

use super::{pattern_filter, prefix_filter, schemas, tag_filter};
use crate::auth::Caller;
use crate::error::Result;
use crate::http::envelope::ListEnvelope;
use crate::http::json;
use crate::http::pagination::{PageParams, Params};
use crate::numbers::model::{Number, NumberState};
use crate::numbers::service;
use crate::numbers::store::NumberFilter;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchNumbers {
    /// E.164 prefix, e.g. `+1415`.
    #[schema(schema_with = schemas::prefix_or_null)]
    prefix: Option<String>,
    /// Whole-number pattern: digits, `x` any digit, `n` 2-9, `z` 1-9 (`+1415555xxxx`).
    #[schema(schema_with = schemas::pattern_or_null)]
    pattern: Option<String>,
    state: Option<NumberState>,
    /// This organization and its descendants (one the caller sees).
    organization_id: Option<i64>,
    #[schema(schema_with = schemas::tag_or_null)]
    tag: Option<String>,
    /// As the query parameters of lists (default 50, above 1000 read as 1000); body or query.
    #[schema(minimum = 1)]
    limit: Option<i64>,
    /// Another name of `limit`; `limit` wins when both are given.
    #[schema(minimum = 1)]
    per_page: Option<i64>,
    #[schema(minimum = 0)]
    offset: Option<i64>,
    /// 1-based, instead of `offset` (which wins when both are given).
    #[schema(minimum = 1, maximum = 9223372036854776_i64)]
    page: Option<i64>,
}

/// Search the caller's numbers by prefix, pattern, state, organization (with its
/// descendants) and tag; every given criterion must hold. Paginated like lists (in the body or
/// the query string), with the total of matches.
#[utoipa::path(post, path = "/v1/numbers/search", tag = "numbers", params(PageParams),
    request_body = Option<SearchNumbers>,
    responses((status = 200, body = Vec<Number>), (status = 400)), security(("bearer" = [])))]
pub(super) async fn search_numbers(
    State(state): State<AppState>,
    caller: Caller,
    mut params: Params,
    body: Bytes,
) -> Result<ListEnvelope<Number>> {
    // No body, or JSON null: no criteria (the document's body is optional).
    let body: SearchNumbers =
        if body.iter().all(u8::is_ascii_whitespace) || body.trim_ascii() == b"null" {
            SearchNumbers::default()
        } else {
            json::parse(&body)?
        };
    for (name, value) in [
        ("limit", body.limit),
        ("per_page", body.per_page),
        ("offset", body.offset),
        ("page", body.page),
    ] {
        if let Some(value) = value {
            params.0.insert(name.to_string(), value.to_string());
        }
    }
    let page = params.page()?;
    let subtree_path = match body.organization_id {
        Some(id) => Some(service::subtree_of(&state.db, &caller, "organization_id", id).await?),
        None => None,
    };
    let filter = NumberFilter {
        organization_id: None,
        subtree_path,
        state: body.state.map(|s| s.as_str().to_string()),
        tag: tag_filter(body.tag.as_deref())?,
        prefix: prefix_filter(body.prefix.as_deref())?,
        pattern: pattern_filter(body.pattern.as_deref())?,
    };
    let (rows, total) = service::list(&state.db, &caller, &filter, page).await?;
    Ok(ListEnvelope::new(rows, total, page))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::pagination::MAX_PAGE;
    use serde_json::json;
    use utoipa::PartialSchema;

    /// The paging fields of the body are bounded as the query parameters are checked.
    #[test]
    fn the_paging_bounds_are_the_checked_ones() {
        let schema = serde_json::to_value(SearchNumbers::schema()).unwrap();
        let field = |name: &str| schema["properties"][name].clone();
        assert_eq!(field("limit")["minimum"], json!(1));
        assert_eq!(field("per_page")["minimum"], json!(1));
        assert_eq!(field("offset")["minimum"], json!(0));
        assert_eq!(field("page")["minimum"], json!(1));
        assert_eq!(field("page")["maximum"], json!(MAX_PAGE));
        let mut params = Params::default();
        params.0.insert("page".into(), MAX_PAGE.to_string());
        assert!(params.page().is_ok());
        params.0.insert("page".into(), (MAX_PAGE + 1).to_string());
        assert!(params.page().is_err());
    }
}
