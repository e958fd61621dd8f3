//! Devices (`/v1/devices`), their lines and credentials, and organizations' provisioning
//! settings (`/v1/organizations/{id}/provisioning`).

use crate::support::{Api, PASSWORD, TestApp, message, tree};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

/// Creates a device (asserting 201) and returns its `data`.
async fn create_device(api: &Api, body: Value) -> Value {
    let (status, response) = api.post("/v1/devices", body).await;
    assert_eq!(status, StatusCode::CREATED, "create device: {response}");
    response["data"].clone()
}

fn phone(org: i64, mac: &str) -> Value {
    json!({
        "organization_id": org,
        "mac": mac,
        "vendor": "yealink",
        "model": "T54W",
        "lines": [
            {"username": "201", "display_name": "Reception & Co", "registrar": "PBX.Example.com:5060"},
            {"username": "202", "auth_user": "auth202", "password": "given-line-pass",
             "registrar": "pbx.example.com", "proxy": "sbc.example.com:5080", "transport": "tls"}
        ],
        "variables": {"screensaver.timeout": 600, "ldap.enable": true, "brand": "Acme"}
    })
}

/// The `errors` array of a refused bulk request.
fn row_errors(body: &Value) -> &Vec<Value> {
    body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors array: {body}"))
}

fn id(value: &Value) -> i64 {
    value["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id: {value}"))
}

fn text(value: &Value) -> String {
    value.to_string()
}

/// The stored row of a device's columns, read straight from the database.
async fn stored(app: &TestApp, sql: &'static str, id: i64) -> Vec<String> {
    let db = &app.state().db;
    dialtone::on_db!(db, pool => sqlx::query_scalar(sql).bind(id).fetch_all(pool).await)
        .expect("query the table")
}

#[tokio::test]
async fn crud_round_trip_with_lines_and_filters() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let device = create_device(&root, phone(t.partner_a, "00:15:65:12:34:AB")).await;
    let device_id = id(&device);
    assert_eq!(device["mac"], "0015651234ab", "canonical");
    assert_eq!(device["vendor"], "yealink");
    assert_eq!(device["model"], "T54W");
    assert_eq!(device["organization_id"], t.partner_a);
    assert_eq!(device["user_id"], Value::Null);
    assert_eq!(device["status"], "active", "default status");
    assert_eq!(device["contact"], Value::Null);
    assert_eq!(
        device["provisioning_username"], "0015651234ab",
        "defaults to the MAC"
    );
    for read_only in ["last_provisioned_at", "last_provisioned_ip", "firmware"] {
        assert_eq!(device[read_only], Value::Null, "{read_only}: {device}");
    }
    assert_eq!(
        device["variables"],
        json!({"screensaver.timeout": 600, "ldap.enable": true, "brand": "Acme"})
    );
    let lines = device["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["position"], 0);
    assert_eq!(lines[0]["auth_user"], "201", "defaults to the username");
    assert_eq!(lines[0]["registrar"], "pbx.example.com:5060", "normalised");
    assert_eq!(lines[0]["transport"], "udp", "default transport");
    assert_eq!(lines[0]["proxy"], Value::Null);
    assert_eq!(lines[0]["display_name"], "Reception & Co");
    assert_eq!(lines[1]["auth_user"], "auth202");
    assert_eq!(lines[1]["password"], "given-line-pass", "shown on create");
    assert_eq!(lines[1]["proxy"], "sbc.example.com:5080");
    assert_eq!(lines[1]["transport"], "tls");

    let path = format!("/v1/devices/{device_id}");
    let (status, body) = root.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["mac"], "0015651234ab");
    assert_eq!(body["data"]["lines"][1]["username"], "202");

    // Filters.
    let user_b = root.create_user("desk-user", t.partner_b, "user").await;
    let mut other = phone(t.partner_b, "0c383e000001");
    other["vendor"] = json!("fanvil");
    other["model"] = json!("X5U");
    other["status"] = json!("disabled");
    other["user_id"] = json!(user_b);
    let other = create_device(&root, other).await;
    assert_eq!(other["user_id"], user_b);
    assert_eq!(root.total("/v1/devices").await, 2);
    assert_eq!(root.total("/v1/devices?vendor=fanvil").await, 1);
    assert_eq!(
        root.total("/v1/devices?model=x5u").await,
        1,
        "case-insensitive"
    );
    assert_eq!(root.total("/v1/devices?model=X5").await, 0, "exact");
    assert_eq!(root.total("/v1/devices?status=disabled").await, 1);
    assert_eq!(
        root.total(&format!("/v1/devices?user_id={user_b}")).await,
        1
    );
    assert_eq!(
        root.total(&format!("/v1/devices?organization_id={}", t.partner_a))
            .await,
        1
    );
    for notation in ["0C-38-3E-00-00-01", "0c38.3e00.0001", "0C383E000001"] {
        let (status, body) = root.get(&format!("/v1/devices?mac={notation}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["total"], 1, "{notation}: {body}");
        assert_eq!(body["data"][0]["id"], id(&other));
    }
    assert_eq!(root.total("/v1/devices?limit=1&page=2").await, 2);
    for (query, field) in [
        ("vendor=nokia", "vendor:"),
        ("status=broken", "status:"),
        ("mac=12345", "mac:"),
        ("organization_id=x", "organization_id:"),
    ] {
        let (status, body) = root.get(&format!("/v1/devices?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(message(&body).starts_with(field), "{query}: {body}");
    }

    // Only the given fields change.
    let (status, body) = root
        .put(
            &path,
            json!({"model": "T57W", "status": "disabled", "contact": "sip:201@192.0.2.50:5062",
                   "variables": {"brand": "Acme 2"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let updated = &body["data"];
    assert_eq!(updated["model"], "T57W");
    assert_eq!(updated["status"], "disabled");
    assert_eq!(updated["contact"], "sip:201@192.0.2.50:5062");
    assert_eq!(updated["variables"], json!({"brand": "Acme 2"}), "replaced");
    assert_eq!(updated["vendor"], "yealink");
    assert_eq!(updated["lines"].as_array().unwrap().len(), 2, "kept");
    // A GET body can be sent back as a PUT; null clears the contact.
    let (_, current) = root.get(&path).await;
    let mut echo = current["data"].clone();
    echo["contact"] = Value::Null;
    let (status, body) = root.put(&path, echo).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["contact"], Value::Null);
    assert_eq!(body["data"]["lines"], current["data"]["lines"]);

    let (status, body) = root.delete(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = root.get(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(root.total("/v1/devices").await, 1);
    let (status, _) = root.delete(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn mac_notations_normalise_and_a_duplicate_in_any_notation_conflicts() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let device = create_device(&root, phone(t.partner_a, "00-15-65-AA-BB-01")).await;
    assert_eq!(device["mac"], "001565aabb01");
    for (org, notation) in [
        (t.partner_a, "0015.65aa.bb01"),
        (t.partner_b, "00:15:65:aa:bb:01"),
        (t.partner_b, "001565AABB01"),
    ] {
        let (status, body) = root.post("/v1/devices", phone(org, notation)).await;
        assert_eq!(status, StatusCode::CONFLICT, "{notation}: {body}");
        assert!(message(&body).starts_with("mac"), "{body}");
    }
    // Moving another device onto the MAC is a conflict too.
    let other = create_device(&root, phone(t.partner_b, "001565aabb02")).await;
    let (status, body) = root
        .put(
            &format!("/v1/devices/{}", id(&other)),
            json!({"mac": "00:15:65:AA:BB:01"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(message(&body).starts_with("mac"), "{body}");
    // A MAC change takes a provisioning user name that was the MAC along.
    let (status, body) = root
        .put(
            &format!("/v1/devices/{}", id(&other)),
            json!({"mac": "00:15:65:AA:BB:03"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["mac"], "001565aabb03");
    assert_eq!(body["data"]["provisioning_username"], "001565aabb03");
    assert_eq!(root.total("/v1/devices").await, 2);
}

#[tokio::test]
async fn generated_credentials_are_shown_once_and_never_listed() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let mut body = phone(t.partner_a, "001565000010");
    body["lines"][1].as_object_mut().unwrap().remove("password");
    let device = create_device(&root, body).await;
    let device_id = id(&device);
    let provisioning = device["provisioning_password"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(provisioning.len(), 24, "{device}");
    let line_passwords: Vec<String> = device["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["password"].as_str().unwrap().to_string())
        .collect();
    for password in &line_passwords {
        assert_eq!(password.len(), 20, "{device}");
        assert!(password.chars().all(|c| c.is_ascii_alphanumeric()));
    }
    assert_ne!(line_passwords[0], line_passwords[1]);

    let path = format!("/v1/devices/{device_id}");
    let (_, get) = root.get(&path).await;
    let (_, list) = root.get("/v1/devices").await;
    let (_, filtered) = root.get("/v1/devices?mac=001565000010").await;
    let (_, put) = root.put(&path, json!({"model": "T46U"})).await;
    let (_, audit) = root.get("/v1/auditlog?entity_type=device&limit=1000").await;
    for (what, body) in [
        ("GET", &get),
        ("list", &list),
        ("filtered list", &filtered),
        ("PUT", &put),
        ("audit log", &audit),
    ] {
        assert_eq!(body["status"], "success", "{what}: {body}");
        let text = text(body);
        for secret in line_passwords.iter().chain([&provisioning]) {
            assert!(
                !text.contains(secret.as_str()),
                "{what} shows a secret: {text}"
            );
        }
        assert!(
            !text.contains("v1:"),
            "{what} shows an encrypted value: {text}"
        );
        assert!(!text.contains("\"password\""), "{what}: {text}");
        assert!(
            !text.contains("\"provisioning_password\""),
            "{what}: {text}"
        );
    }
}

#[tokio::test]
async fn reveal_is_for_admins_and_audited() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let mut body = phone(t.partner_a, "001565000020");
    body["provisioning_username"] = json!("desk-20");
    body["provisioning_password"] = json!("Given-Prov-Pass-1");
    let device = create_device(&root, body).await;
    assert_eq!(device["provisioning_password"], "Given-Prov-Pass-1");
    let device_id = id(&device);
    let reveal = format!("/v1/devices/{device_id}/credentials/reveal");

    root.create_user("a-admin", t.partner_a, "admin").await;
    root.create_user("a-viewer", t.partner_a, "readonly").await;
    root.create_user("a-user", t.partner_a, "user").await;
    let admin = app.login("a-admin", PASSWORD).await;
    let (status, body) = admin.call(Method::POST, &reveal, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"],
        json!({"device_id": device_id, "provisioning_username": "desk-20",
               "provisioning_password": "Given-Prov-Pass-1",
               "previous_password_valid_until": null})
    );
    for who in ["a-viewer", "a-user"] {
        let api = app.login(who, PASSWORD).await;
        let (status, body) = api.call(Method::POST, &reveal, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}: {body}");
        assert!(!text(&body).contains("Given-Prov-Pass-1"));
        let (status, _) = api.get(&format!("/v1/devices/{device_id}")).await;
        assert_eq!(status, StatusCode::OK, "{who} reads devices");
    }

    let (status, records) = root
        .get(&format!(
            "/v1/auditlog?entity_type=device&entity_id={device_id}&action=credentials.reveal"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{records}");
    assert_eq!(records["total"], 1, "only the admin's reveal: {records}");
    assert_eq!(records["data"][0]["actor_username"], "a-admin");
    assert_eq!(records["data"][0]["organization_id"], t.partner_a);
    assert!(!text(&records).contains("Given-Prov-Pass-1"), "{records}");
}

#[tokio::test]
async fn rotation_keeps_the_previous_password_for_the_grace_period() {
    let app = TestApp::start_with(|config| config.provisioning.rotation_grace_s = 2).await;
    let (t, root) = tree(&app).await;
    let device = create_device(&root, phone(t.partner_a, "001565000030")).await;
    let device_id = id(&device);
    let first = device["provisioning_password"]
        .as_str()
        .unwrap()
        .to_string();
    let state = app.state();
    let accepted = || {
        dialtone::devices::credentials::provisioning_passwords(&state.db, &state.secrets, device_id)
    };
    assert_eq!(accepted().await.unwrap(), [first.as_str()]);

    let rotate = format!("/v1/devices/{device_id}/credentials/rotate");
    let (status, body) = root.call(Method::POST, &rotate, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let second = body["data"]["provisioning_password"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(second.len(), 24);
    assert_ne!(second, first);
    assert!(
        body["data"]["previous_password_valid_until"].is_string(),
        "{body}"
    );
    assert_eq!(accepted().await.unwrap(), [second.clone(), first.clone()]);
    let (_, revealed) = root
        .call(
            Method::POST,
            &format!("/v1/devices/{device_id}/credentials/reveal"),
            None,
        )
        .await;
    assert_eq!(revealed["data"]["provisioning_password"], second.as_str());

    tokio::time::sleep(Duration::from_millis(2_300)).await;
    assert_eq!(
        accepted().await.unwrap(),
        [second.as_str()],
        "the grace period is over"
    );

    // A given password; a bad one is refused by name and changes nothing.
    let (status, body) = root
        .post(&rotate, json!({"provisioning_password": "short"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        message(&body).starts_with("provisioning_password:"),
        "{body}"
    );
    let (status, body) = root
        .post(
            &rotate,
            json!({"provisioning_password": "Chosen-Password-9"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        accepted().await.unwrap(),
        ["Chosen-Password-9".to_string(), second.clone()]
    );
    let (_, records) = root
        .get(&format!(
            "/v1/auditlog?entity_type=device&entity_id={device_id}&action=credentials.rotate"
        ))
        .await;
    assert_eq!(records["total"], 2, "{records}");
    assert!(!text(&records).contains("Chosen-Password-9"));

    // Readonly users cannot rotate.
    root.create_user("viewer", t.partner_a, "readonly").await;
    let viewer = app.login("viewer", PASSWORD).await;
    let (status, _) = viewer.call(Method::POST, &rotate, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(accepted().await.unwrap()[0], "Chosen-Password-9");
    assert!(
        dialtone::devices::credentials::provisioning_passwords(&state.db, &state.secrets, 987_654)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn secrets_are_stored_encrypted_and_line_passwords_survive_updates() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let device = create_device(&root, phone(t.partner_a, "001565000040")).await;
    let device_id = id(&device);
    let generated = device["lines"][0]["password"].as_str().unwrap().to_string();
    let provisioning = device["provisioning_password"]
        .as_str()
        .unwrap()
        .to_string();

    let line_rows = stored(
        &app,
        "SELECT password FROM device_lines WHERE device_id = $1 ORDER BY position",
        device_id,
    )
    .await;
    let device_rows = stored(
        &app,
        "SELECT provisioning_password FROM devices WHERE id = $1",
        device_id,
    )
    .await;
    assert_eq!(line_rows.len(), 2);
    for (row, clear) in line_rows
        .iter()
        .zip([generated.as_str(), "given-line-pass"])
        .chain(device_rows.iter().zip([provisioning.as_str()]))
    {
        assert!(row.starts_with("v1:"), "{row}");
        assert!(!row.contains(clear), "{row} holds {clear}");
    }

    let state = app.state();
    let load = || async {
        dialtone::devices::get(&state.db, device_id)
            .await
            .unwrap()
            .unwrap()
    };
    let line_passwords = |d: dialtone::devices::Device| {
        dialtone::devices::credentials::line_passwords(&state.secrets, &d).unwrap()
    };
    assert_eq!(
        line_passwords(load().await),
        [generated.clone(), "given-line-pass".to_string()]
    );

    // Lines replaced: position 0 keeps its password, position 1 takes a new one, position 2
    // (new) gets a generated one.
    let path = format!("/v1/devices/{device_id}");
    let (status, body) = root
        .put(
            &path,
            json!({"lines": [
                {"username": "301", "registrar": "pbx.example.com"},
                {"username": "302", "registrar": "pbx.example.com", "password": "replaced-pass"},
                {"username": "303", "registrar": "pbx.example.com"}
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["lines"].as_array().unwrap().len(), 3);
    assert!(body["data"]["lines"][2].get("password").is_none(), "{body}");
    let now = line_passwords(load().await);
    assert_eq!(now[0], generated, "kept by position");
    assert_eq!(now[1], "replaced-pass");
    assert_eq!(now[2].len(), 20, "generated");
    // Fewer lines: the rest go.
    let (status, body) = root
        .put(
            &path,
            json!({"lines": [{"username": "301", "registrar": "pbx.example.com"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(line_passwords(load().await), [generated.as_str()]);
    assert_eq!(
        stored(
            &app,
            "SELECT password FROM device_lines WHERE device_id = $1",
            device_id
        )
        .await
        .len(),
        1
    );
}

#[tokio::test]
async fn bulk_creates_all_or_nothing_and_names_each_bad_row() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    create_device(&root, phone(t.partner_a, "001565000050")).await;
    let good = |mac: &str| phone(t.partner_a, mac);
    let mut bad_vendor = good("001565000052");
    bad_vendor["vendor"] = json!("nokia");
    let mut bad_line = good("001565000055");
    bad_line["lines"][1]["registrar"] = json!("sip:x@y");
    let rows = json!([
        good("001565000051"),
        good("not-a-mac"),
        bad_vendor,
        good("00:15:65:00:00:51"),
        good("001565000050"),
        bad_line,
        "nonsense",
        good("001565000056"),
    ]);
    let (status, body) = root
        .post("/v1/devices/bulk", json!({"devices": rows}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let text = message(&body);
    assert!(
        text.starts_with("6 of 8 devices are invalid; nothing was created"),
        "{text}"
    );
    // Every bad row in `errors`, by its 0-based index in `devices`, in order.
    let listed: Vec<(i64, &str)> = row_errors(&body)
        .iter()
        .map(|e| (e["row"].as_i64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            (1, "mac"),
            (2, "vendor"),
            (3, "mac"),
            (4, "mac"),
            (5, "lines[1].registrar"),
            (6, "device"),
        ],
        "{body}"
    );
    let errors = row_errors(&body);
    assert_eq!(errors[2]["message"], "001565000051 is also devices[0]");
    assert_eq!(errors[3]["message"], "already exists");
    assert_eq!(errors[5]["message"], "must be a JSON object");
    // The message still spells the rows out for clients that read only the message.
    for needle in [
        "devices[1]: mac: ",
        "devices[3]: mac: 001565000051 is also devices[0]",
        "devices[5]: lines[1].registrar: ",
    ] {
        assert!(text.contains(needle), "{needle:?} not in {text}");
    }
    assert_eq!(root.total("/v1/devices").await, 1, "nothing written");
    assert_eq!(
        root.total("/v1/auditlog?entity_type=device&action=create")
            .await,
        1,
        "nothing audited"
    );

    // One bad row among good ones: still nothing.
    let (status, body) = root
        .post(
            "/v1/devices/bulk",
            json!({"devices": [good("001565000061"), {"mac": "001565000062"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let errors = row_errors(&body);
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(
        (&errors[0]["row"], &errors[0]["field"]),
        (&json!(1), &json!("vendor")),
        "{body}"
    );
    assert_eq!(errors[0]["message"], "missing field `vendor`", "{body}");
    assert_eq!(root.total("/v1/devices").await, 1);

    for (body, needle) in [
        (json!({"devices": []}), "devices:"),
        (json!({}), "devices"),
        (json!({"devices": {}}), "devices:"),
    ] {
        let (status, response) = root.post("/v1/devices/bulk", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {response}");
        assert!(message(&response).contains(needle), "{response}");
    }

    let (status, body) = root
        .post(
            "/v1/devices/bulk",
            json!({"devices": [good("001565000071"), good("00-15-65-00-00-72"),
                               phone(t.tenant_a1, "0015.6500.0073")]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let created = body["data"].as_array().unwrap();
    assert_eq!(created.len(), 3);
    assert_eq!(created[1]["mac"], "001565000072");
    assert_eq!(created[2]["organization_id"], t.tenant_a1);
    for device in created {
        assert_eq!(device["provisioning_password"].as_str().unwrap().len(), 24);
        assert_eq!(device["lines"][0]["password"].as_str().unwrap().len(), 20);
    }
    assert_eq!(root.total("/v1/devices").await, 4);
    assert_eq!(
        root.total("/v1/auditlog?entity_type=device&action=create")
            .await,
        4
    );

    // Readonly users cannot bulk-create.
    root.create_user("viewer", t.partner_a, "readonly").await;
    let viewer = app.login("viewer", PASSWORD).await;
    let (status, _) = viewer
        .post(
            "/v1/devices/bulk",
            json!({"devices": [good("001565000081")]}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(root.total("/v1/devices").await, 4);
}

#[tokio::test]
async fn bulk_errors_list_each_bad_row_with_its_field_and_create_nothing() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    create_device(&root, phone(t.partner_a, "001565000090")).await;
    let devices_before = root.total("/v1/devices").await;
    let audit_before = root.total("/v1/auditlog").await;
    let mut bad_user = phone(t.partner_a, "001565000091");
    bad_user["lines"][0]["username"] = json!("has space");
    let mut no_registrar = phone(t.partner_a, "001565000093");
    no_registrar["lines"][1]
        .as_object_mut()
        .unwrap()
        .remove("registrar");
    let mut stray = phone(t.partner_a, "001565000094");
    stray["colour"] = json!("red");
    let body = json!({"devices": [
        bad_user,
        phone(t.partner_a, "001565000092"),
        phone(t.partner_a, "00:15:65:00:00:90"),
        no_registrar,
        stray,
    ]});

    let (status, response) = root.post("/v1/devices/bulk", body.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{response}");
    assert_eq!(response["code"], 400, "{response}");
    assert!(
        message(&response).starts_with("4 of 5 devices are invalid; nothing was created"),
        "{response}"
    );
    let errors = row_errors(&response);
    let listed: Vec<(i64, &str)> = errors
        .iter()
        .map(|e| (e["row"].as_i64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            (0, "lines[0].username"),
            (2, "mac"),
            (3, "lines[1].registrar"),
            (4, "colour"),
        ],
        "{response}"
    );
    assert_eq!(errors[1]["message"], "already exists", "{response}");
    assert_eq!(
        errors[2]["message"], "missing field `registrar`",
        "{response}"
    );
    assert!(
        errors[3]["message"]
            .as_str()
            .unwrap()
            .starts_with("unknown field `colour`"),
        "{response}"
    );

    // The same rows in legacy XML for a client that does not ask for JSON.
    let response = app
        .http
        .post(app.url("/v1/devices/bulk"))
        .bearer_auth(root.token.as_ref().unwrap())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.headers()["content-type"], "application/xml");
    let xml = response.text().await.unwrap();
    assert!(xml.contains("<code>400</code>"), "{xml}");
    assert!(
        xml.contains("<message>4 of 5 devices are invalid; nothing was created: "),
        "{xml}"
    );
    assert!(
        xml.contains(
            "<errors><error row=\"0\" field=\"lines[0].username\">may contain only letters"
        ),
        "{xml}"
    );
    assert!(
        xml.contains("<error row=\"2\" field=\"mac\">already exists</error>"),
        "{xml}"
    );
    assert!(
        xml.contains(
            "<error row=\"3\" field=\"lines[1].registrar\">missing field `registrar`</error>"
        ),
        "{xml}"
    );

    // Nothing was created, nothing audited, and the good row is still free.
    assert_eq!(root.total("/v1/devices").await, devices_before);
    assert_eq!(root.total("/v1/auditlog").await, audit_before);
    assert_eq!(root.total("/v1/devices?mac=001565000092").await, 0);
}

#[tokio::test]
async fn validation_errors_name_the_field_and_write_nothing() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let user_b = root.create_user("b-user", t.partner_b, "user").await;
    let base = || phone(t.partner_a, "001565000090");
    let with = |key: &str, value: Value| {
        let mut body = base();
        body[key] = value;
        body
    };
    let line_with = |key: &str, value: Value| {
        let mut body = base();
        body["lines"][0][key] = value;
        body
    };
    let line = json!({"username": "201", "registrar": "pbx.example.com"});
    let cases: Vec<(Value, &str)> = vec![
        (with("vendor", json!("nokia")), "vendor:"),
        (with("vendor", json!(null)), "vendor:"),
        (with("mac", json!("00:15:65:12:34")), "mac:"),
        (with("mac", json!("zz:15:65:12:34:ab")), "mac:"),
        (with("mac", json!("000000000000")), "mac:"),
        (with("mac", json!("ff:ff:ff:ff:ff:ff")), "mac:"),
        (with("mac", json!(12)), "mac:"),
        (with("model", json!("")), "model:"),
        (with("model", json!("T54W<script>")), "model:"),
        (with("lines", json!([])), "lines:"),
        (
            with("lines", Value::Array(vec![line.clone(); 17])),
            "lines:",
        ),
        (with("lines", json!("201")), "lines:"),
        (line_with("registrar", json!("")), "lines[0].registrar:"),
        (
            line_with("registrar", json!("pbx:99999")),
            "lines[0].registrar:",
        ),
        (line_with("proxy", json!("bad host")), "lines[0].proxy:"),
        (line_with("transport", json!("sctp")), "lines[0].transport:"),
        (line_with("username", json!("a b")), "lines[0].username:"),
        (line_with("auth_user", json!("")), "lines[0].auth_user:"),
        (line_with("password", json!("short")), "lines[0].password:"),
        (
            line_with("display_name", json!("a\nb")),
            "lines[0].display_name:",
        ),
        (line_with("colour", json!("red")), "colour"),
        (with("variables", json!({"Bad-Key": 1})), "variables: name"),
        (with("variables", json!({"ok": null})), "variables.ok:"),
        (
            with("variables", json!({"ok": {"nested": 1}})),
            "variables.ok:",
        ),
        (with("variables", json!([1])), "variables:"),
        (
            with(
                "variables",
                Value::Object((0..101).map(|i| (format!("k{i}"), json!(i))).collect()),
            ),
            "variables:",
        ),
        (with("contact", json!("http://192.0.2.1")), "contact:"),
        (with("contact", json!("sip:")), "contact:"),
        (with("status", json!("broken")), "status:"),
        (
            with("provisioning_username", json!("a b")),
            "provisioning_username:",
        ),
        (
            with("provisioning_password", json!("short")),
            "provisioning_password:",
        ),
        (with("colour", json!("red")), "colour"),
        (
            json!({"mac": "001565000090", "vendor": "yealink", "model": "T54W"}),
            "lines",
        ),
    ];
    for (body, needle) in cases {
        let (status, response) = root.post("/v1/devices", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {response}");
        let text = message(&response);
        assert!(
            if needle.ends_with(':') {
                text.starts_with(needle)
            } else {
                text.contains(needle)
            },
            "{body}: expected {needle:?} in {response}"
        );
    }
    // A missing user or organization is 404, naming the field.
    for (body, needle) in [
        (
            with("user_id", json!(987_654)),
            "user_id: user 987654 not found",
        ),
        (
            with("organization_id", json!(987_654)),
            "organization_id: organization 987654 not found",
        ),
    ] {
        let (status, response) = root.post("/v1/devices", body.clone()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}: {response}");
        assert_eq!(message(&response), needle, "{body}");
    }
    assert_eq!(root.total("/v1/devices").await, 0, "nothing written");
    assert_eq!(root.total("/v1/auditlog?entity_type=device").await, 0);

    // The same checks on PUT; a bad PUT changes nothing.
    let device = create_device(&root, base()).await;
    let path = format!("/v1/devices/{}", id(&device));
    for (body, needle) in [
        (json!({"vendor": "nokia"}), "vendor:"),
        (json!({"mac": "bad"}), "mac:"),
        (json!({"lines": []}), "lines:"),
        (
            json!({"lines": [line, {"username": "x", "registrar": "a b"}]}),
            "lines[1].registrar:",
        ),
        (json!({"variables": {"UPPER": 1}}), "variables:"),
        (json!({"contact": "tel:+15551234"}), "contact:"),
        (
            json!({"provisioning_password": "Another-Pass-1"}),
            "provisioning_password",
        ),
        (json!({"model": " "}), "model:"),
    ] {
        let (status, response) = root.put(&path, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {response}");
        assert!(message(&response).contains(needle), "{body}: {response}");
    }
    // A device stays in its organization: moving it conflicts (409), naming the field.
    let (status, response) = root
        .put(&path, json!({"organization_id": t.partner_b}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{response}");
    assert_eq!(message(&response), "organization_id: cannot be changed");
    // So does a user of another organization: it exists, in the wrong place.
    let (status, response) = root.put(&path, json!({"user_id": user_b})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{response}");
    assert!(message(&response).starts_with("user_id: "), "{response}");
    let (_, after) = root.get(&path).await;
    let mut unchanged = device.clone();
    unchanged
        .as_object_mut()
        .unwrap()
        .remove("provisioning_password");
    for line in unchanged["lines"].as_array_mut().unwrap() {
        line.as_object_mut().unwrap().remove("password");
    }
    assert_eq!(after["data"], unchanged, "bad PUTs changed nothing");

    // A user of the device's own organization is fine, and null unassigns it.
    let user_a = root.create_user("a-user", t.partner_a, "user").await;
    let (status, body) = root.put(&path, json!({"user_id": user_a})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["user_id"], user_a);
    let (status, body) = root.put(&path, json!({"user_id": null})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["user_id"], Value::Null);
}

#[tokio::test]
async fn readonly_users_read_but_cannot_write() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let device = create_device(&root, phone(t.partner_a, "001565000100")).await;
    let path = format!("/v1/devices/{}", id(&device));
    root.create_user("viewer", t.partner_a, "readonly").await;
    let viewer = app.login("viewer", PASSWORD).await;
    for read in [
        "/v1/devices".to_string(),
        path.clone(),
        format!("/v1/organizations/{}/provisioning", t.partner_a),
    ] {
        let (status, body) = viewer.get(&read).await;
        assert_eq!(status, StatusCode::OK, "{read}: {body}");
    }
    let before = root.get(&path).await.1;
    for (method, target, body) in [
        (
            Method::POST,
            "/v1/devices".to_string(),
            Some(phone(t.partner_a, "001565000101")),
        ),
        (Method::PUT, path.clone(), Some(json!({"model": "X"}))),
        (Method::DELETE, path.clone(), None),
        (Method::POST, format!("{path}/credentials/reveal"), None),
        (Method::POST, format!("{path}/credentials/rotate"), None),
        (
            Method::PUT,
            format!("/v1/organizations/{}/provisioning", t.partner_a),
            Some(json!({"language": "de"})),
        ),
    ] {
        let (status, response) = viewer.call(method.clone(), &target, body).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{method} {target}: {response}"
        );
    }
    assert_eq!(root.get(&path).await.1, before);
    assert_eq!(root.total("/v1/devices").await, 1);
}

#[tokio::test]
async fn every_mutation_leaves_an_audit_record_without_secrets() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let device = create_device(&root, phone(t.partner_a, "001565000110")).await;
    let device_id = id(&device);
    let path = format!("/v1/devices/{device_id}");
    root.put(&path, json!({"model": "T57W"})).await;
    root.call(Method::POST, &format!("{path}/credentials/rotate"), None)
        .await;
    root.call(Method::POST, &format!("{path}/credentials/reveal"), None)
        .await;
    root.delete(&path).await;
    let (_, records) = root
        .get(&format!(
            "/v1/auditlog?entity_type=device&entity_id={device_id}"
        ))
        .await;
    let actions: Vec<&str> = records["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "delete",
            "credentials.reveal",
            "credentials.rotate",
            "update",
            "create"
        ],
        "{records}"
    );
    let update = &records["data"][3];
    assert_eq!(update["before"]["model"], "T54W");
    assert_eq!(update["after"]["model"], "T57W");
    assert_eq!(update["organization_id"], t.partner_a);
    assert_eq!(records["data"][4]["after"]["lines"][1]["username"], "202");
    let text = text(&records);
    assert!(!text.contains("given-line-pass"), "{text}");
    assert!(!text.contains("v1:"), "{text}");
    assert!(!text.contains("\"password\""), "{text}");
    assert!(
        !text.contains(device["provisioning_password"].as_str().unwrap()),
        "{text}"
    );
}

#[tokio::test]
async fn fetches_are_recorded_on_the_device() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let device = create_device(&root, phone(t.partner_a, "001565000120")).await;
    let device_id = id(&device);
    let db = &app.state().db;
    dialtone::devices::credentials::record_fetch(
        db,
        device_id,
        "::ffff:192.0.2.77".parse().unwrap(),
        Some("Yealink SIP-T54W 96.86.0.100 00:15:65:00:01:20\r\n"),
        Some("96.86.0.100"),
    )
    .await
    .unwrap();
    let (_, body) = root.get(&format!("/v1/devices/{device_id}")).await;
    let data = &body["data"];
    assert_eq!(data["last_provisioned_ip"], "192.0.2.77");
    assert_eq!(data["firmware"], "96.86.0.100");
    assert_eq!(
        data["last_user_agent"],
        "Yealink SIP-T54W 96.86.0.100 00:15:65:00:01:20"
    );
    assert!(data["last_provisioned_at"].is_string(), "{body}");
    assert_eq!(data["updated_at"], device["updated_at"], "not a change");
    // A later fetch without a firmware keeps the known one.
    dialtone::devices::credentials::record_fetch(
        db,
        device_id,
        "192.0.2.78".parse().unwrap(),
        None,
        None,
    )
    .await
    .unwrap();
    let (_, body) = root.get(&format!("/v1/devices/{device_id}")).await;
    assert_eq!(body["data"]["last_provisioned_ip"], "192.0.2.78");
    assert_eq!(body["data"]["firmware"], "96.86.0.100");
    let mac: dialtone::types::Mac = "00-15-65-00-01-20".parse().unwrap();
    let found = dialtone::devices::by_mac(db, &mac).await.unwrap().unwrap();
    assert_eq!(found.id, device_id);
}

#[tokio::test]
async fn organization_provisioning_settings_round_trip_and_merge_into_variables() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let path = format!("/v1/organizations/{}/provisioning", t.partner_a);
    let (status, body) = root.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"],
        json!({"organization_id": t.partner_a, "timezone": null, "ntp_server": null,
               "language": null, "firmware_url": null, "registrar": null,
               "outbound_proxy": null, "variables": {}, "updated_at": null})
    );
    let (status, body) = root
        .put(
            &path,
            json!({"timezone": "Europe/Berlin", "ntp_server": "Pool.NTP.org", "language": "de-DE",
                   "firmware_url": "https://fw.example.com/yealink/", "registrar": "pbx.example.com:5060",
                   "outbound_proxy": "sip:sbc.example.com;transport=tcp",
                   "variables": {"brand": "Partner A", "screensaver.timeout": 300}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let data = &body["data"];
    assert_eq!(data["ntp_server"], "pool.ntp.org", "normalised");
    assert_eq!(data["outbound_proxy"], "sip:sbc.example.com;transport=tcp");
    assert!(data["updated_at"].is_string());
    let (_, again) = root.get(&path).await;
    assert_eq!(again["data"], *data);
    // Only given fields change; null and "" clear.
    let (status, body) = root
        .put(
            &path,
            json!({"language": null, "registrar": "", "timezone": "UTC"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["language"], Value::Null);
    assert_eq!(body["data"]["registrar"], Value::Null);
    assert_eq!(body["data"]["timezone"], "UTC");
    assert_eq!(body["data"]["ntp_server"], "pool.ntp.org");
    assert_eq!(body["data"]["variables"]["brand"], "Partner A");

    for (bad, needle) in [
        (json!({"timezone": "Mars/Olympus"}), "timezone:"),
        (json!({"ntp_server": "ntp.example.com:123"}), "ntp_server:"),
        (json!({"language": "english please"}), "language:"),
        (
            json!({"firmware_url": "ftp://fw.example.com/"}),
            "firmware_url:",
        ),
        (json!({"registrar": "sip:pbx.example.com"}), "registrar:"),
        (
            json!({"outbound_proxy": "sbc.example.com"}),
            "outbound_proxy:",
        ),
        (json!({"variables": {"Brand": "x"}}), "variables:"),
        (json!({"colour": "red"}), "colour"),
    ] {
        let (status, response) = root.put(&path, bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {response}");
        assert!(message(&response).contains(needle), "{bad}: {response}");
    }
    let (_, unchanged) = root.get(&path).await;
    assert_eq!(unchanged["data"], body["data"], "bad PUTs changed nothing");
    let (_, records) = root
        .get(&format!(
            "/v1/auditlog?entity_type=provisioning_settings&entity_id={}",
            t.partner_a
        ))
        .await;
    assert_eq!(records["total"], 2, "{records}");
    assert_eq!(records["data"][0]["before"]["language"], "de-DE");

    // Variables a device's templates see: platform, then partner_a, then tenant_a1, then the
    // device; nearer wins.
    root.put(
        "/v1/organizations/1/provisioning",
        json!({"ntp_server": "ntp.platform.example", "variables": {"brand": "Platform", "dial_tone": "us"}}),
    )
    .await;
    root.put(
        &format!("/v1/organizations/{}/provisioning", t.tenant_a1),
        json!({"language": "fr", "variables": {"screensaver.timeout": 900}}),
    )
    .await;
    let mut body = phone(t.tenant_a1, "001565000130");
    body["variables"] = json!({"screensaver.timeout": 60});
    let device = create_device(&root, body).await;
    let db = &app.state().db;
    let device = dialtone::devices::get(db, id(&device))
        .await
        .unwrap()
        .unwrap();
    let merged = dialtone::devices::settings::effective_variables(db, &device)
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&merged).unwrap(),
        json!({
            "brand": "Partner A",
            "dial_tone": "us",
            "firmware_url": "https://fw.example.com/yealink/",
            "language": "fr",
            "ntp_server": "pool.ntp.org",
            "outbound_proxy": "sip:sbc.example.com;transport=tcp",
            "screensaver.timeout": 60,
            "timezone": "UTC"
        })
    );
}

#[tokio::test]
async fn tenancy_sibling_and_child_see_nothing_of_partner_a() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let device = create_device(&root, phone(t.partner_a, "001565000140")).await;
    let path = format!("/v1/devices/{}", id(&device));
    root.create_user("b-admin", t.partner_b, "admin").await;
    root.create_user("a1-admin", t.tenant_a1, "admin").await;
    root.create_user("dist-admin", t.dist, "admin").await;
    for who in ["b-admin", "a1-admin"] {
        let api = app.login(who, PASSWORD).await;
        assert_eq!(api.total("/v1/devices").await, 0, "{who}");
        assert_eq!(
            api.total("/v1/devices?mac=001565000140").await,
            0,
            "{who}: a MAC lookup must not cross tenants"
        );
        let (status, _) = api.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{who}");
        let (status, body) = api
            .post("/v1/devices", phone(t.partner_a, "001565000141"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{who}: {body}");
        assert!(message(&body).starts_with("organization_id:"), "{body}");
    }
    let parent = app.login("dist-admin", PASSWORD).await;
    assert_eq!(parent.total("/v1/devices").await, 1);
    let (status, _) = parent.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    // A tenant's own device defaults to the tenant's organization.
    let child = app.login("a1-admin", PASSWORD).await;
    let mut body = phone(t.tenant_a1, "001565000142");
    body.as_object_mut().unwrap().remove("organization_id");
    let own = create_device(&child, body).await;
    assert_eq!(own["organization_id"], t.tenant_a1);
    assert_eq!(child.total("/v1/devices").await, 1);
    assert_eq!(parent.total("/v1/devices").await, 2);
}

#[tokio::test]
async fn documented_under_devices() {
    let app = TestApp::start().await;
    let (status, doc) = app.anonymous().get("/v1/documentation").await;
    assert_eq!(status, StatusCode::OK);
    for (path, method) in [
        ("/v1/devices", "get"),
        ("/v1/devices", "post"),
        ("/v1/devices/bulk", "post"),
        ("/v1/devices/{id}", "get"),
        ("/v1/devices/{id}", "put"),
        ("/v1/devices/{id}", "delete"),
        ("/v1/devices/{id}/credentials/reveal", "post"),
        ("/v1/devices/{id}/credentials/rotate", "post"),
        ("/v1/organizations/{id}/provisioning", "get"),
        ("/v1/organizations/{id}/provisioning", "put"),
    ] {
        let op = &doc["paths"][path][method];
        assert_eq!(op["tags"], json!(["devices"]), "{method} {path}: {op}");
        assert!(op["security"].is_array(), "{method} {path}: {op}");
    }
}
