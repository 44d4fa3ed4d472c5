//! No response, log line or audit entry ever holds a secret: passwords (right or wrong),
//! API tokens and their digests, TOTP secrets, recovery codes, subscriber verification
//! digests. The test drives every path that handles one, captures every log line (all
//! crates, TRACE) and every response, and searches them all.

use std::io::Write;
use std::sync::{Arc, Mutex};

use cachet_core::crypto::DataKey;
use cachet_core::enums::Role;
use cachet_core::input::{SubscriberInput, TokenInput, UserInput};
use cachet_core::memory::MemoryStore;
use cachet_core::secret::TokenHash;
use cachet_core::service::SignIn;
use cachet_core::store::{AuditFilter, ListQuery};
use cachet_core::totp::{TotpSecret, STEP_SECS};
use cachet_core::{Actor, StatusPage, Store};
use serde_json::json;

use crate::common::{App, Res};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn transcript(res: &Res) -> String {
    let headers: Vec<String> = res
        .headers
        .iter()
        .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("")))
        .collect();
    format!("{} {}\n{}", res.status, headers.join("\n"), res.text())
}

#[tokio::test]
async fn no_secret_reaches_a_response_a_log_line_or_the_audit_log() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let store = Arc::new(MemoryStore::new());
    let service = Arc::new(
        StatusPage::new(store.clone(), DataKey::generate().0)
            .await
            .unwrap(),
    );
    let sys = Actor::System;
    let mut secrets: Vec<String> = Vec::new();
    let (_, admin_password, admin_token) = service
        .bootstrap("root", "root@example.com")
        .await
        .unwrap()
        .expect("first setup");
    let app = App::over(store.clone(), service.clone()).await;
    secrets.extend([admin_password.clone(), admin_token.clone()]);
    let password = "plinth-oxbow-quietus-8";
    let typo = "plinth-oxbow-quietus-9-typo";
    secrets.extend([password.to_string(), typo.to_string()]);
    let bob = service
        .create_user(
            &sys,
            UserInput {
                username: "bob".into(),
                email: "bob@example.com".into(),
                password: password.into(),
                role: Role::Admin,
            },
        )
        .await
        .unwrap();
    let (_, bot_token) = service
        .create_token(
            &sys,
            bob.id,
            TokenInput {
                name: "bot".into(),
                abilities: Some("metrics.points.write".into()),
                expires_at: None,
            },
        )
        .await
        .unwrap();
    secrets.push(bot_token.clone());
    let bogus = "cct_bogusbogusbogusbogusbogusbogus";
    secrets.push(bogus.into());

    // Sign-in: a typo, then the password; 2FA enrollment, codes, recovery codes.
    assert!(service.sign_in("bob", typo, "10.0.0.1").await.is_err());
    assert!(service.sign_in(typo, password, "10.0.0.1").await.is_err());
    let SignIn::Done(first) = service.sign_in("bob", password, "10.0.0.1").await.unwrap() else {
        panic!("no 2FA yet");
    };
    let enrollment = service.begin_2fa(&first.actor).await.unwrap();
    let totp = TotpSecret::from_base32(&enrollment.secret_base32).unwrap();
    secrets.push(enrollment.secret_base32.clone());
    secrets.push(hex_of(totp.as_bytes()));
    let step = u64::try_from(chrono::Utc::now().timestamp()).unwrap() / STEP_SECS;
    let recovery = service
        .confirm_2fa(&first.actor, &totp.code(step - 1))
        .await
        .unwrap();
    for code in &recovery {
        secrets.push(code.clone());
        secrets.push(code.replace('-', ""));
    }
    let SignIn::SecondFactor(pending) = service.sign_in("bob", password, "10.0.0.1").await.unwrap()
    else {
        panic!("2FA is on");
    };
    assert!(service
        .complete_sign_in(&pending, &totp.code(step - 1), "10.0.0.1")
        .await
        .is_err());
    service
        .complete_sign_in(&pending, &recovery[0], "10.0.0.1")
        .await
        .unwrap();

    // The API: reads, writes, refusals, the audit log, subscribers.
    let mut responses = Vec::new();
    for (token, path) in [
        (Some(admin_token.as_str()), "/api/v1/components"),
        (Some(bot_token.as_str()), "/api/v1/components"),
        (Some(bogus), "/api/v1/subscribers"),
        (None, "/api/v1/actions"),
        (Some(admin_token.as_str()), "/api/v1/actions?per_page=100"),
    ] {
        responses.push(transcript(&app.get(path, token).await));
    }
    let created = app
        .post(
            "/api/v1/subscribers",
            Some(&admin_token),
            json!({"email": "reader@example.com"}),
        )
        .await;
    responses.push(transcript(&created));
    responses.push(transcript(
        &app.post(
            "/api/v1/components",
            Some(&bot_token),
            json!({"name": "x", "status": 1}),
        )
        .await,
    ));
    responses.push(transcript(
        &app.get("/api/v1/subscribers", Some(&admin_token)).await,
    ));
    let (sub, _) = service
        .create_subscriber(
            &sys,
            SubscriberInput {
                email: Some("other@example.com".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let stored = store.get_subscriber(sub.id).await.unwrap();
    secrets.push(stored.verify_code_hash.to_hex());
    for token in [&admin_token, &bot_token] {
        secrets.push(TokenHash::of(token).to_hex());
    }

    let audit: Vec<String> = service
        .list_audit(&sys, &ListQuery::new(1, 1000, AuditFilter::default()))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| format!("{} {}", e.kind, e.detail))
        .collect();
    assert!(audit.len() >= 10, "{audit:?}");
    let log_text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();

    for secret in &secrets {
        assert!(secret.len() >= 16, "too short to search for: {secret}");
        for (what, haystack) in [
            ("a response", responses.join("\n")),
            ("the audit log", audit.join("\n")),
            ("a log line", log_text.clone()),
        ] {
            assert!(
                !haystack.contains(secret.as_str()),
                "{what} contains the secret {secret}"
            );
        }
    }
    // The searched texts are real: the audit log names the events, the responses hold data.
    assert!(audit.iter().any(|a| a.starts_with("login.failed")));
    assert!(audit.iter().any(|a| a.starts_with("2fa.enabled")));
    assert!(responses.iter().any(|r| r.contains("reader@example.com")));
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
