//! The delivery worker: claims due deliveries, sends them, records the outcome.

use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use cachet_core::notify::{Channel, Claim, Delivery, Outcome, RetryPolicy};
use cachet_core::service::Outgoing;
use cachet_core::webhook::Payloads;
use cachet_core::StatusPage;
use chrono::Utc;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::mailer::{Mailer, SendError};
use crate::webhook::WebhookSender;

/// How a [`Worker`] works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConfig {
    /// The status page's absolute URL, for the links in mail when the `app_url` setting is
    /// empty.
    pub base_url: String,
    /// Deliveries claimed at once.
    pub batch: u32,
    /// How long a claim holds its deliveries. A worker that dies lets them go after this;
    /// one that runs short of it sends no more of the batch (the rest are taken again when
    /// the lease ends), so no delivery is ever sent under an expired claim. At least two
    /// `send_timeout`s (a shorter one is lengthened).
    pub lease: Duration,
    /// The longest one send may take; a mailer that takes longer is cut off (a transient
    /// failure, retried).
    pub send_timeout: Duration,
    /// The pause when nothing is due.
    pub idle_poll: Duration,
    /// When failures are retried and when given up.
    pub retry: RetryPolicy,
    /// Mails per second from this worker, in all.
    pub global_per_second: NonZeroU32,
    /// Mails per hour to one address; more are put off (and retried) until the hour allows.
    pub per_recipient_per_hour: NonZeroU32,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            base_url: String::new(),
            batch: 50,
            lease: Duration::from_secs(120),
            send_timeout: Duration::from_secs(30),
            idle_poll: Duration::from_secs(2),
            retry: RetryPolicy::default(),
            global_per_second: NonZeroU32::new(20).unwrap_or(NonZeroU32::MIN),
            per_recipient_per_hour: NonZeroU32::new(30).unwrap_or(NonZeroU32::MIN),
        }
    }
}

/// What a worker sends through.
enum Sends {
    Mail(Arc<dyn Mailer>),
    Webhooks {
        sender: WebhookSender,
        payloads: Arc<dyn Payloads>,
    },
}

/// Takes deliveries of one channel (mail, or webhooks) out of the outbox and sends them.
pub struct Worker {
    page: Arc<StatusPage>,
    sends: Sends,
    config: WorkerConfig,
    global: DefaultDirectRateLimiter,
    per_recipient: DefaultKeyedRateLimiter<String>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker for the mail of `page`'s outbox, sending through `mailer`.
    pub fn new(page: Arc<StatusPage>, mailer: Arc<dyn Mailer>, config: WorkerConfig) -> Worker {
        Worker::build(page, Sends::Mail(mailer), config)
    }

    /// A worker for the webhook deliveries of `page`'s outbox: bodies from `payloads`
    /// (`cachet_http::WebhookPayloads`), posted by `sender`. The global and per-recipient
    /// mail rates do not apply.
    pub fn webhooks(
        page: Arc<StatusPage>,
        sender: WebhookSender,
        payloads: Arc<dyn Payloads>,
        config: WorkerConfig,
    ) -> Worker {
        Worker::build(page, Sends::Webhooks { sender, payloads }, config)
    }

    fn build(page: Arc<StatusPage>, sends: Sends, mut config: WorkerConfig) -> Worker {
        // Under a lease shorter than a send nothing could ever be sent, and the deliveries
        // would be claimed again and again.
        let floor = config.send_timeout.saturating_mul(2);
        if config.lease < floor {
            tracing::warn!(
                lease = ?config.lease,
                send_timeout = ?config.send_timeout,
                "the lease is shorter than two sends; lengthened to two"
            );
            config.lease = floor;
        }
        Worker {
            global: RateLimiter::direct(Quota::per_second(config.global_per_second)),
            per_recipient: RateLimiter::keyed(Quota::per_hour(config.per_recipient_per_hour)),
            page,
            sends,
            config,
        }
    }

    fn channel(&self) -> Channel {
        match self.sends {
            Sends::Mail(_) => Channel::Mail,
            Sends::Webhooks { .. } => Channel::Webhook,
        }
    }

    /// Claims one batch of due deliveries and sends them; returns how many it claimed.
    ///
    /// # Errors
    /// Store failures (the claimed deliveries are retried when their lease ends).
    pub async fn run_once(&self) -> Result<usize, cachet_core::Error> {
        let now = Utc::now();
        let token = format!("{:032x}", rand::random::<u128>());
        let lease = chrono::Duration::from_std(self.config.lease)
            .unwrap_or_else(|_| chrono::Duration::minutes(5));
        let lease_until = now + lease;
        let send_timeout = chrono::Duration::from_std(self.config.send_timeout)
            .unwrap_or_else(|_| chrono::Duration::seconds(30));
        let claimed = self
            .page
            .claim_deliveries(&Claim {
                token: token.clone(),
                now,
                lease_until,
                limit: self.config.batch,
                channel: self.channel(),
            })
            .await?;
        let lease = Lease {
            until: lease_until,
            send_timeout,
        };
        for (sent, delivery) in claimed.iter().enumerate() {
            let outcome = match self.attempt(delivery, &lease).await {
                Ok(Some(outcome)) => outcome,
                Ok(None) => {
                    tracing::warn!(
                        left = claimed.len() - sent,
                        "the claim's lease runs out; the rest of the batch is taken again later"
                    );
                    break;
                }
                // A store that cannot be reached is no fault of the delivery: the batch
                // stops, uncharged, and is taken again when the lease ends.
                Err(e @ cachet_core::Error::Unavailable(_)) => return Err(e),
                // One delivery that cannot be made (its row does not open with this data
                // key, its notice is gone) is a failed attempt of its own: retried, then
                // failed, never holding up the rest of the batch.
                Err(e) => {
                    tracing::warn!(delivery = delivery.id.get(), error = %e, "delivery could not be prepared");
                    self.config.retry.after_failure(
                        delivery.attempts,
                        Utc::now(),
                        format!("could not be prepared: {}", with_causes(&e)),
                        false,
                    )
                }
            };
            if !self
                .page
                .finish_delivery(delivery.id, &token, outcome)
                .await?
            {
                tracing::warn!(
                    delivery = delivery.id.get(),
                    "lease lost before the outcome was recorded"
                );
            }
        }
        Ok(claimed.len())
    }

    /// Makes one delivery; None when the lease could end before the send would: then
    /// nothing is sent, and the delivery is taken again when the lease is over.
    async fn attempt(
        &self,
        delivery: &Delivery,
        lease: &Lease,
    ) -> Result<Option<Outcome>, cachet_core::Error> {
        if !lease.outlasts_a_send() {
            return Ok(None);
        }
        let now = Utc::now();
        let outgoing = self
            .page
            .outgoing(delivery, &self.config.base_url, now)
            .await?;
        let sent = match (outgoing, &self.sends) {
            (Outgoing::Drop(reason), _) => return Ok(Some(Outcome::Dropped(reason))),
            (Outgoing::Mail(mail), Sends::Mail(mailer)) => {
                let mailbox = cachet_core::validate::mailbox_key(&mail.to);
                if let Err(not_until) = self.per_recipient.check_key(&mailbox) {
                    let wait = not_until.wait_time_from(DefaultClock::default().now());
                    let at = now
                        + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1));
                    return Ok(Some(Outcome::Retry {
                        at,
                        error: "put off: the address had its mails for this hour".into(),
                    }));
                }
                self.global.until_ready().await;
                // The wait for the global send rate may have used up the lease.
                if !lease.outlasts_a_send() {
                    return Ok(None);
                }
                self.bounded(mailer.send(&mail)).await
            }
            (Outgoing::Webhook(call), Sends::Webhooks { sender, payloads }) => {
                let body = payloads.body(delivery).await?;
                self.bounded(sender.post(
                    &call.url,
                    &call.secret,
                    call.event.as_str(),
                    delivery.id.get(),
                    Utc::now().timestamp(),
                    body,
                ))
                .await
            }
            // A claim takes one channel, so this is a delivery of the other kind in a
            // store that does not separate them: leave it for its own worker.
            (Outgoing::Mail(_) | Outgoing::Webhook(_), _) => {
                return Ok(Some(Outcome::Retry {
                    at: now,
                    error: "claimed by a worker of the other channel".into(),
                }))
            }
        };
        let outcome = match sent {
            Ok(()) => Outcome::Delivered(Utc::now()),
            Err(SendError::Permanent(e)) => {
                tracing::warn!(delivery = delivery.id.get(), error = %e, "not delivered, and never will be");
                self.config
                    .retry
                    .after_failure(delivery.attempts, now, e, true)
            }
            Err(SendError::Transient(e)) => {
                tracing::warn!(delivery = delivery.id.get(), attempts = delivery.attempts, error = %e, "not delivered; will retry");
                self.config
                    .retry
                    .after_failure(delivery.attempts, now, e, false)
            }
        };
        Ok(Some(outcome))
    }

    /// A send cut off at `send_timeout` (a transient failure).
    async fn bounded(
        &self,
        send: impl Future<Output = Result<(), SendError>>,
    ) -> Result<(), SendError> {
        tokio::time::timeout(self.config.send_timeout, send)
            .await
            .unwrap_or_else(|_| Err(SendError::Transient("the send timed out".into())))
    }

    /// Works until `shutdown` completes: a batch at a time, pausing when nothing is due.
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let pause = match self.run_once().await {
                Ok(0) => self.config.idle_poll,
                Ok(_) => Duration::ZERO,
                Err(e) => {
                    tracing::error!(error = %e, "notification delivery failed");
                    self.config.idle_poll
                }
            };
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
}

/// How long a claim holds its deliveries, and the longest a send may take.
#[derive(Debug)]
struct Lease {
    until: chrono::DateTime<Utc>,
    send_timeout: chrono::Duration,
}

impl Lease {
    /// Whether a send started now ends, at the latest, while the lease lasts: a send under
    /// an ended lease could be made twice, by this worker and by the next claim's.
    fn outlasts_a_send(&self) -> bool {
        Utc::now() + self.send_timeout < self.until
    }
}

/// An error with its causes, `outer: inner: ...`, as a delivery's last error shows it.
pub(crate) fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(err) = source {
        text.push_str(": ");
        text.push_str(&err.to_string());
        source = err.source();
    }
    text
}
