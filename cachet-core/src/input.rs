//! Unvalidated inputs of the service's use cases, as an adapter (HTTP, CLI, an embedding
//! application) decoded them. Everything is optional here; the service checks each field and
//! reports every problem at once, naming the field. Enum-valued fields are raw integers so
//! an out-of-range value is reported by the service, not lost by the decoder.

use chrono_tz::Tz;
use serde_json::Value;

/// Create or change a component (on change, `None` = unchanged).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ComponentInput {
    /// Name (required on create).
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Link (absolute http(s) URL or empty).
    pub link: Option<String>,
    /// Status 0-4 (default 0 on create, as in Cachet).
    pub status: Option<i64>,
    /// Order.
    pub order: Option<i64>,
    /// Group id, 0 = ungrouped.
    pub group_id: Option<i64>,
    /// Enabled (default true).
    pub enabled: Option<bool>,
    /// JSON object.
    pub meta: Option<Value>,
    /// Tag names (replace the set on change).
    pub tags: Option<Vec<String>>,
    /// No notification of a status change (spec 7.3: `silent`).
    pub silent: Option<bool>,
}

/// Create or change a component group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupInput {
    /// Name (required on create).
    pub name: Option<String>,
    /// Order (default 0).
    pub order: Option<i64>,
    /// Collapsed 0-2 (default 0).
    pub collapsed: Option<i64>,
    /// Visible 0/1 (default 0: signed-in users only).
    pub visible: Option<i64>,
}

/// Create or change an incident.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentInput {
    /// Name (required on create).
    pub name: Option<String>,
    /// Status 0-4 (required on create).
    pub status: Option<i64>,
    /// Markdown message (required on create unless a template supplies it).
    pub message: Option<String>,
    /// Visible 0/1 (default 1).
    pub visible: Option<i64>,
    /// Stickied (default false).
    pub stickied: Option<bool>,
    /// Notify subscribers (default true).
    pub notify: Option<bool>,
    /// Component id (with `component_status`).
    pub component_id: Option<i64>,
    /// Component status 0-4 (with `component_id`).
    pub component_status: Option<i64>,
    /// `Y-m-d H:i` in the request's zone (default now).
    pub occurred_at: Option<String>,
    /// Template slug.
    pub template: Option<String>,
    /// Template variables (an object).
    pub vars: Option<Value>,
    /// Meta: an object; empty values delete keys on change.
    pub meta: Option<Value>,
    /// Zone of local input times (default: the `app_timezone` setting).
    pub time_zone: Option<Tz>,
}

/// Post or change an incident update.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentUpdateInput {
    /// Status 1-4 (required on create).
    pub status: Option<i64>,
    /// Markdown message (required on create).
    pub message: Option<String>,
    /// Component id (validated with `component_status`; accepted for compatibility).
    pub component_id: Option<i64>,
    /// Component status 0-4.
    pub component_status: Option<i64>,
}

/// Create or change an incident template.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TemplateInput {
    /// Name (required on create).
    pub name: Option<String>,
    /// Slug (default: slug of the name).
    pub slug: Option<String>,
    /// Source (required on create).
    pub template: Option<String>,
}

/// Create or change a maintenance window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScheduleInput {
    /// Name (required on create).
    pub name: Option<String>,
    /// Markdown message; `Some("")` removes it on change.
    pub message: Option<String>,
    /// Status 0-2 (required on create).
    pub status: Option<i64>,
    /// `Y-m-d H:i` (required on create).
    pub scheduled_at: Option<String>,
    /// `Y-m-d H:i`; `Some("")` removes it on change.
    pub completed_at: Option<String>,
    /// Affected components: id and status during the window (`None` = Unknown: listed, no
    /// status change).
    pub components: Option<Vec<(i64, Option<i64>)>>,
    /// Notify subscribers.
    pub notify: Option<bool>,
    /// Zone of local input times.
    pub time_zone: Option<Tz>,
}

/// Create or change a metric.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricInput {
    /// Name (required on create).
    pub name: Option<String>,
    /// Suffix (required on create).
    pub suffix: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Default value (required on create).
    pub default_value: Option<f64>,
    /// 0 sum, 1 average.
    pub calc_type: Option<i64>,
    /// Show the chart.
    pub display_chart: Option<bool>,
    /// Decimal places 0-4.
    pub places: Option<i64>,
    /// Default view 0-3.
    pub default_view: Option<i64>,
    /// Minutes, divides 60.
    pub threshold: Option<i64>,
    /// Order.
    pub order: Option<i64>,
    /// Visible 0-2.
    pub visible: Option<i64>,
}

/// Record or change a metric point.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PointInput {
    /// Value (required on create; finite).
    pub value: Option<f64>,
    /// Unix seconds (default now).
    pub timestamp: Option<i64>,
}

/// Create a subscriber.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubscriberInput {
    /// Email (required).
    pub email: Option<String>,
    /// Mark verified at once (default: the `skip_subscriber_verification` setting).
    pub verify: Option<bool>,
    /// Component ids; absent or empty = every component, and the subscriber is global.
    pub components: Option<Vec<i64>>,
}

/// Create a user.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserInput {
    /// Unique user name.
    pub username: String,
    /// Unique email.
    pub email: String,
    /// Password (at least 12 characters).
    pub password: String,
    /// Role.
    pub role: crate::enums::Role,
}

/// Create an API token.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenInput {
    /// Label.
    pub name: String,
    /// Ability names separated by spaces or commas (see [`crate::policy::Ability`]), to
    /// narrow the token below its user's role; `None` for all the role may.
    pub abilities: Option<String>,
    /// When it stops working (must be in the future).
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}
