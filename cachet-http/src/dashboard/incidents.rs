//! Incidents and their updates, and the dashboard's home page.
//!
//! Forms use the API's field names and are decoded by the API's decoders
//! (`api::incidents::incident_input`), so a form and an API call are validated alike.

use axum::extract::{Extension, Path, RawQuery};
use axum::http::StatusCode;
use axum::response::Response;
use cachet_core::enums::{ComponentStatus, IncidentStatus};
use cachet_core::error::ValidationErrors;
use cachet_core::ids::{IncidentId, UpdateId};
use cachet_core::markdown::SafeHtml;
use cachet_core::model::{Component, Incident};
use cachet_core::policy::Action;
use cachet_core::store::{ComponentFilter, IncidentFilter, IncidentSort, ListQuery, Order};
use cachet_core::Error;
use maud::{html, Markup, PreEscaped};

use super::view::{
    button_form, checkbox, csrf_field, layout, other_errors, pager, select, select_in, text_input,
    textarea, textarea_in,
};
use super::{form_text, page, page_number, path_id, Form, Signed};
use crate::api::incidents::{incident_input, update_input};
use crate::api::params::Params;

const PER_PAGE: u32 = 20;

/// Sanitized HTML from core, as is.
fn safe(html: &SafeHtml) -> PreEscaped<&str> {
    PreEscaped(html.as_str())
}

fn when(s: &Signed, t: chrono::DateTime<chrono::Utc>) -> String {
    let zone = s.ctx.state.service.settings().app_timezone;
    t.with_timezone(&zone)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}

/// Every component (for the "affects" select), or an error page.
async fn all_components(s: &Signed) -> Result<Vec<Component>, Response> {
    let q = ListQuery::new(
        1,
        cachet_core::store::MAX_PER_PAGE,
        ComponentFilter::default(),
    );
    s.ctx
        .state
        .service
        .list_components(s.actor(), q)
        .await
        .map(|p| p.items)
        .map_err(|e| s.fail(e))
}

// ---------------------------------------------------------------------------- home

/// `GET /dashboard`: components and the latest incidents.
pub(crate) async fn home(s: Signed) -> Response {
    let components = match all_components(&s).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let mut q = ListQuery::new(1, 10, IncidentFilter::default());
    q.sort = Some((IncidentSort::Id, Order::Desc));
    let incidents = match s.ctx.state.service.list_incidents(s.actor(), q).await {
        Ok(p) => p.items,
        Err(e) => return s.fail(e),
    };
    let body = html! {
        div.actions {
            @if s.can(Action::WriteIncident) {
                a.button.primary href=(s.ctx.href("/incidents/new")) { "Report an incident" }
            }
            @if s.can(Action::WriteComponent) {
                a.button href=(s.ctx.href("/components/new")) { "Add a component" }
            }
        }
        section.card {
            h2 { "Components" }
            (components_table(&s, &components))
        }
        section.card {
            h2 { "Latest incidents" }
            (incidents_table(&s, &incidents))
            p { a href=(s.ctx.href("/incidents")) { "All incidents" } }
        }
    };
    page(
        StatusCode::OK,
        layout(&s.ctx, Some(&s.active), "Dashboard", body).into_string(),
    )
}

pub(crate) fn components_table(s: &Signed, components: &[Component]) -> Markup {
    html! {
        @if components.is_empty() {
            p { "No components yet." }
        } @else {
            table.list {
                thead { tr { th { "Name" } th { "Status" } th { "Enabled" } } }
                tbody {
                    @for c in components {
                        tr {
                            td { a href=(s.ctx.href(&format!("/components/{}", c.id))) { (c.name) } }
                            td { span class={ "badge " (c.status.color_class()) } { (c.status.label()) } }
                            td { (if c.enabled { "yes" } else { "no" }) }
                        }
                    }
                }
            }
        }
    }
}

fn incidents_table(s: &Signed, incidents: &[Incident]) -> Markup {
    html! {
        @if incidents.is_empty() {
            p { "No incidents." }
        } @else {
            table.list {
                thead { tr { th { "Name" } th { "Status" } th { "Visible" } th { "Occurred" } } }
                tbody {
                    @for i in incidents {
                        tr {
                            td { a href=(s.ctx.href(&format!("/incidents/{}", i.id))) { (i.name) } }
                            td { (i.status.label()) }
                            td { (if i.visible.as_i64() == 1 { "public" } else { "hidden" }) }
                            td { (when(s, i.occurred_at)) }
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------- list

/// `GET /dashboard/incidents?page=N`: newest first.
pub(crate) async fn list(s: Signed, RawQuery(query): RawQuery) -> Response {
    let page_no = page_number(query.as_deref());
    let mut q = ListQuery::new(page_no, PER_PAGE, IncidentFilter::default());
    q.sort = Some((IncidentSort::Id, Order::Desc));
    let result = match s.ctx.state.service.list_incidents(s.actor(), q).await {
        Ok(p) => p,
        Err(e) => return s.fail(e),
    };
    let body = html! {
        @if s.can(Action::WriteIncident) {
            div.actions { a.button.primary href=(s.ctx.href("/incidents/new")) { "Report an incident" } }
        }
        (incidents_table(&s, &result.items))
        (pager(&s.ctx.href("/incidents"), page_no, PER_PAGE, result.total))
    };
    page(
        StatusCode::OK,
        layout(&s.ctx, Some(&s.active), "Incidents", body).into_string(),
    )
}

// ---------------------------------------------------------------------------- form

/// What an incident form shows: the values as typed (or as stored).
#[derive(Default)]
struct Values {
    name: String,
    status: String,
    message: String,
    visible: bool,
    stickied: bool,
    notify: bool,
    component_id: String,
    component_status: String,
    occurred_at: String,
}

fn ticked(form: &Params, name: &str) -> bool {
    form_text(form, name) == "1"
}

impl Values {
    fn from_form(form: &Params) -> Values {
        Values {
            name: form_text(form, "name"),
            status: form_text(form, "status"),
            message: form_text(form, "message"),
            visible: ticked(form, "visible"),
            stickied: ticked(form, "stickied"),
            notify: ticked(form, "notify"),
            component_id: form_text(form, "component_id"),
            component_status: form_text(form, "component_status"),
            occurred_at: form_text(form, "occurred_at"),
        }
    }

    fn of(i: &Incident) -> Values {
        Values {
            name: i.name.clone(),
            status: i.status.as_i64().to_string(),
            message: i.message.clone(),
            visible: i.visible.as_i64() == 1,
            stickied: i.stickied,
            notify: false,
            component_id: i.component_id.map(|c| c.to_string()).unwrap_or_default(),
            component_status: String::new(),
            occurred_at: String::new(),
        }
    }
}

fn status_options(include_scheduled: bool) -> Vec<(String, String)> {
    IncidentStatus::ALL
        .iter()
        .filter(|s| include_scheduled || s.as_i64() > 0)
        .map(|s| (s.as_i64().to_string(), s.label().to_string()))
        .collect()
}

fn component_options(components: &[Component]) -> Vec<(String, String)> {
    std::iter::once((String::new(), "None".to_string()))
        .chain(
            components
                .iter()
                .map(|c| (c.id.to_string(), c.name.clone())),
        )
        .collect()
}

fn component_status_options() -> Vec<(String, String)> {
    std::iter::once((String::new(), "Leave as it is".to_string()))
        .chain(
            ComponentStatus::ALL
                .iter()
                .map(|s| (s.as_i64().to_string(), s.label().to_string())),
        )
        .collect()
}

/// Fields shown by [`incident_form`]; other errors are listed above it.
const INCIDENT_FIELDS: &[&str] = &[
    "name",
    "status",
    "message",
    "component_id",
    "component_status",
    "occurred_at",
];

fn preview_block(preview: Option<&SafeHtml>) -> Markup {
    html! {
        @if let Some(p) = preview {
            section.preview aria-label="Preview" {
                h2 { "Preview" }
                div.markdown { (safe(p)) }
            }
        }
    }
}

fn incident_form(
    s: &Signed,
    action: &str,
    values: &Values,
    errors: &ValidationErrors,
    components: &[Component],
    creating: bool,
    preview: Option<&SafeHtml>,
) -> Markup {
    html! {
        (preview_block(preview))
        form.card method="post" action=(action) {
            (csrf_field(&s.ctx))
            (other_errors(errors, INCIDENT_FIELDS))
            (text_input("Name", "name", &values.name, errors, true))
            (select("Status", "status", &status_options(true), &values.status, errors))
            (textarea("Message (Markdown)", "message", &values.message, errors))
            (select("Affected component", "component_id", &component_options(components), &values.component_id, errors))
            (select("Set its status to", "component_status", &component_status_options(), &values.component_status, errors))
            (text_input("Occurred at (YYYY-MM-DD HH:MM, optional)", "occurred_at", &values.occurred_at, errors, false))
            (checkbox("Visible on the status page", "visible", values.visible))
            (checkbox("Stickied", "stickied", values.stickied))
            @if creating {
                (checkbox("Notify subscribers", "notify", values.notify))
            }
            div.actions {
                button type="submit" name="action" value="preview" { "Preview" }
                button.primary type="submit" { (if creating { "Report incident" } else { "Save" }) }
            }
        }
    }
}

fn form_page(s: &Signed, status: StatusCode, title: &str, body: Markup) -> Response {
    page(
        status,
        layout(&s.ctx, Some(&s.active), title, body).into_string(),
    )
}

/// `GET /dashboard/incidents/new`.
pub(crate) async fn new(s: Signed) -> Response {
    if !s.can(Action::WriteIncident) {
        return s.fail(Error::Forbidden);
    }
    let components = match all_components(&s).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let values = Values {
        status: IncidentStatus::Investigating.as_i64().to_string(),
        visible: true,
        notify: true,
        ..Values::default()
    };
    let form = incident_form(
        &s,
        &s.ctx.href("/incidents"),
        &values,
        &ValidationErrors::new(),
        &components,
        true,
        None,
    );
    form_page(&s, StatusCode::OK, "Report an incident", form)
}

/// Whether the form was sent with its Preview button (and takes the button's field out).
fn wants_preview(form: &mut Params) -> bool {
    form.take("action")
        .is_some_and(|v| v.as_str() == Some("preview"))
}

/// Renders `message` for a preview: the sanitized HTML, or the errors.
async fn preview(s: &Signed, message: &str) -> Result<SafeHtml, ValidationErrors> {
    match s
        .ctx
        .state
        .service
        .preview_message(s.actor(), message)
        .await
    {
        Ok(html) => Ok(html),
        Err(Error::Invalid(errors)) => Err(errors),
        Err(_) => Err(ValidationErrors::single(
            "message",
            "The preview could not be rendered.",
        )),
    }
}

/// `POST /dashboard/incidents`: create, or preview with the Preview button.
pub(crate) async fn create(s: Signed, Extension(Form(mut form)): Extension<Form>) -> Response {
    let components = match all_components(&s).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let values = Values::from_form(&form);
    let rerender = |errors: &ValidationErrors, preview: Option<&SafeHtml>, status| {
        let body = incident_form(
            &s,
            &s.ctx.href("/incidents"),
            &values,
            errors,
            &components,
            true,
            preview,
        );
        form_page(&s, status, "Report an incident", body)
    };
    if wants_preview(&mut form) {
        return match preview(&s, &values.message).await {
            Ok(html) => rerender(&ValidationErrors::new(), Some(&html), StatusCode::OK),
            Err(errors) => rerender(&errors, None, StatusCode::UNPROCESSABLE_ENTITY),
        };
    }
    let input = match incident_input(&form, None, true) {
        Ok(i) => i,
        Err(errors) => return rerender(&errors, None, StatusCode::UNPROCESSABLE_ENTITY),
    };
    match s.ctx.state.service.create_incident(s.actor(), input).await {
        Ok(i) => s.ctx.redirect(&format!("/incidents/{}", i.id)),
        Err(Error::Invalid(errors)) => rerender(&errors, None, StatusCode::UNPROCESSABLE_ENTITY),
        Err(e) => s.fail(e),
    }
}

// ---------------------------------------------------------------------------- one

fn incident_id(raw: &str) -> Result<IncidentId, Error> {
    path_id(raw)
        .map(IncidentId)
        .ok_or(Error::NotFound(cachet_core::error::Entity::Incident))
}

/// The update form's values as typed.
#[derive(Default)]
struct UpdateValues {
    status: String,
    message: String,
    component_status: String,
}

#[allow(clippy::too_many_arguments)]
fn incident_page(
    s: &Signed,
    incident: &Incident,
    values: &Values,
    errors: &ValidationErrors,
    update: &UpdateValues,
    update_errors: &ValidationErrors,
    components: &[Component],
    preview: Option<&SafeHtml>,
) -> Markup {
    let base = format!("/incidents/{}", incident.id);
    html! {
        p { "Status: " strong { (incident.status.label()) } " · occurred " (when(s, incident.occurred_at)) }
        section.card {
            h2 { "Updates" }
            @if incident.updates.is_empty() { p { "No updates yet." } }
            @for u in incident.updates.iter().rev() {
                article.update {
                    p { strong { (u.status.label()) } " · " (when(s, u.created_at)) }
                    div.markdown { (safe(&u.message_html)) }
                    @if s.can(Action::DeleteIncidentUpdate) {
                        (button_form(&s.ctx, &s.ctx.href(&format!("{base}/updates/{}/delete", u.id)), "Delete update", "danger"))
                    }
                }
            }
        }
        @if s.can(Action::WriteIncidentUpdate) {
            form.card method="post" action=(s.ctx.href(&format!("{base}/updates"))) {
                h2 { "Post an update" }
                (csrf_field(&s.ctx))
                (other_errors(update_errors, &["status", "message", "component_status"]))
                (select_in("update", "Status", "status", &status_options(false), &update.status, update_errors))
                (textarea_in("update", "Message (Markdown)", "message", &update.message, update_errors))
                @if incident.component_id.is_some() {
                    input type="hidden" name="component_id" value=(incident.component_id.map(|c| c.to_string()).unwrap_or_default());
                    (select_in("update", "Set the component's status to", "component_status", &component_status_options(), &update.component_status, update_errors))
                }
                div.actions { button.primary type="submit" { "Post update" } }
            }
        }
        @if s.can(Action::WriteIncident) {
            h2 { "Edit" }
            (incident_form(s, &s.ctx.href(&base), values, errors, components, false, preview))
        }
        @if s.can(Action::DeleteIncident) {
            div.actions {
                (button_form(&s.ctx, &s.ctx.href(&format!("{base}/delete")), "Delete incident", "danger"))
            }
        }
    }
}

async fn load(s: &Signed, raw: &str) -> Result<(Incident, Vec<Component>), Response> {
    let id = incident_id(raw).map_err(|e| s.fail(e))?;
    let incident = s
        .ctx
        .state
        .service
        .get_incident(s.actor(), id)
        .await
        .map_err(|e| s.fail(e))?;
    let components = all_components(s).await?;
    Ok((incident, components))
}

/// `GET /dashboard/incidents/{id}`.
pub(crate) async fn show(s: Signed, Path(raw): Path<String>) -> Response {
    let (incident, components) = match load(&s, &raw).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let none = ValidationErrors::new();
    let update = UpdateValues {
        status: incident.status.as_i64().max(1).to_string(),
        ..UpdateValues::default()
    };
    let body = incident_page(
        &s,
        &incident,
        &Values::of(&incident),
        &none,
        &update,
        &none,
        &components,
        None,
    );
    form_page(&s, StatusCode::OK, &incident.name, body)
}

/// `POST /dashboard/incidents/{id}`: save the edit form (or preview it).
pub(crate) async fn update(
    s: Signed,
    Path(raw): Path<String>,
    Extension(Form(mut form)): Extension<Form>,
) -> Response {
    let (incident, components) = match load(&s, &raw).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let values = Values::from_form(&form);
    let none = ValidationErrors::new();
    let update = UpdateValues {
        status: incident.status.as_i64().max(1).to_string(),
        ..UpdateValues::default()
    };
    let rerender = |errors: &ValidationErrors, preview: Option<&SafeHtml>, status| {
        let body = incident_page(
            &s,
            &incident,
            &values,
            errors,
            &update,
            &none,
            &components,
            preview,
        );
        form_page(&s, status, &incident.name, body)
    };
    if wants_preview(&mut form) {
        return match preview(&s, &values.message).await {
            Ok(html) => rerender(&none, Some(&html), StatusCode::OK),
            Err(errors) => rerender(&errors, None, StatusCode::UNPROCESSABLE_ENTITY),
        };
    }
    let input = match incident_input(&form, None, false) {
        Ok(i) => i,
        Err(errors) => return rerender(&errors, None, StatusCode::UNPROCESSABLE_ENTITY),
    };
    match s
        .ctx
        .state
        .service
        .update_incident(s.actor(), incident.id, input)
        .await
    {
        Ok(i) => s.ctx.redirect(&format!("/incidents/{}", i.id)),
        Err(Error::Invalid(errors)) => rerender(&errors, None, StatusCode::UNPROCESSABLE_ENTITY),
        Err(e) => s.fail(e),
    }
}

/// `POST /dashboard/incidents/{id}/delete`.
pub(crate) async fn delete(s: Signed, Path(raw): Path<String>) -> Response {
    let id = match incident_id(&raw) {
        Ok(id) => id,
        Err(e) => return s.fail(e),
    };
    match s.ctx.state.service.delete_incident(s.actor(), id).await {
        Ok(()) => s.ctx.redirect("/incidents"),
        Err(e) => s.fail(e),
    }
}

/// `POST /dashboard/incidents/{id}/updates`.
pub(crate) async fn create_update(
    s: Signed,
    Path(raw): Path<String>,
    Extension(Form(mut form)): Extension<Form>,
) -> Response {
    let (incident, components) = match load(&s, &raw).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    // The form always names the incident's component; "leave as it is" sends no status,
    // and then the component is not part of the update.
    if form_text(&form, "component_status").is_empty() {
        form.take("component_id");
    }
    let rerender = |errors: &ValidationErrors| {
        let none = ValidationErrors::new();
        let typed = UpdateValues {
            status: form_text(&form, "status"),
            message: form_text(&form, "message"),
            component_status: form_text(&form, "component_status"),
        };
        let body = incident_page(
            &s,
            &incident,
            &Values::of(&incident),
            &none,
            &typed,
            errors,
            &components,
            None,
        );
        form_page(&s, StatusCode::UNPROCESSABLE_ENTITY, &incident.name, body)
    };
    let input = match update_input(&form) {
        Ok(i) => i,
        Err(errors) => return rerender(&errors),
    };
    match s
        .ctx
        .state
        .service
        .create_update(s.actor(), incident.id, input)
        .await
    {
        Ok(_) => s.ctx.redirect(&format!("/incidents/{}", incident.id)),
        Err(Error::Invalid(errors)) => rerender(&errors),
        Err(e) => s.fail(e),
    }
}

/// `POST /dashboard/incidents/{id}/updates/{uid}/delete`.
pub(crate) async fn delete_update(
    s: Signed,
    Path((raw, raw_update)): Path<(String, String)>,
) -> Response {
    let id = match incident_id(&raw) {
        Ok(id) => id,
        Err(e) => return s.fail(e),
    };
    let Some(update) = path_id(&raw_update).map(UpdateId) else {
        return s.fail(Error::NotFound(cachet_core::error::Entity::IncidentUpdate));
    };
    match s
        .ctx
        .state
        .service
        .delete_update(s.actor(), id, update)
        .await
    {
        Ok(()) => s.ctx.redirect(&format!("/incidents/{id}")),
        Err(e) => s.fail(e),
    }
}
