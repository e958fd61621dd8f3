//! A change's history entry, audit record and `number.*` event, written together in the
//! change's transaction (so a webhook hears of exactly the changes that committed).

use super::NUMBER;
use crate::db::Tx;
use crate::error::Result;
use crate::numbers::model::Number;
use crate::numbers::store::{self, NewHistory};
use crate::system::audit::{self, Actor, Change};
use crate::system::events::{self, NewEvent, Severity};
use chrono::{DateTime, Utc};

fn snapshot(n: &Number) -> Option<String> {
    serde_json::to_string(n).ok()
}

/// Records a change of `after` (or of `before` for a delete) in the number's history and in
/// the audit log. The audit record is filed under the number's (new) organization, which for
/// a move down the tree the old owner's callers see too.
pub(super) async fn record(
    tx: &mut Tx,
    actor: &Actor,
    action: &str,
    before: Option<&Number>,
    after: Option<&Number>,
    now: DateTime<Utc>,
) -> Result<()> {
    let Some(subject) = after.or(before) else {
        return Ok(());
    };
    if after.is_some() {
        store::insert_history(
            tx,
            actor,
            &[NewHistory {
                number_id: subject.id,
                organization_id: subject.organization_id,
                action,
                before: before.and_then(snapshot),
                after: after.and_then(snapshot),
            }],
            now,
        )
        .await?;
    }
    audit::record(
        tx,
        actor,
        Change {
            organization_id: subject.organization_id,
            organization_path: &subject.organization_path,
            action,
            entity_type: NUMBER,
            entity_id: subject.id.to_string(),
            before: crate::system::audit::snapshot(before),
            after: crate::system::audit::snapshot(after),
        },
    )
    .await?;
    let past = past_tense(action);
    let name = format!("number.{past}");
    events::record_in(
        tx,
        NewEvent {
            organization_id: subject.organization_id,
            organization_path: &subject.organization_path,
            source: "numbers",
            severity: Severity::Info,
            entity_type: NUMBER,
            entity_id: subject.id.to_string(),
            event: &name,
            message: format!("number {} {past}", subject.number.as_str()),
            detail: Some(serde_json::json!({"before": before, "after": after})),
        },
    )
    .await?;
    Ok(())
}

/// The past tense of a history action, the second half of its `number.*` event's name
/// (`number.created`, `number.moved`, `number.channels_changed` …).
fn past_tense(action: &str) -> &str {
    match action {
        "create" => "created",
        "update" => "updated",
        "move" => "moved",
        "delete" => "deleted",
        "activate" => "activated",
        "deactivate" => "deactivated",
        "channels" => "channels_changed",
        other => other,
    }
}
