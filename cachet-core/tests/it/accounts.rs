//! Signing in, throttling, 2FA and narrowed tokens through the service, with the values
//! they must produce; and the audit trail they leave, which must never hold a secret.

use std::sync::Arc;

use cachet_core::crypto::DataKey;
use cachet_core::enums::Role;
use cachet_core::error::Error;
use cachet_core::input::{ComponentInput, PointInput, TokenInput, UserInput};
use cachet_core::memory::MemoryStore;
use cachet_core::policy::{Abilities, Ability, Actor};
use cachet_core::secret::NewToken;
use cachet_core::service::{SignIn, SignedIn};
use cachet_core::store::{AuditFilter, ListQuery, NewApiToken};
use cachet_core::throttle::ACCOUNT_FREE_FAILURES;
use cachet_core::totp::{TotpSecret, STEP_SECS};
use cachet_core::{StatusPage, Store};
use chrono::{Duration, Utc};

const SYS: Actor = Actor::System;
pub(crate) const PASSWORD: &str = "plinth-oxbow-quietus-8";

pub(crate) async fn setup() -> (StatusPage, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    let s = StatusPage::new(store.clone(), DataKey::generate().0)
        .await
        .unwrap();
    (s, store)
}

pub(crate) async fn add_user(s: &StatusPage, name: &str, role: Role) -> cachet_core::model::User {
    s.create_user(
        &SYS,
        UserInput {
            username: name.into(),
            email: format!("{name}@example.com"),
            password: PASSWORD.into(),
            role,
        },
    )
    .await
    .unwrap()
}

fn done(r: SignIn) -> SignedIn {
    match r {
        SignIn::Done(d) => d,
        SignIn::SecondFactor(_) => panic!("expected a finished sign-in"),
    }
}

async fn audit_kinds(s: &StatusPage) -> Vec<(String, String)> {
    let page = s
        .list_audit(&SYS, &ListQuery::new(1, 100, AuditFilter::default()))
        .await
        .unwrap();
    let mut v: Vec<(String, String)> = page.items.into_iter().map(|e| (e.kind, e.detail)).collect();
    v.reverse();
    v
}

fn component() -> ComponentInput {
    ComponentInput {
        name: Some("API".into()),
        status: Some(1),
        ..Default::default()
    }
}

#[tokio::test]
async fn unknown_user_wrong_password_and_inactive_user_look_the_same() {
    let (s, _) = setup().await;
    let u = add_user(&s, "ann", Role::Manager).await;
    let unknown = s.sign_in("nobody", PASSWORD, "c").await.unwrap_err();
    let wrong = s.sign_in("ann", "wrong password!", "c").await.unwrap_err();
    assert!(matches!(unknown, Error::SignInFailed));
    assert!(matches!(wrong, Error::SignInFailed));
    assert_eq!(unknown.to_string(), wrong.to_string());
    s.update_user(&SYS, u.id, None, Some(false)).await.unwrap();
    assert!(matches!(
        s.sign_in("ann", PASSWORD, "c").await,
        Err(Error::SignInFailed)
    ));
    s.update_user(&SYS, u.id, None, Some(true)).await.unwrap();
    let ok = done(s.sign_in("ann", PASSWORD, "c").await.unwrap());
    assert_eq!(ok.user.id, u.id);
    assert_eq!(ok.actor.role(), Some(Role::Manager));
    assert!(!ok.must_enroll_2fa);
    // By email too.
    let by_email = done(s.sign_in("ann@example.com", PASSWORD, "c").await.unwrap());
    assert_eq!(by_email.user.id, u.id);
    let kinds = audit_kinds(&s).await;
    let failed: Vec<_> = kinds.iter().filter(|(k, _)| k == "login.failed").collect();
    assert_eq!(failed.len(), 3, "{kinds:?}");
    assert_eq!(failed[0].1, "password refused for an unknown user");
    assert_eq!(failed[1].1, format!("password refused for user {}", u.id));
    assert!(kinds
        .iter()
        .all(|(_, d)| !d.contains("nobody") && !d.contains("wrong")));
    assert_eq!(
        kinds.iter().filter(|(k, _)| k == "login.succeeded").count(),
        2
    );
}

#[tokio::test]
async fn throttling_engages_after_the_free_failures_for_real_and_unknown_accounts() {
    let (s, _) = setup().await;
    add_user(&s, "ann", Role::Viewer).await;
    for login in ["ann", "ghost"] {
        for i in 0..=ACCOUNT_FREE_FAILURES {
            let e = s
                .sign_in(login, "not the password", "10.0.0.1")
                .await
                .unwrap_err();
            assert!(matches!(e, Error::SignInFailed), "{login} attempt {i}: {e}");
        }
        // Locked now: even the right password is not checked.
        let e = s.sign_in(login, PASSWORD, "10.0.0.2").await.unwrap_err();
        match e {
            Error::Throttled { retry_after } => {
                assert!(retry_after.as_secs() <= 1, "{retry_after:?}")
            }
            other => panic!("{login}: expected Throttled, got {other}"),
        }
        // Case does not buy a fresh budget. (Checked at once: the first lock lasts a
        // second, and the next login's failed hashes can take longer on a loaded machine.)
        let shouted = login.to_uppercase();
        assert!(
            matches!(
                s.sign_in(&shouted, PASSWORD, "10.0.0.3").await,
                Err(Error::Throttled { .. })
            ),
            "{shouted}"
        );
    }
    let kinds = audit_kinds(&s).await;
    assert_eq!(
        kinds.iter().filter(|(k, _)| k == "login.locked").count(),
        2,
        "{kinds:?}"
    );
    // After the lock runs out, the right password works and clears the account.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    done(s.sign_in("ann", PASSWORD, "10.0.0.4").await.unwrap());
    let e = s
        .sign_in("ann", "not the password", "10.0.0.4")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::SignInFailed));
}

pub(crate) fn code_at(secret: &TotpSecret, offset_steps: i64) -> String {
    let step = u64::try_from(Utc::now().timestamp()).unwrap() / STEP_SECS;
    secret.code(step.checked_add_signed(offset_steps).unwrap())
}

#[tokio::test]
async fn two_factor_enrollment_sign_in_replay_and_recovery_codes() {
    let (s, _) = setup().await;
    let u = add_user(&s, "ann", Role::Admin).await;
    let first = done(s.sign_in("ann", PASSWORD, "c").await.unwrap());
    // An Admin without 2FA may do nothing but enroll.
    assert!(first.must_enroll_2fa);
    assert!(matches!(
        s.create_component(&first.actor, component()).await,
        Err(Error::Forbidden)
    ));
    let enrollment = s.begin_2fa(&first.actor).await.unwrap();
    assert!(enrollment
        .otpauth_uri
        .starts_with("otpauth://totp/Status:ann?secret="));
    assert!(enrollment.qr_svg.as_deref().unwrap().contains("<svg"));
    assert_eq!(format!("{enrollment:?}"), "Enrollment(..)");
    let secret = TotpSecret::from_base32(&enrollment.secret_base32).unwrap();
    // A wrong code does not turn it on.
    let wrong = if code_at(&secret, 0) == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert!(matches!(
        s.confirm_2fa(&first.actor, wrong).await,
        Err(Error::Invalid(_))
    ));
    let recovery = s
        .confirm_2fa(&first.actor, &code_at(&secret, -1))
        .await
        .unwrap();
    assert_eq!(recovery.len(), 10);
    assert_eq!(s.recovery_codes_left(&first.actor).await.unwrap(), 10);
    // Now a password alone is not enough.
    let SignIn::SecondFactor(pending) = s.sign_in("ann", PASSWORD, "c").await.unwrap() else {
        panic!("expected a second step");
    };
    assert_eq!(pending.user_id(), u.id);
    // The code that confirmed the enrollment was used: a replay is refused.
    assert!(matches!(
        s.complete_sign_in(&pending, &code_at(&secret, -1), "c")
            .await,
        Err(Error::SignInFailed)
    ));
    let full = s
        .complete_sign_in(&pending, &code_at(&secret, 0), "c")
        .await
        .unwrap();
    assert!(!full.must_enroll_2fa);
    s.create_component(&full.actor, component()).await.unwrap();
    // The same code again, in another sign-in: refused.
    let SignIn::SecondFactor(again) = s.sign_in("ann", PASSWORD, "c").await.unwrap() else {
        panic!("expected a second step");
    };
    assert!(matches!(
        s.complete_sign_in(&again, &code_at(&secret, 0), "c").await,
        Err(Error::SignInFailed)
    ));
    // A recovery code works once, typed loosely.
    let loose = recovery[0].to_uppercase().replace('-', " ");
    s.complete_sign_in(&again, &loose, "c").await.unwrap();
    assert!(matches!(
        s.complete_sign_in(&again, &recovery[0], "c").await,
        Err(Error::SignInFailed)
    ));
    assert_eq!(s.recovery_codes_left(&full.actor).await.unwrap(), 9);
    // Disabling needs a current code that is not used yet.
    assert!(matches!(
        s.disable_2fa(&full.actor, &code_at(&secret, 0)).await,
        Err(Error::Invalid(_))
    ));
    s.disable_2fa(&full.actor, &code_at(&secret, 1))
        .await
        .unwrap();
    assert_eq!(s.recovery_codes_left(&full.actor).await.unwrap(), 0);
    let after = done(s.sign_in("ann", PASSWORD, "c").await.unwrap());
    assert!(after.must_enroll_2fa);
    // Nothing secret reached the audit log.
    let kinds = audit_kinds(&s).await;
    for (kind, detail) in &kinds {
        assert!(!detail.contains(&enrollment.secret_base32), "{kind}");
        assert!(!detail.contains(PASSWORD), "{kind}");
        for code in &recovery {
            assert!(!detail.contains(code.as_str()), "{kind}");
        }
    }
    let names: Vec<&str> = kinds.iter().map(|(k, _)| k.as_str()).collect();
    for expected in [
        "2fa.enabled",
        "2fa.recovery_code_used",
        "2fa.disabled",
        "login.succeeded",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
}

#[tokio::test]
async fn the_admin_2fa_requirement_is_a_setting() {
    let (s, _) = setup().await;
    add_user(&s, "ann", Role::Admin).await;
    add_user(&s, "bob", Role::Manager).await;
    assert!(!done(s.sign_in("bob", PASSWORD, "c").await.unwrap()).must_enroll_2fa);
    s.update_settings(&SYS, &[("require_admin_2fa".into(), "false".into())])
        .await
        .unwrap();
    let ann = done(s.sign_in("ann", PASSWORD, "c").await.unwrap());
    assert!(!ann.must_enroll_2fa);
    s.create_component(&ann.actor, component()).await.unwrap();
    assert_eq!(s.user_actor(ann.user.id).await.unwrap(), ann.actor);
}

#[tokio::test]
async fn tokens_are_narrowed_by_abilities_and_fail_when_expired() {
    let (s, store) = setup().await;
    let bot = add_user(&s, "bot", Role::Manager).await;
    let (tok, secret) = s
        .create_token(
            &SYS,
            bot.id,
            TokenInput {
                name: "points only".into(),
                abilities: Some("metrics.points.write".into()),
                expires_at: Some(Utc::now() + Duration::days(30)),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        tok.abilities,
        Some(Abilities::of(&[Ability::MetricPointsWrite]))
    );
    let actor = s.authenticate_token(&secret).await.unwrap();
    assert!(matches!(
        s.create_component(&actor, component()).await,
        Err(Error::Forbidden)
    ));
    // Within the ability: allowed (an unknown metric is the next thing in the way).
    let e = s
        .record_point(
            &actor,
            cachet_core::ids::MetricId(999),
            PointInput {
                value: Some(1.0),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound(_)), "{e}");
    // Bad abilities and past expiry are named.
    let e = s
        .create_token(
            &SYS,
            bot.id,
            TokenInput {
                name: "x".into(),
                abilities: Some("incidents.write root".into()),
                expires_at: Some(Utc::now() - Duration::seconds(1)),
            },
        )
        .await
        .unwrap_err();
    let Error::Invalid(v) = e else { panic!("{e}") };
    let fields: Vec<&str> = v.errors().iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["abilities", "expires_at"]);
    assert!(v.errors()[0].message.contains("root"));
    // A token whose expiry has passed fails like a revoked one, and is audited.
    let old = NewToken::generate();
    store
        .create_token(NewApiToken {
            user_id: bot.id,
            name: "old".into(),
            prefix: old.prefix.clone(),
            hash: old.hash,
            abilities: None,
            expires_at: Some(Utc::now() - Duration::seconds(5)),
        })
        .await
        .unwrap();
    assert!(matches!(
        s.authenticate_token(&old.secret).await,
        Err(Error::Unauthenticated)
    ));
    assert_eq!(
        s.identify_reader(Some(&old.secret)).await.unwrap(),
        Actor::Guest
    );
    let kinds = audit_kinds(&s).await;
    assert!(kinds
        .iter()
        .any(|(k, d)| k == "token.failed" && d.ends_with("refused: expired")));
    assert!(kinds
        .iter()
        .all(|(_, d)| !d.contains(&secret) && !d.contains(&old.secret)));
}

#[tokio::test]
async fn the_password_policy_applies_to_new_users() {
    let (s, _) = setup().await;
    for (password, expect) in [
        ("short", "at least 12"),
        ("password1234", "too easy to guess"),
        ("carol-the-great-99", "may not contain the username"),
    ] {
        let e = s
            .create_user(
                &SYS,
                UserInput {
                    username: "carol".into(),
                    email: "carol@example.com".into(),
                    password: password.into(),
                    role: Role::Viewer,
                },
            )
            .await
            .unwrap_err();
        let Error::Invalid(v) = e else {
            panic!("{password}: {e}")
        };
        assert_eq!(v.errors().len(), 1, "{password}");
        assert_eq!(v.errors()[0].field, "password");
        assert!(v.errors()[0].message.contains(expect), "{password}: {v}");
    }
}

#[tokio::test]
async fn subscriber_addresses_are_sealed_at_rest_exported_and_erased() {
    use cachet_core::input::SubscriberInput;
    let (s, store) = setup().await;
    let c = s.create_component(&SYS, component()).await.unwrap();
    let (sub, created) = s
        .create_subscriber(
            &SYS,
            SubscriberInput {
                email: Some("Reader@Example.COM".into()),
                components: Some(vec![c.id.get()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(created);
    assert_eq!(sub.email.as_str(), "Reader@example.com");
    // The store holds a digest and a ciphertext, never the address.
    let stored = store.get_subscriber(sub.id).await.unwrap();
    assert_eq!(stored.email.lookup.len(), 64);
    assert!(stored.email.sealed.starts_with("v1."));
    for part in [&stored.email.lookup, &stored.email.sealed] {
        assert!(!part.to_lowercase().contains("reader"), "{part}");
    }
    // Found by address; the same address again is the same subscriber.
    let found = s
        .find_subscriber_by_email(&SYS, "Reader@example.com")
        .await
        .unwrap();
    assert_eq!(found.id, sub.id);
    let (again, created) = s
        .create_subscriber(
            &SYS,
            SubscriberInput {
                email: Some("Reader@example.com".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again.id, sub.id);
    // Only Admin may read or erase personal data.
    let manager = add_user(&s, "mia", Role::Manager).await;
    let mia = done(s.sign_in("mia", PASSWORD, "c").await.unwrap()).actor;
    assert_eq!(mia.user_id(), Some(manager.id));
    assert!(matches!(
        s.export_subscriber(&mia, sub.id).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        s.erase_subscriber(&mia, sub.id).await,
        Err(Error::Forbidden)
    ));
    let export = s.export_subscriber(&SYS, sub.id).await.unwrap();
    let json = export.to_json();
    assert_eq!(json["email"], "Reader@example.com");
    assert_eq!(json["subscriptions"][0]["component_id"], c.id.get());
    assert_eq!(json["subscriptions"][0]["component_name"], "API");
    assert!(json.get("verify_code_hash").is_none());
    s.erase_subscriber(&SYS, sub.id).await.unwrap();
    assert!(matches!(
        s.find_subscriber_by_email(&SYS, "Reader@example.com").await,
        Err(Error::NotFound(_))
    ));
    let kinds = audit_kinds(&s).await;
    assert!(kinds.iter().any(|(k, _)| k == "subscriber.exported"));
    assert!(kinds.iter().any(|(k, _)| k == "subscriber.erased"));
    assert!(kinds
        .iter()
        .all(|(_, d)| !d.to_lowercase().contains("reader")));
}

/// A hash made with weaker parameters than the current ones is replaced at the next
/// successful sign-in; a failed one changes nothing.
#[tokio::test]
async fn a_weaker_password_hash_is_replaced_at_sign_in() {
    use argon2::password_hash::{PasswordHasher, SaltString};
    use cachet_core::secret::PasswordHash;
    use cachet_core::store::NewUser;
    use cachet_core::validate::Email;

    let (s, store) = setup().await;
    let weak = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(4096, 1, 1, None).unwrap(),
    );
    let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
    let phc = weak
        .hash_password(PASSWORD.as_bytes(), &salt)
        .unwrap()
        .to_string();
    let u = store
        .create_user(NewUser {
            username: "old".into(),
            email: Email::parse("old@example.com").unwrap(),
            password_hash: PasswordHash::from_phc(phc.clone()),
            role: Role::Viewer,
        })
        .await
        .unwrap();
    assert!(s.sign_in("old", "wrong password!!", "c").await.is_err());
    assert_eq!(
        store.get_user(u.id).await.unwrap().password_hash.as_phc(),
        phc
    );
    done(s.sign_in("old", PASSWORD, "c").await.unwrap());
    let now = store.get_user(u.id).await.unwrap().password_hash;
    assert!(
        now.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        now.as_phc()
    );
    assert!(!now.needs_rehash());
    // And the new hash still takes the same password.
    done(s.sign_in("old", PASSWORD, "c").await.unwrap());
}

// ------------------------------------------------------------------ from the security review

/// 100 concurrent guesses get no more password checks than 100 in a row: 5 free failures
/// plus the one that locks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_guesses_do_not_get_past_the_throttle() {
    let (s, _) = setup().await;
    add_user(&s, "ann", Role::Viewer).await;
    let s = Arc::new(s);
    let mut tasks = Vec::new();
    for i in 0..100 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.sign_in("ann", &format!("guess number {i} {i}"), "1.2.3.4")
                .await
        }));
    }
    let (mut checked, mut throttled) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Err(Error::SignInFailed) => checked += 1,
            Err(Error::Throttled { .. }) => throttled += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((checked, throttled), (ACCOUNT_FREE_FAILURES + 1, 94));
}

/// The username and the email of one account share one budget.
#[tokio::test]
async fn username_and_email_share_the_throttle() {
    let (s, _) = setup().await;
    add_user(&s, "ann", Role::Viewer).await;
    for i in 0..=ACCOUNT_FREE_FAILURES {
        let login = if i % 2 == 0 { "ann" } else { "ann@example.com" };
        assert!(matches!(
            s.sign_in(login, "not the password", &format!("c{i}")).await,
            Err(Error::SignInFailed)
        ));
    }
    assert!(matches!(
        s.sign_in("ann@example.com", PASSWORD, "elsewhere").await,
        Err(Error::Throttled { .. })
    ));
    // An absurdly long login is nobody, and answers like one.
    let long = "x".repeat(1 << 20);
    assert!(matches!(
        s.sign_in(&long, PASSWORD, "c").await,
        Err(Error::SignInFailed)
    ));
}

pub(crate) async fn enrolled(s: &StatusPage, name: &str) -> (Actor, TotpSecret, Vec<String>) {
    add_user(s, name, Role::Manager).await;
    let first = done(s.sign_in(name, PASSWORD, "c").await.unwrap());
    let enrollment = s.begin_2fa(&first.actor).await.unwrap();
    let secret = TotpSecret::from_base32(&enrollment.secret_base32).unwrap();
    let codes = s
        .confirm_2fa(&first.actor, &code_at(&secret, -1))
        .await
        .unwrap();
    (first.actor, secret, codes)
}

/// Turning 2FA off with wrong codes is throttled and audited, like a sign-in.
#[tokio::test]
async fn disabling_2fa_with_guessed_codes_is_throttled() {
    let (s, _) = setup().await;
    let (actor, secret, _) = enrolled(&s, "ann").await;
    let right = code_at(&secret, 0);
    let mut answers = Vec::new();
    for n in 0..10u32 {
        let guess = format!("{:06}", (n * 7919) % 1_000_000);
        if guess == right {
            continue;
        }
        answers.push(match s.disable_2fa(&actor, &guess).await {
            Err(Error::Invalid(_)) => "wrong",
            Err(Error::Throttled { .. }) => "throttled",
            other => panic!("{other:?}"),
        });
    }
    assert_eq!(answers[..6], ["wrong"; 6]);
    assert!(
        answers[6..].iter().all(|a| *a == "throttled"),
        "{answers:?}"
    );
    let kinds = audit_kinds(&s).await;
    assert_eq!(
        kinds
            .iter()
            .filter(|(k, _)| k == "2fa.disable_failed")
            .count(),
        6
    );
}

/// Tokens cannot manage 2FA (only a signed-in session can); a narrowed token makes only
/// tokens within its own abilities; an Admin cannot reset their own 2FA without a code.
#[tokio::test]
async fn tokens_cannot_manage_2fa_or_widen_themselves() {
    let (s, _) = setup().await;
    let admin = add_user(&s, "root", Role::Admin).await;
    let (_, full) = s
        .create_token(
            &SYS,
            admin.id,
            TokenInput {
                name: "full".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let full = s.authenticate_token(&full).await.unwrap();
    assert!(matches!(s.begin_2fa(&full).await, Err(Error::Forbidden)));
    assert!(matches!(
        s.recovery_codes_left(&full).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        s.disable_2fa(&full, "123456").await,
        Err(Error::Forbidden)
    ));
    let (_, narrow) = s
        .create_token(
            &SYS,
            admin.id,
            TokenInput {
                name: "tokens only".into(),
                abilities: Some("tokens.write metrics.points.write".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let narrow = s.authenticate_token(&narrow).await.unwrap();
    for wider in [None, Some("tokens.write settings.write".to_string())] {
        let e = s
            .create_token(
                &narrow,
                admin.id,
                TokenInput {
                    name: "wider".into(),
                    abilities: wider.clone(),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Forbidden), "{wider:?}: {e}");
    }
    let (within, _) = s
        .create_token(
            &narrow,
            admin.id,
            TokenInput {
                name: "within".into(),
                abilities: Some("metrics.points.write".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        within.abilities,
        Some(Abilities::of(&[Ability::MetricPointsWrite]))
    );
    // Resetting one's own 2FA is refused: that is disable_2fa, with a code.
    s.update_settings(&SYS, &[("require_admin_2fa".into(), "false".into())])
        .await
        .unwrap();
    let session = done(s.sign_in("root", PASSWORD, "c").await.unwrap()).actor;
    assert!(matches!(
        s.reset_2fa(&session, admin.id).await,
        Err(Error::Rejected(_))
    ));
}

/// A pending sign-in completes once, and not after the password or 2FA changed.
#[tokio::test]
async fn a_pending_sign_in_is_single_use_and_bound_to_the_account_state() {
    use cachet_core::secret::PasswordHash;
    use cachet_core::store::UserChanges;

    let (s, store) = setup().await;
    let (_, _, codes) = enrolled(&s, "ann").await;
    let SignIn::SecondFactor(pending) = s.sign_in("ann", PASSWORD, "c").await.unwrap() else {
        panic!("2FA is on");
    };
    s.complete_sign_in(&pending, &codes[0], "c").await.unwrap();
    assert!(matches!(
        s.complete_sign_in(&pending, &codes[1], "c").await,
        Err(Error::SignInFailed)
    ));
    // The password changes between the two steps: the pending sign-in is void.
    let SignIn::SecondFactor(pending) = s.sign_in("ann", PASSWORD, "c").await.unwrap() else {
        panic!("2FA is on");
    };
    let id = pending.user_id();
    store
        .update_user(
            id,
            UserChanges {
                password_hash: Some(PasswordHash::hash("another passphrase entirely 9")),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(matches!(
        s.complete_sign_in(&pending, &codes[2], "c").await,
        Err(Error::SignInFailed)
    ));
    assert!(
        !format!("{pending:?}").contains("login"),
        "Debug shows no login name"
    );
}

/// The last active Admin can be neither demoted nor deactivated; a save that changes nothing
/// ends no session and writes no audit entry.
#[tokio::test]
async fn the_last_active_admin_stays_and_a_no_op_change_signs_nobody_out() {
    let (s, store) = setup().await;
    let ada = add_user(&s, "ada", Role::Admin).await;
    for (role, active) in [
        (Some(Role::Viewer), None),
        (None, Some(false)),
        (Some(Role::Manager), Some(false)),
    ] {
        let e = s.update_user(&SYS, ada.id, role, active).await.unwrap_err();
        assert!(
            matches!(&e, Error::Rejected(m) if m.contains("last active admin")),
            "{role:?} {active:?}: {e}"
        );
    }
    use cachet_core::Store as _;
    let unchanged = store.get_user(ada.id).await.unwrap();
    assert_eq!((unchanged.role, unchanged.active), (Role::Admin, true));

    // With a second admin, the first may step down; the second is then the last one.
    let bo = add_user(&s, "bo", Role::Admin).await;
    assert_eq!(
        s.update_user(&SYS, ada.id, Some(Role::Manager), None)
            .await
            .unwrap()
            .role,
        Role::Manager
    );
    assert!(matches!(
        s.update_user(&SYS, bo.id, None, Some(false)).await,
        Err(Error::Rejected(_))
    ));
    // A deactivated admin does not count as one.
    let cy = add_user(&s, "cy", Role::Admin).await;
    s.update_user(&SYS, cy.id, None, Some(false)).await.unwrap();
    assert!(matches!(
        s.update_user(&SYS, bo.id, Some(Role::Viewer), None).await,
        Err(Error::Rejected(_))
    ));

    // Saving the same values: the session stays, nothing is audited.
    let session = s.start_session("bo", PASSWORD, "c").await.unwrap();
    let before = audit_kinds(&s).await.len();
    s.update_user(&SYS, bo.id, Some(Role::Admin), Some(true))
        .await
        .unwrap();
    assert!(s.resume_session(&session.secret).await.is_ok());
    assert_eq!(audit_kinds(&s).await.len(), before);
}
