//! Webhook deliveries against a real HTTP listener on loopback (allowlisted where a test
//! delivers to it): every delivery is signed and verified by the receiver; internal
//! addresses, literal or behind a name, are refused without the allowlist.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use cachet_core::crypto::DataKey;
use cachet_core::input::{ComponentInput, IncidentInput};
use cachet_core::notify::{Delivery, DeliveryState, RetryPolicy, Target};
use cachet_core::store::{DeliveryFilter, ListQuery};
use cachet_core::webhook::{verify_signature, AddressPolicy, WebhookInput};
use cachet_core::{Actor, Error, StatusPage};
use cachet_http::WebhookPayloads;
use cachet_notify::{system_lookup, table_lookup, Lookup, WebhookSender, Worker, WorkerConfig};
use cachet_store_sqlite::SqliteStore;
use serde_json::Value;

/// One post as the receiver got it.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

/// A receiver on 127.0.0.1 that records every post and answers with the next status of
/// `answers` (200 when they run out).
struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Received>>>,
}

#[derive(Clone)]
struct ReceiverState {
    got: Arc<Mutex<Vec<Received>>>,
    answers: Arc<Mutex<Vec<StatusCode>>>,
}

async fn receive(State(st): State<ReceiverState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    st.got.lock().unwrap().push(Received { headers, body });
    let mut answers = st.answers.lock().unwrap();
    if answers.is_empty() {
        StatusCode::OK
    } else {
        answers.remove(0)
    }
}

impl Receiver {
    async fn start(answers: Vec<StatusCode>) -> Receiver {
        let got = Arc::new(Mutex::new(Vec::new()));
        let st = ReceiverState {
            got: got.clone(),
            answers: Arc::new(Mutex::new(answers)),
        };
        let app = Router::new().route("/hook", post(receive)).with_state(st);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver { port, got }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

struct Page {
    page: Arc<StatusPage>,
    _dir: tempfile::TempDir,
}

async fn page(policy: AddressPolicy) -> Page {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_and_migrate(dir.path().join("cachet.db"))
        .await
        .unwrap();
    let page = StatusPage::new(Arc::new(store), DataKey::generate().0)
        .await
        .unwrap()
        .with_webhook_policy(policy);
    Page {
        page: Arc::new(page),
        _dir: dir,
    }
}

fn loopback() -> AddressPolicy {
    AddressPolicy::parse("127.0.0.1").unwrap()
}

fn worker(page: &Arc<StatusPage>, policy: AddressPolicy, lookup: Lookup) -> Worker {
    let sender = WebhookSender::with_lookup(policy, Duration::from_secs(3), lookup).unwrap();
    Worker::webhooks(
        page.clone(),
        sender,
        Arc::new(WebhookPayloads::new(
            page.clone(),
            "https://status.example.com",
        )),
        WorkerConfig {
            retry: RetryPolicy {
                max_attempts: 3,
                first_delay: chrono::Duration::zero(),
                max_delay: chrono::Duration::zero(),
            },
            ..WorkerConfig::default()
        },
    )
}

async fn drain(w: &Worker) {
    while w.run_once().await.unwrap() > 0 {}
}

async fn deliveries(page: &StatusPage) -> Vec<Delivery> {
    let mut items = page
        .list_deliveries(
            &Actor::System,
            &ListQuery::new(1, 100, DeliveryFilter::default()),
        )
        .await
        .unwrap()
        .items;
    items.sort_by_key(|d| d.id);
    items
}

async fn hook(page: &StatusPage, url: &str, events: &[&str]) -> (i64, String) {
    let made = page
        .create_webhook(
            &Actor::System,
            WebhookInput {
                url: Some(url.into()),
                events: Some(events.iter().map(|e| e.to_string()).collect()),
                enabled: None,
            },
        )
        .await
        .unwrap();
    (made.webhook.id.get(), made.secret)
}

fn incident(name: &str, visible: i64) -> IncidentInput {
    IncidentInput {
        name: Some(name.into()),
        message: Some("Payments **fail**.".into()),
        status: Some(1),
        visible: Some(visible),
        notify: Some(false),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_delivery_is_signed_and_the_receiver_verifies_it() {
    let rx = Receiver::start(vec![]).await;
    let p = page(loopback()).await;
    let (id, secret) = hook(
        &p.page,
        &rx.url(),
        &["incident.created", "component.status_changed"],
    )
    .await;
    let (_, other_secret) = hook(&p.page, &rx.url(), &["maintenance.scheduled"]).await;
    let c = p
        .page
        .create_component(
            &Actor::System,
            ComponentInput {
                name: Some("Payments".into()),
                status: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // Webhooks hear of public changes whether or not subscribers are notified; a private
    // incident is not told.
    p.page
        .create_incident(&Actor::System, incident("Card payments failing", 1))
        .await
        .unwrap();
    p.page
        .create_incident(&Actor::System, incident("Internal only", 0))
        .await
        .unwrap();
    p.page
        .update_component(
            &Actor::System,
            c.id,
            ComponentInput {
                status: Some(4),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let w = worker(&p.page, loopback(), system_lookup());
    drain(&w).await;

    let got = rx.got();
    assert_eq!(got.len(), 2, "{got:?}");
    let now = chrono::Utc::now().timestamp();
    let mut events = Vec::new();
    let mut delivery_ids = Vec::new();
    for r in &got {
        let sig = r.headers["cachet-signature"].to_str().unwrap();
        assert!(verify_signature(&secret, sig, &r.body, now, 300), "{sig}");
        assert!(!verify_signature(&other_secret, sig, &r.body, now, 300));
        assert_eq!(r.headers["content-type"], "application/json");
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            r.headers["cachet-event"].to_str().unwrap(),
            body["event"].as_str().unwrap()
        );
        assert_eq!(
            r.headers["cachet-delivery"].to_str().unwrap(),
            body["delivery_id"].to_string()
        );
        delivery_ids.push(body["delivery_id"].as_i64().unwrap());
        events.push(body["event"].as_str().unwrap().to_string());
        match body["event"].as_str().unwrap() {
            "incident.created" => {
                assert_eq!(body["data"]["name"], "Card payments failing");
                assert_eq!(body["data"]["status"], 1);
                assert_eq!(body["data"]["visible"], 1);
                assert!(body["data"]["permalink"]
                    .as_str()
                    .unwrap()
                    .starts_with("https://status.example.com/incidents/"));
            }
            "component.status_changed" => {
                assert_eq!(body["data"]["id"], c.id.get());
                assert_eq!(body["data"]["name"], "Payments");
                assert_eq!(body["data"]["status"], 4);
            }
            other => panic!("unexpected event {other}"),
        }
        // A body changed on the way no longer verifies.
        let mut forged = r.body.to_vec();
        forged.extend_from_slice(b" ");
        assert!(!verify_signature(&secret, sig, &forged, now, 300));
        // The receiver in the docs agrees.
        if let Some(docs) = docs_verify(&secret, sig, &r.body, None) {
            assert!(docs, "docs/webhooks.md's verify() refused a delivery");
            assert_eq!(docs_verify(&secret, sig, &forged, None), Some(false));
            assert_eq!(docs_verify(&other_secret, sig, &r.body, None), Some(false));
        }
    }
    events.sort();
    assert_eq!(events, vec!["component.status_changed", "incident.created"]);
    assert_ne!(delivery_ids[0], delivery_ids[1]);
    let ds = deliveries(&p.page).await;
    assert_eq!(ds.len(), 2);
    for d in &ds {
        assert_eq!(d.state, DeliveryState::Delivered, "{d:?}");
        assert!(matches!(d.target, Target::Webhook(w) if w.get() == id));
    }
}

/// Runs the Python `verify()` of `docs/webhooks.md` (None without a Python): the receiver
/// code the docs give must accept what the sender signs.
fn docs_verify(secret: &str, header: &str, body: &[u8], now: Option<i64>) -> Option<bool> {
    use std::io::Write as _;
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/webhooks.md"))
        .expect("docs/webhooks.md");
    let start = docs.find("```python\n").expect("a Python block") + "```python\n".len();
    let code = &docs[start..start + docs[start..].find("```").expect("its end")];
    assert!(code.contains("def verify("), "{code}");
    let now = now.map_or("None".to_string(), |n| n.to_string());
    let script = format!(
        "{code}\nimport sys\nbody = sys.stdin.buffer.read()\n\
         print(verify(sys.argv[1], sys.argv[2], body, now={now}))\n"
    );
    let mut child = std::process::Command::new("python3")
        .args(["-c", &script, secret, header])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(body).ok()?;
    let out = child.wait_with_output().ok()?;
    assert!(out.status.success(), "the docs' Python failed");
    match String::from_utf8_lossy(&out.stdout).trim() {
        "True" => Some(true),
        "False" => Some(false),
        other => panic!("the docs' verify() printed {other:?}"),
    }
}

#[test]
fn the_docs_test_vector_verifies_with_the_docs_code() {
    let header = "t=1700000000,v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91";
    assert!(verify_signature(
        "whsec_test",
        header,
        b"{}",
        1_700_000_000,
        300
    ));
    if let Some(ok) = docs_verify("whsec_test", header, b"{}", Some(1_700_000_000)) {
        assert!(ok);
        assert_eq!(docs_verify("whsec_test", header, b"{}", None), Some(false));
        assert_eq!(
            docs_verify("whsec_test", header, b"{ }", Some(1_700_000_000)),
            Some(false)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_addresses_are_refused_at_registration_and_at_delivery() {
    let rx = Receiver::start(vec![]).await;
    // Registration: a literal internal address is refused at once.
    let strict = page(AddressPolicy::public_only()).await;
    for url in [
        rx.url(),
        "http://10.0.0.1/hook".to_string(),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        "http://[::1]/hook".to_string(),
    ] {
        let e = strict
            .page
            .create_webhook(
                &Actor::System,
                WebhookInput {
                    url: Some(url.clone()),
                    events: Some(vec!["incident.created".into()]),
                    enabled: None,
                },
            )
            .await
            .unwrap_err();
        let Error::Invalid(v) = e else {
            panic!("{url}: {e:?}")
        };
        assert_eq!(v.errors()[0].field, "url", "{url}");
    }

    // Delivery: names are checked after resolution, literals before the request, by the
    // worker's own policy (here without the allowlist).
    let p = page(loopback()).await;
    let port = rx.port;
    let targets = [
        (format!("http://127.0.0.1:{port}/hook"), "loopback"),
        (format!("http://localhost:{port}/hook"), "loopback"),
        (format!("http://internal.test:{port}/hook"), "private"),
        (format!("http://metadata.test:{port}/hook"), "link-local"),
        (format!("http://mixed.test:{port}/hook"), "private"),
    ];
    for (url, _) in &targets {
        hook(&p.page, url, &["incident.created"]).await;
    }
    // 10.0.0.1 and 169.254.169.254 as literals can only be registered where they are
    // allowed; the worker below still refuses them.
    let wide = page(AddressPolicy::parse("10.0.0.0/8, 169.254.0.0/16, 127.0.0.1").unwrap()).await;
    hook(&wide.page, "http://10.0.0.1/hook", &["incident.created"]).await;
    hook(
        &wide.page,
        "http://169.254.169.254/hook",
        &["incident.created"],
    )
    .await;

    let names: HashMap<String, Vec<IpAddr>> = HashMap::from([
        (
            "internal.test".to_string(),
            vec!["10.0.0.1".parse().unwrap()],
        ),
        (
            "metadata.test".to_string(),
            vec!["169.254.169.254".parse().unwrap()],
        ),
        (
            "mixed.test".to_string(),
            vec!["1.1.1.1".parse().unwrap(), "192.168.0.10".parse().unwrap()],
        ),
        ("localhost".to_string(), vec!["127.0.0.1".parse().unwrap()]),
    ]);
    for (pg, lookup) in [
        (&p.page, system_lookup()),
        (&p.page, table_lookup(names.clone())),
        (&wide.page, table_lookup(names)),
    ] {
        pg.create_incident(&Actor::System, incident("Down", 1))
            .await
            .unwrap();
        let w = worker(pg, AddressPolicy::public_only(), lookup);
        drain(&w).await;
    }
    assert!(
        rx.got().is_empty(),
        "a refused webhook reached the receiver"
    );

    // The system resolver knows localhost but not the .test names; the table knows them.
    let ds = deliveries(&p.page).await;
    assert_eq!(ds.len(), 10);
    for d in &ds {
        assert_eq!(d.state, DeliveryState::Failed, "{d:?}");
    }
    let errors: Vec<String> = ds.iter().map(|d| d.last_error.clone().unwrap()).collect();
    for (i, (url, kind)) in targets.iter().enumerate() {
        let by_table = &errors[5 + i];
        assert!(by_table.starts_with("refused"), "{url}: {by_table}");
        assert!(by_table.contains(kind), "{url}: {by_table}");
    }
    for e in &errors[..2] {
        assert!(e.starts_with("refused") && e.contains("loopback"), "{e}");
    }
    let wide_errors: Vec<String> = deliveries(&wide.page)
        .await
        .iter()
        .map(|d| d.last_error.clone().unwrap())
        .collect();
    assert_eq!(wide_errors.len(), 2);
    assert!(wide_errors[0].contains("10.0.0.1") && wide_errors[0].contains("private"));
    assert!(wide_errors[1].contains("169.254.169.254") && wide_errors[1].contains("link-local"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_retried_and_redirects_never_followed() {
    // 503 then 200: retried, then delivered. 302: failed for good, the target never asked.
    let flaky = Receiver::start(vec![StatusCode::SERVICE_UNAVAILABLE]).await;
    let moved = Receiver::start(vec![StatusCode::FOUND]).await;
    let p = page(loopback()).await;
    hook(&p.page, &flaky.url(), &["incident.created"]).await;
    hook(&p.page, &moved.url(), &["incident.created"]).await;
    // Nobody listens here; the URL's query holds the receiver's credential, which no error
    // may repeat (review finding).
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (_, secret) = hook(
        &p.page,
        &format!("http://127.0.0.1:{closed}/hook?token=RECEIVER-CREDENTIAL"),
        &["incident.created"],
    )
    .await;
    let listed = p.page.list_webhooks(&Actor::System).await.unwrap();
    let shown = format!(
        "{:?}",
        p.page
            .rotate_webhook_secret(&Actor::System, listed[2].id)
            .await
            .unwrap()
    );
    assert!(
        !shown.contains("whsec_") && !shown.contains(&secret),
        "{shown}"
    );
    p.page
        .create_incident(&Actor::System, incident("Down", 1))
        .await
        .unwrap();
    let w = worker(&p.page, loopback(), system_lookup());
    drain(&w).await;
    let ds = deliveries(&p.page).await;
    assert_eq!(ds[0].state, DeliveryState::Delivered, "{:?}", ds[0]);
    assert_eq!(ds[0].attempts, 2);
    assert_eq!(ds[1].state, DeliveryState::Failed);
    assert_eq!(ds[1].attempts, 1);
    assert!(ds[1].last_error.as_deref().unwrap().contains("redirect"));
    assert_eq!(flaky.got().len(), 2);
    assert_eq!(moved.got().len(), 1);
    assert_eq!(ds[2].state, DeliveryState::Failed, "{:?}", ds[2]);
    assert_eq!(ds[2].attempts, 3, "retried to the limit");
    let error = ds[2].last_error.as_deref().unwrap();
    assert!(!error.contains("RECEIVER-CREDENTIAL"), "{error}");
    assert!(
        error.contains("connect") || error.contains("Connection"),
        "{error}"
    );
    // The retry is the same delivery: the same id, a body that verifies again.
    let a: Value = serde_json::from_slice(&flaky.got()[0].body).unwrap();
    let b: Value = serde_json::from_slice(&flaky.got()[1].body).unwrap();
    assert_eq!(a["delivery_id"], b["delivery_id"]);
}

/// The events of later steps reach the webhooks that want them: an incident changed, an
/// update that resolves it (both `incident_update.created` and `incident.resolved`), a
/// subscriber who confirms and who leaves (their id only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn later_steps_are_events_of_their_own() {
    use cachet_core::input::IncidentUpdateInput;
    use cachet_core::service::Outgoing;
    let rx = Receiver::start(vec![]).await;
    let p = page(loopback()).await;
    let (_, secret) = hook(
        &p.page,
        &rx.url(),
        &[
            "incident.updated",
            "incident.resolved",
            "incident_update.created",
            "subscriber.verified",
            "subscriber.unsubscribed",
        ],
    )
    .await;
    let i = p
        .page
        .create_incident(&Actor::System, incident("Card payments failing", 1))
        .await
        .unwrap();
    p.page
        .update_incident(
            &Actor::System,
            i.id,
            IncidentInput {
                name: Some("Card payments failing in the EU".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    p.page
        .create_update(
            &Actor::System,
            i.id,
            IncidentUpdateInput {
                status: Some(4),
                message: Some("Fixed by a rollback.".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // A subscriber confirms by the mailed link, then leaves by the same mail's link.
    p.page.subscribe("ada@example.com", None).await.unwrap();
    let mail = deliveries(&p.page)
        .await
        .into_iter()
        .find(|d| matches!(d.target, Target::Subscriber(_)))
        .unwrap();
    let Outgoing::Mail(m) = p
        .page
        .outgoing(&mail, "https://status.example.com", chrono::Utc::now())
        .await
        .unwrap()
    else {
        panic!("the verification mail")
    };
    let token = |path: &str| {
        let marker = format!("/subscribe/{path}/");
        let at = m.text.find(&marker).unwrap() + marker.len();
        m.text[at..].split_whitespace().next().unwrap().to_string()
    };
    let sub = p.page.verify_subscription(&token("verify")).await.unwrap();
    p.page.unsubscribe(&token("unsubscribe")).await.unwrap();

    drain(&worker(&p.page, loopback(), system_lookup())).await;
    let now = chrono::Utc::now().timestamp();
    let got: Vec<Value> = rx
        .got()
        .iter()
        .map(|r| {
            let sig = r.headers["cachet-signature"].to_str().unwrap();
            assert!(verify_signature(&secret, sig, &r.body, now, 300));
            serde_json::from_slice(&r.body).unwrap()
        })
        .collect();
    let mut events: Vec<&str> = got.iter().map(|b| b["event"].as_str().unwrap()).collect();
    events.sort_unstable();
    assert_eq!(
        events,
        vec![
            "incident.resolved",
            "incident.updated",
            "incident_update.created",
            "subscriber.unsubscribed",
            "subscriber.verified",
        ]
    );
    for b in &got {
        match b["event"].as_str().unwrap() {
            "incident.updated" | "incident.resolved" | "incident_update.created" => {
                assert_eq!(b["data"]["name"], "Card payments failing in the EU");
                assert_eq!(b["data"]["id"], i.id.get());
            }
            _ => {
                assert_eq!(b["data"], serde_json::json!({ "id": sub.id.get() }));
                assert!(!b.to_string().contains("ada@"), "no address: {b}");
            }
        }
    }
    let resolved = got
        .iter()
        .find(|b| b["event"] == "incident.resolved")
        .unwrap();
    assert_eq!(resolved["data"]["is_resolved"], true);
}

/// A window is announced when it starts and when it completes, once each, however often
/// maintenance is applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_is_announced_as_it_starts_and_completes() {
    use cachet_core::input::ScheduleInput;
    let rx = Receiver::start(vec![]).await;
    let p = page(loopback()).await;
    let (_, secret) = hook(
        &p.page,
        &rx.url(),
        &["maintenance.started", "maintenance.completed"],
    )
    .await;
    let local = |minutes: i64| {
        (chrono::Utc::now() + chrono::Duration::minutes(minutes))
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };
    let s = p
        .page
        .create_schedule(
            &Actor::System,
            ScheduleInput {
                name: Some("Database upgrade".into()),
                status: Some(0),
                scheduled_at: Some(local(-3)),
                completed_at: Some(local(60)),
                time_zone: Some(cachet_core::Tz::UTC),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    for _ in 0..3 {
        p.page.apply_maintenance().await.unwrap();
    }
    let w = worker(&p.page, loopback(), system_lookup());
    drain(&w).await;
    // It ends early: the window is edited to end a minute ago.
    p.page
        .update_schedule(
            &Actor::System,
            s.id,
            ScheduleInput {
                completed_at: Some(local(-1)),
                time_zone: Some(cachet_core::Tz::UTC),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    for _ in 0..3 {
        p.page.apply_maintenance().await.unwrap();
    }
    drain(&w).await;
    let now = chrono::Utc::now().timestamp();
    let got: Vec<Value> = rx
        .got()
        .iter()
        .map(|r| {
            let sig = r.headers["cachet-signature"].to_str().unwrap();
            assert!(verify_signature(&secret, sig, &r.body, now, 300));
            serde_json::from_slice(&r.body).unwrap()
        })
        .collect();
    let events: Vec<&str> = got.iter().map(|b| b["event"].as_str().unwrap()).collect();
    assert_eq!(events, vec!["maintenance.started", "maintenance.completed"]);
    for b in &got {
        assert_eq!(b["data"]["id"], s.id.get());
        assert_eq!(b["data"]["name"], "Database upgrade");
    }
    assert_eq!(
        got[0]["subject"],
        "[Status] Maintenance started: Database upgrade"
    );
}

const HIDDEN_NAMES: [&str; 5] = [
    "Internal Disabled",
    "Secret DB",
    "Back office",
    "Billing",
    "Reports",
];

/// Review finding: nothing about a component guests cannot see (disabled, or in a hidden
/// group) reaches a subscriber or a webhook: no status-change notice, no "Affects" line, no
/// link or row in a webhook's data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hidden_components_are_never_told_of() {
    use cachet_core::input::{GroupInput, ScheduleInput, SubscriberInput};
    use cachet_core::service::Outgoing;
    let rx = Receiver::start(vec![]).await;
    let p = page(loopback()).await;
    let (_, _secret) = hook(
        &p.page,
        &rx.url(),
        &[
            "component.status_changed",
            "incident.created",
            "maintenance.scheduled",
        ],
    )
    .await;
    p.page
        .create_subscriber(
            &Actor::System,
            SubscriberInput {
                email: Some("all@example.com".into()),
                verify: Some(true),
                components: None,
            },
        )
        .await
        .unwrap();
    let hidden_group = p
        .page
        .create_group(
            &Actor::System,
            GroupInput {
                name: Some("Back office".into()),
                visible: Some(0),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mk = |name: &str, enabled: bool, group: Option<i64>| ComponentInput {
        name: Some(name.into()),
        status: Some(1),
        enabled: Some(enabled),
        group_id: group,
        ..Default::default()
    };
    let disabled = p
        .page
        .create_component(&Actor::System, mk("Internal Disabled", false, None))
        .await
        .unwrap();
    let grouped = p
        .page
        .create_component(
            &Actor::System,
            mk("Secret DB", true, Some(hidden_group.group.id.get())),
        )
        .await
        .unwrap();
    let public = p
        .page
        .create_component(&Actor::System, mk("Website", true, None))
        .await
        .unwrap();
    for c in [disabled.id, grouped.id] {
        p.page
            .update_component(
                &Actor::System,
                c,
                ComponentInput {
                    status: Some(4),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    // Public ones hidden by the same change that sets their status (review finding): the
    // notice follows the component as the change leaves it.
    let billing = p
        .page
        .create_component(&Actor::System, mk("Billing", true, None))
        .await
        .unwrap();
    let reports = p
        .page
        .create_component(&Actor::System, mk("Reports", true, None))
        .await
        .unwrap();
    for (c, hide) in [
        (
            billing.id,
            ComponentInput {
                enabled: Some(false),
                ..Default::default()
            },
        ),
        (
            reports.id,
            ComponentInput {
                group_id: Some(hidden_group.group.id.get()),
                ..Default::default()
            },
        ),
    ] {
        p.page
            .update_component(
                &Actor::System,
                c,
                ComponentInput {
                    status: Some(4),
                    ..hide
                },
            )
            .await
            .unwrap();
    }
    assert!(
        deliveries(&p.page).await.is_empty(),
        "a hidden component's status change notifies nobody"
    );
    // A public incident linked to a hidden component: told, without the component.
    p.page
        .create_incident(
            &Actor::System,
            IncidentInput {
                component_id: Some(disabled.id.get()),
                component_status: Some(2),
                notify: Some(true),
                ..incident("Slow logins", 1)
            },
        )
        .await
        .unwrap();
    // A window over a hidden and a public component.
    p.page
        .create_schedule(
            &Actor::System,
            ScheduleInput {
                name: Some("Upgrade".into()),
                status: Some(0),
                scheduled_at: Some("2099-01-01 10:00".into()),
                components: Some(vec![
                    (grouped.id.get(), Some(2)),
                    (public.id.get(), Some(2)),
                ]),
                notify: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    for d in deliveries(&p.page).await {
        if let Outgoing::Mail(m) = p
            .page
            .outgoing(&d, "https://status.example.com", chrono::Utc::now())
            .await
            .unwrap()
        {
            for secret_name in HIDDEN_NAMES {
                assert!(!m.subject.contains(secret_name), "{}", m.subject);
                assert!(!m.text.contains(secret_name), "{}", m.text);
                assert!(!m.html.contains(secret_name), "{}", m.html);
            }
        }
    }
    drain(&worker(&p.page, loopback(), system_lookup())).await;
    let got: Vec<Value> = rx
        .got()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    let mut events: Vec<&str> = got.iter().map(|b| b["event"].as_str().unwrap()).collect();
    events.sort_unstable();
    assert_eq!(events, vec!["incident.created", "maintenance.scheduled"]);
    for b in &got {
        let text = b.to_string();
        for secret_name in HIDDEN_NAMES {
            assert!(!text.contains(secret_name), "{text}");
        }
        if b["event"] == "incident.created" {
            assert_ne!(b["data"]["component_id"], disabled.id.get(), "{text}");
        } else {
            let rows: Vec<i64> = b["data"]["components"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["component_id"].as_i64().unwrap())
                .collect();
            assert_eq!(rows, vec![public.id.get()], "{text}");
        }
    }
}
