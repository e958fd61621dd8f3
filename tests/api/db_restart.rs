//! A lost database (issue 10): PostgreSQL restarted while clients write and read. Every failure
//! meanwhile is 503 with `Retry-After` saying the database is unavailable, never 500; `/readyz`
//! answers 503 while it is away and 200 once the pool reconnects; no acknowledged write is lost;
//! the first read after a restart succeeds although every pooled connection died. PostgreSQL
//! only. The restart runs on a private cluster (`support::pg_cluster`), never the shared one.

use crate::support::pg_cluster::PgCluster;
use crate::support::{Api, TestApp, backend};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const UNAVAILABLE: &str = "The database is unavailable; retry shortly";

/// What one request answered.
#[derive(Debug, Clone)]
struct Answer {
    request: String,
    status: StatusCode,
    retry_after: Option<String>,
    body: String,
}

impl Answer {
    async fn of(request: &str, builder: reqwest::RequestBuilder) -> Self {
        let response = builder.send().await.expect("the daemon answers");
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Self {
            request: request.to_string(),
            status: response.status(),
            retry_after,
            body: response.text().await.expect("body read"),
        }
    }

    /// A 503 as the API promises it: `Retry-After` in whole seconds, the reason in the body.
    fn is_unavailable_with_retry_after(&self) -> bool {
        self.status == StatusCode::SERVICE_UNAVAILABLE
            && self
                .retry_after
                .as_deref()
                .and_then(|s| s.parse::<u64>().ok())
                .is_some_and(|s| s >= 1)
            && self.body.contains(UNAVAILABLE)
    }
}

/// Everything the clients saw, shared by the load tasks and the test.
#[derive(Default)]
struct Seen {
    answers: Mutex<Vec<Answer>>,
    readyz: Mutex<Vec<Answer>>,
    /// Names of the organizations whose creation was answered 201.
    acknowledged: Mutex<Vec<String>>,
}

impl Seen {
    fn acknowledged(&self) -> usize {
        self.acknowledged.lock().unwrap().len()
    }

    fn answers_since(&self, mark: usize) -> Vec<Answer> {
        self.answers.lock().unwrap()[mark..].to_vec()
    }

    fn readyz_since(&self, mark: usize) -> Vec<Answer> {
        self.readyz.lock().unwrap()[mark..].to_vec()
    }

    fn marks(&self) -> (usize, usize) {
        (
            self.answers.lock().unwrap().len(),
            self.readyz.lock().unwrap().len(),
        )
    }
}

/// Creates organizations one after another, a little apart, until told to stop.
async fn write_load(api: Api, seen: Arc<Seen>, stop: Arc<AtomicBool>, worker: usize) {
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let name = format!("Load {worker}-{n}");
        let body = json!({"name": name, "type": "tenant", "parent_id": 1});
        let request = api.request(Method::POST, "/v1/organizations").json(&body);
        let answer = Answer::of("POST /v1/organizations", request).await;
        if answer.status == StatusCode::CREATED {
            seen.acknowledged.lock().unwrap().push(name);
        }
        seen.answers.lock().unwrap().push(answer);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads a page of the list and one organization, in turn.
async fn read_load(api: Api, seen: Arc<Seen>, stop: Arc<AtomicBool>) {
    let paths = ["/v1/organizations?limit=5", "/v1/organizations/1"];
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let path = paths[n % paths.len()];
        n += 1;
        let answer = Answer::of(&format!("GET {path}"), api.request(Method::GET, path)).await;
        seen.answers.lock().unwrap().push(answer);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Asks `/readyz` as an orchestrator does (no `Accept`: errors in the legacy XML).
async fn poll_readyz(
    app_url: String,
    http: reqwest::Client,
    seen: Arc<Seen>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Relaxed) {
        let answer = Answer::of("GET /readyz", http.get(&app_url)).await;
        seen.readyz.lock().unwrap().push(answer);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits (generously: the machine may be loaded) until `done`, failing with `what` otherwise.
async fn wait_until(what: &str, done: impl Fn() -> bool) {
    for _ in 0..1200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("gave up after 120 s waiting for {what}");
}

/// Every organization's name, through the API's list.
async fn listed_names(api: &Api) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut offset = 0;
    loop {
        let (status, body) = api
            .get(&format!("/v1/organizations?limit=1000&offset={offset}"))
            .await;
        assert_eq!(status, StatusCode::OK, "list after the restart: {body}");
        let page = body["data"].as_array().unwrap();
        names.extend(page.iter().map(|o| o["name"].as_str().unwrap().to_string()));
        offset += page.len();
        if page.is_empty() || offset as i64 >= body["total"].as_i64().unwrap() {
            return names;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_answers_503_with_retry_after_and_loses_no_acknowledged_write() {
    if backend() != "postgres" {
        println!("skipped: PostgreSQL only (set DIALTONE_TEST_POSTGRES_URL)");
        return;
    }
    let cluster = PgCluster::start().await;
    // A request waits at most 3 s for a connection: ample on a loaded machine, and short enough
    // that requests made while the database is down answer before it is back.
    let app = TestApp::start_on(&cluster.url(), |c| c.database.acquire_timeout_s = 3).await;
    let root = app.root().await;
    let seen = Arc::new(Seen::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for worker in 0..2 {
        load.push(tokio::spawn(write_load(
            root.clone(),
            seen.clone(),
            stop.clone(),
            worker,
        )));
    }
    load.push(tokio::spawn(read_load(
        root.clone(),
        seen.clone(),
        stop.clone(),
    )));
    load.push(tokio::spawn(poll_readyz(
        app.url("/readyz"),
        app.http.clone(),
        seen.clone(),
        stop.clone(),
    )));

    wait_until("20 writes acknowledged before the restart", || {
        seen.acknowledged() >= 20
    })
    .await;
    let (answers_at_stop, readyz_at_stop) = seen.marks();
    cluster.stop().await;
    // Down until both a client and the orchestrator have been told: a restart that outlasts a
    // request's wait for a connection.
    wait_until(
        "/readyz and an API request to fail while the database is down",
        || {
            let failed = |a: &Answer| !a.status.is_success();
            seen.readyz_since(readyz_at_stop).iter().any(failed)
                && seen.answers_since(answers_at_stop).iter().any(failed)
        },
    )
    .await;
    let (_, readyz_at_start) = seen.marks();
    cluster.start_again().await;
    wait_until("/readyz to answer 200 once the database is back", || {
        seen.readyz_since(readyz_at_start)
            .iter()
            .any(|a| a.status == StatusCode::OK)
    })
    .await;
    let acknowledged_when_back = seen.acknowledged();
    wait_until("20 more writes acknowledged after the restart", || {
        seen.acknowledged() >= acknowledged_when_back + 20
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.expect("load task");
    }

    // (a) No 500, nor anything else: every failure is the promised 503.
    let answers = seen.answers_since(0);
    let wrong: Vec<&Answer> = answers
        .iter()
        .filter(|a| !a.status.is_success() && !a.is_unavailable_with_retry_after())
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} answers were neither 2xx nor 503 with Retry-After: {:#?}",
        wrong.len(),
        answers.len(),
        &wrong[..wrong.len().min(5)]
    );
    let refused = answers.iter().filter(|a| !a.status.is_success()).count();
    assert!(refused > 0, "the outage was seen by a client");
    // (b) Readiness said so in its own (XML) shape while the database was down, and is back.
    let readyz = seen.readyz_since(readyz_at_stop);
    let down: Vec<&Answer> = readyz.iter().filter(|a| !a.status.is_success()).collect();
    assert!(!down.is_empty());
    for answer in &down {
        assert!(answer.is_unavailable_with_retry_after(), "{answer:?}");
        assert!(answer.body.contains("<code>503</code>"), "{answer:?}");
    }
    let (status, body) = app.anonymous().get("/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["status"], "ready");
    // (c) Every write a client was told succeeded is there.
    let listed = listed_names(&root).await;
    let acknowledged = seen.acknowledged.lock().unwrap().clone();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|n| !listed.contains(*n))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged writes are missing: {lost:?}",
        lost.len(),
        acknowledged.len()
    );
    let mut refused_by_request = std::collections::BTreeMap::<&str, usize>::new();
    for answer in answers.iter().filter(|a| !a.status.is_success()) {
        *refused_by_request.entry(&answer.request).or_default() += 1;
    }
    println!(
        "restart under load: {} answers, 503 for {refused_by_request:?}; {} writes \
         acknowledged, none lost",
        answers.len(),
        acknowledged.len()
    );

    // (d) A restart with nobody asking leaves only dead connections in the pool; the first
    // read after it, and a write, still succeed.
    cluster.stop().await;
    cluster.start_again().await;
    let (status, body) = root.get("/v1/organizations?limit=1").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the first read after a restart: {body}"
    );
    assert_eq!(body["total"].as_u64(), Some(listed.len() as u64));
    let (status, body) = root
        .post(
            "/v1/organizations",
            json!({"name": "After the quiet restart", "type": "tenant", "parent_id": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.shutdown().await;
}

/// Terminates every other session on `url`'s database (the test's own, on the shared cluster)
/// and waits until they are gone (the daemon's background tasks may open new ones meanwhile).
async fn kill_other_sessions(url: &str) {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(url)
        .await
        .expect("admin session");
    let killed: Vec<i32> = sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
         AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
    )
    .fetch_all(&mut admin)
    .await
    .expect("list sessions");
    for pid in &killed {
        sqlx::query("SELECT pg_terminate_backend($1)")
            .bind(pid)
            .execute(&mut admin)
            .await
            .expect("terminate a session");
    }
    assert!(!killed.is_empty(), "a session to kill");
    for _ in 0..600 {
        let left: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = ANY($1)")
                .bind(&killed)
                .fetch_one(&mut admin)
                .await
                .expect("count sessions");
        if left == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("killed sessions {killed:?} still there after 30 s");
}

#[tokio::test]
async fn a_read_whose_connection_was_killed_runs_again_on_a_fresh_one() {
    if backend() != "postgres" {
        println!("skipped: PostgreSQL only (set DIALTONE_TEST_POSTGRES_URL)");
        return;
    }
    // Only this test's own database on the shared cluster loses its sessions.
    let app = TestApp::start().await;
    let url = app.state().config.database.url.clone();
    let root = app.root().await;

    // The daemon's pool checks a connection before handing it out: after every one of them
    // was killed, a read and a write still succeed.
    kill_other_sessions(&url).await;
    let (status, body) = root.get("/v1/organizations").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = root
        .post(
            "/v1/organizations",
            json!({"name": "After the kill", "type": "tenant", "parent_id": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // A pool that hands out its one connection unchecked, so a read meets the dead one: the
    // read helpers run it again on a fresh connection.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        .connect(&url)
        .await
        .unwrap();
    let db = dialtone::db::Db::Pg(pool);
    let count = "SELECT COUNT(*) FROM organizations";
    kill_other_sessions(&url).await;
    let read: sqlx::Result<i64> =
        dialtone::on_read!(db, pool => sqlx::query_scalar(count).fetch_one(pool).await);
    assert_eq!(read.expect("on_read! on a fresh connection"), 2);
    kill_other_sessions(&url).await;
    let snapshot: sqlx::Result<i64> = dialtone::on_snapshot!(db, conn => {
        sqlx::query_scalar(count).fetch_one(&mut *conn).await
    });
    assert_eq!(snapshot.expect("on_snapshot! on a fresh connection"), 2);

    // A write is not run twice: it fails, as a lost database the API answers 503 for.
    kill_other_sessions(&url).await;
    let write = dialtone::on_db!(&db, pool => sqlx::query(
        "UPDATE organizations SET name = name WHERE id = 1").execute(pool).await.map(|_| ()));
    let error = write.expect_err("a write on a killed connection");
    assert!(dialtone::db::is_unavailable(&error), "{error:?}");
    let error = dialtone::error::Error::from(error);
    assert_eq!(error.retry_after_s(), Some(2));
    assert_eq!(error.public_message(), UNAVAILABLE);
    app.shutdown().await;
}
