//! Maintenance windows (spec 5.8).

use axum::body::Body;
use axum::http::{Method, Request};
use cachet_core::input::ComponentInput;
use cachet_core::store::ListQuery;
use cachet_core::Store;
use serde_json::{json, Value};

use crate::common::{App, SYSTEM};

async fn schedule_count(app: &App) -> u64 {
    app.store
        .list_schedules(&ListQuery::default())
        .await
        .unwrap()
        .total
}

#[tokio::test]
async fn create_read_update_delete() {
    let app = App::new().await;
    let c = app
        .service
        .create_component(
            &SYSTEM,
            ComponentInput {
                name: Some("db".into()),
                status: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id
        .get();
    // The trailing slash the reference's own tests use.
    let s = app
        .post(
            "/api/v1/schedules/",
            Some(&app.manager),
            json!({"name": "Upgrade", "message": "DB upgrade", "status": 0, "notify": 0,
                   "scheduled_at": "2030-01-02 03:04", "completed_at": "2030-01-02 05:00", "components": {c.to_string(): 2}}),
        )
        .await
        .data();
    assert_eq!(s["name"], "Upgrade");
    assert_eq!(s["message"], "DB upgrade");
    assert_eq!(s["status"], 0);
    assert_eq!(s["human_status"], "Upcoming");
    assert_eq!(s["scheduled_at"], "2030-01-02 03:04:00");
    assert_eq!(s["completed_at"], "2030-01-02 05:00:00");
    assert_eq!(s["deleted_at"], Value::Null);
    assert_eq!(s["components"][0]["component_id"], c);
    assert_eq!(s["components"][0]["component_status"], 2);
    let id = s["id"].as_i64().unwrap();
    let uri = format!("/api/v1/schedules/{id}");
    assert_eq!(app.get(&uri, None).await.data(), s);
    assert_eq!(app.get("/api/v1/schedules", None).await.ids(), vec![id]);

    let s = app
        .put(
            &uri,
            Some(&app.manager),
            json!({"status": 1, "completed_at": ""}),
        )
        .await
        .data();
    assert_eq!(s["status"], 1);
    assert_eq!(s["human_status"], "In Progress");
    assert_eq!(s["completed_at"], Value::Null);
    assert_eq!(s["name"], "Upgrade");
    assert_eq!(app.delete(&uri, Some(&app.manager)).await.status, 204);
    app.get(&uri, None).await.error(404);
}

#[tokio::test]
async fn schedule_inputs_in_the_request_zone_and_form_encoded() {
    let app = App::new().await;
    let req = Request::post("/api/v1/schedules")
        .header("X-Cachet-Token", &app.admin)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("Time-Zone", "Europe/Berlin")
        .body(Body::from(
            "name=w&status=0&scheduled_at=2030-07-01+10:00&components[]=1",
        ))
        .unwrap();
    let res = app.send(req).await;
    // Component 1 does not exist: named field, nothing written.
    assert_eq!(res.invalid(), vec!["The selected components is invalid."]);
    let req = Request::post("/api/v1/schedules")
        .header("X-Cachet-Token", &app.admin)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("Time-Zone", "Europe/Berlin")
        .body(Body::from("name=w&status=0&scheduled_at=2030-07-01+10:00"))
        .unwrap();
    let s = app.send(req).await.data();
    assert_eq!(s["scheduled_at"], "2030-07-01 10:00:00");
    assert_eq!(s["completed_at"], Value::Null);
    assert_eq!(
        app.get(&format!("/api/v1/schedules/{}", s["id"]), None)
            .await
            .data()["scheduled_at"],
        "2030-07-01 08:00:00"
    );
}

#[tokio::test]
async fn bad_schedules_are_400_and_write_nothing() {
    let app = App::new().await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"name": "w", "scheduled_at": "2030-01-01 10:00"}),
            "The status field is required.",
        ),
        (
            json!({"name": "w", "status": 3, "scheduled_at": "2030-01-01 10:00"}),
            "The status must be between 0 and 2.",
        ),
        (
            json!({"name": "w", "status": 0}),
            "The scheduled at field is required.",
        ),
        (
            json!({"name": "w", "status": 0, "scheduled_at": "01/01/2030"}),
            "Unable to pass timestamp \"01/01/2030\": expected the format Y-m-d H:i",
        ),
        (
            json!({"name": "w", "status": 0, "scheduled_at": 1893456000}),
            "Unable to pass timestamp \"1893456000\": expected the format Y-m-d H:i",
        ),
        (
            json!({"name": "w", "status": 0, "scheduled_at": "2030-01-02 10:00", "completed_at": "2030-01-01 10:00"}),
            "The completed at must be a date after scheduled at.",
        ),
        (
            json!({"name": "w", "status": 0, "scheduled_at": {"a": 1}}),
            "The scheduled at must be a string.",
        ),
        (
            json!({"name": "w", "status": 0, "scheduled_at": "2030-01-02 10:00", "components": "x"}),
            "The components must be an array of component ids and statuses.",
        ),
        (
            json!({"name": "w", "status": 0, "scheduled_at": "2030-01-02 10:00", "components": [{"id": 1, "status": 9}]}),
            "The components must be between 0 and 4.",
        ),
    ];
    for (body, message) in cases {
        let details = app
            .post("/api/v1/schedules", Some(&app.admin), body.clone())
            .await
            .invalid();
        assert!(details.iter().any(|d| d == message), "{body}: {details:?}");
    }
    let ok = json!({"name": "w", "status": 0, "scheduled_at": "2030-01-02 10:00"});
    app.post("/api/v1/schedules", None, ok.clone())
        .await
        .error(401);
    app.post("/api/v1/schedules", Some(&app.reporter), ok.clone())
        .await
        .error(403);
    app.post("/api/v1/schedules", Some(&app.viewer), ok.clone())
        .await
        .error(403);
    app.put(
        "/api/v1/schedules/999",
        Some(&app.admin),
        json!({"name": "x"}),
    )
    .await
    .error(404);
    app.delete("/api/v1/schedules/999", Some(&app.admin))
        .await
        .error(404);
    assert_eq!(schedule_count(&app).await, 0);
    let id = app
        .post("/api/v1/schedules", Some(&app.admin), ok)
        .await
        .data()["id"]
        .as_i64()
        .unwrap();
    // A PUT that would end the window before it starts is refused too.
    let details = app
        .put(
            &format!("/api/v1/schedules/{id}"),
            Some(&app.admin),
            json!({"completed_at": "2029-01-01 00:00"}),
        )
        .await
        .invalid();
    assert_eq!(
        details,
        vec!["The completed at must be a date after scheduled at."]
    );
    assert_eq!(
        app.get(&format!("/api/v1/schedules/{id}"), None)
            .await
            .data()["completed_at"],
        Value::Null
    );
}

#[tokio::test]
async fn schedules_sort() {
    let app = App::new().await;
    let a = app
        .post(
            "/api/v1/schedules",
            Some(&app.admin),
            json!({"name": "a", "status": 0, "scheduled_at": "2030-02-01 00:00"}),
        )
        .await
        .data()["id"]
        .as_i64()
        .unwrap();
    let b = app
        .post(
            "/api/v1/schedules",
            Some(&app.admin),
            json!({"name": "b", "status": 0, "scheduled_at": "2030-01-01 00:00"}),
        )
        .await
        .data()["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        app.get("/api/v1/schedules?sort=scheduled_at", None)
            .await
            .ids(),
        vec![b, a]
    );
    assert_eq!(
        app.get("/api/v1/schedules?sort=scheduled_at&order=desc", None)
            .await
            .ids(),
        vec![a, b]
    );
    assert_eq!(
        app.get("/api/v1/schedules?sort=nope&order=desc", None)
            .await
            .ids(),
        vec![a, b]
    );
    let _ = Method::GET;
}
