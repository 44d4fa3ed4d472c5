//! The storage boundary: one object-safe async trait of domain operations.
//!
//! Every method that changes two things is ONE call, atomic in every backend. Lists take a
//! [`ListQuery`]: the backend filters, sorts (whitelisted columns only, ties broken by id)
//! and then pages, and returns the total. Instants are whole seconds: the service only
//! passes whole-second instants, and timestamps a backend sets itself come from [`now`].
//!
//! Each method's contract is written under `# Contract`; every sentence has a case in the
//! conformance suite (`cachet_core::testing`, feature `testing`).

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::chart::Window;
use crate::enums::*;
use crate::error::StoreError;
use crate::ids::*;
use crate::markdown::SafeHtml;
use crate::model::*;
use crate::notify::{Claim, Delivery, DeliveryState, Notice, Outcome};
use crate::secret::{PasswordHash, TokenHash};
use crate::validate::Email;
use crate::webhook::{NewWebhook, Webhook, WebhookPatch};

/// Most rows one page may hold; larger requests are clamped.
pub const MAX_PER_PAGE: u32 = 1000;

/// The current instant truncated to whole seconds (what every backend stores).
pub fn now() -> DateTime<Utc> {
    let n = Utc::now();
    DateTime::from_timestamp(n.timestamp(), 0).unwrap_or(n)
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Ascending.
    #[default]
    Asc,
    /// Descending.
    Desc,
}

/// Filter, sort and page of a list request.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery<S, F> {
    /// 1-based page number.
    pub page: u32,
    /// Rows per page, 1..=[`MAX_PER_PAGE`].
    pub per_page: u32,
    /// Sort column (from the resource's whitelist) and direction; `None` = the default order.
    pub sort: Option<(S, Order)>,
    /// Typed filters.
    pub filter: F,
}

impl<S, F: Default> Default for ListQuery<S, F> {
    fn default() -> Self {
        ListQuery {
            page: 1,
            per_page: 20,
            sort: None,
            filter: F::default(),
        }
    }
}

impl<S, F> ListQuery<S, F> {
    /// A query for `page` of `per_page` rows (both clamped into range).
    pub fn new(page: u32, per_page: u32, filter: F) -> Self {
        ListQuery {
            page: page.max(1),
            per_page: per_page.clamp(1, MAX_PER_PAGE),
            sort: None,
            filter,
        }
    }

    /// Rows to skip.
    pub fn offset(&self) -> u64 {
        u64::from(self.page.max(1) - 1) * u64::from(self.per_page.clamp(1, MAX_PER_PAGE))
    }

    /// Rows to return.
    pub fn limit(&self) -> u32 {
        self.per_page.clamp(1, MAX_PER_PAGE)
    }
}

/// One page of results and the total across all pages.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Rows matching the filter, across all pages.
    pub total: u64,
}

impl<T> Page<T> {
    /// Converts the rows, keeping the total.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
        }
    }
}

macro_rules! sort_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $key:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $(#[doc = concat!("`", $key, "`")] $variant),*
        }

        impl $name {
            /// Every sortable column.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The column's name in requests (and in every backend's schema).
            pub fn key(self) -> &'static str {
                match self {
                    $($name::$variant => $key),*
                }
            }

            /// Looks a request's column up in the whitelist; anything else is `None`.
            pub fn from_key(key: &str) -> Option<Self> {
                match key {
                    $($key => Some($name::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

sort_enum!(/// Sortable component columns.
    ComponentSort { Id => "id", Name => "name", Status => "status", Order => "order", GroupId => "group_id", Enabled => "enabled" });
sort_enum!(/// Sortable group columns.
    GroupSort { Id => "id", Name => "name", Order => "order", Collapsed => "collapsed", Visible => "visible" });
sort_enum!(/// Sortable incident columns.
    IncidentSort { Id => "id", UserId => "user_id", Name => "name", Status => "status", Visible => "visible", Stickied => "stickied", Message => "message", OccurredAt => "occurred_at" });
sort_enum!(/// Sortable incident update columns.
    UpdateSort { Id => "id", Status => "status", UserId => "user_id" });
sort_enum!(/// Sortable template columns.
    TemplateSort { Id => "id", Name => "name", Slug => "slug" });
sort_enum!(/// Sortable metric columns.
    MetricSort { Id => "id", Name => "name", DisplayChart => "display_chart", DefaultValue => "default_value", CalcType => "calc_type", Order => "order", Visible => "visible" });
sort_enum!(/// Sortable metric point columns.
    PointSort { Id => "id", Value => "value", CreatedAt => "created_at" });
sort_enum!(/// Sortable schedule columns.
    ScheduleSort { Id => "id", Name => "name", Status => "status", ScheduledAt => "scheduled_at", CompletedAt => "completed_at", CreatedAt => "created_at", UpdatedAt => "updated_at" });
sort_enum!(/// Sortable subscriber columns.
    SubscriberSort { Id => "id", CreatedAt => "created_at" });
sort_enum!(/// Sortable user columns.
    UserSort { Id => "id", Username => "username" });
sort_enum!(/// Sortable audit log columns.
    AuditSort { Id => "id", At => "at" });
sort_enum!(/// Sortable outbox delivery columns.
    DeliverySort { Id => "id", NextAttemptAt => "next_attempt_at" });

/// Component filters (AND-ed). `public_only` keeps enabled components outside private groups.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ComponentFilter {
    /// `id =`.
    pub id: Option<ComponentId>,
    /// `name =`.
    pub name: Option<String>,
    /// `status =`.
    pub status: Option<ComponentStatus>,
    /// `order =`.
    pub order: Option<i64>,
    /// `group_id =`; `Some(None)` = ungrouped.
    pub group_id: Option<Option<GroupId>>,
    /// `enabled =`.
    pub enabled: Option<bool>,
    /// Has ANY of these tag slugs (empty = no tag filter).
    pub tags: Vec<String>,
    /// Only what guests may see: enabled, and not in a private group.
    pub public_only: bool,
}

/// Group filters (AND-ed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupFilter {
    /// `id =`.
    pub id: Option<GroupId>,
    /// `name =`.
    pub name: Option<String>,
    /// `order =`.
    pub order: Option<i64>,
    /// `collapsed =`.
    pub collapsed: Option<GroupCollapsed>,
    /// `visible =`.
    pub visible: Option<Visibility>,
    /// Only public groups.
    pub public_only: bool,
}

/// Incident filters (AND-ed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentFilter {
    /// `id =`.
    pub id: Option<IncidentId>,
    /// `user_id =`.
    pub user_id: Option<UserId>,
    /// `component_id =`; `Some(None)` = no component.
    pub component_id: Option<Option<ComponentId>>,
    /// `name =`.
    pub name: Option<String>,
    /// `status =`.
    pub status: Option<IncidentStatus>,
    /// `visible =`.
    pub visible: Option<Visibility>,
    /// `stickied =`.
    pub stickied: Option<bool>,
    /// Only public incidents.
    pub public_only: bool,
}

/// Metric filters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricFilter {
    /// Only metrics with visibility Public.
    pub public_only: bool,
}

/// Audit log filters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    /// `kind =`.
    pub kind: Option<String>,
    /// `at >=`.
    pub since: Option<DateTime<Utc>>,
    /// `at <`.
    pub until: Option<DateTime<Utc>>,
}

/// Outbox delivery filters (AND-ed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    /// `state =`.
    pub state: Option<DeliveryState>,
    /// Deliveries of this notice.
    pub notice: Option<NoticeId>,
}

/// A validated new component.
#[derive(Debug, Clone, PartialEq)]
pub struct NewComponent {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Link.
    pub link: String,
    /// Status.
    pub status: ComponentStatus,
    /// Order.
    pub order: i64,
    /// Group (need not exist, as in Cachet).
    pub group_id: Option<GroupId>,
    /// Enabled.
    pub enabled: bool,
    /// Metadata.
    pub meta: Option<serde_json::Value>,
    /// Tags (distinct slugs); found or created by slug.
    pub tags: Vec<Tag>,
}

/// Validated changes to a component; `None` = unchanged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ComponentChanges {
    /// Name.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Link.
    pub link: Option<String>,
    /// Status.
    pub status: Option<ComponentStatus>,
    /// Order.
    pub order: Option<i64>,
    /// Group; `Some(None)` = ungroup.
    pub group_id: Option<Option<GroupId>>,
    /// Enabled.
    pub enabled: Option<bool>,
    /// Metadata, replaced whole.
    pub meta: Option<Option<serde_json::Value>>,
    /// Tags, replacing the set.
    pub tags: Option<Vec<Tag>>,
    /// Queued in the same transaction when, and only when, the status really changes.
    pub notice: Option<Notice>,
}

/// A validated new group.
#[derive(Debug, Clone, PartialEq)]
pub struct NewGroup {
    /// Name.
    pub name: String,
    /// Order.
    pub order: i64,
    /// Collapsing.
    pub collapsed: GroupCollapsed,
    /// Visibility.
    pub visible: Visibility,
}

/// Validated changes to a group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupChanges {
    /// Name.
    pub name: Option<String>,
    /// Order.
    pub order: Option<i64>,
    /// Collapsing.
    pub collapsed: Option<GroupCollapsed>,
    /// Visibility.
    pub visible: Option<Visibility>,
}

/// A rendered message: markdown source and its sanitized HTML.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Markdown source.
    pub source: String,
    /// Rendered HTML.
    pub html: SafeHtml,
}

/// A validated new incident.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIncident {
    /// Creator.
    pub user_id: Option<UserId>,
    /// Affected component (must exist).
    pub component_id: Option<ComponentId>,
    /// Impact on the component while unresolved; also set as the component's status.
    pub impact: Option<ComponentStatus>,
    /// Name.
    pub name: String,
    /// Status.
    pub status: IncidentStatus,
    /// Visibility.
    pub visible: Visibility,
    /// Pinned.
    pub stickied: bool,
    /// Message.
    pub message: Message,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Metadata (no empty values).
    pub meta: BTreeMap<String, serde_json::Value>,
    /// Queued in the same transaction (its entity: the new incident).
    pub notice: Option<Notice>,
}

/// Validated changes to an incident.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentChanges {
    /// Name.
    pub name: Option<String>,
    /// Status.
    pub status: Option<IncidentStatus>,
    /// Visibility.
    pub visible: Option<Visibility>,
    /// Pinned.
    pub stickied: Option<bool>,
    /// Message.
    pub message: Option<Message>,
    /// When it happened.
    pub occurred_at: Option<DateTime<Utc>>,
    /// Component link (must exist); `Some(None)` = unlink.
    pub component_id: Option<Option<ComponentId>>,
    /// Impact; also set as the (possibly new) linked component's status.
    pub impact: Option<ComponentStatus>,
    /// Meta keys to upsert (`Some`) or delete (`None`).
    pub meta: BTreeMap<String, Option<serde_json::Value>>,
    /// Queued in the same transaction (its entity: the incident).
    pub notice: Option<Notice>,
}

/// A validated new incident update.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIncidentUpdate {
    /// Status (not `Scheduled`); also becomes the incident's status.
    pub status: IncidentStatus,
    /// Message.
    pub message: Message,
    /// Author.
    pub user_id: Option<UserId>,
    /// Queued in the same transaction (its entity: the incident).
    pub notice: Option<Notice>,
}

/// Validated changes to an incident update.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentUpdateChanges {
    /// Status.
    pub status: Option<IncidentStatus>,
    /// Message.
    pub message: Option<Message>,
    /// Author.
    pub user_id: Option<UserId>,
}

/// A validated new template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTemplate {
    /// Name.
    pub name: String,
    /// Unique slug.
    pub slug: String,
    /// Source (parses as a [`crate::template::Template`]).
    pub template: String,
}

/// Validated changes to a template.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateChanges {
    /// Name.
    pub name: Option<String>,
    /// Slug.
    pub slug: Option<String>,
    /// Source.
    pub template: Option<String>,
}

/// A validated new maintenance window.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSchedule {
    /// Name.
    pub name: String,
    /// Message.
    pub message: Option<Message>,
    /// Status.
    pub status: ScheduleStatus,
    /// Start.
    pub scheduled_at: DateTime<Utc>,
    /// End (after the start).
    pub completed_at: Option<DateTime<Utc>>,
    /// Affected components (must exist) and their status during the window.
    pub components: Vec<(ComponentId, ComponentStatus)>,
    /// Queued in the same transaction (its entity: the new schedule).
    pub notice: Option<Notice>,
}

/// Validated changes to a maintenance window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScheduleChanges {
    /// Name.
    pub name: Option<String>,
    /// Message; `Some(None)` = remove.
    pub message: Option<Option<Message>>,
    /// Status.
    pub status: Option<ScheduleStatus>,
    /// Start.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// End; `Some(None)` = remove.
    pub completed_at: Option<Option<DateTime<Utc>>>,
    /// Affected components, replacing the set.
    pub components: Option<Vec<(ComponentId, ComponentStatus)>>,
}

/// A validated new metric.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMetric {
    /// Name.
    pub name: String,
    /// Suffix.
    pub suffix: String,
    /// Description.
    pub description: String,
    /// Default value.
    pub default_value: f64,
    /// Calculation.
    pub calc_type: CalcType,
    /// Show chart.
    pub display_chart: bool,
    /// Places.
    pub places: u8,
    /// Default view.
    pub default_view: MetricView,
    /// Threshold minutes.
    pub threshold: u8,
    /// Order.
    pub order: i64,
    /// Visibility.
    pub visible: MetricVisibility,
}

/// Validated changes to a metric.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricChanges {
    /// Name.
    pub name: Option<String>,
    /// Suffix.
    pub suffix: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Default value.
    pub default_value: Option<f64>,
    /// Calculation.
    pub calc_type: Option<CalcType>,
    /// Show chart.
    pub display_chart: Option<bool>,
    /// Places.
    pub places: Option<u8>,
    /// Default view.
    pub default_view: Option<MetricView>,
    /// Threshold minutes.
    pub threshold: Option<u8>,
    /// Order.
    pub order: Option<i64>,
    /// Visibility.
    pub visible: Option<MetricVisibility>,
}

/// A validated observation to record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NewPoint {
    /// Value (finite).
    pub value: f64,
    /// When (already rounded to 30 s).
    pub created_at: DateTime<Utc>,
    /// An existing point of the metric with exactly this value and `created_at >=` this
    /// instant has its counter bumped instead of a new point being added.
    pub dedup_since: DateTime<Utc>,
}

/// Validated changes to a point.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PointChanges {
    /// Value.
    pub value: Option<f64>,
    /// When.
    pub created_at: Option<DateTime<Utc>>,
}

/// Which components a new subscriber follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscribeTo {
    /// A subscription to every existing component (disabled ones included).
    AllComponents,
    /// Subscriptions to these components; ids that do not exist are skipped.
    Components(Vec<ComponentId>),
}

/// A subscriber as stores keep it (the address sealed).
pub type StoredSubscriber = Subscriber<SealedEmail>;

/// A validated new subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscriber {
    /// Email, sealed; unique by its lookup digest.
    pub email: SealedEmail,
    /// Digest of the verification code.
    pub verify_code_hash: TokenHash,
    /// Verified at once (e.g. `verify=true`).
    pub verified_at: Option<DateTime<Utc>>,
    /// Receives everything.
    pub global: bool,
    /// Components followed.
    pub subscribe_to: SubscribeTo,
    /// Queued in the same transaction when the subscriber is created (not when the
    /// address was subscribed already); its entity: the new subscriber.
    pub notice: Option<Notice>,
}

/// A validated new user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Unique user name.
    pub username: String,
    /// Unique email.
    pub email: Email,
    /// Password hash.
    pub password_hash: PasswordHash,
    /// Role.
    pub role: Role,
}

/// Validated changes to a user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChanges {
    /// Email.
    pub email: Option<Email>,
    /// Password hash.
    pub password_hash: Option<PasswordHash>,
    /// Role.
    pub role: Option<Role>,
    /// Active.
    pub active: Option<bool>,
}

/// A new API token's stored part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken {
    /// Owner.
    pub user_id: UserId,
    /// Label.
    pub name: String,
    /// Visible prefix.
    pub prefix: String,
    /// Digest.
    pub hash: TokenHash,
    /// Abilities within the user's role (`None`: all of it).
    pub abilities: Option<crate::policy::Abilities>,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A dashboard session as stored. The browser holds a random secret; the store keeps only
/// its digest, so a copy of the database signs nobody in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Digest of the secret in the cookie.
    pub hash: TokenHash,
    /// Whose session it is.
    pub user_id: UserId,
    /// While a second factor is awaited: what the password step was granted against, in a
    /// form only the service reads. `None`: signed in.
    pub pending: Option<String>,
    /// When it began (the absolute lifetime counts from here).
    pub created_at: DateTime<Utc>,
    /// Last request seen (the idle timeout counts from here).
    pub last_seen_at: DateTime<Utc>,
}

/// A new session as the service hands it to the store: the same fields as the stored
/// record (a store keeps instants to the second, so it reads back truncated).
pub type NewSession = Session;

/// A new audit log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    /// Who.
    pub user_id: Option<UserId>,
    /// Kind, e.g. `token.created`.
    pub kind: String,
    /// Description (never a secret).
    pub detail: String,
}

/// Everything the status page and the overall status need, read at once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overview {
    /// Every component (not deleted), by order then id.
    pub components: Vec<Component>,
    /// Every group, by order then id.
    pub groups: Vec<ComponentGroup>,
    /// Every incident (not deleted) that is unresolved, stickied, or occurred at or after
    /// `since`, newest `occurred_at` first, with updates.
    pub incidents: Vec<Incident>,
    /// Every schedule (not deleted) that is not Complete, or whose `completed_at` or
    /// `scheduled_at` is at or after `since`, by `scheduled_at`.
    pub schedules: Vec<Schedule>,
}

/// The storage of one status page. Object safe; used as `Arc<dyn Store>`.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // ---- components

    /// Lists components.
    ///
    /// # Contract
    /// Deleted components are never listed. Filters are AND-ed; `tags` matches components
    /// having ANY of the slugs; `public_only` keeps enabled components that are ungrouped,
    /// in a public group, or whose group no longer exists. Rows are sorted (default: id ascending; ties by id) and then paged;
    /// `total` counts every matching row. Each component carries its tags sorted by slug.
    async fn list_components(
        &self,
        q: &ListQuery<ComponentSort, ComponentFilter>,
    ) -> Result<Page<Component>, StoreError>;

    /// Gets one component.
    ///
    /// # Contract
    /// `NotFound(Component)` when it does not exist or is deleted.
    async fn get_component(&self, id: ComponentId) -> Result<Component, StoreError>;

    /// Creates a component with its tags.
    ///
    /// # Contract
    /// Returns the stored component with a new id; each tag is found by slug or created;
    /// `created_at == updated_at`.
    async fn create_component(&self, new: NewComponent) -> Result<Component, StoreError>;

    /// Changes a component; a status change is recorded in its history with `source`.
    ///
    /// # Contract
    /// Only fields that are `Some` change; `tags` replaces the whole set; `updated_at` is
    /// refreshed. When `status` differs from the stored status, one [`StatusChange`] (old,
    /// new, `source`, now) is written in the same transaction; the same status records
    /// nothing. Concurrent changes of one component are serialized: each change's `old` is
    /// the `new` of the one before. `NotFound(Component)` when missing or deleted, and then
    /// nothing changes.
    async fn update_component(
        &self,
        id: ComponentId,
        changes: ComponentChanges,
        source: StatusSource,
    ) -> Result<Component, StoreError>;

    /// Deletes a component with every subscription to it, its status history and its
    /// maintenance holds, atomically.
    ///
    /// # Contract
    /// Afterwards the component is not found, no subscription references it and
    /// [`Store::status_changes`] of it is empty. `NotFound(Component)` when missing or
    /// already deleted.
    async fn delete_component(&self, id: ComponentId) -> Result<(), StoreError>;

    // ---- status history and maintenance

    /// One page of a component's status changes, newest first (by id, descending).
    ///
    /// # Contract
    /// `page` is 1-based (0 reads as 1); `per_page` is clamped to 1..=[`MAX_PER_PAGE`].
    /// `total` counts every change of the component; a page past the end is empty with the
    /// same total. A component without history (a missing one included) has total 0.
    async fn status_changes(
        &self,
        component: ComponentId,
        page: u32,
        per_page: u32,
    ) -> Result<Page<StatusChange>, StoreError>;

    /// Brings component statuses in line with the maintenance windows in progress at `now`,
    /// atomically, as [`crate::maintenance::plan`] says: reads the live schedules, the holds
    /// and the statuses of the components they name (locked), writes the planned statuses,
    /// records each change with source Maintenance and time `now`, and replaces the holds.
    ///
    /// # Contract
    /// Returns the changes written, by component id. Running it again at the same `now`
    /// writes nothing. Concurrent runs are serialized (no change is written twice).
    async fn reconcile_maintenance(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<StatusChange>, StoreError>;

    /// The live windows whose announcement mark is not `Completed` (upcoming and running
    /// ones: the few a periodic announcement looks at), by id.
    async fn unannounced_schedules(&self) -> Result<Vec<ScheduleId>, StoreError>;

    /// Moves a live window's announcement mark from `from` to `to`, queuing `notice` (its
    /// entity: the window) in the same write. Returns whether it moved.
    ///
    /// # Contract
    /// A conditional write: nothing happens (false) when the mark is not `from` or the
    /// window is gone, so of concurrent calls with one `from` exactly one moves it and
    /// queues its notice.
    async fn announce_schedule(
        &self,
        id: ScheduleId,
        from: crate::maintenance::Announced,
        to: crate::maintenance::Announced,
        notice: Option<Notice>,
    ) -> Result<bool, StoreError>;

    // ---- groups

    /// Lists groups.
    ///
    /// # Contract
    /// Filters AND-ed; `public_only` keeps public groups; sorted (default id) then paged.
    async fn list_groups(
        &self,
        q: &ListQuery<GroupSort, GroupFilter>,
    ) -> Result<Page<ComponentGroup>, StoreError>;

    /// Gets one group.
    ///
    /// # Contract
    /// `NotFound(Group)` when it does not exist.
    async fn get_group(&self, id: GroupId) -> Result<ComponentGroup, StoreError>;

    /// Creates a group.
    ///
    /// # Contract
    /// Returns the stored group with a new id.
    async fn create_group(&self, new: NewGroup) -> Result<ComponentGroup, StoreError>;

    /// Changes a group.
    ///
    /// # Contract
    /// Only `Some` fields change. `NotFound(Group)` when missing.
    async fn update_group(
        &self,
        id: GroupId,
        changes: GroupChanges,
    ) -> Result<ComponentGroup, StoreError>;

    /// Deletes a group and ungroups its members, atomically.
    ///
    /// # Contract
    /// Afterwards the group is not found and no component has its id. `NotFound(Group)` when missing.
    async fn delete_group(&self, id: GroupId) -> Result<(), StoreError>;

    // ---- incidents

    /// Lists incidents with their updates.
    ///
    /// # Contract
    /// Deleted incidents are never listed; filters AND-ed; `public_only` keeps public ones;
    /// sorted (default id) then paged. Updates are newest first.
    async fn list_incidents(
        &self,
        q: &ListQuery<IncidentSort, IncidentFilter>,
    ) -> Result<Page<Incident>, StoreError>;

    /// Gets one incident with its updates (newest first).
    ///
    /// # Contract
    /// `NotFound(Incident)` when missing or deleted.
    async fn get_incident(&self, id: IncidentId) -> Result<Incident, StoreError>;

    /// Creates an incident and, when it has a component and an impact, sets that component's
    /// status to the impact, atomically (a change is recorded with source Incident).
    ///
    /// # Contract
    /// `NotFound(Component)` when `component_id` names no live component, and then nothing
    /// is written. A status change is recorded as by [`Store::update_component`], in the same
    /// transaction as the incident: both are written or neither.
    async fn create_incident(&self, new: NewIncident) -> Result<Incident, StoreError>;

    /// Changes an incident and, when `impact` is given, sets the linked component's status
    /// to it, atomically (a change is recorded with source Incident).
    ///
    /// # Contract
    /// Only `Some` fields change; `meta` keys are upserted or deleted one by one.
    /// `NotFound(Incident)` or `NotFound(Component)` leave nothing changed (no history
    /// either). A status change is recorded as by [`Store::update_component`].
    async fn update_incident(
        &self,
        id: IncidentId,
        changes: IncidentChanges,
    ) -> Result<Incident, StoreError>;

    /// Deletes an incident (soft).
    ///
    /// # Contract
    /// Afterwards it is not found or listed. `NotFound(Incident)` when missing.
    async fn delete_incident(&self, id: IncidentId) -> Result<(), StoreError>;

    // ---- incident updates

    /// Lists the updates of an incident.
    ///
    /// # Contract
    /// `NotFound(Incident)` when the incident is missing. Default order newest first
    /// (`created_at` then id, descending).
    async fn list_updates(
        &self,
        incident: IncidentId,
        q: &ListQuery<UpdateSort, ()>,
    ) -> Result<Page<IncidentUpdate>, StoreError>;

    /// Gets one update of an incident.
    ///
    /// # Contract
    /// `NotFound(IncidentUpdate)` when missing or belonging to another incident;
    /// `NotFound(Incident)` when the incident is missing.
    async fn get_update(
        &self,
        incident: IncidentId,
        id: UpdateId,
    ) -> Result<IncidentUpdate, StoreError>;

    /// Posts an update and sets the incident's status to the update's, atomically.
    ///
    /// # Contract
    /// `NotFound(Incident)` when the incident is missing, and then nothing is written.
    async fn create_update(
        &self,
        incident: IncidentId,
        new: NewIncidentUpdate,
    ) -> Result<IncidentUpdate, StoreError>;

    /// Changes an update.
    ///
    /// # Contract
    /// Only `Some` fields change. `NotFound(Incident)` when the incident is missing;
    /// `NotFound(IncidentUpdate)` when the update is missing or belongs to another incident.
    async fn update_update(
        &self,
        incident: IncidentId,
        id: UpdateId,
        changes: IncidentUpdateChanges,
    ) -> Result<IncidentUpdate, StoreError>;

    /// Deletes an update.
    ///
    /// # Contract
    /// `NotFound(Incident)` when the incident is missing; `NotFound(IncidentUpdate)` when the
    /// update is missing or belongs to another incident.
    async fn delete_update(&self, incident: IncidentId, id: UpdateId) -> Result<(), StoreError>;

    // ---- templates

    /// Lists templates.
    ///
    /// # Contract
    /// Sorted (default id) then paged.
    async fn list_templates(
        &self,
        q: &ListQuery<TemplateSort, ()>,
    ) -> Result<Page<IncidentTemplate>, StoreError>;

    /// Gets a template by id.
    ///
    /// # Contract
    /// `NotFound(Template)` when missing.
    async fn get_template(&self, id: TemplateId) -> Result<IncidentTemplate, StoreError>;

    /// Gets a template by slug.
    ///
    /// # Contract
    /// `NotFound(Template)` when no template has the slug.
    async fn get_template_by_slug(&self, slug: &str) -> Result<IncidentTemplate, StoreError>;

    /// Creates a template.
    ///
    /// # Contract
    /// `Conflict` when the slug is taken.
    async fn create_template(&self, new: NewTemplate) -> Result<IncidentTemplate, StoreError>;

    /// Changes a template.
    ///
    /// # Contract
    /// `Conflict` when the new slug is taken; `NotFound(Template)` when missing.
    async fn update_template(
        &self,
        id: TemplateId,
        changes: TemplateChanges,
    ) -> Result<IncidentTemplate, StoreError>;

    /// Deletes a template.
    ///
    /// # Contract
    /// `NotFound(Template)` when missing.
    async fn delete_template(&self, id: TemplateId) -> Result<(), StoreError>;

    // ---- schedules

    /// Lists schedules with their components.
    ///
    /// # Contract
    /// Deleted schedules are never listed; sorted (default id) then paged.
    async fn list_schedules(
        &self,
        q: &ListQuery<ScheduleSort, ()>,
    ) -> Result<Page<Schedule>, StoreError>;

    /// Gets one schedule.
    ///
    /// # Contract
    /// `NotFound(Schedule)` when missing or deleted.
    async fn get_schedule(&self, id: ScheduleId) -> Result<Schedule, StoreError>;

    /// Creates a schedule with its affected components, atomically.
    ///
    /// # Contract
    /// `NotFound(Component)` when a component is missing, and then nothing is written.
    async fn create_schedule(&self, new: NewSchedule) -> Result<Schedule, StoreError>;

    /// Changes a schedule (and replaces its components when given), atomically.
    ///
    /// # Contract
    /// `NotFound(Schedule)` / `NotFound(Component)` leave nothing changed.
    async fn update_schedule(
        &self,
        id: ScheduleId,
        changes: ScheduleChanges,
    ) -> Result<Schedule, StoreError>;

    /// Deletes a schedule (soft).
    ///
    /// # Contract
    /// `NotFound(Schedule)` when missing.
    async fn delete_schedule(&self, id: ScheduleId) -> Result<(), StoreError>;

    // ---- metrics

    /// Lists metrics.
    ///
    /// # Contract
    /// `public_only` keeps visibility Public; sorted (default id) then paged.
    async fn list_metrics(
        &self,
        q: &ListQuery<MetricSort, MetricFilter>,
    ) -> Result<Page<Metric>, StoreError>;

    /// Gets one metric.
    ///
    /// # Contract
    /// `NotFound(Metric)` when missing.
    async fn get_metric(&self, id: MetricId) -> Result<Metric, StoreError>;

    /// Creates a metric.
    ///
    /// # Contract
    /// Returns it with a new id; decimals of `default_value` are kept.
    async fn create_metric(&self, new: NewMetric) -> Result<Metric, StoreError>;

    /// Changes a metric.
    ///
    /// # Contract
    /// Only `Some` fields change. `NotFound(Metric)` when missing.
    async fn update_metric(
        &self,
        id: MetricId,
        changes: MetricChanges,
    ) -> Result<Metric, StoreError>;

    /// Deletes a metric and all its points, atomically.
    ///
    /// # Contract
    /// Afterwards neither the metric nor any of its points is found. `NotFound(Metric)` when
    /// missing.
    async fn delete_metric(&self, id: MetricId) -> Result<(), StoreError>;

    /// Lists the points of a metric.
    ///
    /// # Contract
    /// `NotFound(Metric)` when missing. Default order newest first (`created_at`, then id,
    /// descending).
    async fn list_points(
        &self,
        metric: MetricId,
        q: &ListQuery<PointSort, ()>,
    ) -> Result<Page<MetricPoint>, StoreError>;

    /// Gets one point of a metric.
    ///
    /// # Contract
    /// `NotFound(MetricPoint)` when missing or belonging to another metric.
    async fn get_point(&self, metric: MetricId, id: PointId) -> Result<MetricPoint, StoreError>;

    /// Records an observation, atomically: bumps the counter of the oldest (lowest id) point
    /// with exactly the same value and `created_at >= dedup_since`, else adds a point with
    /// counter 1.
    ///
    /// # Contract
    /// Decimals are kept exactly as given. `NotFound(Metric)` when missing.
    async fn record_point(
        &self,
        metric: MetricId,
        new: NewPoint,
    ) -> Result<MetricPoint, StoreError>;

    /// Changes a point.
    ///
    /// # Contract
    /// `NotFound(MetricPoint)` when missing or belonging to another metric.
    async fn update_point(
        &self,
        metric: MetricId,
        id: PointId,
        changes: PointChanges,
    ) -> Result<MetricPoint, StoreError>;

    /// Deletes a point.
    ///
    /// # Contract
    /// `NotFound(MetricPoint)` when missing or belonging to another metric.
    async fn delete_point(&self, metric: MetricId, id: PointId) -> Result<(), StoreError>;

    /// Sums the points of a metric per bucket, computed by the backend.
    ///
    /// # Contract
    /// For points with `window.from <= created_at < window.to`, grouped by
    /// `floor((unix_seconds(created_at) + offset_secs) / bucket_secs)`: the sum of
    /// `value * counter`, the sum of `value` and the number of points. Buckets without points
    /// are absent; order is ascending by bucket. A missing metric has no points (empty list).
    async fn metric_sums(
        &self,
        metric: MetricId,
        window: Window,
    ) -> Result<Vec<BucketSums>, StoreError>;

    // ---- subscribers

    /// Lists subscribers with their subscriptions.
    ///
    /// # Contract
    /// Sorted (default id) then paged; subscriptions in creation order.
    async fn list_subscribers(
        &self,
        q: &ListQuery<SubscriberSort, ()>,
    ) -> Result<Page<StoredSubscriber>, StoreError>;

    /// Gets one subscriber.
    ///
    /// # Contract
    /// `NotFound(Subscriber)` when missing.
    async fn get_subscriber(&self, id: SubscriberId) -> Result<StoredSubscriber, StoreError>;

    /// Finds the subscriber whose email has the lookup digest `lookup`.
    ///
    /// # Contract
    /// `NotFound(Subscriber)` when there is none.
    async fn find_subscriber(&self, lookup: &str) -> Result<StoredSubscriber, StoreError>;

    /// Creates a subscriber with subscriptions, atomically; idempotent on the email.
    ///
    /// # Contract
    /// When the email's lookup digest exists, returns the existing subscriber unchanged with
    /// `false`; concurrent creations of one email yield exactly one subscriber and never an
    /// error. Otherwise creates it with its subscriptions (unknown component ids skipped,
    /// creation order kept) and returns `true`.
    async fn create_subscriber(
        &self,
        new: NewSubscriber,
    ) -> Result<(StoredSubscriber, bool), StoreError>;

    /// Subscribers written before addresses were sealed (schema 0001): their ids and
    /// addresses in clear, for the service to seal once with
    /// [`Store::seal_subscriber_email`].
    ///
    /// # Errors
    /// Store failures.
    async fn unsealed_subscriber_emails(&self) -> Result<Vec<(SubscriberId, String)>, StoreError>;

    /// Replaces a subscriber's address (in clear from before sealing) with its sealed form.
    ///
    /// # Errors
    /// `NotFound(Subscriber)`; `Conflict` when another subscriber has the lookup digest.
    async fn seal_subscriber_email(
        &self,
        id: SubscriberId,
        email: SealedEmail,
    ) -> Result<(), StoreError>;

    /// Deletes a subscriber and its subscriptions, atomically, queuing `notice` (its
    /// entity: the subscriber) in the same write.
    ///
    /// # Contract
    /// `NotFound(Subscriber)` when missing (and nothing queued).
    async fn delete_subscriber(
        &self,
        id: SubscriberId,
        notice: Option<Notice>,
    ) -> Result<(), StoreError>;

    /// Deletes one subscription.
    ///
    /// # Contract
    /// `NotFound(Subscription)` when missing.
    async fn delete_subscription(&self, id: SubscriptionId) -> Result<(), StoreError>;

    /// Marks a subscriber verified at `at`, if they are not yet, queuing `notice` (its
    /// entity: the subscriber) in the same write when it does. Returns whether this call
    /// verified them (false: verified already, so a verification link works once).
    ///
    /// # Contract
    /// `NotFound(Subscriber)` when missing. Of concurrent calls, exactly one returns true,
    /// and only its notice is queued.
    async fn verify_subscriber(
        &self,
        id: SubscriberId,
        at: DateTime<Utc>,
        notice: Option<Notice>,
    ) -> Result<bool, StoreError>;

    /// Replaces what a subscriber follows, atomically: `global` and subscriptions to
    /// `to` (ids of deleted or unknown components are skipped, as on create).
    ///
    /// # Contract
    /// `NotFound(Subscriber)` when missing, and nothing changes.
    async fn set_subscriptions(
        &self,
        id: SubscriberId,
        global: bool,
        to: SubscribeTo,
    ) -> Result<StoredSubscriber, StoreError>;

    /// Queues a notice that no other change causes (e.g. a link a subscriber asked for
    /// again), for the subscribers its audience reaches, in one transaction.
    async fn queue_notice(&self, notice: Notice) -> Result<(), StoreError>;

    // ---- users and tokens

    /// Creates the first admin and its token, atomically, only when there is no admin yet.
    ///
    /// # Contract
    /// Returns `None` (and writes nothing) when a user with the Admin role exists (active or
    /// not); users of other roles do not count. Concurrent calls create at most one admin.
    async fn bootstrap_admin(
        &self,
        user: NewUser,
        token: NewApiToken,
    ) -> Result<Option<(User, ApiToken)>, StoreError>;

    /// Creates a user.
    ///
    /// # Contract
    /// `Conflict` when the username or email is taken.
    async fn create_user(&self, new: NewUser) -> Result<User, StoreError>;

    /// Gets a user.
    ///
    /// # Contract
    /// `NotFound(User)` when missing.
    async fn get_user(&self, id: UserId) -> Result<User, StoreError>;

    /// Finds a user by username or email (exact).
    ///
    /// # Contract
    /// `NotFound(User)` when none matches.
    async fn find_user(&self, login: &str) -> Result<User, StoreError>;

    /// Lists users.
    ///
    /// # Contract
    /// Sorted (default id) then paged.
    async fn list_users(&self, q: &ListQuery<UserSort, ()>) -> Result<Page<User>, StoreError>;

    /// Changes a user.
    ///
    /// # Contract
    /// `NotFound(User)` when missing; `Conflict` when the email is taken.
    async fn update_user(&self, id: UserId, changes: UserChanges) -> Result<User, StoreError>;

    /// Stores a new API token.
    ///
    /// # Contract
    /// `NotFound(User)` when the owner is missing.
    async fn create_token(&self, new: NewApiToken) -> Result<ApiToken, StoreError>;

    /// Finds a token by digest, with its owner.
    ///
    /// # Contract
    /// `NotFound(Token)` when no token has the digest (revoked tokens are still found;
    /// the caller checks `revoked_at`).
    async fn find_token(&self, hash: &TokenHash) -> Result<(ApiToken, User), StoreError>;

    /// Lists tokens, of one user or of all.
    ///
    /// # Contract
    /// By id ascending.
    async fn list_tokens(&self, user: Option<UserId>) -> Result<Vec<ApiToken>, StoreError>;

    /// Revokes a token.
    ///
    /// # Contract
    /// Sets `revoked_at` (kept if already set). `NotFound(Token)` when missing.
    async fn revoke_token(&self, id: TokenId) -> Result<ApiToken, StoreError>;

    /// Records a successful use of a token.
    ///
    /// # Contract
    /// Sets `last_used_at`. `NotFound(Token)` when missing.
    async fn touch_token(&self, id: TokenId, at: DateTime<Utc>) -> Result<(), StoreError>;

    // ---- two-factor authentication

    /// Starts (or restarts) TOTP enrollment: stores `sealed_secret` as the user's pending
    /// secret and forgets the last used step.
    ///
    /// # Errors
    /// `NotFound(User)`; `Conflict` when 2FA is already on (it must be turned off first).
    async fn begin_totp(&self, user: UserId, sealed_secret: String) -> Result<User, StoreError>;

    /// Turns 2FA on, in one atomic write: only while `sealed_secret` is still the pending
    /// secret, records `step` (the code that confirmed it) as used and replaces the user's
    /// recovery codes with `recovery`.
    ///
    /// # Errors
    /// `NotFound(User)`; `Conflict` when 2FA is already on or enrollment was restarted with
    /// another secret meanwhile.
    async fn enable_totp(
        &self,
        user: UserId,
        sealed_secret: String,
        step: i64,
        recovery: Vec<TokenHash>,
    ) -> Result<User, StoreError>;

    /// Turns 2FA off: clears the secret and the step and deletes the recovery codes, atomically.
    ///
    /// # Errors
    /// `NotFound(User)`.
    async fn disable_totp(&self, user: UserId) -> Result<User, StoreError>;

    /// Records `step` as used when 2FA is on and `step` is later than the last used step, in
    /// one conditional write, so two sign-ins with the same code cannot both succeed.
    /// Returns false when it is not later (a replay, or a race lost).
    ///
    /// # Errors
    /// `NotFound(User)`.
    async fn claim_totp_step(&self, user: UserId, step: i64) -> Result<bool, StoreError>;

    /// Marks the user's unused recovery code with digest `code` used at `at`. Returns false
    /// when the user has no such unused code.
    ///
    /// # Errors
    /// Store failures.
    async fn use_recovery_code(
        &self,
        user: UserId,
        code: &TokenHash,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Unused recovery codes of the user.
    ///
    /// # Errors
    /// Store failures.
    async fn recovery_codes_left(&self, user: UserId) -> Result<u32, StoreError>;

    // ---- dashboard sessions

    /// Stores a new session.
    ///
    /// # Contract
    /// `NotFound(User)` when the user is missing; `Conflict` when the digest exists.
    async fn create_session(&self, new: NewSession) -> Result<Session, StoreError>;

    /// Gets a session by digest.
    ///
    /// # Contract
    /// `NotFound(Session)` when no session has the digest.
    async fn get_session(&self, hash: &TokenHash) -> Result<Session, StoreError>;

    /// Records activity on a session.
    ///
    /// # Contract
    /// Sets `last_seen_at` to `at` when that is later than the stored one (never earlier).
    /// A missing session is not an error (it may have just ended).
    async fn touch_session(&self, hash: &TokenHash, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Replaces one session by another, atomically: for a new id at sign-in, after a second
    /// factor and on a change of privilege.
    ///
    /// # Contract
    /// Deletes `old` and stores `new` in one operation. `Ok(None)` with nothing written when
    /// `old` does not exist (so of two racing replacements of one session, exactly one wins);
    /// `NotFound(User)` / `Conflict` as for [`Store::create_session`], with `old` kept.
    async fn replace_session(
        &self,
        old: &TokenHash,
        new: NewSession,
    ) -> Result<Option<Session>, StoreError>;

    /// Ends a session.
    ///
    /// # Contract
    /// True when it existed.
    async fn delete_session(&self, hash: &TokenHash) -> Result<bool, StoreError>;

    /// Ends every session of a user but `keep` (sign out everywhere; a password, role or
    /// 2FA change).
    ///
    /// # Contract
    /// Returns how many ended.
    async fn delete_user_sessions(
        &self,
        user: UserId,
        keep: Option<&TokenHash>,
    ) -> Result<u64, StoreError>;

    /// Deletes sessions that began before `created_before` or were last seen before
    /// `seen_before` (both limits exclusive).
    ///
    /// # Contract
    /// Returns how many were deleted.
    async fn purge_sessions(
        &self,
        created_before: DateTime<Utc>,
        seen_before: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    // ---- settings and audit

    /// Reads every stored setting.
    ///
    /// # Contract
    /// Key/value pairs as last saved, sorted by key.
    async fn load_settings(&self) -> Result<Vec<(String, String)>, StoreError>;

    /// Saves settings, atomically.
    ///
    /// # Contract
    /// Every pair is upserted in one transaction; other keys are kept.
    async fn save_settings(&self, pairs: Vec<(String, String)>) -> Result<(), StoreError>;

    /// Stores `value` under `key` unless the key has a value already, and returns the value
    /// the key holds afterwards: `value` for the first claim, the first claim's for every
    /// later one (how an instance learns that a database belongs to another data key).
    ///
    /// # Contract
    /// Atomic: of any number of concurrent claims of one key, from any number of store
    /// instances on one database, one value is stored, and every claim returns it. Other
    /// keys are untouched; [`Store::load_settings`] lists the key.
    async fn claim_setting(&self, key: String, value: String) -> Result<String, StoreError>;

    /// Appends an audit log entry.
    ///
    /// # Contract
    /// Returns it with a new id and `at` = now.
    async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry, StoreError>;

    /// Lists audit entries.
    ///
    /// # Contract
    /// Filters AND-ed; default order newest first (id descending); paged.
    async fn list_audit(
        &self,
        q: &ListQuery<AuditSort, AuditFilter>,
    ) -> Result<Page<AuditEntry>, StoreError>;

    // ---- status page

    /// Reads what the status page shows, at once.
    ///
    /// # Contract
    /// As documented on each field of [`Overview`].
    async fn overview(&self, since: DateTime<Utc>) -> Result<Overview, StoreError>;

    // ---- the notification outbox (see `crate::notify`)

    /// Takes up to `claim.limit` pending deliveries due at `claim.now` that no unexpired
    /// claim holds, oldest due first: holds them until `claim.lease_until` under
    /// `claim.token` and counts an attempt on each. Returns them as they are after that.
    ///
    /// # Contract
    /// Atomic: two claims, from any number of store instances on one database, never take
    /// the same delivery while the first one's lease lasts.
    async fn claim_deliveries(&self, claim: &Claim) -> Result<Vec<Delivery>, StoreError>;

    /// Records how an attempt at a claimed delivery ended, if `token` still holds it (its
    /// lease unexpired or not taken over), and lets it go. Returns whether it was recorded.
    ///
    /// # Contract
    /// `Delivered`, `Failed` and `Dropped` are final; `Retry` leaves it pending, due at the
    /// given time. An outcome from a token that lost the delivery changes nothing.
    async fn finish_delivery(
        &self,
        id: DeliveryId,
        token: &str,
        outcome: Outcome,
    ) -> Result<bool, StoreError>;

    /// Lists deliveries, newest first by default.
    async fn list_deliveries(
        &self,
        q: &ListQuery<DeliverySort, DeliveryFilter>,
    ) -> Result<Page<Delivery>, StoreError>;

    // ---- outbound webhooks (see `crate::webhook`)

    /// Registers a webhook.
    ///
    /// # Contract
    /// From then on, every notice with `to_webhooks` whose event it [wants](Webhook::wants)
    /// gets one delivery to it, written with the change ([`crate::notify`]).
    async fn create_webhook(&self, new: NewWebhook) -> Result<Webhook, StoreError>;

    /// Every webhook, by id.
    async fn list_webhooks(&self) -> Result<Vec<Webhook>, StoreError>;

    /// One webhook.
    ///
    /// # Errors
    /// `NotFound(Webhook)`.
    async fn get_webhook(&self, id: WebhookId) -> Result<Webhook, StoreError>;

    /// Changes a webhook.
    ///
    /// # Errors
    /// `NotFound(Webhook)`.
    async fn update_webhook(
        &self,
        id: WebhookId,
        patch: WebhookPatch,
    ) -> Result<Webhook, StoreError>;

    /// Removes a webhook. Its queued deliveries stay (naming its id) and are dropped by the
    /// worker.
    ///
    /// # Errors
    /// `NotFound(Webhook)`.
    async fn delete_webhook(&self, id: WebhookId) -> Result<(), StoreError>;
}
