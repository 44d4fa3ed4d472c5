//! Two workers, each with its own store and service, on one PostgreSQL database (as two
//! `cachet-server` instances would be) share the outbox without sending anything twice.

use std::collections::HashSet;
use std::io::Write as _;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use cachet_core::crypto::DataKey;
use cachet_core::notify::DeliveryState;
use cachet_core::store::{DeliveryFilter, ListQuery};
use cachet_core::{Actor, StatusPage};
use cachet_notify::WorkerConfig;
use cachet_store_sql::sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use cachet_store_sql::PostgresStore;

use crate::sink::Sink;

/// The test database's URL, or `None` after one "skipped" line; a failure when
/// `CACHET_REQUIRE_DB=1`.
fn server_url() -> Option<String> {
    match std::env::var("CACHET_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CACHET_REQUIRE_DB").as_deref() != Ok("1"),
                "CACHET_TEST_POSTGRES_URL is not set and CACHET_REQUIRE_DB=1 requires it"
            );
            // Written to the stream itself: the test harness would swallow `eprintln!`.
            let _ = writeln!(
                std::io::stderr(),
                "skipped: CACHET_TEST_POSTGRES_URL is not set"
            );
            None
        }
    }
}

async fn exec(pool: &PgPool, sql: &str) {
    cachet_store_sql::sqlx::query(sql)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn pool_in(url: &str, schema: &str) -> PgPool {
    let options = PgConnectOptions::from_str(url)
        .expect("a PostgreSQL URL")
        .options([("search_path", schema)]);
    PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .expect("a pool in the test schema")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_on_one_database_deliver_1000_notifications_once_each() {
    let Some(url) = server_url() else { return };
    let Some(sink) = Sink::start().await else {
        return;
    };
    let schema = format!("cachet_n_{:016x}", rand::random::<u64>());
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .expect("CACHET_TEST_POSTGRES_URL accepts connections");
    exec(&admin, &format!("CREATE SCHEMA {schema}")).await;

    let (key, _) = DataKey::generate();
    let mut pages = Vec::new();
    for _ in 0..2 {
        let store = PostgresStore::new(pool_in(&url, &schema).await);
        store.migrate().await.expect("migrations apply");
        pages.push(Arc::new(
            StatusPage::new(Arc::new(store), key.clone()).await.unwrap(),
        ));
    }
    // 100 verified subscribers to one component, 10 incidents about it: 1000 deliveries.
    let first = &pages[0];
    let c = crate::component(first, "API").await;
    for i in 0..100 {
        crate::subscribe(first, &format!("s{i:03}@example.com"), vec![c], true).await;
    }
    for k in 0..10 {
        first
            .create_incident(
                &Actor::System,
                crate::incident(&format!("Outage {k}"), c, true),
            )
            .await
            .unwrap();
    }

    let config = WorkerConfig {
        batch: 25,
        global_per_second: std::num::NonZeroU32::new(10_000).unwrap(),
        ..WorkerConfig::default()
    };
    let workers: Vec<_> = pages
        .iter()
        .map(|p| Arc::new(crate::worker_with(p, sink.port, config.clone())))
        .collect();
    let runs: Vec<_> = workers
        .iter()
        .map(|w| {
            let w = Arc::clone(w);
            tokio::spawn(async move {
                let mut claimed = 0;
                loop {
                    let n = w.run_once().await.unwrap();
                    if n == 0 {
                        return claimed;
                    }
                    claimed += n;
                }
            })
        })
        .collect();
    let mut per_worker = Vec::new();
    for r in runs {
        per_worker.push(r.await.unwrap());
    }
    assert_eq!(per_worker.iter().sum::<usize>(), 1000, "{per_worker:?}");
    assert!(
        per_worker.iter().all(|n| *n > 0),
        "both workers took a share: {per_worker:?}"
    );

    let mails = sink.wait_for(1000).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mails_now = sink.mails();
    assert_eq!(mails_now.len(), 1000, "exactly 1000 mails arrived");
    let ids: HashSet<String> = mails.iter().map(|m| m.header("Message-ID")).collect();
    assert_eq!(ids.len(), 1000, "no delivery was sent twice");
    let pairs: HashSet<(String, String)> = mails
        .iter()
        .map(|m| (m.rcpt_to[0].clone(), m.header("Subject")))
        .collect();
    assert_eq!(pairs.len(), 1000, "each subscriber got each incident once");

    let delivered = first
        .list_deliveries(
            &Actor::System,
            &ListQuery::new(
                1,
                1,
                DeliveryFilter {
                    state: Some(DeliveryState::Delivered),
                    notice: None,
                },
            ),
        )
        .await
        .unwrap();
    assert_eq!(delivered.total, 1000);

    drop(workers);
    drop(pages);
    exec(&admin, &format!("DROP SCHEMA {schema} CASCADE")).await;
}
