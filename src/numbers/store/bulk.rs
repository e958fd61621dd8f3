//! SQL of an import: which numbers are taken, and inserting many in multi-row INSERTs.

use super::{CHUNK, NumberFields, assignment_columns};
use crate::db::{Db, Tx};
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};

/// Which of the canonical numbers `numbers` are already stored.
pub async fn existing(db: &Db, numbers: &[String]) -> sqlx::Result<HashSet<String>> {
    let mut found = HashSet::new();
    for chunk in numbers.chunks(CHUNK) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT number FROM numbers WHERE number IN ({})",
            placeholders.join(", ")
        );
        let rows: Vec<String> = on_db!(db, pool => {
            let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
            for n in chunk {
                query = query.bind(n);
            }
            query.fetch_all(pool).await
        })?;
        found.extend(rows);
    }
    Ok(found)
}

/// Inserts many numbers with multi-row INSERTs and returns their ids by number.
pub async fn insert_many(
    tx: &mut Tx,
    rows: &[NumberFields<'_>],
    now: DateTime<Utc>,
) -> sqlx::Result<HashMap<String, i64>> {
    let mut ids = HashMap::with_capacity(rows.len());
    for chunk in rows.chunks(CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = i * 8;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, $1, $1)",
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 8,
                    b + 9
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO numbers (organization_id, number, state, assignment_type, assignment_id, \
             assignment_line, channel_limit, tags, created_at, updated_at) VALUES {} \
             RETURNING id, number",
            values.join(", ")
        );
        let inserted: Vec<(i64, String)> = on_tx!(tx, conn => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(now);
            for f in chunk {
                let (kind, id, line) = assignment_columns(f.assignment);
                query = query.bind(f.organization_id).bind(f.number).bind(f.state).bind(kind)
                    .bind(id).bind(line).bind(f.channel_limit).bind(f.tags);
            }
            query.fetch_all(conn).await
        })?;
        ids.extend(inserted.into_iter().map(|(id, number)| (number, id)));
    }
    Ok(ids)
}
