//! Signing in (password, then TOTP or a recovery code), throttled; and each user's own
//! two-factor enrollment. Every rule of it lives here, so an embedder that calls the
//! service directly gets the same protection as the dashboard.
//!
//! - An unknown user, a wrong password and an inactive user give the same error
//!   ([`Error::SignInFailed`]) after the same work: a password hash is always verified,
//!   against a fixed dummy hash when there is no user.
//! - Throttling ([`crate::throttle`]) sees the login name as typed and the client key the
//!   adapter passes, and is checked before any password is.
//! - Audit entries name users by id and never hold what was typed.
//! - With the `require_admin_2fa` setting on (the default), an Admin without 2FA is signed
//!   in with no abilities at all: they can enroll, and do nothing else until they have.

use std::sync::OnceLock;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};

use super::{hash_password, StatusPage};
use crate::enums::Role;
use crate::error::{Error, Result, StoreError, ValidationErrors};
use crate::ids::UserId;
use crate::model::User;
use crate::policy::{Abilities, Actor, Credential, Principal};
use crate::secret::PasswordHash;
use crate::secret::TokenHash;
use crate::store::now;
use crate::store::{NewAuditEntry, UserChanges};
use crate::throttle::{self, Attempt};
use crate::totp::{self, Refusal, TotpSecret};
use crate::validate;

/// How long the second step of a sign-in may follow the first.
pub const SECOND_FACTOR_WINDOW: Duration = Duration::minutes(5);

/// What the sealed TOTP secret is bound to (see [`crate::crypto::DataKey::seal`]).
const TOTP_AAD: &str = "user.totp_secret";

/// A password hash verified when the user does not exist, so that the answer takes as long.
fn dummy_hash() -> &'static PasswordHash {
    static DUMMY: OnceLock<PasswordHash> = OnceLock::new();
    DUMMY.get_or_init(|| PasswordHash::hash("not a password of anybody: dummy for timing"))
}

/// The password was right; a second factor has to follow.
///
/// Opaque to adapters: they keep it (in a server-side session) and hand it back to
/// [`StatusPage::complete_sign_in`]. Its `Debug` shows no more than the user id.
#[derive(Clone, PartialEq, Eq)]
pub struct PendingSignIn {
    user_id: UserId,
    login: String,
    issued_at: DateTime<Utc>,
    /// Single use: a completed sign-in's id is remembered for the window.
    id: u64,
    /// What the password and 2FA were when the password was checked: a change to either
    /// (a new password, 2FA reset or re-enrolled) voids the pending sign-in.
    fingerprint: TokenHash,
}

impl std::fmt::Debug for PendingSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingSignIn")
            .field("user_id", &self.user_id)
            .field("issued_at", &self.issued_at)
            .finish_non_exhaustive()
    }
}

/// A digest of what a pending sign-in was granted against.
fn fingerprint(user: &User) -> TokenHash {
    TokenHash::of(&format!(
        "{}\u{0}{}\u{0}{:?}",
        user.password_hash.as_phc(),
        user.totp.sealed_secret.as_deref().unwrap_or(""),
        user.totp.enabled_at
    ))
}

/// Longest login name looked up (longer ones are nobody's: usernames and emails are shorter).
const MAX_LOGIN_BYTES: usize = 512;

impl PendingSignIn {
    /// The user who is signing in.
    pub fn user_id(&self) -> UserId {
        self.user_id
    }

    /// When the password was checked.
    pub fn issued_at(&self) -> DateTime<Utc> {
        self.issued_at
    }

    pub(super) fn login(&self) -> &str {
        &self.login
    }

    pub(super) fn fingerprint(&self) -> TokenHash {
        self.fingerprint
    }

    /// A pending sign-in as kept in a session record (see `sessions`).
    pub(super) fn restore(
        user_id: UserId,
        login: String,
        issued_at: DateTime<Utc>,
        id: u64,
        fingerprint: TokenHash,
    ) -> PendingSignIn {
        PendingSignIn {
            user_id,
            login,
            issued_at,
            id,
            fingerprint,
        }
    }
}

/// A finished sign-in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The user.
    pub user: User,
    /// Who they act as from now on (see [`StatusPage::user_actor`]).
    pub actor: Actor,
    /// True when they must enroll in 2FA before they may do anything (their actor has no
    /// abilities until then).
    pub must_enroll_2fa: bool,
}

/// The result of a correct password.
#[derive(Debug, Clone)]
pub enum SignIn {
    /// Signed in.
    Done(SignedIn),
    /// 2FA is on: send a TOTP or recovery code to [`StatusPage::complete_sign_in`].
    SecondFactor(PendingSignIn),
}

/// A started enrollment: what the user's authenticator app needs. Shown to the user once;
/// its `Debug` hides the secret.
#[derive(Clone)]
pub struct Enrollment {
    /// The secret in base32, for typing in.
    pub secret_base32: String,
    /// The `otpauth://` URI.
    pub otpauth_uri: String,
    /// The URI as a QR code, SVG (`None` if it could not be drawn: show the key).
    pub qr_svg: Option<String>,
}

impl std::fmt::Debug for Enrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrollment(..)")
    }
}

fn bad_code() -> Error {
    Error::Invalid(ValidationErrors::single(
        "code",
        "The code is not valid or was already used.",
    ))
}

/// The person behind `actor`, for their own 2FA: only a session will do. A token, however
/// broad, cannot enroll, confirm, disable or inspect 2FA (or one stolen token could lock its
/// owner out with an attacker's authenticator).
fn signed_in_user(actor: &Actor) -> Result<UserId> {
    match actor {
        Actor::User(p) if p.credential == Credential::Session => Ok(p.user_id),
        Actor::User(_) => Err(Error::Forbidden),
        Actor::Guest => Err(Error::Unauthenticated),
        // The embedding application acts for nobody in particular: 2FA is per person.
        Actor::System => Err(Error::Rejected(
            "two-factor enrollment belongs to a signed-in user".into(),
        )),
    }
}

impl StatusPage {
    /// The actor a signed-in user acts as (for an adapter restoring a session): their role,
    /// with no abilities at all while they must still enroll in 2FA.
    ///
    /// # Errors
    /// `Unauthenticated` when the user does not exist or is inactive.
    pub async fn user_actor(&self, id: UserId) -> Result<Actor> {
        let user = match self.store.get_user(id).await {
            Ok(u) if u.active => u,
            Ok(_) | Err(StoreError::NotFound(_)) => return Err(Error::Unauthenticated),
            Err(e) => return Err(e.into()),
        };
        Ok(self.signed_in(user).actor)
    }

    pub(super) fn signed_in(&self, user: User) -> SignedIn {
        let must_enroll_2fa =
            user.role == Role::Admin && self.settings().require_admin_2fa && !user.has_2fa();
        let actor = Actor::User(Principal {
            user_id: user.id,
            role: user.role,
            abilities: must_enroll_2fa.then(Abilities::none),
            credential: Credential::Session,
        });
        SignedIn {
            user,
            actor,
            must_enroll_2fa,
        }
    }

    /// Signs in with a username (or email) and password. `client` identifies where the
    /// attempt comes from (the adapter's choice, e.g. the client address) for throttling.
    ///
    /// # Errors
    /// `Throttled` while the account or client is locked out; `SignInFailed` for an
    /// unknown user, a wrong password or an inactive user alike.
    pub async fn sign_in(&self, login: &str, password: &str, client: &str) -> Result<SignIn> {
        let user = if login.len() > MAX_LOGIN_BYTES {
            None
        } else {
            match self.store.find_user(login.trim()).await {
                Ok(u) => Some(u),
                Err(StoreError::NotFound(_)) => None,
                Err(e) => return Err(e.into()),
            }
        };
        let attempt = self.admit(login, user.as_ref().map(|u| u.id), client)?;
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        let typed = password.to_string();
        let verified = tokio::task::spawn_blocking(move || {
            // The dummy hash is made here too, on its first use: Argon2 never runs on an
            // async worker. An over-long password is never hashed (Argon2's cost grows with
            // its input).
            let hash = hash.as_ref().unwrap_or_else(|| dummy_hash());
            typed.chars().count() <= validate::MAX_PASSWORD && hash.verify(&typed)
        })
        .await
        .map_err(|e| Error::Backend(Box::new(e)))?;
        let user = match user {
            Some(u) if verified && u.active => u,
            other => {
                self.sign_in_failed(&attempt, other.map(|u| u.id), "password")
                    .await;
                return Err(Error::SignInFailed);
            }
        };
        if user.password_hash.needs_rehash() {
            let fresh = hash_password(password.to_string()).await?;
            let _ = self
                .store
                .update_user(
                    user.id,
                    UserChanges {
                        password_hash: Some(fresh),
                        ..Default::default()
                    },
                )
                .await;
        }
        if user.has_2fa() {
            // The attempt stays counted against the account until the second factor is
            // right: a known password must not buy fresh attempts at the code.
            drop(attempt);
            let user = self.store.get_user(user.id).await?;
            return Ok(SignIn::SecondFactor(PendingSignIn {
                user_id: user.id,
                login: login.to_string(),
                issued_at: now(),
                id: rand::random(),
                fingerprint: fingerprint(&user),
            }));
        }
        self.throttle.succeed(attempt);
        let done = self.signed_in(user);
        self.audit_user(done.user.id, "login.succeeded", "signed in with a password")
            .await;
        Ok(SignIn::Done(done))
    }

    /// Admits a sign-in attempt for `login` (and the user it names, if any) from `client`.
    fn admit(&self, login: &str, user: Option<UserId>, client: &str) -> Result<Attempt> {
        let mut keys = vec![throttle::key("login", login)];
        if let Some(id) = user {
            keys.push(throttle::key("user", &id.to_string()));
        }
        self.throttle
            .admit(&keys, &throttle::key("client", client), Instant::now())
            .map_err(|l| Error::Throttled {
                retry_after: l.retry_after,
            })
    }

    /// Finishes a sign-in with a TOTP code or a recovery code. A pending sign-in is good for
    /// one successful completion, and not at all once the user's password or 2FA changed.
    ///
    /// # Errors
    /// `Throttled` while locked out; `Rejected` when the first step is older than
    /// [`SECOND_FACTOR_WINDOW`]; `SignInFailed` for a wrong, replayed or used code, a pending
    /// sign-in already completed or overtaken by a change, or a user disabled meanwhile.
    pub async fn complete_sign_in(
        &self,
        pending: &PendingSignIn,
        code: &str,
        client: &str,
    ) -> Result<SignedIn> {
        if now() - pending.issued_at > SECOND_FACTOR_WINDOW {
            return Err(Error::Rejected(
                "The sign-in took too long. Start again with the password.".into(),
            ));
        }
        let attempt = self.admit(&pending.login, Some(pending.user_id), client)?;
        let user = self.store.get_user(pending.user_id).await?;
        let current = user.active
            && user.has_2fa()
            && fingerprint(&user) == pending.fingerprint
            && !self.pending_used(pending.id);
        let how = if current {
            self.check_second_factor(&user, code).await?
        } else {
            None
        };
        // Claimed once: of two completions racing with two good codes, one wins.
        let Some(how) = how.filter(|_| self.use_pending(pending.id)) else {
            self.sign_in_failed(&attempt, Some(user.id), "second factor")
                .await;
            return Err(Error::SignInFailed);
        };
        self.throttle.succeed(attempt);
        let done = self.signed_in(user);
        self.audit_user(done.user.id, "login.succeeded", how).await;
        Ok(done)
    }

    fn pending_used(&self, id: u64) -> bool {
        let used = self.used_pending.lock().unwrap_or_else(|e| e.into_inner());
        used.contains_key(&id)
    }

    /// Marks a pending sign-in completed; false when it already was. Forgets the ones
    /// older than the window, which are refused by their age anyway.
    fn use_pending(&self, id: u64) -> bool {
        let mut used = self.used_pending.lock().unwrap_or_else(|e| e.into_inner());
        let horizon = now() - SECOND_FACTOR_WINDOW;
        used.retain(|_, at| *at > horizon);
        used.insert(id, now()).is_none()
    }

    /// `Some(how)` when `code` is the user's current TOTP code (claimed now) or one of their
    /// unused recovery codes (used up now).
    async fn check_second_factor(&self, user: &User, code: &str) -> Result<Option<&'static str>> {
        if let Some(step) = self.totp_step(user, code, user.totp.last_step)? {
            if self.store.claim_totp_step(user.id, step).await? {
                return Ok(Some("signed in with a password and a TOTP code"));
            }
            return Ok(None);
        }
        if let Some(hash) = totp::recovery_code_hash(code) {
            if self.store.use_recovery_code(user.id, &hash, now()).await? {
                let left = self.store.recovery_codes_left(user.id).await?;
                self.audit_user(
                    user.id,
                    "2fa.recovery_code_used",
                    &format!("a recovery code was used; {left} left"),
                )
                .await;
                return Ok(Some("signed in with a password and a recovery code"));
            }
        }
        Ok(None)
    }

    /// The step `code` matches for the user's secret, refusing `last` and earlier.
    fn totp_step(&self, user: &User, code: &str, last: Option<i64>) -> Result<Option<i64>> {
        let Some(sealed) = &user.totp.sealed_secret else {
            return Ok(None);
        };
        let secret = self.open_totp_secret(sealed)?;
        let last = last.and_then(|l| u64::try_from(l).ok());
        match secret.verify(code, totp::unix_now(), last) {
            Ok(step) => Ok(i64::try_from(step).ok()),
            Err(Refusal::Malformed | Refusal::Wrong | Refusal::Replayed) => Ok(None),
        }
    }

    pub(super) fn open_totp_secret(&self, sealed: &str) -> Result<TotpSecret> {
        let bytes = self
            .key
            .open(TOTP_AAD, sealed)
            .map_err(|e| Error::Backend(Box::new(e)))?;
        TotpSecret::from_bytes(bytes)
            .ok_or_else(|| Error::Backend("stored TOTP secret is too short".into()))
    }

    async fn sign_in_failed(&self, attempt: &Attempt, user: Option<UserId>, step: &str) {
        let failure = attempt.failure;
        let who = user.map_or_else(|| "an unknown user".to_string(), |id| format!("user {id}"));
        self.audit_failure("login.failed", user, format!("{step} refused for {who}"))
            .await;
        if failure.account_locked_now || failure.client_locked_now {
            let what = match (failure.account_locked_now, failure.client_locked_now) {
                (true, true) => "the account and the client are",
                (true, false) => "the account is",
                _ => "the client is",
            };
            self.audit_failure(
                "login.locked",
                user,
                format!("{what} locked out after repeated failures ({who})"),
            )
            .await;
        }
    }

    /// Records a security event of `user` (best effort: the sign-in itself has happened).
    pub(super) async fn audit_user(&self, user: UserId, kind: &str, detail: &str) {
        let _ = self
            .store
            .append_audit(NewAuditEntry {
                user_id: Some(user),
                kind: kind.into(),
                detail: detail.into(),
            })
            .await;
    }

    // ------------------------------------------------------------------ own 2FA

    /// Starts (or restarts) the actor's own 2FA enrollment with a fresh secret. Nothing
    /// changes for signing in until [`StatusPage::confirm_2fa`].
    ///
    /// # Errors
    /// `Unauthenticated` for guests; `Conflict` when 2FA is already on.
    pub async fn begin_2fa(&self, actor: &Actor) -> Result<Enrollment> {
        let id = signed_in_user(actor)?;
        let user = self.store.get_user(id).await?;
        if user.has_2fa() {
            return Err(Error::Conflict(
                "two-factor authentication is already on; turn it off first".into(),
            ));
        }
        let secret = TotpSecret::generate();
        let sealed = self.key.seal(TOTP_AAD, secret.as_bytes());
        self.store.begin_totp(id, sealed).await?;
        let issuer = self.settings().app_name.clone();
        Ok(Enrollment {
            secret_base32: secret.base32(),
            otpauth_uri: secret.otpauth_uri(&issuer, &user.username),
            qr_svg: secret.qr_svg(&issuer, &user.username),
        })
    }

    /// Turns the actor's 2FA on with a code from the app enrolled by
    /// [`StatusPage::begin_2fa`]. Returns the recovery codes, shown once.
    ///
    /// # Errors
    /// `Invalid` (field `code`) for a wrong code; `Conflict` when no enrollment is pending.
    pub async fn confirm_2fa(&self, actor: &Actor, code: &str) -> Result<Vec<String>> {
        let id = signed_in_user(actor)?;
        let user = self.store.get_user(id).await?;
        let Some(sealed) = user.totp.sealed_secret.clone().filter(|_| !user.has_2fa()) else {
            return Err(Error::Conflict(
                "no two-factor enrollment is pending; start one first".into(),
            ));
        };
        let step = self.totp_step(&user, code, None)?.ok_or_else(bad_code)?;
        let (codes, hashes) = totp::recovery_codes();
        self.store.enable_totp(id, sealed, step, hashes).await?;
        self.audit_user(id, "2fa.enabled", "two-factor authentication turned on")
            .await;
        Ok(codes)
    }

    /// Turns the actor's own 2FA off; needs a current TOTP code.
    ///
    /// # Errors
    /// `Invalid` (field `code`) for a wrong or replayed code; `Conflict` when 2FA is off.
    pub async fn disable_2fa(&self, actor: &Actor, code: &str) -> Result<()> {
        let id = signed_in_user(actor)?;
        let user = self.store.get_user(id).await?;
        if !user.has_2fa() {
            return Err(Error::Conflict("two-factor authentication is off".into()));
        }
        // Throttled like a sign-in (a stolen session must not try all million codes).
        let key = throttle::key("user", &id.to_string());
        let attempt = self
            .throttle
            .admit(
                std::slice::from_ref(&key),
                &throttle::key("disable-2fa", &id.to_string()),
                Instant::now(),
            )
            .map_err(|l| Error::Throttled {
                retry_after: l.retry_after,
            })?;
        match self.totp_step(&user, code, user.totp.last_step)? {
            Some(step) if self.store.claim_totp_step(id, step).await? => {}
            _ => {
                self.audit_failure(
                    "2fa.disable_failed",
                    Some(id),
                    format!("a wrong code was given to turn off the 2FA of user {id}"),
                )
                .await;
                return Err(bad_code());
            }
        }
        self.throttle.succeed(attempt);
        self.store.disable_totp(id).await?;
        self.audit_user(id, "2fa.disabled", "two-factor authentication turned off")
            .await;
        Ok(())
    }

    /// Turns another user's 2FA off (Admin only, audited): for a user who lost their
    /// authenticator and their recovery codes.
    ///
    /// # Errors
    /// `Forbidden`; `NotFound(User)`.
    pub async fn reset_2fa(&self, actor: &Actor, user: UserId) -> Result<User> {
        self.authorize(actor, crate::policy::Action::WriteUsers)
            .await?;
        if actor.user_id() == Some(user) {
            return Err(Error::Rejected(
                "Your own two-factor authentication is turned off with a current code \
                 (disable_2fa), not reset."
                    .into(),
            ));
        }
        let u = self.store.disable_totp(user).await?;
        self.end_user_sessions(user).await?;
        self.audit(
            actor,
            "2fa.reset",
            format!("two-factor authentication of user {user} turned off by an admin"),
        )
        .await?;
        Ok(u)
    }

    /// How many unused recovery codes the actor has.
    ///
    /// # Errors
    /// `Unauthenticated` for guests.
    pub async fn recovery_codes_left(&self, actor: &Actor) -> Result<u32> {
        let id = signed_in_user(actor)?;
        Ok(self.store.recovery_codes_left(id).await?)
    }
}
