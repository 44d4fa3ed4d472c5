//! `MemoryStore`: the in-memory reference backend. It runs the conformance suite first;
//! every other backend must behave the same. One mutex makes every operation atomic.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::chart::Window;
use crate::enums::*;
use crate::error::{Entity, StoreError};
use crate::ids::*;
use crate::maintenance::{self, Hold};
use crate::model::*;
use crate::notify::{Claim, Delivery, DeliveryState, Notice, NoticeRecord, Outcome, Target};
use crate::secret::TokenHash;
use crate::store::*;
use crate::webhook::{NewWebhook, Webhook, WebhookPatch};

/// A claim's hold on a delivery: its token and until when.
type Lease = (String, DateTime<Utc>);

#[derive(Debug, Default)]
struct State {
    next_id: i64,
    components: BTreeMap<i64, (Component, Option<DateTime<Utc>>)>,
    groups: BTreeMap<i64, ComponentGroup>,
    incidents: BTreeMap<i64, (Incident, Option<DateTime<Utc>>)>,
    updates: BTreeMap<i64, IncidentUpdate>,
    templates: BTreeMap<i64, IncidentTemplate>,
    schedules: BTreeMap<i64, (Schedule, Option<DateTime<Utc>>)>,
    metrics: BTreeMap<i64, Metric>,
    points: BTreeMap<i64, MetricPoint>,
    subscribers: BTreeMap<i64, StoredSubscriber>,
    users: BTreeMap<i64, User>,
    tokens: BTreeMap<i64, ApiToken>,
    /// Digest in hex -> session.
    sessions: BTreeMap<String, Session>,
    /// (user, digest in hex) -> used at.
    recovery: BTreeMap<(i64, String), Option<DateTime<Utc>>>,
    settings: BTreeMap<String, String>,
    audit: BTreeMap<i64, AuditEntry>,
    /// slug -> name of every tag ever used: a tag is found by slug or created.
    tags: BTreeMap<String, String>,
    status_changes: BTreeMap<i64, StatusChange>,
    /// (schedule, component) -> hold.
    holds: BTreeMap<(ScheduleId, ComponentId), Hold>,
    /// The outbox: deliveries with the claim holding each.
    deliveries: BTreeMap<i64, (Delivery, Option<Lease>)>,
    webhooks: BTreeMap<i64, Webhook>,
}

impl State {
    fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    fn insert_session(&mut self, new: NewSession) -> Result<Session, StoreError> {
        if !self.users.contains_key(&new.user_id.get()) {
            return Err(StoreError::NotFound(Entity::User));
        }
        let key = new.hash.to_hex();
        if self.sessions.contains_key(&key) {
            return Err(StoreError::Conflict("session exists".into()));
        }
        self.sessions.insert(key, new.clone());
        Ok(new)
    }

    /// Queues `notice` (about entity `entity`) for every subscriber its audience reaches;
    /// `created` is the subscriber the calling operation creates, if any. Nothing is
    /// written when nobody is reached.
    fn enqueue(
        &mut self,
        notice: Option<Notice>,
        entity: Option<i64>,
        created: Option<SubscriberId>,
        at: DateTime<Utc>,
    ) {
        let Some(notice) = notice else { return };
        if notice.audience == crate::notify::Audience::NewSubscriber && created.is_none() {
            // The address was subscribed already: nothing happened to tell anyone about.
            return;
        }
        for also in notice.also_notices() {
            self.enqueue(Some(also), entity, created, at);
        }
        let mut targets: Vec<Target> = self
            .subscribers
            .values()
            .filter(|s| notice.audience.reaches(s, Some(s.id) == created))
            .map(|s| Target::Subscriber(s.id))
            .collect();
        if notice.to_webhooks {
            targets.extend(
                self.webhooks
                    .values()
                    .filter(|w| w.wants(notice.event))
                    .map(|w| Target::Webhook(w.id)),
            );
        }
        if targets.is_empty() {
            return;
        }
        let record = NoticeRecord {
            id: NoticeId(self.id()),
            event: notice.event,
            entity_id: entity,
            subject: notice.subject,
            text: notice.text,
            html: notice.html,
            created_at: at,
        };
        for target in targets {
            let id = self.id();
            let d = Delivery {
                id: DeliveryId(id),
                notice: record.clone(),
                target,
                state: DeliveryState::Pending,
                attempts: 0,
                next_attempt_at: at,
                last_error: None,
                delivered_at: None,
                created_at: at,
            };
            self.deliveries.insert(id, (d, None));
        }
    }

    /// New subscriptions of `subscriber` to `to` (live components only).
    fn subscriptions_for(
        &mut self,
        subscriber: SubscriberId,
        to: SubscribeTo,
        at: DateTime<Utc>,
    ) -> Vec<Subscription> {
        let targets: Vec<ComponentId> = match to {
            SubscribeTo::AllComponents => self
                .components
                .values()
                .filter(|(_, d)| d.is_none())
                .map(|(c, _)| c.id)
                .collect(),
            SubscribeTo::Components(ids) => ids
                .into_iter()
                .filter(|c| self.live_component(*c).is_ok())
                .collect(),
        };
        targets
            .into_iter()
            .map(|component_id| Subscription {
                id: SubscriptionId(self.id()),
                subscriber_id: subscriber,
                component_id,
                created_at: at,
                updated_at: at,
            })
            .collect()
    }

    fn live_component(&self, id: ComponentId) -> Result<&Component, StoreError> {
        match self.components.get(&id.get()) {
            Some((c, None)) => Ok(c),
            _ => Err(StoreError::NotFound(Entity::Component)),
        }
    }

    /// Sets a live component's status and records the change; the same status is no change.
    fn set_status(
        &mut self,
        id: ComponentId,
        new: ComponentStatus,
        source: StatusSource,
        at: DateTime<Utc>,
    ) -> Option<StatusChange> {
        let change_id = self.next_id + 1;
        let Some((c, None)) = self.components.get_mut(&id.get()) else {
            return None;
        };
        if c.status == new {
            return None;
        }
        let change = StatusChange {
            id: StatusChangeId(change_id),
            component_id: id,
            at,
            old: c.status,
            new,
            source,
        };
        c.status = new;
        c.updated_at = at;
        self.next_id = change_id;
        self.status_changes.insert(change_id, change);
        Some(change)
    }

    fn live_incident(&self, id: IncidentId) -> Result<Incident, StoreError> {
        match self.incidents.get(&id.get()) {
            Some((i, None)) => Ok(self.with_updates(i.clone())),
            _ => Err(StoreError::NotFound(Entity::Incident)),
        }
    }

    fn with_updates(&self, mut i: Incident) -> Incident {
        let mut ups: Vec<IncidentUpdate> = self
            .updates
            .values()
            .filter(|u| u.incident_id == i.id)
            .cloned()
            .collect();
        ups.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        i.updates = ups;
        i
    }

    fn live_schedule(&self, id: ScheduleId) -> Result<Schedule, StoreError> {
        match self.schedules.get(&id.get()) {
            Some((s, None)) => Ok(s.clone()),
            _ => Err(StoreError::NotFound(Entity::Schedule)),
        }
    }

    fn intern_tags(&mut self, tags: Vec<Tag>) -> Vec<Tag> {
        let mut out: Vec<Tag> = tags
            .into_iter()
            .map(|t| {
                let name = self.tags.entry(t.slug.clone()).or_insert(t.name).clone();
                Tag { slug: t.slug, name }
            })
            .collect();
        out.sort();
        out.dedup_by(|a, b| a.slug == b.slug);
        out
    }

    /// The visibility of a component's group, None without one (or when it is gone).
    fn group_visibility(&self, gid: Option<GroupId>) -> Option<Visibility> {
        gid.and_then(|g| self.groups.get(&g.get()))
            .map(|g| g.visible)
    }
}

/// The in-memory reference store.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-applied change: every operation
        // computes its result before mutating.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn cmp_f64(a: f64, b: f64) -> std::cmp::Ordering {
    a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal)
}

/// Sorts by `key` (or id), ties by id in the same direction, then pages.
fn sort_page<T: Clone, S: Copy>(
    mut rows: Vec<T>,
    q: &ListQuery<S, impl Sized>,
    default_desc: bool,
    cmp: impl Fn(&T, &T, Option<S>) -> std::cmp::Ordering,
) -> Page<T> {
    let (key, desc) = match q.sort {
        Some((k, o)) => (Some(k), o == Order::Desc),
        None => (None, default_desc),
    };
    rows.sort_by(|a, b| {
        let o = cmp(a, b, key);
        if desc {
            o.reverse()
        } else {
            o
        }
    });
    let total = rows.len() as u64;
    let offset = usize::try_from(q.offset()).unwrap_or(usize::MAX);
    let items = rows
        .into_iter()
        .skip(offset)
        .take(q.limit() as usize)
        .collect();
    Page { items, total }
}

#[async_trait]
impl Store for MemoryStore {
    async fn list_components(
        &self,
        q: &ListQuery<ComponentSort, ComponentFilter>,
    ) -> Result<Page<Component>, StoreError> {
        let st = self.lock();
        let f = &q.filter;
        let rows: Vec<Component> = st
            .components
            .values()
            .filter(|(_, deleted)| deleted.is_none())
            .map(|(c, _)| c)
            .filter(|c| f.id.is_none_or(|v| c.id == v))
            .filter(|c| f.name.as_ref().is_none_or(|v| &c.name == v))
            .filter(|c| f.status.is_none_or(|v| c.status == v))
            .filter(|c| f.order.is_none_or(|v| c.order == v))
            .filter(|c| f.group_id.is_none_or(|v| c.group_id == v))
            .filter(|c| f.enabled.is_none_or(|v| c.enabled == v))
            .filter(|c| f.tags.is_empty() || c.tags.iter().any(|t| f.tags.contains(&t.slug)))
            .filter(|c| {
                !f.public_only
                    || crate::rollup::is_public_component(
                        c.enabled,
                        st.group_visibility(c.group_id),
                    )
            })
            .cloned()
            .collect();
        Ok(sort_page(rows, q, false, |a, b, k| {
            let o = match k {
                None | Some(ComponentSort::Id) => std::cmp::Ordering::Equal,
                Some(ComponentSort::Name) => a.name.cmp(&b.name),
                Some(ComponentSort::Status) => a.status.cmp(&b.status),
                Some(ComponentSort::Order) => a.order.cmp(&b.order),
                Some(ComponentSort::GroupId) => a
                    .group_id
                    .map_or(0, GroupId::get)
                    .cmp(&b.group_id.map_or(0, GroupId::get)),
                Some(ComponentSort::Enabled) => a.enabled.cmp(&b.enabled),
            };
            o.then(a.id.cmp(&b.id))
        }))
    }

    async fn get_component(&self, id: ComponentId) -> Result<Component, StoreError> {
        self.lock().live_component(id).cloned()
    }

    async fn create_component(&self, new: NewComponent) -> Result<Component, StoreError> {
        let mut st = self.lock();
        let id = st.id();
        let now = now();
        let c = Component {
            id: ComponentId(id),
            name: new.name,
            description: new.description,
            link: new.link,
            status: new.status,
            order: new.order,
            group_id: new.group_id,
            enabled: new.enabled,
            meta: new.meta,
            tags: st.intern_tags(new.tags),
            created_at: now,
            updated_at: now,
        };
        st.components.insert(id, (c.clone(), None));
        Ok(c)
    }

    async fn update_component(
        &self,
        id: ComponentId,
        ch: ComponentChanges,
        source: StatusSource,
    ) -> Result<Component, StoreError> {
        let mut st = self.lock();
        let mut c = st.live_component(id)?.clone();
        let at = now();
        if let Some(v) = ch.status {
            if st.set_status(id, v, source, at).is_some() {
                st.enqueue(ch.notice.clone(), Some(id.get()), None, at);
            }
            c.status = v;
        }
        if let Some(v) = ch.name {
            c.name = v;
        }
        if let Some(v) = ch.description {
            c.description = v;
        }
        if let Some(v) = ch.link {
            c.link = v;
        }
        if let Some(v) = ch.order {
            c.order = v;
        }
        if let Some(v) = ch.group_id {
            c.group_id = v;
        }
        if let Some(v) = ch.enabled {
            c.enabled = v;
        }
        if let Some(v) = ch.meta {
            c.meta = v;
        }
        if let Some(v) = ch.tags {
            c.tags = st.intern_tags(v);
        }
        c.updated_at = at;
        st.components.insert(id.get(), (c.clone(), None));
        Ok(c)
    }

    async fn delete_component(&self, id: ComponentId) -> Result<(), StoreError> {
        let mut st = self.lock();
        let c = st.live_component(id)?.clone();
        st.components.insert(id.get(), (c, Some(now())));
        for s in st.subscribers.values_mut() {
            s.subscriptions.retain(|sub| sub.component_id != id);
        }
        st.status_changes.retain(|_, ch| ch.component_id != id);
        st.holds.retain(|(_, cid), _| *cid != id);
        Ok(())
    }

    async fn status_changes(
        &self,
        component: ComponentId,
        page: u32,
        per_page: u32,
    ) -> Result<Page<StatusChange>, StoreError> {
        let q: ListQuery<(), ()> = ListQuery::new(page, per_page, ());
        let st = self.lock();
        let all = st
            .status_changes
            .values()
            .rev()
            .filter(|ch| ch.component_id == component);
        let total = all.clone().count() as u64;
        let items = all
            .skip(usize::try_from(q.offset()).unwrap_or(usize::MAX))
            .take(q.limit() as usize)
            .copied()
            .collect();
        Ok(Page { items, total })
    }

    async fn reconcile_maintenance(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<StatusChange>, StoreError> {
        let mut st = self.lock();
        let schedules: Vec<Schedule> = st
            .schedules
            .values()
            .filter(|(s, d)| d.is_none() && s.status != ScheduleStatus::Complete)
            .map(|(s, _)| s.clone())
            .collect();
        let holds: Vec<Hold> = st.holds.values().copied().collect();
        let statuses: BTreeMap<ComponentId, ComponentStatus> = st
            .components
            .values()
            .filter(|(_, d)| d.is_none())
            .map(|(c, _)| (c.id, c.status))
            .collect();
        let plan = maintenance::plan(now, &schedules, &holds, &statuses);
        let mut written = Vec::new();
        for cp in plan.components {
            if let Some((_, new)) = cp.change {
                written.extend(st.set_status(cp.component_id, new, StatusSource::Maintenance, now));
            }
            st.holds.retain(|(_, cid), _| *cid != cp.component_id);
            for h in cp.holds {
                st.holds.insert((h.schedule_id, h.component_id), h);
            }
        }
        Ok(written)
    }

    async fn unannounced_schedules(&self) -> Result<Vec<ScheduleId>, StoreError> {
        Ok(self
            .lock()
            .schedules
            .values()
            .filter(|(s, d)| d.is_none() && s.announced != maintenance::Announced::Completed)
            .map(|(s, _)| s.id)
            .collect())
    }

    async fn announce_schedule(
        &self,
        id: ScheduleId,
        from: maintenance::Announced,
        to: maintenance::Announced,
        notice: Option<Notice>,
    ) -> Result<bool, StoreError> {
        let mut st = self.lock();
        let Some((s, None)) = st.schedules.get_mut(&id.get()) else {
            return Ok(false);
        };
        if s.announced != from {
            return Ok(false);
        }
        s.announced = to;
        st.enqueue(notice, Some(id.get()), None, now());
        Ok(true)
    }

    async fn list_groups(
        &self,
        q: &ListQuery<GroupSort, GroupFilter>,
    ) -> Result<Page<ComponentGroup>, StoreError> {
        let st = self.lock();
        let f = &q.filter;
        let rows: Vec<ComponentGroup> = st
            .groups
            .values()
            .filter(|g| f.id.is_none_or(|v| g.id == v))
            .filter(|g| f.name.as_ref().is_none_or(|v| &g.name == v))
            .filter(|g| f.order.is_none_or(|v| g.order == v))
            .filter(|g| f.collapsed.is_none_or(|v| g.collapsed == v))
            .filter(|g| f.visible.is_none_or(|v| g.visible == v))
            .filter(|g| !f.public_only || g.visible == Visibility::Public)
            .cloned()
            .collect();
        Ok(sort_page(rows, q, false, |a, b, k| {
            let o = match k {
                None | Some(GroupSort::Id) => std::cmp::Ordering::Equal,
                Some(GroupSort::Name) => a.name.cmp(&b.name),
                Some(GroupSort::Order) => a.order.cmp(&b.order),
                Some(GroupSort::Collapsed) => a.collapsed.cmp(&b.collapsed),
                Some(GroupSort::Visible) => a.visible.cmp(&b.visible),
            };
            o.then(a.id.cmp(&b.id))
        }))
    }

    async fn get_group(&self, id: GroupId) -> Result<ComponentGroup, StoreError> {
        self.lock()
            .groups
            .get(&id.get())
            .cloned()
            .ok_or(StoreError::NotFound(Entity::Group))
    }

    async fn create_group(&self, new: NewGroup) -> Result<ComponentGroup, StoreError> {
        let mut st = self.lock();
        let id = st.id();
        let now = now();
        let g = ComponentGroup {
            id: GroupId(id),
            name: new.name,
            order: new.order,
            collapsed: new.collapsed,
            visible: new.visible,
            created_at: now,
            updated_at: now,
        };
        st.groups.insert(id, g.clone());
        Ok(g)
    }

    async fn update_group(
        &self,
        id: GroupId,
        ch: GroupChanges,
    ) -> Result<ComponentGroup, StoreError> {
        let mut st = self.lock();
        let g = st
            .groups
            .get_mut(&id.get())
            .ok_or(StoreError::NotFound(Entity::Group))?;
        if let Some(v) = ch.name {
            g.name = v;
        }
        if let Some(v) = ch.order {
            g.order = v;
        }
        if let Some(v) = ch.collapsed {
            g.collapsed = v;
        }
        if let Some(v) = ch.visible {
            g.visible = v;
        }
        g.updated_at = now();
        Ok(g.clone())
    }

    async fn delete_group(&self, id: GroupId) -> Result<(), StoreError> {
        let mut st = self.lock();
        st.groups
            .remove(&id.get())
            .ok_or(StoreError::NotFound(Entity::Group))?;
        for (c, _) in st.components.values_mut() {
            if c.group_id == Some(id) {
                c.group_id = None;
            }
        }
        Ok(())
    }

    async fn list_incidents(
        &self,
        q: &ListQuery<IncidentSort, IncidentFilter>,
    ) -> Result<Page<Incident>, StoreError> {
        let st = self.lock();
        let f = &q.filter;
        let rows: Vec<Incident> = st
            .incidents
            .values()
            .filter(|(_, d)| d.is_none())
            .map(|(i, _)| i)
            .filter(|i| f.id.is_none_or(|v| i.id == v))
            .filter(|i| f.user_id.is_none_or(|v| i.user_id == Some(v)))
            .filter(|i| f.component_id.is_none_or(|v| i.component_id == v))
            .filter(|i| f.name.as_ref().is_none_or(|v| &i.name == v))
            .filter(|i| f.status.is_none_or(|v| i.status == v))
            .filter(|i| f.visible.is_none_or(|v| i.visible == v))
            .filter(|i| f.stickied.is_none_or(|v| i.stickied == v))
            .filter(|i| !f.public_only || i.visible == Visibility::Public)
            .map(|i| st.with_updates(i.clone()))
            .collect();
        Ok(sort_page(rows, q, false, |a, b, k| {
            let o = match k {
                None | Some(IncidentSort::Id) => std::cmp::Ordering::Equal,
                Some(IncidentSort::UserId) => a.user_id.cmp(&b.user_id),
                Some(IncidentSort::Name) => a.name.cmp(&b.name),
                Some(IncidentSort::Status) => a.status.cmp(&b.status),
                Some(IncidentSort::Visible) => a.visible.cmp(&b.visible),
                Some(IncidentSort::Stickied) => a.stickied.cmp(&b.stickied),
                Some(IncidentSort::Message) => a.message.cmp(&b.message),
                Some(IncidentSort::OccurredAt) => a.occurred_at.cmp(&b.occurred_at),
            };
            o.then(a.id.cmp(&b.id))
        }))
    }

    async fn get_incident(&self, id: IncidentId) -> Result<Incident, StoreError> {
        self.lock().live_incident(id)
    }

    async fn create_incident(&self, new: NewIncident) -> Result<Incident, StoreError> {
        let mut st = self.lock();
        if let Some(cid) = new.component_id {
            st.live_component(cid)?;
        }
        let id = st.id();
        let now = now();
        if let (Some(cid), Some(impact)) = (new.component_id, new.impact) {
            st.set_status(cid, impact, StatusSource::Incident, now);
        }
        let i = Incident {
            id: IncidentId(id),
            user_id: new.user_id,
            component_id: new.component_id,
            impact: new.impact,
            name: new.name,
            status: new.status,
            visible: new.visible,
            stickied: new.stickied,
            message: new.message.source,
            message_html: new.message.html,
            occurred_at: new.occurred_at,
            meta: new.meta,
            updates: vec![],
            created_at: now,
            updated_at: now,
        };
        st.incidents.insert(id, (i.clone(), None));
        st.enqueue(new.notice, Some(id), None, now);
        Ok(i)
    }

    async fn update_incident(
        &self,
        id: IncidentId,
        ch: IncidentChanges,
    ) -> Result<Incident, StoreError> {
        let mut st = self.lock();
        let mut i = st.live_incident(id)?;
        if let Some(Some(cid)) = ch.component_id {
            st.live_component(cid)?;
        }
        let now = now();
        if let Some(v) = ch.name {
            i.name = v;
        }
        if let Some(v) = ch.status {
            i.status = v;
        }
        if let Some(v) = ch.visible {
            i.visible = v;
        }
        if let Some(v) = ch.stickied {
            i.stickied = v;
        }
        if let Some(m) = ch.message {
            i.message = m.source;
            i.message_html = m.html;
        }
        if let Some(v) = ch.occurred_at {
            i.occurred_at = v;
        }
        if let Some(v) = ch.component_id {
            i.component_id = v;
        }
        if let Some(impact) = ch.impact {
            i.impact = Some(impact);
            if let Some(cid) = i.component_id {
                st.set_status(cid, impact, StatusSource::Incident, now);
            }
        }
        for (k, v) in ch.meta {
            match v {
                Some(v) => {
                    i.meta.insert(k, v);
                }
                None => {
                    i.meta.remove(&k);
                }
            }
        }
        i.updated_at = now;
        let mut stored = i.clone();
        stored.updates.clear();
        st.incidents.insert(id.get(), (stored, None));
        st.enqueue(ch.notice, Some(id.get()), None, now);
        Ok(i)
    }

    async fn delete_incident(&self, id: IncidentId) -> Result<(), StoreError> {
        let mut st = self.lock();
        let mut i = st.live_incident(id)?;
        i.updates.clear();
        st.incidents.insert(id.get(), (i, Some(now())));
        Ok(())
    }

    async fn list_updates(
        &self,
        incident: IncidentId,
        q: &ListQuery<UpdateSort, ()>,
    ) -> Result<Page<IncidentUpdate>, StoreError> {
        let st = self.lock();
        st.live_incident(incident)?;
        let rows: Vec<IncidentUpdate> = st
            .updates
            .values()
            .filter(|u| u.incident_id == incident)
            .cloned()
            .collect();
        Ok(sort_page(rows, q, true, |a, b, k| {
            let o = match k {
                None => a.created_at.cmp(&b.created_at),
                Some(UpdateSort::Id) => std::cmp::Ordering::Equal,
                Some(UpdateSort::Status) => a.status.cmp(&b.status),
                Some(UpdateSort::UserId) => a.user_id.cmp(&b.user_id),
            };
            o.then(a.id.cmp(&b.id))
        }))
    }

    async fn get_update(
        &self,
        incident: IncidentId,
        id: UpdateId,
    ) -> Result<IncidentUpdate, StoreError> {
        let st = self.lock();
        st.live_incident(incident)?;
        st.updates
            .get(&id.get())
            .filter(|u| u.incident_id == incident)
            .cloned()
            .ok_or(StoreError::NotFound(Entity::IncidentUpdate))
    }

    async fn create_update(
        &self,
        incident: IncidentId,
        new: NewIncidentUpdate,
    ) -> Result<IncidentUpdate, StoreError> {
        let mut st = self.lock();
        st.live_incident(incident)?;
        let id = st.id();
        let now = now();
        let u = IncidentUpdate {
            id: UpdateId(id),
            incident_id: incident,
            status: new.status,
            message: new.message.source,
            message_html: new.message.html,
            user_id: new.user_id,
            created_at: now,
            updated_at: now,
        };
        st.updates.insert(id, u.clone());
        if let Some((i, _)) = st.incidents.get_mut(&incident.get()) {
            i.status = new.status;
            i.updated_at = now;
        }
        st.enqueue(new.notice, Some(incident.get()), None, now);
        Ok(u)
    }

    async fn update_update(
        &self,
        incident: IncidentId,
        id: UpdateId,
        ch: IncidentUpdateChanges,
    ) -> Result<IncidentUpdate, StoreError> {
        let mut st = self.lock();
        st.live_incident(incident)?;
        let u = st
            .updates
            .get_mut(&id.get())
            .filter(|u| u.incident_id == incident)
            .ok_or(StoreError::NotFound(Entity::IncidentUpdate))?;
        if let Some(v) = ch.status {
            u.status = v;
        }
        if let Some(m) = ch.message {
            u.message = m.source;
            u.message_html = m.html;
        }
        if let Some(v) = ch.user_id {
            u.user_id = Some(v);
        }
        u.updated_at = now();
        Ok(u.clone())
    }

    async fn delete_update(&self, incident: IncidentId, id: UpdateId) -> Result<(), StoreError> {
        let mut st = self.lock();
        st.live_incident(incident)?;
        match st.updates.get(&id.get()) {
            Some(u) if u.incident_id == incident => {
                st.updates.remove(&id.get());
                Ok(())
            }
            _ => Err(StoreError::NotFound(Entity::IncidentUpdate)),
        }
    }

    async fn list_templates(
        &self,
        q: &ListQuery<TemplateSort, ()>,
    ) -> Result<Page<IncidentTemplate>, StoreError> {
        let rows: Vec<IncidentTemplate> = self.lock().templates.values().cloned().collect();
        Ok(sort_page(rows, q, false, |a, b, k| {
            let o = match k {
                None | Some(TemplateSort::Id) => std::cmp::Ordering::Equal,
                Some(TemplateSort::Name) => a.name.cmp(&b.name),
                Some(TemplateSort::Slug) => a.slug.cmp(&b.slug),
            };
            o.then(a.id.cmp(&b.id))
        }))
    }

    async fn get_template(&self, id: TemplateId) -> Result<IncidentTemplate, StoreError> {
        self.lock()
            .templates
            .get(&id.get())
            .cloned()
            .ok_or(StoreError::NotFound(Entity::Template))
    }

    async fn get_template_by_slug(&self, slug: &str) -> Result<IncidentTemplate, StoreError> {
        self.lock()
            .templates
            .values()
            .find(|t| t.slug == slug)
            .cloned()
            .ok_or(StoreError::NotFound(Entity::Template))
    }

    async fn create_template(&self, new: NewTemplate) -> Result<IncidentTemplate, StoreError> {
        let mut st = self.lock();
        if st.templates.values().any(|t| t.slug == new.slug) {
            return Err(StoreError::Conflict(format!(
                "template slug {} is taken",
                new.slug
            )));
        }
        let id = st.id();
        let now = now();
        let t = IncidentTemplate {
            id: TemplateId(id),
            name: new.name,
            slug: new.slug,
            template: new.template,
            created_at: now,
            updated_at: now,
        };
        st.templates.insert(id, t.clone());
        Ok(t)
    }

    async fn update_template(
        &self,
        id: TemplateId,
        ch: TemplateChanges,
    ) -> Result<IncidentTemplate, StoreError> {
        let mut st = self.lock();
        if !st.templates.contains_key(&id.get()) {
            return Err(StoreError::NotFound(Entity::Template));
        }
        if let Some(slug) = &ch.slug {
            if st.templates.values().any(|t| &t.slug == slug && t.id != id) {
                return Err(StoreError::Conflict(format!(
                    "template slug {slug} is taken"
                )));
            }
        }
        let t = st
            .templates
            .get_mut(&id.get())
            .ok_or(StoreError::NotFound(Entity::Template))?;
        if let Some(v) = ch.name {
            t.name = v;
        }
        if let Some(v) = ch.slug {
            t.slug = v;
        }
        if let Some(v) = ch.template {
            t.template = v;
        }
        t.updated_at = now();
        Ok(t.clone())
    }

    async fn delete_template(&self, id: TemplateId) -> Result<(), StoreError> {
        self.lock()
            .templates
            .remove(&id.get())
            .map(|_| ())
            .ok_or(StoreError::NotFound(Entity::Template))
    }

    async fn list_schedules(
        &self,
        q: &ListQuery<ScheduleSort, ()>,
    ) -> Result<Page<Schedule>, StoreError> {
        let rows: Vec<Schedule> = self
            .lock()
            .schedules
            .values()
            .filter(|(_, d)| d.is_none())
            .map(|(s, _)| s.clone())
            .collect();
        Ok(sort_page(rows, q, false, |a, b, k| {
            let o = match k {
                None | Some(ScheduleSort::Id) => std::cmp::Ordering::Equal,
                Some(ScheduleSort::Name) => a.name.cmp(&b.name),
                Some(ScheduleSort::Status) => a.status.cmp(&b.status),
                Some(ScheduleSort::ScheduledAt) => a.scheduled_at.cmp(&b.scheduled_at),
                Some(ScheduleSort::CompletedAt) => a.completed_at.cmp(&b.completed_at),
                Some(ScheduleSort::CreatedAt) => a.created_at.cmp(&b.created_at),
                Some(ScheduleSort::UpdatedAt) => a.updated_at.cmp(&b.updated_at),
            };
            o.then(a.id.cmp(&b.id))
        }))
    }

    async fn get_schedule(&self, id: ScheduleId) -> Result<Schedule, StoreError> {
        self.lock().live_schedule(id)
    }

    async fn create_schedule(&self, new: NewSchedule) -> Result<Schedule, StoreError> {
        let mut st = self.lock();
        let notice = new.notice.clone();
        for (cid, _) in &new.components {
            st.live_component(*cid)?;
        }
        let id = st.id();
        let now = now();
        let mut rows = Vec::new();
        for (cid, status) in new.components {
            let rid = st.id();
            rows.push(ScheduleComponent {
                id: rid,
                schedule_id: ScheduleId(id),
                component_id: cid,
                component_status: status,
                created_at: now,
                updated_at: now,
            });
        }
        let s = Schedule {
            id: ScheduleId(id),
            name: new.name,
            message: new.message.as_ref().map(|m| m.source.clone()),
            message_html: new.message.map(|m| m.html),
            status: new.status,
            scheduled_at: new.scheduled_at,
            completed_at: new.completed_at,
            announced: maintenance::Announced::Nothing,
            components: rows,
            created_at: now,
            updated_at: now,
        };
        st.schedules.insert(id, (s.clone(), None));
        st.enqueue(notice, Some(id), None, now);
        Ok(s)
    }

    async fn update_schedule(
        &self,
        id: ScheduleId,
        ch: ScheduleChanges,
    ) -> Result<Schedule, StoreError> {
        let mut st = self.lock();
        let mut s = st.live_schedule(id)?;
        if let Some(list) = &ch.components {
            for (cid, _) in list {
                st.live_component(*cid)?;
            }
        }
        let now = now();
        if let Some(v) = ch.name {
            s.name = v;
        }
        if let Some(m) = ch.message {
            s.message = m.as_ref().map(|m| m.source.clone());
            s.message_html = m.map(|m| m.html);
        }
        if let Some(v) = ch.status {
            s.status = v;
        }
        if let Some(v) = ch.scheduled_at {
            s.scheduled_at = v;
        }
        if let Some(v) = ch.completed_at {
            s.completed_at = v;
        }
        if let Some(list) = ch.components {
            let mut rows = Vec::new();
            for (cid, status) in list {
                let rid = st.id();
                rows.push(ScheduleComponent {
                    id: rid,
                    schedule_id: id,
                    component_id: cid,
                    component_status: status,
                    created_at: now,
                    updated_at: now,
                });
            }
            s.components = rows;
        }
        s.updated_at = now;
        st.schedules.insert(id.get(), (s.clone(), None));
        Ok(s)
    }

    async fn delete_schedule(&self, id: ScheduleId) -> Result<(), StoreError> {
        let mut st = self.lock();
        let s = st.live_schedule(id)?;
        st.schedules.insert(id.get(), (s, Some(now())));
        Ok(())
    }

    async fn list_metrics(
        &self,
        q: &ListQuery<MetricSort, MetricFilter>,
    ) -> Result<Page<Metric>, StoreError> {
        let rows: Vec<Metric> = self
            .lock()
            .metrics
            .values()
            .filter(|m| !q.filter.public_only || m.visible == MetricVisibility::Public)
            .cloned()
            .collect();
        Ok(sort_page(rows, q, false, |a, b, k| {
            let o = match k {
                None | Some(MetricSort::Id) => std::cmp::Ordering::Equal,
                Some(MetricSort::Name) => a.name.cmp(&b.name),
                Some(MetricSort::DisplayChart) => a.display_chart.cmp(&b.display_chart),
                Some(MetricSort::DefaultValue) => cmp_f64(a.default_value, b.default_value),
                Some(MetricSort::CalcType) => a.calc_type.cmp(&b.calc_type),
                Some(MetricSort::Order) => a.order.cmp(&b.order),
                Some(MetricSort::Visible) => a.visible.cmp(&b.visible),
            };
            o.then(a.id.cmp(&b.id))
        }))
    }

    async fn get_metric(&self, id: MetricId) -> Result<Metric, StoreError> {
        self.lock()
            .metrics
            .get(&id.get())
            .cloned()
            .ok_or(StoreError::NotFound(Entity::Metric))
    }

    async fn create_metric(&self, new: NewMetric) -> Result<Metric, StoreError> {
        let mut st = self.lock();
        let id = st.id();
        let now = now();
        let m = Metric {
            id: MetricId(id),
            name: new.name,
            suffix: new.suffix,
            description: new.description,
            default_value: new.default_value,
            calc_type: new.calc_type,
            display_chart: new.display_chart,
            places: new.places,
            default_view: new.default_view,
            threshold: new.threshold,
            order: new.order,
            visible: new.visible,
            created_at: now,
            updated_at: now,
        };
        st.metrics.insert(id, m.clone());
        Ok(m)
    }

    async fn update_metric(&self, id: MetricId, ch: MetricChanges) -> Result<Metric, StoreError> {
        let mut st = self.lock();
        let m = st
            .metrics
            .get_mut(&id.get())
            .ok_or(StoreError::NotFound(Entity::Metric))?;
        if let Some(v) = ch.name {
            m.name = v;
        }
        if let Some(v) = ch.suffix {
            m.suffix = v;
        }
        if let Some(v) = ch.description {
            m.description = v;
        }
        if let Some(v) = ch.default_value {
            m.default_value = v;
        }
        if let Some(v) = ch.calc_type {
            m.calc_type = v;
        }
        if let Some(v) = ch.display_chart {
            m.display_chart = v;
        }
        if let Some(v) = ch.places {
            m.places = v;
        }
        if let Some(v) = ch.default_view {
            m.default_view = v;
        }
        if let Some(v) = ch.threshold {
            m.threshold = v;
        }
        if let Some(v) = ch.order {
            m.order = v;
        }
        if let Some(v) = ch.visible {
            m.visible = v;
        }
        m.updated_at = now();
        Ok(m.clone())
    }

    async fn delete_metric(&self, id: MetricId) -> Result<(), StoreError> {
        let mut st = self.lock();
        st.metrics
            .remove(&id.get())
            .ok_or(StoreError::NotFound(Entity::Metric))?;
        st.points.retain(|_, p| p.metric_id != id);
        Ok(())
    }

    async fn list_points(
        &self,
        metric: MetricId,
        q: &ListQuery<PointSort, ()>,
    ) -> Result<Page<MetricPoint>, StoreError> {
        let st = self.lock();
        if !st.metrics.contains_key(&metric.get()) {
            return Err(StoreError::NotFound(Entity::Metric));
        }
        let rows: Vec<MetricPoint> = st
            .points
            .values()
            .filter(|p| p.metric_id == metric)
            .cloned()
            .collect();
        Ok(sort_page(rows, q, true, |a, b, k| {
            let o = match k {
                None | Some(PointSort::CreatedAt) => a.created_at.cmp(&b.created_at),
                Some(PointSort::Id) => std::cmp::Ordering::Equal,
                Some(PointSort::Value) => cmp_f64(a.value, b.value),
            };
            o.then(a.id.cmp(&b.id))
        }))
    }

    async fn get_point(&self, metric: MetricId, id: PointId) -> Result<MetricPoint, StoreError> {
        self.lock()
            .points
            .get(&id.get())
            .filter(|p| p.metric_id == metric)
            .cloned()
            .ok_or(StoreError::NotFound(Entity::MetricPoint))
    }

    async fn record_point(
        &self,
        metric: MetricId,
        new: NewPoint,
    ) -> Result<MetricPoint, StoreError> {
        let mut st = self.lock();
        if !st.metrics.contains_key(&metric.get()) {
            return Err(StoreError::NotFound(Entity::Metric));
        }
        let now = now();
        let existing = st
            .points
            .values()
            .filter(|p| {
                p.metric_id == metric && p.value == new.value && p.created_at >= new.dedup_since
            })
            .map(|p| p.id.get())
            .min();
        if let Some(pid) = existing {
            let p = st
                .points
                .get_mut(&pid)
                .ok_or(StoreError::NotFound(Entity::MetricPoint))?;
            p.counter += 1;
            p.updated_at = now;
            return Ok(p.clone());
        }
        let id = st.id();
        let p = MetricPoint {
            id: PointId(id),
            metric_id: metric,
            value: new.value,
            counter: 1,
            created_at: new.created_at,
            updated_at: now,
        };
        st.points.insert(id, p.clone());
        Ok(p)
    }

    async fn update_point(
        &self,
        metric: MetricId,
        id: PointId,
        ch: PointChanges,
    ) -> Result<MetricPoint, StoreError> {
        let mut st = self.lock();
        let p = st
            .points
            .get_mut(&id.get())
            .filter(|p| p.metric_id == metric)
            .ok_or(StoreError::NotFound(Entity::MetricPoint))?;
        if let Some(v) = ch.value {
            p.value = v;
        }
        if let Some(v) = ch.created_at {
            p.created_at = v;
        }
        p.updated_at = now();
        Ok(p.clone())
    }

    async fn delete_point(&self, metric: MetricId, id: PointId) -> Result<(), StoreError> {
        let mut st = self.lock();
        match st.points.get(&id.get()) {
            Some(p) if p.metric_id == metric => {
                st.points.remove(&id.get());
                Ok(())
            }
            _ => Err(StoreError::NotFound(Entity::MetricPoint)),
        }
    }

    async fn metric_sums(
        &self,
        metric: MetricId,
        w: Window,
    ) -> Result<Vec<BucketSums>, StoreError> {
        let st = self.lock();
        let mut out: BTreeMap<i64, BucketSums> = BTreeMap::new();
        for p in st
            .points
            .values()
            .filter(|p| p.metric_id == metric && p.created_at >= w.from && p.created_at < w.to)
        {
            let bucket =
                (p.created_at.timestamp() + w.offset_secs).div_euclid(w.bucket_secs.max(1));
            let e = out.entry(bucket).or_insert(BucketSums {
                bucket,
                sum_product: 0.0,
                sum_value: 0.0,
                points: 0,
            });
            e.sum_product += p.value * p.counter as f64;
            e.sum_value += p.value;
            e.points += 1;
        }
        Ok(out.into_values().collect())
    }

    async fn list_subscribers(
        &self,
        q: &ListQuery<SubscriberSort, ()>,
    ) -> Result<Page<StoredSubscriber>, StoreError> {
        let rows: Vec<StoredSubscriber> = self.lock().subscribers.values().cloned().collect();
        Ok(sort_page(rows, q, false, |a, b, k| {
            let o = match k {
                None | Some(SubscriberSort::Id) => std::cmp::Ordering::Equal,
                Some(SubscriberSort::CreatedAt) => a.created_at.cmp(&b.created_at),
            };
            o.then(a.id.cmp(&b.id))
        }))
    }

    async fn get_subscriber(&self, id: SubscriberId) -> Result<StoredSubscriber, StoreError> {
        self.lock()
            .subscribers
            .get(&id.get())
            .cloned()
            .ok_or(StoreError::NotFound(Entity::Subscriber))
    }

    async fn find_subscriber(&self, lookup: &str) -> Result<StoredSubscriber, StoreError> {
        self.lock()
            .subscribers
            .values()
            .find(|s| s.email.lookup == lookup)
            .cloned()
            .ok_or(StoreError::NotFound(Entity::Subscriber))
    }

    async fn unsealed_subscriber_emails(&self) -> Result<Vec<(SubscriberId, String)>, StoreError> {
        // Memory holds nothing from before sealing.
        Ok(Vec::new())
    }

    async fn seal_subscriber_email(
        &self,
        id: SubscriberId,
        email: SealedEmail,
    ) -> Result<(), StoreError> {
        let mut st = self.lock();
        if st
            .subscribers
            .values()
            .any(|s| s.id != id && s.email.lookup == email.lookup)
        {
            return Err(StoreError::Conflict("email is taken".into()));
        }
        let s = st
            .subscribers
            .get_mut(&id.get())
            .ok_or(StoreError::NotFound(Entity::Subscriber))?;
        s.email = email;
        Ok(())
    }

    async fn create_subscriber(
        &self,
        new: NewSubscriber,
    ) -> Result<(StoredSubscriber, bool), StoreError> {
        let mut st = self.lock();
        let notice = new.notice.clone();
        if let Some(s) = st
            .subscribers
            .values()
            .find(|s| s.email.lookup == new.email.lookup)
        {
            return Ok((s.clone(), false));
        }
        let id = st.id();
        let now = now();
        let subscriptions = st.subscriptions_for(SubscriberId(id), new.subscribe_to, now);
        let s = Subscriber {
            id: SubscriberId(id),
            email: new.email,
            verify_code_hash: new.verify_code_hash,
            phone_number: None,
            slack_webhook_url: None,
            verified_at: new.verified_at,
            global: new.global,
            subscriptions,
            created_at: now,
            updated_at: now,
        };
        st.subscribers.insert(id, s.clone());
        st.enqueue(notice, Some(id), Some(SubscriberId(id)), now);
        Ok((s, true))
    }

    async fn delete_subscriber(
        &self,
        id: SubscriberId,
        notice: Option<Notice>,
    ) -> Result<(), StoreError> {
        let mut st = self.lock();
        st.subscribers
            .remove(&id.get())
            .ok_or(StoreError::NotFound(Entity::Subscriber))?;
        st.enqueue(notice, Some(id.get()), None, now());
        Ok(())
    }

    async fn delete_subscription(&self, id: SubscriptionId) -> Result<(), StoreError> {
        let mut st = self.lock();
        for s in st.subscribers.values_mut() {
            if let Some(pos) = s.subscriptions.iter().position(|x| x.id == id) {
                s.subscriptions.remove(pos);
                return Ok(());
            }
        }
        Err(StoreError::NotFound(Entity::Subscription))
    }

    async fn verify_subscriber(
        &self,
        id: SubscriberId,
        at: DateTime<Utc>,
        notice: Option<Notice>,
    ) -> Result<bool, StoreError> {
        let mut st = self.lock();
        let s = st
            .subscribers
            .get_mut(&id.get())
            .ok_or(StoreError::NotFound(Entity::Subscriber))?;
        if s.verified_at.is_some() {
            return Ok(false);
        }
        let at = DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at);
        s.verified_at = Some(at);
        s.updated_at = at;
        st.enqueue(notice, Some(id.get()), None, at);
        Ok(true)
    }

    async fn set_subscriptions(
        &self,
        id: SubscriberId,
        global: bool,
        to: SubscribeTo,
    ) -> Result<StoredSubscriber, StoreError> {
        let mut st = self.lock();
        if !st.subscribers.contains_key(&id.get()) {
            return Err(StoreError::NotFound(Entity::Subscriber));
        }
        let at = now();
        let subscriptions = st.subscriptions_for(id, to, at);
        let s = st
            .subscribers
            .get_mut(&id.get())
            .ok_or(StoreError::NotFound(Entity::Subscriber))?;
        s.global = global;
        s.subscriptions = subscriptions;
        s.updated_at = at;
        Ok(s.clone())
    }

    async fn queue_notice(&self, notice: Notice) -> Result<(), StoreError> {
        let mut st = self.lock();
        let entity = match notice.audience {
            crate::notify::Audience::Subscriber(id) => Some(id.get()),
            _ => None,
        };
        st.enqueue(Some(notice), entity, None, now());
        Ok(())
    }

    async fn bootstrap_admin(
        &self,
        user: NewUser,
        token: NewApiToken,
    ) -> Result<Option<(User, ApiToken)>, StoreError> {
        let mut st = self.lock();
        if st.users.values().any(|u| u.role == Role::Admin) {
            return Ok(None);
        }
        if st
            .users
            .values()
            .any(|u| u.username == user.username || u.email == user.email)
        {
            return Err(StoreError::Conflict("username or email is taken".into()));
        }
        let uid = st.id();
        let tid = st.id();
        let now = now();
        let u = User {
            id: UserId(uid),
            username: user.username,
            email: user.email,
            password_hash: user.password_hash,
            role: user.role,
            active: true,
            totp: Default::default(),
            created_at: now,
            updated_at: now,
        };
        let t = ApiToken {
            id: TokenId(tid),
            user_id: u.id,
            name: token.name,
            prefix: token.prefix,
            hash: token.hash,
            abilities: token.abilities,
            expires_at: token.expires_at,
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        };
        st.users.insert(uid, u.clone());
        st.tokens.insert(tid, t.clone());
        Ok(Some((u, t)))
    }

    async fn create_user(&self, new: NewUser) -> Result<User, StoreError> {
        let mut st = self.lock();
        if st
            .users
            .values()
            .any(|u| u.username == new.username || u.email == new.email)
        {
            return Err(StoreError::Conflict("username or email is taken".into()));
        }
        let id = st.id();
        let now = now();
        let u = User {
            id: UserId(id),
            username: new.username,
            email: new.email,
            password_hash: new.password_hash,
            role: new.role,
            active: true,
            totp: Default::default(),
            created_at: now,
            updated_at: now,
        };
        st.users.insert(id, u.clone());
        Ok(u)
    }

    async fn get_user(&self, id: UserId) -> Result<User, StoreError> {
        self.lock()
            .users
            .get(&id.get())
            .cloned()
            .ok_or(StoreError::NotFound(Entity::User))
    }

    async fn find_user(&self, login: &str) -> Result<User, StoreError> {
        self.lock()
            .users
            .values()
            .find(|u| u.username == login || u.email.as_str() == login)
            .cloned()
            .ok_or(StoreError::NotFound(Entity::User))
    }

    async fn list_users(&self, q: &ListQuery<UserSort, ()>) -> Result<Page<User>, StoreError> {
        let rows: Vec<User> = self.lock().users.values().cloned().collect();
        Ok(sort_page(rows, q, false, |a, b, k| {
            let o = match k {
                None | Some(UserSort::Id) => std::cmp::Ordering::Equal,
                Some(UserSort::Username) => a.username.cmp(&b.username),
            };
            o.then(a.id.cmp(&b.id))
        }))
    }

    async fn update_user(&self, id: UserId, ch: UserChanges) -> Result<User, StoreError> {
        let mut st = self.lock();
        if !st.users.contains_key(&id.get()) {
            return Err(StoreError::NotFound(Entity::User));
        }
        if let Some(e) = &ch.email {
            if st.users.values().any(|u| &u.email == e && u.id != id) {
                return Err(StoreError::Conflict("email is taken".into()));
            }
        }
        let u = st
            .users
            .get_mut(&id.get())
            .ok_or(StoreError::NotFound(Entity::User))?;
        if let Some(v) = ch.email {
            u.email = v;
        }
        if let Some(v) = ch.password_hash {
            u.password_hash = v;
        }
        if let Some(v) = ch.role {
            u.role = v;
        }
        if let Some(v) = ch.active {
            u.active = v;
        }
        u.updated_at = now();
        Ok(u.clone())
    }

    async fn create_token(&self, new: NewApiToken) -> Result<ApiToken, StoreError> {
        let mut st = self.lock();
        if !st.users.contains_key(&new.user_id.get()) {
            return Err(StoreError::NotFound(Entity::User));
        }
        if st.tokens.values().any(|t| t.hash == new.hash) {
            return Err(StoreError::Conflict("token exists".into()));
        }
        let id = st.id();
        let t = ApiToken {
            id: TokenId(id),
            user_id: new.user_id,
            name: new.name,
            prefix: new.prefix,
            hash: new.hash,
            abilities: new.abilities,
            expires_at: new.expires_at,
            created_at: now(),
            last_used_at: None,
            revoked_at: None,
        };
        st.tokens.insert(id, t.clone());
        Ok(t)
    }

    async fn find_token(&self, hash: &TokenHash) -> Result<(ApiToken, User), StoreError> {
        let st = self.lock();
        let t = st
            .tokens
            .values()
            .find(|t| &t.hash == hash)
            .cloned()
            .ok_or(StoreError::NotFound(Entity::Token))?;
        let u = st
            .users
            .get(&t.user_id.get())
            .cloned()
            .ok_or(StoreError::NotFound(Entity::User))?;
        Ok((t, u))
    }

    async fn list_tokens(&self, user: Option<UserId>) -> Result<Vec<ApiToken>, StoreError> {
        Ok(self
            .lock()
            .tokens
            .values()
            .filter(|t| user.is_none_or(|u| t.user_id == u))
            .cloned()
            .collect())
    }

    async fn revoke_token(&self, id: TokenId) -> Result<ApiToken, StoreError> {
        let mut st = self.lock();
        let t = st
            .tokens
            .get_mut(&id.get())
            .ok_or(StoreError::NotFound(Entity::Token))?;
        if t.revoked_at.is_none() {
            t.revoked_at = Some(now());
        }
        Ok(t.clone())
    }

    async fn touch_token(&self, id: TokenId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let mut st = self.lock();
        let t = st
            .tokens
            .get_mut(&id.get())
            .ok_or(StoreError::NotFound(Entity::Token))?;
        t.last_used_at = Some(at);
        Ok(())
    }

    async fn create_session(&self, new: NewSession) -> Result<Session, StoreError> {
        self.lock().insert_session(new)
    }

    async fn get_session(&self, hash: &TokenHash) -> Result<Session, StoreError> {
        self.lock()
            .sessions
            .get(&hash.to_hex())
            .cloned()
            .ok_or(StoreError::NotFound(Entity::Session))
    }

    async fn touch_session(&self, hash: &TokenHash, at: DateTime<Utc>) -> Result<(), StoreError> {
        if let Some(s) = self.lock().sessions.get_mut(&hash.to_hex()) {
            s.last_seen_at = s.last_seen_at.max(at);
        }
        Ok(())
    }

    async fn replace_session(
        &self,
        old: &TokenHash,
        new: NewSession,
    ) -> Result<Option<Session>, StoreError> {
        let mut st = self.lock();
        let Some(previous) = st.sessions.remove(&old.to_hex()) else {
            return Ok(None);
        };
        match st.insert_session(new) {
            Ok(s) => Ok(Some(s)),
            Err(e) => {
                st.sessions.insert(old.to_hex(), previous);
                Err(e)
            }
        }
    }

    async fn delete_session(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        Ok(self.lock().sessions.remove(&hash.to_hex()).is_some())
    }

    async fn delete_user_sessions(
        &self,
        user: UserId,
        keep: Option<&TokenHash>,
    ) -> Result<u64, StoreError> {
        let mut st = self.lock();
        let before = st.sessions.len();
        st.sessions
            .retain(|_, s| s.user_id != user || keep.is_some_and(|k| *k == s.hash));
        Ok(u64::try_from(before - st.sessions.len()).unwrap_or(u64::MAX))
    }

    async fn purge_sessions(
        &self,
        created_before: DateTime<Utc>,
        seen_before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut st = self.lock();
        let before = st.sessions.len();
        st.sessions
            .retain(|_, s| s.created_at >= created_before && s.last_seen_at >= seen_before);
        Ok(u64::try_from(before - st.sessions.len()).unwrap_or(u64::MAX))
    }

    async fn begin_totp(&self, user: UserId, sealed_secret: String) -> Result<User, StoreError> {
        let mut st = self.lock();
        let u = st
            .users
            .get_mut(&user.get())
            .ok_or(StoreError::NotFound(Entity::User))?;
        if u.totp.enabled_at.is_some() {
            return Err(StoreError::Conflict(
                "two-factor authentication is already on".into(),
            ));
        }
        u.totp = crate::model::TotpState {
            sealed_secret: Some(sealed_secret),
            enabled_at: None,
            last_step: None,
        };
        u.updated_at = now();
        Ok(u.clone())
    }

    async fn enable_totp(
        &self,
        user: UserId,
        sealed_secret: String,
        step: i64,
        recovery: Vec<TokenHash>,
    ) -> Result<User, StoreError> {
        let mut st = self.lock();
        let u = st
            .users
            .get_mut(&user.get())
            .ok_or(StoreError::NotFound(Entity::User))?;
        if u.totp.enabled_at.is_some() || u.totp.sealed_secret.as_ref() != Some(&sealed_secret) {
            return Err(StoreError::Conflict(
                "two-factor enrollment changed meanwhile".into(),
            ));
        }
        let at = now();
        u.totp.enabled_at = Some(at);
        u.totp.last_step = Some(step);
        u.updated_at = at;
        let out = u.clone();
        st.recovery.retain(|(uid, _), _| *uid != user.get());
        for h in recovery {
            st.recovery.insert((user.get(), h.to_hex()), None);
        }
        Ok(out)
    }

    async fn disable_totp(&self, user: UserId) -> Result<User, StoreError> {
        let mut st = self.lock();
        let u = st
            .users
            .get_mut(&user.get())
            .ok_or(StoreError::NotFound(Entity::User))?;
        u.totp = Default::default();
        u.updated_at = now();
        let out = u.clone();
        st.recovery.retain(|(uid, _), _| *uid != user.get());
        Ok(out)
    }

    async fn claim_totp_step(&self, user: UserId, step: i64) -> Result<bool, StoreError> {
        let mut st = self.lock();
        let u = st
            .users
            .get_mut(&user.get())
            .ok_or(StoreError::NotFound(Entity::User))?;
        if u.totp.enabled_at.is_none() || u.totp.last_step.is_some_and(|last| step <= last) {
            return Ok(false);
        }
        u.totp.last_step = Some(step);
        Ok(true)
    }

    async fn use_recovery_code(
        &self,
        user: UserId,
        code: &TokenHash,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut st = self.lock();
        match st.recovery.get_mut(&(user.get(), code.to_hex())) {
            Some(used @ None) => {
                *used = Some(at);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn recovery_codes_left(&self, user: UserId) -> Result<u32, StoreError> {
        let st = self.lock();
        let left = st
            .recovery
            .iter()
            .filter(|((uid, _), used)| *uid == user.get() && used.is_none())
            .count();
        Ok(u32::try_from(left).unwrap_or(u32::MAX))
    }

    async fn load_settings(&self) -> Result<Vec<(String, String)>, StoreError> {
        Ok(self
            .lock()
            .settings
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    async fn save_settings(&self, pairs: Vec<(String, String)>) -> Result<(), StoreError> {
        let mut st = self.lock();
        for (k, v) in pairs {
            st.settings.insert(k, v);
        }
        Ok(())
    }

    async fn claim_setting(&self, key: String, value: String) -> Result<String, StoreError> {
        Ok(self.lock().settings.entry(key).or_insert(value).clone())
    }

    async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry, StoreError> {
        let mut st = self.lock();
        let id = st.id();
        let e = AuditEntry {
            id: AuditId(id),
            at: now(),
            user_id: entry.user_id,
            kind: entry.kind,
            detail: entry.detail,
        };
        st.audit.insert(id, e.clone());
        Ok(e)
    }

    async fn list_audit(
        &self,
        q: &ListQuery<AuditSort, AuditFilter>,
    ) -> Result<Page<AuditEntry>, StoreError> {
        let f = &q.filter;
        let rows: Vec<AuditEntry> = self
            .lock()
            .audit
            .values()
            .filter(|e| f.kind.as_ref().is_none_or(|k| &e.kind == k))
            .filter(|e| f.since.is_none_or(|s| e.at >= s))
            .filter(|e| f.until.is_none_or(|u| e.at < u))
            .cloned()
            .collect();
        Ok(sort_page(rows, q, true, |a, b, k| {
            let o = match k {
                None | Some(AuditSort::Id) => std::cmp::Ordering::Equal,
                Some(AuditSort::At) => a.at.cmp(&b.at),
            };
            o.then(a.id.cmp(&b.id))
        }))
    }

    async fn claim_deliveries(&self, claim: &Claim) -> Result<Vec<Delivery>, StoreError> {
        let mut st = self.lock();
        let mut due: Vec<(DateTime<Utc>, i64)> = st
            .deliveries
            .iter()
            .filter(|(_, (d, lease))| {
                d.state == DeliveryState::Pending
                    && d.target.channel() == claim.channel
                    && d.next_attempt_at <= claim.now
                    && lease.as_ref().is_none_or(|(_, until)| *until <= claim.now)
            })
            .map(|(id, (d, _))| (d.next_attempt_at, *id))
            .collect();
        due.sort();
        let mut out = Vec::new();
        for (_, id) in due.into_iter().take(claim.limit as usize) {
            if let Some((d, lease)) = st.deliveries.get_mut(&id) {
                d.attempts += 1;
                *lease = Some((claim.token.clone(), claim.lease_until));
                out.push(d.clone());
            }
        }
        Ok(out)
    }

    async fn finish_delivery(
        &self,
        id: DeliveryId,
        token: &str,
        outcome: Outcome,
    ) -> Result<bool, StoreError> {
        let mut st = self.lock();
        let Some((d, lease)) = st.deliveries.get_mut(&id.get()) else {
            return Ok(false);
        };
        if d.state != DeliveryState::Pending || lease.as_ref().is_none_or(|(t, _)| t != token) {
            return Ok(false);
        }
        d.state = outcome.state();
        d.last_error = outcome.error();
        d.delivered_at = outcome.delivered_at();
        if let Some(at) = outcome.retry_at() {
            d.next_attempt_at = at;
        }
        *lease = None;
        Ok(true)
    }

    async fn list_deliveries(
        &self,
        q: &ListQuery<DeliverySort, DeliveryFilter>,
    ) -> Result<Page<Delivery>, StoreError> {
        let rows: Vec<Delivery> = self
            .lock()
            .deliveries
            .values()
            .map(|(d, _)| d)
            .filter(|d| q.filter.state.is_none_or(|s| d.state == s))
            .filter(|d| q.filter.notice.is_none_or(|n| d.notice.id == n))
            .cloned()
            .collect();
        Ok(sort_page(rows, q, true, |a, b, key| match key {
            Some(DeliverySort::NextAttemptAt) => a.next_attempt_at.cmp(&b.next_attempt_at),
            _ => a.id.cmp(&b.id),
        }))
    }

    async fn create_webhook(&self, new: NewWebhook) -> Result<Webhook, StoreError> {
        let mut st = self.lock();
        let now = now();
        let w = Webhook {
            id: WebhookId(st.id()),
            url: new.url,
            events: new.events,
            enabled: new.enabled,
            secret_sealed: new.secret_sealed,
            created_at: now,
            updated_at: now,
        };
        st.webhooks.insert(w.id.get(), w.clone());
        Ok(w)
    }

    async fn list_webhooks(&self) -> Result<Vec<Webhook>, StoreError> {
        Ok(self.lock().webhooks.values().cloned().collect())
    }

    async fn get_webhook(&self, id: WebhookId) -> Result<Webhook, StoreError> {
        self.lock()
            .webhooks
            .get(&id.get())
            .cloned()
            .ok_or(StoreError::NotFound(Entity::Webhook))
    }

    async fn update_webhook(
        &self,
        id: WebhookId,
        patch: WebhookPatch,
    ) -> Result<Webhook, StoreError> {
        let mut st = self.lock();
        let w = st
            .webhooks
            .get_mut(&id.get())
            .ok_or(StoreError::NotFound(Entity::Webhook))?;
        if let Some(url) = patch.url {
            w.url = url;
        }
        if let Some(events) = patch.events {
            w.events = events;
        }
        if let Some(enabled) = patch.enabled {
            w.enabled = enabled;
        }
        if let Some(secret) = patch.secret_sealed {
            w.secret_sealed = secret;
        }
        w.updated_at = now();
        Ok(w.clone())
    }

    async fn delete_webhook(&self, id: WebhookId) -> Result<(), StoreError> {
        self.lock()
            .webhooks
            .remove(&id.get())
            .map(|_| ())
            .ok_or(StoreError::NotFound(Entity::Webhook))
    }

    async fn overview(&self, since: DateTime<Utc>) -> Result<Overview, StoreError> {
        let st = self.lock();
        let mut components: Vec<Component> = st
            .components
            .values()
            .filter(|(_, d)| d.is_none())
            .map(|(c, _)| c.clone())
            .collect();
        components.sort_by(|a, b| a.order.cmp(&b.order).then(a.id.cmp(&b.id)));
        let mut groups: Vec<ComponentGroup> = st.groups.values().cloned().collect();
        groups.sort_by(|a, b| a.order.cmp(&b.order).then(a.id.cmp(&b.id)));
        let mut incidents: Vec<Incident> = st
            .incidents
            .values()
            .filter(|(_, d)| d.is_none())
            .map(|(i, _)| st.with_updates(i.clone()))
            .filter(|i| !crate::rollup::is_resolved(i) || i.stickied || i.occurred_at >= since)
            .collect();
        incidents.sort_by(|a, b| b.occurred_at.cmp(&a.occurred_at).then(b.id.cmp(&a.id)));
        let mut schedules: Vec<Schedule> = st
            .schedules
            .values()
            .filter(|(_, d)| d.is_none())
            .map(|(s, _)| s)
            .filter(|s| {
                s.status != ScheduleStatus::Complete
                    || s.scheduled_at >= since
                    || s.completed_at.is_some_and(|c| c >= since)
            })
            .cloned()
            .collect();
        schedules.sort_by(|a, b| a.scheduled_at.cmp(&b.scheduled_at).then(a.id.cmp(&b.id)));
        Ok(Overview {
            components,
            groups,
            incidents,
            schedules,
        })
    }
}
