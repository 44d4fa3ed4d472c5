//! The dashboard's layout and form pieces. maud escapes every value; sanitized HTML from
//! core (`SafeHtml`) and the QR code SVG core renders are the only markup written as is.

use cachet_core::error::ValidationErrors;
use cachet_core::policy::{decide, Action};
use cachet_core::service::ActiveSession;
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::Ctx;
use crate::page::assets::{DASHBOARD_STYLESHEET, ICON, STYLESHEET};

/// The sections of the dashboard, each shown to those who may read it.
const NAV: &[(&str, &str, Action)] = &[
    ("/incidents", "Incidents", Action::ReadPrivate),
    ("/components", "Components", Action::ReadPrivate),
    ("/groups", "Groups", Action::ReadPrivate),
    ("/maintenance", "Maintenance", Action::ReadPrivate),
    ("/metrics", "Metrics", Action::ReadPrivate),
    ("/templates", "Templates", Action::ReadPrivate),
    ("/subscribers", "Subscribers", Action::ReadSubscribers),
    ("/deliveries", "Deliveries", Action::ReadSubscribers),
    ("/webhooks", "Webhooks", Action::ManageWebhooks),
    ("/users", "Users", Action::ReadUsers),
    ("/tokens", "API tokens", Action::WriteTokens),
    ("/settings", "Settings", Action::ReadSettings),
    ("/audit", "Audit log", Action::ReadAudit),
];

/// The frame of every dashboard page. `signed` adds the navigation and the sign-out button.
pub(crate) fn layout(
    ctx: &Ctx,
    signed: Option<&ActiveSession>,
    title: &str,
    main: Markup,
) -> Markup {
    let app = ctx.app_name();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                meta name="referrer" content="same-origin";
                title { (title) " · " (app) " dashboard" }
                link rel="stylesheet" href=(STYLESHEET.href(&ctx.base)) integrity=(STYLESHEET.integrity);
                link rel="stylesheet" href=(DASHBOARD_STYLESHEET.href(&ctx.base)) integrity=(DASHBOARD_STYLESHEET.integrity);
                link rel="icon" type="image/svg+xml" href=(ICON.href(&ctx.base));
            }
            body.dashboard {
                a.skip href="#main" { "Skip to content" }
                header.site-header {
                    div.wrap.dash-bar {
                        a.brand href=(ctx.href("")) { (app) " dashboard" }
                        @if let Some(active) = signed {
                            nav.dash-nav aria-label="Dashboard" {
                                @if !active.must_enroll_2fa {
                                    @for (path, label, action) in NAV {
                                        @if decide(&active.actor, *action).is_allowed() {
                                            a href=(ctx.href(path)) { (label) }
                                        }
                                    }
                                }
                                a href=(ctx.href("/account")) { "Account" }
                                a href=(public_home(ctx)) { "Status page" }
                                form.inline method="post" action=(ctx.href("/logout")) {
                                    (csrf_field(ctx))
                                    button.link type="submit" { "Sign out " (active.user.username) }
                                }
                            }
                        }
                    }
                }
                main #main .wrap {
                    h1 { (title) }
                    (main)
                }
            }
        }
    }
}

fn public_home(ctx: &Ctx) -> String {
    if ctx.base.is_empty() {
        "/".to_string()
    } else {
        ctx.base.clone()
    }
}

/// A page that only says something (errors, refusals, confirmations).
pub(crate) fn message(
    ctx: &Ctx,
    signed: Option<&ActiveSession>,
    title: &str,
    message: &str,
) -> Markup {
    layout(
        ctx,
        signed,
        title,
        html! {
            p.message { (message) }
            p { a href=(ctx.href("")) { "Back to the dashboard" } }
        },
    )
}

/// The hidden CSRF field every form carries.
pub(crate) fn csrf_field(ctx: &Ctx) -> Markup {
    html! { input type="hidden" name="csrf" value=(ctx.csrf_token()); }
}

/// The problems with one field, if any.
pub(crate) fn field_errors(errors: &ValidationErrors, field: &str) -> Markup {
    html! {
        @for e in errors.errors().iter().filter(|e| e.field == field) {
            p.field-error id={ "err-" (field) } { (e.message) }
        }
    }
}

/// Problems that belong to no field shown on the form.
pub(crate) fn other_errors(errors: &ValidationErrors, shown: &[&str]) -> Markup {
    html! {
        @let rest: Vec<_> = errors.errors().iter().filter(|e| !shown.contains(&e.field.as_str())).collect();
        @if !rest.is_empty() {
            div.form-errors role="alert" {
                @for e in rest { p { (e.message) } }
            }
        }
    }
}

/// A labelled text input.
pub(crate) fn text_input(
    label: &str,
    name: &str,
    value: &str,
    errors: &ValidationErrors,
    required: bool,
) -> Markup {
    let invalid = errors.has(name);
    html! {
        div.field {
            label for=(name) { (label) }
            input type="text" id=(name) name=(name) value=(value) required[required]
                aria-invalid=[invalid.then_some("true")]
                aria-describedby=[invalid.then(|| format!("err-{name}"))];
            (field_errors(errors, name))
        }
    }
}

/// A labelled textarea.
pub(crate) fn textarea(label: &str, name: &str, value: &str, errors: &ValidationErrors) -> Markup {
    textarea_in("", label, name, value, errors)
}

/// The element id of field `name` in a form whose fields are prefixed `form` (a page with
/// two forms that share field names keeps its ids unique).
fn field_id(form: &str, name: &str) -> String {
    if form.is_empty() {
        name.to_string()
    } else {
        format!("{form}-{name}")
    }
}

/// [`textarea`] in a form whose ids are prefixed `form`.
pub(crate) fn textarea_in(
    form: &str,
    label: &str,
    name: &str,
    value: &str,
    errors: &ValidationErrors,
) -> Markup {
    let id = field_id(form, name);
    html! {
        div.field {
            label for=(id) { (label) }
            textarea id=(id) name=(name) rows="8" { (value) }
            (field_errors(errors, name))
        }
    }
}

/// A labelled select of `(value, label)` options.
pub(crate) fn select(
    label: &str,
    name: &str,
    options: &[(String, String)],
    selected: &str,
    errors: &ValidationErrors,
) -> Markup {
    select_in("", label, name, options, selected, errors)
}

/// [`select`] in a form whose ids are prefixed `form`.
pub(crate) fn select_in(
    form: &str,
    label: &str,
    name: &str,
    options: &[(String, String)],
    selected: &str,
    errors: &ValidationErrors,
) -> Markup {
    let id = field_id(form, name);
    html! {
        div.field {
            label for=(id) { (label) }
            select id=(id) name=(name) {
                @for (value, text) in options {
                    option value=(value) selected[value == selected] { (text) }
                }
            }
            (field_errors(errors, name))
        }
    }
}

/// A checkbox that always sends a value: `0` from the hidden field, `1` when ticked (the
/// last value of a name wins), so an edit can turn it off.
pub(crate) fn checkbox(label: &str, name: &str, checked: bool) -> Markup {
    html! {
        div.field.check {
            input type="hidden" name=(name) value="0";
            input type="checkbox" id=(name) name=(name) value="1" checked[checked];
            label for=(name) { (label) }
        }
    }
}

/// A one-button form (delete, sign out elsewhere) that posts to `action`.
pub(crate) fn button_form(ctx: &Ctx, action: &str, label: &str, class: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf_field(ctx))
            button type="submit" class=(class) { (label) }
        }
    }
}

/// Previous/next links of a paged list.
pub(crate) fn pager(href: &str, page: u32, per_page: u32, total: u64) -> Markup {
    let pages = total.div_ceil(u64::from(per_page.max(1))).max(1);
    // `href` may carry a query of its own (a filter).
    let join = if href.contains('?') { '&' } else { '?' };
    html! {
        nav.pager aria-label="Pages" {
            @if page > 1 {
                a rel="prev" href={ (href) (join) "page=" (page - 1) } { "Newer" }
            }
            span { "Page " (page) " of " (pages) }
            @if u64::from(page) < pages {
                a rel="next" href={ (href) (join) "page=" (page + 1) } { "Older" }
            }
        }
    }
}

/// SVG markup rendered by core (the QR code of a TOTP enrollment), without its XML
/// declaration. Nothing typed by a user is in it.
pub(crate) fn trusted_svg(svg: &str) -> PreEscaped<String> {
    let start = svg.find("<svg").unwrap_or(0);
    PreEscaped(svg[start..].to_string())
}
