//! Component groups, maintenance windows, metrics and incident templates: a list, a form to
//! add one, a form to change one, and delete. The pages are the same for each, so each is a
//! [`Resource`] (its fields, its service calls) served by one set of generic handlers. Forms
//! are decoded by the API's decoders where the API writes the resource, so both are
//! validated alike.

use std::future::Future;

use axum::extract::{Extension, Path};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use cachet_core::enums::{
    CalcType, GroupCollapsed, MetricView, MetricVisibility, ScheduleStatus, Visibility,
};
use cachet_core::error::{Entity, ValidationErrors};
use cachet_core::ids::{GroupId, MetricId, ScheduleId, TemplateId};
use cachet_core::input::{GroupInput, MetricInput, ScheduleInput, TemplateInput};
use cachet_core::model::{IncidentTemplate, Metric, Schedule};
use cachet_core::policy::Action;
use cachet_core::service::GroupDetail;
use cachet_core::store::{
    ComponentFilter, GroupFilter, ListQuery, MetricFilter, Order, ScheduleSort, MAX_PER_PAGE,
};
use cachet_core::Error;
use maud::{html, Markup};

use super::crud::{flag, form, options, read_only, respond, table, typed, Field, Values};
use super::view::button_form;
use super::{path_id, Form, Signed};
use crate::api::components::group_input;
use crate::api::metrics::metric_input;
use crate::api::params::Params;
use crate::api::schedules::schedule_input;
use crate::AppState;

type Outcome<T> = Result<T, Error>;

/// One kind of thing the dashboard lists, adds, changes and deletes.
pub(crate) trait Resource: Send + Sync + 'static {
    type Item: Send;
    type Input: Send;
    /// What a missing one is.
    const ENTITY: Entity;
    /// Its path under `/dashboard`, e.g. `/groups`.
    const PATH: &'static str;
    /// The list page's title.
    const TITLE: &'static str;
    /// The "add" page's title and button.
    const ADD: &'static str;
    /// What it takes to add, change or delete one.
    const WRITE: Action;
    /// The list's columns.
    const HEADINGS: &'static [&'static str];

    /// The form's fields (some depend on other data, such as the component list).
    fn fields(s: &Signed, creating: bool) -> impl Future<Output = Outcome<Vec<Field>>> + Send;
    /// What a new one's form shows.
    fn defaults() -> Values;
    /// What an existing one's form shows.
    fn values(s: &Signed, item: &Self::Item) -> Values;
    /// The form as a service input.
    fn decode(form: &Params) -> Result<Self::Input, ValidationErrors>;
    fn id(item: &Self::Item) -> i64;
    fn name(item: &Self::Item) -> &str;
    /// The list's cells of one (the first is the link).
    fn row(s: &Signed, item: &Self::Item) -> Vec<String>;

    fn list(s: &Signed) -> impl Future<Output = Outcome<Vec<Self::Item>>> + Send;
    fn get(s: &Signed, id: i64) -> impl Future<Output = Outcome<Self::Item>> + Send;
    fn create(s: &Signed, input: Self::Input) -> impl Future<Output = Outcome<Self::Item>> + Send;
    fn update(
        s: &Signed,
        id: i64,
        input: Self::Input,
    ) -> impl Future<Output = Outcome<Self::Item>> + Send;
    fn delete(s: &Signed, id: i64) -> impl Future<Output = Outcome<()>> + Send;
}

/// The six routes of a resource.
pub(crate) fn routes<R: Resource>(router: Router<AppState>) -> Router<AppState> {
    let base = format!("/dashboard{}", R::PATH);
    router
        .route(&base, get(list::<R>).post(create::<R>))
        .route(&format!("{base}/new"), get(new::<R>))
        .route(&format!("{base}/{{id}}"), get(show::<R>).post(update::<R>))
        .route(&format!("{base}/{{id}}/delete"), post(delete::<R>))
}

fn item_path<R: Resource>(id: i64) -> String {
    format!("{}/{id}", R::PATH)
}

fn id_of<R: Resource>(raw: &str) -> Outcome<i64> {
    path_id(raw).ok_or(Error::NotFound(R::ENTITY))
}

/// A form, and a delete button for an existing one.
fn edit_body<R: Resource>(
    s: &Signed,
    id: Option<i64>,
    fields: &[Field],
    values: &Values,
    errors: &ValidationErrors,
) -> Markup {
    let action = id.map_or_else(|| R::PATH.to_string(), item_path::<R>);
    let submit = if id.is_some() { "Save" } else { R::ADD };
    html! {
        (form(s, &action, fields, values, errors, submit))
        @if let Some(id) = id {
            @if s.can(R::WRITE) {
                div.actions {
                    (button_form(&s.ctx, &s.ctx.href(&format!("{}/delete", item_path::<R>(id))), "Delete", "danger"))
                }
            }
        }
    }
}

/// `GET /dashboard/{resource}`.
async fn list<R: Resource>(s: Signed) -> Response {
    let items = match R::list(&s).await {
        Ok(items) => items,
        Err(e) => return s.fail(e),
    };
    let rows: Vec<_> = items
        .iter()
        .map(|item| (Some(item_path::<R>(R::id(item))), R::row(&s, item)))
        .collect();
    let body = html! {
        @if s.can(R::WRITE) {
            div.actions { a.button.primary href=(s.ctx.href(&format!("{}/new", R::PATH))) { (R::ADD) } }
        }
        (table(&s, R::HEADINGS, &rows))
    };
    respond(&s, StatusCode::OK, R::TITLE, body)
}

/// `GET /dashboard/{resource}/new`.
async fn new<R: Resource>(s: Signed) -> Response {
    if !s.can(R::WRITE) {
        return s.fail(Error::Forbidden);
    }
    match R::fields(&s, true).await {
        Ok(fields) => {
            let body = edit_body::<R>(&s, None, &fields, &R::defaults(), &ValidationErrors::new());
            respond(&s, StatusCode::OK, R::ADD, body)
        }
        Err(e) => s.fail(e),
    }
}

/// `GET /dashboard/{resource}/{id}`.
async fn show<R: Resource>(s: Signed, Path(raw): Path<String>) -> Response {
    let item = match id_of::<R>(&raw) {
        Ok(id) => R::get(&s, id).await,
        Err(e) => Err(e),
    };
    let (item, fields) = match (item, R::fields(&s, false).await) {
        (Ok(item), Ok(fields)) => (item, fields),
        (Err(e), _) | (_, Err(e)) => return s.fail(e),
    };
    let values = R::values(&s, &item);
    let body = if s.can(R::WRITE) {
        edit_body::<R>(
            &s,
            Some(R::id(&item)),
            &fields,
            &values,
            &ValidationErrors::new(),
        )
    } else {
        read_only(&fields, &values)
    };
    respond(&s, StatusCode::OK, R::name(&item), body)
}

/// Decodes and saves a form (`id` `None` adds one): to the item's page, or the form again
/// with what was typed and what is wrong.
async fn save<R: Resource>(s: Signed, id: Option<i64>, form: Params) -> Response {
    let fields = match R::fields(&s, id.is_none()).await {
        Ok(f) => f,
        Err(e) => return s.fail(e),
    };
    let result = match R::decode(&form) {
        Ok(input) => match id {
            Some(id) => R::update(&s, id, input).await,
            None => R::create(&s, input).await,
        },
        Err(errors) => Err(Error::Invalid(errors)),
    };
    match result {
        Ok(item) => s.ctx.redirect(&item_path::<R>(R::id(&item))),
        Err(Error::Invalid(errors)) => {
            let body = edit_body::<R>(&s, id, &fields, &typed(&form, &fields), &errors);
            let title = if id.is_some() { R::TITLE } else { R::ADD };
            respond(&s, StatusCode::UNPROCESSABLE_ENTITY, title, body)
        }
        Err(e) => s.fail(e),
    }
}

/// `POST /dashboard/{resource}`.
async fn create<R: Resource>(s: Signed, Extension(Form(form)): Extension<Form>) -> Response {
    save::<R>(s, None, form).await
}

/// `POST /dashboard/{resource}/{id}`.
async fn update<R: Resource>(
    s: Signed,
    Path(raw): Path<String>,
    Extension(Form(form)): Extension<Form>,
) -> Response {
    match id_of::<R>(&raw) {
        Ok(id) => save::<R>(s, Some(id), form).await,
        Err(e) => s.fail(e),
    }
}

/// `POST /dashboard/{resource}/{id}/delete`.
async fn delete<R: Resource>(s: Signed, Path(raw): Path<String>) -> Response {
    let result = match id_of::<R>(&raw) {
        Ok(id) => R::delete(&s, id).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => s.ctx.redirect(R::PATH),
        Err(e) => s.fail(e),
    }
}

/// A local time in the display zone, as the forms take it (`Y-m-d H:i`).
fn local(s: &Signed, t: chrono::DateTime<chrono::Utc>) -> String {
    let zone = s.ctx.state.service.settings().app_timezone;
    t.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string()
}

// ---------------------------------------------------------------------------- groups

pub(crate) struct Groups;

impl Resource for Groups {
    type Item = GroupDetail;
    type Input = GroupInput;
    const ENTITY: Entity = Entity::Group;
    const PATH: &'static str = "/groups";
    const TITLE: &'static str = "Component groups";
    const ADD: &'static str = "Add a group";
    const WRITE: Action = Action::WriteGroup;
    const HEADINGS: &'static [&'static str] = &["Name", "Components", "Visible to"];

    async fn fields(_: &Signed, _: bool) -> Outcome<Vec<Field>> {
        Ok(vec![
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
        ])
    }

    fn defaults() -> Values {
        Values::from([("order", "0".into()), ("visible", "1".into())])
    }

    fn values(_: &Signed, d: &GroupDetail) -> Values {
        let g = &d.group;
        Values::from([
            ("name", g.name.clone()),
            ("order", g.order.to_string()),
            ("collapsed", g.collapsed.as_i64().to_string()),
            ("visible", g.visible.as_i64().to_string()),
        ])
    }

    fn decode(form: &Params) -> Result<GroupInput, ValidationErrors> {
        group_input(form)
    }

    fn id(d: &GroupDetail) -> i64 {
        d.group.id.0
    }

    fn name(d: &GroupDetail) -> &str {
        &d.group.name
    }

    fn row(_: &Signed, d: &GroupDetail) -> Vec<String> {
        vec![
            d.group.name.clone(),
            d.enabled_components.len().to_string(),
            d.group.visible.label().to_string(),
        ]
    }

    async fn list(s: &Signed) -> Outcome<Vec<GroupDetail>> {
        let q = ListQuery::new(1, MAX_PER_PAGE, GroupFilter::default());
        Ok(s.ctx.state.service.list_groups(s.actor(), q).await?.items)
    }

    async fn get(s: &Signed, id: i64) -> Outcome<GroupDetail> {
        s.ctx.state.service.get_group(s.actor(), GroupId(id)).await
    }

    async fn create(s: &Signed, input: GroupInput) -> Outcome<GroupDetail> {
        s.ctx.state.service.create_group(s.actor(), input).await
    }

    async fn update(s: &Signed, id: i64, input: GroupInput) -> Outcome<GroupDetail> {
        s.ctx
            .state
            .service
            .update_group(s.actor(), GroupId(id), input)
            .await
    }

    async fn delete(s: &Signed, id: i64) -> Outcome<()> {
        s.ctx
            .state
            .service
            .delete_group(s.actor(), GroupId(id))
            .await
    }
}

// ---------------------------------------------------------------------------- maintenance

pub(crate) struct Maintenance;

impl Resource for Maintenance {
    type Item = Schedule;
    type Input = ScheduleInput;
    const ENTITY: Entity = Entity::Schedule;
    const PATH: &'static str = "/maintenance";
    const TITLE: &'static str = "Maintenance";
    const ADD: &'static str = "Schedule maintenance";
    const WRITE: Action = Action::WriteSchedule;
    const HEADINGS: &'static [&'static str] = &["Name", "Status", "Starts"];

    async fn fields(s: &Signed, creating: bool) -> Outcome<Vec<Field>> {
        let q = ListQuery::new(1, MAX_PER_PAGE, ComponentFilter::default());
        let components = s
            .ctx
            .state
            .service
            .list_components(s.actor(), q)
            .await?
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

    fn defaults() -> Values {
        Values::from([("notify", "1".into())])
    }

    fn values(s: &Signed, m: &Schedule) -> Values {
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

    fn decode(form: &Params) -> Result<ScheduleInput, ValidationErrors> {
        schedule_input(form, None)
    }

    fn id(m: &Schedule) -> i64 {
        m.id.0
    }

    fn name(m: &Schedule) -> &str {
        &m.name
    }

    fn row(s: &Signed, m: &Schedule) -> Vec<String> {
        vec![
            m.name.clone(),
            m.status.label().to_string(),
            local(s, m.scheduled_at),
        ]
    }

    async fn list(s: &Signed) -> Outcome<Vec<Schedule>> {
        let mut q = ListQuery::new(1, MAX_PER_PAGE, ());
        q.sort = Some((ScheduleSort::ScheduledAt, Order::Desc));
        Ok(s.ctx
            .state
            .service
            .list_schedules(s.actor(), &q)
            .await?
            .items)
    }

    async fn get(s: &Signed, id: i64) -> Outcome<Schedule> {
        s.ctx
            .state
            .service
            .get_schedule(s.actor(), ScheduleId(id))
            .await
    }

    async fn create(s: &Signed, input: ScheduleInput) -> Outcome<Schedule> {
        s.ctx.state.service.create_schedule(s.actor(), input).await
    }

    async fn update(s: &Signed, id: i64, input: ScheduleInput) -> Outcome<Schedule> {
        s.ctx
            .state
            .service
            .update_schedule(s.actor(), ScheduleId(id), input)
            .await
    }

    async fn delete(s: &Signed, id: i64) -> Outcome<()> {
        s.ctx
            .state
            .service
            .delete_schedule(s.actor(), ScheduleId(id))
            .await
    }
}

// ---------------------------------------------------------------------------- metrics

pub(crate) struct Metrics;

impl Resource for Metrics {
    type Item = Metric;
    type Input = MetricInput;
    const ENTITY: Entity = Entity::Metric;
    const PATH: &'static str = "/metrics";
    const TITLE: &'static str = "Metrics";
    const ADD: &'static str = "Add a metric";
    const WRITE: Action = Action::WriteMetric;
    const HEADINGS: &'static [&'static str] = &["Name", "Suffix", "Visible to"];

    async fn fields(_: &Signed, _: bool) -> Outcome<Vec<Field>> {
        Ok(vec![
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
        ])
    }

    fn defaults() -> Values {
        Values::from([
            ("default_value", "0".into()),
            ("places", "2".into()),
            ("threshold", "5".into()),
            ("order", "0".into()),
            ("visible", "1".into()),
            ("display_chart", "1".into()),
        ])
    }

    fn values(_: &Signed, m: &Metric) -> Values {
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

    fn decode(form: &Params) -> Result<MetricInput, ValidationErrors> {
        metric_input(form)
    }

    fn id(m: &Metric) -> i64 {
        m.id.0
    }

    fn name(m: &Metric) -> &str {
        &m.name
    }

    fn row(_: &Signed, m: &Metric) -> Vec<String> {
        vec![
            m.name.clone(),
            m.suffix.clone(),
            m.visible.label().to_string(),
        ]
    }

    async fn list(s: &Signed) -> Outcome<Vec<Metric>> {
        let q = ListQuery::new(1, MAX_PER_PAGE, MetricFilter::default());
        Ok(s.ctx.state.service.list_metrics(s.actor(), q).await?.items)
    }

    async fn get(s: &Signed, id: i64) -> Outcome<Metric> {
        s.ctx
            .state
            .service
            .get_metric(s.actor(), MetricId(id))
            .await
    }

    async fn create(s: &Signed, input: MetricInput) -> Outcome<Metric> {
        s.ctx.state.service.create_metric(s.actor(), input).await
    }

    async fn update(s: &Signed, id: i64, input: MetricInput) -> Outcome<Metric> {
        s.ctx
            .state
            .service
            .update_metric(s.actor(), MetricId(id), input)
            .await
    }

    async fn delete(s: &Signed, id: i64) -> Outcome<()> {
        s.ctx
            .state
            .service
            .delete_metric(s.actor(), MetricId(id))
            .await
    }
}

// ---------------------------------------------------------------------------- templates

pub(crate) struct Templates;

impl Resource for Templates {
    type Item = IncidentTemplate;
    type Input = TemplateInput;
    const ENTITY: Entity = Entity::Template;
    const PATH: &'static str = "/templates";
    const TITLE: &'static str = "Incident templates";
    const ADD: &'static str = "Add a template";
    const WRITE: Action = Action::WriteTemplate;
    const HEADINGS: &'static [&'static str] = &["Name", "Slug"];

    async fn fields(_: &Signed, _: bool) -> Outcome<Vec<Field>> {
        Ok(vec![
            Field::text("name", "Name").required(),
            Field::text("slug", "Slug (default: from the name)"),
            Field::area("template", "Template (Markdown with {{ variables }})"),
        ])
    }

    fn defaults() -> Values {
        Values::new()
    }

    fn values(_: &Signed, t: &IncidentTemplate) -> Values {
        Values::from([
            ("name", t.name.clone()),
            ("slug", t.slug.clone()),
            ("template", t.template.clone()),
        ])
    }

    /// The v1 API only reads templates; the dashboard writes them with the same names.
    fn decode(p: &Params) -> Result<TemplateInput, ValidationErrors> {
        let mut f = p.fields();
        let input = TemplateInput {
            name: f.string("name"),
            slug: f.string("slug").filter(|s| !s.is_empty()),
            template: f.string("template"),
        };
        f.done()?;
        Ok(input)
    }

    fn id(t: &IncidentTemplate) -> i64 {
        t.id.0
    }

    fn name(t: &IncidentTemplate) -> &str {
        &t.name
    }

    fn row(_: &Signed, t: &IncidentTemplate) -> Vec<String> {
        vec![t.name.clone(), t.slug.clone()]
    }

    async fn list(s: &Signed) -> Outcome<Vec<IncidentTemplate>> {
        let q = ListQuery::new(1, MAX_PER_PAGE, ());
        Ok(s.ctx
            .state
            .service
            .list_templates(s.actor(), &q)
            .await?
            .items)
    }

    async fn get(s: &Signed, id: i64) -> Outcome<IncidentTemplate> {
        s.ctx
            .state
            .service
            .get_template(s.actor(), TemplateId(id))
            .await
    }

    async fn create(s: &Signed, input: TemplateInput) -> Outcome<IncidentTemplate> {
        s.ctx.state.service.create_template(s.actor(), input).await
    }

    async fn update(s: &Signed, id: i64, input: TemplateInput) -> Outcome<IncidentTemplate> {
        s.ctx
            .state
            .service
            .update_template(s.actor(), TemplateId(id), input)
            .await
    }

    async fn delete(s: &Signed, id: i64) -> Outcome<()> {
        s.ctx
            .state
            .service
            .delete_template(s.actor(), TemplateId(id))
            .await
    }
}
