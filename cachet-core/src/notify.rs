//! Notifications: which events notify whom, what the message says, and how its delivery is
//! retried. The rules live here; the store keeps the outbox; a delivery worker (the
//! `cachet-notify` crate) sends.
//!
//! # The outbox
//!
//! A change that notifies carries a [`Notice`] into the store method that makes it
//! ([`crate::store::NewIncident::notice`] and the like). The store writes the notice and one
//! delivery row per recipient in the same transaction as the change, so a crash never loses
//! a notification nor sends one for a change that did not happen. The recipients are worked
//! out by the store from the notice's [`Audience`] at that moment: verified subscribers only,
//! global ones and those subscribed to an affected component.
//!
//! A worker claims due deliveries ([`crate::Store::claim_deliveries`]: atomic, so several
//! workers on one database never take the same row), sends each, and records the outcome
//! ([`crate::Store::finish_delivery`]); a failure is retried by [`RetryPolicy`] until it
//! gives up and marks the delivery failed. Admins see every delivery and its last error.
//!
//! # Who is notified (spec 7.3, with the fixes from the Cachet bug reports)
//!
//! | change | subscribers notified |
//! | --- | --- |
//! | incident created with `notify`, visible | global ones and those of its component |
//! | update posted to a visible incident | global ones and those of its component |
//! | component status changed, not `silent` | global ones and those of the component, only when the status really changed |
//! | maintenance scheduled with `notify` | global ones and those of its components |
//! | new unverified subscriber | that subscriber: the verification mail |
//!
//! Incident and component notifications are suppressed while a maintenance window is in
//! progress when the `suppress_notifications_in_maintenance` setting is on.
//!
//! # Webhooks
//!
//! A notice with `to_webhooks` (set by the service for what a guest could see) also goes to
//! every enabled webhook that wants its event, whoever else it reaches; its `also` events
//! are notices of their own for webhooks only. Which events exist and when each is queued:
//! `docs/webhooks.md`; the signature and address rules: [`crate::webhook`].

use std::fmt::Write as _;

use chrono::{DateTime, Duration, Utc};

use crate::crypto::DataKey;
use crate::enums::{ComponentStatus, IncidentStatus};
use crate::ids::{ComponentId, DeliveryId, NoticeId, SubscriberId, WebhookId};
use crate::markdown::{sanitize, SafeHtml};
use crate::template::escape_html;

/// What happened. Its [`EventKind::as_str`] names it in webhook payloads and in the admin
/// view of the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// An incident was created.
    IncidentCreated,
    /// An incident was changed.
    IncidentUpdated,
    /// An incident became resolved.
    IncidentResolved,
    /// An update was posted to an incident.
    UpdatePosted,
    /// A component's status changed.
    ComponentStatusChanged,
    /// A maintenance window was scheduled.
    MaintenanceScheduled,
    /// A maintenance window started.
    MaintenanceStarted,
    /// A maintenance window completed.
    MaintenanceCompleted,
    /// Someone subscribed.
    SubscriberCreated,
    /// A subscriber confirmed their address.
    SubscriberVerified,
    /// A subscriber left.
    SubscriberUnsubscribed,
    /// Someone asked to subscribe an address that already is: its owner gets their links.
    LinksRequested,
}

impl EventKind {
    /// Every kind, in a fixed order.
    pub const ALL: [EventKind; 12] = [
        EventKind::IncidentCreated,
        EventKind::IncidentUpdated,
        EventKind::IncidentResolved,
        EventKind::UpdatePosted,
        EventKind::ComponentStatusChanged,
        EventKind::MaintenanceScheduled,
        EventKind::MaintenanceStarted,
        EventKind::MaintenanceCompleted,
        EventKind::SubscriberCreated,
        EventKind::SubscriberVerified,
        EventKind::SubscriberUnsubscribed,
        EventKind::LinksRequested,
    ];

    /// The stable name, e.g. `incident.created`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::IncidentCreated => "incident.created",
            EventKind::IncidentUpdated => "incident.updated",
            EventKind::IncidentResolved => "incident.resolved",
            EventKind::UpdatePosted => "incident_update.created",
            EventKind::ComponentStatusChanged => "component.status_changed",
            EventKind::MaintenanceScheduled => "maintenance.scheduled",
            EventKind::MaintenanceStarted => "maintenance.started",
            EventKind::MaintenanceCompleted => "maintenance.completed",
            EventKind::SubscriberCreated => "subscriber.created",
            EventKind::SubscriberVerified => "subscriber.verified",
            EventKind::SubscriberUnsubscribed => "subscriber.unsubscribed",
            EventKind::LinksRequested => "subscriber.links_requested",
        }
    }

    /// The kind named `name`, if any.
    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which subscribers a notice is mailed to. Only verified subscribers ever receive one,
/// except the subscriber a verification mail is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// No subscriber (webhooks may still want the event).
    Nobody,
    /// Verified global subscribers, and verified subscribers of any of these components
    /// (none: global subscribers only).
    Subscribers(Vec<ComponentId>),
    /// The subscriber the same store operation creates, verified or not: the verification
    /// mail. Nobody when the operation finds the address already subscribed.
    NewSubscriber,
    /// This subscriber, verified or not (a link they asked for again).
    Subscriber(SubscriberId),
}

impl Audience {
    /// Whether subscriber `s` is among the audience; `created` says that `s` is the
    /// subscriber the operation queuing the notice creates. Every store applies this rule
    /// (the SQL ones as the same condition in SQL).
    pub fn reaches<E>(&self, s: &crate::model::Subscriber<E>, created: bool) -> bool {
        match self {
            Audience::Nobody => false,
            Audience::NewSubscriber => created,
            Audience::Subscriber(id) => s.id == *id,
            Audience::Subscribers(components) => {
                s.verified_at.is_some()
                    && (s.global
                        || s.subscriptions
                            .iter()
                            .any(|x| components.contains(&x.component_id)))
            }
        }
    }
}

/// A notification as the service hands it to the store with the change that causes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// What happened.
    pub event: EventKind,
    /// Who among the subscribers gets it.
    pub audience: Audience,
    /// Mail subject (one line).
    pub subject: String,
    /// Plain-text body, without the footer (links are added per recipient at delivery).
    pub text: String,
    /// HTML body, from already sanitized parts, without the footer.
    pub html: SafeHtml,
    /// Whether webhooks that want this event get it too. The service sets it for changes a
    /// guest could see (never for a private incident, nor for a mail meant for one person),
    /// whether or not any subscriber is notified. The constructors here leave it off.
    pub to_webhooks: bool,
    /// Further events the same change is, for webhooks only (an update that resolves its
    /// incident is also `incident.resolved`): each becomes a notice of its own, with this
    /// one's texts, for the webhooks that want it.
    pub also: Vec<EventKind>,
}

impl Notice {
    /// The webhook-only notices of [`Notice::also`], when this one goes to webhooks.
    pub fn also_notices(&self) -> Vec<Notice> {
        if !self.to_webhooks {
            return Vec::new();
        }
        self.also
            .iter()
            .map(|&event| Notice {
                event,
                audience: Audience::Nobody,
                subject: self.subject.clone(),
                text: self.text.clone(),
                html: self.html.clone(),
                to_webhooks: true,
                also: Vec::new(),
            })
            .collect()
    }
}

/// A notice as the outbox keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct NoticeRecord {
    /// Id.
    pub id: NoticeId,
    /// What happened.
    pub event: EventKind,
    /// The id of what it is about (the incident, component, schedule or subscriber), set by
    /// the store that wrote the change.
    pub entity_id: Option<i64>,
    /// Mail subject.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: SafeHtml,
    /// When the change was made.
    pub created_at: DateTime<Utc>,
}

/// Whom one delivery goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// A subscriber, by mail.
    Subscriber(SubscriberId),
    /// A webhook endpoint.
    Webhook(WebhookId),
}

impl Target {
    /// The channel that sends to it.
    pub fn channel(self) -> Channel {
        match self {
            Target::Subscriber(_) => Channel::Mail,
            Target::Webhook(_) => Channel::Webhook,
        }
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Waiting for its first attempt or for a retry (`next_attempt_at`).
    Pending,
    /// Sent.
    Delivered,
    /// Given up after the last attempt, or refused for good (`last_error` says why).
    Failed,
    /// Not sent because its recipient no longer exists or no longer wants it.
    Dropped,
}

impl DeliveryState {
    /// Every state.
    pub const ALL: [DeliveryState; 4] = [
        DeliveryState::Pending,
        DeliveryState::Delivered,
        DeliveryState::Failed,
        DeliveryState::Dropped,
    ];

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
            DeliveryState::Dropped => "dropped",
        }
    }

    /// The state named `name`, if any.
    pub fn parse(name: &str) -> Option<DeliveryState> {
        DeliveryState::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// One delivery of a notice to one recipient.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Id.
    pub id: DeliveryId,
    /// What is delivered.
    pub notice: NoticeRecord,
    /// To whom.
    pub target: Target,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts begun so far (a claim counts as one).
    pub attempts: u32,
    /// When it is due (for a pending one).
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was sent.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

/// Which deliveries a worker sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// Mail to subscribers.
    Mail,
    /// Posts to webhooks.
    Webhook,
}

/// A worker's request for due deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// A random token naming this claim; only its holder may record the outcome.
    pub token: String,
    /// The time the claim is made at: pending deliveries due by then, not held by an
    /// unexpired claim, are taken.
    pub now: DateTime<Utc>,
    /// Until when the claimed deliveries are held. A worker that dies lets them go at this
    /// time, and another worker takes them again.
    pub lease_until: DateTime<Utc>,
    /// At most this many.
    pub limit: u32,
    /// Of this channel only (a worker without a mailer still sends webhooks).
    pub channel: Channel,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Sent at this time.
    Delivered(DateTime<Utc>),
    /// Failed; try again at `at`.
    Retry {
        /// When.
        at: DateTime<Utc>,
        /// What went wrong.
        error: String,
    },
    /// Failed for good.
    Failed(String),
    /// Not sent, and never will be (the recipient is gone).
    Dropped(String),
}

/// The longest error text kept for a delivery.
pub const MAX_ERROR_CHARS: usize = 500;

impl Outcome {
    /// The error text cut to [`MAX_ERROR_CHARS`], for storage.
    pub fn error(&self) -> Option<String> {
        match self {
            Outcome::Delivered(_) => None,
            Outcome::Retry { error, .. } | Outcome::Failed(error) | Outcome::Dropped(error) => {
                Some(error.chars().take(MAX_ERROR_CHARS).collect())
            }
        }
    }

    /// When it was sent, for a delivered one.
    pub fn delivered_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Outcome::Delivered(at) => Some(*at),
            _ => None,
        }
    }

    /// When it is due again, for a retry.
    pub fn retry_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Outcome::Retry { at, .. } => Some(*at),
            _ => None,
        }
    }

    /// The state a delivery is left in.
    pub fn state(&self) -> DeliveryState {
        match self {
            Outcome::Delivered(_) => DeliveryState::Delivered,
            Outcome::Retry { .. } => DeliveryState::Pending,
            Outcome::Failed(_) => DeliveryState::Failed,
            Outcome::Dropped(_) => DeliveryState::Dropped,
        }
    }
}

/// When failed deliveries are tried again: exponential backoff from `first_delay`, doubling
/// up to `max_delay`, for at most `max_attempts` attempts in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all before a delivery is marked failed (at least 1).
    pub max_attempts: u32,
    /// Wait after the first failure.
    pub first_delay: Duration,
    /// The longest wait.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 10 attempts, from 30 seconds up to an hour apart: about 4 hours in all.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            first_delay: Duration::seconds(30),
            max_delay: Duration::hours(1),
        }
    }
}

impl RetryPolicy {
    /// The wait after attempt number `attempts` (1-based) failed.
    pub fn delay(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(30);
        let first = self.first_delay.num_milliseconds().max(1);
        let ms = first.saturating_mul(1_i64 << doublings);
        Duration::milliseconds(ms).min(self.max_delay)
    }

    /// The outcome of a failed attempt number `attempts` at `now`: another try later, or,
    /// after the last attempt or for a `permanent` error, failed for good.
    pub fn after_failure(
        &self,
        attempts: u32,
        now: DateTime<Utc>,
        error: String,
        permanent: bool,
    ) -> Outcome {
        if permanent || attempts >= self.max_attempts.max(1) {
            Outcome::Failed(error)
        } else {
            Outcome::Retry {
                at: now + self.delay(attempts),
                error,
            }
        }
    }
}

// ---- the messages

/// The page a notice links to and the words around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// The status page's name (setting `app_name`).
    pub name: String,
    /// Its absolute base URL, without a trailing slash (setting `app_url`); empty when
    /// not configured, and then mails carry no links but the signed ones the worker adds
    /// from its own base URL.
    pub url: String,
}

fn html_text(out: &mut String, tag: &str, text: &str) {
    let _ = write!(out, "<{tag}>");
    escape_html(text, out);
    let _ = write!(out, "</{tag}>");
}

/// What an incident notice tells about the incident.
#[derive(Debug, Clone, Copy)]
pub struct IncidentText<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its status (of the update, for an update).
    pub status: IncidentStatus,
    /// The affected component's name and the impact on it.
    pub component: Option<(&'a str, Option<ComponentStatus>)>,
    /// The message's markdown source.
    pub message_source: &'a str,
    /// The message rendered.
    pub message_html: &'a SafeHtml,
}

/// The notice for a new incident, or for an update posted to one (`event`).
pub fn incident_notice(
    site: &Site,
    event: EventKind,
    audience: Audience,
    incident: &IncidentText<'_>,
) -> Notice {
    let IncidentText {
        name,
        status,
        component,
        message_source,
        message_html,
    } = *incident;
    let status = status.label();
    let lead = match event {
        EventKind::UpdatePosted => "Incident update",
        _ => "New incident",
    };
    let subject = one_line(&format!("[{}] {name}: {status}", site.name));
    let mut text = format!("{lead}: {name}\nStatus: {status}\n");
    let mut html = String::new();
    html_text(&mut html, "h1", name);
    html_text(&mut html, "p", &format!("{lead}. Status: {status}"));
    if let Some((component, impact)) = component {
        let affects = match impact {
            Some(i) => format!("Affects: {component} ({})", i.label()),
            None => format!("Affects: {component}"),
        };
        let _ = writeln!(text, "{affects}");
        html_text(&mut html, "p", &affects);
    }
    let _ = write!(text, "\n{}\n", message_source.trim_end());
    html.push_str(message_html.as_str());
    Notice {
        event,
        audience,
        subject,
        text,
        html: sanitize(&html),
        to_webhooks: false,
        also: Vec::new(),
    }
}

/// The notice for a component whose status changes to `status`.
pub fn component_notice(
    site: &Site,
    audience: Audience,
    name: &str,
    status: ComponentStatus,
) -> Notice {
    let status = status.label();
    let line = format!("{name} is now: {status}");
    let mut html = String::new();
    html_text(&mut html, "h1", name);
    html_text(&mut html, "p", &format!("Status: {status}"));
    Notice {
        event: EventKind::ComponentStatusChanged,
        audience,
        subject: one_line(&format!("[{}] {line}", site.name)),
        text: format!("{line}\n"),
        html: sanitize(&html),
        to_webhooks: false,
        also: Vec::new(),
    }
}

/// The notice for a maintenance window scheduled at `at` (written in the display zone by
/// the caller).
pub fn schedule_notice(
    site: &Site,
    audience: Audience,
    name: &str,
    at: &str,
    message: Option<(&str, &SafeHtml)>,
) -> Notice {
    let line = format!("Scheduled maintenance: {name}");
    let mut text = format!("{line}\nStarts: {at}\n");
    let mut html = String::new();
    html_text(&mut html, "h1", name);
    html_text(
        &mut html,
        "p",
        &format!("Scheduled maintenance, starting {at}"),
    );
    if let Some((source, rendered)) = message {
        let _ = write!(text, "\n{}\n", source.trim_end());
        html.push_str(rendered.as_str());
    }
    Notice {
        event: EventKind::MaintenanceScheduled,
        audience,
        subject: one_line(&format!("[{}] {line}", site.name)),
        text,
        html: sanitize(&html),
        to_webhooks: false,
        also: Vec::new(),
    }
}

/// The verification mail for a new subscriber (the worker adds the signed link).
pub fn verification_notice(site: &Site) -> Notice {
    let line = format!("Confirm your subscription to {}", site.name);
    let body = format!(
        "Someone (we hope you) asked for status updates from {} to be sent to this address. \
         Open the link below to confirm. If it was not you, ignore this mail: nothing will \
         be sent.",
        site.name
    );
    let text = format!("{line}\n\n{body}\n");
    let mut html = String::new();
    html_text(&mut html, "h1", &line);
    html_text(&mut html, "p", &body);
    Notice {
        event: EventKind::SubscriberCreated,
        audience: Audience::NewSubscriber,
        subject: one_line(&format!("[{}] {line}", site.name)),
        text,
        html: sanitize(&html),
        to_webhooks: false,
        also: Vec::new(),
    }
}

/// The mail to the owner of an address someone asked to subscribe again: their links
/// (added by the worker), and nothing that says who asked.
pub fn links_notice(site: &Site, subscriber: SubscriberId) -> Notice {
    let line = format!("Your subscription to {}", site.name);
    let text = format!(
        "{line}\n\nSomeone asked for status updates from {} to be sent to this address, which \
         is subscribed already. Nothing has changed. Use the links below to choose what you \
         receive or to unsubscribe.\n",
        site.name
    );
    let mut html = String::new();
    html_text(&mut html, "h1", &line);
    html_text(
        &mut html,
        "p",
        "Someone asked for status updates to be sent to this address, which is subscribed \
         already. Nothing has changed. Use the links below to choose what you receive or to \
         unsubscribe.",
    );
    Notice {
        event: EventKind::LinksRequested,
        audience: Audience::Subscriber(subscriber),
        subject: one_line(&format!("[{}] {line}", site.name)),
        text,
        html: sanitize(&html),
        to_webhooks: false,
        also: Vec::new(),
    }
}

/// The notice of a maintenance window that started or completed, for webhooks only (Cachet
/// mails subscribers when a window is scheduled, not when it runs).
pub fn maintenance_notice(site: &Site, event: EventKind, name: &str) -> Notice {
    let line = match event {
        EventKind::MaintenanceStarted => format!("Maintenance started: {name}"),
        EventKind::MaintenanceCompleted => format!("Maintenance completed: {name}"),
        _ => format!("Maintenance: {name}"),
    };
    let mut html = String::new();
    html_text(&mut html, "p", &line);
    Notice {
        event,
        audience: Audience::Nobody,
        subject: one_line(&format!("[{}] {line}", site.name)),
        text: format!("{line}\n"),
        html: sanitize(&html),
        to_webhooks: true,
        also: Vec::new(),
    }
}

/// The notice of a subscriber's own step (`subscriber.verified`, `subscriber.unsubscribed`),
/// for webhooks only: it names no address (the body's data is the subscriber's id).
pub fn subscriber_event_notice(site: &Site, event: EventKind) -> Notice {
    let line = match event {
        EventKind::SubscriberVerified => "A subscriber confirmed their address",
        EventKind::SubscriberUnsubscribed => "A subscriber unsubscribed",
        _ => "A subscriber changed",
    };
    let mut html = String::new();
    html_text(&mut html, "p", line);
    Notice {
        event,
        audience: Audience::Nobody,
        subject: one_line(&format!("[{}] {line}", site.name)),
        text: format!("{line}.\n"),
        html: sanitize(&html),
        to_webhooks: true,
        also: Vec::new(),
    }
}

/// A mail subject never spans lines (a header injection otherwise).
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

// ---- signed links

/// What a signed subscriber link may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Confirm the address (`/subscribe/verify/{token}`).
    Verify,
    /// Choose components (`/subscribe/manage/{token}`).
    Manage,
    /// Leave (`/subscribe/unsubscribe/{token}`, also the `List-Unsubscribe` header).
    Unsubscribe,
}

impl LinkPurpose {
    fn label(self) -> &'static str {
        match self {
            LinkPurpose::Verify => "subscriber.verify",
            LinkPurpose::Manage => "subscriber.manage",
            LinkPurpose::Unsubscribe => "subscriber.unsubscribe",
        }
    }

    /// How long a link made now stays good.
    pub fn lifetime(self) -> Duration {
        match self {
            LinkPurpose::Verify => Duration::hours(48),
            LinkPurpose::Manage | LinkPurpose::Unsubscribe => Duration::days(60),
        }
    }
}

/// A signed link token for one subscriber: `{id}.{expiry}.{mac}`, the MAC (HMAC-SHA256 under
/// the data key) over the purpose, the subscriber's id and creation time, and the expiry.
/// Binding the creation time means a token for a deleted subscriber never works for a
/// later one that got the same id.
pub fn link_token(
    key: &DataKey,
    purpose: LinkPurpose,
    subscriber: SubscriberId,
    subscriber_created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> String {
    let expiry = expires_at.timestamp();
    let mac = key.sign(
        purpose.label(),
        &link_message(subscriber, subscriber_created_at, expiry),
    );
    format!("{}.{expiry}.{mac}", subscriber.get())
}

fn link_message(subscriber: SubscriberId, created_at: DateTime<Utc>, expiry: i64) -> String {
    format!(
        "{}\0{}\0{expiry}",
        subscriber.get(),
        created_at.timestamp_micros()
    )
}

/// Why a link token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not a token, or not signed by this page, or for another purpose or subscriber.
    #[error("the link is not valid")]
    Invalid,
    /// It was good, but its time is over.
    #[error("the link has expired")]
    Expired,
}

/// The subscriber id a token claims, before it is checked (to load the subscriber whose
/// creation time [`check_link`] needs).
pub fn link_subscriber(token: &str) -> Option<SubscriberId> {
    let id = token.split('.').next()?;
    if !canonical_number(id) || id.len() > 19 {
        return None;
    }
    id.parse().ok().map(SubscriberId)
}

/// Digits only, and no leading zero (but "0" itself).
fn canonical_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
}

/// Checks a token made by [`link_token`] for `purpose` and this subscriber at `now`.
///
/// # Errors
/// [`LinkError::Invalid`] for anything not signed for exactly this; [`LinkError::Expired`]
/// for a genuine token past its expiry.
pub fn check_link(
    key: &DataKey,
    token: &str,
    purpose: LinkPurpose,
    subscriber: SubscriberId,
    subscriber_created_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), LinkError> {
    let mut parts = token.split('.');
    let (Some(id), Some(expiry), Some(mac), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(LinkError::Invalid);
    };
    if link_subscriber(id) != Some(subscriber) {
        return Err(LinkError::Invalid);
    }
    // One spelling per token: digits only, no leading zero (a token is compared as made).
    let expiry: i64 = match expiry.parse() {
        Ok(e) if canonical_number(expiry) => e,
        _ => return Err(LinkError::Invalid),
    };
    let message = link_message(subscriber, subscriber_created_at, expiry);
    if !key.verify_signature(purpose.label(), &message, mac) {
        return Err(LinkError::Invalid);
    }
    if now.timestamp() >= expiry {
        return Err(LinkError::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(s, 0).unwrap()
    }

    #[test]
    fn event_names_round_trip_and_are_distinct() {
        let mut names: Vec<_> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EventKind::ALL.len());
        assert_eq!(EventKind::parse("incident.deleted"), None);
    }

    #[test]
    fn mails_link_the_page_of_what_they_tell() {
        let base = "https://status.example.com";
        let page = |e, id| page_of(base, e, id);
        assert_eq!(
            page(EventKind::IncidentCreated, Some(7)).as_deref(),
            Some("https://status.example.com/incidents/7")
        );
        assert_eq!(
            page(EventKind::UpdatePosted, Some(7)).as_deref(),
            Some("https://status.example.com/incidents/7")
        );
        assert_eq!(
            page(EventKind::ComponentStatusChanged, Some(3)).as_deref(),
            Some("https://status.example.com/components/3")
        );
        assert_eq!(
            page(EventKind::MaintenanceScheduled, Some(2)).as_deref(),
            Some("https://status.example.com/")
        );
        assert_eq!(page(EventKind::IncidentCreated, None), None);
        assert_eq!(page(EventKind::SubscriberCreated, Some(1)), None);
        assert_eq!(page(EventKind::LinksRequested, Some(1)), None);
    }

    #[test]
    fn the_verification_mail_says_the_same_in_both_parts() {
        let n = verification_notice(&Site {
            name: "Acme <Status>".into(),
            url: String::new(),
        });
        let asked = "asked for status updates from Acme <Status> to be sent";
        assert!(n.text.contains(asked), "{}", n.text);
        let escaped = "asked for status updates from Acme &lt;Status&gt; to be sent";
        assert!(n.html.as_str().contains(escaped), "{}", n.html.as_str());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_then_gives_up() {
        let p = RetryPolicy {
            max_attempts: 5,
            first_delay: Duration::seconds(10),
            max_delay: Duration::seconds(45),
        };
        assert_eq!(p.delay(1), Duration::seconds(10));
        assert_eq!(p.delay(2), Duration::seconds(20));
        assert_eq!(p.delay(3), Duration::seconds(40));
        assert_eq!(p.delay(4), Duration::seconds(45));
        assert_eq!(p.delay(u32::MAX), Duration::seconds(45));
        let now = t(1_000);
        assert_eq!(
            p.after_failure(2, now, "refused".into(), false),
            Outcome::Retry {
                at: t(1_020),
                error: "refused".into()
            }
        );
        assert_eq!(
            p.after_failure(5, now, "refused".into(), false),
            Outcome::Failed("refused".into())
        );
        assert_eq!(
            p.after_failure(1, now, "no such user".into(), true),
            Outcome::Failed("no such user".into())
        );
    }

    #[test]
    fn stored_errors_are_cut() {
        let long = "x".repeat(MAX_ERROR_CHARS * 2);
        let o = Outcome::Failed(long);
        assert_eq!(o.error().unwrap().chars().count(), MAX_ERROR_CHARS);
        assert_eq!(Outcome::Delivered(t(0)).error(), None);
    }

    #[test]
    fn link_tokens_bind_purpose_subscriber_creation_and_expiry() {
        let (key, _) = DataKey::generate();
        let (other_key, _) = DataKey::generate();
        let sid = SubscriberId(7);
        let born = t(500);
        let now = t(1_000);
        let token = link_token(&key, LinkPurpose::Manage, sid, born, t(2_000));
        assert_eq!(link_subscriber(&token), Some(sid));
        assert_eq!(
            check_link(&key, &token, LinkPurpose::Manage, sid, born, now),
            Ok(())
        );
        // Another purpose, subscriber, incarnation or key.
        for (k, p, s, b) in [
            (&key, LinkPurpose::Unsubscribe, sid, born),
            (&key, LinkPurpose::Manage, SubscriberId(8), born),
            (&key, LinkPurpose::Manage, sid, t(501)),
            (&other_key, LinkPurpose::Manage, sid, born),
        ] {
            assert_eq!(check_link(k, &token, p, s, b, now), Err(LinkError::Invalid));
        }
        // Expired, and a later expiry written in by hand.
        assert_eq!(
            check_link(&key, &token, LinkPurpose::Manage, sid, born, t(2_000)),
            Err(LinkError::Expired)
        );
        let mut parts: Vec<&str> = token.split('.').collect();
        parts[1] = "9999999999";
        let forged = parts.join(".");
        assert_eq!(
            check_link(&key, &forged, LinkPurpose::Manage, sid, born, now),
            Err(LinkError::Invalid)
        );
        for junk in [
            "",
            "7",
            "7.2000",
            "7.2000.",
            "x.2000.abc",
            "7.-1.abc",
            "7.2000.abc.d",
        ] {
            assert_eq!(
                check_link(&key, junk, LinkPurpose::Manage, sid, born, now),
                Err(LinkError::Invalid),
                "{junk:?}"
            );
        }
        // Leading zeros on a genuine token's numbers (review finding): another spelling.
        let parts: Vec<&str> = token.split('.').collect();
        for respelled in [
            format!("0{}.{}.{}", parts[0], parts[1], parts[2]),
            format!("{}.00{}.{}", parts[0], parts[1], parts[2]),
        ] {
            assert_eq!(
                link_subscriber(&respelled).is_some(),
                !respelled.starts_with('0')
            );
            assert_eq!(
                check_link(&key, &respelled, LinkPurpose::Manage, sid, born, now),
                Err(LinkError::Invalid),
                "{respelled}"
            );
        }
        for junk in ["-", "+7.2000.x"] {
            assert_eq!(
                check_link(&key, junk, LinkPurpose::Manage, sid, born, now),
                Err(LinkError::Invalid),
                "{junk:?}"
            );
        }
    }

    #[test]
    fn messages_escape_names_and_keep_subjects_on_one_line() {
        let site = Site {
            name: "Acme".into(),
            url: String::new(),
        };
        let html = crate::markdown::render("**down**").unwrap();
        let n = incident_notice(
            &site,
            EventKind::IncidentCreated,
            Audience::Subscribers(vec![]),
            &IncidentText {
                name: "API <b>\r\nBcc: x@evil",
                status: IncidentStatus::Identified,
                component: Some(("Payments", Some(ComponentStatus::MajorOutage))),
                message_source: "**down**",
                message_html: &html,
            },
        );
        assert!(!n.subject.contains('\n') && !n.subject.contains('\r'));
        assert!(n.subject.starts_with("[Acme] API <b>"), "{}", n.subject);
        assert!(n.subject.ends_with(": Identified"), "{}", n.subject);
        assert!(n.text.contains("Status: Identified"));
        assert!(n.text.contains("Affects: Payments (Major Outage)"));
        assert!(n.text.contains("**down**"));
        assert!(n.html.as_str().contains("API &lt;b&gt;"));
        assert!(n.html.as_str().contains("<strong>down</strong>"));
        let c = component_notice(
            &site,
            Audience::Nobody,
            "DB",
            ComponentStatus::PartialOutage,
        );
        assert_eq!(c.subject, "[Acme] DB is now: Partial Outage");
    }
}

// ---- the mail a delivery sends

/// One mail, ready for a [`crate::notify`] transport: everything a delivery to one
/// subscriber says, with the links signed for that subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The recipient's address.
    pub to: String,
    /// Subject (one line).
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part (sanitized parts only).
    pub html: String,
    /// The signed unsubscribe link, for the `List-Unsubscribe` header (RFC 2369) and the
    /// one-click `List-Unsubscribe-Post` (RFC 8058).
    pub unsubscribe_url: String,
    /// A stable `Message-ID` local part for this delivery: a retry after a crash sends the
    /// same id, so a receiving system can tell a repeat.
    pub message_id: String,
}

/// The signed links of one subscriber, made at delivery time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    /// Confirm the address (only in a verification mail).
    pub verify: Option<String>,
    /// Choose components.
    pub manage: String,
    /// Leave.
    pub unsubscribe: String,
    /// The status page's page of what the mail is about (see [`page_of`]).
    pub page: Option<String>,
}

/// The public page of what a notice is about, under `base`: an incident's page, a
/// component's page, the status page itself for maintenance; None for mails about the
/// subscription.
pub fn page_of(base: &str, event: EventKind, entity: Option<i64>) -> Option<String> {
    match event {
        EventKind::IncidentCreated
        | EventKind::IncidentUpdated
        | EventKind::IncidentResolved
        | EventKind::UpdatePosted => entity.map(|id| format!("{base}/incidents/{id}")),
        EventKind::ComponentStatusChanged => entity.map(|id| format!("{base}/components/{id}")),
        EventKind::MaintenanceScheduled
        | EventKind::MaintenanceStarted
        | EventKind::MaintenanceCompleted => Some(format!("{base}/")),
        EventKind::SubscriberCreated
        | EventKind::SubscriberVerified
        | EventKind::SubscriberUnsubscribed
        | EventKind::LinksRequested => None,
    }
}

impl Links {
    /// The links for subscriber `id` (created at `created_at`) under `base` (the status
    /// page's absolute URL, no trailing slash), signed with `key` at `now`; with the
    /// verification link when `verify`.
    pub fn sign(
        key: &DataKey,
        base: &str,
        id: SubscriberId,
        created_at: DateTime<Utc>,
        now: DateTime<Utc>,
        verify: bool,
    ) -> Links {
        let link = |purpose: LinkPurpose, path: &str| {
            let token = link_token(key, purpose, id, created_at, now + purpose.lifetime());
            format!("{base}/subscribe/{path}/{token}")
        };
        Links {
            verify: verify.then(|| link(LinkPurpose::Verify, "verify")),
            manage: link(LinkPurpose::Manage, "manage"),
            unsubscribe: link(LinkPurpose::Unsubscribe, "unsubscribe"),
            page: None,
        }
    }
}

/// The mail delivery `delivery` sends to `to`: the notice with a footer of the signed links.
pub fn compose(delivery: &Delivery, to: &str, links: &Links) -> Mail {
    let n = &delivery.notice;
    let mut text = n.text.clone();
    let mut html = n.html.as_str().to_owned();
    // A link of its own: a labelled line in the text, a paragraph in the HTML.
    let mut paragraph = |url: &str, label: &str, words: &str| {
        let _ = write!(text, "\n{label}: {url}\n");
        html.push_str("<p><a href=\"");
        escape_html(url, &mut html);
        let _ = write!(html, "\">{words}</a></p>");
    };
    if let Some(page) = &links.page {
        paragraph(page, "More on the status page", "More on the status page");
    }
    if let Some(verify) = &links.verify {
        paragraph(verify, "Confirm", "Confirm your subscription");
    }
    let _ = write!(
        text,
        "\n--\nChoose what you receive: {}\nUnsubscribe: {}\n",
        links.manage, links.unsubscribe
    );
    html.push_str("<hr><p><a href=\"");
    escape_html(&links.manage, &mut html);
    html.push_str("\">Choose what you receive</a> · <a href=\"");
    escape_html(&links.unsubscribe, &mut html);
    html.push_str("\">Unsubscribe</a></p>");
    Mail {
        to: to.to_owned(),
        subject: n.subject.clone(),
        text,
        html,
        unsubscribe_url: links.unsubscribe.clone(),
        message_id: format!("delivery-{}.notice-{}", delivery.id.get(), n.id.get()),
    }
}
