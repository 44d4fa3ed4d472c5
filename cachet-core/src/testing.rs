//! The `Store` conformance suite: one public async function per contract sentence group,
//! and [`conformance_tests!`](crate::conformance_tests) to expand them into one
//! `#[tokio::test]` each. `MemoryStore` runs it first; every backend runs the same list.
//!
//! ```ignore
//! async fn store() -> MyStore { MyStore::open_fresh().await }
//! cachet_core::conformance_tests!(store);
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::chart::Window;
use crate::enums::*;
use crate::error::{Entity, StoreError};
use crate::ids::*;
use crate::markdown;
use crate::model::*;
use crate::secret::{NewToken, PasswordHash, TokenHash};
use crate::store::*;
use crate::validate::Email;

/// Expands to one `#[tokio::test]` per conformance case. The argument is a path to an
/// `async fn() -> impl Store` that returns a fresh, empty, migrated store.
#[macro_export]
macro_rules! conformance_tests {
    ($factory:path) => {
        $crate::conformance_tests!(@with_cases (@cases $factory;));
    };
    // For backends with something to set up and clean up (a server database, a temporary
    // folder): `$factory` returns `None` when the backend is not configured
    // (the case is skipped) or `Some((store, guard))`; `$teardown(guard)` runs after the case,
    // whether it passed or not (to drop the case's own schema or database).
    ($factory:path, teardown = $teardown:path) => {
        $crate::conformance_tests!(@with_cases (@server $factory, $teardown;));
    };
    // The one case list, handed to the arm named by the prefix.
    (@with_cases ($($prefix:tt)*)) => {
        $crate::conformance_tests!($($prefix)*
            component_roundtrip, component_tags_found_by_slug, component_update_partial,
            component_missing_is_not_found, component_delete_removes_subscriptions,
            component_filters, component_sort_then_page, group_crud_and_ungroup, group_filters,
            incident_create_sets_component_status, incident_create_unknown_component_writes_nothing,
            incident_update_partial_meta_and_impact, incident_update_unknown_component_changes_nothing,
            incident_delete_is_soft, incident_list_filters_sort_page, update_create_sets_incident_status,
            update_children_belong_to_parent, update_default_order_newest_first, template_crud_and_slug_conflict,
            schedule_crud_components_atomic, metric_crud_keeps_decimals, metric_delete_removes_points,
            point_record_dedups_within_window, point_children_belong_to_parent, point_default_order_newest_first,
            metric_sums_are_bucketed, subscriber_create_idempotent_with_subscriptions,
            subscriber_concurrent_same_email, subscriber_delete_and_subscription_delete,
            users_unique_and_updates, tokens_find_revoke_touch, tokens_keep_abilities_and_expiry,
            two_factor_steps_and_recovery_codes, bootstrap_admin_only_once,
            bootstrap_admin_ignores_other_roles,
            settings_roundtrip, settings_claim_keeps_the_first_value, audit_append_and_filter, overview_contents,
            concurrent_incidents_keep_state_consistent, list_pages_and_clamps,
            failed_multi_row_write_leaves_nothing, text_compares_exactly,
            nulls_sort_as_the_smallest_value, long_messages_sort_on_every_byte,
            subscribing_while_a_component_is_deleted, reads_see_one_snapshot,
            sessions_roundtrip_touch_delete, sessions_replace_is_single_use,
            sessions_end_by_user_and_purge,
            status_changes_record_every_source, status_changes_skip_writes_that_keep_the_status,
            status_change_and_incident_are_one_write, status_history_goes_with_its_component,
            status_changes_form_a_chain_under_concurrency,
            maintenance_sets_and_restores_statuses, maintenance_runs_once_under_concurrency,
            outbox_reaches_verified_subscribers_of_the_component,
            outbox_component_notice_only_on_a_real_change,
            outbox_verification_goes_to_the_new_subscriber_only,
            outbox_is_written_with_the_change_or_not_at_all, outbox_claims_lease_and_outcomes,
            outbox_concurrent_claims_never_overlap, outbox_a_lease_holds_to_its_fraction_of_a_second,
            subscriber_verifies_once,
            subscriber_subscriptions_are_replaced, outbox_standalone_notice_to_one_subscriber,
            webhooks_roundtrip, outbox_fans_out_to_webhooks_that_want_the_event,
            outbox_notices_of_incident_changes_and_subscriber_steps,
            schedule_announcements_move_once
        );
    };
    (@cases $factory:path; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let store = $factory().await;
                $crate::testing::$case(::std::sync::Arc::new(store)).await;
            }
        )*
    };
    (@server $factory:path, $teardown:path; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some((store, guard)) = $factory().await else {
                    return;
                };
                let shared: $crate::testing::Shared = ::std::sync::Arc::new(store);
                let outcome = ::tokio::spawn($crate::testing::$case(shared)).await;
                $teardown(guard).await;
                if let Err(e) = outcome {
                    match e.try_into_panic() {
                        Ok(panic) => ::std::panic::resume_unwind(panic),
                        Err(e) => panic!("conformance case did not finish: {e}"),
                    }
                }
            }
        )*
    };
}

/// A store handle as the cases take it.
pub type Shared = Arc<dyn Store>;

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).expect("test timestamps are in range")
}

fn msg(s: &str) -> Message {
    Message {
        source: s.into(),
        html: markdown::render(s).expect("test messages render"),
    }
}

fn q<S, F: Default>() -> ListQuery<S, F> {
    ListQuery::new(1, 100, F::default())
}

fn filtered<S, F>(filter: F) -> ListQuery<S, F> {
    ListQuery::new(1, 100, filter)
}

fn new_component(name: &str) -> NewComponent {
    NewComponent {
        name: name.into(),
        description: "d".into(),
        link: String::new(),
        status: ComponentStatus::Operational,
        order: 0,
        group_id: None,
        enabled: true,
        meta: None,
        tags: vec![],
    }
}

fn tag(name: &str) -> Tag {
    Tag {
        slug: crate::validate::slugify(name),
        name: name.into(),
    }
}

fn new_incident(
    name: &str,
    component: Option<ComponentId>,
    impact: Option<ComponentStatus>,
) -> NewIncident {
    NewIncident {
        notice: None,
        user_id: None,
        component_id: component,
        impact,
        name: name.into(),
        status: IncidentStatus::Investigating,
        visible: Visibility::Public,
        stickied: false,
        message: msg("It is **down**."),
        occurred_at: t(1_700_000_000),
        meta: BTreeMap::new(),
    }
}

fn new_metric(name: &str) -> NewMetric {
    NewMetric {
        name: name.into(),
        suffix: "ms".into(),
        description: String::new(),
        default_value: 0.0,
        calc_type: CalcType::Sum,
        display_chart: true,
        places: 2,
        default_view: MetricView::Today,
        threshold: 5,
        order: 0,
        visible: MetricVisibility::Public,
    }
}

fn new_subscriber(email: &str, to: SubscribeTo) -> NewSubscriber {
    NewSubscriber {
        notice: None,
        email: sealed(email),
        verify_code_hash: TokenHash::of(email),
        verified_at: None,
        global: matches!(to, SubscribeTo::AllComponents),
        subscribe_to: to,
    }
}

/// A stand-in for the service's sealing: the store only stores and compares the two parts.
fn sealed(email: &str) -> SealedEmail {
    let normal = Email::parse(email).expect("test emails are valid");
    SealedEmail {
        lookup: TokenHash::of(normal.as_str()).to_hex(),
        sealed: format!("v1.test:{}", normal.as_str()),
    }
}

fn new_user(name: &str, role: Role) -> NewUser {
    NewUser {
        username: name.into(),
        email: Email::parse(&format!("{name}@example.com")).expect("valid"),
        // A fixed PHC string: hashing is not what the store is tested for.
        password_hash: PasswordHash::from_phc(format!(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ${name}"
        )),
        role,
    }
}

/// The token a first-run setup creates (its user id is filled in by the store).
fn setup_token() -> NewApiToken {
    let nt = NewToken::generate();
    NewApiToken {
        user_id: UserId(0),
        name: "setup".into(),
        prefix: nt.prefix,
        hash: nt.hash,
        abilities: None,
        expires_at: None,
    }
}

fn assert_not_found<T: std::fmt::Debug>(r: Result<T, StoreError>, entity: Entity) {
    match r {
        Err(StoreError::NotFound(e)) => assert_eq!(e, entity, "wrong entity in NotFound"),
        other => panic!("expected NotFound({entity:?}), got {other:?}"),
    }
}

fn ids<T>(page: &Page<T>, id: impl Fn(&T) -> i64) -> Vec<i64> {
    page.items.iter().map(id).collect()
}

/// Create returns every field as given, a new id, tags sorted by slug, created == updated.
pub async fn component_roundtrip(s: Shared) {
    let mut n = new_component("API");
    n.description = "Public API".into();
    n.link = "https://example.com/api".into();
    n.status = ComponentStatus::PartialOutage;
    n.order = 3;
    n.group_id = Some(GroupId(12345));
    n.enabled = false;
    n.meta = Some(json!({"uuid": "abc", "n": [1, 2]}));
    n.tags = vec![tag("Zeta"), tag("Alpha")];
    let c = s.create_component(n).await.unwrap();
    assert_eq!(c.name, "API");
    assert_eq!(c.description, "Public API");
    assert_eq!(c.link, "https://example.com/api");
    assert_eq!(c.status, ComponentStatus::PartialOutage);
    assert_eq!(c.order, 3);
    assert_eq!(c.group_id, Some(GroupId(12345)));
    assert!(!c.enabled);
    assert_eq!(c.meta, Some(json!({"uuid": "abc", "n": [1, 2]})));
    assert_eq!(c.tags, vec![tag("Alpha"), tag("Zeta")]);
    assert_eq!(c.created_at, c.updated_at);
    assert!((Utc::now() - c.created_at).num_seconds().abs() < 60);
    let got = s.get_component(c.id).await.unwrap();
    assert_eq!(got, c);
    let other = s.create_component(new_component("Web")).await.unwrap();
    assert_ne!(other.id, c.id);
    assert_eq!(other.meta, None);
}

/// Each tag is found by slug or created: a second spelling reuses the first name.
pub async fn component_tags_found_by_slug(s: Shared) {
    let mut a = new_component("a");
    a.tags = vec![tag("Foo Bar")];
    s.create_component(a).await.unwrap();
    let mut b = new_component("b");
    b.tags = vec![
        Tag {
            slug: "foo-bar".into(),
            name: "foo bar".into(),
        },
        tag("Baz"),
    ];
    let b = s.create_component(b).await.unwrap();
    assert_eq!(
        b.tags,
        vec![
            tag("Baz"),
            Tag {
                slug: "foo-bar".into(),
                name: "Foo Bar".into()
            }
        ]
    );
}

/// Only `Some` fields change; tags replace the set; updated_at refreshed.
pub async fn component_update_partial(s: Shared) {
    let mut n = new_component("API");
    n.tags = vec![tag("one"), tag("two")];
    n.meta = Some(json!({"a": 1}));
    let c = s.create_component(n).await.unwrap();
    let u = s
        .update_component(
            c.id,
            ComponentChanges {
                status: Some(ComponentStatus::MajorOutage),
                tags: Some(vec![tag("three")]),
                ..Default::default()
            },
            StatusSource::Api,
        )
        .await
        .unwrap();
    assert_eq!(u.status, ComponentStatus::MajorOutage);
    assert_eq!(u.name, "API");
    assert_eq!(u.description, "d");
    assert_eq!(u.meta, Some(json!({"a": 1})));
    assert_eq!(u.tags, vec![tag("three")]);
    assert!(u.updated_at >= c.updated_at);
    assert_eq!(u.created_at, c.created_at);
    let u2 = s
        .update_component(
            c.id,
            ComponentChanges {
                group_id: Some(Some(GroupId(4))),
                meta: Some(None),
                enabled: Some(false),
                ..Default::default()
            },
            StatusSource::Api,
        )
        .await
        .unwrap();
    assert_eq!(
        (u2.group_id, u2.meta.clone(), u2.enabled),
        (Some(GroupId(4)), None, false)
    );
    assert_eq!(u2.tags, vec![tag("three")]);
    let u3 = s
        .update_component(
            c.id,
            ComponentChanges {
                group_id: Some(None),
                ..Default::default()
            },
            StatusSource::Api,
        )
        .await
        .unwrap();
    assert_eq!(u3.group_id, None);
    assert_eq!(s.get_component(c.id).await.unwrap(), u3);
}

/// Missing or deleted components are NotFound, and an update of one changes nothing.
pub async fn component_missing_is_not_found(s: Shared) {
    assert_not_found(
        s.get_component(ComponentId(999_999)).await,
        Entity::Component,
    );
    assert_not_found(
        s.update_component(
            ComponentId(999_999),
            ComponentChanges::default(),
            StatusSource::Api,
        )
        .await,
        Entity::Component,
    );
    assert_not_found(
        s.delete_component(ComponentId(999_999)).await,
        Entity::Component,
    );
    let c = s.create_component(new_component("x")).await.unwrap();
    s.delete_component(c.id).await.unwrap();
    assert_not_found(s.get_component(c.id).await, Entity::Component);
    assert_not_found(
        s.update_component(
            c.id,
            ComponentChanges {
                name: Some("y".into()),
                ..Default::default()
            },
            StatusSource::Api,
        )
        .await,
        Entity::Component,
    );
    assert_not_found(s.delete_component(c.id).await, Entity::Component);
}

/// Deleting a component removes every subscription to it (and only those).
pub async fn component_delete_removes_subscriptions(s: Shared) {
    let a = s.create_component(new_component("a")).await.unwrap();
    let b = s.create_component(new_component("b")).await.unwrap();
    let (sub, _) = s
        .create_subscriber(new_subscriber(
            "x@example.com",
            SubscribeTo::Components(vec![a.id, b.id]),
        ))
        .await
        .unwrap();
    assert_eq!(sub.subscriptions.len(), 2);
    s.delete_component(a.id).await.unwrap();
    let sub = s.get_subscriber(sub.id).await.unwrap();
    assert_eq!(
        sub.subscriptions
            .iter()
            .map(|x| x.component_id)
            .collect::<Vec<_>>(),
        vec![b.id]
    );
    let listed = s.list_components(&q()).await.unwrap();
    assert_eq!(ids(&listed, |c| c.id.get()), vec![b.id.get()]);
    assert_eq!(listed.total, 1);
}

/// Filters are AND-ed; tags match ANY slug; public_only keeps enabled components outside
/// private groups.
pub async fn component_filters(s: Shared) {
    let public = s
        .create_group(NewGroup {
            name: "pub".into(),
            order: 0,
            collapsed: GroupCollapsed::Expanded,
            visible: Visibility::Public,
        })
        .await
        .unwrap();
    let private = s
        .create_group(NewGroup {
            name: "priv".into(),
            order: 0,
            collapsed: GroupCollapsed::Expanded,
            visible: Visibility::Private,
        })
        .await
        .unwrap();
    let mk = |name: &str,
              group: Option<GroupId>,
              status: ComponentStatus,
              enabled: bool,
              tags: Vec<Tag>| {
        let mut n = new_component(name);
        n.group_id = group;
        n.status = status;
        n.enabled = enabled;
        n.tags = tags;
        n.order = i64::from(u8::try_from(name.len()).unwrap_or(0));
        n
    };
    let a = s
        .create_component(mk(
            "a",
            Some(public.id),
            ComponentStatus::Operational,
            true,
            vec![tag("x")],
        ))
        .await
        .unwrap();
    let b = s
        .create_component(mk(
            "bb",
            Some(private.id),
            ComponentStatus::MajorOutage,
            true,
            vec![tag("y")],
        ))
        .await
        .unwrap();
    let c = s
        .create_component(mk(
            "ccc",
            None,
            ComponentStatus::MajorOutage,
            false,
            vec![tag("x"), tag("z")],
        ))
        .await
        .unwrap();
    let d = s
        .create_component(mk("dddd", None, ComponentStatus::Operational, true, vec![]))
        .await
        .unwrap();
    let list = |f: ComponentFilter| {
        let s = s.clone();
        async move {
            ids(&s.list_components(&filtered(f)).await.unwrap(), |c| {
                c.id.get()
            })
        }
    };
    assert_eq!(
        list(ComponentFilter::default()).await,
        vec![a.id.get(), b.id.get(), c.id.get(), d.id.get()]
    );
    assert_eq!(
        list(ComponentFilter {
            status: Some(ComponentStatus::MajorOutage),
            ..Default::default()
        })
        .await,
        vec![b.id.get(), c.id.get()]
    );
    assert_eq!(
        list(ComponentFilter {
            status: Some(ComponentStatus::MajorOutage),
            enabled: Some(true),
            ..Default::default()
        })
        .await,
        vec![b.id.get()]
    );
    assert_eq!(
        list(ComponentFilter {
            name: Some("ccc".into()),
            ..Default::default()
        })
        .await,
        vec![c.id.get()]
    );
    assert_eq!(
        list(ComponentFilter {
            id: Some(d.id),
            ..Default::default()
        })
        .await,
        vec![d.id.get()]
    );
    assert_eq!(
        list(ComponentFilter {
            order: Some(2),
            ..Default::default()
        })
        .await,
        vec![b.id.get()]
    );
    assert_eq!(
        list(ComponentFilter {
            group_id: Some(Some(public.id)),
            ..Default::default()
        })
        .await,
        vec![a.id.get()]
    );
    assert_eq!(
        list(ComponentFilter {
            group_id: Some(None),
            ..Default::default()
        })
        .await,
        vec![c.id.get(), d.id.get()]
    );
    assert_eq!(
        list(ComponentFilter {
            tags: vec!["x".into(), "y".into()],
            ..Default::default()
        })
        .await,
        vec![a.id.get(), b.id.get(), c.id.get()]
    );
    assert_eq!(
        list(ComponentFilter {
            tags: vec!["nope".into()],
            ..Default::default()
        })
        .await,
        Vec::<i64>::new()
    );
    assert_eq!(
        list(ComponentFilter {
            public_only: true,
            ..Default::default()
        })
        .await,
        vec![a.id.get(), d.id.get()]
    );
    let page = s
        .list_components(&filtered(ComponentFilter {
            public_only: true,
            ..Default::default()
        }))
        .await
        .unwrap();
    assert_eq!(page.total, 2);
}

/// Sorting happens before paging, ties are broken by id, and total counts every match.
pub async fn component_sort_then_page(s: Shared) {
    let mut created = Vec::new();
    for (name, order) in [("d", 2), ("b", 1), ("a", 2), ("c", 1), ("e", 0)] {
        let mut n = new_component(name);
        n.order = order;
        created.push(s.create_component(n).await.unwrap().id.get());
    }
    let mut qq: ListQuery<ComponentSort, ComponentFilter> =
        ListQuery::new(1, 2, ComponentFilter::default());
    qq.sort = Some((ComponentSort::Name, Order::Asc));
    let p1 = s.list_components(&qq).await.unwrap();
    assert_eq!(
        p1.items.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        vec!["a", "b"]
    );
    assert_eq!(p1.total, 5);
    qq.page = 3;
    let p3 = s.list_components(&qq).await.unwrap();
    assert_eq!(
        p3.items.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        vec!["e"]
    );
    qq.page = 4;
    assert!(s.list_components(&qq).await.unwrap().items.is_empty());
    let names = component_names(&s, ComponentSort::Order, Order::Desc).await;
    // order 2: d (created first), a; desc ties by id desc -> a, d; then order 1: c, b; then e.
    assert_eq!(names, vec!["a", "d", "c", "b", "e"]);
    let default = s.list_components(&q()).await.unwrap();
    assert_eq!(ids(&default, |c| c.id.get()), created);
}

/// Groups: create, get, partial update, delete ungroups members; missing is NotFound.
pub async fn group_crud_and_ungroup(s: Shared) {
    let g = s
        .create_group(NewGroup {
            name: "Infra".into(),
            order: 2,
            collapsed: GroupCollapsed::CollapsedUnlessIssue,
            visible: Visibility::Public,
        })
        .await
        .unwrap();
    assert_eq!(
        (g.name.as_str(), g.order, g.collapsed, g.visible),
        (
            "Infra",
            2,
            GroupCollapsed::CollapsedUnlessIssue,
            Visibility::Public
        )
    );
    assert_eq!(s.get_group(g.id).await.unwrap(), g);
    let u = s
        .update_group(
            g.id,
            GroupChanges {
                name: Some("Core".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (u.name.as_str(), u.order, u.visible),
        ("Core", 2, Visibility::Public)
    );
    let mut n = new_component("member");
    n.group_id = Some(g.id);
    let c = s.create_component(n).await.unwrap();
    s.delete_group(g.id).await.unwrap();
    assert_not_found(s.get_group(g.id).await, Entity::Group);
    assert_eq!(s.get_component(c.id).await.unwrap().group_id, None);
    assert_not_found(s.delete_group(g.id).await, Entity::Group);
    assert_not_found(
        s.update_group(g.id, GroupChanges::default()).await,
        Entity::Group,
    );
}

/// Group filters are AND-ed; public_only keeps public groups; sort honours direction.
pub async fn group_filters(s: Shared) {
    let a = s
        .create_group(NewGroup {
            name: "a".into(),
            order: 1,
            collapsed: GroupCollapsed::Expanded,
            visible: Visibility::Public,
        })
        .await
        .unwrap();
    let b = s
        .create_group(NewGroup {
            name: "b".into(),
            order: 2,
            collapsed: GroupCollapsed::Collapsed,
            visible: Visibility::Private,
        })
        .await
        .unwrap();
    let list = |f: GroupFilter| {
        let s = s.clone();
        async move { ids(&s.list_groups(&filtered(f)).await.unwrap(), |g| g.id.get()) }
    };
    assert_eq!(
        list(GroupFilter::default()).await,
        vec![a.id.get(), b.id.get()]
    );
    assert_eq!(
        list(GroupFilter {
            public_only: true,
            ..Default::default()
        })
        .await,
        vec![a.id.get()]
    );
    assert_eq!(
        list(GroupFilter {
            collapsed: Some(GroupCollapsed::Collapsed),
            ..Default::default()
        })
        .await,
        vec![b.id.get()]
    );
    assert_eq!(
        list(GroupFilter {
            name: Some("a".into()),
            order: Some(2),
            ..Default::default()
        })
        .await,
        Vec::<i64>::new()
    );
    let mut qq: ListQuery<GroupSort, GroupFilter> = q();
    qq.sort = Some((GroupSort::Order, Order::Desc));
    assert_eq!(
        ids(&s.list_groups(&qq).await.unwrap(), |g| g.id.get()),
        vec![b.id.get(), a.id.get()]
    );
}

/// Creating an incident with a component and impact sets the component's status.
pub async fn incident_create_sets_component_status(s: Shared) {
    let c = s.create_component(new_component("db")).await.unwrap();
    let mut n = new_incident("outage", Some(c.id), Some(ComponentStatus::MajorOutage));
    n.meta.insert("ticket".into(), json!("T-1"));
    n.stickied = true;
    n.visible = Visibility::Private;
    n.user_id = None;
    let i = s.create_incident(n).await.unwrap();
    assert_eq!(i.component_id, Some(c.id));
    assert_eq!(i.impact, Some(ComponentStatus::MajorOutage));
    assert_eq!(i.name, "outage");
    assert_eq!(i.message, "It is **down**.");
    assert_eq!(
        i.message_html.as_str(),
        "<p>It is <strong>down</strong>.</p>\n"
    );
    assert_eq!(i.occurred_at, t(1_700_000_000));
    assert_eq!(i.meta.get("ticket"), Some(&json!("T-1")));
    assert!(i.stickied);
    assert_eq!(i.visible, Visibility::Private);
    assert!(i.updates.is_empty());
    assert_eq!(
        s.get_component(c.id).await.unwrap().status,
        ComponentStatus::MajorOutage
    );
    assert_eq!(s.get_incident(i.id).await.unwrap(), i);
    // Without an impact the component is untouched.
    s.create_incident(new_incident("note", Some(c.id), None))
        .await
        .unwrap();
    assert_eq!(
        s.get_component(c.id).await.unwrap().status,
        ComponentStatus::MajorOutage
    );
}

/// An unknown component fails with NotFound(Component) and writes nothing.
pub async fn incident_create_unknown_component_writes_nothing(s: Shared) {
    let r = s
        .create_incident(new_incident(
            "x",
            Some(ComponentId(424_242)),
            Some(ComponentStatus::MajorOutage),
        ))
        .await;
    assert_not_found(r, Entity::Component);
    assert_eq!(s.list_incidents(&q()).await.unwrap().total, 0);
    let c = s.create_component(new_component("gone")).await.unwrap();
    s.delete_component(c.id).await.unwrap();
    assert_not_found(
        s.create_incident(new_incident("x", Some(c.id), None)).await,
        Entity::Component,
    );
    assert_eq!(s.list_incidents(&q()).await.unwrap().total, 0);
}

/// Only `Some` fields change; meta keys are upserted or deleted one by one; impact sets the
/// linked component's status.
pub async fn incident_update_partial_meta_and_impact(s: Shared) {
    let c = s.create_component(new_component("api")).await.unwrap();
    let c2 = s.create_component(new_component("web")).await.unwrap();
    let mut n = new_incident("slow", Some(c.id), Some(ComponentStatus::PerformanceIssues));
    n.meta.insert("a".into(), json!("1"));
    n.meta.insert("b".into(), json!(2));
    let i = s.create_incident(n).await.unwrap();
    let mut meta = BTreeMap::new();
    meta.insert("a".to_string(), None);
    meta.insert("c".to_string(), Some(json!({"k": true})));
    let u = s
        .update_incident(
            i.id,
            IncidentChanges {
                status: Some(IncidentStatus::Identified),
                meta,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(u.status, IncidentStatus::Identified);
    assert_eq!(u.name, "slow");
    assert_eq!(u.message, i.message);
    assert_eq!(
        u.meta.keys().cloned().collect::<Vec<_>>(),
        vec!["b".to_string(), "c".to_string()]
    );
    assert_eq!(u.meta["c"], json!({"k": true}));
    let u = s
        .update_incident(
            i.id,
            IncidentChanges {
                component_id: Some(Some(c2.id)),
                impact: Some(ComponentStatus::PartialOutage),
                message: Some(msg("new")),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(u.component_id, Some(c2.id));
    assert_eq!(u.message, "new");
    assert_eq!(
        s.get_component(c2.id).await.unwrap().status,
        ComponentStatus::PartialOutage
    );
    assert_eq!(
        s.get_component(c.id).await.unwrap().status,
        ComponentStatus::PerformanceIssues
    );
    assert_eq!(s.get_incident(i.id).await.unwrap(), u);
    assert_not_found(
        s.update_incident(IncidentId(999_999), IncidentChanges::default())
            .await,
        Entity::Incident,
    );
}

/// An update naming a missing component fails and changes nothing.
pub async fn incident_update_unknown_component_changes_nothing(s: Shared) {
    let i = s
        .create_incident(new_incident("x", None, None))
        .await
        .unwrap();
    let r = s
        .update_incident(
            i.id,
            IncidentChanges {
                name: Some("changed".into()),
                component_id: Some(Some(ComponentId(777_777))),
                impact: Some(ComponentStatus::MajorOutage),
                ..Default::default()
            },
        )
        .await;
    assert_not_found(r, Entity::Component);
    assert_eq!(s.get_incident(i.id).await.unwrap(), i);
}

/// Deleted incidents are not found or listed.
pub async fn incident_delete_is_soft(s: Shared) {
    let i = s
        .create_incident(new_incident("x", None, None))
        .await
        .unwrap();
    let keep = s
        .create_incident(new_incident("y", None, None))
        .await
        .unwrap();
    s.delete_incident(i.id).await.unwrap();
    assert_not_found(s.get_incident(i.id).await, Entity::Incident);
    assert_not_found(s.delete_incident(i.id).await, Entity::Incident);
    let listed = s.list_incidents(&q()).await.unwrap();
    assert_eq!(ids(&listed, |i| i.id.get()), vec![keep.id.get()]);
    assert_not_found(s.list_updates(i.id, &q()).await, Entity::Incident);
}

/// Incident filters AND-ed; public_only; sort then page; updates embedded newest first.
pub async fn incident_list_filters_sort_page(s: Shared) {
    let c = s.create_component(new_component("c")).await.unwrap();
    let mut a = new_incident("b-first", Some(c.id), None);
    a.user_id = None;
    let a = s.create_incident(a).await.unwrap();
    let mut b = new_incident("a-second", None, None);
    b.visible = Visibility::Private;
    b.status = IncidentStatus::Fixed;
    b.occurred_at = t(1_600_000_000);
    let b = s.create_incident(b).await.unwrap();
    let u1 = s
        .create_update(
            a.id,
            NewIncidentUpdate {
                notice: None,
                status: IncidentStatus::Identified,
                message: msg("one"),
                user_id: None,
            },
        )
        .await
        .unwrap();
    let u2 = s
        .create_update(
            a.id,
            NewIncidentUpdate {
                notice: None,
                status: IncidentStatus::Watching,
                message: msg("two"),
                user_id: None,
            },
        )
        .await
        .unwrap();
    let list = |f: IncidentFilter| {
        let s = s.clone();
        async move {
            ids(&s.list_incidents(&filtered(f)).await.unwrap(), |i| {
                i.id.get()
            })
        }
    };
    assert_eq!(
        list(IncidentFilter {
            public_only: true,
            ..Default::default()
        })
        .await,
        vec![a.id.get()]
    );
    assert_eq!(
        list(IncidentFilter {
            component_id: Some(Some(c.id)),
            ..Default::default()
        })
        .await,
        vec![a.id.get()]
    );
    assert_eq!(
        list(IncidentFilter {
            component_id: Some(None),
            ..Default::default()
        })
        .await,
        vec![b.id.get()]
    );
    assert_eq!(
        list(IncidentFilter {
            status: Some(IncidentStatus::Fixed),
            ..Default::default()
        })
        .await,
        vec![b.id.get()]
    );
    assert_eq!(
        list(IncidentFilter {
            status: Some(IncidentStatus::Fixed),
            visible: Some(Visibility::Public),
            ..Default::default()
        })
        .await,
        Vec::<i64>::new()
    );
    let mut qq: ListQuery<IncidentSort, IncidentFilter> =
        ListQuery::new(1, 1, IncidentFilter::default());
    qq.sort = Some((IncidentSort::Name, Order::Asc));
    let page = s.list_incidents(&qq).await.unwrap();
    assert_eq!(
        (ids(&page, |i| i.id.get()), page.total),
        (vec![b.id.get()], 2)
    );
    qq.sort = Some((IncidentSort::OccurredAt, Order::Desc));
    assert_eq!(
        ids(&s.list_incidents(&qq).await.unwrap(), |i| i.id.get()),
        vec![a.id.get()]
    );
    let full = s.get_incident(a.id).await.unwrap();
    assert_eq!(
        full.updates.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![u2.id, u1.id]
    );
    assert_eq!(full.status, IncidentStatus::Watching);
    let listed = s
        .list_incidents(&filtered(IncidentFilter {
            id: Some(a.id),
            ..Default::default()
        }))
        .await
        .unwrap();
    assert_eq!(listed.items[0].updates.len(), 2);
}

/// Posting an update sets the incident's status; a missing incident writes nothing.
pub async fn update_create_sets_incident_status(s: Shared) {
    let i = s
        .create_incident(new_incident("x", None, None))
        .await
        .unwrap();
    let u = s
        .create_update(
            i.id,
            NewIncidentUpdate {
                notice: None,
                status: IncidentStatus::Fixed,
                message: msg("done"),
                user_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (u.incident_id, u.status, u.message.as_str()),
        (i.id, IncidentStatus::Fixed, "done")
    );
    assert_eq!(u.message_html.as_str(), "<p>done</p>\n");
    assert_eq!(
        s.get_incident(i.id).await.unwrap().status,
        IncidentStatus::Fixed
    );
    assert_eq!(s.get_update(i.id, u.id).await.unwrap(), u);
    assert_not_found(
        s.create_update(
            IncidentId(999_999),
            NewIncidentUpdate {
                notice: None,
                status: IncidentStatus::Fixed,
                message: msg("x"),
                user_id: None,
            },
        )
        .await,
        Entity::Incident,
    );
    assert_eq!(s.list_updates(i.id, &q()).await.unwrap().total, 1);
}

/// An update of another incident is NotFound for get, update and delete.
pub async fn update_children_belong_to_parent(s: Shared) {
    let a = s
        .create_incident(new_incident("a", None, None))
        .await
        .unwrap();
    let b = s
        .create_incident(new_incident("b", None, None))
        .await
        .unwrap();
    let u = s
        .create_update(
            a.id,
            NewIncidentUpdate {
                notice: None,
                status: IncidentStatus::Identified,
                message: msg("m"),
                user_id: None,
            },
        )
        .await
        .unwrap();
    assert_not_found(s.get_update(b.id, u.id).await, Entity::IncidentUpdate);
    assert_not_found(
        s.update_update(
            b.id,
            u.id,
            IncidentUpdateChanges {
                status: Some(IncidentStatus::Fixed),
                ..Default::default()
            },
        )
        .await,
        Entity::IncidentUpdate,
    );
    assert_not_found(s.delete_update(b.id, u.id).await, Entity::IncidentUpdate);
    assert_not_found(
        s.get_update(IncidentId(999_999), u.id).await,
        Entity::Incident,
    );
    assert_eq!(s.get_update(a.id, u.id).await.unwrap(), u);
    let changed = s
        .update_update(
            a.id,
            u.id,
            IncidentUpdateChanges {
                message: Some(msg("edited")),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (changed.message.as_str(), changed.status),
        ("edited", IncidentStatus::Identified)
    );
    s.delete_update(a.id, u.id).await.unwrap();
    assert_not_found(s.get_update(a.id, u.id).await, Entity::IncidentUpdate);
}

/// Updates list newest first by default, and by a whitelisted column when asked.
pub async fn update_default_order_newest_first(s: Shared) {
    let i = s
        .create_incident(new_incident("x", None, None))
        .await
        .unwrap();
    let mut made = Vec::new();
    for st in [
        IncidentStatus::Watching,
        IncidentStatus::Identified,
        IncidentStatus::Fixed,
    ] {
        made.push(
            s.create_update(
                i.id,
                NewIncidentUpdate {
                    notice: None,
                    status: st,
                    message: msg("m"),
                    user_id: None,
                },
            )
            .await
            .unwrap()
            .id
            .get(),
        );
    }
    let page = s.list_updates(i.id, &q()).await.unwrap();
    assert_eq!(
        ids(&page, |u| u.id.get()),
        made.iter().rev().copied().collect::<Vec<_>>()
    );
    let mut qq: ListQuery<UpdateSort, ()> = q();
    qq.sort = Some((UpdateSort::Status, Order::Asc));
    let statuses: Vec<IncidentStatus> = s
        .list_updates(i.id, &qq)
        .await
        .unwrap()
        .items
        .iter()
        .map(|u| u.status)
        .collect();
    assert_eq!(
        statuses,
        vec![
            IncidentStatus::Identified,
            IncidentStatus::Watching,
            IncidentStatus::Fixed
        ]
    );
}

/// Templates: slug lookups, a taken slug is a Conflict, missing is NotFound.
pub async fn template_crud_and_slug_conflict(s: Shared) {
    let tpl = s
        .create_template(NewTemplate {
            name: "Outage".into(),
            slug: "outage".into(),
            template: "{{ name }}".into(),
        })
        .await
        .unwrap();
    assert_eq!(s.get_template(tpl.id).await.unwrap(), tpl);
    assert_eq!(s.get_template_by_slug("outage").await.unwrap(), tpl);
    assert_not_found(s.get_template_by_slug("nope").await, Entity::Template);
    let dup = s
        .create_template(NewTemplate {
            name: "Other".into(),
            slug: "outage".into(),
            template: String::new(),
        })
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    let other = s
        .create_template(NewTemplate {
            name: "Other".into(),
            slug: "other".into(),
            template: String::new(),
        })
        .await
        .unwrap();
    let clash = s
        .update_template(
            other.id,
            TemplateChanges {
                slug: Some("outage".into()),
                ..Default::default()
            },
        )
        .await;
    assert!(matches!(clash, Err(StoreError::Conflict(_))), "{clash:?}");
    let u = s
        .update_template(
            other.id,
            TemplateChanges {
                template: Some("x".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((u.slug.as_str(), u.template.as_str()), ("other", "x"));
    assert_eq!(s.list_templates(&q()).await.unwrap().total, 2);
    s.delete_template(tpl.id).await.unwrap();
    assert_not_found(s.get_template(tpl.id).await, Entity::Template);
    assert_not_found(s.delete_template(tpl.id).await, Entity::Template);
}

/// Schedules keep their components; a missing component writes nothing; update replaces
/// the set; delete is soft.
pub async fn schedule_crud_components_atomic(s: Shared) {
    let c = s.create_component(new_component("db")).await.unwrap();
    let c2 = s.create_component(new_component("web")).await.unwrap();
    let n = NewSchedule {
        notice: None,
        name: "Upgrade".into(),
        message: Some(msg("Upgrading *db*")),
        status: ScheduleStatus::Upcoming,
        scheduled_at: t(1_800_000_000),
        completed_at: Some(t(1_800_003_600)),
        components: vec![(c.id, ComponentStatus::PartialOutage)],
    };
    let sc = s.create_schedule(n.clone()).await.unwrap();
    assert_eq!(
        (sc.name.as_str(), sc.message.as_deref(), sc.status),
        ("Upgrade", Some("Upgrading *db*"), ScheduleStatus::Upcoming)
    );
    assert_eq!(
        sc.message_html.as_ref().map(|h| h.as_str()),
        Some("<p>Upgrading <em>db</em></p>\n")
    );
    assert_eq!(
        (sc.scheduled_at, sc.completed_at),
        (t(1_800_000_000), Some(t(1_800_003_600)))
    );
    assert_eq!(
        sc.components
            .iter()
            .map(|r| (r.component_id, r.component_status, r.schedule_id))
            .collect::<Vec<_>>(),
        vec![(c.id, ComponentStatus::PartialOutage, sc.id)]
    );
    assert_eq!(s.get_schedule(sc.id).await.unwrap(), sc);
    let mut bad = n.clone();
    bad.components
        .push((ComponentId(999_999), ComponentStatus::Unknown));
    assert_not_found(s.create_schedule(bad).await, Entity::Component);
    assert_eq!(s.list_schedules(&q()).await.unwrap().total, 1);
    let bad_update = s
        .update_schedule(
            sc.id,
            ScheduleChanges {
                name: Some("zzz".into()),
                components: Some(vec![(ComponentId(999_999), ComponentStatus::Unknown)]),
                ..Default::default()
            },
        )
        .await;
    assert_not_found(bad_update, Entity::Component);
    assert_eq!(s.get_schedule(sc.id).await.unwrap().name, "Upgrade");
    let u = s
        .update_schedule(
            sc.id,
            ScheduleChanges {
                status: Some(ScheduleStatus::InProgress),
                completed_at: Some(None),
                message: Some(None),
                components: Some(vec![(c2.id, ComponentStatus::MajorOutage)]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (u.status, u.completed_at, u.message.clone(), u.name.as_str()),
        (ScheduleStatus::InProgress, None, None, "Upgrade")
    );
    assert_eq!(
        u.components
            .iter()
            .map(|r| r.component_id)
            .collect::<Vec<_>>(),
        vec![c2.id]
    );
    s.delete_schedule(sc.id).await.unwrap();
    assert_not_found(s.get_schedule(sc.id).await, Entity::Schedule);
    assert_eq!(s.list_schedules(&q()).await.unwrap().total, 0);
    assert_not_found(s.delete_schedule(sc.id).await, Entity::Schedule);
}

/// Metrics keep decimals; partial updates; visibility filter.
pub async fn metric_crud_keeps_decimals(s: Shared) {
    let mut n = new_metric("latency");
    n.default_value = 1.125;
    n.visible = MetricVisibility::Hidden;
    n.calc_type = CalcType::Average;
    let m = s.create_metric(n).await.unwrap();
    assert_eq!(
        (
            m.default_value,
            m.calc_type,
            m.visible,
            m.places,
            m.threshold
        ),
        (1.125, CalcType::Average, MetricVisibility::Hidden, 2, 5)
    );
    assert_eq!(s.get_metric(m.id).await.unwrap(), m);
    let u = s
        .update_metric(
            m.id,
            MetricChanges {
                default_view: Some(MetricView::Week),
                threshold: Some(10),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            u.default_view,
            u.threshold,
            u.name.as_str(),
            u.default_value
        ),
        (MetricView::Week, 10, "latency", 1.125)
    );
    let public = s.create_metric(new_metric("rps")).await.unwrap();
    let listed = s
        .list_metrics(&filtered(MetricFilter { public_only: true }))
        .await
        .unwrap();
    assert_eq!(ids(&listed, |m| m.id.get()), vec![public.id.get()]);
    assert_eq!(s.list_metrics(&q()).await.unwrap().total, 2);
    assert_not_found(
        s.update_metric(MetricId(999_999), MetricChanges::default())
            .await,
        Entity::Metric,
    );
}

/// Deleting a metric deletes its points.
pub async fn metric_delete_removes_points(s: Shared) {
    let m = s.create_metric(new_metric("m")).await.unwrap();
    let p = s
        .record_point(
            m.id,
            NewPoint {
                value: 1.5,
                created_at: t(1_700_000_000),
                dedup_since: t(1_700_000_000),
            },
        )
        .await
        .unwrap();
    s.delete_metric(m.id).await.unwrap();
    assert_not_found(s.get_metric(m.id).await, Entity::Metric);
    assert!(s.get_point(m.id, p.id).await.is_err());
    assert_not_found(s.list_points(m.id, &q()).await, Entity::Metric);
    assert_not_found(s.delete_metric(m.id).await, Entity::Metric);
}

/// Equal values since dedup_since bump the counter; others add points; decimals exact.
pub async fn point_record_dedups_within_window(s: Shared) {
    let m = s.create_metric(new_metric("m")).await.unwrap();
    let base = t(1_700_000_000);
    let p1 = s
        .record_point(
            m.id,
            NewPoint {
                value: 0.1 + 0.2,
                created_at: base,
                dedup_since: base - Duration::minutes(4),
            },
        )
        .await
        .unwrap();
    assert_eq!((p1.value, p1.counter, p1.created_at), (0.1 + 0.2, 1, base));
    let again = s
        .record_point(
            m.id,
            NewPoint {
                value: 0.1 + 0.2,
                created_at: base + Duration::seconds(30),
                dedup_since: base - Duration::minutes(4),
            },
        )
        .await
        .unwrap();
    assert_eq!((again.id, again.counter), (p1.id, 2));
    let other = s
        .record_point(
            m.id,
            NewPoint {
                value: 7.0,
                created_at: base,
                dedup_since: base,
            },
        )
        .await
        .unwrap();
    assert_ne!(other.id, p1.id);
    let later = s
        .record_point(
            m.id,
            NewPoint {
                value: 0.1 + 0.2,
                created_at: base + Duration::minutes(10),
                dedup_since: base + Duration::minutes(6),
            },
        )
        .await
        .unwrap();
    assert_ne!(later.id, p1.id);
    assert_eq!(later.counter, 1);
    assert_eq!(s.list_points(m.id, &q()).await.unwrap().total, 3);
    assert_not_found(
        s.record_point(
            MetricId(999_999),
            NewPoint {
                value: 1.0,
                created_at: base,
                dedup_since: base,
            },
        )
        .await,
        Entity::Metric,
    );
}

/// A point of another metric is NotFound for get, update and delete.
pub async fn point_children_belong_to_parent(s: Shared) {
    let a = s.create_metric(new_metric("a")).await.unwrap();
    let b = s.create_metric(new_metric("b")).await.unwrap();
    let p = s
        .record_point(
            a.id,
            NewPoint {
                value: 2.0,
                created_at: t(1_700_000_000),
                dedup_since: t(1_700_000_000),
            },
        )
        .await
        .unwrap();
    assert_not_found(s.get_point(b.id, p.id).await, Entity::MetricPoint);
    assert_not_found(
        s.update_point(
            b.id,
            p.id,
            PointChanges {
                value: Some(9.0),
                created_at: None,
            },
        )
        .await,
        Entity::MetricPoint,
    );
    assert_not_found(s.delete_point(b.id, p.id).await, Entity::MetricPoint);
    assert_eq!(s.get_point(a.id, p.id).await.unwrap().value, 2.0);
    let u = s
        .update_point(
            a.id,
            p.id,
            PointChanges {
                value: Some(999.0),
                created_at: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (u.value, u.created_at, u.metric_id),
        (999.0, t(1_700_000_000), a.id)
    );
    s.delete_point(a.id, p.id).await.unwrap();
    assert_not_found(s.get_point(a.id, p.id).await, Entity::MetricPoint);
}

/// Points list newest first by default.
pub async fn point_default_order_newest_first(s: Shared) {
    let m = s.create_metric(new_metric("m")).await.unwrap();
    let mut made = Vec::new();
    for (v, at) in [(1.0, 13), (2.0, 16), (3.0, 14)] {
        let at = t(1_700_000_000 + at * 3600);
        made.push((
            at,
            s.record_point(
                m.id,
                NewPoint {
                    value: v,
                    created_at: at,
                    dedup_since: at,
                },
            )
            .await
            .unwrap()
            .id
            .get(),
        ));
    }
    let page = s.list_points(m.id, &q()).await.unwrap();
    assert_eq!(
        page.items.iter().map(|p| p.value).collect::<Vec<_>>(),
        vec![2.0, 3.0, 1.0]
    );
}

/// metric_sums groups points into floor((t + offset) / bucket) with sums and counts.
pub async fn metric_sums_are_bucketed(s: Shared) {
    let m = s.create_metric(new_metric("m")).await.unwrap();
    let other = s.create_metric(new_metric("other")).await.unwrap();
    let base = 1_700_002_800; // a multiple of 3600 minus 1800
    for (v, off) in [(1.5, 0), (2.5, 60), (4.0, 1800), (10.0, 7200)] {
        let at = t(base + off);
        s.record_point(
            m.id,
            NewPoint {
                value: v,
                created_at: at,
                dedup_since: at,
            },
        )
        .await
        .unwrap();
    }
    // Bump the counter of the 1.5 point.
    s.record_point(
        m.id,
        NewPoint {
            value: 1.5,
            created_at: t(base),
            dedup_since: t(base),
        },
    )
    .await
    .unwrap();
    s.record_point(
        other.id,
        NewPoint {
            value: 100.0,
            created_at: t(base),
            dedup_since: t(base),
        },
    )
    .await
    .unwrap();
    let w = Window {
        from: t(base),
        to: t(base + 7200),
        bucket_secs: 3600,
        offset_secs: 1800,
    };
    let sums = s.metric_sums(m.id, w).await.unwrap();
    let b0 = (base + 1800).div_euclid(3600);
    assert_eq!(
        sums,
        vec![
            BucketSums {
                bucket: b0,
                sum_product: 1.5 * 2.0 + 2.5,
                sum_value: 4.0,
                points: 2
            },
            BucketSums {
                bucket: b0 + 1,
                sum_product: 4.0,
                sum_value: 4.0,
                points: 1
            },
        ]
    );
    let none = s
        .metric_sums(
            m.id,
            Window {
                from: t(0),
                to: t(10),
                bucket_secs: 60,
                offset_secs: 0,
            },
        )
        .await
        .unwrap();
    assert!(none.is_empty());
}

/// Creating an existing email returns it unchanged; subscriptions follow SubscribeTo.
pub async fn subscriber_create_idempotent_with_subscriptions(s: Shared) {
    let a = s.create_component(new_component("a")).await.unwrap();
    let mut disabled = new_component("b");
    disabled.enabled = false;
    let b = s.create_component(disabled).await.unwrap();
    let c = s.create_component(new_component("c")).await.unwrap();
    let (sub, created) = s
        .create_subscriber(new_subscriber(
            "Ann@Example.com",
            SubscribeTo::Components(vec![c.id, ComponentId(999_999), a.id]),
        ))
        .await
        .unwrap();
    assert!(created);
    assert_eq!(sub.email, sealed("Ann@example.com"));
    // Found by the lookup digest alone.
    assert_eq!(
        s.find_subscriber(&sealed("Ann@EXAMPLE.com").lookup)
            .await
            .unwrap()
            .id,
        sub.id
    );
    assert_not_found(
        s.find_subscriber(&sealed("bob@example.com").lookup).await,
        Entity::Subscriber,
    );
    // Re-sealing keeps the lookup unique.
    let (other, _) = s
        .create_subscriber(new_subscriber(
            "other@example.com",
            SubscribeTo::AllComponents,
        ))
        .await
        .unwrap();
    assert!(matches!(
        s.seal_subscriber_email(other.id, sealed("Ann@example.com"))
            .await,
        Err(StoreError::Conflict(_))
    ));
    let resealed = SealedEmail {
        lookup: sealed("other@example.com").lookup,
        sealed: "v1.again".into(),
    };
    s.seal_subscriber_email(other.id, resealed.clone())
        .await
        .unwrap();
    assert_eq!(s.get_subscriber(other.id).await.unwrap().email, resealed);
    assert_not_found(
        s.seal_subscriber_email(SubscriberId(999_999), sealed("x@example.com"))
            .await,
        Entity::Subscriber,
    );
    assert!(s.unsealed_subscriber_emails().await.unwrap().is_empty());
    s.delete_subscriber(other.id, None).await.unwrap();
    assert_eq!(
        sub.subscriptions
            .iter()
            .map(|x| x.component_id)
            .collect::<Vec<_>>(),
        vec![c.id, a.id]
    );
    assert!(sub.subscriptions.iter().all(|x| x.subscriber_id == sub.id));
    assert!(!sub.global);
    assert_eq!(sub.verified_at, None);
    let (again, created) = s
        .create_subscriber(new_subscriber(
            "Ann@example.com",
            SubscribeTo::AllComponents,
        ))
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again, sub);
    let mut verified = new_subscriber("bob@example.com", SubscribeTo::AllComponents);
    verified.verified_at = Some(t(1_700_000_000));
    let (all, _) = s.create_subscriber(verified).await.unwrap();
    assert!(all.global);
    assert_eq!(all.verified_at, Some(t(1_700_000_000)));
    let mut subs: Vec<ComponentId> = all.subscriptions.iter().map(|x| x.component_id).collect();
    subs.sort();
    assert_eq!(subs, vec![a.id, b.id, c.id]);
    assert_eq!(s.get_subscriber(all.id).await.unwrap(), all);
    assert_eq!(s.list_subscribers(&q()).await.unwrap().total, 2);
}

/// 20 concurrent creations of one email give exactly one subscriber and no error.
pub async fn subscriber_concurrent_same_email(s: Shared) {
    let c = s.create_component(new_component("a")).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.create_subscriber(new_subscriber(
                "race@example.com",
                SubscribeTo::Components(vec![c.id]),
            ))
            .await
        }));
    }
    let mut created = 0;
    let mut seen = Vec::new();
    for task in tasks {
        let (sub, was_created) = task
            .await
            .expect("task")
            .expect("no error under concurrency");
        created += usize::from(was_created);
        seen.push(sub.id);
    }
    assert_eq!(created, 1);
    assert!(seen.iter().all(|id| *id == seen[0]));
    let all = s.list_subscribers(&q()).await.unwrap();
    assert_eq!(all.total, 1);
    assert_eq!(all.items[0].subscriptions.len(), 1);
}

/// Deleting a subscriber removes it with its subscriptions; one subscription can go alone.
pub async fn subscriber_delete_and_subscription_delete(s: Shared) {
    let a = s.create_component(new_component("a")).await.unwrap();
    let b = s.create_component(new_component("b")).await.unwrap();
    let (sub, _) = s
        .create_subscriber(new_subscriber(
            "x@example.com",
            SubscribeTo::Components(vec![a.id, b.id]),
        ))
        .await
        .unwrap();
    s.delete_subscription(sub.subscriptions[0].id)
        .await
        .unwrap();
    assert_eq!(
        s.get_subscriber(sub.id)
            .await
            .unwrap()
            .subscriptions
            .iter()
            .map(|x| x.component_id)
            .collect::<Vec<_>>(),
        vec![b.id]
    );
    assert_not_found(
        s.delete_subscription(sub.subscriptions[0].id).await,
        Entity::Subscription,
    );
    s.delete_subscriber(sub.id, None).await.unwrap();
    assert_not_found(s.get_subscriber(sub.id).await, Entity::Subscriber);
    assert_not_found(s.delete_subscriber(sub.id, None).await, Entity::Subscriber);
    assert_not_found(
        s.delete_subscription(sub.subscriptions[1].id).await,
        Entity::Subscription,
    );
    // The email is free again.
    let (_, created) = s
        .create_subscriber(new_subscriber("x@example.com", SubscribeTo::AllComponents))
        .await
        .unwrap();
    assert!(created);
}

/// Usernames and emails are unique (Conflict); find by either; partial updates.
pub async fn users_unique_and_updates(s: Shared) {
    let u = s.create_user(new_user("ann", Role::Manager)).await.unwrap();
    assert_eq!(
        (u.username.as_str(), u.role, u.active),
        ("ann", Role::Manager, true)
    );
    assert_eq!(
        u.password_hash,
        new_user("ann", Role::Manager).password_hash
    );
    assert!(matches!(
        s.create_user(new_user("ann", Role::Viewer)).await,
        Err(StoreError::Conflict(_))
    ));
    let mut same_email = new_user("other", Role::Viewer);
    same_email.email = u.email.clone();
    assert!(matches!(
        s.create_user(same_email).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.find_user("ann").await.unwrap(), u);
    assert_eq!(s.find_user("ann@example.com").await.unwrap(), u);
    assert_not_found(s.find_user("nobody").await, Entity::User);
    assert_eq!(s.get_user(u.id).await.unwrap(), u);
    let bob = s.create_user(new_user("bob", Role::Viewer)).await.unwrap();
    let changed = s
        .update_user(
            u.id,
            UserChanges {
                role: Some(Role::Admin),
                active: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (changed.role, changed.active, changed.username.as_str()),
        (Role::Admin, false, "ann")
    );
    let clash = s
        .update_user(
            u.id,
            UserChanges {
                email: Some(bob.email.clone()),
                ..Default::default()
            },
        )
        .await;
    assert!(matches!(clash, Err(StoreError::Conflict(_))), "{clash:?}");
    assert_not_found(
        s.update_user(UserId(999_999), UserChanges::default()).await,
        Entity::User,
    );
    assert_eq!(s.list_users(&q()).await.unwrap().total, 2);
}

/// Tokens are found by digest with their owner, revoked, touched.
pub async fn tokens_find_revoke_touch(s: Shared) {
    let u = s
        .create_user(new_user("ann", Role::Reporter))
        .await
        .unwrap();
    let nt = NewToken::generate();
    let tok = s
        .create_token(NewApiToken {
            user_id: u.id,
            name: "bot".into(),
            prefix: nt.prefix.clone(),
            hash: nt.hash,
            abilities: None,
            expires_at: None,
        })
        .await
        .unwrap();
    assert_eq!(
        (
            tok.user_id,
            tok.name.as_str(),
            tok.prefix.as_str(),
            tok.last_used_at,
            tok.revoked_at
        ),
        (u.id, "bot", nt.prefix.as_str(), None, None)
    );
    let (found, owner) = s.find_token(&TokenHash::of(&nt.secret)).await.unwrap();
    assert_eq!((found.id, owner.id), (tok.id, u.id));
    assert_not_found(s.find_token(&TokenHash::of("wrong")).await, Entity::Token);
    s.touch_token(tok.id, t(1_700_000_000)).await.unwrap();
    assert_eq!(
        s.find_token(&nt.hash).await.unwrap().0.last_used_at,
        Some(t(1_700_000_000))
    );
    let revoked = s.revoke_token(tok.id).await.unwrap();
    let first = revoked.revoked_at.expect("revoked");
    assert_eq!(
        s.revoke_token(tok.id).await.unwrap().revoked_at,
        Some(first)
    );
    assert_eq!(
        s.find_token(&nt.hash).await.unwrap().0.revoked_at,
        Some(first)
    );
    assert_not_found(s.revoke_token(TokenId(999_999)).await, Entity::Token);
    assert_not_found(s.touch_token(TokenId(999_999), t(0)).await, Entity::Token);
    let other = NewToken::generate();
    assert_not_found(
        s.create_token(NewApiToken {
            user_id: UserId(999_999),
            name: "x".into(),
            prefix: other.prefix,
            hash: other.hash,
            abilities: None,
            expires_at: None,
        })
        .await,
        Entity::User,
    );
    assert_eq!(s.list_tokens(Some(u.id)).await.unwrap().len(), 1);
    assert_eq!(s.list_tokens(Some(UserId(999_999))).await.unwrap().len(), 0);
}

/// A token's abilities and expiry are stored and read back exactly.
pub async fn tokens_keep_abilities_and_expiry(s: Shared) {
    use crate::policy::{Abilities, Ability};
    let u = s
        .create_user(new_user("bot", Role::Reporter))
        .await
        .unwrap();
    let narrow = Abilities::of(&[Ability::MetricPointsWrite, Ability::ComponentStatusWrite]);
    let nt = NewToken::generate();
    let tok = s
        .create_token(NewApiToken {
            user_id: u.id,
            name: "monitor".into(),
            prefix: nt.prefix.clone(),
            hash: nt.hash,
            abilities: Some(narrow),
            expires_at: Some(t(4_000_000_000)),
        })
        .await
        .unwrap();
    assert_eq!(tok.abilities, Some(narrow));
    assert_eq!(tok.expires_at, Some(t(4_000_000_000)));
    let (found, _) = s.find_token(&nt.hash).await.unwrap();
    assert_eq!(
        (found.abilities, found.expires_at),
        (Some(narrow), Some(t(4_000_000_000)))
    );
    // The empty set is not "no restriction".
    let none = NewToken::generate();
    let empty = s
        .create_token(NewApiToken {
            user_id: u.id,
            name: "read-only".into(),
            prefix: none.prefix.clone(),
            hash: none.hash,
            abilities: Some(Abilities::none()),
            expires_at: None,
        })
        .await
        .unwrap();
    assert_eq!(empty.abilities, Some(Abilities::none()));
    assert_eq!(
        s.find_token(&none.hash).await.unwrap().0.abilities,
        Some(Abilities::none())
    );
    let listed: Vec<_> = s
        .list_tokens(Some(u.id))
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.name, t.abilities, t.expires_at))
        .collect();
    assert_eq!(
        listed,
        [
            ("monitor".to_string(), Some(narrow), Some(t(4_000_000_000))),
            ("read-only".to_string(), Some(Abilities::none()), None)
        ]
    );
}

/// How many of the racing tasks answered `true` (each must finish without an error).
async fn successes(tasks: Vec<tokio::task::JoinHandle<Result<bool, StoreError>>>) -> usize {
    let mut n = 0;
    for task in tasks {
        if task.await.expect("task").expect("no error") {
            n += 1;
        }
    }
    n
}

/// 2FA enrollment, step claims and recovery codes: each transition is conditional and
/// atomic, so a replayed step or a used code never counts twice, even concurrently.
pub async fn two_factor_steps_and_recovery_codes(s: Shared) {
    let u = s.create_user(new_user("ann", Role::Admin)).await.unwrap();
    assert_eq!(u.totp, TotpState::default());
    assert!(!s.claim_totp_step(u.id, 5).await.unwrap(), "2FA is off");
    let pending = s.begin_totp(u.id, "sealed-1".into()).await.unwrap();
    assert_eq!(pending.totp.sealed_secret.as_deref(), Some("sealed-1"));
    assert!(!pending.has_2fa());
    // Restarted enrollment replaces the secret; enabling with the old one is a conflict.
    s.begin_totp(u.id, "sealed-2".into()).await.unwrap();
    let codes: Vec<TokenHash> = (0..10)
        .map(|i| TokenHash::of(&format!("code{i}")))
        .collect();
    assert!(matches!(
        s.enable_totp(u.id, "sealed-1".into(), 100, codes.clone())
            .await,
        Err(StoreError::Conflict(_))
    ));
    let on = s
        .enable_totp(u.id, "sealed-2".into(), 100, codes.clone())
        .await
        .unwrap();
    assert!(on.has_2fa());
    assert_eq!(on.totp.last_step, Some(100));
    assert_eq!(on.totp.sealed_secret.as_deref(), Some("sealed-2"));
    assert!(matches!(
        s.begin_totp(u.id, "sealed-3".into()).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.enable_totp(u.id, "sealed-2".into(), 101, codes.clone())
            .await,
        Err(StoreError::Conflict(_))
    ));
    // Steps only move forward.
    assert!(!s.claim_totp_step(u.id, 100).await.unwrap());
    assert!(!s.claim_totp_step(u.id, 99).await.unwrap());
    assert!(s.claim_totp_step(u.id, 101).await.unwrap());
    assert_eq!(s.get_user(u.id).await.unwrap().totp.last_step, Some(101));
    // Eight sign-ins racing with the same code: exactly one wins.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(
            async move { s.claim_totp_step(u.id, 102).await },
        ));
    }
    assert_eq!(successes(tasks).await, 1);
    // Recovery codes: each works once, concurrently too; another user's code does not.
    assert_eq!(s.recovery_codes_left(u.id).await.unwrap(), 10);
    assert!(s
        .use_recovery_code(u.id, &codes[0], t(1_700_000_000))
        .await
        .unwrap());
    assert!(!s
        .use_recovery_code(u.id, &codes[0], t(1_700_000_001))
        .await
        .unwrap());
    assert!(!s
        .use_recovery_code(u.id, &TokenHash::of("nope"), t(0))
        .await
        .unwrap());
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let s = s.clone();
        let code = codes[1];
        tasks.push(tokio::spawn(async move {
            s.use_recovery_code(u.id, &code, t(1_700_000_002)).await
        }));
    }
    assert_eq!(successes(tasks).await, 1);
    assert_eq!(s.recovery_codes_left(u.id).await.unwrap(), 8);
    let other = s.create_user(new_user("bob", Role::Viewer)).await.unwrap();
    assert!(!s
        .use_recovery_code(other.id, &codes[2], t(0))
        .await
        .unwrap());
    assert_eq!(s.recovery_codes_left(other.id).await.unwrap(), 0);
    // Off: secret, step and codes are gone; on again with new codes only.
    let off = s.disable_totp(u.id).await.unwrap();
    assert_eq!(off.totp, TotpState::default());
    assert_eq!(s.recovery_codes_left(u.id).await.unwrap(), 0);
    assert!(!s.use_recovery_code(u.id, &codes[3], t(0)).await.unwrap());
    s.begin_totp(u.id, "sealed-4".into()).await.unwrap();
    let fresh = vec![TokenHash::of("fresh")];
    let again = s
        .enable_totp(u.id, "sealed-4".into(), 7, fresh)
        .await
        .unwrap();
    assert_eq!(
        again.totp.last_step,
        Some(7),
        "a new secret starts its steps over"
    );
    assert_eq!(s.recovery_codes_left(u.id).await.unwrap(), 1);
    assert_not_found(
        s.begin_totp(UserId(999_999), "x".into()).await,
        Entity::User,
    );
    assert_not_found(s.disable_totp(UserId(999_999)).await, Entity::User);
    assert_not_found(s.claim_totp_step(UserId(999_999), 1).await, Entity::User);
}

fn new_session(secret: &str, user: UserId, pending: Option<&str>, at: i64) -> NewSession {
    NewSession {
        hash: TokenHash::of(secret),
        user_id: user,
        pending: pending.map(str::to_string),
        created_at: t(at),
        last_seen_at: t(at),
    }
}

/// Sessions keep what they were given, are touched forward only, and end once.
pub async fn sessions_roundtrip_touch_delete(s: Shared) {
    let u = s.create_user(new_user("ann", Role::Manager)).await.unwrap();
    let pending = "v1:00ff:ünï 😀 'x' \" \\ end ";
    let made = s
        .create_session(new_session("one", u.id, Some(pending), 1_700_000_000))
        .await
        .unwrap();
    let got = s.get_session(&TokenHash::of("one")).await.unwrap();
    assert_eq!(made, got);
    assert_eq!(
        (
            got.user_id,
            got.pending.as_deref(),
            got.created_at,
            got.last_seen_at
        ),
        (u.id, Some(pending), t(1_700_000_000), t(1_700_000_000))
    );
    assert!(got.hash == TokenHash::of("one"));
    s.touch_session(&TokenHash::of("one"), t(1_700_000_100))
        .await
        .unwrap();
    // Never backwards (two requests finishing out of order).
    s.touch_session(&TokenHash::of("one"), t(1_700_000_050))
        .await
        .unwrap();
    assert_eq!(
        s.get_session(&TokenHash::of("one"))
            .await
            .unwrap()
            .last_seen_at,
        t(1_700_000_100)
    );
    s.touch_session(&TokenHash::of("gone"), t(1)).await.unwrap();
    let dup = s
        .create_session(new_session("one", u.id, None, 1_700_000_000))
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    assert_not_found(
        s.create_session(new_session("two", UserId(999_999), None, 1))
            .await,
        Entity::User,
    );
    assert!(s.delete_session(&TokenHash::of("one")).await.unwrap());
    assert!(!s.delete_session(&TokenHash::of("one")).await.unwrap());
    assert_not_found(s.get_session(&TokenHash::of("one")).await, Entity::Session);
    assert_not_found(s.get_session(&TokenHash::of("two")).await, Entity::Session);
    // A replaced session keeps its start and has its own last activity.
    let kept = s
        .create_session(NewSession {
            last_seen_at: t(1_700_000_200),
            ..new_session("three", u.id, None, 1_700_000_100)
        })
        .await
        .unwrap();
    assert_eq!(
        (kept.created_at, kept.last_seen_at),
        (t(1_700_000_100), t(1_700_000_200))
    );
}

/// A session is replaced at most once, even by racing replacements, and a failed
/// replacement keeps the old one.
pub async fn sessions_replace_is_single_use(s: Shared) {
    let u = s.create_user(new_user("ann", Role::Manager)).await.unwrap();
    s.create_session(new_session("old", u.id, Some("v1:aa:ann"), 1_700_000_000))
        .await
        .unwrap();
    let racers: Vec<_> = (0..10)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                s.replace_session(
                    &TokenHash::of("old"),
                    new_session(&format!("new{i}"), u.id, None, 1_700_000_010),
                )
                .await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for (i, r) in racers.into_iter().enumerate() {
        if let Some(made) = r.await.unwrap().unwrap() {
            assert_eq!((made.pending, made.created_at), (None, t(1_700_000_010)));
            winners.push(i);
        }
    }
    assert_eq!(winners.len(), 1, "winners {winners:?}");
    assert_not_found(s.get_session(&TokenHash::of("old")).await, Entity::Session);
    for i in 0..10 {
        let found = s.get_session(&TokenHash::of(&format!("new{i}"))).await;
        assert_eq!(found.is_ok(), winners == [i], "new{i}: {found:?}");
    }
    let winner = format!("new{}", winners[0]);
    // Unknown user: nothing written, the old session kept.
    assert_not_found(
        s.replace_session(
            &TokenHash::of(&winner),
            new_session("x", UserId(999_999), None, 1),
        )
        .await,
        Entity::User,
    );
    s.get_session(&TokenHash::of(&winner)).await.unwrap();
    s.create_session(new_session("taken", u.id, None, 1))
        .await
        .unwrap();
    let clash = s
        .replace_session(&TokenHash::of(&winner), new_session("taken", u.id, None, 2))
        .await;
    assert!(matches!(clash, Err(StoreError::Conflict(_))), "{clash:?}");
    s.get_session(&TokenHash::of(&winner)).await.unwrap();
    assert_eq!(
        s.replace_session(&TokenHash::of("never"), new_session("y", u.id, None, 1))
            .await
            .unwrap(),
        None
    );
    assert_not_found(s.get_session(&TokenHash::of("y")).await, Entity::Session);
}

/// Signing a user out everywhere keeps the named session and other users'; purging
/// removes exactly the sessions past either limit.
pub async fn sessions_end_by_user_and_purge(s: Shared) {
    let ann = s.create_user(new_user("ann", Role::Manager)).await.unwrap();
    let bob = s.create_user(new_user("bob", Role::Viewer)).await.unwrap();
    for (secret, user) in [
        ("a1", ann.id),
        ("a2", ann.id),
        ("a3", ann.id),
        ("b1", bob.id),
    ] {
        s.create_session(new_session(secret, user, None, 1_000))
            .await
            .unwrap();
    }
    let ended = s
        .delete_user_sessions(ann.id, Some(&TokenHash::of("a1")))
        .await
        .unwrap();
    assert_eq!(ended, 2);
    let alive = |name: &'static str| {
        let s = s.clone();
        async move { s.get_session(&TokenHash::of(name)).await.is_ok() }
    };
    assert_eq!(
        (
            alive("a1").await,
            alive("a2").await,
            alive("a3").await,
            alive("b1").await
        ),
        (true, false, false, true)
    );
    assert_eq!(s.delete_user_sessions(ann.id, None).await.unwrap(), 1);
    assert_eq!(s.delete_user_sessions(ann.id, None).await.unwrap(), 0);

    s.create_session(new_session("created-early", ann.id, None, 999))
        .await
        .unwrap();
    s.create_session(new_session("on-the-limit", ann.id, None, 1_000))
        .await
        .unwrap();
    s.create_session(new_session("seen-late", ann.id, None, 2_000))
        .await
        .unwrap();
    s.touch_session(&TokenHash::of("seen-late"), t(5_000))
        .await
        .unwrap();
    s.touch_session(&TokenHash::of("on-the-limit"), t(4_000))
        .await
        .unwrap();
    // Created before 1000, or last seen before 4000 (b1: seen at 1000).
    assert_eq!(s.purge_sessions(t(1_000), t(4_000)).await.unwrap(), 2);
    assert_eq!(
        (
            alive("created-early").await,
            alive("on-the-limit").await,
            alive("seen-late").await,
            alive("b1").await
        ),
        (false, true, true, false)
    );
}

/// Text is compared and sorted by its exact characters on every engine: trailing spaces and
/// tabs count (MySQL's PAD SPACE collations ignore trailing spaces).
pub async fn text_compares_exactly(s: Shared) {
    for name in ["x", "x ", "x\t", "a\tb", "a "] {
        s.create_component(new_component(name)).await.unwrap();
    }
    for (wanted, expect) in [("x", 1), ("x ", 1), ("x  ", 0), ("x\t", 1)] {
        let found = s
            .list_components(&filtered(ComponentFilter {
                name: Some(wanted.into()),
                ..Default::default()
            }))
            .await
            .unwrap();
        assert_eq!(found.total, expect, "name filter {wanted:?}");
        assert!(found.items.iter().all(|c| c.name == wanted));
    }
    let names = component_names(&s, ComponentSort::Name, Order::Asc).await;
    // Code point order: TAB (9) < SPACE (32) < letters.
    assert_eq!(names, ["a\tb", "a ", "x", "x\t", "x "]);
    s.create_user(new_user("bob", Role::Viewer)).await.unwrap();
    let mut spaced = new_user("bob2", Role::Viewer);
    spaced.username = "bob ".into();
    let spaced = s.create_user(spaced).await;
    assert_eq!(spaced.map(|u| u.username).ok().as_deref(), Some("bob "));
    assert_eq!(s.find_user("bob").await.unwrap().username, "bob");
    assert_eq!(s.find_user("bob ").await.unwrap().username, "bob ");
    let template = |slug: &str| NewTemplate {
        name: "t".into(),
        slug: slug.into(),
        template: "x".into(),
    };
    s.create_template(template("s")).await.unwrap();
    s.create_template(template("s ")).await.unwrap();
    assert_eq!(s.get_template_by_slug("s ").await.unwrap().slug, "s ");
    s.save_settings(vec![("k".into(), "1".into()), ("k ".into(), "2".into())])
        .await
        .unwrap();
    let settings = s.load_settings().await.unwrap();
    assert!(settings.contains(&("k".into(), "1".into())), "{settings:?}");
    assert!(
        settings.contains(&("k ".into(), "2".into())),
        "{settings:?}"
    );
}

/// The names of every component, sorted by `sort` in `order`.
async fn component_names(s: &Shared, sort: ComponentSort, order: Order) -> Vec<String> {
    let mut query: ListQuery<ComponentSort, ComponentFilter> = q();
    query.sort = Some((sort, order));
    s.list_components(&query)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|c| c.name)
        .collect()
}

/// The names of every incident, sorted by `sort` in `order`.
async fn incident_names(s: &Shared, sort: IncidentSort, order: Order) -> Vec<String> {
    let mut query: ListQuery<IncidentSort, IncidentFilter> = q();
    query.sort = Some((sort, order));
    s.list_incidents(&query)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|i| i.name)
        .collect()
}

/// NULL sorts as the smallest value on every engine (PostgreSQL would put it last).
pub async fn nulls_sort_as_the_smallest_value(s: Shared) {
    let u = s
        .create_user(new_user("ann", Role::Reporter))
        .await
        .unwrap();
    let mut by_user = new_incident("by user", None, None);
    by_user.user_id = Some(u.id);
    s.create_incident(by_user).await.unwrap();
    s.create_incident(new_incident("anonymous", None, None))
        .await
        .unwrap();
    for (order, expect) in [
        (Order::Asc, ["anonymous", "by user"]),
        (Order::Desc, ["by user", "anonymous"]),
    ] {
        let names = incident_names(&s, IncidentSort::UserId, order).await;
        assert_eq!(names, expect, "{order:?}");
    }
    let schedule = |name: &str, completed: Option<DateTime<Utc>>| NewSchedule {
        notice: None,
        name: name.into(),
        message: None,
        status: ScheduleStatus::Upcoming,
        scheduled_at: t(1_700_000_000),
        completed_at: completed,
        components: Vec::new(),
    };
    s.create_schedule(schedule("done", Some(t(1_700_003_600))))
        .await
        .unwrap();
    s.create_schedule(schedule("open", None)).await.unwrap();
    let mut query: ListQuery<ScheduleSort, ()> = q();
    query.sort = Some((ScheduleSort::CompletedAt, Order::Asc));
    let names: Vec<String> = s
        .list_schedules(&query)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|x| x.name)
        .collect();
    assert_eq!(names, ["open", "done"]);
}

/// Sorting by a long message looks at all of it (MySQL looks at 1024 bytes by default).
pub async fn long_messages_sort_on_every_byte(s: Shared) {
    let long = |last: &str| msg(&format!("{}{last}", "x".repeat(1500)));
    let mut one = new_incident("one", None, None);
    one.message = long("b");
    s.create_incident(one).await.unwrap();
    let mut two = new_incident("two", None, None);
    two.message = long("a");
    s.create_incident(two).await.unwrap();
    let names = incident_names(&s, IncidentSort::Message, Order::Asc).await;
    assert_eq!(names, ["two", "one"]);
}

/// A subscription and the deletion of its component, at the same time: afterwards no
/// subscription points at the deleted component, whichever ran first.
pub async fn subscribing_while_a_component_is_deleted(s: Shared) {
    for round in 0..30 {
        let c = s
            .create_component(new_component(&format!("c{round}")))
            .await
            .unwrap();
        let to = if round % 2 == 0 {
            SubscribeTo::Components(vec![c.id])
        } else {
            SubscribeTo::AllComponents
        };
        let subscribe = {
            let s = s.clone();
            let sub = new_subscriber(&format!("s{round}@example.com"), to);
            tokio::spawn(async move { s.create_subscriber(sub).await })
        };
        let delete = {
            let s = s.clone();
            tokio::spawn(async move { s.delete_component(c.id).await })
        };
        let (sub, _) = subscribe.await.expect("task").expect("subscribed");
        delete.await.expect("task").expect("deleted");
        let stored = s.get_subscriber(sub.id).await.unwrap();
        assert!(
            stored.subscriptions.iter().all(|x| x.component_id != c.id),
            "round {round}: a subscription to deleted component {} survived",
            c.id
        );
    }
}

/// A read sees one moment: while incidents that set a component's status are created, the
/// overview never shows an incident without its effect on the component, or the reverse.
pub async fn reads_see_one_snapshot(s: Shared) {
    let c = s.create_component(new_component("api")).await.unwrap();
    let writer = {
        let s = s.clone();
        tokio::spawn(async move {
            for n in 0..20 {
                let status = if n % 2 == 0 {
                    ComponentStatus::MajorOutage
                } else {
                    ComponentStatus::Operational
                };
                s.create_incident(new_incident(&format!("i{n}"), Some(c.id), Some(status)))
                    .await
                    .expect("incident");
            }
        })
    };
    let mut torn = Vec::new();
    while !writer.is_finished() {
        let o = s.overview(t(0)).await.unwrap();
        let incidents = o.incidents.len();
        let status = o.components.iter().find(|x| x.id == c.id).map(|x| x.status);
        // After n incidents the component shows the impact of the n-th.
        let expect = match incidents {
            0 => ComponentStatus::Operational,
            n if n % 2 == 1 => ComponentStatus::MajorOutage,
            _ => ComponentStatus::Operational,
        };
        if status != Some(expect) {
            torn.push((incidents, status));
        }
        tokio::task::yield_now().await;
    }
    writer.await.expect("writer");
    assert!(torn.is_empty(), "torn overviews: {torn:?}");
}

/// bootstrap_admin creates the first admin and token only once, even concurrently.
pub async fn bootstrap_admin_only_once(s: Shared) {
    let mut tasks = Vec::new();
    for n in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.bootstrap_admin(new_user(&format!("admin{n}"), Role::Admin), setup_token())
                .await
        }));
    }
    let mut made = Vec::new();
    for task in tasks {
        if let Some(pair) = task.await.expect("task").expect("no error") {
            made.push(pair);
        }
    }
    assert_eq!(made.len(), 1);
    let (user, token) = &made[0];
    assert_eq!(user.role, Role::Admin);
    assert_eq!(token.user_id, user.id);
    assert_eq!(s.list_users(&q()).await.unwrap().total, 1);
    assert_eq!(s.find_token(&token.hash).await.unwrap().1.id, user.id);
}

/// Users of other roles do not count as "set up": the first admin is still created.
pub async fn bootstrap_admin_ignores_other_roles(s: Shared) {
    let setup = |name: &str| {
        let s = s.clone();
        let name = name.to_owned();
        async move {
            s.bootstrap_admin(new_user(&name, Role::Admin), setup_token())
                .await
        }
    };
    s.create_user(new_user("early-viewer", Role::Viewer))
        .await
        .unwrap();
    let (admin, _) = setup("admin").await.unwrap().expect("admin created");
    assert_eq!(admin.role, Role::Admin);
    assert!(setup("admin2").await.unwrap().is_none());
    assert_eq!(s.list_users(&q()).await.unwrap().total, 2);
}

/// Settings round-trip sorted by key; saving upserts and keeps other keys.
pub async fn settings_roundtrip(s: Shared) {
    assert!(s.load_settings().await.unwrap().is_empty());
    s.save_settings(vec![("b".into(), "2".into()), ("a".into(), "1".into())])
        .await
        .unwrap();
    s.save_settings(vec![("b".into(), "3".into())])
        .await
        .unwrap();
    assert_eq!(
        s.load_settings().await.unwrap(),
        vec![
            ("a".to_string(), "1".to_string()),
            ("b".to_string(), "3".to_string())
        ]
    );
}

/// A claimed setting keeps its first value: later claims return it, other keys are kept,
/// and of concurrent claims exactly one value is stored, which all of them return.
pub async fn settings_claim_keeps_the_first_value(s: Shared) {
    s.save_settings(vec![("app_name".into(), "Status".into())])
        .await
        .unwrap();
    let first = s.claim_setting("check".into(), "one".into()).await.unwrap();
    assert_eq!(first, "one");
    let again = s.claim_setting("check".into(), "two".into()).await.unwrap();
    assert_eq!(again, "one");
    assert_eq!(
        s.load_settings().await.unwrap(),
        vec![
            ("app_name".to_string(), "Status".to_string()),
            ("check".to_string(), "one".to_string())
        ]
    );
    let mut calls = Vec::new();
    for i in 0..8 {
        let s = s.clone();
        calls.push(tokio::spawn(async move {
            s.claim_setting("raced".into(), format!("value {i}"))
                .await
                .unwrap()
        }));
    }
    let mut answers = std::collections::BTreeSet::new();
    for c in calls {
        answers.insert(c.await.unwrap());
    }
    assert_eq!(answers.len(), 1, "every claim returns the one stored value");
    let stored = s
        .load_settings()
        .await
        .unwrap()
        .into_iter()
        .find(|(k, _)| k == "raced")
        .map(|(_, v)| v);
    assert_eq!(stored.as_ref(), answers.first());
    assert!(stored.is_some_and(|v| v.starts_with("value ")));
}

/// Audit entries get ids and times; filters AND-ed; newest first.
pub async fn audit_append_and_filter(s: Shared) {
    let a = s
        .append_audit(NewAuditEntry {
            user_id: None,
            kind: "login.failed".into(),
            detail: "x".into(),
        })
        .await
        .unwrap();
    let b = s
        .append_audit(NewAuditEntry {
            user_id: Some(UserId(3)),
            kind: "token.created".into(),
            detail: "y".into(),
        })
        .await
        .unwrap();
    assert!((Utc::now() - a.at).num_seconds().abs() < 60);
    assert_eq!(
        (b.user_id, b.kind.as_str(), b.detail.as_str()),
        (Some(UserId(3)), "token.created", "y")
    );
    let all = s.list_audit(&q()).await.unwrap();
    assert_eq!(ids(&all, |e| e.id.get()), vec![b.id.get(), a.id.get()]);
    let kind = s
        .list_audit(&filtered(AuditFilter {
            kind: Some("login.failed".into()),
            ..Default::default()
        }))
        .await
        .unwrap();
    assert_eq!(ids(&kind, |e| e.id.get()), vec![a.id.get()]);
    let future = s
        .list_audit(&filtered(AuditFilter {
            since: Some(Utc::now() + Duration::days(1)),
            ..Default::default()
        }))
        .await
        .unwrap();
    assert_eq!(future.total, 0);
    let past = s
        .list_audit(&filtered(AuditFilter {
            until: Some(t(0)),
            ..Default::default()
        }))
        .await
        .unwrap();
    assert_eq!(past.total, 0);
}

/// overview returns live components/groups by order, the incidents and schedules documented.
pub async fn overview_contents(s: Shared) {
    let mut late = new_component("late");
    late.order = 5;
    let late = s.create_component(late).await.unwrap();
    let early = s.create_component(new_component("early")).await.unwrap();
    let gone = s.create_component(new_component("gone")).await.unwrap();
    s.delete_component(gone.id).await.unwrap();
    let g = s
        .create_group(NewGroup {
            name: "g".into(),
            order: 0,
            collapsed: GroupCollapsed::Expanded,
            visible: Visibility::Public,
        })
        .await
        .unwrap();
    let since = t(1_700_000_000);
    let mut old_open = new_incident("old open", None, None);
    old_open.occurred_at = t(1_000_000_000);
    let old_open = s.create_incident(old_open).await.unwrap();
    let mut old_fixed = new_incident("old fixed", None, None);
    old_fixed.occurred_at = t(1_000_000_000);
    let old_fixed = s.create_incident(old_fixed).await.unwrap();
    s.create_update(
        old_fixed.id,
        NewIncidentUpdate {
            notice: None,
            status: IncidentStatus::Fixed,
            message: msg("ok"),
            user_id: None,
        },
    )
    .await
    .unwrap();
    let mut old_sticky = new_incident("old sticky", None, None);
    old_sticky.occurred_at = t(1_000_000_000);
    old_sticky.status = IncidentStatus::Fixed;
    old_sticky.stickied = true;
    let old_sticky = s.create_incident(old_sticky).await.unwrap();
    // Fixed row status but the newest update reopened it: unresolved.
    let mut reopened = new_incident("reopened", None, None);
    reopened.occurred_at = t(1_000_000_000);
    let reopened = s.create_incident(reopened).await.unwrap();
    s.create_update(
        reopened.id,
        NewIncidentUpdate {
            notice: None,
            status: IncidentStatus::Watching,
            message: msg("w"),
            user_id: None,
        },
    )
    .await
    .unwrap();
    s.update_incident(
        reopened.id,
        IncidentChanges {
            status: Some(IncidentStatus::Fixed),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut recent_fixed = new_incident("recent", None, None);
    recent_fixed.status = IncidentStatus::Fixed;
    recent_fixed.occurred_at = t(1_750_000_000);
    let recent_fixed = s.create_incident(recent_fixed).await.unwrap();
    let deleted = s
        .create_incident(new_incident("deleted", None, None))
        .await
        .unwrap();
    s.delete_incident(deleted.id).await.unwrap();
    let sched = |name: &str, status, at: i64| NewSchedule {
        notice: None,
        name: name.into(),
        message: None,
        status,
        scheduled_at: t(at),
        completed_at: None,
        components: vec![],
    };
    let upcoming = s
        .create_schedule(sched("upcoming", ScheduleStatus::Upcoming, 1_900_000_000))
        .await
        .unwrap();
    s.create_schedule(sched("old done", ScheduleStatus::Complete, 1_000_000_000))
        .await
        .unwrap();
    let recent_done = s
        .create_schedule(sched(
            "recent done",
            ScheduleStatus::Complete,
            1_750_000_000,
        ))
        .await
        .unwrap();
    let ov = s.overview(since).await.unwrap();
    assert_eq!(
        ov.components.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![early.id, late.id]
    );
    assert_eq!(
        ov.groups.iter().map(|g| g.id).collect::<Vec<_>>(),
        vec![g.id]
    );
    let mut got: Vec<IncidentId> = ov.incidents.iter().map(|i| i.id).collect();
    got.sort();
    let mut want = vec![old_open.id, old_sticky.id, reopened.id, recent_fixed.id];
    want.sort();
    assert_eq!(got, want);
    assert_eq!(
        ov.incidents[0].id, recent_fixed.id,
        "newest occurred_at first"
    );
    let r = ov
        .incidents
        .iter()
        .find(|i| i.id == reopened.id)
        .expect("reopened");
    assert_eq!(r.updates.len(), 1);
    assert_eq!(
        ov.schedules.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![recent_done.id, upcoming.id]
    );
}

/// 50 concurrent incident creations that each set a component status leave a consistent
/// state: every incident exists and the component has the impact of one of them.
pub async fn concurrent_incidents_keep_state_consistent(s: Shared) {
    let c = s.create_component(new_component("db")).await.unwrap();
    let mut tasks = Vec::new();
    for n in 0..50u8 {
        let s = s.clone();
        let impact = ComponentStatus::try_from(i64::from(n % 4 + 1)).expect("1..=4");
        tasks.push(tokio::spawn(async move {
            s.create_incident(new_incident(&format!("i{n}"), Some(c.id), Some(impact)))
                .await
        }));
    }
    let mut made = Vec::new();
    for task in tasks {
        made.push(
            task.await
                .expect("task")
                .expect("no error under concurrency"),
        );
    }
    let page = s
        .list_incidents(&ListQuery::new(1, 100, IncidentFilter::default()))
        .await
        .unwrap();
    assert_eq!(page.total, 50);
    let mut ids: Vec<i64> = made.iter().map(|i| i.id.get()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 50);
    // The last writer wins: the component's status is the impact of the incident with the
    // latest write, which is one of the 50.
    let status = s.get_component(c.id).await.unwrap().status;
    assert!(made.iter().any(|i| i.impact == Some(status)));
}

/// Pages past the end are empty; page and per_page are clamped.
pub async fn list_pages_and_clamps(s: Shared) {
    for n in 0..3 {
        s.create_group(NewGroup {
            name: format!("g{n}"),
            order: 0,
            collapsed: GroupCollapsed::Expanded,
            visible: Visibility::Public,
        })
        .await
        .unwrap();
    }
    let qq: ListQuery<GroupSort, GroupFilter> = ListQuery::new(0, 0, GroupFilter::default());
    assert_eq!((qq.page, qq.per_page), (1, 1));
    let p = s.list_groups(&qq).await.unwrap();
    assert_eq!((p.items.len(), p.total), (1, 3));
    let big: ListQuery<GroupSort, GroupFilter> =
        ListQuery::new(1, u32::MAX, GroupFilter::default());
    assert_eq!(big.per_page, MAX_PER_PAGE);
    assert_eq!(s.list_groups(&big).await.unwrap().items.len(), 3);
    let far: ListQuery<GroupSort, GroupFilter> =
        ListQuery::new(u32::MAX, 2, GroupFilter::default());
    let p = s.list_groups(&far).await.unwrap();
    assert_eq!((p.items.len(), p.total), (0, 3));
}

/// A multi-row write that fails part-way leaves nothing half-written: a schedule whose
/// second component is missing, a subscriber after a concurrent component delete.
pub async fn failed_multi_row_write_leaves_nothing(s: Shared) {
    let a = s.create_component(new_component("a")).await.unwrap();
    let before = s.list_schedules(&q()).await.unwrap().total;
    let r = s
        .create_schedule(NewSchedule {
            notice: None,
            name: "half".into(),
            message: None,
            status: ScheduleStatus::Upcoming,
            scheduled_at: t(1_800_000_000),
            completed_at: None,
            components: vec![
                (a.id, ComponentStatus::MajorOutage),
                (ComponentId(999_999), ComponentStatus::MajorOutage),
            ],
        })
        .await;
    assert_not_found(r, Entity::Component);
    assert_eq!(s.list_schedules(&q()).await.unwrap().total, before);
    let i = s
        .create_incident(new_incident(
            "x",
            Some(a.id),
            Some(ComponentStatus::PartialOutage),
        ))
        .await
        .unwrap();
    let r = s
        .update_incident(
            i.id,
            IncidentChanges {
                impact: Some(ComponentStatus::MajorOutage),
                component_id: Some(Some(ComponentId(999_999))),
                ..Default::default()
            },
        )
        .await;
    assert_not_found(r, Entity::Component);
    assert_eq!(
        s.get_component(a.id).await.unwrap().status,
        ComponentStatus::PartialOutage
    );
}

// ---------------------------------------------------------------- status history

fn set_status(status: ComponentStatus) -> ComponentChanges {
    ComponentChanges {
        status: Some(status),
        ..Default::default()
    }
}

/// A window from `from` to `to` (unix seconds) over `rows`.
fn window(from: i64, to: Option<i64>, rows: Vec<(ComponentId, ComponentStatus)>) -> NewSchedule {
    NewSchedule {
        notice: None,
        name: format!("window {from}"),
        message: None,
        status: ScheduleStatus::Upcoming,
        scheduled_at: t(from),
        completed_at: to.map(t),
        components: rows,
    }
}

/// Every status change of a component, newest first.
async fn changes(s: &Shared, component: ComponentId) -> Vec<StatusChange> {
    let page = s.status_changes(component, 1, MAX_PER_PAGE).await.unwrap();
    assert_eq!(page.total, page.items.len() as u64);
    page.items
}

/// (old, new, source) of each change, as listed (newest first).
fn history_of(h: &[StatusChange]) -> Vec<(ComponentStatus, ComponentStatus, StatusSource)> {
    h.iter().map(|c| (c.old, c.new, c.source)).collect()
}

/// Whole-second bounds around a write, for `at` (stores keep whole seconds).
fn around(before: DateTime<Utc>, at: DateTime<Utc>) {
    let after = now();
    assert!(
        before <= at && at <= after,
        "{at} is not between {before} and {after}"
    );
}

/// Every way a status changes is recorded with its source, the old and the new status and
/// the time of the write (maintenance: the `now` it ran at); newest first;
/// paged, with the total on every page.
pub async fn status_changes_record_every_source(s: Shared) {
    use ComponentStatus::*;
    let c = s.create_component(new_component("api")).await.unwrap();
    let other = s.create_component(new_component("web")).await.unwrap();
    let before = now();
    for (status, source) in [
        (PerformanceIssues, StatusSource::Dashboard),
        (PartialOutage, StatusSource::Api),
        (Operational, StatusSource::System),
    ] {
        let u = s
            .update_component(c.id, set_status(status), source)
            .await
            .unwrap();
        assert_eq!(u.status, status);
    }
    let i = s
        .create_incident(new_incident("down", Some(c.id), Some(MajorOutage)))
        .await
        .unwrap();
    s.update_incident(
        i.id,
        IncidentChanges {
            impact: Some(PartialOutage),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let start = 1_800_000_000;
    s.create_schedule(window(start, Some(start + 3600), vec![(c.id, MajorOutage)]))
        .await
        .unwrap();
    let began = s.reconcile_maintenance(t(start + 100)).await.unwrap();
    assert_eq!(
        history_of(&began),
        [(PartialOutage, MajorOutage, StatusSource::Maintenance)]
    );
    assert_eq!((began[0].component_id, began[0].at), (c.id, t(start + 100)));
    let ended = s.reconcile_maintenance(t(start + 4000)).await.unwrap();
    assert_eq!(
        history_of(&ended),
        [(MajorOutage, PartialOutage, StatusSource::Maintenance)]
    );
    assert_eq!(s.get_component(c.id).await.unwrap().status, PartialOutage);

    let h = changes(&s, c.id).await;
    assert_eq!(
        history_of(&h),
        [
            (MajorOutage, PartialOutage, StatusSource::Maintenance),
            (PartialOutage, MajorOutage, StatusSource::Maintenance),
            (MajorOutage, PartialOutage, StatusSource::Incident),
            (Operational, MajorOutage, StatusSource::Incident),
            (PartialOutage, Operational, StatusSource::System),
            (PerformanceIssues, PartialOutage, StatusSource::Api),
            (Operational, PerformanceIssues, StatusSource::Dashboard),
        ]
    );
    assert_eq!((h[0], h[1]), (ended[0], began[0]));
    assert!(h.iter().all(|ch| ch.component_id == c.id));
    assert!(
        h.windows(2).all(|w| w[0].id > w[1].id),
        "newest first by id"
    );
    for ch in &h[2..] {
        around(before, ch.at);
    }
    // Pages of 3: newest first, the total on every page, past the end empty.
    let page = |n| s.status_changes(c.id, n, 3);
    let p1 = page(1).await.unwrap();
    assert_eq!((p1.items.as_slice(), p1.total), (&h[..3], 7));
    let p2 = page(2).await.unwrap();
    assert_eq!((p2.items.as_slice(), p2.total), (&h[3..6], 7));
    let p3 = page(3).await.unwrap();
    assert_eq!((p3.items.as_slice(), p3.total), (&h[6..], 7));
    let p4 = page(4).await.unwrap();
    assert_eq!((p4.items.len(), p4.total), (0, 7));
    assert_eq!(page(0).await.unwrap(), p1, "page 0 reads as 1");
    let one = s.status_changes(c.id, 2, 0).await.unwrap();
    assert_eq!(
        (one.items.as_slice(), one.total),
        (&h[1..2], 7),
        "per_page clamped to 1"
    );
    let other = s.status_changes(other.id, 1, 100).await.unwrap();
    assert_eq!((other.items.len(), other.total), (0, 0));
    let missing = s
        .status_changes(ComponentId(999_999), 1, 100)
        .await
        .unwrap();
    assert_eq!((missing.items.len(), missing.total), (0, 0));
}

/// A write that leaves the status as it was records nothing: the same status, other fields
/// only, an incident without an impact or with the status the component has, a window no
/// worse than the component.
pub async fn status_changes_skip_writes_that_keep_the_status(s: Shared) {
    use ComponentStatus::*;
    let c = s.create_component(new_component("api")).await.unwrap();
    let mut down = new_component("db");
    down.status = MajorOutage;
    let down = s.create_component(down).await.unwrap();
    s.update_component(c.id, set_status(Operational), StatusSource::Api)
        .await
        .unwrap();
    s.update_component(
        c.id,
        ComponentChanges {
            name: Some("renamed".into()),
            enabled: Some(false),
            ..Default::default()
        },
        StatusSource::Dashboard,
    )
    .await
    .unwrap();
    let same = s
        .create_incident(new_incident("same", Some(c.id), Some(Operational)))
        .await
        .unwrap();
    s.create_incident(new_incident("note", Some(c.id), None))
        .await
        .unwrap();
    s.update_incident(
        same.id,
        IncidentChanges {
            impact: Some(Operational),
            name: Some("still the same".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let unlinked = s
        .create_incident(new_incident("nothing linked", None, None))
        .await
        .unwrap();
    s.update_incident(
        unlinked.id,
        IncidentChanges {
            impact: Some(MajorOutage),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let start = 1_800_000_000;
    s.create_schedule(window(
        start,
        Some(start + 60),
        vec![(c.id, Operational), (down.id, PerformanceIssues)],
    ))
    .await
    .unwrap();
    assert!(s
        .reconcile_maintenance(t(start + 1))
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .reconcile_maintenance(t(start + 61))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(s.get_component(c.id).await.unwrap().status, Operational);
    assert_eq!(s.get_component(down.id).await.unwrap().status, MajorOutage);
    for id in [c.id, down.id] {
        assert!(changes(&s, id).await.is_empty(), "{id}");
    }
}

/// A status change goes with the incident that makes it: a write that fails (an unknown
/// component, a missing incident) writes neither the incident, the status nor its history;
/// one that succeeds writes all three.
pub async fn status_change_and_incident_are_one_write(s: Shared) {
    use ComponentStatus::*;
    let c = s.create_component(new_component("api")).await.unwrap();
    assert_not_found(
        s.create_incident(new_incident(
            "x",
            Some(ComponentId(999_999)),
            Some(MajorOutage),
        ))
        .await,
        Entity::Component,
    );
    assert_eq!(s.list_incidents(&q()).await.unwrap().total, 0);
    assert!(changes(&s, ComponentId(999_999)).await.is_empty());
    let before = now();
    let i = s
        .create_incident(new_incident("slow", Some(c.id), Some(PartialOutage)))
        .await
        .unwrap();
    let h = changes(&s, c.id).await;
    assert_eq!(
        history_of(&h),
        [(Operational, PartialOutage, StatusSource::Incident)]
    );
    around(before, h[0].at);
    // Moving the incident to a component that does not exist fails as a whole: the name,
    // the impact and the status of the component it names now are all kept.
    let r = s
        .update_incident(
            i.id,
            IncidentChanges {
                name: Some("changed".into()),
                component_id: Some(Some(ComponentId(999_999))),
                impact: Some(MajorOutage),
                ..Default::default()
            },
        )
        .await;
    assert_not_found(r, Entity::Component);
    assert_eq!(s.get_incident(i.id).await.unwrap(), i);
    assert_eq!(s.get_component(c.id).await.unwrap().status, PartialOutage);
    assert_eq!(changes(&s, c.id).await, h);
    assert_not_found(
        s.update_incident(
            IncidentId(999_999),
            IncidentChanges {
                component_id: Some(Some(c.id)),
                impact: Some(MajorOutage),
                ..Default::default()
            },
        )
        .await,
        Entity::Incident,
    );
    assert_eq!(s.get_component(c.id).await.unwrap().status, PartialOutage);
    assert_eq!(changes(&s, c.id).await, h);
}

/// Deleting a component deletes its history and its maintenance holds with it; other
/// components keep theirs, and maintenance carries on without it.
pub async fn status_history_goes_with_its_component(s: Shared) {
    use ComponentStatus::*;
    let gone = s.create_component(new_component("gone")).await.unwrap();
    let kept = s.create_component(new_component("kept")).await.unwrap();
    for id in [gone.id, kept.id] {
        s.update_component(id, set_status(MajorOutage), StatusSource::Api)
            .await
            .unwrap();
        s.update_component(id, set_status(Operational), StatusSource::Api)
            .await
            .unwrap();
    }
    let start = 1_800_000_000;
    s.create_schedule(window(
        start,
        Some(start + 60),
        vec![(gone.id, PartialOutage), (kept.id, PartialOutage)],
    ))
    .await
    .unwrap();
    assert_eq!(
        s.reconcile_maintenance(t(start + 1)).await.unwrap().len(),
        2
    );
    s.delete_component(gone.id).await.unwrap();
    assert!(changes(&s, gone.id).await.is_empty());
    assert_eq!(changes(&s, kept.id).await.len(), 3);
    assert!(s
        .reconcile_maintenance(t(start + 2))
        .await
        .unwrap()
        .is_empty());
    let ended = s.reconcile_maintenance(t(start + 61)).await.unwrap();
    assert_eq!(
        ended
            .iter()
            .map(|c| (c.component_id, c.old, c.new))
            .collect::<Vec<_>>(),
        [(kept.id, PartialOutage, Operational)]
    );
    assert!(changes(&s, gone.id).await.is_empty());
    let fresh = s.create_component(new_component("fresh")).await.unwrap();
    assert!(changes(&s, fresh.id).await.is_empty());
}

/// Concurrent status changes of one component (direct ones and incidents) are serialized:
/// oldest first, each change starts from the status the one before left, the first from
/// the status the component was created with, and the last ends at its current status.
pub async fn status_changes_form_a_chain_under_concurrency(s: Shared) {
    let c = s.create_component(new_component("busy")).await.unwrap();
    let mut tasks = Vec::new();
    for n in 0..40u8 {
        let s = s.clone();
        let status = ComponentStatus::try_from(i64::from(n % 5)).expect("0..=4");
        tasks.push(tokio::spawn(async move {
            if n % 4 == 0 {
                s.create_incident(new_incident(&format!("i{n}"), Some(c.id), Some(status)))
                    .await
                    .map(|_| ())
            } else {
                let source = if n % 2 == 0 {
                    StatusSource::Dashboard
                } else {
                    StatusSource::Api
                };
                s.update_component(c.id, set_status(status), source)
                    .await
                    .map(|_| ())
            }
        }));
    }
    for task in tasks {
        task.await
            .expect("task")
            .expect("no error under concurrency");
    }
    let mut h = changes(&s, c.id).await;
    h.reverse();
    assert!(!h.is_empty() && h.len() <= 40, "{} changes", h.len());
    assert_eq!(h[0].old, ComponentStatus::Operational);
    for pair in h.windows(2) {
        assert_eq!(pair[0].new, pair[1].old, "broken chain: {pair:?}");
        assert!(pair[0].id < pair[1].id);
    }
    assert!(h.iter().all(|ch| ch.old != ch.new));
    let last = h.last().map(|ch| ch.new);
    assert_eq!(last, Some(s.get_component(c.id).await.unwrap().status));
}

/// A window in progress raises its components to its status (never lowers one); when it
/// ends they get back the status they had, unless someone changed it meanwhile; a window
/// marked In Progress or Complete counts as such whatever the clock; a deleted window ends.
pub async fn maintenance_sets_and_restores_statuses(s: Shared) {
    use ComponentStatus::*;
    let a = s.create_component(new_component("a")).await.unwrap();
    let mut b = new_component("b");
    b.status = MajorOutage;
    let b = s.create_component(b).await.unwrap();
    let c = s.create_component(new_component("c")).await.unwrap();
    let t0 = 1_800_000_000;
    s.create_schedule(window(
        t0 + 1000,
        Some(t0 + 2000),
        vec![(a.id, PerformanceIssues), (b.id, PartialOutage)],
    ))
    .await
    .unwrap();
    let mut marked = window(t0 + 5000, None, vec![(c.id, PartialOutage)]);
    marked.status = ScheduleStatus::InProgress;
    let marked = s.create_schedule(marked).await.unwrap();
    let mut done = window(t0, None, vec![(a.id, MajorOutage)]);
    done.status = ScheduleStatus::Complete;
    s.create_schedule(done).await.unwrap();
    let changed = |list: Vec<StatusChange>| {
        list.iter()
            .map(|ch| (ch.component_id, ch.old, ch.new, ch.at))
            .collect::<Vec<_>>()
    };

    let r = s.reconcile_maintenance(t(t0 + 500)).await.unwrap();
    assert_eq!(
        changed(r),
        [(c.id, Operational, PartialOutage, t(t0 + 500))]
    );
    assert!(s
        .reconcile_maintenance(t(t0 + 500))
        .await
        .unwrap()
        .is_empty());
    let r = s.reconcile_maintenance(t(t0 + 1500)).await.unwrap();
    assert_eq!(
        changed(r),
        [(a.id, Operational, PerformanceIssues, t(t0 + 1500))]
    );
    assert_eq!(s.get_component(b.id).await.unwrap().status, MajorOutage);
    // A report during the window stands, and is not undone when the window ends.
    s.update_component(a.id, set_status(Operational), StatusSource::Api)
        .await
        .unwrap();
    assert!(s
        .reconcile_maintenance(t(t0 + 1600))
        .await
        .unwrap()
        .is_empty());
    s.update_schedule(
        marked.id,
        ScheduleChanges {
            status: Some(ScheduleStatus::Complete),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let r = s.reconcile_maintenance(t(t0 + 1700)).await.unwrap();
    assert_eq!(
        changed(r),
        [(c.id, PartialOutage, Operational, t(t0 + 1700))]
    );
    assert!(s
        .reconcile_maintenance(t(t0 + 2500))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(s.get_component(a.id).await.unwrap().status, Operational);
    assert_eq!(s.get_component(b.id).await.unwrap().status, MajorOutage);
    // A deleted window ends at the next run.
    let w = s
        .create_schedule(window(
            t0 + 3000,
            Some(t0 + 4000),
            vec![(a.id, PartialOutage)],
        ))
        .await
        .unwrap();
    let r = s.reconcile_maintenance(t(t0 + 3100)).await.unwrap();
    assert_eq!(
        changed(r),
        [(a.id, Operational, PartialOutage, t(t0 + 3100))]
    );
    s.delete_schedule(w.id).await.unwrap();
    let r = s.reconcile_maintenance(t(t0 + 3200)).await.unwrap();
    assert_eq!(
        changed(r),
        [(a.id, PartialOutage, Operational, t(t0 + 3200))]
    );

    let h = changes(&s, a.id).await;
    assert_eq!(
        history_of(&h),
        [
            (PartialOutage, Operational, StatusSource::Maintenance),
            (Operational, PartialOutage, StatusSource::Maintenance),
            (PerformanceIssues, Operational, StatusSource::Api),
            (Operational, PerformanceIssues, StatusSource::Maintenance),
        ]
    );
    assert!(changes(&s, b.id).await.is_empty());
    assert_eq!(changes(&s, c.id).await.len(), 2);
}

/// Runs at the same time write each change once: every component of a window is raised
/// once when it starts and restored once when it ends.
pub async fn maintenance_runs_once_under_concurrency(s: Shared) {
    let mut ids = Vec::new();
    for n in 0..6 {
        ids.push(
            s.create_component(new_component(&format!("c{n}")))
                .await
                .unwrap()
                .id,
        );
    }
    let t0 = 1_800_000_000;
    s.create_schedule(window(
        t0,
        Some(t0 + 100),
        ids.iter()
            .map(|id| (*id, ComponentStatus::PartialOutage))
            .collect(),
    ))
    .await
    .unwrap();
    for at in [t0 + 10, t0 + 200] {
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let s = s.clone();
            tasks.push(tokio::spawn(
                async move { s.reconcile_maintenance(t(at)).await },
            ));
        }
        let mut written = 0;
        for task in tasks {
            written += task
                .await
                .expect("task")
                .expect("no error under concurrency")
                .len();
        }
        assert_eq!(written, ids.len(), "at {at}");
    }
    for id in ids {
        let h = changes(&s, id).await;
        assert_eq!(
            history_of(&h),
            [
                (
                    ComponentStatus::PartialOutage,
                    ComponentStatus::Operational,
                    StatusSource::Maintenance
                ),
                (
                    ComponentStatus::Operational,
                    ComponentStatus::PartialOutage,
                    StatusSource::Maintenance
                ),
            ]
        );
        assert_eq!(
            s.get_component(id).await.unwrap().status,
            ComponentStatus::Operational
        );
    }
}

/// Not in the case list: run it on a store whose every insert into the status history
/// fails (a backend test installs a trigger that raises). Each write that changes a status
/// then fails as a whole, leaving no incident and no component change behind: the history
/// row is written in the same transaction as what it records, and the rest is undone.
pub async fn failed_history_write_undoes_the_change(s: Shared) {
    use ComponentStatus::*;
    let c = s.create_component(new_component("api")).await.unwrap();
    let quiet = s
        .create_incident(new_incident("no impact", None, None))
        .await
        .expect("an incident without an impact writes no history");
    let r = s
        .create_incident(new_incident("down", Some(c.id), Some(MajorOutage)))
        .await;
    assert!(r.is_err(), "the history insert was to fail: {r:?}");
    let listed = s.list_incidents(&q()).await.unwrap();
    assert_eq!(ids(&listed, |i| i.id.get()), [quiet.id.get()]);
    let r = s
        .update_incident(
            quiet.id,
            IncidentChanges {
                name: Some("changed".into()),
                component_id: Some(Some(c.id)),
                impact: Some(MajorOutage),
                ..Default::default()
            },
        )
        .await;
    assert!(r.is_err(), "{r:?}");
    assert_eq!(s.get_incident(quiet.id).await.unwrap(), quiet);
    let r = s
        .update_component(
            c.id,
            ComponentChanges {
                name: Some("renamed".into()),
                status: Some(PartialOutage),
                ..Default::default()
            },
            StatusSource::Api,
        )
        .await;
    assert!(r.is_err(), "{r:?}");
    let t0 = 1_800_000_000;
    s.create_schedule(window(t0, Some(t0 + 60), vec![(c.id, PartialOutage)]))
        .await
        .unwrap();
    let r = s.reconcile_maintenance(t(t0 + 1)).await;
    assert!(r.is_err(), "{r:?}");
    assert_eq!(s.get_component(c.id).await.unwrap(), c);
    assert!(changes(&s, c.id).await.is_empty());
}

// ---- the notification outbox

fn notice(subject: &str, audience: crate::notify::Audience) -> crate::notify::Notice {
    crate::notify::Notice {
        event: crate::notify::EventKind::IncidentCreated,
        audience,
        subject: subject.into(),
        text: format!("{subject}\n"),
        html: markdown::render(&format!("**{subject}**")).expect("renders"),
        to_webhooks: false,
        also: Vec::new(),
    }
}

fn verified(email: &str, to: SubscribeTo) -> NewSubscriber {
    NewSubscriber {
        verified_at: Some(t(1_700_000_000)),
        ..new_subscriber(email, to)
    }
}

/// Every delivery, oldest first.
async fn deliveries(s: &Shared) -> Vec<crate::notify::Delivery> {
    let mut q: ListQuery<DeliverySort, DeliveryFilter> =
        ListQuery::new(1, 1000, Default::default());
    q.sort = Some((DeliverySort::Id, Order::Asc));
    s.list_deliveries(&q).await.unwrap().items
}

fn targets(ds: &[crate::notify::Delivery]) -> Vec<crate::notify::Target> {
    let mut t: Vec<_> = ds.iter().map(|d| d.target).collect();
    t.sort();
    t
}

fn to_subscribers(ids: &[SubscriberId]) -> Vec<crate::notify::Target> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids.into_iter()
        .map(crate::notify::Target::Subscriber)
        .collect()
}

fn claim(token: &str, now: DateTime<Utc>, lease_secs: i64, limit: u32) -> crate::notify::Claim {
    crate::notify::Claim {
        token: token.into(),
        now,
        lease_until: now + Duration::seconds(lease_secs),
        limit,
        channel: crate::notify::Channel::Mail,
    }
}

/// A notice reaches verified subscribers only: the global ones and those of an affected
/// component; it is written with the change, once per recipient, with what it says.
pub async fn outbox_reaches_verified_subscribers_of_the_component(s: Shared) {
    use crate::notify::{Audience, DeliveryState, EventKind};
    let a = s.create_component(new_component("a")).await.unwrap();
    let b = s.create_component(new_component("b")).await.unwrap();
    let sub = |email: &'static str, to: SubscribeTo, ok: bool| {
        let s = s.clone();
        async move {
            let n = if ok {
                verified(email, to)
            } else {
                new_subscriber(email, to)
            };
            s.create_subscriber(n).await.unwrap().0.id
        }
    };
    let global = sub("g@example.com", SubscribeTo::AllComponents, true).await;
    let of_a = sub("a@example.com", SubscribeTo::Components(vec![a.id]), true).await;
    let _of_b = sub("b@example.com", SubscribeTo::Components(vec![b.id]), true).await;
    let _unverified_a = sub("ua@example.com", SubscribeTo::Components(vec![a.id]), false).await;
    let _unverified_global = sub("ug@example.com", SubscribeTo::AllComponents, false).await;
    assert!(
        deliveries(&s).await.is_empty(),
        "subscribing queues nothing without a notice"
    );

    let mut n = new_incident("down", Some(a.id), None);
    n.notice = Some(notice("a is down", Audience::Subscribers(vec![a.id])));
    let before = now();
    let i = s.create_incident(n).await.unwrap();
    let ds = deliveries(&s).await;
    assert_eq!(targets(&ds), to_subscribers(&[global, of_a]));
    for d in &ds {
        assert_eq!(d.state, DeliveryState::Pending);
        assert_eq!(d.attempts, 0);
        assert_eq!(d.last_error, None);
        assert_eq!(d.delivered_at, None);
        assert!(d.next_attempt_at >= before && d.next_attempt_at <= now());
        assert_eq!(d.notice.event, EventKind::IncidentCreated);
        assert_eq!(d.notice.entity_id, Some(i.id.get()));
        assert_eq!(d.notice.subject, "a is down");
        assert_eq!(d.notice.text, "a is down\n");
        assert_eq!(
            d.notice.html.as_str(),
            "<p><strong>a is down</strong></p>\n"
        );
    }
    assert_eq!(ds[0].notice, ds[1].notice, "one notice, two deliveries");

    // An update: the same audience rule; no components: global subscribers only.
    let mut u = NewIncidentUpdate {
        status: IncidentStatus::Identified,
        message: msg("found it"),
        user_id: None,
        notice: Some(notice("global only", Audience::Subscribers(vec![]))),
    };
    s.create_update(i.id, u.clone()).await.unwrap();
    let ds = deliveries(&s).await;
    assert_eq!(ds.len(), 3);
    assert_eq!(ds[2].target, crate::notify::Target::Subscriber(global));
    assert_eq!(ds[2].notice.entity_id, Some(i.id.get()));
    // Nobody: nothing is queued.
    u.notice = Some(notice("nobody", Audience::Nobody));
    s.create_update(i.id, u).await.unwrap();
    assert_eq!(deliveries(&s).await.len(), 3);

    // A maintenance window of b: global and b's verified subscribers.
    let sched = s
        .create_schedule(NewSchedule {
            name: "upgrade".into(),
            message: None,
            status: ScheduleStatus::Upcoming,
            scheduled_at: t(1_900_000_000),
            completed_at: None,
            components: vec![(b.id, ComponentStatus::PerformanceIssues)],
            notice: Some(notice("upgrade", Audience::Subscribers(vec![b.id]))),
        })
        .await
        .unwrap();
    let ds = deliveries(&s).await;
    assert_eq!(ds.len(), 5);
    assert_eq!(targets(&ds[3..]), to_subscribers(&[global, _of_b]));
    assert_eq!(ds[3].notice.entity_id, Some(sched.id.get()));
}

/// A component notice is queued only when the write really changes the status.
pub async fn outbox_component_notice_only_on_a_real_change(s: Shared) {
    use crate::notify::Audience;
    let c = s.create_component(new_component("api")).await.unwrap();
    let g = s
        .create_subscriber(verified("g@example.com", SubscribeTo::AllComponents))
        .await
        .unwrap()
        .0
        .id;
    let with_notice = |ch: ComponentChanges| ComponentChanges {
        notice: Some(notice("api", Audience::Subscribers(vec![c.id]))),
        ..ch
    };
    // The status it already has, and a change of another field: no notice.
    s.update_component(
        c.id,
        with_notice(set_status(ComponentStatus::Operational)),
        StatusSource::Api,
    )
    .await
    .unwrap();
    s.update_component(
        c.id,
        with_notice(ComponentChanges {
            name: Some("api2".into()),
            ..Default::default()
        }),
        StatusSource::Api,
    )
    .await
    .unwrap();
    assert!(deliveries(&s).await.is_empty());
    s.update_component(
        c.id,
        with_notice(set_status(ComponentStatus::MajorOutage)),
        StatusSource::Api,
    )
    .await
    .unwrap();
    let ds = deliveries(&s).await;
    assert_eq!(targets(&ds), to_subscribers(&[g]));
    assert_eq!(ds[0].notice.entity_id, Some(c.id.get()));
}

/// The verification notice goes to the subscriber the call creates, verified or not, and
/// to nobody when the address was subscribed already.
pub async fn outbox_verification_goes_to_the_new_subscriber_only(s: Shared) {
    use crate::notify::Audience;
    let _other = s
        .create_subscriber(verified("old@example.com", SubscribeTo::AllComponents))
        .await
        .unwrap();
    let n = NewSubscriber {
        notice: Some(notice("confirm", Audience::NewSubscriber)),
        ..new_subscriber("new@example.com", SubscribeTo::AllComponents)
    };
    let (created, was_new) = s.create_subscriber(n.clone()).await.unwrap();
    assert!(was_new);
    let ds = deliveries(&s).await;
    assert_eq!(targets(&ds), to_subscribers(&[created.id]));
    assert_eq!(ds[0].notice.entity_id, Some(created.id.get()));
    let (again, was_new) = s.create_subscriber(n).await.unwrap();
    assert!(!was_new);
    assert_eq!(again.id, created.id);
    assert_eq!(
        deliveries(&s).await.len(),
        1,
        "subscribing again sends nothing"
    );
}

/// A change that fails queues nothing: the notice is part of the same write.
pub async fn outbox_is_written_with_the_change_or_not_at_all(s: Shared) {
    use crate::notify::Audience;
    s.create_subscriber(verified("g@example.com", SubscribeTo::AllComponents))
        .await
        .unwrap();
    let mut n = new_incident("down", Some(ComponentId(999_999)), None);
    n.notice = Some(notice("down", Audience::Subscribers(vec![])));
    assert_not_found(s.create_incident(n).await, Entity::Component);
    let r = s
        .create_update(
            IncidentId(999_999),
            NewIncidentUpdate {
                status: IncidentStatus::Fixed,
                message: msg("ok"),
                user_id: None,
                notice: Some(notice("ok", Audience::Subscribers(vec![]))),
            },
        )
        .await;
    assert_not_found(r, Entity::Incident);
    let r = s
        .create_schedule(NewSchedule {
            name: "upgrade".into(),
            message: None,
            status: ScheduleStatus::Upcoming,
            scheduled_at: t(1_900_000_000),
            completed_at: None,
            components: vec![(ComponentId(999_999), ComponentStatus::PerformanceIssues)],
            notice: Some(notice("upgrade", Audience::Subscribers(vec![]))),
        })
        .await;
    assert_not_found(r, Entity::Component);
    let r = s
        .update_component(
            ComponentId(999_999),
            ComponentChanges {
                status: Some(ComponentStatus::MajorOutage),
                notice: Some(notice("x", Audience::Subscribers(vec![]))),
                ..Default::default()
            },
            StatusSource::Api,
        )
        .await;
    assert_not_found(r, Entity::Component);
    assert!(deliveries(&s).await.is_empty());
}

/// Claims take due, unheld deliveries oldest first, count an attempt, and hold them until
/// the lease ends; only the holder records an outcome; Retry makes it due later; final
/// outcomes are final.
pub async fn outbox_claims_lease_and_outcomes(s: Shared) {
    use crate::notify::{Audience, DeliveryState, Outcome};
    for e in ["a@example.com", "b@example.com", "c@example.com"] {
        s.create_subscriber(verified(e, SubscribeTo::AllComponents))
            .await
            .unwrap();
    }
    let mut n = new_incident("down", None, None);
    n.notice = Some(notice("down", Audience::Subscribers(vec![])));
    s.create_incident(n).await.unwrap();
    let all = deliveries(&s).await;
    assert_eq!(all.len(), 3);
    let at = now() + Duration::seconds(5);

    let first = s.claim_deliveries(&claim("w1", at, 60, 2)).await.unwrap();
    assert_eq!(first.len(), 2);
    assert!(first
        .iter()
        .all(|d| d.attempts == 1 && d.state == DeliveryState::Pending));
    let second = s.claim_deliveries(&claim("w2", at, 60, 10)).await.unwrap();
    assert_eq!(second.len(), 1, "the held ones are not taken again");
    assert!(first.iter().all(|d| d.id != second[0].id));
    assert!(s
        .claim_deliveries(&claim("w3", at, 60, 10))
        .await
        .unwrap()
        .is_empty());

    // Only the holder records; a final outcome is final.
    let d0 = first[0].id;
    assert!(!s
        .finish_delivery(d0, "w2", Outcome::Delivered(at))
        .await
        .unwrap());
    assert!(s
        .finish_delivery(d0, "w1", Outcome::Delivered(at))
        .await
        .unwrap());
    assert!(!s
        .finish_delivery(d0, "w1", Outcome::Failed("late".into()))
        .await
        .unwrap());
    // Retry: pending again, not due before its time.
    let d1 = first[1].id;
    let later = at + Duration::seconds(600);
    assert!(s
        .finish_delivery(
            d1,
            "w1",
            Outcome::Retry {
                at: later,
                error: "421 try later".into()
            }
        )
        .await
        .unwrap());
    assert!(s
        .claim_deliveries(&claim("w4", at + Duration::seconds(1), 60, 10))
        .await
        .unwrap()
        .is_empty());
    // w2's lease ends at +60: then its delivery is taken again, and w2 has lost it.
    let retaken = s
        .claim_deliveries(&claim("w5", at + Duration::seconds(61), 60, 10))
        .await
        .unwrap();
    assert_eq!(retaken.len(), 1);
    assert_eq!(retaken[0].id, second[0].id);
    assert_eq!(retaken[0].attempts, 2);
    assert!(!s
        .finish_delivery(second[0].id, "w2", Outcome::Delivered(at))
        .await
        .unwrap());
    assert!(s
        .finish_delivery(second[0].id, "w5", Outcome::Dropped("gone".into()))
        .await
        .unwrap());
    // The retried one is due at its time.
    let due = s
        .claim_deliveries(&claim("w6", later, 60, 10))
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].id, d1);
    assert_eq!(due[0].attempts, 2);
    assert_eq!(due[0].last_error.as_deref(), Some("421 try later"));
    assert!(s
        .finish_delivery(d1, "w6", Outcome::Failed("550 no such user".into()))
        .await
        .unwrap());

    let ds = deliveries(&s).await;
    let by_id = |id| ds.iter().find(|d| d.id == id).unwrap();
    assert_eq!(by_id(d0).state, DeliveryState::Delivered);
    assert_eq!(by_id(d0).delivered_at, Some(at));
    assert_eq!(by_id(d0).last_error, None);
    assert_eq!(by_id(d1).state, DeliveryState::Failed);
    assert_eq!(by_id(d1).last_error.as_deref(), Some("550 no such user"));
    assert_eq!(by_id(second[0].id).state, DeliveryState::Dropped);
    // Nothing is pending any more: nothing to claim, however late.
    assert!(s
        .claim_deliveries(&claim("w7", later + Duration::days(30), 60, 10))
        .await
        .unwrap()
        .is_empty());

    // Filters: by state, by notice; totals count every match.
    let mut q: ListQuery<DeliverySort, DeliveryFilter> = ListQuery::new(
        1,
        1,
        DeliveryFilter {
            state: Some(DeliveryState::Failed),
            notice: None,
        },
    );
    let failed = s.list_deliveries(&q).await.unwrap();
    assert_eq!((failed.total, failed.items[0].id), (1, d1));
    q.filter = DeliveryFilter {
        state: None,
        notice: Some(ds[0].notice.id),
    };
    let page = s.list_deliveries(&q).await.unwrap();
    assert_eq!((page.total, page.items.len()), (3, 1));
    // Newest first by default.
    assert_eq!(page.items[0].id, ds[2].id);
}

/// A lease that ends within a second holds to its end, not to the whole second before it
/// (stores that keep whole seconds round a lease up), and not much longer.
pub async fn outbox_a_lease_holds_to_its_fraction_of_a_second(s: Shared) {
    use crate::notify::Audience;
    s.create_subscriber(verified("a@example.com", SubscribeTo::AllComponents))
        .await
        .unwrap();
    let mut n = new_incident("down", None, None);
    n.notice = Some(notice("down", Audience::Subscribers(vec![])));
    s.create_incident(n).await.unwrap();
    // A whole second, after the delivery was due.
    let t = DateTime::from_timestamp(now().timestamp() + 5, 0).unwrap();
    let mut first = claim("w1", t, 0, 10);
    first.lease_until = t + Duration::milliseconds(900);
    assert_eq!(s.claim_deliveries(&first).await.unwrap().len(), 1);
    assert!(
        s.claim_deliveries(&claim("w2", t + Duration::milliseconds(500), 60, 10))
            .await
            .unwrap()
            .is_empty(),
        "taken again while the first lease lasts"
    );
    let again = s
        .claim_deliveries(&claim("w3", t + Duration::seconds(1), 60, 10))
        .await
        .unwrap();
    assert_eq!(again.len(), 1, "the lease has ended a second later");
    assert_eq!(again[0].attempts, 2);
}

/// Concurrent claimers never take the same delivery.
pub async fn outbox_concurrent_claims_never_overlap(s: Shared) {
    use crate::notify::{Audience, Outcome};
    for i in 0..30 {
        s.create_subscriber(verified(
            &format!("s{i}@example.com"),
            SubscribeTo::AllComponents,
        ))
        .await
        .unwrap();
    }
    for k in 0..4 {
        let mut n = new_incident(&format!("i{k}"), None, None);
        n.notice = Some(notice("down", Audience::Subscribers(vec![])));
        s.create_incident(n).await.unwrap();
    }
    let at = now() + Duration::seconds(5);
    let mut workers = Vec::new();
    for w in 0..4 {
        let s = s.clone();
        workers.push(tokio::spawn(async move {
            let token = format!("worker-{w}");
            let mut got = Vec::new();
            loop {
                let batch = s
                    .claim_deliveries(&claim(&token, at, 300, 7))
                    .await
                    .unwrap();
                if batch.is_empty() {
                    return got;
                }
                for d in batch {
                    assert!(s
                        .finish_delivery(d.id, &token, Outcome::Delivered(at))
                        .await
                        .unwrap());
                    got.push(d.id);
                }
            }
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let total = all.len();
    all.sort();
    all.dedup();
    assert_eq!(total, 120, "every delivery once");
    assert_eq!(all.len(), 120, "no delivery twice");
}

/// A subscriber is verified once: the second call says so and changes nothing; of
/// concurrent calls exactly one verifies.
pub async fn subscriber_verifies_once(s: Shared) {
    let (sub, _) = s
        .create_subscriber(new_subscriber("a@example.com", SubscribeTo::AllComponents))
        .await
        .unwrap();
    assert_eq!(sub.verified_at, None);
    let mut calls = Vec::new();
    for _ in 0..8 {
        let s = s.clone();
        calls.push(tokio::spawn(async move {
            s.verify_subscriber(sub.id, t(1_800_000_000), None)
                .await
                .unwrap()
        }));
    }
    let mut won = 0;
    for c in calls {
        won += usize::from(c.await.unwrap());
    }
    assert_eq!(won, 1, "exactly one call verifies");
    assert_eq!(
        s.get_subscriber(sub.id).await.unwrap().verified_at,
        Some(t(1_800_000_000))
    );
    assert!(!s
        .verify_subscriber(sub.id, t(1_900_000_000), None)
        .await
        .unwrap());
    assert_eq!(
        s.get_subscriber(sub.id).await.unwrap().verified_at,
        Some(t(1_800_000_000))
    );
    assert_not_found(
        s.verify_subscriber(SubscriberId(999_999), t(0), None).await,
        Entity::Subscriber,
    );
}

/// Replacing what a subscriber follows: the flag and the whole set, unknown ids skipped.
pub async fn subscriber_subscriptions_are_replaced(s: Shared) {
    let a = s.create_component(new_component("a")).await.unwrap();
    let b = s.create_component(new_component("b")).await.unwrap();
    let (sub, _) = s
        .create_subscriber(new_subscriber("a@example.com", SubscribeTo::AllComponents))
        .await
        .unwrap();
    assert!(sub.global);
    let changed = s
        .set_subscriptions(
            sub.id,
            false,
            SubscribeTo::Components(vec![b.id, ComponentId(999_999)]),
        )
        .await
        .unwrap();
    assert!(!changed.global);
    let followed: Vec<_> = changed
        .subscriptions
        .iter()
        .map(|x| x.component_id)
        .collect();
    assert_eq!(followed, vec![b.id]);
    assert_eq!(s.get_subscriber(sub.id).await.unwrap(), changed);
    let all = s
        .set_subscriptions(sub.id, true, SubscribeTo::AllComponents)
        .await
        .unwrap();
    let mut followed: Vec<_> = all.subscriptions.iter().map(|x| x.component_id).collect();
    followed.sort();
    assert_eq!(followed, vec![a.id, b.id]);
    assert!(all.global);
    assert_not_found(
        s.set_subscriptions(SubscriberId(999_999), true, SubscribeTo::AllComponents)
            .await,
        Entity::Subscriber,
    );
}

/// A standalone notice reaches exactly its subscriber, verified or not.
pub async fn outbox_standalone_notice_to_one_subscriber(s: Shared) {
    use crate::notify::{Audience, EventKind, Target};
    let (one, _) = s
        .create_subscriber(new_subscriber(
            "one@example.com",
            SubscribeTo::AllComponents,
        ))
        .await
        .unwrap();
    s.create_subscriber(verified("two@example.com", SubscribeTo::AllComponents))
        .await
        .unwrap();
    let mut n = notice("your links", Audience::Subscriber(one.id));
    n.event = EventKind::LinksRequested;
    s.queue_notice(n).await.unwrap();
    let ds = deliveries(&s).await;
    assert_eq!(targets(&ds), vec![Target::Subscriber(one.id)]);
    assert_eq!(ds[0].notice.event, EventKind::LinksRequested);
    assert_eq!(ds[0].notice.entity_id, Some(one.id.get()));
    // To nobody: nothing written.
    s.queue_notice(notice("x", Audience::Nobody)).await.unwrap();
    s.queue_notice(notice("x", Audience::Subscriber(SubscriberId(999_999))))
        .await
        .unwrap();
    assert_eq!(deliveries(&s).await.len(), 1);
}

// ---- webhooks

fn new_webhook(
    url: &str,
    events: &[crate::notify::EventKind],
    enabled: bool,
) -> crate::webhook::NewWebhook {
    crate::webhook::NewWebhook {
        url: url.into(),
        events: events.to_vec(),
        enabled,
        secret_sealed: format!("sealed:{url}"),
    }
}

/// Webhooks are written and read back whole, changed field by field, and removed.
pub async fn webhooks_roundtrip(s: Shared) {
    use crate::notify::EventKind::*;
    assert!(s.list_webhooks().await.unwrap().is_empty());
    let before = now();
    let a = s
        .create_webhook(new_webhook(
            "https://a.example/in?k=\u{e9}",
            &[IncidentCreated, ComponentStatusChanged],
            true,
        ))
        .await
        .unwrap();
    assert_eq!(a.url, "https://a.example/in?k=\u{e9}");
    assert_eq!(a.events, vec![IncidentCreated, ComponentStatusChanged]);
    assert!(a.enabled);
    assert_eq!(a.secret_sealed, "sealed:https://a.example/in?k=\u{e9}");
    assert!(a.created_at >= before - Duration::seconds(1) && a.created_at <= now());
    let b = s
        .create_webhook(new_webhook(
            "https://b.example/",
            &[MaintenanceStarted],
            false,
        ))
        .await
        .unwrap();
    assert!(!b.enabled);
    assert_eq!(s.get_webhook(a.id).await.unwrap(), a);
    let ids: Vec<_> = s
        .list_webhooks()
        .await
        .unwrap()
        .iter()
        .map(|w| w.id)
        .collect();
    assert_eq!(ids, vec![a.id, b.id]);

    let changed = s
        .update_webhook(
            a.id,
            crate::webhook::WebhookPatch {
                enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!changed.enabled);
    assert_eq!(
        (changed.url.as_str(), &changed.events),
        (a.url.as_str(), &a.events)
    );
    let changed = s
        .update_webhook(
            a.id,
            crate::webhook::WebhookPatch {
                url: Some("https://a2.example/".into()),
                events: Some(vec![UpdatePosted]),
                enabled: Some(true),
                secret_sealed: Some("sealed:new".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.url, "https://a2.example/");
    assert_eq!(changed.events, vec![UpdatePosted]);
    assert!(changed.enabled);
    assert_eq!(changed.secret_sealed, "sealed:new");
    assert_eq!(s.get_webhook(a.id).await.unwrap(), changed);

    s.delete_webhook(a.id).await.unwrap();
    assert!(matches!(
        s.get_webhook(a.id).await,
        Err(StoreError::NotFound(Entity::Webhook))
    ));
    assert!(matches!(
        s.delete_webhook(a.id).await,
        Err(StoreError::NotFound(Entity::Webhook))
    ));
    assert!(matches!(
        s.update_webhook(a.id, Default::default()).await,
        Err(StoreError::NotFound(Entity::Webhook))
    ));
    assert_eq!(s.list_webhooks().await.unwrap().len(), 1);
}

/// A notice for webhooks gets one delivery per enabled webhook that wants its event, in the
/// change's write, also when no subscriber is notified; claims take one channel only.
pub async fn outbox_fans_out_to_webhooks_that_want_the_event(s: Shared) {
    use crate::notify::{Audience, Channel, EventKind::*, Target};
    let wants = s
        .create_webhook(new_webhook("https://a.example/", &[IncidentCreated], true))
        .await
        .unwrap();
    let _other_event = s
        .create_webhook(new_webhook(
            "https://b.example/",
            &[ComponentStatusChanged],
            true,
        ))
        .await
        .unwrap();
    let _disabled = s
        .create_webhook(new_webhook("https://c.example/", &[IncidentCreated], false))
        .await
        .unwrap();
    let global = s
        .create_subscriber(verified("g@example.com", SubscribeTo::AllComponents))
        .await
        .unwrap()
        .0
        .id;

    // Not for webhooks: subscribers only.
    let mut n = new_incident("private", None, None);
    n.notice = Some(notice("private", Audience::Subscribers(vec![])));
    s.create_incident(n).await.unwrap();
    assert_eq!(targets(&deliveries(&s).await), to_subscribers(&[global]));

    // For webhooks, nobody subscribed: the one webhook that wants it.
    let mut n = new_incident("public", None, None);
    n.notice = Some(crate::notify::Notice {
        to_webhooks: true,
        ..notice("public", Audience::Nobody)
    });
    let i = s.create_incident(n).await.unwrap();
    let ds = deliveries(&s).await;
    assert_eq!(ds.len(), 2);
    assert_eq!(ds[1].target, Target::Webhook(wants.id));
    assert_eq!(ds[1].notice.event, IncidentCreated);
    assert_eq!(ds[1].notice.entity_id, Some(i.id.get()));

    // Both: the subscribers and the webhook, one notice.
    let mut n = new_incident("both", None, None);
    n.notice = Some(crate::notify::Notice {
        to_webhooks: true,
        ..notice("both", Audience::Subscribers(vec![]))
    });
    s.create_incident(n).await.unwrap();
    let ds = deliveries(&s).await;
    assert_eq!(
        targets(&ds[2..]),
        vec![Target::Subscriber(global), Target::Webhook(wants.id)]
    );
    assert_eq!(ds[2].notice, ds[3].notice);

    // A webhook that wants nothing of this: nothing queued at all.
    let mut n = new_incident("unwanted", None, None);
    n.notice = Some(crate::notify::Notice {
        event: MaintenanceCompleted,
        to_webhooks: true,
        ..notice("unwanted", Audience::Nobody)
    });
    s.create_incident(n).await.unwrap();
    assert_eq!(deliveries(&s).await.len(), 4);

    // A claim takes its own channel only.
    let at = now() + Duration::seconds(1);
    let hooks = s
        .claim_deliveries(&crate::notify::Claim {
            channel: Channel::Webhook,
            ..claim("w", at, 60, 10)
        })
        .await
        .unwrap();
    assert_eq!(
        hooks.iter().map(|d| d.target).collect::<Vec<_>>(),
        vec![Target::Webhook(wants.id); 2]
    );
    let mails = s.claim_deliveries(&claim("m", at, 60, 10)).await.unwrap();
    assert_eq!(
        mails.iter().map(|d| d.target).collect::<Vec<_>>(),
        vec![Target::Subscriber(global); 2]
    );
}

/// Incident changes, verification and unsubscribing queue their notices in their own write
/// (verification only on the call that verifies); `also` events reach the webhooks that
/// want them as notices of their own.
pub async fn outbox_notices_of_incident_changes_and_subscriber_steps(s: Shared) {
    use crate::notify::{Audience, EventKind::*, Notice, Target};
    let hook = s
        .create_webhook(new_webhook(
            "https://a.example/",
            &[
                IncidentUpdated,
                IncidentResolved,
                SubscriberVerified,
                SubscriberUnsubscribed,
            ],
            true,
        ))
        .await
        .unwrap();
    let for_hooks = |event, also: Vec<crate::notify::EventKind>| Notice {
        event,
        to_webhooks: true,
        also,
        ..notice("n", Audience::Nobody)
    };
    let i = s
        .create_incident(new_incident("down", None, None))
        .await
        .unwrap();
    s.update_incident(
        i.id,
        IncidentChanges {
            name: Some("still down".into()),
            notice: Some(for_hooks(IncidentUpdated, vec![IncidentResolved])),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let ds = deliveries(&s).await;
    let events: Vec<_> = ds.iter().map(|d| d.notice.event).collect();
    assert_eq!(events.len(), 2);
    assert!(events.contains(&IncidentUpdated) && events.contains(&IncidentResolved));
    assert!(ds
        .iter()
        .all(|d| d.target == Target::Webhook(hook.id) && d.notice.entity_id == Some(i.id.get())));
    assert_ne!(
        ds[0].notice.id, ds[1].notice.id,
        "each event its own notice"
    );
    // A failed change queues nothing.
    assert!(s
        .update_incident(
            IncidentId(999_999),
            IncidentChanges {
                notice: Some(for_hooks(IncidentUpdated, vec![])),
                ..Default::default()
            },
        )
        .await
        .is_err());
    assert_eq!(deliveries(&s).await.len(), 2);

    let sub = s
        .create_subscriber(new_subscriber("v@example.com", SubscribeTo::AllComponents))
        .await
        .unwrap()
        .0;
    let at = t(1_800_000_000);
    assert!(s
        .verify_subscriber(sub.id, at, Some(for_hooks(SubscriberVerified, vec![])))
        .await
        .unwrap());
    assert!(!s
        .verify_subscriber(sub.id, at, Some(for_hooks(SubscriberVerified, vec![])))
        .await
        .unwrap());
    let ds = deliveries(&s).await;
    assert_eq!(ds.len(), 3, "the second verification queues nothing");
    assert_eq!(ds[2].notice.event, SubscriberVerified);
    assert_eq!(ds[2].notice.entity_id, Some(sub.id.get()));
    s.delete_subscriber(sub.id, Some(for_hooks(SubscriberUnsubscribed, vec![])))
        .await
        .unwrap();
    assert!(s
        .delete_subscriber(sub.id, Some(for_hooks(SubscriberUnsubscribed, vec![])))
        .await
        .is_err());
    let ds = deliveries(&s).await;
    assert_eq!(ds.len(), 4, "a failed delete queues nothing");
    assert_eq!(ds[3].notice.event, SubscriberUnsubscribed);
    assert_eq!(ds[3].notice.entity_id, Some(sub.id.get()));
}

/// A window's announcement mark moves by a conditional write that queues its notice; of
/// racing moves from one mark exactly one wins; the unannounced list leaves out completed
/// and deleted windows.
pub async fn schedule_announcements_move_once(s: Shared) {
    use crate::maintenance::Announced;
    use crate::notify::{Audience, EventKind::*, Notice, Target};
    let hook = s
        .create_webhook(new_webhook(
            "https://a.example/",
            &[MaintenanceStarted],
            true,
        ))
        .await
        .unwrap();
    let window = |name: &str| NewSchedule {
        name: name.into(),
        message: None,
        status: ScheduleStatus::Upcoming,
        scheduled_at: t(1_900_000_000),
        completed_at: None,
        components: vec![],
        notice: None,
    };
    let a = s.create_schedule(window("a")).await.unwrap();
    let b = s.create_schedule(window("b")).await.unwrap();
    let gone = s.create_schedule(window("gone")).await.unwrap();
    assert_eq!(a.announced, Announced::Nothing);
    s.delete_schedule(gone.id).await.unwrap();
    assert_eq!(s.unannounced_schedules().await.unwrap(), vec![a.id, b.id]);

    let started = || Notice {
        event: MaintenanceStarted,
        to_webhooks: true,
        ..notice("started", Audience::Nobody)
    };
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let s = s.clone();
            let n = started();
            tokio::spawn(async move {
                s.announce_schedule(a.id, Announced::Nothing, Announced::Started, Some(n))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut wins = 0;
    for r in racers {
        wins += usize::from(r.await.unwrap());
    }
    assert_eq!(wins, 1, "exactly one move wins");
    assert_eq!(
        s.get_schedule(a.id).await.unwrap().announced,
        Announced::Started
    );
    let ds = deliveries(&s).await;
    assert_eq!(ds.len(), 1, "one notice for one move");
    assert_eq!(ds[0].target, Target::Webhook(hook.id));
    assert_eq!(ds[0].notice.entity_id, Some(a.id.get()));

    // A stale mark, or a deleted window: nothing moves, nothing is queued.
    assert!(!s
        .announce_schedule(
            a.id,
            Announced::Nothing,
            Announced::Started,
            Some(started())
        )
        .await
        .unwrap());
    assert!(!s
        .announce_schedule(
            gone.id,
            Announced::Nothing,
            Announced::Started,
            Some(started())
        )
        .await
        .unwrap());
    assert!(s
        .announce_schedule(a.id, Announced::Started, Announced::Completed, None)
        .await
        .unwrap());
    assert_eq!(deliveries(&s).await.len(), 1);
    assert_eq!(s.unannounced_schedules().await.unwrap(), vec![b.id]);
    // A schedule write keeps the mark.
    s.update_schedule(
        a.id,
        ScheduleChanges {
            name: Some("a2".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        s.get_schedule(a.id).await.unwrap().announced,
        Announced::Completed
    );
}
