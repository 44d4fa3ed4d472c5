//! The public status page, driven in-process through the whole router.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use base64::Engine as _;
use cachet_core::ids::{ComponentId, IncidentId, MetricId};
use cachet_core::input::{
    ComponentInput, GroupInput, IncidentInput, IncidentUpdateInput, MetricInput, PointInput,
    ScheduleInput,
};
use cachet_core::memory::MemoryStore;
use cachet_core::{Actor, StatusPage, Tz};
use cachet_http::{router, HttpConfig};
use chrono::{Days, Duration, Utc};
use http_body_util::BodyExt;
use scraper::{ElementRef, Html, Selector};
use serde_json::Value;
use sha2::{Digest, Sha384};
use tower::ServiceExt;

const SYSTEM: &Actor = &Actor::System;

async fn service() -> Arc<StatusPage> {
    Arc::new(
        StatusPage::new(
            Arc::new(MemoryStore::new()),
            cachet_core::crypto::DataKey::generate().0,
        )
        .await
        .expect("memory store"),
    )
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("utf-8 body")
    }

    fn html(&self) -> Html {
        Html::parse_document(&self.text())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("json body")
    }

    fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn get_with(svc: &Arc<StatusPage>, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req = Request::get(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = router(svc.clone(), HttpConfig::default())
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = res.status();
    let headers = res.headers().clone();
    let body = res
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

async fn get(svc: &Arc<StatusPage>, path: &str) -> Reply {
    get_with(svc, path, &[]).await
}

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

fn one<'a>(doc: &'a Html, s: &str) -> ElementRef<'a> {
    let selector = sel(s);
    let mut found = doc.select(&selector);
    let first = found
        .next()
        .unwrap_or_else(|| panic!("no element matches {s}"));
    assert!(found.next().is_none(), "several elements match {s}");
    first
}

fn all_text(doc: &Html) -> String {
    text_of(doc.root_element())
}

/// The badge (status label) directly describing an element.
fn badge_of(e: ElementRef<'_>) -> (String, String) {
    let b = e.select(&sel(".badge")).next().expect("a status badge");
    (
        text_of(b),
        b.value().attr("class").unwrap_or_default().to_string(),
    )
}

async fn group(svc: &StatusPage, name: &str, visible: i64, collapsed: i64) -> i64 {
    svc.create_group(
        SYSTEM,
        GroupInput {
            name: Some(name.into()),
            visible: Some(visible),
            collapsed: Some(collapsed),
            ..Default::default()
        },
    )
    .await
    .expect("group")
    .group
    .id
    .get()
}

async fn component(svc: &StatusPage, name: &str, status: i64, group: Option<i64>) -> ComponentId {
    svc.create_component(
        SYSTEM,
        ComponentInput {
            name: Some(name.into()),
            status: Some(status),
            group_id: group,
            ..Default::default()
        },
    )
    .await
    .expect("component")
    .id
}

fn incident_input(name: &str, status: i64) -> IncidentInput {
    IncidentInput {
        name: Some(name.into()),
        status: Some(status),
        message: Some(format!("About {name}")),
        ..Default::default()
    }
}

async fn incident(svc: &StatusPage, input: IncidentInput) -> IncidentId {
    svc.create_incident(SYSTEM, input)
        .await
        .expect("incident")
        .id
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

#[tokio::test]
async fn banner_groups_and_effective_statuses() {
    let svc = service().await;
    svc.update_settings(SYSTEM, &[("app_name".into(), "Acme Status".into())])
        .await
        .expect("settings");
    let platform = group(&svc, "Platform", 1, 0).await;
    component(&svc, "API", 1, Some(platform)).await;
    component(&svc, "Database", 2, Some(platform)).await;
    // Disabled and worse than every other member: left out of the roll-up and the page.
    let old = component(&svc, "Legacy Backend", 4, Some(platform)).await;
    svc.update_component(
        SYSTEM,
        old,
        ComponentInput {
            enabled: Some(false),
            ..Default::default()
        },
    )
    .await
    .expect("disable");
    // Own status Operational, but an unresolved incident imposes a partial outage.
    let web = component(&svc, "Website", 1, None).await;
    incident(
        &svc,
        IncidentInput {
            component_id: Some(web.get()),
            component_status: Some(3),
            ..incident_input("Slow pages", 1)
        },
    )
    .await;
    svc.update_component(
        SYSTEM,
        web,
        ComponentInput {
            status: Some(1),
            ..Default::default()
        },
    )
    .await
    .expect("reset own status");

    let r = get(&svc, "/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.header(header::CONTENT_TYPE),
        Some("text/html; charset=utf-8")
    );
    let doc = r.html();
    assert_eq!(text_of(one(&doc, "title")), "Acme Status");
    assert_eq!(text_of(one(&doc, ".brand")), "Acme Status");

    let banner = one(&doc, ".banner");
    assert_eq!(text_of(banner), "Some systems are experiencing issues");
    assert_eq!(banner.value().attr("data-level"), Some("info"));
    assert!(banner.value().classes().any(|c| c == "banner-info"));

    let g = one(&doc, &format!("details.group[data-group=\"{platform}\"]"));
    assert_eq!(text_of(one_in(g, ".group-name")), "Platform");
    let summary = one_in(g, "summary");
    assert_eq!(
        badge_of(summary),
        ("Performance Issues".into(), "badge blues".into())
    );
    let members: Vec<String> = g.select(&sel(".component-name")).map(text_of).collect();
    assert_eq!(members, ["API", "Database"]);

    let website = one(&doc, &format!("li.component[data-component=\"{web}\"]"));
    assert_eq!(text_of(one_in(website, ".component-name")), "Website");
    assert_eq!(
        badge_of(website),
        ("Partial Outage".into(), "badge yellows".into())
    );
    assert!(!all_text(&doc).contains("Legacy Backend"));
    assert_no_inline_code(&doc);
}

fn one_in<'a>(e: ElementRef<'a>, s: &str) -> ElementRef<'a> {
    e.select(&sel(s))
        .next()
        .unwrap_or_else(|| panic!("no element matches {s}"))
}

#[tokio::test]
async fn all_operational_is_success() {
    let svc = service().await;
    component(&svc, "API", 1, None).await;
    component(&svc, "Web", 1, None).await;
    let doc = get(&svc, "/").await.html();
    let banner = one(&doc, ".banner");
    assert_eq!(text_of(banner), "All systems are operational");
    assert_eq!(banner.value().attr("data-level"), Some("success"));
}

#[tokio::test]
async fn groups_collapse_as_configured() {
    let svc = service().await;
    let expanded = group(&svc, "Expanded", 1, 0).await;
    let collapsed = group(&svc, "Collapsed", 1, 1).await;
    let calm = group(&svc, "Calm", 1, 2).await;
    let troubled = group(&svc, "Troubled", 1, 2).await;
    let empty = group(&svc, "Empty", 1, 0).await;
    component(&svc, "a", 1, Some(expanded)).await;
    component(&svc, "b", 4, Some(collapsed)).await;
    component(&svc, "c", 1, Some(calm)).await;
    component(&svc, "d", 0, Some(calm)).await;
    component(&svc, "e", 1, Some(troubled)).await;
    component(&svc, "f", 3, Some(troubled)).await;

    let doc = get(&svc, "/").await.html();
    let open = |id: i64| {
        one(&doc, &format!("details.group[data-group=\"{id}\"]"))
            .value()
            .attr("open")
            .is_some()
    };
    assert!(open(expanded));
    assert!(
        !open(collapsed),
        "collapsed 1 stays closed even with an outage"
    );
    assert!(
        !open(calm),
        "collapsed 2 without issues (unknown is no issue)"
    );
    assert!(open(troubled), "collapsed 2 opens when a member has issues");
    // A group without members is not shown.
    assert_eq!(
        doc.select(&sel(&format!("[data-group=\"{empty}\"]")))
            .count(),
        0
    );
    let order: Vec<String> = doc.select(&sel(".group-name")).map(text_of).collect();
    assert_eq!(order, ["Expanded", "Collapsed", "Calm", "Troubled"]);
}

#[tokio::test]
async fn guests_never_see_private_items() {
    let svc = service().await;
    let public = group(&svc, "Public group", 1, 0).await;
    let private = group(&svc, "Private group", 0, 0).await;
    component(&svc, "Shown", 1, Some(public)).await;
    // A major outage in a private group must not reach the banner either.
    component(&svc, "Secret component", 4, Some(private)).await;
    let disabled = component(&svc, "Disabled component", 4, None).await;
    svc.update_component(
        SYSTEM,
        disabled,
        ComponentInput {
            enabled: Some(false),
            ..Default::default()
        },
    )
    .await
    .expect("disable");
    let hidden = incident(
        &svc,
        IncidentInput {
            visible: Some(0),
            ..incident_input("Secret incident", 4)
        },
    )
    .await;
    let hidden_open = incident(
        &svc,
        IncidentInput {
            visible: Some(0),
            ..incident_input("Secret ongoing incident", 1)
        },
    )
    .await;

    let r = get(&svc, "/").await;
    let doc = r.html();
    let text = all_text(&doc);
    for secret in [
        "Private group",
        "Secret component",
        "Disabled component",
        "Secret incident",
        "Secret ongoing",
    ] {
        assert!(!text.contains(secret), "{secret} shown to a guest");
    }
    assert!(text.contains("Shown"));
    // Only public, enabled components count, and no public incident is open.
    assert_eq!(text_of(one(&doc, ".banner")), "System operational");
    assert_eq!(doc.select(&sel("#current-incidents")).count(), 0);

    for id in [hidden, hidden_open] {
        let r = get(&svc, &format!("/incidents/{id}")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_eq!(
            r.header(header::CONTENT_TYPE),
            Some("text/html; charset=utf-8")
        );
        let doc = r.html();
        assert_eq!(text_of(one(&doc, "h1")), "Page not found");
        assert!(!all_text(&doc).contains("Secret"));
        assert_no_inline_code(&doc);
    }
    for path in [
        "/incidents/abc",
        "/incidents/0",
        "/incidents/-1",
        "/incidents/99999",
    ] {
        let r = get(&svc, path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(text_of(one(&r.html(), "h1")), "Page not found", "{path}");
    }
}

#[tokio::test]
async fn user_text_is_escaped() {
    let svc = service().await;
    let g = group(&svc, "<img src=x onerror=alert(1)>", 1, 0).await;
    component(&svc, "<script>alert(1)</script>", 1, Some(g)).await;
    let id = incident(
        &svc,
        IncidentInput {
            message: Some(
                "Hello <script>alert(3)</script> **bold** <a href=\"javascript:alert(4)\">x</a>"
                    .into(),
            ),
            ..incident_input("<script>alert(2)</script>", 1)
        },
    )
    .await;

    for path in ["/".to_string(), format!("/incidents/{id}")] {
        let r = get(&svc, &path).await;
        assert_eq!(r.status, StatusCode::OK);
        let doc = r.html();
        assert_no_inline_code(&doc);
        assert_eq!(doc.select(&sel("img")).count(), 0, "{path}");
        for a in doc.select(&sel("a[href]")) {
            let href = a.value().attr("href").unwrap_or_default();
            assert!(!href.to_ascii_lowercase().contains("javascript:"), "{href}");
        }
        let text = all_text(&doc);
        assert!(text.contains("<script>alert(2)</script>"), "{path}: {text}");
        // Markdown survives sanitizing.
        let bold: Vec<String> = doc.select(&sel(".message strong")).map(text_of).collect();
        assert!(
            !bold.is_empty() && bold.iter().all(|b| b == "bold"),
            "{path}"
        );
    }
    let doc = get(&svc, "/").await.html();
    assert_eq!(
        text_of(one(&doc, ".component-name")),
        "<script>alert(1)</script>"
    );
    assert_eq!(
        text_of(one(&doc, ".group-name")),
        "<img src=x onerror=alert(1)>"
    );
}

#[tokio::test]
async fn open_incidents_and_updates_in_order() {
    let svc = service().await;
    let api = component(&svc, "API", 1, None).await;
    let older = incident(&svc, incident_input("Older problem", 1)).await;
    let sticky = incident(
        &svc,
        IncidentInput {
            stickied: Some(true),
            occurred_at: Some(
                (Utc::now() - Duration::hours(3))
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
            ),
            component_id: Some(api.get()),
            component_status: Some(2),
            ..incident_input("Pinned problem", 1)
        },
    )
    .await;
    for (status, message) in [(2, "Found it"), (3, "Fix deployed")] {
        svc.create_update(
            SYSTEM,
            older,
            IncidentUpdateInput {
                status: Some(status),
                message: Some(message.into()),
                ..Default::default()
            },
        )
        .await
        .expect("update");
    }

    let doc = get(&svc, "/").await.html();
    let current = one(&doc, "#current-incidents");
    let titles: Vec<String> = current.select(&sel("article h3")).map(text_of).collect();
    assert_eq!(
        titles,
        ["Pinned problem", "Older problem"],
        "stickied first"
    );
    let link = one_in(current, "article h3 a");
    assert_eq!(
        link.value().attr("href"),
        Some(&*format!("/incidents/{sticky}"))
    );

    let card = one(
        &doc,
        &format!("#current-incidents article[data-incident=\"{older}\"]"),
    );
    assert_eq!(
        badge_of(card).0,
        "Watching",
        "the incident shows its newest status"
    );
    let updates: Vec<(String, String)> = card
        .select(&sel(".update"))
        .map(|u| (badge_of(u).0, text_of(one_in(u, ".message"))))
        .collect();
    assert_eq!(
        updates,
        [
            ("Watching".to_string(), "Fix deployed".to_string()),
            ("Identified".to_string(), "Found it".to_string())
        ]
    );
    let first_time = one_in(card, ".update time");
    assert!(first_time
        .value()
        .attr("datetime")
        .is_some_and(|d| d.ends_with('Z')));
    let meta = text_of(one(
        &doc,
        &format!("article[data-incident=\"{sticky}\"] .meta"),
    ));
    assert!(meta.contains("Affects API"), "{meta}");

    // The incident page has the same story.
    let r = get(&svc, &format!("/incidents/{older}")).await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.html();
    assert_eq!(text_of(one(&doc, "h1")), "Older problem");
    assert!(text_of(one(&doc, "title")).starts_with("Older problem"));
    let statuses: Vec<String> = doc.select(&sel(".update")).map(|u| badge_of(u).0).collect();
    assert_eq!(statuses, ["Watching", "Identified"]);
    assert_eq!(
        text_of(one(&doc, "article > .message")),
        "About Older problem"
    );
}

#[tokio::test]
async fn maintenance_now_and_upcoming() {
    let svc = service().await;
    let db = component(&svc, "Database", 1, None).await;
    let private = group(&svc, "Internal", 0, 0).await;
    let internal = component(&svc, "Internal tool", 1, Some(private)).await;
    let fmt = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%d %H:%M").to_string();
    let now = Utc::now();
    svc.create_schedule(
        SYSTEM,
        ScheduleInput {
            name: Some("Database upgrade".into()),
            message: Some("We are *upgrading*.".into()),
            status: Some(0),
            scheduled_at: Some(fmt(now - Duration::hours(1))),
            completed_at: Some(fmt(now + Duration::hours(1))),
            components: Some(vec![(db.get(), Some(2)), (internal.get(), Some(2))]),
            ..Default::default()
        },
    )
    .await
    .expect("schedule now");
    svc.create_schedule(
        SYSTEM,
        ScheduleInput {
            name: Some("Network work".into()),
            status: Some(0),
            scheduled_at: Some(fmt(now + Duration::days(2))),
            ..Default::default()
        },
    )
    .await
    .expect("schedule later");

    let doc = get(&svc, "/").await.html();
    let running = one(&doc, "#maintenance-now");
    assert_eq!(text_of(one_in(running, "h3")), "Database upgrade");
    assert_eq!(text_of(one_in(running, ".message em")), "upgrading");
    assert_eq!(
        running.select(&sel(".meta time")).count(),
        2,
        "start and end"
    );
    assert_eq!(text_of(one_in(running, ".affected")), "Affected: Database");
    let upcoming = one(&doc, "#maintenance-upcoming");
    assert_eq!(text_of(one_in(upcoming, "h3")), "Network work");
    assert!(!all_text(&doc).contains("Internal tool"));
    // The component is under maintenance while the window runs.
    let row = one(&doc, &format!("li.component[data-component=\"{db}\"]"));
    assert_eq!(badge_of(row).0, "Performance Issues");
}

#[tokio::test]
async fn history_is_grouped_by_local_day() {
    let svc = service().await;
    svc.update_settings(
        SYSTEM,
        &[
            ("app_timezone".into(), "Asia/Tokyo".into()),
            ("app_incident_days".into(), "5".into()),
        ],
    )
    .await
    .expect("settings");
    let tokyo: Tz = "Asia/Tokyo".parse().expect("zone");
    let today = Utc::now().with_timezone(&tokyo).date_naive();
    let yesterday = today - Days::new(1);
    let two_ago = today - Days::new(2);
    // 02:30 in Tokyo is 17:30 UTC of the day before: it belongs to Tokyo's yesterday.
    let early = incident(
        &svc,
        IncidentInput {
            occurred_at: Some(format!("{} 02:30", yesterday.format("%Y-%m-%d"))),
            ..incident_input("Early morning outage", 4)
        },
    )
    .await;
    let late = incident(
        &svc,
        IncidentInput {
            occurred_at: Some(format!("{} 23:50", two_ago.format("%Y-%m-%d"))),
            ..incident_input("Late night outage", 4)
        },
    )
    .await;
    let open = incident(
        &svc,
        IncidentInput {
            occurred_at: Some(format!("{} 00:05", today.format("%Y-%m-%d"))),
            ..incident_input("Still going", 2)
        },
    )
    .await;

    let doc = get(&svc, "/").await.html();
    let days: Vec<String> = doc
        .select(&sel("#past-incidents .day"))
        .map(|d| d.value().attr("data-day").unwrap_or_default().to_string())
        .collect();
    let expected: Vec<String> = (0..5)
        .map(|n| (today - Days::new(n)).format("%Y-%m-%d").to_string())
        .collect();
    assert_eq!(days, expected, "five local days, newest first");

    let day = |d: chrono::NaiveDate| {
        one(
            &doc,
            &format!(
                "#past-incidents .day[data-day=\"{}\"]",
                d.format("%Y-%m-%d")
            ),
        )
    };
    let ids = |e: ElementRef<'_>| -> Vec<String> {
        e.select(&sel(".entry"))
            .map(|x| {
                x.value()
                    .attr("data-incident")
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(ids(day(today)), [open.to_string()]);
    assert_eq!(ids(day(yesterday)), [early.to_string()]);
    assert_eq!(ids(day(two_ago)), [late.to_string()]);
    for n in 3..5 {
        let d = day(today - Days::new(n));
        assert_eq!(text_of(one_in(d, ".none")), "No incidents reported.");
    }
    let heading = one_in(day(yesterday), "h3 time");
    assert_eq!(
        heading.value().attr("datetime"),
        Some(&*yesterday.format("%Y-%m-%d").to_string())
    );
    // Times are shown in Tokyo and stamped in UTC.
    let t = one_in(day(yesterday), ".entry time");
    assert_eq!(text_of(t), "02:30 JST");
    let utc = (yesterday - Days::new(1))
        .format("%Y-%m-%dT17:30:00Z")
        .to_string();
    assert_eq!(t.value().attr("datetime"), Some(&*utc));
    assert!(all_text(&doc).contains("Times are shown in Asia/Tokyo"));
}

#[tokio::test]
async fn etag_and_not_modified() {
    let svc = service().await;
    component(&svc, "API", 1, None).await;
    let r = get(&svc, "/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header(header::CACHE_CONTROL), Some("public, max-age=10"));
    let etag = r.header(header::ETAG).expect("etag").to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"'));

    let again = get_with(&svc, "/", &[("if-none-match", &etag)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    assert_eq!(again.header(header::ETAG), Some(&*etag));
    let listed = format!("\"nope\", W/{etag}");
    let weak = get_with(&svc, "/", &[("if-none-match", &listed)]).await;
    assert_eq!(weak.status, StatusCode::NOT_MODIFIED);

    // A write guests cannot see changes neither the page nor its tag: the tag says nothing
    // about private activity.
    incident(
        &svc,
        IncidentInput {
            visible: Some(0),
            ..incident_input("Internal", 1)
        },
    )
    .await;
    let hidden = get_with(&svc, "/", &[("if-none-match", &etag)]).await;
    assert_eq!(hidden.status, StatusCode::NOT_MODIFIED);

    // A write changes the page and its tag.
    component(&svc, "Web", 1, None).await;
    let changed = get_with(&svc, "/", &[("if-none-match", &etag)]).await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_ne!(changed.header(header::ETAG), Some(&*etag));
    assert!(all_text(&changed.html()).contains("Web"));

    // Incident pages are validated the same way.
    let id = incident(&svc, incident_input("Blip", 1)).await;
    let page = get(&svc, &format!("/incidents/{id}")).await;
    let tag = page
        .header(header::ETAG)
        .expect("incident etag")
        .to_string();
    let cached = get_with(
        &svc,
        &format!("/incidents/{id}"),
        &[("if-none-match", &tag)],
    )
    .await;
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn stylesheet_is_hashed_immutable_and_matches_its_integrity() {
    let svc = service().await;
    let doc = get(&svc, "/").await.html();
    let link = one(&doc, "link[rel=\"stylesheet\"]");
    let href = link.value().attr("href").expect("href").to_string();
    let integrity = link
        .value()
        .attr("integrity")
        .expect("integrity")
        .to_string();
    assert!(
        href.starts_with("/assets/app.") && href.ends_with(".css"),
        "{href}"
    );

    let css = get(&svc, &href).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(
        css.header(header::CONTENT_TYPE),
        Some("text/css; charset=utf-8")
    );
    assert_eq!(
        css.header(header::CACHE_CONTROL),
        Some("public, max-age=31536000, immutable")
    );
    let expected = format!(
        "sha384-{}",
        base64::engine::general_purpose::STANDARD.encode(Sha384::digest(&css.body))
    );
    assert_eq!(integrity, expected);
    assert!(css.text().contains("prefers-color-scheme: dark"));

    let icon = one(&doc, "link[rel=\"icon\"]")
        .value()
        .attr("href")
        .expect("icon");
    let icon = get(&svc, icon).await;
    assert_eq!(icon.status, StatusCode::OK);
    assert_eq!(icon.header(header::CONTENT_TYPE), Some("image/svg+xml"));

    assert_eq!(
        get(&svc, "/assets/app.css").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&svc, "/assets/app.0000000000000000.css").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn links_follow_the_mount_prefix() {
    let svc = service().await;
    let id = incident(&svc, incident_input("Nested", 1)).await;
    let app = axum::Router::new().nest("/status", router(svc.clone(), HttpConfig::default()));
    let res = app
        .oneshot(
            Request::get("/status")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.into_body().collect().await.expect("body").to_bytes();
    let doc = Html::parse_document(std::str::from_utf8(&body).expect("utf-8"));
    let css = one(&doc, "link[rel=\"stylesheet\"]")
        .value()
        .attr("href")
        .unwrap_or_default();
    assert!(css.starts_with("/status/assets/app."), "{css}");
    assert_eq!(one(&doc, ".brand").value().attr("href"), Some("/status"));
    let link = one(&doc, "#current-incidents h3 a").value().attr("href");
    assert_eq!(link, Some(&*format!("/status/incidents/{id}")));
}

#[tokio::test]
async fn chart_endpoint_aggregates_for_guests() {
    let svc = service().await;
    let metric = svc
        .create_metric(
            SYSTEM,
            MetricInput {
                name: Some("Response time".into()),
                suffix: Some("ms".into()),
                default_value: Some(0.0),
                calc_type: Some(0),
                places: Some(2),
                default_view: Some(1),
                threshold: Some(5),
                ..Default::default()
            },
        )
        .await
        .expect("metric");
    let now = Utc::now().timestamp();
    let ten_ago = now - now.rem_euclid(60) - 600;
    let twenty_ago = ten_ago - 600;
    for (value, at) in [(3.0, ten_ago), (4.25, ten_ago), (2.0, twenty_ago)] {
        svc.record_point(
            SYSTEM,
            metric.id,
            PointInput {
                value: Some(value),
                timestamp: Some(at),
            },
        )
        .await
        .expect("point");
    }
    let key = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .expect("time")
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };

    let r = get(&svc, &format!("/metrics/{}?filter=last_hour", metric.id)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header(header::CONTENT_TYPE), Some("application/json"));
    let body = r.json();
    let m = &body["data"]["metric"];
    assert_eq!(m["id"], metric.id.get());
    assert_eq!(m["name"], "Response time");
    assert_eq!(m["suffix"], "ms");
    assert_eq!(m["calc_type"], 0);
    assert_eq!(m["default_view"], 1);
    assert_eq!(m["threshold"], 5);
    assert_eq!(m["places"], 2);
    assert_eq!(m["visible"], 1);
    assert_eq!(m["display_chart"], true);
    assert!(m["default_value"].is_u64(), "0, not 0.0");
    let items = body["data"]["items"].as_object().expect("items");
    assert_eq!(items[&key(ten_ago)].as_f64(), Some(7.25));
    let whole = &items[&key(twenty_ago)];
    assert!(whole.is_u64() && whole.as_u64() == Some(2), "{whole}");
    assert!(r.text().contains(&format!("\"{}\":2,", key(twenty_ago))));
    assert!(items.len() >= 55, "a minute per key over the last hour");
    let keys: Vec<&String> = items.keys().collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);

    // Unknown or absent filter: the metric's default view (last 12 hours, by hour).
    for q in ["?filter=decade", ""] {
        let r = get(&svc, &format!("/metrics/{}{q}", metric.id)).await;
        assert_eq!(r.status, StatusCode::OK);
        let items = r.json()["data"]["items"]
            .as_object()
            .expect("items")
            .clone();
        assert_eq!(items.len(), 12, "{q}");
        assert!(items.keys().all(|k| k.ends_with(":00")));
    }
    let week = get(&svc, &format!("/metrics/{}?filter=week", metric.id))
        .await
        .json();
    assert_eq!(week["data"]["items"].as_object().map(|o| o.len()), Some(8));

    // Hidden and unknown metrics are 404 JSON.
    let hidden = svc
        .create_metric(
            SYSTEM,
            MetricInput {
                name: Some("Internal".into()),
                suffix: Some("x".into()),
                default_value: Some(0.0),
                visible: Some(2),
                ..Default::default()
            },
        )
        .await
        .expect("hidden metric");
    for path in [
        format!("/metrics/{}", hidden.id),
        format!("/metrics/{}", MetricId(9999)),
        "/metrics/abc".to_string(),
    ] {
        let r = get(&svc, &path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.header(header::CONTENT_TYPE), Some("application/json"));
        assert_eq!(r.json()["errors"][0]["status"], 404);
        assert!(!r.text().contains("Internal"));
    }
}
