//! `GET /api/v1/actions`: the audit log, Admin only, paginated and filtered.

use serde_json::json;

use crate::common::App;

#[tokio::test]
async fn the_audit_log_is_for_admins_and_filters_by_kind_and_time() {
    let app = App::new().await;
    app.get("/api/v1/actions", None).await.error(401);
    for token in [&app.viewer, &app.reporter, &app.manager] {
        app.get("/api/v1/actions", Some(token)).await.error(403);
    }
    for email in ["a@example.com", "b@example.com"] {
        let res = app
            .post(
                "/api/v1/subscribers",
                Some(&app.admin),
                json!({"email": email, "verify": true}),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.text());
    }
    let all = app.get("/api/v1/actions", Some(&app.admin)).await;
    assert_eq!(all.status, 200, "{}", all.text());
    let kinds: Vec<String> = all
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    // The three refused Viewer/Reporter/Manager reads are there too.
    assert_eq!(
        kinds.iter().filter(|k| *k == "subscriber.created").count(),
        2,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| *k == "authz.denied").count(),
        3,
        "{kinds:?}"
    );
    // Newest first, with the envelope's pagination.
    let ids = all.ids();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    assert_eq!(all.json()["meta"]["pagination"]["total"], ids.len());

    let only = app
        .get(
            "/api/v1/actions?kind=subscriber.created&per_page=1",
            Some(&app.admin),
        )
        .await;
    assert_eq!(only.status, 200);
    assert_eq!(only.json()["meta"]["pagination"]["total"], 2);
    assert_eq!(only.data().as_array().unwrap().len(), 1);
    assert_eq!(only.data()[0]["kind"], "subscriber.created");
    assert!(!only.text().contains("a@example.com") && !only.text().contains("b@example.com"));

    let future = app
        .get("/api/v1/actions?since=2999-01-01%2000:00", Some(&app.admin))
        .await;
    assert_eq!(future.status, 200);
    assert_eq!(future.json()["meta"]["pagination"]["total"], 0);
    let past = app
        .get("/api/v1/actions?until=1999-01-01%2000:00", Some(&app.admin))
        .await;
    assert_eq!(past.json()["meta"]["pagination"]["total"], 0);
    let bad = app
        .get("/api/v1/actions?since=yesterday", Some(&app.admin))
        .await;
    let messages = bad.invalid();
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].starts_with("The since is not a valid time"),
        "{messages:?}"
    );
}
