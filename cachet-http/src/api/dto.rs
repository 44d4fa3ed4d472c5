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
    id: i64,
    name: String,
    description: String,
    link: String,
    #[schema(minimum = 0, maximum = 4)]
    status: i64,
    order: i64,
    group_id: i64,
    enabled: bool,
    #[schema(schema_with = component_meta)]
    meta: Option<Value>,
    #[schema(value_type = LocalTime)]
    created_at: String,
    #[schema(value_type = LocalTime)]
    updated_at: String,
    #[schema(value_type = Option<LocalTime>)]
    deleted_at: Option<String>,
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
    id: i64,
    name: String,
    order: i64,
    #[schema(minimum = 0, maximum = 2)]
    collapsed: i64,
    #[schema(minimum = 0, maximum = 1)]
    visible: i64,
    #[schema(value_type = LocalTime)]
    created_at: String,
    #[schema(value_type = LocalTime)]
    updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    enabled_components: Option<Vec<ComponentDto>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    enabled_components_lowest: Option<Vec<ComponentDto>>,
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
    id: i64,
    incident_id: i64,
    #[schema(minimum = 0, maximum = 4)]
    status: i64,
    message: String,
    user_id: Option<i64>,
    #[schema(value_type = LocalTime)]
    created_at: String,
    #[schema(value_type = LocalTime)]
    updated_at: String,
    human_status: &'static str,
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
    id: i64,
    user_id: Option<i64>,
    component_id: i64,
    name: String,
    #[schema(minimum = 0, maximum = 4)]
    status: i64,
    #[schema(minimum = 0, maximum = 1)]
    visible: i64,
    stickied: bool,
    notifications: bool,
    message: String,
    #[schema(value_type = LocalTime)]
    occurred_at: String,
    #[schema(value_type = LocalTime)]
    created_at: String,
    #[schema(value_type = LocalTime)]
    updated_at: String,
    #[schema(value_type = Option<LocalTime>)]
    deleted_at: Option<String>,
    is_resolved: bool,
    updates: Vec<UpdateDto>,
    /// `{}` when empty (the reference's `[]` is a PHP artefact no client needs).
    meta: BTreeMap<String, Value>,
    human_status: &'static str,
    latest_update_id: Option<i64>,
    #[schema(minimum = 0, maximum = 4)]
    latest_status: i64,
    latest_human_status: &'static str,
    latest_icon: &'static str,
    permalink: String,
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
    id: i64,
    name: String,
    slug: String,
    template: String,
    #[schema(value_type = LocalTime)]
    created_at: String,
    #[schema(value_type = LocalTime)]
    updated_at: String,
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
    id: i64,
    name: String,
    suffix: String,
    description: String,
    #[schema(value_type = f64)]
    default_value: Number,
    #[schema(minimum = 0, maximum = 1)]
    calc_type: i64,
    display_chart: bool,
    #[schema(minimum = 0, maximum = 4)]
    places: u8,
    #[schema(minimum = 0, maximum = 3)]
    default_view: i64,
    #[schema(minimum = 1, maximum = 60)]
    threshold: u8,
    order: i64,
    #[schema(minimum = 0, maximum = 2)]
    visible: i64,
    #[schema(value_type = LocalTime)]
    created_at: String,
    #[schema(value_type = LocalTime)]
    updated_at: String,
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
    id: i64,
    metric_id: i64,
    #[schema(value_type = f64)]
    value: Number,
    counter: i64,
    #[schema(value_type = LocalTime)]
    created_at: String,
    #[schema(value_type = LocalTime)]
    updated_at: String,
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
    id: i64,
    schedule_id: i64,
    component_id: i64,
    #[schema(minimum = 0, maximum = 4)]
    component_status: i64,
    #[schema(value_type = LocalTime)]
    created_at: String,
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
    id: i64,
    name: String,
    message: Option<String>,
    #[schema(minimum = 0, maximum = 2)]
    status: i64,
    #[schema(value_type = LocalTime)]
    scheduled_at: String,
    #[schema(value_type = Option<LocalTime>)]
    completed_at: Option<String>,
    #[schema(value_type = LocalTime)]
    created_at: String,
    #[schema(value_type = LocalTime)]
    updated_at: String,
    #[schema(value_type = Option<LocalTime>)]
    deleted_at: Option<String>,
    human_status: &'static str,
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
    id: i64,
    subscriber_id: i64,
    component_id: i64,
    #[schema(value_type = LocalTime)]
    created_at: String,
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
    id: i64,
    email: String,
    phone_number: Option<String>,
    slack_webhook_url: Option<String>,
    verified_at: Option<String>,
    global: bool,
    #[schema(value_type = LocalTime)]
    created_at: String,
    #[schema(value_type = LocalTime)]
    updated_at: String,
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
    id: i64,
    user_id: Option<i64>,
    kind: String,
    detail: String,
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
