//! The SIP redirect listener over real UDP and TCP: INVITEs from a known source get a 302 with
//! the dial plan's routes as ordered Contacts, or 403/404/480/503 with a Reason; retransmitted
//! INVITEs get the stored answer without a second evaluation; the ACK stops Timer G; CANCEL,
//! OPTIONS, other methods, garbage, unknown sources, header/parameter identification; then sipp
//! as a real UAC.

use crate::support::sip::{
    SipClient, ack_for, all_headers, cancel_for, free_udp_port, header, invite, scenario,
    sipp_available, status,
};
use crate::support::{self, Api, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What the tests route: tenant A1 (source 127.0.0.1) with a policy that blocks +1900, sends
/// +44 to two trunks in order, answers +49 with 480, and +33 to a trunk without a usable gateway.
struct Plan {
    app: TestApp,
    root: Api,
    tree: support::Tree,
}

async fn trunk(api: &Api, org: i64, name: &str, gateways: Value) -> i64 {
    let (status, body) = api
        .post(
            "/v1/siptrunks",
            json!({"organization_id": org, "name": name, "direction": "outbound",
                   "max_channels": 30, "gateways": gateways}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["data"]["id"].as_i64().unwrap()
}

async fn org_ip(api: &Api, org: i64, cidr: &str) {
    let (status, body) = api
        .post("/v1/orgips", json!({"organization_id": org, "cidr": cidr}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn plan_app(with_source_ip: bool) -> Plan {
    let app = TestApp::start_with(|c| c.pinger.enabled = false).await;
    let (tree, root) = support::tree(&app).await;
    let primary = trunk(
        &root,
        tree.partner_a,
        "Primary",
        json!([{"uri": "sip:192.0.2.10:5080;transport=udp"}]),
    )
    .await;
    let backup = trunk(
        &root,
        tree.partner_a,
        "Backup",
        json!([{"uri": "sip:192.0.2.11;transport=tcp"}]),
    )
    .await;
    let broken = trunk(
        &root,
        tree.partner_a,
        "Broken",
        json!([{"uri": "sip:192.0.2.12", "enabled": false}]),
    )
    .await;
    let rules = json!([
        {"name": "premium", "match": {"prefixes": ["+1900"]},
         "action": {"type": "deny", "sip_code": 403, "reason": "Premium numbers blocked"}},
        {"name": "UK", "match": {"prefixes": ["+44"]},
         "action": {"type": "route", "routes": [{"trunk_id": primary}, {"trunk_id": backup}]}},
        {"name": "DE", "match": {"prefixes": ["+49"]},
         "action": {"type": "deny", "sip_code": 480, "reason": "Germany is closed today"}},
        {"name": "FR", "match": {"prefixes": ["+33"]},
         "action": {"type": "route", "routes": [{"trunk_id": broken}]}},
    ]);
    let (status, body) = root
        .post(
            "/v1/dialplans",
            json!({"organization_id": tree.tenant_a1, "name": "Redirect test", "rules": rules}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let policy = body["data"]["id"].as_i64().unwrap();
    let (status, body) = root
        .post(
            "/v1/dialplans/groups",
            json!({"organization_id": tree.tenant_a1, "name": "Main", "enforced": false,
                   "policy_ids": [policy]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    if with_source_ip {
        org_ip(&root, tree.tenant_a1, "127.0.0.1").await;
    }
    app.redirect().refresh().await.expect("source table loads");
    Plan { app, root, tree }
}

#[tokio::test]
async fn an_invite_gets_a_302_with_one_contact_per_route_in_order() {
    let plan = plan_app(true).await;
    let client = SipClient::new(plan.app.redirect_addr()).await;
    let before = plan.app.redirect().evaluations();
    let answer = client.call("+442071234567", "uk1").await;
    assert!(
        answer.starts_with("SIP/2.0 302 Moved Temporarily\r\n"),
        "{answer}"
    );
    assert_eq!(
        all_headers(&answer, "Contact"),
        [
            "<sip:+442071234567@192.0.2.10:5080;transport=udp>;q=1.0",
            "<sip:+442071234567@192.0.2.11;transport=tcp>;q=0.5"
        ],
        "{answer}"
    );
    for copied in [
        "Call-ID: uk1@127.0.0.1",
        "CSeq: 1 INVITE",
        "From: \"Alice\"",
    ] {
        assert!(answer.contains(copied), "{copied}: {answer}");
    }
    assert!(header(&answer, "To").unwrap().contains(";tag="), "{answer}");
    assert!(
        answer.contains(&format!("rport={}", client.local().port())),
        "{answer}"
    );
    assert_eq!(plan.app.redirect().evaluations(), before + 1);
    // The request-URI may carry the number escaped, with user parameters.
    let answer = client.call("%2B442071234567;phone-context=x", "uk2").await;
    assert_eq!(status(&answer), 302, "{answer}");
    assert!(
        answer.contains("<sip:+442071234567@192.0.2.10:5080"),
        "{answer}"
    );
}

#[tokio::test]
async fn refusals_carry_the_dial_plans_code_and_a_reason() {
    let plan = plan_app(true).await;
    let client = SipClient::new(plan.app.redirect_addr()).await;
    for (to, code, reason) in [
        (
            "+19005550100",
            403,
            "SIP;cause=403;text=\"Premium numbers blocked\"",
        ),
        (
            "+4930123456",
            480,
            "SIP;cause=480;text=\"Germany is closed today\"",
        ),
        (
            "+81312345678",
            404,
            "SIP;cause=404;text=\"No route for this destination\"",
        ),
    ] {
        let answer = client.call(to, &format!("r{code}")).await;
        assert_eq!(status(&answer), code, "{to}: {answer}");
        assert_eq!(header(&answer, "Reason"), Some(reason), "{answer}");
        assert!(header(&answer, "Contact").is_none(), "{answer}");
    }
    // A route whose only gateway is disabled: nothing usable.
    let answer = client.call("+33123456789", "fr").await;
    assert_eq!(status(&answer), 503, "{answer}");
    assert!(
        header(&answer, "Reason")
            .unwrap()
            .starts_with("SIP;cause=503;"),
        "{answer}"
    );
    // No user part in the Request-URI: nothing to route.
    let request = invite("x", "nouser", client.local(), "UDP", "")
        .replace("INVITE sip:x@127.0.0.1", "INVITE sip:127.0.0.1");
    let answer = client.ask(&request).await;
    assert_eq!(status(&answer), 404, "{answer}");
}

#[tokio::test]
async fn a_retransmitted_invite_gets_the_same_answer_without_a_new_evaluation() {
    let plan = plan_app(true).await;
    let client = SipClient::new(plan.app.redirect_addr()).await;
    let request = invite("+442071234567", "rtx", client.local(), "UDP", "");
    let first = client.ask(&request).await;
    let evaluations = plan.app.redirect().evaluations();
    let again = client.ask(&request).await;
    assert_eq!(first, again, "byte for byte, To tag included");
    assert_eq!(plan.app.redirect().evaluations(), evaluations);
    // Once ACKed the retransmission is absorbed (Confirmed) and still not evaluated.
    client.send(ack_for(&request, &first).as_bytes()).await;
    client.send(request.as_bytes()).await;
    assert_eq!(client.answer(Duration::from_millis(700)).await, None);
    assert_eq!(plan.app.redirect().evaluations(), evaluations);
}

#[tokio::test]
async fn without_an_ack_timer_g_retransmits_and_the_ack_stops_it() {
    let plan = plan_app(true).await;
    let client = SipClient::new(plan.app.redirect_addr()).await;
    // No ACK: the 302 comes again after T1 (500 ms) and again after 2·T1.
    let request = invite("+442071234567", "noack", client.local(), "UDP", "");
    let first = client.ask(&request).await;
    let second = client
        .answer(Duration::from_secs(2))
        .await
        .expect("Timer G");
    let third = client
        .answer(Duration::from_secs(3))
        .await
        .expect("Timer G again");
    assert_eq!(first, second);
    assert_eq!(first, third);
    client.send(ack_for(&request, &first).as_bytes()).await;
    // A retransmission may already be on the way; after that, silence.
    let mut late = 0;
    while client.answer(Duration::from_millis(2500)).await.is_some() {
        late += 1;
        assert!(late < 2, "retransmissions go on after the ACK");
    }

    // ACKed at once: never retransmitted.
    let request = invite("+19005550100", "acked", client.local(), "UDP", "");
    let answer = client.ask(&request).await;
    assert_eq!(status(&answer), 403);
    client.send(ack_for(&request, &answer).as_bytes()).await;
    assert_eq!(client.answer(Duration::from_millis(1800)).await, None);
}

#[tokio::test]
async fn cancel_after_the_final_answer_gets_200_and_an_unknown_cancel_481() {
    let plan = plan_app(true).await;
    let client = SipClient::new(plan.app.redirect_addr()).await;
    let request = invite("+442071234567", "cx", client.local(), "UDP", "");
    let answer = client.ask(&request).await;
    assert_eq!(status(&answer), 302);
    let cancel = cancel_for(&request);
    let ok = client.ask(&cancel).await;
    assert!(ok.starts_with("SIP/2.0 200 OK\r\n"), "{ok}");
    assert!(ok.contains("CSeq: 1 CANCEL"), "{ok}");
    // The CANCEL's retransmission gets the same 200; then the ACK ends the INVITE.
    assert_eq!(client.ask(&cancel).await, ok);
    client.send(ack_for(&request, &answer).as_bytes()).await;

    let stray = cancel_for(&invite(
        "+442071234567",
        "nosuch",
        client.local(),
        "UDP",
        "",
    ));
    let answer = client.ask(&stray).await;
    assert!(
        answer.starts_with("SIP/2.0 481 Call/Transaction Does Not Exist\r\n"),
        "{answer}"
    );
}

#[tokio::test]
async fn options_get_200_other_methods_405_and_garbage_never_stops_the_listener() {
    let plan = plan_app(true).await;
    let client = SipClient::new(plan.app.redirect_addr()).await;
    let options = invite("dialtone", "opt", client.local(), "UDP", "")
        .replace("INVITE sip:", "OPTIONS sip:")
        .replace("CSeq: 1 INVITE", "CSeq: 1 OPTIONS");
    let answer = client.ask(&options).await;
    assert!(answer.starts_with("SIP/2.0 200 OK\r\n"), "{answer}");
    assert!(
        header(&answer, "Allow").unwrap().contains("INVITE"),
        "{answer}"
    );
    let bye = options
        .replace("OPTIONS sip:", "BYE sip:")
        .replace("CSeq: 1 OPTIONS", "CSeq: 1 BYE")
        .replace("z9hG4bKopt", "z9hG4bKbye");
    let answer = client.ask(&bye).await;
    assert!(
        answer.starts_with("SIP/2.0 405 Method Not Allowed\r\n"),
        "{answer}"
    );
    assert!(header(&answer, "Allow").is_some(), "{answer}");
    let odd = bye
        .replace("BYE sip:", "FROBNICATE sip:")
        .replace("CSeq: 1 BYE", "CSeq: 1 FROBNICATE")
        .replace("z9hG4bKbye", "z9hG4bKodd");
    assert_eq!(status(&client.ask(&odd).await), 501);
    // Broken INVITEs get 400 naming the problem.
    let broken = invite("+442071234567", "broken", client.local(), "UDP", "")
        .replace("CSeq: 1 INVITE\r\n", "");
    let answer = client.ask(&broken).await;
    assert_eq!(status(&answer), 400, "{answer}");
    assert!(answer.contains("Missing CSeq"), "{answer}");
    // Garbage, a stray response, an oversized datagram, a stray ACK: no answer, no crash.
    for junk in [
        b"\x00\xff\xfe garbage".to_vec(),
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKx\r\n\r\n".to_vec(),
        b"INVITE sip:1@h SIP/2.0\r\nFrom: x\r\n\r\n".to_vec(),
        vec![b'A'; 65_000],
        ack_for(
            &invite("+44", "stray", client.local(), "UDP", ""),
            "To: <sip:x@h>;tag=1",
        )
        .into_bytes(),
    ] {
        client.send(&junk).await;
    }
    assert_eq!(client.answer(Duration::from_millis(500)).await, None);
    assert_eq!(status(&client.call("+442071234567", "after").await), 302);
}

#[tokio::test]
async fn an_unknown_source_is_refused_and_a_header_or_parameter_names_the_organization() {
    let plan = plan_app(false).await;
    let client = SipClient::new(plan.app.redirect_addr()).await;
    let evaluations = plan.app.redirect().evaluations();
    let answer = client.call("+442071234567", "unknown").await;
    assert_eq!(status(&answer), 403, "{answer}");
    assert_eq!(
        header(&answer, "Reason"),
        Some("SIP;cause=403;text=\"Unknown source\"")
    );
    assert_eq!(
        plan.app.redirect().evaluations(),
        evaluations,
        "no evaluation"
    );
    // The operator sees it in the platform's event log, once a minute at most.
    assert_eq!(status(&client.call("+442071234567", "unknown2").await), 403);
    let path = "/v1/eventlog/1?event=redirect.unidentified";
    let started = std::time::Instant::now();
    let events = loop {
        let (status_code, events) = plan.root.get(path).await;
        assert_eq!(status_code, StatusCode::OK, "{events}");
        if events["total"] != 0 || started.elapsed() > Duration::from_secs(5) {
            break events;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(events["total"], 1, "{events}");
    assert!(
        events["data"][0]["message"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1"),
        "{events}"
    );

    // The partner's address may name its tenant by header or Request-URI parameter …
    org_ip(&plan.root, plan.tree.partner_a, "127.0.0.0/8").await;
    plan.app.redirect().refresh().await.unwrap();
    let tenant = plan.tree.tenant_a1;
    let by_header = invite(
        "+442071234567",
        "hdr",
        client.local(),
        "UDP",
        &format!("X-Dialtone-Org: {tenant}\r\n"),
    );
    let answer = client.ask(&by_header).await;
    assert_eq!(status(&answer), 302, "{answer}");
    let by_param = invite("+442071234567", "prm", client.local(), "UDP", "").replacen(
        "@127.0.0.1 SIP/2.0",
        &format!("@127.0.0.1;dialtone_org={tenant} SIP/2.0"),
        1,
    );
    assert_eq!(status(&client.ask(&by_param).await), 302);
    // … but not its parent, nor a sibling, nor an organization that does not exist.
    for (org, branch, reason) in [
        (
            plan.tree.dist,
            "up",
            "Source not allowed for this organization",
        ),
        (
            plan.tree.partner_b,
            "side",
            "Source not allowed for this organization",
        ),
        (999_999, "none", "Unknown organization"),
    ] {
        let request = invite(
            "+442071234567",
            branch,
            client.local(),
            "UDP",
            &format!("X-Dialtone-Org: {org}\r\n"),
        );
        let answer = client.ask(&request).await;
        assert_eq!(status(&answer), 403, "{answer}");
        assert_eq!(
            header(&answer, "Reason"),
            Some(format!("SIP;cause=403;text=\"{reason}\"").as_str())
        );
    }
    // Identified by the partner's address alone, the partner's (empty) plan decides.
    let answer = client.call("+442071234567", "bare").await;
    assert_eq!(status(&answer), 404, "{answer}");
}

#[tokio::test]
async fn a_trunk_acl_identifies_the_trunk_and_its_organization() {
    let plan = plan_app(false).await;
    let (status_code, body) = plan
        .root
        .post(
            "/v1/siptrunks",
            json!({"organization_id": plan.tree.tenant_a1, "name": "PBX", "direction": "inbound",
                   "max_channels": 10, "gateways": []}),
        )
        .await;
    assert_eq!(status_code, StatusCode::CREATED, "{body}");
    let pbx = body["data"]["id"].as_i64().unwrap();
    let (status_code, body) = plan
        .root
        .post(
            &format!("/v1/siptrunks/{pbx}/ips"),
            json!({"cidr": "127.0.0.1"}),
        )
        .await;
    assert_eq!(status_code, StatusCode::CREATED, "{body}");
    plan.app.redirect().refresh().await.unwrap();
    let client = SipClient::new(plan.app.redirect_addr()).await;
    assert_eq!(status(&client.call("+442071234567", "acl").await), 302);
}

#[tokio::test]
async fn tcp_gets_the_same_answers_on_its_connection() {
    let plan = plan_app(true).await;
    let mut stream = TcpStream::connect(plan.app.redirect_addr()).await.unwrap();
    let local = stream.local_addr().unwrap();
    let request = invite("+442071234567", "tcp1", local, "TCP", "");
    stream.write_all(request.as_bytes()).await.unwrap();
    let answer = read_message(&mut stream).await;
    assert!(answer.starts_with("SIP/2.0 302 "), "{answer}");
    assert_eq!(all_headers(&answer, "Contact").len(), 2, "{answer}");
    stream
        .write_all(ack_for(&request, &answer).as_bytes())
        .await
        .unwrap();
    let denied = invite("+19005550100", "tcp2", local, "TCP", "");
    stream.write_all(denied.as_bytes()).await.unwrap();
    let answer = read_message(&mut stream).await;
    assert!(answer.starts_with("SIP/2.0 403 "), "{answer}");
    stream
        .write_all(ack_for(&denied, &answer).as_bytes())
        .await
        .unwrap();
    // Nothing more arrives on TCP: no Timer G.
    let mut buf = [0u8; 1024];
    let more = tokio::time::timeout(Duration::from_millis(1200), stream.read(&mut buf)).await;
    assert!(more.is_err(), "unexpected bytes on the connection");
}

async fn read_message(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut chunk))
            .await
            .expect("an answer in time")
            .unwrap();
        assert!(n > 0, "connection closed");
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        if text.contains("\r\n\r\n") {
            return text;
        }
    }
}

#[tokio::test]
async fn ipv6_loopback_works_when_the_machine_has_it() {
    if std::net::UdpSocket::bind("[::1]:0").is_err() {
        println!("skipped: no IPv6 loopback");
        return;
    }
    let app = TestApp::start_with(|c| {
        c.pinger.enabled = false;
        c.redirect.listen = vec!["[::1]:0".parse().unwrap()];
    })
    .await;
    let root = app.root().await;
    org_ip(&root, 1, "::1").await;
    app.redirect().refresh().await.unwrap();
    let client = SipClient::new(app.redirect().udp_addrs()[0]).await;
    let answer = client.call("+442071234567", "v6").await;
    // The platform has no dial plan: identified, evaluated, refused with the plan's 404.
    assert_eq!(status(&answer), 404, "{answer}");
    assert!(answer.contains("received=::1"), "{answer}");
    assert_eq!(app.redirect().evaluations(), 1);
}

// ---------------------------------------------------------------------------------------------
// sipp as a real UAC.

async fn run_sipp(target: SocketAddr, file: &str, number: &str, calls: u32) -> (bool, String) {
    let output = tokio::process::Command::new("sipp")
        .args([
            "-sf",
            &scenario(file),
            &target.to_string(),
            "-s",
            number,
            "-i",
            "127.0.0.1",
            "-p",
            &free_udp_port().to_string(),
            "-m",
            &calls.to_string(),
            "-r",
            "50",
            "-nostdin",
            "-timeout",
            "20s",
            "-timeout_error",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("sipp runs");
    (
        output.status.success(),
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

#[tokio::test]
async fn sipp_uac_gets_302_with_the_expected_contact_and_403_for_a_denied_number() {
    if !sipp_available() {
        println!("skipped: sipp is not installed (Debian package sip-tester)");
        return;
    }
    let plan = plan_app(true).await;
    let target = plan.app.redirect_addr();
    let (ok, log) = run_sipp(target, "redirect_uac.xml", "+442071234567", 20).await;
    assert!(ok, "302 scenario failed: {log}");
    let (ok, log) = run_sipp(target, "redirect_denied_uac.xml", "+19005550100", 10).await;
    assert!(ok, "403 scenario failed: {log}");
    let (ok, log) = run_sipp(target, "redirect_cancel_uac.xml", "+442071234567", 10).await;
    assert!(ok, "CANCEL scenario failed: {log}");
    assert_eq!(plan.app.redirect().evaluations(), 40);
}
