//! `GET /api/v1/deliveries`: the outbox for Admins, newest first, filtered by state.

use axum::http::StatusCode;
use cachet_core::notify::{Channel, Claim, Outcome};
use cachet_core::Actor;

use crate::common::App;

#[tokio::test]
async fn admins_read_the_outbox_and_others_are_refused() {
    let app = App::new().await;
    for email in ["one@people.test", "two@people.test"] {
        app.service.subscribe(email, None).await.unwrap();
    }
    let claimed = app
        .service
        .claim_deliveries(&Claim {
            token: "lease".into(),
            now: chrono::Utc::now(),
            lease_until: chrono::Utc::now() + chrono::Duration::minutes(2),
            limit: 10,
            channel: Channel::Mail,
        })
        .await
        .unwrap();
    app.service
        .finish_delivery(
            claimed[0].id,
            "lease",
            Outcome::Failed("550 mailbox unavailable".into()),
        )
        .await
        .unwrap();

    let all = app.get("/api/v1/deliveries", Some(&app.admin)).await;
    let data = all.data();
    let rows = data.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(
        rows[0]["id"].as_i64() > rows[1]["id"].as_i64(),
        "newest first"
    );
    for r in rows {
        assert_eq!(r["event"], "subscriber.created");
        assert_eq!(r["target_type"], "subscriber");
        assert!(r["target_id"].as_i64().unwrap() > 0);
        assert!(r["subject"].as_str().unwrap().contains("Confirm"));
        assert_eq!(r["attempts"], 1);
    }
    let failed: Vec<_> = rows.iter().filter(|r| r["state"] == "failed").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["last_error"], "550 mailbox unavailable");
    assert_eq!(failed[0]["id"], claimed[0].id.get());

    let only = app
        .get("/api/v1/deliveries?state=failed", Some(&app.admin))
        .await
        .data();
    assert_eq!(only.as_array().unwrap().len(), 1);
    let res = app
        .get("/api/v1/deliveries?state=lost", Some(&app.admin))
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    assert!(res.text().contains("state"), "{}", res.text());

    for token in [&app.manager, &app.reporter, &app.viewer] {
        let res = app.get("/api/v1/deliveries", Some(token)).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(
        app.get("/api/v1/deliveries", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert!(app
        .service
        .list_deliveries(
            &Actor::System,
            &cachet_core::store::ListQuery::new(1, 10, Default::default())
        )
        .await
        .is_ok());
}
