//! The HTML of the public pages. maud escapes every value; the one exception is
//! [`SafeHtml`] (already sanitized by core), written through [`safe`] only.
//!
//! Every page is a function of a [`PageSnapshot`] (plus the mount prefix), so the snapshot's
//! ETag validates the rendered page.

use std::collections::HashMap;

use cachet_core::enums::{ComponentStatus, GroupCollapsed, IncidentStatus};
use cachet_core::ids::ComponentId;
use cachet_core::markdown::SafeHtml;
use cachet_core::model::{Incident, IncidentUpdate, Schedule, StatusChange};
use cachet_core::rollup::latest_status;
use cachet_core::service::{ComponentView, GroupView, IncidentHistory, PageSnapshot};
use cachet_core::store::Page;
use chrono::{DateTime, Days, NaiveDate, SecondsFormat, Utc};
use chrono_tz::Tz;
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::assets::{DASHBOARD_STYLESHEET, ICON, STYLESHEET};

/// Sanitized HTML from core, written as is. The only unescaped output of this crate.
fn safe(html: &SafeHtml) -> PreEscaped<&str> {
    PreEscaped(html.as_str())
}

/// What every part of a page needs to know.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    /// Mount prefix (`""` at the root, `/status` when nested), prepended to every link.
    base: &'a str,
    /// Display zone.
    zone: Tz,
}

impl Ctx<'_> {
    /// The page itself: `/` at the root, the bare prefix when nested (a router nested at
    /// `/status` answers `/status`, not `/status/`).
    fn home(&self) -> String {
        if self.base.is_empty() {
            "/".to_owned()
        } else {
            self.base.to_owned()
        }
    }

    fn incident_href(&self, incident: &Incident) -> String {
        format!("{}/incidents/{}", self.base, incident.id)
    }

    fn component_href(&self, id: ComponentId) -> String {
        format!("{}/components/{id}", self.base)
    }

    fn history_href(&self) -> String {
        format!("{}/history", self.base)
    }
}

/// Where a numbered page of a list is: page 1 is the bare path.
fn page_href(path: &str, page: u32) -> String {
    if page <= 1 {
        path.to_owned()
    } else {
        format!("{path}?page={page}")
    }
}

/// "Newer" and "Older" links between the pages of a list shown newest first.
fn pager(path: &str, page: u32, last: u32) -> Markup {
    html! {
        @if last > 1 {
            nav.pager aria-label="Pages" {
                @if page > 1 {
                    a.newer rel="prev" href=(page_href(path, page - 1)) { "← Newer" }
                }
                span.page-of { "Page " (page) " of " (last) }
                @if page < last {
                    a.older rel="next" href=(page_href(path, page + 1)) { "Older →" }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------- layout

fn layout(app_name: &str, title: &str, ctx: Ctx<'_>, main: Markup) -> Markup {
    frame(app_name, title, ctx, false, main)
}

/// A public page with forms (the subscription pages): the dashboard's form rules on top.
pub(crate) fn form_page(app_name: &str, zone: Tz, base: &str, title: &str, main: Markup) -> Markup {
    let ctx = Ctx { base, zone };
    frame(app_name, &format!("{title} · {app_name}"), ctx, true, main)
}

fn frame(app_name: &str, title: &str, ctx: Ctx<'_>, forms: bool, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) }
                link rel="stylesheet" href=(STYLESHEET.href(ctx.base)) integrity=(STYLESHEET.integrity);
                @if forms {
                    link rel="stylesheet" href=(DASHBOARD_STYLESHEET.href(ctx.base)) integrity=(DASHBOARD_STYLESHEET.integrity);
                }
                link rel="icon" type="image/svg+xml" href=(ICON.href(ctx.base));
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.site-header {
                    div.wrap {
                        a.brand href=(ctx.home()) { (app_name) }
                        a.subscribe href={ (ctx.base) "/subscribe" } { "Subscribe to updates" }
                    }
                }
                main #main .wrap {
                    (main)
                }
                footer.site-footer {
                    div.wrap {
                        "Times are shown in " (ctx.zone.name()) ". Powered by cachet-rs."
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------- pieces

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A date and time in the display zone, e.g. "3 May 2024, 14:05 CEST".
fn when(t: DateTime<Utc>, zone: Tz) -> Markup {
    html! {
        time datetime=(iso(t)) { (t.with_timezone(&zone).format("%-d %b %Y, %H:%M %Z").to_string()) }
    }
}

/// A time of day in the display zone, e.g. "14:05 CEST" (under a day heading).
fn clock(t: DateTime<Utc>, zone: Tz) -> Markup {
    html! {
        time datetime=(iso(t)) { (t.with_timezone(&zone).format("%H:%M %Z").to_string()) }
    }
}

fn day(d: NaiveDate) -> Markup {
    html! {
        time datetime=(d.format("%Y-%m-%d").to_string()) { (d.format("%A, %-d %B %Y").to_string()) }
    }
}

fn status_badge(s: ComponentStatus) -> Markup {
    html! {
        span class={ "badge " (s.color_class()) } data-status=(s.as_i64()) { (s.label()) }
    }
}

fn incident_color(s: IncidentStatus) -> &'static str {
    match s {
        IncidentStatus::Scheduled => "greys",
        IncidentStatus::Investigating => "oranges",
        IncidentStatus::Identified => "yellows",
        IncidentStatus::Watching => "blues",
        IncidentStatus::Fixed => "greens",
    }
}

fn incident_badge(s: IncidentStatus) -> Markup {
    html! {
        span class={ "badge " (incident_color(s)) } data-status=(s.as_i64()) { (s.label()) }
    }
}

/// Links only to absolute http(s) URLs (core validates this on write; checked again here
/// because an `href` is where a `javascript:` URL would run).
fn external_link(link: &str) -> Option<&str> {
    let lower = link.get(..8).unwrap_or(link).to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then_some(link)
}

/// The components a guest may see, by id (for names of affected components).
fn visible_components(snap: &PageSnapshot) -> HashMap<ComponentId, &ComponentView> {
    snap.groups
        .iter()
        .flat_map(|g| g.components.iter())
        .chain(snap.ungrouped.iter())
        .map(|c| (c.component.id, c))
        .collect()
}

/// A component on the index: its name links to its own page (where its external link is).
fn component(c: &ComponentView, ctx: Ctx<'_>) -> Markup {
    html! {
        li.component data-component=(c.component.id) {
            a.component-name href=(ctx.component_href(c.component.id)) { (c.component.name) }
            (status_badge(c.effective))
            @if !c.component.description.is_empty() {
                p.component-description { (c.component.description) }
            }
        }
    }
}

fn group(g: &GroupView, ctx: Ctx<'_>) -> Markup {
    let open = match g.group.collapsed {
        GroupCollapsed::Expanded => true,
        GroupCollapsed::Collapsed => false,
        GroupCollapsed::CollapsedUnlessIssue => g
            .components
            .iter()
            .any(|c| c.effective > ComponentStatus::Operational),
    };
    html! {
        details.group.card open[open] data-group=(g.group.id) {
            summary {
                span.group-name { (g.group.name) }
                @if let Some(s) = g.status {
                    (status_badge(s))
                }
            }
            ul.components {
                @for c in &g.components {
                    (component(c, ctx))
                }
            }
        }
    }
}

fn updates(list: &[IncidentUpdate], zone: Tz) -> Markup {
    let mut sorted: Vec<&IncidentUpdate> = list.iter().collect();
    sorted.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    html! {
        @if !sorted.is_empty() {
            ol.updates {
                @for u in sorted {
                    li.update data-update=(u.id) {
                        div.update-head {
                            (incident_badge(u.status))
                            span.meta { (when(u.created_at, zone)) }
                        }
                        div.message { (safe(&u.message_html)) }
                    }
                }
            }
        }
    }
}

fn affects(i: &Incident, names: &HashMap<ComponentId, &ComponentView>) -> Option<String> {
    i.component_id
        .and_then(|id| names.get(&id))
        .map(|c| c.component.name.clone())
}

/// An incident with its message and every update (current incidents on the index).
fn incident_card(
    i: &Incident,
    ctx: Ctx<'_>,
    names: &HashMap<ComponentId, &ComponentView>,
) -> Markup {
    html! {
        article.incident.card data-incident=(i.id) {
            div.incident-head {
                h3 { a href=(ctx.incident_href(i)) { (i.name) } }
                (incident_badge(latest_status(i)))
                @if i.stickied {
                    span.badge.pinned { "Pinned" }
                }
            }
            p.meta {
                "Began " (when(i.occurred_at, ctx.zone))
                @if let Some(name) = affects(i, names) {
                    " · Affects " (name)
                }
            }
            div.message { (safe(&i.message_html)) }
            (updates(&i.updates, ctx.zone))
        }
    }
}

/// A line of the day-by-day history: the newest word on the incident.
fn history_entry(i: &Incident, ctx: Ctx<'_>) -> Markup {
    let newest = i
        .updates
        .iter()
        .max_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    html! {
        li.entry.card data-incident=(i.id) {
            div.incident-head {
                h4 { a href=(ctx.incident_href(i)) { (i.name) } }
                (incident_badge(latest_status(i)))
            }
            p.meta { (clock(i.occurred_at, ctx.zone)) }
            div.message {
                (safe(newest.map_or(&i.message_html, |u| &u.message_html)))
            }
        }
    }
}

fn schedule(s: &Schedule, ctx: Ctx<'_>, names: &HashMap<ComponentId, &ComponentView>) -> Markup {
    let affected: Vec<&str> = s
        .components
        .iter()
        .filter_map(|sc| names.get(&sc.component_id))
        .map(|c| c.component.name.as_str())
        .collect();
    html! {
        article.schedule.card data-schedule=(s.id) {
            div.incident-head {
                h3 { (s.name) }
            }
            p.meta {
                "From " (when(s.scheduled_at, ctx.zone))
                @if let Some(end) = s.completed_at {
                    " until " (when(end, ctx.zone))
                }
            }
            @if let Some(m) = &s.message_html {
                div.message { (safe(m)) }
            }
            @if !affected.is_empty() {
                p.affected {
                    "Affected: "
                    @for (n, name) in affected.iter().enumerate() {
                        @if n > 0 { ", " }
                        (name)
                    }
                }
            }
        }
    }
}

/// The last `app_incident_days` local days, newest first, each with its incidents
/// (newest first). Local days are those of the display zone.
fn history(snap: &PageSnapshot) -> Vec<(NaiveDate, Vec<&Incident>)> {
    let zone = snap.settings.app_timezone;
    let today = snap.built_at.with_timezone(&zone).date_naive();
    let mut days: Vec<(NaiveDate, Vec<&Incident>)> =
        (0..u64::from(snap.settings.app_incident_days))
            .filter_map(|n| today.checked_sub_days(Days::new(n)))
            .map(|d| (d, Vec::new()))
            .collect();
    let mut all: Vec<&Incident> = snap
        .open_incidents
        .iter()
        .chain(&snap.recent_incidents)
        .collect();
    all.sort_by(|a, b| b.occurred_at.cmp(&a.occurred_at).then(b.id.cmp(&a.id)));
    for i in all {
        let d = i.occurred_at.with_timezone(&zone).date_naive();
        let back = usize::try_from((today - d).num_days()).ok();
        if let Some((_, list)) = back.and_then(|n| days.get_mut(n)) {
            list.push(i);
        }
    }
    days
}

// ---------------------------------------------------------------------------- pages

/// `GET /`.
pub(crate) fn index(snap: &PageSnapshot, base: &str) -> Markup {
    let ctx = Ctx {
        base,
        zone: snap.settings.app_timezone,
    };
    let names = visible_components(snap);
    let groups: Vec<&GroupView> = snap
        .groups
        .iter()
        .filter(|g| !g.components.is_empty())
        .collect();
    let pinned: Vec<&Incident> = snap
        .recent_incidents
        .iter()
        .filter(|i| i.stickied)
        .collect();
    let level = snap.overall.level.as_str();
    let main = html! {
        div class={ "banner banner-" (level) } data-level=(level) {
            p { (snap.overall.message) }
        }
        @if !snap.open_incidents.is_empty() {
            section #current-incidents aria-labelledby="current-incidents-h" {
                h2 #current-incidents-h { "Current incidents" }
                @for i in &snap.open_incidents {
                    (incident_card(i, ctx, &names))
                }
            }
        }
        @if !pinned.is_empty() {
            section #pinned-incidents aria-labelledby="pinned-incidents-h" {
                h2 #pinned-incidents-h { "Pinned" }
                @for i in pinned {
                    (incident_card(i, ctx, &names))
                }
            }
        }
        @if !snap.maintenance_now.is_empty() {
            section #maintenance-now aria-labelledby="maintenance-now-h" {
                h2 #maintenance-now-h { "Maintenance in progress" }
                @for s in &snap.maintenance_now {
                    (schedule(s, ctx, &names))
                }
            }
        }
        section #components aria-labelledby="components-h" {
            h2 #components-h { "Components" }
            @for g in &groups {
                (group(g, ctx))
            }
            @if !snap.ungrouped.is_empty() {
                div.card.ungrouped {
                    ul.components {
                        @for c in &snap.ungrouped {
                            (component(c, ctx))
                        }
                    }
                }
            }
            @if groups.is_empty() && snap.ungrouped.is_empty() {
                p.none { "No components to show." }
            }
        }
        @if !snap.maintenance_upcoming.is_empty() {
            section #maintenance-upcoming aria-labelledby="maintenance-upcoming-h" {
                h2 #maintenance-upcoming-h { "Upcoming maintenance" }
                @for s in &snap.maintenance_upcoming {
                    (schedule(s, ctx, &names))
                }
            }
        }
        section #past-incidents aria-labelledby="past-incidents-h" {
            h2 #past-incidents-h { "Past incidents" }
            @for (d, list) in history(snap) {
                section.day data-day=(d.format("%Y-%m-%d").to_string()) {
                    h3 { (day(d)) }
                    @if list.is_empty() {
                        p.none { "No incidents reported." }
                    } @else {
                        ul.day-entries {
                            @for i in list {
                                (history_entry(i, ctx))
                            }
                        }
                    }
                }
            }
            p.more { a href=(ctx.history_href()) { "Full incident history" } }
        }
    };
    layout(&snap.settings.app_name, &snap.settings.app_name, ctx, main)
}

/// `GET /history`: one page of every public incident, grouped by local day.
pub(crate) fn history_page(snap: &PageSnapshot, h: &IncidentHistory, base: &str) -> Markup {
    let ctx = Ctx { base, zone: h.zone };
    let path = ctx.history_href();
    let main = html! {
        a.back href=(ctx.home()) { "← Back to the status page" }
        section #incident-history aria-labelledby="incident-history-h" {
            h1 #incident-history-h { "Incident history" }
            @if h.days.is_empty() {
                p.none { "No incidents reported." }
            }
            @for (d, list) in &h.days {
                section.day data-day=(d.format("%Y-%m-%d").to_string()) {
                    h2 { (day(*d)) }
                    ul.day-entries {
                        @for i in list {
                            (history_entry(i, ctx))
                        }
                    }
                }
            }
            (pager(&path, h.page, h.last_page()))
        }
    };
    let title = if h.page > 1 {
        format!(
            "Incident history, page {} · {}",
            h.page, snap.settings.app_name
        )
    } else {
        format!("Incident history · {}", snap.settings.app_name)
    };
    layout(&snap.settings.app_name, &title, ctx, main)
}

/// `GET /components/{id}`: a component, its status and one page of its status changes.
pub(crate) fn component_page(
    snap: &PageSnapshot,
    c: &ComponentView,
    group: Option<&str>,
    changes: &Page<StatusChange>,
    page: u32,
    last: u32,
    base: &str,
) -> Markup {
    let ctx = Ctx {
        base,
        zone: snap.settings.app_timezone,
    };
    let path = ctx.component_href(c.component.id);
    let main = html! {
        a.back href=(ctx.home()) { "← Back to the status page" }
        article.component-page.card data-component=(c.component.id) {
            div.incident-head {
                h1 { (c.component.name) }
                (status_badge(c.effective))
            }
            @if let Some(g) = group {
                p.meta { "In " (g) }
            }
            @if !c.component.description.is_empty() {
                p.component-description { (c.component.description) }
            }
            @if let Some(link) = external_link(&c.component.link) {
                p { a.component-link href=(link) rel="nofollow noopener noreferrer" { (link) } }
            }
        }
        section #status-changes aria-labelledby="status-changes-h" {
            h2 #status-changes-h { "Status changes" }
            @if changes.items.is_empty() {
                p.none { "No status changes recorded." }
            } @else {
                div.card.table-wrap {
                    table.changes {
                        thead {
                            tr {
                                th scope="col" { "When" }
                                th scope="col" { "From" }
                                th scope="col" { "To" }
                                th scope="col" { "By" }
                            }
                        }
                        tbody {
                            @for ch in &changes.items {
                                tr.change data-change=(ch.id) {
                                    td { (when(ch.at, ctx.zone)) }
                                    td { (status_badge(ch.old)) }
                                    td { (status_badge(ch.new)) }
                                    td.source data-source=(ch.source.as_i64()) { (ch.source.label()) }
                                }
                            }
                        }
                    }
                }
            }
            (pager(&path, page, last))
        }
    };
    let title = format!("{} · {}", c.component.name, snap.settings.app_name);
    layout(&snap.settings.app_name, &title, ctx, main)
}

/// The component `id` as a guest sees it on the index, with the name of its group.
pub(crate) fn find_component(
    snap: &PageSnapshot,
    id: ComponentId,
) -> Option<(&ComponentView, Option<&str>)> {
    snap.groups
        .iter()
        .flat_map(|g| {
            g.components
                .iter()
                .map(move |c| (c, Some(g.group.name.as_str())))
        })
        .chain(snap.ungrouped.iter().map(|c| (c, None)))
        .find(|(c, _)| c.component.id == id)
}

/// `GET /incidents/{id}`.
pub(crate) fn incident(snap: &PageSnapshot, i: &Incident, base: &str) -> Markup {
    let ctx = Ctx {
        base,
        zone: snap.settings.app_timezone,
    };
    let names = visible_components(snap);
    let main = html! {
        a.back href=(ctx.home()) { "← Back to the status page" }
        article.incident.card data-incident=(i.id) {
            div.incident-head {
                h1 { (i.name) }
                (incident_badge(latest_status(i)))
            }
            p.meta {
                "Began " (when(i.occurred_at, ctx.zone))
                @if let Some(name) = affects(i, &names) {
                    " · Affects " (name)
                }
            }
            div.message { (safe(&i.message_html)) }
            @if !i.updates.is_empty() {
                h2 { "Updates" }
                (updates(&i.updates, ctx.zone))
            }
        }
    };
    let title = format!("{} · {}", i.name, snap.settings.app_name);
    layout(&snap.settings.app_name, &title, ctx, main)
}

/// The 404 page.
pub(crate) fn not_found(app_name: &str, zone: Tz, base: &str) -> Markup {
    let ctx = Ctx { base, zone };
    let main = html! {
        div.notice.card {
            h1 { "Page not found" }
            p { "There is nothing here, or it is not public." }
            p { a href=(ctx.home()) { "Go to the status page" } }
        }
    };
    layout(app_name, &format!("Page not found · {app_name}"), ctx, main)
}

/// The page for a request that makes no sense (a page number that is no number).
pub(crate) fn bad_request(app_name: &str, zone: Tz, base: &str, message: &str) -> Markup {
    let ctx = Ctx { base, zone };
    let main = html! {
        div.notice.card {
            h1 { "Bad request" }
            p.reason { (message) }
            p { a href=(ctx.home()) { "Go to the status page" } }
        }
    };
    layout(app_name, &format!("Bad request · {app_name}"), ctx, main)
}

/// The page shown when the status cannot be read (the store is down).
pub(crate) fn unavailable(app_name: &str, zone: Tz, base: &str) -> Markup {
    let ctx = Ctx { base, zone };
    let main = html! {
        div.notice.card {
            h1 { "Status temporarily unavailable" }
            p { "The current status could not be loaded. Please try again in a moment." }
        }
    };
    layout(app_name, &format!("Unavailable · {app_name}"), ctx, main)
}
