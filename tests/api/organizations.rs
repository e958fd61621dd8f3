//! Organizations, their domains, org IPs and client access, and the audit trail of changes.

use crate::support::{TestApp, message, tree};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn hierarchy_rules_and_defaults() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let (status, body) = root
        .post(
            "/v1/organizations",
            json!({"name": "EU Dist", "type": "distributor", "timezone": "Europe/Berlin", "country": "de"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["country"], "DE", "country stored upper case");
    assert_eq!(
        body["data"]["parent_id"], 1,
        "defaults to the caller's organization"
    );
    assert_eq!(body["data"]["status"], "active");
    let dist = body["data"]["id"].as_i64().unwrap();

    let (_, body) = root
        .post(
            "/v1/organizations",
            json!({"name": "T", "type": "tenant", "parent_id": dist}),
        )
        .await;
    assert_eq!(
        body["data"]["timezone"], "Europe/Berlin",
        "time zone inherited from the parent"
    );
    assert_eq!(
        body["data"]["country"], "DE",
        "country inherited from the parent"
    );
    let tenant = body["data"]["id"].as_i64().unwrap();
    let (status, body) = root
        .put(
            &format!("/v1/organizations/{tenant}"),
            json!({"country": "Germany"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"].as_str().unwrap().starts_with("country:"),
        "{body}"
    );
    let (status, body) = root
        .put(
            &format!("/v1/organizations/{tenant}"),
            json!({"country": "at"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["country"], "AT");

    for (parent, child) in [
        (tenant, "tenant"),
        (dist, "distributor"),
        (dist, "platform"),
    ] {
        let (status, body) = root
            .post(
                "/v1/organizations",
                json!({"name": "Bad", "type": child, "parent_id": parent}),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::CONFLICT,
            "{child} under {parent}: {body}"
        );
        assert!(
            body["message"].as_str().unwrap().starts_with("type:"),
            "{body}"
        );
    }
    let (status, body) = root
        .post(
            "/v1/organizations",
            json!({"name": "T", "type": "tenant", "parent_id": dist}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "same name under the same parent: {body}"
    );
    assert!(
        body["message"].as_str().unwrap().starts_with("name"),
        "{body}"
    );

    let (_, list) = root
        .get(&format!("/v1/organizations?parent_id={dist}"))
        .await;
    assert_eq!(list["total"], 1);
    let (_, list) = root.get("/v1/organizations?type=distributor").await;
    assert_eq!(list["total"], 1);
    let (_, list) = root.get("/v1/organizations?name=eu").await;
    assert_eq!(list["data"][0]["name"], "EU Dist");
    let (status, _) = root.get("/v1/organizations?type=reseller").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn update_and_delete_rules() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let path = format!("/v1/organizations/{}", t.tenant_a1);
    let (status, body) = root
        .put(
            &path,
            json!({"name": "Renamed", "timezone": "America/New_York"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["data"]["name"].as_str(),
            body["data"]["timezone"].as_str()
        ),
        (Some("Renamed"), Some("America/New_York"))
    );

    // A GET body sent back unchanged is accepted; changing type or parent is not.
    let (_, current) = root.get(&path).await;
    let (status, body) = root.put(&path, current["data"].clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = root.put(&path, json!({"type": "partner"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body["message"].as_str().unwrap().starts_with("type"));
    let (status, _) = root.put(&path, json!({"parent_id": t.partner_b})).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Deleting a parent with children is refused; a leaf goes; its id is never reused.
    let (status, body) = root
        .delete(&format!("/v1/organizations/{}", t.partner_a))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = root.delete(&path).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = root.get(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let again = root.create_org("Newcomer", "tenant", t.partner_a).await;
    assert!(again > t.tenant_a1, "ids are never reused");

    // Nobody deletes or suspends their own organization.
    let (status, _) = root.delete("/v1/organizations/1").await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = root
        .put("/v1/organizations/1", json!({"status": "suspended"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn every_change_is_audited_with_before_and_after() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let id = root.create_org("Audited", "tenant", 1).await;
    root.put(
        &format!("/v1/organizations/{id}"),
        json!({"name": "Audited 2"}),
    )
    .await;
    root.delete(&format!("/v1/organizations/{id}")).await;
    let (status, body) = root
        .get(&format!(
            "/v1/auditlog?entity_type=organization&entity_id={id}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let records = body["data"].as_array().unwrap();
    let actions: Vec<&str> = records
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["delete", "update", "create"], "newest first");
    let update = &records[1];
    assert_eq!(update["before"]["name"], "Audited");
    assert_eq!(update["after"]["name"], "Audited 2");
    assert_eq!(update["actor_username"], "root");
    assert_eq!(update["client_ip"], "127.0.0.1");
    assert!(records[0]["after"].is_null());
    let record_id = update["id"].as_i64().unwrap();
    let (status, single) = root.get(&format!("/v1/auditlog/{record_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(single["data"]["id"], record_id);
}

#[tokio::test]
async fn domains_are_validated_unique_and_removable() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let base = format!("/v1/organizations/{}/domains", t.partner_a);
    let (status, body) = root
        .post(&base, json!({"domain": "PBX.Example.com."}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["domain"], "pbx.example.com");
    let domain_id = body["data"]["id"].as_i64().unwrap();
    let (status, body) = root
        .post(
            &format!("/v1/organizations/{}/domains", t.partner_b),
            json!({"domain": "pbx.example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "unique platform-wide: {body}");
    assert!(body["message"].as_str().unwrap().starts_with("domain"));
    let (status, body) = root.post(&base, json!({"domain": "not a domain"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().starts_with("domain:"));
    let (_, list) = root.get(&base).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let (status, _) = root.delete(&format!("{base}/{domain_id}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = root.delete(&format!("{base}/{domain_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn orgips_crud_with_cidr_validation() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let (status, body) = root
        .post("/v1/orgips", json!({"organization_id": t.tenant_a1, "cidr": "192.0.2.0/24", "description": "office"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["data"]["id"].as_i64().unwrap();
    let (status, body) = root
        .post(
            "/v1/orgips",
            json!({"organization_id": t.tenant_a1, "cidr": "2001:db8::1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["data"]["cidr"], "2001:db8::1/128");
    let (status, _) = root
        .post(
            "/v1/orgips",
            json!({"organization_id": t.tenant_a1, "cidr": "192.0.2.0/24"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "duplicates refused");
    let (status, _) = root
        .post(
            "/v1/orgips",
            json!({"organization_id": t.partner_b, "cidr": "192.0.2.0/24"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the same network may belong to another organization"
    );

    let (_, list) = root
        .get(&format!("/v1/orgips/index?organization_id={}", t.tenant_a1))
        .await;
    assert_eq!(list["total"], 2);
    let (status, body) = root
        .put(
            &format!("/v1/orgips/{id}"),
            json!({"cidr": "198.51.100.0/25"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"]["description"], "office",
        "untouched fields kept"
    );
    let (status, body) = root
        .put(
            &format!("/v1/orgips/{id}"),
            json!({"cidr": "198.51.100.1/25"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("198.51.100.0/25"),
        "{body}"
    );
    let (status, _) = root.delete(&format!("/v1/orgips/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = root.get(&format!("/v1/orgips/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn client_access_settings_round_trip() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let path = format!("/v1/organizations/{}/clientaccess", t.partner_a);
    let (_, body) = root.get(&path).await;
    assert_eq!(
        body["data"],
        json!({"organization_id": t.partner_a, "api_enabled": true, "restrict_to_orgips": false})
    );
    let (status, body) = root.put(&path, json!({"restrict_to_orgips": true})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["restrict_to_orgips"], true);
    assert_eq!(body["data"]["api_enabled"], true);
    let (status, _) = root.put(&path, json!({"api_enabled": "yes"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = root
        .put(
            "/v1/organizations/1/clientaccess",
            json!({"api_enabled": false}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "cannot lock yourself out");
}

/// Restricting one's own organization to its IPs, or removing the network one calls from while
/// it is restricted, would lock the caller out: refused with 409, nothing changed. The caller
/// still works afterwards.
#[tokio::test]
async fn restricting_access_never_locks_the_caller_out() {
    let app = TestApp::start().await;
    let root = app.root().await;
    let own = "/v1/organizations/1/clientaccess";
    let (status, body) = root.put(own, json!({"restrict_to_orgips": true})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(message(&body).contains("127.0.0.1"), "{body}");
    assert_eq!(root.get(own).await.1["data"]["restrict_to_orgips"], false);

    // With a network holding the caller's address, restricting works.
    let (status, body) = root
        .post(
            "/v1/orgips",
            json!({"organization_id": 1, "cidr": "127.0.0.0/8"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let loopback = body["data"]["id"].as_i64().unwrap();
    let (status, body) = root
        .post(
            "/v1/orgips",
            json!({"organization_id": 1, "cidr": "192.0.2.0/24"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let other = body["data"]["id"].as_i64().unwrap();
    let (status, body) = root.put(own, json!({"restrict_to_orgips": true})).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Now the loopback network can be neither deleted nor moved away; the other one can.
    let (status, body) = root.delete(&format!("/v1/orgips/{loopback}")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = root
        .put(
            &format!("/v1/orgips/{loopback}"),
            json!({"cidr": "198.51.100.0/24"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(message(&body).contains("restrict_to_orgips"), "{body}");
    let (status, body) = root.delete(&format!("/v1/orgips/{other}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, list) = root.get("/v1/orgips/index?organization_id=1").await;
    assert_eq!(list["data"][0]["cidr"], "127.0.0.0/8", "{list}");
    assert_eq!(list["total"], 1, "{list}");
    let (status, _) = root.get("/v1/organizations").await;
    assert_eq!(status, StatusCode::OK, "the caller still works");
}

#[tokio::test]
async fn readonly_and_plain_users_cannot_change_organizations() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    root.create_user("viewer", t.partner_a, "readonly").await;
    let viewer = app.login("viewer", crate::support::PASSWORD).await;
    let (status, _) = viewer
        .get(&format!("/v1/organizations/{}", t.tenant_a1))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = viewer
        .put(
            &format!("/v1/organizations/{}", t.tenant_a1),
            json!({"name": "Nope"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = viewer
        .post(
            "/v1/organizations",
            json!({"name": "Nope", "type": "tenant"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    root.create_user("tenantadmin", t.tenant_a1, "admin").await;
    let tenant_admin = app.login("tenantadmin", crate::support::PASSWORD).await;
    let (status, body) = tenant_admin
        .post(
            "/v1/organizations",
            json!({"name": "Sub", "type": "tenant"}),
        )
        .await;
    assert!(
        status == StatusCode::BAD_REQUEST || status == StatusCode::FORBIDDEN,
        "{body}"
    );
    let (status, _) = tenant_admin
        .put(
            &format!("/v1/organizations/{}", t.tenant_a1),
            json!({"name": "Ours"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a tenant admin edits its own organization"
    );
}
