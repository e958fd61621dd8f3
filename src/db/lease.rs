//! Named cross-instance leases: while one instance holds the lease called `name`, no other
//! instance sharing its PostgreSQL database holds it, so any job can be a singleton. The lease is
//! a session-level advisory lock (key: a stable hash of the name) held on one connection taken out
//! of the pool; SQLite means one instance, so the lease is always granted.

use crate::db::Db;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long an instance standing by waits before asking for the lease again.
const RETRY: Duration = Duration::from_secs(10);

/// Held while this instance runs the singleton; dropping it releases the lock (its connection
/// closes).
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

/// The advisory-lock key of a lease name: FNV-1a, so every instance and every version computes
/// the same key for the same name.
pub fn key(name: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}

/// The lease `name` if no other instance holds it now; `None` if one does.
pub async fn try_acquire(db: &Db, name: &str) -> sqlx::Result<Option<Lease>> {
    let Db::Pg(pool) = db else {
        return Ok(Some(Lease::Local));
    };
    let mut conn = pool.acquire().await?;
    let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(key(name))
        .fetch_one(&mut *conn)
        .await?;
    // Detached: closing this connection (when the lease drops) releases the lock; returned to
    // the pool it would keep holding it.
    Ok(got.then(|| Lease::Postgres(conn.detach())))
}

/// Waits until this instance holds the lease `name`, or shutdown (`None`).
pub async fn acquire(db: &Db, name: &str, shutdown: &CancellationToken) -> Option<Lease> {
    let mut announced = false;
    loop {
        match try_acquire(db, name).await {
            Ok(Some(lease)) => {
                if matches!(lease, Lease::Postgres(_)) {
                    tracing::info!(lease = name, "this instance holds the lease");
                }
                return Some(lease);
            }
            Ok(None) if !announced => {
                tracing::info!(
                    lease = name,
                    "another instance holds the lease; standing by"
                );
                announced = true;
            }
            Ok(None) => {}
            Err(e) => tracing::debug!(lease = name, error = %e, "cannot ask for the lease"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return None,
            _ = tokio::time::sleep(RETRY) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_name_always_gives_the_same_key_and_names_differ() {
        assert_eq!(super::key("gateways.pinger"), super::key("gateways.pinger"));
        assert_ne!(super::key("gateways.pinger"), super::key("housekeeping"));
        // The value is part of the contract between instances of different versions.
        assert_eq!(super::key(""), 0xcbf2_9ce4_8422_2325_u64 as i64);
    }

    #[tokio::test]
    async fn sqlite_grants_the_lease_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("x.db").display());
        let db = crate::db::connect(&url, 2).await.unwrap();
        let token = tokio_util::sync::CancellationToken::new();
        let mut lease = super::acquire(&db, "x", &token).await.unwrap();
        assert!(lease.still_held().await);
        assert!(super::try_acquire(&db, "x").await.unwrap().is_some());
    }
}
