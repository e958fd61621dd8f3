//! The gateway pinger end to end: in-process UDP gateways that answer 200, 404 or 503, stay
//! silent, answer only a retransmission, or answer garbage — and the health the REST API shows,
//! the event log, and API changes taking effect without a restart. Then `sipp` as a real peer.

use crate::support::TestApp;
use crate::support::gateway::{GatewayBehaviour as Behaviour, gateway};
use crate::support::sip::{free_udp_port, scenario, sipp_available};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

async fn fast_pinger_app() -> TestApp {
    TestApp::start_with(|c| {
        c.pinger.interval_s = 1;
        c.pinger.down_interval_s = 1;
        c.pinger.timeout_ms = 1_200;
    })
    .await
}

/// Polls `GET /v1/sipgwping/{entity}` until `done` holds for the health list, or panics.
async fn wait_for(
    api: &crate::support::Api,
    entity: &str,
    limit: Duration,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let (status, body) = api.get(&format!("/v1/sipgwping/{entity}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let list = body["data"].as_array().unwrap().clone();
        if done(&list) {
            return list;
        }
        assert!(
            started.elapsed() < limit,
            "gave up after {limit:?}: {list:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn state_of<'a>(list: &'a [Value], uri: &str) -> &'a str {
    list.iter()
        .find(|h| h["uri"] == uri)
        .and_then(|h| h["state"].as_str())
        .unwrap_or("missing")
}

/// `[dns] mode = "static"` (every test daemon runs so): a gateway named in `dns.hosts` is pinged
/// at the address listed there; a name not listed resolves to nothing and goes down, no DNS
/// server asked.
#[tokio::test]
async fn the_static_resolver_answers_listed_names_and_nothing_else() {
    let (addr, seen) = gateway(Behaviour::Answer(200)).await;
    let app = TestApp::start_with(|c| {
        c.pinger.interval_s = 1;
        c.pinger.down_interval_s = 1;
        c.pinger.timeout_ms = 1_200;
        c.dns.hosts.insert("gw-static.test".into(), vec![addr.ip()]);
    })
    .await;
    let root = app.root().await;
    let listed = format!("sip:gw-static.test:{}", addr.port());
    let unlisted = format!("sip:gw-unlisted.test:{}", addr.port());
    let (status, body) = root
        .post(
            "/v1/siptrunks",
            json!({"name": "named", "direction": "outbound", "max_channels": 1,
                   "failures_to_down": 1, "successes_to_up": 1,
                   "gateways": [{"uri": listed}, {"uri": unlisted}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let unlisted_id = body["data"]["gateways"][1]["id"].as_i64().unwrap();
    wait_for(&root, "all", Duration::from_secs(15), |list| {
        state_of(list, &listed) == "up" && state_of(list, &unlisted) == "down"
    })
    .await;
    assert!(
        seen.load(Ordering::SeqCst) > 0,
        "the listed name reached the gateway"
    );
    let (_, single) = root
        .get(&format!("/v1/sipgwping/gateway:{unlisted_id}"))
        .await;
    let history = single["data"][0]["history"].as_array().unwrap();
    assert!(
        history.iter().all(|p| p["error"]
            .as_str()
            .is_some_and(|e| e.contains("resolves to no address"))),
        "{single}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn health_follows_what_each_gateway_answers() {
    let app = fast_pinger_app().await;
    let root = app.root().await;
    let mut uris = Vec::new();
    for behaviour in [
        Behaviour::Answer(200),
        Behaviour::Answer(404),
        Behaviour::Answer(503),
        Behaviour::Silent,
        Behaviour::AnswerRetransmission,
        Behaviour::Garbage,
    ] {
        let (addr, _) = gateway(behaviour).await;
        uris.push(format!("sip:{addr}"));
    }
    let gateways: Vec<Value> = uris.iter().map(|u| json!({"uri": u})).collect();
    let (status, body) = root
        .post(
            "/v1/siptrunks",
            json!({"name": "mixed", "direction": "outbound", "max_channels": 30,
                   "failures_to_down": 2, "successes_to_up": 2, "gateways": gateways}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let trunk_id = body["data"]["id"].as_i64().unwrap();

    let expected = ["up", "up", "down", "down", "up", "down"];
    let list = wait_for(&root, "all", Duration::from_secs(15), |list| {
        uris.iter()
            .zip(expected)
            .all(|(u, want)| state_of(list, u) == want)
    })
    .await;
    let late = list.iter().find(|h| h["uri"] == uris[4]).unwrap();
    assert!(
        late["rtt_ms"].as_f64().unwrap() >= 400.0,
        "answered only the retransmission: {late}"
    );
    let refused = list.iter().find(|h| h["uri"] == uris[2]).unwrap();
    assert_eq!(refused["last_code"], 503);
    assert!(refused["consecutive_failures"].as_u64().unwrap() >= 2);
    assert!(refused["since"].is_string());

    // The same health on the trunk and on the single gateway (with history).
    let (_, trunk) = root.get(&format!("/v1/siptrunks/{trunk_id}")).await;
    let gw = &trunk["data"]["gateways"][0];
    assert_eq!(gw["health"]["state"], "up", "{trunk}");
    let (_, single) = root
        .get(&format!("/v1/sipgwping/gateway:{}", gw["id"]))
        .await;
    assert!(
        !single["data"][0]["history"].as_array().unwrap().is_empty(),
        "{single}"
    );
    let (_, by_trunk) = root.get(&format!("/v1/sipgwping/trunk:{trunk_id}")).await;
    assert_eq!(by_trunk["data"].as_array().unwrap().len(), 6);

    // Every state change is in the event log and the audit trail, with its reason.
    let (_, events) = root.get("/v1/eventlog/1?event=gateway.down").await;
    let messages: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["message"].as_str())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains(&uris[2]) && m.contains("503")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains(&uris[3]) && m.contains("timeout")),
        "{messages:?}"
    );
    let (_, audit) = root.get("/v1/auditlog?action=health.change").await;
    assert!(audit["total"].as_i64().unwrap() >= 6, "{audit}");

    // The verdicts are shared with instances that do not ping (`gateway_health`).
    let db = &app.state().db;
    let started = std::time::Instant::now();
    loop {
        let shared: Vec<(String, String)> = dialtone::on_db!(db, pool => sqlx::query_as(
            "SELECT g.uri, h.state FROM gateway_health h JOIN sip_gateways g ON g.id = h.gateway_id")
            .fetch_all(pool).await.unwrap());
        let agrees = uris
            .iter()
            .zip(expected)
            .all(|(u, want)| shared.iter().any(|(uri, state)| uri == u && state == want));
        if agrees {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "shared health {shared:?} != {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_second_instance_on_postgres_shows_the_pinging_instances_verdicts() {
    if crate::support::backend() != "postgres" {
        println!("skipped: several instances share a PostgreSQL database only");
        return;
    }
    let first = fast_pinger_app().await;
    let root = first.root().await;
    let second = first.second_instance(|c| c.pinger.health_sync_s = 1).await;
    let (up, _) = gateway(Behaviour::Answer(200)).await;
    let (silent, _) = gateway(Behaviour::Silent).await;
    let uris = [format!("sip:{up}"), format!("sip:{silent}")];
    let (status, body) = root
        .post(
            "/v1/siptrunks",
            json!({"name": "pair", "direction": "outbound", "max_channels": 30,
                   "failures_to_down": 1,
                   "gateways": [{"uri": uris[0]}, {"uri": uris[1]}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The first instance holds the lease and pings; the second only reads its verdicts.
    let done =
        |list: &[Value]| state_of(list, &uris[0]) == "up" && state_of(list, &uris[1]) == "down";
    wait_for(&root, "all", Duration::from_secs(15), done).await;
    let on_second = second.root().await;
    let list = wait_for(&on_second, "all", Duration::from_secs(10), done).await;
    let dead = list.iter().find(|h| h["uri"] == uris[1]).unwrap();
    assert!(dead["since"].is_string(), "{dead}");
    second.shutdown().await;
    first.shutdown().await;
}

#[tokio::test]
async fn api_changes_take_effect_without_a_restart() {
    let app = fast_pinger_app().await;
    let root = app.root().await;
    let (first, first_seen) = gateway(Behaviour::Answer(200)).await;
    let (status, body) = root
        .post(
            "/v1/siptrunks",
            json!({"name": "live", "direction": "both", "max_channels": 10,
                                      "gateways": [{"uri": format!("sip:{first}")}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let trunk_id = body["data"]["id"].as_i64().unwrap();
    let gateway_id = body["data"]["gateways"][0]["id"].as_i64().unwrap();
    wait_for(
        &root,
        &format!("trunk:{trunk_id}"),
        Duration::from_secs(8),
        |l| state_of(l, &format!("sip:{first}")) == "up",
    )
    .await;

    // A new gateway is pinged at once.
    let (second, _) = gateway(Behaviour::Answer(200)).await;
    let (status, body) = root
        .post(
            &format!("/v1/siptrunks/{trunk_id}/gateways"),
            json!({"uri": format!("sip:{second}")}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    wait_for(
        &root,
        &format!("trunk:{trunk_id}"),
        Duration::from_secs(8),
        |l| state_of(l, &format!("sip:{second}")) == "up",
    )
    .await;

    // A disabled gateway is no longer pinged.
    let (status, body) = root
        .put(
            &format!("/v1/siptrunks/{trunk_id}/gateways/{gateway_id}"),
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = first_seen.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(
        first_seen.load(Ordering::SeqCst),
        before,
        "disabled gateway still pinged"
    );
}

// ---------------------------------------------------------------------------------------------
// sipp as a real peer.

struct Sipp(std::process::Child);

impl Sipp {
    fn uas(port: u16) -> Self {
        let child = std::process::Command::new("sipp")
            .args([
                "-sf",
                &scenario("options_uas.xml"),
                "-i",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-nostdin",
                "-m",
                "100000",
            ])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("sipp starts");
        Self(child)
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn sipp_gateway_goes_up_down_and_up_again() {
    if !sipp_available() {
        println!("skipped: sipp is not installed (Debian package sip-tester)");
        return;
    }
    let app = fast_pinger_app().await;
    let root = app.root().await;
    let port = free_udp_port();
    let uri = format!("sip:127.0.0.1:{port}");
    let uas = Sipp::uas(port);
    let (status, body) = root
        .post("/v1/siptrunks", json!({"name": "sipp", "direction": "outbound", "max_channels": 5,
                                      "failures_to_down": 2, "successes_to_up": 2, "gateways": [{"uri": uri}]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    wait_for(&root, "all", Duration::from_secs(10), |l| {
        state_of(l, &uri) == "up"
    })
    .await;

    drop(uas);
    let killed = Instant::now();
    wait_for(&root, "all", Duration::from_secs(10), |l| {
        state_of(l, &uri) == "down"
    })
    .await;
    // Two failures at a 1 s interval with a 1.2 s timeout: well within 6 s.
    assert!(
        killed.elapsed() < Duration::from_secs(6),
        "{:?}",
        killed.elapsed()
    );

    let _uas = Sipp::uas(port);
    wait_for(&root, "all", Duration::from_secs(10), |l| {
        state_of(l, &uri) == "up"
    })
    .await;
}

#[tokio::test]
async fn sipp_options_to_dialtone_get_200() {
    if !sipp_available() {
        println!("skipped: sipp is not installed (Debian package sip-tester)");
        return;
    }
    let app = TestApp::start().await;
    let target = app.state().sip.udp_addrs()[0];
    let output = tokio::process::Command::new("sipp")
        .args([
            "-sf",
            &scenario("options_uac.xml"),
            &target.to_string(),
            "-i",
            "127.0.0.1",
            "-p",
            &free_udp_port().to_string(),
            "-m",
            "20",
            "-r",
            "50",
            "-nostdin",
            "-timeout",
            "15s",
            "-timeout_error",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("sipp runs");
    assert!(
        output.status.success(),
        "sipp failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
