//! Every write route against the whole failure matrix: 401 without (or with an invalid)
//! token, 403 for a role below the one required, 404 for an unknown id, 400 for a
//! malformed body; none of them writes anything. Then the allowed role succeeds.

use axum::http::Method;
use serde_json::{json, Value};

use crate::common::{seeded, App};

#[derive(Clone, Copy)]
enum Role {
    Viewer,
    Reporter,
    Manager,
    Admin,
}

fn token(app: &App, role: Role) -> &str {
    match role {
        Role::Viewer => &app.viewer,
        Role::Reporter => &app.reporter,
        Role::Manager => &app.manager,
        Role::Admin => &app.admin,
    }
}

struct Case {
    method: Method,
    route: &'static str,
    /// The same route with one id unknown.
    missing: Option<&'static str>,
    valid: Option<Value>,
    invalid: Option<Value>,
    /// The highest role that is refused.
    refused: Role,
    /// The least role that may.
    allowed: Role,
}

fn cases() -> Vec<Case> {
    use Role::*;
    let c = |method: Method, route, missing, valid, invalid, refused, allowed| Case {
        method,
        route,
        missing,
        valid,
        invalid,
        refused,
        allowed,
    };
    vec![
        c(
            Method::POST,
            "/api/v1/components",
            None,
            Some(json!({"name": "n", "status": 1})),
            Some(json!({"name": "n", "status": "x"})),
            Reporter,
            Manager,
        ),
        c(
            Method::PUT,
            "/api/v1/components/{c}",
            Some("/api/v1/components/999999"),
            Some(json!({"name": "n2"})),
            Some(json!({"enabled": "x"})),
            Reporter,
            Manager,
        ),
        c(
            Method::PUT,
            "/api/v1/components/{c}",
            Some("/api/v1/components/999999"),
            Some(json!({"status": 3})),
            Some(json!({"status": [3]})),
            Viewer,
            Reporter,
        ),
        c(
            Method::DELETE,
            "/api/v1/components/{c}",
            Some("/api/v1/components/999999"),
            None,
            None,
            Reporter,
            Manager,
        ),
        c(
            Method::POST,
            "/api/v1/components/groups",
            None,
            Some(json!({"name": "g2"})),
            Some(json!({"name": "g2", "order": 1.5})),
            Reporter,
            Manager,
        ),
        c(
            Method::PUT,
            "/api/v1/components/groups/{g}",
            Some("/api/v1/components/groups/999999"),
            Some(json!({"visible": 1})),
            Some(json!({"visible": "x"})),
            Reporter,
            Manager,
        ),
        c(
            Method::DELETE,
            "/api/v1/components/groups/{g}",
            Some("/api/v1/components/groups/999999"),
            None,
            None,
            Reporter,
            Manager,
        ),
        c(
            Method::POST,
            "/api/v1/incidents",
            None,
            Some(json!({"name": "i2", "status": 2, "message": "m"})),
            Some(json!({"name": "i2", "status": 2, "message": "m", "occurred_at": "bad"})),
            Viewer,
            Reporter,
        ),
        c(
            Method::PUT,
            "/api/v1/incidents/{i}",
            Some("/api/v1/incidents/999999"),
            Some(json!({"status": 4})),
            Some(json!({"status": 4, "visible": "x"})),
            Viewer,
            Reporter,
        ),
        c(
            Method::DELETE,
            "/api/v1/incidents/{i}",
            Some("/api/v1/incidents/999999"),
            None,
            None,
            Reporter,
            Manager,
        ),
        c(
            Method::POST,
            "/api/v1/incidents/{i}/updates",
            Some("/api/v1/incidents/999999/updates"),
            Some(json!({"status": 3, "message": "m"})),
            Some(json!({"status": 5, "message": "m"})),
            Viewer,
            Reporter,
        ),
        c(
            Method::PUT,
            "/api/v1/incidents/{i}/updates/{u}",
            Some("/api/v1/incidents/{i}/updates/999999"),
            Some(json!({"message": "m2"})),
            Some(json!({"message": {"a": 1}})),
            Viewer,
            Reporter,
        ),
        c(
            Method::DELETE,
            "/api/v1/incidents/{i}/updates/{u}",
            Some("/api/v1/incidents/999999/updates/{u}"),
            None,
            None,
            Reporter,
            Manager,
        ),
        c(
            Method::POST,
            "/api/v1/metrics",
            None,
            Some(json!({"name": "m2", "suffix": "s", "default_value": 1.5})),
            Some(json!({"name": "m2", "suffix": "s", "default_value": "NaN"})),
            Reporter,
            Manager,
        ),
        c(
            Method::PUT,
            "/api/v1/metrics/{m}",
            Some("/api/v1/metrics/999999"),
            Some(json!({"threshold": 10})),
            Some(json!({"threshold": 7})),
            Reporter,
            Manager,
        ),
        c(
            Method::DELETE,
            "/api/v1/metrics/{m}",
            Some("/api/v1/metrics/999999"),
            None,
            None,
            Reporter,
            Manager,
        ),
        c(
            Method::POST,
            "/api/v1/metrics/{m}/points",
            Some("/api/v1/metrics/999999/points"),
            Some(json!({"value": 2})),
            Some(json!({"value": "Infinity"})),
            Viewer,
            Reporter,
        ),
        c(
            Method::PUT,
            "/api/v1/metrics/{m}/points/{p}",
            Some("/api/v1/metrics/{m}/points/999999"),
            Some(json!({"value": 3})),
            Some(json!({"value": "x"})),
            Reporter,
            Manager,
        ),
        c(
            Method::DELETE,
            "/api/v1/metrics/{m}/points/{p}",
            Some("/api/v1/metrics/999999/points/{p}"),
            None,
            None,
            Reporter,
            Manager,
        ),
        c(
            Method::POST,
            "/api/v1/schedules",
            None,
            Some(json!({"name": "s2", "status": 1, "scheduled_at": "2030-01-01 00:00"})),
            Some(json!({"name": "s2", "status": 1, "scheduled_at": "2030-01-01T00:00:00Z"})),
            Reporter,
            Manager,
        ),
        c(
            Method::PUT,
            "/api/v1/schedules/{s}",
            Some("/api/v1/schedules/999999"),
            Some(json!({"status": 2})),
            Some(json!({"status": 3})),
            Reporter,
            Manager,
        ),
        c(
            Method::DELETE,
            "/api/v1/schedules/{s}",
            Some("/api/v1/schedules/999999"),
            None,
            None,
            Reporter,
            Manager,
        ),
        c(
            Method::POST,
            "/api/v1/subscribers",
            None,
            Some(json!({"email": "new@example.com"})),
            Some(json!({"email": "new@example.com", "verify": "x"})),
            Manager,
            Admin,
        ),
        c(
            Method::DELETE,
            "/api/v1/subscribers/{sub}",
            Some("/api/v1/subscribers/999999"),
            None,
            None,
            Manager,
            Admin,
        ),
        c(
            Method::DELETE,
            "/api/v1/subscriptions/{x}",
            Some("/api/v1/subscriptions/999999"),
            None,
            None,
            Manager,
            Admin,
        ),
    ]
}

/// Everything an admin can read, to prove a refused request wrote nothing.
async fn snapshot(app: &App, ids: &crate::common::Ids) -> Vec<Value> {
    let mut out = vec![];
    for list in [
        "/api/v1/components?per_page=1000",
        "/api/v1/components/groups",
        "/api/v1/incidents",
        "/api/v1/incidents/{i}/updates",
        "/api/v1/metrics",
        "/api/v1/metrics/{m}/points",
        "/api/v1/schedules",
        "/api/v1/subscribers",
    ] {
        out.push(app.get(&ids.fill(list), Some(&app.admin)).await.json()["data"].clone());
    }
    out
}

#[tokio::test]
async fn every_write_route_refuses_and_accepts_as_it_should() {
    for case in cases() {
        let (app, ids) = seeded().await;
        let uri = ids.fill(case.route);
        let what = format!("{} {}", case.method, case.route);
        let before = snapshot(&app, &ids).await;

        app.call(case.method.clone(), &uri, None, case.valid.clone())
            .await
            .error(401);
        app.call(
            case.method.clone(),
            &uri,
            Some("cachet_bogus"),
            case.valid.clone(),
        )
        .await
        .error(401);
        let refused = app
            .call(
                case.method.clone(),
                &uri,
                Some(token(&app, case.refused)),
                case.valid.clone(),
            )
            .await;
        assert_eq!(refused.status, 403, "{what}: {}", refused.text());
        refused.error(403);
        if let Some(missing) = case.missing {
            let res = app
                .call(
                    case.method.clone(),
                    &ids.fill(missing),
                    Some(&app.admin),
                    case.valid.clone(),
                )
                .await;
            assert_eq!(res.status, 404, "{what}: {}", res.text());
            res.error(404);
        }
        if let Some(invalid) = case.invalid.clone() {
            let res = app
                .call(case.method.clone(), &uri, Some(&app.admin), Some(invalid))
                .await;
            assert!(!res.invalid().is_empty(), "{what}");
        }
        assert_eq!(
            snapshot(&app, &ids).await,
            before,
            "{what}: a refused request wrote something"
        );

        let res = app
            .call(
                case.method.clone(),
                &uri,
                Some(token(&app, case.allowed)),
                case.valid.clone(),
            )
            .await;
        let expected = if case.method == Method::DELETE {
            204
        } else {
            200
        };
        assert_eq!(res.status.as_u16(), expected, "{what}: {}", res.text());
        if expected == 200 {
            assert!(res.json()["data"]["id"].is_i64(), "{what}");
        }
    }
}

#[tokio::test]
async fn every_read_route_answers_guests_and_404s() {
    let (app, ids) = seeded().await;
    for (route, missing) in [
        ("/api/v1/components", None),
        ("/api/v1/components/{c}", Some("/api/v1/components/999999")),
        ("/api/v1/components/groups", None),
        ("/api/v1/incidents", None),
        ("/api/v1/incidents/{i}", Some("/api/v1/incidents/999999")),
        (
            "/api/v1/incidents/{i}/updates",
            Some("/api/v1/incidents/999999/updates"),
        ),
        (
            "/api/v1/incidents/{i}/updates/{u}",
            Some("/api/v1/incidents/{i}/updates/999999"),
        ),
        ("/api/v1/incidents/templates", None),
        ("/api/v1/metrics", None),
        ("/api/v1/metrics/{m}", Some("/api/v1/metrics/999999")),
        (
            "/api/v1/metrics/{m}/points",
            Some("/api/v1/metrics/999999/points"),
        ),
        ("/api/v1/schedules", None),
        ("/api/v1/schedules/{s}", Some("/api/v1/schedules/999999")),
    ] {
        let res = app.get(&ids.fill(route), None).await;
        assert_eq!(res.status, 200, "{route}: {}", res.text());
        res.assert_json_type();
        if let Some(missing) = missing {
            app.get(&ids.fill(missing), Some(&app.admin))
                .await
                .error(404);
        }
    }
    // The seeded group is private: 404 for guests, 200 for a viewer.
    app.get(&ids.fill("/api/v1/components/groups/{g}"), None)
        .await
        .error(404);
    assert_eq!(
        app.get(
            &ids.fill("/api/v1/components/groups/{g}"),
            Some(&app.viewer)
        )
        .await
        .status,
        200
    );
}

/// A token's abilities narrow it at the API too: an Admin's token that may only post metric
/// points gets 403 everywhere else, and an expired token is 401.
#[tokio::test]
async fn token_abilities_and_expiry_hold_at_the_api() {
    use cachet_core::input::TokenInput;
    use cachet_core::policy::Abilities;
    use cachet_core::secret::NewToken;
    use cachet_core::store::NewApiToken;
    use cachet_core::Store;

    let (app, ids) = seeded().await;
    let admin = app
        .service
        .find_user(&crate::common::SYSTEM, "admin")
        .await
        .unwrap();
    let (_, points_only) = app
        .service
        .create_token(
            &crate::common::SYSTEM,
            admin.id,
            TokenInput {
                name: "points".into(),
                abilities: Some("metrics.points.write".into()),
                expires_at: None,
            },
        )
        .await
        .unwrap();
    let metric = ids.m;
    let ok = app
        .post(
            &format!("/api/v1/metrics/{metric}/points"),
            Some(&points_only),
            json!({"value": 5}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    for (method, route, body) in [
        (
            Method::POST,
            "/api/v1/components".to_string(),
            json!({"name": "n", "status": 1}),
        ),
        (
            Method::POST,
            "/api/v1/incidents".to_string(),
            json!({"name": "n", "message": "m", "status": 1, "visible": 1}),
        ),
        (Method::GET, "/api/v1/subscribers".to_string(), json!({})),
        (Method::GET, "/api/v1/actions".to_string(), json!({})),
        (Method::GET, "/api/v1/deliveries".to_string(), json!({})),
        (
            Method::DELETE,
            format!("/api/v1/metrics/{metric}"),
            json!({}),
        ),
    ] {
        let body = (method != Method::GET && method != Method::DELETE).then_some(body);
        app.call(method.clone(), &route, Some(&points_only), body)
            .await
            .error(403);
    }
    let old = NewToken::generate();
    app.store
        .create_token(NewApiToken {
            user_id: admin.id,
            name: "old".into(),
            prefix: old.prefix.clone(),
            hash: old.hash,
            abilities: Some(Abilities::none()),
            expires_at: Some(chrono::Utc::now() - chrono::Duration::seconds(1)),
        })
        .await
        .unwrap();
    app.post(
        "/api/v1/components",
        Some(&old.secret),
        json!({"name": "n", "status": 1}),
    )
    .await
    .error(401);
}
