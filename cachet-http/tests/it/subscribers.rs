//! Subscribers and subscriptions (spec 5.9).

use axum::http::Method;
use cachet_core::input::ComponentInput;
use serde_json::{json, Value};

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

#[tokio::test]
async fn the_list_needs_an_admin_token() {
    let app = App::new().await;
    app.get("/api/v1/subscribers", None).await.error(401);
    app.get("/api/v1/subscribers", Some("invalid"))
        .await
        .error(401);
    app.get("/api/v1/subscribers", Some(&app.viewer))
        .await
        .error(403);
    app.get("/api/v1/subscribers", Some(&app.manager))
        .await
        .error(403);
    assert_eq!(
        app.get("/api/v1/subscribers", Some(&app.admin))
            .await
            .total(),
        0
    );
}

#[tokio::test]
async fn create_with_components_verify_and_no_secrets() {
    let app = App::new().await;
    let c1 = component(&app, "a").await;
    component(&app, "b").await;
    let c3 = component(&app, "c").await;
    let res = app
        .post(
            "/api/v1/subscribers",
            Some(&app.admin),
            json!({"email": "Ann@Example.com", "verify": true, "components": [c1, c3]}),
        )
        .await;
    assert!(!res.text().contains("verify_code"), "{}", res.text());
    let s = res.data();
    // The domain is case-insensitive, the local part is kept.
    assert_eq!(s["email"], "Ann@example.com");
    assert_eq!(s["global"], false);
    let verified = s["verified_at"].as_str().unwrap();
    let parsed = chrono::NaiveDateTime::parse_from_str(
        &verified
            .split(' ')
            .enumerate()
            .map(|(i, w)| {
                if i == 1 {
                    w.trim_end_matches(char::is_alphabetic).to_string()
                } else {
                    w.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
        "%A %d %B %Y %H:%M:%S",
    );
    assert!(parsed.is_ok(), "long date format: {verified}");
    let subs: Vec<i64> = s["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["component_id"].as_i64().unwrap())
        .collect();
    assert_eq!(subs, vec![c1, c3]);
    assert_eq!(s["subscriptions"][0]["subscriber_id"], s["id"]);

    // Re-subscribing returns the existing subscriber, unchanged.
    let again = app
        .post(
            "/api/v1/subscribers",
            Some(&app.admin),
            json!({"email": "Ann@EXAMPLE.com"}),
        )
        .await
        .data();
    assert_eq!(again["id"], s["id"]);
    assert_eq!(again["subscriptions"].as_array().unwrap().len(), 2);
    let list = app.get("/api/v1/subscribers", Some(&app.admin)).await;
    assert_eq!(list.total(), 1);
    assert!(!list.text().contains("verify_code"));

    // Unverified and global without components.
    let g = app
        .post(
            "/api/v1/subscribers",
            Some(&app.admin),
            json!({"email": "bob@example.com", "components": null}),
        )
        .await
        .data();
    assert_eq!(g["verified_at"], Value::Null);
    assert_eq!(g["global"], true);
    assert_eq!(g["subscriptions"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn form_encoded_subscribers_and_deletes() {
    let app = App::new().await;
    let c1 = component(&app, "a").await;
    let s = app
        .form(
            Method::POST,
            "/api/v1/subscribers",
            Some(&app.admin),
            &format!("email=form%40example.com&verify=1&components[]={c1}"),
        )
        .await
        .data();
    assert!(s["verified_at"].is_string());
    assert_eq!(s["subscriptions"][0]["component_id"], c1);
    let sub_id = s["subscriptions"][0]["id"].as_i64().unwrap();
    let id = s["id"].as_i64().unwrap();
    app.delete(
        &format!("/api/v1/subscriptions/{sub_id}"),
        Some(&app.manager),
    )
    .await
    .error(403);
    assert_eq!(
        app.delete(&format!("/api/v1/subscriptions/{sub_id}"), Some(&app.admin))
            .await
            .status,
        204
    );
    app.delete(&format!("/api/v1/subscriptions/{sub_id}"), Some(&app.admin))
        .await
        .error(404);
    app.delete(&format!("/api/v1/subscribers/{id}"), None)
        .await
        .error(401);
    app.delete(&format!("/api/v1/subscribers/{id}"), Some(&app.viewer))
        .await
        .error(403);
    assert_eq!(
        app.delete(&format!("/api/v1/subscribers/{id}"), Some(&app.admin))
            .await
            .status,
        204
    );
    app.delete(&format!("/api/v1/subscribers/{id}"), Some(&app.admin))
        .await
        .error(404);
    assert_eq!(
        app.get("/api/v1/subscribers", Some(&app.admin))
            .await
            .total(),
        0
    );
}

#[tokio::test]
async fn bad_subscribers_are_400_and_write_nothing() {
    let app = App::new().await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "The email field is required."),
        (json!({"email": ["a@b.c"]}), "The email must be a string."),
        (
            json!({"email": "a@b.c", "verify": "maybe"}),
            "The verify field must be true or false.",
        ),
        (
            json!({"email": "a@b.c", "components": ["x"]}),
            "The components.0 must be an integer.",
        ),
        (
            json!({"email": "a@b.c", "components": [-4]}),
            "The selected components are invalid.",
        ),
    ];
    for (body, message) in cases {
        let details = app
            .post("/api/v1/subscribers", Some(&app.admin), body.clone())
            .await
            .invalid();
        assert!(details.iter().any(|d| d == message), "{body}: {details:?}");
    }
    let details = app
        .post(
            "/api/v1/subscribers",
            Some(&app.admin),
            json!({"email": "not-an-email"}),
        )
        .await
        .invalid();
    assert!(details[0].starts_with("The email "), "{details:?}");
    app.post("/api/v1/subscribers", None, json!({"email": "a@b.c"}))
        .await
        .error(401);
    app.post(
        "/api/v1/subscribers",
        Some(&app.manager),
        json!({"email": "a@b.c"}),
    )
    .await
    .error(403);
    assert_eq!(
        app.get("/api/v1/subscribers", Some(&app.admin))
            .await
            .total(),
        0
    );
}
