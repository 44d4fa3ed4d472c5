//! Components (spec 5.1).

use axum::http::Method;
use cachet_core::ids::ComponentId;
use cachet_core::input::{ComponentInput, GroupInput};
use cachet_core::store::{ComponentFilter, ListQuery};
use cachet_core::Store;
use serde_json::{json, Value};

use crate::common::{App, SYSTEM};

async fn seed(app: &App, name: &str, status: i64, enabled: bool, group: Option<i64>) -> i64 {
    app.service
        .create_component(
            &SYSTEM,
            ComponentInput {
                name: Some(name.into()),
                status: Some(status),
                enabled: Some(enabled),
                group_id: group,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id
        .get()
}

async fn count(app: &App) -> u64 {
    app.store
        .list_components(&ListQuery::<_, ComponentFilter>::default())
        .await
        .unwrap()
        .total
}

#[tokio::test]
async fn create_returns_the_cachet_shape() {
    let app = App::new().await;
    let res = app
        .post(
            "/api/v1/components",
            Some(&app.manager),
            json!({"name": "API", "status": 2, "description": "the api", "link": "https://x.test/api",
                   "order": 3, "group_id": 0, "enabled": true, "tags": "Foo, Bar", "meta": {"team": "core"}}),
        )
        .await;
    let c = res.data();
    let obj = c.as_object().unwrap();
    let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    for k in [
        "id",
        "name",
        "description",
        "link",
        "status",
        "order",
        "group_id",
        "enabled",
        "meta",
        "created_at",
        "updated_at",
        "deleted_at",
        "status_name",
        "tags",
    ] {
        assert!(keys.contains(&k), "missing {k}");
    }
    assert!(c["id"].is_i64());
    assert_eq!(c["name"], "API");
    assert_eq!(c["description"], "the api");
    assert_eq!(c["link"], "https://x.test/api");
    assert_eq!(c["status"], 2);
    assert_eq!(c["status_name"], "Performance Issues");
    assert_eq!(c["order"], 3);
    assert_eq!(c["group_id"], 0);
    assert_eq!(c["enabled"], true);
    assert_eq!(c["meta"], json!({"team": "core"}));
    assert_eq!(c["deleted_at"], Value::Null);
    assert_eq!(c["tags"], json!({"foo": "Foo", "bar": "Bar"}));
    let created = c["created_at"].as_str().unwrap();
    assert!(
        chrono::NaiveDateTime::parse_from_str(created, "%Y-%m-%d %H:%M:%S").is_ok(),
        "{created}"
    );
    assert_eq!(
        app.get(&format!("/api/v1/components/{}", c["id"]), None)
            .await
            .data(),
        c
    );
}

#[tokio::test]
async fn explicit_nulls_mean_defaults_and_untagged_is_an_object() {
    let app = App::new().await;
    // What cachet-client's components.create sends for unset fields.
    let c = app
        .post(
            "/api/v1/components",
            Some(&app.admin),
            json!({"name": "web", "status": 1, "description": null, "link": null, "order": null, "group_id": null, "enabled": true, "tags": null}),
        )
        .await
        .data();
    assert_eq!(c["description"], "");
    assert_eq!(c["link"], "");
    assert_eq!(c["order"], 0);
    assert_eq!(c["group_id"], 0);
    assert_eq!(c["tags"], json!({}));
    assert_eq!(c["meta"], Value::Null);
}

#[tokio::test]
async fn form_encoded_create_and_python_booleans() {
    let app = App::new().await;
    let c = app
        .form(Method::POST, "/api/v1/components", Some(&app.admin), "name=form+one&status=1&order=3&group_id=7&enabled=False&link=https%3A%2F%2Fx.test&meta[a]=1&tags[]=x&tags[]=Y")
        .await
        .data();
    assert_eq!(c["name"], "form one");
    assert_eq!(c["status"], 1);
    assert_eq!(c["order"], 3);
    assert_eq!(c["group_id"], 7);
    assert_eq!(c["enabled"], false);
    assert_eq!(c["link"], "https://x.test");
    assert_eq!(c["meta"], json!({"a": "1"}));
    assert_eq!(c["tags"], json!({"x": "x", "y": "Y"}));
    let id = c["id"].as_i64().unwrap();
    let c = app
        .form(
            Method::PUT,
            &format!("/api/v1/components/{id}"),
            Some(&app.admin),
            "enabled=True&status=3",
        )
        .await
        .data();
    assert_eq!(c["enabled"], true);
    assert_eq!(c["status"], 3);
    // Query parameters count on writes too, and the body wins over them.
    let c = app
        .put(
            &format!("/api/v1/components/{id}?status=4&order=9"),
            Some(&app.admin),
            json!({"status": 2}),
        )
        .await
        .data();
    assert_eq!(c["status"], 2);
    assert_eq!(c["order"], 9);
}

#[tokio::test]
async fn bad_input_is_400_naming_the_field_and_writes_nothing() {
    let app = App::new().await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({"status": 1}), "The name field is required."),
        (
            json!({"name": "x", "status": "abc"}),
            "The status must be an integer.",
        ),
        (
            json!({"name": "x", "status": [1]}),
            "The status must be an integer.",
        ),
        (
            json!({"name": "x", "status": 1.5}),
            "The status must be an integer.",
        ),
        (
            json!({"name": "x", "status": 5}),
            "The status must be between 0 and 4.",
        ),
        (
            json!({"name": "x", "status": -1}),
            "The status must be between 0 and 4.",
        ),
        (
            json!({"name": {"a": 1}, "status": 1}),
            "The name must be a string.",
        ),
        (
            json!({"name": true, "status": 1}),
            "The name must be a string.",
        ),
        (
            json!({"name": "x", "status": 1, "enabled": "maybe"}),
            "The enabled field must be true or false.",
        ),
        (
            json!({"name": "x", "status": 1, "enabled": 2}),
            "The enabled field must be true or false.",
        ),
        (
            json!({"name": "x", "status": 1, "order": "9999999999999999999999"}),
            "The order must be an integer.",
        ),
        (
            json!({"name": "x", "status": 1, "order": 99999999999_i64}),
            "The order must be between -2147483647 and 2147483647.",
        ),
        (
            json!({"name": "x", "status": 1, "link": "javascript:alert(1)"}),
            "The link format is invalid.",
        ),
        (
            json!({"name": "x", "status": 1, "meta": "str"}),
            "The meta must be an array.",
        ),
        (
            json!({"name": "x", "status": 1, "tags": {"a": 1}}),
            "The tags must be a string.",
        ),
        (
            json!({"name": "x", "status": 1, "group_id": -3}),
            "The group id must be at least 0.",
        ),
        (
            json!({"name": "", "status": 1}),
            "The name field is required.",
        ),
    ];
    for (body, message) in cases {
        let res = app
            .post("/api/v1/components", Some(&app.admin), body.clone())
            .await;
        let details = res.invalid();
        assert!(details.iter().any(|d| d == message), "{body}: {details:?}");
    }
    // Every problem at once.
    let details = app
        .post(
            "/api/v1/components",
            Some(&app.admin),
            json!({"status": "x", "enabled": "y"}),
        )
        .await
        .invalid();
    assert_eq!(details.len(), 2, "{details:?}");
    assert_eq!(count(&app).await, 0);
}

#[tokio::test]
async fn roles_decide_who_writes() {
    let app = App::new().await;
    let body = json!({"name": "x", "status": 1});
    app.post("/api/v1/components", Some(&app.viewer), body.clone())
        .await
        .error(403);
    app.post("/api/v1/components", Some(&app.reporter), body.clone())
        .await
        .error(403);
    assert_eq!(count(&app).await, 0);
    let id = app
        .post("/api/v1/components", Some(&app.manager), body)
        .await
        .data()["id"]
        .as_i64()
        .unwrap();
    let uri = format!("/api/v1/components/{id}");
    // A reporter (monitoring bot) may set the status, and only the status.
    assert_eq!(
        app.put(&uri, Some(&app.reporter), json!({"status": 4}))
            .await
            .data()["status"],
        4
    );
    app.put(
        &uri,
        Some(&app.reporter),
        json!({"status": 1, "name": "renamed"}),
    )
    .await
    .error(403);
    app.put(&uri, Some(&app.viewer), json!({"status": 1}))
        .await
        .error(403);
    app.delete(&uri, Some(&app.reporter)).await.error(403);
    app.delete(&uri, Some(&app.viewer)).await.error(403);
    app.delete(&uri, None).await.error(401);
    app.put(&uri, None, json!({"status": 1})).await.error(401);
    let c = app.get(&uri, None).await.data();
    assert_eq!(c["name"], "x");
    assert_eq!(c["status"], 4);
    assert_eq!(app.delete(&uri, Some(&app.manager)).await.status, 204);
    app.get(&uri, Some(&app.admin)).await.error(404);
}

#[tokio::test]
async fn unknown_ids_are_404_for_every_method() {
    let app = App::new().await;
    let e = app.get("/api/v1/components/424242", None).await.error(404);
    assert_eq!(
        e["detail"],
        "No query results for model [CachetHQ\\Cachet\\Models\\Component]."
    );
    app.put(
        "/api/v1/components/424242",
        Some(&app.admin),
        json!({"status": 1}),
    )
    .await
    .error(404);
    app.delete("/api/v1/components/424242", Some(&app.admin))
        .await
        .error(404);
}

#[tokio::test]
async fn update_round_trips_the_whole_object() {
    let app = App::new().await;
    let c = app
        .post(
            "/api/v1/components",
            Some(&app.admin),
            json!({"name": "api", "status": 1, "tags": "a,b"}),
        )
        .await
        .data();
    let id = c["id"].as_i64().unwrap();
    // cachet-client's Component.update(): every attribute it got, tags rebuilt from values.
    let mut back = c.clone();
    back["description"] = json!("edited");
    back["tags"] = json!("a,b");
    let new = app
        .put(&format!("/api/v1/components/{id}"), Some(&app.admin), back)
        .await
        .data();
    assert_eq!(new["description"], "edited");
    assert_eq!(new["name"], "api");
    assert_eq!(new["tags"], json!({"a": "a", "b": "b"}));
    // An empty tags string clears the set; absent keeps it.
    let new = app
        .put(
            &format!("/api/v1/components/{id}"),
            Some(&app.admin),
            json!({"tags": ""}),
        )
        .await
        .data();
    assert_eq!(new["tags"], json!({}));
    let new = app
        .put(
            &format!("/api/v1/components/{id}"),
            Some(&app.admin),
            json!({"name": "api2"}),
        )
        .await
        .data();
    assert_eq!(new["description"], "edited");
}

#[tokio::test]
async fn guests_never_see_hidden_components() {
    let app = App::new().await;
    let public = seed(&app, "public", 1, true, None).await;
    let disabled = seed(&app, "disabled", 1, false, None).await;
    let g = app
        .service
        .create_group(
            &SYSTEM,
            GroupInput {
                name: Some("private".into()),
                visible: Some(0),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let in_private = seed(&app, "in-private", 1, true, Some(g.group.id.get())).await;

    assert_eq!(
        app.get("/api/v1/components", None).await.ids(),
        vec![public]
    );
    assert_eq!(app.get("/api/v1/components", None).await.total(), 1);
    for id in [disabled, in_private] {
        app.get(&format!("/api/v1/components/{id}"), None)
            .await
            .error(404);
        assert_eq!(
            app.get(&format!("/api/v1/components/{id}"), Some(&app.viewer))
                .await
                .data()["id"],
            id
        );
    }
    assert_eq!(
        app.get("/api/v1/components?sort=id", Some(&app.viewer))
            .await
            .ids(),
        vec![public, disabled, in_private]
    );
    // A guest asking for disabled ones gets nothing, not the hidden rows.
    assert_eq!(
        app.get("/api/v1/components?enabled=0", None).await.total(),
        0
    );
}

#[tokio::test]
async fn filters_only_on_searchable_columns() {
    let app = App::new().await;
    let g = app
        .service
        .create_group(
            &SYSTEM,
            GroupInput {
                name: Some("g".into()),
                visible: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let gid = g.group.id.get();
    let a = seed(&app, "alpha", 1, true, Some(gid)).await;
    let b = seed(&app, "beta", 3, true, Some(gid)).await;
    let c = seed(&app, "gamma", 3, true, None).await;
    app.service
        .update_component(
            &SYSTEM,
            ComponentId(a),
            ComponentInput {
                tags: Some(vec!["Foo".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    app.service
        .update_component(
            &SYSTEM,
            ComponentId(c),
            ComponentInput {
                tags: Some(vec!["Bar".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let ids = |q: &str| {
        let q = q.to_string();
        let app = &app;
        async move {
            let mut ids = app
                .get(&format!("/api/v1/components?{q}"), None)
                .await
                .ids();
            ids.sort();
            ids
        }
    };
    assert_eq!(ids("status=3").await, vec![b, c]);
    assert_eq!(ids("name=alpha").await, vec![a]);
    assert_eq!(ids(&format!("group_id={gid}")).await, vec![a, b]);
    assert_eq!(ids("group_id=0").await, vec![c]);
    assert_eq!(ids(&format!("id={b}")).await, vec![b]);
    assert_eq!(ids("enabled=True").await, vec![a, b, c]);
    // `order` is the sort direction (cachet sends order=desc on every search), never a filter.
    assert_eq!(ids(&format!("group_id={gid}&order=desc")).await, vec![a, b]);
    // Non-column keys are ignored, including page (the reference's 500).
    assert_eq!(
        ids(&format!("group_id={gid}&page=1&password=x&foo=bar")).await,
        vec![a, b]
    );
    assert_eq!(
        app.get(
            &format!("/api/v1/components?group_id={gid}&per_page=1&page=2"),
            None
        )
        .await
        .data()
        .as_array()
        .unwrap()
        .len(),
        1
    );
    // Tags by slug, any of them.
    assert_eq!(ids("tags[]=foo").await, vec![a]);
    assert_eq!(ids("tags=FOO").await, vec![a]);
    assert_eq!(ids("tags[]=foo&tags[]=bar").await, vec![a, c]);
    assert_eq!(ids("tags[]=nope").await, Vec::<i64>::new());
    assert_eq!(ids("tags=!!!").await, Vec::<i64>::new());
    // A malformed filter value is a 400, never a 500.
    let details = app
        .get("/api/v1/components?status=abc", None)
        .await
        .invalid();
    assert_eq!(details, vec!["The status must be an integer."]);
    assert_eq!(
        app.get("/api/v1/components?status=9", None).await.invalid(),
        vec!["The selected status is invalid."]
    );
    app.get("/api/v1/components?enabled=maybe", None)
        .await
        .invalid();
}

#[tokio::test]
async fn sort_uses_the_whitelist_and_honours_order() {
    let app = App::new().await;
    let a = seed(&app, "b-second", 4, true, None).await;
    let b = seed(&app, "a-first", 1, true, None).await;
    let c = seed(&app, "c-third", 2, true, None).await;
    assert_eq!(
        app.get("/api/v1/components?sort=name", None).await.ids(),
        vec![b, a, c]
    );
    assert_eq!(
        app.get("/api/v1/components?sort=name&order=desc", None)
            .await
            .ids(),
        vec![c, a, b]
    );
    assert_eq!(
        app.get("/api/v1/components?sort=status&order=DESC", None)
            .await
            .ids(),
        vec![a, c, b]
    );
    // Not in the whitelist: ignored (default order by id).
    assert_eq!(
        app.get("/api/v1/components?sort=password&order=desc", None)
            .await
            .ids(),
        vec![a, b, c]
    );
    assert_eq!(
        app.get("/api/v1/components?sort=name;drop%20table", None)
            .await
            .ids(),
        vec![a, b, c]
    );
}
