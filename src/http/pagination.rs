//! `limit` / `offset` / `page` query parameters and the other typed query parameters of lists.
//!
//! The documented rules: `limit` defaults to 50 and is clamped to 1000; `limit` below 1, a negative
//! `offset` or a `page` below 1 or above [`MAX_PAGE`] is a 400; anything non-numeric is a 400
//! naming the parameter.
//! A typed parameter given empty (`limit=`, `state=`) is refused like any other value that is no
//! integer or no member of its list; only free-text filters read empty as absent.
//! `per_page` (the SaaS and billing APIs' name, used with `page`) is read as `limit`. When both
//! names of one thing are given, `limit` wins over `per_page` and `offset` over `page` (each is
//! still checked): a precedence any schema-valid request can follow, where refusing the pair
//! would make requests the document allows fail.

use crate::db::Page;
use crate::error::Error;
use crate::types::text::quote_prefix;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use std::collections::HashMap;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 1000;
/// The highest `page`: its offset, (page - 1) × limit, fits in 64 bits at any page size.
pub const MAX_PAGE: i64 = i64::MAX / MAX_LIMIT + 1;

/// Documentation-only description of the pagination parameters.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PageParams {
    /// Items per page: default 50, values above 1000 are clamped to 1000, below 1 answer 400.
    limit: Option<i64>,
    /// Another name of `limit` (as the SaaS and billing APIs call it); `limit` wins when both are given.
    per_page: Option<i64>,
    /// Items to skip (default 0, negative answers 400).
    offset: Option<i64>,
    /// 1-based page number of `limit` items (at most 9223372036854776), an alternative to
    /// `offset` (which wins when both are given).
    page: Option<i64>,
}

/// The raw query string as a map, with typed accessors whose errors name the parameter.
#[derive(Debug, Default)]
pub struct Params(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let Query(map) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|e| Error::bad_request(format!("query string: {}", e.body_text())))?;
        Ok(Self(map))
    }
}

impl Params {
    pub fn page(&self) -> Result<Page, Error> {
        let limit = self.at_least("limit", 1)?;
        let per_page = self.at_least("per_page", 1)?;
        let limit = limit.or(per_page).unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
        let offset = self.at_least("offset", 0)?;
        let page = self.at_least("page", 1)?;
        if page.is_some_and(|page| page > MAX_PAGE) {
            return Err(Error::field("page", format!("must be at most {MAX_PAGE}")));
        }
        let offset = match (offset, page) {
            (Some(offset), _) => offset,
            // At most (MAX_PAGE - 1) × MAX_LIMIT, which fits.
            (None, Some(page)) => (page - 1).saturating_mul(limit),
            (None, None) => 0,
        };
        Ok(Page { limit, offset })
    }

    /// An optional integer parameter that must be at least `minimum`.
    fn at_least(&self, name: &str, minimum: i64) -> Result<Option<i64>, Error> {
        match self.i64(name)? {
            Some(value) if value < minimum => Err(Error::field(
                name,
                if minimum == 0 {
                    "must not be negative".to_string()
                } else {
                    format!("must be at least {minimum}")
                },
            )),
            value => Ok(value),
        }
    }

    /// An optional integer; given, it must be one (`x=` too: an empty value is no integer, as
    /// the document says).
    pub fn i64(&self, name: &str) -> Result<Option<i64>, Error> {
        match self.0.get(name).map(|v| v.trim()) {
            None => Ok(None),
            Some(value) => value.parse().map(Some).map_err(|_| {
                Error::field(
                    name,
                    format!("must be an integer, got {}", quote_prefix(value)),
                )
            }),
        }
    }

    /// A free-text filter, trimmed; empty reads as absent.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    /// The value as given, untrimmed, for a parser that bounds its length as the document does.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A string that must be one of `allowed` when given (`x=` too).
    pub fn one_of(&self, name: &str, allowed: &[&str]) -> Result<Option<String>, Error> {
        match self.0.get(name).map(|v| v.trim()) {
            None => Ok(None),
            Some(v) if allowed.contains(&v) => Ok(Some(v.to_string())),
            Some(v) => Err(Error::field(
                name,
                format!(
                    "must be one of {}, got {}",
                    allowed.join(", "),
                    quote_prefix(v)
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn defaults_and_clamps() {
        assert_eq!(
            params(&[]).page().unwrap(),
            Page {
                limit: 50,
                offset: 0
            }
        );
        assert_eq!(params(&[("limit", "5000")]).page().unwrap().limit, 1000);
        assert_eq!(
            params(&[("limit", "10"), ("page", "3")]).page().unwrap(),
            Page {
                limit: 10,
                offset: 20
            }
        );
    }

    #[test]
    fn per_page_is_another_name_of_limit() {
        assert_eq!(
            params(&[("per_page", "10"), ("page", "3")]).page().unwrap(),
            Page {
                limit: 10,
                offset: 20
            }
        );
        assert_eq!(params(&[("per_page", "5000")]).page().unwrap().limit, 1000);
        let err = |pairs: &[(&str, &str)]| params(pairs).page().unwrap_err().to_string();
        assert!(err(&[("per_page", "0")]).starts_with("per_page"));
        assert!(err(&[("per_page", "x")]).starts_with("per_page"));
        assert_eq!(
            params(&[("per_page", "5"), ("limit", "7")])
                .page()
                .unwrap()
                .limit,
            7,
            "limit wins over per_page"
        );
        assert!(err(&[("per_page", "0"), ("limit", "7")]).starts_with("per_page"));
    }

    #[test]
    fn refuses_nonsense_by_name() {
        for (k, v, needle) in [
            ("limit", "0", "limit"),
            ("limit", "-1", "limit"),
            ("limit", "ten", "limit"),
            ("offset", "-5", "offset"),
            ("offset", "1.5", "offset"),
            ("page", "0", "page"),
            ("page", "x", "page"),
            ("limit", "", "limit"),
            ("offset", " ", "offset"),
        ] {
            let err = params(&[(k, v)]).page().unwrap_err().to_string();
            assert!(err.starts_with(needle), "{k}={v}: {err}");
        }
        assert_eq!(
            params(&[("page", "2"), ("offset", "1")])
                .page()
                .unwrap()
                .offset,
            1,
            "offset wins over page"
        );
        assert!(params(&[("page", "0"), ("offset", "1")]).page().is_err());
        assert!(params(&[("page", &i64::MAX.to_string())]).page().is_err());
        let highest = params(&[("page", &MAX_PAGE.to_string()), ("limit", "5000")]).page();
        assert_eq!(highest.unwrap().offset, (MAX_PAGE - 1) * MAX_LIMIT);
        let beyond = (MAX_PAGE + 1).to_string();
        let err = params(&[("page", &beyond), ("limit", "1")]).page();
        assert!(
            err.unwrap_err()
                .to_string()
                .starts_with("page: must be at most")
        );
        assert!(
            params(&[("page", &beyond), ("offset", "0")])
                .page()
                .is_err(),
            "checked even when offset wins"
        );
    }
}
