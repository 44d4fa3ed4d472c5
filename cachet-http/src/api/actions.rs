//! The audit log (`GET /actions`, not in Cachet 2.x: this project's own, Admin only).
//!
//! Paginated and sorted like every list; filtered by `kind` (exact) and by time: `since`
//! (inclusive) and `until` (exclusive), written like other times (`Y-m-d H:i[:s]` in the
//! request's zone).

use cachet_core::error::ValidationErrors;
use cachet_core::store::{AuditFilter, AuditSort, ListQuery};

use super::openapi::ActionQuery;
use super::ListBody;
use super::dto::AuditDto;
use super::error::ApiError;
use super::{ApiResult, Req};

/// `GET /actions`.
#[utoipa::path(
    get,
    path = "/actions",
    operation_id = "list_actions",
    tag = "actions",
    security(("token" = [])),
    params(ActionQuery),
    responses((status = 200, description = "A page of audit log entries (admin only).", body = ListBody<AuditDto>)),
)]
pub(crate) async fn list(req: Req) -> ApiResult {
    let actor = req.writer().await?;
    let p = req.query();
    let paging = p.paging();
    let zone = req.service().zone(req.zone());
    let mut errors = ValidationErrors::new();
    let mut time = |field: &str| {
        let text = p.get(field).and_then(|v| v.as_str().map(str::to_owned))?;
        match cachet_core::time::parse_local(&text, zone) {
            Ok(t) => Some(t),
            Err(m) => {
                errors.add(field, format!("The {field} is not a valid time: {m}."));
                None
            }
        }
    };
    let since = time("since");
    let until = time("until");
    if !errors.is_empty() {
        return Err(ApiError::from(errors));
    }
    let filter = AuditFilter {
        kind: p
            .get("kind")
            .and_then(|v| v.as_str())
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty()),
        since,
        until,
    };
    let mut q = ListQuery::new(paging.0, paging.1, filter);
    q.sort = p.sort(AuditSort::from_key);
    let page = req.service().list_audit(&actor, &q).await?;
    Ok(req.list(page, paging, |e| AuditDto::new(e, req.shape())))
}
