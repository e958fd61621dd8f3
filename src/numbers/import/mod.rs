//! Inventory import from CSV, all or nothing.
//!
//! The file starts with a header naming its columns, in any order: `number` (required: E.164,
//! or national in the row's organization's country), `state` (default `available`),
//! `organization_id` (default the caller's organization; one the caller sees), `tags`
//! (separated by `;`, `|` or spaces: `vip;sales`), `channel_limit` (0-10000, empty: unlimited).
//! Every row is checked (also against the other rows and the numbers already stored) before
//! anything is written; any bad row makes the whole import a 400 whose `errors` list every bad
//! row as `{row, field, message}`, `row` being the line in the file (the header is line 1).
//! A good file is written in one transaction with multi-row inserts: the numbers, one history
//! entry each (`import`), and one audit record for the import.

pub mod job;

use super::model::{self, Number, NumberState, tags_to_column};
use super::store::{self, NewHistory, NumberFields};
use crate::auth::{Caller, Permission};
use crate::db::Db;
use crate::error::{Error, Result, RowError, RowErrors};
use crate::orgs::Organization;
use crate::system::audit::{self, Change};
use crate::types::E164;
use crate::types::text::quote_prefix;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

/// Rows one import may hold.
pub const MAX_ROWS: usize = 100_000;
pub const COLUMNS: [&str; 5] = [
    "number",
    "state",
    "organization_id",
    "tags",
    "channel_limit",
];

/// What an import did.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportSummary {
    /// Numbers created.
    pub imported: usize,
    /// Organizations that received numbers.
    pub organization_ids: Vec<i64>,
    /// The queued job that ran the import (`GET /v1/jobs/{id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<i64>,
}

/// One good row, ready to insert.
struct Row {
    organization: usize,
    number: E164,
    state: NumberState,
    tags: Vec<String>,
    channel_limit: Option<i64>,
}

/// Column positions in the file.
struct Header {
    number: usize,
    state: Option<usize>,
    organization_id: Option<usize>,
    tags: Option<usize>,
    channel_limit: Option<usize>,
}

fn header(record: &csv::StringRecord) -> Result<Header> {
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

/// Organizations named by rows, looked up once each.
struct Orgs<'a> {
    db: &'a Db,
    caller: &'a Caller,
    list: Vec<Organization>,
    by_id: HashMap<i64, Option<usize>>,
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

/// Imports the CSV `text` for `caller`, all or nothing.
pub async fn import(db: &Db, caller: &Caller, text: &str) -> Result<ImportSummary> {
    import_reporting(db, caller, text, None).await
}

/// Rows checked between two progress reports of a queued import.
const REPORT_EVERY: usize = 1000;

/// [`import`], storing on the queued job `job` how many rows it has checked, and at the end
/// how many it imported.
pub(super) async fn import_reporting(
    db: &Db,
    caller: &Caller,
    text: &str,
    job: Option<&crate::system::jobs::queue::Context>,
) -> Result<ImportSummary> {
    caller.require(Permission::OrganizationsWrite)?;
    let started = Instant::now();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = header(
        reader
            .headers()
            .map_err(|e| Error::field("csv", format!("unreadable header: {e}")))?,
    )?;
    let mut orgs = Orgs {
        db,
        caller,
        list: Vec::new(),
        by_id: HashMap::new(),
    };
    let mut errors: Vec<RowError> = Vec::new();
    let mut rows: Vec<Row> = Vec::new();
    let mut first_line: HashMap<String, usize> = HashMap::new();
    let mut lines: Vec<usize> = Vec::new();
    let mut count = 0usize;
    for record in reader.records() {
        count += 1;
        if let Some(job) = job
            && count.is_multiple_of(REPORT_EVERY)
        {
            job.progress(count as i64, None).await;
        }
        if count > MAX_ROWS {
            return Err(Error::field(
                "csv",
                format!("at most {MAX_ROWS} rows per import"),
            ));
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(count + 1, |p| p.line() as usize);
                errors.push(row_error(line, "csv", strip_position(&e.to_string())));
                continue;
            }
        };
        let line = record.position().map_or(count + 1, |p| p.line() as usize);
        let Some((number, row)) = parse_row(&record, &header, line, &mut orgs, &mut errors).await?
        else {
            continue;
        };
        let number = number.into_string();
        if let Some(first) = first_line.get(&number) {
            errors.push(row_error(
                line,
                "number",
                format!("{number} is also on line {first}"),
            ));
        } else {
            first_line.insert(number, line);
            if let Some(row) = row {
                rows.push(row);
                lines.push(line);
            }
        }
    }
    if count == 0 {
        return Err(Error::field("csv", "no rows after the header"));
    }
    let numbers: Vec<String> = rows.iter().map(|r| r.number.as_str().to_string()).collect();
    let taken = store::existing(db, &numbers).await?;
    for (row, line) in rows.iter().zip(&lines) {
        if taken.contains(row.number.as_str()) {
            errors.push(row_error(*line, "number", "already exists".into()));
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.row);
        let bad: BTreeSet<usize> = errors.iter().map(|e| e.row).collect();
        metrics::counter!("numbers_imports_total", "result" => "refused").increment(1);
        return Err(Error::Rows(RowErrors::new(
            format!(
                "{} of {count} rows are invalid; nothing was imported",
                bad.len()
            ),
            errors,
        )));
    }
    let summary = write(db, caller, &orgs.list, rows).await?;
    if let Some(job) = job {
        job.progress(count as i64, Some(count as i64)).await;
    }
    metrics::counter!("numbers_imports_total", "result" => "imported").increment(1);
    metrics::counter!("numbers_imported_rows_total").increment(summary.imported as u64);
    metrics::histogram!("numbers_import_duration_seconds").record(started.elapsed().as_secs_f64());
    Ok(summary)
}

fn row_error(row: usize, field: &str, message: String) -> RowError {
    RowError {
        row,
        field: field.to_string(),
        message,
    }
}

/// The csv crate appends where it was; the row says that already.
fn strip_position(message: &str) -> String {
    message
        .split_once(": ")
        .filter(|(head, _)| head.starts_with("CSV error"))
        .map_or(message, |(_, rest)| rest)
        .to_string()
}

fn cell(record: &csv::StringRecord, column: Option<usize>) -> Option<&str> {
    column.and_then(|i| record.get(i)).filter(|v| !v.is_empty())
}

/// Parses one record, adding its errors (every field's) to `errors`: the number if it parsed
/// (for the duplicate check) and the row if every field did.
async fn parse_row(
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

/// Writes good rows: numbers, their history and one audit record, in one transaction.
async fn write(
    db: &Db,
    caller: &Caller,
    orgs: &[Organization],
    rows: Vec<Row>,
) -> Result<ImportSummary> {
    let now = Utc::now();
    let tags: Vec<String> = rows.iter().map(|r| tags_to_column(&r.tags)).collect();
    let fields: Vec<NumberFields> = rows
        .iter()
        .zip(&tags)
        .map(|(r, tags)| NumberFields {
            organization_id: orgs[r.organization].id,
            number: r.number.as_str(),
            state: r.state.as_str(),
            assignment: None,
            channel_limit: r.channel_limit,
            tags,
        })
        .collect();
    let actor = caller.actor();
    let mut tx = db.begin().await?;
    let ids = store::insert_many(&mut tx, &fields, now).await?;
    let mut history = Vec::with_capacity(rows.len());
    for row in &rows {
        let org = &orgs[row.organization];
        let id = ids
            .get(row.number.as_str())
            .copied()
            .ok_or_else(|| Error::Internal(format!("imported number {} has no id", row.number)))?;
        let number = Number {
            id,
            number: row.number.clone(),
            state: row.state,
            organization_id: org.id,
            organization_path: org.path.clone(),
            assignment: None,
            channel_limit: row.channel_limit,
            tags: row.tags.clone(),
            created_at: now,
            updated_at: now,
        };
        history.push(NewHistory {
            number_id: id,
            organization_id: org.id,
            action: "import",
            before: None,
            after: serde_json::to_string(&number).ok(),
        });
    }
    store::insert_history(&mut tx, &actor, &history, now).await?;
    let organization_ids: BTreeSet<i64> = rows.iter().map(|r| orgs[r.organization].id).collect();
    let summary = ImportSummary {
        imported: rows.len(),
        organization_ids: organization_ids.into_iter().collect(),
        job_id: None,
    };
    let home = crate::orgs::visible(db, caller, caller.organization_id).await?;
    audit::record(
        &mut tx,
        &actor,
        Change {
            organization_id: home.id,
            organization_path: &home.path,
            action: "import",
            entity_type: "number_import",
            entity_id: rows
                .first()
                .map_or_else(String::new, |r| r.number.to_string()),
            before: None,
            after: serde_json::to_value(&summary).ok(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(summary)
}
