//! The public subscription pages: one answer for every address, link pages that act only on
//! a post, the one-click unsubscribe of RFC 8058, origin checks and the rate limit.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use cachet_core::input::ComponentInput;
use cachet_core::notify::EventKind;
use cachet_core::service::Outgoing;
use cachet_core::store::{DeliveryFilter, ListQuery};
use cachet_core::Actor;
use cachet_http::{HttpConfig, Rate, RateLimits};

use crate::common::{unlimited_api, App, Res};

async fn component(app: &App, name: &str, enabled: bool) -> i64 {
    app.service
        .create_component(
            &Actor::System,
            ComponentInput {
                name: Some(name.into()),
                status: Some(1),
                enabled: Some(enabled),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id
        .get()
}

/// The newest mail queued for `to` and the token of its `/subscribe/{path}/` link.
async fn mailed_link(app: &App, to: &str, path: &str) -> (EventKind, String) {
    let mut list = app
        .service
        .list_deliveries(
            &Actor::System,
            &ListQuery::new(1, 100, DeliveryFilter::default()),
        )
        .await
        .unwrap()
        .items;
    list.sort_by_key(|d| std::cmp::Reverse(d.id));
    for d in list {
        let Outgoing::Mail(m) = app
            .service
            .outgoing(&d, "https://status.test", chrono::Utc::now())
            .await
            .unwrap()
        else {
            continue;
        };
        if m.to != to {
            continue;
        }
        let marker = format!("https://status.test/subscribe/{path}/");
        let start = m.text.find(&marker).expect("link in the mail") + marker.len();
        let token = m.text[start..].split_whitespace().next().unwrap();
        return (d.notice.event, token.to_string());
    }
    panic!("no mail to {to}");
}

async fn post(app: &App, uri: &str, body: &str, origin: Option<&str>) -> Res {
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("host", "status.test")
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(o) = origin {
        b = b.header("origin", o);
    }
    app.send(b.body(Body::from(body.to_string())).unwrap())
        .await
}

async fn subscriber_count(app: &App) -> u64 {
    app.service
        .list_subscribers(&Actor::System, &ListQuery::new(1, 100, ()))
        .await
        .unwrap()
        .total
}

#[tokio::test]
async fn the_form_lists_public_components_and_answers_the_same_for_every_address() {
    let app = App::new().await;
    let payments = component(&app, "Payments", true).await;
    component(&app, "Secret backend", false).await;
    let page = app.get("/subscribe", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let html = page.text();
    assert!(html.contains("Payments"), "{html}");
    assert!(!html.contains("Secret backend"), "{html}");
    assert!(html.contains(r#"action="/subscribe""#), "{html}");
    // The index links to the form.
    assert!(app
        .get("/", None)
        .await
        .text()
        .contains(r#"href="/subscribe""#));

    let body = format!("email=ada%40example.com&components%5B%5D={payments}");
    let began = std::time::Instant::now();
    let first = post(&app, "/subscribe", &body, Some("https://status.test")).await;
    let new_address = began.elapsed();
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    assert!(first.text().contains("Check your inbox"));
    let (event, token) = mailed_link(&app, "ada@example.com", "verify").await;
    assert_eq!(event, EventKind::SubscriberCreated);
    let confirmed = post(
        &app,
        &format!("/subscribe/verify/{token}"),
        "",
        Some("https://status.test"),
    )
    .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.text());
    // A verified address, asked for again: the same page, word for word; its owner gets
    // their links, and nothing else changes.
    let began = std::time::Instant::now();
    let again = post(&app, "/subscribe", &body, None).await;
    let known_address = began.elapsed();
    assert_eq!(again.status, first.status);
    assert_eq!(again.text(), first.text());
    // Neither answer comes before the floor, whatever the write costs (a new address costs
    // the store more): the time tells nothing either.
    for took in [new_address, known_address] {
        assert!(took >= std::time::Duration::from_millis(300), "{took:?}");
    }
    let (event, _) = mailed_link(&app, "ada@example.com", "manage").await;
    assert_eq!(event, EventKind::LinksRequested);
    assert_eq!(subscriber_count(&app).await, 1);
}

#[tokio::test]
async fn bad_subscribe_forms_name_the_field_and_write_nothing() {
    let app = App::new().await;
    let hidden = component(&app, "Secret backend", false).await;
    for (body, needle) in [
        ("email=nope".to_string(), "The email"),
        (
            format!("email=ada%40example.com&components%5B%5D={hidden}"),
            "The selected components are invalid.",
        ),
        (
            "email=ada%40example.com&components%5B%5D=abc".to_string(),
            "components",
        ),
        (
            "email%5B%5D=a%40example.com".to_string(),
            "must be a string",
        ),
    ] {
        let res = post(&app, "/subscribe", &body, None).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(res.text().contains(needle), "{body}: {}", res.text());
    }
    assert_eq!(subscriber_count(&app).await, 0);
    // A form from another site, or in another encoding, is refused before anything.
    let res = post(
        &app,
        "/subscribe",
        "email=ada%40example.com",
        Some("https://evil.example"),
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = app
        .raw(
            Method::POST,
            "/subscribe",
            None,
            Some("application/json"),
            r#"{"email":"ada@example.com"}"#,
        )
        .await;
    assert_eq!(res.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(subscriber_count(&app).await, 0);
}

#[tokio::test]
async fn link_pages_act_only_on_a_post_and_only_with_a_genuine_link() {
    let app = App::new().await;
    let payments = component(&app, "Payments", true).await;
    let search = component(&app, "Search", true).await;
    post(&app, "/subscribe", "email=ada%40example.com", None).await;
    let (_, verify) = mailed_link(&app, "ada@example.com", "verify").await;

    // Opening the link (a mail scanner does) asks; it confirms nothing.
    let ask = app.get(&format!("/subscribe/verify/{verify}"), None).await;
    assert_eq!(ask.status, StatusCode::OK);
    assert!(ask.text().contains("ada@example.com"));
    assert!(ask
        .text()
        .contains(&format!(r#"action="/subscribe/verify/{verify}""#)));
    // Other sites never see the token in a Referer.
    assert_eq!(
        ask.header("referrer-policy"),
        Some("strict-origin-when-cross-origin")
    );
    let forged = format!("{}x", &verify[..verify.len() - 1]);
    for bad in [forged.as_str(), "1.9999999999.AAAA", "nonsense"] {
        for res in [
            app.get(&format!("/subscribe/verify/{bad}"), None).await,
            post(&app, &format!("/subscribe/verify/{bad}"), "", None).await,
            app.get(&format!("/subscribe/manage/{bad}"), None).await,
            post(&app, &format!("/subscribe/unsubscribe/{bad}"), "", None).await,
        ] {
            assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}");
            assert!(res.text().contains("The link is not valid."), "{bad}");
        }
    }
    let list = app
        .service
        .list_subscribers(&Actor::System, &ListQuery::new(1, 10, ()))
        .await
        .unwrap();
    assert!(list.items[0].verified_at.is_none());

    let done = post(&app, &format!("/subscribe/verify/{verify}"), "", None).await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.text().contains("Subscription confirmed"));
    let reused = post(&app, &format!("/subscribe/verify/{verify}"), "", None).await;
    assert_eq!(reused.status, StatusCode::BAD_REQUEST);
    assert!(reused.text().contains("This link was used already."));

    // Manage: the page shows what is followed; a post changes it.
    post(&app, "/subscribe", "email=ada%40example.com", None).await;
    let (_, manage) = mailed_link(&app, "ada@example.com", "manage").await;
    let page = app.get(&format!("/subscribe/manage/{manage}"), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.text().contains("checked"), "global: nothing ticked");
    let saved = post(
        &app,
        &format!("/subscribe/manage/{manage}"),
        &format!("components%5B%5D={search}"),
        Some("https://status.test"),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text());
    assert!(saved.text().contains("Saved."));
    let s = app.service.subscription(&manage).await.unwrap();
    assert!(!s.global);
    assert_eq!(
        s.subscriptions
            .iter()
            .map(|x| x.component_id.get())
            .collect::<Vec<_>>(),
        vec![search]
    );
    assert_ne!(search, payments);
    // From another site: refused, nothing changes.
    let res = post(
        &app,
        &format!("/subscribe/manage/{manage}"),
        "",
        Some("https://evil.example"),
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(!app.service.subscription(&manage).await.unwrap().global);
}

#[tokio::test]
async fn one_click_unsubscribe_needs_the_link_only() {
    let app = App::new().await;
    for email in ["ada", "bob"] {
        app.service
            .subscribe(&format!("{email}@example.com"), None)
            .await
            .unwrap();
    }
    let (_, verify) = mailed_link(&app, "ada@example.com", "verify").await;
    let (_, leave) = mailed_link(&app, "ada@example.com", "unsubscribe").await;
    post(&app, &format!("/subscribe/verify/{verify}"), "", None).await;

    let ask = app
        .get(&format!("/subscribe/unsubscribe/{leave}"), None)
        .await;
    assert_eq!(ask.status, StatusCode::OK);
    assert_eq!(subscriber_count(&app).await, 2);
    // The RFC 8058 post, as a mail provider's server sends it (another origin, or none).
    let res = app
        .send(
            Request::builder()
                .method(Method::POST)
                .uri(format!("/subscribe/unsubscribe/{leave}"))
                .header("host", "status.test")
                .header("origin", "https://mail.example")
                .header("content-type", "multipart/form-data; boundary=x")
                .body(Body::from(
                    "--x\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\n\
                     One-Click\r\n--x--\r\n",
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert!(res.text().contains("Unsubscribed"));
    assert_eq!(subscriber_count(&app).await, 1);
    let again = post(&app, &format!("/subscribe/unsubscribe/{leave}"), "", None).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(subscriber_count(&app).await, 1);
}

#[tokio::test]
async fn posts_are_rate_limited_per_client() {
    let app = App::with_config(HttpConfig {
        rate_limits: RateLimits {
            subscribe: Rate::new(2, 2),
            ..unlimited_api().rate_limits
        },
        ..unlimited_api()
    })
    .await;
    for i in 0..2 {
        let res = post(
            &app,
            "/subscribe",
            &format!("email=u{i}%40example.com"),
            None,
        )
        .await;
        assert_eq!(res.status, StatusCode::OK);
    }
    let res = post(&app, "/subscribe", "email=u9%40example.com", None).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(res.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    // The link posts share the limit, but for the one-click unsubscribe (mail providers
    // post those for many people from few addresses).
    let res = post(&app, "/subscribe/verify/1.2.3", "", None).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    for _ in 0..5 {
        let res = post(&app, "/subscribe/unsubscribe/1.2.3", "", None).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    }
    assert_eq!(subscriber_count(&app).await, 2);
    // Reading the form is not limited.
    assert_eq!(app.get("/subscribe", None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn nested_pages_link_under_the_prefix() {
    let app = App::new().await;
    let nested = axum::Router::new().nest("/status", app.router.clone());
    let res = tower::ServiceExt::oneshot(
        nested,
        Request::builder()
            .uri("/status/subscribe")
            .header("host", "status.test")
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    let html = String::from_utf8_lossy(&body);
    assert!(html.contains(r#"action="/status/subscribe""#), "{html}");
    assert!(html.contains(r#"href="/status/assets/"#), "{html}");
}
