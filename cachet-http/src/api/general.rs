//! `ping`, `version` and `status` (spec 4).

use axum::http::{header, HeaderValue};
use serde::Serialize;

use super::{data, json, ApiResult, Req};

/// The Cachet version this API speaks.
pub(crate) const CACHET_VERSION: &str = "2.4.1";

/// `GET /ping`: `{"data":"Pong!"}`, never needs a token.
pub(crate) async fn ping() -> ApiResult {
    Ok(data("Pong!"))
}

#[derive(Serialize)]
struct Version {
    meta: VersionMeta,
    data: &'static str,
}

#[derive(Serialize)]
struct VersionMeta {
    on_latest: bool,
    latest: Latest,
}

/// Key names as the reference, including its `prelease` typo.
#[derive(Serialize)]
struct Latest {
    tag_name: &'static str,
    prelease: bool,
    draft: bool,
}

/// `GET /version`: our own version, always "on latest" (no call to GitHub).
pub(crate) async fn version() -> ApiResult {
    let body = Version {
        meta: VersionMeta {
            on_latest: true,
            latest: Latest {
                tag_name: "v2.4.1",
                prelease: false,
                draft: false,
            },
        },
        data: CACHET_VERSION,
    };
    Ok(json(axum::http::StatusCode::OK, &body))
}

#[derive(Serialize)]
struct Status {
    status: &'static str,
    message: &'static str,
}

/// `GET /status`: the overall status the caller may see. Guests get a shared
/// `public, max-age=30`; a signed-in answer depends on the token, so it is `private`.
pub(crate) async fn status(req: Req) -> ApiResult {
    let actor = req.reader().await?;
    let overall = req.service().overall_status(&actor).await?;
    let mut res = data(Status {
        status: overall.level.as_str(),
        message: overall.message,
    });
    let cache = if actor.sees_private() {
        "private, max-age=30"
    } else {
        "public, max-age=30"
    };
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    res.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("X-Cachet-Token"));
    Ok(res)
}
