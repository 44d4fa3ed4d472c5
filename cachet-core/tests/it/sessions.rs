//! Dashboard sessions through the service: made by a password, completed by a second factor,
//! rotated, expired, ended; and the CSRF tokens bound to them.

use cachet_core::enums::Role;
use cachet_core::error::Error;
use cachet_core::policy::Actor;
use cachet_core::secret::TokenHash;
use cachet_core::service::{Resumed, SessionLimits, SessionSecret};
use cachet_core::store::{now, NewSession};
use cachet_core::totp::TotpSecret;
use cachet_core::{StatusPage, Store};
use chrono::Duration;

use super::accounts::{add_user, code_at, enrolled, setup, PASSWORD};

fn signed_in(r: Resumed) -> cachet_core::service::ActiveSession {
    match r {
        Resumed::SignedIn(a) => a,
        Resumed::SecondFactor { .. } => panic!("expected a signed-in session"),
    }
}

async fn refused(s: &StatusPage, secret: &SessionSecret) -> bool {
    matches!(s.resume_session(secret).await, Err(Error::Unauthenticated))
}

#[tokio::test]
async fn a_password_starts_a_session_that_the_store_knows_only_by_digest() {
    let (s, store) = setup().await;
    let u = add_user(&s, "ann", Role::Manager).await;
    let start = s.start_session("ann", PASSWORD, "c").await.unwrap();
    assert!(!start.second_factor);
    let secret = start.secret.expose().to_string();
    assert_eq!(secret.len(), 43);
    assert!(secret.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(format!("{:?}", start.secret), "SessionSecret(..)");
    let stored = store.get_session(&TokenHash::of(&secret)).await.unwrap();
    assert_eq!((stored.user_id, stored.pending), (u.id, None));
    let active = signed_in(s.resume_session(&start.secret).await.unwrap());
    assert_eq!(active.user.id, u.id);
    let Actor::User(p) = &active.actor else {
        panic!("a user")
    };
    assert_eq!((p.role, p.abilities), (Role::Manager, None));
    assert!(!active.must_enroll_2fa);
    // A wrong password makes no session.
    assert!(matches!(
        s.start_session("ann", "wrong password here", "c").await,
        Err(Error::SignInFailed)
    ));
    // Two sessions of two sign-ins are distinct.
    let again = s.start_session("ann", PASSWORD, "c").await.unwrap();
    assert_ne!(again.secret, start.secret);
}

#[tokio::test]
async fn malformed_secrets_are_no_session() {
    for bad in [
        "",
        "short",
        &"a".repeat(42),
        &"a".repeat(44),
        &format!("{}!", "a".repeat(42)),
    ] {
        assert_eq!(SessionSecret::parse(bad), None, "{bad:?}");
    }
    assert!(
        SessionSecret::parse(&"aB3".repeat(14).chars().chain(['z']).collect::<String>()).is_some()
    );
}

#[tokio::test]
async fn the_second_factor_replaces_the_pending_session_once() {
    let (s, _) = setup().await;
    let (_, totp, codes) = enrolled(&s, "ann").await;
    let start = s.start_session("ann", PASSWORD, "c").await.unwrap();
    assert!(start.second_factor);
    let pending = start.secret;
    assert!(matches!(
        s.resume_session(&pending).await.unwrap(),
        Resumed::SecondFactor { .. }
    ));
    // A wrong code keeps the pending session.
    let wrong = if code_at(&totp, 0) == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert!(matches!(
        s.complete_session(&pending, wrong, "c").await,
        Err(Error::SignInFailed)
    ));
    let full = s
        .complete_session(&pending, &code_at(&totp, 0), "c")
        .await
        .unwrap();
    assert_ne!(full, pending);
    assert!(refused(&s, &pending).await, "the pending secret is dead");
    signed_in(s.resume_session(&full).await.unwrap());
    // Completing it again (another code) is refused: the pending session is gone.
    assert!(matches!(
        s.complete_session(&pending, &codes[0], "c").await,
        Err(Error::Unauthenticated)
    ));
    // A signed-in session is no pending one.
    assert!(matches!(
        s.complete_session(&full, &codes[0], "c").await,
        Err(Error::Unauthenticated)
    ));
    assert_eq!(
        s.recovery_codes_left(&signed_in(s.resume_session(&full).await.unwrap()).actor)
            .await
            .unwrap(),
        10
    );
}

/// A session stored with the given start and last activity, for a secret the test knows.
async fn planted(
    store: &dyn Store,
    user: cachet_core::ids::UserId,
    name: char,
    began_ago: Duration,
    seen_ago: Duration,
) -> SessionSecret {
    let text: String = std::iter::repeat_n(name, 43).collect();
    let at = now();
    store
        .create_session(NewSession {
            hash: TokenHash::of(&text),
            user_id: user,
            pending: None,
            created_at: at - began_ago,
            last_seen_at: at - seen_ago,
        })
        .await
        .unwrap();
    SessionSecret::parse(&text).unwrap()
}

#[tokio::test]
async fn sessions_expire_when_idle_and_at_their_absolute_limit() {
    let (s, store) = setup().await;
    let u = add_user(&s, "ann", Role::Viewer).await;
    let limits = SessionLimits::default();
    assert_eq!(
        (limits.idle, limits.absolute),
        (Duration::minutes(30), Duration::hours(12))
    );
    let m = Duration::minutes;
    let fresh = planted(store.as_ref(), u.id, 'a', m(60), m(5)).await;
    let idle = planted(store.as_ref(), u.id, 'b', m(60), m(31)).await;
    let old = planted(store.as_ref(), u.id, 'c', Duration::hours(12) + m(1), m(1)).await;
    signed_in(s.resume_session(&fresh).await.unwrap());
    // Activity is recorded (it was 5 minutes ago).
    let seen = store
        .get_session(&TokenHash::of(fresh.expose()))
        .await
        .unwrap()
        .last_seen_at;
    assert!(now() - seen < Duration::seconds(5), "touched: {seen}");
    assert!(refused(&s, &idle).await);
    assert!(refused(&s, &old).await);
    // The refused ones are deleted, not only refused.
    for gone in [&idle, &old] {
        assert!(store
            .get_session(&TokenHash::of(gone.expose()))
            .await
            .is_err());
    }
    // Limits are configurable.
    let (s2, store2) = setup().await;
    let s2 = s2.with_session_limits(SessionLimits {
        idle: m(2),
        absolute: m(10),
    });
    let u2 = add_user(&s2, "bob", Role::Viewer).await;
    let idle2 = planted(store2.as_ref(), u2.id, 'd', m(3), m(3)).await;
    let old2 = planted(store2.as_ref(), u2.id, 'e', m(11), m(1)).await;
    let ok2 = planted(store2.as_ref(), u2.id, 'f', m(9), m(1)).await;
    assert!(refused(&s2, &idle2).await);
    assert!(refused(&s2, &old2).await);
    signed_in(s2.resume_session(&ok2).await.unwrap());
    // Purging deletes the expired without a request.
    let stale = planted(store2.as_ref(), u2.id, 'g', m(20), m(20)).await;
    assert_eq!(s2.purge_sessions().await.unwrap(), 1);
    assert!(store2
        .get_session(&TokenHash::of(stale.expose()))
        .await
        .is_err());
    signed_in(s2.resume_session(&ok2).await.unwrap());
}

#[tokio::test]
async fn rotation_kills_the_old_secret_and_keeps_the_start() {
    let (s, store) = setup().await;
    let u = add_user(&s, "ann", Role::Viewer).await;
    let old = planted(
        store.as_ref(),
        u.id,
        'a',
        Duration::hours(2),
        Duration::minutes(1),
    )
    .await;
    let began = store
        .get_session(&TokenHash::of(old.expose()))
        .await
        .unwrap()
        .created_at;
    let new = s.rotate_session(&old).await.unwrap();
    assert!(refused(&s, &old).await);
    let active = signed_in(s.resume_session(&new).await.unwrap());
    assert_eq!(
        active.created_at, began,
        "the absolute limit still counts from the sign-in"
    );
    assert!(matches!(
        s.rotate_session(&old).await,
        Err(Error::Unauthenticated)
    ));
}

#[tokio::test]
async fn role_changes_deactivation_and_sign_out_everywhere_end_sessions() {
    let (s, _) = setup().await;
    let ann = add_user(&s, "ann", Role::Manager).await;
    let bob = add_user(&s, "bob", Role::Manager).await;
    let sys = Actor::System;
    let a1 = s.start_session("ann", PASSWORD, "c").await.unwrap().secret;
    let a2 = s.start_session("ann", PASSWORD, "c").await.unwrap().secret;
    let a3 = s.start_session("ann", PASSWORD, "c").await.unwrap().secret;
    let b1 = s.start_session("bob", PASSWORD, "c").await.unwrap().secret;
    assert_eq!(s.end_other_sessions(&a1).await.unwrap(), 2);
    assert!(refused(&s, &a2).await && refused(&s, &a3).await);
    signed_in(s.resume_session(&a1).await.unwrap());
    // A demotion ends every session of the user, not the others'.
    s.update_user(&sys, ann.id, Some(Role::Viewer), None)
        .await
        .unwrap();
    assert!(refused(&s, &a1).await);
    signed_in(s.resume_session(&b1).await.unwrap());
    // Deactivation too.
    s.update_user(&sys, bob.id, None, Some(false))
        .await
        .unwrap();
    assert!(refused(&s, &b1).await);
    // Sign-out ends one session.
    let a4 = s.start_session("ann", PASSWORD, "c").await.unwrap().secret;
    s.end_session(&a4).await.unwrap();
    assert!(refused(&s, &a4).await);
    s.end_session(&a4).await.unwrap();
}

#[tokio::test]
async fn an_admin_who_must_enroll_gets_a_new_session_after_enrolling() {
    let (s, _) = setup().await;
    add_user(&s, "root", Role::Admin).await;
    let first = s.start_session("root", PASSWORD, "c").await.unwrap().secret;
    let elsewhere = s.start_session("root", PASSWORD, "c").await.unwrap().secret;
    let active = signed_in(s.resume_session(&first).await.unwrap());
    assert!(active.must_enroll_2fa);
    let Actor::User(p) = &active.actor else {
        panic!("a user")
    };
    assert_eq!(p.abilities, Some(cachet_core::policy::Abilities::none()));
    let enrollment = s.begin_2fa(&active.actor).await.unwrap();
    let totp = TotpSecret::from_base32(&enrollment.secret_base32).unwrap();
    s.confirm_2fa(&active.actor, &code_at(&totp, 0))
        .await
        .unwrap();
    let rotated = s.second_factor_changed(&first).await.unwrap();
    assert!(refused(&s, &first).await);
    assert!(refused(&s, &elsewhere).await, "other sessions end");
    let now_active = signed_in(s.resume_session(&rotated).await.unwrap());
    assert!(!now_active.must_enroll_2fa);
    let Actor::User(p) = &now_active.actor else {
        panic!("a user")
    };
    assert_eq!(p.abilities, None);
    // An admin resetting someone's 2FA ends that user's sessions.
    let (_, _, _) = enrolled(&s, "mia").await;
    let mia = s.start_session("mia", PASSWORD, "c").await.unwrap().secret;
    let mia_id = match s.resume_session(&mia).await.unwrap() {
        Resumed::SecondFactor { user_id } => user_id,
        Resumed::SignedIn(_) => panic!("mia has 2FA"),
    };
    s.reset_2fa(&now_active.actor, mia_id).await.unwrap();
    assert!(refused(&s, &mia).await);
}

#[tokio::test]
async fn csrf_tokens_are_bound_to_their_session_and_key() {
    let (s, _) = setup().await;
    let (other, _) = setup().await;
    let token = s.csrf_token("session-a");
    assert_eq!(token.len(), 64);
    assert_eq!(token, s.csrf_token("session-a"), "stable for one session");
    assert!(s.check_csrf("session-a", &token));
    assert!(!s.check_csrf("session-b", &token));
    assert!(!s.check_csrf("session-a", &token[..63]));
    assert!(!s.check_csrf("session-a", ""));
    assert!(
        !other.check_csrf("session-a", &token),
        "another data key, another token"
    );
}
