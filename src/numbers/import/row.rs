//! One row of an import file, checked field by field: every bad field is reported, and the
//! row is kept only when all are good.

use super::header::Header;
use super::row_error;
use crate::auth::Caller;
use crate::db::Db;
use crate::error::{Error, Result, RowError};
use crate::numbers::model::{self, NumberState};
use crate::orgs::Organization;
use crate::types::E164;
use crate::types::text::quote_prefix;
use std::collections::HashMap;

/// One good row, ready to insert.
pub(super) struct Row {
    /// Index into [`Orgs`]' list.
    pub organization: usize,
    pub number: E164,
    pub state: NumberState,
    pub tags: Vec<String>,
    pub channel_limit: Option<i64>,
}

/// Organizations named by rows, looked up once each.
pub(super) struct Orgs<'a> {
    pub db: &'a Db,
    pub caller: &'a Caller,
    pub list: Vec<Organization>,
    pub by_id: HashMap<i64, Option<usize>>,
}

impl Orgs<'_> {
    async fn index(&mut self, id: i64) -> Result<Option<usize>> {
        if let Some(found) = self.by_id.get(&id) {
            return Ok(*found);
        }
        let found = match crate::orgs::visible(self.db, self.caller, id).await {
            Ok(org) => {
                self.list.push(org);
                Some(self.list.len() - 1)
            }
            Err(Error::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        self.by_id.insert(id, found);
        Ok(found)
    }
}

fn cell(record: &csv::StringRecord, column: Option<usize>) -> Option<&str> {
    column.and_then(|i| record.get(i)).filter(|v| !v.is_empty())
}

/// Parses one record, adding its errors (every field's) to `errors`: the number if it parsed
/// (for the duplicate check) and the row if every field did.
pub(super) async fn parse_row(
    record: &csv::StringRecord,
    header: &Header,
    line: usize,
    orgs: &mut Orgs<'_>,
    errors: &mut Vec<RowError>,
) -> Result<Option<(E164, Option<Row>)>> {
    let mut bad = |field: &str, message: String| errors.push(row_error(line, field, message));
    let organization = match cell(record, header.organization_id) {
        None => orgs.index(orgs.caller.organization_id).await?,
        Some(text) => match text.parse::<i64>() {
            Ok(id) => {
                let found = orgs.index(id).await?;
                if found.is_none() {
                    bad("organization_id", format!("organization {id} not found"));
                }
                found
            }
            Err(_) => {
                bad(
                    "organization_id",
                    format!("must be an integer, got {}", quote_prefix(text)),
                );
                None
            }
        },
    };
    let state = match cell(record, header.state) {
        None => Some(NumberState::Available),
        Some(text) => {
            let state = NumberState::parse(&text.to_ascii_lowercase());
            if state.is_none() {
                bad(
                    "state",
                    format!(
                        "must be one of {}, got {}",
                        model::STATES.join(", "),
                        quote_prefix(text)
                    ),
                );
            }
            state
        }
    };
    let tags = match cell(record, header.tags) {
        None => Some(Vec::new()),
        Some(text) => {
            let list: Vec<String> = text
                .split([';', '|', ' ', ','])
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect();
            match model::validate_tags("tags", &list) {
                Ok(tags) => Some(tags),
                Err(message) => {
                    bad("tags", message.trim_start_matches("tags: ").to_string());
                    None
                }
            }
        }
    };
    let channel_limit = match cell(record, header.channel_limit) {
        None => Some(None),
        Some(text) => match text.parse::<i64>() {
            Ok(limit) => match model::validate_channel_limit("channel_limit", limit) {
                Ok(l) => Some(Some(l)),
                Err(message) => {
                    bad(
                        "channel_limit",
                        message.trim_start_matches("channel_limit: ").to_string(),
                    );
                    None
                }
            },
            Err(_) => {
                bad(
                    "channel_limit",
                    format!("must be an integer, got {}", quote_prefix(text)),
                );
                None
            }
        },
    };
    let text = cell(record, Some(header.number)).unwrap_or("");
    let country = organization.map(|i| orgs.list[i].country.as_str());
    let number = match (text.is_empty(), country) {
        (true, _) => {
            bad("number", "must not be empty".into());
            None
        }
        // Without a valid organization the country is unknown: E.164 can still be checked.
        (false, country) => match E164::parse(text, country) {
            Ok(n) => Some(n),
            Err(e) if country.is_some() || text.trim_start().starts_with('+') => {
                bad("number", e.0);
                None
            }
            Err(_) => None,
        },
    };
    let Some(number) = number else {
        return Ok(None);
    };
    let row = match (organization, state, tags, channel_limit) {
        (Some(organization), Some(state), Some(tags), Some(channel_limit)) => Some(Row {
            organization,
            number: number.clone(),
            state,
            tags,
            channel_limit,
        }),
        _ => None,
    };
    Ok(Some((number, row)))
}
