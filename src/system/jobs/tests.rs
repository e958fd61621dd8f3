//! The job set as the daemon uses it: a panicking job is restarted and counted, a failing
//! scheduled job keeps its schedule, and shutdown waits for a job mid-work before the database
//! closes.

use super::schedule::Every;
use super::{Jobs, Scheduled};
use crate::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

async fn until(what: impl Fn() -> bool) {
    for _ in 0..500 {
        if what() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached within 5 s");
}

#[tokio::test]
async fn a_loop_that_panics_is_counted_and_started_again() {
    let jobs = Jobs::new();
    let starts = Arc::new(AtomicUsize::new(0));
    jobs.spawn_loop("flaky", {
        let starts = starts.clone();
        move |stop| {
            let n = starts.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    panic!("first start fails");
                }
                stop.cancelled().await;
            }
        }
    });
    until(|| starts.load(Ordering::SeqCst) == 2).await;
    let stats = jobs.stats("flaky");
    assert_eq!((stats.panics, stats.failures), (1, 1), "{stats:?}");
    assert!(jobs.shutdown(Duration::from_secs(2)).await);
    assert_eq!(
        starts.load(Ordering::SeqCst),
        2,
        "not restarted after a clean end"
    );
    assert_eq!(jobs.stats("flaky").runs, 2);
}

#[tokio::test]
async fn a_scheduled_job_that_fails_or_panics_keeps_its_schedule() {
    let jobs = Jobs::new();
    let runs = Arc::new(AtomicUsize::new(0));
    jobs.spawn_every(
        Scheduled {
            name: "every-10ms",
            every: Every::new(Duration::from_millis(10), Duration::from_millis(2)),
            first: Duration::ZERO,
            lease: None,
        },
        {
            let runs = runs.clone();
            move || {
                let n = runs.fetch_add(1, Ordering::SeqCst);
                async move {
                    match n {
                        0 => Err(Error::Internal("first run fails".into())),
                        1 => panic!("second run panics"),
                        _ => Ok(()),
                    }
                }
            }
        },
    );
    until(|| jobs.stats("every-10ms").runs >= 4).await;
    let stats = jobs.stats("every-10ms");
    assert_eq!((stats.failures, stats.panics), (2, 1), "{stats:?}");
    assert!(jobs.shutdown(Duration::from_secs(2)).await);
}

#[tokio::test]
async fn shutdown_waits_for_a_job_mid_work_before_the_database_closes() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("jobs.db").display());
    let db = crate::db::connect(&url, 2).await.unwrap();
    crate::on_db!(&db, pool => sqlx::query("CREATE TABLE written (what TEXT NOT NULL)")
        .execute(pool).await.map(|r| r.rows_affected()))
    .unwrap();
    let jobs = Jobs::new();
    let working = Arc::new(tokio::sync::Notify::new());
    jobs.spawn_loop("writer", {
        let (db, working) = (db.clone(), working.clone());
        move |stop| {
            let (db, working) = (db.clone(), working.clone());
            async move {
                working.notify_one();
                stop.cancelled().await;
                // Mid-work when shutdown starts: the rest of the work takes a while.
                tokio::time::sleep(Duration::from_millis(300)).await;
                crate::on_db!(&db, pool => sqlx::query("INSERT INTO written VALUES ('done')")
                    .execute(pool).await.map(|r| r.rows_affected()))
                .unwrap();
            }
        }
    });
    working.notified().await;
    assert!(jobs.shutdown(Duration::from_secs(5)).await);
    db.close().await;
    let db = crate::db::connect(&url, 1).await.unwrap();
    let rows: i64 = crate::on_db!(&db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM written")
        .fetch_one(pool).await)
    .unwrap();
    assert_eq!(rows, 1, "the job finished before the pool closed");
}

#[tokio::test]
async fn shutdown_stops_waiting_after_the_grace() {
    let jobs = Jobs::new();
    jobs.spawn_loop("stubborn", |_stop| async {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    });
    tokio::task::yield_now().await;
    let started = std::time::Instant::now();
    assert!(!jobs.shutdown(Duration::from_millis(100)).await);
    assert!(started.elapsed() < Duration::from_secs(2));
}
