//! The core's conformance suite, one test per case, each on a fresh file database.

use async_trait::async_trait;
use cachet_core::chart::Window;
use cachet_core::ids::*;
use cachet_core::model::*;
use cachet_core::secret::TokenHash;
use cachet_core::store::*;
use cachet_core::{Store, StoreError};
use cachet_store_sqlite::SqliteStore;
use chrono::{DateTime, Utc};
use tempfile::TempDir;

/// A store on a file in a temporary folder that lives as long as the store: SQLite refuses
/// to write to a database file that was unlinked, so the folder must outlast the store.
struct OnTempFile {
    store: SqliteStore,
    _dir: TempDir,
}

async fn fresh_store() -> OnTempFile {
    let (dir, store) = crate::support::fresh().await;
    OnTempFile { store, _dir: dir }
}

cachet_core::conformance_tests!(fresh_store);

// Plain delegation (generated from the trait; a trait change fails to compile here).
#[async_trait]
impl Store for OnTempFile {
    async fn list_components(
        &self,
        q: &ListQuery<ComponentSort, ComponentFilter>,
    ) -> Result<Page<Component>, StoreError> {
        self.store.list_components(q).await
    }

    async fn get_component(&self, id: ComponentId) -> Result<Component, StoreError> {
        self.store.get_component(id).await
    }

    async fn create_component(&self, new: NewComponent) -> Result<Component, StoreError> {
        self.store.create_component(new).await
    }

    async fn update_component(
        &self,
        id: ComponentId,
        changes: ComponentChanges,
    ) -> Result<Component, StoreError> {
        self.store.update_component(id, changes).await
    }

    async fn delete_component(&self, id: ComponentId) -> Result<(), StoreError> {
        self.store.delete_component(id).await
    }

    async fn list_groups(
        &self,
        q: &ListQuery<GroupSort, GroupFilter>,
    ) -> Result<Page<ComponentGroup>, StoreError> {
        self.store.list_groups(q).await
    }

    async fn get_group(&self, id: GroupId) -> Result<ComponentGroup, StoreError> {
        self.store.get_group(id).await
    }

    async fn create_group(&self, new: NewGroup) -> Result<ComponentGroup, StoreError> {
        self.store.create_group(new).await
    }

    async fn update_group(
        &self,
        id: GroupId,
        changes: GroupChanges,
    ) -> Result<ComponentGroup, StoreError> {
        self.store.update_group(id, changes).await
    }

    async fn delete_group(&self, id: GroupId) -> Result<(), StoreError> {
        self.store.delete_group(id).await
    }

    async fn list_incidents(
        &self,
        q: &ListQuery<IncidentSort, IncidentFilter>,
    ) -> Result<Page<Incident>, StoreError> {
        self.store.list_incidents(q).await
    }

    async fn get_incident(&self, id: IncidentId) -> Result<Incident, StoreError> {
        self.store.get_incident(id).await
    }

    async fn create_incident(&self, new: NewIncident) -> Result<Incident, StoreError> {
        self.store.create_incident(new).await
    }

    async fn update_incident(
        &self,
        id: IncidentId,
        changes: IncidentChanges,
    ) -> Result<Incident, StoreError> {
        self.store.update_incident(id, changes).await
    }

    async fn delete_incident(&self, id: IncidentId) -> Result<(), StoreError> {
        self.store.delete_incident(id).await
    }

    async fn list_updates(
        &self,
        incident: IncidentId,
        q: &ListQuery<UpdateSort, ()>,
    ) -> Result<Page<IncidentUpdate>, StoreError> {
        self.store.list_updates(incident, q).await
    }

    async fn get_update(
        &self,
        incident: IncidentId,
        id: UpdateId,
    ) -> Result<IncidentUpdate, StoreError> {
        self.store.get_update(incident, id).await
    }

    async fn create_update(
        &self,
        incident: IncidentId,
        new: NewIncidentUpdate,
    ) -> Result<IncidentUpdate, StoreError> {
        self.store.create_update(incident, new).await
    }

    async fn update_update(
        &self,
        incident: IncidentId,
        id: UpdateId,
        changes: IncidentUpdateChanges,
    ) -> Result<IncidentUpdate, StoreError> {
        self.store.update_update(incident, id, changes).await
    }

    async fn delete_update(&self, incident: IncidentId, id: UpdateId) -> Result<(), StoreError> {
        self.store.delete_update(incident, id).await
    }

    async fn list_templates(
        &self,
        q: &ListQuery<TemplateSort, ()>,
    ) -> Result<Page<IncidentTemplate>, StoreError> {
        self.store.list_templates(q).await
    }

    async fn get_template(&self, id: TemplateId) -> Result<IncidentTemplate, StoreError> {
        self.store.get_template(id).await
    }

    async fn get_template_by_slug(&self, slug: &str) -> Result<IncidentTemplate, StoreError> {
        self.store.get_template_by_slug(slug).await
    }

    async fn create_template(&self, new: NewTemplate) -> Result<IncidentTemplate, StoreError> {
        self.store.create_template(new).await
    }

    async fn update_template(
        &self,
        id: TemplateId,
        changes: TemplateChanges,
    ) -> Result<IncidentTemplate, StoreError> {
        self.store.update_template(id, changes).await
    }

    async fn delete_template(&self, id: TemplateId) -> Result<(), StoreError> {
        self.store.delete_template(id).await
    }

    async fn list_schedules(
        &self,
        q: &ListQuery<ScheduleSort, ()>,
    ) -> Result<Page<Schedule>, StoreError> {
        self.store.list_schedules(q).await
    }

    async fn get_schedule(&self, id: ScheduleId) -> Result<Schedule, StoreError> {
        self.store.get_schedule(id).await
    }

    async fn create_schedule(&self, new: NewSchedule) -> Result<Schedule, StoreError> {
        self.store.create_schedule(new).await
    }

    async fn update_schedule(
        &self,
        id: ScheduleId,
        changes: ScheduleChanges,
    ) -> Result<Schedule, StoreError> {
        self.store.update_schedule(id, changes).await
    }

    async fn delete_schedule(&self, id: ScheduleId) -> Result<(), StoreError> {
        self.store.delete_schedule(id).await
    }

    async fn list_metrics(
        &self,
        q: &ListQuery<MetricSort, MetricFilter>,
    ) -> Result<Page<Metric>, StoreError> {
        self.store.list_metrics(q).await
    }

    async fn get_metric(&self, id: MetricId) -> Result<Metric, StoreError> {
        self.store.get_metric(id).await
    }

    async fn create_metric(&self, new: NewMetric) -> Result<Metric, StoreError> {
        self.store.create_metric(new).await
    }

    async fn update_metric(
        &self,
        id: MetricId,
        changes: MetricChanges,
    ) -> Result<Metric, StoreError> {
        self.store.update_metric(id, changes).await
    }

    async fn delete_metric(&self, id: MetricId) -> Result<(), StoreError> {
        self.store.delete_metric(id).await
    }

    async fn list_points(
        &self,
        metric: MetricId,
        q: &ListQuery<PointSort, ()>,
    ) -> Result<Page<MetricPoint>, StoreError> {
        self.store.list_points(metric, q).await
    }

    async fn get_point(&self, metric: MetricId, id: PointId) -> Result<MetricPoint, StoreError> {
        self.store.get_point(metric, id).await
    }

    async fn record_point(
        &self,
        metric: MetricId,
        new: NewPoint,
    ) -> Result<MetricPoint, StoreError> {
        self.store.record_point(metric, new).await
    }

    async fn update_point(
        &self,
        metric: MetricId,
        id: PointId,
        changes: PointChanges,
    ) -> Result<MetricPoint, StoreError> {
        self.store.update_point(metric, id, changes).await
    }

    async fn delete_point(&self, metric: MetricId, id: PointId) -> Result<(), StoreError> {
        self.store.delete_point(metric, id).await
    }

    async fn metric_sums(
        &self,
        metric: MetricId,
        window: Window,
    ) -> Result<Vec<BucketSums>, StoreError> {
        self.store.metric_sums(metric, window).await
    }

    async fn list_subscribers(
        &self,
        q: &ListQuery<SubscriberSort, ()>,
    ) -> Result<Page<Subscriber>, StoreError> {
        self.store.list_subscribers(q).await
    }

    async fn get_subscriber(&self, id: SubscriberId) -> Result<Subscriber, StoreError> {
        self.store.get_subscriber(id).await
    }

    async fn create_subscriber(
        &self,
        new: NewSubscriber,
    ) -> Result<(Subscriber, bool), StoreError> {
        self.store.create_subscriber(new).await
    }

    async fn delete_subscriber(&self, id: SubscriberId) -> Result<(), StoreError> {
        self.store.delete_subscriber(id).await
    }

    async fn delete_subscription(&self, id: SubscriptionId) -> Result<(), StoreError> {
        self.store.delete_subscription(id).await
    }

    async fn bootstrap_admin(
        &self,
        user: NewUser,
        token: NewApiToken,
    ) -> Result<Option<(User, ApiToken)>, StoreError> {
        self.store.bootstrap_admin(user, token).await
    }

    async fn create_user(&self, new: NewUser) -> Result<User, StoreError> {
        self.store.create_user(new).await
    }

    async fn get_user(&self, id: UserId) -> Result<User, StoreError> {
        self.store.get_user(id).await
    }

    async fn find_user(&self, login: &str) -> Result<User, StoreError> {
        self.store.find_user(login).await
    }

    async fn list_users(&self, q: &ListQuery<UserSort, ()>) -> Result<Page<User>, StoreError> {
        self.store.list_users(q).await
    }

    async fn update_user(&self, id: UserId, changes: UserChanges) -> Result<User, StoreError> {
        self.store.update_user(id, changes).await
    }

    async fn create_token(&self, new: NewApiToken) -> Result<ApiToken, StoreError> {
        self.store.create_token(new).await
    }

    async fn find_token(&self, hash: &TokenHash) -> Result<(ApiToken, User), StoreError> {
        self.store.find_token(hash).await
    }

    async fn list_tokens(&self, user: Option<UserId>) -> Result<Vec<ApiToken>, StoreError> {
        self.store.list_tokens(user).await
    }

    async fn revoke_token(&self, id: TokenId) -> Result<ApiToken, StoreError> {
        self.store.revoke_token(id).await
    }

    async fn touch_token(&self, id: TokenId, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.store.touch_token(id, at).await
    }

    async fn load_settings(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.store.load_settings().await
    }

    async fn save_settings(&self, pairs: Vec<(String, String)>) -> Result<(), StoreError> {
        self.store.save_settings(pairs).await
    }

    async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry, StoreError> {
        self.store.append_audit(entry).await
    }

    async fn list_audit(
        &self,
        q: &ListQuery<AuditSort, AuditFilter>,
    ) -> Result<Page<AuditEntry>, StoreError> {
        self.store.list_audit(q).await
    }

    async fn overview(&self, since: DateTime<Utc>) -> Result<Overview, StoreError> {
        self.store.overview(since).await
    }
}
