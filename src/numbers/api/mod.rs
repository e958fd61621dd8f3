//! `/v1/numbers` routes: the number inventory (CRUD, search, CSV import), state moves
//! (`activate`, `deactivate`, or `state` in a PUT along the documented state machine),
//! channel limits, moves down the organization tree, and each number's history.

mod activation;
mod channels;
mod history;
mod import;
mod inventory;
mod schemas;
mod search;

use super::pattern::{self, Pattern};
use crate::error::{Error, Result};
use crate::http::path;
use crate::state::AppState;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(inventory::list_numbers, inventory::create_number))
        .routes(routes!(search::search_numbers))
        .routes(routes!(import::import_numbers))
        .routes(routes!(
            inventory::get_number,
            inventory::update_number,
            inventory::delete_number
        ))
        .routes(routes!(activation::activate_number))
        .routes(routes!(activation::deactivate_number))
        .routes(routes!(channels::get_channels, channels::set_channels))
        .routes(routes!(history::number_history))
        .merge(super::mobiles::api::router())
}

/// The `{id}` of a number route.
fn number_id(text: &str) -> Result<i64> {
    path::id(text, "number")
}

fn tag_filter(text: Option<&str>) -> Result<Option<String>> {
    text.map(|t| {
        super::model::validate_tags("tag", &[t.to_string()])
            .map_err(Error::bad_request)
            .map(|mut tags| tags.remove(0))
    })
    .transpose()
}

fn prefix_filter(text: Option<&str>) -> Result<Option<String>> {
    text.map(|p| pattern::prefix(p).map_err(|e| Error::field("prefix", e)))
        .transpose()
}

fn pattern_filter(text: Option<&str>) -> Result<Option<Pattern>> {
    text.map(|p| Pattern::parse(p).map_err(|e| Error::field("pattern", e)))
        .transpose()
}
