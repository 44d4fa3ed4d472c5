//! The audit log (`GET /actions`, not in Cachet 2.x: this project's own, Admin only).
//!
//! Paginated and sorted like every list; filtered by `kind` (exact) and by time: `since`
//! (inclusive) and `until` (exclusive), written like other times (`Y-m-d H:i[:s]` in the
//! request's zone).

use cachet_core::error::ValidationErrors;
use cachet_core::store::{AuditFilter, AuditSort, ListQuery};
use cachet_core::Tz;

use super::dto::AuditDto;
use super::error::ApiError;
use super::openapi::{local_time, query, query_params, text};
use super::params::Params;
use super::{ApiResult, ListBody, Req};

query_params!(
    /// Query of `GET /actions`, as [`audit_filter`] reads it.
    ActionQuery, AuditSort, [
        query("kind", "Exact kind (e.g. `token.failed`).", text()),
        query("since", "Entries at or after this time.", local_time()),
        query("until", "Entries before this time.", local_time()),
    ]
);

/// The filter of `GET /actions`; times are read in `zone`.
pub(crate) fn audit_filter(p: &Params, zone: Tz) -> Result<AuditFilter, ApiError> {
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
    Ok(AuditFilter {
        kind: p
            .get("kind")
            .and_then(|v| v.as_str())
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty()),
        since,
        until,
    })
}

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
    let filter = audit_filter(p, req.service().zone(req.zone()))?;
    let mut q = ListQuery::new(paging.0, paging.1, filter);
    q.sort = p.sort(AuditSort::from_key);
    let page = req.service().list_audit(&actor, &q).await?;
    Ok(req.list(page, paging, |e| AuditDto::new(e, req.shape())))
}
