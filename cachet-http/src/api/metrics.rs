//! Metrics and metric points (spec 5.6, 5.7).

use cachet_core::error::{Entity, ValidationErrors};
use cachet_core::ids::{MetricId, PointId};
use cachet_core::input::{MetricInput, PointInput};
use cachet_core::store::{ListQuery, MetricFilter, MetricSort, PointSort};

use super::dto::{MetricDto, PointDto};
use super::openapi::{bodies, query_params, Name, ShortText, Text, Threshold};
use super::params::Params;
use super::{data, no_content, ApiResult, Data, ListBody, Req};

// What `metric_input` reads.
/// Metric fields.
#[derive(utoipa::ToSchema)]
#[schema(examples(json!({"name": "Latency", "suffix": "ms", "default_value": 0, "calc_type": 1, "places": 1, "default_view": 0, "threshold": 5})))]
#[allow(dead_code)] // Documents the decoder; never built.
pub(crate) struct MetricBody {
    /// Name.
    #[schema(value_type = Name)]
    name: (),
    /// Unit shown after values (may be empty).
    #[schema(value_type = ShortText)]
    suffix: (),
    /// Description.
    #[schema(value_type = Text)]
    description: (),
    /// Value of a bucket without points.
    #[schema(minimum = -1e12, maximum = 1e12)]
    default_value: f64,
    /// 0 sum, 1 average (default 0).
    #[schema(minimum = 0, maximum = 1)]
    calc_type: i64,
    /// Show the chart (default true).
    display_chart: bool,
    /// Decimal places 0-4 (default 2).
    #[schema(minimum = 0, maximum = 4)]
    places: i64,
    /// 0 last hour, 1 last 12 hours (default), 2 week, 3 month.
    #[schema(minimum = 0, maximum = 3)]
    default_view: i64,
    /// An alias of `default_view`, read when that is absent (Cachet's tests use it).
    #[schema(minimum = 0, maximum = 3)]
    view: i64,
    /// Bucket size in minutes (default 5).
    #[schema(value_type = Threshold)]
    threshold: (),
    /// Position on the page.
    #[schema(minimum = -2147483647, maximum = 2147483647)]
    order: i64,
    /// 0 signed-in users only, 1 public (default), 2 hidden.
    #[schema(minimum = 0, maximum = 2)]
    visible: i64,
}

bodies!(
    MetricFields,
    NewMetric = MetricBody,
    ["name", "suffix", "default_value"]
);

query_params!(
    /// Query of `GET /metrics`.
    MetricQuery, MetricSort
);

/// Decodes a metric input; `view` is an alias of `default_view` (the tests use it).
pub(crate) fn metric_input(p: &Params) -> Result<MetricInput, ValidationErrors> {
    let mut f = p.fields();
    let default_view = if f.has("default_view") {
        f.int("default_view")
    } else {
        f.int("view")
    };
    let input = MetricInput {
        name: f.string("name"),
        suffix: f.string("suffix"),
        description: f.string("description"),
        default_value: f.float("default_value"),
        calc_type: f.int("calc_type"),
        display_chart: f.bool("display_chart"),
        places: f.int("places"),
        default_view,
        threshold: f.int("threshold"),
        order: f.int("order"),
        visible: f.int("visible"),
    };
    f.done()?;
    Ok(input)
}

// What `point_input` reads.
/// Metric point fields.
#[derive(utoipa::ToSchema)]
#[schema(examples(json!({"value": 12.5})))]
#[allow(dead_code)] // Documents the decoder; never built.
pub(crate) struct PointBody {
    /// The observed value.
    #[schema(minimum = -1e12, maximum = 1e12)]
    value: f64,
    /// When, in unix seconds, from 0 to one year from now (default now); rounded to 30 s.
    #[schema(minimum = 0)]
    timestamp: i64,
}

bodies!(PointFields, NewPoint = PointBody, ["value"]);

query_params!(
    /// Query of `GET /metrics/{id}/points`.
    PointQuery, PointSort
);

/// Decodes a point: `value` a number, `timestamp` unix seconds (an integer or a digit string).
pub(crate) fn point_input(p: &Params) -> Result<PointInput, ValidationErrors> {
    let mut f = p.fields();
    let input = PointInput {
        value: f.float("value"),
        timestamp: f.int("timestamp"),
    };
    f.done()?;
    Ok(input)
}

/// `GET /metrics`: guests see public metrics only.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "list_metrics",
    tag = "metrics",
    security((), ("token" = [])),
    params(MetricQuery),
    responses((status = 200, description = "A page of metrics (guests see public ones).", body = ListBody<MetricDto>)),
)]
pub(crate) async fn list(req: Req) -> ApiResult {
    let actor = req.reader().await?;
    let p = req.query();
    let paging = p.paging();
    let mut q = ListQuery::new(paging.0, paging.1, MetricFilter::default());
    q.sort = p.sort(MetricSort::from_key);
    let page = req.service().list_metrics(&actor, q).await?;
    Ok(req.list(page, paging, |m| MetricDto::new(m, req.shape())))
}

/// `GET /metrics/{id}`.
#[utoipa::path(
    get,
    path = "/metrics/{id}",
    operation_id = "get_metric",
    tag = "metrics",
    security((), ("token" = [])),
    params(("id" = i64, Path, description = "Metric id.")),
    responses((status = 200, description = "The metric.", body = Data<MetricDto>)),
)]
pub(crate) async fn get(req: Req) -> ApiResult {
    let id: MetricId = req.id(0, Entity::Metric)?;
    let actor = req.reader().await?;
    let m = req.service().get_metric(&actor, id).await?;
    Ok(data(MetricDto::new(&m, req.shape())))
}

/// `POST /metrics`.
#[utoipa::path(
    post,
    path = "/metrics",
    operation_id = "create_metric",
    tag = "metrics",
    security(("token" = [])),
    request_body = NewMetric,
    responses((status = 200, description = "The new metric.", body = Data<MetricDto>)),
)]
pub(crate) async fn create(req: Req) -> ApiResult {
    let actor = req.writer().await?;
    let input = metric_input(&req.params()?)?;
    let m = req.service().create_metric(&actor, input).await?;
    Ok(data(MetricDto::new(&m, req.shape())))
}

/// `PUT /metrics/{id}`.
#[utoipa::path(
    put,
    path = "/metrics/{id}",
    operation_id = "update_metric",
    tag = "metrics",
    security(("token" = [])),
    params(("id" = i64, Path, description = "Metric id.")),
    request_body = MetricFields,
    responses((status = 200, description = "The changed metric.", body = Data<MetricDto>)),
)]
pub(crate) async fn update(req: Req) -> ApiResult {
    let id: MetricId = req.id(0, Entity::Metric)?;
    let actor = req.writer().await?;
    let input = metric_input(&req.params()?)?;
    let m = req.service().update_metric(&actor, id, input).await?;
    Ok(data(MetricDto::new(&m, req.shape())))
}

/// `DELETE /metrics/{id}`: the points go with it.
#[utoipa::path(
    delete,
    path = "/metrics/{id}",
    operation_id = "delete_metric",
    tag = "metrics",
    security(("token" = [])),
    params(("id" = i64, Path, description = "Metric id.")),
    responses((status = 204, description = "Deleted; no body.")),
)]
pub(crate) async fn delete(req: Req) -> ApiResult {
    let id: MetricId = req.id(0, Entity::Metric)?;
    let actor = req.writer().await?;
    req.service().delete_metric(&actor, id).await?;
    Ok(no_content())
}

/// `GET /metrics/{id}/points`: newest first unless sorted.
#[utoipa::path(
    get,
    path = "/metrics/{id}/points",
    operation_id = "list_metric_points",
    tag = "metric points",
    security((), ("token" = [])),
    params(("id" = i64, Path, description = "Metric id."), PointQuery),
    responses((status = 200, description = "A page of points, newest first unless sorted.", body = ListBody<PointDto>)),
)]
pub(crate) async fn list_points(req: Req) -> ApiResult {
    let metric: MetricId = req.id(0, Entity::Metric)?;
    let actor = req.reader().await?;
    let p = req.query();
    let paging = p.paging();
    let mut q = ListQuery::new(paging.0, paging.1, ());
    q.sort = p.sort(PointSort::from_key);
    let page = req.service().list_points(&actor, metric, &q).await?;
    Ok(req.list(page, paging, |x| PointDto::new(x, req.shape())))
}

/// `POST /metrics/{id}/points`.
#[utoipa::path(
    post,
    path = "/metrics/{id}/points",
    operation_id = "create_metric_point",
    tag = "metric points",
    security(("token" = [])),
    params(("id" = i64, Path, description = "Metric id.")),
    request_body = NewPoint,
    responses((status = 200, description = "The recorded point.", body = Data<PointDto>)),
)]
pub(crate) async fn create_point(req: Req) -> ApiResult {
    let metric: MetricId = req.id(0, Entity::Metric)?;
    let actor = req.writer().await?;
    let input = point_input(&req.params()?)?;
    let x = req.service().record_point(&actor, metric, input).await?;
    Ok(data(PointDto::new(&x, req.shape())))
}

/// `PUT /metrics/{id}/points/{pid}`: a point of another metric is 404.
#[utoipa::path(
    put,
    path = "/metrics/{id}/points/{pid}",
    operation_id = "update_metric_point",
    tag = "metric points",
    security(("token" = [])),
    params(("id" = i64, Path, description = "Metric id."), ("pid" = i64, Path, description = "Point id.")),
    request_body = PointFields,
    responses((status = 200, description = "The changed point.", body = Data<PointDto>)),
)]
pub(crate) async fn update_point(req: Req) -> ApiResult {
    let metric: MetricId = req.id(0, Entity::Metric)?;
    let id: PointId = req.id(1, Entity::MetricPoint)?;
    let actor = req.writer().await?;
    let input = point_input(&req.params()?)?;
    let x = req
        .service()
        .update_point(&actor, metric, id, input)
        .await?;
    Ok(data(PointDto::new(&x, req.shape())))
}

/// `DELETE /metrics/{id}/points/{pid}`: a point of another metric is 404.
#[utoipa::path(
    delete,
    path = "/metrics/{id}/points/{pid}",
    operation_id = "delete_metric_point",
    tag = "metric points",
    security(("token" = [])),
    params(("id" = i64, Path, description = "Metric id."), ("pid" = i64, Path, description = "Point id.")),
    responses((status = 204, description = "Deleted; no body.")),
)]
pub(crate) async fn delete_point(req: Req) -> ApiResult {
    let metric: MetricId = req.id(0, Entity::Metric)?;
    let id: PointId = req.id(1, Entity::MetricPoint)?;
    let actor = req.writer().await?;
    req.service().delete_point(&actor, metric, id).await?;
    Ok(no_content())
}
