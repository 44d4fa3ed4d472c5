//! Maintenance windows (spec 5.8).

use cachet_core::error::{Entity, ValidationErrors};
use cachet_core::ids::ScheduleId;
use cachet_core::input::ScheduleInput;
use cachet_core::store::{ListQuery, ScheduleSort};
use cachet_core::Tz;

use super::dto::ScheduleDto;
use super::openapi::{
    bodies, query_params, ComponentIds, LocalTimeInput, Name, OptionalLocalTimeInput,
    OptionalMessage,
};
use super::params::Params;
use super::{data, no_content, ApiResult, Data, ListBody, Req};

// What `schedule_input` reads.
/// Maintenance window fields.
#[derive(utoipa::ToSchema)]
#[schema(examples(json!({"name": "Database upgrade", "message": "Writes pause for a minute.", "status": 0, "scheduled_at": "2030-01-05 22:00", "completed_at": "2030-01-05 23:00"})))]
#[allow(dead_code)] // Documents the decoder; never built.
pub(crate) struct ScheduleBody {
    /// Name.
    #[schema(value_type = Name)]
    name: (),
    /// The message; an empty string removes it.
    #[schema(value_type = OptionalMessage)]
    message: (),
    /// 0 upcoming, 1 in progress, 2 complete.
    #[schema(minimum = 0, maximum = 2)]
    status: i64,
    /// Start.
    #[schema(value_type = LocalTimeInput)]
    scheduled_at: (),
    /// End, not before the start; an empty string removes it.
    #[schema(value_type = OptionalLocalTimeInput)]
    completed_at: (),
    /// Affected components, each of which must exist: a list of ids (as documented here),
    /// or in JSON a list of `{"id", "status"}` objects or an object `{id: status}`; they
    /// replace the set.
    #[schema(value_type = ComponentIds)]
    components: (),
    /// Notify global subscribers on create (default false).
    notify: bool,
}

bodies!(
    ScheduleFields,
    NewSchedule = ScheduleBody,
    ["name", "status", "scheduled_at"]
);

query_params!(
    /// Query of `GET /schedules`.
    ScheduleQuery, ScheduleSort
);

pub(crate) fn schedule_input(
    p: &Params,
    zone: Option<Tz>,
) -> Result<ScheduleInput, ValidationErrors> {
    let mut f = p.fields();
    let input = ScheduleInput {
        name: f.string("name"),
        message: f.string("message"),
        status: f.int("status"),
        scheduled_at: f.string("scheduled_at"),
        completed_at: f.string("completed_at"),
        components: f.component_statuses("components"),
        notify: f.bool("notify"),
        time_zone: zone,
    };
    f.done()?;
    Ok(input)
}

/// `GET /schedules`.
#[utoipa::path(
    get,
    path = "/schedules",
    operation_id = "list_schedules",
    tag = "schedules",
    security((), ("token" = [])),
    params(ScheduleQuery),
    responses((status = 200, description = "A page of maintenance windows.", body = ListBody<ScheduleDto>)),
)]
pub(crate) async fn list(req: Req) -> ApiResult {
    let actor = req.reader().await?;
    let p = req.query();
    let paging = p.paging();
    let mut q = ListQuery::new(paging.0, paging.1, ());
    q.sort = p.sort(ScheduleSort::from_key);
    let page = req.service().list_schedules(&actor, &q).await?;
    Ok(req.list(page, paging, |s| ScheduleDto::new(s, req.shape())))
}

/// `GET /schedules/{id}`.
#[utoipa::path(
    get,
    path = "/schedules/{id}",
    operation_id = "get_schedule",
    tag = "schedules",
    security((), ("token" = [])),
    params(("id" = i64, Path, description = "Schedule id.")),
    responses((status = 200, description = "The maintenance window.", body = Data<ScheduleDto>)),
)]
pub(crate) async fn get(req: Req) -> ApiResult {
    let id: ScheduleId = req.id(0, Entity::Schedule)?;
    let actor = req.reader().await?;
    let s = req.service().get_schedule(&actor, id).await?;
    Ok(data(ScheduleDto::new(&s, req.shape())))
}

/// `POST /schedules`: `scheduled_at`/`completed_at` as `Y-m-d H:i` in the display zone.
#[utoipa::path(
    post,
    path = "/schedules",
    operation_id = "create_schedule",
    tag = "schedules",
    security(("token" = [])),
    request_body = NewSchedule,
    responses((status = 200, description = "The new maintenance window.", body = Data<ScheduleDto>)),
)]
pub(crate) async fn create(req: Req) -> ApiResult {
    let actor = req.writer().await?;
    let input = schedule_input(&req.params()?, req.zone())?;
    let s = req.service().create_schedule(&actor, input).await?;
    Ok(data(ScheduleDto::new(&s, req.shape())))
}

/// `PUT /schedules/{id}`.
#[utoipa::path(
    put,
    path = "/schedules/{id}",
    operation_id = "update_schedule",
    tag = "schedules",
    security(("token" = [])),
    params(("id" = i64, Path, description = "Schedule id.")),
    request_body = ScheduleFields,
    responses((status = 200, description = "The changed maintenance window.", body = Data<ScheduleDto>)),
)]
pub(crate) async fn update(req: Req) -> ApiResult {
    let id: ScheduleId = req.id(0, Entity::Schedule)?;
    let actor = req.writer().await?;
    let input = schedule_input(&req.params()?, req.zone())?;
    let s = req.service().update_schedule(&actor, id, input).await?;
    Ok(data(ScheduleDto::new(&s, req.shape())))
}

/// `DELETE /schedules/{id}`.
#[utoipa::path(
    delete,
    path = "/schedules/{id}",
    operation_id = "delete_schedule",
    tag = "schedules",
    security(("token" = [])),
    params(("id" = i64, Path, description = "Schedule id.")),
    responses((status = 204, description = "Deleted; no body.")),
)]
pub(crate) async fn delete(req: Req) -> ApiResult {
    let id: ScheduleId = req.id(0, Entity::Schedule)?;
    let actor = req.writer().await?;
    req.service().delete_schedule(&actor, id).await?;
    Ok(no_content())
}
