//! Component groups, maintenance windows, metrics and incident templates: a list, a form to
//! add one, a form to change one, and delete. Forms are decoded by the API's decoders where
//! the API writes the resource, so both are validated alike.

use axum::extract::{Extension, Path};
use axum::http::StatusCode;
use axum::response::Response;
use cachet_core::enums::{
    CalcType, GroupCollapsed, MetricView, MetricVisibility, ScheduleStatus, Visibility,
};
use cachet_core::error::{Entity, ValidationErrors};
use cachet_core::ids::{GroupId, MetricId, ScheduleId, TemplateId};
use cachet_core::input::TemplateInput;
use cachet_core::model::{ComponentGroup, IncidentTemplate, Metric, Schedule};
use cachet_core::policy::Action;
use cachet_core::store::{
    ComponentFilter, GroupFilter, ListQuery, MetricFilter, Order, ScheduleSort, MAX_PER_PAGE,
};
use cachet_core::Error;
use maud::html;

use super::crud::{flag, form, options, respond, table, typed, Field, Values};
use super::view::button_form;
use super::{path_id, Form, Signed};
use crate::api::components::group_input;
use crate::api::metrics::metric_input;
use crate::api::params::Params;
use crate::api::schedules::schedule_input;

/// The id in a path, or a 404 naming `entity`.
fn id_of(raw: &str, entity: Entity) -> Result<i64, Error> {
    path_id(raw).ok_or(Error::NotFound(entity))
}

/// A local time in the display zone, as the forms take it (`Y-m-d H:i`).
fn local(s: &Signed, t: chrono::DateTime<chrono::Utc>) -> String {
    let zone = s.ctx.state.service.settings().app_timezone;
    t.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string()
}

/// The page of a new or existing item: its form, and a delete button when it exists.
fn edit_body(
    s: &Signed,
    action: &str,
    fields: &[Field],
    values: &Values,
    errors: &ValidationErrors,
    delete: Option<(String, Action)>,
    submit: &str,
) -> maud::Markup {
    html! {
        (form(s, action, fields, values, errors, submit))
        @if let Some((path, needed)) = delete {
            @if s.can(needed) {
                div.actions { (button_form(&s.ctx, &s.ctx.href(&path), "Delete", "danger")) }
            }
        }
    }
}

/// What a save did: back to the item's page, or the form again with the errors.
fn saved<T>(
    s: &Signed,
    result: Result<T, Error>,
    path: impl FnOnce(&T) -> String,
    rerender: impl FnOnce(&ValidationErrors) -> Response,
) -> Response {
    match result {
        Ok(item) => s.ctx.redirect(&path(&item)),
        Err(Error::Invalid(errors)) => rerender(&errors),
        Err(e) => s.fail(e),
    }
}

fn refused_unless(s: &Signed, action: Action) -> Option<Response> {
    (!s.can(action)).then(|| s.fail(Error::Forbidden))
}

// ---------------------------------------------------------------------------- groups

fn group_fields() -> Vec<Field> {
    vec![
        Field::text("name", "Name").required(),
        Field::text("order", "Order"),
        Field::select(
            "collapsed",
            "Shown",
            options(
                GroupCollapsed::ALL,
                GroupCollapsed::as_i64,
                GroupCollapsed::label,
            ),
        ),
        Field::select(
            "visible",
            "Visible to",
            options(Visibility::ALL, Visibility::as_i64, Visibility::label),
        ),
    ]
}

fn group_values(g: &ComponentGroup) -> Values {
    Values::from([
        ("name", g.name.clone()),
        ("order", g.order.to_string()),
        ("collapsed", g.collapsed.as_i64().to_string()),
        ("visible", g.visible.as_i64().to_string()),
    ])
}

/// `GET /dashboard/groups`.
pub(crate) async fn groups(s: Signed) -> Response {
    let q = ListQuery::new(1, MAX_PER_PAGE, GroupFilter::default());
    let groups = match s.ctx.state.service.list_groups(s.actor(), q).await {
        Ok(p) => p.items,
        Err(e) => return s.fail(e),
    };
    let rows: Vec<_> = groups
        .iter()
        .map(|d| {
            (
                Some(format!("/groups/{}", d.group.id)),
                vec![
                    d.group.name.clone(),
                    d.enabled_components.len().to_string(),
                    d.group.visible.label().to_string(),
                ],
            )
        })
        .collect();
    let body = html! {
        @if s.can(Action::WriteGroup) {
            div.actions { a.button.primary href=(s.ctx.href("/groups/new")) { "Add a group" } }
        }
        (table(&s, &["Name", "Components", "Visible to"], &rows))
    };
    respond(&s, StatusCode::OK, "Component groups", body)
}

/// `GET /dashboard/groups/new`.
pub(crate) async fn new_group(s: Signed) -> Response {
    if let Some(res) = refused_unless(&s, Action::WriteGroup) {
        return res;
    }
    let values = Values::from([("order", "0".into()), ("visible", "1".into())]);
    let body = edit_body(
        &s,
        "/groups",
        &group_fields(),
        &values,
        &ValidationErrors::new(),
        None,
        "Add group",
    );
    respond(&s, StatusCode::OK, "Add a group", body)
}

/// `POST /dashboard/groups`.
pub(crate) async fn create_group(s: Signed, Extension(Form(form)): Extension<Form>) -> Response {
    let rerender = |errors: &ValidationErrors| {
        let body = edit_body(
            &s,
            "/groups",
            &group_fields(),
            &typed(&form, &group_fields()),
            errors,
            None,
            "Add group",
        );
        respond(&s, StatusCode::UNPROCESSABLE_ENTITY, "Add a group", body)
    };
    let input = match group_input(&form) {
        Ok(i) => i,
        Err(errors) => return rerender(&errors),
    };
    let result = s.ctx.state.service.create_group(s.actor(), input).await;
    saved(&s, result, |d| format!("/groups/{}", d.group.id), rerender)
}

/// `GET /dashboard/groups/{id}`.
pub(crate) async fn show_group(s: Signed, Path(raw): Path<String>) -> Response {
    let result = match id_of(&raw, Entity::Group) {
        Ok(id) => s.ctx.state.service.get_group(s.actor(), GroupId(id)).await,
        Err(e) => Err(e),
    };
    let d = match result {
        Ok(d) => d,
        Err(e) => return s.fail(e),
    };
    let path = format!("/groups/{}", d.group.id);
    let body = edit_body(
        &s,
        &path,
        &group_fields(),
        &group_values(&d.group),
        &ValidationErrors::new(),
        Some((format!("{path}/delete"), Action::WriteGroup)),
        "Save",
    );
    respond(&s, StatusCode::OK, &d.group.name, body)
}

/// `POST /dashboard/groups/{id}`.
pub(crate) async fn update_group(
    s: Signed,
    Path(raw): Path<String>,
    Extension(Form(form)): Extension<Form>,
) -> Response {
    let id = match id_of(&raw, Entity::Group) {
        Ok(id) => GroupId(id),
        Err(e) => return s.fail(e),
    };
    let path = format!("/groups/{id}");
    let rerender = |errors: &ValidationErrors| {
        let body = edit_body(
            &s,
            &path,
            &group_fields(),
            &typed(&form, &group_fields()),
            errors,
            None,
            "Save",
        );
        respond(&s, StatusCode::UNPROCESSABLE_ENTITY, "Edit group", body)
    };
    let input = match group_input(&form) {
        Ok(i) => i,
        Err(errors) => return rerender(&errors),
    };
    let result = s.ctx.state.service.update_group(s.actor(), id, input).await;
    saved(&s, result, |d| format!("/groups/{}", d.group.id), rerender)
}

/// `POST /dashboard/groups/{id}/delete`.
pub(crate) async fn delete_group(s: Signed, Path(raw): Path<String>) -> Response {
    let result = match id_of(&raw, Entity::Group) {
        Ok(id) => {
            s.ctx
                .state
                .service
                .delete_group(s.actor(), GroupId(id))
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => s.ctx.redirect("/groups"),
        Err(e) => s.fail(e),
    }
}

// ---------------------------------------------------------------------------- maintenance

async fn schedule_fields(s: &Signed, creating: bool) -> Result<Vec<Field>, Response> {
    let q = ListQuery::new(1, MAX_PER_PAGE, ComponentFilter::default());
    let components = s
        .ctx
        .state
        .service
        .list_components(s.actor(), q)
        .await
        .map_err(|e| s.fail(e))?
        .items;
    let mut fields = vec![
        Field::text("name", "Name").required(),
        Field::select(
            "status",
            "Status",
            options(
                ScheduleStatus::ALL,
                ScheduleStatus::as_i64,
                ScheduleStatus::label,
            ),
        ),
        Field::area("message", "Message (Markdown)"),
        Field::text("scheduled_at", "Starts (YYYY-MM-DD HH:MM)").required(),
        Field::text("completed_at", "Ends (YYYY-MM-DD HH:MM, optional)"),
        Field::checks(
            "components",
            "Affected components",
            components
                .iter()
                .map(|c| (c.id.to_string(), c.name.clone()))
                .collect(),
        ),
    ];
    if creating {
        fields.push(Field::check("notify", "Notify subscribers"));
    }
    Ok(fields)
}

fn schedule_values(s: &Signed, m: &Schedule) -> Values {
    Values::from([
        ("name", m.name.clone()),
        ("status", m.status.as_i64().to_string()),
        ("message", m.message.clone().unwrap_or_default()),
        ("scheduled_at", local(s, m.scheduled_at)),
        (
            "completed_at",
            m.completed_at.map(|t| local(s, t)).unwrap_or_default(),
        ),
        (
            "components",
            m.components
                .iter()
                .map(|c| c.component_id.to_string())
                .collect::<Vec<_>>()
                .join(","),
        ),
    ])
}

/// `GET /dashboard/maintenance`.
pub(crate) async fn schedules(s: Signed) -> Response {
    let mut q = ListQuery::new(1, MAX_PER_PAGE, ());
    q.sort = Some((ScheduleSort::ScheduledAt, Order::Desc));
    let items = match s.ctx.state.service.list_schedules(s.actor(), &q).await {
        Ok(p) => p.items,
        Err(e) => return s.fail(e),
    };
    let rows: Vec<_> = items
        .iter()
        .map(|m| {
            (
                Some(format!("/maintenance/{}", m.id)),
                vec![
                    m.name.clone(),
                    m.status.label().to_string(),
                    local(&s, m.scheduled_at),
                ],
            )
        })
        .collect();
    let body = html! {
        @if s.can(Action::WriteSchedule) {
            div.actions { a.button.primary href=(s.ctx.href("/maintenance/new")) { "Schedule maintenance" } }
        }
        (table(&s, &["Name", "Status", "Starts"], &rows))
    };
    respond(&s, StatusCode::OK, "Maintenance", body)
}

/// `GET /dashboard/maintenance/new`.
pub(crate) async fn new_schedule(s: Signed) -> Response {
    if let Some(res) = refused_unless(&s, Action::WriteSchedule) {
        return res;
    }
    let fields = match schedule_fields(&s, true).await {
        Ok(f) => f,
        Err(res) => return res,
    };
    let values = Values::from([("notify", "1".into())]);
    let body = edit_body(
        &s,
        "/maintenance",
        &fields,
        &values,
        &ValidationErrors::new(),
        None,
        "Schedule",
    );
    respond(&s, StatusCode::OK, "Schedule maintenance", body)
}

/// `POST /dashboard/maintenance`.
pub(crate) async fn create_schedule(s: Signed, Extension(Form(form)): Extension<Form>) -> Response {
    let fields = match schedule_fields(&s, true).await {
        Ok(f) => f,
        Err(res) => return res,
    };
    let rerender = |errors: &ValidationErrors| {
        let body = edit_body(
            &s,
            "/maintenance",
            &fields,
            &typed(&form, &fields),
            errors,
            None,
            "Schedule",
        );
        respond(
            &s,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Schedule maintenance",
            body,
        )
    };
    let input = match schedule_input(&form, None) {
        Ok(i) => i,
        Err(errors) => return rerender(&errors),
    };
    let result = s.ctx.state.service.create_schedule(s.actor(), input).await;
    saved(&s, result, |m| format!("/maintenance/{}", m.id), rerender)
}

/// `GET /dashboard/maintenance/{id}`.
pub(crate) async fn show_schedule(s: Signed, Path(raw): Path<String>) -> Response {
    let result = match id_of(&raw, Entity::Schedule) {
        Ok(id) => {
            s.ctx
                .state
                .service
                .get_schedule(s.actor(), ScheduleId(id))
                .await
        }
        Err(e) => Err(e),
    };
    let m = match result {
        Ok(m) => m,
        Err(e) => return s.fail(e),
    };
    let fields = match schedule_fields(&s, false).await {
        Ok(f) => f,
        Err(res) => return res,
    };
    let path = format!("/maintenance/{}", m.id);
    let body = edit_body(
        &s,
        &path,
        &fields,
        &schedule_values(&s, &m),
        &ValidationErrors::new(),
        Some((format!("{path}/delete"), Action::WriteSchedule)),
        "Save",
    );
    respond(&s, StatusCode::OK, &m.name, body)
}

/// `POST /dashboard/maintenance/{id}`.
pub(crate) async fn update_schedule(
    s: Signed,
    Path(raw): Path<String>,
    Extension(Form(form)): Extension<Form>,
) -> Response {
    let id = match id_of(&raw, Entity::Schedule) {
        Ok(id) => ScheduleId(id),
        Err(e) => return s.fail(e),
    };
    let fields = match schedule_fields(&s, false).await {
        Ok(f) => f,
        Err(res) => return res,
    };
    let path = format!("/maintenance/{id}");
    let rerender = |errors: &ValidationErrors| {
        let body = edit_body(
            &s,
            &path,
            &fields,
            &typed(&form, &fields),
            errors,
            None,
            "Save",
        );
        respond(
            &s,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Edit maintenance",
            body,
        )
    };
    let input = match schedule_input(&form, None) {
        Ok(i) => i,
        Err(errors) => return rerender(&errors),
    };
    let result = s
        .ctx
        .state
        .service
        .update_schedule(s.actor(), id, input)
        .await;
    saved(&s, result, |m| format!("/maintenance/{}", m.id), rerender)
}

/// `POST /dashboard/maintenance/{id}/delete`.
pub(crate) async fn delete_schedule(s: Signed, Path(raw): Path<String>) -> Response {
    let result = match id_of(&raw, Entity::Schedule) {
        Ok(id) => {
            s.ctx
                .state
                .service
                .delete_schedule(s.actor(), ScheduleId(id))
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => s.ctx.redirect("/maintenance"),
        Err(e) => s.fail(e),
    }
}

// ---------------------------------------------------------------------------- metrics

fn metric_fields() -> Vec<Field> {
    vec![
        Field::text("name", "Name").required(),
        Field::text("suffix", "Suffix (unit)").required(),
        Field::area("description", "Description"),
        Field::text("default_value", "Default value").required(),
        Field::select(
            "calc_type",
            "Combine points by",
            options(CalcType::ALL, CalcType::as_i64, CalcType::label),
        ),
        Field::text("places", "Decimal places (0-4)"),
        Field::select(
            "default_view",
            "Default chart window",
            options(MetricView::ALL, MetricView::as_i64, MetricView::label),
        ),
        Field::text("threshold", "Bucket minutes (divides 60)"),
        Field::text("order", "Order"),
        Field::select(
            "visible",
            "Visible to",
            options(
                MetricVisibility::ALL,
                MetricVisibility::as_i64,
                MetricVisibility::label,
            ),
        ),
        Field::check("display_chart", "Show the chart"),
    ]
}

fn metric_values(m: &Metric) -> Values {
    Values::from([
        ("name", m.name.clone()),
        ("suffix", m.suffix.clone()),
        ("description", m.description.clone()),
        ("default_value", m.default_value.to_string()),
        ("calc_type", m.calc_type.as_i64().to_string()),
        ("places", m.places.to_string()),
        ("default_view", m.default_view.as_i64().to_string()),
        ("threshold", m.threshold.to_string()),
        ("order", m.order.to_string()),
        ("visible", m.visible.as_i64().to_string()),
        ("display_chart", flag(m.display_chart)),
    ])
}

/// `GET /dashboard/metrics`.
pub(crate) async fn metrics(s: Signed) -> Response {
    let q = ListQuery::new(1, MAX_PER_PAGE, MetricFilter::default());
    let items = match s.ctx.state.service.list_metrics(s.actor(), q).await {
        Ok(p) => p.items,
        Err(e) => return s.fail(e),
    };
    let rows: Vec<_> = items
        .iter()
        .map(|m| {
            (
                Some(format!("/metrics/{}", m.id)),
                vec![
                    m.name.clone(),
                    m.suffix.clone(),
                    m.visible.label().to_string(),
                ],
            )
        })
        .collect();
    let body = html! {
        @if s.can(Action::WriteMetric) {
            div.actions { a.button.primary href=(s.ctx.href("/metrics/new")) { "Add a metric" } }
        }
        (table(&s, &["Name", "Suffix", "Visible to"], &rows))
    };
    respond(&s, StatusCode::OK, "Metrics", body)
}

/// `GET /dashboard/metrics/new`.
pub(crate) async fn new_metric(s: Signed) -> Response {
    if let Some(res) = refused_unless(&s, Action::WriteMetric) {
        return res;
    }
    let values = Values::from([
        ("default_value", "0".into()),
        ("places", "2".into()),
        ("threshold", "5".into()),
        ("order", "0".into()),
        ("visible", "1".into()),
        ("display_chart", "1".into()),
    ]);
    let body = edit_body(
        &s,
        "/metrics",
        &metric_fields(),
        &values,
        &ValidationErrors::new(),
        None,
        "Add metric",
    );
    respond(&s, StatusCode::OK, "Add a metric", body)
}

/// `POST /dashboard/metrics`.
pub(crate) async fn create_metric(s: Signed, Extension(Form(form)): Extension<Form>) -> Response {
    let rerender = |errors: &ValidationErrors| {
        let body = edit_body(
            &s,
            "/metrics",
            &metric_fields(),
            &typed(&form, &metric_fields()),
            errors,
            None,
            "Add metric",
        );
        respond(&s, StatusCode::UNPROCESSABLE_ENTITY, "Add a metric", body)
    };
    let input = match metric_input(&form) {
        Ok(i) => i,
        Err(errors) => return rerender(&errors),
    };
    let result = s.ctx.state.service.create_metric(s.actor(), input).await;
    saved(&s, result, |m| format!("/metrics/{}", m.id), rerender)
}

/// `GET /dashboard/metrics/{id}`.
pub(crate) async fn show_metric(s: Signed, Path(raw): Path<String>) -> Response {
    let result = match id_of(&raw, Entity::Metric) {
        Ok(id) => {
            s.ctx
                .state
                .service
                .get_metric(s.actor(), MetricId(id))
                .await
        }
        Err(e) => Err(e),
    };
    let m = match result {
        Ok(m) => m,
        Err(e) => return s.fail(e),
    };
    let path = format!("/metrics/{}", m.id);
    let body = edit_body(
        &s,
        &path,
        &metric_fields(),
        &metric_values(&m),
        &ValidationErrors::new(),
        Some((format!("{path}/delete"), Action::WriteMetric)),
        "Save",
    );
    respond(&s, StatusCode::OK, &m.name, body)
}

/// `POST /dashboard/metrics/{id}`.
pub(crate) async fn update_metric(
    s: Signed,
    Path(raw): Path<String>,
    Extension(Form(form)): Extension<Form>,
) -> Response {
    let id = match id_of(&raw, Entity::Metric) {
        Ok(id) => MetricId(id),
        Err(e) => return s.fail(e),
    };
    let path = format!("/metrics/{id}");
    let rerender = |errors: &ValidationErrors| {
        let body = edit_body(
            &s,
            &path,
            &metric_fields(),
            &typed(&form, &metric_fields()),
            errors,
            None,
            "Save",
        );
        respond(&s, StatusCode::UNPROCESSABLE_ENTITY, "Edit metric", body)
    };
    let input = match metric_input(&form) {
        Ok(i) => i,
        Err(errors) => return rerender(&errors),
    };
    let result = s
        .ctx
        .state
        .service
        .update_metric(s.actor(), id, input)
        .await;
    saved(&s, result, |m| format!("/metrics/{}", m.id), rerender)
}

/// `POST /dashboard/metrics/{id}/delete`.
pub(crate) async fn delete_metric(s: Signed, Path(raw): Path<String>) -> Response {
    let result = match id_of(&raw, Entity::Metric) {
        Ok(id) => {
            s.ctx
                .state
                .service
                .delete_metric(s.actor(), MetricId(id))
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => s.ctx.redirect("/metrics"),
        Err(e) => s.fail(e),
    }
}

// ---------------------------------------------------------------------------- templates

fn template_fields() -> Vec<Field> {
    vec![
        Field::text("name", "Name").required(),
        Field::text("slug", "Slug (default: from the name)"),
        Field::area("template", "Template (Markdown with {{ variables }})"),
    ]
}

fn template_values(t: &IncidentTemplate) -> Values {
    Values::from([
        ("name", t.name.clone()),
        ("slug", t.slug.clone()),
        ("template", t.template.clone()),
    ])
}

/// The v1 API only reads templates; the dashboard writes them with the same field names.
fn template_input(p: &Params) -> Result<TemplateInput, ValidationErrors> {
    let mut f = p.fields();
    let input = TemplateInput {
        name: f.string("name"),
        slug: f.string("slug").filter(|s| !s.is_empty()),
        template: f.string("template"),
    };
    f.done()?;
    Ok(input)
}

/// `GET /dashboard/templates`.
pub(crate) async fn templates(s: Signed) -> Response {
    let q = ListQuery::new(1, MAX_PER_PAGE, ());
    let items = match s.ctx.state.service.list_templates(s.actor(), &q).await {
        Ok(p) => p.items,
        Err(e) => return s.fail(e),
    };
    let rows: Vec<_> = items
        .iter()
        .map(|t| {
            (
                Some(format!("/templates/{}", t.id)),
                vec![t.name.clone(), t.slug.clone()],
            )
        })
        .collect();
    let body = html! {
        @if s.can(Action::WriteTemplate) {
            div.actions { a.button.primary href=(s.ctx.href("/templates/new")) { "Add a template" } }
        }
        (table(&s, &["Name", "Slug"], &rows))
    };
    respond(&s, StatusCode::OK, "Incident templates", body)
}

/// `GET /dashboard/templates/new`.
pub(crate) async fn new_template(s: Signed) -> Response {
    if let Some(res) = refused_unless(&s, Action::WriteTemplate) {
        return res;
    }
    let body = edit_body(
        &s,
        "/templates",
        &template_fields(),
        &Values::new(),
        &ValidationErrors::new(),
        None,
        "Add template",
    );
    respond(&s, StatusCode::OK, "Add a template", body)
}

/// `POST /dashboard/templates`.
pub(crate) async fn create_template(s: Signed, Extension(Form(form)): Extension<Form>) -> Response {
    let rerender = |errors: &ValidationErrors| {
        let body = edit_body(
            &s,
            "/templates",
            &template_fields(),
            &typed(&form, &template_fields()),
            errors,
            None,
            "Add template",
        );
        respond(&s, StatusCode::UNPROCESSABLE_ENTITY, "Add a template", body)
    };
    let input = match template_input(&form) {
        Ok(i) => i,
        Err(errors) => return rerender(&errors),
    };
    let result = s.ctx.state.service.create_template(s.actor(), input).await;
    saved(&s, result, |t| format!("/templates/{}", t.id), rerender)
}

/// `GET /dashboard/templates/{id}`.
pub(crate) async fn show_template(s: Signed, Path(raw): Path<String>) -> Response {
    let result = match id_of(&raw, Entity::Template) {
        Ok(id) => {
            s.ctx
                .state
                .service
                .get_template(s.actor(), TemplateId(id))
                .await
        }
        Err(e) => Err(e),
    };
    let t = match result {
        Ok(t) => t,
        Err(e) => return s.fail(e),
    };
    let path = format!("/templates/{}", t.id);
    let body = edit_body(
        &s,
        &path,
        &template_fields(),
        &template_values(&t),
        &ValidationErrors::new(),
        Some((format!("{path}/delete"), Action::WriteTemplate)),
        "Save",
    );
    respond(&s, StatusCode::OK, &t.name, body)
}

/// `POST /dashboard/templates/{id}`.
pub(crate) async fn update_template(
    s: Signed,
    Path(raw): Path<String>,
    Extension(Form(form)): Extension<Form>,
) -> Response {
    let id = match id_of(&raw, Entity::Template) {
        Ok(id) => TemplateId(id),
        Err(e) => return s.fail(e),
    };
    let path = format!("/templates/{id}");
    let rerender = |errors: &ValidationErrors| {
        let body = edit_body(
            &s,
            &path,
            &template_fields(),
            &typed(&form, &template_fields()),
            errors,
            None,
            "Save",
        );
        respond(&s, StatusCode::UNPROCESSABLE_ENTITY, "Edit template", body)
    };
    let input = match template_input(&form) {
        Ok(i) => i,
        Err(errors) => return rerender(&errors),
    };
    let result = s
        .ctx
        .state
        .service
        .update_template(s.actor(), id, input)
        .await;
    saved(&s, result, |t| format!("/templates/{}", t.id), rerender)
}

/// `POST /dashboard/templates/{id}/delete`.
pub(crate) async fn delete_template(s: Signed, Path(raw): Path<String>) -> Response {
    let result = match id_of(&raw, Entity::Template) {
        Ok(id) => {
            s.ctx
                .state
                .service
                .delete_template(s.actor(), TemplateId(id))
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => s.ctx.redirect("/templates"),
        Err(e) => s.fail(e),
    }
}
