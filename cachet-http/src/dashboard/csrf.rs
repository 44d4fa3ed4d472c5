//! The CSRF defence of every state-changing dashboard request: an origin check, then a token.
//!
//! 1. **Origin.** A browser names the page a form came from. An `Origin` of this host
//!    passes; `Origin: null` (sandboxed frames, some redirects) never does; another origin
//!    passes only when `Sec-Fetch-Site: same-origin` says the browser itself saw the same
//!    origin (a proxy that rewrites `Host`). Without `Origin`, a `Sec-Fetch-Site` of
//!    `cross-site` or `same-site` is refused.
//! 2. **Token.** The form's `csrf` field must be the token of the session cookie, or, on the
//!    sign-in form only, of the pre-sign-in nonce ([`StatusPage::check_csrf`](cachet_core::StatusPage::check_csrf),
//!    constant time). Both cookies are `HttpOnly` and `SameSite=Strict`, and the token is a
//!    keyed digest: another site can neither read nor compute it.
//!
//! The body is read here (within the body limit) and handed on as a [`Form`], so handlers
//! never see a request that was not checked. API routes are not under this guard: they are
//! authenticated by a token header, which a browser never adds on its own.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use cachet_core::service::SessionSecret;

use super::{pre_cookie_name, read_cookie, session_cookie_name, Ctx};
use crate::api::params::Params;
use crate::AppState;

/// The one form whose token may be bound to the pre-sign-in nonce.
const SIGN_IN_PATH: &str = "/dashboard/login";

/// The decoded fields of a checked form post, without its `csrf` field.
#[derive(Debug, Clone)]
pub(crate) struct Form(pub(crate) Params);

/// What a session's CSRF tokens are bound to.
pub(crate) fn session_binding(secret: &SessionSecret) -> String {
    format!("session:{}", secret.expose())
}

/// What a pre-sign-in nonce's CSRF tokens are bound to.
pub(crate) fn pre_binding(nonce: &str) -> String {
    format!("pre:{nonce}")
}

/// Whether the request's origin headers say it came from a page of this site.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let fetch_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    let browser_says_same = matches!(fetch_site.as_deref(), Some("same-origin"));
    match headers.get(header::ORIGIN) {
        Some(origin) => {
            let Ok(origin) = origin.to_str() else {
                return false;
            };
            if origin.eq_ignore_ascii_case("null") {
                return false;
            }
            let authority = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
            let matches_host =
                matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h));
            matches_host || browser_says_same
        }
        None => !matches!(fetch_site.as_deref(), Some("cross-site" | "same-site")),
    }
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// The middleware (see the module docs).
pub(crate) async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let refuse =
        |parts: &axum::http::request::Parts, status: StatusCode, title: &str, why: &str| {
            Ctx::anonymous(&state, parts).message_page(status, title, why)
        };
    if !same_origin(&parts.headers) {
        return refuse(
            &parts,
            StatusCode::FORBIDDEN,
            "Refused",
            "This form was not sent from a page of this site.",
        );
    }
    if !is_form(&parts.headers) {
        return refuse(
            &parts,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported form",
            "Dashboard forms are sent as application/x-www-form-urlencoded.",
        );
    }
    let Ok(bytes) = axum::body::to_bytes(body, state.config.max_body_bytes).await else {
        return refuse(
            &parts,
            StatusCode::PAYLOAD_TOO_LARGE,
            "Too large",
            "The form is larger than this server accepts.",
        );
    };
    let mut params = Params::default();
    if params.merge_body(&parts.headers, &bytes).is_err() {
        return refuse(
            &parts,
            StatusCode::BAD_REQUEST,
            "Malformed form",
            "The form's data could not be read (it is not valid UTF-8).",
        );
    }
    let token = params
        .take("csrf")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let secure = state.config.secure_cookies;
    // The nonce's token is good for the sign-in form only; everything else needs the
    // session's own.
    let signing_in = parts.uri.path() == SIGN_IN_PATH;
    let bindings = [
        read_cookie(&parts.headers, session_cookie_name(secure))
            .and_then(|s| SessionSecret::parse(&s))
            .map(|s| session_binding(&s)),
        read_cookie(&parts.headers, pre_cookie_name(secure))
            .filter(|n| signing_in && SessionSecret::parse(n).is_some())
            .map(|n| pre_binding(&n)),
    ];
    let valid = !token.is_empty()
        && bindings
            .iter()
            .flatten()
            .any(|b| state.service.check_csrf(b, &token));
    if !valid {
        if bindings.iter().all(Option::is_none) && cookies_withheld(&state, &parts) {
            return refuse(
                &parts,
                StatusCode::FORBIDDEN,
                "Sign-in needs HTTPS",
                "Your browser sent no dashboard cookie: this server's cookies are Secure, and \
                 browsers send those over HTTPS only (and to localhost). Open the dashboard \
                 over HTTPS (see the hardening guide), or, on a trusted network only, turn \
                 secure cookies off (cachet-server --insecure-cookies).",
            );
        }
        return refuse(
            &parts,
            StatusCode::FORBIDDEN,
            "Form expired",
            "This form has expired or was not sent from this site. Go back, reload the page \
             and try again.",
        );
    }
    parts.extensions.insert(Form(params));
    next.run(Request::from_parts(parts, Body::empty())).await
}

/// Whether a browser would have withheld the cookies this server sets: they are Secure, and
/// the request came over plain HTTP to a host that is not the machine itself.
fn cookies_withheld(state: &AppState, parts: &axum::http::request::Parts) -> bool {
    if !state.config.secure_cookies || state.config.is_https(&parts.uri, &parts.headers) {
        return false;
    }
    !to_this_machine(&parts.headers) && !page_was_https(&parts.headers)
}

/// Whether the browser says the form's page was on HTTPS (`Origin`, else `Referer`): then
/// it sent its Secure cookies, whatever a proxy that does not say so made of the request.
fn page_was_https(headers: &HeaderMap) -> bool {
    [header::ORIGIN, header::REFERER].iter().any(|name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.get(..8)
                    .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
            })
    })
}

/// Whether the request's `Host` is this machine (localhost, a loopback address), to which
/// browsers send Secure cookies over plain HTTP too.
fn to_this_machine(headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<axum::http::uri::Authority>().ok());
    host.is_some_and(|h| {
        let name = h.host().trim_start_matches('[').trim_end_matches(']');
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        name == "localhost"
            || name.ends_with(".localhost")
            || name
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn loopback_hosts_are_this_machine() {
        for host in [
            "localhost",
            "LOCALHOST:8000",
            "status.localhost:8000",
            "127.0.0.1:8000",
            "127.1.2.3",
            "[::1]:8000",
        ] {
            assert!(to_this_machine(&headers(&[("host", host)])), "{host}");
        }
        for host in [
            "status.example.com",
            "192.0.2.2:8011",
            "[2001:db8::1]:80",
            "localhost.evil",
        ] {
            assert!(!to_this_machine(&headers(&[("host", host)])), "{host}");
        }
        assert!(!to_this_machine(&headers(&[])));
    }

    #[test]
    fn a_page_on_https_is_told_by_origin_or_referer() {
        assert!(page_was_https(&headers(&[(
            "origin",
            "https://status.test"
        )])));
        assert!(page_was_https(&headers(&[(
            "origin",
            "HTTPS://status.test"
        )])));
        assert!(page_was_https(&headers(&[(
            "referer",
            "https://status.test/dashboard/login"
        )])));
        assert!(!page_was_https(&headers(&[(
            "origin",
            "http://status.test"
        )])));
        assert!(!page_was_https(&headers(&[("origin", "null")])));
        assert!(!page_was_https(&headers(&[])));
    }

    #[test]
    fn origins_are_checked_against_the_host() {
        assert!(same_origin(&headers(&[
            ("host", "status.example"),
            ("origin", "https://status.example")
        ])));
        assert!(same_origin(&headers(&[
            ("host", "127.0.0.1:8000"),
            ("origin", "http://127.0.0.1:8000")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "status.example"),
            ("origin", "https://evil.example")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "status.example"),
            ("origin", "null"),
            ("sec-fetch-site", "same-origin")
        ])));
        // A proxy that rewrote Host: the browser's own word decides.
        assert!(same_origin(&headers(&[
            ("host", "127.0.0.1:8000"),
            ("origin", "https://status.example"),
            ("sec-fetch-site", "same-origin")
        ])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(same_origin(&headers(&[("sec-fetch-site", "none")])));
        // No browser headers at all (curl): the token alone decides.
        assert!(same_origin(&headers(&[("host", "status.example")])));
    }
}
