//! Metrics and metric points (spec 5.6, 5.7).

use axum::body::Body;
use axum::http::{Method, Request};
use cachet_core::ids::MetricId;
use cachet_core::input::MetricInput;
use cachet_core::store::{ListQuery, MetricFilter};
use cachet_core::Store;
use serde_json::{json, Value};

use crate::common::{App, SYSTEM};

async fn metric(app: &App, name: &str, visible: i64) -> i64 {
    app.service
        .create_metric(
            &SYSTEM,
            MetricInput {
                name: Some(name.into()),
                suffix: Some("ms".into()),
                default_value: Some(0.0),
                visible: Some(visible),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id
        .get()
}

async fn point_count(app: &App, metric: i64) -> u64 {
    app.store
        .list_points(MetricId(metric), &ListQuery::default())
        .await
        .unwrap()
        .total
}

#[tokio::test]
async fn create_with_view_alias_and_whole_numbers() {
    let app = App::new().await;
    let m = app
        .post(
            "/api/v1/metrics",
            Some(&app.manager),
            json!({"name": "latency", "suffix": "ms", "description": "API latency", "default_value": 0, "display_chart": 1, "view": 2}),
        )
        .await;
    assert!(m.text().contains(r#""default_value":0,"#), "{}", m.text());
    let m = m.data();
    assert_eq!(m["name"], "latency");
    assert_eq!(m["default_view"], 2);
    assert_eq!(m["default_view_name"], "Week");
    assert_eq!(m["display_chart"], true);
    assert_eq!(m["calc_type"], 0);
    assert_eq!(m["places"], 2);
    assert_eq!(m["threshold"], 5);
    assert_eq!(m["visible"], 1);
    let id = m["id"].as_i64().unwrap();
    let m = app
        .put(
            &format!("/api/v1/metrics/{id}"),
            Some(&app.manager),
            json!({"name": "renamed", "view": 0, "default_value": "1.5"}),
        )
        .await
        .data();
    assert_eq!(m["name"], "renamed");
    assert_eq!(m["default_view"], 0);
    assert_eq!(m["default_view_name"], "Last Hour");
    assert_eq!(m["default_value"], 1.5);
    assert_eq!(m["suffix"], "ms");
    // Form-encoded, as cachet sends it.
    let m = app
        .form(
            Method::POST,
            "/api/v1/metrics",
            Some(&app.admin),
            "name=form&suffix=ms&description=d&default_value=0&display_chart=0",
        )
        .await
        .data();
    assert_eq!(m["display_chart"], false);
    assert_eq!(app.get("/api/v1/metrics", None).await.total(), 2);
}

#[tokio::test]
async fn bad_metric_input_is_400_and_writes_nothing() {
    let app = App::new().await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"name": "m", "default_value": 0}),
            "The suffix field is required.",
        ),
        (
            json!({"name": "m", "suffix": "s"}),
            "The default value field is required.",
        ),
        (
            json!({"name": "m", "suffix": "s", "default_value": "NaN"}),
            "The default value must be a number.",
        ),
        (
            json!({"name": "m", "suffix": "s", "default_value": "Infinity"}),
            "The default value must be a number.",
        ),
        (
            json!({"name": "m", "suffix": "s", "default_value": 0, "threshold": 7}),
            "Threshold must divide by 60.",
        ),
        (
            json!({"name": "m", "suffix": "s", "default_value": 0, "threshold": 0}),
            "Threshold must divide by 60.",
        ),
        (
            json!({"name": "m", "suffix": "s", "default_value": 0, "places": 9}),
            "The places must be between 0 and 4.",
        ),
        (
            json!({"name": "m", "suffix": "s", "default_value": 0, "view": 4}),
            "The default view must be between 0 and 3.",
        ),
        (
            json!({"name": "m", "suffix": "s", "default_value": 0, "calc_type": 2}),
            "The calc type must be between 0 and 1.",
        ),
        (
            json!({"name": "m", "suffix": "s", "default_value": 0, "display_chart": "sure"}),
            "The display chart field must be true or false.",
        ),
    ];
    for (body, message) in cases {
        let details = app
            .post("/api/v1/metrics", Some(&app.admin), body.clone())
            .await
            .invalid();
        assert!(details.iter().any(|d| d == message), "{body}: {details:?}");
    }
    app.post(
        "/api/v1/metrics",
        Some(&app.reporter),
        json!({"name": "m", "suffix": "s", "default_value": 0}),
    )
    .await
    .error(403);
    app.post(
        "/api/v1/metrics",
        None,
        json!({"name": "m", "suffix": "s", "default_value": 0}),
    )
    .await
    .error(401);
    app.put(
        "/api/v1/metrics/999",
        Some(&app.admin),
        json!({"name": "x"}),
    )
    .await
    .error(404);
    app.delete("/api/v1/metrics/999", Some(&app.admin))
        .await
        .error(404);
    assert_eq!(
        app.store
            .list_metrics(&ListQuery::<_, MetricFilter>::default())
            .await
            .unwrap()
            .total,
        0
    );
}

#[tokio::test]
async fn points_keep_decimals_and_print_whole_values_plainly() {
    let app = App::new().await;
    let mid = metric(&app, "m", 1).await;
    let base = format!("/api/v1/metrics/{mid}/points");
    let mut ids = vec![];
    for (v, text) in [
        (json!(12.5), "12.5"),
        (json!(30.0), "30"),
        (json!("47.25"), "47.25"),
    ] {
        let res = app
            .post(&base, Some(&app.reporter), json!({"value": v}))
            .await;
        assert!(
            res.text().contains(&format!(r#""value":{text},"#)),
            "{}",
            res.text()
        );
        let p = res.data();
        assert_eq!(p["metric_id"], mid);
        assert_eq!(p["counter"], 1);
        ids.push(p["id"].as_i64().unwrap());
    }
    // Same value again within the threshold: the counter goes up instead.
    let again = app
        .post(&base, Some(&app.reporter), json!({"value": 12.5}))
        .await
        .data();
    assert_eq!(again["id"], ids[0]);
    assert_eq!(again["counter"], 2);
    assert_eq!(again["calculated_value"], 25);
    assert_eq!(app.get(&base, None).await.total(), 3);

    let pid = ids[1];
    let res = app
        .put(
            &format!("{base}/{pid}"),
            Some(&app.manager),
            json!({"value": 999}),
        )
        .await;
    assert!(res.text().contains(r#""value":999,"#), "{}", res.text());
    assert!(
        res.text().contains(r#""calculated_value":999}"#),
        "{}",
        res.text()
    );
    app.put(
        &format!("{base}/{pid}"),
        Some(&app.reporter),
        json!({"value": 1}),
    )
    .await
    .error(403);
    assert_eq!(
        app.delete(&format!("{base}/{pid}"), Some(&app.manager))
            .await
            .status,
        204
    );
    assert_eq!(point_count(&app, mid).await, 2);
}

#[tokio::test]
async fn point_timestamps_round_to_30_seconds_in_the_request_zone() {
    let app = App::new().await;
    let mid = metric(&app, "m", 1).await;
    let base = format!("/api/v1/metrics/{mid}/points");
    let ts: i64 = 1_714_571_115; // 2024-05-01 13:45:15 UTC -> rounds half up to :30
    let req = Request::post(&base)
        .header("X-Cachet-Token", &app.admin)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("Time-Zone", "Asia/Kolkata")
        .body(Body::from(format!("value=3.25&timestamp={ts}")))
        .unwrap();
    let p = app.send(req).await.data();
    assert_eq!(p["created_at"], "2024-05-01 19:15:30");
    assert_eq!(p["value"], 3.25);
    // Digit strings too (cachethq-client sends the timestamp as a string).
    let p = app
        .post(
            &base,
            Some(&app.admin),
            json!({"value": 1, "timestamp": "1714571100"}),
        )
        .await
        .data();
    assert_eq!(p["created_at"], "2024-05-01 13:45:00");
    // Newest first.
    let listed = app.get(&base, None).await.ids();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        app.get(&base, None).await.data()[0]["created_at"],
        "2024-05-01 13:45:30"
    );
}

#[tokio::test]
async fn bad_points_are_400_and_write_nothing() {
    let app = App::new().await;
    let mid = metric(&app, "m", 1).await;
    let base = format!("/api/v1/metrics/{mid}/points");
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "The value field is required."),
        (json!({"value": "NaN"}), "The value must be a number."),
        (json!({"value": "nan"}), "The value must be a number."),
        (json!({"value": "-Infinity"}), "The value must be a number."),
        (json!({"value": "1e999"}), "The value must be a number."),
        (json!({"value": "abc"}), "The value must be a number."),
        (json!({"value": [1]}), "The value must be a number."),
        (
            json!({"value": 1e300}),
            "The value must be between -1000000000000 and 1000000000000.",
        ),
        (
            json!({"value": 1, "timestamp": "soon"}),
            "The timestamp must be an integer.",
        ),
        (
            json!({"value": 1, "timestamp": 1.5}),
            "The timestamp must be an integer.",
        ),
        (
            json!({"value": 1, "timestamp": -5}),
            "The timestamp must be unix seconds between 1970 and one year from now.",
        ),
        (
            json!({"value": 1, "timestamp": 9_999_999_999_999_i64}),
            "The timestamp must be unix seconds between 1970 and one year from now.",
        ),
    ];
    for (body, message) in cases {
        let details = app
            .post(&base, Some(&app.admin), body.clone())
            .await
            .invalid();
        assert!(details.iter().any(|d| d == message), "{body}: {details:?}");
    }
    let details = app
        .form(Method::POST, &base, Some(&app.admin), "value=NaN")
        .await
        .invalid();
    assert_eq!(details, vec!["The value must be a number."]);
    app.post(&base, Some(&app.viewer), json!({"value": 1}))
        .await
        .error(403);
    app.post(&base, None, json!({"value": 1})).await.error(401);
    app.post(
        "/api/v1/metrics/999/points",
        Some(&app.admin),
        json!({"value": 1}),
    )
    .await
    .error(404);
    assert_eq!(point_count(&app, mid).await, 0);
}

#[tokio::test]
async fn points_belong_to_their_metric() {
    let app = App::new().await;
    let a = metric(&app, "a", 1).await;
    let b = metric(&app, "b", 1).await;
    let p = app
        .post(
            &format!("/api/v1/metrics/{a}/points"),
            Some(&app.admin),
            json!({"value": 5}),
        )
        .await
        .data()["id"]
        .as_i64()
        .unwrap();
    app.put(
        &format!("/api/v1/metrics/{b}/points/{p}"),
        Some(&app.admin),
        json!({"value": 6}),
    )
    .await
    .error(404);
    app.delete(&format!("/api/v1/metrics/{b}/points/{p}"), Some(&app.admin))
        .await
        .error(404);
    assert_eq!(point_count(&app, a).await, 1);
    // Deleting the metric removes its points.
    assert_eq!(
        app.delete(&format!("/api/v1/metrics/{a}"), Some(&app.manager))
            .await
            .status,
        204
    );
    app.get(&format!("/api/v1/metrics/{a}"), Some(&app.admin))
        .await
        .error(404);
    app.get(&format!("/api/v1/metrics/{a}/points"), Some(&app.admin))
        .await
        .error(404);
}

#[tokio::test]
async fn guests_see_public_metrics_only() {
    let app = App::new().await;
    let public = metric(&app, "public", 1).await;
    let private = metric(&app, "private", 0).await;
    let hidden = metric(&app, "hidden", 2).await;
    app.service
        .record_point(
            &SYSTEM,
            MetricId(private),
            cachet_core::input::PointInput {
                value: Some(1.0),
                timestamp: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(app.get("/api/v1/metrics", None).await.ids(), vec![public]);
    for id in [private, hidden] {
        app.get(&format!("/api/v1/metrics/{id}"), None)
            .await
            .error(404);
        app.get(&format!("/api/v1/metrics/{id}/points"), None)
            .await
            .error(404);
    }
    assert_eq!(
        app.get("/api/v1/metrics?sort=name&order=desc", Some(&app.viewer))
            .await
            .ids(),
        vec![public, private, hidden]
    );
    assert_eq!(
        app.get(
            &format!("/api/v1/metrics/{private}/points"),
            Some(&app.viewer)
        )
        .await
        .total(),
        1
    );
}

#[tokio::test]
async fn query_only_posts_without_body_or_content_type_work() {
    // url-monitor style: parameters in the query string, no body, no content type.
    let app = App::new().await;
    let mid = metric(&app, "m", 1).await;
    let res = app
        .raw(
            Method::POST,
            &format!("/api/v1/metrics/{mid}/points?value=42.5&timestamp=1714571100"),
            Some(&app.reporter),
            None,
            "",
        )
        .await;
    let p = res.data();
    assert_eq!(p["value"], 42.5);
    assert_eq!(p["created_at"], "2024-05-01 13:45:00");
    // A form body overrides the query string.
    let p = app
        .form(
            Method::POST,
            &format!("/api/v1/metrics/{mid}/points?value=1"),
            Some(&app.reporter),
            "value=2",
        )
        .await
        .data();
    assert_eq!(p["value"], 2);
    assert_eq!(point_count(&app, mid).await, 2);
}
