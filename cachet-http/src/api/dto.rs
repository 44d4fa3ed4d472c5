//! Wire shapes of the Cachet v1 API (spec section 5). Core records derive no serde; each
//! resource is copied into one of these structs, field by field, so nothing (a hash, a
//! verify code) can reach a response unless it is named here. Field order is the
//! reference's, dates are `Y-m-d H:i:s` in the display zone (raw embedded rows in UTC).

use std::collections::BTreeMap;

use cachet_core::model::{
    Component, Incident, IncidentTemplate, IncidentUpdate, Metric, MetricPoint, Schedule,
    ScheduleComponent, Subscriber, Subscription,
};
use cachet_core::rollup;
use cachet_core::service::GroupDetail;
use cachet_core::store::now;
use cachet_core::time::format_in;
use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::{Number, Value};
use utoipa::ToSchema;

use super::params::number;

/// How dates of one response are written and where permalinks point.
#[derive(Debug, Clone)]
pub(crate) struct Shape {
    /// Display zone (the `Time-Zone` header, else the `app_timezone` setting).
    pub(crate) zone: Tz,
    /// Root of the status page, no trailing slash (`app_url`, else from the request).
    pub(crate) root: String,
}

impl Shape {
    fn at(&self, t: DateTime<Utc>) -> String {
        format_in(t, self.zone)
    }
}

fn raw(t: DateTime<Utc>) -> String {
    format_in(t, Tz::UTC)
}

/// A date as the API writes it: `Y-m-d H:i:s` (the schema of every `*_at` field; the
/// values themselves are plain strings made by [`Shape`] or in UTC for raw rows).
pub(crate) struct LocalTime;

impl utoipa::PartialSchema for LocalTime {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(
                r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$",
            ))
            .description(Some(
                "`Y-m-d H:i:s` in the display zone (the `Time-Zone` header, else the \
                 `app_timezone` setting); rows embedded raw (schedule components, \
                 subscriptions, templates) are in UTC.",
            ))
            .examples(["2024-03-05 10:00:00"])
            .into()
    }
}

impl ToSchema for LocalTime {}

/// A component's `meta`: the object (or array) it was given, or null.
fn component_meta() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{SchemaType, Type};
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([
            Type::Object,
            Type::Array,
            Type::Null,
        ]))
        .description(Some(
            "Custom data: the JSON object (or array) given, or null.",
        ))
        .build()
}

/// PHP's `l jS F Y H:i:s` (e.g. `Tuesday 5th March 2024 10:00:00`).
pub(crate) fn long_date(t: DateTime<Utc>, zone: Tz) -> String {
    let local = t.with_timezone(&zone);
    let day = local.day();
    let suffix = match (day % 10, day % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!(
        "{} {day}{suffix} {}",
        local.format("%A"),
        local.format("%B %Y %H:%M:%S")
    )
}

/// A component (spec 5.1).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ComponentDto {
    /// Id.
    id: i64,
    /// Name.
    name: String,
    /// Description.
    description: String,
    /// A URL, or empty.
    link: String,
    /// 0 unknown, 1 operational, 2 performance issues, 3 partial outage, 4 major outage.
    #[schema(minimum = 0, maximum = 4)]
    status: i64,
    /// Position on the page.
    order: i64,
    /// Group id; 0 when ungrouped.
    group_id: i64,
    /// Shown on the status page.
    enabled: bool,
    #[schema(schema_with = component_meta)]
    meta: Option<Value>,
    /// Created.
    #[schema(value_type = LocalTime)]
    created_at: String,
    /// Last changed.
    #[schema(value_type = LocalTime)]
    updated_at: String,
    /// Always null (deleted components are gone).
    #[schema(value_type = Option<LocalTime>)]
    deleted_at: Option<String>,
    /// The label of `status` (`Operational`, ...).
    status_name: &'static str,
    /// `{slug: name}`; `{}` when untagged (Cachet's `[]` crashes cachet-client's update).
    tags: BTreeMap<String, String>,
}

impl ComponentDto {
    pub(crate) fn new(c: &Component, s: &Shape) -> Self {
        ComponentDto {
            id: c.id.get(),
            name: c.name.clone(),
            description: c.description.clone(),
            link: c.link.clone(),
            status: c.status.as_i64(),
            order: c.order,
            group_id: c.group_id.map_or(0, |g| g.get()),
            enabled: c.enabled,
            meta: c.meta.clone(),
            created_at: s.at(c.created_at),
            updated_at: s.at(c.updated_at),
            deleted_at: None,
            status_name: c.status.label(),
            tags: c
                .tags
                .iter()
                .map(|t| (t.slug.clone(), t.name.clone()))
                .collect(),
        }
    }
}

/// A component group (spec 5.2); the member arrays only on GET.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GroupDto {
    /// Id.
    id: i64,
    /// Name.
    name: String,
    /// Position on the page.
    order: i64,
    /// 0 expanded, 1 collapsed, 2 collapsed unless a member has issues.
    #[schema(minimum = 0, maximum = 2)]
    collapsed: i64,
    /// 0 signed-in users only, 1 public.
    #[schema(minimum = 0, maximum = 1)]
    visible: i64,
    /// Created.
    #[schema(value_type = LocalTime)]
    created_at: String,
    /// Last changed.
    #[schema(value_type = LocalTime)]
    updated_at: String,
    /// Enabled members by `order` (reads only, not on writes).
    #[serde(skip_serializing_if = "Option::is_none")]
    enabled_components: Option<Vec<ComponentDto>>,
    /// The same members, worst status first (reads only).
    #[serde(skip_serializing_if = "Option::is_none")]
    enabled_components_lowest: Option<Vec<ComponentDto>>,
    /// The label of the worst status among the enabled members; null without any.
    lowest_human_status: Option<&'static str>,
}

impl GroupDto {
    pub(crate) fn new(d: &GroupDetail, s: &Shape, with_members: bool) -> Self {
        let g = &d.group;
        let (members, lowest) = if with_members {
            let members: Vec<ComponentDto> = d
                .enabled_components
                .iter()
                .map(|c| ComponentDto::new(c, s))
                .collect();
            let mut by_status: Vec<&Component> = d.enabled_components.iter().collect();
            // Stable: equal statuses keep their order.
            by_status.sort_by_key(|c| std::cmp::Reverse(c.status));
            let lowest: Vec<ComponentDto> = by_status
                .into_iter()
                .map(|c| ComponentDto::new(c, s))
                .collect();
            (Some(members), Some(lowest))
        } else {
            (None, None)
        };
        GroupDto {
            id: g.id.get(),
            name: g.name.clone(),
            order: g.order,
            collapsed: g.collapsed.as_i64(),
            visible: g.visible.as_i64(),
            created_at: s.at(g.created_at),
            updated_at: s.at(g.updated_at),
            enabled_components: members,
            enabled_components_lowest: lowest,
            lowest_human_status: d.lowest_status.map(|st| st.label()),
        }
    }
}

/// An incident update (spec 5.5).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UpdateDto {
    /// Id.
    id: i64,
    /// The incident it belongs to.
    incident_id: i64,
    /// 1 investigating, 2 identified, 3 watching, 4 fixed.
    #[schema(minimum = 0, maximum = 4)]
    status: i64,
    /// Markdown source.
    message: String,
    /// Author; null when unknown.
    user_id: Option<i64>,
    /// Created.
    #[schema(value_type = LocalTime)]
    created_at: String,
    /// Last changed.
    #[schema(value_type = LocalTime)]
    updated_at: String,
    /// The label of `status`.
    human_status: &'static str,
    /// `<app_url>/incidents/<incident_id>#update-<id>`.
    permalink: String,
}

impl UpdateDto {
    pub(crate) fn new(u: &IncidentUpdate, s: &Shape) -> Self {
        UpdateDto {
            id: u.id.get(),
            incident_id: u.incident_id.get(),
            status: u.status.as_i64(),
            message: u.message.clone(),
            user_id: u.user_id.map(|x| x.get()),
            created_at: s.at(u.created_at),
            updated_at: s.at(u.updated_at),
            human_status: u.status.label(),
            permalink: format!("{}/incidents/{}#update-{}", s.root, u.incident_id, u.id),
        }
    }
}

/// An incident (spec 5.3).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IncidentDto {
    /// Id.
    id: i64,
    /// Author; null when unknown.
    user_id: Option<i64>,
    /// Linked component; 0 for none.
    component_id: i64,
    /// Name.
    name: String,
    /// 0 scheduled (legacy), 1 investigating, 2 identified, 3 watching, 4 fixed.
    #[schema(minimum = 0, maximum = 4)]
    status: i64,
    /// 0 signed-in users only, 1 public.
    #[schema(minimum = 0, maximum = 1)]
    visible: i64,
    /// Pinned to the top of the page.
    stickied: bool,
    /// Always false (as Cachet 2.4 answers over the API).
    notifications: bool,
    /// Markdown source.
    message: String,
    /// When it began.
    #[schema(value_type = LocalTime)]
    occurred_at: String,
    /// Created.
    #[schema(value_type = LocalTime)]
    created_at: String,
    /// Last changed.
    #[schema(value_type = LocalTime)]
    updated_at: String,
    /// Always null.
    #[schema(value_type = Option<LocalTime>)]
    deleted_at: Option<String>,
    /// The newest update (or, without updates, the incident) is fixed.
    is_resolved: bool,
    /// Its updates, newest first.
    updates: Vec<UpdateDto>,
    /// `{}` when empty (the reference's `[]` is a PHP artefact no client needs).
    meta: BTreeMap<String, Value>,
    /// The label of `status`.
    human_status: &'static str,
    /// The newest update; null without updates.
    latest_update_id: Option<i64>,
    /// The newest update's status, else the incident's.
    #[schema(minimum = 0, maximum = 4)]
    latest_status: i64,
    /// The label of `latest_status`.
    latest_human_status: &'static str,
    /// CSS classes of `latest_status`'s icon (`icon ion-flag oranges`, ...).
    latest_icon: &'static str,
    /// `<app_url>/incidents/<id>`.
    permalink: String,
    /// Seconds since creation once there are updates, else 0 (as Cachet).
    duration: i64,
}

impl IncidentDto {
    pub(crate) fn new(i: &Incident, s: &Shape) -> Self {
        let latest = rollup::latest_status(i);
        IncidentDto {
            id: i.id.get(),
            user_id: i.user_id.map(|u| u.get()),
            component_id: i.component_id.map_or(0, |c| c.get()),
            name: i.name.clone(),
            status: i.status.as_i64(),
            visible: i.visible.as_i64(),
            stickied: i.stickied,
            notifications: false,
            message: i.message.clone(),
            occurred_at: s.at(i.occurred_at),
            created_at: s.at(i.created_at),
            updated_at: s.at(i.updated_at),
            deleted_at: None,
            is_resolved: rollup::is_resolved(i),
            updates: i.updates.iter().map(|u| UpdateDto::new(u, s)).collect(),
            meta: i.meta.clone(),
            human_status: i.status.label(),
            latest_update_id: i.updates.first().map(|u| u.id.get()),
            latest_status: latest.as_i64(),
            latest_human_status: latest.label(),
            latest_icon: latest.icon(),
            permalink: format!("{}/incidents/{}", s.root, i.id),
            // As the reference: seconds since creation once there are updates, else 0.
            duration: if i.updates.is_empty() {
                0
            } else {
                (now() - i.created_at).num_seconds().max(0)
            },
        }
    }
}

/// An incident template, raw (spec 5.4): dates in UTC.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TemplateDto {
    /// Id.
    id: i64,
    /// Name.
    name: String,
    /// What `template` on an incident names.
    slug: String,
    /// The template source.
    template: String,
    /// Created (UTC).
    #[schema(value_type = LocalTime)]
    created_at: String,
    /// Last changed (UTC).
    #[schema(value_type = LocalTime)]
    updated_at: String,
    /// Always null.
    #[schema(value_type = Option<LocalTime>)]
    deleted_at: Option<String>,
}

impl TemplateDto {
    pub(crate) fn new(t: &IncidentTemplate) -> Self {
        TemplateDto {
            id: t.id.get(),
            name: t.name.clone(),
            slug: t.slug.clone(),
            template: t.template.clone(),
            created_at: raw(t.created_at),
            updated_at: raw(t.updated_at),
            deleted_at: None,
        }
    }
}

/// A metric (spec 5.6).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MetricDto {
    /// Id.
    id: i64,
    /// Name.
    name: String,
    /// Unit shown after values.
    suffix: String,
    /// Description.
    description: String,
    /// Value of a bucket without points.
    #[schema(value_type = f64)]
    default_value: Number,
    /// 0 sum, 1 average.
    #[schema(minimum = 0, maximum = 1)]
    calc_type: i64,
    /// The chart is shown.
    display_chart: bool,
    /// Decimal places shown.
    #[schema(minimum = 0, maximum = 4)]
    places: u8,
    /// 0 last hour, 1 last 12 hours, 2 week, 3 month.
    #[schema(minimum = 0, maximum = 3)]
    default_view: i64,
    /// Bucket size in minutes (a divisor of 60).
    #[schema(minimum = 1, maximum = 60)]
    threshold: u8,
    /// Position on the page.
    order: i64,
    /// 0 signed-in users only, 1 public, 2 hidden.
    #[schema(minimum = 0, maximum = 2)]
    visible: i64,
    /// Created.
    #[schema(value_type = LocalTime)]
    created_at: String,
    /// Last changed.
    #[schema(value_type = LocalTime)]
    updated_at: String,
    /// The label of `default_view` (`Last Hour`, ...).
    default_view_name: &'static str,
}

impl MetricDto {
    pub(crate) fn new(m: &Metric, s: &Shape) -> Self {
        MetricDto {
            id: m.id.get(),
            name: m.name.clone(),
            suffix: m.suffix.clone(),
            description: m.description.clone(),
            default_value: number(m.default_value),
            calc_type: m.calc_type.as_i64(),
            display_chart: m.display_chart,
            places: m.places,
            default_view: m.default_view.as_i64(),
            threshold: m.threshold,
            order: m.order,
            visible: m.visible.as_i64(),
            created_at: s.at(m.created_at),
            updated_at: s.at(m.updated_at),
            default_view_name: m.default_view.label(),
        }
    }
}

/// A metric point (spec 5.7): whole values without `.0`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PointDto {
    /// Id.
    id: i64,
    /// The metric it belongs to.
    metric_id: i64,
    /// The observed value (whole values without `.0`).
    #[schema(value_type = f64)]
    value: Number,
    /// How many times this value was posted within the metric's threshold.
    counter: i64,
    /// When, rounded to 30 seconds.
    #[schema(value_type = LocalTime)]
    created_at: String,
    /// Last changed.
    #[schema(value_type = LocalTime)]
    updated_at: String,
    /// `value` times `counter`.
    #[schema(value_type = f64)]
    calculated_value: Number,
}

impl PointDto {
    pub(crate) fn new(p: &MetricPoint, s: &Shape) -> Self {
        // Counters are small; f64 holds them exactly far beyond any real count.
        #[allow(clippy::cast_precision_loss)]
        let counter = p.counter as f64;
        PointDto {
            id: p.id.get(),
            metric_id: p.metric_id.get(),
            value: number(p.value),
            counter: p.counter,
            created_at: s.at(p.created_at),
            updated_at: s.at(p.updated_at),
            calculated_value: number(p.value * counter),
        }
    }
}

/// A raw schedule component row (UTC dates).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ScheduleComponentDto {
    /// Id.
    id: i64,
    /// The maintenance window.
    schedule_id: i64,
    /// The affected component.
    component_id: i64,
    /// The status the component has during the window.
    #[schema(minimum = 0, maximum = 4)]
    component_status: i64,
    /// Created (UTC).
    #[schema(value_type = LocalTime)]
    created_at: String,
    /// Last changed (UTC).
    #[schema(value_type = LocalTime)]
    updated_at: String,
}

impl ScheduleComponentDto {
    fn new(c: &ScheduleComponent) -> Self {
        ScheduleComponentDto {
            id: c.id,
            schedule_id: c.schedule_id.get(),
            component_id: c.component_id.get(),
            component_status: c.component_status.as_i64(),
            created_at: raw(c.created_at),
            updated_at: raw(c.updated_at),
        }
    }
}

/// A maintenance window (spec 5.8).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ScheduleDto {
    /// Id.
    id: i64,
    /// Name.
    name: String,
    /// Markdown source; null for none.
    message: Option<String>,
    /// 0 upcoming, 1 in progress, 2 complete.
    #[schema(minimum = 0, maximum = 2)]
    status: i64,
    /// Start.
    #[schema(value_type = LocalTime)]
    scheduled_at: String,
    /// End; null when open.
    #[schema(value_type = Option<LocalTime>)]
    completed_at: Option<String>,
    /// Created.
    #[schema(value_type = LocalTime)]
    created_at: String,
    /// Last changed.
    #[schema(value_type = LocalTime)]
    updated_at: String,
    /// Always null.
    #[schema(value_type = Option<LocalTime>)]
    deleted_at: Option<String>,
    /// `Upcoming`, `In Progress` or `Complete`.
    human_status: &'static str,
    /// Affected components.
    components: Vec<ScheduleComponentDto>,
}

impl ScheduleDto {
    pub(crate) fn new(x: &Schedule, s: &Shape) -> Self {
        ScheduleDto {
            id: x.id.get(),
            name: x.name.clone(),
            message: x.message.clone(),
            status: x.status.as_i64(),
            scheduled_at: s.at(x.scheduled_at),
            completed_at: x.completed_at.map(|t| s.at(t)),
            created_at: s.at(x.created_at),
            updated_at: s.at(x.updated_at),
            deleted_at: None,
            human_status: x.status.label(),
            components: x.components.iter().map(ScheduleComponentDto::new).collect(),
        }
    }
}

/// A raw subscription row (UTC dates).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SubscriptionDto {
    /// Id.
    id: i64,
    /// The subscriber.
    subscriber_id: i64,
    /// The component.
    component_id: i64,
    /// Created (UTC).
    #[schema(value_type = LocalTime)]
    created_at: String,
    /// Last changed (UTC).
    #[schema(value_type = LocalTime)]
    updated_at: String,
}

impl SubscriptionDto {
    fn new(x: &Subscription) -> Self {
        SubscriptionDto {
            id: x.id.get(),
            subscriber_id: x.subscriber_id.get(),
            component_id: x.component_id.get(),
            created_at: raw(x.created_at),
            updated_at: raw(x.updated_at),
        }
    }
}

/// A subscriber (spec 5.9) without its verify code (spec 12.5).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SubscriberDto {
    /// Id.
    id: i64,
    /// Email address.
    email: String,
    /// Phone number; null when none.
    phone_number: Option<String>,
    /// Slack webhook; null when none.
    slack_webhook_url: Option<String>,
    /// When verified, written with the `incident_date_format` setting (`Tuesday 5th March 2024 10:00:00`); null when unverified.
    verified_at: Option<String>,
    /// Subscribed to everything.
    global: bool,
    /// Created.
    #[schema(value_type = LocalTime)]
    created_at: String,
    /// Last changed.
    #[schema(value_type = LocalTime)]
    updated_at: String,
    /// Per-component subscriptions.
    subscriptions: Vec<SubscriptionDto>,
}

impl SubscriberDto {
    pub(crate) fn new(x: &Subscriber, s: &Shape) -> Self {
        SubscriberDto {
            id: x.id.get(),
            email: x.email.as_str().to_string(),
            phone_number: x.phone_number.clone(),
            slack_webhook_url: x.slack_webhook_url.clone(),
            verified_at: x.verified_at.map(|t| long_date(t, s.zone)),
            global: x.global,
            created_at: s.at(x.created_at),
            updated_at: s.at(x.updated_at),
            subscriptions: x.subscriptions.iter().map(SubscriptionDto::new).collect(),
        }
    }
}

/// An audit log entry (`GET /actions`). Entries never hold a secret (see the core's audit
/// rules), so they are shown as stored.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditDto {
    /// Id.
    id: i64,
    /// Who; null for a guest or the system.
    user_id: Option<i64>,
    /// What happened (`token.failed`, `authz.denied`, ...).
    kind: String,
    /// A sentence about it (never a secret).
    detail: String,
    /// When.
    #[schema(value_type = LocalTime)]
    created_at: String,
}

impl AuditDto {
    pub(crate) fn new(x: &cachet_core::model::AuditEntry, s: &Shape) -> Self {
        AuditDto {
            id: x.id.get(),
            user_id: x.user_id.map(|u| u.get()),
            kind: x.kind.clone(),
            detail: x.detail.clone(),
            created_at: s.at(x.at),
        }
    }
}

/// One delivery of the outbox (`GET /deliveries`): what, to whom, and how it stands.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeliveryDto {
    /// Id (the `Cachet-Delivery` header of a webhook post).
    id: i64,
    /// The notice it delivers.
    notice_id: i64,
    /// The event (`incident.created`, ...).
    event: &'static str,
    /// The mail subject.
    subject: String,
    /// `subscriber` or `webhook`.
    #[schema(pattern = "^(subscriber|webhook)$")]
    target_type: &'static str,
    /// The subscriber's or webhook's id.
    target_id: i64,
    /// `pending`, `delivered`, `failed` or `dropped`.
    #[schema(pattern = "^(pending|delivered|failed|dropped)$")]
    state: &'static str,
    /// Attempts begun.
    attempts: u32,
    /// When it is due (for a pending one).
    #[schema(value_type = LocalTime)]
    next_attempt_at: String,
    /// Why the last attempt failed.
    last_error: Option<String>,
    /// When it was sent.
    #[schema(value_type = Option<LocalTime>)]
    delivered_at: Option<String>,
    /// When it was queued.
    #[schema(value_type = LocalTime)]
    created_at: String,
}

impl DeliveryDto {
    pub(crate) fn new(d: &cachet_core::notify::Delivery, s: &Shape) -> Self {
        let (target_type, target_id) = match d.target {
            cachet_core::notify::Target::Subscriber(id) => ("subscriber", id.get()),
            cachet_core::notify::Target::Webhook(id) => ("webhook", id.get()),
        };
        DeliveryDto {
            id: d.id.get(),
            notice_id: d.notice.id.get(),
            event: d.notice.event.as_str(),
            subject: d.notice.subject.clone(),
            target_type,
            target_id,
            state: d.state.as_str(),
            attempts: d.attempts,
            next_attempt_at: s.at(d.next_attempt_at),
            last_error: d.last_error.clone(),
            delivered_at: d.delivered_at.map(|t| s.at(t)),
            created_at: s.at(d.created_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_dates_use_english_ordinals() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(
            long_date(t("2024-03-05T10:00:00Z"), Tz::UTC),
            "Tuesday 5th March 2024 10:00:00"
        );
        assert_eq!(
            long_date(t("2019-05-24T10:01:44Z"), Tz::UTC),
            "Friday 24th May 2019 10:01:44"
        );
        assert_eq!(
            long_date(t("2024-03-01T00:00:00Z"), Tz::UTC),
            "Friday 1st March 2024 00:00:00"
        );
        assert_eq!(
            long_date(t("2024-03-02T00:00:00Z"), Tz::UTC),
            "Saturday 2nd March 2024 00:00:00"
        );
        assert_eq!(
            long_date(t("2024-03-03T00:00:00Z"), Tz::UTC),
            "Sunday 3rd March 2024 00:00:00"
        );
        assert_eq!(
            long_date(t("2024-03-11T00:00:00Z"), Tz::UTC),
            "Monday 11th March 2024 00:00:00"
        );
        assert_eq!(
            long_date(t("2024-03-12T00:00:00Z"), Tz::UTC),
            "Tuesday 12th March 2024 00:00:00"
        );
        assert_eq!(
            long_date(t("2024-03-13T00:00:00Z"), Tz::UTC),
            "Wednesday 13th March 2024 00:00:00"
        );
        assert_eq!(
            long_date(t("2024-03-21T00:00:00Z"), Tz::UTC),
            "Thursday 21st March 2024 00:00:00"
        );
        assert_eq!(
            long_date(t("2024-03-22T00:00:00Z"), Tz::UTC),
            "Friday 22nd March 2024 00:00:00"
        );
        assert_eq!(
            long_date(t("2024-03-23T00:00:00Z"), Tz::UTC),
            "Saturday 23rd March 2024 00:00:00"
        );
        assert_eq!(
            long_date(t("2024-03-31T23:30:00Z"), "Asia/Kolkata".parse().unwrap()),
            "Monday 1st April 2024 05:00:00"
        );
    }
}
