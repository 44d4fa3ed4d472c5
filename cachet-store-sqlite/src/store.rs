//! The `Store` implementation: each method is one transaction on the blocking pool.

use async_trait::async_trait;
use cachet_core::chart::Window;
use cachet_core::enums::StatusSource;
use cachet_core::ids::*;
use cachet_core::model::*;
use cachet_core::secret::TokenHash;
use cachet_core::store::*;
use cachet_core::StoreError;
use chrono::{DateTime, Utc};

use crate::error::conflict_means;
use crate::{
    components, history, incidents, metrics, misc, outbox, schedules, sessions, subscribers, users,
    webhooks, SqliteStore,
};

#[async_trait]
impl Store for SqliteStore {
    // ---- components

    async fn list_components(
        &self,
        q: &ListQuery<ComponentSort, ComponentFilter>,
    ) -> Result<Page<Component>, StoreError> {
        let q = q.clone();
        self.read(move |tx| components::list(tx, &q)).await
    }

    async fn get_component(&self, id: ComponentId) -> Result<Component, StoreError> {
        self.read(move |tx| components::get(tx, id)).await
    }

    async fn create_component(&self, new: NewComponent) -> Result<Component, StoreError> {
        self.write(move |tx| components::create(tx, new)).await
    }

    async fn update_component(
        &self,
        id: ComponentId,
        changes: ComponentChanges,
        source: StatusSource,
    ) -> Result<Component, StoreError> {
        self.write(move |tx| components::update(tx, id, changes, source))
            .await
    }

    async fn delete_component(&self, id: ComponentId) -> Result<(), StoreError> {
        self.write(move |tx| components::delete(tx, id)).await
    }

    // ---- status history and maintenance

    async fn status_changes(
        &self,
        component: ComponentId,
        page: u32,
        per_page: u32,
    ) -> Result<Page<StatusChange>, StoreError> {
        self.read(move |tx| history::list(tx, component, page, per_page))
            .await
    }

    async fn reconcile_maintenance(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<StatusChange>, StoreError> {
        self.write(move |tx| history::reconcile(tx, now)).await
    }

    async fn unannounced_schedules(&self) -> Result<Vec<ScheduleId>, StoreError> {
        self.read(|tx| {
            let ids = tx
                .prepare_cached(
                    "SELECT id FROM schedules WHERE announced <> 2 AND deleted_at IS NULL ORDER BY id",
                )?
                .query_map([], |r| r.get(0).map(ScheduleId))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(ids)
        })
        .await
    }

    async fn announce_schedule(
        &self,
        id: ScheduleId,
        from: cachet_core::maintenance::Announced,
        to: cachet_core::maintenance::Announced,
        notice: Option<cachet_core::notify::Notice>,
    ) -> Result<bool, StoreError> {
        self.write(move |tx| {
            let moved = tx
                .prepare_cached(
                    "UPDATE schedules SET announced = ?3 \
                     WHERE id = ?1 AND announced = ?2 AND deleted_at IS NULL",
                )?
                .execute([id.get(), from.as_i64(), to.as_i64()])?
                == 1;
            if moved {
                outbox::enqueue(tx, notice, Some(id.get()), None, now())?;
            }
            Ok(moved)
        })
        .await
    }

    // ---- groups

    async fn list_groups(
        &self,
        q: &ListQuery<GroupSort, GroupFilter>,
    ) -> Result<Page<ComponentGroup>, StoreError> {
        let q = q.clone();
        self.read(move |tx| components::list_groups(tx, &q)).await
    }

    async fn get_group(&self, id: GroupId) -> Result<ComponentGroup, StoreError> {
        self.read(move |tx| components::get_group(tx, id)).await
    }

    async fn create_group(&self, new: NewGroup) -> Result<ComponentGroup, StoreError> {
        self.write(move |tx| components::create_group(tx, new))
            .await
    }

    async fn update_group(
        &self,
        id: GroupId,
        changes: GroupChanges,
    ) -> Result<ComponentGroup, StoreError> {
        self.write(move |tx| components::update_group(tx, id, changes))
            .await
    }

    async fn delete_group(&self, id: GroupId) -> Result<(), StoreError> {
        self.write(move |tx| components::delete_group(tx, id)).await
    }

    // ---- incidents

    async fn list_incidents(
        &self,
        q: &ListQuery<IncidentSort, IncidentFilter>,
    ) -> Result<Page<Incident>, StoreError> {
        let q = q.clone();
        self.read(move |tx| incidents::list(tx, &q)).await
    }

    async fn get_incident(&self, id: IncidentId) -> Result<Incident, StoreError> {
        self.read(move |tx| incidents::get(tx, id)).await
    }

    async fn create_incident(&self, new: NewIncident) -> Result<Incident, StoreError> {
        self.write(move |tx| incidents::create(tx, new)).await
    }

    async fn update_incident(
        &self,
        id: IncidentId,
        changes: IncidentChanges,
    ) -> Result<Incident, StoreError> {
        self.write(move |tx| incidents::update(tx, id, changes))
            .await
    }

    async fn delete_incident(&self, id: IncidentId) -> Result<(), StoreError> {
        self.write(move |tx| incidents::delete(tx, id)).await
    }

    // ---- incident updates

    async fn list_updates(
        &self,
        incident: IncidentId,
        q: &ListQuery<UpdateSort, ()>,
    ) -> Result<Page<IncidentUpdate>, StoreError> {
        let q = q.clone();
        self.read(move |tx| incidents::list_updates(tx, incident, &q))
            .await
    }

    async fn get_update(
        &self,
        incident: IncidentId,
        id: UpdateId,
    ) -> Result<IncidentUpdate, StoreError> {
        self.read(move |tx| incidents::get_update(tx, incident, id))
            .await
    }

    async fn create_update(
        &self,
        incident: IncidentId,
        new: NewIncidentUpdate,
    ) -> Result<IncidentUpdate, StoreError> {
        self.write(move |tx| incidents::create_update(tx, incident, new))
            .await
    }

    async fn update_update(
        &self,
        incident: IncidentId,
        id: UpdateId,
        changes: IncidentUpdateChanges,
    ) -> Result<IncidentUpdate, StoreError> {
        self.write(move |tx| incidents::update_update(tx, incident, id, changes))
            .await
    }

    async fn delete_update(&self, incident: IncidentId, id: UpdateId) -> Result<(), StoreError> {
        self.write(move |tx| incidents::delete_update(tx, incident, id))
            .await
    }

    // ---- templates

    async fn list_templates(
        &self,
        q: &ListQuery<TemplateSort, ()>,
    ) -> Result<Page<IncidentTemplate>, StoreError> {
        let q = q.clone();
        self.read(move |tx| misc::list_templates(tx, &q)).await
    }

    async fn get_template(&self, id: TemplateId) -> Result<IncidentTemplate, StoreError> {
        self.read(move |tx| misc::get_template(tx, id)).await
    }

    async fn get_template_by_slug(&self, slug: &str) -> Result<IncidentTemplate, StoreError> {
        let slug = slug.to_owned();
        self.read(move |tx| misc::get_template_by_slug(tx, &slug))
            .await
    }

    async fn create_template(&self, new: NewTemplate) -> Result<IncidentTemplate, StoreError> {
        self.write(move |tx| misc::create_template(tx, new))
            .await
            .map_err(conflict_means("template slug is taken"))
    }

    async fn update_template(
        &self,
        id: TemplateId,
        changes: TemplateChanges,
    ) -> Result<IncidentTemplate, StoreError> {
        self.write(move |tx| misc::update_template(tx, id, changes))
            .await
            .map_err(conflict_means("template slug is taken"))
    }

    async fn delete_template(&self, id: TemplateId) -> Result<(), StoreError> {
        self.write(move |tx| misc::delete_template(tx, id)).await
    }

    // ---- schedules

    async fn list_schedules(
        &self,
        q: &ListQuery<ScheduleSort, ()>,
    ) -> Result<Page<Schedule>, StoreError> {
        let q = q.clone();
        self.read(move |tx| schedules::list(tx, &q)).await
    }

    async fn get_schedule(&self, id: ScheduleId) -> Result<Schedule, StoreError> {
        self.read(move |tx| schedules::get(tx, id)).await
    }

    async fn create_schedule(&self, new: NewSchedule) -> Result<Schedule, StoreError> {
        self.write(move |tx| schedules::create(tx, new)).await
    }

    async fn update_schedule(
        &self,
        id: ScheduleId,
        changes: ScheduleChanges,
    ) -> Result<Schedule, StoreError> {
        self.write(move |tx| schedules::update(tx, id, changes))
            .await
    }

    async fn delete_schedule(&self, id: ScheduleId) -> Result<(), StoreError> {
        self.write(move |tx| schedules::delete(tx, id)).await
    }

    // ---- metrics

    async fn list_metrics(
        &self,
        q: &ListQuery<MetricSort, MetricFilter>,
    ) -> Result<Page<Metric>, StoreError> {
        let q = q.clone();
        self.read(move |tx| metrics::list(tx, &q)).await
    }

    async fn get_metric(&self, id: MetricId) -> Result<Metric, StoreError> {
        self.read(move |tx| metrics::get(tx, id)).await
    }

    async fn create_metric(&self, new: NewMetric) -> Result<Metric, StoreError> {
        self.write(move |tx| metrics::create(tx, new)).await
    }

    async fn update_metric(
        &self,
        id: MetricId,
        changes: MetricChanges,
    ) -> Result<Metric, StoreError> {
        self.write(move |tx| metrics::update(tx, id, changes)).await
    }

    async fn delete_metric(&self, id: MetricId) -> Result<(), StoreError> {
        self.write(move |tx| metrics::delete(tx, id)).await
    }

    async fn list_points(
        &self,
        metric: MetricId,
        q: &ListQuery<PointSort, ()>,
    ) -> Result<Page<MetricPoint>, StoreError> {
        let q = q.clone();
        self.read(move |tx| metrics::list_points(tx, metric, &q))
            .await
    }

    async fn get_point(&self, metric: MetricId, id: PointId) -> Result<MetricPoint, StoreError> {
        self.read(move |tx| metrics::get_point(tx, metric, id))
            .await
    }

    async fn record_point(
        &self,
        metric: MetricId,
        new: NewPoint,
    ) -> Result<MetricPoint, StoreError> {
        self.write(move |tx| metrics::record_point(tx, metric, new))
            .await
    }

    async fn update_point(
        &self,
        metric: MetricId,
        id: PointId,
        changes: PointChanges,
    ) -> Result<MetricPoint, StoreError> {
        self.write(move |tx| metrics::update_point(tx, metric, id, changes))
            .await
    }

    async fn delete_point(&self, metric: MetricId, id: PointId) -> Result<(), StoreError> {
        self.write(move |tx| metrics::delete_point(tx, metric, id))
            .await
    }

    async fn metric_sums(
        &self,
        metric: MetricId,
        window: Window,
    ) -> Result<Vec<BucketSums>, StoreError> {
        self.read(move |tx| metrics::sums(tx, metric, window)).await
    }

    // ---- subscribers

    async fn list_subscribers(
        &self,
        q: &ListQuery<SubscriberSort, ()>,
    ) -> Result<Page<StoredSubscriber>, StoreError> {
        let q = q.clone();
        self.read(move |tx| subscribers::list(tx, &q)).await
    }

    async fn get_subscriber(&self, id: SubscriberId) -> Result<StoredSubscriber, StoreError> {
        self.read(move |tx| subscribers::get(tx, id)).await
    }

    async fn find_subscriber(&self, lookup: &str) -> Result<StoredSubscriber, StoreError> {
        let lookup = lookup.to_owned();
        self.read(move |tx| match subscribers::find(tx, &lookup)? {
            Some(s) => Ok(s),
            None => crate::error::not_found(cachet_core::error::Entity::Subscriber),
        })
        .await
    }

    async fn create_subscriber(
        &self,
        new: NewSubscriber,
    ) -> Result<(StoredSubscriber, bool), StoreError> {
        self.write(move |tx| subscribers::create(tx, new)).await
    }

    async fn unsealed_subscriber_emails(&self) -> Result<Vec<(SubscriberId, String)>, StoreError> {
        self.read(|tx| subscribers::unsealed(tx)).await
    }

    async fn seal_subscriber_email(
        &self,
        id: SubscriberId,
        email: SealedEmail,
    ) -> Result<(), StoreError> {
        self.write(move |tx| subscribers::seal(tx, id, email)).await
    }

    async fn delete_subscriber(
        &self,
        id: SubscriberId,
        notice: Option<cachet_core::notify::Notice>,
    ) -> Result<(), StoreError> {
        self.write(move |tx| {
            subscribers::delete(tx, id)?;
            outbox::enqueue(tx, notice, Some(id.get()), None, now())
        })
        .await
    }

    async fn verify_subscriber(
        &self,
        id: SubscriberId,
        at: DateTime<Utc>,
        notice: Option<cachet_core::notify::Notice>,
    ) -> Result<bool, StoreError> {
        self.write(move |tx| {
            let verified = subscribers::verify(tx, id, at)?;
            if verified {
                outbox::enqueue(tx, notice, Some(id.get()), None, at)?;
            }
            Ok(verified)
        })
        .await
    }

    async fn set_subscriptions(
        &self,
        id: SubscriberId,
        global: bool,
        to: SubscribeTo,
    ) -> Result<StoredSubscriber, StoreError> {
        self.write(move |tx| subscribers::set_subscriptions(tx, id, global, to))
            .await
    }

    async fn queue_notice(&self, notice: cachet_core::notify::Notice) -> Result<(), StoreError> {
        let entity = match notice.audience {
            cachet_core::notify::Audience::Subscriber(id) => Some(id.get()),
            _ => None,
        };
        self.write(move |tx| outbox::enqueue(tx, Some(notice), entity, None, now()))
            .await
    }

    async fn delete_subscription(&self, id: SubscriptionId) -> Result<(), StoreError> {
        self.write(move |tx| subscribers::delete_subscription(tx, id))
            .await
    }

    // ---- users and tokens

    async fn bootstrap_admin(
        &self,
        user: NewUser,
        token: NewApiToken,
    ) -> Result<Option<(User, ApiToken)>, StoreError> {
        self.write(move |tx| users::bootstrap_admin(tx, user, token))
            .await
    }

    async fn create_user(&self, new: NewUser) -> Result<User, StoreError> {
        self.write(move |tx| users::create(tx, new)).await
    }

    async fn get_user(&self, id: UserId) -> Result<User, StoreError> {
        self.read(move |tx| users::get(tx, id)).await
    }

    async fn find_user(&self, login: &str) -> Result<User, StoreError> {
        let login = login.to_owned();
        self.read(move |tx| users::find(tx, &login)).await
    }

    async fn list_users(&self, q: &ListQuery<UserSort, ()>) -> Result<Page<User>, StoreError> {
        let q = q.clone();
        self.read(move |tx| users::list(tx, &q)).await
    }

    async fn update_user(&self, id: UserId, changes: UserChanges) -> Result<User, StoreError> {
        self.write(move |tx| users::update(tx, id, changes)).await
    }

    async fn create_token(&self, new: NewApiToken) -> Result<ApiToken, StoreError> {
        self.write(move |tx| users::create_token(tx, new))
            .await
            .map_err(conflict_means("token digest is taken"))
    }

    async fn find_token(&self, hash: &TokenHash) -> Result<(ApiToken, User), StoreError> {
        let hash = *hash;
        self.read(move |tx| users::find_token(tx, &hash)).await
    }

    async fn list_tokens(&self, user: Option<UserId>) -> Result<Vec<ApiToken>, StoreError> {
        self.read(move |tx| users::list_tokens(tx, user)).await
    }

    async fn revoke_token(&self, id: TokenId) -> Result<ApiToken, StoreError> {
        self.write(move |tx| users::revoke_token(tx, id)).await
    }

    async fn touch_token(&self, id: TokenId, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.write(move |tx| users::touch_token(tx, id, at)).await
    }

    async fn begin_totp(&self, user: UserId, sealed_secret: String) -> Result<User, StoreError> {
        self.write(move |tx| users::begin_totp(tx, user, sealed_secret))
            .await
    }

    async fn enable_totp(
        &self,
        user: UserId,
        sealed_secret: String,
        step: i64,
        recovery: Vec<TokenHash>,
    ) -> Result<User, StoreError> {
        self.write(move |tx| users::enable_totp(tx, user, sealed_secret, step, recovery))
            .await
    }

    async fn disable_totp(&self, user: UserId) -> Result<User, StoreError> {
        self.write(move |tx| users::disable_totp(tx, user)).await
    }

    async fn claim_totp_step(&self, user: UserId, step: i64) -> Result<bool, StoreError> {
        self.write(move |tx| users::claim_totp_step(tx, user, step))
            .await
    }

    async fn use_recovery_code(
        &self,
        user: UserId,
        code: &TokenHash,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let code = *code;
        self.write(move |tx| users::use_recovery_code(tx, user, &code, at))
            .await
    }

    async fn recovery_codes_left(&self, user: UserId) -> Result<u32, StoreError> {
        self.read(move |tx| users::recovery_codes_left(tx, user))
            .await
    }

    // ---- dashboard sessions

    async fn create_session(&self, new: NewSession) -> Result<Session, StoreError> {
        self.write(move |tx| sessions::create(tx, &new))
            .await
            .map_err(conflict_means("session exists"))
    }

    async fn get_session(&self, hash: &TokenHash) -> Result<Session, StoreError> {
        let hash = *hash;
        self.read(move |tx| sessions::get(tx, &hash)).await
    }

    async fn touch_session(&self, hash: &TokenHash, at: DateTime<Utc>) -> Result<(), StoreError> {
        let hash = *hash;
        self.write(move |tx| sessions::touch(tx, &hash, at)).await
    }

    async fn replace_session(
        &self,
        old: &TokenHash,
        new: NewSession,
    ) -> Result<Option<Session>, StoreError> {
        let old = *old;
        self.write(move |tx| sessions::replace(tx, &old, &new))
            .await
            .map_err(conflict_means("session exists"))
    }

    async fn delete_session(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        let hash = *hash;
        self.write(move |tx| sessions::delete(tx, &hash)).await
    }

    async fn delete_user_sessions(
        &self,
        user: UserId,
        keep: Option<&TokenHash>,
    ) -> Result<u64, StoreError> {
        let keep = keep.copied();
        self.write(move |tx| sessions::delete_for_user(tx, user, keep.as_ref()))
            .await
    }

    async fn purge_sessions(
        &self,
        created_before: DateTime<Utc>,
        seen_before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.write(move |tx| sessions::purge(tx, created_before, seen_before))
            .await
    }

    // ---- settings and audit

    async fn load_settings(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.read(|tx| misc::load_settings(tx)).await
    }

    async fn save_settings(&self, pairs: Vec<(String, String)>) -> Result<(), StoreError> {
        self.write(move |tx| misc::save_settings(tx, pairs)).await
    }

    async fn claim_setting(&self, key: String, value: String) -> Result<String, StoreError> {
        self.write(move |tx| misc::claim_setting(tx, &key, &value))
            .await
    }

    async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry, StoreError> {
        self.write(move |tx| misc::append_audit(tx, entry)).await
    }

    async fn list_audit(
        &self,
        q: &ListQuery<AuditSort, AuditFilter>,
    ) -> Result<Page<AuditEntry>, StoreError> {
        let q = q.clone();
        self.read(move |tx| misc::list_audit(tx, &q)).await
    }

    // ---- status page

    async fn overview(&self, since: DateTime<Utc>) -> Result<Overview, StoreError> {
        self.read(move |tx| misc::overview(tx, since)).await
    }

    // ---- the notification outbox

    async fn claim_deliveries(
        &self,
        claim: &cachet_core::notify::Claim,
    ) -> Result<Vec<cachet_core::notify::Delivery>, StoreError> {
        let claim = claim.clone();
        self.write(move |tx| outbox::claim(tx, &claim)).await
    }

    async fn finish_delivery(
        &self,
        id: DeliveryId,
        token: &str,
        outcome: cachet_core::notify::Outcome,
    ) -> Result<bool, StoreError> {
        let token = token.to_owned();
        self.write(move |tx| outbox::finish(tx, id, &token, outcome))
            .await
    }

    async fn list_deliveries(
        &self,
        q: &ListQuery<DeliverySort, DeliveryFilter>,
    ) -> Result<Page<cachet_core::notify::Delivery>, StoreError> {
        let q = q.clone();
        self.read(move |tx| outbox::list(tx, &q)).await
    }

    async fn create_webhook(
        &self,
        new: cachet_core::webhook::NewWebhook,
    ) -> Result<cachet_core::webhook::Webhook, StoreError> {
        self.write(move |tx| webhooks::create(tx, new, now())).await
    }

    async fn list_webhooks(&self) -> Result<Vec<cachet_core::webhook::Webhook>, StoreError> {
        self.read(|tx| webhooks::list(tx)).await
    }

    async fn get_webhook(
        &self,
        id: WebhookId,
    ) -> Result<cachet_core::webhook::Webhook, StoreError> {
        self.read(move |tx| webhooks::get(tx, id)).await
    }

    async fn update_webhook(
        &self,
        id: WebhookId,
        patch: cachet_core::webhook::WebhookPatch,
    ) -> Result<cachet_core::webhook::Webhook, StoreError> {
        self.write(move |tx| webhooks::update(tx, id, patch, now()))
            .await
    }

    async fn delete_webhook(&self, id: WebhookId) -> Result<(), StoreError> {
        self.write(move |tx| webhooks::delete(tx, id)).await
    }
}
