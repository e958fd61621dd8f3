//! What every operation shares and its annotations leave out, written into the document once so
//! it describes exactly what the server sends: the success envelope around every 2xx body, the
//! error answers any operation can give (401/403 when it needs a token, 400 when it takes input,
//! 404 when its path or its body names an object, 413 for bodies, 429 and 503 always) in both
//! error shapes,
//! a description on every response, the bounds of the paging parameters, `type: object` on
//! object schemas, and links from each create to the reads and edits of what it created.
//!
//! Works on the document as JSON: the rules are about its shape, not about any one route, so a
//! new route is covered without anyone remembering to.

use serde_json::{Map, Value, json};

/// The error shapes and the envelope's parts, as component schemas.
pub fn add_components(doc: &mut Value) {
    let Some(schemas) = object_at(doc, &["components", "schemas"]) else {
        return;
    };
    schemas.insert(
        "ErrorBody".into(),
        json!({
            "type": "object",
            "description": "An error as JSON (when `Accept` prefers `application/json`).",
            "required": ["status", "code", "message"],
            "properties": {
                "status": {"type": "string", "enum": ["error"]},
                "code": {"type": "integer", "minimum": 400, "maximum": 599},
                "message": {"type": "string"},
                "errors": {"type": "array", "items": {"$ref": "#/components/schemas/RowError"}},
                "errors_omitted": {"type": "integer", "minimum": 1}
            }
        }),
    );
    for schema in schemas.values_mut() {
        mark_objects(schema);
    }
}

/// Applies every rule to every operation.
pub fn apply(doc: &mut Value) {
    add_components(doc);
    add_shared_responses(doc);
    let schemas = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    let operation_ids = operation_ids(paths);
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, operation) in item.iter_mut() {
            if !is_method(method) {
                continue;
            }
            let Some(operation) = operation.as_object_mut() else {
                continue;
            };
            if let Some(body) = operation.get_mut("requestBody") {
                mark_objects(body);
            }
            bound_paging(operation);
            envelope_successes(operation);
            let names_object = path.contains('{')
                || operation
                    .get("requestBody")
                    .is_some_and(|body| names_references(body, &schemas, 0));
            add_errors(names_object, operation);
            describe_responses(operation);
            if method == "post" {
                add_links(path, operation, &operation_ids);
            }
        }
    }
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn is_method(name: &str) -> bool {
    METHODS.contains(&name)
}

fn object_at<'a>(doc: &'a mut Value, keys: &[&str]) -> Option<&'a mut Map<String, Value>> {
    let mut here = doc;
    for key in keys {
        here = here.get_mut(*key)?;
    }
    here.as_object_mut()
}

/// `type: object` wherever a schema lists properties without saying what it is (utoipa leaves
/// it out on some structs), so clients and fuzzers do not send arrays or strings there.
fn mark_objects(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("type") {
                map.insert("type".into(), json!("object"));
            }
            for value in map.values_mut() {
                mark_objects(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mark_objects),
        _ => {}
    }
}

/// The paging parameters' bounds, as `http::pagination` enforces them.
fn bound_paging(operation: &mut Map<String, Value>) {
    let Some(parameters) = operation
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for parameter in parameters {
        let name = parameter.get("name").and_then(Value::as_str).unwrap_or("");
        let (minimum, is_page) = match name {
            "limit" | "per_page" => (1, false),
            "page" => (1, true),
            "offset" => (0, false),
            _ => continue,
        };
        if let Some(schema) = parameter.get_mut("schema").and_then(Value::as_object_mut) {
            schema.insert("minimum".into(), json!(minimum));
            if is_page {
                schema.insert("maximum".into(), json!(crate::http::pagination::MAX_PAGE));
            }
        }
    }
}

/// Every 2xx JSON body is `{"status":"success","data":…}`; a list (an array) adds `total`,
/// `limit` and `offset`.
fn envelope_successes(operation: &mut Map<String, Value>) {
    let Some(responses) = operation
        .get_mut("responses")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for (status, response) in responses.iter_mut() {
        if !status.starts_with('2') {
            continue;
        }
        let Some(schema) = response.pointer_mut("/content/application~1json/schema") else {
            continue;
        };
        let data = schema.take();
        *schema = envelope(data);
    }
}

fn envelope(data: Value) -> Value {
    let is_list = data.get("type").and_then(Value::as_str) == Some("array");
    let status = json!({"type": "string", "enum": ["success"]});
    if is_list {
        let count = json!({"type": "integer", "format": "int64", "minimum": 0});
        json!({
            "type": "object",
            "required": ["status", "data", "total", "limit", "offset"],
            "properties": {
                "status": status,
                "data": data,
                "total": count,
                "limit": count,
                "offset": count
            }
        })
    } else {
        json!({
            "type": "object",
            "required": ["status", "data"],
            "properties": {"status": status, "data": data}
        })
    }
}

/// The error answers an operation can give besides those its annotation names, each with both
/// error shapes (XML by default, JSON when asked).
fn add_errors(names_object: bool, operation: &mut Map<String, Value>) {
    let protected = operation
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    let takes_input = operation.contains_key("requestBody")
        || operation
            .get("parameters")
            .and_then(Value::as_array)
            .is_some_and(|p| !p.is_empty());
    let has_body = operation.contains_key("requestBody");
    let Some(responses) = operation
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut()
    else {
        return;
    };
    let mut add = |code: &str, when: bool| {
        if when && !responses.contains_key(code) {
            let reference = format!("#/components/responses/{}", shared_name(code));
            responses.insert(code.into(), json!({"$ref": reference}));
        }
    };
    add("400", takes_input);
    add("401", protected);
    add("403", protected);
    add("404", names_object);
    add("413", has_body);
    add("429", true);
    add("503", true);
    for (status, response) in responses.iter_mut() {
        let is_error = status.starts_with('4') || status.starts_with('5');
        let Some(response) = response
            .as_object_mut()
            .filter(|r| is_error && !r.contains_key("$ref"))
        else {
            continue;
        };
        let json_schema = response
            .get("content")
            .and_then(|c| c.get("application/json"))
            .and_then(|c| c.get("schema"))
            .cloned()
            .unwrap_or_else(|| json!({"$ref": "#/components/schemas/ErrorBody"}));
        response.insert("content".into(), error_content(json_schema));
    }
}

/// Whether a body schema has a field naming another object (`…_id`, or an `id` inside a nested
/// object such as a number's `assignment`), which answers 404 when that object is missing.
fn names_references(schema: &Value, schemas: &Map<String, Value>, depth: u8) -> bool {
    if depth > 8 {
        return false;
    }
    match schema {
        Value::Object(map) => {
            if let Some(target) = map.get("$ref").and_then(Value::as_str) {
                let name = target.rsplit('/').next().unwrap_or("");
                return schemas
                    .get(name)
                    .is_some_and(|s| names_references(s, schemas, depth + 1));
            }
            let by_name = map
                .get("properties")
                .and_then(Value::as_object)
                .is_some_and(|properties| {
                    properties
                        .keys()
                        .any(|key| key.ends_with("_id") || (depth > 0 && key == "id"))
                });
            by_name
                || map
                    .values()
                    .any(|value| names_references(value, schemas, depth + 1))
        }
        Value::Array(items) => items
            .iter()
            .any(|item| names_references(item, schemas, depth + 1)),
        _ => false,
    }
}

/// Both error shapes: XML by default, JSON when `Accept` prefers it.
fn error_content(json_schema: Value) -> Value {
    json!({
        "application/xml": {"schema": {"type": "string"}},
        "application/json": {"schema": json_schema}
    })
}

/// The errors every operation may answer, as shared responses.
const SHARED: [&str; 7] = ["400", "401", "403", "404", "413", "429", "503"];

fn shared_name(code: &str) -> String {
    format!("Error{code}")
}

fn add_shared_responses(doc: &mut Value) {
    let Some(components) = object_at(doc, &["components"]) else {
        return;
    };
    let responses = components.entry("responses").or_insert_with(|| json!({}));
    let Some(responses) = responses.as_object_mut() else {
        return;
    };
    for code in SHARED {
        let mut response = json!({
            "description": reason(code),
            "content": error_content(json!({"$ref": "#/components/schemas/ErrorBody"}))
        });
        if matches!(code, "429" | "503") {
            response["headers"] = json!({"Retry-After": {
                "description": "Seconds to wait before sending the request again",
                "schema": {"type": "integer", "minimum": 1}
            }});
        }
        responses.insert(shared_name(code), response);
    }
}

/// A description on every response (OpenAPI requires one): the status's reason phrase where
/// the annotation gave none.
fn describe_responses(operation: &mut Map<String, Value>) {
    let Some(responses) = operation
        .get_mut("responses")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for (status, response) in responses.iter_mut() {
        let Some(response) = response.as_object_mut().filter(|r| !r.contains_key("$ref")) else {
            continue;
        };
        let missing = response
            .get("description")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty);
        if missing {
            response.insert("description".into(), json!(reason(status)));
        }
    }
}

fn reason(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "Created",
        "202" => "Accepted",
        "204" => "No content",
        "400" => "Invalid input: a parameter or a field of the body (the message names it)",
        "401" => "No valid bearer token",
        "403" => "The caller's role does not allow this",
        "404" => {
            "No such object (or one the caller may not see), named in the path or by a field (the message names it)"
        }
        "409" => "Conflicts with the stored state",
        "413" => "Body larger than the configured limit",
        "429" => "Rate limit exceeded; `Retry-After` says when to retry",
        "503" => {
            "The database is unreachable or restarting (the message says so), or the listener holds its cap of connections; `Retry-After` says when to retry"
        }
        _ => "See the message",
    }
}

/// `operationId` by method and path, for links.
fn operation_ids(paths: &Map<String, Value>) -> Vec<(String, String, String)> {
    let mut ids = Vec::new();
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, operation) in item {
            if let Some(id) = operation.get("operationId").and_then(Value::as_str) {
                ids.push((method.clone(), path.clone(), id.to_string()));
            }
        }
    }
    ids
}

/// Links from a create (`POST /v1/things`) to the operations on what it created
/// (`/v1/things/{id}` and its sub-paths that take no other parameter), fed by `data.id` (or by
/// the field a path is keyed by, `data.name` for `{name}`).
fn add_links(path: &str, operation: &mut Map<String, Value>, ids: &[(String, String, String)]) {
    let Some(created) = operation
        .get_mut("responses")
        .and_then(|r| r.get_mut("201"))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let data = created
        .get("content")
        .and_then(|c| c.pointer("/application~1json/schema/properties/data"));
    let has_id =
        data.is_some_and(|d| d.pointer("/properties/id").is_some() || d.get("$ref").is_some());
    if !has_id {
        return;
    }
    let prefix = format!("{path}/{{");
    let mut links = Map::new();
    for (method, target, id) in ids {
        let Some(rest) = target.strip_prefix(&prefix) else {
            continue;
        };
        // Exactly one path parameter: `/v1/things/{id}` or `/v1/things/{id}/sub`.
        let Some((parameter, tail)) = rest.split_once('}') else {
            continue;
        };
        if tail.contains('{') || !is_method(method) {
            continue;
        }
        // `{id}` (or `{orgId}` …) is the created object's id; a path keyed by another field
        // (`/v1/sequences/{name}`) takes that field.
        let field = if parameter == "id" || parameter.ends_with("Id") || parameter.ends_with("_id")
        {
            "id"
        } else {
            parameter
        };
        links.insert(
            id.clone(),
            json!({
                "operationId": id,
                "parameters": {parameter: format!("$response.body#/data/{field}")}
            }),
        );
    }
    if !links.is_empty() {
        created.insert("links".into(), Value::Object(links));
    }
}

#[cfg(test)]
mod tests;
