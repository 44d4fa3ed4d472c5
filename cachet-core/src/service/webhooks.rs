//! Outbound webhooks through the service: Admins register, change and remove endpoints
//! (rules in [`crate::webhook`]); the worker asks what a webhook delivery sends.

use super::StatusPage;
use crate::error::{Error, Result, ValidationErrors};
use crate::ids::WebhookId;
use crate::policy::{Action, Actor};
use crate::webhook::{
    check_events, check_url, new_secret, AddressPolicy, NewWebhook, Webhook, WebhookInput,
    WebhookPatch, MAX_WEBHOOKS,
};

/// What the sealed secret is bound to.
const SECRET_PURPOSE: &str = "webhook.secret";

/// A webhook and its secret, which is shown this once (on creation or rotation).
#[derive(Clone)]
pub struct WebhookSecret {
    /// The webhook.
    pub webhook: Webhook,
    /// The signing secret in clear.
    pub secret: String,
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSecret")
            .field("webhook", &self.webhook)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl StatusPage {
    /// Replaces the address policy webhook URLs are checked against (the default allows
    /// public addresses only). The worker that sends must use the same one.
    #[must_use]
    pub fn with_webhook_policy(mut self, policy: AddressPolicy) -> StatusPage {
        self.webhook_policy = policy;
        self
    }

    /// The address policy of webhooks.
    pub fn webhook_policy(&self) -> &AddressPolicy {
        &self.webhook_policy
    }

    fn seal_secret(&self, secret: &str) -> String {
        self.key.seal(SECRET_PURPOSE, secret.as_bytes())
    }

    /// The signing secret of a webhook, in clear (for the worker that signs).
    ///
    /// # Errors
    /// A secret that does not open with the data key.
    pub fn webhook_secret(&self, w: &Webhook) -> Result<String> {
        let raw = self
            .key
            .open(SECRET_PURPOSE, &w.secret_sealed)
            .map_err(|e| Error::Backend(Box::new(e)))?;
        String::from_utf8(raw).map_err(|e| Error::Backend(Box::new(e)))
    }

    /// Every webhook (Admin only: URLs can carry credentials of the receiver).
    ///
    /// # Errors
    /// `Forbidden`/`Unauthenticated`.
    pub async fn list_webhooks(&self, actor: &Actor) -> Result<Vec<Webhook>> {
        self.authorize(actor, Action::ManageWebhooks).await?;
        Ok(self.store.list_webhooks().await?)
    }

    /// One webhook.
    ///
    /// # Errors
    /// `NotFound(Webhook)`, `Forbidden`/`Unauthenticated`.
    pub async fn get_webhook(&self, actor: &Actor, id: WebhookId) -> Result<Webhook> {
        self.authorize(actor, Action::ManageWebhooks).await?;
        Ok(self.store.get_webhook(id).await?)
    }

    /// Registers a webhook: `url` and `events` required, enabled unless said otherwise.
    /// Returns it with its new secret, shown this once.
    ///
    /// # Errors
    /// `Invalid` naming `url` or `events`; `Forbidden`/`Unauthenticated`.
    pub async fn create_webhook(
        &self,
        actor: &Actor,
        input: WebhookInput,
    ) -> Result<WebhookSecret> {
        self.authorize(actor, Action::ManageWebhooks).await?;
        let mut errors = ValidationErrors::new();
        let url = match check_url(input.url.as_deref().unwrap_or(""), &self.webhook_policy) {
            Ok(u) => Some(u),
            Err(m) => {
                errors.add("url", m);
                None
            }
        };
        let events = match check_events(&input.events.unwrap_or_default()) {
            Ok(e) => Some(e),
            Err(m) => {
                errors.add("events", m);
                None
            }
        };
        if self.store.list_webhooks().await?.len() >= MAX_WEBHOOKS {
            errors.add(
                "url",
                format!("A status page may have at most {MAX_WEBHOOKS} webhooks."),
            );
        }
        errors.into_result(())?;
        let (Some(url), Some(events)) = (url, events) else {
            return Err(Error::Rejected("incomplete input".into()));
        };
        let secret = new_secret();
        let webhook = self
            .store
            .create_webhook(NewWebhook {
                url,
                events,
                enabled: input.enabled.unwrap_or(true),
                secret_sealed: self.seal_secret(&secret),
            })
            .await?;
        self.audit(actor, "webhook.created", format!("webhook {}", webhook.id))
            .await?;
        Ok(WebhookSecret { webhook, secret })
    }

    /// Changes a webhook; absent fields stay.
    ///
    /// # Errors
    /// `Invalid` naming `url` or `events`; `NotFound(Webhook)`; `Forbidden`/`Unauthenticated`.
    pub async fn update_webhook(
        &self,
        actor: &Actor,
        id: WebhookId,
        input: WebhookInput,
    ) -> Result<Webhook> {
        self.authorize(actor, Action::ManageWebhooks).await?;
        let mut errors = ValidationErrors::new();
        let mut patch = WebhookPatch {
            enabled: input.enabled,
            ..WebhookPatch::default()
        };
        if let Some(url) = input.url {
            match check_url(&url, &self.webhook_policy) {
                Ok(u) => patch.url = Some(u),
                Err(m) => errors.add("url", m),
            }
        }
        if let Some(events) = input.events {
            match check_events(&events) {
                Ok(e) => patch.events = Some(e),
                Err(m) => errors.add("events", m),
            }
        }
        errors.into_result(())?;
        let webhook = self.store.update_webhook(id, patch).await?;
        self.audit(actor, "webhook.updated", format!("webhook {id}"))
            .await?;
        Ok(webhook)
    }

    /// Gives a webhook a new secret (the old one stops working at once) and returns it,
    /// shown this once.
    ///
    /// # Errors
    /// `NotFound(Webhook)`; `Forbidden`/`Unauthenticated`.
    pub async fn rotate_webhook_secret(
        &self,
        actor: &Actor,
        id: WebhookId,
    ) -> Result<WebhookSecret> {
        self.authorize(actor, Action::ManageWebhooks).await?;
        let secret = new_secret();
        let webhook = self
            .store
            .update_webhook(
                id,
                WebhookPatch {
                    secret_sealed: Some(self.seal_secret(&secret)),
                    ..WebhookPatch::default()
                },
            )
            .await?;
        self.audit(actor, "webhook.secret_rotated", format!("webhook {id}"))
            .await?;
        Ok(WebhookSecret { webhook, secret })
    }

    /// Removes a webhook; deliveries still queued for it are dropped.
    ///
    /// # Errors
    /// `NotFound(Webhook)`; `Forbidden`/`Unauthenticated`.
    pub async fn delete_webhook(&self, actor: &Actor, id: WebhookId) -> Result<()> {
        self.authorize(actor, Action::ManageWebhooks).await?;
        self.store.delete_webhook(id).await?;
        self.audit(actor, "webhook.deleted", format!("webhook {id}"))
            .await
    }
}
