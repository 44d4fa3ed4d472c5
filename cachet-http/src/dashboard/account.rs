//! Signing in and out, and the user's own account: 2FA enrollment, sessions elsewhere.

use axum::extract::{Extension, RawQuery};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use cachet_core::error::ValidationErrors;
use cachet_core::service::{Enrollment, Resumed, SessionSecret};
use cachet_core::Error;
use maud::{html, Markup};

use super::view::{button_form, csrf_field, layout, text_input, trusted_svg};
use super::{
    cookie_header, form_text, page, pre_cookie_name, session_cookie_name, Ctx, Form, Signed,
};
use super::{redirect, PRE_COOKIE_LIFETIME};
use crate::api::params::Params;

fn set_cookie(res: &mut Response, value: HeaderValue) {
    res.headers_mut().append(header::SET_COOKIE, value);
}

/// Sets the session cookie to `secret` (and drops the pre-sign-in nonce).
fn start_cookie(ctx: &Ctx, res: &mut Response, secret: &SessionSecret) {
    let secure = ctx.secure();
    let lifetime = ctx.state.service.session_limits().absolute;
    set_cookie(
        res,
        cookie_header(
            session_cookie_name(secure),
            Some(secret.expose()),
            lifetime,
            secure,
        ),
    );
    set_cookie(
        res,
        cookie_header(pre_cookie_name(secure), None, lifetime, secure),
    );
}

// ---------------------------------------------------------------------------- sign in

fn login_page(ctx: &Ctx, login: &str, error: Option<&str>) -> Markup {
    let none = ValidationErrors::new();
    layout(
        ctx,
        None,
        "Sign in",
        html! {
            form.card method="post" action=(ctx.href("/login")) {
                (csrf_field(ctx))
                @if let Some(e) = error { p.form-errors role="alert" { (e) } }
                (text_input("Username or email", "login", login, &none, true))
                div.field {
                    label for="password" { "Password" }
                    input type="password" id="password" name="password" required autocomplete="current-password";
                }
                div.actions { button.primary type="submit" { "Sign in" } }
            }
        },
    )
}

/// Makes sure the browser has a pre-sign-in nonce for the sign-in form's CSRF token; the
/// `Set-Cookie` to send when it was new.
fn ensure_pre(ctx: &mut Ctx) -> Option<HeaderValue> {
    if ctx.pre.is_some() {
        return None;
    }
    let nonce = cachet_core::secret::random_code(43);
    let secure = ctx.secure();
    let header = cookie_header(
        pre_cookie_name(secure),
        Some(&nonce),
        PRE_COOKIE_LIFETIME,
        secure,
    );
    ctx.pre = Some(nonce);
    // The form's token is bound to the nonce, never to a stale session cookie.
    ctx.session = None;
    Some(header)
}

fn login_response(mut ctx: Ctx, status: StatusCode, login: &str, error: Option<&str>) -> Response {
    let cookie = ensure_pre(&mut ctx);
    let mut res = page(status, login_page(&ctx, login, error).into_string());
    if let Some(c) = cookie {
        set_cookie(&mut res, c);
    }
    res
}

/// `GET /dashboard/login`.
pub(crate) async fn login_form(ctx: Ctx) -> Response {
    match ctx.session {
        Some(Resumed::SignedIn(_)) => ctx.redirect(""),
        Some(Resumed::SecondFactor { .. }) => ctx.redirect("/login/2fa"),
        None => login_response(ctx, StatusCode::OK, "", None),
    }
}

/// `POST /dashboard/login`: the password step. Whatever session the browser held before
/// ends; a new one (pending when 2FA follows) gets a new secret.
pub(crate) async fn login(ctx: Ctx, Extension(Form(form)): Extension<Form>) -> Response {
    if let Err(res) = ctx.sign_in_limit() {
        return res;
    }
    let login = form_text(&form, "login");
    let password = form_text(&form, "password");
    let service = &ctx.state.service;
    match service
        .start_session(&login, &password, &ctx.client_key())
        .await
    {
        Ok(start) => {
            if let Some(old) = &ctx.secret {
                let _ = service.end_session(old).await;
            }
            let mut res = if start.second_factor {
                ctx.redirect("/login/2fa")
            } else {
                ctx.redirect("")
            };
            start_cookie(&ctx, &mut res, &start.secret);
            res
        }
        Err(Error::SignInFailed) => login_response(
            ctx,
            StatusCode::UNAUTHORIZED,
            &login,
            Some("The username or password is incorrect."),
        ),
        Err(Error::Throttled { retry_after }) => ctx.too_many(retry_after),
        Err(e) => ctx.fail(e),
    }
}

fn second_factor_page(ctx: &Ctx, error: Option<&str>) -> Markup {
    layout(
        ctx,
        None,
        "Two-factor authentication",
        html! {
            form.card method="post" action=(ctx.href("/login/2fa")) {
                (csrf_field(ctx))
                p { "Enter the 6-digit code from your authenticator app, or one of your recovery codes." }
                @if let Some(e) = error { p.form-errors role="alert" { (e) } }
                div.field {
                    label for="code" { "Code" }
                    input type="text" id="code" name="code" required autocomplete="one-time-code"
                        inputmode="numeric" autofocus;
                }
                div.actions { button.primary type="submit" { "Verify" } }
            }
            (button_form(ctx, &ctx.href("/logout"), "Cancel", "link"))
        },
    )
}

/// `GET /dashboard/login/2fa`.
pub(crate) async fn second_factor_form(ctx: Ctx) -> Response {
    match ctx.session {
        Some(Resumed::SecondFactor { .. }) => {
            page(StatusCode::OK, second_factor_page(&ctx, None).into_string())
        }
        Some(Resumed::SignedIn(_)) => ctx.redirect(""),
        None => ctx.redirect("/login"),
    }
}

/// `POST /dashboard/login/2fa`: the second step; the pending secret is replaced.
pub(crate) async fn second_factor(ctx: Ctx, Extension(Form(form)): Extension<Form>) -> Response {
    if let Err(res) = ctx.sign_in_limit() {
        return res;
    }
    let (Some(secret), Some(Resumed::SecondFactor { .. })) = (&ctx.secret, &ctx.session) else {
        return ctx.redirect("/login");
    };
    let code = form_text(&form, "code");
    match ctx
        .state
        .service
        .complete_session(secret, &code, &ctx.client_key())
        .await
    {
        Ok(fresh) => {
            let mut res = ctx.redirect("");
            start_cookie(&ctx, &mut res, &fresh);
            res
        }
        Err(Error::SignInFailed | Error::Invalid(_)) => page(
            StatusCode::UNAUTHORIZED,
            second_factor_page(&ctx, Some("That code is not right. Try the current one."))
                .into_string(),
        ),
        Err(Error::Rejected(_)) => login_response(
            ctx,
            StatusCode::UNAUTHORIZED,
            "",
            Some("The sign-in took too long. Enter your password again."),
        ),
        Err(Error::Throttled { retry_after }) => ctx.too_many(retry_after),
        Err(e) => ctx.fail(e),
    }
}

/// `POST /dashboard/logout`: ends the session (signed in or pending).
pub(crate) async fn logout(ctx: Ctx) -> Response {
    if let Some(secret) = &ctx.secret {
        if let Err(e) = ctx.state.service.end_session(secret).await {
            return ctx.fail(e);
        }
    }
    let secure = ctx.secure();
    let mut res = ctx.redirect("/login");
    set_cookie(
        &mut res,
        cookie_header(
            session_cookie_name(secure),
            None,
            chrono::Duration::zero(),
            secure,
        ),
    );
    res
}

// ---------------------------------------------------------------------------- account

fn notice_text(query: Option<&str>) -> Option<&'static str> {
    let p = Params::from_query(query).ok()?;
    match p.get("done")?.as_str()? {
        "elsewhere" => Some("Every other session of yours has been signed out."),
        "2fa-off" => Some("Two-factor authentication is off."),
        _ => None,
    }
}

async fn account_page(s: &Signed, notice: Option<&str>, error: Option<&str>) -> Response {
    let user = &s.active.user;
    let ctx = &s.ctx;
    let codes_left = if user.has_2fa() {
        match ctx.state.service.recovery_codes_left(s.actor()).await {
            Ok(n) => Some(n),
            Err(e) => return s.fail(e),
        }
    } else {
        None
    };
    let body = html! {
        @if let Some(n) = notice { p.notice role="status" { (n) } }
        @if let Some(e) = error { p.form-errors role="alert" { (e) } }
        @if s.active.must_enroll_2fa {
            p.form-errors role="alert" {
                "Admins must use two-factor authentication. Set it up to use the dashboard."
            }
        }
        section.card {
            h2 { "You" }
            p { (user.username) " · " (user.email.as_str()) " · " (user.role.name()) }
        }
        section.card {
            h2 { "Two-factor authentication" }
            @if let Some(left) = codes_left {
                p { "On. " (left) " recovery codes left." }
                form method="post" action=(ctx.href("/account/2fa/disable")) {
                    (csrf_field(ctx))
                    div.field {
                        label for="code" { "Current code (to turn it off)" }
                        input type="text" id="code" name="code" required autocomplete="one-time-code" inputmode="numeric";
                    }
                    button.danger type="submit" { "Turn off two-factor authentication" }
                }
            } @else {
                p { "Off. With it on, signing in also needs a code from an authenticator app." }
                (button_form(ctx, &ctx.href("/account/2fa/begin"), "Set up two-factor authentication", "primary"))
            }
        }
        section.card {
            h2 { "Sessions" }
            p { "Sign out every other browser where you are signed in." }
            (button_form(ctx, &ctx.href("/account/logout-everywhere"), "Sign out everywhere else", ""))
        }
    };
    page(
        StatusCode::OK,
        layout(ctx, Some(&s.active), "Account", body).into_string(),
    )
}

/// `GET /dashboard/account`.
pub(crate) async fn show(s: Signed, RawQuery(query): RawQuery) -> Response {
    account_page(&s, notice_text(query.as_deref()), None).await
}

/// `POST /dashboard/account/logout-everywhere`.
pub(crate) async fn logout_everywhere(s: Signed) -> Response {
    match s.ctx.state.service.end_other_sessions(&s.secret).await {
        Ok(_) => s.ctx.redirect("/account?done=elsewhere"),
        Err(e) => s.fail(e),
    }
}

fn enrollment_page(s: &Signed, enrollment: Option<&Enrollment>, error: Option<&str>) -> Markup {
    let ctx = &s.ctx;
    layout(
        ctx,
        Some(&s.active),
        "Set up two-factor authentication",
        html! {
            @if let Some(e) = enrollment {
                section.card {
                    p { "Scan this code with your authenticator app, or type in the key below." }
                    @if let Some(svg) = &e.qr_svg {
                        div.qr { (trusted_svg(svg)) }
                    }
                    p { "Key: " code #totp-key { (e.secret_base32) } }
                }
            }
            @if let Some(e) = error { p.form-errors role="alert" { (e) } }
            form.card method="post" action=(ctx.href("/account/2fa/confirm")) {
                (csrf_field(ctx))
                div.field {
                    label for="code" { "Code from the app" }
                    input type="text" id="code" name="code" required autocomplete="one-time-code" inputmode="numeric";
                }
                div.actions { button.primary type="submit" { "Turn on" } }
            }
            (button_form(ctx, &ctx.href("/account/2fa/begin"), "Start again with a new key", "link"))
        },
    )
}

/// `POST /dashboard/account/2fa/begin`: a fresh secret, shown as a QR code.
pub(crate) async fn begin_2fa(s: Signed) -> Response {
    match s.ctx.state.service.begin_2fa(s.actor()).await {
        Ok(enrollment) => page(
            StatusCode::OK,
            enrollment_page(&s, Some(&enrollment), None).into_string(),
        ),
        Err(e) => s.fail(e),
    }
}

/// `POST /dashboard/account/2fa/confirm`: 2FA on; the recovery codes shown once; every
/// other session ends and this one gets a new secret.
pub(crate) async fn confirm_2fa(mut s: Signed, Extension(Form(form)): Extension<Form>) -> Response {
    let service = s.ctx.state.service.clone();
    let codes = match service
        .confirm_2fa(s.actor(), &form_text(&form, "code"))
        .await
    {
        Ok(codes) => codes,
        Err(Error::Invalid(_)) => {
            return page(
                StatusCode::UNPROCESSABLE_ENTITY,
                enrollment_page(
                    &s,
                    None,
                    Some("That code is not right. Try the current one."),
                )
                .into_string(),
            )
        }
        Err(e) => return s.fail(e),
    };
    let fresh = match service.second_factor_changed(&s.secret).await {
        Ok(f) => f,
        Err(e) => return s.fail(e),
    };
    s.ctx.secret = Some(fresh.clone());
    s.active.must_enroll_2fa = false;
    let body = html! {
        p.notice role="status" { "Two-factor authentication is on." }
        section.card {
            h2 { "Recovery codes" }
            p { "Each code signs you in once if you lose your authenticator. They are shown only now: store them somewhere safe." }
            ul.codes { @for c in &codes { li { code { (c) } } } }
        }
        p { a.button.primary href=(s.ctx.href("")) { "Continue to the dashboard" } }
    };
    let mut res = page(
        StatusCode::OK,
        layout(
            &s.ctx,
            Some(&s.active),
            "Two-factor authentication is on",
            body,
        )
        .into_string(),
    );
    let secure = s.ctx.secure();
    let lifetime = service.session_limits().absolute;
    set_cookie(
        &mut res,
        cookie_header(
            session_cookie_name(secure),
            Some(fresh.expose()),
            lifetime,
            secure,
        ),
    );
    res
}

/// `POST /dashboard/account/2fa/disable`: needs a current code.
pub(crate) async fn disable_2fa(s: Signed, Extension(Form(form)): Extension<Form>) -> Response {
    let service = s.ctx.state.service.clone();
    match service
        .disable_2fa(s.actor(), &form_text(&form, "code"))
        .await
    {
        Ok(()) => {}
        Err(Error::Invalid(_)) => {
            return account_page(&s, None, Some("That code is not right; 2FA is still on.")).await
        }
        Err(e) => return s.fail(e),
    }
    match service.second_factor_changed(&s.secret).await {
        Ok(fresh) => {
            let mut res = redirect(&s.ctx.href("/account?done=2fa-off"));
            let secure = s.ctx.secure();
            set_cookie(
                &mut res,
                cookie_header(
                    session_cookie_name(secure),
                    Some(fresh.expose()),
                    service.session_limits().absolute,
                    secure,
                ),
            );
            res
        }
        Err(e) => s.fail(e),
    }
}
