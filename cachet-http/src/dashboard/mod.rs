//! The dashboard: server-rendered pages under `/dashboard` for people who run the status page.
//!
//! Works without JavaScript. Every rule lives in `cachet-core`: who may do what
//! (`policy`), what a session is (`service::sessions`), how input is validated (the same
//! decoders as the API feed the same service calls). What this module adds is the browser's
//! side of it:
//!
//! - **Session cookie** `__Host-cachet_session` (or `cachet_session` with
//!   [`crate::HttpConfig::secure_cookies`] off): the opaque secret of a server-side session,
//!   `Secure`, `HttpOnly`, `SameSite=Strict`, `Path=/`. A new one is set on sign-in (the
//!   password step), on the second factor, and when 2FA is turned on or off; the old one
//!   stops working each time.
//! - **Pre-sign-in cookie** `__Host-cachet_pre`: a random nonce that the sign-in form's CSRF
//!   token is bound to (so a login form cannot be posted from another site either).
//! - **CSRF**: every `POST` carries a `csrf` field, a keyed digest of the session secret or
//!   the nonce, checked in constant time ([`csrf`]), after an `Origin` check.
//! - **Pages** show only the actions `policy::decide` allows the user; a forged request for
//!   anything else is refused by the service (403 page).
//!
//! Links carry the mount prefix, so the dashboard works nested under a host's own path.

// Helpers return their refusal as a ready `Response`, as axum's own rejections are; a
// response is large, but it is built once per refused request.
#![allow(clippy::result_large_err)]

mod account;
mod admin;
mod components;
mod content;
mod crud;
pub(crate) mod csrf;
mod incidents;
pub(crate) mod view;
mod webhooks;

use std::net::IpAddr;

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use cachet_core::error::ValidationErrors;
use cachet_core::policy::{decide, Action};
use cachet_core::service::{ActiveSession, Resumed, SessionSecret};
use cachet_core::{Actor, Error};
use cookie::{Cookie, SameSite};

use crate::api::params::Params;
use crate::limits::{client_ip, retry_after_secs, ClientKey};
use crate::AppState;

pub(crate) use csrf::Form;

/// Every dashboard route, under `/dashboard`.
pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    let r = Router::new()
        .route("/dashboard", get(incidents::home))
        .route(
            "/dashboard/login",
            get(account::login_form).post(account::login),
        )
        .route(
            "/dashboard/login/2fa",
            get(account::second_factor_form).post(account::second_factor),
        )
        .route("/dashboard/logout", post(account::logout))
        .route("/dashboard/account", get(account::show))
        .route(
            "/dashboard/account/logout-everywhere",
            post(account::logout_everywhere),
        )
        .route("/dashboard/account/2fa/begin", post(account::begin_2fa))
        .route("/dashboard/account/2fa/confirm", post(account::confirm_2fa))
        .route("/dashboard/account/2fa/disable", post(account::disable_2fa))
        .route(
            "/dashboard/incidents",
            get(incidents::list).post(incidents::create),
        )
        .route("/dashboard/incidents/new", get(incidents::new))
        .route(
            "/dashboard/incidents/{id}",
            get(incidents::show).post(incidents::update),
        )
        .route("/dashboard/incidents/{id}/delete", post(incidents::delete))
        .route(
            "/dashboard/incidents/{id}/updates",
            post(incidents::create_update),
        )
        .route(
            "/dashboard/incidents/{id}/updates/{uid}/delete",
            post(incidents::delete_update),
        )
        .route(
            "/dashboard/components",
            get(components::list).post(components::create),
        )
        .route("/dashboard/components/new", get(components::new))
        .route(
            "/dashboard/components/{id}",
            get(components::show).post(components::update),
        )
        .route(
            "/dashboard/components/{id}/delete",
            post(components::delete),
        )
        .route(
            "/dashboard/users",
            get(admin::users).post(admin::create_user),
        )
        .route(
            "/dashboard/users/{id}",
            get(admin::show_user).post(admin::update_user),
        )
        .route(
            "/dashboard/users/{id}/reset-2fa",
            post(admin::reset_user_2fa),
        )
        .route(
            "/dashboard/tokens",
            get(admin::tokens).post(admin::create_token),
        )
        .route("/dashboard/tokens/{id}/revoke", post(admin::revoke_token))
        .route(
            "/dashboard/subscribers",
            get(admin::subscribers).post(admin::create_subscriber),
        )
        .route(
            "/dashboard/subscribers/{id}/delete",
            post(admin::delete_subscriber),
        )
        .route(
            "/dashboard/settings",
            get(admin::settings).post(admin::save_settings),
        )
        .route("/dashboard/deliveries", get(admin::deliveries))
        .route(
            "/dashboard/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            "/dashboard/webhooks/{id}",
            get(webhooks::show).post(webhooks::update),
        )
        .route("/dashboard/webhooks/{id}/rotate", post(webhooks::rotate))
        .route("/dashboard/webhooks/{id}/delete", post(webhooks::delete))
        .route("/dashboard/audit", get(admin::audit));
    let r = content::routes::<content::Groups>(r);
    let r = content::routes::<content::Maintenance>(r);
    let r = content::routes::<content::Metrics>(r);
    let r = content::routes::<content::Templates>(r);
    r.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        csrf::guard,
    ))
}

// ---------------------------------------------------------------------------- cookies

fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-cachet_session"
    } else {
        "cachet_session"
    }
}

fn pre_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-cachet_pre"
    } else {
        "cachet_pre"
    }
}

/// The first cookie called `name` in the request's `Cookie` headers.
fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

/// A `Set-Cookie` value with the dashboard's attributes; `None` deletes the cookie.
fn cookie_header(
    name: &'static str,
    value: Option<&str>,
    max_age: chrono::Duration,
    secure: bool,
) -> HeaderValue {
    let age = match value {
        Some(_) => cookie::time::Duration::seconds(max_age.num_seconds()),
        None => cookie::time::Duration::ZERO,
    };
    let c = Cookie::build((name, value.unwrap_or("").to_string()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(age)
        .build();
    // Names are static and values alphanumeric: always a valid header value.
    HeaderValue::from_str(&c.to_string()).unwrap_or(HeaderValue::from_static(""))
}

/// How long a pre-sign-in nonce lives (longer than anyone looks at a sign-in form).
const PRE_COOKIE_LIFETIME: chrono::Duration = chrono::Duration::hours(2);

// ---------------------------------------------------------------------------- request

/// What every dashboard handler knows about its request.
pub(crate) struct Ctx {
    pub(crate) state: AppState,
    /// Mount prefix (`""` at the root).
    pub(crate) base: String,
    /// The client's address (see [`crate::limits::client_ip`]).
    pub(crate) client: Option<IpAddr>,
    /// The session secret from the cookie, if well-formed.
    pub(crate) secret: Option<SessionSecret>,
    /// The pre-sign-in nonce from its cookie, if well-formed.
    pub(crate) pre: Option<String>,
    /// What the session is, when there is one that is live.
    pub(crate) session: Option<Resumed>,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Ctx, Response> {
        let secure = state.config.secure_cookies;
        let base = base_of(parts);
        let secret = read_cookie(&parts.headers, session_cookie_name(secure))
            .and_then(|s| SessionSecret::parse(&s));
        let pre = read_cookie(&parts.headers, pre_cookie_name(secure))
            .filter(|n| SessionSecret::parse(n).is_some());
        let mut ctx = Ctx {
            state: state.clone(),
            base,
            client: client_ip(parts, &state.config),
            secret,
            pre,
            session: None,
        };
        if let Some(secret) = &ctx.secret {
            match state.service.resume_session(secret).await {
                Ok(s) => ctx.session = Some(s),
                Err(Error::Unauthenticated) => {}
                Err(e) => return Err(ctx.fail(e)),
            }
        }
        Ok(ctx)
    }
}

/// The mount prefix of a request.
fn base_of(parts: &Parts) -> String {
    let original = parts
        .extensions
        .get::<OriginalUri>()
        .map_or_else(|| parts.uri.clone(), |o| o.0.clone());
    crate::page::base_path(&original, &parts.uri)
}

impl Ctx {
    /// A context without a session (for pages refused before any handler runs).
    pub(crate) fn anonymous(state: &AppState, parts: &Parts) -> Ctx {
        Ctx {
            state: state.clone(),
            base: base_of(parts),
            client: client_ip(parts, &state.config),
            secret: None,
            pre: None,
            session: None,
        }
    }

    /// `{base}/dashboard{path}`.
    pub(crate) fn href(&self, path: &str) -> String {
        format!("{}/dashboard{path}", self.base)
    }

    /// The key the sign-in throttle and the rate limits charge.
    pub(crate) fn client_key(&self) -> String {
        self.client
            .map_or_else(|| "unknown".to_string(), |ip| ip.to_canonical().to_string())
    }

    /// Counts a sign-in step against the client's rate limit.
    pub(crate) fn sign_in_limit(&self) -> Result<(), Response> {
        self.state
            .limiters
            .sign_in
            .check(&ClientKey::of(self.client))
            .map_err(|wait| self.too_many(wait))
    }

    /// The CSRF token for forms on a page of this request: bound to the session when there
    /// is one, else to the pre-sign-in nonce.
    pub(crate) fn csrf_token(&self) -> String {
        match (&self.secret, &self.pre) {
            (Some(s), _) if self.session.is_some() => {
                self.state.service.csrf_token(&csrf::session_binding(s))
            }
            (_, Some(n)) => self.state.service.csrf_token(&csrf::pre_binding(n)),
            (Some(s), None) => self.state.service.csrf_token(&csrf::session_binding(s)),
            (None, None) => String::new(),
        }
    }

    pub(crate) fn app_name(&self) -> String {
        self.state.service.settings().app_name.clone()
    }

    pub(crate) fn secure(&self) -> bool {
        self.state.config.secure_cookies
    }

    /// `303 See Other` to a dashboard path.
    pub(crate) fn redirect(&self, path: &str) -> Response {
        redirect(&self.href(path))
    }

    /// The response for a service error, as a page.
    pub(crate) fn fail(&self, e: Error) -> Response {
        let (status, title, message) = match e {
            Error::NotFound(entity) => (
                StatusCode::NOT_FOUND,
                "Not found",
                format!("That {} does not exist.", entity.human_name()),
            ),
            Error::Forbidden => (
                StatusCode::FORBIDDEN,
                "Not allowed",
                "Your role does not allow this.".to_string(),
            ),
            Error::Unauthenticated => return self.redirect("/login"),
            Error::Throttled { retry_after } => return self.too_many(retry_after),
            Error::Conflict(m) | Error::Rejected(m) => (StatusCode::CONFLICT, "Not possible", m),
            Error::Invalid(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid input",
                errors
                    .errors()
                    .iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            Error::SignInFailed => (
                StatusCode::UNAUTHORIZED,
                "Sign-in failed",
                "The username or password is incorrect.".to_string(),
            ),
            Error::Unavailable(source) => {
                tracing::error!(error = %source, "dashboard: store unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Unavailable",
                    "The status page's database cannot be reached. Try again shortly.".to_string(),
                )
            }
            other => {
                tracing::error!(error = %other, "dashboard: backend error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The request could not be completed; it has been logged.".to_string(),
                )
            }
        };
        self.message_page(status, title, &message)
    }

    pub(crate) fn message_page(&self, status: StatusCode, title: &str, message: &str) -> Response {
        let signed = match &self.session {
            Some(Resumed::SignedIn(a)) => Some(a),
            _ => None,
        };
        page(
            status,
            view::message(self, signed, title, message).into_string(),
        )
    }

    pub(crate) fn too_many(&self, wait: std::time::Duration) -> Response {
        let secs = retry_after_secs(wait);
        let mut res = self.message_page(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts",
            &format!("Too many attempts from here. Try again in {secs} seconds."),
        );
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        res
    }
}

/// A signed-in user (who has enrolled in 2FA when they must). Anyone else is sent to the
/// sign-in page, or to enrollment.
pub(crate) struct Signed {
    pub(crate) ctx: Ctx,
    pub(crate) active: ActiveSession,
    pub(crate) secret: SessionSecret,
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Signed, Response> {
        let ctx = Ctx::from_request_parts(parts, state).await?;
        let (Some(Resumed::SignedIn(active)), Some(secret)) =
            (ctx.session.clone(), ctx.secret.clone())
        else {
            return Err(ctx.redirect("/login"));
        };
        // Until an Admin who must use 2FA has enrolled, only their account page works.
        let path = parts.uri.path();
        let account_page = path == "/dashboard/account" || path.starts_with("/dashboard/account/");
        if active.must_enroll_2fa && !account_page && path != "/dashboard/logout" {
            return Err(ctx.redirect("/account"));
        }
        Ok(Signed {
            ctx,
            active,
            secret,
        })
    }
}

impl Signed {
    pub(crate) fn actor(&self) -> &Actor {
        &self.active.actor
    }

    /// Whether the user's role allows `action` (pages show only what is allowed).
    pub(crate) fn can(&self, action: Action) -> bool {
        decide(&self.active.actor, action).is_allowed()
    }

    pub(crate) fn fail(&self, e: Error) -> Response {
        self.ctx.fail(e)
    }
}

// ---------------------------------------------------------------------------- responses

pub(crate) fn redirect(location: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A dashboard page: HTML, never cached (it shows private data and CSRF tokens).
pub(crate) fn page(status: StatusCode, html: String) -> Response {
    let mut res = (status, html).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A form field as typed (`""` when absent; numbers as their text).
pub(crate) fn form_text(form: &Params, name: &str) -> String {
    match form.get(name) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => String::new(),
    }
}

/// A single-value field of a form as an input: its text (`""` when absent), or an error
/// naming it when the form sent a list or a map (`name[]=x`, `name[k]=x`).
pub(crate) fn form_field(form: &Params, name: &str, errors: &mut ValidationErrors) -> String {
    match form.get(name) {
        None => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(_) => {
            errors.add(
                name,
                format!(
                    "The {} must be a string.",
                    cachet_core::validate::human(name)
                ),
            );
            String::new()
        }
    }
}

/// A positive id from a path segment; anything else is no page.
pub(crate) fn path_id(raw: &str) -> Option<i64> {
    crate::page::parse_id(raw)
}

/// Reads `page` from a query string (1 when absent or not a positive number).
pub(crate) fn page_number(query: Option<&str>) -> u32 {
    Params::from_query(query).ok().map_or(1, |p| p.paging().0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_carry_the_hardened_attributes() {
        let v = cookie_header(
            "__Host-cachet_session",
            Some("abc"),
            chrono::Duration::hours(12),
            true,
        );
        let text = v.to_str().unwrap();
        for part in [
            "__Host-cachet_session=abc",
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Path=/",
            "Max-Age=43200",
        ] {
            assert!(text.contains(part), "{text} lacks {part}");
        }
        assert!(!text.contains("Domain"), "{text}");
        let gone = cookie_header("cachet_session", None, chrono::Duration::hours(1), false);
        let text = gone.to_str().unwrap();
        assert!(
            text.starts_with("cachet_session=;") && text.contains("Max-Age=0"),
            "{text}"
        );
        assert!(!text.contains("Secure"), "{text}");
    }

    #[test]
    fn the_first_cookie_of_a_name_is_read() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; cachet_session=xyz"),
        );
        h.append(
            header::COOKIE,
            HeaderValue::from_static("cachet_session=later"),
        );
        assert_eq!(read_cookie(&h, "cachet_session").as_deref(), Some("xyz"));
        assert_eq!(read_cookie(&h, "a").as_deref(), Some("1"));
        assert_eq!(read_cookie(&h, "b"), None);
    }
}
