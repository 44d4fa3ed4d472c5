//! Incidents, incident updates and incident templates (spec 5.3 to 5.5).

use cachet_core::enums::{IncidentStatus, Visibility};
use cachet_core::error::{Entity, ValidationErrors};
use cachet_core::ids::{ComponentId, IncidentId, TemplateId, UpdateId, UserId};
use cachet_core::input::{IncidentInput, IncidentUpdateInput};
use cachet_core::store::{IncidentFilter, IncidentSort, ListQuery, TemplateSort, UpdateSort};
use cachet_core::Tz;

use super::dto::{IncidentDto, TemplateDto, UpdateDto};
use super::error::ApiError;
use super::openapi::{
    bodies, boolean, choice, id_filter, integer, query, query_params, text, IncidentMeta,
    LocalTimeInput, Message, Name, TemplateVars,
};
use super::params::Params;
use super::{data, no_content, ApiResult, Data, ListBody, Req};

// What `incident_input` reads.
/// Incident fields.
#[derive(utoipa::ToSchema)]
#[schema(examples(json!({"name": "API outage", "status": 1, "message": "We are looking into it.", "visible": 1, "component_id": 0, "component_status": 4, "occurred_at": "2024-03-05 10:00", "meta": {"ticket": "OPS-1"}})))]
#[allow(dead_code)] // Documents the decoder; never built.
pub(crate) struct IncidentBody {
    /// Name.
    #[schema(value_type = Name)]
    name: (),
    /// 0 scheduled (legacy), 1 investigating, 2 identified, 3 watching, 4 fixed.
    #[schema(minimum = 0, maximum = 4)]
    status: i64,
    /// The message (required on create; a `template` that exists replaces it).
    #[schema(value_type = Message)]
    message: (),
    /// 0 signed-in users only, 1 public (default); `true`/`false` are read as 1/0.
    #[schema(minimum = 0, maximum = 1)]
    visible: i64,
    /// Pinned to the top of the page (default false).
    stickied: bool,
    /// Notify subscribers on create (default true); a change never notifies.
    notify: bool,
    /// Linked component, 0 for none; it must exist. Needs `component_status`.
    #[schema(minimum = 0, maximum = 2147483647)]
    component_id: i64,
    /// The status the linked component takes (0-4). Needs `component_id`.
    #[schema(minimum = 0, maximum = 4)]
    component_status: i64,
    /// When it began (default now).
    #[schema(value_type = LocalTimeInput)]
    occurred_at: (),
    /// On create, an alias of `occurred_at` (Cachet 2.3 clients); ignored on change.
    #[schema(value_type = LocalTimeInput)]
    created_at: (),
    /// Slug of an incident template rendered as the message; an unknown slug leaves the
    /// message as sent.
    #[schema(pattern = "^[a-z0-9]+(-[a-z0-9]+)*$", max_length = 255)]
    template: String,
    /// The template's variables.
    #[schema(value_type = TemplateVars)]
    vars: (),
    /// Custom data.
    #[schema(value_type = IncidentMeta)]
    meta: (),
}

bodies!(
    IncidentFields, NewIncident = IncidentBody, ["name", "status", "message"],
    dependent ["component_id" => ["component_status"], "component_status" => ["component_id"]]
);

/// Decodes an incident input. On create, `created_at` (Cachet 2.3 and cachet-client) is
/// an alias of `occurred_at`.
pub(crate) fn incident_input(
    p: &Params,
    zone: Option<Tz>,
    creating: bool,
) -> Result<IncidentInput, ValidationErrors> {
    let mut f = p.fields();
    let occurred_at = match f.string("occurred_at") {
        Some(s) => Some(s),
        None if creating => f.string("created_at"),
        None => None,
    };
    let input = IncidentInput {
        name: f.string("name"),
        status: f.int("status"),
        message: f.string("message"),
        visible: f.flag("visible"),
        stickied: f.bool("stickied"),
        notify: f.bool("notify"),
        component_id: f.int("component_id"),
        component_status: f.int("component_status"),
        occurred_at,
        template: f.string("template"),
        vars: f.json("vars"),
        meta: f.json("meta"),
        time_zone: zone,
    };
    f.done()?;
    Ok(input)
}

query_params!(
    /// Query of `GET /incidents`, as [`incident_filter`] reads it.
    IncidentQuery, IncidentSort, [
        id_filter(),
        query("user_id", "Author's user id.", integer()),
        query("component_id", "Linked component id; 0 for none.", integer().minimum(Some(0))),
        query("name", "Exact name.", text()),
        query("status", "Status (an unknown value is 400).",
            choice(IncidentStatus::ALL.iter().map(|s| s.as_i64()))),
        query("visible", "Visibility (an unknown value is 400).",
            choice(Visibility::ALL.iter().map(|s| s.as_i64()))),
        query("stickied", "Stickied or not.", boolean()),
    ]
);

pub(crate) fn incident_filter(p: &Params) -> Result<IncidentFilter, ApiError> {
    let mut f = p.fields();
    let filter = IncidentFilter {
        id: f.int("id").map(IncidentId),
        user_id: f.int("user_id").map(UserId),
        component_id: f
            .int("component_id")
            .map(|c| (c > 0).then_some(ComponentId(c))),
        name: f.text("name"),
        status: f.choice::<IncidentStatus>("status"),
        visible: f.choice::<Visibility>("visible"),
        stickied: f.bool("stickied"),
        public_only: false,
    };
    f.finish()?;
    Ok(filter)
}

/// `GET /incidents`.
#[utoipa::path(
    get,
    path = "/incidents",
    operation_id = "list_incidents",
    tag = "incidents",
    security((), ("token" = [])),
    params(IncidentQuery),
    responses((status = 200, description = "A page of incidents, newest update first inside each.", body = ListBody<IncidentDto>)),
)]
pub(crate) async fn list(req: Req) -> ApiResult {
    let actor = req.reader().await?;
    let p = req.query();
    let paging = p.paging();
    let mut q = ListQuery::new(paging.0, paging.1, incident_filter(p)?);
    q.sort = p.sort(IncidentSort::from_key);
    let page = req.service().list_incidents(&actor, q).await?;
    Ok(req.list(page, paging, |i| IncidentDto::new(i, req.shape())))
}

/// `GET /incidents/{id}`.
#[utoipa::path(
    get,
    path = "/incidents/{id}",
    operation_id = "get_incident",
    tag = "incidents",
    security((), ("token" = [])),
    params(("id" = i64, Path, description = "Incident id.")),
    responses((status = 200, description = "The incident.", body = Data<IncidentDto>)),
)]
pub(crate) async fn get(req: Req) -> ApiResult {
    let id: IncidentId = req.id(0, Entity::Incident)?;
    let actor = req.reader().await?;
    let i = req.service().get_incident(&actor, id).await?;
    Ok(data(IncidentDto::new(&i, req.shape())))
}

/// `POST /incidents`.
#[utoipa::path(
    post,
    path = "/incidents",
    operation_id = "create_incident",
    tag = "incidents",
    security(("token" = [])),
    request_body = NewIncident,
    responses((status = 200, description = "The new incident.", body = Data<IncidentDto>)),
)]
pub(crate) async fn create(req: Req) -> ApiResult {
    let actor = req.writer().await?;
    let input = incident_input(&req.params()?, req.zone(), true)?;
    let i = req.service().create_incident(&actor, input).await?;
    Ok(data(IncidentDto::new(&i, req.shape())))
}

/// `PUT /incidents/{id}`.
#[utoipa::path(
    put,
    path = "/incidents/{id}",
    operation_id = "update_incident",
    tag = "incidents",
    security(("token" = [])),
    params(("id" = i64, Path, description = "Incident id.")),
    request_body = IncidentFields,
    responses((status = 200, description = "The changed incident.", body = Data<IncidentDto>)),
)]
pub(crate) async fn update(req: Req) -> ApiResult {
    let id: IncidentId = req.id(0, Entity::Incident)?;
    let actor = req.writer().await?;
    let input = incident_input(&req.params()?, req.zone(), false)?;
    let i = req.service().update_incident(&actor, id, input).await?;
    Ok(data(IncidentDto::new(&i, req.shape())))
}

/// `DELETE /incidents/{id}`.
#[utoipa::path(
    delete,
    path = "/incidents/{id}",
    operation_id = "delete_incident",
    tag = "incidents",
    security(("token" = [])),
    params(("id" = i64, Path, description = "Incident id.")),
    responses((status = 204, description = "Deleted; no body.")),
)]
pub(crate) async fn delete(req: Req) -> ApiResult {
    let id: IncidentId = req.id(0, Entity::Incident)?;
    let actor = req.writer().await?;
    req.service().delete_incident(&actor, id).await?;
    Ok(no_content())
}

// What `update_input` reads.
/// Incident update fields.
#[derive(utoipa::ToSchema)]
#[schema(examples(json!({"status": 2, "message": "Found the cause."})))]
#[allow(dead_code)] // Documents the decoder; never built.
pub(crate) struct UpdateBody {
    /// 1 investigating, 2 identified, 3 watching, 4 fixed; the incident takes it.
    #[schema(minimum = 1, maximum = 4)]
    status: i64,
    /// The message.
    #[schema(value_type = Message)]
    message: (),
    /// Checked like an incident's, then ignored (as in Cachet 2.4). Needs
    /// `component_status`.
    #[schema(minimum = 0, maximum = 2147483647)]
    component_id: i64,
    /// Checked, then ignored. Needs `component_id`.
    #[schema(minimum = 0, maximum = 4)]
    component_status: i64,
}

bodies!(
    UpdateFields, NewUpdate = UpdateBody, ["status", "message"],
    dependent ["component_id" => ["component_status"], "component_status" => ["component_id"]]
);

query_params!(
    /// Query of `GET /incidents/{id}/updates`.
    UpdateQuery, UpdateSort
);

query_params!(
    /// Query of `GET /incidents/templates`.
    TemplateQuery, TemplateSort
);

pub(crate) fn update_input(p: &Params) -> Result<IncidentUpdateInput, ValidationErrors> {
    let mut f = p.fields();
    let input = IncidentUpdateInput {
        status: f.int("status"),
        message: f.string("message"),
        component_id: f.int("component_id"),
        component_status: f.int("component_status"),
    };
    f.done()?;
    Ok(input)
}

/// `GET /incidents/{id}/updates`: newest first unless sorted.
#[utoipa::path(
    get,
    path = "/incidents/{id}/updates",
    operation_id = "list_incident_updates",
    tag = "incident updates",
    security((), ("token" = [])),
    params(("id" = i64, Path, description = "Incident id."), UpdateQuery),
    responses((status = 200, description = "A page of the incident's updates, newest first unless sorted.", body = ListBody<UpdateDto>)),
)]
pub(crate) async fn list_updates(req: Req) -> ApiResult {
    let incident: IncidentId = req.id(0, Entity::Incident)?;
    let actor = req.reader().await?;
    let p = req.query();
    let paging = p.paging();
    let mut q = ListQuery::new(paging.0, paging.1, ());
    q.sort = p.sort(UpdateSort::from_key);
    let page = req.service().list_updates(&actor, incident, &q).await?;
    Ok(req.list(page, paging, |u| UpdateDto::new(u, req.shape())))
}

/// `GET /incidents/{id}/updates/{uid}`: an update of another incident is 404.
#[utoipa::path(
    get,
    path = "/incidents/{id}/updates/{uid}",
    operation_id = "get_incident_update",
    tag = "incident updates",
    security((), ("token" = [])),
    params(("id" = i64, Path, description = "Incident id."), ("uid" = i64, Path, description = "Update id.")),
    responses((status = 200, description = "The update.", body = Data<UpdateDto>)),
)]
pub(crate) async fn get_update(req: Req) -> ApiResult {
    let incident: IncidentId = req.id(0, Entity::Incident)?;
    let id: UpdateId = req.id(1, Entity::IncidentUpdate)?;
    let actor = req.reader().await?;
    let u = req.service().get_update(&actor, incident, id).await?;
    Ok(data(UpdateDto::new(&u, req.shape())))
}

/// `POST /incidents/{id}/updates`: the incident takes the update's status.
#[utoipa::path(
    post,
    path = "/incidents/{id}/updates",
    operation_id = "create_incident_update",
    tag = "incident updates",
    security(("token" = [])),
    params(("id" = i64, Path, description = "Incident id.")),
    request_body = NewUpdate,
    responses((status = 200, description = "The new update; the incident takes its status.", body = Data<UpdateDto>)),
)]
pub(crate) async fn create_update(req: Req) -> ApiResult {
    let incident: IncidentId = req.id(0, Entity::Incident)?;
    let actor = req.writer().await?;
    let input = update_input(&req.params()?)?;
    let u = req.service().create_update(&actor, incident, input).await?;
    Ok(data(UpdateDto::new(&u, req.shape())))
}

/// `PUT /incidents/{id}/updates/{uid}`.
#[utoipa::path(
    put,
    path = "/incidents/{id}/updates/{uid}",
    operation_id = "update_incident_update",
    tag = "incident updates",
    security(("token" = [])),
    params(("id" = i64, Path, description = "Incident id."), ("uid" = i64, Path, description = "Update id.")),
    request_body = UpdateFields,
    responses((status = 200, description = "The changed update.", body = Data<UpdateDto>)),
)]
pub(crate) async fn update_update(req: Req) -> ApiResult {
    let incident: IncidentId = req.id(0, Entity::Incident)?;
    let id: UpdateId = req.id(1, Entity::IncidentUpdate)?;
    let actor = req.writer().await?;
    let input = update_input(&req.params()?)?;
    let u = req
        .service()
        .update_update(&actor, incident, id, input)
        .await?;
    Ok(data(UpdateDto::new(&u, req.shape())))
}

/// `DELETE /incidents/{id}/updates/{uid}`.
#[utoipa::path(
    delete,
    path = "/incidents/{id}/updates/{uid}",
    operation_id = "delete_incident_update",
    tag = "incident updates",
    security(("token" = [])),
    params(("id" = i64, Path, description = "Incident id."), ("uid" = i64, Path, description = "Update id.")),
    responses((status = 204, description = "Deleted; no body.")),
)]
pub(crate) async fn delete_update(req: Req) -> ApiResult {
    let incident: IncidentId = req.id(0, Entity::Incident)?;
    let id: UpdateId = req.id(1, Entity::IncidentUpdate)?;
    let actor = req.writer().await?;
    req.service().delete_update(&actor, incident, id).await?;
    Ok(no_content())
}

/// `GET /incidents/templates`.
#[utoipa::path(
    get,
    path = "/incidents/templates",
    operation_id = "list_templates",
    tag = "incident templates",
    security((), ("token" = [])),
    params(TemplateQuery),
    responses((status = 200, description = "A page of templates.", body = ListBody<TemplateDto>)),
)]
pub(crate) async fn list_templates(req: Req) -> ApiResult {
    let actor = req.reader().await?;
    let p = req.query();
    let paging = p.paging();
    let mut q = ListQuery::new(paging.0, paging.1, ());
    q.sort = p.sort(TemplateSort::from_key);
    let page = req.service().list_templates(&actor, &q).await?;
    Ok(req.list(page, paging, TemplateDto::new))
}

/// `GET /incidents/templates/{id}`.
#[utoipa::path(
    get,
    path = "/incidents/templates/{id}",
    operation_id = "get_template",
    tag = "incident templates",
    security((), ("token" = [])),
    params(("id" = i64, Path, description = "Template id.")),
    responses((status = 200, description = "The template.", body = Data<TemplateDto>)),
)]
pub(crate) async fn get_template(req: Req) -> ApiResult {
    let id: TemplateId = req.id(0, Entity::Template)?;
    let actor = req.reader().await?;
    let t = req.service().get_template(&actor, id).await?;
    Ok(data(TemplateDto::new(&t)))
}
