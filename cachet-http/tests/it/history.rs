//! The public incident history (`/history`) and component pages (`/components/{id}`),
//! through the whole router.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cachet_core::enums::Role;
use cachet_core::ids::{ComponentId, UserId};
use cachet_core::input::{ComponentInput, GroupInput, IncidentInput};
use cachet_core::policy::Principal;
use cachet_core::{Actor, Tz};
use chrono::{DateTime, Duration, TimeZone, Utc};
use scraper::{ElementRef, Html, Selector};
use serde_json::json;
use tower::ServiceExt;

use crate::common::{App, Res, SYSTEM};

fn sel(s: &str) -> Selector {
    Selector::parse(s).expect("selector")
}

fn text_of(e: ElementRef<'_>) -> String {
    e.text()
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn html(r: &Res) -> Html {
    Html::parse_document(&r.text())
}

fn one<'a>(doc: &'a Html, s: &str) -> ElementRef<'a> {
    let selector = sel(s);
    let mut found = doc.select(&selector);
    let first = found
        .next()
        .unwrap_or_else(|| panic!("no element matches {s}"));
    assert!(found.next().is_none(), "several elements match {s}");
    first
}

fn texts(doc: &Html, s: &str) -> Vec<String> {
    doc.select(&sel(s)).map(text_of).collect()
}

fn attrs(doc: &Html, s: &str, attr: &str) -> Vec<String> {
    doc.select(&sel(s))
        .map(|e| e.value().attr(attr).unwrap_or_default().to_string())
        .collect()
}

fn href(doc: &Html, s: &str) -> Option<String> {
    doc.select(&sel(s))
        .next()
        .and_then(|e| e.value().attr("href").map(str::to_string))
}

/// No inline style, no script: the CSP allows neither.
fn assert_no_inline_code(doc: &Html) {
    assert_eq!(doc.select(&sel("script")).count(), 0, "a <script> element");
    assert_eq!(doc.select(&sel("style")).count(), 0, "a <style> element");
    assert_eq!(doc.select(&sel("[style]")).count(), 0, "a style attribute");
    for e in doc.select(&sel("*")) {
        for (name, _) in e.value().attrs() {
            assert!(!name.starts_with("on"), "event handler attribute {name}");
        }
    }
}

fn assert_html(r: &Res, status: StatusCode) {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
}

async fn tokyo(app: &App) -> Tz {
    app.service
        .update_settings(&SYSTEM, &[("app_timezone".into(), "Asia/Tokyo".into())])
        .await
        .unwrap();
    "Asia/Tokyo".parse().unwrap()
}

async fn component(app: &App, input: ComponentInput) -> ComponentId {
    app.service
        .create_component(&SYSTEM, input)
        .await
        .unwrap()
        .id
}

async fn set_status(app: &App, actor: &Actor, id: ComponentId, status: i64) {
    app.service
        .update_component(
            actor,
            id,
            ComponentInput {
                status: Some(status),
                ..Default::default()
            },
        )
        .await
        .unwrap();
}

/// A local date and time in the display zone, as the pages print it.
fn shown(t: DateTime<Utc>, zone: Tz) -> String {
    t.with_timezone(&zone)
        .format("%-d %b %Y, %H:%M %Z")
        .to_string()
}

#[tokio::test]
async fn a_component_page_shows_its_status_and_changes_newest_first() {
    let app = App::new().await;
    let zone = tokyo(&app).await;
    let platform = app
        .service
        .create_group(
            &SYSTEM,
            GroupInput {
                name: Some("Platform".into()),
                visible: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .group
        .id;
    let id = component(
        &app,
        ComponentInput {
            name: Some("API".into()),
            description: Some("The public API".into()),
            link: Some("https://api.example.com/health".into()),
            status: Some(1),
            group_id: Some(platform.get()),
            ..Default::default()
        },
    )
    .await;
    // Through the v1 API with a token: the API.
    let r = app
        .put(
            &format!("/api/v1/components/{id}"),
            Some(&app.reporter),
            json!({"status": 3}),
        )
        .await;
    assert_eq!(r.data()["status"], 3);
    // A signed-in person (a session): the dashboard.
    let person = Actor::User(Principal::new(UserId(1), Role::Manager));
    set_status(&app, &person, id, 2).await;
    // An incident with an impact: the incident.
    app.service
        .create_incident(
            &SYSTEM,
            IncidentInput {
                name: Some("Outage".into()),
                status: Some(1),
                message: Some("Looking into it".into()),
                component_id: Some(id.get()),
                component_status: Some(4),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // The embedding application: the system. The open incident keeps the effective status.
    set_status(&app, &SYSTEM, id, 1).await;

    let r = app.get(&format!("/components/{id}"), None).await;
    assert_html(&r, StatusCode::OK);
    assert_eq!(r.header("cache-control"), Some("public, max-age=10"));
    let doc = html(&r);
    assert_no_inline_code(&doc);
    assert_eq!(text_of(one(&doc, ".component-page h1")), "API");
    assert_eq!(
        text_of(one(&doc, ".component-page .badge")),
        "Major Outage",
        "the effective status: an open incident's impact"
    );
    assert_eq!(text_of(one(&doc, ".component-page .meta")), "In Platform");
    assert_eq!(
        text_of(one(&doc, ".component-page .component-description")),
        "The public API"
    );
    let link = one(&doc, "a.component-link");
    assert_eq!(
        link.value().attr("href"),
        Some("https://api.example.com/health")
    );
    assert_eq!(
        link.value().attr("rel"),
        Some("nofollow noopener noreferrer")
    );
    let rows: Vec<Vec<String>> = doc
        .select(&sel("tr.change"))
        .map(|tr| tr.select(&sel("td")).skip(1).map(text_of).collect())
        .collect();
    assert_eq!(
        rows,
        [
            ["Major Outage", "Operational", "System"],
            ["Performance Issues", "Major Outage", "Incident"],
            ["Partial Outage", "Performance Issues", "Dashboard"],
            ["Operational", "Partial Outage", "API"],
        ]
    );
    // Times in the display zone, stamped in UTC.
    let recorded = app
        .service
        .component_history(&SYSTEM, id, 1, 10)
        .await
        .unwrap()
        .items;
    let times: Vec<(String, String)> = doc
        .select(&sel("tr.change td time"))
        .map(|t| {
            (
                t.value().attr("datetime").unwrap_or_default().to_string(),
                text_of(t),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = recorded
        .iter()
        .map(|ch| {
            (
                ch.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                shown(ch.at, zone),
            )
        })
        .collect();
    assert_eq!(times, expected);
    assert!(times[0].1.ends_with(" JST"), "{times:?}");
    assert_eq!(
        attrs(&doc, "tr.change", "data-change"),
        recorded
            .iter()
            .map(|ch| ch.id.to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(doc.select(&sel(".pager")).count(), 0, "one page only");

    // Revalidation with the page's ETag.
    let etag = r.header("etag").expect("etag").to_string();
    let again = app
        .send(
            Request::get(format!("/components/{id}"))
                .header("if-none-match", &etag)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);

    // The status page links the component to its page, and the history from its section.
    let index = html(&app.get("/", None).await);
    assert_eq!(
        href(&index, "a.component-name"),
        Some(format!("/components/{id}"))
    );
    assert_eq!(
        href(&index, "#past-incidents .more a"),
        Some("/history".into())
    );
}

#[tokio::test]
async fn component_pages_page_and_refuse_what_is_not_there() {
    let app = App::new().await;
    let id = component(
        &app,
        ComponentInput {
            name: Some("Busy".into()),
            status: Some(1),
            ..Default::default()
        },
    )
    .await;
    // 30 changes: 2, 1, 2, 1, ...
    for n in 0..30 {
        set_status(&app, &SYSTEM, id, if n % 2 == 0 { 2 } else { 1 }).await;
    }
    let all: Vec<String> = app
        .service
        .component_history(&SYSTEM, id, 1, 100)
        .await
        .unwrap()
        .items
        .iter()
        .map(|ch| ch.id.to_string())
        .collect();
    assert_eq!(all.len(), 30);
    let path = format!("/components/{id}");

    let p1 = html(&app.get(&path, None).await);
    assert_eq!(attrs(&p1, "tr.change", "data-change"), all[..25]);
    assert_eq!(texts(&p1, ".pager .page-of"), ["Page 1 of 2"]);
    assert_eq!(href(&p1, ".pager a.older"), Some(format!("{path}?page=2")));
    assert_eq!(href(&p1, ".pager a.newer"), None);
    let r = app.get(&format!("{path}?page=2"), None).await;
    assert_html(&r, StatusCode::OK);
    let p2 = html(&r);
    assert_eq!(attrs(&p2, "tr.change", "data-change"), all[25..]);
    assert_eq!(texts(&p2, ".pager .page-of"), ["Page 2 of 2"]);
    assert_eq!(href(&p2, ".pager a.newer"), Some(path.clone()));
    assert_eq!(href(&p2, ".pager a.older"), None);
    // ?page=1 is the first page.
    assert_eq!(
        attrs(
            &html(&app.get(&format!("{path}?page=1"), None).await),
            "tr.change",
            "data-change"
        ),
        all[..25]
    );

    // Past the end: not found. Not a page number: a clear 400.
    assert_html(
        &app.get(&format!("{path}?page=3"), None).await,
        StatusCode::NOT_FOUND,
    );
    for (query, message) in [
        ("page=0", "The page number must be a whole number from 1."),
        ("page=abc", "The page number must be a whole number from 1."),
        ("page=-1", "The page number must be a whole number from 1."),
        ("page=", "The page number must be a whole number from 1."),
        (
            "page=99999999999",
            "The page number must be a whole number from 1.",
        ),
        ("page=1&page=2", "Give the page number once."),
    ] {
        let r = app.get(&format!("{path}?{query}"), None).await;
        assert_html(&r, StatusCode::BAD_REQUEST);
        let doc = html(&r);
        assert_eq!(texts(&doc, ".reason"), [message], "{query}");
        assert_no_inline_code(&doc);
    }

    // A component without changes has a page that says so, and no page 2.
    let quiet = component(
        &app,
        ComponentInput {
            name: Some("Quiet".into()),
            status: Some(1),
            ..Default::default()
        },
    )
    .await;
    let doc = html(&app.get(&format!("/components/{quiet}"), None).await);
    assert_eq!(
        texts(&doc, "#status-changes .none"),
        ["No status changes recorded."]
    );
    assert_eq!(text_of(one(&doc, ".component-page .badge")), "Operational");
    assert_html(
        &app.get(&format!("/components/{quiet}?page=2"), None).await,
        StatusCode::NOT_FOUND,
    );

    // What guests may not see is not found, history or not: a disabled component, one in
    // a hidden group, an unknown id, no id at all.
    let disabled = component(
        &app,
        ComponentInput {
            name: Some("Disabled".into()),
            status: Some(1),
            enabled: Some(false),
            ..Default::default()
        },
    )
    .await;
    set_status(&app, &SYSTEM, disabled, 4).await;
    let hidden_group = app
        .service
        .create_group(
            &SYSTEM,
            GroupInput {
                name: Some("Internal".into()),
                visible: Some(0),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .group
        .id;
    let internal = component(
        &app,
        ComponentInput {
            name: Some("Internal DB".into()),
            status: Some(1),
            group_id: Some(hidden_group.get()),
            ..Default::default()
        },
    )
    .await;
    set_status(&app, &SYSTEM, internal, 4).await;
    for path in [
        format!("/components/{disabled}"),
        format!("/components/{internal}"),
        "/components/999999".to_string(),
        "/components/abc".to_string(),
        "/components/0".to_string(),
    ] {
        let r = app.get(&path, None).await;
        assert_html(&r, StatusCode::NOT_FOUND);
        let text = r.text();
        assert!(
            !text.contains("Internal DB") && !text.contains("Disabled"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn incident_history_pages_by_local_day() {
    let app = App::new().await;
    let zone = tokyo(&app).await;
    // 21 public incidents, 10 hours apart from 1 March 2024 00:00 UTC (09:00 in Tokyo).
    let start = Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap();
    let mut made = Vec::new();
    for n in 0..21 {
        let at = start + Duration::hours(10 * n);
        let i = app
            .service
            .create_incident(
                &SYSTEM,
                IncidentInput {
                    name: Some(format!("Incident {n}")),
                    status: Some(4),
                    message: Some(format!("About incident {n}")),
                    occurred_at: Some(at.format("%Y-%m-%d %H:%M").to_string()),
                    time_zone: Some(Tz::UTC),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        made.push((i.id.to_string(), at));
    }
    // Hidden, and the newest of all: on no page.
    app.service
        .create_incident(
            &SYSTEM,
            IncidentInput {
                name: Some("Secret".into()),
                status: Some(4),
                message: Some("Private".into()),
                visible: Some(0),
                occurred_at: Some("2024-04-01 00:00".into()),
                time_zone: Some(Tz::UTC),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    made.reverse(); // newest first

    let r = app.get("/history", None).await;
    assert_html(&r, StatusCode::OK);
    let p1 = html(&r);
    assert_no_inline_code(&p1);
    assert!(!r.text().contains("Secret"));
    assert_eq!(text_of(one(&p1, "h1")), "Incident history");
    let ids: Vec<String> = attrs(&p1, ".day .entry", "data-incident");
    assert_eq!(
        ids,
        made[..20]
            .iter()
            .map(|(id, _)| id.clone())
            .collect::<Vec<_>>()
    );
    // Each entry is under the Tokyo day it occurred on; days newest first, each once.
    let mut days: Vec<(String, Vec<String>)> = Vec::new();
    for (id, at) in &made[..20] {
        let d = at.with_timezone(&zone).format("%Y-%m-%d").to_string();
        match days.last_mut() {
            Some((last, list)) if *last == d => list.push(id.clone()),
            _ => days.push((d, vec![id.clone()])),
        }
    }
    let shown_days: Vec<(String, Vec<String>)> = p1
        .select(&sel(".day"))
        .map(|d| {
            (
                d.value().attr("data-day").unwrap_or_default().to_string(),
                d.select(&sel(".entry"))
                    .map(|e| {
                        e.value()
                            .attr("data-incident")
                            .unwrap_or_default()
                            .to_string()
                    })
                    .collect(),
            )
        })
        .collect();
    assert_eq!(shown_days, days);
    // 20:00 UTC on 1 March (incident 2) is 05:00 on 2 March in Tokyo.
    let third = &made[18];
    assert_eq!(third.1, Utc.with_ymd_and_hms(2024, 3, 1, 20, 0, 0).unwrap());
    let day_of_third = p1
        .select(&sel(".day"))
        .find(|d| {
            d.select(&sel(".entry"))
                .any(|e| e.value().attr("data-incident") == Some(third.0.as_str()))
        })
        .expect("the day of incident 2");
    assert_eq!(day_of_third.value().attr("data-day"), Some("2024-03-02"));
    assert_eq!(
        text_of(
            day_of_third
                .select(&sel("h2 time"))
                .next()
                .expect("a day heading")
        ),
        "Saturday, 2 March 2024"
    );
    let entry = day_of_third
        .select(&sel(".entry"))
        .find(|e| e.value().attr("data-incident") == Some(third.0.as_str()))
        .unwrap();
    assert_eq!(
        text_of(entry.select(&sel(".meta time")).next().unwrap()),
        "05:00 JST"
    );
    assert_eq!(
        href(&Html::parse_fragment(&entry.html()), "h4 a"),
        Some(format!("/incidents/{}", third.0))
    );
    assert_eq!(texts(&p1, ".pager .page-of"), ["Page 1 of 2"]);
    assert_eq!(href(&p1, ".pager a.older"), Some("/history?page=2".into()));

    let p2 = html(&app.get("/history?page=2", None).await);
    assert_eq!(
        attrs(&p2, ".day .entry", "data-incident"),
        [made[20].0.clone()]
    );
    assert_eq!(attrs(&p2, ".day", "data-day"), ["2024-03-01"]);
    assert_eq!(href(&p2, ".pager a.newer"), Some("/history".into()));
    assert_eq!(
        text_of(one(&p2, "title")),
        "Incident history, page 2 · Status"
    );

    assert_html(
        &app.get("/history?page=3", None).await,
        StatusCode::NOT_FOUND,
    );
    for query in ["page=0", "page=two", "page=1.0", "page=1&page=1"] {
        assert_html(
            &app.get(&format!("/history?{query}"), None).await,
            StatusCode::BAD_REQUEST,
        );
    }
}

#[tokio::test]
async fn an_empty_history_and_a_nested_router() {
    let app = App::new().await;
    let r = app.get("/history", None).await;
    assert_html(&r, StatusCode::OK);
    let doc = html(&r);
    assert_eq!(
        texts(&doc, "#incident-history > .none"),
        ["No incidents reported."]
    );
    assert_eq!(doc.select(&sel(".pager")).count(), 0);
    assert_html(
        &app.get("/history?page=2", None).await,
        StatusCode::NOT_FOUND,
    );

    // Mounted under a prefix, every link keeps it.
    for n in 0..21 {
        app.service
            .create_incident(
                &SYSTEM,
                IncidentInput {
                    name: Some(format!("Incident {n}")),
                    status: Some(4),
                    message: Some("x".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    let id = component(
        &app,
        ComponentInput {
            name: Some("API".into()),
            status: Some(1),
            ..Default::default()
        },
    )
    .await;
    let nested = axum::Router::new().nest("/status", app.router.clone());
    let get = |path: &str| {
        let nested = nested.clone();
        let req = Request::get(path).body(Body::empty()).unwrap();
        async move {
            let res = nested.oneshot(req).await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            let body = http_body_util::BodyExt::collect(res.into_body())
                .await
                .unwrap()
                .to_bytes();
            Html::parse_document(std::str::from_utf8(&body).unwrap())
        }
    };
    let index = get("/status").await;
    assert_eq!(
        href(&index, "a.component-name"),
        Some(format!("/status/components/{id}"))
    );
    assert_eq!(
        href(&index, "#past-incidents .more a"),
        Some("/status/history".into())
    );
    let history = get("/status/history").await;
    assert_eq!(
        href(&history, ".pager a.older"),
        Some("/status/history?page=2".into())
    );
    assert!(href(&history, ".entry h4 a")
        .unwrap()
        .starts_with("/status/incidents/"));
    assert_eq!(href(&history, "a.back"), Some("/status".into()));
    let page = get(&format!("/status/components/{id}")).await;
    assert_eq!(href(&page, "a.back"), Some("/status".into()));
}
