//! `ping`, `version` and `status` (spec 4).

use axum::http::{header, HeaderValue};
use serde::Serialize;
use utoipa::ToSchema;

use super::{data, json, ApiResult, Data, Req};

/// The Cachet version this API speaks.
pub(crate) const CACHET_VERSION: &str = "2.4.1";

/// `GET /ping`: `{"data":"Pong!"}`, never needs a token.
#[utoipa::path(
    get,
    path = "/ping",
    operation_id = "ping",
    tag = "general",
    security(()),
    responses((status = 200, description = "`Pong!`.", body = Data<String>,
        example = json!({"data": "Pong!"}))),
)]
pub(crate) async fn ping() -> ApiResult {
    Ok(data("Pong!"))
}

/// The answer of `GET /version`.
#[derive(Serialize, ToSchema)]
pub(crate) struct Version {
    meta: VersionMeta,
    data: &'static str,
}

/// Whether this is the latest release.
#[derive(Serialize, ToSchema)]
struct VersionMeta {
    on_latest: bool,
    latest: Latest,
}

/// Key names as the reference, including its `prelease` typo.
#[derive(Serialize, ToSchema)]
struct Latest {
    tag_name: &'static str,
    prelease: bool,
    draft: bool,
}

/// `GET /version`: our own version, always "on latest" (no call to GitHub).
#[utoipa::path(
    get,
    path = "/version",
    operation_id = "version",
    tag = "general",
    security(()),
    responses((status = 200, description = "The Cachet version this API speaks.", body = Version)),
)]
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

/// The overall status (`GET /status`).
#[derive(Serialize, ToSchema)]
pub(crate) struct Status {
    /// `success` (all operational), `info` (some issues) or `danger` (major outage).
    #[schema(value_type = String, pattern = "^(success|info|danger)$")]
    status: &'static str,
    /// The sentence the status page shows.
    message: &'static str,
}

/// `GET /status`: the overall status the caller may see. Guests get a shared
/// `public, max-age=30`; a signed-in answer depends on the token, so it is `private`.
#[utoipa::path(
    get,
    path = "/status",
    operation_id = "status",
    tag = "general",
    security((), ("token" = [])),
    responses((status = 200, description = "The overall status the caller may see.",
        body = Data<Status>)),
)]
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
