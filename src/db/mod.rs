//! The database handle: a native SQLite or PostgreSQL pool behind one small type.
//!
//! Store code writes one SQL text with `$1..$N` placeholders and runs it through [`on_db!`] or
//! [`on_tx!`], which expand the same body once per backend, so every query is checked by the
//! compiler against both drivers (`sqlx::Any` cannot read timestamps or decimals). Reads go
//! through [`on_snapshot!`] (a page and its total) or [`on_read!`], which try once more on a fresh
//! connection when the first lost its own (see `unavailable.rs`).

mod chunks;
mod connect;
pub mod lease;
mod page;
mod unavailable;

pub use chunks::{STATEMENT_BYTES, chunks};

pub use connect::{connect, connect_with, migrate};
pub use page::Page;
pub use unavailable::{is_unavailable, retry_read, unavailable_sqlstate};

use sqlx::{PgPool, Postgres, Sqlite, SqlitePool};
use std::time::Duration;

/// How long [`Db::ping`] waits for the database's answer.
pub const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// A cheap-to-clone pool handle for whichever backend the URL named.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Pg(PgPool),
}

/// A write transaction on either backend. Dropped without `commit` it rolls back.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Pg(sqlx::Transaction<'static, Postgres>),
}

/// Runs `$body` with `$pool` bound to the backend's pool.
#[macro_export]
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Pg($pool) => $body,
        }
    };
}

/// Runs `$body` with `$conn` bound to the transaction's connection.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::db::Tx::Sqlite(tx) => {
                let $conn = &mut **tx;
                $body
            }
            $crate::db::Tx::Pg(tx) => {
                let $conn = &mut **tx;
                $body
            }
        }
    };
}

/// Runs `$body` with `$conn` bound to a connection inside [`Db::snapshot`]: for a page of rows
/// and the `total` they belong to. `?` inside the body ends the attempt (the snapshot rolls
/// back). A snapshot only reads, so one that lost its connection runs once more on a fresh one
/// ([`retry_read`]); the body must therefore not move what it captures (`AssertSqlSafe(&*sql)`).
#[macro_export]
macro_rules! on_snapshot {
    ($db:expr, $conn:ident => $body:expr) => {{
        let db: &$crate::db::Db = &$db;
        let mut retried = false;
        loop {
            let attempt: ::sqlx::Result<_> = async {
                let mut snapshot = db.snapshot().await?;
                let out: ::sqlx::Result<_> = $crate::on_tx!(&mut snapshot, $conn => $body);
                let out = out?;
                snapshot.commit().await?;
                Ok(out)
            }
            .await;
            match attempt {
                Err(e) if !retried && $crate::db::retry_read(&e) => retried = true,
                done => break done,
            }
        }
    }};
}

impl Db {
    /// Starts a write transaction. On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`)
    /// so two writers queue on the busy timeout instead of failing with SQLITE_BUSY mid-way.
    pub async fn begin(&self) -> sqlx::Result<Tx> {
        Ok(match self {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Db::Pg(pool) => Tx::Pg(pool.begin().await?),
        })
    }

    /// Starts a read-only transaction that sees one snapshot, so a page and its `total` agree
    /// even while other tasks insert (the event log is written from background tasks). SQLite
    /// in WAL mode fixes the snapshot at the first read of a deferred `BEGIN`; PostgreSQL needs
    /// `REPEATABLE READ`, since its default isolation takes a new snapshot per statement.
    /// Finish it with [`Tx::commit`]; dropped, it rolls back, which for a reader is the same.
    pub async fn snapshot(&self) -> sqlx::Result<Tx> {
        Ok(match self {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN DEFERRED").await?),
            Db::Pg(pool) => Tx::Pg(
                pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?,
            ),
        })
    }

    /// A round trip to the database (`SELECT 1` on a pooled connection, which the pool checks
    /// before handing out), failing after [`PING_TIMEOUT`] rather than waiting out the pool's
    /// acquire timeout while the server is away: readiness must say so promptly.
    pub async fn ping(&self) -> sqlx::Result<()> {
        let round_trip =
            async { on_db!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ())) };
        tokio::time::timeout(PING_TIMEOUT, round_trip)
            .await
            .unwrap_or_else(|_| {
                Err(sqlx::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no answer to SELECT 1 within {PING_TIMEOUT:?}"),
                )))
            })
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Pg(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        on_db!(self, pool => pool.close().await)
    }
}

impl Tx {
    /// Appended to a `SELECT` of a row this transaction's write depends on (the trunk a number
    /// is being assigned to), it holds the row against a concurrent `DELETE` until commit:
    /// `FOR KEY SHARE` on PostgreSQL; nothing on SQLite, whose write transactions run one at a
    /// time.
    pub fn key_share(&self) -> &'static str {
        match self {
            Tx::Sqlite(_) => "",
            Tx::Pg(_) => " FOR KEY SHARE",
        }
    }

    pub async fn commit(self) -> sqlx::Result<()> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Pg(tx) => tx.commit().await,
        }
    }
}
