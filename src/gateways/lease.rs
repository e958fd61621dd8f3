//! The pinger is a singleton across instances sharing a PostgreSQL database: a session-level
//! advisory lock held on one pooled connection is the lease. SQLite means one instance, so the
//! lease is always granted.

use crate::db::Db;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Arbitrary but fixed: "dialtone pinger".
const PINGER_LOCK_KEY: i64 = 0x6469_616c_7069_6e67;

/// Held while this instance pings; dropping it releases the lock (the connection closes).
pub enum Lease {
    Local,
    Postgres(sqlx::PgConnection),
}

impl Lease {
    /// Whether the lock is still ours: its connection must still answer (if it dropped, the
    /// server released the lock and another instance may hold it now).
    pub async fn still_held(&mut self) -> bool {
        match self {
            Lease::Local => true,
            Lease::Postgres(conn) => sqlx::query("SELECT 1").execute(&mut *conn).await.is_ok(),
        }
    }
}

/// Waits until this instance holds the lease, or shutdown (`None`).
pub async fn acquire(db: &Db, shutdown: &CancellationToken) -> Option<Lease> {
    let Db::Pg(pool) = db else {
        return Some(Lease::Local);
    };
    let mut announced = false;
    loop {
        if let Ok(mut conn) = pool.acquire().await {
            let got: Result<bool, _> = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(PINGER_LOCK_KEY)
                .fetch_one(&mut *conn)
                .await;
            if let Ok(true) = got {
                tracing::info!("this instance runs the gateway pinger");
                // Detached: closing this connection (when the lease drops) releases the lock;
                // returned to the pool it would keep holding it.
                return Some(Lease::Postgres(conn.detach()));
            }
        }
        if !announced {
            tracing::info!("another instance runs the gateway pinger; standing by");
            announced = true;
        }
        tokio::select! {
            _ = shutdown.cancelled() => return None,
            _ = tokio::time::sleep(Duration::from_secs(10)) => {}
        }
    }
}
