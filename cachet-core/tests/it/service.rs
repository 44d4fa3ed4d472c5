//! The service's rules, each with the value it must produce (DESIGN.md "Rules that bugs in
//! the peers taught", the role matrix through the service, validation collecting fields).

use std::sync::Arc;

use cachet_core::crypto::DataKey;
use cachet_core::enums::*;
use cachet_core::error::{Entity, Error};
use cachet_core::input::*;
use cachet_core::memory::MemoryStore;
use cachet_core::policy::{Actor, Principal};
use cachet_core::rollup::OverallLevel;
use cachet_core::store::*;
use cachet_core::StatusPage;
use chrono::{TimeZone, Utc};

async fn service() -> StatusPage {
    StatusPage::new(Arc::new(MemoryStore::new()), DataKey::generate().0)
        .await
        .unwrap()
}

const SYS: Actor = Actor::System;

async fn user(s: &StatusPage, name: &str, role: Role) -> Actor {
    let u = s
        .create_user(
            &SYS,
            UserInput {
                username: name.into(),
                email: format!("{name}@example.com"),
                password: "plinth-oxbow-quietus-8".into(),
                role,
            },
        )
        .await
        .unwrap();
    Actor::User(Principal::new(u.id, role))
}

/// A visible, investigating incident named "Outage" with `message`.
fn outage(message: &str) -> IncidentInput {
    IncidentInput {
        name: Some("Outage".into()),
        status: Some(1),
        message: Some(message.into()),
        visible: Some(1),
        ..Default::default()
    }
}

fn component(name: &str, status: i64) -> ComponentInput {
    ComponentInput {
        name: Some(name.into()),
        status: Some(status),
        ..Default::default()
    }
}

/// A disabled component: guests may not see it.
async fn hidden_component(s: &StatusPage, name: &str) -> cachet_core::model::Component {
    s.create_component(
        &SYS,
        ComponentInput {
            enabled: Some(false),
            ..component(name, 1)
        },
    )
    .await
    .unwrap()
}

fn incident(name: &str) -> IncidentInput {
    IncidentInput {
        name: Some(name.into()),
        status: Some(1),
        message: Some("Looking into it".into()),
        ..Default::default()
    }
}

fn fields(e: Error) -> Vec<String> {
    match e {
        Error::Invalid(v) => v.errors().iter().map(|f| f.field.clone()).collect(),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn local_times_are_read_in_the_requested_or_configured_zone() {
    let s = service().await;
    let mx = cachet_core::time::parse_zone("America/Mexico_City").unwrap();
    let i = s
        .create_incident(
            &SYS,
            IncidentInput {
                occurred_at: Some("2024-05-01 13:45".into()),
                time_zone: Some(mx),
                ..incident("a")
            },
        )
        .await
        .unwrap();
    assert_eq!(
        i.occurred_at,
        Utc.with_ymd_and_hms(2024, 5, 1, 19, 45, 0).unwrap()
    );
    s.update_settings(&SYS, &[("app_timezone".into(), "Europe/Paris".into())])
        .await
        .unwrap();
    let i = s
        .create_incident(
            &SYS,
            IncidentInput {
                occurred_at: Some("2024-05-01 13:45".into()),
                ..incident("b")
            },
        )
        .await
        .unwrap();
    assert_eq!(
        i.occurred_at,
        Utc.with_ymd_and_hms(2024, 5, 1, 11, 45, 0).unwrap()
    );
    let e = s
        .create_incident(
            &SYS,
            IncidentInput {
                occurred_at: Some("2024-05-01T13:45:00Z".into()),
                ..incident("c")
            },
        )
        .await
        .unwrap_err();
    assert_eq!(fields(e), vec!["occurred_at"]);
}

#[tokio::test]
async fn group_status_is_the_worst_enabled_member_whatever_the_order() {
    let s = service().await;
    let g = s
        .create_group(
            &SYS,
            GroupInput {
                name: Some("g".into()),
                visible: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let gid = Some(g.group.id.get());
    s.create_component(
        &SYS,
        ComponentInput {
            group_id: gid,
            order: Some(1),
            ..component("a", 1)
        },
    )
    .await
    .unwrap();
    s.create_component(
        &SYS,
        ComponentInput {
            group_id: gid,
            order: Some(2),
            enabled: Some(false),
            ..component("b", 4)
        },
    )
    .await
    .unwrap();
    s.create_component(
        &SYS,
        ComponentInput {
            group_id: gid,
            order: Some(0),
            ..component("c", 3)
        },
    )
    .await
    .unwrap();
    let snap = s.snapshot(&Actor::Guest).await.unwrap();
    assert_eq!(snap.groups[0].status, Some(ComponentStatus::PartialOutage));
    assert_eq!(snap.groups[0].components.len(), 2);
    let detail = s.get_group(&Actor::Guest, g.group.id).await.unwrap();
    assert_eq!(detail.lowest_status, Some(ComponentStatus::PartialOutage));
    assert_eq!(
        detail
            .enabled_components
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        vec!["c", "a"]
    );
}

#[tokio::test]
async fn effective_status_follows_unresolved_incidents_and_maintenance() {
    let s = service().await;
    let c = s.create_component(&SYS, component("db", 1)).await.unwrap();
    let i = s
        .create_incident(
            &SYS,
            IncidentInput {
                component_id: Some(c.id.get()),
                component_status: Some(3),
                ..incident("slow")
            },
        )
        .await
        .unwrap();
    // The incident set the component's status; put it back by hand: the open incident's
    // impact still shows.
    s.update_component(
        &SYS,
        c.id,
        ComponentInput {
            status: Some(1),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let snap = s.snapshot(&Actor::Guest).await.unwrap();
    assert_eq!(
        snap.ungrouped[0].component.status,
        ComponentStatus::Operational
    );
    assert_eq!(snap.ungrouped[0].effective, ComponentStatus::PartialOutage);
    assert_eq!(snap.overall.level, OverallLevel::Info);
    s.create_update(
        &SYS,
        i.id,
        IncidentUpdateInput {
            status: Some(4),
            message: Some("Fixed".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let snap = s.snapshot(&Actor::Guest).await.unwrap();
    assert_eq!(snap.ungrouped[0].effective, ComponentStatus::Operational);
    assert_eq!(snap.overall.level, OverallLevel::Success);
    assert_eq!(snap.overall.message, "System operational");
    // In-progress maintenance worsens it too.
    s.create_schedule(
        &SYS,
        ScheduleInput {
            name: Some("upgrade".into()),
            status: Some(1),
            scheduled_at: Some("2020-01-01 00:00".into()),
            components: Some(vec![(c.id.get(), Some(2))]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let snap = s.snapshot(&Actor::Guest).await.unwrap();
    assert_eq!(
        snap.ungrouped[0].effective,
        ComponentStatus::PerformanceIssues
    );
    assert_eq!(snap.maintenance_now.len(), 1);
}

#[tokio::test]
async fn an_incident_is_resolved_by_its_newest_update() {
    let s = service().await;
    let i = s.create_incident(&SYS, incident("x")).await.unwrap();
    s.create_update(
        &SYS,
        i.id,
        IncidentUpdateInput {
            status: Some(4),
            message: Some("ok".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(cachet_core::rollup::is_resolved(
        &s.get_incident(&SYS, i.id).await.unwrap()
    ));
    s.create_update(
        &SYS,
        i.id,
        IncidentUpdateInput {
            status: Some(2),
            message: Some("back".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let got = s.get_incident(&SYS, i.id).await.unwrap();
    assert!(!cachet_core::rollup::is_resolved(&got));
    assert_eq!(got.status, IncidentStatus::Identified);
    assert_eq!(
        s.overall_status(&Actor::Guest).await.unwrap().level,
        OverallLevel::Info
    );
}

#[tokio::test]
async fn guests_never_see_non_public_items() {
    let s = service().await;
    let private = s
        .create_group(
            &SYS,
            GroupInput {
                name: Some("internal".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let hidden = s
        .create_component(
            &SYS,
            ComponentInput {
                group_id: Some(private.group.id.get()),
                ..component("hidden", 4)
            },
        )
        .await
        .unwrap();
    let disabled = s
        .create_component(
            &SYS,
            ComponentInput {
                enabled: Some(false),
                ..component("off", 4)
            },
        )
        .await
        .unwrap();
    let public = s.create_component(&SYS, component("web", 1)).await.unwrap();
    let secret = s
        .create_incident(
            &SYS,
            IncidentInput {
                visible: Some(0),
                ..incident("secret")
            },
        )
        .await
        .unwrap();
    let guest = Actor::Guest;
    // Lists.
    let comps = s
        .list_components(&guest, ListQuery::new(1, 50, ComponentFilter::default()))
        .await
        .unwrap();
    assert_eq!(
        comps.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![public.id]
    );
    assert_eq!(comps.total, 1);
    assert_eq!(
        s.list_groups(&guest, ListQuery::new(1, 50, GroupFilter::default()))
            .await
            .unwrap()
            .total,
        0
    );
    assert_eq!(
        s.list_incidents(&guest, ListQuery::new(1, 50, IncidentFilter::default()))
            .await
            .unwrap()
            .total,
        0
    );
    // By id.
    assert!(matches!(
        s.get_component(&guest, hidden.id).await,
        Err(Error::NotFound(Entity::Component))
    ));
    assert!(matches!(
        s.get_component(&guest, disabled.id).await,
        Err(Error::NotFound(Entity::Component))
    ));
    assert!(matches!(
        s.get_group(&guest, private.group.id).await,
        Err(Error::NotFound(Entity::Group))
    ));
    assert!(matches!(
        s.get_incident(&guest, secret.id).await,
        Err(Error::NotFound(Entity::Incident))
    ));
    assert!(matches!(
        s.list_updates(&guest, secret.id, &ListQuery::new(1, 10, ()))
            .await,
        Err(Error::NotFound(Entity::Incident))
    ));
    // Aggregates: the hidden major outage and the secret open incident do not count.
    let o = s.overall_status(&guest).await.unwrap();
    assert_eq!(
        (o.level, o.message),
        (OverallLevel::Success, "System operational")
    );
    let viewer = user(&s, "viewer", Role::Viewer).await;
    let o = s.overall_status(&viewer).await.unwrap();
    assert_eq!(o.level, OverallLevel::Danger);
    assert_eq!(
        s.list_components(&viewer, ListQuery::new(1, 50, ComponentFilter::default()))
            .await
            .unwrap()
            .total,
        3
    );
    assert_eq!(
        s.get_incident(&viewer, secret.id).await.unwrap().id,
        secret.id
    );
    // Metrics.
    let m = s
        .create_metric(
            &SYS,
            MetricInput {
                name: Some("m".into()),
                suffix: Some("ms".into()),
                default_value: Some(0.0),
                visible: Some(0),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        s.list_metrics(&guest, ListQuery::new(1, 10, MetricFilter::default()))
            .await
            .unwrap()
            .total,
        0
    );
    assert!(matches!(
        s.get_metric(&guest, m.id).await,
        Err(Error::NotFound(Entity::Metric))
    ));
    assert!(s.metric_chart(&guest, m.id, None, None).await.is_err());
}

#[tokio::test]
async fn a_window_that_ends_before_it_starts_names_the_field() {
    let s = service().await;
    let e = s
        .create_schedule(
            &SYS,
            ScheduleInput {
                name: Some("m".into()),
                status: Some(0),
                scheduled_at: Some("2030-01-02 10:00".into()),
                completed_at: Some("2030-01-02 09:00".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(fields(e), vec!["completed_at"]);
    let ok = s
        .create_schedule(
            &SYS,
            ScheduleInput {
                name: Some("m".into()),
                status: Some(0),
                scheduled_at: Some("2030-01-02 10:00".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // Moving only the end before the stored start is caught on update too.
    let e = s
        .update_schedule(
            &SYS,
            ok.id,
            ScheduleInput {
                completed_at: Some("2030-01-01 00:00".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(fields(e), vec!["completed_at"]);
    assert_eq!(
        s.get_schedule(&SYS, ok.id).await.unwrap().completed_at,
        None
    );
}

#[tokio::test]
async fn metric_points_keep_decimals_and_reject_non_finite_values() {
    let s = service().await;
    let m = s
        .create_metric(
            &SYS,
            MetricInput {
                name: Some("m".into()),
                suffix: Some("ms".into()),
                default_value: Some(0.5),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(m.default_value, 0.5);
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300] {
        let e = s
            .record_point(
                &SYS,
                m.id,
                PointInput {
                    value: Some(bad),
                    timestamp: None,
                },
            )
            .await
            .unwrap_err();
        assert_eq!(fields(e), vec!["value"]);
    }
    let ts = Utc
        .with_ymd_and_hms(2024, 5, 1, 13, 0, 44)
        .unwrap()
        .timestamp();
    let p = s
        .record_point(
            &SYS,
            m.id,
            PointInput {
                value: Some(12.345),
                timestamp: Some(ts),
            },
        )
        .await
        .unwrap();
    assert_eq!(p.value, 12.345);
    assert_eq!(
        p.created_at,
        Utc.with_ymd_and_hms(2024, 5, 1, 13, 0, 30).unwrap()
    );
    // The same value within the threshold (measured from now, as in Cachet) bumps the
    // counter; the old point above is outside that window.
    let now1 = s
        .record_point(
            &SYS,
            m.id,
            PointInput {
                value: Some(12.345),
                timestamp: None,
            },
        )
        .await
        .unwrap();
    assert_ne!(now1.id, p.id);
    let again = s
        .record_point(
            &SYS,
            m.id,
            PointInput {
                value: Some(12.345),
                timestamp: None,
            },
        )
        .await
        .unwrap();
    assert_eq!((again.id, again.counter), (now1.id, 2));
    assert_eq!(
        s.list_points(&SYS, m.id, &ListQuery::new(1, 10, ()))
            .await
            .unwrap()
            .total,
        2
    );
    let e = s
        .create_metric(
            &SYS,
            MetricInput {
                name: Some("m".into()),
                suffix: Some("x".into()),
                default_value: Some(0.0),
                threshold: Some(7),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    match e {
        Error::Invalid(v) => assert_eq!(v.errors()[0].message, "Threshold must divide by 60."),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn duplicate_subscriber_email_returns_the_existing_one() {
    let s = service().await;
    let c = s.create_component(&SYS, component("API", 1)).await.unwrap();
    let (a, created) = s
        .create_subscriber(
            &SYS,
            SubscriberInput {
                email: Some("ann@example.com".into()),
                verify: Some(true),
                components: None,
            },
        )
        .await
        .unwrap();
    assert!(created && a.global && a.verified_at.is_some());
    let (b, created) = s
        .create_subscriber(
            &SYS,
            SubscriberInput {
                email: Some("ann@EXAMPLE.com".into()),
                verify: None,
                components: Some(vec![c.id.get()]),
            },
        )
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(a.id, b.id);
    let e = s
        .create_subscriber(
            &SYS,
            SubscriberInput {
                email: Some("not-an-email".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(fields(e), vec!["email"]);
}

#[tokio::test]
async fn validation_collects_every_field_and_writes_nothing() {
    let s = service().await;
    let e = s
        .create_component(
            &SYS,
            ComponentInput {
                name: None,
                status: Some(9),
                link: Some("javascript:alert(1)".into()),
                group_id: Some(-1),
                meta: Some(serde_json::json!(3)),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        fields(e),
        vec!["name", "link", "status", "group_id", "meta"]
    );
    let e = s
        .create_incident(
            &SYS,
            IncidentInput {
                component_id: Some(1),
                message: Some(" ".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        fields(e),
        vec!["name", "status", "component_status", "message"]
    );
    let e = s
        .create_incident(
            &SYS,
            IncidentInput {
                component_id: Some(999),
                component_status: Some(2),
                ..incident("x")
            },
        )
        .await
        .unwrap_err();
    assert_eq!(fields(e), vec!["component_id"]);
    let e = s
        .create_incident(
            &SYS,
            IncidentInput {
                message: Some(">".repeat(100)),
                ..incident("x")
            },
        )
        .await
        .unwrap_err();
    assert_eq!(fields(e), vec!["message"]);
    assert_eq!(
        s.list_components(&SYS, ListQuery::new(1, 10, ComponentFilter::default()))
            .await
            .unwrap()
            .total,
        0
    );
    assert_eq!(
        s.list_incidents(&SYS, ListQuery::new(1, 10, IncidentFilter::default()))
            .await
            .unwrap()
            .total,
        0
    );
}

#[tokio::test]
async fn roles_are_enforced_by_the_service() {
    let s = service().await;
    let c = s.create_component(&SYS, component("api", 1)).await.unwrap();
    let reporter = user(&s, "bot", Role::Reporter).await;
    let viewer = user(&s, "view", Role::Viewer).await;
    let manager = user(&s, "boss", Role::Manager).await;
    // A reporter may set a status, not rename or delete.
    let changed = s
        .update_component(
            &reporter,
            c.id,
            ComponentInput {
                status: Some(3),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.status, ComponentStatus::PartialOutage);
    assert!(matches!(
        s.update_component(
            &reporter,
            c.id,
            ComponentInput {
                name: Some("x".into()),
                ..Default::default()
            }
        )
        .await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        s.delete_component(&reporter, c.id).await,
        Err(Error::Forbidden)
    ));
    let i = s
        .create_incident(&reporter, incident("bot incident"))
        .await
        .unwrap();
    assert!(matches!(
        s.delete_incident(&reporter, i.id).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        s.create_incident(&viewer, incident("no")).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        s.create_incident(&Actor::Guest, incident("no")).await,
        Err(Error::Unauthenticated)
    ));
    assert!(matches!(
        s.list_subscribers(&manager, &ListQuery::new(1, 10, ()))
            .await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        s.update_settings(&manager, &[("app_name".into(), "x".into())])
            .await,
        Err(Error::Forbidden)
    ));
    s.delete_incident(&manager, i.id).await.unwrap();
    // Denials are audited.
    let audit = s
        .list_audit(
            &SYS,
            &ListQuery::new(
                1,
                50,
                AuditFilter {
                    kind: Some("authz.denied".into()),
                    ..Default::default()
                },
            ),
        )
        .await
        .unwrap();
    assert_eq!(audit.total, 6);
}

#[tokio::test]
async fn tokens_authenticate_with_their_users_role_until_revoked_or_disabled() {
    let s = service().await;
    let (admin, _password, secret) = s
        .bootstrap("admin", "admin@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(s
        .bootstrap("admin2", "admin2@example.com")
        .await
        .unwrap()
        .is_none());
    let actor = s.authenticate_token(&secret).await.unwrap();
    assert_eq!(
        actor,
        Actor::User(Principal {
            credential: cachet_core::policy::Credential::Token,
            ..Principal::new(admin.id, Role::Admin)
        })
    );
    assert!(matches!(
        s.authenticate_token("cct_wrong").await,
        Err(Error::Unauthenticated)
    ));
    assert!(matches!(
        s.authenticate_token("").await,
        Err(Error::Unauthenticated)
    ));
    let bot = s
        .create_user(
            &SYS,
            UserInput {
                username: "bot".into(),
                email: "bot@example.com".into(),
                password: "plinth-oxbow-quietus-8".into(),
                role: Role::Reporter,
            },
        )
        .await
        .unwrap();
    let (tok, bot_secret) = s
        .create_token(
            &actor,
            bot.id,
            TokenInput {
                name: "monitor".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(bot_secret.starts_with(&tok.prefix));
    assert_eq!(
        s.authenticate_token(&bot_secret).await.unwrap().role(),
        Some(Role::Reporter)
    );
    s.update_user(&actor, bot.id, None, Some(false))
        .await
        .unwrap();
    assert!(matches!(
        s.authenticate_token(&bot_secret).await,
        Err(Error::Unauthenticated)
    ));
    s.update_user(&actor, bot.id, None, Some(true))
        .await
        .unwrap();
    s.revoke_token_by_secret_or_prefix(&actor, &tok.prefix)
        .await
        .unwrap();
    assert!(matches!(
        s.authenticate_token(&bot_secret).await,
        Err(Error::Unauthenticated)
    ));
    let failed = s
        .list_audit(
            &SYS,
            &ListQuery::new(
                1,
                50,
                AuditFilter {
                    kind: Some("token.failed".into()),
                    ..Default::default()
                },
            ),
        )
        .await
        .unwrap();
    // Unknown, inactive user, revoked (an empty token is refused before any lookup).
    assert_eq!(failed.total, 3);
    assert!(failed.items.iter().all(|e| !e.detail.contains(&bot_secret)));
    let short = s
        .create_user(
            &SYS,
            UserInput {
                username: "x".into(),
                email: "x@example.com".into(),
                password: "short".into(),
                role: Role::Viewer,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(fields(short), vec!["password"]);
}

#[tokio::test]
async fn templates_render_sandboxed_and_are_checked_on_save() {
    let s = service().await;
    let e = s
        .create_template(
            &SYS,
            TemplateInput {
                name: Some("bad".into()),
                template: Some("{{ _self.env.registerUndefinedFilterCallback('exec') }}".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(fields(e), vec!["template"]);
    let t = s
        .create_template(
            &SYS,
            TemplateInput {
                name: Some("Outage Notice".into()),
                template: Some(
                    "Name: {{ name }},\nMessage: {{ message }} in {{ incident.name }}".into(),
                ),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(t.slug, "outage-notice");
    let i = s
        .create_incident(
            &SYS,
            IncidentInput {
                template: Some("outage-notice".into()),
                vars: Some(serde_json::json!({"name": "Foo", "message": "<b>Hello</b>"})),
                message: None,
                ..incident("API")
            },
        )
        .await
        .unwrap();
    assert_eq!(
        i.message,
        "Name: Foo,\nMessage: &lt;b&gt;Hello&lt;/b&gt; in API"
    );
    assert!(!i.message_html.as_str().contains("<b>"));
}

#[tokio::test]
async fn guest_snapshot_is_shared_until_a_write() {
    let s = service().await;
    let a = s.snapshot(&Actor::Guest).await.unwrap();
    let b = s.snapshot(&Actor::Guest).await.unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    s.create_component(&SYS, component("new", 1)).await.unwrap();
    let c = s.snapshot(&Actor::Guest).await.unwrap();
    assert!(!Arc::ptr_eq(&a, &c));
    assert_eq!(c.ungrouped.len(), 1);
    assert_eq!(a.ungrouped.len(), 0);
}

#[tokio::test]
async fn anonymous_reads_with_bad_tokens_are_guests_and_leave_no_audit_trail() {
    let s = service().await;
    let (_, _, secret) = s
        .bootstrap("admin", "admin@example.com")
        .await
        .unwrap()
        .unwrap();
    for _ in 0..5 {
        assert_eq!(
            s.identify_reader(Some("cct_bogus")).await.unwrap(),
            Actor::Guest
        );
    }
    assert_eq!(s.identify_reader(None).await.unwrap(), Actor::Guest);
    assert_eq!(
        s.identify_reader(Some(&secret)).await.unwrap().role(),
        Some(Role::Admin)
    );
    let failed = s
        .list_audit(
            &SYS,
            &ListQuery::new(
                1,
                50,
                AuditFilter {
                    kind: Some("token.failed".into()),
                    ..Default::default()
                },
            ),
        )
        .await
        .unwrap();
    assert_eq!(failed.total, 0);
}

#[tokio::test]
async fn guests_do_not_see_private_components_in_schedule_rows() {
    let s = service().await;
    let public = s.create_component(&SYS, component("web", 1)).await.unwrap();
    let hidden = hidden_component(&s, "internal").await;
    let m = s
        .create_schedule(
            &SYS,
            ScheduleInput {
                name: Some("upgrade".into()),
                status: Some(0),
                scheduled_at: Some("2031-01-01 00:00".into()),
                components: Some(vec![(public.id.get(), Some(2)), (hidden.id.get(), Some(4))]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let rows = |sch: cachet_core::model::Schedule| {
        sch.components
            .iter()
            .map(|r| r.component_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        rows(s.get_schedule(&Actor::Guest, m.id).await.unwrap()),
        vec![public.id]
    );
    assert_eq!(
        rows(
            s.list_schedules(&Actor::Guest, &ListQuery::new(1, 10, ()))
                .await
                .unwrap()
                .items
                .remove(0)
        ),
        vec![public.id]
    );
    assert_eq!(
        rows(s.get_schedule(&SYS, m.id).await.unwrap()),
        vec![public.id, hidden.id]
    );
}

/// A group's status and members cover every member, not one capped page of them.
#[tokio::test]
async fn group_aggregates_cover_more_members_than_one_page() {
    let s = service().await;
    let g = s
        .create_group(
            &SYS,
            GroupInput {
                name: Some("big".into()),
                visible: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let members = usize::try_from(MAX_PER_PAGE).unwrap() + 1;
    for i in 0..members {
        // The last one sorts last (highest order) and is the only one down.
        let status = if i + 1 == members { 4 } else { 1 };
        s.create_component(
            &SYS,
            ComponentInput {
                group_id: Some(g.group.id.get()),
                order: Some(i64::try_from(i).unwrap()),
                ..component(&format!("c{i}"), status)
            },
        )
        .await
        .unwrap();
    }
    let guest = Actor::Guest;
    let detail = s.get_group(&guest, g.group.id).await.unwrap();
    assert_eq!(detail.enabled_components.len(), members);
    assert_eq!(detail.lowest_status, Some(ComponentStatus::MajorOutage));
}

/// A public incident on a hidden component does not reveal that component to guests: not
/// by its link, not through a filter on it.
#[tokio::test]
async fn guests_do_not_see_links_to_hidden_components() {
    let s = service().await;
    let hidden = hidden_component(&s, "internal").await;
    let i = s
        .create_incident(
            &SYS,
            IncidentInput {
                component_id: Some(hidden.id.get()),
                component_status: Some(3),
                visible: Some(1),
                ..incident("db")
            },
        )
        .await
        .unwrap();
    let guest = Actor::Guest;
    let seen = s.get_incident(&guest, i.id).await.unwrap();
    assert_eq!((seen.component_id, seen.impact), (None, None));
    let by_component = |actor: Actor| {
        let s = &s;
        async move {
            let filter = IncidentFilter {
                component_id: Some(Some(hidden.id)),
                ..Default::default()
            };
            s.list_incidents(&actor, ListQuery::new(1, 20, filter))
                .await
                .unwrap()
        }
    };
    let page = by_component(guest.clone()).await;
    assert_eq!((page.total, page.items.len()), (0, 0));
    // Signed-in readers still see the link.
    let viewer = user(&s, "v", Role::Viewer).await;
    let page = by_component(viewer.clone()).await;
    assert_eq!(page.total, 1);
    assert_eq!(page.items[0].component_id, Some(hidden.id));
    assert_eq!(
        s.get_incident(&viewer, i.id).await.unwrap().component_id,
        Some(hidden.id)
    );
}

/// A flood of made-up tokens cannot grow the audit log without bound: each failure kind is
/// recorded at most `audit::PER_WINDOW` times a minute, and the rest are counted.
#[tokio::test]
async fn failure_audits_are_budgeted() {
    let s = service().await;
    let count = |kind: &'static str| {
        let s = &s;
        async move {
            s.list_audit(
                &SYS,
                &ListQuery::new(
                    1,
                    10,
                    AuditFilter {
                        kind: Some(kind.into()),
                        ..Default::default()
                    },
                ),
            )
            .await
            .unwrap()
            .total
        }
    };
    let flood = cachet_core::audit::PER_WINDOW * 3;
    for i in 0..flood {
        assert!(matches!(
            s.authenticate_token(&format!("cct_bogus{i}")).await,
            Err(Error::Unauthenticated)
        ));
    }
    assert_eq!(
        count("token.failed").await,
        u64::from(cachet_core::audit::PER_WINDOW)
    );
    // Denials have a budget of their own, and real changes are always written.
    let viewer = user(&s, "v", Role::Viewer).await;
    for _ in 0..flood {
        assert!(matches!(
            s.create_component(&viewer, component("x", 1)).await,
            Err(Error::Forbidden)
        ));
    }
    assert_eq!(
        count("authz.denied").await,
        u64::from(cachet_core::audit::PER_WINDOW)
    );
}

/// PostgreSQL's text columns cannot hold NUL: every store refuses it the same way, as a
/// validation error naming the field, before anything is written.
#[tokio::test]
async fn nul_characters_are_refused_in_every_message_and_template() {
    let s = service().await;
    let e = s
        .create_incident(&SYS, outage("pasted \u{0} text"))
        .await
        .unwrap_err();
    assert_eq!(fields(e), vec!["message"]);
    let e = s
        .create_schedule(
            &SYS,
            ScheduleInput {
                name: Some("Upgrade".into()),
                message: Some("\u{0}".into()),
                status: Some(0),
                scheduled_at: Some("2030-01-01 10:00:00".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(fields(e), vec!["message"]);
    let e = s
        .create_template(
            &SYS,
            TemplateInput {
                name: Some("t".into()),
                template: Some("a\u{0}b".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(fields(e), vec!["template"]);
    let incidents = s
        .list_incidents(&SYS, ListQuery::new(1, 10, IncidentFilter::default()))
        .await
        .unwrap();
    assert_eq!(incidents.total, 0);
}

/// Remote images appear only from the origins in the `image_origins` setting.
#[tokio::test]
async fn remote_images_follow_the_image_origins_setting() {
    let s = service().await;
    let before = s
        .create_incident(
            &SYS,
            outage("![graph](https://grafana.example.com/render/x.png)"),
        )
        .await
        .unwrap();
    assert!(!before.message_html.as_str().contains("grafana"));
    s.update_settings(
        &SYS,
        &[("image_origins".into(), "https://grafana.example.com".into())],
    )
    .await
    .unwrap();
    let after = s
        .create_incident(
            &SYS,
            outage("![graph](https://grafana.example.com/render/x.png)"),
        )
        .await
        .unwrap();
    assert!(after
        .message_html
        .as_str()
        .contains("src=\"https://grafana.example.com/render/x.png\""));
    assert!(s
        .update_settings(&SYS, &[("image_origins".into(), "javascript:x".into())])
        .await
        .is_err());
}

#[tokio::test]
async fn status_history_names_the_source_the_actor_and_use_case_give() {
    let s = service().await;
    let c = s.create_component(&SYS, component("api", 1)).await.unwrap();
    let session = user(&s, "person", Role::Reporter).await;
    let (_, _, secret) = s
        .bootstrap("admin", "admin@example.com")
        .await
        .unwrap()
        .unwrap();
    let token = s.authenticate_token(&secret).await.unwrap();
    let status = |v| ComponentInput {
        status: Some(v),
        ..Default::default()
    };
    s.update_component(&session, c.id, status(2)).await.unwrap();
    s.update_component(&token, c.id, status(3)).await.unwrap();
    s.update_component(&SYS, c.id, status(1)).await.unwrap();
    // The same status again, and a change of something else: nothing to record.
    s.update_component(&SYS, c.id, status(1)).await.unwrap();
    s.update_component(
        &SYS,
        c.id,
        ComponentInput {
            name: Some("API".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // An incident sets the status whoever creates it: the source is the incident.
    s.create_incident(
        &session,
        IncidentInput {
            component_id: Some(c.id.get()),
            component_status: Some(4),
            ..incident("down")
        },
    )
    .await
    .unwrap();
    // A window in progress applies at once (the service runs maintenance after the write).
    let window = s
        .create_schedule(
            &SYS,
            ScheduleInput {
                name: Some("upgrade".into()),
                status: Some(1),
                scheduled_at: Some("2020-01-01 00:00".into()),
                components: Some(vec![(c.id.get(), Some(2))]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // Its status is better than the outage: nothing changes until it ends and someone
    // sets the status lower.
    s.update_component(&token, c.id, status(1)).await.unwrap();
    assert_eq!(
        s.get_component(&SYS, c.id).await.unwrap().status,
        ComponentStatus::Operational
    );
    assert!(
        s.apply_maintenance().await.unwrap().is_empty(),
        "a report stands"
    );
    s.delete_schedule(&SYS, window.id).await.unwrap();
    let history = s
        .component_history(&Actor::Guest, c.id, 1, 50)
        .await
        .unwrap()
        .items;
    let seen: Vec<(i64, i64, StatusSource)> = history
        .iter()
        .map(|h| (h.old.as_i64(), h.new.as_i64(), h.source))
        .collect();
    assert_eq!(
        seen,
        [
            (4, 1, StatusSource::Api),
            (1, 4, StatusSource::Incident),
            (3, 1, StatusSource::System),
            (2, 3, StatusSource::Api),
            (1, 2, StatusSource::Dashboard),
        ]
    );
    let second = s.component_history(&SYS, c.id, 2, 2).await.unwrap();
    assert_eq!((second.items.as_slice(), second.total), (&history[2..4], 5));
    // per_page is clamped to MAX_STATUS_HISTORY, page 0 reads as 1.
    let all = s.component_history(&SYS, c.id, 0, 10_000).await.unwrap();
    assert_eq!(all.items, history);
    let one = s.component_history(&SYS, c.id, 1, 0).await.unwrap();
    assert_eq!(one.items, history[..1]);
}

#[tokio::test]
async fn maintenance_sets_statuses_when_windows_start_and_end() {
    let s = service().await;
    let c = s.create_component(&SYS, component("db", 1)).await.unwrap();
    let w = s
        .create_schedule(
            &SYS,
            ScheduleInput {
                name: Some("upgrade".into()),
                status: Some(1),
                scheduled_at: Some("2020-01-01 00:00".into()),
                components: Some(vec![(c.id.get(), Some(3))]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        s.get_component(&SYS, c.id).await.unwrap().status,
        ComponentStatus::PartialOutage
    );
    // Marking it complete gives the component its status back.
    s.update_schedule(
        &SYS,
        w.id,
        ScheduleInput {
            status: Some(2),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        s.get_component(&SYS, c.id).await.unwrap().status,
        ComponentStatus::Operational
    );
    let history = s.component_history(&SYS, c.id, 1, 10).await.unwrap().items;
    assert_eq!(
        history
            .iter()
            .map(|h| (h.old, h.new, h.source))
            .collect::<Vec<_>>(),
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
    // The guest snapshot was rebuilt: the page no longer shows the window.
    let snap = s.snapshot(&Actor::Guest).await.unwrap();
    assert_eq!(snap.ungrouped[0].effective, ComponentStatus::Operational);
    assert!(s.apply_maintenance().await.unwrap().is_empty());
}

#[tokio::test]
async fn guests_see_the_history_of_public_components_only() {
    let s = service().await;
    let shown = s
        .create_component(&SYS, component("shown", 1))
        .await
        .unwrap();
    let disabled = hidden_component(&s, "disabled").await;
    let private = s
        .create_group(
            &SYS,
            GroupInput {
                name: Some("internal".into()),
                visible: Some(0),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let grouped = s
        .create_component(
            &SYS,
            ComponentInput {
                group_id: Some(private.group.id.get()),
                ..component("grouped", 1)
            },
        )
        .await
        .unwrap();
    for c in [shown.id, disabled.id, grouped.id] {
        s.update_component(
            &SYS,
            c,
            ComponentInput {
                status: Some(4),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    assert_eq!(
        s.component_history(&Actor::Guest, shown.id, 1, 10)
            .await
            .unwrap()
            .total,
        1
    );
    for hidden in [
        disabled.id,
        grouped.id,
        cachet_core::ids::ComponentId(999_999),
    ] {
        assert!(
            matches!(
                s.component_history(&Actor::Guest, hidden, 1, 10).await,
                Err(Error::NotFound(Entity::Component))
            ),
            "{hidden}"
        );
    }
    let viewer = user(&s, "viewer", Role::Viewer).await;
    assert_eq!(
        s.component_history(&viewer, grouped.id, 1, 10)
            .await
            .unwrap()
            .total,
        1
    );
    s.update_settings(&SYS, &[("always_authenticate".into(), "1".into())])
        .await
        .unwrap();
    assert!(matches!(
        s.component_history(&Actor::Guest, shown.id, 1, 10).await,
        Err(Error::Unauthenticated)
    ));
}

#[tokio::test]
async fn the_caller_names_the_source_of_a_direct_change() {
    let s = service().await;
    let c = s.create_component(&SYS, component("api", 1)).await.unwrap();
    // A session (the dashboard's credential) calling through the API is recorded as API.
    let session = user(&s, "person", Role::Reporter).await;
    let status = |v| ComponentInput {
        status: Some(v),
        ..Default::default()
    };
    s.update_component_from(&session, c.id, status(3), StatusSource::Api)
        .await
        .unwrap();
    s.update_component_from(&SYS, c.id, status(2), StatusSource::Dashboard)
        .await
        .unwrap();
    for reserved in [StatusSource::Incident, StatusSource::Maintenance] {
        let err = s
            .update_component_from(&session, c.id, status(4), reserved)
            .await
            .unwrap_err();
        assert_eq!(fields(err), ["source"], "{reserved:?}");
    }
    // A guest is refused before anything else.
    assert!(matches!(
        s.update_component_from(&Actor::Guest, c.id, status(4), StatusSource::Api)
            .await,
        Err(Error::Unauthenticated | Error::Forbidden)
    ));
    let history = s.component_history(&SYS, c.id, 1, 10).await.unwrap();
    assert_eq!(
        history
            .items
            .iter()
            .map(|h| (h.old.as_i64(), h.new.as_i64(), h.source))
            .collect::<Vec<_>>(),
        [(3, 2, StatusSource::Dashboard), (1, 3, StatusSource::Api)]
    );
    assert_eq!(
        s.get_component(&SYS, c.id).await.unwrap().status,
        ComponentStatus::PerformanceIssues
    );
}

#[tokio::test]
async fn incident_history_pages_and_groups_by_local_day() {
    let s = service().await;
    s.update_settings(&SYS, &[("app_timezone".into(), "Asia/Tokyo".into())])
        .await
        .unwrap();
    // UTC instants; Tokyo is UTC+9 all year.
    let at = |name: &str, utc: &str, visible: i64| IncidentInput {
        occurred_at: Some(utc.into()),
        time_zone: Some(cachet_core::Tz::UTC),
        visible: Some(visible),
        ..incident(name)
    };
    for (name, utc, visible) in [
        ("a", "2024-05-01 10:00", 1), // 1 May 19:00 in Tokyo
        ("b", "2024-05-01 16:00", 1), // 2 May 01:00
        ("c", "2024-05-02 01:00", 1), // 2 May 10:00
        ("hidden", "2024-05-02 02:00", 0),
        ("d", "2024-05-03 20:00", 1), // 4 May 05:00
    ] {
        s.create_incident(&SYS, at(name, utc, visible))
            .await
            .unwrap();
    }
    let day = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
    let shape = |h: &cachet_core::service::IncidentHistory| {
        h.days
            .iter()
            .map(|(d, list)| (*d, list.iter().map(|i| i.name.clone()).collect::<Vec<_>>()))
            .collect::<Vec<_>>()
    };
    let all = s.incident_history(&Actor::Guest, 1, 20).await.unwrap();
    assert_eq!(
        shape(&all),
        [
            (day("2024-05-04"), vec!["d".to_string()]),
            (day("2024-05-02"), vec!["c".into(), "b".into()]),
            (day("2024-05-01"), vec!["a".into()]),
        ]
    );
    assert_eq!((all.total, all.last_page()), (4, 1));
    assert_eq!(all.zone.name(), "Asia/Tokyo");
    // Pages of 2: the second day continues on page 2.
    let p1 = s.incident_history(&Actor::Guest, 1, 2).await.unwrap();
    let p2 = s.incident_history(&Actor::Guest, 2, 2).await.unwrap();
    assert_eq!(
        shape(&p1),
        [
            (day("2024-05-04"), vec!["d".to_string()]),
            (day("2024-05-02"), vec!["c".into()]),
        ]
    );
    assert_eq!(
        shape(&p2),
        [
            (day("2024-05-02"), vec!["b".to_string()]),
            (day("2024-05-01"), vec!["a".into()]),
        ]
    );
    assert_eq!((p2.page, p2.per_page, p2.last_page()), (2, 2, 2));
    assert!(s
        .incident_history(&Actor::Guest, 3, 2)
        .await
        .unwrap()
        .days
        .is_empty());
    // A signed-in viewer sees the hidden one too.
    let viewer = user(&s, "viewer", Role::Viewer).await;
    assert_eq!(s.incident_history(&viewer, 1, 20).await.unwrap().total, 5);
    assert_eq!(
        fields(s.incident_history(&Actor::Guest, 0, 20).await.unwrap_err()),
        ["page"]
    );
    let clamped = s.incident_history(&Actor::Guest, 1, 0).await.unwrap();
    assert_eq!((clamped.per_page, clamped.last_page()), (1, 4));
    assert_eq!(
        s.incident_history(&Actor::Guest, 1, 10_000)
            .await
            .unwrap()
            .per_page,
        cachet_core::service::MAX_HISTORY_PER_PAGE
    );
}
