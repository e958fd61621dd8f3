//! Which numbers route to a trunk, user, device (line) or dial plan: what a delete of the
//! target refuses over.

use crate::db::Tx;
use crate::error::{InUse, Result};
use crate::numbers::model::AssignmentType;
use crate::numbers::store;

/// The numbers that route to `kind` `id` (released ones do not), as `tx` sees them: for a
/// delete of the target to refuse while they do. Call it after the target's `DELETE`, in the
/// same transaction: a writer assigning a number holds the target (`hold_assignment`), so the
/// `DELETE` waits for it to commit and this then sees its number, or the writer waits for the
/// delete and finds the target gone.
pub async fn assigned_to(tx: &mut Tx, kind: AssignmentType, id: i64) -> Result<InUse> {
    in_use(tx, kind, id, None).await
}

/// The numbers on device `device`'s lines from position `first` on: for an update that drops
/// those lines to refuse while numbers route to them.
pub async fn assigned_to_lines_from(tx: &mut Tx, device: i64, first: usize) -> Result<InUse> {
    let first = i64::try_from(first).unwrap_or(i64::MAX);
    in_use(tx, AssignmentType::DeviceLine, device, Some(first)).await
}

async fn in_use(
    tx: &mut Tx,
    kind: AssignmentType,
    id: i64,
    first_line: Option<i64>,
) -> Result<InUse> {
    let limit = InUse::NAMED as i64;
    let (rows, total) = store::assigned_to(tx, kind.as_str(), id, first_line, limit).await?;
    let named = rows
        .into_iter()
        .map(|(id, number, line)| match line {
            Some(line) => format!("{number} (id {id}, line {line})"),
            None => format!("{number} (id {id})"),
        })
        .collect();
    Ok(InUse {
        kind: "numbers",
        named,
        total: usize::try_from(total).unwrap_or(usize::MAX),
    })
}
