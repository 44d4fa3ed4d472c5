//! The delivery worker: claims due deliveries, sends them, records the outcome.

use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use cachet_core::notify::{Claim, Delivery, Outcome, RetryPolicy};
use cachet_core::service::Outgoing;
use cachet_core::StatusPage;
use chrono::Utc;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::mailer::{Mailer, SendError};

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
    /// the lease ends), so no delivery is ever sent under an expired claim.
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

/// Takes deliveries out of the outbox and sends them.
pub struct Worker {
    page: Arc<StatusPage>,
    mailer: Arc<dyn Mailer>,
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
    /// A worker for `page`'s outbox sending through `mailer`.
    pub fn new(page: Arc<StatusPage>, mailer: Arc<dyn Mailer>, config: WorkerConfig) -> Worker {
        Worker {
            global: RateLimiter::direct(Quota::per_second(config.global_per_second)),
            per_recipient: RateLimiter::keyed(Quota::per_hour(config.per_recipient_per_hour)),
            page,
            mailer,
            config,
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
            })
            .await?;
        for (sent, delivery) in claimed.iter().enumerate() {
            if Utc::now() + send_timeout >= lease_until {
                tracing::warn!(
                    left = claimed.len() - sent,
                    "the claim's lease runs out; the rest of the batch is taken again later"
                );
                break;
            }
            let outcome = self.attempt(delivery).await?;
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

    async fn attempt(&self, delivery: &Delivery) -> Result<Outcome, cachet_core::Error> {
        let now = Utc::now();
        let mail = match self
            .page
            .outgoing(delivery, &self.config.base_url, now)
            .await?
        {
            Outgoing::Mail(mail) => mail,
            Outgoing::Drop(reason) => return Ok(Outcome::Dropped(reason)),
        };
        if let Err(not_until) = self.per_recipient.check_key(&mail.to) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let at = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1));
            return Ok(Outcome::Retry {
                at,
                error: "put off: the address had its mails for this hour".into(),
            });
        }
        self.global.until_ready().await;
        let sent = tokio::time::timeout(self.config.send_timeout, self.mailer.send(&mail))
            .await
            .unwrap_or_else(|_| Err(SendError::Transient("the send timed out".into())));
        let outcome = match sent {
            Ok(()) => Outcome::Delivered(Utc::now()),
            Err(SendError::Permanent(e)) => {
                self.config
                    .retry
                    .after_failure(delivery.attempts, now, e, true)
            }
            Err(SendError::Transient(e)) => {
                tracing::warn!(delivery = delivery.id.get(), attempts = delivery.attempts, error = %e, "mail not sent; will retry");
                self.config
                    .retry
                    .after_failure(delivery.attempts, now, e, false)
            }
        };
        Ok(outcome)
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
