//! Security middleware: headers on every response, a body size limit, a request timeout,
//! and the JSON error envelope for failures the framework produces itself under `/api`.

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::api::error::{error_response, stock_detail};
pub use crate::limits::{Rate, RateLimits};
use crate::AppState;

/// When to send `Strict-Transport-Security`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Hsts {
    /// Never (a deployment that is not reached over HTTPS at all).
    Off,
    /// When the request came over TLS: its URI says `https`, or the trusted proxy (see
    /// [`HttpConfig::trusted_proxy_header`]) says so with `X-Forwarded-Proto: https`.
    #[default]
    Auto,
    /// On every response.
    Always,
}

/// Adapter settings.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Largest accepted request body in bytes (larger gets 413).
    pub max_body_bytes: usize,
    /// When to send `Strict-Transport-Security` (default [`Hsts::Auto`]).
    pub hsts: Hsts,
    /// `max-age` of `Strict-Transport-Security` (default two years).
    pub hsts_max_age: Duration,
    /// Longest time one request may take before it is answered with 503.
    pub request_timeout: Duration,
    /// Dashboard cookies are `Secure` and `__Host-` prefixed (default). Turn off only to
    /// use the dashboard over plain HTTP on a machine of your own; browsers treat
    /// `http://localhost` and `http://127.0.0.1` as secure, so it is not needed there.
    pub secure_cookies: bool,
    /// The header a reverse proxy in front of this server sets to the client's address
    /// (e.g. `x-forwarded-for`; its last entry is used). Only set it when such a proxy is
    /// the only way in: without one, clients could claim any address. When set, the proxy's
    /// `X-Forwarded-Proto` is trusted for [`Hsts::Auto`] too.
    pub trusted_proxy_header: Option<HeaderName>,
    /// Request rate limits (429 with `Retry-After` past them).
    pub rate_limits: RateLimits,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_body_bytes: 256 * 1024,
            hsts: Hsts::Auto,
            hsts_max_age: Duration::from_secs(2 * 365 * 24 * 60 * 60),
            request_timeout: Duration::from_secs(30),
            secure_cookies: true,
            trusted_proxy_header: None,
            rate_limits: RateLimits::default(),
        }
    }
}

impl HttpConfig {
    /// Whether a request came over TLS (see [`Hsts::Auto`]).
    pub(crate) fn is_https(&self, uri: &axum::http::Uri, headers: &axum::http::HeaderMap) -> bool {
        if uri.scheme() == Some(&axum::http::uri::Scheme::HTTPS) {
            return true;
        }
        self.trusted_proxy_header.is_some()
            && headers
                .get_all("x-forwarded-proto")
                .iter()
                .next_back()
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
    }
}

/// The Content-Security-Policy of every response: nothing inline, nothing foreign.
pub(crate) const CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; \
connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Headers set on every response that did not set its own.
const HEADERS: &[(&str, &str)] = &[
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=()",
    ),
];

pub(crate) fn apply(app: Router<AppState>, state: &AppState) -> Router<AppState> {
    let config = &state.config;
    let hsts = match config.hsts {
        Hsts::Off => None,
        Hsts::Auto | Hsts::Always => HeaderValue::from_str(&format!(
            "max-age={}; includeSubDomains",
            config.hsts_max_age.as_secs()
        ))
        .ok(),
    };
    let always = config.hsts == Hsts::Always;
    let https_config = state.config.clone();
    // `Router::layer` wraps each route; the last layer added runs first.
    app.layer(RequestBodyLimitLayer::new(config.max_body_bytes))
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            config.request_timeout,
        ))
        .layer(middleware::from_fn(api_error_bodies))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            let hsts = hsts
                .clone()
                .filter(|_| always || https_config.is_https(req.uri(), req.headers()));
            security_headers(req, next, hsts)
        }))
}

async fn security_headers(req: Request, next: Next, hsts: Option<HeaderValue>) -> Response {
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    for (name, value) in HEADERS {
        headers
            .entry(HeaderName::from_static(name))
            .or_insert(HeaderValue::from_static(value));
    }
    if let Some(hsts) = hsts {
        headers
            .entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(hsts);
    }
    res
}

fn is_api(path: &str) -> bool {
    path == crate::api::PREFIX || path.starts_with("/api/v1/")
}

/// Under `/api`, an error answered by a layer (413 from the body limit, 503 from the
/// timeout) or by the router itself gets the JSON envelope like every other API error.
async fn api_error_bodies(req: Request, next: Next) -> Response {
    let api = is_api(req.uri().path());
    let res = next.run(req).await;
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !api || is_json || !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let mut out = error_response(status, stock_detail(status), None);
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(v) = res.headers().get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    async fn app(timeout: Duration) -> Router {
        let store = Arc::new(cachet_core::memory::MemoryStore::new());
        let service = Arc::new(
            cachet_core::StatusPage::new(store, cachet_core::crypto::DataKey::generate().0)
                .await
                .unwrap(),
        );
        let state = AppState::new(
            service,
            HttpConfig {
                request_timeout: timeout,
                hsts: Hsts::Always,
                ..HttpConfig::default()
            },
        );
        let slow = || async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "late"
        };
        let bare = || async { (StatusCode::PAYLOAD_TOO_LARGE, "too big") };
        let routes = Router::new()
            .route("/api/v1/slow", get(slow))
            .route("/api/v1/bare", get(bare))
            .route("/page/bare", get(bare));
        apply(routes, &state).with_state(state)
    }

    async fn get_path(app: &Router, path: &str) -> (StatusCode, Option<String>, String) {
        let res = app
            .clone()
            .oneshot(axum::http::Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let ct = res
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string());
        assert!(res.headers().contains_key("content-security-policy"));
        assert!(res
            .headers()
            .contains_key(header::STRICT_TRANSPORT_SECURITY));
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, ct, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn slow_requests_time_out_with_the_api_envelope() {
        let app = app(Duration::from_millis(20)).await;
        let (status, ct, body) = get_path(&app, "/api/v1/slow").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(ct.as_deref(), Some("application/json"));
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["errors"][0]["status"], 503);
    }

    #[tokio::test]
    async fn bare_framework_errors_get_the_envelope_only_under_the_api() {
        let app = app(Duration::from_secs(5)).await;
        let (status, ct, body) = get_path(&app, "/api/v1/bare").await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(ct.as_deref(), Some("application/json"));
        assert!(body.contains(r#""status":413"#), "{body}");
        let (status, _, body) = get_path(&app, "/page/bare").await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body, "too big");
    }
}
