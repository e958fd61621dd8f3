//! The success envelope: `{"status":"success","data":…}`, lists add `total`, `limit`, `offset`.

use crate::db::Page;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A single object (or any value) wrapped in the success envelope.
#[derive(Debug, Serialize)]
pub struct Envelope<T> {
    status: &'static str,
    data: T,
    #[serde(skip)]
    code: StatusCode,
}

impl<T: Serialize> Envelope<T> {
    pub fn ok(data: T) -> Self {
        Self {
            status: "success",
            data,
            code: StatusCode::OK,
        }
    }

    /// 201 Created, for POSTs that made a new object.
    pub fn created(data: T) -> Self {
        Self {
            status: "success",
            data,
            code: StatusCode::CREATED,
        }
    }

    /// 202 Accepted, for POSTs whose work was queued (the answer says where to follow it).
    pub fn accepted(data: T) -> Self {
        Self {
            status: "success",
            data,
            code: StatusCode::ACCEPTED,
        }
    }
}

impl<T: Serialize> IntoResponse for Envelope<T> {
    fn into_response(self) -> Response {
        (self.code, Json(&self)).into_response()
    }
}

/// A page of a list with the list's full size.
#[derive(Debug, Serialize)]
pub struct ListEnvelope<T> {
    status: &'static str,
    data: Vec<T>,
    total: i64,
    limit: i64,
    offset: i64,
    #[serde(skip)]
    code: StatusCode,
}

impl<T: Serialize> ListEnvelope<T> {
    pub fn new(data: Vec<T>, total: i64, page: Page) -> Self {
        Self {
            status: "success",
            data,
            total,
            limit: page.limit,
            offset: page.offset,
            code: StatusCode::OK,
        }
    }
}

impl<T: Serialize> ListEnvelope<T> {
    /// A complete, unpaginated list (an object's few sub-items) in the same list shape.
    pub fn all(data: Vec<T>) -> Self {
        let total = data.len() as i64;
        Self {
            status: "success",
            data,
            total,
            limit: total,
            offset: 0,
            code: StatusCode::OK,
        }
    }

    /// 201 Created with the complete list of what a POST made (a bulk create).
    pub fn created(data: Vec<T>) -> Self {
        Self {
            code: StatusCode::CREATED,
            ..Self::all(data)
        }
    }
}

impl<T: Serialize> IntoResponse for ListEnvelope<T> {
    fn into_response(self) -> Response {
        (self.code, Json(&self)).into_response()
    }
}

/// `{"status":"success","data":null}` for deletes and other bodiless successes.
pub fn done() -> Envelope<Option<()>> {
    Envelope::ok(None)
}
