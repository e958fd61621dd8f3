//! Opening pools and applying the embedded migrations for each backend.

use super::Db;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

/// How long a PostgreSQL query waits for a pooled connection unless configured otherwise.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens a pool for `url`: `sqlite://file` (created with its directory, WAL) or `postgres://…`.
pub async fn connect(url: &str, max_connections: u32) -> sqlx::Result<Db> {
    connect_with(url, max_connections, ACQUIRE_TIMEOUT).await
}

/// [`connect`], with how long a PostgreSQL query may wait for a connection (a free one, or a new
/// one while the server is away) before it fails as unavailable.
pub async fn connect_with(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
) -> sqlx::Result<Db> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(acquire_timeout)
            // sqlx's default, relied on: after a server restart every idle connection is dead,
            // and the ping before handing one out replaces it instead of failing the request.
            .test_before_acquire(true)
            .connect(url)
            .await?;
        return Ok(Db::Pg(pool));
    }
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    if let Some(parent) = options.get_filename().parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)?;
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(max_connections)
        .connect_with(options)
        .await?;
    Ok(Db::Sqlite(pool))
}

/// Applies the migrations embedded for the backend; already-applied ones are skipped.
pub async fn migrate(db: &Db) -> Result<(), sqlx::migrate::MigrateError> {
    match db {
        Db::Sqlite(pool) => sqlx::migrate!("migrations/sqlite").run(pool).await,
        Db::Pg(pool) => sqlx::migrate!("migrations/postgres").run(pool).await,
    }
}
