//! The header of an import file: which column is where.

use super::COLUMNS;
use crate::error::{Error, Result};
use crate::types::text::quote_prefix;
use std::collections::HashMap;

/// Column positions in the file.
pub(super) struct Header {
    pub number: usize,
    pub state: Option<usize>,
    pub organization_id: Option<usize>,
    pub tags: Option<usize>,
    pub channel_limit: Option<usize>,
}

pub(super) fn header(record: &csv::StringRecord) -> Result<Header> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, name) in record.iter().enumerate() {
        let name = name
            .trim()
            .trim_start_matches('\u{feff}')
            .to_ascii_lowercase();
        if !COLUMNS.contains(&name.as_str()) {
            return Err(Error::field(
                "csv",
                format!(
                    "unknown column {} in the header; columns are {}",
                    quote_prefix(&name),
                    COLUMNS.join(", ")
                ),
            ));
        }
        if seen.insert(name.clone(), i).is_some() {
            return Err(Error::field(
                "csv",
                format!("column {} appears twice", quote_prefix(&name)),
            ));
        }
    }
    let number = *seen.get("number").ok_or_else(|| {
        Error::field(
            "csv",
            "the header must name a number column (number,state,organization_id,tags,channel_limit)",
        )
    })?;
    Ok(Header {
        number,
        state: seen.get("state").copied(),
        organization_id: seen.get("organization_id").copied(),
        tags: seen.get("tags").copied(),
        channel_limit: seen.get("channel_limit").copied(),
    })
}
