//! Incidents, incident updates and incident templates (spec 5.3 to 5.5).

use cachet_core::enums::{IncidentStatus, Visibility};
use cachet_core::error::{Entity, ValidationErrors};
use cachet_core::ids::{ComponentId, IncidentId, TemplateId, UpdateId, UserId};
use cachet_core::input::{IncidentInput, IncidentUpdateInput};
use cachet_core::store::{IncidentFilter, IncidentSort, ListQuery, TemplateSort, UpdateSort};
use cachet_core::Tz;

use super::dto::{IncidentDto, TemplateDto, UpdateDto};
use super::error::ApiError;
use super::params::Params;
use super::{data, no_content, ApiResult, Req};

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

fn incident_filter(p: &Params) -> Result<IncidentFilter, ApiError> {
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
pub(crate) async fn get(req: Req) -> ApiResult {
    let id: IncidentId = req.id(0, Entity::Incident)?;
    let actor = req.reader().await?;
    let i = req.service().get_incident(&actor, id).await?;
    Ok(data(IncidentDto::new(&i, req.shape())))
}

/// `POST /incidents`.
pub(crate) async fn create(req: Req) -> ApiResult {
    let actor = req.writer().await?;
    let input = incident_input(&req.params()?, req.zone(), true)?;
    let i = req.service().create_incident(&actor, input).await?;
    Ok(data(IncidentDto::new(&i, req.shape())))
}

/// `PUT /incidents/{id}`.
pub(crate) async fn update(req: Req) -> ApiResult {
    let id: IncidentId = req.id(0, Entity::Incident)?;
    let actor = req.writer().await?;
    let input = incident_input(&req.params()?, req.zone(), false)?;
    let i = req.service().update_incident(&actor, id, input).await?;
    Ok(data(IncidentDto::new(&i, req.shape())))
}

/// `DELETE /incidents/{id}`.
pub(crate) async fn delete(req: Req) -> ApiResult {
    let id: IncidentId = req.id(0, Entity::Incident)?;
    let actor = req.writer().await?;
    req.service().delete_incident(&actor, id).await?;
    Ok(no_content())
}

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
pub(crate) async fn get_update(req: Req) -> ApiResult {
    let incident: IncidentId = req.id(0, Entity::Incident)?;
    let id: UpdateId = req.id(1, Entity::IncidentUpdate)?;
    let actor = req.reader().await?;
    let u = req.service().get_update(&actor, incident, id).await?;
    Ok(data(UpdateDto::new(&u, req.shape())))
}

/// `POST /incidents/{id}/updates`: the incident takes the update's status.
pub(crate) async fn create_update(req: Req) -> ApiResult {
    let incident: IncidentId = req.id(0, Entity::Incident)?;
    let actor = req.writer().await?;
    let input = update_input(&req.params()?)?;
    let u = req.service().create_update(&actor, incident, input).await?;
    Ok(data(UpdateDto::new(&u, req.shape())))
}

/// `PUT /incidents/{id}/updates/{uid}`.
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
pub(crate) async fn delete_update(req: Req) -> ApiResult {
    let incident: IncidentId = req.id(0, Entity::Incident)?;
    let id: UpdateId = req.id(1, Entity::IncidentUpdate)?;
    let actor = req.writer().await?;
    req.service().delete_update(&actor, incident, id).await?;
    Ok(no_content())
}

/// `GET /incidents/templates`.
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
pub(crate) async fn get_template(req: Req) -> ApiResult {
    let id: TemplateId = req.id(0, Entity::Template)?;
    let actor = req.reader().await?;
    let t = req.service().get_template(&actor, id).await?;
    Ok(data(TemplateDto::new(&t)))
}
