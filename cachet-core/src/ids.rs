//! Newtype ids, so an incident id can never be passed where a component id is due.

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub i64);

        impl $name {
            /// The raw integer, for storage and wire formats.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<i64> for $name {
            fn from(v: i64) -> Self {
                Self(v)
            }
        }
    )*};
}

id_type!(
    /// A component.
    ComponentId,
    /// A component group.
    GroupId,
    /// An incident.
    IncidentId,
    /// An incident update.
    UpdateId,
    /// An incident template.
    TemplateId,
    /// A maintenance schedule.
    ScheduleId,
    /// A metric.
    MetricId,
    /// A metric point.
    PointId,
    /// A subscriber.
    SubscriberId,
    /// A subscription of a subscriber to a component.
    SubscriptionId,
    /// A user account.
    UserId,
    /// An API token.
    TokenId,
    /// An audit log entry.
    AuditId,
    /// A recorded change of a component's status.
    StatusChangeId,
    /// A notice: one event, as the outbox keeps it for delivery.
    NoticeId,
    /// One delivery of a notice to one recipient (a subscriber or a webhook).
    DeliveryId,
    /// An outbound webhook endpoint.
    WebhookId,
);
