//! The contract rules on a small document: envelopes, errors, bounds, types and links.

use super::*;

fn doc() -> Value {
    json!({
        "paths": {
            "/v1/things": {
                "get": {
                    "operationId": "list_things",
                    "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer"}},
                                   {"name": "page", "in": "query", "schema": {"type": "integer"}}],
                    "responses": {"200": {"content": {"application/json": {"schema":
                        {"type": "array", "items": {"$ref": "#/components/schemas/Thing"}}}}}},
                    "security": [{"bearer": []}]
                },
                "post": {
                    "operationId": "create_thing",
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewThing"}}}},
                    "responses": {"201": {"content": {"application/json": {"schema":
                        {"$ref": "#/components/schemas/Thing"}}}}},
                    "security": [{"bearer": []}]
                }
            },
            "/v1/things/{id}": {
                "get": {"operationId": "get_thing", "responses": {"200": {}}},
                "delete": {"operationId": "delete_thing", "responses": {"200": {}}}
            },
            "/v1/things/{id}/parts/{part_id}": {
                "get": {"operationId": "get_part", "responses": {"200": {}}}
            }
        },
        "components": {"schemas": {
            "Thing": {"properties": {"id": {"type": "integer"}}},
            "NewThing": {"type": "object", "properties": {"name": {"type": "string"}}}
        }}
    })
}

#[test]
fn lists_and_objects_get_their_envelopes() {
    let mut doc = doc();
    apply(&mut doc);
    let list = &doc["paths"]["/v1/things"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"];
    assert_eq!(
        list["required"],
        json!(["status", "data", "total", "limit", "offset"])
    );
    assert_eq!(list["properties"]["data"]["type"], "array");
    let one = &doc["paths"]["/v1/things"]["post"]["responses"]["201"]["content"]["application/json"]
        ["schema"];
    assert_eq!(one["required"], json!(["status", "data"]));
    assert_eq!(
        one["properties"]["data"]["$ref"],
        "#/components/schemas/Thing"
    );
}

#[test]
fn every_operation_documents_the_errors_it_can_give_in_both_shapes() {
    let mut doc = doc();
    apply(&mut doc);
    let list = &doc["paths"]["/v1/things"]["get"]["responses"];
    for code in ["400", "401", "403", "429", "503"] {
        let reference = list[code]["$ref"].as_str().unwrap();
        let name = reference.rsplit('/').next().unwrap();
        let shared = &doc["components"]["responses"][name];
        assert!(shared["content"]["application/xml"].is_object(), "{code}");
        assert_eq!(
            shared["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody"
        );
        assert!(
            shared["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
    }
    for code in ["429", "503"] {
        let shared = &doc["components"]["responses"][format!("Error{code}")];
        assert_eq!(
            shared["headers"]["Retry-After"]["schema"]["type"], "integer",
            "{code}"
        );
    }
    assert!(
        doc["components"]["responses"]["Error503"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("database"))
    );
    assert!(list.get("404").is_none(), "no path parameter, no 404");
    assert!(list.get("413").is_none(), "no body, no 413");
    let get = &doc["paths"]["/v1/things/{id}"]["get"]["responses"];
    assert!(get["404"].is_object());
    assert!(get.get("401").is_none(), "an open operation has no 401");
    assert!(doc["paths"]["/v1/things"]["post"]["responses"]["413"].is_object());
}

#[test]
fn paging_parameters_carry_their_bounds_and_objects_their_type() {
    let mut doc = doc();
    apply(&mut doc);
    assert_eq!(
        doc["paths"]["/v1/things"]["get"]["parameters"][0]["schema"]["minimum"],
        1
    );
    assert_eq!(doc["components"]["schemas"]["Thing"]["type"], "object");
    // The highest page the document allows is the highest the server takes, at any limit.
    let page = doc["paths"]["/v1/things"]["get"]["parameters"][1]["schema"].clone();
    let most = page["maximum"].as_i64().unwrap();
    let params = |page: i64| {
        crate::http::pagination::Params(
            [("page", page.to_string()), ("per_page", "1".to_string())]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    };
    assert!(params(most).page().is_ok(), "{page}");
    assert!(params(most + 1).page().is_err(), "{page}");
}

#[test]
fn the_highest_page_is_the_one_the_server_takes() {
    let mut doc = json!({"paths": {"/v1/things": {"get": {
        "parameters": [{"name": "page", "in": "query", "schema": {"type": "integer"}}],
        "responses": {}}}}});
    apply(&mut doc);
    let schema = &doc["paths"]["/v1/things"]["get"]["parameters"][0]["schema"];
    assert_eq!(schema["maximum"], crate::http::pagination::MAX_PAGE);
    assert_eq!(schema["minimum"], 1);
}

#[test]
fn a_create_links_to_the_operations_on_what_it_created() {
    let mut doc = doc();
    apply(&mut doc);
    let links = &doc["paths"]["/v1/things"]["post"]["responses"]["201"]["links"];
    assert_eq!(
        links["get_thing"]["parameters"]["id"],
        "$response.body#/data/id"
    );
    assert!(links["delete_thing"].is_object());
    assert!(links.get("get_part").is_none(), "needs a second parameter");
}

#[test]
fn a_path_keyed_by_name_links_the_created_name() {
    let mut doc = doc();
    doc["paths"]["/v1/things/{name}/next"] =
        json!({"post": {"operationId": "next_thing", "responses": {"200": {}}}});
    apply(&mut doc);
    let links = &doc["paths"]["/v1/things"]["post"]["responses"]["201"]["links"];
    assert_eq!(
        links["next_thing"]["parameters"]["name"],
        "$response.body#/data/name"
    );
    assert_eq!(
        links["get_thing"]["parameters"]["id"],
        "$response.body#/data/id"
    );
}
