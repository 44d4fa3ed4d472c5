//! Transport rules: envelopes, content types, negotiation, methods, limits, auth, headers.

use axum::body::Body;
use axum::http::{Method, Request};
use cachet_core::input::ComponentInput;
use cachet_core::store::{ComponentFilter, ListQuery};
use cachet_core::Store;
use chrono::{NaiveDateTime, TimeDelta};
use serde_json::json;

use crate::common::{App, SYSTEM};

async fn component(app: &App, name: &str) -> i64 {
    app.service
        .create_component(
            &SYSTEM,
            ComponentInput {
                name: Some(name.into()),
                status: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id
        .get()
}

async fn component_count(app: &App) -> u64 {
    app.store
        .list_components(&ListQuery::<_, ComponentFilter>::default())
        .await
        .unwrap()
        .total
}

#[tokio::test]
async fn unknown_paths_are_json_404() {
    let app = App::new().await;
    for path in [
        "/api/v1/nope",
        "/api/v1/components/1/nope/deeper",
        "/api/v1",
        "/api/v1/incidents/1/updates/2/x",
    ] {
        let e = app.get(path, None).await.error(404);
        assert_eq!(
            e["detail"],
            "The requested resource could not be found but may be available again in the future.",
            "{path}"
        );
    }
}

/// Outside the API, a path no route takes gets the status page's 404 page, with the
/// headers of every page (walkthrough finding: an empty body).
#[tokio::test]
async fn unknown_pages_are_the_html_404_page() {
    let app = App::new().await;
    for path in ["/nope", "/dashboard/sign-in", "/subscribe/nope/deeper"] {
        let res = app.get(path, None).await;
        assert_eq!(res.status, axum::http::StatusCode::NOT_FOUND, "{path}");
        assert!(
            res.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        assert!(res.text().contains("<h1>"), "{path}: {}", res.text());
        assert!(
            res.headers.contains_key("content-security-policy"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn wrong_methods_are_json_405() {
    let app = App::new().await;
    let id = component(&app, "a").await;
    for (method, path) in [
        (Method::PATCH, format!("/api/v1/components/{id}")),
        (Method::POST, "/api/v1/ping".to_string()),
        (Method::POST, format!("/api/v1/components/{id}")),
        (Method::DELETE, "/api/v1/components".to_string()),
        (Method::PUT, "/api/v1/incidents/templates/1".to_string()),
        (Method::GET, "/api/v1/subscriptions/1".to_string()),
    ] {
        let res = app
            .call(method.clone(), &path, Some(&app.admin), None)
            .await;
        res.error(405);
        assert!(
            res.header("allow").is_some(),
            "{method} {path}: no Allow header"
        );
    }
}

#[tokio::test]
async fn non_numeric_ids_are_404_naming_the_model() {
    let app = App::new().await;
    for (path, model) in [
        ("/api/v1/components/abc", "Component"),
        ("/api/v1/components/-1", "Component"),
        ("/api/v1/components/1.5", "Component"),
        ("/api/v1/components/99999999999999999999999", "Component"),
        ("/api/v1/components/groups/x", "ComponentGroup"),
        ("/api/v1/incidents/%31", "Incident"),
        ("/api/v1/metrics/0", "Metric"),
        ("/api/v1/schedules/7", "Schedule"),
        ("/api/v1/incidents/templates/9", "IncidentTemplate"),
    ] {
        let e = app.get(path, Some(&app.admin)).await.error(404);
        assert_eq!(
            e["detail"],
            format!("No query results for model [CachetHQ\\Cachet\\Models\\{model}]."),
            "{path}"
        );
    }
    // Invalid UTF-8 in an id names nothing.
    app.get("/api/v1/incidents/%FF", Some(&app.admin))
        .await
        .error(404);
}

#[tokio::test]
async fn accept_header_negotiation() {
    let app = App::new().await;
    for accept in [
        "*/*",
        "application/*",
        "application/json",
        "application/json, text/plain, */*",
    ] {
        let req = Request::get("/api/v1/ping")
            .header("accept", accept)
            .body(Body::empty())
            .unwrap();
        assert_eq!(app.send(req).await.status, 200, "{accept}");
    }
    for accept in [
        "text/html",
        "text/html,application/xhtml+xml",
        "application/json;q=0",
    ] {
        let req = Request::get("/api/v1/components")
            .header("accept", accept)
            .body(Body::empty())
            .unwrap();
        app.send(req).await.error(406);
    }
}

#[tokio::test]
async fn delete_is_204_without_body_or_content_type() {
    let app = App::new().await;
    let id = component(&app, "a").await;
    // cachethq-client sends `{}` with a JSON content type on DELETE.
    let res = app
        .raw(
            Method::DELETE,
            &format!("/api/v1/components/{id}"),
            Some(&app.admin),
            Some("application/json"),
            "{}",
        )
        .await;
    assert_eq!(res.status, 204);
    assert!(res.body.is_empty());
    assert_eq!(res.header("content-type"), None);
    assert_eq!(component_count(&app).await, 0);
}

#[tokio::test]
async fn get_with_json_content_type_and_empty_or_odd_body_works() {
    let app = App::new().await;
    component(&app, "a").await;
    for body in ["", "{}", "not json at all"] {
        let res = app
            .raw(
                Method::GET,
                "/api/v1/components",
                Some(&app.admin),
                Some("application/json"),
                body,
            )
            .await;
        assert_eq!(res.total(), 1, "{body:?}");
    }
}

#[tokio::test]
async fn malformed_bodies_are_400_and_write_nothing() {
    let app = App::new().await;
    for (ct, body) in [
        ("application/json", "{\"name\": "),
        ("application/json", "[1]"),
        ("application/json", "\"x\""),
        ("application/json", "42"),
        ("application/json", "{\"name\":\"a\",\"status\":NaN}"),
        ("application/json", "{\"name\":\"a\",\"status\":Infinity}"),
        ("application/json", "\u{0}\u{1}"),
    ] {
        let res = app
            .raw(
                Method::POST,
                "/api/v1/components",
                Some(&app.admin),
                Some(ct),
                body,
            )
            .await;
        res.error(400);
    }
    // Deep nesting is refused by the JSON parser, not by a stack overflow.
    let deep = format!("{{\"meta\":{}1{}}}", "[".repeat(5000), "]".repeat(5000));
    app.raw(
        Method::POST,
        "/api/v1/components",
        Some(&app.admin),
        Some("application/json"),
        deep,
    )
    .await
    .error(400);
    let res = app
        .raw(
            Method::POST,
            "/api/v1/components",
            Some(&app.admin),
            Some("multipart/form-data; boundary=x"),
            "--x--",
        )
        .await;
    res.error(415);
    assert_eq!(component_count(&app).await, 0);
}

#[tokio::test]
async fn oversized_bodies_are_413_json() {
    let app = App::with_config(cachet_http::HttpConfig {
        max_body_bytes: 1024,
        ..Default::default()
    })
    .await;
    let big = json!({"name": "x", "status": 1, "description": "y".repeat(4000)}).to_string();
    // Without a Content-Length the limit holds while reading.
    let res = app
        .raw(
            Method::POST,
            "/api/v1/components",
            Some(&app.admin),
            Some("application/json"),
            big.clone(),
        )
        .await;
    res.error(413);
    // With one, the request is refused before the body is read.
    let req = Request::post("/api/v1/components")
        .header("X-Cachet-Token", &app.admin)
        .header("content-type", "application/json")
        .header("content-length", big.len().to_string())
        .body(Body::from(big))
        .unwrap();
    app.send(req).await.error(413);
    assert_eq!(component_count(&app).await, 0);
    // A body under the limit passes.
    app.post(
        "/api/v1/components",
        Some(&app.admin),
        json!({"name": "ok", "status": 1}),
    )
    .await
    .data();
}

#[tokio::test]
async fn writes_need_a_valid_token_and_reads_treat_a_bad_one_as_guest() {
    let app = App::new().await;
    let e = app
        .post(
            "/api/v1/components",
            None,
            json!({"name": "x", "status": 1}),
        )
        .await
        .error(401);
    assert_eq!(
        e["detail"],
        "Authentication is required and has failed or has not yet been provided."
    );
    app.post(
        "/api/v1/components",
        Some("invalid-token"),
        json!({"name": "x", "status": 1}),
    )
    .await
    .error(401);
    app.post(
        "/api/v1/components",
        Some(""),
        json!({"name": "x", "status": 1}),
    )
    .await
    .error(401);
    assert_eq!(component_count(&app).await, 0);
    let res = app.get("/api/v1/components", Some("invalid-token")).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.total(), 0);
}

#[tokio::test]
async fn security_headers_on_every_response() {
    let app = App::new().await;
    for res in [
        app.get("/api/v1/ping", None).await,
        app.get("/api/v1/nope", None).await,
        app.post("/api/v1/components", None, json!({})).await,
        app.get("/not-the-api", None).await,
    ] {
        let csp = res.header("content-security-policy").unwrap();
        assert!(
            csp.contains("default-src 'none'")
                && csp.contains("frame-ancestors 'none'")
                && !csp.contains("unsafe-inline")
        );
        assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(res.header("x-frame-options"), Some("DENY"));
        assert_eq!(
            res.header("referrer-policy"),
            Some("strict-origin-when-cross-origin")
        );
        assert_eq!(
            res.header("cross-origin-opener-policy"),
            Some("same-origin")
        );
        assert_eq!(
            res.header("permissions-policy"),
            Some("camera=(), microphone=(), geolocation=()")
        );
        assert_eq!(res.header("strict-transport-security"), None);
    }
    let app = App::with_config(cachet_http::HttpConfig {
        hsts: cachet_http::Hsts::Always,
        ..Default::default()
    })
    .await;
    let res = app.get("/api/v1/ping", None).await;
    assert!(res
        .header("strict-transport-security")
        .unwrap()
        .starts_with("max-age="));
    assert_eq!(res.header("cache-control"), Some("no-cache, private"));
}

#[tokio::test]
async fn time_zone_header_shifts_every_date_and_bad_zones_are_refused() {
    let app = App::new().await;
    let id = component(&app, "a").await;
    let utc = app
        .get(&format!("/api/v1/components/{id}"), None)
        .await
        .data()["created_at"]
        .as_str()
        .unwrap()
        .to_string();
    let req = Request::get(format!("/api/v1/components/{id}"))
        .header("time-zone", "Asia/Kolkata")
        .body(Body::empty())
        .unwrap();
    let local = app.send(req).await.data()["created_at"]
        .as_str()
        .unwrap()
        .to_string();
    let parse = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
    assert_eq!(parse(&local) - parse(&utc), TimeDelta::minutes(330));
    for bad in ["Mars/Olympus", "UTC+2", ""] {
        let req = Request::get(format!("/api/v1/components/{id}"))
            .header("time-zone", bad)
            .body(Body::empty())
            .unwrap();
        let e = app.send(req).await.error(400);
        assert!(
            e["detail"].as_str().unwrap().contains("Time-Zone"),
            "{bad}: {e}"
        );
    }
    // A write with a bad zone writes nothing.
    let req = Request::post("/api/v1/components")
        .header("time-zone", "Mars/Olympus")
        .header("x-cachet-token", &app.admin)
        .header("content-type", "application/json")
        .body(Body::from(r#"{"name":"tz","status":1}"#))
        .unwrap();
    app.send(req).await.error(400);
    assert_eq!(app.get("/api/v1/components", None).await.total(), 1);
}

#[tokio::test]
async fn form_and_query_bytes_that_are_not_utf8_are_refused() {
    let app = App::new().await;
    for body in [
        "name=a%FF%FE&status=1",
        "na%C3me=x&status=1",
        "name=ok&status=1&%FF=1",
    ] {
        let res = app
            .form(Method::POST, "/api/v1/components", Some(&app.admin), body)
            .await;
        let e = res.error(400);
        assert!(
            e["detail"].as_str().unwrap().contains("UTF-8"),
            "{body}: {e}"
        );
    }
    let e = app
        .get("/api/v1/components?name=%FF", None)
        .await
        .error(400);
    assert!(e["detail"].as_str().unwrap().contains("name"), "{e}");
    assert_eq!(app.get("/api/v1/components", None).await.total(), 0);
    // Valid multi-byte text still works, in forms and queries.
    let res = app
        .form(
            Method::POST,
            "/api/v1/components",
            Some(&app.admin),
            "name=Z%C3%BCrich+DC&status=1",
        )
        .await;
    assert_eq!(res.data()["name"], "Zürich DC");
    assert_eq!(
        app.get("/api/v1/components?name=Z%C3%BCrich%20DC", None)
            .await
            .total(),
        1
    );
}

#[tokio::test]
async fn trailing_slashes_are_accepted_without_redirect() {
    let app = App::new().await;
    let res = app
        .post(
            "/api/v1/components/",
            Some(&app.admin),
            json!({"name": "slash", "status": 1}),
        )
        .await;
    let id = res.data()["id"].as_i64().unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/components/{id}/"), None)
            .await
            .data()["name"],
        "slash"
    );
    assert_eq!(app.get("/api/v1/components/", None).await.total(), 1);
}

#[tokio::test]
async fn pagination_meta_and_links() {
    let app = App::new().await;
    for i in 0..5 {
        component(&app, &format!("c{i}")).await;
    }
    let res = app
        .get(
            "/api/v1/components?sort=id&per_page=2&page=2&order=desc",
            None,
        )
        .await;
    assert!(
        res.text().starts_with(r#"{"meta":{"pagination":"#),
        "meta first: {}",
        res.text()
    );
    let v = res.json();
    let p = &v["meta"]["pagination"];
    assert_eq!(p["total"], 5);
    assert_eq!(p["count"], 2);
    assert_eq!(p["per_page"], 2);
    assert_eq!(p["current_page"], 2);
    assert_eq!(p["total_pages"], 3);
    assert_eq!(
        p["links"]["next_page"],
        "http://status.test/api/v1/components?sort=id&per_page=2&order=desc&page=3"
    );
    assert_eq!(
        p["links"]["previous_page"],
        "http://status.test/api/v1/components?sort=id&per_page=2&order=desc&page=1"
    );
    let ids: Vec<i64> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert!(ids[0] > ids[1], "desc order honoured: {ids:?}");

    let last = app
        .get("/api/v1/components?per_page=2&page=3", None)
        .await
        .json();
    assert_eq!(last["meta"]["pagination"]["count"], 1);
    assert_eq!(
        last["meta"]["pagination"]["links"]["next_page"],
        json!(null)
    );

    let first = app.get("/api/v1/components?per_page=0", None).await.json();
    assert_eq!(first["meta"]["pagination"]["per_page"], 15);
    assert_eq!(
        first["meta"]["pagination"]["links"]["previous_page"],
        json!(null)
    );
    assert_eq!(
        app.get("/api/v1/components", None).await.json()["meta"]["pagination"]["per_page"],
        20
    );
    assert_eq!(
        app.get("/api/v1/components?page=abc", None).await.json()["meta"]["pagination"]
            ["current_page"],
        1
    );

    let empty = app.get("/api/v1/incidents", None).await.json();
    assert_eq!(
        empty["meta"]["pagination"],
        json!({"total": 0, "count": 0, "per_page": 20, "current_page": 1, "total_pages": 1,
               "links": {"next_page": null, "previous_page": null}})
    );
    assert_eq!(empty["data"], json!([]));
}

#[tokio::test]
async fn app_url_setting_is_the_base_of_links_and_permalinks() {
    let app = App::new().await;
    app.service
        .update_settings(
            &SYSTEM,
            &[("app_url".into(), "https://status.example.com".into())],
        )
        .await
        .unwrap();
    component(&app, "a").await;
    component(&app, "b").await;
    let v = app.get("/api/v1/components?per_page=1", None).await.json();
    assert_eq!(
        v["meta"]["pagination"]["links"]["next_page"],
        "https://status.example.com/api/v1/components?per_page=1&page=2"
    );
    let inc = app
        .post(
            "/api/v1/incidents",
            Some(&app.admin),
            json!({"name": "i", "status": 1, "message": "m"}),
        )
        .await
        .data();
    assert_eq!(
        inc["permalink"],
        format!("https://status.example.com/incidents/{}", inc["id"])
    );
}

#[tokio::test]
async fn a_mounted_router_links_under_its_prefix() {
    let app = App::new().await;
    let host = axum::Router::new().nest("/status", app.router.clone());
    component(&app, "a").await;
    component(&app, "b").await;
    let req = Request::get("/status/api/v1/components?per_page=1")
        .header("host", "h.test")
        .body(Body::empty())
        .unwrap();
    let res = tower::ServiceExt::oneshot(host.clone(), req).await.unwrap();
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["meta"]["pagination"]["links"]["next_page"],
        "http://h.test/status/api/v1/components?per_page=1&page=2"
    );
    let req = Request::post("/status/api/v1/incidents")
        .header("host", "h.test")
        .header("X-Cachet-Token", &app.admin)
        .header("content-type", "application/json")
        .body(Body::from(r#"{"name":"i","status":1,"message":"m"}"#))
        .unwrap();
    let res = tower::ServiceExt::oneshot(host.clone(), req).await.unwrap();
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["data"]["permalink"],
        format!("http://h.test/status/incidents/{}", v["data"]["id"])
    );
    // The page at the prefix (axum's nest leaves "/status/" to the host's router); an
    // unknown page under the prefix is the page's 404, with links under the prefix.
    for (path, status) in [
        ("/status", 200),
        ("/status/nope", 404),
        ("/status/dashboard/nope", 404),
    ] {
        let req = Request::get(path)
            .header("host", "h.test")
            .body(Body::empty())
            .unwrap();
        let res = tower::ServiceExt::oneshot(host.clone(), req).await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{path}");
        let body = http_body_util::BodyExt::collect(res.into_body())
            .await
            .unwrap()
            .to_bytes();
        let html = String::from_utf8_lossy(&body);
        assert!(html.contains("href=\"/status/assets/"), "{path}: {html}");
    }
}

/// Spec section 1: public reads answer CORS for the allowed origins (the `allowed_domains`
/// setting, else the origin of `app_url`); ping, version, status and writes do not.
#[tokio::test]
async fn public_reads_allow_the_configured_origins() {
    let app = App::new().await;
    component(&app, "a").await;
    let with_origin = |method: Method, uri: &str, origin: &str| {
        Request::builder()
            .method(method)
            .uri(uri)
            .header("origin", origin)
            .body(Body::empty())
            .unwrap()
    };
    // Nothing configured: no CORS at all.
    let res = app
        .send(with_origin(
            Method::GET,
            "/api/v1/components",
            "https://a.example",
        ))
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("access-control-allow-origin"), None);

    app.service
        .update_settings(
            &SYSTEM,
            &[(
                "allowed_domains".into(),
                "https://a.example,https://b.example".into(),
            )],
        )
        .await
        .unwrap();
    let res = app
        .send(with_origin(
            Method::GET,
            "/api/v1/components",
            "https://a.example",
        ))
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some("https://a.example")
    );
    assert!(res.headers.get_all("vary").iter().any(|v| v == "Origin"));
    for (uri, origin) in [
        ("/api/v1/components", "https://evil.example"),
        ("/api/v1/ping", "https://a.example"),
        ("/api/v1/status", "https://a.example"),
    ] {
        let res = app.send(with_origin(Method::GET, uri, origin)).await;
        assert_eq!(res.status, 200, "{uri}");
        assert_eq!(
            res.header("access-control-allow-origin"),
            None,
            "{uri} {origin}"
        );
    }

    // Preflight of a read that sends the token header.
    let preflight = |uri: &str, method: &str, origin: &str| {
        Request::builder()
            .method(Method::OPTIONS)
            .uri(uri)
            .header("origin", origin)
            .header("access-control-request-method", method)
            .header("access-control-request-headers", "x-cachet-token")
            .body(Body::empty())
            .unwrap()
    };
    let res = app
        .send(preflight("/api/v1/incidents", "GET", "https://b.example"))
        .await;
    assert_eq!(res.status, 204);
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some("https://b.example")
    );
    assert_eq!(
        res.header("access-control-allow-headers"),
        Some("X-Cachet-Token")
    );
    assert_eq!(res.header("access-control-max-age"), Some("3600"));
    // A cross-origin write is never let through a preflight, and writes carry no CORS.
    let res = app
        .send(preflight("/api/v1/components", "POST", "https://b.example"))
        .await;
    assert_eq!(res.status, 405);
    assert_eq!(res.header("access-control-allow-origin"), None);
    let req = Request::post("/api/v1/components")
        .header("origin", "https://a.example")
        .header("x-cachet-token", &app.admin)
        .header("content-type", "application/json")
        .body(Body::from(r#"{"name":"x","status":1}"#))
        .unwrap();
    let res = app.send(req).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("access-control-allow-origin"), None);
}
