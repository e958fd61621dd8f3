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

mod header;
pub mod job;
mod row;
mod write;

use super::store;
use crate::auth::{Caller, Permission};
use crate::db::Db;
use crate::error::{Error, Result, RowError, RowErrors};
use header::header;
use row::{Orgs, Row, parse_row};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::time::Instant;
use write::write;

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
