//! Components. A user who may only set statuses (Reporter) sees the status select and
//! nothing else; the service refuses anything more if the form is forged.

use axum::extract::{Extension, Path};
use axum::http::StatusCode;
use axum::response::Response;
use cachet_core::enums::{ComponentStatus, StatusSource};
use cachet_core::error::{Entity, ValidationErrors};
use cachet_core::ids::ComponentId;
use cachet_core::model::{Component, ComponentGroup};
use cachet_core::policy::Action;
use cachet_core::store::{ComponentFilter, GroupFilter, ListQuery, MAX_PER_PAGE};
use cachet_core::Error;
use maud::{html, Markup};

use super::crud::respond;
use super::incidents::components_table;
use super::view::{
    button_form, checkbox, csrf_field, layout, other_errors, select, text_input, textarea,
};
use super::{form_text, page, path_id, Form, Signed};
use crate::api::components::component_input;
use crate::api::params::Params;

async fn groups(s: &Signed) -> Result<Vec<ComponentGroup>, Response> {
    let q = ListQuery::new(1, MAX_PER_PAGE, GroupFilter::default());
    s.ctx
        .state
        .service
        .list_groups(s.actor(), q)
        .await
        .map(|p| p.items.into_iter().map(|d| d.group).collect())
        .map_err(|e| s.fail(e))
}

/// `GET /dashboard/components`.
pub(crate) async fn list(s: Signed) -> Response {
    let q = ListQuery::new(1, MAX_PER_PAGE, ComponentFilter::default());
    let components = match s.ctx.state.service.list_components(s.actor(), q).await {
        Ok(p) => p.items,
        Err(e) => return s.fail(e),
    };
    let body = html! {
        @if s.can(Action::WriteComponent) {
            div.actions { a.button.primary href=(s.ctx.href("/components/new")) { "Add a component" } }
        }
        (components_table(&s, &components))
    };
    page(
        StatusCode::OK,
        layout(&s.ctx, Some(&s.active), "Components", body).into_string(),
    )
}

#[derive(Default)]
struct Values {
    name: String,
    description: String,
    link: String,
    status: String,
    order: String,
    group_id: String,
    enabled: bool,
}

impl Values {
    fn from_form(form: &Params) -> Values {
        Values {
            name: form_text(form, "name"),
            description: form_text(form, "description"),
            link: form_text(form, "link"),
            status: form_text(form, "status"),
            order: form_text(form, "order"),
            group_id: form_text(form, "group_id"),
            enabled: form_text(form, "enabled") == "1",
        }
    }

    fn of(c: &Component) -> Values {
        Values {
            name: c.name.clone(),
            description: c.description.clone(),
            link: c.link.clone(),
            status: c.status.as_i64().to_string(),
            order: c.order.to_string(),
            group_id: c.group_id.map(|g| g.to_string()).unwrap_or_default(),
            enabled: c.enabled,
        }
    }
}

const FIELDS: &[&str] = &["name", "description", "link", "status", "order", "group_id"];

fn status_options() -> Vec<(String, String)> {
    ComponentStatus::ALL
        .iter()
        .map(|s| (s.as_i64().to_string(), s.label().to_string()))
        .collect()
}

fn component_form(
    s: &Signed,
    action: &str,
    values: &Values,
    errors: &ValidationErrors,
    groups: &[ComponentGroup],
    creating: bool,
) -> Markup {
    let full = s.can(Action::WriteComponent);
    let group_options: Vec<(String, String)> = std::iter::once((String::new(), "No group".into()))
        .chain(groups.iter().map(|g| (g.id.to_string(), g.name.clone())))
        .collect();
    html! {
        form.card method="post" action=(action) {
            (csrf_field(&s.ctx))
            (other_errors(errors, FIELDS))
            @if full {
                (text_input("Name", "name", &values.name, errors, true))
                (textarea("Description", "description", &values.description, errors))
                (text_input("Link (https://…, optional)", "link", &values.link, errors, false))
            }
            (select("Status", "status", &status_options(), &values.status, errors))
            @if full {
                (select("Group", "group_id", &group_options, &values.group_id, errors))
                (text_input("Order", "order", &values.order, errors, false))
                (checkbox("Enabled (shown on the status page)", "enabled", values.enabled))
            }
            div.actions {
                button.primary type="submit" { (if creating { "Add component" } else { "Save" }) }
            }
        }
    }
}

/// `GET /dashboard/components/new`.
pub(crate) async fn new(s: Signed) -> Response {
    if !s.can(Action::WriteComponent) {
        return s.fail(Error::Forbidden);
    }
    let groups = match groups(&s).await {
        Ok(g) => g,
        Err(res) => return res,
    };
    let values = Values {
        status: ComponentStatus::Operational.as_i64().to_string(),
        enabled: true,
        order: "0".into(),
        ..Values::default()
    };
    let body = component_form(
        &s,
        &s.ctx.href("/components"),
        &values,
        &ValidationErrors::new(),
        &groups,
        true,
    );
    respond(&s, StatusCode::OK, "Add a component", body)
}

/// `POST /dashboard/components`.
pub(crate) async fn create(s: Signed, Extension(Form(form)): Extension<Form>) -> Response {
    let groups = match groups(&s).await {
        Ok(g) => g,
        Err(res) => return res,
    };
    let rerender = |errors: &ValidationErrors| {
        let body = component_form(
            &s,
            &s.ctx.href("/components"),
            &Values::from_form(&form),
            errors,
            &groups,
            true,
        );
        respond(
            &s,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Add a component",
            body,
        )
    };
    let input = match component_input(&form) {
        Ok(i) => i,
        Err(errors) => return rerender(&errors),
    };
    match s.ctx.state.service.create_component(s.actor(), input).await {
        Ok(c) => s.ctx.redirect(&format!("/components/{}", c.id)),
        Err(Error::Invalid(errors)) => rerender(&errors),
        Err(e) => s.fail(e),
    }
}

fn component_id(raw: &str) -> Result<ComponentId, Error> {
    path_id(raw)
        .map(ComponentId)
        .ok_or(Error::NotFound(Entity::Component))
}

async fn load(s: &Signed, raw: &str) -> Result<(Component, Vec<ComponentGroup>), Response> {
    let id = component_id(raw).map_err(|e| s.fail(e))?;
    let c = s
        .ctx
        .state
        .service
        .get_component(s.actor(), id)
        .await
        .map_err(|e| s.fail(e))?;
    Ok((c, groups(s).await?))
}

fn edit_page(
    s: &Signed,
    c: &Component,
    values: &Values,
    errors: &ValidationErrors,
    groups: &[ComponentGroup],
) -> Markup {
    let base = format!("/components/{}", c.id);
    html! {
        @if s.can(Action::SetComponentStatus) {
            (component_form(s, &s.ctx.href(&base), values, errors, groups, false))
        } @else {
            p { "Status: " (c.status.label()) }
        }
        @if s.can(Action::WriteComponent) {
            div.actions {
                (button_form(&s.ctx, &s.ctx.href(&format!("{base}/delete")), "Delete component", "danger"))
            }
        }
    }
}

/// `GET /dashboard/components/{id}`.
pub(crate) async fn show(s: Signed, Path(raw): Path<String>) -> Response {
    let (c, groups) = match load(&s, &raw).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let body = edit_page(&s, &c, &Values::of(&c), &ValidationErrors::new(), &groups);
    respond(&s, StatusCode::OK, &c.name, body)
}

/// `POST /dashboard/components/{id}`.
pub(crate) async fn update(
    s: Signed,
    Path(raw): Path<String>,
    Extension(Form(form)): Extension<Form>,
) -> Response {
    let (c, groups) = match load(&s, &raw).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let rerender = |errors: &ValidationErrors| {
        let body = edit_page(&s, &c, &Values::from_form(&form), errors, &groups);
        respond(&s, StatusCode::UNPROCESSABLE_ENTITY, &c.name, body)
    };
    let input = match component_input(&form) {
        Ok(i) => i,
        Err(errors) => return rerender(&errors),
    };
    match s
        .ctx
        .state
        .service
        .update_component_from(s.actor(), c.id, input, StatusSource::Dashboard)
        .await
    {
        Ok(c) => s.ctx.redirect(&format!("/components/{}", c.id)),
        Err(Error::Invalid(errors)) => rerender(&errors),
        Err(e) => s.fail(e),
    }
}

/// `POST /dashboard/components/{id}/delete`.
pub(crate) async fn delete(s: Signed, Path(raw): Path<String>) -> Response {
    let id = match component_id(&raw) {
        Ok(id) => id,
        Err(e) => return s.fail(e),
    };
    match s.ctx.state.service.delete_component(s.actor(), id).await {
        Ok(()) => s.ctx.redirect("/components"),
        Err(e) => s.fail(e),
    }
}
