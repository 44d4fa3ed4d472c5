//! The Cachet v1 JSON API (`/api/v1`), spoken so that existing Cachet clients work
//! unchanged (see the crate README for what differs on purpose).
//!
//! Handlers only translate: [`Req`] gathers the token, the `Time-Zone` header, the merged
//! parameters and the URLs of the request; the handler decodes wire values into a core
//! input, calls one `StatusPage` use case and copies the result into a DTO. Validation,
//! authorization and visibility all happen in the service.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, OriginalUri, RawPathParams, Request};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::Router;
use cachet_core::error::Entity;
use cachet_core::store::Page;
use cachet_core::{Actor, StatusPage, Tz};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;

mod actions;
pub(crate) mod components;
mod deliveries;
pub(crate) mod dto;
pub(crate) mod error;
mod general;
pub(crate) mod incidents;
pub(crate) mod metrics;
pub(crate) mod openapi;
pub(crate) mod params;
pub(crate) mod schedules;
mod subscribers;

use dto::Shape;
use error::ApiError;
use params::Params;

/// Where [`routes`] is nested inside the crate's router.
pub(crate) const PREFIX: &str = "/api/v1";

/// The token header every Cachet client sends.
pub(crate) const TOKEN_HEADER: &str = "x-cachet-token";

/// Adds `path` and `path/` (Cachet accepts a trailing slash without redirecting).
fn both(router: Router<AppState>, path: &str, methods: MethodRouter<AppState>) -> Router<AppState> {
    router
        .route(path, methods.clone())
        .route(&format!("{path}/"), methods)
}

/// Every route of spec 5.11 (and `/openapi.json`), each path with its handlers. [`routes`]
/// serves exactly these, so [`api_paths`] (and through it the document's test) sees every
/// route the router has.
fn table() -> Vec<(&'static str, MethodRouter<AppState>)> {
    use axum::routing::{delete, put};
    vec![
        ("/ping", get(general::ping)),
        ("/version", get(general::version)),
        ("/status", get(general::status)),
        ("/openapi.json", get(openapi::document)),
        (
            "/components",
            get(components::list).post(components::create),
        ),
        (
            "/components/groups",
            get(components::list_groups).post(components::create_group),
        ),
        (
            "/components/groups/{id}",
            get(components::get_group)
                .put(components::update_group)
                .delete(components::delete_group),
        ),
        (
            "/components/{id}",
            get(components::get)
                .put(components::update)
                .delete(components::delete),
        ),
        ("/incidents", get(incidents::list).post(incidents::create)),
        ("/incidents/templates", get(incidents::list_templates)),
        ("/incidents/templates/{id}", get(incidents::get_template)),
        (
            "/incidents/{id}",
            get(incidents::get)
                .put(incidents::update)
                .delete(incidents::delete),
        ),
        (
            "/incidents/{id}/updates",
            get(incidents::list_updates).post(incidents::create_update),
        ),
        (
            "/incidents/{id}/updates/{uid}",
            get(incidents::get_update)
                .put(incidents::update_update)
                .delete(incidents::delete_update),
        ),
        ("/metrics", get(metrics::list).post(metrics::create)),
        (
            "/metrics/{id}",
            get(metrics::get)
                .put(metrics::update)
                .delete(metrics::delete),
        ),
        (
            "/metrics/{id}/points",
            get(metrics::list_points).post(metrics::create_point),
        ),
        (
            "/metrics/{id}/points/{pid}",
            put(metrics::update_point).delete(metrics::delete_point),
        ),
        ("/schedules", get(schedules::list).post(schedules::create)),
        (
            "/schedules/{id}",
            get(schedules::get)
                .put(schedules::update)
                .delete(schedules::delete),
        ),
        (
            "/subscribers",
            get(subscribers::list).post(subscribers::create),
        ),
        ("/subscribers/{id}", delete(subscribers::delete)),
        (
            "/subscriptions/{id}",
            delete(subscribers::delete_subscription),
        ),
        ("/actions", get(actions::list)),
        ("/deliveries", get(deliveries::list)),
    ]
}

/// The path of every route of the `/api/v1` router, relative to `/api/v1`, in axum's
/// syntax (`/components/{id}`); each is also served with a trailing slash. The OpenAPI
/// document at `/api/v1/openapi.json` describes every one of them.
pub fn api_paths() -> Vec<&'static str> {
    table().into_iter().map(|(path, _)| path).collect()
}

/// The router of [`table`]. GET routes answer HEAD too; a wrong method is a JSON 405, an
/// unknown path a JSON 404, and a client that does not accept JSON gets 406.
pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    table()
        .into_iter()
        .fold(Router::new(), |r, (path, methods)| both(r, path, methods))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(middleware::from_fn(negotiate))
        .layer(middleware::from_fn_with_state(state.clone(), cors))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::limits::api,
        ))
}

/// Routes a browser page on another origin may read (spec section 1): every `GET` but ping,
/// version and status, for origins the settings allow (`allowed_domains`, else the origin of
/// `app_url`). Preflights for those reads are answered here; writes get no CORS headers, so
/// a browser never sends a cross-origin write with a token.
async fn cors(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().trim_end_matches('/');
    let public_read = !matches!(path, "/ping" | "/version" | "/status");
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .filter(|o| {
            public_read
                && o.to_str()
                    .is_ok_and(|o| state.service.settings().allows_origin(o))
        })
        .cloned();
    let read = |m: &Method| *m == Method::GET || *m == Method::HEAD;
    if req.method() == Method::OPTIONS {
        let wants_read = req
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
            .is_some_and(|m| read(&m));
        if let (Some(origin), true) = (origin, wants_read) {
            let mut res = StatusCode::NO_CONTENT.into_response();
            let h = res.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, HEAD"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("X-Cachet-Token"),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("3600"),
            );
            h.insert(header::VARY, HeaderValue::from_static("Origin"));
            return res;
        }
        return next.run(req).await;
    }
    let allow = origin.filter(|_| read(req.method()));
    let mut res = next.run(req).await;
    if let Some(origin) = allow {
        let h = res.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    res
}

async fn not_found() -> ApiError {
    ApiError::status(StatusCode::NOT_FOUND)
}

async fn method_not_allowed() -> ApiError {
    ApiError::status(StatusCode::METHOD_NOT_ALLOWED)
}

/// True when the `Accept` header allows `application/json` (a missing or empty header,
/// `*/*`, `application/*`, `application/json` and `application/*+json` do; `q=0` does not).
pub(crate) fn accepts_json(headers: &HeaderMap) -> bool {
    let mut seen = false;
    for value in headers.get_all(header::ACCEPT) {
        let Ok(value) = value.to_str() else {
            return true;
        };
        for range in value.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            if media.is_empty() {
                continue;
            }
            seen = true;
            let refused = parts.any(|p| {
                let p = p.trim().to_ascii_lowercase();
                p.strip_prefix("q=")
                    .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0))
            });
            let matches = matches!(media.as_str(), "*/*" | "application/*" | "application/json")
                || (media.starts_with("application/") && media.ends_with("+json"));
            if matches && !refused {
                return true;
            }
        }
    }
    !seen
}

/// 406 for clients that do not accept JSON; `Cache-Control: no-cache, private` on every
/// API answer that did not set its own (responses may depend on the token).
async fn negotiate(req: Request, next: Next) -> Response {
    if !accepts_json(req.headers()) {
        return ApiError::status(StatusCode::NOT_ACCEPTABLE).into_response();
    }
    let mut res = next.run(req).await;
    res.headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-cache, private"));
    res
}

/// Everything a handler needs from the request, gathered once.
pub(crate) struct Req {
    state: AppState,
    headers: HeaderMap,
    ids: Vec<String>,
    query: Params,
    query_pairs: Vec<(String, String)>,
    body: Bytes,
    url: String,
    shape: Shape,
    zone: Option<Tz>,
}

impl std::fmt::Debug for Req {
    // Never prints the headers (they hold the token) nor the body.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Req")
            .field("ids", &self.ids)
            .field("url", &self.url)
            .field("zone", &self.zone)
            .finish_non_exhaustive()
    }
}

/// A `Host` header fit to be echoed into a URL (letters, digits, `.-:[]_`), else `None`.
fn safe_host(host: &str) -> Option<&str> {
    let ok = !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']' | b'_')
        });
    ok.then_some(host)
}

/// `scheme://authority` of an absolute URL.
fn origin_of(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => u.origin().ascii_serialization(),
        Err(_) => url.trim_end_matches('/').to_string(),
    }
}

impl FromRequest<AppState> for Req {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (mut parts, body) = req.into_parts();
        // Invalid UTF-8 in an id cannot name anything.
        let ids: Vec<String> = RawPathParams::from_request_parts(&mut parts, state)
            .await
            .map(|p| p.iter().map(|(_, v)| v.to_string()).collect())
            .map_err(|_| ApiError::status(StatusCode::NOT_FOUND))?;
        let settings = state.service.settings();
        let inner_path = parts.uri.path().to_string();
        let full_path = parts
            .extensions
            .get::<OriginalUri>()
            .map_or_else(|| inner_path.clone(), |o| o.0.path().to_string());
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(safe_host)
            .or_else(|| {
                parts
                    .uri
                    .authority()
                    .map(|a| a.as_str())
                    .and_then(safe_host)
            })
            .unwrap_or("localhost");
        let origin = if settings.app_url.is_empty() {
            format!("http://{host}")
        } else {
            origin_of(&settings.app_url)
        };
        // Where the crate's router is mounted: the full path minus `/api/v1<inner path>`.
        let mount = full_path
            .strip_suffix(inner_path.as_str())
            .and_then(|p| p.strip_suffix(PREFIX))
            .unwrap_or("")
            .trim_end_matches('/');
        let root = if settings.app_url.is_empty() {
            format!("{origin}{mount}")
        } else {
            settings.app_url.trim_end_matches('/').to_string()
        };
        let zone = match parts.headers.get("time-zone") {
            None => None,
            Some(v) => Some(
                v.to_str()
                    .ok()
                    .and_then(cachet_core::time::parse_zone)
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            "The Time-Zone header does not name a known time zone (e.g. Europe/Berlin).",
                        )
                    })?,
            ),
        };
        let query = Params::from_query(parts.uri.query())?;
        let query_pairs = Params::query_pairs(parts.uri.query());
        let headers = parts.headers.clone();
        let url = format!("{origin}{full_path}");
        let shape = Shape {
            zone: zone.unwrap_or(settings.app_timezone),
            root,
        };
        // Only writes carry parameters in their body; a GET or DELETE body (`{}`, or empty
        // with a JSON content type) is ignored.
        let body = if parts.method == Method::POST || parts.method == Method::PUT {
            Bytes::from_request(Request::from_parts(parts, body), state)
                .await
                .map_err(|rejection| ApiError::status(rejection.status()))?
        } else {
            Bytes::new()
        };
        Ok(Req {
            state: state.clone(),
            headers,
            ids,
            query,
            query_pairs,
            body,
            url,
            shape,
            zone,
        })
    }
}

impl Req {
    pub(crate) fn service(&self) -> &StatusPage {
        &self.state.service
    }

    /// The display zone and permalink root of the response.
    pub(crate) fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The zone named by the `Time-Zone` header (an unknown name is refused with 400).
    pub(crate) fn zone(&self) -> Option<Tz> {
        self.zone
    }

    fn token(&self) -> Option<&str> {
        self.headers
            .get(TOKEN_HEADER)
            .map(|v| v.to_str().unwrap_or("\u{0}"))
    }

    /// The actor of a public read: a missing or invalid token is a guest, never an error.
    pub(crate) async fn reader(&self) -> Result<Actor, ApiError> {
        Ok(self.service().identify_reader(self.token()).await?)
    }

    /// The actor of a write (or of the subscriber list): 401 without a valid token.
    pub(crate) async fn writer(&self) -> Result<Actor, ApiError> {
        let Some(token) = self.token() else {
            return Err(ApiError::status(StatusCode::UNAUTHORIZED));
        };
        Ok(self.service().authenticate_token(token).await?)
    }

    /// The id in path position `i`: digits only, else 404 for `entity`.
    pub(crate) fn id<T: From<i64>>(&self, i: usize, entity: Entity) -> Result<T, ApiError> {
        let raw = self.ids.get(i).map(String::as_str).unwrap_or("");
        if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ApiError::not_found(entity));
        }
        raw.parse::<i64>()
            .map(T::from)
            .map_err(|_| ApiError::not_found(entity))
    }

    /// The query string parameters.
    pub(crate) fn query(&self) -> &Params {
        &self.query
    }

    /// The query string merged with the body (body wins).
    pub(crate) fn params(&self) -> Result<Params, ApiError> {
        let mut p = self.query.clone();
        p.merge_body(&self.headers, &self.body)?;
        Ok(p)
    }

    fn page_url(&self, page: u64) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.query_pairs.iter().filter(|(k, _)| k != "page") {
            s.append_pair(k, v);
        }
        s.append_pair("page", &page.to_string());
        format!("{}?{}", self.url, s.finish())
    }

    /// A paginated list: `{"meta":{"pagination":{...}},"data":[...]}`.
    pub(crate) fn list<T, D: Serialize>(
        &self,
        page: Page<T>,
        paging: (u32, u32),
        f: impl Fn(&T) -> D,
    ) -> Response {
        let (current, per_page) = paging;
        let total_pages = page.total.div_ceil(u64::from(per_page.max(1))).max(1);
        let current = u64::from(current);
        let body = ListBody {
            meta: ListMeta {
                pagination: Pagination {
                    total: page.total,
                    count: page.items.len(),
                    per_page,
                    current_page: current,
                    total_pages,
                    links: Links {
                        next_page: (current < total_pages).then(|| self.page_url(current + 1)),
                        previous_page: (current > 1).then(|| self.page_url(current - 1)),
                    },
                },
            },
            data: page.items.iter().map(f).collect(),
        };
        json(StatusCode::OK, &body)
    }
}

/// A page of a list: `{"meta":{"pagination":{...}},"data":[...]}`.
#[derive(Serialize, ToSchema)]
pub(crate) struct ListBody<D> {
    meta: ListMeta,
    data: Vec<D>,
}

/// The `meta` of a list.
#[derive(Serialize, ToSchema)]
struct ListMeta {
    pagination: Pagination,
}

/// Where a page is in the whole list.
#[derive(Serialize, ToSchema)]
struct Pagination {
    /// Rows in the whole list.
    total: u64,
    /// Rows on this page.
    count: usize,
    /// Page size.
    #[schema(minimum = 1)]
    per_page: u32,
    /// This page's number, from 1.
    #[schema(minimum = 1)]
    current_page: u64,
    /// Number of pages (at least 1).
    #[schema(minimum = 1)]
    total_pages: u64,
    /// Absolute URLs of the neighbouring pages, keeping every query parameter but `page`.
    links: Links,
}

/// Neighbouring pages.
#[derive(Serialize, ToSchema)]
struct Links {
    /// The next page, or null on the last.
    next_page: Option<String>,
    /// The previous page, or null on the first.
    previous_page: Option<String>,
}

/// One resource: `{"data": ...}`.
#[derive(Serialize, ToSchema)]
pub(crate) struct Data<T> {
    data: T,
}

/// A JSON response with `Content-Type: application/json` exactly.
pub(crate) fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut res = (status, bytes).into_response();
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "response serialisation failed");
            ApiError::status(StatusCode::INTERNAL_SERVER_ERROR).into_response()
        }
    }
}

/// `{"data": value}` with 200.
pub(crate) fn data<T: Serialize>(value: T) -> Response {
    json(StatusCode::OK, &Data { data: value })
}

/// 204 with no body and no content type.
pub(crate) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// What every handler returns.
pub(crate) type ApiResult = Result<Response, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> bool {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        accepts_json(&h)
    }

    #[test]
    fn accept_header_rules() {
        assert!(accepts_json(&HeaderMap::new()));
        for ok in [
            "*/*",
            "application/*",
            "application/json",
            "text/html, application/json;q=0.5",
            "application/vnd.api+json",
            "",
        ] {
            assert!(accept(ok), "{ok}");
        }
        for bad in [
            "text/html",
            "text/html, application/xhtml+xml",
            "application/json;q=0",
            "image/png",
        ] {
            assert!(!accept(bad), "{bad}");
        }
    }

    #[test]
    fn hosts_are_checked_before_echoing() {
        assert_eq!(safe_host("example.com:8080"), Some("example.com:8080"));
        assert_eq!(safe_host("[::1]:80"), Some("[::1]:80"));
        assert_eq!(safe_host("evil.com/<script>"), None);
        assert_eq!(safe_host(""), None);
        assert_eq!(
            origin_of("https://status.example.com/sub/"),
            "https://status.example.com"
        );
    }
}
