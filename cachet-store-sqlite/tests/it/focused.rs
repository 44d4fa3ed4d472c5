//! Focused tests of what a SQL backend can get wrong: transactions, concurrency, SQL
//! sorting/paging/aggregation, error classification and migrations.

use std::collections::BTreeMap;
use std::sync::Arc;

use cachet_core::chart::Window;
use cachet_core::enums::*;
use cachet_core::error::Entity;
use cachet_core::ids::*;
use cachet_core::store::*;
use cachet_core::{Store, StoreError};
use cachet_store_sqlite::rusqlite::Connection;
use cachet_store_sqlite::SqliteStore;

use crate::support::*;

fn assert_not_found<T: std::fmt::Debug>(r: Result<T, StoreError>, entity: Entity) {
    match r {
        Err(StoreError::NotFound(e)) => assert_eq!(e, entity),
        other => panic!("expected NotFound({entity:?}), got {other:?}"),
    }
}

// ---- migrations and setup

#[tokio::test]
async fn migrations_are_idempotent_and_tracked_in_user_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cachet.db");
    let store = SqliteStore::open_and_migrate(&path).await.unwrap();
    store.migrate().await.unwrap();
    let c = store.create_component(component("API")).await.unwrap();
    drop(store);

    // A second process (or a restart) migrates again: nothing is lost.
    let again = SqliteStore::open_and_migrate(&path).await.unwrap();
    again.migrate().await.unwrap();
    assert_eq!(again.get_component(c.id).await.unwrap().name, "API");

    let raw = Connection::open(&path).unwrap();
    let version: i64 = raw
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, SqliteStore::schema_version());
    let mode: String = raw
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn a_database_from_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cachet.db");
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 999)
        .unwrap();
    let store = SqliteStore::open(&path).unwrap();
    assert!(matches!(store.migrate().await, Err(StoreError::Backend(_))));
}

#[tokio::test]
async fn in_memory_store_works() {
    let store = SqliteStore::open_in_memory().unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    let c = store.create_component(component("API")).await.unwrap();
    assert_eq!(store.get_component(c.id).await.unwrap(), c);
    assert_eq!(
        store
            .list_components(&ListQuery::default())
            .await
            .unwrap()
            .total,
        1
    );
}

#[tokio::test]
async fn the_store_is_object_safe() {
    let (_dir, store) = fresh().await;
    let store: Arc<dyn Store> = Arc::new(store);
    assert!(store.load_settings().await.unwrap().is_empty());
}

// ---- error classification

#[tokio::test]
async fn duplicate_template_slug_is_a_conflict() {
    let (_dir, store) = fresh().await;
    let new = NewTemplate {
        name: "Outage".into(),
        slug: "outage".into(),
        template: "Down.".into(),
    };
    let first = store.create_template(new.clone()).await.unwrap();
    assert!(matches!(
        store.create_template(new).await,
        Err(StoreError::Conflict(_))
    ));

    let other = NewTemplate {
        name: "Slow".into(),
        slug: "slow".into(),
        template: "Slow.".into(),
    };
    let second = store.create_template(other).await.unwrap();
    let taken = TemplateChanges {
        slug: Some("outage".into()),
        ..Default::default()
    };
    assert!(matches!(
        store.update_template(second.id, taken).await,
        Err(StoreError::Conflict(_))
    ));
    // Nothing changed.
    assert_eq!(
        store.get_template_by_slug("slow").await.unwrap().id,
        second.id
    );
    assert_eq!(store.get_template_by_slug("outage").await.unwrap(), first);
}

#[tokio::test]
async fn duplicate_users_and_tokens_are_conflicts() {
    let (_dir, store) = fresh().await;
    let u = store.create_user(user("ada")).await.unwrap();
    assert!(matches!(
        store.create_user(user("ada")).await,
        Err(StoreError::Conflict(_))
    ));
    let mut same_email = user("bob");
    same_email.email = u.email.clone();
    assert!(matches!(
        store.create_user(same_email).await,
        Err(StoreError::Conflict(_))
    ));
    let b = store.create_user(user("bob")).await.unwrap();
    let steal = UserChanges {
        email: Some(u.email.clone()),
        ..Default::default()
    };
    assert!(matches!(
        store.update_user(b.id, steal).await,
        Err(StoreError::Conflict(_))
    ));

    store.create_token(token(u.id, "secret")).await.unwrap();
    assert!(matches!(
        store.create_token(token(b.id, "secret")).await,
        Err(StoreError::Conflict(_))
    ));
    assert_not_found(
        store.create_token(token(UserId(999), "other")).await,
        Entity::User,
    );
}

// ---- atomic operations

/// A failure in the middle of a write that changes a status (here: the history insert,
/// made to fail by a trigger) leaves neither the change nor the rest of the write.
#[tokio::test]
async fn a_failed_history_insert_undoes_the_whole_write() {
    let (dir, store) = fresh().await;
    Connection::open(dir.path().join("cachet.db"))
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER fail_history BEFORE INSERT ON component_status_changes \
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
        )
        .unwrap();
    cachet_core::testing::failed_history_write_undoes_the_change(Arc::new(store)).await;
}

#[tokio::test]
async fn create_incident_sets_the_component_status_or_writes_nothing() {
    let (_dir, store) = fresh().await;
    let c = store.create_component(component("API")).await.unwrap();
    let i = store
        .create_incident(incident(
            "Down",
            Some(c.id),
            Some(ComponentStatus::MajorOutage),
        ))
        .await
        .unwrap();
    assert_eq!(i.component_id, Some(c.id));
    assert_eq!(
        store.get_component(c.id).await.unwrap().status,
        ComponentStatus::MajorOutage
    );

    assert_not_found(
        store
            .create_incident(incident("Ghost", Some(ComponentId(999)), None))
            .await,
        Entity::Component,
    );
    store.delete_component(c.id).await.unwrap();
    assert_not_found(
        store
            .create_incident(incident("Ghost", Some(c.id), None))
            .await,
        Entity::Component,
    );
    assert_eq!(
        store
            .list_incidents(&ListQuery::default())
            .await
            .unwrap()
            .total,
        1
    );
}

#[tokio::test]
async fn update_incident_checks_everything_before_writing() {
    let (_dir, store) = fresh().await;
    let c = store.create_component(component("API")).await.unwrap();
    let i = store
        .create_incident(incident("Down", None, None))
        .await
        .unwrap();
    let bad = IncidentChanges {
        name: Some("Renamed".into()),
        component_id: Some(Some(ComponentId(999))),
        impact: Some(ComponentStatus::PartialOutage),
        ..Default::default()
    };
    assert_not_found(store.update_incident(i.id, bad).await, Entity::Component);
    assert_eq!(store.get_incident(i.id).await.unwrap().name, "Down");

    let mut meta = BTreeMap::new();
    meta.insert("a".to_owned(), Some(serde_json::json!(1.5)));
    meta.insert("b".to_owned(), Some(serde_json::json!({"x": [1, "two"]})));
    let good = IncidentChanges {
        component_id: Some(Some(c.id)),
        impact: Some(ComponentStatus::PartialOutage),
        meta,
        ..Default::default()
    };
    let changed = store.update_incident(i.id, good).await.unwrap();
    assert_eq!(changed.component_id, Some(c.id));
    assert_eq!(changed.impact, Some(ComponentStatus::PartialOutage));
    assert_eq!(changed.meta.get("a"), Some(&serde_json::json!(1.5)));
    assert_eq!(
        store.get_component(c.id).await.unwrap().status,
        ComponentStatus::PartialOutage
    );

    let mut remove = BTreeMap::new();
    remove.insert("a".to_owned(), None);
    let changed = store
        .update_incident(
            i.id,
            IncidentChanges {
                meta: remove,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.meta.keys().collect::<Vec<_>>(), ["b"]);
    assert_not_found(
        store
            .update_incident(IncidentId(999), IncidentChanges::default())
            .await,
        Entity::Incident,
    );
}

#[tokio::test]
async fn updates_set_the_incident_status_and_come_newest_first() {
    let (_dir, store) = fresh().await;
    let i = store
        .create_incident(incident("Down", None, None))
        .await
        .unwrap();
    let u1 = store
        .create_update(i.id, update(IncidentStatus::Identified))
        .await
        .unwrap();
    let u2 = store
        .create_update(i.id, update(IncidentStatus::Fixed))
        .await
        .unwrap();
    let got = store.get_incident(i.id).await.unwrap();
    assert_eq!(got.status, IncidentStatus::Fixed);
    assert_eq!(
        got.updates.iter().map(|u| u.id).collect::<Vec<_>>(),
        [u2.id, u1.id]
    );
    let listed = store
        .list_updates(i.id, &ListQuery::default())
        .await
        .unwrap();
    assert_eq!(
        listed.items.iter().map(|u| u.id).collect::<Vec<_>>(),
        [u2.id, u1.id]
    );
    assert_eq!(listed.total, 2);

    assert_not_found(
        store
            .create_update(IncidentId(999), update(IncidentStatus::Fixed))
            .await,
        Entity::Incident,
    );
    assert_not_found(
        store
            .list_updates(IncidentId(999), &ListQuery::default())
            .await,
        Entity::Incident,
    );

    // An update of another incident is not found through this one.
    let other = store
        .create_incident(incident("Other", None, None))
        .await
        .unwrap();
    assert_not_found(
        store.get_update(other.id, u1.id).await,
        Entity::IncidentUpdate,
    );
    assert_not_found(
        store
            .update_update(other.id, u1.id, IncidentUpdateChanges::default())
            .await,
        Entity::IncidentUpdate,
    );
    assert_not_found(
        store.delete_update(other.id, u1.id).await,
        Entity::IncidentUpdate,
    );
    assert_eq!(store.get_update(i.id, u1.id).await.unwrap(), u1);

    // Incidents of a whole page carry their own updates.
    let page = store.list_incidents(&ListQuery::default()).await.unwrap();
    assert_eq!(page.items[0].updates.len(), 2);
    assert!(page.items[1].updates.is_empty());
}

#[tokio::test]
async fn delete_component_removes_its_subscriptions() {
    let (_dir, store) = fresh().await;
    let a = store.create_component(component("A")).await.unwrap();
    let b = store.create_component(component("B")).await.unwrap();
    let (s, created) = store
        .create_subscriber(subscriber(
            "x@example.com",
            SubscribeTo::Components(vec![b.id, ComponentId(999), a.id]),
        ))
        .await
        .unwrap();
    assert!(created);
    // Unknown ids skipped, creation order kept.
    assert_eq!(
        s.subscriptions
            .iter()
            .map(|x| x.component_id)
            .collect::<Vec<_>>(),
        [b.id, a.id]
    );

    store.delete_component(a.id).await.unwrap();
    assert_not_found(store.get_component(a.id).await, Entity::Component);
    assert_not_found(store.delete_component(a.id).await, Entity::Component);
    let s = store.get_subscriber(s.id).await.unwrap();
    assert_eq!(
        s.subscriptions
            .iter()
            .map(|x| x.component_id)
            .collect::<Vec<_>>(),
        [b.id]
    );

    let (all, _) = store
        .create_subscriber(subscriber("y@example.com", SubscribeTo::AllComponents))
        .await
        .unwrap();
    assert_eq!(
        all.subscriptions
            .iter()
            .map(|x| x.component_id)
            .collect::<Vec<_>>(),
        [b.id]
    );

    store
        .delete_subscription(all.subscriptions[0].id)
        .await
        .unwrap();
    assert_not_found(
        store.delete_subscription(all.subscriptions[0].id).await,
        Entity::Subscription,
    );
    store.delete_subscriber(s.id, None).await.unwrap();
    assert_not_found(store.get_subscriber(s.id).await, Entity::Subscriber);
}

#[tokio::test]
async fn delete_group_ungroups_its_members() {
    let (_dir, store) = fresh().await;
    let g = store
        .create_group(group("Core", Visibility::Public))
        .await
        .unwrap();
    let mut new = component("API");
    new.group_id = Some(g.id);
    let c = store.create_component(new).await.unwrap();
    store.delete_group(g.id).await.unwrap();
    assert_not_found(store.get_group(g.id).await, Entity::Group);
    assert_eq!(store.get_component(c.id).await.unwrap().group_id, None);
    assert_not_found(store.delete_group(g.id).await, Entity::Group);
}

#[tokio::test]
async fn delete_metric_removes_its_points() {
    let (_dir, store) = fresh().await;
    let m = store.create_metric(metric("Latency")).await.unwrap();
    let p = store
        .record_point(m.id, point(1.0, 1_700_000_000))
        .await
        .unwrap();
    store.delete_metric(m.id).await.unwrap();
    assert_not_found(store.get_metric(m.id).await, Entity::Metric);
    assert_not_found(store.get_point(m.id, p.id).await, Entity::MetricPoint);
    assert_not_found(
        store.list_points(m.id, &ListQuery::default()).await,
        Entity::Metric,
    );
}

#[tokio::test]
async fn schedules_keep_components_or_write_nothing() {
    let (_dir, store) = fresh().await;
    let c = store.create_component(component("API")).await.unwrap();
    let new = NewSchedule {
        notice: None,
        name: "Upgrade".into(),
        message: Some(message("Upgrading.")),
        status: ScheduleStatus::Upcoming,
        scheduled_at: at(1_700_000_000),
        completed_at: Some(at(1_700_003_600)),
        components: vec![
            (c.id, ComponentStatus::PerformanceIssues),
            (ComponentId(999), ComponentStatus::MajorOutage),
        ],
    };
    assert_not_found(store.create_schedule(new.clone()).await, Entity::Component);
    assert_eq!(
        store
            .list_schedules(&ListQuery::default())
            .await
            .unwrap()
            .total,
        0
    );

    let ok = NewSchedule {
        components: vec![(c.id, ComponentStatus::PerformanceIssues)],
        ..new
    };
    let s = store.create_schedule(ok).await.unwrap();
    assert_eq!(s.components.len(), 1);
    assert_eq!(s.message.as_deref(), Some("Upgrading."));
    let cleared = ScheduleChanges {
        message: Some(None),
        completed_at: Some(None),
        components: Some(vec![]),
        ..Default::default()
    };
    let s2 = store.update_schedule(s.id, cleared).await.unwrap();
    assert_eq!(
        (
            s2.message,
            s2.message_html,
            s2.completed_at,
            s2.components.len()
        ),
        (None, None, None, 0)
    );
    store.delete_schedule(s.id).await.unwrap();
    assert_not_found(store.get_schedule(s.id).await, Entity::Schedule);
    assert_not_found(store.delete_schedule(s.id).await, Entity::Schedule);
}

// ---- concurrency

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_subscriptions_of_one_email_create_one_subscriber() {
    let (_dir, store) = fresh().await;
    let c = store.create_component(component("API")).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .create_subscriber(subscriber(
                    "Same@Example.COM",
                    SubscribeTo::Components(vec![c.id]),
                ))
                .await
        }));
    }
    let mut created = 0;
    let mut ids = Vec::new();
    for t in tasks {
        let (s, new) = t.await.unwrap().unwrap();
        created += usize::from(new);
        ids.push(s.id);
        assert_eq!(s.subscriptions.len(), 1);
    }
    assert_eq!(created, 1);
    ids.dedup();
    assert_eq!(ids.len(), 1);
    assert_eq!(
        store
            .list_subscribers(&ListQuery::default())
            .await
            .unwrap()
            .total,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_file_still_create_one_subscriber_and_one_admin() {
    // Two stores = two writers, as two processes would have: BEGIN IMMEDIATE and the busy
    // timeout serialise them.
    let (dir, a) = fresh().await;
    let b = SqliteStore::open_and_migrate(dir.path().join("cachet.db"))
        .await
        .unwrap();
    let mut subs = Vec::new();
    let mut admins = Vec::new();
    for i in 0..20 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let s2 = store.clone();
        subs.push(tokio::spawn(async move {
            store
                .create_subscriber(subscriber("race@example.com", SubscribeTo::AllComponents))
                .await
        }));
        admins.push(tokio::spawn(async move {
            s2.bootstrap_admin(user("root"), token(UserId(0), "boot"))
                .await
        }));
    }
    let mut created = 0;
    for t in subs {
        created += usize::from(t.await.unwrap().unwrap().1);
    }
    assert_eq!(created, 1);
    let mut bootstrapped = 0;
    for t in admins {
        if let Some((u, tok)) = t.await.unwrap().unwrap() {
            bootstrapped += 1;
            assert_eq!(tok.user_id, u.id);
        }
    }
    assert_eq!(bootstrapped, 1);
    assert_eq!(a.list_users(&ListQuery::default()).await.unwrap().total, 1);
    assert_eq!(b.list_tokens(None).await.unwrap().len(), 1);
}

// ---- sorting, filtering, paging

#[tokio::test]
async fn components_sort_then_page_with_ties_by_id() {
    let (_dir, store) = fresh().await;
    let mut ids = Vec::new();
    for (name, order) in [("b", 2), ("a", 1), ("b", 1), ("c", 3), ("a", 2)] {
        let mut new = component(name);
        new.order = order;
        ids.push(store.create_component(new).await.unwrap().id);
    }
    let names =
        |p: &Page<cachet_core::model::Component>| p.items.iter().map(|c| c.id).collect::<Vec<_>>();

    let all: Page<_> = store
        .list_components(&query(1, 10, Some((ComponentSort::Name, Order::Desc))))
        .await
        .unwrap();
    // c, then the two b's and the two a's, ties by id descending.
    assert_eq!(names(&all), [ids[3], ids[2], ids[0], ids[4], ids[1]]);
    assert_eq!(all.total, 5);

    let page2 = store
        .list_components(&query(2, 2, Some((ComponentSort::Name, Order::Asc))))
        .await
        .unwrap();
    assert_eq!(names(&page2), [ids[0], ids[2]]);
    assert_eq!(page2.total, 5);

    let by_order = store
        .list_components(&query(1, 3, Some((ComponentSort::Order, Order::Asc))))
        .await
        .unwrap();
    assert_eq!(names(&by_order), [ids[1], ids[2], ids[0]]);

    let beyond = store.list_components(&query(9, 2, None)).await.unwrap();
    assert!(beyond.items.is_empty());
    assert_eq!(beyond.total, 5);

    let default = store.list_components(&query(1, 2, None)).await.unwrap();
    assert_eq!(names(&default), [ids[0], ids[1]]);
}

#[tokio::test]
async fn component_filters_tags_and_public_only() {
    let (_dir, store) = fresh().await;
    let private = store
        .create_group(group("Internal", Visibility::Private))
        .await
        .unwrap();
    let public = store
        .create_group(group("Public", Visibility::Public))
        .await
        .unwrap();

    let mut a = component("A");
    a.tags = vec![tag("Europe", "eu"), tag("Asia", "asia")];
    let a = store.create_component(a).await.unwrap();
    // Tags sorted by slug; an existing slug keeps its first name.
    assert_eq!(a.tags, vec![tag("Asia", "asia"), tag("Europe", "eu")]);

    let mut b = component("B");
    b.tags = vec![tag("EUROPE!", "eu")];
    b.group_id = Some(private.id);
    let b = store.create_component(b).await.unwrap();
    assert_eq!(b.tags, vec![tag("Europe", "eu")]);

    let mut c = component("C");
    c.group_id = Some(public.id);
    c.tags = vec![tag("US", "us")];
    let c = store.create_component(c).await.unwrap();

    let mut d = component("D");
    d.enabled = false;
    let d = store.create_component(d).await.unwrap();

    let ids = |f: ComponentFilter| {
        let store = store.clone();
        async move {
            let q = ListQuery::new(1, 50, f);
            store
                .list_components(&q)
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|c| c.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        ids(ComponentFilter {
            tags: vec!["eu".into(), "us".into()],
            ..Default::default()
        })
        .await,
        [a.id, b.id, c.id]
    );
    assert_eq!(
        ids(ComponentFilter {
            tags: vec!["nope".into()],
            ..Default::default()
        })
        .await,
        []
    );
    assert_eq!(
        ids(ComponentFilter {
            public_only: true,
            ..Default::default()
        })
        .await,
        [a.id, c.id]
    );
    assert_eq!(
        ids(ComponentFilter {
            group_id: Some(None),
            ..Default::default()
        })
        .await,
        [a.id, d.id]
    );
    assert_eq!(
        ids(ComponentFilter {
            enabled: Some(false),
            ..Default::default()
        })
        .await,
        [d.id]
    );
    assert_eq!(
        ids(ComponentFilter {
            name: Some("C".into()),
            group_id: Some(Some(public.id)),
            ..Default::default()
        })
        .await,
        [c.id]
    );

    let changes = ComponentChanges {
        tags: Some(vec![tag("US", "us")]),
        ..Default::default()
    };
    assert_eq!(
        store
            .update_component(a.id, changes, StatusSource::Api)
            .await
            .unwrap()
            .tags,
        vec![tag("US", "us")]
    );
}

#[tokio::test]
async fn audit_is_newest_first_and_filtered() {
    let (_dir, store) = fresh().await;
    let mut ids = Vec::new();
    for kind in ["login.failed", "token.created", "login.failed"] {
        let e = store
            .append_audit(NewAuditEntry {
                user_id: None,
                kind: kind.into(),
                detail: "d".into(),
            })
            .await
            .unwrap();
        ids.push(e.id);
    }
    let all = store.list_audit(&ListQuery::default()).await.unwrap();
    assert_eq!(
        all.items.iter().map(|e| e.id).collect::<Vec<_>>(),
        [ids[2], ids[1], ids[0]]
    );
    let q = ListQuery::new(
        1,
        10,
        AuditFilter {
            kind: Some("login.failed".into()),
            ..Default::default()
        },
    );
    let failed = store.list_audit(&q).await.unwrap();
    assert_eq!(
        failed.items.iter().map(|e| e.id).collect::<Vec<_>>(),
        [ids[2], ids[0]]
    );
    let later = ListQuery::new(
        1,
        10,
        AuditFilter {
            since: Some(now() + chrono::Duration::hours(1)),
            ..Default::default()
        },
    );
    assert_eq!(store.list_audit(&later).await.unwrap().total, 0);
}

// ---- metrics

#[tokio::test]
async fn metric_values_keep_their_decimals() {
    let (_dir, store) = fresh().await;
    let mut new = metric("Ratio");
    new.default_value = 0.1 + 0.2;
    let m = store.create_metric(new).await.unwrap();
    assert_eq!(
        store.get_metric(m.id).await.unwrap().default_value,
        0.1 + 0.2
    );
    for v in [1e-300, 123_456.789_012_345, -0.000_1, f64::MAX] {
        let p = store
            .record_point(m.id, point(v, 1_700_000_000))
            .await
            .unwrap();
        assert_eq!(store.get_point(m.id, p.id).await.unwrap().value, v);
    }
}

#[tokio::test]
async fn record_point_bumps_an_equal_value_in_the_window() {
    let (_dir, store) = fresh().await;
    let m = store.create_metric(metric("Latency")).await.unwrap();
    let t = 1_700_000_000;
    let first = store.record_point(m.id, point(2.5, t)).await.unwrap();
    let again = store
        .record_point(
            m.id,
            NewPoint {
                value: 2.5,
                created_at: at(t + 60),
                dedup_since: at(t - 240),
            },
        )
        .await
        .unwrap();
    assert_eq!((again.id, again.counter), (first.id, 2));
    let other = store.record_point(m.id, point(2.5, t + 600)).await.unwrap();
    assert_ne!(other.id, first.id);
    assert_eq!(other.counter, 1);
    let points = store
        .list_points(m.id, &ListQuery::default())
        .await
        .unwrap();
    assert_eq!(
        points.items.iter().map(|p| p.id).collect::<Vec<_>>(),
        [other.id, first.id]
    );
    assert_not_found(
        store.record_point(MetricId(999), point(1.0, t)).await,
        Entity::Metric,
    );

    let n = store.create_metric(metric("Other")).await.unwrap();
    assert_not_found(store.get_point(n.id, first.id).await, Entity::MetricPoint);
    assert_not_found(
        store
            .update_point(n.id, first.id, PointChanges::default())
            .await,
        Entity::MetricPoint,
    );
    assert_not_found(
        store.delete_point(n.id, first.id).await,
        Entity::MetricPoint,
    );
}

#[tokio::test]
async fn metric_sums_group_by_floored_buckets() {
    let (_dir, store) = fresh().await;
    let m = store.create_metric(metric("Requests")).await.unwrap();
    // Two points in one hour (one observed twice), one in the next, one outside the window.
    let base = 1_700_000_000 - 1_700_000_000 % 3600;
    store
        .record_point(m.id, point(1.5, base + 10))
        .await
        .unwrap();
    store
        .record_point(m.id, point(1.5, base + 10))
        .await
        .unwrap();
    store
        .record_point(m.id, point(4.0, base + 20))
        .await
        .unwrap();
    store
        .record_point(m.id, point(2.0, base + 3600))
        .await
        .unwrap();
    store
        .record_point(m.id, point(9.0, base + 7200))
        .await
        .unwrap();
    let w = Window {
        from: at(base),
        to: at(base + 7200),
        bucket_secs: 3600,
        offset_secs: 0,
    };
    let sums = store.metric_sums(m.id, w).await.unwrap();
    let h = base / 3600;
    assert_eq!(sums.len(), 2);
    assert_eq!(
        (
            sums[0].bucket,
            sums[0].sum_product,
            sums[0].sum_value,
            sums[0].points
        ),
        (h, 7.0, 5.5, 2)
    );
    assert_eq!(
        (
            sums[1].bucket,
            sums[1].sum_product,
            sums[1].sum_value,
            sums[1].points
        ),
        (h + 1, 2.0, 2.0, 1)
    );

    // A negative offset moves the boundaries: floor, not truncation toward zero.
    let w = Window {
        from: at(0),
        to: at(base + 7200),
        bucket_secs: 3600,
        offset_secs: -1800,
    };
    let shifted = store.metric_sums(m.id, w).await.unwrap();
    assert_eq!(
        shifted
            .iter()
            .map(|s| (s.bucket, s.points))
            .collect::<Vec<_>>(),
        [(h - 1, 2), (h, 1)]
    );
}

#[tokio::test]
async fn metric_sums_floor_negative_instants() {
    let (_dir, store) = fresh().await;
    let m = store.create_metric(metric("Old")).await.unwrap();
    for t in [-5400, -3600, -1, 0, 1800] {
        store.record_point(m.id, point(1.0, t)).await.unwrap();
    }
    let w = Window {
        from: at(-10_000),
        to: at(10_000),
        bucket_secs: 3600,
        offset_secs: 0,
    };
    let sums = store.metric_sums(m.id, w).await.unwrap();
    assert_eq!(
        sums.iter()
            .map(|s| (s.bucket, s.points))
            .collect::<Vec<_>>(),
        [(-2, 1), (-1, 2), (0, 2)]
    );
}

// ---- users, tokens, settings

#[tokio::test]
async fn tokens_are_found_by_digest_and_revoked_once() {
    let (_dir, store) = fresh().await;
    let (u, t) = store
        .bootstrap_admin(user("root"), token(UserId(0), "s3cret"))
        .await
        .unwrap()
        .unwrap();
    assert!(store
        .bootstrap_admin(user("other"), token(UserId(0), "x"))
        .await
        .unwrap()
        .is_none());
    let (found, owner) = store
        .find_token(&cachet_core::secret::TokenHash::of("s3cret"))
        .await
        .unwrap();
    assert_eq!((found.id, owner.id), (t.id, u.id));
    assert_not_found(
        store
            .find_token(&cachet_core::secret::TokenHash::of("nope"))
            .await,
        Entity::Token,
    );

    let revoked = store.revoke_token(t.id).await.unwrap();
    let first = revoked.revoked_at.unwrap();
    assert_eq!(
        store.revoke_token(t.id).await.unwrap().revoked_at,
        Some(first)
    );
    store.touch_token(t.id, at(1_700_000_000)).await.unwrap();
    assert_eq!(
        store.list_tokens(Some(u.id)).await.unwrap()[0].last_used_at,
        Some(at(1_700_000_000))
    );
    assert_not_found(store.touch_token(TokenId(999), at(0)).await, Entity::Token);
    assert_eq!(store.find_user("root@example.com").await.unwrap().id, u.id);
    assert_eq!(store.find_user("root").await.unwrap().id, u.id);
}

#[tokio::test]
async fn settings_are_upserted_and_sorted() {
    let (_dir, store) = fresh().await;
    store
        .save_settings(vec![("b".into(), "1".into()), ("a".into(), "2".into())])
        .await
        .unwrap();
    store
        .save_settings(vec![("b".into(), "3".into())])
        .await
        .unwrap();
    assert_eq!(
        store.load_settings().await.unwrap(),
        vec![("a".into(), "2".into()), ("b".into(), "3".into())]
    );
}

// ---- overview

#[tokio::test]
async fn overview_reads_what_the_page_shows() {
    let (_dir, store) = fresh().await;
    let since = at(1_700_000_000);
    let c = store.create_component(component("API")).await.unwrap();
    let mut old = incident("Old and fixed", None, None);
    old.occurred_at = at(1_600_000_000);
    let old = store.create_incident(old).await.unwrap();
    store
        .create_update(old.id, update(IncidentStatus::Fixed))
        .await
        .unwrap();
    let mut open = incident("Old but open", None, None);
    open.occurred_at = at(1_600_000_100);
    let open = store.create_incident(open).await.unwrap();
    let mut recent = incident("Recent", Some(c.id), Some(ComponentStatus::PartialOutage));
    recent.occurred_at = at(1_700_000_500);
    recent.status = IncidentStatus::Fixed;
    let recent = store.create_incident(recent).await.unwrap();

    let done = NewSchedule {
        notice: None,
        name: "Done".into(),
        message: None,
        status: ScheduleStatus::Complete,
        scheduled_at: at(1_600_000_000),
        completed_at: Some(at(1_600_003_600)),
        components: vec![],
    };
    store.create_schedule(done.clone()).await.unwrap();
    let upcoming = store
        .create_schedule(NewSchedule {
            status: ScheduleStatus::Upcoming,
            ..done
        })
        .await
        .unwrap();

    let o = store.overview(since).await.unwrap();
    assert_eq!(o.components.len(), 1);
    assert_eq!(
        o.incidents.iter().map(|i| i.id).collect::<Vec<_>>(),
        [recent.id, open.id]
    );
    assert_eq!(
        o.schedules.iter().map(|s| s.id).collect::<Vec<_>>(),
        [upcoming.id]
    );
}

// ---- hostile input

#[tokio::test]
async fn hostile_input_is_data_not_sql_and_never_panics() {
    let (_dir, store) = fresh().await;
    let evil = "x'); DROP TABLE components; --\0\"order\"";
    let mut new = component(evil);
    new.tags = vec![tag(evil, evil)];
    let c = store.create_component(new).await.unwrap();
    assert_eq!(c.name, evil);
    assert_eq!(c.tags, vec![tag(evil, evil)]);
    let f = ComponentFilter {
        name: Some(evil.into()),
        tags: vec![evil.into()],
        ..Default::default()
    };
    assert_eq!(
        store
            .list_components(&ListQuery::new(1, 10, f))
            .await
            .unwrap()
            .total,
        1
    );

    // Extreme pages, ids, instants and windows: answers or errors, never a panic.
    let far = query::<ComponentSort, ComponentFilter>(
        u32::MAX,
        u32::MAX,
        Some((ComponentSort::Order, Order::Desc)),
    );
    assert!(store.list_components(&far).await.unwrap().items.is_empty());
    assert_not_found(
        store.get_component(ComponentId(i64::MIN)).await,
        Entity::Component,
    );
    let mut extreme = incident("Extreme", None, None);
    extreme.occurred_at = chrono::DateTime::<chrono::Utc>::MAX_UTC;
    let i = store.create_incident(extreme).await.unwrap();
    // Stored as whole seconds.
    assert_eq!(
        i.occurred_at.timestamp(),
        chrono::DateTime::<chrono::Utc>::MAX_UTC.timestamp()
    );
    let m = store.create_metric(metric("m")).await.unwrap();
    store
        .record_point(m.id, point(1.0, 1_700_000_000))
        .await
        .unwrap();
    for (bucket_secs, offset_secs) in [(i64::MAX, i64::MAX), (0, 0), (-60, i64::MIN), (1, 0)] {
        let w = Window {
            from: chrono::DateTime::<chrono::Utc>::MIN_UTC,
            to: chrono::DateTime::<chrono::Utc>::MAX_UTC,
            bucket_secs,
            offset_secs,
        };
        let _ = store.metric_sums(m.id, w).await;
    }
    assert_eq!(
        store
            .list_components(&ListQuery::default())
            .await
            .unwrap()
            .total,
        1
    );
}

#[tokio::test]
async fn json_meta_round_trips_exactly() {
    let (_dir, store) = fresh().await;
    let floats = [
        0.1 + 0.2,
        5e-324,
        f64::MAX,
        1.0 / 3.0,
        -2.5e-8,
        123_456_789.123_456_78,
    ];
    let meta = serde_json::json!({ "floats": floats, "big": u64::MAX, "neg": i64::MIN, "s": "é\u{0}\"", "null": null });
    let mut new = component("meta");
    new.meta = Some(meta.clone());
    let c = store.create_component(new).await.unwrap();
    assert_eq!(store.get_component(c.id).await.unwrap().meta, Some(meta));
    let mut new = component("null meta");
    new.meta = Some(serde_json::Value::Null);
    let c = store.create_component(new).await.unwrap();
    assert_eq!(
        store.get_component(c.id).await.unwrap().meta,
        Some(serde_json::Value::Null)
    );
}

/// A subscriber written before addresses were sealed (address in `email`, no
/// `email_sealed`) is sealed when the service starts: the address is readable through the
/// service, and the file then holds only the digest and the ciphertext.
#[tokio::test]
async fn subscribers_from_before_sealing_are_sealed_at_start() {
    use cachet_core::crypto::DataKey;
    use cachet_core::{Actor, StatusPage};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cachet.db");
    let store = SqliteStore::open_and_migrate(&path).await.unwrap();
    drop(store);
    let raw = Connection::open(&path).unwrap();
    raw.execute(
        "INSERT INTO subscribers (email, verify_code_hash, global, created_at, updated_at) \
         VALUES ('old.reader@example.com', ?1, 1, 1700000000, 1700000000)",
        [cachet_core::secret::TokenHash::of("x").to_hex()],
    )
    .unwrap();
    let key = DataKey::from_bytes([3; 32]);
    let store = SqliteStore::open_and_migrate(&path).await.unwrap();
    let service = StatusPage::new(Arc::new(store), key.clone()).await.unwrap();
    let listed = service
        .list_subscribers(&Actor::System, &ListQuery::new(1, 10, ()))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].email.as_str(), "old.reader@example.com");
    let (email, sealed): (String, String) = raw
        .query_row("SELECT email, email_sealed FROM subscribers", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(
        email,
        key.lookup("subscriber.email", "old.reader@example.com")
    );
    assert!(
        sealed.starts_with("v1.") && !sealed.contains("reader"),
        "{sealed}"
    );
    // Found by address, and a new subscription of the same address is the same subscriber.
    let found = service
        .find_subscriber_by_email(&Actor::System, "old.reader@example.com")
        .await
        .unwrap();
    assert_eq!(found.id, listed.items[0].id);
    let (again, created) = service
        .create_subscriber(
            &Actor::System,
            cachet_core::input::SubscriberInput {
                email: Some("old.reader@example.com".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again.id, found.id);
}

/// A new database file, and the WAL and shared-memory files SQLite makes beside it, are
/// the owner's only (SQLite alone would create them 0644); an existing file keeps its mode.
#[cfg(unix)]
#[tokio::test]
async fn a_new_database_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("status.db");
    let store = SqliteStore::open_and_migrate(&path).await.unwrap();
    store.create_component(component("api")).await.unwrap();
    let mode = |name: &str| {
        std::fs::metadata(dir.path().join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .permissions()
            .mode()
            & 0o777
    };
    for name in ["status.db", "status.db-wal", "status.db-shm"] {
        assert_eq!(mode(name), 0o600, "{name}");
    }
    drop(store);
    let shared = dir.path().join("shared.db");
    std::fs::write(&shared, b"").unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o640)).unwrap();
    let store = SqliteStore::open_and_migrate(&shared).await.unwrap();
    assert_eq!(mode("shared.db"), 0o640);
    drop(store);
}
