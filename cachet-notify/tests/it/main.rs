//! The worker against a real SMTP server (aiosmtpd, `tests/smtp_sink.py`) and a real store.
//!
//! The sink needs a Python with aiosmtpd: `CACHET_TEST_SMTP_PYTHON` names it (`.ci/run` sets
//! it to its virtualenv), else `python3`. Without aiosmtpd the tests print one "skipped"
//! line, and `CACHET_REQUIRE_SMTP=1` (set by `.ci/run`) turns that into a failure.

mod postgres;
mod sink;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use cachet_core::crypto::DataKey;
use cachet_core::input::{IncidentInput, SubscriberInput};
use cachet_core::notify::{DeliveryState, RetryPolicy};
use cachet_core::store::{DeliveryFilter, ListQuery};
use cachet_core::{Actor, StatusPage};
use cachet_notify::{SmtpConfig, SmtpMailer, Worker, WorkerConfig};
use cachet_store_sqlite::SqliteStore;

use sink::Sink;

struct Page {
    page: Arc<StatusPage>,
    _dir: tempfile::TempDir,
}

async fn page() -> Page {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_and_migrate(dir.path().join("cachet.db"))
        .await
        .unwrap();
    let (key, _) = DataKey::generate();
    let page = StatusPage::new(Arc::new(store), key).await.unwrap();
    Page {
        page: Arc::new(page),
        _dir: dir,
    }
}

fn worker(page: &Arc<StatusPage>, port: u16, retry: RetryPolicy) -> Worker {
    worker_with(
        page,
        port,
        WorkerConfig {
            retry,
            ..WorkerConfig::default()
        },
    )
}

fn worker_with(page: &Arc<StatusPage>, port: u16, config: WorkerConfig) -> Worker {
    let smtp = SmtpConfig::from_url(
        &format!("smtp+insecure://127.0.0.1:{port}"),
        None,
        "Status <status@example.com>",
    )
    .unwrap();
    let mailer = SmtpMailer::new(&SmtpConfig {
        timeout: Duration::from_secs(5),
        ..smtp
    })
    .unwrap();
    Worker::new(
        page.clone(),
        Arc::new(mailer),
        WorkerConfig {
            base_url: "https://status.example.com".into(),
            ..config
        },
    )
}

async fn deliveries(page: &StatusPage) -> Vec<cachet_core::notify::Delivery> {
    page.list_deliveries(
        &Actor::System,
        &ListQuery::new(1, 100, DeliveryFilter::default()),
    )
    .await
    .unwrap()
    .items
}

/// A server on loopback that takes connections and never says a word (the task holds them
/// open until it is aborted): its port, and the task.
async fn mute_server() -> (u16, tokio::task::JoinHandle<()>) {
    let mute = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = mute.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((conn, _)) = mute.accept().await {
            open.push(conn);
        }
    });
    (port, held)
}

/// A server that takes the connection and never says a word: the worker cuts the send off
/// at its timeout and retries later, instead of hanging on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_is_cut_off_at_the_send_timeout() {
    let (port, held) = mute_server().await;
    let p = page().await;
    let c = component(&p.page, "API").await;
    subscribe(&p.page, "ops@example.com", vec![c], true).await;
    p.page
        .create_incident(&Actor::System, incident("API down", c, true))
        .await
        .unwrap();
    let w = worker_with(
        &p.page,
        port,
        WorkerConfig {
            send_timeout: Duration::from_millis(500),
            ..WorkerConfig::default()
        },
    );
    let started = std::time::Instant::now();
    assert_eq!(w.run_once().await.unwrap(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let ds = deliveries(&p.page).await;
    assert_eq!(ds[0].state, DeliveryState::Pending);
    assert_eq!(ds[0].last_error.as_deref(), Some("the send timed out"));
    held.abort();
}

/// A batch whose lease runs short sends no more under it: what is left stays pending, untried
/// (taken again when the lease ends), never sent by two holders.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_sent_when_the_lease_would_end_during_the_send() {
    let (port, held) = mute_server().await;
    let p = page().await;
    let c = component(&p.page, "API").await;
    for who in ["a", "b", "c"] {
        subscribe(&p.page, &format!("{who}@example.com"), vec![c], true).await;
    }
    p.page
        .create_incident(&Actor::System, incident("API down", c, true))
        .await
        .unwrap();
    // Each send takes its whole timeout (the server never answers): after one or two, the
    // lease has less than a send left.
    let w = worker_with(
        &p.page,
        port,
        WorkerConfig {
            lease: Duration::from_millis(2500),
            send_timeout: Duration::from_secs(1),
            ..WorkerConfig::default()
        },
    );
    assert_eq!(w.run_once().await.unwrap(), 3);
    let ds = deliveries(&p.page).await;
    assert!(ds.iter().all(|d| d.state == DeliveryState::Pending));
    let tried = ds.iter().filter(|d| d.last_error.is_some()).count();
    assert!((1..=2).contains(&tried), "{ds:?}");
    // Held until the lease ends: another worker finds nothing to take meanwhile.
    assert_eq!(w.run_once().await.unwrap(), 0);
    held.abort();
}

/// A lease shorter than two sends is lengthened to two: a worker configured so could never
/// send anything, and its deliveries would be claimed again and again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_too_short_for_a_send_is_lengthened() {
    let p = page().await;
    let c = component(&p.page, "API").await;
    subscribe(&p.page, "ops@example.com", vec![c], true).await;
    p.page
        .create_incident(&Actor::System, incident("API down", c, true))
        .await
        .unwrap();
    let w = worker_with(
        &p.page,
        sink::free_port(),
        WorkerConfig {
            lease: Duration::from_secs(5),
            send_timeout: Duration::from_secs(30),
            ..WorkerConfig::default()
        },
    );
    assert_eq!(w.run_once().await.unwrap(), 1);
    let ds = deliveries(&p.page).await;
    assert_eq!(ds[0].state, DeliveryState::Pending);
    assert!(ds[0].last_error.is_some(), "a send was tried: {ds:?}");
}

async fn drain(w: &Worker) {
    while w.run_once().await.unwrap() > 0 {}
}

async fn subscribe(page: &StatusPage, email: &str, components: Vec<i64>, verify: bool) {
    page.create_subscriber(
        &Actor::System,
        SubscriberInput {
            email: Some(email.into()),
            verify: Some(verify),
            components: Some(components),
        },
    )
    .await
    .unwrap();
}

async fn component(page: &StatusPage, name: &str) -> i64 {
    page.create_component(
        &Actor::System,
        cachet_core::input::ComponentInput {
            name: Some(name.into()),
            status: Some(1),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .id
    .get()
}

fn incident(name: &str, component: i64, notify: bool) -> IncidentInput {
    IncidentInput {
        name: Some(name.into()),
        message: Some("Payments **fail** for some cards.".into()),
        status: Some(1),
        visible: Some(1),
        notify: Some(notify),
        component_id: Some(component),
        component_status: Some(4),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_mails_each_verified_subscriber_of_its_component_once() {
    let Some(sink) = Sink::start().await else {
        return;
    };
    let p = page().await;
    let payments = component(&p.page, "Payments").await;
    let search = component(&p.page, "Search").await;
    subscribe(&p.page, "global@example.com", vec![], true).await;
    subscribe(&p.page, "payments@example.com", vec![payments], true).await;
    subscribe(&p.page, "search@example.com", vec![search], true).await;
    subscribe(&p.page, "pending@example.com", vec![payments], false).await;
    let w = worker(&p.page, sink.port, RetryPolicy::default());
    // The unverified subscriber's verification mail goes out first, alone.
    drain(&w).await;
    let first = sink.wait_for(1).await;
    assert_eq!(first[0].rcpt_to, vec!["pending@example.com"]);
    assert_eq!(
        first[0].header("Subject"),
        "[Status] Confirm your subscription to Status"
    );
    assert!(first[0]
        .text
        .contains("https://status.example.com/subscribe/verify/"));
    assert!(!first[0].text.contains("More on the status page"));

    // Without notify: nobody. With notify: the global and the Payments subscriber.
    p.page
        .create_incident(&Actor::System, incident("Quiet", payments, false))
        .await
        .unwrap();
    p.page
        .create_incident(
            &Actor::System,
            incident("Card payments failing", payments, true),
        )
        .await
        .unwrap();
    drain(&w).await;
    let mails = sink.wait_for(3).await;
    let incident_mails: Vec<_> = mails[1..].to_vec();
    let failing = p
        .page
        .list_incidents(&Actor::System, ListQuery::new(1, 10, Default::default()))
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|i| i.name == "Card payments failing")
        .unwrap();
    let incident_page = format!("https://status.example.com/incidents/{}", failing.id.get());
    let mut to: Vec<_> = incident_mails
        .iter()
        .map(|m| m.rcpt_to[0].clone())
        .collect();
    to.sort();
    assert_eq!(to, vec!["global@example.com", "payments@example.com"]);
    for m in &incident_mails {
        assert_eq!(
            m.header("Subject"),
            "[Status] Card payments failing: Investigating"
        );
        assert_eq!(m.header("From"), "Status <status@example.com>");
        assert!(
            m.text.contains("New incident: Card payments failing"),
            "{}",
            m.text
        );
        assert!(
            m.text.contains("Affects: Payments (Major Outage)"),
            "{}",
            m.text
        );
        assert!(
            m.text.contains("Payments **fail** for some cards."),
            "{}",
            m.text
        );
        assert!(
            m.text
                .contains(&format!("More on the status page: {incident_page}")),
            "{}",
            m.text
        );
        let html = m.html.as_deref().unwrap();
        assert!(html.contains("<strong>fail</strong>"), "{html}");
        assert!(
            html.contains(&format!("<a href=\"{incident_page}\">")),
            "{html}"
        );
        let unsubscribe = m.header("List-Unsubscribe");
        assert!(
            unsubscribe.starts_with("<https://status.example.com/subscribe/unsubscribe/")
                && unsubscribe.ends_with('>'),
            "{unsubscribe}"
        );
        assert_eq!(
            m.header("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click"
        );
        assert!(m.text.contains(&unsubscribe[1..unsubscribe.len() - 1]));
    }
    // Each subscriber's links are their own.
    assert_ne!(
        incident_mails[0].header("List-Unsubscribe"),
        incident_mails[1].header("List-Unsubscribe")
    );
    // Nothing more arrives, and the outbox says every delivery was delivered.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.mails().len(), 3);
    let all = p
        .page
        .list_deliveries(
            &Actor::System,
            &ListQuery::new(1, 100, DeliveryFilter::default()),
        )
        .await
        .unwrap();
    assert_eq!(all.total, 3);
    assert!(all
        .items
        .iter()
        .all(|d| d.state == DeliveryState::Delivered));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_smtp_server_down_mail_waits_retries_and_goes_out_when_it_returns() {
    let Some(port) = sink::free_port_if_python() else {
        return;
    };
    let p = page().await;
    let c = component(&p.page, "API").await;
    subscribe(&p.page, "ops@example.com", vec![c], true).await;
    p.page
        .create_incident(&Actor::System, incident("API down", c, true))
        .await
        .unwrap();
    let retry = RetryPolicy {
        max_attempts: 5,
        first_delay: chrono::Duration::seconds(1),
        max_delay: chrono::Duration::seconds(1),
    };
    let w = worker(&p.page, port, retry);
    assert_eq!(w.run_once().await.unwrap(), 1);
    // Not sent, still pending, the error visible to Admins.
    let pending = p
        .page
        .list_deliveries(
            &Actor::System,
            &ListQuery::new(
                1,
                10,
                DeliveryFilter {
                    state: Some(DeliveryState::Pending),
                    notice: None,
                },
            ),
        )
        .await
        .unwrap();
    assert_eq!(pending.total, 1);
    let d = &pending.items[0];
    assert_eq!(d.attempts, 1);
    assert!(
        d.last_error.as_deref().is_some_and(|e| !e.is_empty()),
        "{d:?}"
    );
    // Not due again before its backoff.
    assert_eq!(w.run_once().await.unwrap(), 0);

    let sink = Sink::start_on(port).await.expect("the sink starts");
    let mut delivered = false;
    for _ in 0..50 {
        drain(&w).await;
        if !sink.mails().is_empty() {
            delivered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(delivered, "delivered once the server is back");
    let mails = sink.wait_for(1).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].rcpt_to, vec!["ops@example.com"]);
    let done = p
        .page
        .list_deliveries(
            &Actor::System,
            &ListQuery::new(1, 10, DeliveryFilter::default()),
        )
        .await
        .unwrap();
    assert_eq!(done.items[0].state, DeliveryState::Delivered);
    assert_eq!(done.items[0].attempts, 2);
}

/// A delivery that cannot be prepared (here: an address whose sealed form was altered) is
/// a failed attempt of its own, retried and then failed like a refused send; the rest of
/// its batch goes out (review finding: it ended the batch, and came first in every claim
/// after, so the deliveries behind it never went out).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_that_cannot_be_prepared_fails_alone() {
    let Some(sink) = Sink::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open_and_migrate(dir.path().join("cachet.db"))
            .await
            .unwrap(),
    );
    let page = Arc::new(
        StatusPage::new(store.clone(), DataKey::generate().0)
            .await
            .unwrap(),
    );
    let c = component(&page, "API").await;
    // Written past the service, as a damaged row would be.
    cachet_core::Store::create_subscriber(
        &*store,
        cachet_core::store::NewSubscriber {
            email: cachet_core::model::SealedEmail {
                lookup: "0".repeat(64),
                sealed: "not a sealed value".into(),
            },
            verify_code_hash: cachet_core::secret::TokenHash::of("code"),
            verified_at: Some(chrono::Utc::now()),
            global: true,
            subscribe_to: cachet_core::store::SubscribeTo::AllComponents,
            notice: None,
        },
    )
    .await
    .unwrap();
    subscribe(&page, "ops@example.com", vec![c], true).await;
    page.create_incident(&Actor::System, incident("API down", c, true))
        .await
        .unwrap();
    let retry = RetryPolicy {
        max_attempts: 2,
        first_delay: chrono::Duration::zero(),
        max_delay: chrono::Duration::zero(),
    };
    let w = worker(&page, sink.port, retry);
    for _ in 0..5 {
        w.run_once().await.unwrap();
    }
    let mails = sink.wait_for(1).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].rcpt_to, vec!["ops@example.com"]);
    let mut ds = deliveries(&page).await;
    ds.sort_by_key(|d| d.id);
    let states: Vec<(DeliveryState, u32)> = ds.iter().map(|d| (d.state, d.attempts)).collect();
    assert_eq!(
        states,
        vec![(DeliveryState::Failed, 2), (DeliveryState::Delivered, 1)]
    );
    let error = ds[0].last_error.as_deref().unwrap_or_default();
    assert_eq!(
        error,
        "could not be prepared: backend error: a sealed value could not be opened \
         (wrong data key, or the value was altered)"
    );
}

/// The start-up check names a setting the server cannot take (STARTTLS required, the sink
/// has none) and passes the right one, sending nothing either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_check_names_a_wrong_setting_and_sends_nothing() {
    let Some(sink) = Sink::start().await else {
        return;
    };
    let mailer = |scheme: &str, port: u16| {
        let config = SmtpConfig::from_url(
            &format!("{scheme}://127.0.0.1:{port}"),
            None,
            "Status <status@example.com>",
        )
        .unwrap();
        SmtpMailer::new(&SmtpConfig {
            timeout: Duration::from_secs(5),
            ..config
        })
        .unwrap()
    };
    assert_eq!(mailer("smtp+insecure", sink.port).check().await, Ok(()));
    let e = mailer("smtp", sink.port).check().await.unwrap_err();
    assert!(e.contains("STARTTLS"), "{e}");
    let closed = sink::free_port();
    let e = mailer("smtp+insecure", closed).check().await.unwrap_err();
    assert!(e.to_lowercase().contains("refused"), "{e}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(sink.mails().is_empty());
}
