//! The public subscription pages. Anyone may ask for mail; only the owner of the address,
//! through the signed links mailed to it, may confirm, change or end a subscription (the
//! rules are the service's: [`StatusPage::subscribe`](cachet_core::StatusPage::subscribe)
//! and the calls after it).
//!
//! - `GET /subscribe`: the form (an address, and public components to follow, none for
//!   everything). `POST /subscribe` answers "check your inbox" whether or not the address
//!   is subscribed already, so the page tells nobody who is: the same page, and at the
//!   same time ([`ANSWER_FLOOR`] after the request, the write going on behind it if it is
//!   slower), since a new address costs the store more than a known one.
//! - `GET /subscribe/verify/{token}`: asks to confirm; `POST` confirms (a link works once).
//! - `GET /subscribe/manage/{token}`: what the subscription follows; `POST` changes it.
//! - `GET /subscribe/unsubscribe/{token}`: asks to confirm; `POST` ends the subscription.
//!   The `POST` is also the one-click unsubscribe of RFC 8058 that mail providers send for
//!   the `List-Unsubscribe` header: it needs no form field and no origin.
//!
//! A `GET` never changes anything (mail scanners open links). Every `POST` but the
//! unsubscribe one counts against the client's `subscribe` rate limit. The subscribe and manage forms must come from a
//! page of this site (the origin check of the dashboard); the link token is what
//! authorizes the link pages, and they need no session, so the dashboard's CSRF token does
//! not apply. Responses are never cached: they are about one person.

// As in the dashboard: helpers return their refusal as a ready `Response`.
#![allow(clippy::result_large_err)]

use axum::extract::{OriginalUri, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use cachet_core::model::Subscriber;
use cachet_core::service::PageSnapshot;
use cachet_core::{Actor, Error, ValidationErrors};
use maud::{html, Markup};

use super::{base_path, view};
use crate::api::params::Params;
use crate::dashboard::csrf::same_origin;
use crate::dashboard::view::{field_errors, other_errors};
use crate::limits::{client_ip, retry_after_secs, ClientKey};
use crate::AppState;

/// When the answer to a subscribe post goes out, at the earliest.
pub(crate) const ANSWER_FLOOR: std::time::Duration = std::time::Duration::from_millis(300);

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/subscribe", get(ask).post(asked))
        .route("/subscribe/verify/{token}", get(verify_page).post(verify))
        .route("/subscribe/manage/{token}", get(manage_page).post(manage))
        .route(
            "/subscribe/unsubscribe/{token}",
            get(unsubscribe_page).post(unsubscribe),
        )
}

/// What every handler here knows of its request.
struct Here {
    state: AppState,
    base: String,
}

impl Here {
    fn of(state: AppState, original: &axum::http::Uri, seen: &axum::http::Uri) -> Here {
        Here {
            base: base_path(original, seen),
            state,
        }
    }

    fn href(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A page of this family: never cached. (Its URL may hold a link token; the router's
    /// `strict-origin-when-cross-origin` referrer policy sends other sites the origin only.
    /// `no-referrer` would be no safer, and browsers then send `Origin: null` with its forms,
    /// which the origin check refuses.)
    fn page(&self, status: StatusCode, title: &str, main: Markup) -> Response {
        let settings = self.state.service.settings();
        let html = view::form_page(
            &settings.app_name,
            settings.app_timezone,
            &self.base,
            title,
            main,
        );
        let mut res = (status, html.into_string()).into_response();
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }

    fn message(&self, status: StatusCode, title: &str, text: &str) -> Response {
        self.page(
            status,
            title,
            html! {
                div.card {
                    h1 { (title) }
                    p { (text) }
                    p { a href=(self.home()) { "Go to the status page" } }
                }
            },
        )
    }

    fn home(&self) -> String {
        if self.base.is_empty() {
            "/".into()
        } else {
            self.base.clone()
        }
    }

    /// The answer to a failed call: a refused link or form names why (400); the store
    /// being down is a 503 page.
    fn fail(&self, e: &Error) -> Response {
        match e {
            Error::Invalid(v) if v.has("token") => {
                let why = v
                    .errors()
                    .iter()
                    .find(|f| f.field == "token")
                    .map_or("The link is not valid.", |f| f.message.as_str());
                self.message(
                    StatusCode::BAD_REQUEST,
                    "This link does not work",
                    &format!(
                        "{why} Links in status mails work for a limited time; \
                         subscribe again to get a new one."
                    ),
                )
            }
            Error::Invalid(_) => self.message(
                StatusCode::BAD_REQUEST,
                "Not saved",
                "The form was not accepted.",
            ),
            other => {
                tracing::error!(error = %other, "subscription page failed");
                let mut res = self.message(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Temporarily unavailable",
                    "This could not be done just now. Please try again in a moment.",
                );
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
                res
            }
        }
    }

    /// Counts a post against the client's limit.
    fn limit(&self, parts: &Parts) -> Result<(), Response> {
        let client = ClientKey::of(client_ip(parts, &self.state.config));
        self.state
            .limiters
            .subscribe
            .check(&client)
            .map_err(|wait| {
                let secs = retry_after_secs(wait);
                let mut res = self.message(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many requests",
                    &format!("Too many requests from here. Try again in {secs} seconds."),
                );
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                res
            })
    }

    /// The rate limit, the origin check and the decoded form of a form post.
    async fn form(&self, req: Request) -> Result<Params, Response> {
        let (parts, body) = req.into_parts();
        self.limit(&parts)?;
        if !same_origin(&parts.headers) {
            return Err(self.message(
                StatusCode::FORBIDDEN,
                "Refused",
                "This form was not sent from a page of this site.",
            ));
        }
        let form_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|t| {
                t.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form_type {
            return Err(self.message(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported form",
                "This form is sent as application/x-www-form-urlencoded.",
            ));
        }
        let Ok(bytes) = axum::body::to_bytes(body, self.state.config.max_body_bytes).await else {
            return Err(self.message(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too large",
                "The form is larger than this server accepts.",
            ));
        };
        let mut params = Params::default();
        if params.merge_body(&parts.headers, &bytes).is_err() {
            return Err(self.message(
                StatusCode::BAD_REQUEST,
                "Malformed form",
                "The form's data could not be read (it is not valid UTF-8).",
            ));
        }
        Ok(params)
    }

    async fn snapshot(&self) -> Result<std::sync::Arc<PageSnapshot>, Response> {
        self.state
            .service
            .snapshot(&Actor::Guest)
            .await
            .map_err(|e| self.fail(&e))
    }
}

/// The form's choice of components: ids, or none for everything. A malformed list is an
/// error on `components`.
fn chosen(form: &Params, errors: &mut ValidationErrors) -> Option<Vec<i64>> {
    let mut fields = form.fields();
    let ids = fields.int_list("components");
    if let Err(e) = fields.done() {
        errors.extend(e);
    }
    ids
}

/// A single text field (a list or map where one value belongs is an error naming it).
fn text(form: &Params, name: &str, errors: &mut ValidationErrors) -> String {
    crate::dashboard::form_field(form, name, errors)
}

/// The component checkboxes: every public component, by group, `ticked` checked.
fn component_choice(snap: &PageSnapshot, ticked: &[i64], errors: &ValidationErrors) -> Markup {
    let check = |c: &cachet_core::model::Component| {
        let id = format!("component-{}", c.id);
        html! {
            div.check {
                input type="checkbox" id=(id) name="components[]" value=(c.id.get())
                    checked[ticked.contains(&c.id.get())];
                label for=(id) { (c.name) }
            }
        }
    };
    html! {
        fieldset.field {
            legend { "Components" }
            p.hint { "Tick the components you want to hear about, or none for everything." }
            @for c in &snap.ungrouped { (check(&c.component)) }
            @for g in &snap.groups {
                @if !g.components.is_empty() {
                    p.group-name { (g.group.name) }
                    @for c in &g.components { (check(&c.component)) }
                }
            }
            (field_errors(errors, "components"))
        }
    }
}

fn subscribe_form(
    here: &Here,
    snap: &PageSnapshot,
    email: &str,
    ticked: &[i64],
    errors: &ValidationErrors,
) -> Markup {
    let invalid = errors.has("email");
    html! {
        h1 { "Subscribe to updates" }
        p { "Get an email when something happens. We send a link to confirm your address first; \
             every mail has links to change what you receive or to unsubscribe." }
        form.card method="post" action=(here.href("/subscribe")) {
            (other_errors(errors, &["email", "components"]))
            div.field {
                label for="email" { "Email address" }
                input type="email" id="email" name="email" value=(email) required
                    autocomplete="email" maxlength="254"
                    aria-invalid=[invalid.then_some("true")]
                    aria-describedby=[invalid.then_some("err-email")];
                (field_errors(errors, "email"))
            }
            (component_choice(snap, ticked, errors))
            div.actions { button.primary type="submit" { "Subscribe" } }
        }
    }
}

/// `GET /subscribe`.
async fn ask(
    State(state): State<AppState>,
    OriginalUri(original): OriginalUri,
    uri: axum::http::Uri,
) -> Response {
    let here = Here::of(state, &original, &uri);
    let snap = match here.snapshot().await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let form = subscribe_form(&here, &snap, "", &[], &ValidationErrors::new());
    here.page(StatusCode::OK, "Subscribe", form)
}

/// `POST /subscribe`.
async fn asked(
    State(state): State<AppState>,
    OriginalUri(original): OriginalUri,
    req: Request,
) -> Response {
    let started = tokio::time::Instant::now();
    let here = Here::of(state, &original, req.uri());
    let form = match here.form(req).await {
        Ok(f) => f,
        Err(res) => return res,
    };
    let mut errors = ValidationErrors::new();
    let email = text(&form, "email", &mut errors);
    let components = chosen(&form, &mut errors);
    let outcome = if errors.is_empty() {
        match here
            .state
            .service
            .subscription_request(&email, components.clone())
            .await
        {
            Ok(request) => {
                // The write, which costs more for a new address, runs apart; the answer
                // waits for it until the floor, and goes at the floor either way.
                let service = here.state.service.clone();
                let write = tokio::spawn(async move {
                    let done = service.submit_subscription(request).await;
                    if let Err(e) = &done {
                        tracing::error!(error = %e, "subscription not written");
                    }
                    done
                });
                let deadline = started + ANSWER_FLOOR;
                let finished = tokio::time::timeout_at(deadline, write).await;
                tokio::time::sleep_until(deadline).await;
                match finished {
                    // The store failed (for any address alike): say so.
                    Ok(Ok(Err(e))) => Err(e),
                    _ => Ok(()),
                }
            }
            Err(e) => Err(e),
        }
    } else {
        Err(Error::Invalid(errors))
    };
    match outcome {
        Ok(()) => here.message(
            StatusCode::OK,
            "Check your inbox",
            "If the address can receive mail, a message is on its way to it: follow its link \
             to confirm your subscription, or to manage one you have already.",
        ),
        Err(Error::Invalid(errors)) => {
            let snap = match here.snapshot().await {
                Ok(s) => s,
                Err(res) => return res,
            };
            let ticked = components.unwrap_or_default();
            let form = subscribe_form(&here, &snap, &email, &ticked, &errors);
            here.page(StatusCode::BAD_REQUEST, "Subscribe", form)
        }
        Err(e) => here.fail(&e),
    }
}

/// A page that asks to confirm an action on a link: one button posting to the same URL.
fn confirm(here: &Here, action: &str, title: &str, text: &str, button: &str) -> Markup {
    html! {
        div.card {
            h1 { (title) }
            p { (text) }
            form method="post" action=(action) {
                div.actions { button.primary type="submit" { (button) } }
            }
        }
        p { a href=(here.home()) { "Go to the status page" } }
    }
}

/// The link path of `kind` with `token`, under the mount prefix.
fn link_path(here: &Here, kind: &str, token: &str) -> String {
    let token: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>();
    here.href(&format!("/subscribe/{kind}/{token}"))
}

/// The page a link opens on GET: it names the subscriber the link found (or says why it
/// found none) and asks for the POST that acts, so a mail scanner that follows links
/// changes nothing.
fn confirm_link(
    here: &Here,
    found: Result<Subscriber, Error>,
    kind: &str,
    token: &str,
    (title, question, button): (&str, &str, &str),
) -> Response {
    match found {
        Ok(s) => {
            let main = confirm(
                here,
                &link_path(here, kind, token),
                title,
                &format!("{question} {}?", s.email.as_str()),
                button,
            );
            here.page(StatusCode::OK, title, main)
        }
        Err(e) => here.fail(&e),
    }
}

/// `GET /subscribe/verify/{token}`.
async fn verify_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    OriginalUri(original): OriginalUri,
    uri: axum::http::Uri,
) -> Response {
    let here = Here::of(state, &original, &uri);
    let found = here.state.service.pending_verification(&token).await;
    let words = (
        "Confirm your subscription",
        "Send status updates to",
        "Confirm",
    );
    confirm_link(&here, found, "verify", &token, words)
}

/// `POST /subscribe/verify/{token}`.
async fn verify(
    State(state): State<AppState>,
    Path(token): Path<String>,
    OriginalUri(original): OriginalUri,
    req: Request,
) -> Response {
    let here = Here::of(state, &original, req.uri());
    if let Err(res) = here.form(req).await {
        return res;
    }
    match here.state.service.verify_subscription(&token).await {
        Ok(_) => here.message(
            StatusCode::OK,
            "Subscription confirmed",
            "You will get an email when something happens. Every mail has links to change \
             what you receive or to unsubscribe.",
        ),
        Err(e) => here.fail(&e),
    }
}

fn manage_form(
    here: &Here,
    snap: &PageSnapshot,
    token: &str,
    s: &Subscriber,
    ticked: &[i64],
    errors: &ValidationErrors,
    saved: bool,
) -> Markup {
    html! {
        h1 { "Your subscription" }
        p { "Status updates go to " strong { (s.email.as_str()) } "." }
        @if saved { p.notice role="status" { "Saved." } }
        form.card method="post" action=(link_path(here, "manage", token)) {
            (other_errors(errors, &["components"]))
            (component_choice(snap, ticked, errors))
            div.actions { button.primary type="submit" { "Save" } }
        }
        form.card method="post" action=(link_path(here, "unsubscribe", token)) {
            p { "Stop all status mail to this address and forget it." }
            div.actions { button.danger type="submit" { "Unsubscribe" } }
        }
    }
}

fn following(s: &Subscriber) -> Vec<i64> {
    if s.global {
        Vec::new()
    } else {
        s.subscriptions
            .iter()
            .map(|x| x.component_id.get())
            .collect()
    }
}

/// `GET /subscribe/manage/{token}`.
async fn manage_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    OriginalUri(original): OriginalUri,
    uri: axum::http::Uri,
) -> Response {
    let here = Here::of(state, &original, &uri);
    let s = match here.state.service.subscription(&token).await {
        Ok(s) => s,
        Err(e) => return here.fail(&e),
    };
    let snap = match here.snapshot().await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let main = manage_form(
        &here,
        &snap,
        &token,
        &s,
        &following(&s),
        &ValidationErrors::new(),
        false,
    );
    here.page(StatusCode::OK, "Your subscription", main)
}

/// `POST /subscribe/manage/{token}`.
async fn manage(
    State(state): State<AppState>,
    Path(token): Path<String>,
    OriginalUri(original): OriginalUri,
    req: Request,
) -> Response {
    let here = Here::of(state, &original, req.uri());
    let form = match here.form(req).await {
        Ok(f) => f,
        Err(res) => return res,
    };
    let mut errors = ValidationErrors::new();
    let components = chosen(&form, &mut errors);
    let outcome = if errors.is_empty() {
        here.state
            .service
            .change_subscription(&token, components.clone())
            .await
    } else {
        Err(Error::Invalid(errors))
    };
    let (status, s, ticked, errors, saved) = match outcome {
        Ok(s) => {
            let ticked = following(&s);
            (StatusCode::OK, s, ticked, ValidationErrors::new(), true)
        }
        Err(Error::Invalid(errors)) if !errors.has("token") => {
            let s = match here.state.service.subscription(&token).await {
                Ok(s) => s,
                Err(e) => return here.fail(&e),
            };
            let ticked = components.unwrap_or_default();
            (StatusCode::BAD_REQUEST, s, ticked, errors, false)
        }
        Err(e) => return here.fail(&e),
    };
    let snap = match here.snapshot().await {
        Ok(s) => s,
        Err(res) => return res,
    };
    let main = manage_form(&here, &snap, &token, &s, &ticked, &errors, saved);
    here.page(status, "Your subscription", main)
}

/// `GET /subscribe/unsubscribe/{token}`: checks the link first, so a dead one says so
/// before the button.
async fn unsubscribe_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    OriginalUri(original): OriginalUri,
    uri: axum::http::Uri,
) -> Response {
    let here = Here::of(state, &original, &uri);
    let found = here.state.service.unsubscribe_target(&token).await;
    let words = ("Unsubscribe", "Stop all status mail to", "Unsubscribe");
    confirm_link(&here, found, "unsubscribe", &token, words)
}

/// `POST /subscribe/unsubscribe/{token}`, also the RFC 8058 one-click post: the token is
/// the whole authority, so neither the body nor an origin is needed. Not rate limited:
/// mail providers send these posts for many people from few addresses, and each one can
/// only end the subscription its own signed link names.
async fn unsubscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
    OriginalUri(original): OriginalUri,
    req: Request,
) -> Response {
    let here = Here::of(state, &original, req.uri());
    match here.state.service.unsubscribe(&token).await {
        Ok(()) => here.message(
            StatusCode::OK,
            "Unsubscribed",
            "This address gets no more status mail, and it has been forgotten.",
        ),
        Err(e) => here.fail(&e),
    }
}
