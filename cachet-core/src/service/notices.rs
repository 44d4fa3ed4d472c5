//! The notices the service queues with its writes: which change notifies whom (the rules of
//! [`crate::notify`]), and the outbox as Admins see it.

use super::StatusPage;
use crate::enums::{ComponentStatus, IncidentStatus, Visibility};
use crate::error::Result;
use crate::ids::ComponentId;
use crate::model::Incident;
use crate::notify::{self, Audience, Delivery, EventKind, Notice, Site};
use crate::policy::{Action, Actor};
use crate::store::{
    ComponentChanges, DeliveryFilter, DeliverySort, IncidentChanges, ListQuery, Message,
    NewIncident, Page,
};

impl StatusPage {
    /// The page's name and address, as notices name them.
    pub fn site(&self) -> Site {
        let s = self.settings();
        Site {
            name: s.app_name.clone(),
            url: s.app_url.trim_end_matches('/').to_string(),
        }
    }

    /// Whether incident and component notices are held back now: a maintenance window is
    /// in progress and the `suppress_notifications_in_maintenance` setting is on.
    async fn quiet_for_maintenance(&self) -> Result<bool> {
        if !self.settings().suppress_notifications_in_maintenance {
            return Ok(false);
        }
        Ok(!self
            .snapshot(&Actor::Guest)
            .await?
            .maintenance_now
            .is_empty())
    }

    /// Subscribers of `component` (and global ones), unless maintenance keeps them quiet.
    async fn incident_audience(&self, component: Option<ComponentId>) -> Result<Audience> {
        Ok(if self.quiet_for_maintenance().await? {
            Audience::Nobody
        } else {
            Audience::Subscribers(component.into_iter().collect())
        })
    }

    /// The component's name, for a notice, when a guest may see the component (enabled,
    /// and not in a hidden group); None otherwise, or when it is gone. A notice never names
    /// what the public page does not show: anyone can subscribe.
    async fn public_component_name(&self, id: ComponentId) -> Result<Option<String>> {
        self.public_name_after(id, &ComponentChanges::default())
            .await
    }

    /// The notice of a new incident: to subscribers when `notify` is on and the incident is
    /// public (spec 7.3).
    pub(super) async fn new_incident_notice(
        &self,
        notify: bool,
        new: &NewIncident,
    ) -> Result<Notice> {
        let audience = if notify && new.visible == Visibility::Public {
            self.incident_audience(new.component_id).await?
        } else {
            Audience::Nobody
        };
        let component = new.component_id.map(|c| (c, new.impact));
        let notice = self
            .incident_notice(
                EventKind::IncidentCreated,
                audience,
                (&new.name, new.status),
                component,
                &new.message,
            )
            .await?;
        Ok(Notice {
            to_webhooks: new.visible == Visibility::Public,
            ..notice
        })
    }

    /// The notice of an update posted to an incident: to subscribers when the incident is
    /// public (the API has no notify flag for updates).
    pub(super) async fn update_notice(
        &self,
        incident: &Incident,
        status: IncidentStatus,
        message: &Message,
    ) -> Result<Notice> {
        let audience = if incident.visible == Visibility::Public {
            self.incident_audience(incident.component_id).await?
        } else {
            Audience::Nobody
        };
        let notice = self
            .incident_notice(
                EventKind::UpdatePosted,
                audience,
                (&incident.name, status),
                incident.component_id.map(|c| (c, None)),
                message,
            )
            .await?;
        // The newest update decides: a Fixed one resolves the incident.
        let resolves = status == IncidentStatus::Fixed && !crate::rollup::is_resolved(incident);
        Ok(Notice {
            to_webhooks: incident.visible == Visibility::Public,
            also: resolves
                .then_some(EventKind::IncidentResolved)
                .into_iter()
                .collect(),
            ..notice
        })
    }

    /// The notice of a changed incident, for webhooks only (the API's incident changes
    /// mail nobody): `incident.updated`, and `incident.resolved` too when the change
    /// resolves it. None when the incident is not public after the change.
    pub(super) async fn incident_change_notice(
        &self,
        before: &Incident,
        ch: &IncidentChanges,
    ) -> Result<Option<Notice>> {
        if ch.visible.unwrap_or(before.visible) != Visibility::Public {
            return Ok(None);
        }
        let status = ch.status.unwrap_or(before.status);
        // Without updates the incident's own status decides; with updates the newest one
        // does, which a change of the incident leaves as it is.
        let resolved_after = if before.updates.is_empty() {
            status == IncidentStatus::Fixed
        } else {
            crate::rollup::is_resolved(before)
        };
        let message = ch.message.clone().unwrap_or_else(|| Message {
            source: before.message.clone(),
            html: before.message_html.clone(),
        });
        let component = ch
            .component_id
            .unwrap_or(before.component_id)
            .map(|c| (c, ch.impact.or(before.impact)));
        let notice = self
            .incident_notice(
                EventKind::IncidentUpdated,
                Audience::Nobody,
                (ch.name.as_deref().unwrap_or(&before.name), status),
                component,
                &message,
            )
            .await?;
        Ok(Some(Notice {
            to_webhooks: true,
            also: (resolved_after && !crate::rollup::is_resolved(before))
                .then_some(EventKind::IncidentResolved)
                .into_iter()
                .collect(),
            ..notice
        }))
    }

    /// An incident notice: `(name, status)` of the incident, its component with the impact.
    async fn incident_notice(
        &self,
        event: EventKind,
        audience: Audience,
        (name, status): (&str, IncidentStatus),
        component: Option<(ComponentId, Option<ComponentStatus>)>,
        message: &Message,
    ) -> Result<Notice> {
        let component_name = match component {
            Some((c, _)) => self.public_component_name(c).await?,
            None => None,
        };
        Ok(notify::incident_notice(
            &self.site(),
            event,
            audience,
            &notify::IncidentText {
                name,
                status,
                component: component
                    .zip(component_name.as_deref())
                    .map(|((_, impact), name)| (name, impact)),
                message_source: &message.source,
                message_html: &message.html,
            },
        ))
    }

    /// The notice of a component status change (queued by the store only when the status
    /// really changes): to its subscribers unless `silent`, or maintenance keeps them quiet;
    /// to webhooks whatever `silent` says. Nobody hears of a component guests cannot see
    /// once `ch` is written: the notice names the component as the change leaves it (its
    /// new name; hidden by the same change, it is told of to nobody).
    pub(super) async fn component_notice(
        &self,
        id: ComponentId,
        ch: &ComponentChanges,
        status: ComponentStatus,
        silent: bool,
    ) -> Result<Notice> {
        let Some(name) = self.public_name_after(id, ch).await? else {
            return Ok(Notice {
                to_webhooks: false,
                ..notify::component_notice(&self.site(), Audience::Nobody, "", status)
            });
        };
        let audience = if silent {
            Audience::Nobody
        } else {
            self.incident_audience(Some(id)).await?
        };
        Ok(Notice {
            to_webhooks: true,
            ..notify::component_notice(&self.site(), audience, &name, status)
        })
    }

    /// The name component `id` will have after `ch`, when guests may see it then (it is
    /// enabled and outside hidden groups); None otherwise, or when it is gone.
    async fn public_name_after(
        &self,
        id: ComponentId,
        ch: &ComponentChanges,
    ) -> Result<Option<String>> {
        let c = match self.store.get_component(id).await {
            Ok(c) => c,
            Err(crate::StoreError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let group = match ch.group_id.unwrap_or(c.group_id) {
            None => None,
            Some(g) => match self.store.get_group(g).await {
                Ok(g) => Some(g.visible),
                // The write refuses a missing group; nothing to tell of.
                Err(crate::StoreError::NotFound(_)) => return Ok(None),
                Err(e) => return Err(e.into()),
            },
        };
        Ok(
            crate::rollup::is_public_component(ch.enabled.unwrap_or(c.enabled), group)
                .then(|| ch.name.clone().unwrap_or(c.name)),
        )
    }

    /// The notice of a new maintenance window: with `notify`, to global subscribers and
    /// those of its public components (Cachet mailed global subscribers only).
    pub(super) async fn schedule_notice(
        &self,
        notify: bool,
        name: &str,
        scheduled_at: chrono::DateTime<chrono::Utc>,
        components: &[ComponentId],
        message: Option<&Message>,
    ) -> Result<Notice> {
        let audience = if notify {
            let public = self.public_component_ids().await?;
            Audience::Subscribers(
                components
                    .iter()
                    .copied()
                    .filter(|c| public.contains(c))
                    .collect(),
            )
        } else {
            Audience::Nobody
        };
        let zone = self.zone(None);
        let at = scheduled_at
            .with_timezone(&zone)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string();
        Ok(Notice {
            to_webhooks: true,
            ..notify::schedule_notice(
                &self.site(),
                audience,
                name,
                &at,
                message.map(|m| (m.source.as_str(), &m.html)),
            )
        })
    }

    /// The outbox: every delivery with its state, attempts and last error (Admin only: a
    /// delivery names its subscriber, so it reads as subscriber data).
    ///
    /// # Errors
    /// `Forbidden`/`Unauthenticated`.
    pub async fn list_deliveries(
        &self,
        actor: &Actor,
        q: &ListQuery<DeliverySort, DeliveryFilter>,
    ) -> Result<Page<Delivery>> {
        self.authorize(actor, Action::ReadSubscribers).await?;
        Ok(self.store.list_deliveries(q).await?)
    }
}

/// One webhook post a worker makes: where, signed with what, for which event. The body is
/// the wire format's (see `cachet_http::WebhookPayloads`).
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookCall {
    /// The endpoint.
    pub url: String,
    /// The signing secret, in clear.
    pub secret: String,
    /// What happened.
    pub event: EventKind,
}

impl std::fmt::Debug for WebhookCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookCall")
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .field("event", &self.event)
            .finish()
    }
}

/// What a worker does with one claimed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// Send this mail.
    Mail(Box<notify::Mail>),
    /// Post to this webhook.
    Webhook(Box<WebhookCall>),
    /// Do not send: the recipient is gone or no longer wants it (the reason is recorded).
    Drop(String),
}

impl StatusPage {
    /// Claims due deliveries for a worker (see [`crate::Store::claim_deliveries`]).
    ///
    /// # Errors
    /// Store failures.
    pub async fn claim_deliveries(&self, claim: &notify::Claim) -> Result<Vec<Delivery>> {
        Ok(self.store.claim_deliveries(claim).await?)
    }

    /// Records how a worker's attempt at a delivery ended (see
    /// [`crate::Store::finish_delivery`]).
    ///
    /// # Errors
    /// Store failures.
    pub async fn finish_delivery(
        &self,
        id: crate::ids::DeliveryId,
        token: &str,
        outcome: notify::Outcome,
    ) -> Result<bool> {
        Ok(self.store.finish_delivery(id, token, outcome).await?)
    }

    /// What a delivery to webhook `id` posts now, or why it is dropped.
    async fn webhook_call(&self, id: crate::ids::WebhookId, event: EventKind) -> Result<Outgoing> {
        let w = match self.store.get_webhook(id).await {
            Ok(w) => w,
            Err(crate::StoreError::NotFound(_)) => {
                return Ok(Outgoing::Drop("the webhook no longer exists".into()))
            }
            Err(e) => return Err(e.into()),
        };
        if !w.enabled {
            return Ok(Outgoing::Drop("the webhook is disabled".into()));
        }
        if !w.events.contains(&event) {
            return Ok(Outgoing::Drop(format!(
                "the webhook no longer wants {event}"
            )));
        }
        Ok(Outgoing::Webhook(Box::new(WebhookCall {
            secret: self.webhook_secret(&w)?,
            url: w.url,
            event,
        })))
    }

    /// What a claimed delivery sends now: the mail to its subscriber with links under
    /// `base_url` (the page's `app_url` when set), or why it is dropped. Only verified
    /// subscribers get anything but the verification mail.
    ///
    /// # Errors
    /// Store failures; an address that does not open with the data key.
    pub async fn outgoing(
        &self,
        delivery: &Delivery,
        base_url: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Outgoing> {
        let id = match delivery.target {
            notify::Target::Subscriber(id) => id,
            notify::Target::Webhook(id) => {
                return self.webhook_call(id, delivery.notice.event).await
            }
        };
        let subscriber = match self.store.get_subscriber(id).await {
            Ok(s) => self.open_subscriber(s)?,
            Err(crate::StoreError::NotFound(_)) => {
                return Ok(Outgoing::Drop("the subscriber no longer exists".into()))
            }
            Err(e) => return Err(e.into()),
        };
        let verification = delivery.notice.event == EventKind::SubscriberCreated;
        if verification && subscriber.verified_at.is_some() {
            return Ok(Outgoing::Drop("the subscriber is verified already".into()));
        }
        if !verification && subscriber.verified_at.is_none() {
            return Ok(Outgoing::Drop("the subscriber is not verified".into()));
        }
        let site = self.site();
        let base = if site.url.is_empty() {
            base_url.trim_end_matches('/')
        } else {
            site.url.as_str()
        };
        let links = notify::Links {
            page: notify::page_of(base, delivery.notice.event, delivery.notice.entity_id),
            ..notify::Links::sign(
                &self.key,
                base,
                subscriber.id,
                subscriber.created_at,
                now,
                verification,
            )
        };
        Ok(Outgoing::Mail(Box::new(notify::compose(
            delivery,
            subscriber.email.as_str(),
            &links,
        ))))
    }
}
