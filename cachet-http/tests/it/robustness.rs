//! Whatever arrives, the answer is a status from the contract with the error envelope,
//! never a 500 and never a panic.

use axum::http::Method;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

use crate::common::seeded;

const FIELDS: &[&str] = &[
    "name",
    "status",
    "message",
    "description",
    "link",
    "order",
    "group_id",
    "enabled",
    "meta",
    "tags",
    "visible",
    "stickied",
    "notify",
    "component_id",
    "component_status",
    "occurred_at",
    "created_at",
    "template",
    "vars",
    "collapsed",
    "suffix",
    "default_value",
    "calc_type",
    "display_chart",
    "places",
    "default_view",
    "view",
    "threshold",
    "value",
    "timestamp",
    "scheduled_at",
    "completed_at",
    "components",
    "email",
    "verify",
    "page",
    "per_page",
    "sort",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-5i64..10).prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop_oneof![
            Just("NaN"),
            Just("Infinity"),
            Just("-inf"),
            Just("1e999"),
            Just("True"),
            Just("False"),
            Just("1"),
            Just("0"),
            Just(""),
            Just("2024-05-01 13:45"),
            Just("2024-02-30 25:61"),
            Just("a@b.c"),
            Just("1,2,3"),
            Just("<script>alert(1)</script>"),
            Just("javascript:alert(1)"),
            Just("\u{0}"),
            Just("9223372036854775808"),
        ]
        .prop_map(|s| json!(s)),
        "\\PC{0,12}".prop_map(Value::String),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z0-9]{1,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Value> {
    prop::collection::vec((prop::sample::select(FIELDS), value()), 0..8).prop_map(|pairs| {
        Value::Object(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect::<Map<_, _>>(),
        )
    })
}

fn check(res: &crate::common::Res, what: &str) {
    let s = res.status.as_u16();
    assert!(
        matches!(s, 200 | 204 | 400 | 401 | 403 | 404),
        "{what}: {s} {}",
        res.text()
    );
    if s >= 400 {
        res.error(s);
    }
}

/// Write routes; `{c}` etc. are replaced by the seeded ids.
const WRITES: &[(&str, &str)] = &[
    ("POST", "/api/v1/components"),
    ("PUT", "/api/v1/components/{c}"),
    ("POST", "/api/v1/components/groups"),
    ("PUT", "/api/v1/components/groups/{g}"),
    ("POST", "/api/v1/incidents"),
    ("PUT", "/api/v1/incidents/{i}"),
    ("POST", "/api/v1/incidents/{i}/updates"),
    ("PUT", "/api/v1/incidents/{i}/updates/{u}"),
    ("POST", "/api/v1/metrics"),
    ("PUT", "/api/v1/metrics/{m}"),
    ("POST", "/api/v1/metrics/{m}/points"),
    ("PUT", "/api/v1/metrics/{m}/points/{p}"),
    ("POST", "/api/v1/schedules"),
    ("PUT", "/api/v1/schedules/{s}"),
    ("POST", "/api/v1/subscribers"),
];

const LISTS: &[&str] = &[
    "/api/v1/components",
    "/api/v1/components/groups",
    "/api/v1/incidents",
    "/api/v1/incidents/{i}/updates",
    "/api/v1/incidents/templates",
    "/api/v1/metrics",
    "/api/v1/metrics/{m}/points",
    "/api/v1/schedules",
    "/api/v1/subscribers",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_json_bodies_never_fail_the_server(route in prop::sample::select(WRITES), body in body()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let (app, ids) = seeded().await;
            let method = Method::from_bytes(route.0.as_bytes()).unwrap();
            let res = app.call(method, &ids.fill(route.1), Some(&app.admin), Some(body.clone())).await;
            check(&res, &format!("{} {} {body}", route.0, route.1));
        });
    }

    #[test]
    fn random_form_bodies_and_queries_never_fail_the_server(
        route in prop::sample::select(WRITES),
        form in "[a-z_\\[\\]=&%0-9A-F.+-]{0,60}",
        query in "[a-z_\\[\\]=&%0-9.+-]{0,40}",
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let (app, ids) = seeded().await;
            let method = Method::from_bytes(route.0.as_bytes()).unwrap();
            let uri = format!("{}?{query}", ids.fill(route.1));
            let res = app.form(method, &uri, Some(&app.admin), &form).await;
            check(&res, &format!("{} {uri} {form}", route.0));
            for list in LISTS {
                let uri = format!("{}?{query}", ids.fill(list));
                check(&app.get(&uri, None).await, &uri);
                check(&app.get(&uri, Some(&app.admin)).await, &uri);
            }
        });
    }
}

/// The extreme integers are refused with a message naming the field, on every integer field
/// that has a range (`i64::MIN` has no absolute value: it once crashed the handler).
#[tokio::test]
async fn the_extreme_integers_are_refused_by_name() {
    let (app, ids) = seeded().await;
    let min = i64::MIN;
    let max = i64::MAX;
    let cases = [
        (
            "/api/v1/components",
            json!({"name": "x", "status": 1, "order": min}),
            "order",
        ),
        (
            "/api/v1/components",
            json!({"name": "x", "status": 1, "order": max}),
            "order",
        ),
        (
            "/api/v1/components",
            json!({"name": "x", "status": 1, "group_id": min}),
            "group id",
        ),
        (
            "/api/v1/components/groups",
            json!({"name": "x", "order": min}),
            "order",
        ),
        (
            "/api/v1/metrics",
            json!({"name": "m", "suffix": "s", "description": "d", "default_value": 0, "order": min}),
            "order",
        ),
    ];
    for (path, body, field) in cases {
        let res = app.post(path, Some(&app.admin), body.clone()).await;
        assert_eq!(res.status.as_u16(), 400, "{path} {body}: {}", res.text());
        let details = res.invalid();
        assert!(
            details
                .iter()
                .any(|d| d.contains(&format!("The {field} must be between"))),
            "{path} {body}: {details:?}"
        );
    }
    // And on a change.
    let res = app
        .put(
            &format!("/api/v1/components/{}", ids.c),
            Some(&app.admin),
            json!({"order": min}),
        )
        .await;
    assert_eq!(res.status.as_u16(), 400, "{}", res.text());
}
