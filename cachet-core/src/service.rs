//! The `StatusPage` service: every use case validates its input, authorizes the actor,
//! renders what must be rendered, then calls ONE atomic store operation. Adapters (HTTP,
//! CLI, an embedding application) go through it and never around it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde_json::Value;

mod accounts;
mod data_key;
mod notices;
mod sessions;
mod subscribers;
mod webhooks;

pub use accounts::{Enrollment, PendingSignIn, SignIn, SignedIn, SECOND_FACTOR_WINDOW};
pub use notices::{Outgoing, WebhookCall};
pub use sessions::{ActiveSession, Resumed, SessionLimits, SessionSecret, SessionStart};
pub use subscribers::SubscriptionRequest;
pub use webhooks::WebhookSecret;

use crate::audit::{Admit, FailureBudget};
use crate::chart;
use crate::crypto::DataKey;
use crate::enums::*;
use crate::error::{Entity, Error, Result, StoreError, ValidationErrors};
use crate::ids::*;
use crate::input::*;
use crate::markdown;
use crate::model::*;
use crate::policy::{decide, Abilities, Ability, Action, Actor, Credential, Decision, Principal};
use crate::rollup::{self, Overall};
use crate::secret::{random_code, NewToken, PasswordHash, TokenHash};
use crate::settings::Settings;
use crate::store::*;
use crate::template::Template;
use crate::throttle::SignInThrottle;
use crate::validate::{self, Email};

/// How long a cached public snapshot may be served before it is rebuilt even without a
/// write (time alone changes it: a maintenance window starts).
const SNAPSHOT_TTL: StdDuration = StdDuration::from_secs(10);
/// How often an application should run [`StatusPage::apply_maintenance`]: as often as the
/// page's snapshot is rebuilt, so a window's end shows in the API and history about as
/// soon as it shows on the page.
pub const MAINTENANCE_INTERVAL: StdDuration = SNAPSHOT_TTL;
/// How often a token's `last_used_at` is written at most (no write per API request).
const TOKEN_TOUCH_INTERVAL_SECS: i64 = 60;
/// Length of a subscriber verification code.
const VERIFY_CODE_LEN: usize = 42;
/// Most status changes [`StatusPage::component_history`] returns on one page.
pub const MAX_STATUS_HISTORY: u32 = 100;

/// A component with the status it effectively shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentView {
    /// The component.
    pub component: Component,
    /// Its effective status (own status worsened by open incidents and maintenance).
    pub effective: ComponentStatus,
}

/// A group with its enabled members and roll-up.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupView {
    /// The group.
    pub group: ComponentGroup,
    /// Enabled members the actor may see, by order then id.
    pub components: Vec<ComponentView>,
    /// Worst status of the enabled members, `None` without members.
    pub status: Option<ComponentStatus>,
}

/// A group with its enabled members, for the API (`enabled_components`, `lowest_human_status`).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupDetail {
    /// The group.
    pub group: ComponentGroup,
    /// Enabled members the actor may see, by order then id.
    pub enabled_components: Vec<Component>,
    /// Worst status of those members.
    pub lowest_status: Option<ComponentStatus>,
}

/// Everything the public page shows, computed once per write (or TTL) and shared.
#[derive(Debug, Clone, PartialEq)]
pub struct PageSnapshot {
    /// Settings at build time.
    pub settings: Settings,
    /// When built.
    pub built_at: DateTime<Utc>,
    /// Banner.
    pub overall: Overall,
    /// Groups the actor may see, by order.
    pub groups: Vec<GroupView>,
    /// Ungrouped enabled components.
    pub ungrouped: Vec<ComponentView>,
    /// Unresolved incidents, stickied first, then newest.
    pub open_incidents: Vec<Incident>,
    /// Resolved incidents of the last `app_incident_days` days, newest first.
    pub recent_incidents: Vec<Incident>,
    /// Maintenance windows in progress.
    pub maintenance_now: Vec<Schedule>,
    /// Upcoming maintenance windows.
    pub maintenance_upcoming: Vec<Schedule>,
}

/// One page of the incident history: incidents newest first (by `occurred_at`, then id),
/// grouped by the day they occurred on in the display zone.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentHistory {
    /// Days newest first, each with its incidents newest first. A day can continue on the
    /// next page.
    pub days: Vec<(chrono::NaiveDate, Vec<Incident>)>,
    /// This page (1-based).
    pub page: u32,
    /// Incidents per page.
    pub per_page: u32,
    /// Incidents across all pages.
    pub total: u64,
    /// The zone the days are those of.
    pub zone: Tz,
}

impl IncidentHistory {
    /// The number of the last page (1 when there are no incidents).
    pub fn last_page(&self) -> u32 {
        let pages = self.total.div_ceil(u64::from(self.per_page.max(1))).max(1);
        u32::try_from(pages).unwrap_or(u32::MAX)
    }
}

/// Incidents on one page of [`StatusPage::incident_history`] unless asked otherwise.
pub const HISTORY_PER_PAGE: u32 = 20;
/// Most incidents on one page of [`StatusPage::incident_history`].
pub const MAX_HISTORY_PER_PAGE: u32 = 100;

/// The service. Cheap to share behind an `Arc`.
pub struct StatusPage {
    store: Arc<dyn Store>,
    settings: RwLock<Arc<Settings>>,
    generation: AtomicU64,
    guest_snapshot: RwLock<Option<(u64, Instant, Arc<PageSnapshot>)>>,
    failures: FailureBudget,
    key: DataKey,
    throttle: SignInThrottle,
    /// Completed pending sign-ins, by id, for the second-factor window (see accounts).
    used_pending: std::sync::Mutex<std::collections::HashMap<u64, DateTime<Utc>>>,
    sessions: SessionLimits,
    webhook_policy: crate::webhook::AddressPolicy,
    resends: crate::throttle::ResendGate,
}

impl std::fmt::Debug for StatusPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusPage")
            .field("generation", &self.generation.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

fn not_found_as_field(e: StoreError, entity: Entity, field: &str) -> Error {
    match e {
        StoreError::NotFound(found) if found == entity => Error::Invalid(ValidationErrors::single(
            field,
            format!("The selected {} is invalid.", validate::human(field)),
        )),
        other => other.into(),
    }
}

fn enum_field<T: TryFrom<i64>>(
    errors: &mut ValidationErrors,
    field: &str,
    value: Option<i64>,
    min: i64,
    max: i64,
) -> Option<T> {
    let v = value?;
    if v < min || v > max {
        errors.add(
            field,
            format!(
                "The {} must be between {min} and {max}.",
                validate::human(field)
            ),
        );
        return None;
    }
    T::try_from(v).ok()
}

fn required<T>(errors: &mut ValidationErrors, field: &str, value: Option<T>) -> Option<T> {
    if value.is_none() {
        errors.add(
            field,
            format!("The {} field is required.", validate::human(field)),
        );
    }
    value
}

/// Renders a message on the blocking pool: even a message at every cap takes milliseconds
/// of CPU, which an async worker serving status page visitors should not spend.
async fn render_message(
    errors: &mut ValidationErrors,
    field: &str,
    source: &str,
    image_origins: &[String],
) -> Option<Message> {
    // Text columns of PostgreSQL cannot hold NUL, and no message needs one: refused on
    // every store alike.
    if source.contains('\0') {
        errors.add(
            field,
            format!(
                "The {} may not contain NUL characters.",
                validate::human(field)
            ),
        );
        return None;
    }
    let owned = source.to_string();
    let origins = image_origins.to_vec();
    let rendered =
        match tokio::task::spawn_blocking(move || markdown::render_with(&owned, &origins)).await {
            Ok(rendered) => rendered,
            // The render panicked or the runtime is shutting down: not the input's fault, but
            // nothing may be written without its HTML either.
            Err(_) => {
                errors.add(
                    field,
                    format!("The {} could not be rendered.", validate::human(field)),
                );
                return None;
            }
        };
    match rendered {
        Ok(html) => Some(Message {
            source: source.to_string(),
            html,
        }),
        Err(e) => {
            errors.add(field, format!("The {} {e}.", validate::human(field)));
            None
        }
    }
}

fn checked_int(errors: &mut ValidationErrors, field: &str, value: Option<i64>) -> Option<i64> {
    let v = value?;
    // `unsigned_abs`: `i64::MIN` has no `abs`.
    if v.unsigned_abs() > validate::MAX_INT.unsigned_abs() {
        errors.add(
            field,
            format!(
                "The {} must be between -{m} and {m}.",
                validate::human(field),
                m = validate::MAX_INT
            ),
        );
        return None;
    }
    Some(v)
}

fn tags_from_names(errors: &mut ValidationErrors, names: &[String]) -> Vec<Tag> {
    let mut out: Vec<Tag> = Vec::new();
    if names.len() > validate::MAX_TAGS {
        errors.add(
            "tags",
            format!(
                "The tags may not have more than {} items.",
                validate::MAX_TAGS
            ),
        );
        return out;
    }
    for name in names {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        validate::name(errors, "tags", name);
        let slug = validate::slugify(name);
        if slug.is_empty() {
            errors.add(
                "tags",
                format!(
                    "The tag \"{}\" has no letters or digits.",
                    name.chars().take(40).collect::<String>()
                ),
            );
            continue;
        }
        if !out.iter().any(|t| t.slug == slug) {
            out.push(Tag {
                slug,
                name: name.to_string(),
            });
        }
    }
    out.sort();
    out
}

fn incident_meta(errors: &mut ValidationErrors, meta: &Value) -> BTreeMap<String, Option<Value>> {
    let mut out = BTreeMap::new();
    let Some(map) = meta.as_object() else {
        let empty_array = meta.as_array().is_some_and(Vec::is_empty);
        if !meta.is_null() && !empty_array {
            errors.add("meta", "The meta must be an array.");
        }
        return out;
    };
    validate::meta(errors, "meta", meta);
    for (k, v) in map {
        if k.is_empty() || k.chars().count() > validate::MAX_NAME {
            errors.add(
                "meta",
                "The meta keys must be between 1 and 255 characters.",
            );
            continue;
        }
        let empty = v.is_null() || v.as_str().is_some_and(str::is_empty);
        if !empty && v.to_string().chars().count() > validate::MAX_META_VALUE {
            errors.add(
                "meta",
                format!(
                    "The meta value of \"{}\" may not be greater than {} characters.",
                    k.chars().take(40).collect::<String>(),
                    validate::MAX_META_VALUE
                ),
            );
            continue;
        }
        out.insert(k.clone(), if empty { None } else { Some(v.clone()) });
    }
    out
}

impl StatusPage {
    /// A service over `store`, with settings loaded from it. `key` seals personal data and
    /// secrets at rest (TOTP secrets, subscriber emails): keep it outside the database, and
    /// give every instance on one database the same key.
    ///
    /// The first start binds the database to `key` (a check value among the settings);
    /// a later start with another key is refused, before anything is read or written with
    /// it. Subscribers stored before addresses were sealed are sealed here, once.
    ///
    /// # Errors
    /// `WrongDataKey` when the database belongs to another key; when the store cannot be
    /// read.
    pub async fn new(store: Arc<dyn Store>, key: DataKey) -> Result<StatusPage> {
        let pairs = store.load_settings().await?;
        let settings = Settings::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let page = StatusPage {
            store,
            settings: RwLock::new(Arc::new(settings)),
            generation: AtomicU64::new(0),
            guest_snapshot: RwLock::new(None),
            failures: FailureBudget::default(),
            key,
            throttle: SignInThrottle::default(),
            used_pending: std::sync::Mutex::new(std::collections::HashMap::new()),
            sessions: SessionLimits::default(),
            webhook_policy: crate::webhook::AddressPolicy::public_only(),
            resends: crate::throttle::ResendGate::default(),
        };
        page.bind_data_key(&pairs).await?;
        page.seal_unsealed_subscribers().await?;
        Ok(page)
    }

    /// Replaces the sign-in throttle (the default allows
    /// [`crate::throttle::ACCOUNT_FREE_FAILURES`] per account and
    /// [`crate::throttle::CLIENT_FREE_FAILURES`] per client before backing off).
    #[must_use]
    pub fn with_sign_in_throttle(mut self, throttle: SignInThrottle) -> StatusPage {
        self.throttle = throttle;
        self
    }

    /// Replaces the gate on re-sent subscription mails (default: one per mailbox per
    /// [`crate::throttle::RESEND_EVERY`]).
    #[must_use]
    pub fn with_resend_gate(mut self, gate: crate::throttle::ResendGate) -> StatusPage {
        self.resends = gate;
        self
    }

    /// The store, for adapters that need a backend-specific operation (e.g. migrations).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The current settings.
    pub fn settings(&self) -> Arc<Settings> {
        // A poisoned lock only means a panic elsewhere while holding it; the value is still whole.
        self.settings
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The zone local input times are read in: the request's, else the setting.
    pub fn zone(&self, requested: Option<Tz>) -> Tz {
        requested.unwrap_or_else(|| self.settings().app_timezone)
    }

    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    async fn authorize(&self, actor: &Actor, action: Action) -> Result<()> {
        match decide(actor, action) {
            Decision::Allow => Ok(()),
            Decision::Deny(denial) => {
                if let Actor::User(p) = actor {
                    self.audit_failure(
                        "authz.denied",
                        Some(p.user_id),
                        format!("{action:?} denied to role {}: {denial:?}", p.role.name()),
                    )
                    .await;
                    Err(Error::Forbidden)
                } else {
                    Err(Error::Unauthenticated)
                }
            }
        }
    }

    /// Records a failure within the failure budget (see [`crate::audit`]). Best effort: a
    /// failing audit write must not turn a 401 or 403 into a 500.
    async fn audit_failure(&self, kind: &'static str, user_id: Option<UserId>, detail: String) {
        let admit = self.failures.admit(kind, Instant::now());
        if let Admit::WriteAfterSummary(left_out) = admit {
            let _ = self
                .store
                .append_audit(NewAuditEntry {
                    user_id: None,
                    kind: kind.into(),
                    detail: format!(
                        "{left_out} more {kind} entries were not recorded (at most {} a minute)",
                        crate::audit::PER_WINDOW
                    ),
                })
                .await;
        }
        if admit != Admit::Drop {
            let _ = self
                .store
                .append_audit(NewAuditEntry {
                    user_id,
                    kind: kind.into(),
                    detail,
                })
                .await;
        }
    }

    async fn audit(&self, actor: &Actor, kind: &str, detail: String) -> Result<()> {
        self.store
            .append_audit(NewAuditEntry {
                user_id: actor.user_id(),
                kind: kind.into(),
                detail,
            })
            .await?;
        Ok(())
    }

    // ------------------------------------------------------------------ authentication

    /// Resolves an API token to the actor it acts as (for writes and other routes that
    /// require a token).
    ///
    /// # Errors
    /// `Unauthenticated` for an unknown, revoked or malformed token, or one whose user is
    /// inactive (each failure is audited without the token itself).
    pub async fn authenticate_token(&self, token: &str) -> Result<Actor> {
        self.resolve_token(token, true).await
    }

    /// The actor of a public read: a valid token signs the request in, anything else is a
    /// guest (never an error, as in Cachet). Failures are not audited here: public reads are
    /// anonymous traffic and must not be able to flood the audit log.
    ///
    /// # Errors
    /// Only store failures.
    pub async fn identify_reader(&self, token: Option<&str>) -> Result<Actor> {
        let Some(token) = token else {
            return Ok(Actor::Guest);
        };
        match self.resolve_token(token, false).await {
            Ok(actor) => Ok(actor),
            Err(Error::Unauthenticated) => Ok(Actor::Guest),
            Err(e) => Err(e),
        }
    }

    async fn resolve_token(&self, token: &str, audit_failures: bool) -> Result<Actor> {
        let token = token.trim();
        if token.is_empty() || token.len() > 256 {
            return Err(Error::Unauthenticated);
        }
        let hash = TokenHash::of(token);
        let found = match self.store.find_token(&hash).await {
            Ok(found) => Some(found),
            Err(StoreError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let Some((stored, user)) = found.filter(|(t, _)| t.hash == hash) else {
            if audit_failures {
                self.audit_failure("token.failed", None, "unknown API token".into())
                    .await;
            }
            return Err(Error::Unauthenticated);
        };
        let now = now();
        let expired = stored.expires_at.is_some_and(|t| t <= now);
        if stored.revoked_at.is_some() || expired || !user.active {
            if audit_failures {
                let why = if stored.revoked_at.is_some() {
                    "revoked"
                } else if expired {
                    "expired"
                } else {
                    "inactive user"
                };
                self.audit_failure(
                    "token.failed",
                    Some(user.id),
                    format!("token {} refused: {why}", stored.prefix),
                )
                .await;
            }
            return Err(Error::Unauthenticated);
        }
        if stored
            .last_used_at
            .is_none_or(|t| (now - t).num_seconds() >= TOKEN_TOUCH_INTERVAL_SECS)
        {
            let _ = self.store.touch_token(stored.id, now).await;
        }
        Ok(Actor::User(Principal {
            user_id: user.id,
            role: user.role,
            abilities: stored.abilities,
            credential: Credential::Token,
        }))
    }

    // ------------------------------------------------------------------ setup, users, tokens

    /// First-run setup: creates an admin with a random password and an API token, only if
    /// there is no admin yet (users of other roles added before the first start don't count). Returns the admin, the password and the token secret (shown once),
    /// or `None` when setup already happened.
    ///
    /// # Errors
    /// Invalid username/email, or a store failure.
    pub async fn bootstrap(
        &self,
        username: &str,
        email: &str,
    ) -> Result<Option<(User, String, String)>> {
        let mut errors = ValidationErrors::new();
        validate::name(&mut errors, "username", username);
        let email = Email::parse(email)
            .map_err(|m| ValidationErrors::single("email", format!("The email {m}.")));
        if let Err(e) = &email {
            errors.extend(e.clone());
        }
        let email = errors.into_result(email)?.map_err(Error::Invalid)?;
        let password = random_code(24);
        let hash = hash_password(password.clone()).await?;
        let token = NewToken::generate();
        let user = NewUser {
            username: username.trim().to_string(),
            email,
            password_hash: hash,
            role: Role::Admin,
        };
        // The user id is not known before the insert; the store binds the token to the new user.
        let stored = NewApiToken {
            user_id: UserId(0),
            name: "setup".into(),
            prefix: token.prefix.clone(),
            hash: token.hash,
            abilities: None,
            expires_at: None,
        };
        match self.store.bootstrap_admin(user, stored).await? {
            Some((user, _)) => {
                let _ = self
                    .audit(
                        &Actor::System,
                        "setup.admin_created",
                        format!("admin {} created", user.username),
                    )
                    .await;
                Ok(Some((user, password, token.secret)))
            }
            None => Ok(None),
        }
    }

    /// Creates a user (Admin only).
    ///
    /// # Errors
    /// `Invalid` for a bad name or email, or a password the policy refuses (see
    /// [`validate::password`]); `Conflict` when the name or email is taken.
    pub async fn create_user(&self, actor: &Actor, input: UserInput) -> Result<User> {
        self.authorize(actor, Action::WriteUsers).await?;
        let mut errors = ValidationErrors::new();
        validate::name(&mut errors, "username", &input.username);
        if input.username.contains('@') {
            // Sign-in accepts a username or an email: keep the two spaces apart.
            errors.add("username", "The username may not contain @.");
        }
        let email = Email::parse(&input.email);
        if let Err(m) = &email {
            errors.add("email", format!("The email {m}."));
        }
        validate::password(
            &mut errors,
            "password",
            &input.password,
            &[input.username.as_str(), input.email.as_str()],
        );
        let email = errors
            .into_result(email)?
            .map_err(|_| Error::Rejected("invalid email".into()))?;
        let password_hash = hash_password(input.password).await?;
        let user = self
            .store
            .create_user(NewUser {
                username: input.username.trim().to_string(),
                email,
                password_hash,
                role: input.role,
            })
            .await?;
        self.audit(
            actor,
            "user.created",
            format!(
                "user {} created with role {}",
                user.username,
                user.role.name()
            ),
        )
        .await?;
        Ok(user)
    }

    /// Finds a user by username or email (Admin only).
    ///
    /// # Errors
    /// `NotFound(User)`.
    pub async fn find_user(&self, actor: &Actor, login: &str) -> Result<User> {
        self.authorize(actor, Action::ReadUsers).await?;
        Ok(self.store.find_user(login.trim()).await?)
    }

    /// Lists users (Admin only).
    ///
    /// # Errors
    /// Store failures.
    pub async fn list_users(
        &self,
        actor: &Actor,
        q: &ListQuery<UserSort, ()>,
    ) -> Result<Page<User>> {
        self.authorize(actor, Action::ReadUsers).await?;
        Ok(self.store.list_users(q).await?)
    }

    /// Renders a message as it would be stored (same sanitizer, caps and image origins),
    /// without storing anything: the dashboard's preview. Needs a user who may write
    /// incidents.
    ///
    /// # Errors
    /// `Invalid` (field `message`) for a message the service would refuse.
    pub async fn preview_message(
        &self,
        actor: &Actor,
        source: &str,
    ) -> Result<crate::markdown::SafeHtml> {
        self.authorize(actor, Action::WriteIncident).await?;
        let mut errors = ValidationErrors::default();
        let rendered = render_message(
            &mut errors,
            "message",
            source,
            &self.settings().image_origins,
        )
        .await;
        match rendered {
            Some(m) => Ok(m.html),
            None => Err(Error::Invalid(errors)),
        }
    }

    /// Changes a user's role or active flag (Admin only; audited). A change ends the user's
    /// sessions; values equal to the stored ones change nothing (no audit entry, no
    /// sign-out).
    ///
    /// # Errors
    /// `NotFound(User)`; `Rejected` when the change would leave no active Admin.
    pub async fn update_user(
        &self,
        actor: &Actor,
        id: UserId,
        role: Option<Role>,
        active: Option<bool>,
    ) -> Result<User> {
        self.authorize(actor, Action::WriteUsers).await?;
        let before = self.store.get_user(id).await?;
        let role = role.filter(|r| *r != before.role);
        let active = active.filter(|a| *a != before.active);
        if role.is_none() && active.is_none() {
            return Ok(before);
        }
        let stays_admin =
            role.unwrap_or(before.role) == Role::Admin && active.unwrap_or(before.active);
        if before.role == Role::Admin && before.active && !stays_admin {
            self.keep_an_admin(id).await?;
        }
        let user = self
            .store
            .update_user(
                id,
                UserChanges {
                    role,
                    active,
                    ..Default::default()
                },
            )
            .await?;
        // A new role is taken up by signing in again; a deactivated user is out at once.
        self.end_user_sessions(id).await?;
        self.audit(
            actor,
            "user.updated",
            format!(
                "user {} now role {} active {}",
                user.username,
                user.role.name(),
                user.active
            ),
        )
        .await?;
        Ok(user)
    }

    /// Refuses a change that would leave no active Admin but `leaving` (nobody could manage
    /// users or settings any more, except from the command line).
    async fn keep_an_admin(&self, leaving: UserId) -> Result<()> {
        let mut page = 1;
        loop {
            let q = ListQuery::new(page, crate::store::MAX_PER_PAGE, ());
            let users = self.store.list_users(&q).await?;
            if users
                .items
                .iter()
                .any(|u| u.id != leaving && u.role == Role::Admin && u.active)
            {
                return Ok(());
            }
            if u64::from(page) * u64::from(crate::store::MAX_PER_PAGE) >= users.total {
                return Err(Error::Rejected(
                    "This is the last active admin: make another user an admin first.".into(),
                ));
            }
            page += 1;
        }
    }

    /// Creates an API token for a user (Admin only). Returns the stored token and the secret,
    /// which is shown once and never stored.
    ///
    /// # Errors
    /// `NotFound(User)`; `Invalid` for a bad name, an unknown ability or an expiry that is
    /// not in the future.
    pub async fn create_token(
        &self,
        actor: &Actor,
        user: UserId,
        input: TokenInput,
    ) -> Result<(ApiToken, String)> {
        self.authorize(actor, Action::WriteTokens).await?;
        let mut errors = ValidationErrors::new();
        validate::name(&mut errors, "name", &input.name);
        let abilities = match input.abilities.as_deref().map(Abilities::parse) {
            None => None,
            Some(Ok(set)) => Some(set),
            Some(Err(unknown)) => {
                errors.add(
                    "abilities",
                    format!(
                        "The abilities field names an unknown ability: {}. Known: {}.",
                        unknown.chars().take(64).collect::<String>(),
                        Ability::ALL.map(Ability::name).join(", ")
                    ),
                );
                None
            }
        };
        if input.expires_at.is_some_and(|t| t <= now()) {
            errors.add("expires_at", "The expires at must be a date in the future.");
        }
        errors.into_result(())?;
        // A narrowed token may only make tokens narrowed at least as far.
        if let Actor::User(Principal {
            abilities: Some(own),
            user_id,
            ..
        }) = actor
        {
            if !abilities.is_some_and(|a| a.is_subset_of(*own)) {
                self.audit_failure(
                    "authz.denied",
                    Some(*user_id),
                    "a narrowed token asked for a token with more abilities".into(),
                )
                .await;
                return Err(Error::Forbidden);
            }
        }
        let token = NewToken::generate();
        let stored = self
            .store
            .create_token(NewApiToken {
                user_id: user,
                name: input.name.trim().to_string(),
                prefix: token.prefix.clone(),
                hash: token.hash,
                abilities,
                expires_at: input.expires_at,
            })
            .await?;
        let scope = abilities.map_or_else(|| "all of the role".to_string(), |a| a.to_string());
        self.audit(
            actor,
            "token.created",
            format!(
                "token {} created for user {} (abilities: {scope})",
                stored.prefix, user
            ),
        )
        .await?;
        Ok((stored, token.secret))
    }

    /// Revokes a token (Admin only; audited).
    ///
    /// # Errors
    /// `NotFound(Token)`.
    pub async fn revoke_token(&self, actor: &Actor, id: TokenId) -> Result<ApiToken> {
        self.authorize(actor, Action::WriteTokens).await?;
        let t = self.store.revoke_token(id).await?;
        self.audit(
            actor,
            "token.revoked",
            format!("token {} revoked", t.prefix),
        )
        .await?;
        Ok(t)
    }

    /// Revokes the token whose secret or visible prefix is given (Admin only).
    ///
    /// # Errors
    /// `NotFound(Token)` when nothing matches, `Conflict` when a prefix matches several.
    pub async fn revoke_token_by_secret_or_prefix(
        &self,
        actor: &Actor,
        token: &str,
    ) -> Result<ApiToken> {
        self.authorize(actor, Action::WriteTokens).await?;
        let id = match self.store.find_token(&TokenHash::of(token.trim())).await {
            Ok((t, _)) => t.id,
            Err(StoreError::NotFound(_)) => {
                let all = self.store.list_tokens(None).await?;
                let matching: Vec<_> = all.iter().filter(|t| t.prefix == token.trim()).collect();
                match matching.as_slice() {
                    [one] => one.id,
                    [] => return Err(Error::NotFound(Entity::Token)),
                    _ => return Err(Error::Conflict("several tokens share this prefix".into())),
                }
            }
            Err(e) => return Err(e.into()),
        };
        self.revoke_token(actor, id).await
    }

    /// Lists tokens (never their secrets) of one user or all (Admin only).
    ///
    /// # Errors
    /// Store failures.
    pub async fn list_tokens(&self, actor: &Actor, user: Option<UserId>) -> Result<Vec<ApiToken>> {
        self.authorize(actor, Action::WriteTokens).await?;
        Ok(self.store.list_tokens(user).await?)
    }

    // ------------------------------------------------------------------ settings and audit

    /// Changes settings (Admin only; validated, saved atomically, audited).
    ///
    /// # Errors
    /// `Invalid` naming every bad key.
    pub async fn update_settings(
        &self,
        actor: &Actor,
        pairs: &[(String, String)],
    ) -> Result<Arc<Settings>> {
        self.authorize(actor, Action::WriteSettings).await?;
        let mut next = (*self.settings()).clone();
        let mut errors = ValidationErrors::new();
        for (k, v) in pairs {
            if let Err(e) = next.apply(k, v) {
                errors.extend(e);
            }
        }
        errors.into_result(())?;
        let stored: Vec<(String, String)> = next
            .to_pairs()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        self.store.save_settings(stored).await?;
        let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        self.audit(
            actor,
            "settings.updated",
            format!("changed {}", keys.join(", ")),
        )
        .await?;
        let next = Arc::new(next);
        *self.settings.write().unwrap_or_else(|e| e.into_inner()) = next.clone();
        self.changed();
        Ok(next)
    }

    /// Reads the audit log (Admin only).
    ///
    /// # Errors
    /// Store failures.
    pub async fn list_audit(
        &self,
        actor: &Actor,
        q: &ListQuery<AuditSort, AuditFilter>,
    ) -> Result<Page<AuditEntry>> {
        self.authorize(actor, Action::ReadAudit).await?;
        Ok(self.store.list_audit(q).await?)
    }

    // ------------------------------------------------------------------ status

    /// The overall status as the actor may see it (guests: public items only).
    ///
    /// # Errors
    /// Store failures.
    pub async fn overall_status(&self, actor: &Actor) -> Result<Overall> {
        Ok(self.snapshot(actor).await?.overall)
    }

    /// The status page snapshot for `actor`. Guests share one snapshot, rebuilt after any
    /// write through this service or after a short TTL; no rendering or aggregation runs per
    /// guest read.
    ///
    /// # Errors
    /// Store failures.
    pub async fn snapshot(&self, actor: &Actor) -> Result<Arc<PageSnapshot>> {
        let private = actor.sees_private();
        if !private {
            let generation = self.generation.load(Ordering::Acquire);
            if let Some((g, at, snap)) = self
                .guest_snapshot
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
            {
                if *g == generation && at.elapsed() < SNAPSHOT_TTL {
                    return Ok(snap.clone());
                }
            }
            let snap = Arc::new(self.build_snapshot(false).await?);
            *self
                .guest_snapshot
                .write()
                .unwrap_or_else(|e| e.into_inner()) =
                Some((generation, Instant::now(), snap.clone()));
            return Ok(snap);
        }
        Ok(Arc::new(self.build_snapshot(true).await?))
    }

    async fn build_snapshot(&self, private: bool) -> Result<PageSnapshot> {
        let settings = (*self.settings()).clone();
        let now = now();
        let since = now - Duration::days(i64::from(settings.app_incident_days));
        let ov = self.store.overview(since).await?;
        let visible_groups: Vec<&ComponentGroup> = ov
            .groups
            .iter()
            .filter(|g| private || g.visible == Visibility::Public)
            .collect();
        let group_visibility = |gid: Option<GroupId>| {
            gid.and_then(|id| ov.groups.iter().find(|g| g.id == id))
                .map(|g| g.visible)
        };
        let incidents: Vec<Incident> = ov
            .incidents
            .into_iter()
            .filter(|i| private || i.visible == Visibility::Public)
            .collect();
        let components: Vec<ComponentView> = ov
            .components
            .into_iter()
            .filter(|c| {
                (private && c.enabled)
                    || rollup::is_public_component(c.enabled, group_visibility(c.group_id))
            })
            .map(|c| {
                let effective = rollup::effective_status(&c, &incidents, &ov.schedules, now);
                ComponentView {
                    component: c,
                    effective,
                }
            })
            .collect();
        let statuses: Vec<ComponentStatus> = components.iter().map(|c| c.effective).collect();
        let unresolved = incidents.iter().any(|i| !rollup::is_resolved(i));
        let overall = rollup::overall_status(&statuses, unresolved, settings.major_outage_rate);
        let groups: Vec<GroupView> = visible_groups
            .iter()
            .map(|g| {
                let members: Vec<ComponentView> = components
                    .iter()
                    .filter(|c| c.component.group_id == Some(g.id))
                    .cloned()
                    .collect();
                let status = rollup::group_status(
                    members.iter().map(|m| (m.component.enabled, m.effective)),
                );
                GroupView {
                    group: (*g).clone(),
                    components: members,
                    status,
                }
            })
            .collect();
        let ungrouped: Vec<ComponentView> = components
            .iter()
            .filter(|c| {
                c.component
                    .group_id
                    .is_none_or(|gid| !ov.groups.iter().any(|g| g.id == gid))
            })
            .cloned()
            .collect();
        let (mut open, mut recent): (Vec<Incident>, Vec<Incident>) =
            incidents.into_iter().partition(|i| !rollup::is_resolved(i));
        open.sort_by(|a, b| {
            b.stickied
                .cmp(&a.stickied)
                .then(b.occurred_at.cmp(&a.occurred_at))
                .then(b.id.cmp(&a.id))
        });
        recent.retain(|i| i.occurred_at >= since || i.stickied);
        recent.sort_by(|a, b| b.occurred_at.cmp(&a.occurred_at).then(b.id.cmp(&a.id)));
        let (maintenance_now, maintenance_upcoming): (Vec<Schedule>, Vec<Schedule>) = ov
            .schedules
            .into_iter()
            .filter(|s| {
                s.status != ScheduleStatus::Complete && s.completed_at.is_none_or(|c| c > now)
            })
            .partition(|s| rollup::schedule_in_progress(s, now));
        Ok(PageSnapshot {
            settings,
            built_at: now,
            overall,
            groups,
            ungrouped,
            open_incidents: open,
            recent_incidents: recent,
            maintenance_now,
            maintenance_upcoming,
        })
    }

    // ------------------------------------------------------------------ components

    /// Lists components; guests see only enabled components outside private groups.
    ///
    /// # Errors
    /// Store failures; `Unauthenticated` when `always_authenticate` is on for a guest.
    pub async fn list_components(
        &self,
        actor: &Actor,
        mut q: ListQuery<ComponentSort, ComponentFilter>,
    ) -> Result<Page<Component>> {
        self.read_gate(actor).await?;
        q.filter.public_only = !actor.sees_private();
        q.filter.tags.sort_unstable();
        q.filter.tags.dedup();
        if q.filter.tags.len() > validate::MAX_TAGS {
            return Err(Error::Invalid(ValidationErrors::single(
                "tags",
                format!(
                    "The tags filter may name at most {} tags.",
                    validate::MAX_TAGS
                ),
            )));
        }
        Ok(self.store.list_components(&q).await?)
    }

    async fn read_gate(&self, actor: &Actor) -> Result<()> {
        if self.settings().always_authenticate {
            self.authorize(actor, Action::ReadPrivate).await
        } else {
            Ok(())
        }
    }

    async fn component_visible(&self, actor: &Actor, c: &Component) -> Result<bool> {
        if actor.sees_private() {
            return Ok(true);
        }
        if !c.enabled {
            return Ok(false);
        }
        match c.group_id {
            None => Ok(true),
            Some(gid) => match self.store.get_group(gid).await {
                Ok(g) => Ok(g.visible == Visibility::Public),
                Err(StoreError::NotFound(_)) => Ok(true),
                Err(e) => Err(e.into()),
            },
        }
    }

    /// Gets a component; a component guests may not see is `NotFound` for them.
    ///
    /// # Errors
    /// `NotFound(Component)`.
    pub async fn get_component(&self, actor: &Actor, id: ComponentId) -> Result<Component> {
        self.read_gate(actor).await?;
        let c = self.store.get_component(id).await?;
        if !self.component_visible(actor, &c).await? {
            return Err(Error::NotFound(Entity::Component));
        }
        Ok(c)
    }

    fn component_fields(
        &self,
        input: &ComponentInput,
        errors: &mut ValidationErrors,
        creating: bool,
    ) -> ComponentChanges {
        let mut ch = ComponentChanges::default();
        if let Some(name) = &input.name {
            validate::name(errors, "name", name);
            ch.name = Some(name.trim().to_string());
        } else if creating {
            errors.add("name", "The name field is required.");
        }
        if let Some(d) = &input.description {
            validate::text(errors, "description", d, validate::MAX_TEXT, false);
            ch.description = Some(d.trim().to_string());
        }
        if let Some(l) = &input.link {
            let l = l.trim();
            validate::link(errors, "link", l);
            ch.link = Some(l.to_string());
        }
        ch.status = enum_field(errors, "status", input.status, 0, 4);
        ch.order = checked_int(errors, "order", input.order);
        if let Some(g) = checked_int(errors, "group_id", input.group_id) {
            if g < 0 {
                errors.add("group_id", "The group id must be at least 0.");
            }
            ch.group_id = Some((g > 0).then_some(GroupId(g)));
        }
        ch.enabled = input.enabled;
        if let Some(m) = &input.meta {
            if m.is_null() {
                ch.meta = Some(None);
            } else {
                validate::meta(errors, "meta", m);
                ch.meta = Some(Some(m.clone()));
            }
        }
        if let Some(t) = &input.tags {
            ch.tags = Some(tags_from_names(errors, t));
        }
        ch
    }

    /// Creates a component (Manager+).
    ///
    /// # Errors
    /// `Invalid` with every field problem.
    pub async fn create_component(
        &self,
        actor: &Actor,
        input: ComponentInput,
    ) -> Result<Component> {
        self.authorize(actor, Action::WriteComponent).await?;
        let mut errors = ValidationErrors::new();
        let ch = self.component_fields(&input, &mut errors, true);
        errors.into_result(())?;
        let new = NewComponent {
            name: ch.name.unwrap_or_default(),
            description: ch.description.unwrap_or_default(),
            link: ch.link.unwrap_or_default(),
            status: ch.status.unwrap_or(ComponentStatus::Unknown),
            order: ch.order.unwrap_or(0),
            group_id: ch.group_id.flatten(),
            enabled: ch.enabled.unwrap_or(true),
            meta: ch.meta.flatten(),
            tags: ch.tags.unwrap_or_default(),
        };
        let c = self.store.create_component(new).await?;
        self.changed();
        Ok(c)
    }

    /// Changes a component. A Reporter may change only the status. A status change is
    /// recorded in the component's history with the source the actor's credential implies
    /// ([`StatusSource::of_actor`]: a session is the dashboard, a token the API); use
    /// [`StatusPage::update_component_from`] to name it.
    ///
    /// # Errors
    /// `NotFound(Component)`, `Invalid`, `Forbidden`.
    pub async fn update_component(
        &self,
        actor: &Actor,
        id: ComponentId,
        input: ComponentInput,
    ) -> Result<Component> {
        // Authorized in the call below, so never a guest past it; a guest gets the error
        // authorization gives.
        let source = StatusSource::of_actor(actor).unwrap_or(StatusSource::System);
        self.update_component_from(actor, id, input, source).await
    }

    /// [`StatusPage::update_component`] with the source of a status change named by the
    /// caller: the HTTP API passes [`StatusSource::Api`], a dashboard
    /// [`StatusSource::Dashboard`], whatever credential the request carried. Incident and
    /// Maintenance are recorded by those use cases only, and are refused here.
    ///
    /// # Errors
    /// `Invalid` (field `source`) for Incident or Maintenance, and as
    /// [`StatusPage::update_component`].
    pub async fn update_component_from(
        &self,
        actor: &Actor,
        id: ComponentId,
        input: ComponentInput,
        source: StatusSource,
    ) -> Result<Component> {
        let status_only = ComponentInput {
            status: input.status,
            silent: input.silent,
            ..Default::default()
        } == input;
        self.authorize(
            actor,
            if status_only {
                Action::SetComponentStatus
            } else {
                Action::WriteComponent
            },
        )
        .await?;
        let mut errors = ValidationErrors::new();
        let ch = self.component_fields(&input, &mut errors, false);
        if matches!(source, StatusSource::Incident | StatusSource::Maintenance) {
            errors.add(
                "source",
                "incident and maintenance changes are recorded by incidents and schedules",
            );
        }
        errors.into_result(())?;
        let mut ch = ch;
        if let Some(status) = ch.status {
            ch.notice = Some(
                self.component_notice(id, &ch, status, input.silent.unwrap_or(false))
                    .await?,
            );
        }
        let c = self.store.update_component(id, ch, source).await?;
        self.changed();
        Ok(c)
    }

    /// One page of a component's status changes, newest first: `page` is 1-based (0 reads
    /// as 1), `per_page` is clamped to 1..=[`MAX_STATUS_HISTORY`]. A component the actor may
    /// not see is `NotFound`, as in [`StatusPage::get_component`].
    ///
    /// # Errors
    /// `NotFound(Component)`; `Unauthenticated` when `always_authenticate` is on for a guest.
    pub async fn component_history(
        &self,
        actor: &Actor,
        id: ComponentId,
        page: u32,
        per_page: u32,
    ) -> Result<Page<StatusChange>> {
        self.get_component(actor, id).await?;
        let per_page = per_page.clamp(1, MAX_STATUS_HISTORY);
        Ok(self.store.status_changes(id, page.max(1), per_page).await?)
    }

    /// Writes the statuses maintenance windows set as they start and end (see
    /// [`crate::maintenance`]), recording each change with source Maintenance, and returns
    /// the changes. A window that starts shows on the status page at once (the roll-up
    /// overlays it); this puts it into the components' own statuses (the API, the history)
    /// too, and gives them back their status when the window ends.
    ///
    /// The service runs it after every schedule it writes. Windows also start and end by
    /// the clock, so an application must call it periodically as well (`cachet-server`
    /// does every [`MAINTENANCE_INTERVAL`]). Safe to run from several instances at once.
    ///
    /// # Errors
    /// Store failures.
    pub async fn apply_maintenance(&self) -> Result<Vec<StatusChange>> {
        let at = now();
        let changes = self.store.reconcile_maintenance(at).await?;
        if !changes.is_empty() {
            self.changed();
        }
        for id in self.store.unannounced_schedules().await? {
            self.announce_schedule(id, at).await?;
        }
        Ok(changes)
    }

    /// Announces window `id`'s start or end when [`crate::maintenance::announcement`] says
    /// it is due: `maintenance.started` / `maintenance.completed` for webhooks, queued
    /// with the conditional write of its mark (told once, whichever instance is first).
    async fn announce_schedule(&self, id: ScheduleId, at: DateTime<Utc>) -> Result<()> {
        let s = match self.store.get_schedule(id).await {
            Ok(s) => s,
            Err(StoreError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        if let Some((to, event)) = crate::maintenance::announcement(&s, at) {
            let notice = event.map(|e| crate::notify::maintenance_notice(&self.site(), e, &s.name));
            self.store
                .announce_schedule(s.id, s.announced, to, notice)
                .await?;
        }
        Ok(())
    }

    /// After a schedule write: the schedule is stored, which is what the caller asked for,
    /// so a failure to apply its effect on statuses does not fail the write; the next
    /// periodic run applies it (the holds and the schedule are the durable state). The
    /// window written (`id`) is announced too, also when it is marked completed (it may have
    /// been reopened).
    async fn apply_maintenance_after_write(&self, id: Option<ScheduleId>) {
        let _ = self.apply_maintenance().await;
        if let Some(id) = id {
            let _ = self.announce_schedule(id, now()).await;
        }
    }

    /// Deletes a component and its subscriptions (Manager+).
    ///
    /// # Errors
    /// `NotFound(Component)`.
    pub async fn delete_component(&self, actor: &Actor, id: ComponentId) -> Result<()> {
        self.authorize(actor, Action::WriteComponent).await?;
        self.store.delete_component(id).await?;
        self.changed();
        Ok(())
    }

    // ------------------------------------------------------------------ groups

    /// Every component `q` matches, page after page from `q.page` (an aggregate over one
    /// capped page would silently ignore the rest).
    async fn all_components(
        &self,
        mut q: ListQuery<ComponentSort, ComponentFilter>,
    ) -> Result<Vec<Component>> {
        let mut all = Vec::new();
        loop {
            let page = self.store.list_components(&q).await?;
            let got = page.items.len();
            all.extend(page.items);
            if got == 0 || u64::try_from(all.len()).unwrap_or(u64::MAX) >= page.total {
                return Ok(all);
            }
            q.page = q.page.saturating_add(1);
        }
    }

    async fn group_detail(&self, actor: &Actor, group: ComponentGroup) -> Result<GroupDetail> {
        let q = ListQuery {
            page: 1,
            per_page: MAX_PER_PAGE,
            sort: Some((ComponentSort::Order, Order::Asc)),
            filter: ComponentFilter {
                group_id: Some(Some(group.id)),
                enabled: Some(true),
                public_only: !actor.sees_private(),
                ..Default::default()
            },
        };
        let members = self.all_components(q).await?;
        let lowest_status = rollup::group_status(members.iter().map(|c| (c.enabled, c.status)));
        Ok(GroupDetail {
            group,
            enabled_components: members,
            lowest_status,
        })
    }

    /// Lists groups with their enabled members; guests see public groups only.
    ///
    /// # Errors
    /// Store failures.
    pub async fn list_groups(
        &self,
        actor: &Actor,
        mut q: ListQuery<GroupSort, GroupFilter>,
    ) -> Result<Page<GroupDetail>> {
        self.read_gate(actor).await?;
        q.filter.public_only = !actor.sees_private();
        let page = self.store.list_groups(&q).await?;
        let mut items = Vec::with_capacity(page.items.len());
        for g in page.items {
            items.push(self.group_detail(actor, g).await?);
        }
        Ok(Page {
            items,
            total: page.total,
        })
    }

    /// Gets a group with its enabled members; a private group is `NotFound` for guests.
    ///
    /// # Errors
    /// `NotFound(Group)`.
    pub async fn get_group(&self, actor: &Actor, id: GroupId) -> Result<GroupDetail> {
        self.read_gate(actor).await?;
        let g = self.store.get_group(id).await?;
        if g.visible != Visibility::Public && !actor.sees_private() {
            return Err(Error::NotFound(Entity::Group));
        }
        self.group_detail(actor, g).await
    }

    fn group_fields(
        input: &GroupInput,
        errors: &mut ValidationErrors,
        creating: bool,
    ) -> GroupChanges {
        let mut ch = GroupChanges::default();
        if let Some(n) = &input.name {
            validate::name(errors, "name", n);
            ch.name = Some(n.trim().to_string());
        } else if creating {
            errors.add("name", "The name field is required.");
        }
        ch.order = checked_int(errors, "order", input.order);
        ch.collapsed = enum_field(errors, "collapsed", input.collapsed, 0, 2);
        ch.visible = enum_field(errors, "visible", input.visible, 0, 1);
        ch
    }

    /// Creates a group (Manager+). Visibility defaults to signed-in users only.
    ///
    /// # Errors
    /// `Invalid`.
    pub async fn create_group(&self, actor: &Actor, input: GroupInput) -> Result<GroupDetail> {
        self.authorize(actor, Action::WriteGroup).await?;
        let mut errors = ValidationErrors::new();
        let ch = Self::group_fields(&input, &mut errors, true);
        errors.into_result(())?;
        let g = self
            .store
            .create_group(NewGroup {
                name: ch.name.unwrap_or_default(),
                order: ch.order.unwrap_or(0),
                collapsed: ch.collapsed.unwrap_or(GroupCollapsed::Expanded),
                visible: ch.visible.unwrap_or(Visibility::Private),
            })
            .await?;
        self.changed();
        Ok(GroupDetail {
            group: g,
            enabled_components: vec![],
            lowest_status: None,
        })
    }

    /// Changes a group (Manager+); absent fields are unchanged.
    ///
    /// # Errors
    /// `NotFound(Group)`, `Invalid`.
    pub async fn update_group(
        &self,
        actor: &Actor,
        id: GroupId,
        input: GroupInput,
    ) -> Result<GroupDetail> {
        self.authorize(actor, Action::WriteGroup).await?;
        let mut errors = ValidationErrors::new();
        let ch = Self::group_fields(&input, &mut errors, false);
        errors.into_result(())?;
        let g = self.store.update_group(id, ch).await?;
        self.changed();
        self.group_detail(actor, g).await
    }

    /// Deletes a group and ungroups its members (Manager+).
    ///
    /// # Errors
    /// `NotFound(Group)`.
    pub async fn delete_group(&self, actor: &Actor, id: GroupId) -> Result<()> {
        self.authorize(actor, Action::WriteGroup).await?;
        self.store.delete_group(id).await?;
        self.changed();
        Ok(())
    }

    // ------------------------------------------------------------------ incidents

    /// Lists incidents; guests see public incidents only.
    ///
    /// # Errors
    /// Store failures.
    pub async fn list_incidents(
        &self,
        actor: &Actor,
        mut q: ListQuery<IncidentSort, IncidentFilter>,
    ) -> Result<Page<Incident>> {
        self.read_gate(actor).await?;
        q.filter.public_only = !actor.sees_private();
        if !actor.sees_private() {
            // Filtering by a component a guest may not see must not reveal what links to it.
            if let Some(Some(c)) = q.filter.component_id {
                if !self.public_component_ids().await?.contains(&c) {
                    return Ok(Page {
                        items: Vec::new(),
                        total: 0,
                    });
                }
            }
        }
        let mut page = self.store.list_incidents(&q).await?;
        self.hide_private_links(actor, &mut page.items).await?;
        Ok(page)
    }

    /// One page of the incident history, newest first, grouped by local day in the display
    /// zone (see [`IncidentHistory`]); guests see public incidents only, and links to
    /// components they may not see read as absent. `per_page` is clamped to
    /// 1..=[`MAX_HISTORY_PER_PAGE`]; a page past the end has no days.
    ///
    /// # Errors
    /// `Invalid` (field `page`) for page 0; `Unauthenticated` when `always_authenticate` is
    /// on for a guest; store failures.
    pub async fn incident_history(
        &self,
        actor: &Actor,
        page: u32,
        per_page: u32,
    ) -> Result<IncidentHistory> {
        if page == 0 {
            return Err(Error::Invalid(ValidationErrors::single(
                "page",
                "The page must be a whole number from 1.",
            )));
        }
        let per_page = per_page.clamp(1, MAX_HISTORY_PER_PAGE);
        let mut q = ListQuery::new(page, per_page, IncidentFilter::default());
        q.sort = Some((IncidentSort::OccurredAt, Order::Desc));
        let found = self.list_incidents(actor, q).await?;
        let zone = self.settings().app_timezone;
        Ok(IncidentHistory {
            days: crate::time::group_by_local_day(found.items, zone, |i| i.occurred_at),
            page,
            per_page,
            total: found.total,
            zone,
        })
    }

    /// Guests never learn of a component they may not see through an incident's link: the
    /// link (and the impact on it) reads as absent.
    async fn hide_private_links(&self, actor: &Actor, incidents: &mut [Incident]) -> Result<()> {
        if actor.sees_private() || incidents.iter().all(|i| i.component_id.is_none()) {
            return Ok(());
        }
        let visible = self.public_component_ids().await?;
        for i in incidents {
            if i.component_id.is_some_and(|c| !visible.contains(&c)) {
                i.component_id = None;
                i.impact = None;
            }
        }
        Ok(())
    }

    /// Ids of the components a guest may see.
    pub(super) async fn public_component_ids(
        &self,
    ) -> Result<std::collections::HashSet<ComponentId>> {
        self.component_ids(true).await
    }

    /// Ids of every component, or (`public_only`) of those a guest may see.
    pub(super) async fn component_ids(
        &self,
        public_only: bool,
    ) -> Result<std::collections::HashSet<ComponentId>> {
        let q = ListQuery::new(
            1,
            MAX_PER_PAGE,
            ComponentFilter {
                public_only,
                ..Default::default()
            },
        );
        Ok(self
            .all_components(q)
            .await?
            .into_iter()
            .map(|c| c.id)
            .collect())
    }

    /// Gets an incident; a non-public one is `NotFound` for guests.
    ///
    /// # Errors
    /// `NotFound(Incident)`.
    pub async fn get_incident(&self, actor: &Actor, id: IncidentId) -> Result<Incident> {
        self.read_gate(actor).await?;
        let i = self.store.get_incident(id).await?;
        if i.visible != Visibility::Public && !actor.sees_private() {
            return Err(Error::NotFound(Entity::Incident));
        }
        let mut one = [i];
        self.hide_private_links(actor, &mut one).await?;
        let [i] = one;
        Ok(i)
    }

    async fn incident_message(
        &self,
        input: &IncidentInput,
        errors: &mut ValidationErrors,
    ) -> Result<Option<String>> {
        let Some(slug) = input
            .template
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        else {
            return Ok(input.message.clone());
        };
        let template = match self.store.get_template_by_slug(slug).await {
            Ok(t) => t,
            // As in Cachet: an unknown slug falls back to the message.
            Err(StoreError::NotFound(_)) => return Ok(input.message.clone()),
            Err(e) => return Err(e.into()),
        };
        let parsed = match Template::parse(&template.template) {
            Ok(p) => p,
            Err(e) => {
                errors.add(
                    "template",
                    format!("The template \"{slug}\" cannot be used: {e}."),
                );
                return Ok(None);
            }
        };
        let mut ctx = match &input.vars {
            Some(Value::Object(m)) => m.clone(),
            None | Some(Value::Null) => serde_json::Map::new(),
            Some(Value::Array(a)) if a.is_empty() => serde_json::Map::new(),
            Some(_) => {
                errors.add("vars", "The vars must be an array.");
                serde_json::Map::new()
            }
        };
        let mut component = Value::Null;
        if let Some(cid) = input.component_id.filter(|c| *c > 0) {
            if let Ok(c) = self.store.get_component(ComponentId(cid)).await {
                component = serde_json::json!({"id": c.id.get(), "name": c.name, "status": c.status.as_i64()});
            }
        }
        ctx.insert(
            "incident".into(),
            serde_json::json!({
                "name": input.name, "status": input.status, "message": input.message,
                "visible": input.visible, "notify": input.notify, "stickied": input.stickied,
                "occurred_at": input.occurred_at, "component": component,
                "component_status": input.component_status,
            }),
        );
        match parsed.render(&Value::Object(ctx), validate::MAX_MESSAGE_BYTES) {
            Ok(message) => Ok(Some(message)),
            Err(_) => {
                errors.add(
                    "message",
                    format!(
                        "The message may not be greater than {} bytes.",
                        validate::MAX_MESSAGE_BYTES
                    ),
                );
                Ok(None)
            }
        }
    }

    fn component_link(
        input_component: Option<i64>,
        input_status: Option<i64>,
        errors: &mut ValidationErrors,
    ) -> (Option<Option<ComponentId>>, Option<ComponentStatus>) {
        match (input_component, input_status) {
            (Some(_), None) => {
                errors.add(
                    "component_status",
                    "The component status field is required when component id is present.",
                );
                (None, None)
            }
            (None, Some(_)) => {
                errors.add(
                    "component_id",
                    "The component id field is required when component status is present.",
                );
                (None, None)
            }
            (None, None) => (None, None),
            (Some(cid), Some(st)) => {
                let status = enum_field(errors, "component_status", Some(st), 0, 4);
                if !(0..=validate::MAX_INT).contains(&cid) {
                    errors.add("component_id", "The selected component id is invalid.");
                }
                // Cachet sends component_id 0 for "no component".
                let link = if cid > 0 {
                    Some(ComponentId(cid))
                } else {
                    None
                };
                (Some(link), if link.is_some() { status } else { None })
            }
        }
    }

    /// Creates an incident (Reporter+). With `component_id` and `component_status`, the
    /// component's status is set in the same atomic store operation.
    ///
    /// # Errors
    /// `Invalid` naming each bad field (including an unknown component or bad `occurred_at`).
    pub async fn create_incident(&self, actor: &Actor, input: IncidentInput) -> Result<Incident> {
        self.authorize(actor, Action::WriteIncident).await?;
        let mut errors = ValidationErrors::new();
        match &input.name {
            Some(n) => validate::name(&mut errors, "name", n),
            None => errors.add("name", "The name field is required."),
        }
        let status = required(&mut errors, "status", input.status);
        let status: Option<IncidentStatus> = enum_field(&mut errors, "status", status, 0, 4);
        let visible: Option<Visibility> = enum_field(&mut errors, "visible", input.visible, 0, 1);
        let (component, impact) =
            Self::component_link(input.component_id, input.component_status, &mut errors);
        let occurred_at = match input
            .occurred_at
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(s) => match crate::time::parse_local(s, self.zone(input.time_zone)) {
                Ok(t) => Some(t),
                Err(m) => {
                    errors.add("occurred_at", m);
                    None
                }
            },
            None => None,
        };
        let meta = input
            .meta
            .as_ref()
            .map(|m| incident_meta(&mut errors, m))
            .unwrap_or_default();
        let source = self.incident_message(&input, &mut errors).await?;
        let message = match source.as_deref() {
            Some(s) if !s.trim().is_empty() => {
                render_message(&mut errors, "message", s, &self.settings().image_origins).await
            }
            _ => {
                if !errors.has("template") {
                    errors.add("message", "The message field is required.");
                }
                None
            }
        };
        errors.into_result(())?;
        let (Some(status), Some(message)) = (status, message) else {
            return Err(Error::Rejected("incomplete input".into()));
        };
        let mut new = NewIncident {
            user_id: actor.user_id(),
            component_id: component.flatten(),
            impact,
            name: input.name.as_deref().unwrap_or_default().trim().to_string(),
            status,
            visible: visible.unwrap_or(Visibility::Public),
            stickied: input.stickied.unwrap_or(false),
            notice: None,
            message,
            occurred_at: occurred_at.unwrap_or_else(now),
            meta: meta
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k, v)))
                .collect(),
        };
        new.notice = Some(
            self.new_incident_notice(input.notify.unwrap_or(false), &new)
                .await?,
        );
        let i = self
            .store
            .create_incident(new)
            .await
            .map_err(|e| not_found_as_field(e, Entity::Component, "component_id"))?;
        self.changed();
        Ok(i)
    }

    /// Changes an incident (Reporter+); absent fields are unchanged.
    ///
    /// # Errors
    /// `NotFound(Incident)`, `Invalid`.
    pub async fn update_incident(
        &self,
        actor: &Actor,
        id: IncidentId,
        input: IncidentInput,
    ) -> Result<Incident> {
        self.authorize(actor, Action::WriteIncident).await?;
        let mut errors = ValidationErrors::new();
        let mut ch = IncidentChanges::default();
        if let Some(n) = &input.name {
            validate::name(&mut errors, "name", n);
            ch.name = Some(n.trim().to_string());
        }
        ch.status = enum_field(&mut errors, "status", input.status, 0, 4);
        ch.visible = enum_field(&mut errors, "visible", input.visible, 0, 1);
        ch.stickied = input.stickied;
        let (component, impact) =
            Self::component_link(input.component_id, input.component_status, &mut errors);
        ch.component_id = component;
        ch.impact = impact;
        if let Some(s) = input
            .occurred_at
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            match crate::time::parse_local(s, self.zone(input.time_zone)) {
                Ok(t) => ch.occurred_at = Some(t),
                Err(m) => errors.add("occurred_at", m),
            }
        }
        if let Some(m) = &input.meta {
            ch.meta = incident_meta(&mut errors, m);
        }
        if input.message.is_some() || input.template.is_some() {
            match self.incident_message(&input, &mut errors).await? {
                Some(s) if !s.trim().is_empty() => {
                    ch.message =
                        render_message(&mut errors, "message", &s, &self.settings().image_origins)
                            .await
                }
                Some(_) => errors.add("message", "The message may not be empty."),
                None => {}
            }
        }
        errors.into_result(())?;
        let before = self.store.get_incident(id).await?;
        ch.notice = self.incident_change_notice(&before, &ch).await?;
        let i = self
            .store
            .update_incident(id, ch)
            .await
            .map_err(|e| not_found_as_field(e, Entity::Component, "component_id"))?;
        self.changed();
        Ok(i)
    }

    /// Deletes an incident (Manager+).
    ///
    /// # Errors
    /// `NotFound(Incident)`.
    pub async fn delete_incident(&self, actor: &Actor, id: IncidentId) -> Result<()> {
        self.authorize(actor, Action::DeleteIncident).await?;
        self.store.delete_incident(id).await?;
        self.changed();
        Ok(())
    }

    // ------------------------------------------------------------------ incident updates

    async fn visible_incident(&self, actor: &Actor, id: IncidentId) -> Result<()> {
        self.get_incident(actor, id).await.map(|_| ())
    }

    /// Lists the updates of an incident the actor may see (newest first by default).
    ///
    /// # Errors
    /// `NotFound(Incident)`.
    pub async fn list_updates(
        &self,
        actor: &Actor,
        incident: IncidentId,
        q: &ListQuery<UpdateSort, ()>,
    ) -> Result<Page<IncidentUpdate>> {
        self.visible_incident(actor, incident).await?;
        Ok(self.store.list_updates(incident, q).await?)
    }

    /// Gets an update of an incident; an update of another incident is `NotFound`.
    ///
    /// # Errors
    /// `NotFound(Incident)`, `NotFound(IncidentUpdate)`.
    pub async fn get_update(
        &self,
        actor: &Actor,
        incident: IncidentId,
        id: UpdateId,
    ) -> Result<IncidentUpdate> {
        self.visible_incident(actor, incident).await?;
        Ok(self.store.get_update(incident, id).await?)
    }

    async fn update_fields(
        &self,
        input: &IncidentUpdateInput,
        errors: &mut ValidationErrors,
        creating: bool,
    ) -> IncidentUpdateChanges {
        let mut ch = IncidentUpdateChanges::default();
        let status = if creating {
            required(errors, "status", input.status)
        } else {
            input.status
        };
        ch.status = enum_field(errors, "status", status, 1, 4);
        match input.message.as_deref() {
            Some(m) if !m.trim().is_empty() => {
                ch.message =
                    render_message(errors, "message", m, &self.settings().image_origins).await
            }
            Some(_) => errors.add("message", "The message field is required."),
            None if creating => errors.add("message", "The message field is required."),
            None => {}
        }
        // Validated for compatibility; an update does not change components (as in Cachet 2.4).
        let _ = Self::component_link(input.component_id, input.component_status, errors);
        ch
    }

    /// Posts an update; the incident takes its status (Reporter+).
    ///
    /// # Errors
    /// `NotFound(Incident)`, `Invalid`.
    pub async fn create_update(
        &self,
        actor: &Actor,
        incident: IncidentId,
        input: IncidentUpdateInput,
    ) -> Result<IncidentUpdate> {
        self.authorize(actor, Action::WriteIncidentUpdate).await?;
        let mut errors = ValidationErrors::new();
        let ch = self.update_fields(&input, &mut errors, true).await;
        errors.into_result(())?;
        let (Some(status), Some(message)) = (ch.status, ch.message) else {
            return Err(Error::Rejected("incomplete input".into()));
        };
        let current = self.store.get_incident(incident).await?;
        let notice = self.update_notice(&current, status, &message).await?;
        let u = self
            .store
            .create_update(
                incident,
                NewIncidentUpdate {
                    status,
                    message,
                    user_id: actor.user_id(),
                    notice: Some(notice),
                },
            )
            .await?;
        self.changed();
        Ok(u)
    }

    /// Changes an update (Reporter+); its author becomes the actor.
    ///
    /// # Errors
    /// `NotFound(IncidentUpdate)`, `Invalid`.
    pub async fn update_update(
        &self,
        actor: &Actor,
        incident: IncidentId,
        id: UpdateId,
        input: IncidentUpdateInput,
    ) -> Result<IncidentUpdate> {
        self.authorize(actor, Action::WriteIncidentUpdate).await?;
        let mut errors = ValidationErrors::new();
        let mut ch = self.update_fields(&input, &mut errors, false).await;
        errors.into_result(())?;
        ch.user_id = actor.user_id();
        let u = self.store.update_update(incident, id, ch).await?;
        self.changed();
        Ok(u)
    }

    /// Deletes an update (Manager+).
    ///
    /// # Errors
    /// `NotFound(IncidentUpdate)`.
    pub async fn delete_update(
        &self,
        actor: &Actor,
        incident: IncidentId,
        id: UpdateId,
    ) -> Result<()> {
        self.authorize(actor, Action::DeleteIncidentUpdate).await?;
        self.store.delete_update(incident, id).await?;
        self.changed();
        Ok(())
    }

    // ------------------------------------------------------------------ templates

    /// Lists templates.
    ///
    /// # Errors
    /// Store failures.
    pub async fn list_templates(
        &self,
        actor: &Actor,
        q: &ListQuery<TemplateSort, ()>,
    ) -> Result<Page<IncidentTemplate>> {
        self.read_gate(actor).await?;
        Ok(self.store.list_templates(q).await?)
    }

    /// Gets a template.
    ///
    /// # Errors
    /// `NotFound(Template)`.
    pub async fn get_template(&self, actor: &Actor, id: TemplateId) -> Result<IncidentTemplate> {
        self.read_gate(actor).await?;
        Ok(self.store.get_template(id).await?)
    }

    fn template_fields(
        input: &TemplateInput,
        errors: &mut ValidationErrors,
        creating: bool,
    ) -> TemplateChanges {
        let mut ch = TemplateChanges::default();
        if let Some(n) = &input.name {
            validate::name(errors, "name", n);
            ch.name = Some(n.trim().to_string());
        } else if creating {
            errors.add("name", "The name field is required.");
        }
        let slug = input
            .slug
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .or_else(|| {
                creating.then(|| validate::slugify(input.name.as_deref().unwrap_or_default()))
            });
        if let Some(s) = slug {
            if s.is_empty() || validate::slugify(&s) != s || s.len() > validate::MAX_NAME {
                errors.add(
                    "slug",
                    "The slug may only contain lowercase letters, digits and dashes.",
                );
            }
            ch.slug = Some(s);
        }
        match &input.template {
            Some(t) if t.len() > validate::MAX_TEMPLATE_BYTES => errors.add(
                "template",
                format!(
                    "The template may not be greater than {} bytes.",
                    validate::MAX_TEMPLATE_BYTES
                ),
            ),
            Some(t) if t.contains('\0') => {
                errors.add("template", "The template may not contain NUL characters.")
            }
            Some(t) => match Template::parse(t) {
                Ok(_) => ch.template = Some(t.clone()),
                Err(e) => errors.add("template", format!("The template is invalid: {e}.")),
            },
            None if creating => errors.add("template", "The template field is required."),
            None => {}
        }
        ch
    }

    /// Creates a template (Manager+); the source must parse in the sandboxed subset.
    ///
    /// # Errors
    /// `Invalid`, `Conflict` (slug taken).
    pub async fn create_template(
        &self,
        actor: &Actor,
        input: TemplateInput,
    ) -> Result<IncidentTemplate> {
        self.authorize(actor, Action::WriteTemplate).await?;
        let mut errors = ValidationErrors::new();
        let ch = Self::template_fields(&input, &mut errors, true);
        errors.into_result(())?;
        let t = self
            .store
            .create_template(NewTemplate {
                name: ch.name.unwrap_or_default(),
                slug: ch.slug.unwrap_or_default(),
                template: ch.template.unwrap_or_default(),
            })
            .await?;
        Ok(t)
    }

    /// Changes a template (Manager+).
    ///
    /// # Errors
    /// `NotFound(Template)`, `Invalid`, `Conflict`.
    pub async fn update_template(
        &self,
        actor: &Actor,
        id: TemplateId,
        input: TemplateInput,
    ) -> Result<IncidentTemplate> {
        self.authorize(actor, Action::WriteTemplate).await?;
        let mut errors = ValidationErrors::new();
        let ch = Self::template_fields(&input, &mut errors, false);
        errors.into_result(())?;
        Ok(self.store.update_template(id, ch).await?)
    }

    /// Deletes a template (Manager+).
    ///
    /// # Errors
    /// `NotFound(Template)`.
    pub async fn delete_template(&self, actor: &Actor, id: TemplateId) -> Result<()> {
        self.authorize(actor, Action::WriteTemplate).await?;
        Ok(self.store.delete_template(id).await?)
    }

    // ------------------------------------------------------------------ schedules

    /// Lists maintenance windows.
    ///
    /// # Errors
    /// Store failures.
    pub async fn list_schedules(
        &self,
        actor: &Actor,
        q: &ListQuery<ScheduleSort, ()>,
    ) -> Result<Page<Schedule>> {
        self.read_gate(actor).await?;
        let mut page = self.store.list_schedules(q).await?;
        self.hide_private_schedule_rows(actor, &mut page.items)
            .await?;
        Ok(page)
    }

    /// Guests never learn of components they may not see through a schedule's rows.
    async fn hide_private_schedule_rows(
        &self,
        actor: &Actor,
        schedules: &mut [Schedule],
    ) -> Result<()> {
        if actor.sees_private() || schedules.iter().all(|s| s.components.is_empty()) {
            return Ok(());
        }
        let visible = self.public_component_ids().await?;
        for s in schedules {
            s.components
                .retain(|row| visible.contains(&row.component_id));
        }
        Ok(())
    }

    /// Gets a maintenance window.
    ///
    /// # Errors
    /// `NotFound(Schedule)`.
    pub async fn get_schedule(&self, actor: &Actor, id: ScheduleId) -> Result<Schedule> {
        self.read_gate(actor).await?;
        let mut one = [self.store.get_schedule(id).await?];
        self.hide_private_schedule_rows(actor, &mut one).await?;
        let [s] = one;
        Ok(s)
    }

    fn parse_time_field(
        &self,
        errors: &mut ValidationErrors,
        field: &str,
        value: Option<&str>,
        zone: Option<Tz>,
    ) -> Option<Option<DateTime<Utc>>> {
        let v = value?.trim();
        if v.is_empty() {
            return Some(None);
        }
        match crate::time::parse_local(v, self.zone(zone)) {
            Ok(t) => Some(Some(t)),
            Err(m) => {
                errors.add(field, m);
                None
            }
        }
    }

    async fn schedule_fields(
        &self,
        input: &ScheduleInput,
        errors: &mut ValidationErrors,
        creating: bool,
    ) -> ScheduleChanges {
        let mut ch = ScheduleChanges::default();
        if let Some(n) = &input.name {
            validate::name(errors, "name", n);
            ch.name = Some(n.trim().to_string());
        } else if creating {
            errors.add("name", "The name field is required.");
        }
        if let Some(m) = &input.message {
            ch.message = Some(if m.trim().is_empty() {
                None
            } else {
                render_message(errors, "message", m, &self.settings().image_origins).await
            });
        }
        let status = if creating {
            required(errors, "status", input.status)
        } else {
            input.status
        };
        ch.status = enum_field(errors, "status", status, 0, 2);
        if creating
            && input
                .scheduled_at
                .as_deref()
                .is_none_or(|s| s.trim().is_empty())
        {
            errors.add("scheduled_at", "The scheduled at field is required.");
        }
        ch.scheduled_at = self
            .parse_time_field(
                errors,
                "scheduled_at",
                input.scheduled_at.as_deref(),
                input.time_zone,
            )
            .flatten();
        ch.completed_at = self.parse_time_field(
            errors,
            "completed_at",
            input.completed_at.as_deref(),
            input.time_zone,
        );
        if let Some(list) = &input.components {
            if list.len() > validate::MAX_COMPONENT_REFS {
                errors.add(
                    "components",
                    format!(
                        "The components may not have more than {} items.",
                        validate::MAX_COMPONENT_REFS
                    ),
                );
            }
            let mut out: Vec<(ComponentId, ComponentStatus)> = Vec::new();
            for (id, st) in list {
                if *id <= 0 || *id > validate::MAX_INT {
                    errors.add("components", "The selected components are invalid.");
                    continue;
                }
                let status = match st {
                    Some(v) => enum_field(errors, "components", Some(*v), 0, 4)
                        .unwrap_or(ComponentStatus::Unknown),
                    None => ComponentStatus::Unknown,
                };
                if !out.iter().any(|(c, _)| c.get() == *id) {
                    out.push((ComponentId(*id), status));
                }
            }
            ch.components = Some(out);
        }
        ch
    }

    fn check_window(
        errors: &mut ValidationErrors,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
    ) {
        if let (Some(s), Some(e)) = (start, end) {
            if e < s {
                errors.add(
                    "completed_at",
                    "The completed at must be a date after scheduled at.",
                );
            }
        }
    }

    /// Creates a maintenance window (Manager+). A window that ends before it starts is
    /// invalid (`completed_at`).
    ///
    /// # Errors
    /// `Invalid`.
    pub async fn create_schedule(&self, actor: &Actor, input: ScheduleInput) -> Result<Schedule> {
        self.authorize(actor, Action::WriteSchedule).await?;
        let mut errors = ValidationErrors::new();
        let ch = self.schedule_fields(&input, &mut errors, true).await;
        Self::check_window(&mut errors, ch.scheduled_at, ch.completed_at.flatten());
        errors.into_result(())?;
        let (Some(status), Some(scheduled_at)) = (ch.status, ch.scheduled_at) else {
            return Err(Error::Rejected("incomplete input".into()));
        };
        let name = ch.name.unwrap_or_default();
        let message = ch.message.flatten();
        let components = ch.components.unwrap_or_default();
        let ids: Vec<ComponentId> = components.iter().map(|(c, _)| *c).collect();
        let notice = self
            .schedule_notice(
                input.notify.unwrap_or(false),
                &name,
                scheduled_at,
                &ids,
                message.as_ref(),
            )
            .await?;
        let s = self
            .store
            .create_schedule(NewSchedule {
                name,
                message,
                status,
                scheduled_at,
                completed_at: ch.completed_at.flatten(),
                components,
                notice: Some(notice),
            })
            .await
            .map_err(|e| not_found_as_field(e, Entity::Component, "components"))?;
        self.changed();
        self.apply_maintenance_after_write(Some(s.id)).await;
        Ok(s)
    }

    /// Changes a maintenance window (Manager+); the window is checked with its stored ends.
    ///
    /// # Errors
    /// `NotFound(Schedule)`, `Invalid`.
    pub async fn update_schedule(
        &self,
        actor: &Actor,
        id: ScheduleId,
        input: ScheduleInput,
    ) -> Result<Schedule> {
        self.authorize(actor, Action::WriteSchedule).await?;
        let mut errors = ValidationErrors::new();
        let ch = self.schedule_fields(&input, &mut errors, false).await;
        let current = self.store.get_schedule(id).await?;
        let start = ch.scheduled_at.unwrap_or(current.scheduled_at);
        let end = ch.completed_at.unwrap_or(current.completed_at);
        Self::check_window(&mut errors, Some(start), end);
        errors.into_result(())?;
        let s = self
            .store
            .update_schedule(id, ch)
            .await
            .map_err(|e| not_found_as_field(e, Entity::Component, "components"))?;
        self.changed();
        self.apply_maintenance_after_write(Some(id)).await;
        Ok(s)
    }

    /// Deletes a maintenance window (Manager+).
    ///
    /// # Errors
    /// `NotFound(Schedule)`.
    pub async fn delete_schedule(&self, actor: &Actor, id: ScheduleId) -> Result<()> {
        self.authorize(actor, Action::WriteSchedule).await?;
        self.store.delete_schedule(id).await?;
        self.changed();
        self.apply_maintenance_after_write(None).await;
        Ok(())
    }

    // ------------------------------------------------------------------ metrics

    /// Lists metrics; guests see public metrics only.
    ///
    /// # Errors
    /// Store failures.
    pub async fn list_metrics(
        &self,
        actor: &Actor,
        mut q: ListQuery<MetricSort, MetricFilter>,
    ) -> Result<Page<Metric>> {
        self.read_gate(actor).await?;
        q.filter.public_only = !actor.sees_private();
        Ok(self.store.list_metrics(&q).await?)
    }

    /// Gets a metric; a non-public one is `NotFound` for guests.
    ///
    /// # Errors
    /// `NotFound(Metric)`.
    pub async fn get_metric(&self, actor: &Actor, id: MetricId) -> Result<Metric> {
        self.read_gate(actor).await?;
        let m = self.store.get_metric(id).await?;
        if m.visible != MetricVisibility::Public && !actor.sees_private() {
            return Err(Error::NotFound(Entity::Metric));
        }
        Ok(m)
    }

    fn metric_fields(
        input: &MetricInput,
        errors: &mut ValidationErrors,
        creating: bool,
    ) -> MetricChanges {
        let mut ch = MetricChanges::default();
        for (field, value, slot) in [
            ("name", &input.name, &mut ch.name),
            ("suffix", &input.suffix, &mut ch.suffix),
        ] {
            match value {
                Some(v) => {
                    if field == "name" {
                        validate::name(errors, field, v);
                    } else {
                        validate::text(errors, field, v, validate::MAX_NAME, false);
                    }
                    *slot = Some(v.trim().to_string());
                }
                None if creating => errors.add(field, format!("The {field} field is required.")),
                None => {}
            }
        }
        if let Some(d) = &input.description {
            validate::text(errors, "description", d, validate::MAX_TEXT, false);
            ch.description = Some(d.trim().to_string());
        }
        let default_value = if creating {
            required(errors, "default_value", input.default_value)
        } else {
            input.default_value
        };
        ch.default_value =
            default_value.and_then(|v| validate::metric_value(errors, "default_value", v));
        ch.calc_type = enum_field(errors, "calc_type", input.calc_type, 0, 1);
        ch.display_chart = input.display_chart;
        ch.places = enum_field::<i64>(errors, "places", input.places, 0, 4)
            .and_then(|p| u8::try_from(p).ok());
        ch.default_view = enum_field(errors, "default_view", input.default_view, 0, 3);
        if let Some(t) = input.threshold {
            if t <= 0 || t > 60 || 60 % t != 0 {
                errors.add("threshold", "Threshold must divide by 60.");
            } else {
                ch.threshold = u8::try_from(t).ok();
            }
        }
        ch.order = checked_int(errors, "order", input.order);
        ch.visible = enum_field(errors, "visible", input.visible, 0, 2);
        ch
    }

    /// Creates a metric (Manager+).
    ///
    /// # Errors
    /// `Invalid` (e.g. "Threshold must divide by 60.").
    pub async fn create_metric(&self, actor: &Actor, input: MetricInput) -> Result<Metric> {
        self.authorize(actor, Action::WriteMetric).await?;
        let mut errors = ValidationErrors::new();
        let ch = Self::metric_fields(&input, &mut errors, true);
        errors.into_result(())?;
        let m = self
            .store
            .create_metric(NewMetric {
                name: ch.name.unwrap_or_default(),
                suffix: ch.suffix.unwrap_or_default(),
                description: ch.description.unwrap_or_default(),
                default_value: ch.default_value.unwrap_or(0.0),
                calc_type: ch.calc_type.unwrap_or(CalcType::Sum),
                display_chart: ch.display_chart.unwrap_or(true),
                places: ch.places.unwrap_or(2),
                default_view: ch.default_view.unwrap_or(MetricView::Today),
                threshold: ch.threshold.unwrap_or(5),
                order: ch.order.unwrap_or(0),
                visible: ch.visible.unwrap_or(MetricVisibility::Public),
            })
            .await?;
        self.changed();
        Ok(m)
    }

    /// Changes a metric (Manager+).
    ///
    /// # Errors
    /// `NotFound(Metric)`, `Invalid`.
    pub async fn update_metric(
        &self,
        actor: &Actor,
        id: MetricId,
        input: MetricInput,
    ) -> Result<Metric> {
        self.authorize(actor, Action::WriteMetric).await?;
        let mut errors = ValidationErrors::new();
        let ch = Self::metric_fields(&input, &mut errors, false);
        errors.into_result(())?;
        let m = self.store.update_metric(id, ch).await?;
        self.changed();
        Ok(m)
    }

    /// Deletes a metric and its points (Manager+).
    ///
    /// # Errors
    /// `NotFound(Metric)`.
    pub async fn delete_metric(&self, actor: &Actor, id: MetricId) -> Result<()> {
        self.authorize(actor, Action::WriteMetric).await?;
        self.store.delete_metric(id).await?;
        self.changed();
        Ok(())
    }

    /// Lists the points of a metric the actor may see (newest first by default).
    ///
    /// # Errors
    /// `NotFound(Metric)`.
    pub async fn list_points(
        &self,
        actor: &Actor,
        metric: MetricId,
        q: &ListQuery<PointSort, ()>,
    ) -> Result<Page<MetricPoint>> {
        self.get_metric(actor, metric).await?;
        Ok(self.store.list_points(metric, q).await?)
    }

    fn point_time(errors: &mut ValidationErrors, ts: i64) -> Option<DateTime<Utc>> {
        // Points far outside any chart window are almost certainly a unit mistake (ms).
        let now = now().timestamp();
        if ts < 0 || ts > now + 366 * 86_400 {
            errors.add(
                "timestamp",
                "The timestamp must be unix seconds between 1970 and one year from now.",
            );
            return None;
        }
        match crate::time::from_unix(ts) {
            Ok(t) => Some(t),
            Err(m) => {
                errors.add("timestamp", m);
                None
            }
        }
    }

    /// Records an observation (Reporter+): the time is rounded to 30 s, and an equal value
    /// within the metric's threshold bumps the existing point's counter.
    ///
    /// # Errors
    /// `NotFound(Metric)`, `Invalid` (NaN, infinity, missing value, bad timestamp).
    pub async fn record_point(
        &self,
        actor: &Actor,
        metric: MetricId,
        input: PointInput,
    ) -> Result<MetricPoint> {
        self.authorize(actor, Action::WriteMetricPoint).await?;
        let mut errors = ValidationErrors::new();
        let value = required(&mut errors, "value", input.value);
        let value = value.and_then(|v| validate::metric_value(&mut errors, "value", v));
        let at = input.timestamp.map(|t| Self::point_time(&mut errors, t));
        errors.into_result(())?;
        let Some(value) = value else {
            return Err(Error::Rejected("incomplete input".into()));
        };
        let m = self.store.get_metric(metric).await?;
        let now = now();
        let created_at = chart::round_point_time(at.flatten().unwrap_or(now));
        let p = self
            .store
            .record_point(
                metric,
                NewPoint {
                    value,
                    created_at,
                    dedup_since: chart::dedup_since(m.threshold, now),
                },
            )
            .await?;
        self.changed();
        Ok(p)
    }

    /// Changes a point (Manager+).
    ///
    /// # Errors
    /// `NotFound(MetricPoint)`, `Invalid`.
    pub async fn update_point(
        &self,
        actor: &Actor,
        metric: MetricId,
        id: PointId,
        input: PointInput,
    ) -> Result<MetricPoint> {
        self.authorize(actor, Action::EditMetricPoint).await?;
        let mut errors = ValidationErrors::new();
        let value = input
            .value
            .and_then(|v| validate::metric_value(&mut errors, "value", v));
        let at = input
            .timestamp
            .and_then(|t| Self::point_time(&mut errors, t));
        errors.into_result(())?;
        let p = self
            .store
            .update_point(
                metric,
                id,
                PointChanges {
                    value,
                    created_at: at.map(chart::round_point_time),
                },
            )
            .await?;
        self.changed();
        Ok(p)
    }

    /// Deletes a point (Manager+).
    ///
    /// # Errors
    /// `NotFound(MetricPoint)`.
    pub async fn delete_point(&self, actor: &Actor, metric: MetricId, id: PointId) -> Result<()> {
        self.authorize(actor, Action::EditMetricPoint).await?;
        self.store.delete_point(metric, id).await?;
        self.changed();
        Ok(())
    }

    /// The chart of a metric for `view` (default: the metric's default view), aggregated by
    /// the store and gap-filled here, keys in `zone`.
    ///
    /// # Errors
    /// `NotFound(Metric)`.
    pub async fn metric_chart(
        &self,
        actor: &Actor,
        metric: MetricId,
        view: Option<MetricView>,
        zone: Option<Tz>,
    ) -> Result<(Metric, BTreeMap<String, f64>)> {
        let m = self.get_metric(actor, metric).await?;
        let view = view.unwrap_or(m.default_view);
        let zone = self.zone(zone);
        let now = now();
        let sums = self
            .store
            .metric_sums(metric, chart::window(view, now, zone))
            .await?;
        let items = chart::items(&m, view, now, zone, &sums);
        Ok((m, items))
    }
}

/// Hashes a password on a blocking thread (Argon2id is deliberately slow).
///
/// # Errors
/// `Unavailable` when the blocking pool is shut down.
pub async fn hash_password(password: String) -> Result<PasswordHash> {
    tokio::task::spawn_blocking(move || PasswordHash::hash(&password))
        .await
        .map_err(|e| Error::Unavailable(Box::new(e)))
}
