//! Status roll-ups: incident resolution, effective component status, group status and the
//! overall status. Pure functions over records; the service feeds them only what the actor
//! may see, so guests never see non-public items inside an aggregate.

use chrono::{DateTime, Utc};

use crate::enums::{ComponentStatus, IncidentStatus, ScheduleStatus, Visibility};
use crate::model::{Component, Incident, Schedule};

/// The status an incident currently announces: its newest update's, else its own.
pub fn latest_status(incident: &Incident) -> IncidentStatus {
    incident
        .updates
        .first()
        .map_or(incident.status, |u| u.status)
}

/// An incident is resolved when its newest update (or, without updates, itself) is Fixed.
pub fn is_resolved(incident: &Incident) -> bool {
    latest_status(incident) == IncidentStatus::Fixed
}

/// Guests see a component when it is enabled and outside hidden groups: `group` is the
/// visibility of its group, None when it has none. The public page, the `public_only`
/// filters of every store and the notices all follow this rule.
pub fn is_public_component(enabled: bool, group: Option<Visibility>) -> bool {
    enabled && group.is_none_or(|g| g == Visibility::Public)
}

/// A maintenance window is in progress when it was marked so, or when it is upcoming, its
/// start has passed and its end (if any) has not.
pub fn schedule_in_progress(schedule: &Schedule, now: DateTime<Utc>) -> bool {
    match schedule.status {
        ScheduleStatus::InProgress => true,
        ScheduleStatus::Complete => false,
        ScheduleStatus::Upcoming => {
            schedule.scheduled_at <= now && schedule.completed_at.is_none_or(|end| end > now)
        }
    }
}

/// A component's effective status: the worse of its own status and the impact of every
/// unresolved incident and in-progress maintenance window linked to it.
pub fn effective_status(
    component: &Component,
    incidents: &[Incident],
    schedules: &[Schedule],
    now: DateTime<Utc>,
) -> ComponentStatus {
    let from_incidents = incidents
        .iter()
        .filter(|i| i.component_id == Some(component.id) && !is_resolved(i))
        .filter_map(|i| i.impact);
    let from_maintenance = schedules
        .iter()
        .filter(|s| schedule_in_progress(s, now))
        .flat_map(|s| s.components.iter())
        .filter(|sc| sc.component_id == component.id)
        .map(|sc| sc.component_status);
    from_incidents
        .chain(from_maintenance)
        .fold(component.status, ComponentStatus::max)
}

/// A group's status: the worst status of its *enabled* members, whatever their order;
/// `None` when it has no enabled member.
pub fn group_status(
    members: impl IntoIterator<Item = (bool, ComponentStatus)>,
) -> Option<ComponentStatus> {
    members
        .into_iter()
        .filter(|(enabled, _)| *enabled)
        .map(|(_, s)| s)
        .max()
}

/// The overall level, as `/api/v1/status` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverallLevel {
    /// Everything works.
    Success,
    /// Something is degraded or under investigation.
    Info,
    /// Major outage.
    Danger,
}

impl OverallLevel {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            OverallLevel::Success => "success",
            OverallLevel::Info => "info",
            OverallLevel::Danger => "danger",
        }
    }
}

/// The overall system status with its sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overall {
    /// Level.
    pub level: OverallLevel,
    /// Sentence for the banner.
    pub message: &'static str,
}

/// The overall status (spec 7.1) from the effective statuses of the enabled components the
/// actor may see and whether any incident the actor may see is unresolved.
pub fn overall_status(
    statuses: &[ComponentStatus],
    unresolved_incident: bool,
    major_outage_rate: u8,
) -> Overall {
    let n = statuses.len();
    let single = n <= 1;
    let major = statuses
        .iter()
        .filter(|s| **s == ComponentStatus::MajorOutage)
        .count();
    // major / n * 100 >= rate, in integers.
    if n > 0 && major * 100 >= usize::from(major_outage_rate) * n {
        return Overall {
            level: OverallLevel::Danger,
            message: if single {
                "The system is experiencing major issues"
            } else {
                "Some systems are experiencing major issues"
            },
        };
    }
    if statuses.iter().all(|s| *s == ComponentStatus::Operational) && !unresolved_incident {
        return Overall {
            level: OverallLevel::Success,
            message: if single {
                "System operational"
            } else {
                "All systems are operational"
            },
        };
    }
    Overall {
        level: OverallLevel::Info,
        message: if single {
            "The system is experiencing issues"
        } else {
            "Some systems are experiencing issues"
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::*;
    use crate::markdown::SafeHtml;
    use crate::model::{IncidentUpdate, ScheduleComponent};
    use proptest::prelude::*;
    use ComponentStatus::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(s, 0).unwrap()
    }

    #[test]
    fn guests_see_enabled_components_outside_hidden_groups() {
        assert!(is_public_component(true, None));
        assert!(is_public_component(true, Some(Visibility::Public)));
        assert!(!is_public_component(true, Some(Visibility::Private)));
        assert!(!is_public_component(false, None));
        assert!(!is_public_component(false, Some(Visibility::Public)));
    }

    fn component(id: i64, status: ComponentStatus) -> Component {
        Component {
            id: ComponentId(id),
            name: format!("c{id}"),
            description: String::new(),
            link: String::new(),
            status,
            order: 0,
            group_id: None,
            enabled: true,
            meta: None,
            tags: vec![],
            created_at: t(0),
            updated_at: t(0),
        }
    }

    fn incident(
        component: Option<i64>,
        impact: Option<ComponentStatus>,
        status: IncidentStatus,
        updates: &[IncidentStatus],
    ) -> Incident {
        Incident {
            id: IncidentId(1),
            user_id: None,
            component_id: component.map(ComponentId),
            impact,
            name: "i".into(),
            status,
            visible: Visibility::Public,
            stickied: false,
            message: "m".into(),
            message_html: SafeHtml::default(),
            occurred_at: t(0),
            meta: Default::default(),
            // newest first
            updates: updates
                .iter()
                .enumerate()
                .map(|(n, s)| IncidentUpdate {
                    id: UpdateId(i64::try_from(n).unwrap()),
                    incident_id: IncidentId(1),
                    status: *s,
                    message: String::new(),
                    message_html: SafeHtml::default(),
                    user_id: None,
                    created_at: t(0),
                    updated_at: t(0),
                })
                .collect(),
            created_at: t(0),
            updated_at: t(0),
        }
    }

    #[test]
    fn resolution_follows_the_newest_update() {
        use IncidentStatus::*;
        assert!(is_resolved(&incident(None, None, Fixed, &[])));
        assert!(!is_resolved(&incident(None, None, Investigating, &[])));
        // The incident row says Fixed but the newest update reopened it.
        assert!(!is_resolved(&incident(
            None,
            None,
            Fixed,
            &[Watching, Fixed]
        )));
        assert!(is_resolved(&incident(
            None,
            None,
            Investigating,
            &[Fixed, Identified]
        )));
    }

    #[test]
    fn effective_status_takes_the_worst_open_impact() {
        use IncidentStatus::*;
        let c = component(7, Operational);
        let open = incident(Some(7), Some(PartialOutage), Investigating, &[]);
        let fixed = incident(Some(7), Some(MajorOutage), Investigating, &[Fixed]);
        let other = incident(Some(8), Some(MajorOutage), Investigating, &[]);
        assert_eq!(
            effective_status(&c, &[open.clone(), fixed, other], &[], t(100)),
            PartialOutage
        );
        assert_eq!(
            effective_status(&component(7, MajorOutage), &[open], &[], t(100)),
            MajorOutage
        );
        let sched = Schedule {
            id: ScheduleId(1),
            name: "m".into(),
            message: None,
            message_html: None,
            status: ScheduleStatus::Upcoming,
            scheduled_at: t(50),
            completed_at: Some(t(150)),
            announced: crate::maintenance::Announced::Nothing,
            components: vec![ScheduleComponent {
                id: 1,
                schedule_id: ScheduleId(1),
                component_id: ComponentId(7),
                component_status: PerformanceIssues,
                created_at: t(0),
                updated_at: t(0),
            }],
            created_at: t(0),
            updated_at: t(0),
        };
        assert_eq!(
            effective_status(&c, &[], std::slice::from_ref(&sched), t(100)),
            PerformanceIssues
        );
        assert_eq!(
            effective_status(&c, &[], std::slice::from_ref(&sched), t(40)),
            Operational
        );
        assert_eq!(effective_status(&c, &[], &[sched], t(150)), Operational);
    }

    #[test]
    fn group_status_ignores_disabled_members_and_order() {
        assert_eq!(
            group_status([
                (true, Operational),
                (false, MajorOutage),
                (true, PartialOutage)
            ]),
            Some(PartialOutage)
        );
        assert_eq!(
            group_status([(true, PartialOutage), (true, Operational)]),
            Some(PartialOutage)
        );
        assert_eq!(group_status([(false, MajorOutage)]), None);
    }

    #[test]
    fn overall_status_matches_the_spec() {
        assert_eq!(overall_status(&[], false, 50).message, "System operational");
        assert_eq!(
            overall_status(&[PartialOutage], false, 50).level,
            OverallLevel::Info
        );
        assert_eq!(
            overall_status(&[PartialOutage], false, 50).message,
            "The system is experiencing issues"
        );
        assert_eq!(
            overall_status(&[Operational, Operational], false, 50).message,
            "All systems are operational"
        );
        assert_eq!(
            overall_status(&[Operational, Operational], true, 50).level,
            OverallLevel::Info
        );
        assert_eq!(
            overall_status(&[MajorOutage, Operational], false, 50).level,
            OverallLevel::Danger
        );
        assert_eq!(
            overall_status(&[MajorOutage, Operational, Operational], false, 50).level,
            OverallLevel::Info
        );
        assert_eq!(
            overall_status(&[MajorOutage], false, 50).message,
            "The system is experiencing major issues"
        );
        assert_eq!(
            overall_status(&[Unknown], false, 50).level,
            OverallLevel::Info
        );
    }

    fn status() -> impl Strategy<Value = ComponentStatus> {
        (0i64..=4).prop_map(|v| ComponentStatus::try_from(v).unwrap())
    }

    proptest! {
        #[test]
        fn group_status_is_order_independent(mut members in proptest::collection::vec((any::<bool>(), status()), 0..12)) {
            let a = group_status(members.clone());
            members.reverse();
            prop_assert_eq!(a, group_status(members.clone()));
            let enabled: Vec<_> = members.iter().filter(|m| m.0).map(|m| m.1).collect();
            if let Some(worst) = a {
                prop_assert!(enabled.iter().all(|s| *s <= worst));
                prop_assert!(enabled.contains(&worst));
            } else {
                prop_assert!(enabled.is_empty());
            }
        }

        #[test]
        fn effective_status_never_better_than_own(own in status(), impacts in proptest::collection::vec(status(), 0..5)) {
            let c = component(1, own);
            let incidents: Vec<Incident> = impacts.iter().map(|s| incident(Some(1), Some(*s), IncidentStatus::Investigating, &[])).collect();
            let eff = effective_status(&c, &incidents, &[], t(0));
            prop_assert!(eff >= own);
            prop_assert!(impacts.iter().all(|s| *s <= eff));
        }

        #[test]
        fn overall_danger_iff_rate_reached(statuses in proptest::collection::vec(status(), 0..20), rate in 0u8..=100) {
            let o = overall_status(&statuses, false, rate);
            let n = statuses.len();
            let major = statuses.iter().filter(|s| **s == MajorOutage).count();
            // Exact in f64 for these small integers.
            let danger = n > 0 && (major as f64) * 100.0 >= f64::from(rate) * (n as f64);
            prop_assert_eq!(o.level == OverallLevel::Danger, danger);
            if !danger && statuses.iter().all(|s| *s == Operational) {
                prop_assert_eq!(o.level, OverallLevel::Success);
            }
        }
    }
}
