//! Incidents, incident updates and templates (spec 5.3 to 5.5).

use axum::body::Body;
use axum::http::{Method, Request};
use cachet_core::input::{ComponentInput, IncidentInput, TemplateInput};
use cachet_core::store::{IncidentFilter, ListQuery};
use cachet_core::Store;
use serde_json::{json, Value};

use crate::common::{App, SYSTEM};

async fn component(app: &App, status: i64) -> i64 {
    app.service
        .create_component(
            &SYSTEM,
            ComponentInput {
                name: Some("db".into()),
                status: Some(status),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id
        .get()
}

async fn incident(app: &App, name: &str, visible: i64) -> i64 {
    app.service
        .create_incident(
            &SYSTEM,
            IncidentInput {
                name: Some(name.into()),
                status: Some(1),
                message: Some("m".into()),
                visible: Some(visible),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id
        .get()
}

async fn incident_count(app: &App) -> u64 {
    app.store
        .list_incidents(&ListQuery::<_, IncidentFilter>::default())
        .await
        .unwrap()
        .total
}

#[tokio::test]
async fn create_sets_the_component_status_and_returns_the_cachet_shape() {
    let app = App::new().await;
    let db = component(&app, 1).await;
    let i = app
        .post(
            "/api/v1/incidents",
            Some(&app.reporter),
            json!({"name": "DB down", "message": "The database is **down**.", "status": 1, "visible": 1,
                   "component_id": db, "component_status": 4, "notify": false, "vars": []}),
        )
        .await
        .data();
    assert_eq!(i["name"], "DB down");
    assert_eq!(i["message"], "The database is **down**.");
    assert_eq!(i["status"], 1);
    assert_eq!(i["human_status"], "Investigating");
    assert_eq!(i["visible"], 1);
    assert_eq!(i["stickied"], false);
    assert_eq!(i["notifications"], false);
    assert_eq!(i["component_id"], db);
    assert!(i["user_id"].is_i64());
    assert_eq!(i["is_resolved"], false);
    assert_eq!(i["updates"], json!([]));
    assert_eq!(i["meta"], json!({}));
    assert_eq!(i["latest_update_id"], Value::Null);
    assert_eq!(i["latest_status"], 1);
    assert_eq!(i["latest_human_status"], "Investigating");
    assert_eq!(i["latest_icon"], "icon ion-flag oranges");
    assert_eq!(
        i["permalink"],
        format!("http://status.test/incidents/{}", i["id"])
    );
    assert_eq!(i["duration"], 0);
    assert_eq!(i["deleted_at"], Value::Null);
    assert_eq!(
        app.get(&format!("/api/v1/components/{db}"), None)
            .await
            .data()["status"],
        4
    );

    // Resolve through PUT and restore the component; absent fields are unchanged.
    let id = i["id"].as_i64().unwrap();
    let i = app
        .put(
            &format!("/api/v1/incidents/{id}"),
            Some(&app.reporter),
            json!({"status": 4, "message": "Resolved.", "component_id": db, "component_status": 1}),
        )
        .await
        .data();
    assert_eq!(i["status"], 4);
    assert_eq!(i["is_resolved"], true);
    assert_eq!(i["message"], "Resolved.");
    assert_eq!(i["name"], "DB down");
    assert_eq!(i["visible"], 1);
    assert_eq!(
        app.get(&format!("/api/v1/components/{db}"), None)
            .await
            .data()["status"],
        1
    );
}

#[tokio::test]
async fn occurred_at_is_read_and_shown_in_the_request_zone() {
    let app = App::new().await;
    let req = Request::post("/api/v1/incidents")
        .header("X-Cachet-Token", &app.admin)
        .header("content-type", "application/json")
        .header("Time-Zone", "America/Mexico_City")
        .body(Body::from(
            r#"{"name":"n","message":"m","status":2,"occurred_at":"2024-05-01 13:45"}"#,
        ))
        .unwrap();
    let i = app.send(req).await.data();
    assert_eq!(i["occurred_at"], "2024-05-01 13:45:00");
    let id = i["id"].as_i64().unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/incidents/{id}"), None)
            .await
            .data()["occurred_at"],
        "2024-05-01 19:45:00"
    );
    // cachet-client sends `created_at` as `Y-m-d H:i:s` on create.
    let i = app
        .post(
            "/api/v1/incidents",
            Some(&app.admin),
            json!({"name": "n", "message": "m", "status": 1, "created_at": "2023-01-02 03:04:05"}),
        )
        .await
        .data();
    assert_eq!(i["occurred_at"], "2023-01-02 03:04:05");
    // occurred_at wins over created_at.
    let i = app
        .post(
            "/api/v1/incidents",
            Some(&app.admin),
            json!({"name": "n", "message": "m", "status": 1, "created_at": "2023-01-02 03:04", "occurred_at": "2022-01-01 00:00"}),
        )
        .await
        .data();
    assert_eq!(i["occurred_at"], "2022-01-01 00:00:00");
}

#[tokio::test]
async fn bad_incident_input_is_400_and_writes_nothing() {
    let app = App::new().await;
    let db = component(&app, 1).await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"message": "m", "status": 1}),
            "The name field is required.",
        ),
        (
            json!({"name": "n", "status": 1}),
            "The message field is required.",
        ),
        (
            json!({"name": "n", "message": "m"}),
            "The status field is required.",
        ),
        (
            json!({"name": "n", "message": "m", "status": 9}),
            "The status must be between 0 and 4.",
        ),
        (
            json!({"name": "n", "message": "m", "status": "Investigating"}),
            "The status must be an integer.",
        ),
        (
            json!({"name": "n", "message": "m", "status": 1, "visible": 3}),
            "The visible must be between 0 and 1.",
        ),
        (
            json!({"name": "n", "message": "m", "status": 1, "stickied": "perhaps"}),
            "The stickied field must be true or false.",
        ),
        (
            json!({"name": "n", "message": "m", "status": 1, "component_id": db}),
            "The component status field is required when component id is present.",
        ),
        (
            json!({"name": "n", "message": "m", "status": 1, "component_id": 999, "component_status": 2}),
            "The selected component id is invalid.",
        ),
        (
            json!({"name": "n", "message": "m", "status": 1, "component_id": db, "component_status": 7}),
            "The component status must be between 0 and 4.",
        ),
        (
            json!({"name": "n", "message": "m", "status": 1, "meta": "x"}),
            "The meta must be an array.",
        ),
        (
            json!({"name": "n", "message": "m", "status": 1, "message2": 1, "name2": {}, "occurred_at": ["x"]}),
            "The occurred at must be a string.",
        ),
    ];
    for (body, message) in cases {
        let details = app
            .post("/api/v1/incidents", Some(&app.admin), body.clone())
            .await
            .invalid();
        assert!(details.iter().any(|d| d == message), "{body}: {details:?}");
    }
    for bad in [
        "2024-05-01T13:45:00Z",
        "yesterday",
        "2024-13-45 10:00",
        "1714571100",
    ] {
        let details = app
            .post(
                "/api/v1/incidents",
                Some(&app.admin),
                json!({"name": "n", "message": "m", "status": 1, "occurred_at": bad}),
            )
            .await
            .invalid();
        assert!(details[0].contains("Y-m-d H:i"), "{bad}: {details:?}");
    }
    assert_eq!(incident_count(&app).await, 0);
    assert_eq!(
        app.get(&format!("/api/v1/components/{db}"), None)
            .await
            .data()["status"],
        1
    );
}

#[tokio::test]
async fn form_encoded_incident_and_search_by_component() {
    let app = App::new().await;
    let db = component(&app, 1).await;
    let i = app
        .form(Method::POST, "/api/v1/incidents", Some(&app.admin), &format!("name=form&message=Slow&status=1&visible=1&component_id={db}&component_status=2&notify=0&stickied=True&meta[ticket]=T-1"))
        .await
        .data();
    assert_eq!(i["component_id"], db);
    assert_eq!(i["stickied"], true);
    assert_eq!(i["meta"], json!({"ticket": "T-1"}));
    assert_eq!(
        app.get(&format!("/api/v1/components/{db}"), None)
            .await
            .data()["status"],
        2
    );
    let other = incident(&app, "other", 1).await;
    let id = i["id"].as_i64().unwrap();
    assert_eq!(
        app.get(
            &format!("/api/v1/incidents?component_id={db}&order=desc"),
            None
        )
        .await
        .ids(),
        vec![id]
    );
    assert_eq!(
        app.get("/api/v1/incidents?component_id=0", None)
            .await
            .ids(),
        vec![other]
    );
    assert_eq!(
        app.get("/api/v1/incidents?stickied=1", None).await.ids(),
        vec![id]
    );
    assert_eq!(
        app.get(
            "/api/v1/incidents?name=other&status=1&visible=1&secret=1",
            None
        )
        .await
        .ids(),
        vec![other]
    );
    assert_eq!(
        app.get("/api/v1/incidents?status=2", None).await.ids(),
        Vec::<i64>::new()
    );
    assert_eq!(
        app.get("/api/v1/incidents?sort=id&order=desc", None)
            .await
            .ids(),
        vec![other, id]
    );
    app.get("/api/v1/incidents?component_id=abc", None)
        .await
        .invalid();
}

#[tokio::test]
async fn guests_never_see_hidden_incidents() {
    let app = App::new().await;
    let public = incident(&app, "public", 1).await;
    let hidden = incident(&app, "hidden", 0).await;
    assert_eq!(app.get("/api/v1/incidents", None).await.ids(), vec![public]);
    assert_eq!(
        app.get("/api/v1/incidents?visible=0", None).await.ids(),
        Vec::<i64>::new()
    );
    app.get(&format!("/api/v1/incidents/{hidden}"), None)
        .await
        .error(404);
    app.get(&format!("/api/v1/incidents/{hidden}/updates"), None)
        .await
        .error(404);
    assert_eq!(
        app.get(&format!("/api/v1/incidents/{hidden}"), Some(&app.viewer))
            .await
            .data()["visible"],
        0
    );
    assert_eq!(
        app.get("/api/v1/incidents", Some(&app.viewer)).await.ids(),
        vec![public, hidden]
    );
}

#[tokio::test]
async fn incident_roles_and_404s() {
    let app = App::new().await;
    let body = json!({"name": "n", "message": "m", "status": 1});
    app.post("/api/v1/incidents", None, body.clone())
        .await
        .error(401);
    app.post("/api/v1/incidents", Some(&app.viewer), body.clone())
        .await
        .error(403);
    let id = app
        .post("/api/v1/incidents", Some(&app.reporter), body.clone())
        .await
        .data()["id"]
        .as_i64()
        .unwrap();
    let uri = format!("/api/v1/incidents/{id}");
    app.delete(&uri, Some(&app.reporter)).await.error(403);
    app.put(&uri, Some(&app.viewer), json!({"name": "x"}))
        .await
        .error(403);
    app.put(&uri, None, json!({"name": "x"})).await.error(401);
    app.put(
        "/api/v1/incidents/999",
        Some(&app.admin),
        json!({"name": "x"}),
    )
    .await
    .error(404);
    app.delete("/api/v1/incidents/999", Some(&app.admin))
        .await
        .error(404);
    assert_eq!(app.delete(&uri, Some(&app.manager)).await.status, 204);
    app.get(&uri, Some(&app.admin)).await.error(404);
}

#[tokio::test]
async fn updates_follow_and_belong_to_their_incident() {
    let app = App::new().await;
    let iid = incident(&app, "i", 1).await;
    let other = incident(&app, "other", 1).await;
    let base = format!("/api/v1/incidents/{iid}/updates");
    let u1 = app
        .post(
            &base,
            Some(&app.reporter),
            json!({"status": 2, "message": "Found the cause"}),
        )
        .await
        .data();
    assert_eq!(u1["incident_id"], iid);
    assert_eq!(u1["status"], 2);
    assert_eq!(u1["human_status"], "Identified");
    assert_eq!(
        u1["permalink"],
        format!("http://status.test/incidents/{iid}#update-{}", u1["id"])
    );
    assert!(u1["user_id"].is_i64());
    let u2 = app
        .form(
            Method::POST,
            &base,
            Some(&app.reporter),
            "status=3&message=Fix+deployed",
        )
        .await
        .data();
    let (u1, u2) = (u1["id"].as_i64().unwrap(), u2["id"].as_i64().unwrap());
    // Newest first; the incident takes the newest status.
    assert_eq!(app.get(&base, None).await.ids(), vec![u2, u1]);
    assert_eq!(app.get(&base, None).await.total(), 2);
    let i = app
        .get(&format!("/api/v1/incidents/{iid}"), None)
        .await
        .data();
    assert_eq!(i["status"], 3);
    assert_eq!(i["latest_update_id"], u2);
    assert_eq!(i["latest_icon"], "icon ion-eye blues");
    assert_eq!(
        i["updates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![u2, u1]
    );
    assert_eq!(
        app.get(&format!("{base}/{u1}"), None).await.data()["message"],
        "Found the cause"
    );
    let edited = app
        .put(
            &format!("{base}/{u1}"),
            Some(&app.reporter),
            json!({"message": "Found it (edited)"}),
        )
        .await
        .data();
    assert_eq!(edited["message"], "Found it (edited)");
    assert_eq!(edited["status"], 2);
    // An update of another incident is 404 (spec 12.4), for every method.
    let wrong = format!("/api/v1/incidents/{other}/updates/{u1}");
    app.get(&wrong, None).await.error(404);
    app.put(&wrong, Some(&app.admin), json!({"message": "x"}))
        .await
        .error(404);
    app.delete(&wrong, Some(&app.admin)).await.error(404);
    app.get("/api/v1/incidents/999/updates", None)
        .await
        .error(404);
    app.post(
        "/api/v1/incidents/999/updates",
        Some(&app.admin),
        json!({"status": 2, "message": "m"}),
    )
    .await
    .error(404);
    // Validation and roles.
    assert_eq!(
        app.post(
            &base,
            Some(&app.admin),
            json!({"status": 0, "message": "m"})
        )
        .await
        .invalid(),
        vec!["The status must be between 1 and 4."]
    );
    assert_eq!(
        app.post(
            &base,
            Some(&app.admin),
            json!({"status": "2x", "message": "m"})
        )
        .await
        .invalid(),
        vec!["The status must be an integer."]
    );
    assert_eq!(
        app.post(&base, Some(&app.admin), json!({"status": 2}))
            .await
            .invalid(),
        vec!["The message field is required."]
    );
    app.post(
        &base,
        Some(&app.viewer),
        json!({"status": 2, "message": "m"}),
    )
    .await
    .error(403);
    app.post(&base, None, json!({"status": 2, "message": "m"}))
        .await
        .error(401);
    app.delete(&format!("{base}/{u1}"), Some(&app.reporter))
        .await
        .error(403);
    assert_eq!(app.get(&base, None).await.total(), 2);
    assert_eq!(
        app.delete(&format!("{base}/{u1}"), Some(&app.manager))
            .await
            .status,
        204
    );
    app.get(&format!("{base}/{u1}"), None).await.error(404);
    assert_eq!(
        app.get(&format!("{base}?sort=id&order=asc"), None)
            .await
            .ids(),
        vec![u2]
    );
}

#[tokio::test]
async fn templates_are_listed_and_render_incident_messages() {
    let app = App::new().await;
    let t = app
        .service
        .create_template(
            &SYSTEM,
            TemplateInput {
                name: Some("Outage".into()),
                slug: None,
                template: Some("Name: {{ name }}, in my {{ incident.name }}!".into()),
            },
        )
        .await
        .unwrap();
    let list = app.get("/api/v1/incidents/templates", None).await;
    let first = &list.data()[0];
    assert_eq!(first["slug"], "outage");
    assert_eq!(
        first["template"],
        "Name: {{ name }}, in my {{ incident.name }}!"
    );
    assert_eq!(first["deleted_at"], Value::Null);
    assert_eq!(
        app.get(&format!("/api/v1/incidents/templates/{}", t.id), None)
            .await
            .data()["name"],
        "Outage"
    );
    assert_eq!(
        app.get("/api/v1/incidents/templates?sort=name&order=desc", None)
            .await
            .total(),
        1
    );
    let i = app
        .post(
            "/api/v1/incidents",
            Some(&app.admin),
            json!({"name": "Foo", "status": 1, "template": "outage", "vars": {"name": "<b>Bar</b>"}}),
        )
        .await
        .data();
    assert_eq!(i["message"], "Name: &lt;b&gt;Bar&lt;/b&gt;, in my Foo!");
}
