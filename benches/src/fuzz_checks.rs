//! The properties each fuzz target checks, as plain functions of the input bytes.
//!
//! The targets in `../fuzz/fuzz_targets` call these, and `tests/fuzz_corpus.rs` replays every
//! committed corpus file through them on stable, so a property is written once. Each function
//! returns normally when the input is fine (including "rejected with a clean error") and
//! panics, naming the property and the input, when it is not.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, Request, StatusCode};
use cachet_core::crypto::DataKey;
use cachet_core::enums::Role;
use cachet_core::input::{
    ComponentInput, GroupInput, IncidentInput, IncidentUpdateInput, MetricInput, PointInput,
    ScheduleInput, SubscriberInput, TemplateInput,
};
use cachet_core::markdown::{self, RenderError};
use cachet_core::memory::MemoryStore;
use cachet_core::secret::{PasswordHash, TokenHash};
use cachet_core::store::{NewApiToken, NewUser};
use cachet_core::template::Template;
use cachet_core::validate::{Email, MAX_MESSAGE_BYTES};
use cachet_core::{Actor, StatusPage, Store};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

// ------------------------------------------------------------------------------ markdown

/// Elements that must never survive the sanitizer (attack corpus, property S).
const FORBIDDEN_ELEMENTS: &[&str] = &[
    "script",
    "svg",
    "math",
    "iframe",
    "frame",
    "object",
    "embed",
    "applet",
    "form",
    "input",
    "button",
    "base",
    "meta",
    "link",
    "style",
    "noscript",
    "template",
    "textarea",
    "xmp",
    "plaintext",
    "title",
    "set",
    "animate",
];

/// Attributes that must never survive (property E; `on*` is checked separately).
const FORBIDDEN_ATTRIBUTES: &[&str] = &["style", "srcdoc", "target", "formaction", "id", "name"];

/// Attributes holding a URL (property U).
const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "action",
    "xlink:href",
    "cite",
    "poster",
    "background",
    "formaction",
];

/// Markdown message → `render`: no panic; an `Ok` output is a fixed point of `sanitize` and
/// satisfies the attack corpus properties S, E, U, R and P (see
/// `shared/security/attack-corpus.txt`), checked by a tokenizer of the serializer's output
/// format; `TooLong` comes only above the size cap, and every other refusal only below it.
///
/// Invalid UTF-8 is replaced (U+FFFD), so that no fuzz input is wasted.
///
/// # Panics
/// When a property does not hold.
pub fn check_markdown(data: &[u8]) {
    let src = String::from_utf8_lossy(data);
    match markdown::render(&src) {
        Ok(html) => {
            let out = html.as_str();
            let again = markdown::sanitize(out);
            assert_eq!(
                again.as_str(),
                out,
                "sanitize(render(x)) != render(x) for input {src:?}"
            );
            if let Err(why) = check_safe_html(out) {
                panic!("unsafe output: {why}\ninput: {src:?}\noutput: {out:?}");
            }
        }
        Err(RenderError::TooLong { max }) => {
            assert!(
                src.len() > max,
                "TooLong for {} bytes (cap {max})",
                src.len()
            );
        }
        Err(
            RenderError::TooDeep { .. }
            | RenderError::TooLarge { .. }
            | RenderError::Unsupported { .. },
        ) => {
            assert!(src.len() <= MAX_MESSAGE_BYTES, "size checked first");
        }
    }
}

/// Checks sanitized HTML (as html5ever serializes it: every `<` in text is escaped, every
/// attribute value is double-quoted with `"` escaped) against the attack corpus properties.
///
/// # Errors
/// A description of the first violation.
pub fn check_safe_html(html: &str) -> Result<(), String> {
    let b = html.as_bytes();
    let mut i = 0;
    while let Some(off) = html[i..].find('<') {
        let mut j = i + off + 1;
        let closing = b.get(j) == Some(&b'/');
        if closing {
            j += 1;
        }
        let name_end = html[j..]
            .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
            .map_or(html.len(), |e| j + e);
        let name = html[j..name_end].to_ascii_lowercase();
        if name.is_empty() {
            return Err(format!("unescaped `<` at byte {}", i + off));
        }
        if FORBIDDEN_ELEMENTS.contains(&name.as_str()) {
            return Err(format!("element <{name}> survived"));
        }
        j = name_end;
        let mut rel: Option<String> = None;
        // Attributes until the closing `>`.
        loop {
            while b.get(j).is_some_and(u8::is_ascii_whitespace) {
                j += 1;
            }
            match b.get(j) {
                None => return Err(format!("tag <{name}> is never closed")),
                Some(b'>') => {
                    j += 1;
                    break;
                }
                Some(b'/') => {
                    j += 1;
                    continue;
                }
                Some(_) => {}
            }
            let attr_end = html[j..]
                .find(|c: char| c.is_ascii_whitespace() || c == '=' || c == '>')
                .map_or(html.len(), |e| j + e);
            let attr = html[j..attr_end].to_ascii_lowercase();
            j = attr_end;
            let mut value = String::new();
            if b.get(j) == Some(&b'=') {
                if b.get(j + 1) != Some(&b'"') {
                    return Err(format!("unquoted value of {attr} in <{name}>"));
                }
                let start = j + 2;
                let Some(len) = html[start..].find('"') else {
                    return Err(format!("unterminated value of {attr} in <{name}>"));
                };
                value = decode_entities(&html[start..start + len]);
                j = start + len + 1;
            }
            if closing {
                return Err(format!("attribute {attr} on closing tag </{name}>"));
            }
            if attr.starts_with("on") || FORBIDDEN_ATTRIBUTES.contains(&attr.as_str()) {
                return Err(format!("attribute {attr} survived on <{name}>"));
            }
            if URL_ATTRIBUTES.contains(&attr.as_str()) {
                check_url(&name, &attr, &value)?;
            }
            if attr == "rel" {
                rel = Some(value);
            }
        }
        if name == "a" && !closing {
            let rel = rel.unwrap_or_default();
            let words: Vec<&str> = rel.split_ascii_whitespace().collect();
            if !(words.contains(&"noopener") && words.contains(&"noreferrer")) {
                return Err(format!("<a> with rel={rel:?}"));
            }
        }
        i = j;
    }
    Ok(())
}

/// Property U (no script-bearing scheme) and P (no protocol-relative URL, no remote image).
fn check_url(element: &str, attr: &str, value: &str) -> Result<(), String> {
    let squeezed: String = value
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_ascii_control())
        .collect::<String>()
        .to_ascii_lowercase();
    for scheme in ["javascript:", "vbscript:", "data:"] {
        if squeezed.starts_with(scheme) {
            return Err(format!("{attr}={value:?} on <{element}>"));
        }
    }
    let b = squeezed.as_bytes();
    if b.len() >= 2 && matches!(b[0], b'/' | b'\\') && matches!(b[1], b'/' | b'\\') {
        return Err(format!("protocol-relative {attr}={value:?} on <{element}>"));
    }
    if element == "img" && attr == "src" && squeezed.contains(':') && !squeezed.starts_with('/') {
        return Err(format!("remote image src={value:?}"));
    }
    Ok(())
}

/// Decodes the character references a serializer (or an attacker) may put in an attribute
/// value: named ones that matter for URLs and numeric ones, with or without `;`.
fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        rest = &rest[p + 1..];
        if let Some(num) = rest.strip_prefix('#') {
            let (digits, radix) = match num.strip_prefix(['x', 'X']) {
                Some(hex) => (hex, 16),
                None => (num, 10),
            };
            let len = digits
                .find(|c: char| !c.is_digit(radix))
                .unwrap_or(digits.len());
            let ch = u32::from_str_radix(&digits[..len], radix)
                .ok()
                .and_then(char::from_u32);
            if let (Some(ch), true) = (ch, len > 0) {
                out.push(ch);
                rest = &digits[len..];
                rest = rest.strip_prefix(';').unwrap_or(rest);
                continue;
            }
            out.push('&');
            continue;
        }
        let named = [
            ("amp;", '&'),
            ("quot;", '"'),
            ("lt;", '<'),
            ("gt;", '>'),
            ("apos;", '\''),
            ("colon;", ':'),
            ("tab;", '\t'),
            ("newline;", '\n'),
            ("nbsp;", '\u{a0}'),
        ];
        match named.iter().find(|(n, _)| rest.starts_with(n)) {
            Some((n, c)) => {
                out.push(*c);
                rest = &rest[n.len()..];
            }
            None => out.push('&'),
        }
    }
    out.push_str(rest);
    out
}

// ------------------------------------------------------------------------------ template

/// Output cap the template checks render with (the service uses the message cap).
const TEMPLATE_CAP: usize = MAX_MESSAGE_BYTES;

/// Template input: the source, then (after the first NUL byte) a JSON object used as the
/// context; without a NUL or when that is not a JSON object, [`default_context`] is used.
///
/// Checks: no panic in `parse`/`render`; a source without template tags parses and renders
/// to itself; a source without `<` renders without `<` (values are escaped); and the first
/// `{{ ... }}` of the source, rendered alone, never contains `<`, `>`, `"` or `'`.
///
/// # Panics
/// When a property does not hold.
pub fn check_template(data: &[u8]) {
    let (src, vars) = match data.iter().position(|&b| b == 0) {
        Some(p) => (&data[..p], Some(&data[p + 1..])),
        None => (data, None),
    };
    let src = String::from_utf8_lossy(src);
    let ctx = vars
        .and_then(|v| serde_json::from_slice::<Value>(v).ok())
        .filter(Value::is_object)
        .unwrap_or_else(default_context);

    let has_tags = ["{{", "{%", "{#"].iter().any(|m| src.contains(m));
    let parsed = Template::parse(&src);
    if !has_tags && src.len() <= TEMPLATE_CAP {
        match &parsed {
            Ok(t) => assert_eq!(
                t.render(&ctx, TEMPLATE_CAP).as_deref(),
                Ok(&*src),
                "plain text changed"
            ),
            Err(e) => panic!("plain text {src:?} refused: {e}"),
        }
    }
    if let Ok(t) = &parsed {
        let out = match t.render(&ctx, TEMPLATE_CAP) {
            Ok(out) => out,
            Err(e) => {
                assert_eq!(e.max, TEMPLATE_CAP);
                return;
            }
        };
        assert!(out.len() <= TEMPLATE_CAP, "output past the cap");
        if !src.contains('<') {
            assert!(
                !out.contains('<'),
                "`<` in output of {src:?} with {ctx}: {out:?}"
            );
        }
    }
    // The first variable lookup, alone: its output is always escaped text.
    if let Some(start) = src.find("{{") {
        if let Some(len) = src[start..].find("}}") {
            let lookup = &src[start..start + len + 2];
            if let Ok(Ok(out)) = Template::parse(lookup).map(|t| t.render(&ctx, TEMPLATE_CAP)) {
                assert!(
                    !out.contains(['<', '>', '"', '\'']),
                    "markup from {lookup:?} with {ctx}: {out:?}"
                );
            }
        }
    }
}

/// The context used when the input carries none: every kind of JSON value, strings full of
/// markup, nested objects as incident templates use them.
pub fn default_context() -> Value {
    json!({
        "name": "<b>API</b> & \"quotes\" 'single'",
        "message": "<script>alert(1)</script>",
        "a": "<", "b": ">", "s": "0", "e": "",
        "n": 1, "z": 0, "f": 1.5, "t": true, "no": false, "nil": null,
        "arr": ["<img src=x onerror=alert(1)>"], "empty": [],
        "obj": {"k": "<svg onload=alert(1)>"},
        "incident": {"name": "<img src=x onerror=alert(1)>", "status": 2,
                     "component": {"name": "DB</b>", "status": "<i>"}},
    })
}

// ------------------------------------------------------------------------------ api_input

/// Token of the seeded admin (role Admin).
pub const ADMIN_TOKEN: &str = "cct_fuzzadmin0000000000000000000000000000";
/// Token of the seeded reporter (role Reporter).
pub const REPORTER_TOKEN: &str = "cct_fuzzreporter00000000000000000000000000";

/// Ids of what [`seed`] created, for the route table.
#[derive(Debug, Clone, Copy)]
struct Seeded {
    group: i64,
    component: i64,
    incident: i64,
    update: i64,
    template: i64,
    metric: i64,
    point: i64,
    schedule: i64,
    subscriber: i64,
    subscription: i64,
}

/// Path of a route: fixed, or built from the seeded ids.
type PathFn = fn(&Seeded) -> String;

/// The routes `check_api_input` picks from with the first input byte.
const ROUTES: &[(&str, PathFn)] = &[
    ("GET", |_| "/api/v1/ping".into()),
    ("GET", |_| "/api/v1/version".into()),
    ("GET", |_| "/api/v1/status".into()),
    ("GET", |_| "/api/v1/components".into()),
    ("POST", |_| "/api/v1/components".into()),
    ("GET", |s| format!("/api/v1/components/{}", s.component)),
    ("PUT", |s| format!("/api/v1/components/{}", s.component)),
    ("DELETE", |s| format!("/api/v1/components/{}", s.component)),
    ("GET", |_| "/api/v1/components/groups".into()),
    ("POST", |_| "/api/v1/components/groups".into()),
    ("GET", |s| format!("/api/v1/components/groups/{}", s.group)),
    ("PUT", |s| format!("/api/v1/components/groups/{}", s.group)),
    ("DELETE", |s| {
        format!("/api/v1/components/groups/{}", s.group)
    }),
    ("GET", |_| "/api/v1/incidents".into()),
    ("POST", |_| "/api/v1/incidents".into()),
    ("GET", |s| format!("/api/v1/incidents/{}", s.incident)),
    ("PUT", |s| format!("/api/v1/incidents/{}", s.incident)),
    ("DELETE", |s| format!("/api/v1/incidents/{}", s.incident)),
    ("GET", |s| {
        format!("/api/v1/incidents/{}/updates", s.incident)
    }),
    ("POST", |s| {
        format!("/api/v1/incidents/{}/updates", s.incident)
    }),
    ("GET", |s| {
        format!("/api/v1/incidents/{}/updates/{}", s.incident, s.update)
    }),
    ("PUT", |s| {
        format!("/api/v1/incidents/{}/updates/{}", s.incident, s.update)
    }),
    ("DELETE", |s| {
        format!("/api/v1/incidents/{}/updates/{}", s.incident, s.update)
    }),
    ("GET", |_| "/api/v1/incidents/templates".into()),
    ("GET", |s| {
        format!("/api/v1/incidents/templates/{}", s.template)
    }),
    ("GET", |_| "/api/v1/metrics".into()),
    ("POST", |_| "/api/v1/metrics".into()),
    ("GET", |s| format!("/api/v1/metrics/{}", s.metric)),
    ("PUT", |s| format!("/api/v1/metrics/{}", s.metric)),
    ("DELETE", |s| format!("/api/v1/metrics/{}", s.metric)),
    ("GET", |s| format!("/api/v1/metrics/{}/points", s.metric)),
    ("POST", |s| format!("/api/v1/metrics/{}/points", s.metric)),
    ("PUT", |s| {
        format!("/api/v1/metrics/{}/points/{}", s.metric, s.point)
    }),
    ("DELETE", |s| {
        format!("/api/v1/metrics/{}/points/{}", s.metric, s.point)
    }),
    ("GET", |_| "/api/v1/schedules".into()),
    ("POST", |_| "/api/v1/schedules".into()),
    ("GET", |s| format!("/api/v1/schedules/{}", s.schedule)),
    ("PUT", |s| format!("/api/v1/schedules/{}", s.schedule)),
    ("DELETE", |s| format!("/api/v1/schedules/{}", s.schedule)),
    ("GET", |_| "/api/v1/subscribers".into()),
    ("POST", |_| "/api/v1/subscribers".into()),
    ("DELETE", |s| {
        format!("/api/v1/subscribers/{}", s.subscriber)
    }),
    ("DELETE", |s| {
        format!("/api/v1/subscriptions/{}", s.subscription)
    }),
    ("GET", |_| "/".into()),
    ("GET", |s| format!("/incidents/{}", s.incident)),
    ("GET", |s| format!("/metrics/{}", s.metric)),
    ("PATCH", |_| "/api/v1/components".into()),
    ("GET", |_| "/api/v1/nope".into()),
    ("GET", |_| "/api/v1/components/x1".into()),
    ("GET", |_| "/api/v1/components/99999999999999999999".into()),
    ("POST", |s| format!("/api/v1/components/{}", s.component)),
    ("HEAD", |_| "/api/v1/components".into()),
];

/// Content types picked by bits 0-1 of the second input byte.
const CONTENT_TYPES: [Option<&str>; 4] = [
    Some("application/json"),
    Some("application/x-www-form-urlencoded"),
    None,
    Some("text/plain; charset=utf-8"),
];

/// The current-thread runtime every `check_api_input` call runs on, built once.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            // Building a current-thread runtime only fails when the OS refuses a timer/IO
            // driver, which no input can cause: failing the harness loudly is right.
            .expect("a current-thread tokio runtime")
    })
}

/// A fresh service on a `MemoryStore` with one of everything, so that each input starts from
/// the same state (a crash then reproduces from its input alone).
async fn seed() -> (Arc<StatusPage>, Seeded) {
    // Seeding goes through public core APIs; if one of them changes its rules, this fails
    // loudly instead of silently fuzzing an empty store.
    fn ok<T, E: std::fmt::Debug>(step: &str, r: Result<T, E>) -> T {
        match r {
            Ok(v) => v,
            Err(e) => panic!("fuzz seed step `{step}` failed (core API changed?): {e:?}"),
        }
    }
    let store = Arc::new(MemoryStore::new());
    let user = |name: &str, role| NewUser {
        username: name.into(),
        email: ok("email", Email::parse(&format!("{name}@example.com"))),
        // Never verified: API requests authenticate by token.
        password_hash: PasswordHash::from_phc("$argon2id$v=19$m=19456,t=2,p=1$x$y".into()),
        role,
    };
    let token = |user_id, secret: &str| NewApiToken {
        user_id,
        name: "fuzz".into(),
        prefix: secret[..8].into(),
        hash: TokenHash::of(secret),
        abilities: None,
        expires_at: None,
    };
    let admin = ok(
        "bootstrap_admin",
        store
            .bootstrap_admin(
                user("admin", Role::Admin),
                token(cachet_core::ids::UserId(0), ADMIN_TOKEN),
            )
            .await,
    );
    assert!(admin.is_some(), "empty store refused bootstrap");
    let reporter = ok(
        "create_user",
        store.create_user(user("reporter", Role::Reporter)).await,
    );
    ok(
        "create_token",
        store.create_token(token(reporter.id, REPORTER_TOKEN)).await,
    );

    let s = ok(
        "StatusPage::new",
        StatusPage::new(store, DataKey::from_bytes([7; 32])).await,
    );
    let sys = Actor::System;
    let group = ok(
        "group",
        s.create_group(
            &sys,
            GroupInput {
                name: Some("Core".into()),
                visible: Some(1),
                ..Default::default()
            },
        )
        .await,
    );
    let component = ok(
        "component",
        s.create_component(
            &sys,
            ComponentInput {
                name: Some("API".into()),
                description: Some("The <b>API</b>".into()),
                link: Some("https://example.com/api".into()),
                status: Some(1),
                group_id: Some(group.group.id.get()),
                meta: Some(json!({"team": "core"})),
                tags: Some(vec!["Fuzz Tag".into()]),
                ..Default::default()
            },
        )
        .await,
    );
    ok(
        "private component",
        s.create_component(
            &sys,
            ComponentInput {
                name: Some("Hidden".into()),
                enabled: Some(false),
                ..Default::default()
            },
        )
        .await,
    );
    let incident = ok(
        "incident",
        s.create_incident(
            &sys,
            IncidentInput {
                name: Some("Outage".into()),
                status: Some(1),
                message: Some("**Investigating** [status](https://example.com)".into()),
                component_id: Some(component.id.get()),
                component_status: Some(3),
                ..Default::default()
            },
        )
        .await,
    );
    let update = ok(
        "update",
        s.create_update(
            &sys,
            incident.id,
            IncidentUpdateInput {
                status: Some(2),
                message: Some("Identified: a `bad` deploy".into()),
                ..Default::default()
            },
        )
        .await,
    );
    let template = ok(
        "template",
        s.create_template(
            &sys,
            TemplateInput {
                name: Some("Down".into()),
                slug: Some("down".into()),
                template: Some("{{ name }} is {% if down %}down{% else %}up{% endif %}".into()),
            },
        )
        .await,
    );
    let metric = ok(
        "metric",
        s.create_metric(
            &sys,
            MetricInput {
                name: Some("Latency".into()),
                suffix: Some("ms".into()),
                default_value: Some(0.0),
                ..Default::default()
            },
        )
        .await,
    );
    let point = ok(
        "point",
        s.record_point(
            &sys,
            metric.id,
            PointInput {
                value: Some(1.5),
                timestamp: None,
            },
        )
        .await,
    );
    let schedule = ok(
        "schedule",
        s.create_schedule(
            &sys,
            ScheduleInput {
                name: Some("Maintenance".into()),
                message: Some("Upgrading the _database_".into()),
                status: Some(0),
                scheduled_at: Some("2030-01-01 10:00".into()),
                completed_at: Some("2030-01-01 12:00".into()),
                components: Some(vec![(component.id.get(), Some(2))]),
                ..Default::default()
            },
        )
        .await,
    );
    let (subscriber, _) = ok(
        "subscriber",
        s.create_subscriber(
            &sys,
            SubscriberInput {
                email: Some("fan@example.com".into()),
                verify: Some(true),
                components: Some(vec![component.id.get()]),
            },
        )
        .await,
    );
    let subscription = subscriber
        .subscriptions
        .first()
        .map_or(0, |sub| sub.id.get());
    let ids = Seeded {
        group: group.group.id.get(),
        component: component.id.get(),
        incident: incident.id.get(),
        update: update.id.get(),
        template: template.id.get(),
        metric: metric.id.get(),
        point: point.id.get(),
        schedule: schedule.id.get(),
        subscriber: subscriber.id.get(),
        subscription,
    };
    (Arc::new(s), ids)
}

/// Percent-encodes everything but unreserved characters and `=&+%`, so that any bytes make a
/// valid query string (and `%xx` escapes in the input stay escapes).
fn query_string(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    for &b in raw {
        if b.is_ascii_alphanumeric() || b"-._~=&+%[]".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One API request from fuzz bytes, decoded.
#[derive(Debug)]
pub struct ApiCase {
    /// HTTP method.
    pub method: &'static str,
    /// Route index in the table (the path is built from the seeded ids).
    pub route: usize,
    /// Query string, if any.
    pub query: Option<String>,
    /// `Content-Type`, if any.
    pub content_type: Option<&'static str>,
    /// `X-Cachet-Token`, if any.
    pub token: Option<&'static str>,
    /// `Accept: text/html` instead of none.
    pub html_accept: bool,
    /// `Time-Zone` header, if any.
    pub time_zone: Option<&'static str>,
    /// Request body.
    pub body: Vec<u8>,
}

impl ApiCase {
    /// Decodes fuzz bytes: byte 0 picks the route (modulo the table), byte 1 holds flags
    /// (bits 0-1 content type: JSON, form, none, text; bits 2-3 token: admin, none, reporter,
    /// unknown; bit 4: the body's first line is the query string; bit 5: `Accept: text/html`;
    /// bit 6: `Time-Zone: America/Mexico_City`, bit 7: an invalid `Time-Zone`); the rest is
    /// the body. Inputs shorter than two bytes decode to `None`.
    pub fn decode(data: &[u8]) -> Option<ApiCase> {
        let (&route, rest) = data.split_first()?;
        let (&flags, rest) = rest.split_first()?;
        let route = usize::from(route) % ROUTES.len();
        let content_type = CONTENT_TYPES[usize::from(flags & 0b11)];
        let token = match (flags >> 2) & 0b11 {
            0 => Some(ADMIN_TOKEN),
            1 => None,
            2 => Some(REPORTER_TOKEN),
            _ => Some("cct_unknown"),
        };
        let (query, body) = if flags & 0x10 != 0 {
            match rest.iter().position(|&b| b == b'\n') {
                Some(p) => (Some(query_string(&rest[..p])), &rest[p + 1..]),
                None => (Some(query_string(rest)), &[][..]),
            }
        } else {
            (None, rest)
        };
        let time_zone = if flags & 0x40 != 0 {
            Some("America/Mexico_City")
        } else if flags & 0x80 != 0 {
            Some("Mars/Olympus_Mons")
        } else {
            None
        };
        Some(ApiCase {
            method: ROUTES[route].0,
            route,
            query,
            content_type,
            token,
            html_accept: flags & 0x20 != 0,
            time_zone,
            body: body.to_vec(),
        })
    }
}

/// What one API case answered.
#[derive(Debug)]
pub struct ApiOutcome {
    /// `METHOD /path?query`.
    pub request: String,
    /// Response status.
    pub status: StatusCode,
    /// Response body.
    pub body: Vec<u8>,
}

/// Raw bytes → one request through the whole `cachet_http::router` on a freshly seeded
/// `MemoryStore` (see [`ApiCase::decode`] for the byte layout).
///
/// Checks: no panic; the status is never 500; a response that says it is JSON parses as
/// JSON.
///
/// # Panics
/// When a property does not hold.
pub fn check_api_input(data: &[u8]) {
    let _ = run_api_input(data);
}

/// [`check_api_input`], returning what the router answered (`None` for inputs shorter than
/// two bytes), for tests that want to look at it.
///
/// # Panics
/// When a property does not hold.
pub fn run_api_input(data: &[u8]) -> Option<ApiOutcome> {
    let case = ApiCase::decode(data)?;
    let outcome = runtime().block_on(async move {
        let (service, ids) = seed().await;
        let app = cachet_http::router(service, cachet_http::HttpConfig::default());
        let mut uri = (ROUTES[case.route].1)(&ids);
        if let Some(q) = &case.query {
            uri.push('?');
            uri.push_str(q);
        }
        let request = format!("{} {uri}", case.method);
        let mut req = Request::builder()
            .method(Method::from_bytes(case.method.as_bytes()).unwrap_or(Method::GET))
            .uri(uri.as_str())
            .header(header::HOST, "status.example.com");
        if let Some(ct) = case.content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        if let Some(t) = case.token {
            req = req.header("x-cachet-token", t);
        }
        if case.html_accept {
            req = req.header(header::ACCEPT, "text/html");
        }
        if let Some(z) = case.time_zone {
            req = req.header("time-zone", z);
        }
        let req = match req.body(Body::from(case.body.clone())) {
            Ok(r) => r,
            // Only an invalid URI can fail here, and `query_string` escapes everything.
            Err(e) => panic!("request for {case:?} not built: {e}"),
        };
        let res = match app.oneshot(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        let status = res.status();
        let is_json = res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let body = match res.into_body().collect().await {
            Ok(b) => b.to_bytes().to_vec(),
            Err(e) => panic!("{request}: response body failed: {e}"),
        };
        assert_ne!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{request} answered 500 for {case:?}: {}",
            String::from_utf8_lossy(&body)
        );
        if is_json && !body.is_empty() {
            if let Err(e) = serde_json::from_slice::<Value>(&body) {
                panic!(
                    "{request} ({status}) sent invalid JSON ({e}): {}",
                    String::from_utf8_lossy(&body)
                );
            }
        }
        ApiOutcome {
            request,
            status,
            body,
        }
    });
    Some(outcome)
}

// ------------------------------------------------------------------------------ security

/// The security core's parsers and checks on arbitrary text (invalid UTF-8 replaced): none
/// panics, and each keeps its promise.
///
/// - `Abilities::parse`: an accepted set prints in a form that parses back to itself.
/// - `DataKey::parse`: an accepted key seals and opens; a fixed key opens no input (a
///   forgery would need the key).
/// - `TotpSecret::verify`: a code it accepts is the code of the step it returns; one at or
///   before the last used step is refused.
/// - `recovery_code_hash`, `Email::parse`, `time::parse_local`, `validate::password`: answer
///   without panicking (the password policy also on inputs longer than the estimator sees).
///
/// # Panics
/// When a property does not hold.
pub fn check_security_input(data: &[u8]) {
    use cachet_core::crypto::DataKey;
    use cachet_core::error::ValidationErrors;
    use cachet_core::policy::Abilities;
    use cachet_core::totp::{recovery_code_hash, TotpSecret};

    let text = String::from_utf8_lossy(data);
    if let Ok(set) = Abilities::parse(&text) {
        assert_eq!(
            Abilities::parse(&set.to_string()),
            Ok(set),
            "abilities round trip"
        );
    }
    if let Ok(key) = DataKey::parse(&text) {
        let sealed = key.seal("fuzz", data);
        assert_eq!(
            key.open("fuzz", &sealed).as_deref(),
            Ok(data),
            "seal/open round trip"
        );
    }
    let fixed = DataKey::from_bytes([9; 32]);
    assert!(
        fixed.open("subscriber.email", &text).is_err(),
        "opened a forged value"
    );
    let _ = recovery_code_hash(&text);
    let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec()).expect("20 bytes");
    let now = 1_700_000_000;
    if let Ok(step) = secret.verify(&text, now, None) {
        let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        assert_eq!(secret.code(step), digits, "accepted a code of another step");
        assert!(
            secret.verify(&text, now, Some(step)).is_err(),
            "replay accepted"
        );
    }
    let _ = Email::parse(&text);
    let _ = cachet_core::time::parse_local(&text, cachet_core::Tz::UTC);
    let mut errors = ValidationErrors::new();
    cachet_core::validate::password(
        &mut errors,
        "password",
        &text,
        &["user", "user@example.com"],
    );
    if errors.is_empty() {
        let n = text.chars().count();
        assert!(
            (12..=cachet_core::validate::MAX_PASSWORD).contains(&n),
            "length {n} accepted"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_sanitized_shapes() {
        assert_eq!(
            check_safe_html(
                "<p><a href=\"https://example.com\" rel=\"noopener noreferrer nofollow\">x</a>\
                 <img src=\"/a.png\" alt=\"&quot;<x>\"><br></p>\n"
            ),
            Ok(())
        );
    }

    #[test]
    fn flags_unsafe_shapes() {
        for bad in [
            "<script>alert(1)</script>",
            "<SVG>",
            "<img src=\"x\" onerror=\"alert(1)\">",
            "<a href=\"java&#x09;script:alert(1)\" rel=\"noopener noreferrer\">x</a>",
            "<a href=\" &#106;avascript:x\" rel=\"noopener noreferrer\">x</a>",
            "<a href=\"https://example.com\">x</a>",
            "<a href=\"//evil.example\" rel=\"noopener noreferrer\">x</a>",
            "<img src=\"https://evil.example/x.png\">",
            "<div style=\"x\">",
            "a < b",
            "<p",
        ] {
            assert!(check_safe_html(bad).is_err(), "{bad:?} passed");
        }
    }

    #[test]
    fn decodes_character_references() {
        assert_eq!(
            decode_entities("&#106;&#x61;v&amp;&colon;&#1;x&"),
            "jav&:\u{1}x&"
        );
        assert_eq!(decode_entities("&#x6A&#x61"), "ja");
        assert_eq!(decode_entities("&unknown;"), "&unknown;");
    }

    #[test]
    fn decodes_api_cases() {
        assert!(ApiCase::decode(b"\x00").is_none());
        let c = ApiCase::decode(b"\x04\x10a=1&b=%zz\n{\"name\":\"x\"}").unwrap();
        assert_eq!(c.method, "POST");
        assert_eq!(c.query.as_deref(), Some("a=1&b=%zz"));
        assert_eq!(c.body, b"{\"name\":\"x\"}");
        assert_eq!(c.token, Some(ADMIN_TOKEN));
        assert_eq!(c.content_type, Some("application/json"));
    }
}
