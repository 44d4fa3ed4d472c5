//! Closed sets of values. Each has `TryFrom<i64>` that rejects unknown values, so no
//! magic integer passes the edge.

use std::fmt;

/// An integer that is not a member of a closed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{value} is not a valid {kind}")]
pub struct UnknownValue {
    /// The set the value was meant for.
    pub kind: &'static str,
    /// The rejected value.
    pub value: i64,
}

macro_rules! closed_enum {
    (
        $(#[$doc:meta])* $name:ident, $kind:literal {
            $($(#[$vdoc:meta])* $variant:ident = $value:literal => $label:literal),* $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant = $value),*
        }

        impl $name {
            /// Every member, in ascending order of value.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The integer used on the wire and in storage.
            pub fn as_i64(self) -> i64 {
                self as i64
            }

            /// The English label.
            pub fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label),*
                }
            }
        }

        impl TryFrom<i64> for $name {
            type Error = UnknownValue;
            fn try_from(value: i64) -> Result<Self, UnknownValue> {
                match value {
                    $($value => Ok($name::$variant),)*
                    _ => Err(UnknownValue { kind: $kind, value }),
                }
            }
        }

        impl From<$name> for i64 {
            fn from(v: $name) -> i64 {
                v as i64
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.label())
            }
        }
    };
}

closed_enum!(
    /// A component's status. Higher is worse, except that `Unknown` is its own state.
    ComponentStatus, "component status" {
        /// No information.
        Unknown = 0 => "Unknown",
        /// Working.
        Operational = 1 => "Operational",
        /// Slow.
        PerformanceIssues = 2 => "Performance Issues",
        /// Partly down.
        PartialOutage = 3 => "Partial Outage",
        /// Down.
        MajorOutage = 4 => "Major Outage",
    }
);

impl ComponentStatus {
    /// The CSS colour class the public page uses for this status.
    pub fn color_class(self) -> &'static str {
        match self {
            ComponentStatus::Unknown => "greys",
            ComponentStatus::Operational => "greens",
            ComponentStatus::PerformanceIssues => "blues",
            ComponentStatus::PartialOutage => "yellows",
            ComponentStatus::MajorOutage => "reds",
        }
    }
}

closed_enum!(
    /// An incident's (or incident update's) status.
    IncidentStatus, "incident status" {
        /// Legacy "scheduled" value, accepted on incidents only.
        Scheduled = 0 => "Scheduled",
        /// Looking into it.
        Investigating = 1 => "Investigating",
        /// Cause found.
        Identified = 2 => "Identified",
        /// Fix deployed, watching.
        Watching = 3 => "Watching",
        /// Resolved.
        Fixed = 4 => "Fixed",
    }
);

impl IncidentStatus {
    /// The icon class of the status, as Cachet renders it.
    pub fn icon(self) -> &'static str {
        match self {
            IncidentStatus::Scheduled => "icon ion-android-calendar",
            IncidentStatus::Investigating => "icon ion-flag oranges",
            IncidentStatus::Identified => "icon ion-alert yellows",
            IncidentStatus::Watching => "icon ion-eye blues",
            IncidentStatus::Fixed => "icon ion-checkmark greens",
        }
    }
}

closed_enum!(
    /// A maintenance window's status.
    ScheduleStatus, "schedule status" {
        /// Not started yet.
        Upcoming = 0 => "Upcoming",
        /// Under way.
        InProgress = 1 => "In Progress",
        /// Done.
        Complete = 2 => "Complete",
    }
);

closed_enum!(
    /// How a component group is shown on the status page.
    GroupCollapsed, "collapsed value" {
        /// Always expanded.
        Expanded = 0 => "Expanded",
        /// Collapsed by default.
        Collapsed = 1 => "Collapsed",
        /// Collapsed unless a member has a problem.
        CollapsedUnlessIssue = 2 => "Collapsed unless a component has issues",
    }
);

closed_enum!(
    /// Who can see a component group or an incident.
    Visibility, "visibility" {
        /// Signed-in users only.
        Private = 0 => "Logged in users only",
        /// Everyone.
        Public = 1 => "Public",
    }
);

closed_enum!(
    /// Who can see a metric.
    MetricVisibility, "metric visibility" {
        /// Signed-in users only.
        Private = 0 => "Logged in users only",
        /// Everyone.
        Public = 1 => "Public",
        /// Nobody on the status page.
        Hidden = 2 => "Always hidden",
    }
);

closed_enum!(
    /// How a metric's points are combined in a bucket.
    CalcType, "calculation type" {
        /// Sum of value x counter.
        Sum = 0 => "Sum",
        /// Average of the values.
        Average = 1 => "Average",
    }
);

closed_enum!(
    /// The default chart window of a metric.
    MetricView, "metric view" {
        /// The last hour, by minute.
        LastHour = 0 => "Last Hour",
        /// The last 12 hours, by hour.
        Today = 1 => "Last 12 Hours",
        /// The last 7 days, by day.
        Week = 2 => "Week",
        /// The current month, by day.
        Month = 3 => "Month",
    }
);

impl MetricView {
    /// The filter key used by the chart endpoint.
    pub fn key(self) -> &'static str {
        match self {
            MetricView::LastHour => "last_hour",
            MetricView::Today => "today",
            MetricView::Week => "week",
            MetricView::Month => "month",
        }
    }

    /// Parses a filter key.
    pub fn from_key(key: &str) -> Option<MetricView> {
        MetricView::ALL.iter().copied().find(|v| v.key() == key)
    }
}

closed_enum!(
    /// A user's role. See [`crate::policy`] for what each may do.
    Role, "role" {
        /// Everything, including users, tokens, settings and subscribers.
        Admin = 0 => "Admin",
        /// All status content.
        Manager = 1 => "Manager",
        /// Incidents, updates, metric points and component status (monitoring bots).
        Reporter = 2 => "Reporter",
        /// Reads everything, writes nothing (the default: least privilege).
        Viewer = 3 => "Viewer",
    }
);

// The enum comes from a macro that derives a fixed list, so the default is written out.
#[allow(clippy::derivable_impls)]
impl Default for Role {
    fn default() -> Self {
        Role::Viewer
    }
}

impl Role {
    /// The lowercase name used in configuration and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Reporter => "reporter",
            Role::Viewer => "viewer",
        }
    }

    /// Parses a lowercase role name.
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL
            .iter()
            .copied()
            .find(|r| r.name().eq_ignore_ascii_case(name))
    }
}

closed_enum!(
    /// What changed a component's status, as its status history records it. The service
    /// decides it from the actor and the use case (see [`StatusSource::of_actor`]).
    StatusSource, "status source" {
        /// A person signed in to the dashboard (a session).
        Dashboard = 0 => "Dashboard",
        /// A client of the API (a token).
        Api = 1 => "API",
        /// An incident created or changed with an impact on the component.
        Incident = 2 => "Incident",
        /// A maintenance window starting or ending.
        Maintenance = 3 => "Maintenance",
        /// The embedding application or the server's own setup (`Actor::System`).
        System = 4 => "System",
    }
);

impl StatusSource {
    /// The source of a direct status change by `actor`: a session is the dashboard, a token
    /// the API, `Actor::System` the system. `None` for a guest, who changes nothing.
    pub fn of_actor(actor: &crate::policy::Actor) -> Option<StatusSource> {
        use crate::policy::{Actor, Credential};
        match actor {
            Actor::Guest => None,
            Actor::User(p) => Some(match p.credential {
                Credential::Session => StatusSource::Dashboard,
                Credential::Token => StatusSource::Api,
            }),
            Actor::System => Some(StatusSource::System),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn try_from_accepts_members_and_rejects_the_rest() {
        for s in ComponentStatus::ALL {
            assert_eq!(ComponentStatus::try_from(s.as_i64()), Ok(*s));
        }
        assert_eq!(
            ComponentStatus::try_from(5),
            Err(UnknownValue {
                kind: "component status",
                value: 5
            })
        );
        assert!(IncidentStatus::try_from(-1).is_err());
        assert!(ScheduleStatus::try_from(3).is_err());
        assert!(GroupCollapsed::try_from(3).is_err());
        assert!(MetricView::try_from(4).is_err());
        assert!(Role::try_from(4).is_err());
        assert!(StatusSource::try_from(5).is_err());
        for s in StatusSource::ALL {
            assert_eq!(StatusSource::try_from(s.as_i64()), Ok(*s));
        }
        assert_eq!(ComponentStatus::PartialOutage.label(), "Partial Outage");
        assert_eq!(MetricView::from_key("week"), Some(MetricView::Week));
        assert_eq!(Role::from_name("Reporter"), Some(Role::Reporter));
    }

    #[test]
    fn statuses_order_by_severity() {
        assert!(ComponentStatus::MajorOutage > ComponentStatus::PartialOutage);
        assert!(ComponentStatus::Operational > ComponentStatus::Unknown);
    }
}

#[cfg(test)]
mod source_tests {
    use super::StatusSource;
    use crate::enums::Role;
    use crate::ids::UserId;
    use crate::policy::{Actor, Credential, Principal};

    #[test]
    fn the_source_follows_the_credential() {
        let session = Actor::User(Principal::new(UserId(1), Role::Manager));
        let token = Actor::User(Principal {
            credential: Credential::Token,
            ..Principal::new(UserId(1), Role::Manager)
        });
        assert_eq!(
            StatusSource::of_actor(&session),
            Some(StatusSource::Dashboard)
        );
        assert_eq!(StatusSource::of_actor(&token), Some(StatusSource::Api));
        assert_eq!(
            StatusSource::of_actor(&Actor::System),
            Some(StatusSource::System)
        );
        assert_eq!(StatusSource::of_actor(&Actor::Guest), None);
        assert_eq!(StatusSource::Api.label(), "API");
    }
}
