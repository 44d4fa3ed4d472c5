//! The OpenAPI document at `/api/v1/openapi.json`: it is OpenAPI 3.1, it names exactly the
//! routes the router serves, and real answers of the real router match its schemas.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use cachet_core::input::TemplateInput;
use serde_json::{json, Value};

use crate::common::{App, Res, SYSTEM};

const DOC: &str = "/api/v1/openapi.json";

/// The operations of a path item, by method.
const METHODS: [(&str, Method); 4] = [
    ("get", Method::GET),
    ("post", Method::POST),
    ("put", Method::PUT),
    ("delete", Method::DELETE),
];

async fn document(app: &App) -> Value {
    let res = app.get(DOC, None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json()
}

/// Follows a local `$ref` (`#/components/...`).
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let target = doc
                .pointer(r.strip_prefix('#').expect("local reference"))
                .unwrap_or_else(|| panic!("{r} does not resolve"));
            resolve(doc, target)
        }
        None => v,
    }
}

/// Every `$ref` anywhere in `v`.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|v| refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

fn pointer_escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_self_consistent() {
    let app = App::new().await;
    let res = app.get(DOC, None).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header("content-type"), Some("application/json"));
    let spec = oas3::from_json(res.text()).expect("an OpenAPI 3.1 document");
    assert_eq!(spec.openapi, "3.1.0");
    assert_eq!(spec.info.version, "2.4.1");
    let doc = res.json();
    assert_eq!(doc["servers"], json!([{"url": "/api/v1"}]));
    assert_eq!(
        doc["components"]["securitySchemes"]["token"],
        json!({
            "type": "apiKey",
            "in": "header",
            "name": "X-Cachet-Token",
            "description": doc["components"]["securitySchemes"]["token"]["description"],
        })
    );

    // Every reference resolves.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 100, "{} references", all.len());
    for r in &all {
        assert!(
            doc.pointer(r.strip_prefix('#').unwrap()).is_some(),
            "{r} does not resolve"
        );
    }

    // Every component schema is a valid JSON Schema 2020-12 schema.
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        let mut standalone = doc.clone();
        standalone["$ref"] = json!(format!("#/components/schemas/{}", pointer_escape(name)));
        jsonschema::meta::validate(schema).unwrap_or_else(|e| panic!("{name}: {e}"));
        jsonschema::draft202012::new(&standalone).unwrap_or_else(|e| panic!("{name}: {e}"));
    }

    // Operation ids are unique, every link names one, and each operation documents its
    // successes, its parameters' errors and its security.
    let mut ids = BTreeSet::new();
    let mut links = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, _) in METHODS {
            let Some(op) = item.get(method) else { continue };
            let id = op["operationId"].as_str().unwrap().to_string();
            assert!(ids.insert(id.clone()), "{id} twice");
            assert!(op["security"].is_array(), "{id}: no security");
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2') || s == "304"),
                "{id}: no success"
            );
            assert!(responses.contains_key("406"), "{id}: no 406");
            for p in path.split('/').filter(|s| s.starts_with('{')) {
                let name = p.trim_matches(|c| c == '{' || c == '}');
                let declared = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|q| q["in"] == "path" && q["name"] == name && q["required"] == true);
                assert!(declared, "{id}: path parameter {name} undeclared");
                assert!(responses.contains_key("404"), "{id}: no 404");
            }
            for response in responses.values() {
                if let Some(l) = resolve(&doc, response).get("links") {
                    for (_, link) in l.as_object().unwrap() {
                        links.push(link["operationId"].as_str().unwrap().to_string());
                    }
                }
            }
        }
    }
    assert!(!links.is_empty());
    for l in &links {
        assert!(ids.contains(l), "link to unknown operation {l}");
    }
}

#[tokio::test]
async fn the_document_is_public_cacheable_and_revalidates() {
    let app = App::new().await;
    for token in [None, Some(app.viewer.as_str())] {
        let res = app.get(DOC, token).await;
        assert_eq!(res.status, StatusCode::OK);
        assert_eq!(res.header("cache-control"), Some("public, max-age=3600"));
        assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
        assert!(res.header("content-security-policy").is_some());
        assert!(res.header("referrer-policy").is_some());
        assert!(res.header("x-frame-options").is_some());
    }
    let first = app.get(DOC, None).await;
    let etag = first.header("etag").unwrap().to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"') && etag.len() == 34);
    let again = app.get(DOC, None).await;
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    assert_eq!(again.body, first.body);
    for sent in [etag.clone(), format!("W/{etag}"), format!("\"x\", {etag}")] {
        let req = Request::get(DOC)
            .header("if-none-match", sent.as_str())
            .body(Body::empty())
            .unwrap();
        let res = app.send(req).await;
        assert_eq!(res.status, StatusCode::NOT_MODIFIED, "{sent}");
        assert!(res.body.is_empty());
        assert_eq!(res.header("etag"), Some(etag.as_str()));
    }
    let req = Request::get(DOC)
        .header("if-none-match", "\"other\"")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(req).await.status, StatusCode::OK);
    // Like every API answer, not for a client that refuses JSON.
    let req = Request::get(DOC)
        .header("accept", "text/html")
        .body(Body::empty())
        .unwrap();
    app.send(req).await.error(406);
}

#[tokio::test]
async fn a_nested_router_serves_its_own_server_url() {
    let app = App::new().await;
    let nested = axum::Router::new().nest("/status", app.router.clone());
    let res = tower::ServiceExt::oneshot(
        nested,
        Request::get("/status/api/v1/openapi.json")
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["servers"], json!([{"url": "/status/api/v1"}]));
}

/// `/a/{id}/b/{uid}` with `1` for each parameter.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|s| if s.starts_with('{') { "1" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_route_is_documented_and_every_operation_is_routed() {
    let app = App::new().await;
    let doc = document(&app).await;
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|(m, _)| item.get(*m).is_some())
                .map(|(m, _)| (path.clone(), m.to_uppercase()))
                .collect::<Vec<_>>()
        })
        .collect();
    // The router's paths come from its own table; which methods each serves, from the
    // router itself: anything but 405 means routed.
    let paths = cachet_http::api_paths();
    assert_eq!(paths.len(), doc["paths"].as_object().unwrap().len());
    let mut routed = BTreeSet::new();
    for path in &paths {
        assert!(
            doc["paths"].get(*path).is_some(),
            "{path} is not documented"
        );
        for slash in ["", "/"] {
            let uri = format!("/api/v1{}{slash}", concrete(path));
            let mut served = Vec::new();
            for method in [
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::DELETE,
                Method::PATCH,
                Method::HEAD,
            ] {
                let res = app.call(method.clone(), &uri, Some(&app.admin), None).await;
                if res.status != StatusCode::METHOD_NOT_ALLOWED {
                    served.push(method.clone());
                    if method != Method::HEAD {
                        routed.insert((path.to_string(), method.to_string()));
                    }
                } else if method != Method::HEAD {
                    res.error(405);
                }
            }
            assert!(!served.contains(&Method::PATCH), "{uri}: PATCH");
            assert_eq!(
                served.contains(&Method::HEAD),
                served.contains(&Method::GET),
                "{uri}: HEAD iff GET"
            );
        }
    }
    assert_eq!(routed, documented);
    assert_eq!(routed.len(), 46);
}

/// Validates answers against the document: the status must be documented for the
/// operation, and the body must match its schema (or be empty when none is given). Object
/// schemas are closed here (`unevaluatedProperties: false`), so a field the document does
/// not name is a failure too.
struct Checker {
    doc: Value,
    checked: BTreeMap<(String, String), BTreeSet<u16>>,
}

fn close_objects(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.contains_key("properties") && !m.contains_key("additionalProperties") {
                m.insert("unevaluatedProperties".into(), Value::Bool(false));
            }
            m.values_mut().for_each(close_objects);
        }
        Value::Array(a) => a.iter_mut().for_each(close_objects),
        _ => {}
    }
}

impl Checker {
    fn new(mut doc: Value) -> Checker {
        // Responses only: request schemas stay as they are (they are not used here).
        close_objects(&mut doc["components"]["schemas"]);
        Checker {
            doc,
            checked: BTreeMap::new(),
        }
    }

    fn check(&mut self, method: &str, path: &str, res: &Res) -> Value {
        let op_pointer = format!("/paths/{}/{method}", pointer_escape(path));
        let op = self
            .doc
            .pointer(&op_pointer)
            .unwrap_or_else(|| panic!("{method} {path} is not documented"));
        let status = res.status.as_u16().to_string();
        let Some(response) = op["responses"].get(&status) else {
            panic!(
                "{method} {path}: status {status} is not documented: {}",
                res.text()
            );
        };
        // A response is inline or a reference to `components.responses`.
        let response_pointer = match response.get("$ref").and_then(Value::as_str) {
            Some(r) => r.trim_start_matches('#').to_string(),
            None => format!("{op_pointer}/responses/{status}"),
        };
        let response = self.doc.pointer(&response_pointer).unwrap().clone();
        self.checked
            .entry((method.into(), path.into()))
            .or_default()
            .insert(res.status.as_u16());
        let Some(content) = response.get("content") else {
            assert!(
                res.body.is_empty(),
                "{method} {path} {status}: a body where none is documented"
            );
            return Value::Null;
        };
        assert!(
            content.get("application/json").is_some(),
            "{method} {path} {status}: not JSON"
        );
        res.assert_json_type();
        let body = res.json();
        let errors = self.errors(&response_pointer, &body);
        assert!(
            errors.is_empty(),
            "{method} {path} {status} does not match the document:\n{}\n{body:#}",
            errors.join("\n")
        );
        body
    }

    /// What is wrong with `body` for the JSON schema of the response at `response_pointer`.
    fn errors(&self, response_pointer: &str, body: &Value) -> Vec<String> {
        let mut schema = self.doc.clone();
        // A JSON pointer in a URI fragment: `{` and `}` of path templates are percent-encoded.
        let fragment = format!("{response_pointer}/content/application~1json/schema")
            .replace('{', "%7B")
            .replace('}', "%7D");
        schema["$ref"] = json!(format!("#{fragment}"));
        let validator = jsonschema::draft202012::new(&schema).unwrap();
        validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }
}

#[tokio::test]
async fn real_answers_match_the_document() {
    let app = App::new().await;
    let mut c = Checker::new(document(&app).await);
    let admin = Some(app.admin.as_str());
    let id = |v: &Value| v["data"]["id"].as_i64().unwrap();

    // Writes, in JSON and as forms, checked on the way.
    let group = c.check(
        "post",
        "/components/groups",
        &app.post(
            "/api/v1/components/groups",
            admin,
            json!({"name": "Web", "visible": 1, "collapsed": 2}),
        )
        .await,
    );
    let g = id(&group);
    let component = c.check(
        "post",
        "/components",
        &app.post(
            "/api/v1/components",
            admin,
            json!({"name": "API", "status": 1, "group_id": g, "tags": "Foo,Bar",
                   "meta": {"owner": "ops", "tier": 1}, "link": "https://example.com/api",
                   "description": "The public API."}),
        )
        .await,
    );
    let comp = id(&component);
    // The checker itself: an unknown field, a missing one or a wrong type is refused.
    let ok = "/paths/~1components/post/responses/200";
    assert!(c.errors(ok, &component).is_empty());
    for broken in [
        json!({"secret": "x"}),
        json!({"status": "1"}),
        json!({"created_at": "2024-03-05T10:00:00Z"}),
        json!({"tags": []}),
    ] {
        let mut body = component.clone();
        for (k, v) in broken.as_object().unwrap() {
            body["data"][k] = v.clone();
        }
        assert!(!c.errors(ok, &body).is_empty(), "{broken} accepted");
    }
    let mut body = component.clone();
    body["data"].as_object_mut().unwrap().remove("name");
    assert!(!c.errors(ok, &body).is_empty(), "missing name accepted");
    assert_eq!(
        component["data"]["tags"],
        json!({"foo": "Foo", "bar": "Bar"})
    );
    let form = c.check(
        "post",
        "/components",
        &app.form(
            Method::POST,
            "/api/v1/components",
            admin,
            "name=DB&status=2&meta[owner]=dba&tags=x,y&enabled=0",
        )
        .await,
    );
    assert_eq!(form["data"]["meta"], json!({"owner": "dba"}));
    assert_eq!(form["data"]["enabled"], false);
    c.check(
        "post",
        "/components",
        &app.post("/api/v1/components", admin, json!({"name": "Bare"}))
            .await,
    );
    let template = app
        .service
        .create_template(
            &SYSTEM,
            TemplateInput {
                name: Some("Outage".into()),
                slug: None,
                template: Some("{{ name }} is down.".into()),
            },
        )
        .await
        .unwrap();
    let incident = c.check(
        "post",
        "/incidents",
        &app.post(
            "/api/v1/incidents",
            admin,
            json!({"name": "Outage", "status": 1, "message": "ignored", "template": "outage",
                   "vars": {"name": "API"}, "component_id": comp, "component_status": 4,
                   "meta": {"ticket": "T-1"}, "occurred_at": "2024-03-05 10:00"}),
        )
        .await,
    );
    let inc = id(&incident);
    assert_eq!(incident["data"]["message"], "API is down.");
    c.check(
        "post",
        "/incidents",
        &app.form(
            Method::POST,
            "/api/v1/incidents",
            admin,
            "name=Hidden&status=4&message=gone&visible=0&stickied=1",
        )
        .await,
    );
    let update = c.check(
        "post",
        "/incidents/{id}/updates",
        &app.post(
            &format!("/api/v1/incidents/{inc}/updates"),
            admin,
            json!({"status": 2, "message": "Found it."}),
        )
        .await,
    );
    let upd = id(&update);
    let metric = c.check(
        "post",
        "/metrics",
        &app.post(
            "/api/v1/metrics",
            admin,
            json!({"name": "Latency", "suffix": "ms", "default_value": 0.5, "threshold": 5,
                   "places": 1, "view": 2}),
        )
        .await,
    );
    let met = id(&metric);
    let point = c.check(
        "post",
        "/metrics/{id}/points",
        &app.post(
            &format!("/api/v1/metrics/{met}/points"),
            admin,
            json!({"value": 12.5}),
        )
        .await,
    );
    let pt = id(&point);
    let schedule = c.check(
        "post",
        "/schedules",
        &app.form(
            Method::POST,
            "/api/v1/schedules",
            admin,
            &format!(
                "name=Upgrade&status=0&scheduled_at=2030-01-01+10:00&completed_at=2030-01-01+12:00&components={comp},{comp}&message=Planned"
            ),
        )
        .await,
    );
    let sch = id(&schedule);
    assert_eq!(schedule["data"]["components"].as_array().unwrap().len(), 1);
    let subscriber = c.check(
        "post",
        "/subscribers",
        &app.post(
            "/api/v1/subscribers",
            admin,
            json!({"email": "a@example.com", "verify": true, "components": [comp]}),
        )
        .await,
    );
    let sub = id(&subscriber);
    let subscription = subscriber["data"]["subscriptions"][0]["id"]
        .as_i64()
        .unwrap();
    assert!(subscriber["data"]["verified_at"].is_string());
    let unverified = c.check(
        "post",
        "/subscribers",
        &app.post(
            "/api/v1/subscribers",
            admin,
            json!({"email": "b@example.com"}),
        )
        .await,
    );
    assert!(unverified["data"]["verified_at"].is_null());

    // Every read, as the admin, as a guest and in another zone.
    let ids: BTreeMap<&str, Vec<i64>> = BTreeMap::from([
        ("/components/{id}", vec![comp]),
        ("/components/groups/{id}", vec![g]),
        ("/incidents/{id}", vec![inc]),
        ("/incidents/{id}/updates", vec![inc]),
        ("/incidents/{id}/updates/{uid}", vec![inc, upd]),
        ("/incidents/templates/{id}", vec![template.id.get()]),
        ("/metrics/{id}", vec![met]),
        ("/metrics/{id}/points", vec![met]),
        ("/metrics/{id}/points/{pid}", vec![met, pt]),
        ("/schedules/{id}", vec![sch]),
        ("/subscribers/{id}", vec![sub]),
        ("/subscriptions/{id}", vec![subscription]),
    ]);
    let fill = |path: &str| -> String {
        let mut values = ids.get(path).cloned().unwrap_or_default().into_iter();
        let filled: Vec<String> = path
            .split('/')
            .map(|s| {
                if s.starts_with('{') {
                    values.next().unwrap().to_string()
                } else {
                    s.to_string()
                }
            })
            .collect();
        format!("/api/v1{}", filled.join("/"))
    };
    let paths: Vec<String> = c.doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    for path in &paths {
        if c.doc["paths"][path].get("get").is_none() {
            continue;
        }
        let uri = fill(path);
        let res = app.get(&uri, admin).await;
        assert!(res.status.is_success(), "{uri}: {}", res.text());
        c.check("get", path, &res);
        c.check("get", path, &app.get(&uri, None).await);
        let req = Request::get(format!("{uri}?per_page=1&sort=id&order=desc"))
            .header("x-cachet-token", app.admin.as_str())
            .header("time-zone", "Asia/Kolkata")
            .body(Body::empty())
            .unwrap();
        let res = app.send(req).await;
        assert!(res.status.is_success(), "{uri}: {}", res.text());
        c.check("get", path, &res);
    }

    // Changes.
    let puts: [(&str, Value); 7] = [
        (
            "/components/{id}",
            json!({"status": 3, "tags": [], "meta": null}),
        ),
        (
            "/components/groups/{id}",
            json!({"name": "Website", "visible": false}),
        ),
        (
            "/incidents/{id}",
            json!({"stickied": true, "meta": {"ticket": ""}}),
        ),
        (
            "/incidents/{id}/updates/{uid}",
            json!({"status": 4, "message": "Fixed."}),
        ),
        ("/metrics/{id}", json!({"threshold": 10, "calc_type": 1})),
        ("/metrics/{id}/points/{pid}", json!({"value": 999})),
        ("/schedules/{id}", json!({"completed_at": "", "status": 1})),
    ];
    for (path, body) in puts {
        let res = app.put(&fill(path), admin, body).await;
        assert_eq!(res.status, StatusCode::OK, "{path}: {}", res.text());
        c.check("put", path, &res);
    }

    // Failures: each with its documented envelope.
    let missing = app.get("/api/v1/components/999", None).await;
    c.check("get", "/components/{id}", &missing);
    let unauthenticated = app
        .post("/api/v1/components", None, json!({"name": "X"}))
        .await;
    c.check("post", "/components", &unauthenticated);
    let forbidden = app
        .post(
            "/api/v1/components",
            Some(&app.viewer),
            json!({"name": "X"}),
        )
        .await;
    c.check("post", "/components", &forbidden);
    let invalid = app
        .post(
            "/api/v1/components",
            admin,
            json!({"name": "", "status": 9}),
        )
        .await;
    assert_eq!(
        c.check("post", "/components", &invalid)["errors"][0]["meta"]["details"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let unsupported = app
        .raw(
            Method::POST,
            "/api/v1/metrics",
            admin,
            Some("text/xml"),
            "<name/>",
        )
        .await;
    c.check("post", "/metrics", &unsupported);
    let zone = Request::get("/api/v1/incidents")
        .header("time-zone", "Mars/Olympus")
        .body(Body::empty())
        .unwrap();
    c.check("get", "/incidents", &app.send(zone).await);
    let refused = Request::get("/api/v1/ping")
        .header("accept", "text/html")
        .body(Body::empty())
        .unwrap();
    c.check("get", "/ping", &app.send(refused).await);

    // Deletes last, children first.
    for path in [
        "/subscriptions/{id}",
        "/subscribers/{id}",
        "/metrics/{id}/points/{pid}",
        "/metrics/{id}",
        "/incidents/{id}/updates/{uid}",
        "/incidents/{id}",
        "/schedules/{id}",
        "/components/{id}",
        "/components/groups/{id}",
    ] {
        let res = app.delete(&fill(path), admin).await;
        assert_eq!(res.status, StatusCode::NO_CONTENT, "{path}");
        c.check("delete", path, &res);
    }

    // Every operation was answered at least once.
    let mut unchecked = Vec::new();
    for path in &paths {
        for (method, _) in METHODS {
            if c.doc["paths"][path].get(method).is_some()
                && !c.checked.contains_key(&(method.to_string(), path.clone()))
            {
                unchecked.push(format!("{method} {path}"));
            }
        }
    }
    assert!(unchecked.is_empty(), "never checked: {unchecked:?}");
}

/// A form body for `value` as the document's `encoding` says: objects as `name[key]=v`
/// (`deepObject`), lists as `name=a,b` (`form`, not exploded), scalars as their text.
fn form_body(value: &Value, encoding: &Value) -> String {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (name, v) in value.as_object().unwrap() {
        let style = encoding[name]["style"].as_str();
        match (v, style) {
            (Value::Object(m), Some("deepObject")) => {
                for (k, inner) in m {
                    s.append_pair(&format!("{name}[{k}]"), &text(inner));
                }
            }
            (Value::Array(items), Some("form")) => {
                let joined: Vec<String> = items.iter().map(text).collect();
                s.append_pair(name, &joined.join(","));
            }
            (Value::Object(_) | Value::Array(_), _) => panic!("{name}: no encoding"),
            (scalar, _) => {
                s.append_pair(name, &text(scalar));
            }
        }
    }
    s.finish()
}

#[tokio::test]
async fn every_body_example_is_valid_and_accepted_as_json_and_as_a_form() {
    let app = App::new().await;
    let doc = document(&app).await;
    let c = Checker::new(doc.clone());
    // Parents first, so that `/incidents/{id}/updates` has an incident.
    let mut creates: Vec<&String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, item)| item.get("post").is_some())
        .map(|(path, _)| path)
        .collect();
    creates.sort_by_key(|p| p.matches('/').count());
    assert_eq!(creates.len(), 8);
    let mut made: BTreeMap<String, i64> = BTreeMap::new();
    for path in creates {
        let body = resolve(&doc, &doc["paths"][path]["post"]["requestBody"]);
        let schema = resolve(&doc, &body["content"]["application/json"]["schema"]);
        let examples = schema["examples"]
            .as_array()
            .unwrap_or_else(|| panic!("{path}: no example"));
        let encoding = &body["content"]["application/x-www-form-urlencoded"]["encoding"];
        // `/incidents/{id}/updates` -> the incident made at `/incidents`.
        let uri = match path.split_once("/{id}") {
            Some((parent, rest)) => format!("/api/v1{parent}/{}{rest}", made[parent]),
            None => format!("/api/v1{path}"),
        };
        for example in examples {
            let mut standalone = doc.clone();
            standalone["$ref"] = body["content"]["application/json"]["schema"]["$ref"].clone();
            let validator = jsonschema::draft202012::new(&standalone).unwrap();
            assert!(
                validator.is_valid(example),
                "{path}: example not valid: {example}"
            );
            let as_json = app.post(&uri, Some(&app.admin), example.clone()).await;
            assert_eq!(as_json.status, StatusCode::OK, "{path}: {}", as_json.text());
            let form = form_body(example, encoding);
            let as_form = app.form(Method::POST, &uri, Some(&app.admin), &form).await;
            assert_eq!(
                as_form.status,
                StatusCode::OK,
                "{path} {form}: {}",
                as_form.text()
            );
            // The same resource either way (what a form can carry: every value as text).
            let (j, f) = (as_json.json(), as_form.json());
            for key in example.as_object().unwrap().keys() {
                if j["data"].get(key).is_some() {
                    assert_eq!(j["data"][key], f["data"][key], "{path}: {key}");
                }
            }
            made.insert(path.clone(), j["data"]["id"].as_i64().unwrap());
            assert!(c
                .errors(
                    &format!("/paths/{}/post/responses/200", pointer_escape(path)),
                    &j
                )
                .is_empty());
        }
    }
}
