//! Admin pages: users and roles, API tokens (the secret shown once), subscribers, settings
//! and the audit log. The service checks every call against the role matrix; the pages only
//! leave out what the user may not do.

use axum::extract::{Extension, Path, RawQuery};
use axum::http::StatusCode;
use axum::response::Response;
use cachet_core::enums::Role;
use cachet_core::error::{Entity, ValidationErrors};
use cachet_core::ids::{SubscriberId, TokenId, UserId};
use cachet_core::input::{SubscriberInput, TokenInput, UserInput};
use cachet_core::model::User;
use cachet_core::notify::{DeliveryState, Target};
use cachet_core::policy::Action;
use cachet_core::store::{
    AuditFilter, AuditSort, DeliveryFilter, DeliverySort, ListQuery, Order, SubscriberSort,
    MAX_PER_PAGE,
};
use cachet_core::Error;
use maud::html;

use super::crud::{flag, form, respond, table, typed, Field, Values};
use super::view::{button_form, pager};
use super::{form_field, page_number, path_id, Form, Signed};
use crate::api::params::Params;

const PER_PAGE: u32 = 50;

pub(crate) fn when(s: &Signed, t: chrono::DateTime<chrono::Utc>) -> String {
    let zone = s.ctx.state.service.settings().app_timezone;
    t.with_timezone(&zone)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}

fn notice(query: Option<&str>, known: &[(&str, &'static str)]) -> Option<&'static str> {
    let p = Params::from_query(query).ok()?;
    let done = p.get("done")?.as_str()?.to_string();
    known.iter().find(|(k, _)| *k == done).map(|(_, m)| *m)
}

// ---------------------------------------------------------------------------- users

async fn all_users(s: &Signed) -> Result<Vec<User>, Response> {
    let q = ListQuery::new(1, MAX_PER_PAGE, ());
    s.ctx
        .state
        .service
        .list_users(s.actor(), &q)
        .await
        .map(|p| p.items)
        .map_err(|e| s.fail(e))
}

fn role_options() -> Vec<(String, String)> {
    Role::ALL
        .iter()
        .map(|r| (r.name().to_string(), r.label().to_string()))
        .collect()
}

fn new_user_fields() -> Vec<Field> {
    vec![
        Field::text("username", "Username").required(),
        Field::text("email", "Email").required(),
        Field::text("password", "Initial password (12 characters or more)").required(),
        Field::select("role", "Role", role_options()),
    ]
}

fn users_body(
    s: &Signed,
    users: &[User],
    values: &Values,
    errors: &ValidationErrors,
) -> maud::Markup {
    let rows: Vec<_> = users
        .iter()
        .map(|u| {
            (
                Some(format!("/users/{}", u.id)),
                vec![
                    u.username.clone(),
                    u.email.as_str().to_string(),
                    u.role.label().to_string(),
                    if u.active { "active" } else { "disabled" }.to_string(),
                    if u.has_2fa() { "on" } else { "off" }.to_string(),
                ],
            )
        })
        .collect();
    html! {
        (table(s, &["Username", "Email", "Role", "Account", "2FA"], &rows))
        @if s.can(Action::WriteUsers) {
            h2 { "Add a user" }
            (form(s, "/users", &new_user_fields(), values, errors, "Add user"))
        }
    }
}

/// `GET /dashboard/users`.
pub(crate) async fn users(s: Signed) -> Response {
    let users = match all_users(&s).await {
        Ok(u) => u,
        Err(res) => return res,
    };
    let values = Values::from([("role", Role::Viewer.name().to_string())]);
    let body = users_body(&s, &users, &values, &ValidationErrors::new());
    respond(&s, StatusCode::OK, "Users", body)
}

/// `POST /dashboard/users`.
pub(crate) async fn create_user(s: Signed, Extension(Form(form)): Extension<Form>) -> Response {
    let mut shape = ValidationErrors::new();
    let username = form_field(&form, "username", &mut shape);
    let email = form_field(&form, "email", &mut shape);
    let password = form_field(&form, "password", &mut shape);
    let role = Role::from_name(&form_field(&form, "role", &mut shape));
    let rerender = |errors: &ValidationErrors, users: &[User]| {
        let mut values = typed(&form, &new_user_fields());
        // A password is never sent back.
        values.remove("password");
        respond(
            &s,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Users",
            users_body(&s, users, &values, errors),
        )
    };
    if role.is_none() {
        shape.add("role", "The selected role is invalid.");
    }
    let (Some(role), true) = (role, shape.is_empty()) else {
        let users = match all_users(&s).await {
            Ok(u) => u,
            Err(res) => return res,
        };
        return rerender(&shape, &users);
    };
    let input = UserInput {
        username,
        email,
        password,
        role,
    };
    match s.ctx.state.service.create_user(s.actor(), input).await {
        Ok(u) => s.ctx.redirect(&format!("/users/{}", u.id)),
        Err(Error::Invalid(errors)) => match all_users(&s).await {
            Ok(users) => rerender(&errors, &users),
            Err(res) => res,
        },
        Err(e) => s.fail(e),
    }
}

async fn find_user(s: &Signed, raw: &str) -> Result<User, Response> {
    let id = path_id(raw).ok_or_else(|| s.fail(Error::NotFound(Entity::User)))?;
    all_users(s)
        .await?
        .into_iter()
        .find(|u| u.id == UserId(id))
        .ok_or_else(|| s.fail(Error::NotFound(Entity::User)))
}

/// `GET /dashboard/users/{id}`.
pub(crate) async fn show_user(s: Signed, Path(raw): Path<String>) -> Response {
    let u = match find_user(&s, &raw).await {
        Ok(u) => u,
        Err(res) => return res,
    };
    let fields = vec![
        Field::select("role", "Role", role_options()),
        Field::check("active", "Active (may sign in and use tokens)"),
    ];
    let values = Values::from([
        ("role", u.role.name().to_string()),
        ("active", flag(u.active)),
    ]);
    let path = format!("/users/{}", u.id);
    let body = html! {
        p { (u.email.as_str()) " · two-factor authentication " (if u.has_2fa() { "on" } else { "off" }) }
        @if s.can(Action::WriteUsers) {
            (form(&s, &path, &fields, &values, &ValidationErrors::new(), "Save"))
            @if u.has_2fa() && Some(u.id) != s.actor().user_id() {
                div.actions {
                    (button_form(&s.ctx, &s.ctx.href(&format!("{path}/reset-2fa")), "Reset two-factor authentication", "danger"))
                }
            }
        }
    };
    respond(&s, StatusCode::OK, &u.username, body)
}

/// `POST /dashboard/users/{id}`: role and active flag (their sessions end).
pub(crate) async fn update_user(
    s: Signed,
    Path(raw): Path<String>,
    Extension(Form(form)): Extension<Form>,
) -> Response {
    let Some(id) = path_id(&raw).map(UserId) else {
        return s.fail(Error::NotFound(Entity::User));
    };
    let mut shape = ValidationErrors::new();
    let role = Role::from_name(&form_field(&form, "role", &mut shape));
    let active = form_field(&form, "active", &mut shape) == "1";
    let Some(role) = role.filter(|_| shape.is_empty()) else {
        if !shape.has("role") {
            shape.add("role", "The selected role is invalid.");
        }
        return s.fail(Error::Invalid(shape));
    };
    match s
        .ctx
        .state
        .service
        .update_user(s.actor(), id, Some(role), Some(active))
        .await
    {
        Ok(u) => s.ctx.redirect(&format!("/users/{}", u.id)),
        Err(e) => s.fail(e),
    }
}

/// `POST /dashboard/users/{id}/reset-2fa`.
pub(crate) async fn reset_user_2fa(s: Signed, Path(raw): Path<String>) -> Response {
    let Some(id) = path_id(&raw).map(UserId) else {
        return s.fail(Error::NotFound(Entity::User));
    };
    match s.ctx.state.service.reset_2fa(s.actor(), id).await {
        Ok(u) => s.ctx.redirect(&format!("/users/{}", u.id)),
        Err(e) => s.fail(e),
    }
}

// ---------------------------------------------------------------------------- tokens

async fn token_fields(s: &Signed) -> Result<Vec<Field>, Response> {
    let users = all_users(s).await?;
    Ok(vec![
        Field::select(
            "user",
            "For user",
            users
                .iter()
                .map(|u| (u.id.to_string(), u.username.clone()))
                .collect(),
        ),
        Field::text("name", "Label").required(),
        Field::text(
            "abilities",
            "Abilities (optional, comma-separated, to narrow the role)",
        ),
        Field::text("expires_in_days", "Expires in days (optional)"),
    ])
}

async fn tokens_page(
    s: &Signed,
    status: StatusCode,
    values: &Values,
    errors: &ValidationErrors,
    created: Option<&str>,
) -> Response {
    let fields = match token_fields(s).await {
        Ok(f) => f,
        Err(res) => return res,
    };
    let tokens = match s.ctx.state.service.list_tokens(s.actor(), None).await {
        Ok(t) => t,
        Err(e) => return s.fail(e),
    };
    let body = html! {
        @if let Some(secret) = created {
            section.card role="status" {
                h2 { "New token" }
                p { "Copy it now: it is shown only once and stored only as a digest." }
                p { code #new-token { (secret) } }
            }
        }
        table.list {
            thead { tr { th { "Label" } th { "Prefix" } th { "User" } th { "Abilities" } th { "Expires" } th { "Last used" } th { "" } } }
            tbody {
                @for t in &tokens {
                    tr {
                        td { (t.name) }
                        td { code { (t.prefix) } }
                        td { (t.user_id) }
                        td { (t.abilities.map_or_else(|| "all of the role".to_string(), |a| a.iter().map(|x| x.name()).collect::<Vec<_>>().join(", "))) }
                        td { (t.expires_at.map_or_else(|| "never".to_string(), |x| when(s, x))) }
                        td { (t.last_used_at.map_or_else(|| "never".to_string(), |x| when(s, x))) }
                        td {
                            @if let Some(at) = t.revoked_at {
                                "revoked " (when(s, at))
                            } @else {
                                (button_form(&s.ctx, &s.ctx.href(&format!("/tokens/{}/revoke", t.id)), "Revoke", "danger"))
                            }
                        }
                    }
                }
            }
        }
        h2 { "Create a token" }
        (form(s, "/tokens", &fields, values, errors, "Create token"))
    };
    let mut res = respond(s, status, "API tokens", body);
    // The page with a fresh secret must never be kept by anything.
    res.headers_mut().insert(
        axum::http::header::PRAGMA,
        axum::http::HeaderValue::from_static("no-cache"),
    );
    res
}

/// `GET /dashboard/tokens`.
pub(crate) async fn tokens(s: Signed) -> Response {
    if !s.can(Action::WriteTokens) {
        return s.fail(Error::Forbidden);
    }
    tokens_page(
        &s,
        StatusCode::OK,
        &Values::new(),
        &ValidationErrors::new(),
        None,
    )
    .await
}

/// `POST /dashboard/tokens`: the secret is on the answer page, once.
pub(crate) async fn create_token(s: Signed, Extension(Form(form)): Extension<Form>) -> Response {
    let mut errors = ValidationErrors::new();
    let user = path_id(&form_field(&form, "user", &mut errors)).map(UserId);
    if user.is_none() {
        errors.add("user", "The user field is required.");
    }
    let days = form_field(&form, "expires_in_days", &mut errors);
    let expires_at = match days.trim() {
        "" => None,
        d => match d.parse::<i64>() {
            Ok(n) if (1..=3650).contains(&n) => {
                Some(chrono::Utc::now() + chrono::Duration::days(n))
            }
            _ => {
                errors.add(
                    "expires_in_days",
                    "The expires in days must be a whole number from 1 to 3650.",
                );
                None
            }
        },
    };
    let abilities = form_field(&form, "abilities", &mut errors);
    let input = TokenInput {
        name: form_field(&form, "name", &mut errors),
        abilities: (!abilities.trim().is_empty()).then_some(abilities),
        expires_at,
    };
    let result = match (user, errors.is_empty()) {
        (Some(user), true) => {
            s.ctx
                .state
                .service
                .create_token(s.actor(), user, input)
                .await
        }
        _ => Err(Error::Invalid(errors)),
    };
    let fields = match token_fields(&s).await {
        Ok(f) => f,
        Err(res) => return res,
    };
    match result {
        Ok((_, secret)) => {
            tokens_page(
                &s,
                StatusCode::OK,
                &Values::new(),
                &ValidationErrors::new(),
                Some(&secret),
            )
            .await
        }
        Err(Error::Invalid(errors)) => {
            tokens_page(
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                &typed(&form, &fields),
                &errors,
                None,
            )
            .await
        }
        Err(e) => s.fail(e),
    }
}

/// `POST /dashboard/tokens/{id}/revoke`.
pub(crate) async fn revoke_token(s: Signed, Path(raw): Path<String>) -> Response {
    let Some(id) = path_id(&raw).map(TokenId) else {
        return s.fail(Error::NotFound(Entity::Token));
    };
    match s.ctx.state.service.revoke_token(s.actor(), id).await {
        Ok(_) => s.ctx.redirect("/tokens"),
        Err(e) => s.fail(e),
    }
}

// ---------------------------------------------------------------------------- subscribers

fn subscriber_fields() -> Vec<Field> {
    vec![
        Field::text("email", "Email").required(),
        Field::check("verify", "Mark as verified (they asked in person)"),
    ]
}

async fn subscribers_page(
    s: &Signed,
    status: StatusCode,
    page_no: u32,
    values: &Values,
    errors: &ValidationErrors,
) -> Response {
    let mut q = ListQuery::new(page_no, PER_PAGE, ());
    q.sort = Some((SubscriberSort::Id, Order::Desc));
    let result = match s.ctx.state.service.list_subscribers(s.actor(), &q).await {
        Ok(p) => p,
        Err(e) => return s.fail(e),
    };
    let body = html! {
        table.list {
            thead { tr { th { "Email" } th { "Verified" } th { "Subscribed to" } th { "" } } }
            tbody {
                @for sub in &result.items {
                    tr {
                        td { (sub.email.as_str()) }
                        td { (sub.verified_at.map_or_else(|| "no".to_string(), |t| when(s, t))) }
                        td { (if sub.global { "everything".to_string() } else { format!("{} components", sub.subscriptions.len()) }) }
                        td {
                            @if s.can(Action::WriteSubscribers) {
                                (button_form(&s.ctx, &s.ctx.href(&format!("/subscribers/{}/delete", sub.id)), "Delete", "danger"))
                            }
                        }
                    }
                }
            }
        }
        (pager(&s.ctx.href("/subscribers"), page_no, PER_PAGE, result.total))
        @if s.can(Action::WriteSubscribers) {
            h2 { "Add a subscriber" }
            (form(s, "/subscribers", &subscriber_fields(), values, errors, "Add subscriber"))
        }
    };
    respond(s, status, "Subscribers", body)
}

/// `GET /dashboard/subscribers?page=N` (Admin only: personal data).
pub(crate) async fn subscribers(s: Signed, RawQuery(query): RawQuery) -> Response {
    let values = Values::new();
    subscribers_page(
        &s,
        StatusCode::OK,
        page_number(query.as_deref()),
        &values,
        &ValidationErrors::new(),
    )
    .await
}

/// `POST /dashboard/subscribers`.
pub(crate) async fn create_subscriber(
    s: Signed,
    Extension(Form(form)): Extension<Form>,
) -> Response {
    let mut shape = ValidationErrors::new();
    let input = SubscriberInput {
        email: Some(form_field(&form, "email", &mut shape)),
        verify: Some(form_field(&form, "verify", &mut shape) == "1"),
        components: None,
    };
    let result = if shape.is_empty() {
        s.ctx
            .state
            .service
            .create_subscriber(s.actor(), input)
            .await
    } else {
        Err(Error::Invalid(shape))
    };
    match result {
        Ok(_) => s.ctx.redirect("/subscribers"),
        Err(Error::Invalid(errors)) => {
            subscribers_page(
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                1,
                &typed(&form, &subscriber_fields()),
                &errors,
            )
            .await
        }
        Err(e) => s.fail(e),
    }
}

/// `POST /dashboard/subscribers/{id}/delete`.
pub(crate) async fn delete_subscriber(s: Signed, Path(raw): Path<String>) -> Response {
    let Some(id) = path_id(&raw).map(SubscriberId) else {
        return s.fail(Error::NotFound(Entity::Subscriber));
    };
    match s.ctx.state.service.delete_subscriber(s.actor(), id).await {
        Ok(()) => s.ctx.redirect("/subscribers"),
        Err(e) => s.fail(e),
    }
}

// ---------------------------------------------------------------------------- settings

async fn settings_page(
    s: &Signed,
    status: StatusCode,
    values: &Values,
    errors: &ValidationErrors,
    done: Option<&str>,
) -> Response {
    let fields: Vec<Field> = cachet_core::settings::KEYS
        .iter()
        .map(|k| Field::text(k, k))
        .collect();
    let body = html! {
        @if let Some(d) = done { p.notice role="status" { (d) } }
        @if s.can(Action::WriteSettings) {
            (form(s, "/settings", &fields, values, errors, "Save settings"))
        } @else {
            table.list { tbody { @for f in &fields { tr { th { (f.name) } td { (values.get(f.name).map_or("", String::as_str)) } } } } }
        }
    };
    respond(s, status, "Settings", body)
}

fn current_settings(s: &Signed) -> Values {
    s.ctx
        .state
        .service
        .settings()
        .to_pairs()
        .into_iter()
        .collect()
}

/// `GET /dashboard/settings`.
pub(crate) async fn settings(s: Signed, RawQuery(query): RawQuery) -> Response {
    if !s.can(Action::ReadSettings) {
        return s.fail(Error::Forbidden);
    }
    let done = notice(query.as_deref(), &[("saved", "Settings saved.")]);
    settings_page(
        &s,
        StatusCode::OK,
        &current_settings(&s),
        &ValidationErrors::new(),
        done,
    )
    .await
}

/// `POST /dashboard/settings`: only what changed is saved (and audited by name).
pub(crate) async fn save_settings(s: Signed, Extension(Form(form)): Extension<Form>) -> Response {
    let current = current_settings(&s);
    let mut shape = ValidationErrors::new();
    let changed: Vec<(String, String)> = cachet_core::settings::KEYS
        .iter()
        .filter(|k| form.has(k))
        .map(|k| (k.to_string(), form_field(&form, k, &mut shape)))
        .filter(|(k, v)| current.get(k.as_str()) != Some(v))
        .collect();
    if !shape.is_empty() {
        return settings_page(&s, StatusCode::UNPROCESSABLE_ENTITY, &current, &shape, None).await;
    }
    if changed.is_empty() {
        return s.ctx.redirect("/settings?done=saved");
    }
    match s
        .ctx
        .state
        .service
        .update_settings(s.actor(), &changed)
        .await
    {
        Ok(_) => s.ctx.redirect("/settings?done=saved"),
        Err(Error::Invalid(errors)) => {
            let mut values = current;
            for (k, v) in &changed {
                if let Some(key) = cachet_core::settings::KEYS
                    .iter()
                    .find(|x| **x == k.as_str())
                {
                    values.insert(key, v.clone());
                }
            }
            settings_page(&s, StatusCode::UNPROCESSABLE_ENTITY, &values, &errors, None).await
        }
        Err(e) => s.fail(e),
    }
}

// ---------------------------------------------------------------------------- deliveries

/// The `state` filter of the deliveries page (anything unknown shows every state).
fn delivery_state(query: Option<&str>) -> Option<DeliveryState> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "state")
        .and_then(|(_, v)| DeliveryState::parse(&v))
}

/// `GET /dashboard/deliveries?state=S&page=N`: the notification outbox, newest first,
/// with each delivery's attempts and last error (Admins: deliveries name subscribers).
pub(crate) async fn deliveries(s: Signed, RawQuery(query): RawQuery) -> Response {
    let page_no = page_number(query.as_deref());
    let state = delivery_state(query.as_deref());
    let mut q = ListQuery::new(
        page_no,
        PER_PAGE,
        DeliveryFilter {
            state,
            ..DeliveryFilter::default()
        },
    );
    q.sort = Some((DeliverySort::Id, Order::Desc));
    let result = match s.ctx.state.service.list_deliveries(s.actor(), &q).await {
        Ok(p) => p,
        Err(e) => return s.fail(e),
    };
    let rows: Vec<_> = result
        .items
        .iter()
        .map(|d| {
            let to = match d.target {
                Target::Subscriber(id) => format!("subscriber {id}"),
                Target::Webhook(id) => format!("webhook {id}"),
            };
            let when_next = match d.state {
                DeliveryState::Pending => format!("next try {}", when(&s, d.next_attempt_at)),
                DeliveryState::Delivered => d
                    .delivered_at
                    .map(|t| format!("sent {}", when(&s, t)))
                    .unwrap_or_default(),
                DeliveryState::Failed | DeliveryState::Dropped => String::new(),
            };
            (
                None,
                vec![
                    when(&s, d.created_at),
                    d.notice.event.as_str().to_string(),
                    d.notice.subject.clone(),
                    to,
                    d.state.as_str().to_string(),
                    d.attempts.to_string(),
                    when_next,
                    d.last_error.clone().unwrap_or_default(),
                ],
            )
        })
        .collect();
    let base = s.ctx.href("/deliveries");
    let pager_base = match state {
        Some(st) => format!("{base}?state={}", st.as_str()),
        None => base.clone(),
    };
    let body = html! {
        nav.filters aria-label="Delivery states" {
            a href=(base) aria-current=[state.is_none().then_some("page")] { "All" }
            @for st in DeliveryState::ALL {
                " · "
                a href={ (base) "?state=" (st.as_str()) }
                    aria-current=[(state == Some(st)).then_some("page")] { (st.as_str()) }
            }
        }
        (table(
            &s,
            &["Queued", "Event", "Subject", "To", "State", "Attempts", "When", "Last error"],
            &rows,
        ))
        (pager(&pager_base, page_no, PER_PAGE, result.total))
    };
    respond(&s, StatusCode::OK, "Deliveries", body)
}

// ---------------------------------------------------------------------------- audit

/// `GET /dashboard/audit?page=N`: newest first.
pub(crate) async fn audit(s: Signed, RawQuery(query): RawQuery) -> Response {
    let page_no = page_number(query.as_deref());
    let mut q = ListQuery::new(page_no, PER_PAGE, AuditFilter::default());
    q.sort = Some((AuditSort::Id, Order::Desc));
    let result = match s.ctx.state.service.list_audit(s.actor(), &q).await {
        Ok(p) => p,
        Err(e) => return s.fail(e),
    };
    let rows: Vec<_> = result
        .items
        .iter()
        .map(|e| {
            (
                None,
                vec![
                    when(&s, e.at),
                    e.user_id
                        .map_or_else(|| "system".to_string(), |u| format!("user {u}")),
                    e.kind.clone(),
                    e.detail.clone(),
                ],
            )
        })
        .collect();
    let body = html! {
        (table(&s, &["When", "Who", "What", "Detail"], &rows))
        (pager(&s.ctx.href("/audit"), page_no, PER_PAGE, result.total))
    };
    respond(&s, StatusCode::OK, "Audit log", body)
}
