//! A validated window into a list (`LIMIT`/`OFFSET`), as stores take it. The HTTP edge parses it
//! from `limit`/`offset`/`page` (`http::pagination`); jobs and the CLI build it directly.

/// A validated window into a list: `limit` at least 1, `offset` not negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}
