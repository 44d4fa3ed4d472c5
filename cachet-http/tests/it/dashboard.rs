//! The dashboard through the real router: sign-in with password and TOTP, sessions and their
//! cookies, CSRF and origin checks, the role matrix on pages, rate limits, headers.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cachet_core::enums::Role;
use cachet_core::input::UserInput;
use cachet_core::memory::MemoryStore;
use cachet_core::service::SessionLimits;
use cachet_core::store::{IncidentFilter, ListQuery};
use cachet_core::totp::{TotpSecret, STEP_SECS};
use cachet_core::{Actor, StatusPage};
use cachet_http::{Hsts, HttpConfig, Rate};

use super::common::{App, Res};

const PASSWORD: &str = "plinth-oxbow-quietus-8";
const HOST: &str = "status.test";
const ORIGIN: &str = "http://status.test";

/// A browser: a cookie jar, the CSRF token of the last page, and the headers a browser sends.
struct Browser<'a> {
    app: &'a App,
    cookies: BTreeMap<String, String>,
    csrf: Option<String>,
    /// Sent as the trusted proxy's client address when set.
    forwarded_for: Option<String>,
}

/// The value of the first `name="csrf"` field of a page.
fn csrf_of(html: &str) -> Option<String> {
    let at = html.find(r#"name="csrf" value=""#)? + r#"name="csrf" value=""#.len();
    let end = html[at..].find('"')?;
    Some(html[at..at + end].to_string())
}

fn form_body(fields: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

impl<'a> Browser<'a> {
    fn new(app: &'a App) -> Browser<'a> {
        Browser {
            app,
            cookies: BTreeMap::new(),
            csrf: None,
            forwarded_for: None,
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn absorb(&mut self, res: &Res) {
        for v in res.headers.get_all("set-cookie") {
            let text = v.to_str().unwrap();
            let (pair, attrs) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        if let Some(token) = csrf_of(&String::from_utf8_lossy(&res.body)) {
            self.csrf = Some(token);
        }
    }

    fn request(&self, method: &str, path: &str) -> axum::http::request::Builder {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header("host", HOST)
            .header("cookie", self.cookie_header());
        if let Some(ip) = &self.forwarded_for {
            b = b.header("x-forwarded-for", ip.as_str());
        }
        b
    }

    async fn get(&mut self, path: &str) -> Res {
        let res = self
            .app
            .send(self.request("GET", path).body(Body::empty()).unwrap())
            .await;
        self.absorb(&res);
        res
    }

    /// A form post as a browser sends it from a page of the site, with the page's token.
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Res {
        let token = self.csrf.clone().unwrap_or_default();
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &form_body(&all), &[("origin", ORIGIN)])
            .await
    }

    async fn post_raw(&mut self, path: &str, body: &str, headers: &[(&str, &str)]) -> Res {
        let mut b = self
            .request("POST", path)
            .header("content-type", "application/x-www-form-urlencoded");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let res = self
            .app
            .send(b.body(Body::from(body.to_string())).unwrap())
            .await;
        self.absorb(&res);
        res
    }

    fn session(&self) -> Option<String> {
        self.cookies.get("__Host-cachet_session").cloned()
    }

    /// Signs in with the password (and the code, when one is given).
    async fn sign_in(&mut self, login: &str, code: Option<&str>) -> Res {
        self.get("/dashboard/login").await;
        let res = self
            .post(
                "/dashboard/login",
                &[("login", login), ("password", PASSWORD)],
            )
            .await;
        match code {
            Some(code) => {
                assert_eq!(location(&res), "/dashboard/login/2fa");
                self.get("/dashboard/login/2fa").await;
                self.post("/dashboard/login/2fa", &[("code", code)]).await
            }
            None => res,
        }
    }
}

fn location(res: &Res) -> &str {
    res.header("location").unwrap_or("")
}

fn code_now(secret: &TotpSecret, offset: i64) -> String {
    let step = u64::try_from(chrono::Utc::now().timestamp()).unwrap() / STEP_SECS;
    secret.code(step.checked_add_signed(offset).unwrap())
}

async fn add_user(app: &App, name: &str, role: Role) {
    app.service
        .create_user(
            &Actor::System,
            UserInput {
                username: name.into(),
                email: format!("{name}@people.test"),
                password: PASSWORD.into(),
                role,
            },
        )
        .await
        .unwrap();
}

/// A user with 2FA on (enrolled through the service); their TOTP secret.
async fn add_enrolled(app: &App, name: &str, role: Role) -> TotpSecret {
    add_user(app, name, role).await;
    let signed = match app.service.sign_in(name, PASSWORD, "setup").await.unwrap() {
        cachet_core::service::SignIn::Done(d) => d,
        cachet_core::service::SignIn::SecondFactor(_) => panic!("2FA before enrollment"),
    };
    let e = app.service.begin_2fa(&signed.actor).await.unwrap();
    let secret = TotpSecret::from_base32(&e.secret_base32).unwrap();
    app.service
        .confirm_2fa(&signed.actor, &code_now(&secret, -1))
        .await
        .unwrap();
    secret
}

async fn incident_count(app: &App) -> u64 {
    app.service
        .list_incidents(
            &Actor::System,
            ListQuery::new(1, 100, IncidentFilter::default()),
        )
        .await
        .unwrap()
        .total
}

#[tokio::test]
async fn sign_in_with_totp_report_an_incident_and_see_it_on_the_public_page() {
    let app = App::new().await;
    let secret = add_enrolled(&app, "mia", Role::Manager).await;
    let mut b = Browser::new(&app);

    let res = b.get("/dashboard").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/dashboard/login");

    let res = b.get("/dashboard/login").await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(
        b.cookies.contains_key("__Host-cachet_pre"),
        "{:?}",
        b.cookies
    );
    let res = b
        .post(
            "/dashboard/login",
            &[("login", "mia"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/dashboard/login/2fa");
    assert!(!b.cookies.contains_key("__Host-cachet_pre"));
    let pending = b.session().expect("a pending session cookie");
    // A pending session grants nothing.
    let res = b.get("/dashboard/incidents").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);

    b.get("/dashboard/login/2fa").await;
    let res = b.post("/dashboard/login/2fa", &[("code", "000000")]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert!(res.text().contains("That code is not right"));
    let res = b
        .post("/dashboard/login/2fa", &[("code", &code_now(&secret, 0))])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert_eq!(location(&res), "/dashboard");
    let signed = b.session().unwrap();
    assert_ne!(
        signed, pending,
        "the session id is rotated by the second factor"
    );

    // The id from before the second factor no longer works.
    let mut old = Browser::new(&app);
    old.cookies
        .insert("__Host-cachet_session".into(), pending.clone());
    let res = old.get("/dashboard").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/dashboard/login");

    let res = b.get("/dashboard").await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.text().contains("Report an incident"));

    // Preview renders through the sanitizer and stores nothing.
    b.get("/dashboard/incidents/new").await;
    let message = "**Database** is slow <script>alert(1)</script>";
    let res = b
        .post(
            "/dashboard/incidents",
            &[
                ("name", "Slow database"),
                ("status", "1"),
                ("message", message),
                ("visible", "0"),
                ("visible", "1"),
                ("action", "preview"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let html = res.text();
    assert!(html.contains("<strong>Database</strong>"), "{html}");
    assert!(!html.contains("<script>alert"), "{html}");
    assert_eq!(incident_count(&app).await, 0);

    // A missing name is shown beside the form, nothing stored.
    let res = b
        .post(
            "/dashboard/incidents",
            &[("name", ""), ("status", "1"), ("message", message)],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().contains("field-error"), "{}", res.text());
    assert_eq!(incident_count(&app).await, 0);

    let res = b
        .post(
            "/dashboard/incidents",
            &[
                ("name", "Slow database"),
                ("status", "1"),
                ("message", message),
                ("visible", "0"),
                ("visible", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let page = location(&res).to_string();
    assert!(page.starts_with("/dashboard/incidents/"), "{page}");
    assert_eq!(incident_count(&app).await, 1);

    b.get(&page).await;
    // The update form of an incident with a component sends its id; "leave as it is" sends
    // no status, and that is no error.
    let res = b
        .post(
            &format!("{page}/updates"),
            &[
                ("status", "2"),
                ("message", "Cause *found*: a full disk."),
                ("component_id", "1"),
                ("component_status", ""),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let res = b.get(&page).await;
    assert!(res.text().contains("Cause <em>found</em>: a full disk."));

    let public = app.get("/", None).await;
    assert_eq!(public.status, StatusCode::OK);
    let html = public.text();
    assert!(html.contains("Slow database"), "{html}");
    assert!(html.contains("a full disk"), "{html}");
    assert!(!html.contains("alert(1)"));
}

#[tokio::test]
async fn forged_posts_are_refused_and_change_nothing() {
    let app = App::new().await;
    add_user(&app, "rey", Role::Reporter).await;
    let mut b = Browser::new(&app);
    let res = b.sign_in("rey", None).await;
    assert_eq!(location(&res), "/dashboard");
    b.get("/dashboard/incidents/new").await;
    let token = b.csrf.clone().unwrap();
    let fields = [("name", "Forged"), ("status", "1"), ("message", "x")];

    // No token.
    let res = b
        .post_raw(
            "/dashboard/incidents",
            &form_body(&fields),
            &[("origin", ORIGIN)],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // A wrong token of the right length.
    let mut wrong = token.clone().into_bytes();
    wrong[0] = if wrong[0] == b'a' { b'b' } else { b'a' };
    let wrong = String::from_utf8(wrong).unwrap();
    let mut with = vec![("csrf", wrong.as_str())];
    with.extend_from_slice(&fields);
    let res = b
        .post_raw(
            "/dashboard/incidents",
            &form_body(&with),
            &[("origin", ORIGIN)],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.text().contains("Form expired"), "{}", res.text());
    // The right token from another site.
    let mut with = vec![("csrf", token.as_str())];
    with.extend_from_slice(&fields);
    for headers in [
        vec![("origin", "https://evil.test")],
        vec![("origin", "null")],
        vec![("sec-fetch-site", "cross-site")],
    ] {
        let res = b
            .post_raw("/dashboard/incidents", &form_body(&with), &headers)
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{headers:?}");
    }
    // Another session's token.
    add_user(&app, "kai", Role::Reporter).await;
    let mut other = Browser::new(&app);
    other.sign_in("kai", None).await;
    other.get("/dashboard/incidents/new").await;
    let foreign = other.csrf.clone().unwrap();
    assert_ne!(foreign, token);
    let mut with_foreign = vec![("csrf", foreign.as_str())];
    with_foreign.extend_from_slice(&fields);
    let res = b
        .post_raw(
            "/dashboard/incidents",
            &form_body(&with_foreign),
            &[("origin", ORIGIN)],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // Not a form at all.
    let res = b
        .post_raw(
            "/dashboard/incidents",
            "{}",
            &[("origin", ORIGIN), ("content-type", "application/json")],
        )
        .await;
    assert!(res.status.is_client_error(), "{}", res.status);
    assert_eq!(incident_count(&app).await, 0);

    // The real thing passes.
    let res = b.post("/dashboard/incidents", &fields).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert_eq!(incident_count(&app).await, 1);

    // A login form posted without its nonce's token is refused too (login CSRF).
    let mut stranger = Browser::new(&app);
    let res = stranger
        .post_raw(
            "/dashboard/login",
            &form_body(&[("login", "rey"), ("password", PASSWORD)]),
            &[("origin", ORIGIN)],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(stranger.session().is_none());
    // Without any cookie, over plain HTTP to a host that is not this machine, the likely
    // cause is a browser keeping its Secure cookies back: the page says so.
    assert!(res.text().contains("Sign-in needs HTTPS"), "{}", res.text());
    assert!(res.text().contains("--insecure-cookies"), "{}", res.text());
    // A page on HTTPS (behind a proxy that does not say so) did send its cookies: the form
    // has expired, and nobody is told to turn secure cookies off.
    let res = stranger
        .post_raw(
            "/dashboard/login",
            &form_body(&[("login", "rey"), ("password", PASSWORD)]),
            &[("origin", "https://status.test")],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.text().contains("Form expired"), "{}", res.text());
}

#[tokio::test]
async fn pages_follow_the_role_matrix_and_forged_actions_are_refused() {
    let app = App::new().await;
    add_user(&app, "val", Role::Viewer).await;
    add_user(&app, "rob", Role::Reporter).await;
    let c = app
        .service
        .create_component(
            &Actor::System,
            cachet_core::input::ComponentInput {
                name: Some("API".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    let mut viewer = Browser::new(&app);
    viewer.sign_in("val", None).await;
    let home = viewer.get("/dashboard").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(!home.text().contains("Report an incident"));
    assert!(!home.text().contains("Add a component"));
    let res = viewer.get("/dashboard/incidents/new").await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = viewer
        .post(
            "/dashboard/incidents",
            &[("name", "By a viewer"), ("status", "1"), ("message", "x")],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(incident_count(&app).await, 0);

    // A Reporter may set a component's status and nothing else about it.
    let mut reporter = Browser::new(&app);
    reporter.sign_in("rob", None).await;
    let page = reporter
        .get(&format!("/dashboard/components/{}", c.id))
        .await;
    let html = page.text();
    assert!(html.contains(r#"name="status""#), "{html}");
    assert!(!html.contains(r#"name="name""#), "{html}");
    assert!(!html.contains("Delete component"), "{html}");
    let res = reporter
        .post(
            &format!("/dashboard/components/{}", c.id),
            &[("status", "4")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let res = reporter
        .post(
            &format!("/dashboard/components/{}", c.id),
            &[("name", "Renamed by a reporter")],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
    let res = reporter
        .post(&format!("/dashboard/components/{}/delete", c.id), &[])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let now = app
        .service
        .get_component(&Actor::System, c.id)
        .await
        .unwrap();
    assert_eq!(now.name, "API");
    assert_eq!(now.status.as_i64(), 4);
    // The change is in the component's history as the dashboard's.
    let history = app
        .service
        .component_history(&Actor::System, c.id, 1, 10)
        .await
        .unwrap();
    assert_eq!(
        history
            .items
            .iter()
            .map(|h| (h.old.as_i64(), h.new.as_i64(), h.source))
            .collect::<Vec<_>>(),
        [(0, 4, cachet_core::enums::StatusSource::Dashboard)]
    );
}

#[tokio::test]
async fn an_admin_without_2fa_must_enroll_and_enrollment_rotates_the_session() {
    let app = App::new().await;
    add_user(&app, "ada", Role::Admin).await;
    let mut b = Browser::new(&app);
    b.sign_in("ada", None).await;
    let before = b.session().unwrap();
    let res = b.get("/dashboard/incidents").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/dashboard/account");
    let res = b.get("/dashboard/account").await;
    assert!(res
        .text()
        .contains("Admins must use two-factor authentication"));

    let res = b.post("/dashboard/account/2fa/begin", &[]).await;
    assert_eq!(res.status, StatusCode::OK);
    let html = res.text();
    assert!(html.contains("<svg"), "the QR code is inline SVG");
    assert!(!html.contains("<?xml"));
    let at = html.find(r#"id="totp-key">"#).unwrap() + r#"id="totp-key">"#.len();
    let key = &html[at..at + html[at..].find('<').unwrap()];
    let secret = TotpSecret::from_base32(key).unwrap();
    let res = b
        .post(
            "/dashboard/account/2fa/confirm",
            &[("code", &code_now(&secret, 0))],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert!(res.text().contains("Recovery codes"));
    let after = b.session().unwrap();
    assert_ne!(after, before, "turning 2FA on rotates the session id");
    let res = b.get("/dashboard/incidents").await;
    assert_eq!(res.status, StatusCode::OK);

    let mut stale = Browser::new(&app);
    stale.cookies.insert("__Host-cachet_session".into(), before);
    assert_eq!(stale.get("/dashboard").await.status, StatusCode::SEE_OTHER);

    // Sign out ends the session on the server.
    b.get("/dashboard").await;
    let res = b.post("/dashboard/logout", &[]).await;
    assert_eq!(location(&res), "/dashboard/login");
    assert!(b.session().is_none());
    let mut replay = Browser::new(&app);
    replay.cookies.insert("__Host-cachet_session".into(), after);
    assert_eq!(replay.get("/dashboard").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn sign_out_everywhere_ends_the_other_sessions() {
    let app = App::new().await;
    add_user(&app, "eve", Role::Manager).await;
    let mut laptop = Browser::new(&app);
    let mut phone = Browser::new(&app);
    laptop.sign_in("eve", None).await;
    phone.sign_in("eve", None).await;
    assert_eq!(phone.get("/dashboard").await.status, StatusCode::OK);
    laptop.get("/dashboard/account").await;
    let res = laptop
        .post("/dashboard/account/logout-everywhere", &[])
        .await;
    assert_eq!(location(&res), "/dashboard/account?done=elsewhere");
    assert!(laptop
        .get("/dashboard/account?done=elsewhere")
        .await
        .text()
        .contains("Every other session of yours has been signed out."));
    assert_eq!(phone.get("/dashboard").await.status, StatusCode::SEE_OTHER);
    assert_eq!(laptop.get("/dashboard").await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_idle_session_expires() {
    let store = Arc::new(MemoryStore::new());
    let service = StatusPage::new(store.clone(), cachet_core::crypto::DataKey::generate().0)
        .await
        .unwrap()
        .with_session_limits(SessionLimits {
            idle: chrono::Duration::seconds(2),
            absolute: chrono::Duration::hours(1),
        });
    let app = App::over(store, Arc::new(service)).await;
    add_user(&app, "ivy", Role::Manager).await;
    let mut b = Browser::new(&app);
    b.sign_in("ivy", None).await;
    assert_eq!(b.get("/dashboard").await.status, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let res = b.get("/dashboard").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/dashboard/login");
}

#[tokio::test]
async fn session_cookies_carry_the_hardened_attributes() {
    let app = App::new().await;
    add_user(&app, "cal", Role::Manager).await;
    let mut b = Browser::new(&app);
    let res = b.sign_in("cal", None).await;
    let set: Vec<&str> = res
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let session = set
        .iter()
        .find(|c| c.starts_with("__Host-cachet_session="))
        .expect("a session cookie");
    for attr in [
        "Secure",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=43200",
    ] {
        assert!(session.contains(attr), "{session} lacks {attr}");
    }
    assert!(!session.contains("Domain="), "{session}");
    let value = b.session().unwrap();
    assert_eq!(value.len(), 43);
    assert!(value.bytes().all(|c| c.is_ascii_alphanumeric()));

    // Off only when asked, and then without the __Host- prefix (which needs Secure).
    let plain = App::with_config(HttpConfig {
        secure_cookies: false,
        ..HttpConfig::default()
    })
    .await;
    let res = plain.get("/dashboard/login", None).await;
    let cookie = res.header("set-cookie").unwrap();
    assert!(cookie.starts_with("cachet_pre="), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
}

fn assert_security_headers(res: &Res, what: &str) {
    let csp = res
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"));
    for part in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "style-src 'self'",
    ] {
        assert!(csp.contains(part), "{what}: CSP {csp} lacks {part}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{what}: {csp}"
    );
    assert_eq!(
        res.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert!(res.header("referrer-policy").is_some(), "{what}");
    assert_eq!(
        res.header("cross-origin-opener-policy"),
        Some("same-origin"),
        "{what}"
    );
    assert_eq!(
        res.header("cross-origin-resource-policy"),
        Some("same-origin"),
        "{what}"
    );
    assert!(res.header("permissions-policy").is_some(), "{what}");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = App::with_config(HttpConfig {
        rate_limits: cachet_http::RateLimits {
            sign_in: Rate::new(1, 1),
            ..cachet_http::RateLimits::default()
        },
        ..HttpConfig::default()
    })
    .await;
    add_user(&app, "hal", Role::Manager).await;
    let mut b = Browser::new(&app);
    let public = b.get("/").await;
    let html = public.text();
    let at = html.find("/assets/app.").unwrap();
    let asset = &html[at..at + html[at..].find('"').unwrap()];
    let mut seen = vec![("GET /", public)];
    seen.push(("asset", b.get(asset).await));
    seen.push(("missing asset", b.get("/assets/app.0000.css").await));
    seen.push(("404", b.get("/incidents/999").await));
    seen.push(("api", b.get("/api/v1/ping").await));
    seen.push((
        "api 401",
        b.post_raw("/api/v1/components", "name=x", &[]).await,
    ));
    seen.push(("dashboard redirect", b.get("/dashboard").await));
    seen.push(("login", b.get("/dashboard/login").await));
    seen.push((
        "forged",
        b.post_raw("/dashboard/login", "login=x", &[]).await,
    ));
    seen.push((
        "sign-in 200",
        b.post(
            "/dashboard/login",
            &[("login", "hal"), ("password", PASSWORD)],
        )
        .await,
    ));
    seen.push(("signed in", b.get("/dashboard/incidents").await));
    b.post("/dashboard/logout", &[]).await;
    b.get("/dashboard/login").await;
    seen.push((
        "429",
        b.post("/dashboard/login", &[("login", "hal"), ("password", "no")])
            .await,
    ));
    let statuses: Vec<u16> = seen.iter().map(|(_, r)| r.status.as_u16()).collect();
    assert_eq!(
        statuses,
        [200, 200, 404, 404, 200, 401, 303, 200, 403, 303, 200, 429]
    );
    for (what, res) in &seen {
        assert_security_headers(res, what);
        // Plain HTTP without a trusted proxy: no HSTS.
        assert!(res.header("strict-transport-security").is_none(), "{what}");
    }
    let asset = &seen[1].1;
    assert_eq!(
        asset.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(seen[10].1.header("cache-control"), Some("no-store"));
}

async fn get(app: &App, proto: Option<&'static str>) -> Res {
    let mut b = Request::get("/").header("host", HOST);
    if let Some(p) = proto {
        b = b.header("x-forwarded-proto", p);
    }
    app.send(b.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn hsts_is_sent_over_tls_as_the_trusted_proxy_reports_it() {
    let proxied = App::with_config(HttpConfig {
        trusted_proxy_header: Some("x-forwarded-for".parse().unwrap()),
        hsts_max_age: std::time::Duration::from_secs(31_536_000),
        ..HttpConfig::default()
    })
    .await;
    let res = get(&proxied, Some("https")).await;
    assert_eq!(
        res.header("strict-transport-security"),
        Some("max-age=31536000; includeSubDomains")
    );
    assert!(get(&proxied, Some("http"))
        .await
        .header("strict-transport-security")
        .is_none());
    assert!(get(&proxied, None)
        .await
        .header("strict-transport-security")
        .is_none());
    // Without a trusted proxy, a client's X-Forwarded-Proto means nothing.
    let direct = App::new().await;
    assert!(get(&direct, Some("https"))
        .await
        .header("strict-transport-security")
        .is_none());
    let always = App::with_config(HttpConfig {
        hsts: Hsts::Always,
        ..HttpConfig::default()
    })
    .await;
    assert_eq!(
        get(&always, None).await.header("strict-transport-security"),
        Some("max-age=63072000; includeSubDomains")
    );
    let off = App::with_config(HttpConfig {
        hsts: Hsts::Off,
        ..HttpConfig::default()
    })
    .await;
    assert!(get(&off, Some("https"))
        .await
        .header("strict-transport-security")
        .is_none());
}

#[tokio::test]
async fn the_sign_in_rate_limit_engages_per_client_address() {
    let app = App::with_config(HttpConfig {
        trusted_proxy_header: Some("x-forwarded-for".parse().unwrap()),
        rate_limits: cachet_http::RateLimits {
            sign_in: Rate::new(6, 3),
            ..cachet_http::RateLimits::default()
        },
        ..HttpConfig::default()
    })
    .await;
    add_user(&app, "lou", Role::Manager).await;
    let mut b = Browser::new(&app);
    b.forwarded_for = Some("198.51.100.7".into());
    b.get("/dashboard/login").await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let res = b
            .post(
                "/dashboard/login",
                &[("login", "lou"), ("password", "wrong password")],
            )
            .await;
        statuses.push(res.status.as_u16());
        if res.status == StatusCode::TOO_MANY_REQUESTS {
            let secs: u64 = res.header("retry-after").unwrap().parse().unwrap();
            assert!((1..=10).contains(&secs), "{secs}");
            assert!(res.text().contains("Too many attempts"));
        }
    }
    assert_eq!(statuses, [401, 401, 401, 429]);
    // The right password does not get past the limit either.
    let res = b
        .post(
            "/dashboard/login",
            &[("login", "lou"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    // Another client (as the proxy reports it) is not affected; the client's own claim in
    // front of the proxy's entry is not believed.
    let mut other = Browser::new(&app);
    other.forwarded_for = Some("198.51.100.7, 203.0.113.50".into());
    let res = other.sign_in("lou", None).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/dashboard");
}

#[tokio::test]
async fn the_api_is_limited_per_token_and_per_client() {
    let app = App::with_config(HttpConfig {
        rate_limits: cachet_http::RateLimits {
            api_per_token: Rate::new(60, 2),
            api_per_client: Rate::new(60, 5),
            ..cachet_http::RateLimits::default()
        },
        ..HttpConfig::default()
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            app.get("/api/v1/components", Some(&app.admin))
                .await
                .status
                .as_u16(),
        );
    }
    assert_eq!(statuses, [200, 200, 429]);
    let res = app.get("/api/v1/components", Some(&app.admin)).await;
    assert_eq!(
        res.error(429)["detail"],
        "Too many requests. Slow down and try again shortly."
    );
    assert_eq!(res.header("retry-after"), Some("1"));
    // Another token has its own budget, until the client's runs out.
    assert_eq!(
        app.get("/api/v1/components", Some(&app.manager))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/v1/components", None).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn the_dashboard_works_under_a_host_prefix() {
    let app = App::new().await;
    add_user(&app, "pat", Role::Manager).await;
    let nested = axum::Router::new().nest(
        "/status",
        cachet_http::router(app.service.clone(), HttpConfig::default()),
    );
    let res = tower::ServiceExt::oneshot(
        nested.clone(),
        Request::get("/status/dashboard")
            .header("host", HOST)
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/status/dashboard/login");
    let res = tower::ServiceExt::oneshot(
        nested,
        Request::get("/status/dashboard/login")
            .header("host", HOST)
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    let html = String::from_utf8_lossy(&body);
    assert!(
        html.contains(r#"action="/status/dashboard/login""#),
        "{html}"
    );
    assert!(
        html.contains(r#"href="/status/assets/dashboard."#),
        "{html}"
    );
}

/// An Admin with 2FA on, signed in through the dashboard.
async fn signed_in_admin(app: &App) -> Browser<'_> {
    let secret = add_enrolled(app, "root", Role::Admin).await;
    let mut b = Browser::new(app);
    let res = b.sign_in("root", Some(&code_now(&secret, 1))).await;
    assert_eq!(location(&res), "/dashboard", "{}", res.text());
    b.get("/dashboard").await;
    b
}

#[tokio::test]
async fn an_admin_manages_everything_from_the_dashboard() {
    let app = App::new().await;
    let mut b = signed_in_admin(&app).await;
    let nav = b.get("/dashboard").await.text();
    for section in [
        "Groups",
        "Maintenance",
        "Metrics",
        "Templates",
        "Subscribers",
        "Users",
        "API tokens",
        "Settings",
        "Audit log",
    ] {
        assert!(
            nav.contains(&format!(">{section}</a>")),
            "no {section} in the nav"
        );
    }

    // A group, with a bad value first.
    let res = b
        .post(
            "/dashboard/groups",
            &[
                ("name", "Core"),
                ("order", "x"),
                ("collapsed", "0"),
                ("visible", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.text().contains("The order must be an integer."),
        "{}",
        res.text()
    );
    let res = b
        .post(
            "/dashboard/groups",
            &[
                ("name", "Core"),
                ("order", "2"),
                ("collapsed", "0"),
                ("visible", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let group_page = location(&res).to_string();
    assert!(b.get(&group_page).await.text().contains(r#"value="Core""#));

    // Maintenance over a component.
    let c = app
        .service
        .create_component(
            &Actor::System,
            cachet_core::input::ComponentInput {
                name: Some("Mail".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let id = c.id.to_string();
    let res = b
        .post(
            "/dashboard/maintenance",
            &[
                ("name", "Upgrade"),
                ("status", "0"),
                ("message", "New *servers*"),
                ("scheduled_at", "2030-01-02 03:00"),
                ("completed_at", ""),
                ("components", ""),
                ("components[]", &id),
                ("notify", "0"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let page = b.get(location(&res)).await.text();
    assert!(page.contains("2030-01-02 03:00"), "{page}");
    assert!(page.contains(&format!(r#"value="{id}" checked"#)), "{page}");
    let res = b
        .post(
            "/dashboard/maintenance",
            &[("name", "No date"), ("status", "0"), ("scheduled_at", "")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);

    // A metric and a template.
    let res = b
        .post(
            "/dashboard/metrics",
            &[
                ("name", "Latency"),
                ("suffix", "ms"),
                ("default_value", "0"),
                ("calc_type", "1"),
                ("places", "2"),
                ("default_view", "1"),
                ("threshold", "5"),
                ("order", "0"),
                ("visible", "1"),
                ("display_chart", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let res = b
        .post(
            "/dashboard/templates",
            &[
                ("name", "Outage"),
                ("slug", ""),
                ("template", "{{ name }} is down"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert!(b
        .get("/dashboard/templates")
        .await
        .text()
        .contains(">outage<"));

    // A user, then a change of role.
    let res = b
        .post(
            "/dashboard/users",
            &[
                ("username", "newbie"),
                ("email", "newbie@people.test"),
                ("password", "short"),
                ("role", "reporter"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        !res.text().contains(r#"value="short""#),
        "a password is never sent back"
    );
    let res = b
        .post(
            "/dashboard/users",
            &[
                ("username", "newbie"),
                ("email", "newbie@people.test"),
                ("password", PASSWORD),
                ("role", "reporter"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let user_page = location(&res).to_string();
    let res = b
        .post(
            &user_page,
            &[("role", "manager"), ("active", "0"), ("active", "1")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let newbie = app
        .service
        .find_user(&Actor::System, "newbie")
        .await
        .unwrap();
    assert_eq!(newbie.role, Role::Manager);
    assert!(newbie.active);

    // A token: the secret once, then only its prefix.
    let res = b
        .post(
            "/dashboard/tokens",
            &[
                ("user", &newbie.id.to_string()),
                ("name", "bot"),
                ("abilities", "metrics.points.write"),
                ("expires_in_days", "30"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let html = res.text();
    let at = html.find(r#"id="new-token">"#).unwrap() + r#"id="new-token">"#.len();
    let secret = html[at..at + html[at..].find('<').unwrap()].to_string();
    assert!(secret.starts_with("cct_"), "{secret}");
    // Narrowed to points: it signs in, but may not write components.
    let write = serde_json::json!({"name": "By the bot"});
    assert_eq!(
        app.post("/api/v1/components", Some(&secret), write.clone())
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let list = b.get("/dashboard/tokens").await.text();
    assert!(!list.contains(&secret));
    assert!(list.contains("metrics.points.write"));
    let res = b
        .post(
            "/dashboard/tokens",
            &[
                ("user", &newbie.id.to_string()),
                ("name", "bad"),
                ("abilities", "fly"),
                ("expires_in_days", "0"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().contains("expires in days"), "{}", res.text());
    let token_id = app
        .service
        .list_tokens(&Actor::System, Some(newbie.id))
        .await
        .unwrap()[0]
        .id;
    let res = b
        .post(&format!("/dashboard/tokens/{token_id}/revoke"), &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.post("/api/v1/components", Some(&secret), write)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // A subscriber.
    let res = b
        .post(
            "/dashboard/subscribers",
            &[("email", "not an address"), ("verify", "0")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let res = b
        .post(
            "/dashboard/subscribers",
            &[
                ("email", "reader@people.test"),
                ("verify", "0"),
                ("verify", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    assert!(b
        .get("/dashboard/subscribers")
        .await
        .text()
        .contains("reader@people.test"));

    // Settings: a bad value is refused whole; a good one saved and audited.
    let res = b
        .post(
            "/dashboard/settings",
            &[
                ("app_name", "Acme status"),
                ("app_timezone", "Mars/Olympus"),
            ],
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.text()
    );
    assert_ne!(app.service.settings().app_name, "Acme status");
    let res = b
        .post("/dashboard/settings", &[("app_name", "Acme status")])
        .await;
    assert_eq!(location(&res), "/dashboard/settings?done=saved");
    assert_eq!(app.service.settings().app_name, "Acme status");
    let audit = b.get("/dashboard/audit").await.text();
    assert!(audit.contains("settings.updated"), "{audit}");
    assert!(audit.contains("changed app_name"), "{audit}");
}

/// The outbox page: every delivery with its state, and a failure with its error, filtered
/// by state.
#[tokio::test]
async fn an_admin_sees_deliveries_and_their_failures() {
    use cachet_core::notify::{Claim, Outcome};
    let app = App::new().await;
    for email in ["one@people.test", "two@people.test"] {
        app.service.subscribe(email, None).await.unwrap();
    }
    // A worker takes both and one fails for good.
    let claimed = app
        .service
        .claim_deliveries(&Claim {
            now: chrono::Utc::now(),
            lease_until: chrono::Utc::now() + chrono::Duration::minutes(2),
            token: "lease".into(),
            limit: 10,
            channel: cachet_core::notify::Channel::Mail,
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    assert!(app
        .service
        .finish_delivery(
            claimed[0].id,
            "lease",
            Outcome::Failed("550 mailbox unavailable".into()),
        )
        .await
        .unwrap());
    let mut b = signed_in_admin(&app).await;
    let nav = b.get("/dashboard").await.text();
    assert!(nav.contains(">Deliveries</a>"), "{nav}");
    let all = b.get("/dashboard/deliveries").await;
    assert_eq!(all.status, StatusCode::OK);
    let html = all.text();
    assert!(html.contains("subscriber.created"), "{html}");
    assert!(html.contains("550 mailbox unavailable"), "{html}");
    assert!(
        html.contains(">pending<") && html.contains(">failed<"),
        "{html}"
    );
    let failed = b.get("/dashboard/deliveries?state=failed").await.text();
    assert!(failed.contains("550 mailbox unavailable"), "{failed}");
    assert!(!failed.contains(">pending</td>"), "{failed}");
    let pending = b.get("/dashboard/deliveries?state=pending").await.text();
    assert!(!pending.contains("550 mailbox unavailable"), "{pending}");
}

#[tokio::test]
async fn a_manager_sees_no_admin_pages_and_is_refused_them() {
    let app = App::new().await;
    add_user(&app, "max", Role::Manager).await;
    let mut b = Browser::new(&app);
    b.sign_in("max", None).await;
    let nav = b.get("/dashboard").await.text();
    assert!(nav.contains(">Groups</a>") && nav.contains(">Maintenance</a>"));
    for hidden in [
        "Subscribers",
        "Users",
        "API tokens",
        "Settings",
        "Audit log",
        "Deliveries",
    ] {
        assert!(
            !nav.contains(&format!(">{hidden}</a>")),
            "{hidden} shown to a manager"
        );
    }
    for path in [
        "/dashboard/users",
        "/dashboard/tokens",
        "/dashboard/subscribers",
        "/dashboard/settings",
        "/dashboard/audit",
        "/dashboard/deliveries",
        "/dashboard/deliveries?state=failed",
    ] {
        assert_eq!(b.get(path).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    b.get("/dashboard").await;
    let res = b
        .post("/dashboard/settings", &[("app_name", "Taken over")])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = b
        .post(
            "/dashboard/users",
            &[
                ("username", "mole"),
                ("email", "mole@people.test"),
                ("password", PASSWORD),
                ("role", "admin"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(app.service.find_user(&Actor::System, "mole").await.is_err());
    assert_ne!(app.service.settings().app_name, "Taken over");
}

/// Findings of a review, each a test: the sign-in nonce's token is good for the sign-in
/// form only; list-shaped values in single fields are refused by name; those who may not
/// change an item see it read-only; the last admin cannot demote themselves; a wide app
/// name does not stop 2FA enrollment.
#[tokio::test]
async fn review_findings_stay_fixed() {
    let app = App::new().await;
    add_user(&app, "mo", Role::Manager).await;
    add_user(&app, "vi", Role::Viewer).await;

    // A nonce token paired with a signed-in session is refused off the sign-in form.
    let mut b = Browser::new(&app);
    b.sign_in("mo", None).await;
    let mut stranger = Browser::new(&app);
    stranger.get("/dashboard/login").await;
    let pre = stranger.cookies["__Host-cachet_pre"].clone();
    let pre_token = stranger.csrf.clone().unwrap();
    b.cookies.insert("__Host-cachet_pre".into(), pre);
    let res = b
        .post_raw(
            "/dashboard/groups",
            &form_body(&[
                ("csrf", &pre_token),
                ("name", "Via nonce"),
                ("visible", "1"),
            ]),
            &[("origin", ORIGIN)],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);

    // The last admin, with 2FA under a wide app name.
    let mut admin = signed_in_admin(&app).await;
    let res = admin
        .post("/dashboard/settings", &[("app_name[]", "x")])
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.text().contains("The app name must be a string."),
        "{}",
        res.text()
    );
    let res = admin
        .post("/dashboard/settings", &[("app_name", &"€".repeat(200))])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let mut viewer = Browser::new(&app);
    viewer.sign_in("vi", None).await;
    viewer.get("/dashboard/account").await;
    let res = viewer.post("/dashboard/account/2fa/begin", &[]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.text().contains("<svg"));

    // The harness's own admin steps down first: root is then the last one.
    let other = app
        .service
        .find_user(&Actor::System, "admin")
        .await
        .unwrap();
    app.service
        .update_user(&Actor::System, other.id, Some(Role::Viewer), None)
        .await
        .unwrap();
    let root = app.service.find_user(&Actor::System, "root").await.unwrap();
    let res = admin
        .post(
            &format!("/dashboard/users/{}", root.id),
            &[("role", "viewer"), ("active", "1")],
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text());
    assert!(res.text().contains("last active admin"));
    let res = admin
        .post(
            &format!("/dashboard/users/{}", root.id),
            &[("role", "admin"), ("active[]", "1")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Read-only for a viewer.
    let res = admin
        .post(
            "/dashboard/groups",
            &[
                ("name", "Edge"),
                ("order", "0"),
                ("collapsed", "0"),
                ("visible", "1"),
            ],
        )
        .await;
    let group_page = location(&res).to_string();
    let html = viewer.get(&group_page).await.text();
    assert!(html.contains("Edge"), "{html}");
    assert!(
        !html.contains(&format!(r#"action="{group_page}""#)),
        "{html}"
    );
    assert!(!html.contains("Delete"), "{html}");
}

/// Webhooks on the dashboard: registered with the secret shown once, refused for an
/// internal address, changed, given a new secret, removed; Admins only.
#[tokio::test]
async fn an_admin_manages_webhooks_and_sees_each_secret_once() {
    let app = App::new().await;
    let mut b = signed_in_admin(&app).await;
    let nav = b.get("/dashboard").await.text();
    assert!(nav.contains(">Webhooks</a>"), "{nav}");
    b.get("/dashboard/webhooks").await;
    // An internal address is refused by name, and nothing is registered.
    let res = b
        .post(
            "/dashboard/webhooks",
            &[
                ("url", "http://169.254.169.254/latest/meta-data/"),
                ("events[]", "incident.created"),
                ("enabled", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().contains("link-local"), "{}", res.text());
    let res = b
        .post(
            "/dashboard/webhooks",
            &[("url", "https://hooks.example.com/in"), ("enabled", "1")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().contains("Choose at least one event."));
    assert!(app
        .service
        .list_webhooks(&Actor::System)
        .await
        .unwrap()
        .is_empty());

    let res = b
        .post(
            "/dashboard/webhooks",
            &[
                ("url", "https://hooks.example.com/in"),
                ("events[]", "incident.created"),
                ("events[]", "component.status_changed"),
                ("enabled", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let html = res.text();
    let start = html.find("whsec_").expect("the secret, once");
    let secret: String = html[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    let hooks = app.service.list_webhooks(&Actor::System).await.unwrap();
    assert_eq!(hooks.len(), 1);
    let w = &hooks[0];
    assert_eq!(app.service.webhook_secret(w).unwrap(), secret);
    assert!(w.enabled);
    assert_eq!(
        w.events,
        vec![
            cachet_core::notify::EventKind::IncidentCreated,
            cachet_core::notify::EventKind::ComponentStatusChanged
        ]
    );
    // Never again: not on the list, not on its page.
    assert!(!b.get("/dashboard/webhooks").await.text().contains(&secret));
    let page = b.get(&format!("/dashboard/webhooks/{}", w.id)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.text().contains(&secret));

    // Change: one event, disabled.
    let res = b
        .post(
            &format!("/dashboard/webhooks/{}", w.id),
            &[
                ("url", "https://hooks.example.com/v2"),
                ("events[]", "maintenance.scheduled"),
            ],
        )
        .await;
    assert_eq!(location(&res), "/dashboard/webhooks", "{}", res.text());
    let w2 = app.service.get_webhook(&Actor::System, w.id).await.unwrap();
    assert_eq!(w2.url, "https://hooks.example.com/v2");
    assert!(!w2.enabled);
    assert_eq!(
        w2.events,
        vec![cachet_core::notify::EventKind::MaintenanceScheduled]
    );

    // A new secret replaces the old one and is shown once.
    b.get(&format!("/dashboard/webhooks/{}", w.id)).await;
    let res = b
        .post(&format!("/dashboard/webhooks/{}/rotate", w.id), &[])
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let now_secret = app
        .service
        .webhook_secret(&app.service.get_webhook(&Actor::System, w.id).await.unwrap())
        .unwrap();
    assert_ne!(now_secret, secret);
    assert!(res.text().contains(&now_secret));

    let res = b
        .post(&format!("/dashboard/webhooks/{}/delete", w.id), &[])
        .await;
    assert_eq!(location(&res), "/dashboard/webhooks");
    assert!(app
        .service
        .list_webhooks(&Actor::System)
        .await
        .unwrap()
        .is_empty());
    let audit = b.get("/dashboard/audit").await.text();
    for kind in [
        "webhook.created",
        "webhook.updated",
        "webhook.secret_rotated",
        "webhook.deleted",
    ] {
        assert!(audit.contains(kind), "{kind}");
    }
    assert!(!audit.contains(&secret) && !audit.contains(&now_secret));
}

#[tokio::test]
async fn a_manager_cannot_see_or_forge_webhooks() {
    let app = App::new().await;
    let made = app
        .service
        .create_webhook(
            &Actor::System,
            cachet_core::webhook::WebhookInput {
                url: Some("https://hooks.example.com/in".into()),
                events: Some(vec!["incident.created".into()]),
                enabled: None,
            },
        )
        .await
        .unwrap();
    add_user(&app, "max", Role::Manager).await;
    let mut b = Browser::new(&app);
    b.sign_in("max", None).await;
    assert!(!b.get("/dashboard").await.text().contains(">Webhooks</a>"));
    let id = made.webhook.id;
    for path in [
        "/dashboard/webhooks".to_string(),
        format!("/dashboard/webhooks/{id}"),
    ] {
        assert_eq!(b.get(&path).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    b.get("/dashboard").await;
    for (path, fields) in [
        (
            "/dashboard/webhooks".to_string(),
            vec![
                ("url", "https://evil.example/"),
                ("events[]", "incident.created"),
            ],
        ),
        (
            format!("/dashboard/webhooks/{id}"),
            vec![("url", "https://evil.example/")],
        ),
        (format!("/dashboard/webhooks/{id}/rotate"), vec![]),
        (format!("/dashboard/webhooks/{id}/delete"), vec![]),
    ] {
        assert_eq!(
            b.post(&path, &fields).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let hooks = app.service.list_webhooks(&Actor::System).await.unwrap();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0], made.webhook);
}
