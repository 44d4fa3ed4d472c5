//! Component groups (spec 5.2).

use axum::http::Method;
use cachet_core::input::{ComponentInput, GroupInput};
use serde_json::{json, Value};

use crate::common::{App, SYSTEM};

async fn group(app: &App, name: &str, visible: i64) -> i64 {
    app.service
        .create_group(
            &SYSTEM,
            GroupInput {
                name: Some(name.into()),
                visible: Some(visible),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .group
        .id
        .get()
}

async fn member(app: &App, name: &str, group: i64, status: i64, order: i64, enabled: bool) -> i64 {
    app.service
        .create_component(
            &SYSTEM,
            ComponentInput {
                name: Some(name.into()),
                status: Some(status),
                order: Some(order),
                enabled: Some(enabled),
                group_id: Some(group),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id
        .get()
}

#[tokio::test]
async fn create_defaults_to_private_and_omits_member_arrays() {
    let app = App::new().await;
    let res = app
        .post(
            "/api/v1/components/groups",
            Some(&app.manager),
            json!({"name": "Core"}),
        )
        .await;
    let g = res.data();
    assert_eq!(g["name"], "Core");
    assert_eq!(g["visible"], 0);
    assert_eq!(g["collapsed"], 0);
    assert_eq!(g["order"], 0);
    assert_eq!(g["lowest_human_status"], Value::Null);
    assert!(g.get("enabled_components").is_none());
    assert!(g.get("enabled_components_lowest").is_none());
    // cachet-client sends visible as a JSON boolean.
    let g = app
        .post(
            "/api/v1/components/groups",
            Some(&app.manager),
            json!({"name": "Public", "order": 1, "collapsed": 0, "visible": true}),
        )
        .await
        .data();
    assert_eq!(g["visible"], 1);
    // cachet (form): every value a string.
    let g = app
        .form(
            Method::POST,
            "/api/v1/components/groups",
            Some(&app.manager),
            "name=form+group&order=3&collapsed=0",
        )
        .await
        .data();
    assert_eq!(g["order"], 3);
    assert_eq!(g["visible"], 0);
}

#[tokio::test]
async fn get_embeds_enabled_members_and_the_worst_status() {
    let app = App::new().await;
    let gid = group(&app, "g", 1).await;
    let a = member(&app, "a", gid, 1, 2, true).await;
    let b = member(&app, "b", gid, 3, 1, true).await;
    let c = member(&app, "c", gid, 2, 3, true).await;
    member(&app, "disabled", gid, 4, 0, false).await;
    let g = app
        .get(&format!("/api/v1/components/groups/{gid}"), None)
        .await
        .data();
    let ids = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&g["enabled_components"]), vec![b, a, c], "by order");
    assert_eq!(
        ids(&g["enabled_components_lowest"]),
        vec![b, c, a],
        "worst first"
    );
    assert_eq!(g["lowest_human_status"], "Partial Outage");
    assert_eq!(g["enabled_components"][0]["status_name"], "Partial Outage");
    let list = app.get("/api/v1/components/groups", None).await.data();
    assert_eq!(ids(&list[0]["enabled_components"]), vec![b, a, c]);
}

#[tokio::test]
async fn private_groups_are_invisible_to_guests() {
    let app = App::new().await;
    let public = group(&app, "public", 1).await;
    let private = group(&app, "private", 0).await;
    member(&app, "p", private, 4, 0, true).await;
    assert_eq!(
        app.get("/api/v1/components/groups", None).await.ids(),
        vec![public]
    );
    app.get(&format!("/api/v1/components/groups/{private}"), None)
        .await
        .error(404);
    app.get(
        &format!("/api/v1/components/groups/{private}"),
        Some("bogus"),
    )
    .await
    .error(404);
    let g = app
        .get(
            &format!("/api/v1/components/groups/{private}"),
            Some(&app.viewer),
        )
        .await
        .data();
    assert_eq!(g["lowest_human_status"], "Major Outage");
    assert_eq!(
        app.get("/api/v1/components/groups", Some(&app.viewer))
            .await
            .ids(),
        vec![public, private]
    );
}

#[tokio::test]
async fn update_keeps_absent_fields_and_delete_ungroups_members() {
    let app = App::new().await;
    let g = app
        .post(
            "/api/v1/components/groups",
            Some(&app.admin),
            json!({"name": "g", "order": 5, "visible": 1, "collapsed": 2}),
        )
        .await
        .data();
    let gid = g["id"].as_i64().unwrap();
    let uri = format!("/api/v1/components/groups/{gid}");
    let g = app
        .put(&uri, Some(&app.admin), json!({"name": "renamed"}))
        .await
        .data();
    assert_eq!(
        (
            g["name"].as_str(),
            g["order"].as_i64(),
            g["visible"].as_i64(),
            g["collapsed"].as_i64()
        ),
        (Some("renamed"), Some(5), Some(1), Some(2))
    );
    assert!(g.get("enabled_components").is_none());
    let cid = member(&app, "m", gid, 1, 0, true).await;
    assert_eq!(app.delete(&uri, Some(&app.admin)).await.status, 204);
    app.get(&uri, Some(&app.admin)).await.error(404);
    assert_eq!(
        app.get(&format!("/api/v1/components/{cid}"), None)
            .await
            .data()["group_id"],
        0
    );
}

#[tokio::test]
async fn group_errors() {
    let app = App::new().await;
    app.post("/api/v1/components/groups", None, json!({"name": "g"}))
        .await
        .error(401);
    app.post(
        "/api/v1/components/groups",
        Some(&app.reporter),
        json!({"name": "g"}),
    )
    .await
    .error(403);
    app.post(
        "/api/v1/components/groups",
        Some(&app.viewer),
        json!({"name": "g"}),
    )
    .await
    .error(403);
    assert_eq!(
        app.post(
            "/api/v1/components/groups",
            Some(&app.admin),
            json!({"name": "g", "collapsed": 7})
        )
        .await
        .invalid(),
        vec!["The collapsed must be between 0 and 2."]
    );
    assert_eq!(
        app.post(
            "/api/v1/components/groups",
            Some(&app.admin),
            json!({"name": "g", "visible": 2})
        )
        .await
        .invalid(),
        vec!["The visible must be between 0 and 1."]
    );
    assert_eq!(
        app.post(
            "/api/v1/components/groups",
            Some(&app.admin),
            json!({"name": "g", "visible": "sometimes"})
        )
        .await
        .invalid(),
        vec!["The visible must be an integer."]
    );
    assert_eq!(
        app.post("/api/v1/components/groups", Some(&app.admin), json!({}))
            .await
            .invalid(),
        vec!["The name field is required."]
    );
    app.put(
        "/api/v1/components/groups/999",
        Some(&app.admin),
        json!({"name": "x"}),
    )
    .await
    .error(404);
    app.delete("/api/v1/components/groups/999", Some(&app.admin))
        .await
        .error(404);
    assert_eq!(
        app.get("/api/v1/components/groups", Some(&app.admin))
            .await
            .total(),
        0
    );
}

#[tokio::test]
async fn group_filters_and_sort() {
    let app = App::new().await;
    let a = app
        .post(
            "/api/v1/components/groups",
            Some(&app.admin),
            json!({"name": "a", "order": 2, "visible": 1, "collapsed": 1}),
        )
        .await
        .data()["id"]
        .as_i64()
        .unwrap();
    let b = app
        .post(
            "/api/v1/components/groups",
            Some(&app.admin),
            json!({"name": "b", "order": 1, "visible": 1}),
        )
        .await
        .data()["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        app.get("/api/v1/components/groups?name=b", None)
            .await
            .ids(),
        vec![b]
    );
    assert_eq!(
        app.get("/api/v1/components/groups?collapsed=1", None)
            .await
            .ids(),
        vec![a]
    );
    assert_eq!(
        app.get("/api/v1/components/groups?visible=1&sort=order", None)
            .await
            .ids(),
        vec![b, a]
    );
    assert_eq!(
        app.get("/api/v1/components/groups?sort=order&order=desc", None)
            .await
            .ids(),
        vec![a, b]
    );
    assert_eq!(
        app.get("/api/v1/components/groups?sort=secret", None)
            .await
            .ids(),
        vec![a, b]
    );
    app.get("/api/v1/components/groups?collapsed=x", None)
        .await
        .invalid();
}
