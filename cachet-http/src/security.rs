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
use crate::AppState;

/// Adapter settings.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Largest accepted request body in bytes (larger gets 413).
    pub max_body_bytes: usize,
    /// Send `Strict-Transport-Security` (turn on when served over TLS).
    pub hsts: bool,
    /// Longest time one request may take before it is answered with 503.
    pub request_timeout: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_body_bytes: 256 * 1024,
            hsts: false,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// The Content-Security-Policy of every response: nothing inline, nothing foreign.
pub(crate) const CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; \
connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// `Strict-Transport-Security` when [`HttpConfig::hsts`] is on (two years).
const HSTS: &str = "max-age=63072000; includeSubDomains";

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
    let hsts = config.hsts;
    // `Router::layer` wraps each route; the last layer added runs first.
    app.layer(RequestBodyLimitLayer::new(config.max_body_bytes))
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            config.request_timeout,
        ))
        .layer(middleware::from_fn(api_error_bodies))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            security_headers(req, next, hsts)
        }))
}

async fn security_headers(req: Request, next: Next, hsts: bool) -> Response {
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    for (name, value) in HEADERS {
        headers
            .entry(HeaderName::from_static(name))
            .or_insert(HeaderValue::from_static(value));
    }
    if hsts {
        headers
            .entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(HeaderValue::from_static(HSTS));
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
        let state = AppState {
            service,
            config: Arc::new(HttpConfig {
                request_timeout: timeout,
                hsts: true,
                ..HttpConfig::default()
            }),
        };
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
