//! Errors of the core layer: one enum of meanings for the service, one for stores.
//! HTTP status mapping happens once, in `cachet-http`.

use std::fmt;

/// A boxed error source, kept (never stringified) so callers can inspect it.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// One problem with one input field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The input field's name as the caller spelled it (e.g. `"scheduled_at"`).
    pub field: String,
    /// A sentence for people, naming the field.
    pub message: String,
}

/// Every field problem of one input, collected (never just the first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationErrors {
    errors: Vec<FieldError>,
}

impl ValidationErrors {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a problem with `field`.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The recorded problems, in the order found.
    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// True when a problem with `field` was recorded.
    pub fn has(&self, field: &str) -> bool {
        self.errors.iter().any(|e| e.field == field)
    }

    /// Moves every problem of `other` into `self`.
    pub fn extend(&mut self, other: ValidationErrors) {
        self.errors.extend(other.errors);
    }

    /// `Ok(value)` when empty, else `Err(Error::Invalid(self))`.
    pub fn into_result<T>(self, value: T) -> Result<T, Error> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(Error::Invalid(self))
        }
    }

    /// A collection holding one problem.
    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut e = Self::new();
        e.add(field, message);
        e
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<&str> = self.errors.iter().map(|e| e.message.as_str()).collect();
        f.write_str(&parts.join(" "))
    }
}

impl std::error::Error for ValidationErrors {}

/// The kind of thing that was not found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    /// A component.
    Component,
    /// A component group.
    Group,
    /// An incident.
    Incident,
    /// An incident update.
    IncidentUpdate,
    /// An incident template.
    Template,
    /// A schedule.
    Schedule,
    /// A metric.
    Metric,
    /// A metric point.
    MetricPoint,
    /// A subscriber.
    Subscriber,
    /// A subscription.
    Subscription,
    /// A user.
    User,
    /// An API token.
    Token,
    /// A dashboard session.
    Session,
    /// An outbound webhook.
    Webhook,
}

impl Entity {
    /// What it is called in a message to a person.
    pub fn human_name(self) -> &'static str {
        match self {
            Entity::Component => "component",
            Entity::Group => "component group",
            Entity::Incident => "incident",
            Entity::IncidentUpdate => "incident update",
            Entity::Template => "incident template",
            Entity::Schedule => "schedule",
            Entity::Metric => "metric",
            Entity::MetricPoint => "metric point",
            Entity::Subscriber => "subscriber",
            Entity::Subscription => "subscription",
            Entity::User => "user",
            Entity::Token => "API token",
            Entity::Session => "session",
            Entity::Webhook => "webhook",
        }
    }

    /// The model name Cachet uses in its 404 detail.
    pub fn model_name(self) -> &'static str {
        match self {
            Entity::Component => "Component",
            Entity::Group => "ComponentGroup",
            Entity::Incident => "Incident",
            Entity::IncidentUpdate => "IncidentUpdate",
            Entity::Template => "IncidentTemplate",
            Entity::Schedule => "Schedule",
            Entity::Metric => "Metric",
            Entity::MetricPoint => "MetricPoint",
            Entity::Subscriber => "Subscriber",
            Entity::Subscription => "Subscription",
            Entity::User => "User",
            Entity::Token => "ApiToken",
            Entity::Session => "Session",
            Entity::Webhook => "Webhook",
        }
    }
}

/// Errors of a [`crate::Store`] backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The row addressed does not exist (or is soft-deleted).
    #[error("{} not found", .0.human_name())]
    NotFound(Entity),
    /// A uniqueness rule was violated (classified by the driver's error code, never its text).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A reference to another row is broken (classified by the driver's error code).
    #[error("invalid reference: {0}")]
    InvalidReference(String),
    /// The backend cannot be reached or is shutting down.
    #[error("store unavailable")]
    Unavailable(#[source] BoxError),
    /// Any other backend failure, with its source.
    #[error("store backend error")]
    Backend(#[source] BoxError),
}

impl StoreError {
    /// Wraps any error as a backend failure, keeping it as the source.
    pub fn backend(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Backend(Box::new(e))
    }
}

/// Errors of the [`crate::StatusPage`] service.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The thing addressed does not exist, or the actor may not know it exists.
    #[error("{} not found", .0.human_name())]
    NotFound(Entity),
    /// The input conflicts with existing data.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The input is invalid; every field problem is listed.
    #[error("invalid input: {0}")]
    Invalid(ValidationErrors),
    /// A domain rule refused the operation (e.g. an unparseable timestamp); the message says which.
    #[error("{0}")]
    Rejected(String),
    /// The actor is known but may not do this.
    #[error("forbidden")]
    Forbidden,
    /// No (valid) credentials were given where they are required.
    #[error("authentication required")]
    Unauthenticated,
    /// A sign-in failed: unknown user, wrong password, inactive user or wrong second factor.
    /// One answer for all of them, so it tells an attacker nothing.
    #[error("the username or password is incorrect")]
    SignInFailed,
    /// Too many failed sign-ins: wait before the next try.
    #[error("too many failed sign-ins; try again in {} seconds", .retry_after.as_secs().max(1))]
    Throttled {
        /// How long to wait.
        retry_after: std::time::Duration,
    },
    /// The database was set up with another data key than this instance's: starting would
    /// leave sealed values unreadable and seal new ones under the wrong key.
    #[error(
        "the data key does not match this database: it was set up with another key, which \
         its TOTP secrets, subscriber addresses and webhook secrets are sealed with"
    )]
    WrongDataKey,
    /// The backend cannot be reached.
    #[error("service unavailable")]
    Unavailable(#[source] BoxError),
    /// An unexpected backend failure, with its source.
    #[error("backend error")]
    Backend(#[source] BoxError),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(entity) => Error::NotFound(entity),
            StoreError::Conflict(m) => Error::Conflict(m),
            StoreError::InvalidReference(m) => Error::Rejected(m),
            StoreError::Unavailable(s) => Error::Unavailable(s),
            StoreError::Backend(s) => Error::Backend(s),
        }
    }
}

impl From<ValidationErrors> for Error {
    fn from(e: ValidationErrors) -> Self {
        Error::Invalid(e)
    }
}

/// Result of a service call.
pub type Result<T, E = Error> = std::result::Result<T, E>;
