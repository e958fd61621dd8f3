//! `/v1/jobs`: the queued jobs (numbers imports, bulk NOTIFYs) of the caller's subtree, their
//! progress and result; a job whose instance vanished is taken again; on PostgreSQL two
//! instances never run the same queued job, nor both a leased one.

use crate::support::{self, Api, PASSWORD, TestApp, Tree};
use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

/// Imports `numbers` into the caller's organization and returns the answer's data.
async fn import(api: &Api, numbers: &[&str]) -> Value {
    let csv = format!("number\n{}\n", numbers.join("\n"));
    let (status, body) = api.post("/v1/numbers/import", json!({ "csv": csv })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["data"].clone()
}

async fn admins(app: &TestApp) -> (Tree, Api, Api, Api) {
    let (tree, root) = support::tree(app).await;
    root.create_user("dist-admin", tree.dist, "admin").await;
    root.create_user("a-admin", tree.partner_a, "admin").await;
    root.create_user("b-admin", tree.partner_b, "admin").await;
    let dist = app.login("dist-admin", PASSWORD).await;
    let a = app.login("a-admin", PASSWORD).await;
    let b = app.login("b-admin", PASSWORD).await;
    (tree, dist, a, b)
}

fn ids(body: &Value) -> Vec<i64> {
    body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no list: {body}"))
        .iter()
        .map(|j| j["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn an_import_is_a_job_each_caller_sees_only_in_its_subtree() {
    let app = TestApp::start().await;
    let (tree, dist, a, b) = admins(&app).await;
    let imported = import(&a, &["+14155550101", "+14155550102", "+14155550103"]).await;
    assert_eq!(imported["imported"], 3, "{imported}");
    assert_eq!(imported["organization_ids"], json!([tree.partner_a]));
    let a_job = imported["job_id"]
        .as_i64()
        .expect("the answer names its job");
    let b_job = import(&b, &["+14155550201"]).await["job_id"]
        .as_i64()
        .unwrap();

    let (status, job) = a.get(&format!("/v1/jobs/{a_job}")).await;
    assert_eq!(status, StatusCode::OK, "{job}");
    let job = &job["data"];
    assert_eq!(job["kind"], "numbers.import", "{job}");
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["organization_id"], tree.partner_a);
    assert_eq!(job["attempts"], 1);
    assert_eq!(job["progress"], json!({"done": 3, "total": 3}), "{job}");
    assert_eq!(job["result"]["imported"], 3, "{job}");
    assert_eq!(job["created_by"], "a-admin");
    assert!(job["finished_at"].is_string(), "{job}");

    // The sibling's job is nobody's to the other partner: 404, and absent from its list.
    let (status, body) = a.get(&format!("/v1/jobs/{b_job}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = b.get(&format!("/v1/jobs/{a_job}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (_, body) = a.get("/v1/jobs").await;
    assert_eq!(ids(&body), vec![a_job], "{body}");
    assert_eq!(body["total"], 1);
    // The parent sees both, newest first, and filters them.
    let (_, body) = dist.get("/v1/jobs").await;
    assert_eq!(ids(&body), vec![b_job, a_job], "{body}");
    let (_, body) = dist
        .get(&format!("/v1/jobs?organization_id={}", tree.partner_b))
        .await;
    assert_eq!(ids(&body), vec![b_job], "{body}");
    let (_, body) = dist.get("/v1/jobs?kind=numbers.import&state=done").await;
    assert_eq!(body["total"], 2, "{body}");
    let (_, body) = dist.get("/v1/jobs?kind=devices.notify").await;
    assert_eq!(body["total"], 0, "{body}");
    let (_, body) = dist.get("/v1/jobs?state=failed").await;
    assert_eq!(body["total"], 0, "{body}");
}

#[tokio::test]
async fn the_job_list_pages_like_every_list() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let mut jobs = Vec::new();
    for n in 0..5 {
        let number = format!("+1415555030{n}");
        jobs.push(import(&root, &[&number]).await["job_id"].as_i64().unwrap());
    }
    jobs.reverse();
    let (_, first) = root.get("/v1/jobs?limit=2").await;
    assert_eq!(ids(&first), jobs[..2].to_vec(), "{first}");
    assert_eq!(
        (first["total"].as_i64(), first["limit"].as_i64()),
        (Some(5), Some(2))
    );
    let (_, third) = root.get("/v1/jobs?limit=2&page=3").await;
    assert_eq!(ids(&third), jobs[4..].to_vec(), "{third}");
    let (_, offset) = root.get("/v1/jobs?limit=2&offset=1").await;
    assert_eq!(ids(&offset), jobs[1..3].to_vec(), "{offset}");
}

#[tokio::test]
async fn a_refused_import_answers_as_before_and_its_job_failed_with_the_rows() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let (status, body) = root
        .post(
            "/v1/numbers/import",
            json!({"csv": "number\n+14155550101\nnot-a-number\n"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["errors"][0]["row"], 3, "{body}");
    assert_eq!(body["errors"][0]["field"], "number", "{body}");
    let (_, jobs) = root.get("/v1/jobs?state=failed").await;
    assert_eq!(jobs["total"], 1, "{jobs}");
    let job = &jobs["data"][0];
    assert_eq!(job["kind"], "numbers.import");
    // A refusal of the input is not retried.
    assert_eq!(job["attempts"], 1, "{job}");
    assert!(
        job["error"]
            .as_str()
            .unwrap()
            .contains("nothing was imported"),
        "{job}"
    );
    assert_eq!(root.total("/v1/numbers").await, 0);
}

/// Waits until the job `id` has ended; panics after 20 s.
async fn ended(api: &Api, id: i64) -> Value {
    for _ in 0..200 {
        let (status, body) = api.get(&format!("/v1/jobs/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let state = body["data"]["state"].as_str().unwrap().to_string();
        if state != "queued" && state != "running" {
            return body["data"].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {id} did not end");
}

/// A running import claimed by an instance that is gone, its claim lapsed a minute ago.
async fn orphan_import(app: &TestApp, number: &str) -> i64 {
    let payload = json!({
        "csv": format!("number\n{number}\n"),
        "caller": {
            "user_id": 1, "username": "root", "role": "admin", "organization_id": 1,
            "organization_path": "/1/", "organization_type": "platform",
            "session_id": "gone", "token_kind": "access", "request_id": null, "client_ip": null,
        },
    })
    .to_string();
    let now = Utc::now();
    let lapsed = now - chrono::Duration::minutes(1);
    let db = &app.state().db;
    dialtone::on_db!(db, pool => sqlx::query_scalar(
        "INSERT INTO jobs (kind, organization_id, payload, state, attempts, max_attempts, \
         run_after, claimed_by, claimed_until, created_by, created_at, started_at) \
         VALUES ('numbers.import', 1, $1, 'running', 1, 3, $2, 'crashed-instance', $3, 'root', \
         $2, $2) RETURNING id")
        .bind(&payload).bind(now - chrono::Duration::minutes(2)).bind(lapsed)
        .fetch_one(pool).await)
    .expect("insert orphan")
}

#[tokio::test]
async fn a_job_whose_instance_vanished_is_taken_again_once_its_claim_lapses() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let path: String = {
        let db = &app.state().db;
        dialtone::on_db!(db, pool => sqlx::query_scalar("SELECT path FROM organizations WHERE id = 1")
            .fetch_one(pool).await)
        .unwrap()
    };
    assert_eq!(path, "/1/", "the orphan's caller names the platform's path");
    let id = orphan_import(&app, "+14155550999").await;
    let job = ended(&root, id).await;
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["attempts"], 2, "{job}");
    assert_eq!(job["result"]["imported"], 1, "{job}");
    let (_, numbers) = root.get("/v1/numbers?prefix=%2B14155550999").await;
    assert_eq!(numbers["total"], 1, "{numbers}");
}

#[tokio::test]
async fn on_postgres_two_instances_run_each_queued_job_once_and_a_leased_job_on_one() {
    if support::backend() != "postgres" {
        return;
    }
    let first = TestApp::start().await;
    let second = first.second_instance(|_| {}).await;
    let (root1, root2) = (first.root().await, second.root().await);
    // Jobs queued on both instances at once; either worker may take any of them.
    let mut requests = Vec::new();
    for n in 0..12 {
        let api = if n % 2 == 0 {
            root1.clone()
        } else {
            root2.clone()
        };
        requests.push(tokio::spawn(async move {
            let csv = format!("number\n+1415555{n:04}\n");
            api.post("/v1/numbers/import", json!({ "csv": csv })).await
        }));
    }
    for request in requests {
        let (status, body) = request.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (_, jobs) = root1.get("/v1/jobs?kind=numbers.import&limit=100").await;
    assert_eq!(jobs["total"], 12, "{jobs}");
    for job in jobs["data"].as_array().unwrap() {
        assert_eq!(job["state"], "done", "{job}");
        assert_eq!(job["attempts"], 1, "run once: {job}");
    }
    // A worker counts its run just after storing its end.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let runs = |app: &TestApp| app.state().jobs.stats("numbers.import").runs;
    assert_eq!(runs(&first) + runs(&second), 12);
    assert_eq!(root1.total("/v1/numbers").await, 12);

    // Housekeeping holds a lease: the first instance ran it at start; the second stands by.
    let housekeeping = |app: &TestApp| app.state().jobs.stats("housekeeping").runs;
    assert_eq!(housekeeping(&first), 1);
    assert_eq!(housekeeping(&second), 0);
    second.shutdown().await;
}
