//! The public status page: server-rendered HTML for guests, no JavaScript.
//!
//! - `GET /`: the status page (banner, components, incidents, maintenance, history by day),
//!   with an `ETag` that is a digest of the page itself (so it changes exactly when what a
//!   guest sees changes, and says nothing about private writes) and `304` on `If-None-Match`.
//! - `GET /incidents/{id}`: one incident; hidden or unknown is a 404 page.
//! - `GET /history?page=N`: every public incident, newest first, a page at a time, grouped
//!   by day in the display zone.
//! - `GET /components/{id}?page=N`: a component, its status and its status changes (time,
//!   old and new status, source), newest first; hidden or unknown is a 404 page.
//! - A `page` that is not a whole number from 1 is a 400 page; one past the end a 404.
//! - `GET /metrics/{id}`: Cachet's chart data as JSON (see [`chart`]).
//! - `/subscribe` and its link pages: see [`subscribe`].
//! - `GET /assets/{name}`: the stylesheet and icon under content-hashed names (see [`assets`]).
//!
//! Nothing here decides what a guest may see: every page is rendered from what
//! `StatusPage` returns for [`Actor::Guest`]. Links carry the prefix the router is mounted
//! under, so the page also works when nested (`Router::nest("/status", ...)`).

pub(crate) mod assets;
mod chart;
mod subscribe;
mod view;

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cachet_core::ids::{ComponentId, IncidentId};
use cachet_core::service::{PageSnapshot, HISTORY_PER_PAGE};
use cachet_core::{Actor, Error};
use sha2::{Digest, Sha256};

use crate::AppState;

/// Short: during an outage the page must not lag behind by more than a few seconds.
const PAGE_CACHE_CONTROL: &str = "public, max-age=10";
const HTML: &str = "text/html; charset=utf-8";
/// Status changes on one page of a component's page.
const CHANGES_PER_PAGE: u32 = 25;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/incidents/{id}", get(incident))
        .route("/history", get(history))
        .route("/components/{id}", get(component))
        .route("/metrics/{id}", get(chart::show))
        .route("/assets/{name}", get(assets::serve))
        .layer(Extension(Arc::new(RenderCache::default())))
        .merge(subscribe::routes())
}

/// The last rendered index page. Guests share one snapshot until the next write (or TTL),
/// so during an outage the HTML is rendered once per snapshot, not once per visitor.
#[derive(Default)]
struct RenderCache {
    index: Mutex<Option<Rendered>>,
}

#[derive(Clone)]
struct Rendered {
    /// Held so the pointer comparison below can't match a new snapshot at a reused address.
    snapshot: Arc<PageSnapshot>,
    base: String,
    page: Page,
}

/// A rendered page and its validator.
#[derive(Clone)]
struct Page {
    html: Bytes,
    etag: String,
}

impl Page {
    fn new(html: String) -> Page {
        let digest = Sha256::digest(html.as_bytes());
        let etag = format!("\"{}\"", URL_SAFE_NO_PAD.encode(&digest[..18]));
        Page {
            html: Bytes::from(html),
            etag,
        }
    }
}

impl RenderCache {
    fn index(&self, snapshot: &Arc<PageSnapshot>, base: &str) -> Page {
        let hit = self
            .index
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .filter(|r| Arc::ptr_eq(&r.snapshot, snapshot) && r.base == base)
            .map(|r| r.page.clone());
        if let Some(page) = hit {
            return page;
        }
        let page = Page::new(view::index(snapshot, base).into_string());
        *self.index.lock().unwrap_or_else(|e| e.into_inner()) = Some(Rendered {
            snapshot: snapshot.clone(),
            base: base.to_string(),
            page: page.clone(),
        });
        page
    }
}

/// A positive decimal id; anything else (`abc`, `-1`, `1.5`, `+1`, overflow) is `None`.
pub(crate) fn parse_id(raw: &str) -> Option<i64> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse::<i64>().ok().filter(|id| *id > 0)
}

/// The `page` query parameter: 1 when absent; otherwise a whole number from 1 (at most
/// `u32::MAX`), given once. Other parameters are ignored.
fn page_param(query: Option<&str>) -> Result<u32, &'static str> {
    const BAD: &str = "The page number must be a whole number from 1.";
    let mut found = None;
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if k == "page" {
            if found.is_some() {
                return Err("Give the page number once.");
            }
            found = Some(v);
        }
    }
    match found {
        None => Ok(1),
        Some(v) => parse_id(&v).and_then(|n| u32::try_from(n).ok()).ok_or(BAD),
    }
}

/// The prefix this router is mounted under: the original path minus the path the router
/// saw. Only a plain path prefix is used (never `//host`, which a browser would read as
/// another site); anything odd falls back to the root.
pub(crate) fn base_path(original: &Uri, seen: &Uri) -> String {
    let full = original.path();
    let inner = seen.path().trim_end_matches('/');
    let Some(prefix) = full.strip_suffix(inner) else {
        return String::new();
    };
    let prefix = prefix.trim_end_matches('/');
    let plain = prefix.starts_with('/')
        && !prefix.starts_with("//")
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~/%".contains(&b));
    if plain {
        prefix.to_string()
    } else {
        String::new()
    }
}

/// Whether `If-None-Match` names `etag` (or `*`); weak validators compare weakly (RFC 9110).
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

fn html_response(
    status: StatusCode,
    cache_control: &'static str,
    etag: Option<&str>,
    body: Body,
) -> Response {
    let mut res = (status, body).into_response();
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(HTML));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    if let Some(tag) = etag.and_then(|t| HeaderValue::from_str(t).ok()) {
        headers.insert(header::ETAG, tag);
    }
    res
}

fn not_modified_response(etag: &str) -> Response {
    let mut res = StatusCode::NOT_MODIFIED.into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(PAGE_CACHE_CONTROL),
    );
    if let Ok(tag) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, tag);
    }
    res
}

/// Every path no route takes (outside the API, which answers in JSON): the page's 404.
pub(crate) async fn fallback(
    State(state): State<AppState>,
    OriginalUri(original): OriginalUri,
    uri: Uri,
) -> Response {
    not_found_page(&state, &base_path(&original, &uri))
}

fn not_found_page(state: &AppState, base: &str) -> Response {
    // Settings live in memory: a 404 costs no store access.
    let settings = state.service.settings();
    let page = view::not_found(&settings.app_name, settings.app_timezone, base);
    html_response(
        StatusCode::NOT_FOUND,
        PAGE_CACHE_CONTROL,
        None,
        Body::from(page.into_string()),
    )
}

fn bad_request_page(state: &AppState, base: &str, message: &str) -> Response {
    let settings = state.service.settings();
    let page = view::bad_request(&settings.app_name, settings.app_timezone, base, message);
    html_response(
        StatusCode::BAD_REQUEST,
        PAGE_CACHE_CONTROL,
        None,
        Body::from(page.into_string()),
    )
}

/// A rendered page with its ETag, or 304 when the client has it.
fn page_response(html: String, headers: &HeaderMap) -> Response {
    let page = Page::new(html);
    if not_modified(headers, &page.etag) {
        return not_modified_response(&page.etag);
    }
    html_response(
        StatusCode::OK,
        PAGE_CACHE_CONTROL,
        Some(&page.etag),
        Body::from(page.html),
    )
}

fn unavailable_page(state: &AppState, base: &str, error: &Error) -> Response {
    tracing::error!(error = %error, "status page snapshot failed");
    let settings = state.service.settings();
    let page = view::unavailable(&settings.app_name, settings.app_timezone, base);
    let mut res = html_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "no-store",
        None,
        Body::from(page.into_string()),
    );
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
    res
}

/// `GET /`.
async fn index(
    State(state): State<AppState>,
    Extension(cache): Extension<Arc<RenderCache>>,
    OriginalUri(original): OriginalUri,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let base = base_path(&original, &uri);
    let snapshot = match state.service.snapshot(&Actor::Guest).await {
        Ok(s) => s,
        Err(e) => return unavailable_page(&state, &base, &e),
    };
    let page = cache.index(&snapshot, &base);
    if not_modified(&headers, &page.etag) {
        return not_modified_response(&page.etag);
    }
    html_response(
        StatusCode::OK,
        PAGE_CACHE_CONTROL,
        Some(&page.etag),
        Body::from(page.html),
    )
}

/// `GET /incidents/{id}`.
async fn incident(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    OriginalUri(original): OriginalUri,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let base = base_path(&original, &uri);
    let Some(id) = parse_id(&raw) else {
        return not_found_page(&state, &base);
    };
    let snapshot = match state.service.snapshot(&Actor::Guest).await {
        Ok(s) => s,
        Err(e) => return unavailable_page(&state, &base, &e),
    };
    let id = IncidentId(id);
    // Recent incidents (those visitors open during an outage) come from the shared
    // snapshot; older ones from the service, with the same guest visibility.
    let cached = snapshot
        .open_incidents
        .iter()
        .chain(&snapshot.recent_incidents)
        .find(|i| i.id == id);
    let fetched;
    let incident = match cached {
        Some(i) => i,
        None => match state.service.get_incident(&Actor::Guest, id).await {
            Ok(i) => {
                fetched = i;
                &fetched
            }
            // With `always_authenticate` the service refuses guests by id; the public page
            // still shows only what the snapshot holds, so this is "not here" too.
            Err(Error::NotFound(_) | Error::Unauthenticated | Error::Forbidden) => {
                return not_found_page(&state, &base)
            }
            Err(e) => return unavailable_page(&state, &base, &e),
        },
    };
    page_response(
        view::incident(&snapshot, incident, &base).into_string(),
        &headers,
    )
}

/// `GET /history`.
async fn history(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    OriginalUri(original): OriginalUri,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let base = base_path(&original, &uri);
    let page = match page_param(query.as_deref()) {
        Ok(p) => p,
        Err(message) => return bad_request_page(&state, &base, message),
    };
    let snapshot = match state.service.snapshot(&Actor::Guest).await {
        Ok(s) => s,
        Err(e) => return unavailable_page(&state, &base, &e),
    };
    let found = match state
        .service
        .incident_history(&Actor::Guest, page, HISTORY_PER_PAGE)
        .await
    {
        Ok(h) => h,
        Err(Error::NotFound(_) | Error::Unauthenticated | Error::Forbidden) => {
            return not_found_page(&state, &base)
        }
        Err(Error::Invalid(_)) => {
            return bad_request_page(
                &state,
                &base,
                "The page number must be a whole number from 1.",
            )
        }
        Err(e) => return unavailable_page(&state, &base, &e),
    };
    if page > found.last_page() {
        return not_found_page(&state, &base);
    }
    page_response(
        view::history_page(&snapshot, &found, &base).into_string(),
        &headers,
    )
}

/// `GET /components/{id}`.
async fn component(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
    OriginalUri(original): OriginalUri,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let base = base_path(&original, &uri);
    let Some(id) = parse_id(&raw) else {
        return not_found_page(&state, &base);
    };
    let page = match page_param(query.as_deref()) {
        Ok(p) => p,
        Err(message) => return bad_request_page(&state, &base, message),
    };
    let snapshot = match state.service.snapshot(&Actor::Guest).await {
        Ok(s) => s,
        Err(e) => return unavailable_page(&state, &base, &e),
    };
    let id = ComponentId(id);
    // What the index shows is what this page may show: a disabled component, or one in a
    // hidden group, is not found.
    let Some((shown, group)) = view::find_component(&snapshot, id) else {
        return not_found_page(&state, &base);
    };
    let changes = match state
        .service
        .component_history(&Actor::Guest, id, page, CHANGES_PER_PAGE)
        .await
    {
        Ok(c) => c,
        Err(Error::NotFound(_) | Error::Unauthenticated | Error::Forbidden) => {
            return not_found_page(&state, &base)
        }
        Err(e) => return unavailable_page(&state, &base, &e),
    };
    let last = u32::try_from(changes.total.div_ceil(u64::from(CHANGES_PER_PAGE)).max(1))
        .unwrap_or(u32::MAX);
    if page > last {
        return not_found_page(&state, &base);
    }
    page_response(
        view::component_page(&snapshot, shown, group, &changes, page, last, &base).into_string(),
        &headers,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_positive_decimals() {
        assert_eq!(parse_id("42"), Some(42));
        for bad in [
            "",
            "0",
            "-1",
            "+1",
            "1.5",
            "abc",
            "1e3",
            "99999999999999999999",
        ] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn page_numbers_are_whole_numbers_from_one() {
        assert_eq!(page_param(None), Ok(1));
        assert_eq!(page_param(Some("")), Ok(1));
        assert_eq!(page_param(Some("other=x")), Ok(1));
        assert_eq!(page_param(Some("page=3")), Ok(3));
        assert_eq!(page_param(Some("a=1&page=%32")), Ok(2));
        assert_eq!(page_param(Some("page=4294967295")), Ok(u32::MAX));
        for bad in [
            "page=",
            "page=0",
            "page=-1",
            "page=1.5",
            "page=abc",
            "page=+2",
            "page=4294967296",
            "page=99999999999999999999",
        ] {
            assert!(page_param(Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(
            page_param(Some("page=1&page=2")),
            Err("Give the page number once.")
        );
    }

    #[test]
    fn base_path_is_the_mount_prefix() {
        let u = |s: &str| s.parse::<Uri>().unwrap();
        assert_eq!(base_path(&u("/"), &u("/")), "");
        assert_eq!(base_path(&u("/incidents/3"), &u("/incidents/3")), "");
        assert_eq!(base_path(&u("/status"), &u("/")), "/status");
        assert_eq!(base_path(&u("/status/"), &u("/")), "/status");
        assert_eq!(
            base_path(&u("/status/incidents/3"), &u("/incidents/3")),
            "/status"
        );
        assert_eq!(base_path(&u("//evil.example/"), &u("/")), "");
        assert_eq!(base_path(&u("/a@b/"), &u("/")), "");
        assert_eq!(base_path(&u("/x/y"), &u("/z")), "");
    }

    #[test]
    fn if_none_match_lists_and_weak_tags() {
        let mut h = HeaderMap::new();
        assert!(!not_modified(&h, "\"a\""));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"x\", W/\"a\""),
        );
        assert!(not_modified(&h, "\"a\""));
        assert!(!not_modified(&h, "\"b\""));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(not_modified(&h, "\"b\""));
    }
}
