//! Which sqlx errors mean the database is lost or unreachable (a restart, a network cut, a pool
//! that cannot get a connection in time) rather than a fault of ours or of the request, and the
//! one retry a read gets when its connection dropped under it.
//!
//! The edge answers the first kind 503 with `Retry-After`: the same request will work once the
//! pool reconnects, so a client should wait and retry, not report a bug. A read is retried once
//! on a fresh connection because it has no side effect to repeat; a write is never retried here
//! (its commit may have landed before the connection dropped), its client sees the 503. The
//! second attempt gets a live connection because the pool pings one before handing it out
//! (`test_before_acquire`, see `connect`): without that, after a restart it could be handed the
//! next dead one.

/// True when `error` says the database could not be reached or the connection to it was lost.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
            .is_some_and(|pg| unavailable_sqlstate(pg.code())),
        _ => false,
    }
}

/// PostgreSQL SQLSTATEs that mean "not now, try again": a connection exception (class 08), the
/// server shutting down or restarting (57P01 admin shutdown, 57P02 crash shutdown), starting up
/// (57P03 cannot connect now), or out of connection slots (53300 too many connections).
pub fn unavailable_sqlstate(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
}

/// Whether a read that failed with `error` gets one more attempt: when its connection was lost,
/// not when the pool already waited its whole acquire timeout (a second wait would only double
/// the client's) or is closed (the daemon is stopping). Logs the retry.
#[doc(hidden)]
pub fn retry_read(error: &sqlx::Error) -> bool {
    let lost = is_unavailable(error)
        && !matches!(error, sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed);
    if lost {
        tracing::warn!(%error, "a read lost its database connection; retrying on a fresh one");
    }
    lost
}

/// [`on_db!`](crate::on_db) for a body that only reads: run again once, on a fresh connection,
/// when the first attempt lost its connection ([`retry_read`]). `?` inside the body ends that
/// attempt, not the function. The body runs twice at most, so it must not move what it
/// captures (bind `&value`, pass `AssertSqlSafe(&*sql)`).
#[macro_export]
macro_rules! on_read {
    ($db:expr, $pool:ident => $body:expr) => {{
        let db: &$crate::db::Db = &$db;
        let mut retried = false;
        loop {
            let attempt: ::sqlx::Result<_> = async { $crate::on_db!(db, $pool => $body) }.await;
            match attempt {
                Err(e) if !retried && $crate::db::retry_read(&e) => retried = true,
                done => break done,
            }
        }
    }};
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn a_lost_or_unreachable_database_is_unavailable() {
        for kind in [
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::ConnectionRefused,
            io::ErrorKind::UnexpectedEof,
            io::ErrorKind::BrokenPipe,
            io::ErrorKind::TimedOut,
        ] {
            assert!(is_unavailable(&sqlx::Error::Io(kind.into())), "{kind:?}");
        }
        assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
        assert!(is_unavailable(&sqlx::Error::PoolClosed));
    }

    #[test]
    fn a_fault_of_ours_or_of_the_request_is_not() {
        assert!(!is_unavailable(&sqlx::Error::RowNotFound));
        assert!(!is_unavailable(&sqlx::Error::Protocol(
            "bad message".into()
        )));
        assert!(!is_unavailable(&sqlx::Error::ColumnNotFound("id".into())));
        assert!(!is_unavailable(&sqlx::Error::Decode("not a number".into())));
        assert!(!is_unavailable(&sqlx::Error::Configuration(
            "bad url".into()
        )));
    }

    #[test]
    fn postgres_states_that_mean_try_again() {
        for code in [
            "08000", "08003", "08006", "08001", "08004", "57P01", "57P02", "57P03",
        ] {
            assert!(unavailable_sqlstate(code), "{code}");
        }
        assert!(unavailable_sqlstate("53300"));
        // A unique violation, a syntax error, a serialization failure, a dropped database, a
        // cancelled statement and a refused password are not the database being away.
        for code in ["23505", "42601", "40001", "57P04", "57014", "28P01"] {
            assert!(!unavailable_sqlstate(code), "{code}");
        }
    }

    #[test]
    fn only_a_lost_connection_is_worth_a_second_read() {
        assert!(retry_read(&sqlx::Error::Io(
            io::ErrorKind::ConnectionReset.into()
        )));
        assert!(!retry_read(&sqlx::Error::PoolTimedOut));
        assert!(!retry_read(&sqlx::Error::PoolClosed));
        assert!(!retry_read(&sqlx::Error::RowNotFound));
    }
}
