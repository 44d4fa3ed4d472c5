//! The body of a webhook delivery, in the v1 API's JSON shapes (see
//! [`cachet_core::webhook`] for the signature and where a webhook may go):
//!
//! ```json
//! {
//!   "event": "incident.created",
//!   "delivery_id": 12,
//!   "notice_id": 5,
//!   "occurred_at": "2026-12-04T12:00:00Z",
//!   "subject": "[Status] Card payments failing: Investigating",
//!   "data": { "id": 3, "name": "Card payments failing", "status": 1, "...": "..." }
//! }
//! ```
//!
//! `data` is what `GET /api/v1/...` returns to a guest for the entity now (an incident for
//! incident events and posted updates, a component for status changes, a schedule for
//! maintenance), so a late retry carries the latest state and never more than the public
//! page shows (no hidden component, no link to one); `occurred_at` is when the change
//! happened. For subscriber events it is `{"id": n}` only (an address is personal data). It
//! is `null` when the entity is gone or not public, and always for entities when the
//! `always_authenticate` setting keeps guests out.

use std::sync::Arc;

use cachet_core::enums::Visibility;
use cachet_core::ids::{ComponentId, IncidentId, ScheduleId};
use cachet_core::notify::{Delivery, EventKind};
use cachet_core::{Actor, Error, StatusPage};
use serde_json::{json, Value};

use crate::api::dto::{ComponentDto, IncidentDto, ScheduleDto, Shape};

/// Makes webhook bodies for a worker (`cachet_notify::WebhookSender`).
#[derive(Debug, Clone)]
pub struct WebhookPayloads {
    service: Arc<StatusPage>,
    base_url: String,
}

impl WebhookPayloads {
    /// Bodies for `service`'s deliveries; permalinks under the `app_url` setting, else
    /// `base_url` (the page's absolute URL).
    pub fn new(service: Arc<StatusPage>, base_url: impl Into<String>) -> WebhookPayloads {
        WebhookPayloads {
            service,
            base_url: base_url.into(),
        }
    }

    async fn data(&self, event: EventKind, id: i64, shape: &Shape) -> Result<Value, Error> {
        let s = &self.service;
        let found = match event {
            EventKind::IncidentCreated
            | EventKind::IncidentUpdated
            | EventKind::IncidentResolved
            | EventKind::UpdatePosted => {
                s.get_incident(&Actor::Guest, IncidentId(id))
                    .await
                    .map(|i| {
                        (i.visible == Visibility::Public)
                            .then(|| serde_json::to_value(IncidentDto::new(&i, shape)))
                    })
            }
            EventKind::ComponentStatusChanged => s
                .get_component(&Actor::Guest, ComponentId(id))
                .await
                .map(|c| Some(serde_json::to_value(ComponentDto::new(&c, shape)))),
            EventKind::MaintenanceScheduled
            | EventKind::MaintenanceStarted
            | EventKind::MaintenanceCompleted => s
                .get_schedule(&Actor::Guest, ScheduleId(id))
                .await
                .map(|x| Some(serde_json::to_value(ScheduleDto::new(&x, shape)))),
            EventKind::SubscriberCreated
            | EventKind::SubscriberVerified
            | EventKind::SubscriberUnsubscribed => return Ok(json!({ "id": id })),
            EventKind::LinksRequested => return Ok(Value::Null),
        };
        match found {
            Ok(Some(Ok(v))) => Ok(v),
            Ok(Some(Err(e))) => Err(Error::Backend(Box::new(e))),
            // Gone, not public, or guests kept out (`always_authenticate`).
            Ok(None) | Err(Error::NotFound(_) | Error::Unauthenticated | Error::Forbidden) => {
                Ok(Value::Null)
            }
            Err(e) => Err(e),
        }
    }
}

#[async_trait::async_trait]
impl cachet_core::webhook::Payloads for WebhookPayloads {
    async fn body(&self, delivery: &Delivery) -> Result<Vec<u8>, Error> {
        let settings = self.service.settings();
        let root = if settings.app_url.is_empty() {
            self.base_url.trim_end_matches('/').to_string()
        } else {
            settings.app_url.trim_end_matches('/').to_string()
        };
        let shape = Shape {
            zone: settings.app_timezone,
            root,
        };
        let n = &delivery.notice;
        let data = match n.entity_id {
            Some(id) => self.data(n.event, id, &shape).await?,
            None => Value::Null,
        };
        let body = json!({
            "event": n.event.as_str(),
            "delivery_id": delivery.id.get(),
            "notice_id": n.id.get(),
            "occurred_at": n.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "subject": n.subject,
            "data": data,
        });
        serde_json::to_vec(&body).map_err(|e| Error::Backend(Box::new(e)))
    }
}
