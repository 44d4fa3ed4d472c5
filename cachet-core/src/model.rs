//! Domain records as stores return them. Wire formats live in `cachet-http`; these types
//! derive no serde so no field (a hash, a secret) can leak by accident.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::enums::{
    CalcType, ComponentStatus, GroupCollapsed, IncidentStatus, MetricView, MetricVisibility, Role,
    ScheduleStatus, StatusSource, Visibility,
};
use crate::ids::*;
use crate::markdown::SafeHtml;
use crate::secret::{PasswordHash, TokenHash};

/// A tag on a component: a display name and its slug.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tag {
    /// Slug (lowercase, `-` separated), unique.
    pub slug: String,
    /// Name as first written.
    pub name: String,
}

/// A component of the system whose status is shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// Id.
    pub id: ComponentId,
    /// Name.
    pub name: String,
    /// Description (plain text).
    pub description: String,
    /// Link to the component, empty when none.
    pub link: String,
    /// Status as last set directly.
    pub status: ComponentStatus,
    /// Display order.
    pub order: i64,
    /// Group, if any.
    pub group_id: Option<GroupId>,
    /// Disabled components are hidden from guests and left out of roll-ups.
    pub enabled: bool,
    /// Free JSON metadata.
    pub meta: Option<serde_json::Value>,
    /// Tags, sorted by slug.
    pub tags: Vec<Tag>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// One change of a component's status, recorded by the store in the same transaction as
/// the change itself. A write that leaves the status as it was records nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusChange {
    /// Id; for one component, ids follow the order the changes were made in.
    pub id: StatusChangeId,
    /// The component.
    pub component_id: ComponentId,
    /// When the change was written.
    pub at: DateTime<Utc>,
    /// Status before.
    pub old: ComponentStatus,
    /// Status after (never equal to `old`).
    pub new: ComponentStatus,
    /// What changed it.
    pub source: StatusSource,
}

/// A group of components.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentGroup {
    /// Id.
    pub id: GroupId,
    /// Name.
    pub name: String,
    /// Display order.
    pub order: i64,
    /// Collapsing on the status page.
    pub collapsed: GroupCollapsed,
    /// Who may see it.
    pub visible: Visibility,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// An incident with its updates (newest first).
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    /// Id.
    pub id: IncidentId,
    /// Creator, if known.
    pub user_id: Option<UserId>,
    /// Affected component, if any.
    pub component_id: Option<ComponentId>,
    /// The status the incident imposes on its component while unresolved.
    pub impact: Option<ComponentStatus>,
    /// Title.
    pub name: String,
    /// Status of the incident itself (follows its newest update).
    pub status: IncidentStatus,
    /// Who may see it.
    pub visible: Visibility,
    /// Pinned on top of the status page.
    pub stickied: bool,
    /// Markdown source.
    pub message: String,
    /// Rendered, sanitized message.
    pub message_html: SafeHtml,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Key/value metadata.
    pub meta: BTreeMap<String, serde_json::Value>,
    /// Updates, newest first.
    pub updates: Vec<IncidentUpdate>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// An update posted on an incident.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentUpdate {
    /// Id.
    pub id: UpdateId,
    /// The incident it belongs to.
    pub incident_id: IncidentId,
    /// Status announced by this update (never `Scheduled`).
    pub status: IncidentStatus,
    /// Markdown source.
    pub message: String,
    /// Rendered, sanitized message.
    pub message_html: SafeHtml,
    /// Author, if known.
    pub user_id: Option<UserId>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A reusable incident message template (sandboxed subset, see [`crate::template`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentTemplate {
    /// Id.
    pub id: TemplateId,
    /// Name.
    pub name: String,
    /// Unique slug.
    pub slug: String,
    /// Template source.
    pub template: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A component affected by a maintenance window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleComponent {
    /// Row id.
    pub id: i64,
    /// The schedule.
    pub schedule_id: ScheduleId,
    /// The component.
    pub component_id: ComponentId,
    /// Status the component has while the window is in progress.
    pub component_status: ComponentStatus,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A maintenance window.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// Id.
    pub id: ScheduleId,
    /// Name.
    pub name: String,
    /// Markdown source, if any.
    pub message: Option<String>,
    /// Rendered, sanitized message.
    pub message_html: Option<SafeHtml>,
    /// Status.
    pub status: ScheduleStatus,
    /// Planned start.
    pub scheduled_at: DateTime<Utc>,
    /// Planned or actual end.
    pub completed_at: Option<DateTime<Utc>>,
    /// How far its start and end have been announced (see [`crate::maintenance::announcement`]).
    pub announced: crate::maintenance::Announced,
    /// Affected components.
    pub components: Vec<ScheduleComponent>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A metric shown as a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// Id.
    pub id: MetricId,
    /// Name.
    pub name: String,
    /// Unit suffix.
    pub suffix: String,
    /// Description.
    pub description: String,
    /// Value of an empty bucket.
    pub default_value: f64,
    /// Aggregation.
    pub calc_type: CalcType,
    /// Whether to draw the chart.
    pub display_chart: bool,
    /// Decimal places shown (0-4).
    pub places: u8,
    /// Default chart window.
    pub default_view: MetricView,
    /// Dedup window and gap allowance in minutes (divides 60).
    pub threshold: u8,
    /// Display order.
    pub order: i64,
    /// Who may see it.
    pub visible: MetricVisibility,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// One observation of a metric (repeated equal values within the threshold bump `counter`).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    /// Id.
    pub id: PointId,
    /// Metric.
    pub metric_id: MetricId,
    /// Observed value (finite).
    pub value: f64,
    /// How many times this value was observed in the window (>= 1).
    pub counter: i64,
    /// When (rounded to 30 s on input).
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// Sums of one aggregation bucket, computed by the store.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketSums {
    /// `floor((t + offset) / bucket)`.
    pub bucket: i64,
    /// Sum of `value * counter`.
    pub sum_product: f64,
    /// Sum of `value`.
    pub sum_value: f64,
    /// Number of points.
    pub points: i64,
}

/// A subscription of a subscriber to one component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Id.
    pub id: SubscriptionId,
    /// Subscriber.
    pub subscriber_id: SubscriberId,
    /// Component.
    pub component_id: ComponentId,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A subscriber's email address as stores keep it: never in clear.
///
/// `lookup` is a keyed digest of the normalised address (unique, to find and deduplicate
/// subscribers by); `sealed` is the address encrypted with the data key. Both are made by
/// the service ([`crate::crypto`]); a store only stores and compares them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedEmail {
    /// Keyed digest, 64 hex digits.
    pub lookup: String,
    /// The address, sealed.
    pub sealed: String,
}

/// Someone who receives notifications. Stores hold and return `Subscriber<SealedEmail>`;
/// the service opens the address and hands out `Subscriber` (with an [`Email`]).
///
/// [`Email`]: crate::validate::Email
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber<E = crate::validate::Email> {
    /// Id.
    pub id: SubscriberId,
    /// Normalised email address (sealed, in a store).
    pub email: E,
    /// Digest of the verification code (the code itself is never stored).
    pub verify_code_hash: TokenHash,
    /// Phone number, if any.
    pub phone_number: Option<String>,
    /// Slack webhook, if any.
    pub slack_webhook_url: Option<String>,
    /// When verified; unverified subscribers receive nothing.
    pub verified_at: Option<DateTime<Utc>>,
    /// Receives notifications about everything.
    pub global: bool,
    /// Per-component subscriptions, in creation order.
    pub subscriptions: Vec<Subscription>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl<E> Subscriber<E> {
    /// The same subscriber with its address replaced by `f(address)`.
    ///
    /// # Errors
    /// What `f` returns.
    pub fn try_map_email<F, X, Err>(self, f: F) -> Result<Subscriber<X>, Err>
    where
        F: FnOnce(E) -> Result<X, Err>,
    {
        Ok(Subscriber {
            id: self.id,
            email: f(self.email)?,
            verify_code_hash: self.verify_code_hash,
            phone_number: self.phone_number,
            slack_webhook_url: self.slack_webhook_url,
            verified_at: self.verified_at,
            global: self.global,
            subscriptions: self.subscriptions,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Unique user name.
    pub username: String,
    /// Unique email.
    pub email: crate::validate::Email,
    /// Argon2id PHC string.
    pub password_hash: PasswordHash,
    /// Role.
    pub role: Role,
    /// Inactive users cannot sign in and their tokens fail.
    pub active: bool,
    /// Two-factor authentication.
    pub totp: TotpState,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// True when signing in needs a TOTP or recovery code.
    pub fn has_2fa(&self) -> bool {
        self.totp.enabled_at.is_some()
    }
}

/// A user's TOTP state: off (all `None`), enrollment pending (a secret, not enabled), or on.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TotpState {
    /// The secret, sealed with the data key (see [`crate::crypto`]).
    pub sealed_secret: Option<String>,
    /// When 2FA was turned on.
    pub enabled_at: Option<DateTime<Utc>>,
    /// The last step signed in with; it and every earlier step are refused.
    pub last_step: Option<i64>,
}

impl std::fmt::Debug for TotpState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpState")
            .field("has_secret", &self.sealed_secret.is_some())
            .field("enabled_at", &self.enabled_at)
            .field("last_step", &self.last_step)
            .finish()
    }
}

/// An API token (its secret is never stored, only its digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Id.
    pub id: TokenId,
    /// Owner; the token acts with this user's role.
    pub user_id: UserId,
    /// Label.
    pub name: String,
    /// The first characters of the token, to recognise it.
    pub prefix: String,
    /// SHA-256 of the whole token.
    pub hash: TokenHash,
    /// What it may do within its user's role (`None`: all the role may).
    pub abilities: Option<crate::policy::Abilities>,
    /// It fails from this instant on.
    pub expires_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last successful use.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revoked tokens fail.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// An entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Id.
    pub id: AuditId,
    /// When.
    pub at: DateTime<Utc>,
    /// Who, if known.
    pub user_id: Option<UserId>,
    /// What kind of event (e.g. `token.created`).
    pub kind: String,
    /// A short description; never a secret.
    pub detail: String,
}
