//! A server killed with SIGKILL while notifications are pending loses none and sends none
//! twice: they are rows in the database, written with the incident, and the next start
//! delivers each exactly once.

use std::collections::HashSet;
use std::time::Duration;

use cachet_core::notify::DeliveryState;
use cachet_core::store::{DeliveryFilter, ListQuery};
use cachet_core::Store as _;
use cachet_store_sqlite::SqliteStore;
use serde_json::json;

use crate::sink::Sink;
use crate::start_with;

const SUBSCRIBERS: usize = 500;

async fn count(db: &std::path::Path, state: DeliveryState) -> u64 {
    let store = SqliteStore::open(db).expect("the database opens");
    store
        .list_deliveries(&ListQuery::new(
            1,
            1,
            DeliveryFilter {
                state: Some(state),
                notice: None,
            },
        ))
        .await
        .expect("deliveries list")
        .total
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_with_500_notifications_pending_the_next_start_delivers_each_once() {
    let Some(sink) = Sink::start().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cachet.db");
    let db = format!("sqlite://{}", path.display());
    let unlimited = [
        "--api-client-rate",
        "1000000",
        "--api-token-rate",
        "1000000",
    ];

    // First life: no SMTP server configured, so everything stays pending.
    let mut server = start_with(&db, &unlimited);
    let token = server.token.clone().expect("first start prints a token");
    let base = server.base.clone();
    let http = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        http.post(format!("{base}/api/v1/{path}"))
            .header("X-Cachet-Token", &token)
            .json(&body)
            .send()
    };
    let component: serde_json::Value = post("components", json!({"name": "API", "status": 1}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let component = component["data"]["id"].as_i64().expect("component id");
    for i in 0..SUBSCRIBERS {
        let res = post(
            "subscribers",
            json!({"email": format!("s{i:03}@example.com"), "verify": true, "components": [component]}),
        )
        .await
        .unwrap();
        assert!(
            res.status().is_success(),
            "subscriber {i}: {}",
            res.status()
        );
    }
    let res = post(
        "incidents",
        json!({"name": "API down", "message": "Requests fail.", "status": 1, "visible": 1,
               "notify": true, "component_id": component, "component_status": 4}),
    )
    .await
    .unwrap();
    assert!(res.status().is_success(), "{}", res.status());

    // SIGKILL: no shutdown of any kind.
    server.child.kill().expect("SIGKILL");
    server.child.wait().expect("reaped");
    drop(server);
    assert_eq!(
        count(&path, DeliveryState::Pending).await,
        SUBSCRIBERS as u64
    );
    assert!(sink.mails().is_empty());

    // Second life, with the SMTP server: every pending notification goes out once.
    let smtp = format!("smtp+insecure://127.0.0.1:{}", sink.port);
    let mut flags = unlimited.to_vec();
    flags.extend(["--smtp-url", &smtp, "--mail-rate", "10000"]);
    let _server = start_with(&db, &flags);
    let mut arrived = 0;
    for _ in 0..600 {
        arrived = sink.mails().len();
        if arrived >= SUBSCRIBERS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(arrived, SUBSCRIBERS, "all pending notifications arrived");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mails = sink.mails();
    assert_eq!(mails.len(), SUBSCRIBERS, "and none twice");
    let recipients: HashSet<&str> = mails.iter().map(|m| m.rcpt_to[0].as_str()).collect();
    assert_eq!(recipients.len(), SUBSCRIBERS);
    let ids: HashSet<String> = mails.iter().map(|m| m.header("Message-ID")).collect();
    assert_eq!(ids.len(), SUBSCRIBERS);
    assert!(mails
        .iter()
        .all(|m| m.header("Subject") == "[Status] API down: Investigating"));
    assert_eq!(
        count(&path, DeliveryState::Delivered).await,
        SUBSCRIBERS as u64
    );
    assert_eq!(count(&path, DeliveryState::Pending).await, 0);
}
