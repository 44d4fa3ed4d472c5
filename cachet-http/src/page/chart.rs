//! `GET /metrics/{id}?filter=last_hour|today|week|month`: Cachet's status-page chart data
//! (spec section 7.5), `{"data":{"metric":{...},"items":{"<key>":<number>,...}}}`.

use std::collections::BTreeMap;
use std::str::FromStr;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cachet_core::enums::MetricView;
use cachet_core::ids::MetricId;
use cachet_core::model::Metric;
use cachet_core::time::format_in;
use cachet_core::{Actor, Error, Tz};
use serde_json::{json, Map, Number, Value};

use super::parse_id;
use crate::AppState;

/// A JSON number with whole values written without `.0` (as PHP's `json_encode` does):
/// `999.0` -> `999`, `1.25` -> `1.25`. Rust's `Display` for floats already drops `.0`; a
/// value that is not finite (never stored: core rejects it) becomes `null`.
fn number(v: f64) -> Value {
    Number::from_str(&v.to_string()).map_or(Value::Null, Value::Number)
}

/// The metric's columns as Cachet's raw model array has them (times in UTC, the storage zone).
fn metric_json(m: &Metric) -> Value {
    json!({
        "id": m.id.get(),
        "name": m.name,
        "suffix": m.suffix,
        "description": m.description,
        "default_value": number(m.default_value),
        "calc_type": m.calc_type.as_i64(),
        "display_chart": m.display_chart,
        "places": m.places,
        "default_view": m.default_view.as_i64(),
        "threshold": m.threshold,
        "order": m.order,
        "visible": m.visible.as_i64(),
        "created_at": format_in(m.created_at, Tz::UTC),
        "updated_at": format_in(m.updated_at, Tz::UTC),
    })
}

fn body(m: &Metric, items: &BTreeMap<String, f64>) -> Value {
    let items: Map<String, Value> = items.iter().map(|(k, v)| (k.clone(), number(*v))).collect();
    json!({ "data": { "metric": metric_json(m), "items": items } })
}

fn json_response(status: StatusCode, cache: &'static str, value: &Value) -> Response {
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        value.to_string(),
    )
        .into_response()
}

/// Cachet's error body (spec section 1.1).
fn error(status: StatusCode, detail: &str) -> Response {
    let body = json!({
        "errors": [{
            "id": uuid::Uuid::new_v4().to_string(),
            "status": status.as_u16(),
            "title": status.canonical_reason().unwrap_or("Error"),
            "detail": detail,
        }]
    });
    json_response(status, "no-store", &body)
}

fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "The requested resource could not be found but may be available again in the future.",
    )
}

/// The `filter` query parameter; anything else (absent, unknown, repeated junk) means the
/// metric's default view.
fn view_of(query: Option<&str>) -> Option<MetricView> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "filter")
        .and_then(|(_, v)| MetricView::from_key(&v))
}

/// `GET /metrics/{id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(id) = parse_id(&raw) else {
        return not_found();
    };
    let view = view_of(query.as_deref());
    match state
        .service
        .metric_chart(&Actor::Guest, MetricId(id), view, None)
        .await
    {
        Ok((metric, items)) => {
            json_response(StatusCode::OK, "public, max-age=10", &body(&metric, &items))
        }
        Err(Error::NotFound(_)) => not_found(),
        Err(Error::Unauthenticated) => error(
            StatusCode::UNAUTHORIZED,
            "Authentication is required and has failed or has not yet been provided.",
        ),
        Err(e) => {
            tracing::error!(error = %e, metric = id, "metric chart failed");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "The status page is temporarily unavailable.",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_have_no_fraction() {
        assert_eq!(number(999.0).to_string(), "999");
        assert_eq!(number(-3.0).to_string(), "-3");
        assert_eq!(number(0.0).to_string(), "0");
        assert_eq!(number(1.25).to_string(), "1.25");
        assert_eq!(number(0.1).to_string(), "0.1");
        assert_eq!(number(f64::NAN), Value::Null);
        assert_eq!(number(f64::INFINITY), Value::Null);
    }

    #[test]
    fn filter_parsing_falls_back_to_none() {
        assert_eq!(view_of(Some("filter=week")), Some(MetricView::Week));
        assert_eq!(
            view_of(Some("a=1&filter=last_hour")),
            Some(MetricView::LastHour)
        );
        assert_eq!(view_of(Some("filter=year")), None);
        assert_eq!(view_of(Some("filter=%ZZ")), None);
        assert_eq!(view_of(None), None);
    }
}
