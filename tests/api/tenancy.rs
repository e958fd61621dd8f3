//! The tenancy matrix: a caller sees and changes only its own organization and its descendants.
//! Anything else answers 404 (never 403, never 200) and changes nothing.
//!
//! Everything is about objects owned by `partner_a` in the tree
//! platform › dist › partner_a › tenant_a1 (+ sibling partner_b), tried by an admin of
//! dist (the parent: allowed), partner_b (the sibling: 404) and tenant_a1 (the child: 404).

use crate::support::phone::answering_phone as phone;
use crate::support::{self, Api, PASSWORD, TestApp, Tree};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// One route that takes an object id, with a body valid for the object, so that a caller in
/// scope gets 2xx.
struct Case {
    method: Method,
    template: &'static str,
    body: Option<Value>,
}

fn case(method: Method, template: &'static str, body: Option<Value>) -> Case {
    Case {
        method,
        template,
        body,
    }
}

/// Every route that names an object in its path. The destructive calls come last (in an order
/// that lets each succeed), so that a caller in scope can run the whole list top to bottom.
#[rustfmt::skip]
fn matrix() -> Vec<Case> {
    use Method as M;
    vec![
        case(M::GET,    "/v1/organizations/{id}", None),
        case(M::PUT,    "/v1/organizations/{id}", Some(json!({"name": "Partner A renamed"}))),
        case(M::GET,    "/v1/organizations/{id}/domains", None),
        case(M::POST,   "/v1/organizations/{id}/domains", Some(json!({"domain": "added.partner-a.example"}))),
        case(M::GET,    "/v1/organizations/{id}/clientaccess", None),
        case(M::PUT,    "/v1/organizations/{id}/clientaccess", Some(json!({"restrict_to_orgips": true}))),
        case(M::GET,    "/v1/orgips/{id}", None),
        case(M::PUT,    "/v1/orgips/{id}", Some(json!({"description": "changed"}))),
        case(M::GET,    "/v1/users/{id}", None),
        case(M::PUT,    "/v1/users/{id}", Some(json!({"email": "changed@partner-a.example"}))),
        case(M::GET,    "/v1/users/{id}/foreignids", None),
        case(M::POST,   "/v1/users/{id}/foreignids", Some(json!({"source": "billing", "foreign_id": "B-77"}))),
        case(M::GET,    "/v1/users/{id}/permissions", None),
        case(M::GET,    "/v1/auditlog/{id}", None),
        case(M::GET,    "/v1/eventlog/{orgId}", None),
        case(M::GET,    "/v1/eventlog/{orgId}/{id}", None),
        case(M::DELETE, "/v1/users/{id}/twofactor", None),
        case(M::GET,    "/v1/siptrunks/{id}", None),
        case(M::PUT,    "/v1/siptrunks/{id}", Some(json!({"name": "Trunk A renamed"}))),
        case(M::POST,   "/v1/siptrunks/{id}/gateways", Some(json!({"uri": "sip:192.0.2.11"}))),
        case(M::GET,    "/v1/siptrunks/{id}/gateways/{gateway_id}", None),
        case(M::GET,    "/v1/sipgwping/{entity}", None),
        case(M::PUT,    "/v1/siptrunks/{id}/gateways/{gateway_id}", Some(json!({"enabled": false}))),
        case(M::GET,    "/v1/siptrunks/{id}/ips", None),
        case(M::POST,   "/v1/siptrunks/{id}/ips", Some(json!({"cidr": "203.0.113.0/24"}))),
        case(M::GET,    "/v1/devices/{id}", None),
        case(M::PUT,    "/v1/devices/{id}", Some(json!({"model": "T57W"}))),
        case(M::POST,   "/v1/devices/{id}/credentials/reveal", None),
        case(M::POST,   "/v1/devices/{id}/credentials/rotate", None),
        case(M::POST,   "/v1/devices/{id}/notify", None),
        case(M::POST,   "/v1/devices/{id}/reboot", None),
        case(M::GET,    "/v1/devices/notify/{job_id}", None),
        case(M::GET,    "/v1/devices/notify/{job_id}/results", None),
        case(M::GET,    "/v1/jobs/{id}", None),
        case(M::GET,    "/v1/organizations/{id}/provisioning", None),
        case(M::PUT,    "/v1/organizations/{id}/provisioning", Some(json!({"ntp_server": "ntp.partner-a.example"}))),
        case(M::GET,    "/v1/numbers/{id}", None),
        case(M::PUT,    "/v1/numbers/{id}", Some(json!({"tags": ["changed"]}))),
        case(M::GET,    "/v1/numbers/{id}/channels", None),
        case(M::PUT,    "/v1/numbers/{id}/channels", Some(json!({"limit": 5}))),
        case(M::POST,   "/v1/numbers/{id}/activate", None),
        case(M::POST,   "/v1/numbers/{id}/deactivate", None),
        case(M::GET,    "/v1/numbers/{id}/history", None),
        case(M::GET,    "/v1/mobiles/{id}", None),
        case(M::PUT,    "/v1/mobiles/{id}", Some(json!({"state": "active"}))),
        case(M::GET,    "/v1/dialplans/{id}", None),
        case(M::PUT,    "/v1/dialplans/{id}", Some(json!({"description": "changed"}))),
        case(M::GET,    "/v1/dialplans/{id}/history", None),
        case(M::GET,    "/v1/dialplans/{id}/history/{version}", None),
        case(M::GET,    "/v1/dialplans/{id}/diff", None),
        case(M::POST,   "/v1/dialplans/{id}/restore", Some(json!({"version": 1}))),
        case(M::GET,    "/v1/dialplans/groups/{id}", None),
        case(M::PUT,    "/v1/dialplans/groups/{id}", Some(json!({"description": "changed"}))),
        case(M::GET,    "/v1/siptrunks/{id}/channels", None),
        case(M::PUT,    "/v1/siptrunks/{id}/channels", Some(json!({"in_use": 1}))),
        case(M::GET,    "/v1/apikeys/{id}", None),
        case(M::PUT,    "/v1/apikeys/{id}", Some(json!({"name": "Key A renamed"}))),
        case(M::POST,   "/v1/apikeys/{id}/rotate", None),
        case(M::GET,    "/v1/webhooks/{id}", None),
        case(M::PUT,    "/v1/webhooks/{id}", Some(json!({"description": "changed"}))),
        case(M::POST,   "/v1/webhooks/{id}/rotate", None),
        case(M::POST,   "/v1/webhooks/{id}/test", None),
        case(M::GET,    "/v1/webhooks/{id}/deliveries", None),
        case(M::GET,    "/v1/webhooks/{id}/deliveries/{delivery_id}", None),
        case(M::POST,   "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", None),
        case(M::GET,    "/v1/sequences/{id}", None),
        case(M::PUT,    "/v1/sequences/{id}", Some(json!({"prefix": "A-"}))),
        case(M::GET,    "/v1/retention/{id}", None),
        case(M::PUT,    "/v1/retention/{id}", Some(json!({"sms": {"days": 500}}))),
        case(M::GET,    "/v1/legalholds/{id}", None),
        // Destructive, in an order where each succeeds for a caller in scope.
        case(M::DELETE, "/v1/apikeys/{id}", None),
        case(M::DELETE, "/v1/webhooks/{id}", None),
        case(M::DELETE, "/v1/sequences/{id}", None),
        case(M::DELETE, "/v1/legalholds/{id}", None),
        case(M::DELETE, "/v1/users/{id}/foreignids/{foreign_id}", None),
        case(M::DELETE, "/v1/organizations/{id}/domains/{domain_id}", None),
        case(M::DELETE, "/v1/orgips/{id}", None),
        case(M::DELETE, "/v1/dialplans/groups/{id}", None),
        case(M::DELETE, "/v1/dialplans/{id}", None),
        case(M::DELETE, "/v1/siptrunks/{id}/ips/{ip_id}", None),
        case(M::DELETE, "/v1/siptrunks/{id}/gateways/{gateway_id}", None),
        case(M::DELETE, "/v1/siptrunks/{id}", None),
        case(M::DELETE, "/v1/devices/{id}", None),
        case(M::DELETE, "/v1/mobiles/{id}", None),
        case(M::DELETE, "/v1/numbers/{id}", None),
        case(M::DELETE, "/v1/users/{id}", None),
        case(M::DELETE, "/v1/organizations/{id}", None),
    ]
}

/// Routes with a path parameter that name no stored object, so tenancy does not apply.
const NOT_OBJECT_ROUTES: &[(&str, &str)] = &[
    // Encodes the text in the path as an image; reads nothing stored.
    ("GET", "/v1/qrcode/{data}"),
    // Names a shipped template (a file), not a stored object; the organization is in the body.
    ("POST", "/v1/dialplans/templates/{name}/instantiate"),
    // Names a sequence by its name; the organization is in the body. A sibling's or child's
    // call for partner A's sequence is 404 in sequences::sequences_are_per_organization_….
    ("POST", "/v1/sequences/{name}/next"),
    // Name a call queue by its PBX name; the organization is a query parameter (or the
    // caller's). Other organizations' queues are 404 in queues::queues_are_per_organization_….
    ("GET", "/v1/queues/{name}"),
    ("DELETE", "/v1/queues/{name}"),
    ("POST", "/v1/queues/{name}/stats"),
    ("GET", "/v1/queues/{name}/stats"),
];

/// The ids of partner_a's objects.
#[derive(Debug, Clone, Copy)]
struct Ids {
    org: i64,
    domain: i64,
    orgip: i64,
    user: i64,
    foreign_id: i64,
    audit: i64,
    event: i64,
    trunk: i64,
    gateway: i64,
    trunk_ip: i64,
    device: i64,
    number: i64,
    mobile: i64,
    policy: i64,
    policy_group: i64,
    notify_job: i64,
    /// The queued job that sends `notify_job`.
    queued_job: i64,
    apikey: i64,
    webhook: i64,
    /// A (test) delivery of `webhook`.
    delivery: i64,
    sequence: i64,
    /// A legal hold placed on partner_a.
    legal_hold: i64,
}

impl Ids {
    /// Ids that exist nowhere, to compare "someone else's" with "nobody's".
    fn missing() -> Self {
        let n = 987_654;
        Ids {
            org: n,
            domain: n,
            orgip: n,
            user: n,
            foreign_id: n,
            audit: n,
            event: n,
            trunk: n,
            gateway: n,
            trunk_ip: n,
            device: n,
            number: n,
            mobile: n,
            policy: n,
            policy_group: n,
            notify_job: n,
            queued_job: n,
            apikey: n,
            webhook: n,
            delivery: n,
            sequence: n,
            legal_hold: n,
        }
    }
}

/// The concrete path of `template` for the objects `ids`.
fn fill(template: &str, ids: &Ids) -> String {
    let id = if template.starts_with("/v1/organizations/") {
        ids.org
    } else if template.starts_with("/v1/orgips/") {
        ids.orgip
    } else if template.starts_with("/v1/users/") {
        ids.user
    } else if template.starts_with("/v1/auditlog/") {
        ids.audit
    } else if template.starts_with("/v1/eventlog/") {
        ids.event
    } else if template.starts_with("/v1/siptrunks/") {
        ids.trunk
    } else if template.starts_with("/v1/sipgwping/") {
        ids.gateway
    } else if template.starts_with("/v1/devices/") {
        ids.device
    } else if template.starts_with("/v1/numbers/") {
        ids.number
    } else if template.starts_with("/v1/mobiles/") {
        ids.mobile
    } else if template.starts_with("/v1/dialplans/groups/") {
        ids.policy_group
    } else if template.starts_with("/v1/dialplans/") {
        ids.policy
    } else if template.starts_with("/v1/jobs/") {
        ids.queued_job
    } else if template.starts_with("/v1/apikeys/") {
        ids.apikey
    } else if template.starts_with("/v1/webhooks/") {
        ids.webhook
    } else if template.starts_with("/v1/sequences/") {
        ids.sequence
    } else if template.starts_with("/v1/retention/") {
        ids.org
    } else if template.starts_with("/v1/legalholds/") {
        ids.legal_hold
    } else {
        panic!("no object id known for {template}")
    };
    let path = template
        .replace("{id}", &id.to_string())
        .replace("{orgId}", &ids.org.to_string())
        .replace("{gateway_id}", &ids.gateway.to_string())
        .replace("{entity}", &format!("gateway:{}", ids.gateway))
        .replace("{ip_id}", &ids.trunk_ip.to_string())
        .replace("{domain_id}", &ids.domain.to_string())
        .replace("{foreign_id}", &ids.foreign_id.to_string())
        .replace("{delivery_id}", &ids.delivery.to_string())
        .replace("{version}", "1")
        .replace("{job_id}", &ids.notify_job.to_string());
    assert!(!path.contains('{'), "unfilled parameter in {path}");
    path
}

/// Records a service event about `org` (as the pinger would) and returns its id.
async fn record_event(app: &TestApp, org: i64) -> i64 {
    let db = &app.state().db;
    let path: String = dialtone::on_db!(db, pool => {
        sqlx::query_scalar("SELECT path FROM organizations WHERE id = $1")
            .bind(org)
            .fetch_one(pool)
            .await
            .expect("organization path")
    });
    dialtone::system::events::record(
        db,
        dialtone::system::events::NewEvent {
            organization_id: org,
            organization_path: &path,
            source: "pinger",
            severity: dialtone::system::events::Severity::Warning,
            entity_type: "gateway",
            entity_id: "gw-a".to_string(),
            event: "gateway.down",
            message: "gateway gw-a: gateway.down".to_string(),
            detail: None,
        },
    )
    .await
    .expect("record event")
}

struct World {
    /// Keeps the daemon running for the test's length.
    _app: TestApp,
    root: Api,
    tree: Tree,
    /// Admin of dist, the parent of partner_a.
    parent: Api,
    /// Admin of partner_b, partner_a's sibling.
    sibling: Api,
    /// Admin of tenant_a1, partner_a's child.
    child: Api,
    child_admin_id: i64,
    /// The user in partner_a, logged in (its session must survive the others' attempts).
    owner: Api,
    ids: Ids,
}

async fn world() -> World {
    // Root takes a snapshot around every call of the matrix: more than the default rate limit
    // allows one token in a window.
    let app = TestApp::start_with(|config| {
        config.rate_limit.requests = 100_000;
        // The endpoint below is on loopback and never active: nothing is ever sent.
        config.webhooks.allow_private = true;
        // Partner A's gateway (192.0.2.10) never answers: the pinger would mark it down (an
        // audit record) at a moment of its own, in the middle of a comparison.
        config.pinger.enabled = false;
    })
    .await;
    let (tree, root) = support::tree(&app).await;
    root.create_user("dist-admin", tree.dist, "admin").await;
    root.create_user("b-admin", tree.partner_b, "admin").await;
    let child_admin_id = root.create_user("a1-admin", tree.tenant_a1, "admin").await;

    let (status, body) = root
        .post(
            &format!("/v1/organizations/{}/domains", tree.partner_a),
            json!({"domain": "pbx.partner-a.example"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let domain = body["data"]["id"].as_i64().unwrap();

    let (status, body) = root
        .post(
            "/v1/orgips",
            json!({"organization_id": tree.partner_a, "cidr": "192.0.2.0/24"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let orgip = body["data"]["id"].as_i64().unwrap();

    let user = root.create_user("a-user", tree.partner_a, "user").await;
    let (status, body) = root
        .post(
            &format!("/v1/users/{user}/foreignids"),
            json!({"source": "crm", "foreign_id": "C-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let foreign_id = body["data"]["id"].as_i64().unwrap();

    // The user turns on two-factor, so a wrongful reset would show.
    let owner = app.login("a-user", PASSWORD).await;
    let (status, body) = owner.post("/v1/auth/twofactor/secret", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let secret = body["data"]["secret"].as_str().unwrap().to_string();
    let now = chrono::Utc::now().timestamp() as u64;
    let code = dialtone::auth::totp::code_at(&secret, now).unwrap();
    let (status, body) = owner
        .post("/v1/auth/twofactor/confirm", json!({"code": code}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, body) = root
        .get(&format!(
            "/v1/auditlog?organization_id={}&entity_type=organization&action=create",
            tree.partner_a
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let audit = body["data"][0]["id"]
        .as_i64()
        .expect("an audit record about partner_a");

    let event = record_event(&app, tree.partner_a).await;

    let (status, body) = root
        .post(
            "/v1/siptrunks",
            json!({"organization_id": tree.partner_a, "name": "Trunk A", "direction": "both",
                   "max_channels": 10, "gateways": [{"uri": "sip:192.0.2.10"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let trunk = body["data"]["id"].as_i64().unwrap();
    let gateway = body["data"]["gateways"][0]["id"].as_i64().unwrap();
    let (status, body) = root
        .post(
            &format!("/v1/siptrunks/{trunk}/ips"),
            json!({"cidr": "198.51.100.0/24"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let trunk_ip = body["data"]["id"].as_i64().unwrap();

    let phone = phone().await;
    let (status, body) = root
        .post(
            "/v1/devices",
            json!({"organization_id": tree.partner_a, "mac": "00:15:65:0a:00:01",
                   "vendor": "yealink", "model": "T54W", "user_id": user,
                   "contact": format!("sip:201@{phone}"),
                   "lines": [{"username": "201", "registrar": "pbx.partner-a.example"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let device = body["data"]["id"].as_i64().unwrap();
    let (status, body) = root
        .post(
            "/v1/devices/notify",
            json!({"organization_id": tree.partner_a, "spread_s": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let notify_job = body["data"]["id"].as_i64().unwrap();
    let (status, body) = root.get("/v1/jobs?kind=devices.notify").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["total"], 1, "{body}");
    let queued_job = body["data"][0]["id"].as_i64().unwrap();
    let (status, body) = root
        .put(
            &format!("/v1/organizations/{}/provisioning", tree.partner_a),
            json!({"language": "en", "variables": {"brand": "Partner A"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, body) = root
        .post(
            "/v1/numbers",
            json!({"organization_id": tree.partner_a, "number": "+14155550100", "tags": ["main"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let number = body["data"]["id"].as_i64().unwrap();
    let (status, body) = root
        .post(
            "/v1/mobiles",
            json!({"organization_id": tree.partner_a, "iccid": "89440001234567890120",
                   "msisdn_number_id": number}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mobile = body["data"]["id"].as_i64().unwrap();
    let (status, body) = root
        .post(
            "/v1/dialplans",
            json!({"organization_id": tree.partner_a, "name": "Bars",
                   "rules": [{"match": {"prefixes": ["+1900"]},
                              "action": {"type": "deny", "sip_code": 403, "reason": "barred"}}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let policy = body["data"]["id"].as_i64().unwrap();
    let (status, body) = root
        .post(
            "/v1/dialplans/groups",
            json!({"organization_id": tree.partner_a, "name": "Main", "policy_ids": [policy]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let policy_group = body["data"]["id"].as_i64().unwrap();
    let (status, body) = root
        .post(
            "/v1/apikeys",
            json!({"organization_id": tree.partner_a, "name": "Key A", "role": "admin"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let apikey = body["data"]["id"].as_i64().unwrap();
    let (status, body) = root
        .post(
            "/v1/webhooks",
            json!({"organization_id": tree.partner_a, "url": "http://127.0.0.1:9/hook",
                   "events": ["*"], "active": false}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let webhook = body["data"]["id"].as_i64().unwrap();
    let (status, body) = root
        .post(&format!("/v1/webhooks/{webhook}/test"), json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let delivery = body["data"]["id"].as_i64().unwrap();
    let (status, body) = root
        .post(
            "/v1/sequences",
            json!({"organization_id": tree.partner_a, "name": "invoice", "prefix": "INV-"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let sequence = body["data"]["id"].as_i64().unwrap();
    let (status, body) = root
        .put(
            &format!("/v1/retention/{}", tree.partner_a),
            json!({"sms": {"days": 400}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = root
        .post(
            "/v1/legalholds",
            json!({"organization_id": tree.partner_a, "kinds": ["files"], "reason": "Case A"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let legal_hold = body["data"]["id"].as_i64().unwrap();

    let parent = app.login("dist-admin", PASSWORD).await;
    let sibling = app.login("b-admin", PASSWORD).await;
    let child = app.login("a1-admin", PASSWORD).await;
    let ids = Ids {
        org: tree.partner_a,
        domain,
        orgip,
        user,
        foreign_id,
        audit,
        event,
        trunk,
        gateway,
        trunk_ip,
        device,
        number,
        mobile,
        policy,
        policy_group,
        notify_job,
        queued_job,
        apikey,
        webhook,
        delivery,
        sequence,
        legal_hold,
    };
    World {
        _app: app,
        root,
        tree,
        parent,
        sibling,
        child,
        child_admin_id,
        owner,
        ids,
    }
}

/// Everything root can see about partner_a's objects, and the size of every list. Equal
/// snapshots before and after a call mean the call changed nothing.
async fn snapshot(root: &Api, ids: &Ids) -> Value {
    let mut objects = serde_json::Map::new();
    for path in [
        format!("/v1/organizations/{}", ids.org),
        format!("/v1/organizations/{}/domains", ids.org),
        format!("/v1/organizations/{}/clientaccess", ids.org),
        format!("/v1/orgips/{}", ids.orgip),
        format!("/v1/users/{}", ids.user),
        format!("/v1/users/{}/foreignids", ids.user),
        format!("/v1/auditlog/{}", ids.audit),
        format!("/v1/eventlog/{}/{}", ids.org, ids.event),
        format!("/v1/siptrunks/{}", ids.trunk),
        format!("/v1/siptrunks/{}/ips", ids.trunk),
        format!("/v1/devices/{}", ids.device),
        format!("/v1/organizations/{}/provisioning", ids.org),
        format!("/v1/numbers/{}", ids.number),
        format!("/v1/numbers/{}/history", ids.number),
        format!("/v1/mobiles/{}", ids.mobile),
        format!("/v1/dialplans/{}", ids.policy),
        format!("/v1/dialplans/{}/history", ids.policy),
        format!("/v1/dialplans/groups/{}", ids.policy_group),
        format!("/v1/siptrunks/{}/channels", ids.trunk),
        format!("/v1/apikeys/{}", ids.apikey),
        format!("/v1/webhooks/{}", ids.webhook),
        format!("/v1/webhooks/{}/deliveries", ids.webhook),
        format!("/v1/sequences/{}", ids.sequence),
        format!("/v1/retention/{}", ids.org),
        format!("/v1/legalholds/{}", ids.legal_hold),
    ] {
        let (status, mut body) = root.get(&path).await;
        // Gateway health moves with the pinger, not with API calls.
        drop_keys(&mut body, &["health"]);
        objects.insert(path, json!({"status": status.as_u16(), "body": body}));
    }
    for list in [
        "/v1/organizations",
        "/v1/users",
        "/v1/orgips/index",
        "/v1/auditlog",
        "/v1/siptrunks",
        "/v1/devices",
        "/v1/numbers",
        "/v1/mobiles",
        "/v1/dialplans",
        "/v1/dialplans/groups",
        "/v1/jobs",
        "/v1/apikeys",
        "/v1/webhooks",
        "/v1/sequences",
        "/v1/retention",
        "/v1/legalholds",
    ] {
        objects.insert(list.to_string(), json!(root.total(list).await));
    }
    Value::Object(objects)
}

/// Removes `keys` at any depth.
fn drop_keys(value: &mut Value, keys: &[&str]) {
    match value {
        Value::Object(map) => {
            map.retain(|k, _| !keys.contains(&k.as_str()));
            map.values_mut().for_each(|v| drop_keys(v, keys));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| drop_keys(v, keys)),
        _ => {}
    }
}

async fn call(api: &Api, method: &Method, path: &str, body: &Option<Value>) -> (StatusCode, Value) {
    api.call(method.clone(), path, body.clone()).await
}

#[tokio::test]
async fn sibling_and_child_get_404_on_every_object_route_and_change_nothing() {
    let w = world().await;
    let before = snapshot(&w.root, &w.ids).await;
    for (who, api) in [("sibling", &w.sibling), ("child", &w.child)] {
        for c in matrix() {
            let path = fill(c.template, &w.ids);
            let (status, body) = call(api, &c.method, &path, &c.body).await;
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{who} {} {path}: {body}",
                c.method
            );
            assert_eq!(body["status"], "error", "{who} {} {path}: {body}", c.method);
            // Indistinguishable from an object that does not exist at all.
            let missing = fill(c.template, &Ids::missing());
            let (missing_status, missing_body) = call(api, &c.method, &missing, &c.body).await;
            assert_eq!(
                missing_status,
                StatusCode::NOT_FOUND,
                "{who} {} {missing}: {missing_body}",
                c.method
            );
            assert_eq!(
                body["message"], missing_body["message"],
                "{who} {} {path}: a foreign object must read like a missing one",
                c.method
            );
            let after = snapshot(&w.root, &w.ids).await;
            assert_eq!(before, after, "{who} {} {path} changed something", c.method);
        }
    }
    // partner_a's user still has two-factor on and a working session.
    let (status, body) = w.owner.get(&format!("/v1/users/{}", w.ids.user)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["twofactor_enabled"], true, "{body}");
}

#[tokio::test]
async fn parent_is_allowed_on_every_object_route() {
    let w = world().await;
    // An organization can be deleted only once it has no children and no users: clear
    // partner_a's subtree (tenant_a1 and its admin) so the last DELETE can succeed.
    let (status, body) = w
        .root
        .delete(&format!("/v1/users/{}", w.child_admin_id))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = w
        .root
        .delete(&format!("/v1/organizations/{}", w.tree.tenant_a1))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    for c in matrix() {
        let path = fill(c.template, &w.ids);
        let (status, body) = call(&w.parent, &c.method, &path, &c.body).await;
        assert!(
            status.is_success(),
            "parent {} {path}: {status} {body}",
            c.method
        );
        assert_eq!(
            body["status"], "success",
            "parent {} {path}: {body}",
            c.method
        );
    }

    // The writes really happened (and were recorded under partner_a).
    let (status, _) = w
        .root
        .get(&format!("/v1/organizations/{}", w.ids.org))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "partner_a deleted by its parent"
    );
    let (status, _) = w.root.get(&format!("/v1/users/{}", w.ids.user)).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a-user deleted by the parent"
    );
    let (status, _) = w.root.get(&format!("/v1/orgips/{}", w.ids.orgip)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "orgip deleted by the parent");
    let (status, body) = w
        .root
        .get(&format!(
            "/v1/auditlog?organization_id={}&action=update&limit=1000",
            w.ids.org
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let updated: BTreeSet<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["entity_type"].as_str())
        .collect();
    for entity in [
        "organization",
        "client_access",
        "orgip",
        "user",
        "device",
        "provisioning_settings",
        "number",
        "mobile",
    ] {
        assert!(
            updated.contains(entity),
            "no update of {entity} recorded: {updated:?}"
        );
    }
    let (status, body) = w.owner.get("/v1/auth/twofactor").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "deleted user's session: {body}"
    );
}

#[tokio::test]
async fn parent_sees_the_subtree_changes_through_reads() {
    // The non-destructive half of the matrix, checking the values the parent wrote.
    let w = world().await;
    let org = w.ids.org;
    let user = w.ids.user;
    let (status, body) = w
        .parent
        .put(
            &format!("/v1/organizations/{org}"),
            json!({"name": "Renamed by dist"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = w.root.get(&format!("/v1/organizations/{org}")).await;
    assert_eq!(body["data"]["name"], "Renamed by dist");
    let (status, body) = w
        .parent
        .delete(&format!("/v1/users/{user}/twofactor"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["twofactor_enabled"], false, "{body}");
    let (_, body) = w.root.get(&format!("/v1/users/{user}")).await;
    assert_eq!(body["data"]["twofactor_enabled"], false, "{body}");
    let (status, body) = w.owner.get("/v1/auth/twofactor").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a two-factor reset ends the user's sessions: {body}"
    );
    let (status, body) = w.parent.get(&format!("/v1/users/{user}/permissions")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["organization_id"], org, "{body}");
}

/// The ids in a list response's `data`, by `key`.
fn ids_in(body: &Value, key: &str) -> Vec<i64> {
    body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {body}"))
        .iter()
        .filter_map(|r| r[key].as_i64())
        .collect()
}

#[tokio::test]
async fn lists_show_partner_a_objects_to_the_parent_only() {
    let w = world().await;
    let ids = w.ids;
    let a = ids.org;
    // (list path, partner_a's object that must not show outside its scope and must show to the
    // parent). Filters naming partner_a are included: they must come back empty, not 403/404.
    let lists: Vec<(String, i64)> = vec![
        ("/v1/organizations?limit=1000".into(), a),
        ("/v1/organizations?limit=1000&type=partner".into(), a),
        (
            format!("/v1/organizations?limit=1000&parent_id={}", w.tree.dist),
            a,
        ),
        ("/v1/users?limit=1000".into(), ids.user),
        (
            format!("/v1/users?limit=1000&organization_id={a}"),
            ids.user,
        ),
        ("/v1/users?limit=1000&username=a-user".into(), ids.user),
        ("/v1/orgips/index?limit=1000".into(), ids.orgip),
        (
            format!("/v1/orgips/index?limit=1000&organization_id={a}"),
            ids.orgip,
        ),
        ("/v1/siptrunks?limit=1000".into(), ids.trunk),
        (
            format!("/v1/siptrunks?limit=1000&organization_id={a}"),
            ids.trunk,
        ),
        ("/v1/devices?limit=1000".into(), ids.device),
        (
            format!("/v1/devices?limit=1000&organization_id={a}"),
            ids.device,
        ),
        (
            "/v1/devices?limit=1000&mac=00-15-65-0A-00-01".into(),
            ids.device,
        ),
        (
            format!("/v1/devices?limit=1000&user_id={}", ids.user),
            ids.device,
        ),
        ("/v1/numbers?limit=1000".into(), ids.number),
        (
            format!("/v1/numbers?limit=1000&organization_id={a}"),
            ids.number,
        ),
        ("/v1/numbers?limit=1000&tag=main".into(), ids.number),
        ("/v1/numbers?limit=1000&prefix=%2B1415".into(), ids.number),
        ("/v1/mobiles?limit=1000".into(), ids.mobile),
        (
            format!("/v1/mobiles?limit=1000&organization_id={a}"),
            ids.mobile,
        ),
        ("/v1/auditlog?limit=1000".into(), ids.audit),
        (
            format!("/v1/auditlog?limit=1000&organization_id={a}"),
            ids.audit,
        ),
        (
            format!("/v1/auditlog?limit=1000&entity_type=organization&entity_id={a}"),
            ids.audit,
        ),
        ("/v1/jobs?limit=1000".into(), ids.queued_job),
        (
            format!("/v1/jobs?limit=1000&organization_id={a}"),
            ids.queued_job,
        ),
        (
            "/v1/jobs?limit=1000&kind=devices.notify".into(),
            ids.queued_job,
        ),
        ("/v1/devices/notify?limit=1000".into(), ids.notify_job),
        (
            format!("/v1/devices/notify?limit=1000&organization_id={a}"),
            ids.notify_job,
        ),
        ("/v1/apikeys?limit=1000".into(), ids.apikey),
        (
            format!("/v1/apikeys?limit=1000&organization_id={a}"),
            ids.apikey,
        ),
        ("/v1/sequences?limit=1000".into(), ids.sequence),
        ("/v1/legalholds?limit=1000".into(), ids.legal_hold),
        (
            format!("/v1/legalholds?limit=1000&organization_id={a}"),
            ids.legal_hold,
        ),
        ("/v1/webhooks?limit=1000".into(), ids.webhook),
        (
            format!("/v1/webhooks?limit=1000&organization_id={a}"),
            ids.webhook,
        ),
    ];
    // Organizations partner_a's objects belong to, per caller: the sibling must see nothing of
    // partner_a's subtree; the child sees its own organization but nothing of partner_a itself.
    let sibling_hidden = [a, w.tree.tenant_a1];
    let child_hidden = [a];
    for (path, object) in &lists {
        for (who, api, hidden) in [
            ("sibling", &w.sibling, &sibling_hidden[..]),
            ("child", &w.child, &child_hidden[..]),
        ] {
            let (status, body) = api.get(path).await;
            assert_eq!(status, StatusCode::OK, "{who} {path}: {body}");
            assert!(
                !ids_in(&body, "id").contains(object),
                "{who} {path} shows {object}: {body}"
            );
            for row in body["data"].as_array().unwrap() {
                let org = if path.starts_with("/v1/organizations") {
                    &row["id"]
                } else {
                    &row["organization_id"]
                };
                let org = org
                    .as_i64()
                    .unwrap_or_else(|| panic!("{path}: row without organization: {row}"));
                assert!(
                    !hidden.contains(&org),
                    "{who} {path} shows a row of organization {org}: {row}"
                );
            }
        }
        let (status, body) = w.parent.get(path).await;
        assert_eq!(status, StatusCode::OK, "parent {path}: {body}");
        assert!(
            ids_in(&body, "id").contains(object),
            "parent {path} misses {object}: {body}"
        );
    }
    // The event log is listed per organization: each caller asks for its own subtree.
    for (who, api, own, sees) in [
        ("sibling", &w.sibling, w.tree.partner_b, false),
        ("child", &w.child, w.tree.tenant_a1, false),
        ("parent", &w.parent, w.tree.dist, true),
    ] {
        let path = format!("/v1/eventlog/{own}?limit=1000");
        let (status, body) = api.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{who} {path}: {body}");
        assert_eq!(
            ids_in(&body, "id").contains(&ids.event),
            sees,
            "{who} {path}: {body}"
        );
    }
    for path in [
        format!("/v1/users?organization_id={a}"),
        format!("/v1/orgips/index?organization_id={a}"),
        format!("/v1/auditlog?organization_id={a}"),
        format!("/v1/organizations?parent_id={a}"),
        format!("/v1/siptrunks?organization_id={a}"),
        format!("/v1/devices?organization_id={a}"),
        format!("/v1/numbers?organization_id={a}"),
        format!("/v1/mobiles?organization_id={a}"),
        format!("/v1/apikeys?organization_id={a}"),
        format!("/v1/webhooks?organization_id={a}"),
        format!("/v1/sequences?organization_id={a}"),
        format!("/v1/retention?organization_id={a}"),
        format!("/v1/legalholds?organization_id={a}"),
    ] {
        assert_eq!(w.sibling.total(&path).await, 0, "sibling {path}");
    }
}

#[tokio::test]
async fn creating_into_partner_a_from_outside_is_refused_and_writes_nothing() {
    let w = world().await;
    let a = w.tree.partner_a;
    let attempts: Vec<(&str, Value, &str)> = vec![
        (
            "/v1/organizations",
            json!({"name": "Intruder Org", "type": "tenant", "parent_id": a}),
            "parent_id",
        ),
        (
            "/v1/users",
            json!({"username": "intruder", "password": PASSWORD, "organization_id": a, "role": "admin"}),
            "organization_id",
        ),
        (
            "/v1/orgips",
            json!({"organization_id": a, "cidr": "198.51.100.0/24"}),
            "organization_id",
        ),
        (
            "/v1/siptrunks",
            json!({"organization_id": a, "name": "Intruder Trunk", "direction": "both", "max_channels": 1}),
            "organization_id",
        ),
        (
            "/v1/devices",
            json!({"organization_id": a, "mac": "00:15:65:0a:00:02", "vendor": "snom",
                   "model": "D785", "lines": [{"username": "9", "registrar": "pbx.example.com"}]}),
            "organization_id",
        ),
        (
            "/v1/numbers",
            json!({"organization_id": a, "number": "+14155550199"}),
            "organization_id",
        ),
        (
            "/v1/mobiles",
            json!({"organization_id": a, "iccid": "8901260123456789011"}),
            "organization_id",
        ),
        (
            "/v1/apikeys",
            json!({"organization_id": a, "name": "Intruder key", "role": "admin"}),
            "organization_id",
        ),
        (
            "/v1/webhooks",
            json!({"organization_id": a, "url": "http://127.0.0.1:9/x", "events": ["*"], "active": false}),
            "organization_id",
        ),
        (
            "/v1/sequences",
            json!({"organization_id": a, "name": "intruder"}),
            "organization_id",
        ),
        (
            "/v1/legalholds",
            json!({"organization_id": a, "kinds": ["events"], "reason": "intruder"}),
            "organization_id",
        ),
        (
            "/v1/devices/bulk",
            json!({"devices": [{"organization_id": a, "mac": "00:15:65:0a:00:03",
                   "vendor": "snom", "model": "D785",
                   "lines": [{"username": "9", "registrar": "pbx.example.com"}]}]}),
            "organization_id",
        ),
    ];
    let before = snapshot(&w.root, &w.ids).await;
    for (who, api) in [("sibling", &w.sibling), ("child", &w.child)] {
        for (path, body, field) in &attempts {
            let (status, response) = api.post(path, body.clone()).await;
            match status {
                StatusCode::BAD_REQUEST => {
                    let message = response["message"].as_str().unwrap_or_default();
                    assert!(
                        message.contains(field),
                        "{who} POST {path}: 400 must name {field}: {response}"
                    );
                }
                StatusCode::NOT_FOUND => {}
                other => panic!("{who} POST {path}: expected 400 or 404, got {other} {response}"),
            }
            assert_eq!(
                snapshot(&w.root, &w.ids).await,
                before,
                "{who} POST {path} wrote something"
            );
        }
    }
    assert_eq!(w.root.total("/v1/users?username=intruder").await, 0);
    assert_eq!(w.root.total("/v1/organizations?name=Intruder").await, 0);
    assert_eq!(
        w.root
            .total(&format!("/v1/orgips/index?organization_id={a}"))
            .await,
        1
    );

    // The parent may create into partner_a.
    for (path, body, _) in &attempts {
        let (status, response) = w.parent.post(path, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "parent POST {path}: {response}"
        );
    }
}

#[tokio::test]
async fn mixing_an_own_id_with_a_foreign_sub_id_is_404() {
    // The sibling names its own organization, user or trunk, and partner_a's domain, foreign
    // id, event, gateway or trunk IP.
    let w = world().await;
    let b = w.tree.partner_b;
    let (status, body) = w.sibling.get("/v1/users?username=b-admin").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let b_admin = body["data"][0]["id"].as_i64().unwrap();
    let (status, body) = w
        .sibling
        .post(
            "/v1/siptrunks",
            json!({"name": "Trunk B", "direction": "both", "max_channels": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let b_trunk = body["data"]["id"].as_i64().unwrap();
    let (gw, ip) = (w.ids.gateway, w.ids.trunk_ip);
    let before = snapshot(&w.root, &w.ids).await;
    for (method, path) in [
        (
            Method::DELETE,
            format!("/v1/organizations/{b}/domains/{}", w.ids.domain),
        ),
        (
            Method::DELETE,
            format!("/v1/users/{b_admin}/foreignids/{}", w.ids.foreign_id),
        ),
        (Method::GET, format!("/v1/eventlog/{b}/{}", w.ids.event)),
        (
            Method::GET,
            format!("/v1/siptrunks/{b_trunk}/gateways/{gw}"),
        ),
        (
            Method::PUT,
            format!("/v1/siptrunks/{b_trunk}/gateways/{gw}"),
        ),
        (
            Method::DELETE,
            format!("/v1/siptrunks/{b_trunk}/gateways/{gw}"),
        ),
        (Method::DELETE, format!("/v1/siptrunks/{b_trunk}/ips/{ip}")),
    ] {
        let body = (method == Method::PUT).then(|| json!({"enabled": false}));
        let (status, body) = w.sibling.call(method.clone(), &path, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {body}");
    }
    assert_eq!(snapshot(&w.root, &w.ids).await, before);
}

#[tokio::test]
async fn every_documented_object_route_is_in_the_tenancy_matrix() {
    let app = TestApp::start().await;
    let (status, doc) = app.anonymous().get("/v1/documentation").await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    let covered: BTreeSet<(String, String)> = matrix()
        .iter()
        .map(|c| (c.method.as_str().to_string(), c.template.to_string()))
        .collect();
    let exempt: BTreeSet<(String, String)> = NOT_OBJECT_ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let paths = doc["paths"].as_object().expect("paths object");
    let mut documented = BTreeSet::new();
    for (path, item) in paths {
        if !path.contains('{') {
            continue;
        }
        for method in [
            "get", "put", "post", "delete", "patch", "head", "options", "trace",
        ] {
            if item.get(method).is_some() {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    assert!(
        documented.contains(&("GET".to_string(), "/v1/organizations/{id}".to_string())),
        "the document lists templated paths as expected: {documented:?}"
    );
    let missing: Vec<_> = documented
        .iter()
        .filter(|r| !covered.contains(*r) && !exempt.contains(*r))
        .collect();
    assert!(
        missing.is_empty(),
        "routes with an object id but no tenancy check in tests/api/tenancy.rs: {missing:?}"
    );
    // And the matrix lists no route that no longer exists.
    let stale: Vec<_> = covered
        .iter()
        .chain(exempt.iter())
        .filter(|r| !documented.contains(*r))
        .collect();
    assert!(
        stale.is_empty(),
        "matrix routes not in the OpenAPI document: {stale:?}"
    );
}
