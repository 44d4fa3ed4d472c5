//! The statuses maintenance windows write into their components.
//!
//! While a window is in progress ([`rollup::schedule_in_progress`]) each component it lists
//! shows at least the window's status for it. The status page overlays that at once; the
//! store also writes it into the component's own status, so the API, the status page and the
//! status history agree. A component with windows in progress has the status
//! `max(base, worst window status)`, where `base` is the status it had before maintenance
//! began; when the last window ends it gets `base` back. Someone who changes the status
//! during maintenance (a person, a monitoring bot) wins: maintenance leaves that status
//! alone, and takes it as the new base at the next window that starts or ends.
//!
//! What maintenance did is kept as [`Hold`]s, one per (window, component) in progress, each
//! with the component's base and the status maintenance last wrote. [`plan`] compares the
//! windows in progress with the holds and the current statuses and says what to write;
//! every store runs it inside one transaction (`Store::reconcile_maintenance`), so these
//! rules exist once.

//! Windows are also announced: [`announcement`] says when a window has started or completed
//! since it was last announced, and the service queues `maintenance.started` and
//! `maintenance.completed` with a conditional write of the window's [`Announced`] mark
//! (`Store::announce_schedule`), so each is told once, whichever instance sees it first.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::enums::ComponentStatus;
use crate::ids::{ComponentId, ScheduleId};
use crate::model::Schedule;
use crate::rollup;

/// How far a window has been announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Announced {
    /// Nothing yet (it has not been seen in progress).
    #[default]
    Nothing,
    /// `maintenance.started`.
    Started,
    /// `maintenance.completed` (or it ended before it was ever seen in progress).
    Completed,
}

impl Announced {
    /// The stored number.
    pub fn as_i64(self) -> i64 {
        match self {
            Announced::Nothing => 0,
            Announced::Started => 1,
            Announced::Completed => 2,
        }
    }

    /// The mark a stored number stands for (unknown numbers: completed, so nothing is
    /// announced again).
    pub fn from_i64(n: i64) -> Announced {
        match n {
            0 => Announced::Nothing,
            1 => Announced::Started,
            _ => Announced::Completed,
        }
    }
}

/// What is to be announced of window `s` at `now`: its new mark and the event to send, if
/// the mark is to move. A window seen in progress is started; one that has ended after it
/// started is completed; one that ended before it was ever seen in progress (made in the
/// past, or shorter than the reconciliation interval) is marked completed silently; one
/// moved back into the future starts over; one reopened is started again.
pub fn announcement(
    s: &Schedule,
    now: DateTime<Utc>,
) -> Option<(Announced, Option<crate::notify::EventKind>)> {
    use crate::enums::ScheduleStatus;
    use crate::notify::EventKind;
    let running = rollup::schedule_in_progress(s, now);
    let ended = !running
        && (s.status == ScheduleStatus::Complete || s.completed_at.is_some_and(|end| end <= now));
    match (s.announced, running, ended) {
        (Announced::Nothing | Announced::Completed, true, _) => {
            Some((Announced::Started, Some(EventKind::MaintenanceStarted)))
        }
        (Announced::Started, false, true) => {
            Some((Announced::Completed, Some(EventKind::MaintenanceCompleted)))
        }
        (Announced::Nothing, false, true) => Some((Announced::Completed, None)),
        (Announced::Started | Announced::Completed, false, false) => {
            Some((Announced::Nothing, None))
        }
        _ => None,
    }
}

/// A component held by a maintenance window in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hold {
    /// The window.
    pub schedule_id: ScheduleId,
    /// The component.
    pub component_id: ComponentId,
    /// The status the component gets back when its last window ends.
    pub restore: ComponentStatus,
    /// The status maintenance last left the component in. When the component's status is
    /// something else, someone changed it during maintenance.
    pub applied: ComponentStatus,
}

/// What to write for one component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentPlan {
    /// The component.
    pub component_id: ComponentId,
    /// Its status change (old, new), if any; recorded with source Maintenance.
    pub change: Option<(ComponentStatus, ComponentStatus)>,
    /// Every hold the component has afterwards (replacing all it had).
    pub holds: Vec<Hold>,
}

/// What a reconciliation writes: per component, by component id (the order stores lock in).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Components whose status or holds change.
    pub components: Vec<ComponentPlan>,
}

impl Plan {
    /// True when nothing is to be written.
    pub fn is_empty(&self) -> bool {
        self.components.is_empty()
    }
}

/// Plans the writes that bring stored statuses in line with the windows in progress at `now`.
///
/// `schedules` are the live (not deleted) windows; Complete ones may be left out, since they
/// are never in progress. `holds` are every stored hold. `statuses` holds the current status
/// of every live component named by a window or a hold; a component missing from it is
/// deleted, and its holds are dropped.
pub fn plan(
    now: DateTime<Utc>,
    schedules: &[Schedule],
    holds: &[Hold],
    statuses: &BTreeMap<ComponentId, ComponentStatus>,
) -> Plan {
    // The worst status each window in progress asks of each live component.
    let mut wanted: BTreeMap<ComponentId, BTreeMap<ScheduleId, ComponentStatus>> = BTreeMap::new();
    for s in schedules
        .iter()
        .filter(|s| rollup::schedule_in_progress(s, now))
    {
        for row in s
            .components
            .iter()
            .filter(|r| statuses.contains_key(&r.component_id))
        {
            let slot = wanted
                .entry(row.component_id)
                .or_default()
                .entry(s.id)
                .or_insert(row.component_status);
            *slot = (*slot).max(row.component_status);
        }
    }
    let mut held: BTreeMap<ComponentId, Vec<Hold>> = BTreeMap::new();
    for h in holds {
        held.entry(h.component_id).or_default().push(*h);
    }
    let touched: BTreeSet<ComponentId> = wanted.keys().chain(held.keys()).copied().collect();
    let mut out = Plan::default();
    for component_id in touched {
        let had = held.remove(&component_id).unwrap_or_default();
        let windows = wanted.remove(&component_id).unwrap_or_default();
        let Some(&current) = statuses.get(&component_id) else {
            // Deleted: nothing to set, nothing to hold.
            out.components.push(ComponentPlan {
                component_id,
                change: None,
                holds: Vec::new(),
            });
            continue;
        };
        let had_windows: BTreeSet<ScheduleId> = had.iter().map(|h| h.schedule_id).collect();
        let wanted_windows: BTreeSet<ScheduleId> = windows.keys().copied().collect();
        let events = had_windows != wanted_windows;
        // The holds of one component agree on restore and applied (they are written together).
        let state = had.first().map(|h| (h.restore, h.applied));
        let in_control = state.is_none_or(|(_, applied)| applied == current);
        if !in_control && !events {
            // Changed during maintenance, and no window started or ended since: it stands.
            continue;
        }
        let base = match state {
            Some((restore, _)) if in_control => restore,
            _ => current,
        };
        let target = windows.values().copied().fold(base, ComponentStatus::max);
        let holds: Vec<Hold> = windows
            .keys()
            .map(|&schedule_id| Hold {
                schedule_id,
                component_id,
                restore: base,
                applied: target,
            })
            .collect();
        let change = (target != current).then_some((current, target));
        if change.is_none() && same_holds(&had, &holds) {
            continue;
        }
        out.components.push(ComponentPlan {
            component_id,
            change,
            holds,
        });
    }
    out
}

fn same_holds(a: &[Hold], b: &[Hold]) -> bool {
    let key = |h: &Hold| (h.schedule_id, h.restore, h.applied);
    let mut a: Vec<_> = a.iter().map(key).collect();
    let mut b: Vec<_> = b.iter().map(key).collect();
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enums::ScheduleStatus;
    use crate::model::ScheduleComponent;
    use proptest::prelude::*;
    use ComponentStatus::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(s, 0).unwrap()
    }

    fn window(id: i64, from: i64, to: i64, rows: &[(i64, ComponentStatus)]) -> Schedule {
        Schedule {
            id: ScheduleId(id),
            name: format!("w{id}"),
            message: None,
            message_html: None,
            status: ScheduleStatus::Upcoming,
            scheduled_at: t(from),
            completed_at: Some(t(to)),
            announced: Announced::Nothing,
            components: rows
                .iter()
                .map(|&(c, s)| ScheduleComponent {
                    id: 0,
                    schedule_id: ScheduleId(id),
                    component_id: ComponentId(c),
                    component_status: s,
                    created_at: t(0),
                    updated_at: t(0),
                })
                .collect(),
            created_at: t(0),
            updated_at: t(0),
        }
    }

    /// A store in miniature: statuses and holds, changed only through plans.
    #[derive(Debug, Clone, Default)]
    struct World {
        statuses: BTreeMap<ComponentId, ComponentStatus>,
        holds: Vec<Hold>,
        changes: Vec<(ComponentId, ComponentStatus, ComponentStatus)>,
    }

    impl World {
        fn with(statuses: &[(i64, ComponentStatus)]) -> World {
            World {
                statuses: statuses.iter().map(|&(c, s)| (ComponentId(c), s)).collect(),
                ..World::default()
            }
        }

        fn run(&mut self, now: i64, schedules: &[Schedule]) -> Plan {
            let p = plan(t(now), schedules, &self.holds, &self.statuses);
            for cp in &p.components {
                if let Some((old, new)) = cp.change {
                    let cur = self.statuses.get_mut(&cp.component_id).unwrap();
                    assert_eq!(*cur, old, "a change starts from the current status");
                    *cur = new;
                    self.changes.push((cp.component_id, old, new));
                }
                self.holds.retain(|h| h.component_id != cp.component_id);
                self.holds.extend(cp.holds.iter().copied());
            }
            p
        }

        fn status(&self, c: i64) -> ComponentStatus {
            self.statuses[&ComponentId(c)]
        }
    }

    #[test]
    fn a_window_raises_and_then_restores() {
        let mut w = World::with(&[(1, Operational), (2, MajorOutage)]);
        let ws = [window(
            10,
            100,
            200,
            &[(1, PerformanceIssues), (2, PerformanceIssues)],
        )];
        assert!(w.run(50, &ws).is_empty(), "not started yet");
        w.run(150, &ws);
        assert_eq!(w.status(1), PerformanceIssues);
        assert_eq!(w.status(2), MajorOutage, "never made better");
        assert!(w.run(160, &ws).is_empty(), "idempotent");
        w.run(250, &ws);
        assert_eq!(w.status(1), Operational);
        assert_eq!(w.status(2), MajorOutage);
        assert!(w.holds.is_empty());
        assert_eq!(
            w.changes,
            [
                (ComponentId(1), Operational, PerformanceIssues),
                (ComponentId(1), PerformanceIssues, Operational)
            ]
        );
    }

    #[test]
    fn overlapping_windows_keep_the_worst_and_the_base() {
        let mut w = World::with(&[(1, Operational)]);
        let ws = [
            window(10, 100, 300, &[(1, MajorOutage)]),
            window(11, 200, 400, &[(1, PerformanceIssues)]),
        ];
        w.run(150, &ws);
        assert_eq!(w.status(1), MajorOutage);
        w.run(250, &ws);
        assert_eq!(w.status(1), MajorOutage);
        // The worse window ends first: the other one's status shows.
        w.run(350, &ws);
        assert_eq!(w.status(1), PerformanceIssues);
        w.run(450, &ws);
        assert_eq!(w.status(1), Operational);
    }

    #[test]
    fn a_change_during_maintenance_wins() {
        let mut w = World::with(&[(1, Operational), (2, Operational)]);
        let ws = [window(
            10,
            100,
            200,
            &[(1, PartialOutage), (2, PartialOutage)],
        )];
        w.run(150, &ws);
        // A bot reports component 1 fine, a person reports component 2 down.
        w.statuses.insert(ComponentId(1), Operational);
        w.statuses.insert(ComponentId(2), MajorOutage);
        assert!(
            w.run(160, &ws).is_empty(),
            "maintenance does not fight back"
        );
        w.run(250, &ws);
        assert_eq!(w.status(1), Operational);
        assert_eq!(w.status(2), MajorOutage, "not restored over the report");
        assert!(w.holds.is_empty());
    }

    #[test]
    fn deleted_components_and_windows_let_go() {
        let mut w = World::with(&[(1, Operational), (2, Operational)]);
        let ws = [window(
            10,
            100,
            200,
            &[(1, PartialOutage), (2, PartialOutage)],
        )];
        w.run(150, &ws);
        w.statuses.remove(&ComponentId(2));
        // The window is deleted: it is no longer among the live ones.
        let p = w.run(160, &[]);
        assert_eq!(p.components.len(), 2);
        assert_eq!(w.status(1), Operational);
        assert!(w.holds.is_empty());
    }

    #[test]
    fn a_window_edited_while_it_runs_applies_its_new_status() {
        let mut w = World::with(&[(1, Operational)]);
        w.run(150, &[window(10, 100, 200, &[(1, PerformanceIssues)])]);
        w.run(160, &[window(10, 100, 200, &[(1, MajorOutage)])]);
        assert_eq!(w.status(1), MajorOutage);
        w.run(250, &[window(10, 100, 200, &[(1, MajorOutage)])]);
        assert_eq!(w.status(1), Operational);
    }

    fn status() -> impl Strategy<Value = ComponentStatus> {
        (0i64..=4).prop_map(|v| ComponentStatus::try_from(v).unwrap())
    }

    proptest! {
        /// Without changes from anyone else, a component's status is always its starting
        /// status worsened by the windows in progress, planning twice writes nothing more,
        /// and once every window ended every status is back where it started.
        #[test]
        fn statuses_follow_the_windows(
            start in prop::collection::vec(status(), 1..4),
            spans in prop::collection::vec((0i64..10, 1i64..6, prop::collection::vec((0usize..4, status()), 0..4)), 0..6),
        ) {
            let mut w = World::with(
                &start.iter().enumerate().map(|(n, s)| (i64::try_from(n).unwrap() + 1, *s)).collect::<Vec<_>>(),
            );
            let ws: Vec<Schedule> = spans
                .iter()
                .enumerate()
                .map(|(n, (from, len, rows))| {
                    let rows: Vec<(i64, ComponentStatus)> = rows
                        .iter()
                        .map(|(c, s)| (i64::try_from(c % start.len()).unwrap() + 1, *s))
                        .collect();
                    window(i64::try_from(n).unwrap() + 1, *from * 10, (*from + *len) * 10, &rows)
                })
                .collect();
            for now in (0..200).step_by(5) {
                w.run(now, &ws);
                prop_assert!(w.run(now, &ws).is_empty(), "a second plan at {} writes", now);
                for (n, base) in start.iter().enumerate() {
                    let c = ComponentId(i64::try_from(n).unwrap() + 1);
                    let expected = ws
                        .iter()
                        .filter(|s| rollup::schedule_in_progress(s, t(now)))
                        .flat_map(|s| s.components.iter())
                        .filter(|r| r.component_id == c)
                        .map(|r| r.component_status)
                        .fold(*base, ComponentStatus::max);
                    prop_assert_eq!(w.statuses[&c], expected, "component {} at {}", c, now);
                }
            }
            prop_assert!(w.holds.is_empty());
        }
    }

    #[test]
    fn windows_are_announced_once_as_they_start_and_end() {
        use crate::notify::EventKind::{MaintenanceCompleted, MaintenanceStarted};
        let mut w = window(1, 100, 200, &[]);
        assert_eq!(announcement(&w, t(50)), None, "upcoming: nothing yet");
        assert_eq!(
            announcement(&w, t(100)),
            Some((Announced::Started, Some(MaintenanceStarted)))
        );
        w.announced = Announced::Started;
        assert_eq!(announcement(&w, t(150)), None, "running, told");
        assert_eq!(
            announcement(&w, t(200)),
            Some((Announced::Completed, Some(MaintenanceCompleted)))
        );
        w.announced = Announced::Completed;
        assert_eq!(announcement(&w, t(300)), None);
        // Reopened: started again. Moved into the future: starts over, silently.
        w.status = ScheduleStatus::InProgress;
        assert_eq!(
            announcement(&w, t(300)),
            Some((Announced::Started, Some(MaintenanceStarted)))
        );
        let mut later = window(2, 500, 600, &[]);
        later.announced = Announced::Started;
        assert_eq!(
            announcement(&later, t(300)),
            Some((Announced::Nothing, None))
        );
        // Ended before it was ever seen running (made in the past): marked, not told.
        let past = window(3, 10, 20, &[]);
        assert_eq!(
            announcement(&past, t(300)),
            Some((Announced::Completed, None))
        );
        // Set Complete by hand while running: completed.
        let mut done = window(4, 100, 900, &[]);
        done.announced = Announced::Started;
        done.status = ScheduleStatus::Complete;
        assert_eq!(
            announcement(&done, t(150)),
            Some((Announced::Completed, Some(MaintenanceCompleted)))
        );
        for n in [0, 1, 2] {
            assert_eq!(Announced::from_i64(n).as_i64(), n);
        }
        assert_eq!(Announced::from_i64(7), Announced::Completed);
    }
}
