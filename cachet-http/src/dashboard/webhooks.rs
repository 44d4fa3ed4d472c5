//! Webhook pages (Admins): register an endpoint (its secret shown once), change its URL,
//! events or state, give it a new secret, remove it. The rules are the service's
//! ([`cachet_core::webhook`]); its deliveries show on the Deliveries page.

use axum::extract::{Extension, Path};
use axum::http::StatusCode;
use axum::response::Response;
use cachet_core::error::{Entity, ValidationErrors};
use cachet_core::ids::WebhookId;
use cachet_core::policy::Action;
use cachet_core::webhook::{Webhook, WebhookInput, EVENTS};
use cachet_core::Error;
use maud::html;

use super::admin::when;
use super::crud::{flag, form, respond, typed, Field, Values};
use super::view::button_form;
use super::{path_id, Form, Signed};
use crate::api::params::Params;

fn fields() -> Vec<Field> {
    vec![
        Field::text(
            "url",
            "URL (the receiver's endpoint; https://, or http:// on your own network)",
        )
        .required(),
        Field::checks(
            "events",
            "Events",
            EVENTS
                .iter()
                .map(|e| (e.as_str().to_string(), e.as_str().to_string()))
                .collect(),
        ),
        Field::check("enabled", "Enabled"),
    ]
}

fn values(w: &Webhook) -> Values {
    Values::from([
        ("url", w.url.clone()),
        (
            "events",
            w.events
                .iter()
                .map(|e| e.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
        ("enabled", flag(w.enabled)),
    ])
}

/// The form's input: the events ticked (none is an error the service names), enabled when
/// ticked.
fn decode(form: &Params, errors: &mut ValidationErrors) -> WebhookInput {
    let url = super::form_field(form, "url", errors);
    let events = match form.get("events") {
        None => Vec::new(),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect(),
        Some(serde_json::Value::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect(),
        Some(_) => {
            errors.add("events", "The events must be a list of event names.");
            Vec::new()
        }
    };
    WebhookInput {
        url: Some(url),
        events: Some(events),
        enabled: Some(super::form_text(form, "enabled") == "1"),
    }
}

async fn list_page(
    s: &Signed,
    status: StatusCode,
    values: &Values,
    errors: &ValidationErrors,
    created: Option<(&Webhook, &str)>,
) -> Response {
    let hooks = match s.ctx.state.service.list_webhooks(s.actor()).await {
        Ok(h) => h,
        Err(e) => return s.fail(e),
    };
    let body = html! {
        @if let Some((w, secret)) = created {
            (secret_card(w, secret))
        }
        p { "Each delivery is a signed POST; docs/webhooks.md in the cachet-rs repository \
             shows how a receiver verifies it. Receivers on private or loopback addresses \
             need the server's webhook allowlist (--webhook-allow)." }
        table.list {
            thead { tr { th { "URL" } th { "Events" } th { "State" } th { "Created" } } }
            tbody {
                @for w in &hooks {
                    tr {
                        td { a href=(s.ctx.href(&format!("/webhooks/{}", w.id))) { (w.url) } }
                        td { (w.events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", ")) }
                        td { @if w.enabled { "enabled" } @else { "disabled" } }
                        td { (when(s, w.created_at)) }
                    }
                }
            }
        }
        h2 { "Register a webhook" }
        (form(s, "/webhooks", &fields(), values, errors, "Register"))
    };
    no_store(respond(s, status, "Webhooks", body))
}

fn secret_card(w: &Webhook, secret: &str) -> maud::Markup {
    html! {
        section.card role="status" {
            h2 { "Signing secret of " (w.url) }
            p { "Copy it now into the receiver: it is shown only once." }
            p { code #new-secret { (secret) } }
        }
    }
}

/// A page with a fresh secret must never be kept by anything.
fn no_store(mut res: Response) -> Response {
    res.headers_mut().insert(
        axum::http::header::PRAGMA,
        axum::http::HeaderValue::from_static("no-cache"),
    );
    res
}

/// `GET /dashboard/webhooks`.
pub(crate) async fn list(s: Signed) -> Response {
    if !s.can(Action::ManageWebhooks) {
        return s.fail(Error::Forbidden);
    }
    let defaults = Values::from([("enabled", flag(true))]);
    list_page(
        &s,
        StatusCode::OK,
        &defaults,
        &ValidationErrors::new(),
        None,
    )
    .await
}

/// `POST /dashboard/webhooks`: the secret is on the answer page, once.
pub(crate) async fn create(s: Signed, Extension(Form(form)): Extension<Form>) -> Response {
    let mut errors = ValidationErrors::new();
    let input = decode(&form, &mut errors);
    let result = if errors.is_empty() {
        s.ctx.state.service.create_webhook(s.actor(), input).await
    } else {
        Err(Error::Invalid(errors))
    };
    match result {
        Ok(made) => {
            list_page(
                &s,
                StatusCode::OK,
                &Values::from([("enabled", flag(true))]),
                &ValidationErrors::new(),
                Some((&made.webhook, &made.secret)),
            )
            .await
        }
        Err(Error::Invalid(errors)) => {
            list_page(
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                &typed(&form, &fields()),
                &errors,
                None,
            )
            .await
        }
        Err(e) => s.fail(e),
    }
}

async fn find(s: &Signed, raw: &str) -> Result<Webhook, Response> {
    let Some(id) = path_id(raw).map(WebhookId) else {
        return Err(s.fail(Error::NotFound(Entity::Webhook)));
    };
    s.ctx
        .state
        .service
        .get_webhook(s.actor(), id)
        .await
        .map_err(|e| s.fail(e))
}

fn item_page(
    s: &Signed,
    status: StatusCode,
    w: &Webhook,
    values: &Values,
    errors: &ValidationErrors,
    secret: Option<&str>,
) -> Response {
    let base = format!("/webhooks/{}", w.id);
    let body = html! {
        @if let Some(secret) = secret {
            (secret_card(w, secret))
        }
        (form(s, &base, &fields(), values, errors, "Save"))
        div.actions {
            (button_form(&s.ctx, &s.ctx.href(&format!("{base}/rotate")), "New secret", ""))
            (button_form(&s.ctx, &s.ctx.href(&format!("{base}/delete")), "Remove", "danger"))
        }
        p { a href=(s.ctx.href("/deliveries")) { "Deliveries" } }
    };
    no_store(respond(s, status, "Webhook", body))
}

/// `GET /dashboard/webhooks/{id}`.
pub(crate) async fn show(s: Signed, Path(raw): Path<String>) -> Response {
    match find(&s, &raw).await {
        Ok(w) => item_page(
            &s,
            StatusCode::OK,
            &w,
            &values(&w),
            &ValidationErrors::new(),
            None,
        ),
        Err(res) => res,
    }
}

/// `POST /dashboard/webhooks/{id}`.
pub(crate) async fn update(
    s: Signed,
    Path(raw): Path<String>,
    Extension(Form(form)): Extension<Form>,
) -> Response {
    let w = match find(&s, &raw).await {
        Ok(w) => w,
        Err(res) => return res,
    };
    let mut errors = ValidationErrors::new();
    let input = decode(&form, &mut errors);
    let result = if errors.is_empty() {
        s.ctx
            .state
            .service
            .update_webhook(s.actor(), w.id, input)
            .await
    } else {
        Err(Error::Invalid(errors))
    };
    match result {
        Ok(_) => s.ctx.redirect("/webhooks"),
        Err(Error::Invalid(errors)) => item_page(
            &s,
            StatusCode::UNPROCESSABLE_ENTITY,
            &w,
            &typed(&form, &fields()),
            &errors,
            None,
        ),
        Err(e) => s.fail(e),
    }
}

/// `POST /dashboard/webhooks/{id}/rotate`: the new secret is on the answer page, once.
pub(crate) async fn rotate(s: Signed, Path(raw): Path<String>) -> Response {
    let w = match find(&s, &raw).await {
        Ok(w) => w,
        Err(res) => return res,
    };
    match s
        .ctx
        .state
        .service
        .rotate_webhook_secret(s.actor(), w.id)
        .await
    {
        Ok(made) => item_page(
            &s,
            StatusCode::OK,
            &made.webhook,
            &values(&made.webhook),
            &ValidationErrors::new(),
            Some(&made.secret),
        ),
        Err(e) => s.fail(e),
    }
}

/// `POST /dashboard/webhooks/{id}/delete`.
pub(crate) async fn delete(s: Signed, Path(raw): Path<String>) -> Response {
    let Some(id) = path_id(&raw).map(WebhookId) else {
        return s.fail(Error::NotFound(Entity::Webhook));
    };
    match s.ctx.state.service.delete_webhook(s.actor(), id).await {
        Ok(()) => s.ctx.redirect("/webhooks"),
        Err(e) => s.fail(e),
    }
}
