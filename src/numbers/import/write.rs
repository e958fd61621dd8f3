//! Writing a checked import: the numbers, their history and one audit record, in one
//! transaction.

use super::ImportSummary;
use super::row::Row;
use crate::auth::Caller;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::numbers::model::{Number, tags_to_column};
use crate::numbers::store::{self, NewHistory, NumberFields};
use crate::orgs::Organization;
use crate::system::audit::{self, Change};
use chrono::Utc;
use std::collections::BTreeSet;

/// Writes good rows: numbers, their history and one audit record, in one transaction.
pub(super) async fn write(
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
    // One event for the whole file (its rows are in the history): integrations hear of it once.
    crate::system::events::record_in(
        &mut tx,
        crate::system::events::NewEvent {
            organization_id: home.id,
            organization_path: &home.path,
            source: "numbers",
            severity: crate::system::events::Severity::Info,
            entity_type: "number_import",
            entity_id: rows
                .first()
                .map_or_else(String::new, |r| r.number.to_string()),
            event: "number.imported",
            message: format!("{} numbers imported", summary.imported),
            detail: serde_json::to_value(&summary).ok(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(summary)
}
