//! The notification outbox (`GET /deliveries`, not in Cachet: this project's own, Admin
//! only, as a delivery names its subscriber): every delivery with its state, attempts and
//! last error, so a monitoring tool can see mail or webhooks failing. Newest first unless
//! sorted otherwise; filtered by `state`.

use cachet_core::error::ValidationErrors;
use cachet_core::notify::DeliveryState;
use cachet_core::store::{DeliveryFilter, DeliverySort, ListQuery, Order};

use super::dto::DeliveryDto;
use super::error::ApiError;
use super::openapi::{query, query_params, text};
use super::params::Params;
use super::{ApiResult, ListBody, Req};

query_params!(
    /// Query of `GET /deliveries`, as [`delivery_filter`] reads it.
    DeliveryQuery, DeliverySort, [
        query(
            "state",
            "Only deliveries in this state.",
            text().enum_values(Some(DeliveryState::ALL.iter().map(|s| s.as_str()))),
        ),
    ]
);

/// The filter of `GET /deliveries`: an unknown state is a 400 naming it.
pub(crate) fn delivery_filter(p: &Params) -> Result<DeliveryFilter, ApiError> {
    let state = match p.get("state").and_then(|v| v.as_str()).map(str::trim) {
        None | Some("") => None,
        Some(name) => match DeliveryState::parse(name) {
            Some(s) => Some(s),
            None => {
                let names: Vec<&str> = DeliveryState::ALL.iter().map(|s| s.as_str()).collect();
                return Err(ApiError::from(ValidationErrors::single(
                    "state",
                    format!("The state must be one of {}.", names.join(", ")),
                )));
            }
        },
    };
    Ok(DeliveryFilter {
        state,
        ..DeliveryFilter::default()
    })
}

/// `GET /deliveries`.
#[utoipa::path(
    get,
    path = "/deliveries",
    operation_id = "list_deliveries",
    tag = "deliveries",
    security(("token" = [])),
    params(DeliveryQuery),
    responses((status = 200, description = "A page of deliveries, newest first (admin only).", body = ListBody<DeliveryDto>)),
)]
pub(crate) async fn list(req: Req) -> ApiResult {
    let actor = req.writer().await?;
    let p = req.query();
    let paging = p.paging();
    let filter = delivery_filter(p)?;
    let mut q = ListQuery::new(paging.0, paging.1, filter);
    q.sort = p
        .sort(DeliverySort::from_key)
        .or(Some((DeliverySort::Id, Order::Desc)));
    let page = req.service().list_deliveries(&actor, &q).await?;
    Ok(req.list(page, paging, |d| DeliveryDto::new(d, req.shape())))
}
