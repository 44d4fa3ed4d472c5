//! ping, version, status.

use axum::http::Method;
use cachet_core::input::{ComponentInput, GroupInput, IncidentInput};
use serde_json::json;

use crate::common::{App, SYSTEM};

#[tokio::test]
async fn ping_needs_no_token_and_ignores_a_bad_one() {
    let app = App::new().await;
    let res = app.get("/api/v1/ping", None).await;
    assert_eq!(res.json(), json!({"data": "Pong!"}));
    res.assert_json_type();
    assert_eq!(
        app.get("/api/v1/ping", Some("nope")).await.json(),
        json!({"data": "Pong!"})
    );
    assert_eq!(app.get("/api/v1/ping/", None).await.data(), json!("Pong!"));
}

#[tokio::test]
async fn version_has_meta_first_and_the_reference_keys() {
    let app = App::new().await;
    let res = app.get("/api/v1/version", None).await;
    assert_eq!(
        res.text(),
        r#"{"meta":{"on_latest":true,"latest":{"tag_name":"v2.4.1","prelease":false,"draft":false}},"data":"2.4.1"}"#
    );
}

#[tokio::test]
async fn status_follows_components_and_hides_private_ones_from_guests() {
    let app = App::new().await;
    let res = app.get("/api/v1/status", None).await;
    assert_eq!(
        res.data(),
        json!({"status": "success", "message": "System operational"})
    );
    assert_eq!(res.header("cache-control"), Some("public, max-age=30"));

    let c = app
        .service
        .create_component(
            &SYSTEM,
            ComponentInput {
                name: Some("api".into()),
                status: Some(3),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        app.get("/api/v1/status", None).await.data(),
        json!({"status": "info", "message": "The system is experiencing issues"})
    );
    app.service
        .update_component(
            &SYSTEM,
            c.id,
            ComponentInput {
                status: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    // A major outage inside a private group: guests do not see it, users do.
    let g = app
        .service
        .create_group(
            &SYSTEM,
            GroupInput {
                name: Some("private".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    app.service
        .create_component(
            &SYSTEM,
            ComponentInput {
                name: Some("db".into()),
                status: Some(4),
                group_id: Some(g.group.id.get()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        app.get("/api/v1/status", None).await.data()["status"],
        "success"
    );
    let res = app.get("/api/v1/status", Some(&app.viewer)).await;
    assert_eq!(
        res.data(),
        json!({"status": "danger", "message": "Some systems are experiencing major issues"})
    );
    assert_eq!(res.header("cache-control"), Some("private, max-age=30"));

    // A hidden unresolved incident does not turn the guest banner to info.
    app.service
        .create_incident(
            &SYSTEM,
            IncidentInput {
                name: Some("x".into()),
                status: Some(1),
                message: Some("m".into()),
                visible: Some(0),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        app.get("/api/v1/status", None).await.data()["status"],
        "success"
    );
}

#[tokio::test]
async fn head_works_on_gets_without_a_body() {
    let app = App::new().await;
    let res = app.call(Method::HEAD, "/api/v1/ping", None, None).await;
    assert_eq!(res.status, 200);
    assert!(res.body.is_empty());
    let res = app
        .call(Method::HEAD, "/api/v1/components", None, None)
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn always_authenticate_closes_data_routes_but_not_ping_version_status() {
    let app = App::new().await;
    app.service
        .update_settings(&SYSTEM, &[("always_authenticate".into(), "true".into())])
        .await
        .unwrap();
    for path in [
        "/api/v1/components",
        "/api/v1/incidents",
        "/api/v1/metrics",
        "/api/v1/schedules",
        "/api/v1/components/groups",
        "/api/v1/incidents/templates",
    ] {
        app.get(path, None).await.error(401);
        app.get(path, Some("wrong")).await.error(401);
        assert_eq!(app.get(path, Some(&app.viewer)).await.status, 200, "{path}");
    }
    for path in ["/api/v1/ping", "/api/v1/version", "/api/v1/status"] {
        assert_eq!(app.get(path, None).await.status, 200, "{path}");
    }
}
