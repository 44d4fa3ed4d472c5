//! Server-side sessions for a browser dashboard, and the CSRF tokens bound to them.
//!
//! Every rule of a session lives here, whatever adapter sets the cookie:
//!
//! - The browser holds a random secret of 256 bits ([`SessionSecret`]); the store keeps only
//!   its SHA-256 digest ([`crate::store::Session`]), so a copy of the database signs nobody in.
//! - A session is only made by a correct password. While a second factor is awaited it is
//!   *pending*: it names the user and grants nothing. The second factor replaces it by a new
//!   session with a new secret (one atomic store operation, so a pending session is completed
//!   at most once, across instances too), and so does a change of privilege
//!   ([`StatusPage::rotate_session`]): a secret known from before never works after.
//! - It ends after [`SessionLimits::idle`] without a request and [`SessionLimits::absolute`]
//!   after it began, whatever the activity; sign-out deletes it, "sign out everywhere" deletes
//!   all of the user's; a change of a user's role, active flag or 2FA ends their sessions.
//! - Who a session acts as is read from the user on every request: a demotion or a
//!   deactivation takes effect at once.
//! - A CSRF token is a keyed digest of the secret it protects ([`StatusPage::csrf_token`]):
//!   nothing to store, different for every session, and unknowable without the data key and
//!   the cookie. Checked in constant time.

use chrono::{DateTime, Duration, Utc};
use subtle::ConstantTimeEq;

use super::accounts::{PendingSignIn, SignIn, SECOND_FACTOR_WINDOW};
use super::StatusPage;
use crate::error::{Error, Result, StoreError};
use crate::ids::UserId;
use crate::model::User;
use crate::policy::Actor;
use crate::secret::{random_code, TokenHash};
use crate::store::{now, NewSession, Session};

/// Characters of a session secret (alphanumeric: about 5.95 bits each, 256 bits in all).
const SECRET_CHARS: usize = 43;

/// How often `last_seen_at` is written at most (not once per request).
const TOUCH_EVERY: Duration = Duration::seconds(60);

/// How long sessions last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Without a request for this long, a session ends.
    pub idle: Duration,
    /// This long after it began, a session ends however active.
    pub absolute: Duration,
}

impl Default for SessionLimits {
    /// 30 minutes idle, 12 hours in all (a working day of an outage, then sign in again).
    fn default() -> Self {
        SessionLimits {
            idle: Duration::minutes(30),
            absolute: Duration::hours(12),
        }
    }
}

/// The secret a browser holds for its session (the cookie's value). Its `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionSecret(String);

impl SessionSecret {
    /// A fresh secret from the OS random source.
    fn generate() -> SessionSecret {
        SessionSecret(random_code(SECRET_CHARS))
    }

    /// The secret as sent by a browser. Anything that is not a well-formed secret is `None`
    /// (and so no session), before any store access.
    pub fn parse(text: &str) -> Option<SessionSecret> {
        (text.len() == SECRET_CHARS && text.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then(|| SessionSecret(text.to_string()))
    }

    /// The value to put in the cookie.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }
}

impl std::fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionSecret(..)")
    }
}

/// A new session after a correct password.
#[derive(Debug, Clone)]
pub struct SessionStart {
    /// For the cookie (replacing whatever the browser held before).
    pub secret: SessionSecret,
    /// True when a second factor must follow ([`StatusPage::complete_session`]).
    pub second_factor: bool,
}

/// What a request's session is.
#[derive(Debug, Clone)]
pub enum Resumed {
    /// Signed in.
    SignedIn(ActiveSession),
    /// The password was right; the second factor is awaited.
    SecondFactor {
        /// Who is signing in.
        user_id: UserId,
    },
}

/// A signed-in session.
#[derive(Debug, Clone)]
pub struct ActiveSession {
    /// The user, as stored now.
    pub user: User,
    /// Who they act as (their current role; no abilities while they must enroll in 2FA).
    pub actor: Actor,
    /// True while they must enroll in 2FA before anything else.
    pub must_enroll_2fa: bool,
    /// When the session began.
    pub created_at: DateTime<Utc>,
}

/// The stored form of a pending sign-in: `v1:<fingerprint hex>:<login as typed>`.
fn pending_to_stored(p: &PendingSignIn) -> String {
    format!("v1:{}:{}", p.fingerprint().to_hex(), p.login())
}

fn pending_from_stored(s: &Session) -> Option<PendingSignIn> {
    let rest = s.pending.as_deref()?.strip_prefix("v1:")?;
    let (fingerprint, login) = rest.split_once(':')?;
    // The id of the pending sign-in (single use within this process) is the session's own.
    let hex = s.hash.to_hex();
    let id = u64::from_str_radix(&hex[..16], 16).ok()?;
    Some(PendingSignIn::restore(
        s.user_id,
        login.to_string(),
        s.created_at,
        id,
        TokenHash::from_hex(fingerprint)?,
    ))
}

impl StatusPage {
    /// Replaces the session limits (default [`SessionLimits::default`]).
    #[must_use]
    pub fn with_session_limits(mut self, limits: SessionLimits) -> StatusPage {
        self.sessions = limits;
        self
    }

    /// The session limits in force.
    pub fn session_limits(&self) -> SessionLimits {
        self.sessions
    }

    /// Signs in with a password (see [`StatusPage::sign_in`], whose throttling and errors
    /// apply) and starts a session: a signed-in one, or a pending one when 2FA is on.
    ///
    /// # Errors
    /// As [`StatusPage::sign_in`].
    pub async fn start_session(
        &self,
        login: &str,
        password: &str,
        client: &str,
    ) -> Result<SessionStart> {
        let (user_id, pending) = match self.sign_in(login, password, client).await? {
            SignIn::Done(done) => (done.user.id, None),
            SignIn::SecondFactor(p) => (p.user_id(), Some(pending_to_stored(&p))),
        };
        let second_factor = pending.is_some();
        let secret = SessionSecret::generate();
        self.store
            .create_session(NewSession {
                hash: secret.hash(),
                user_id,
                pending,
                created_at: now(),
                last_seen_at: now(),
            })
            .await?;
        Ok(SessionStart {
            secret,
            second_factor,
        })
    }

    /// Completes a pending session with a TOTP or recovery code (see
    /// [`StatusPage::complete_sign_in`]). The pending secret stops working; the returned one
    /// is the signed-in session's.
    ///
    /// # Errors
    /// `Unauthenticated` when `secret` is no pending session (unknown, expired, or already
    /// completed); otherwise as [`StatusPage::complete_sign_in`].
    pub async fn complete_session(
        &self,
        secret: &SessionSecret,
        code: &str,
        client: &str,
    ) -> Result<SessionSecret> {
        let hash = secret.hash();
        let session = self.live_session(&hash).await?;
        let pending = pending_from_stored(&session).ok_or(Error::Unauthenticated)?;
        let done = self.complete_sign_in(&pending, code, client).await?;
        let fresh = SessionSecret::generate();
        let replaced = self
            .store
            .replace_session(
                &hash,
                NewSession {
                    hash: fresh.hash(),
                    user_id: done.user.id,
                    pending: None,
                    created_at: now(),
                    last_seen_at: now(),
                },
            )
            .await?;
        // Another instance completed this pending session first.
        replaced.ok_or(Error::SignInFailed)?;
        Ok(fresh)
    }

    /// The session a browser's secret names, checked against its limits. An expired one is
    /// deleted. Activity is recorded (at most once a minute).
    ///
    /// # Errors
    /// `Unauthenticated` when there is no such session, it expired, or its user is gone or
    /// inactive.
    pub async fn resume_session(&self, secret: &SessionSecret) -> Result<Resumed> {
        let hash = secret.hash();
        let session = self.live_session(&hash).await?;
        if session.pending.is_some() {
            return Ok(Resumed::SecondFactor {
                user_id: session.user_id,
            });
        }
        let user = match self.store.get_user(session.user_id).await {
            Ok(u) if u.active => u,
            Ok(_) | Err(StoreError::NotFound(_)) => {
                self.store.delete_session(&hash).await?;
                return Err(Error::Unauthenticated);
            }
            Err(e) => return Err(e.into()),
        };
        let at = now();
        if at - session.last_seen_at >= TOUCH_EVERY {
            self.store.touch_session(&hash, at).await?;
        }
        let signed_in = self.signed_in(user);
        Ok(Resumed::SignedIn(ActiveSession {
            user: signed_in.user,
            actor: signed_in.actor,
            must_enroll_2fa: signed_in.must_enroll_2fa,
            created_at: session.created_at,
        }))
    }

    /// Gives a signed-in session a new secret (after a change of privilege, such as turning
    /// 2FA on). The old secret stops working. The session keeps its start, so the absolute
    /// limit still counts from the sign-in.
    ///
    /// # Errors
    /// `Unauthenticated` when `secret` is no signed-in session.
    pub async fn rotate_session(&self, secret: &SessionSecret) -> Result<SessionSecret> {
        let hash = secret.hash();
        let session = self.live_session(&hash).await?;
        if session.pending.is_some() {
            return Err(Error::Unauthenticated);
        }
        let fresh = SessionSecret::generate();
        self.store
            .replace_session(
                &hash,
                NewSession {
                    hash: fresh.hash(),
                    user_id: session.user_id,
                    pending: None,
                    created_at: session.created_at,
                    last_seen_at: now(),
                },
            )
            .await?
            .ok_or(Error::Unauthenticated)?;
        Ok(fresh)
    }

    /// After the session's user turned their 2FA on or off: every other session of theirs
    /// ends, and this one gets a new secret ([`StatusPage::rotate_session`]).
    ///
    /// # Errors
    /// `Unauthenticated` when `secret` is no signed-in session.
    pub async fn second_factor_changed(&self, secret: &SessionSecret) -> Result<SessionSecret> {
        let hash = secret.hash();
        let session = self.live_session(&hash).await?;
        self.store
            .delete_user_sessions(session.user_id, Some(&hash))
            .await?;
        self.rotate_session(secret).await
    }

    /// Signs out: deletes the session (pending or not). Unknown secrets are fine.
    ///
    /// # Errors
    /// Store failures.
    pub async fn end_session(&self, secret: &SessionSecret) -> Result<()> {
        self.store.delete_session(&secret.hash()).await?;
        Ok(())
    }

    /// Signs the session's user out everywhere else: every other session of theirs ends.
    /// Returns how many ended. Audited.
    ///
    /// # Errors
    /// `Unauthenticated` when `secret` is no signed-in session.
    pub async fn end_other_sessions(&self, secret: &SessionSecret) -> Result<u64> {
        let hash = secret.hash();
        let session = self.live_session(&hash).await?;
        if session.pending.is_some() {
            return Err(Error::Unauthenticated);
        }
        let ended = self
            .store
            .delete_user_sessions(session.user_id, Some(&hash))
            .await?;
        self.audit_user(
            session.user_id,
            "session.ended_elsewhere",
            &format!("signed out everywhere else: {ended} sessions ended"),
        )
        .await;
        Ok(ended)
    }

    /// Ends every session of `user` (their role, active flag or 2FA changed).
    pub(crate) async fn end_user_sessions(&self, user: UserId) -> Result<()> {
        self.store.delete_user_sessions(user, None).await?;
        Ok(())
    }

    /// Deletes the sessions past their limits (housekeeping; expired sessions are refused
    /// whether or not this ran). Returns how many.
    ///
    /// # Errors
    /// Store failures.
    pub async fn purge_sessions(&self) -> Result<u64> {
        let at = now();
        let limits = self.sessions;
        let created_before = at - limits.absolute.max(SECOND_FACTOR_WINDOW);
        Ok(self
            .store
            .purge_sessions(created_before, at - limits.idle)
            .await?)
    }

    /// The CSRF token for forms sent with `binding` (a session secret, or the nonce an
    /// adapter gives a browser before it signs in).
    pub fn csrf_token(&self, binding: &str) -> String {
        self.key.lookup("csrf", binding)
    }

    /// Whether `presented` is the CSRF token for `binding`, compared in constant time.
    pub fn check_csrf(&self, binding: &str, presented: &str) -> bool {
        let expected = self.csrf_token(binding);
        expected.len() == presented.len()
            && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
    }

    /// The stored session for `hash` if it is within its limits; an expired one is deleted.
    async fn live_session(&self, hash: &TokenHash) -> Result<Session> {
        let session = match self.store.get_session(hash).await {
            Ok(s) => s,
            Err(StoreError::NotFound(_)) => return Err(Error::Unauthenticated),
            Err(e) => return Err(e.into()),
        };
        let at = now();
        let limits = self.sessions;
        let lifetime = if session.pending.is_some() {
            SECOND_FACTOR_WINDOW.min(limits.absolute)
        } else {
            limits.absolute
        };
        let expired =
            at - session.created_at >= lifetime || at - session.last_seen_at >= limits.idle;
        if expired {
            self.store.delete_session(hash).await?;
            return Err(Error::Unauthenticated);
        }
        Ok(session)
    }
}
