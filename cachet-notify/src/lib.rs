//! Delivery of cachet-rs notifications.
//!
//! The rules (who is notified, what the mail says, how retries back off, what a signed link
//! binds) are in [`cachet_core::notify`]; the outbox rows are written by the store with the
//! change that causes them. This crate takes them out again: a [`Worker`] claims due
//! deliveries, sends each through a [`Mailer`] ([`SmtpMailer`] on lettre), and records the
//! outcome. Webhook deliveries have a worker of their own ([`Worker::webhooks`]), posting
//! signed bodies through a [`WebhookSender`] that refuses internal addresses. Run one worker
//! per channel and process; several processes on one database share the work
//! without sending a delivery twice (claims are atomic in every store).
//!
//! A process that dies mid-send lets its claims go when their lease ends; another worker
//! then sends those deliveries again with the same `Message-ID`, so at most the mails that
//! were in flight can arrive twice, and a receiving system can recognise them.

mod mailer;
mod webhook;
mod worker;

pub use mailer::{Mailer, SendError, SmtpConfig, SmtpMailer, SmtpSecurity};
pub use webhook::{system_lookup, table_lookup, Lookup, WebhookSender, DEFAULT_TIMEOUT};
pub use worker::{Worker, WorkerConfig};
