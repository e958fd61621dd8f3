//! The revision counter every dial plan write moves on, which other instances compare with the
//! plan they hold.

use crate::db::{Db, Tx};
use crate::{on_db, on_tx};

/// Moves the revision on; called in every dial plan write's transaction.
pub async fn bump_revision(tx: &mut Tx) -> sqlx::Result<i64> {
    const SQL: &str =
        "UPDATE dialplan_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision";
    on_tx!(tx, conn => sqlx::query_scalar(SQL).fetch_one(conn).await)
}

pub async fn revision(db: &Db) -> sqlx::Result<i64> {
    const SQL: &str = "SELECT revision FROM dialplan_revision WHERE id = 1";
    on_db!(db, pool => sqlx::query_scalar(SQL).fetch_one(pool).await)
}

pub async fn revision_in_tx(tx: &mut Tx) -> sqlx::Result<i64> {
    const SQL: &str = "SELECT revision FROM dialplan_revision WHERE id = 1";
    on_tx!(tx, conn => sqlx::query_scalar(SQL).fetch_one(conn).await)
}
