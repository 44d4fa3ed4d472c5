//! Subscribers: personal data, so Admin only, sealed at rest, exportable and erasable.
//!
//! A subscriber's address reaches the store only as a [`SealedEmail`]: a keyed digest
//! (`lookup`, unique, for deduplication and "find by address") and the address encrypted
//! with the data key. The service seals on the way in and opens on the way out, so a
//! database dump shows no address. Audit entries name subscribers by id, never by address.

use serde_json::{json, Value};

use super::{StatusPage, VERIFY_CODE_LEN};
use crate::error::{Error, Result, StoreError, ValidationErrors};
use crate::ids::{ComponentId, SubscriberId, SubscriptionId};
use crate::input::SubscriberInput;
use crate::model::{SealedEmail, Subscriber};
use crate::notify::{check_link, link_subscriber, Audience, LinkError, LinkPurpose, Notice};
use crate::policy::{Action, Actor};
use crate::secret::{random_code, TokenHash};
use crate::store::{
    now, ListQuery, NewSubscriber, Page, StoredSubscriber, SubscribeTo, SubscriberSort,
};
use crate::validate::{self, Email};

/// What the sealed address and its digest are bound to.
const EMAIL_PURPOSE: &str = "subscriber.email";
/// The refusal of a verification link that did its work already.
const USED_ALREADY: &str = "This link was used already.";

/// A checked subscription request ([`StatusPage::subscription_request`]), to be written by
/// [`StatusPage::submit_subscription`].
#[derive(Clone)]
pub struct SubscriptionRequest {
    email: Email,
    ids: Vec<ComponentId>,
}

impl std::fmt::Debug for SubscriptionRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // An address is personal data: not in logs.
        f.debug_struct("SubscriptionRequest")
            .field("components", &self.ids)
            .finish_non_exhaustive()
    }
}

/// Everything stored about one subscriber, for a data request (see
/// [`StatusPage::export_subscriber`]). Holds no secret: the verification code is stored only
/// as a digest, which is left out.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriberExport {
    /// The subscriber, address opened.
    pub subscriber: Subscriber,
    /// The names of the components subscribed to, by id (deleted ones are absent).
    pub component_names: Vec<(ComponentId, String)>,
}

impl SubscriberExport {
    /// The export as a JSON document, to hand to the person who asked.
    pub fn to_json(&self) -> Value {
        let s = &self.subscriber;
        let name = |id: ComponentId| {
            self.component_names
                .iter()
                .find(|(c, _)| *c == id)
                .map(|(_, n)| n.clone())
        };
        json!({
            "id": s.id.get(),
            "email": s.email.as_str(),
            "global": s.global,
            "verified_at": s.verified_at.map(|t| t.to_rfc3339()),
            "created_at": s.created_at.to_rfc3339(),
            "updated_at": s.updated_at.to_rfc3339(),
            "phone_number": s.phone_number,
            "slack_webhook_url": s.slack_webhook_url,
            "subscriptions": s.subscriptions.iter().map(|x| json!({
                "id": x.id.get(),
                "component_id": x.component_id.get(),
                "component_name": name(x.component_id),
                "created_at": x.created_at.to_rfc3339(),
            })).collect::<Vec<_>>(),
        })
    }
}

impl StatusPage {
    fn seal_email(&self, email: &Email) -> SealedEmail {
        SealedEmail {
            lookup: self.key.lookup(EMAIL_PURPOSE, &email.mailbox_key()),
            sealed: self.key.seal(EMAIL_PURPOSE, email.as_str().as_bytes()),
        }
    }

    pub(super) fn open_subscriber(&self, s: StoredSubscriber) -> Result<Subscriber> {
        s.try_map_email(|e| {
            if e.sealed.is_empty() {
                // Not sealed yet (written before sealing, by an older instance): the
                // address is still in the lookup column.
                return Ok(Email::from_stored(e.lookup));
            }
            let bytes = self
                .key
                .open(EMAIL_PURPOSE, &e.sealed)
                .map_err(|err| Error::Backend(Box::new(err)))?;
            let text = String::from_utf8(bytes).map_err(|err| Error::Backend(Box::new(err)))?;
            Ok(Email::from_stored(text))
        })
    }

    /// Seals the addresses of subscribers stored before addresses were sealed (once, at
    /// start). Returns how many were sealed.
    pub(super) async fn seal_unsealed_subscribers(&self) -> Result<usize> {
        let legacy = self.store.unsealed_subscriber_emails().await?;
        let mut sealed = 0;
        for (id, plain) in legacy {
            let email = Email::parse(&plain).unwrap_or_else(|_| Email::from_stored(plain));
            match self
                .store
                .seal_subscriber_email(id, self.seal_email(&email))
                .await
            {
                Ok(()) => sealed += 1,
                // Deleted meanwhile, or the same address subscribed again since: the newer
                // row stands; the old one keeps its clear address until an Admin erases it.
                Err(StoreError::NotFound(_) | StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(sealed)
    }

    /// Lists subscribers (Admin only: personal data).
    ///
    /// # Errors
    /// `Forbidden`/`Unauthenticated`.
    pub async fn list_subscribers(
        &self,
        actor: &Actor,
        q: &ListQuery<SubscriberSort, ()>,
    ) -> Result<Page<Subscriber>> {
        self.authorize(actor, Action::ReadSubscribers).await?;
        let page = self.store.list_subscribers(q).await?;
        let items = page
            .items
            .into_iter()
            .map(|s| self.open_subscriber(s))
            .collect::<Result<Vec<_>>>()?;
        Ok(Page {
            items,
            total: page.total,
        })
    }

    /// Finds the subscriber with an address (Admin only), e.g. for a data request.
    ///
    /// # Errors
    /// `Invalid` for a malformed address; `NotFound(Subscriber)`.
    pub async fn find_subscriber_by_email(&self, actor: &Actor, email: &str) -> Result<Subscriber> {
        self.authorize(actor, Action::ReadSubscribers).await?;
        let email = Email::parse(email)
            .map_err(|m| ValidationErrors::single("email", format!("The email {m}.")))?;
        let lookup = self.key.lookup(EMAIL_PURPOSE, &email.mailbox_key());
        let s = self.store.find_subscriber(&lookup).await?;
        self.open_subscriber(s)
    }

    /// Everything stored about a subscriber (Admin only; audited, by id).
    ///
    /// # Errors
    /// `NotFound(Subscriber)`.
    pub async fn export_subscriber(
        &self,
        actor: &Actor,
        id: SubscriberId,
    ) -> Result<SubscriberExport> {
        self.authorize(actor, Action::ReadSubscribers).await?;
        let subscriber = self.open_subscriber(self.store.get_subscriber(id).await?)?;
        let mut component_names = Vec::new();
        for sub in &subscriber.subscriptions {
            match self.store.get_component(sub.component_id).await {
                Ok(c) => component_names.push((c.id, c.name)),
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.audit(
            actor,
            "subscriber.exported",
            format!("subscriber {id} exported"),
        )
        .await?;
        Ok(SubscriberExport {
            subscriber,
            component_names,
        })
    }

    /// Erases a subscriber and their subscriptions on request (Admin only; audited, by id:
    /// the audit log keeps no address).
    ///
    /// # Errors
    /// `NotFound(Subscriber)`.
    pub async fn erase_subscriber(&self, actor: &Actor, id: SubscriberId) -> Result<()> {
        self.remove_subscriber(actor, id, "subscriber.erased", "erased on request")
            .await
    }

    /// Deletes a subscriber and their subscriptions (Admin only), audited as `kind`.
    async fn remove_subscriber(
        &self,
        actor: &Actor,
        id: SubscriberId,
        kind: &str,
        what: &str,
    ) -> Result<()> {
        self.authorize(actor, Action::WriteSubscribers).await?;
        self.store.delete_subscriber(id, None).await?;
        self.audit(actor, kind, format!("subscriber {id} {what}"))
            .await?;
        Ok(())
    }

    /// Creates a subscriber (Admin only), or returns the existing one with that email
    /// unchanged. Without components the subscriber is global and follows every component.
    ///
    /// # Errors
    /// `Invalid` email or component ids.
    pub async fn create_subscriber(
        &self,
        actor: &Actor,
        input: SubscriberInput,
    ) -> Result<(Subscriber, bool)> {
        self.authorize(actor, Action::WriteSubscribers).await?;
        let mut errors = ValidationErrors::new();
        let email = match input.email.as_deref() {
            None => {
                errors.add("email", "The email field is required.");
                None
            }
            Some(e) => match Email::parse(e) {
                Ok(e) => Some(e),
                Err(m) => {
                    errors.add("email", format!("The email {m}."));
                    None
                }
            },
        };
        // Admins may subscribe anyone to any component, hidden ones too.
        let ids = self
            .component_choice(&mut errors, input.components, false)
            .await?;
        errors.into_result(())?;
        let Some(email) = email else {
            return Err(Error::Rejected("incomplete input".into()));
        };
        let verify = input
            .verify
            .unwrap_or(self.settings().skip_subscriber_verification);
        let global = ids.is_empty();
        let new = NewSubscriber {
            email: self.seal_email(&email),
            verify_code_hash: TokenHash::of(&random_code(VERIFY_CODE_LEN)),
            verified_at: verify.then(now),
            global,
            subscribe_to: if global {
                SubscribeTo::AllComponents
            } else {
                SubscribeTo::Components(ids)
            },
            // The verification mail, unless verified already; webhooks hear of it either way.
            notice: Some(Notice {
                to_webhooks: true,
                ..if verify {
                    Notice {
                        audience: Audience::Nobody,
                        ..crate::notify::verification_notice(&self.site())
                    }
                } else {
                    crate::notify::verification_notice(&self.site())
                }
            }),
        };
        let (s, created) = self.store.create_subscriber(new).await?;
        if created {
            self.audit(
                actor,
                "subscriber.created",
                format!("subscriber {} created", s.id),
            )
            .await?;
        }
        Ok((self.open_subscriber(s)?, created))
    }

    /// Deletes a subscriber and its subscriptions (Admin only; audited).
    ///
    /// # Errors
    /// `NotFound(Subscriber)`.
    pub async fn delete_subscriber(&self, actor: &Actor, id: SubscriberId) -> Result<()> {
        self.remove_subscriber(actor, id, "subscriber.deleted", "deleted")
            .await
    }

    /// Deletes a subscription (Admin only).
    ///
    /// # Errors
    /// `NotFound(Subscription)`.
    pub async fn delete_subscription(&self, actor: &Actor, id: SubscriptionId) -> Result<()> {
        self.authorize(actor, Action::WriteSubscribers).await?;
        Ok(self.store.delete_subscription(id).await?)
    }

    // ---- the public lifecycle: anyone may ask; only the address's owner, through the
    // signed links mailed to it, may confirm, change or end a subscription

    /// Asks for status mail to `email`, for `components` (ids of public components; none
    /// or empty: everything). Answers the same whether or not the address is subscribed:
    /// a new address gets a verification mail; an unverified one gets it again; a verified
    /// one gets its manage and unsubscribe links, and nothing changes. Rate limiting is the
    /// caller's (the public page limits per client; the worker per recipient).
    ///
    /// # Errors
    /// `Invalid` for a malformed address or components a guest cannot see.
    pub async fn subscribe(&self, email: &str, components: Option<Vec<i64>>) -> Result<()> {
        let request = self.subscription_request(email, components).await?;
        self.submit_subscription(request).await
    }

    /// The checks of [`StatusPage::subscribe`], which take the same time for every address
    /// (an adapter that answers before the write, as the public page does, answers in the
    /// same time whether or not the address was known).
    ///
    /// # Errors
    /// `Invalid` for a malformed address or components a guest cannot see.
    pub async fn subscription_request(
        &self,
        email: &str,
        components: Option<Vec<i64>>,
    ) -> Result<SubscriptionRequest> {
        let mut errors = ValidationErrors::new();
        let email = match Email::parse(email) {
            Ok(e) => Some(e),
            Err(m) => {
                errors.add("email", format!("The email {m}."));
                None
            }
        };
        let ids = self.component_choice(&mut errors, components, true).await?;
        errors.into_result(())?;
        let Some(email) = email else {
            return Err(Error::Rejected("incomplete input".into()));
        };
        Ok(SubscriptionRequest { email, ids })
    }

    /// The write of [`StatusPage::subscribe`], for a checked request.
    ///
    /// # Errors
    /// Store failures.
    pub async fn submit_subscription(&self, request: SubscriptionRequest) -> Result<()> {
        let SubscriptionRequest { email, ids } = request;
        let site = self.site();
        let new = NewSubscriber {
            email: self.seal_email(&email),
            verify_code_hash: TokenHash::of(&random_code(VERIFY_CODE_LEN)),
            verified_at: None,
            global: ids.is_empty(),
            subscribe_to: if ids.is_empty() {
                SubscribeTo::AllComponents
            } else {
                SubscribeTo::Components(ids)
            },
            notice: Some(Notice {
                to_webhooks: true,
                ..crate::notify::verification_notice(&site)
            }),
        };
        let (s, created) = self.store.create_subscriber(new).await?;
        if !created && self.resends.allow(&s.email.lookup) {
            let again = if s.verified_at.is_none() {
                Notice {
                    audience: Audience::Subscriber(s.id),
                    ..crate::notify::verification_notice(&site)
                }
            } else {
                crate::notify::links_notice(&site, s.id)
            };
            self.store.queue_notice(again).await?;
        }
        Ok(())
    }

    /// The component ids of a choice, without repeats, each an existing component, and a
    /// public one when `public_only` (a guest's choice); none: everything. A problem is
    /// added to `errors` under `components`.
    async fn component_choice(
        &self,
        errors: &mut ValidationErrors,
        components: Option<Vec<i64>>,
        public_only: bool,
    ) -> Result<Vec<ComponentId>> {
        let components = components.unwrap_or_default();
        if components.len() > validate::MAX_COMPONENT_REFS {
            errors.add(
                "components",
                format!(
                    "The components may not have more than {} items.",
                    validate::MAX_COMPONENT_REFS
                ),
            );
            return Ok(Vec::new());
        }
        if components.is_empty() {
            return Ok(Vec::new());
        }
        let known = self.component_ids(public_only).await?;
        let mut ids: Vec<ComponentId> = Vec::new();
        for c in components {
            let id = ComponentId(c);
            if !known.contains(&id) {
                errors.add("components", "The selected components are invalid.");
                return Ok(Vec::new());
            }
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    /// The subscriber a link names, if the link is genuine, unexpired and signed for one of
    /// `purposes`.
    async fn linked(&self, token: &str, purposes: &[LinkPurpose]) -> Result<Subscriber> {
        let invalid = |m: &str| Error::Invalid(ValidationErrors::single("token", m.to_owned()));
        let id = link_subscriber(token).ok_or_else(|| invalid("The link is not valid."))?;
        let s = match self.store.get_subscriber(id).await {
            Ok(s) => s,
            Err(StoreError::NotFound(_)) => return Err(invalid("The link is not valid.")),
            Err(e) => return Err(e.into()),
        };
        let mut outcome = Err(LinkError::Invalid);
        for purpose in purposes {
            outcome = check_link(&self.key, token, *purpose, s.id, s.created_at, now());
            if outcome != Err(LinkError::Invalid) {
                break;
            }
        }
        match outcome {
            Ok(()) => self.open_subscriber(s),
            Err(LinkError::Expired) => Err(invalid("The link has expired.")),
            Err(LinkError::Invalid) => Err(invalid("The link is not valid.")),
        }
    }

    /// Confirms a subscription from its verification link; a link works once.
    ///
    /// # Errors
    /// `Invalid` (field `token`): not valid, expired, or used already.
    pub async fn verify_subscription(&self, token: &str) -> Result<Subscriber> {
        let s = self.linked(token, &[LinkPurpose::Verify]).await?;
        let notice = crate::notify::subscriber_event_notice(
            &self.site(),
            crate::notify::EventKind::SubscriberVerified,
        );
        // Unsubscribed meanwhile (a race with the same mail's other link): the link is dead.
        let gone = || Error::Invalid(ValidationErrors::single("token", "The link is not valid."));
        match self
            .store
            .verify_subscriber(s.id, now(), Some(notice))
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                return Err(Error::Invalid(ValidationErrors::single(
                    "token",
                    USED_ALREADY,
                )))
            }
            Err(StoreError::NotFound(_)) => return Err(gone()),
            Err(e) => return Err(e.into()),
        }
        match self.store.get_subscriber(s.id).await {
            Ok(s) => self.open_subscriber(s),
            Err(StoreError::NotFound(_)) => Err(gone()),
            Err(e) => Err(e.into()),
        }
    }

    /// The subscription a verification link is for, while it waits for that link (the page
    /// that asks to confirm; [`StatusPage::verify_subscription`] confirms).
    ///
    /// # Errors
    /// `Invalid` (field `token`): not valid, expired, or used already.
    pub async fn pending_verification(&self, token: &str) -> Result<Subscriber> {
        let s = self.linked(token, &[LinkPurpose::Verify]).await?;
        if s.verified_at.is_some() {
            return Err(Error::Invalid(ValidationErrors::single(
                "token",
                USED_ALREADY,
            )));
        }
        Ok(s)
    }

    /// The subscription a manage link is for.
    ///
    /// # Errors
    /// `Invalid` (field `token`).
    pub async fn subscription(&self, token: &str) -> Result<Subscriber> {
        self.linked(token, &[LinkPurpose::Manage]).await
    }

    /// Changes what a subscription follows, from its manage link: `components` are public
    /// component ids (none: everything).
    ///
    /// # Errors
    /// `Invalid` (field `token` or `components`).
    pub async fn change_subscription(
        &self,
        token: &str,
        components: Option<Vec<i64>>,
    ) -> Result<Subscriber> {
        let s = self.linked(token, &[LinkPurpose::Manage]).await?;
        let mut errors = ValidationErrors::new();
        let ids = self.component_choice(&mut errors, components, true).await?;
        errors.into_result(())?;
        let to = if ids.is_empty() {
            SubscribeTo::AllComponents
        } else {
            SubscribeTo::Components(ids.clone())
        };
        match self.store.set_subscriptions(s.id, ids.is_empty(), to).await {
            Ok(changed) => self.open_subscriber(changed),
            // Unsubscribed meanwhile: the link is dead.
            Err(StoreError::NotFound(_)) => Err(Error::Invalid(ValidationErrors::single(
                "token",
                "The link is not valid.",
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// The subscription an unsubscribe or manage link would end (the page that asks to
    /// confirm).
    ///
    /// # Errors
    /// `Invalid` (field `token`).
    pub async fn unsubscribe_target(&self, token: &str) -> Result<Subscriber> {
        self.linked(token, &[LinkPurpose::Unsubscribe, LinkPurpose::Manage])
            .await
    }

    /// Ends a subscription from its unsubscribe or manage link, deleting the address.
    ///
    /// # Errors
    /// `Invalid` (field `token`), also for a subscription that ended already.
    pub async fn unsubscribe(&self, token: &str) -> Result<()> {
        let s = self.unsubscribe_target(token).await?;
        let notice = crate::notify::subscriber_event_notice(
            &self.site(),
            crate::notify::EventKind::SubscriberUnsubscribed,
        );
        match self.store.delete_subscriber(s.id, Some(notice)).await {
            Ok(()) | Err(StoreError::NotFound(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
