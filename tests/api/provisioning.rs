//! The provisioning server, spoken to as phones and scanners do: real HTTP (reqwest, and
//! `curl --digest` when curl is installed) against the daemon's provisioning listener. The
//! security matrix (every refusal alike, nothing leaked, the right phone still served), Digest
//! MD5 and SHA-256 with stale nonces, Basic over TLS only, rotation grace, lockout and its
//! expiry, fetch records and cache invalidation.

use crate::support::{Api, TestApp, tree};
use md5::Md5;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, WWW_AUTHENTICATE};
use serde_json::{Value, json};
use sha2::Sha256;
use std::net::IpAddr;
use std::time::Duration;

const UNAUTHORIZED: &str = "401 Unauthorized\n";
const NOT_FOUND: &str = "404 Not Found\n";

pub(crate) const MAC_A: &str = "001565a00001";
const MAC_B: &str = "001565b00002";
const MAC_OFF: &str = "001565c00003";
pub(crate) const LINE_SECRET: &str = "line-secret-Aa1";
pub(crate) const REGISTRAR: &str = "pbx-a.example";
const PROV_PASSWORD: &str = "prov-password-A1";
const UA_A: &str = "Yealink SIP-T54W 96.86.0.10 00:15:65:a0:00:01";

/// Creates a Yealink device with one line and a known provisioning password; returns its id.
pub(crate) async fn yealink(api: &Api, org: i64, mac: &str, status: &str) -> i64 {
    let (code, body) = api
        .post(
            "/v1/devices",
            json!({
                "organization_id": org,
                "mac": mac,
                "vendor": "yealink",
                "model": "T54W",
                "status": status,
                "provisioning_password": format!("{PROV_PASSWORD}-{mac}"),
                "lines": [{"username": "201", "password": LINE_SECRET,
                           "registrar": format!("{REGISTRAR}:5060")}]
            }),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED, "{body}");
    body["data"]["id"].as_i64().unwrap()
}

fn password_of(mac: &str) -> String {
    format!("{PROV_PASSWORD}-{mac}")
}

/// A phone (or a scanner) on the provisioning side.
pub(crate) struct Phone {
    base: String,
    http: reqwest::Client,
    username: String,
    password: String,
    user_agent: Option<String>,
}

pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    headers: HeaderMap,
    pub(crate) body: String,
}

fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

impl Phone {
    pub(crate) fn new(app: &TestApp, mac: &str) -> Self {
        Self {
            base: format!("http://{}", app.provisioning_addr),
            http: reqwest::Client::new(),
            username: mac.to_string(),
            password: password_of(mac),
            user_agent: None,
        }
    }

    fn with(mut self, username: &str, password: &str) -> Self {
        self.username = username.to_string();
        self.password = password.to_string();
        self
    }

    fn at_ip(mut self, ip: &str) -> Self {
        self.http = client_from(ip);
        self
    }

    fn agent(mut self, ua: &str) -> Self {
        self.user_agent = Some(ua.to_string());
        self
    }

    async fn send(&self, path: &str, authorization: Option<String>) -> Answer {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(ua) = &self.user_agent {
            request = request.header("user-agent", ua);
        }
        if let Some(auth) = authorization {
            request = request.header("authorization", auth);
        }
        let response = request.send().await.expect("provisioning request");
        Answer {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    /// Asks without credentials and returns the challenge for `algorithm`.
    async fn challenge(&self, path: &str, algorithm: &str) -> Challenge {
        let first = self.send(path, None).await;
        assert_eq!(first.status, StatusCode::UNAUTHORIZED);
        assert_eq!(first.body, UNAUTHORIZED);
        challenge_for(&first.headers, algorithm).expect("challenge offered")
    }

    /// The whole Digest exchange: challenge, then the answer.
    pub(crate) async fn digest(&self, path: &str, algorithm: &str) -> Answer {
        let challenge = self.challenge(path, algorithm).await;
        self.answer(path, &challenge, "00000001").await
    }

    async fn answer(&self, path: &str, c: &Challenge, nc: &str) -> Answer {
        let auth = digest_header(&self.username, &self.password, path, c, nc);
        self.send(path, Some(auth)).await
    }

    async fn basic(&self, path: &str) -> Answer {
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.username, self.password));
        self.send(path, Some(format!("Basic {token}"))).await
    }
}

#[derive(Debug, Clone)]
struct Challenge {
    realm: String,
    nonce: String,
    algorithm: String,
    stale: bool,
}

/// The parameters of the `WWW-Authenticate` Digest challenge naming `algorithm`.
fn challenge_for(headers: &HeaderMap, algorithm: &str) -> Option<Challenge> {
    headers.get_all(WWW_AUTHENTICATE).iter().find_map(|value| {
        let text = value.to_str().ok()?;
        let params = text.strip_prefix("Digest ")?;
        let get = |name: &str| {
            params.split(", ").find_map(|p| {
                let (k, v) = p.split_once('=')?;
                (k == name).then(|| v.trim_matches('"').to_string())
            })
        };
        (get("algorithm")? == algorithm).then(|| Challenge {
            realm: get("realm").unwrap(),
            nonce: get("nonce").unwrap(),
            algorithm: algorithm.to_string(),
            stale: get("stale").as_deref() == Some("true"),
        })
    })
}

fn hex_digest(algorithm: &str, text: &str) -> String {
    let bytes: Vec<u8> = match algorithm {
        "MD5" => <Md5 as md5::Digest>::digest(text.as_bytes()).to_vec(),
        "SHA-256" => <Sha256 as sha2::Digest>::digest(text.as_bytes()).to_vec(),
        other => panic!("algorithm {other}"),
    };
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A client's Digest answer (RFC 7616 §3.4.1), computed independently of the server's code.
fn digest_header(user: &str, password: &str, uri: &str, c: &Challenge, nc: &str) -> String {
    let cnonce = "0a4f113b";
    let ha1 = hex_digest(&c.algorithm, &format!("{user}:{}:{password}", c.realm));
    let ha2 = hex_digest(&c.algorithm, &format!("GET:{uri}"));
    let response = hex_digest(
        &c.algorithm,
        &format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", c.nonce),
    );
    format!(
        "Digest username=\"{user}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", \
         algorithm={}, qop=auth, nc={nc}, cnonce=\"{cnonce}\", response=\"{response}\"",
        c.realm, c.nonce, c.algorithm
    )
}

/// A refusal exactly like every other: 401, the bland body, a fresh challenge, no secret.
pub(crate) fn assert_bland_refusal(answer: &Answer, what: &str) {
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{what}");
    assert_eq!(answer.body, UNAUTHORIZED, "{what}");
    assert!(!answer.body.contains(LINE_SECRET) && !answer.body.contains(REGISTRAR));
    let c = challenge_for(&answer.headers, "SHA-256").expect("challenge");
    assert!(!c.stale, "{what}");
    assert!(challenge_for(&answer.headers, "MD5").is_some(), "{what}");
    let offered: Vec<_> = answer.headers.get_all(WWW_AUTHENTICATE).iter().collect();
    assert_eq!(offered.len(), 2, "{what}: no Basic over plain HTTP");
}

pub(crate) fn assert_served(answer: &Answer, mac: &str) {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(
        answer.body.starts_with("#!version:1.0.0.1"),
        "{}",
        answer.body
    );
    assert!(answer.body.contains(LINE_SECRET), "{}", answer.body);
    assert!(answer.body.contains(REGISTRAR), "{}", answer.body);
    let colon: Vec<String> = (0..6).map(|i| mac[2 * i..2 * i + 2].to_string()).collect();
    assert!(answer.body.contains(&colon.join(":")), "{}", answer.body);
}

#[tokio::test]
async fn security_matrix_refuses_alike_leaks_nothing_and_still_serves_the_phone() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    yealink(&root, t.tenant_a1, MAC_A, "active").await;
    yealink(&root, t.tenant_a1, MAC_B, "active").await;
    yealink(&root, t.tenant_a1, MAC_OFF, "disabled").await;
    // A tenant that restricts its equipment to an address the tests never use.
    let restricted = root
        .create_org("Locked Tenant", "tenant", t.partner_a)
        .await;
    let restricted_mac = "001565d00004";
    yealink(&root, restricted, restricted_mac, "active").await;
    let (status, body) = root
        .post(
            "/v1/orgips",
            json!({"organization_id": restricted, "cidr": "192.0.2.0/24"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = root
        .put(
            &format!("/v1/organizations/{restricted}/clientaccess"),
            json!({"restrict_to_orgips": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let file_a = format!("/{MAC_A}.cfg");
    let phone_a = Phone::new(&app, MAC_A).agent(UA_A);
    assert_served(&phone_a.digest(&file_a, "SHA-256").await, MAC_A);

    let no_credentials = phone_a.send(&file_a, None).await;
    assert_bland_refusal(&no_credentials, "no credentials");
    let unknown = "001565eeeeee";
    let cases: Vec<(&str, Phone, String)> = vec![
        (
            "unknown MAC",
            Phone::new(&app, unknown),
            format!("/{unknown}.cfg"),
        ),
        (
            "right MAC, wrong password",
            Phone::new(&app, MAC_A).with(MAC_A, "not-the-password"),
            file_a.clone(),
        ),
        (
            "another device's credentials",
            Phone::new(&app, MAC_B),
            file_a.clone(),
        ),
        (
            "User-Agent naming another MAC",
            Phone::new(&app, MAC_A).agent("Yealink SIP-T54W 96.86.0.10 001565b00002"),
            file_a.clone(),
        ),
        (
            "disabled device",
            Phone::new(&app, MAC_OFF),
            format!("/{MAC_OFF}.cfg"),
        ),
        (
            "outside the organization's orgips",
            Phone::new(&app, restricted_mac),
            format!("/{restricted_mac}.cfg"),
        ),
        (
            "Basic over plain HTTP",
            Phone::new(&app, MAC_A),
            "basic".to_string(),
        ),
    ];
    for (what, phone, path) in &cases {
        for algorithm in ["SHA-256", "MD5"] {
            let answer = if path == "basic" {
                phone.basic(&file_a).await
            } else {
                phone.digest(path, algorithm).await
            };
            assert_bland_refusal(&answer, what);
        }
    }
    // A device that proved who it is gets a 404 for a name its vendor does not serve.
    let answer = phone_a.digest("/000000000000.cfg", "SHA-256").await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.body, NOT_FOUND);
    // Methods other than GET/HEAD.
    let response = reqwest::Client::new()
        .post(format!("http://{}{file_a}", app.provisioning_addr))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    // Common files need credentials too and render for the authenticated device.
    let common = phone_a.digest("/y000000000070.cfg", "MD5").await;
    assert_eq!(common.status, StatusCode::OK, "{}", common.body);
    assert!(!common.body.contains(LINE_SECRET));
    // And after all that, the right phone is still served (budgets are not spent).
    assert_served(&phone_a.digest(&file_a, "MD5").await, MAC_A);
    let metrics = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("provisioning_requests_total{result=\"served\"}"),
        "metrics"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn digest_md5_and_sha256_with_a_stale_nonce_retried() {
    let app = TestApp::start_with(|c| c.provisioning.nonce_lifetime_s = 1).await;
    let (t, root) = tree(&app).await;
    yealink(&root, t.tenant_a1, MAC_A, "active").await;
    let phone = Phone::new(&app, MAC_A);
    let file = format!("/{MAC_A}.cfg?boot=1");
    for algorithm in ["SHA-256", "MD5"] {
        let challenge = phone.challenge(&file, algorithm).await;
        assert_eq!(challenge.realm, "dialtone provisioning");
        assert_served(&phone.answer(&file, &challenge, "00000001").await, MAC_A);
        // The nonce ages past its lifetime: right credentials earn stale=true, not a failure.
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let stale = phone.answer(&file, &challenge, "00000002").await;
        assert_eq!(stale.status, StatusCode::UNAUTHORIZED);
        let renewed = challenge_for(&stale.headers, algorithm).unwrap();
        assert!(renewed.stale, "{algorithm}: stale=true");
        assert_ne!(renewed.nonce, challenge.nonce);
        assert_served(&phone.answer(&file, &renewed, "00000001").await, MAC_A);
        // A wrong password with an old nonce is a plain refusal.
        let wrong = Phone::new(&app, MAC_A).with(MAC_A, "wrong-password");
        let refused = wrong.answer(&file, &challenge, "00000003").await;
        assert_bland_refusal(&refused, "stale nonce, wrong password");
    }
    // The digest covers the URI: an answer for one file does not fetch another.
    let challenge = phone.challenge(&file, "SHA-256").await;
    let auth = digest_header(MAC_A, &password_of(MAC_A), &file, &challenge, "00000001");
    let other = phone.send("/y000000000070.cfg", Some(auth)).await;
    assert_bland_refusal(&other, "uri mismatch");
    app.shutdown().await;
}

#[tokio::test]
async fn curl_digest_fetches_the_file() {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: curl is not installed");
        return;
    }
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    yealink(&root, t.tenant_a1, MAC_A, "active").await;
    let url = format!("http://{}/{MAC_A}.cfg", app.provisioning_addr);
    let curl = |password: String| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new("curl")
                .args(["-s", "--digest", "-u"])
                .arg(format!("{MAC_A}:{password}"))
                .args(["-w", "\n%{http_code}", &url])
                .output()
                .unwrap()
        })
    };
    let output = curl(password_of(MAC_A)).await.unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(text.ends_with("\n200"), "{text}");
    assert!(text.contains(LINE_SECRET), "{text}");
    let output = curl("wrong".into()).await.unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    assert_eq!(text, format!("{UNAUTHORIZED}\n401"));
    app.shutdown().await;
}

#[tokio::test]
async fn rotation_accepts_the_previous_password_during_its_grace_only() {
    let app = TestApp::start_with(|c| c.provisioning.rotation_grace_s = 2).await;
    let (t, root) = tree(&app).await;
    let id = yealink(&root, t.tenant_a1, MAC_A, "active").await;
    let file = format!("/{MAC_A}.cfg");
    let old = Phone::new(&app, MAC_A);
    assert_served(&old.digest(&file, "SHA-256").await, MAC_A);
    let (status, body) = root
        .post(
            &format!("/v1/devices/{id}/credentials/rotate"),
            json!({"provisioning_password": "rotated-password-9"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let new = Phone::new(&app, MAC_A).with(MAC_A, "rotated-password-9");
    assert_served(&new.digest(&file, "SHA-256").await, MAC_A);
    assert_served(&old.digest(&file, "MD5").await, MAC_A);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_bland_refusal(&old.digest(&file, "SHA-256").await, "after the grace");
    assert_served(&new.digest(&file, "MD5").await, MAC_A);
    app.shutdown().await;
}

#[tokio::test]
async fn a_mac_sweep_locks_its_address_until_the_cooling_off_ends() {
    let app = TestApp::start_with(|c| {
        c.provisioning.max_failures_per_ip = 5;
        c.provisioning.max_failures_per_device = 3;
        c.provisioning.cooling_off_s = 2;
    })
    .await;
    let (t, root) = tree(&app).await;
    yealink(&root, t.tenant_a1, MAC_A, "active").await;
    yealink(&root, t.tenant_a1, MAC_B, "active").await;
    let file_a = format!("/{MAC_A}.cfg");
    // A scanner on 127.0.0.2 sweeps sequential MACs with guessed passwords.
    for n in 0..5 {
        let mac = format!("0015650000{n:02x}");
        let scanner = Phone::new(&app, &mac)
            .at_ip("127.0.0.2")
            .with(&mac, "admin");
        assert_bland_refusal(
            &scanner.digest(&format!("/{mac}.cfg"), "MD5").await,
            "sweep",
        );
    }
    // Now even right credentials from that address are refused, and cost nothing.
    let phone_there = Phone::new(&app, MAC_A).at_ip("127.0.0.2");
    assert_bland_refusal(
        &phone_there.digest(&file_a, "SHA-256").await,
        "locked address",
    );
    // Other addresses are not affected.
    assert_served(
        &Phone::new(&app, MAC_A).digest(&file_a, "SHA-256").await,
        MAC_A,
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_served(&phone_there.digest(&file_a, "SHA-256").await, MAC_A);

    // Guessing one device's password from many addresses locks that device, not others.
    for ip in ["127.0.0.3", "127.0.0.4", "127.0.0.5"] {
        let guess = Phone::new(&app, MAC_B).at_ip(ip).with(MAC_B, "1234");
        assert_bland_refusal(
            &guess.digest(&format!("/{MAC_B}.cfg"), "MD5").await,
            "guess",
        );
    }
    let b = Phone::new(&app, MAC_B).at_ip("127.0.0.6");
    assert_bland_refusal(
        &b.digest(&format!("/{MAC_B}.cfg"), "MD5").await,
        "locked device",
    );
    assert_served(
        &Phone::new(&app, MAC_A)
            .at_ip("127.0.0.6")
            .digest(&file_a, "MD5")
            .await,
        MAC_A,
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let served = b.digest(&format!("/{MAC_B}.cfg"), "MD5").await;
    assert_served(&served, MAC_B);
    app.shutdown().await;
}

/// Polls `GET path` until `ready` holds (the recorder writes in batches).
async fn eventually(api: &Api, path: &str, ready: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..50 {
        let (status, body) = api.get(path).await;
        if status == StatusCode::OK && ready(&body) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} never got ready");
}

#[tokio::test]
async fn fetches_are_recorded_and_changes_reach_the_next_fetch() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let id = yealink(&root, t.tenant_a1, MAC_A, "active").await;
    let file = format!("/{MAC_A}.cfg");
    let phone = Phone::new(&app, MAC_A).agent(UA_A);
    assert_served(&phone.digest(&file, "SHA-256").await, MAC_A);

    let body = eventually(&root, &format!("/v1/devices/{id}"), |b| {
        b["data"]["last_provisioned_at"].is_string()
    })
    .await;
    assert_eq!(body["data"]["last_provisioned_ip"], "127.0.0.1");
    assert_eq!(body["data"]["firmware"], "96.86.0.10");
    assert_eq!(body["data"]["last_user_agent"], UA_A);
    let events = eventually(&root, &format!("/v1/eventlog/{}", t.tenant_a1), |b| {
        b["data"]
            .as_array()
            .is_some_and(|list| list.iter().any(|e| e["event"] == "provisioning.fetch"))
    })
    .await;
    let fetch = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "provisioning.fetch")
        .unwrap()
        .clone();
    assert_eq!(fetch["entity_id"], id.to_string());
    assert_eq!(fetch["detail"]["file"], format!("{MAC_A}.cfg"));
    assert_eq!(fetch["detail"]["ip"], "127.0.0.1");
    assert_eq!(fetch["detail"]["result"], "served");
    assert!(!fetch.to_string().contains(LINE_SECRET));
    assert!(!fetch.to_string().contains(&password_of(MAC_A)));
    // A refusal is recorded too, with its reason, for the operator only.
    let wrong = Phone::new(&app, MAC_A).with(MAC_A, "wrong-password");
    assert_bland_refusal(&wrong.digest(&file, "MD5").await, "wrong");
    let events = eventually(&root, &format!("/v1/eventlog/{}", t.tenant_a1), |b| {
        b["data"]
            .as_array()
            .is_some_and(|list| list.iter().any(|e| e["event"] == "provisioning.refused"))
    })
    .await;
    assert!(events.to_string().contains("credentials"), "{events}");
    assert!(!events.to_string().contains("wrong-password"), "{events}");

    // A line changed through the API shows in the very next fetch (the cache was dropped).
    let (status, body) = root
        .put(
            &format!("/v1/devices/{id}"),
            json!({"lines": [{"username": "301", "password": LINE_SECRET,
                              "registrar": format!("{REGISTRAR}:5070")}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer = phone.digest(&file, "SHA-256").await;
    assert_served(&answer, MAC_A);
    assert!(answer.body.contains("user_name = 301"), "{}", answer.body);
    assert!(answer.body.contains("port = 5070"), "{}", answer.body);
    // So does an organization setting.
    let (status, body) = root
        .put(
            &format!("/v1/organizations/{}/provisioning", t.tenant_a1),
            json!({"ntp_server": "ntp.tenant.example"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let common = phone.digest("/y000000000070.cfg", "SHA-256").await;
    assert_eq!(common.status, StatusCode::OK);
    assert!(
        common.body.contains("ntp.tenant.example"),
        "{}",
        common.body
    );
    // Disabling the device takes effect at once.
    let (status, _) = root
        .put(&format!("/v1/devices/{id}"), json!({"status": "disabled"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_bland_refusal(&phone.digest(&file, "SHA-256").await, "disabled");
    app.shutdown().await;
}

#[tokio::test]
async fn orgips_let_the_listed_network_in() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    yealink(&root, t.tenant_a1, MAC_A, "active").await;
    let file = format!("/{MAC_A}.cfg");
    let (status, _) = root
        .put(
            &format!("/v1/organizations/{}/clientaccess", t.tenant_a1),
            json!({"restrict_to_orgips": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = root
        .post(
            "/v1/orgips",
            json!({"organization_id": t.tenant_a1, "cidr": "127.0.0.2"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let outside = Phone::new(&app, MAC_A);
    assert_bland_refusal(&outside.digest(&file, "SHA-256").await, "127.0.0.1");
    let inside = Phone::new(&app, MAC_A).at_ip("127.0.0.2");
    assert_served(&inside.digest(&file, "SHA-256").await, MAC_A);
    app.shutdown().await;
}

/// A self-signed certificate for 127.0.0.1 in `dir`; returns (cert path, key path, cert PEM).
fn self_signed(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".into()])
            .unwrap();
    let cert_pem = certified.cert.pem();
    let cert = dir.join("prov.crt");
    let key = dir.join("prov.key");
    std::fs::write(&cert, &cert_pem).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    (cert, key, cert_pem)
}

#[tokio::test]
async fn tls_accepts_basic_and_digest_and_plain_http_offers_no_basic() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, pem) = self_signed(dir.path());
    let app = TestApp::start_with(|c| {
        c.provisioning.tls_cert = cert;
        c.provisioning.tls_key = key;
    })
    .await;
    let (t, root) = tree(&app).await;
    yealink(&root, t.tenant_a1, MAC_A, "active").await;
    let file = format!("/{MAC_A}.cfg");
    let https = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes()).unwrap()])
        .build()
        .unwrap();
    let mut phone = Phone::new(&app, MAC_A);
    phone.base = format!("https://{}", app.provisioning_addr);
    phone.http = https;
    let first = phone.send(&file, None).await;
    assert_eq!(first.status, StatusCode::UNAUTHORIZED);
    let offered: Vec<String> = first
        .headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert_eq!(offered.len(), 3, "{offered:?}");
    assert!(offered[2].starts_with("Basic realm=\"dialtone provisioning\""));
    assert_served(&phone.basic(&file).await, MAC_A);
    assert_served(&phone.digest(&file, "SHA-256").await, MAC_A);
    let wrong = Phone {
        password: "wrong".into(),
        ..phone
    };
    let refused = wrong.basic(&file).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.body, UNAUTHORIZED);
    // Plain HTTP on the TLS port gets nothing.
    let plain = reqwest::get(format!("http://{}{file}", app.provisioning_addr)).await;
    assert!(plain.map(|r| r.status() != StatusCode::OK).unwrap_or(true));
    app.shutdown().await;
}

#[tokio::test]
async fn fetches_come_from_memory_and_another_instances_published_change_is_seen_within_2s() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let id = yealink(&root, t.tenant_a1, MAC_A, "active").await;
    // The feed's poll may echo this instance's own publish once (a harmless second drop);
    // let it pass before the cache is filled.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let file = format!("/{MAC_A}.cfg");
    let phone = Phone::new(&app, MAC_A);
    assert_served(&phone.digest(&file, "SHA-256").await, MAC_A);
    // SQL behind this daemon's back disables the device without publishing the change: fetches
    // keep coming from memory, the database is not read per fetch.
    let db = &app.state().db;
    dialtone::on_db!(db, pool => sqlx::query("UPDATE devices SET status = 'disabled' WHERE id = $1")
        .bind(id).execute(pool).await.map(|r| r.rows_affected()))
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_served(&phone.digest(&file, "SHA-256").await, MAC_A);
    // Another instance's service publishes its change, as every write does: the revision table
    // carries it here and the cache drops the device.
    dialtone::system::changes::Changes::new(db.clone())
        .publish(dialtone::system::changes::DeviceChanged {
            macs: vec![dialtone::types::Mac::parse(MAC_A).unwrap()],
        })
        .await;
    let started = std::time::Instant::now();
    loop {
        let answer = phone.digest(&file, "SHA-256").await;
        if answer.status == StatusCode::UNAUTHORIZED {
            assert_bland_refusal(&answer, "disabled elsewhere");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the change was not seen within 2 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.shutdown().await;
}
