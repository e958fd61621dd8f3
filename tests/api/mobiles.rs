//! Mobile (SIM) records (`/v1/mobiles`): Luhn-checked ICCIDs, IMSIs, the MSISDN number of the
//! same organization, state; tenancy and bad input.

use crate::support::{Api, PASSWORD, TestApp, message, tree};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Valid ICCIDs (Luhn check digit last).
const ICCID_A: &str = "89440001234567890120";
const ICCID_B: &str = "8901260123456789011";
const ICCID_C: &str = "8910042348144559361";

async fn number(api: &Api, org: i64, text: &str) -> i64 {
    let (status, body) = api
        .post(
            "/v1/numbers",
            json!({"number": text, "organization_id": org}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["data"]["id"].as_i64().unwrap()
}

#[tokio::test]
async fn crud_with_luhn_checked_iccid_and_msisdn_of_the_same_organization() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let msisdn = number(&root, t.partner_a, "+447700900123").await;
    let other_org_number = number(&root, t.tenant_a1, "+447700900124").await;

    let (status, body) = root
        .post(
            "/v1/mobiles",
            json!({"organization_id": t.partner_a, "iccid": "8944 0001 2345 6789 0120",
                   "imsi": "234150123456789", "msisdn_number_id": msisdn}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let sim = body["data"].clone();
    assert_eq!(sim["iccid"], ICCID_A, "stored without spaces");
    assert_eq!(sim["imsi"], "234150123456789");
    assert_eq!(sim["msisdn_number_id"], msisdn);
    assert_eq!(sim["msisdn"], "+447700900123");
    assert_eq!(sim["state"], "inactive", "default");
    let path = format!("/v1/mobiles/{}", sim["id"]);
    let (status, body) = root.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"], sim);

    for (bad, status_expected, needle) in [
        (
            json!({"iccid": ICCID_A}),
            StatusCode::CONFLICT,
            "iccid: already exists",
        ),
        (
            json!({"iccid": ICCID_B, "imsi": "234150123456789"}),
            StatusCode::CONFLICT,
            "imsi: already exists",
        ),
        (
            json!({"iccid": ICCID_B, "msisdn_number_id": msisdn}),
            StatusCode::CONFLICT,
            "msisdn_number_id: already exists",
        ),
        (
            json!({"iccid": "89440001234567890121"}),
            StatusCode::BAD_REQUEST,
            "iccid: check digit (Luhn) does not match",
        ),
        (
            json!({"iccid": "894400012345"}),
            StatusCode::BAD_REQUEST,
            "iccid: an ICCID has 19 or 20 digits",
        ),
        (
            json!({"iccid": "89440001234567890A20"}),
            StatusCode::BAD_REQUEST,
            "iccid: may contain only digits",
        ),
        (
            json!({"iccid": ICCID_B, "imsi": "23415012345"}),
            StatusCode::BAD_REQUEST,
            "imsi: an IMSI has 15 digits",
        ),
        (
            json!({"iccid": ICCID_B, "imsi": "934150123456789"}),
            StatusCode::BAD_REQUEST,
            "imsi: MCC",
        ),
        (
            json!({"iccid": ICCID_B, "msisdn_number_id": other_org_number}),
            StatusCode::CONFLICT,
            "msisdn_number_id: number",
        ),
        (
            json!({"iccid": ICCID_B, "msisdn_number_id": 987654}),
            StatusCode::NOT_FOUND,
            "msisdn_number_id: number 987654 not found",
        ),
        (
            json!({"iccid": ICCID_B, "state": "lost"}),
            StatusCode::BAD_REQUEST,
            "state:",
        ),
        (
            json!({"iccid": 8944}),
            StatusCode::BAD_REQUEST,
            "iccid: invalid type",
        ),
        (
            json!({"iccid": ICCID_B, "msisdn": "+44"}),
            StatusCode::BAD_REQUEST,
            "unknown field `msisdn`",
        ),
        (json!({}), StatusCode::BAD_REQUEST, "missing field `iccid`"),
    ] {
        let mut body = bad.clone();
        body["organization_id"] = json!(t.partner_a);
        let (status, response) = root.post("/v1/mobiles", body).await;
        assert_eq!(status, status_expected, "{bad}: {response}");
        assert!(
            message(&response).starts_with(needle) || message(&response).contains(needle),
            "{bad}: {response}"
        );
    }
    assert_eq!(
        root.total("/v1/mobiles").await,
        1,
        "nothing else was written"
    );

    // Update: state, unlink and relink the MSISDN, drop the IMSI.
    let (status, body) = root
        .put(
            &path,
            json!({"state": "active", "imsi": null, "msisdn_number_id": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["state"], "active");
    assert_eq!(body["data"]["imsi"], Value::Null);
    assert_eq!(body["data"]["msisdn"], Value::Null);
    let (status, body) = root.put(&path, json!({"msisdn_number_id": msisdn})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["msisdn"], "+447700900123");
    let (status, body) = root
        .put(&path, json!({"organization_id": t.tenant_a1}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        message(&body).starts_with("organization_id: cannot be changed"),
        "{body}"
    );
    let (status, body) = root.put(&path, json!({"iccid": "123"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).starts_with("iccid:"), "{body}");

    // A SIM's number cannot be deleted or moved away from it.
    let (status, body) = root.delete(&format!("/v1/numbers/{msisdn}")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(message(&body).contains("MSISDN of mobile"), "{body}");
    let (status, body) = root
        .put(
            &format!("/v1/numbers/{msisdn}"),
            json!({"organization_id": t.tenant_a1}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(message(&body).contains("MSISDN of mobile"), "{body}");

    // Lists and filters.
    let (status, body) = root
        .post(
            "/v1/mobiles",
            json!({"organization_id": t.tenant_a1, "iccid": ICCID_C, "state": "suspended"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(root.total("/v1/mobiles").await, 2);
    assert_eq!(root.total("/v1/mobiles?state=suspended").await, 1);
    assert_eq!(
        root.total(&format!("/v1/mobiles?organization_id={}", t.partner_a))
            .await,
        1
    );
    assert_eq!(
        root.total(&format!("/v1/mobiles?msisdn_number_id={msisdn}"))
            .await,
        1
    );
    assert_eq!(
        root.total("/v1/mobiles?iccid=8944-0001-2345-6789-0120")
            .await,
        1
    );
    let (status, body) = root.get("/v1/mobiles?iccid=12").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).starts_with("iccid:"), "{body}");
    let (status, body) = root.get("/v1/mobiles?state=lost").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let (status, body) = root.delete(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = root.get(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = root.delete(&format!("/v1/numbers/{msisdn}")).await;
    assert_eq!(status, StatusCode::OK, "unlinked with its SIM gone: {body}");
    let (_, audit) = root.get("/v1/auditlog?entity_type=mobile").await;
    assert_eq!(
        audit["total"], 5,
        "create, 2 updates, create, delete (refusals leave no record): {audit}"
    );
}

#[tokio::test]
async fn another_tenants_sim_is_404_and_its_numbers_cannot_be_linked() {
    let app = TestApp::start().await;
    let (t, root) = tree(&app).await;
    let a_number = number(&root, t.partner_a, "+14155550100").await;
    let (status, body) = root
        .post(
            "/v1/mobiles",
            json!({"organization_id": t.partner_a, "iccid": ICCID_A}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let sim = body["data"].clone();
    let path = format!("/v1/mobiles/{}", sim["id"]);
    root.create_user("b-admin", t.partner_b, "admin").await;
    root.create_user("a1-admin", t.tenant_a1, "admin").await;
    for user in ["b-admin", "a1-admin"] {
        let api = app.login(user, PASSWORD).await;
        for (status, body) in [
            api.get(&path).await,
            api.put(&path, json!({"state": "active"})).await,
            api.delete(&path).await,
        ] {
            assert_eq!(status, StatusCode::NOT_FOUND, "{user}: {body}");
            assert_eq!(message(&body), "mobile not found");
        }
        assert_eq!(api.total("/v1/mobiles").await, 0, "{user}");
        // Linking someone else's number reads like a missing one.
        let (status, body) = api
            .post(
                "/v1/mobiles",
                json!({"iccid": ICCID_B, "msisdn_number_id": a_number}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{user}: {body}");
        assert_eq!(
            message(&body),
            format!("msisdn_number_id: number {a_number} not found")
        );
    }
    let (_, body) = root.get(&path).await;
    assert_eq!(body["data"], sim, "unchanged");
    assert_eq!(root.total("/v1/mobiles").await, 1);
}
