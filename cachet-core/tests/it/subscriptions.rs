//! The public subscriber lifecycle through the service: subscribe (one answer for every
//! address), verify, manage and unsubscribe by signed link only. The links are read from the
//! mails the outbox would send (`StatusPage::outgoing`), as a subscriber would read them.

use std::sync::Arc;

use cachet_core::crypto::DataKey;
use cachet_core::error::Error;
use cachet_core::input::ComponentInput;
use cachet_core::memory::MemoryStore;
use cachet_core::model::Subscriber;
use cachet_core::notify::{link_token, EventKind, LinkPurpose, Mail};
use cachet_core::service::Outgoing;
use cachet_core::store::{DeliveryFilter, ListQuery};
use cachet_core::throttle::ResendGate;
use cachet_core::{Actor, StatusPage};
use chrono::{Duration, Utc};

const BASE: &str = "https://status.example.com";

struct Fixture {
    page: StatusPage,
    key: DataKey,
    public: i64,
    other: i64,
    hidden: i64,
}

async fn fixture() -> Fixture {
    let (key, _) = DataKey::generate();
    // No pause between re-sent mails here (the gate has a test of its own below).
    let page = StatusPage::new(Arc::new(MemoryStore::new()), key.clone())
        .await
        .unwrap()
        .with_resend_gate(ResendGate::new(std::time::Duration::ZERO));
    let mut ids = Vec::new();
    for (name, enabled) in [("Payments", true), ("Search", true), ("Internal", false)] {
        let c = page
            .create_component(
                &Actor::System,
                ComponentInput {
                    name: Some(name.into()),
                    status: Some(1),
                    enabled: Some(enabled),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        ids.push(c.id.get());
    }
    Fixture {
        page,
        key,
        public: ids[0],
        other: ids[1],
        hidden: ids[2],
    }
}

/// Every mail queued so far, in order, as `outgoing` would send it now (dropped ones left
/// out), with its event.
async fn mails(page: &StatusPage) -> Vec<(EventKind, Mail)> {
    let list = page
        .list_deliveries(
            &Actor::System,
            &ListQuery::new(1, 100, DeliveryFilter::default()),
        )
        .await
        .unwrap();
    let mut items = list.items;
    items.sort_by_key(|d| d.id);
    let mut out = Vec::new();
    for d in items {
        if let Outgoing::Mail(m) = page.outgoing(&d, BASE, Utc::now()).await.unwrap() {
            out.push((d.notice.event, *m));
        }
    }
    out
}

/// The token of the `/subscribe/{path}/` link in a mail's text.
fn link(mail: &Mail, path: &str) -> String {
    let marker = format!("{BASE}/subscribe/{path}/");
    let start = mail
        .text
        .find(&marker)
        .unwrap_or_else(|| panic!("no {path} link in {}", mail.text))
        + marker.len();
    mail.text[start..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

async fn subscriber(page: &StatusPage, email: &str) -> Option<Subscriber> {
    page.list_subscribers(&Actor::System, &ListQuery::new(1, 100, ()))
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|s| s.email.as_str() == email)
}

/// The field and message of an `Invalid` error.
fn refusal(e: Error) -> (String, String) {
    match e {
        Error::Invalid(v) => {
            let first = &v.errors()[0];
            (first.field.clone(), first.message.clone())
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn invalid_link() -> (String, String) {
    ("token".into(), "The link is not valid.".into())
}

#[tokio::test]
async fn subscribing_answers_the_same_and_mails_only_the_owner_of_the_address() {
    let f = fixture().await;
    f.page
        .subscribe("ada@example.com", Some(vec![f.public]))
        .await
        .unwrap();
    // The same answer for an address that is pending, and then for one that is verified.
    f.page
        .subscribe("ada@example.com", Some(vec![f.other]))
        .await
        .unwrap();
    let sent = mails(&f.page).await;
    assert_eq!(sent.len(), 2);
    for (event, m) in &sent {
        assert_eq!(*event, EventKind::SubscriberCreated);
        assert_eq!(m.to, "ada@example.com");
    }
    // Asking again changed nothing: still Payments only, still pending.
    let s = subscriber(&f.page, "ada@example.com").await.unwrap();
    assert!(s.verified_at.is_none());
    assert_eq!(
        s.subscriptions
            .iter()
            .map(|x| x.component_id.get())
            .collect::<Vec<_>>(),
        vec![f.public]
    );
    let token = link(&sent[1].1, "verify");
    f.page.verify_subscription(&token).await.unwrap();
    f.page.subscribe("ada@example.com", None).await.unwrap();
    let sent = mails(&f.page).await;
    let (event, m) = sent.last().unwrap();
    assert_eq!(*event, EventKind::LinksRequested);
    assert_eq!(m.to, "ada@example.com");
    assert!(!m.text.contains("/subscribe/verify/"), "{}", m.text);
    assert!(m.text.contains("/subscribe/manage/"), "{}", m.text);
    let s = subscriber(&f.page, "ada@example.com").await.unwrap();
    assert!(!s.global, "asking again must not widen the subscription");
}

#[tokio::test]
async fn bad_subscribe_input_names_the_field_and_writes_nothing() {
    let f = fixture().await;
    for (email, components, field) in [
        ("not an address", None, "email"),
        ("ada@example.com", Some(vec![f.hidden]), "components"),
        ("ada@example.com", Some(vec![9_999]), "components"),
        ("ada@example.com", Some(vec![f.public; 1_001]), "components"),
    ] {
        let e = f.page.subscribe(email, components).await.unwrap_err();
        assert_eq!(refusal(e).0, field, "{email}");
    }
    assert!(subscriber(&f.page, "ada@example.com").await.is_none());
    assert!(mails(&f.page).await.is_empty());
}

/// An Admin's subscriber follows components that exist (hidden ones too); an id that
/// matches none is refused, naming the field, and nothing is written (review finding: it
/// was skipped, leaving a subscriber who follows nothing and hears nothing).
#[tokio::test]
async fn an_admin_subscription_to_a_missing_component_is_refused() {
    let f = fixture().await;
    let input = |components: Vec<i64>| cachet_core::input::SubscriberInput {
        email: Some("ada@example.com".into()),
        verify: Some(true),
        components: Some(components),
    };
    for components in [vec![424_242], vec![f.public, 424_242]] {
        let e = f
            .page
            .create_subscriber(&Actor::System, input(components))
            .await
            .unwrap_err();
        assert_eq!(
            refusal(e),
            (
                "components".to_string(),
                "The selected components are invalid.".to_string()
            )
        );
    }
    assert!(subscriber(&f.page, "ada@example.com").await.is_none());
    let (s, created) = f
        .page
        .create_subscriber(&Actor::System, input(vec![f.public, f.hidden, f.public]))
        .await
        .unwrap();
    assert!(created && !s.global);
    let followed: Vec<i64> = s
        .subscriptions
        .iter()
        .map(|x| x.component_id.get())
        .collect();
    assert_eq!(followed, vec![f.public, f.hidden]);
}

#[tokio::test]
async fn a_verification_link_works_once_and_for_its_subscriber_only() {
    let f = fixture().await;
    f.page.subscribe("ada@example.com", None).await.unwrap();
    f.page.subscribe("bob@example.com", None).await.unwrap();
    let sent = mails(&f.page).await;
    let ada = link(&sent[0].1, "verify");
    let bob = link(&sent[1].1, "verify");

    // Forged: a changed signature, Bob's signature on Ada's id, a made-up token.
    let mut forged = ada.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let bob_sig = bob.split('.').nth(2).unwrap();
    let mut parts: Vec<&str> = ada.split('.').collect();
    parts[2] = bob_sig;
    let swapped = parts.join(".");
    for bad in [
        forged.as_str(),
        swapped.as_str(),
        "1.99999999999.x",
        "",
        "...",
    ] {
        let e = f.page.verify_subscription(bad).await.unwrap_err();
        assert_eq!(refusal(e), invalid_link(), "{bad:?}");
    }
    // A verification link is no manage or unsubscribe link.
    assert_eq!(
        refusal(f.page.subscription(&ada).await.unwrap_err()),
        invalid_link()
    );
    assert_eq!(
        refusal(f.page.unsubscribe(&ada).await.unwrap_err()),
        invalid_link()
    );
    assert!(subscriber(&f.page, "ada@example.com").await.is_some());

    let verified = f.page.verify_subscription(&ada).await.unwrap();
    assert_eq!(verified.email.as_str(), "ada@example.com");
    assert!(verified.verified_at.is_some());
    let (field, message) = refusal(f.page.verify_subscription(&ada).await.unwrap_err());
    assert_eq!(
        (field.as_str(), message.as_str()),
        ("token", "This link was used already.")
    );
    // Bob is untouched by all of it.
    assert!(subscriber(&f.page, "bob@example.com")
        .await
        .unwrap()
        .verified_at
        .is_none());
}

#[tokio::test]
async fn expired_links_are_refused_as_expired() {
    let f = fixture().await;
    f.page.subscribe("ada@example.com", None).await.unwrap();
    let s = subscriber(&f.page, "ada@example.com").await.unwrap();
    let past = Utc::now() - Duration::seconds(1);
    for purpose in [
        LinkPurpose::Verify,
        LinkPurpose::Manage,
        LinkPurpose::Unsubscribe,
    ] {
        let token = link_token(&f.key, purpose, s.id, s.created_at, past);
        let e = match purpose {
            LinkPurpose::Verify => f.page.verify_subscription(&token).await.unwrap_err(),
            LinkPurpose::Manage => f.page.subscription(&token).await.unwrap_err(),
            LinkPurpose::Unsubscribe => f.page.unsubscribe(&token).await.unwrap_err(),
        };
        assert_eq!(
            refusal(e),
            ("token".into(), "The link has expired.".into()),
            "{purpose:?}"
        );
    }
    // Signed with another key: not valid, however fresh.
    let (other, _) = DataKey::generate();
    let token = link_token(
        &other,
        LinkPurpose::Verify,
        s.id,
        s.created_at,
        Utc::now() + Duration::hours(1),
    );
    assert_eq!(
        refusal(f.page.verify_subscription(&token).await.unwrap_err()),
        invalid_link()
    );
    assert!(subscriber(&f.page, "ada@example.com")
        .await
        .unwrap()
        .verified_at
        .is_none());
}

#[tokio::test]
async fn manage_and_unsubscribe_links_change_only_their_own_subscription() {
    let f = fixture().await;
    for email in ["ada@example.com", "bob@example.com"] {
        f.page.subscribe(email, None).await.unwrap();
    }
    for (_, m) in mails(&f.page).await {
        f.page
            .verify_subscription(&link(&m, "verify"))
            .await
            .unwrap();
    }
    // A verified subscriber asking again gets the links mail with both links.
    f.page.subscribe("ada@example.com", None).await.unwrap();
    let sent = mails(&f.page).await;
    let links_mail = &sent.last().unwrap().1;
    assert_eq!(links_mail.to, "ada@example.com");
    let manage = link(links_mail, "manage");
    let leave = link(links_mail, "unsubscribe");

    let s = f.page.subscription(&manage).await.unwrap();
    assert_eq!(s.email.as_str(), "ada@example.com");
    assert!(s.global);

    let changed = f
        .page
        .change_subscription(&manage, Some(vec![f.other, f.other]))
        .await
        .unwrap();
    assert!(!changed.global);
    assert_eq!(
        changed
            .subscriptions
            .iter()
            .map(|x| x.component_id.get())
            .collect::<Vec<_>>(),
        vec![f.other]
    );
    // A hidden component is refused, and nothing changes.
    let e = f
        .page
        .change_subscription(&manage, Some(vec![f.hidden]))
        .await
        .unwrap_err();
    assert_eq!(refusal(e).0, "components");
    assert!(!subscriber(&f.page, "ada@example.com").await.unwrap().global);
    // Back to everything.
    assert!(
        f.page
            .change_subscription(&manage, Some(vec![]))
            .await
            .unwrap()
            .global
    );
    // An unsubscribe link does not manage.
    assert_eq!(
        refusal(f.page.subscription(&leave).await.unwrap_err()),
        invalid_link()
    );

    f.page.unsubscribe(&leave).await.unwrap();
    assert!(subscriber(&f.page, "ada@example.com").await.is_none());
    assert!(subscriber(&f.page, "bob@example.com").await.is_some());
    // Gone: every link of Ada's is dead, also after the address subscribes again.
    f.page.subscribe("ada@example.com", None).await.unwrap();
    for bad in [&manage, &leave] {
        assert_eq!(
            refusal(f.page.subscription(bad).await.unwrap_err()),
            invalid_link()
        );
    }
    assert_eq!(
        refusal(f.page.unsubscribe(&leave).await.unwrap_err()),
        invalid_link()
    );
    assert!(subscriber(&f.page, "ada@example.com").await.is_some());
}

/// Review findings: one mailbox however its address is spelled (one subscriber, one
/// recipient for the send limits), and asking again and again re-sends at most one mail per
/// mailbox per window, with the same answer every time.
#[tokio::test]
async fn spellings_of_one_mailbox_are_one_subscriber_and_re_sends_pause() {
    let page = StatusPage::new(Arc::new(MemoryStore::new()), DataKey::generate().0)
        .await
        .unwrap();
    for spelling in [
        "Victim@example.com",
        "victim@example.com",
        "VICTIM@EXAMPLE.COM",
        " victim@Example.Com ",
    ] {
        page.subscribe(spelling, None).await.unwrap();
    }
    let list = page
        .list_subscribers(&Actor::System, &ListQuery::new(1, 100, ()))
        .await
        .unwrap();
    assert_eq!(list.total, 1, "one mailbox, one subscriber");
    assert_eq!(list.items[0].email.as_str(), "Victim@example.com");
    // The first ask's mail, and one re-send; the two asks after that send nothing.
    assert_eq!(mails(&page).await.len(), 2);
    for _ in 0..10 {
        page.subscribe("victim@example.com", None).await.unwrap();
    }
    assert_eq!(mails(&page).await.len(), 2);
    assert_eq!(
        cachet_core::validate::mailbox_key("Victim@Example.COM"),
        "victim@example.com"
    );
}

/// A status change is told of the component as the same change leaves it: by its new name,
/// and to nobody when the change hides it or a disabled one stays hidden; one that the
/// change shows again is told of (review finding: the notice followed the old row).
#[tokio::test]
async fn a_status_change_is_told_of_the_component_as_the_change_leaves_it() {
    let f = fixture().await;
    f.page
        .create_subscriber(
            &Actor::System,
            cachet_core::input::SubscriberInput {
                email: Some("all@example.com".into()),
                verify: Some(true),
                components: None,
            },
        )
        .await
        .unwrap();
    let change = |c: i64, input: ComponentInput| {
        let page = &f.page;
        async move {
            page.update_component(
                &Actor::System,
                cachet_core::ids::ComponentId::from(c),
                input,
            )
            .await
            .unwrap()
        }
    };
    change(
        f.public,
        ComponentInput {
            name: Some("Card payments".into()),
            status: Some(4),
            ..Default::default()
        },
    )
    .await;
    change(
        f.other,
        ComponentInput {
            status: Some(3),
            enabled: Some(false),
            ..Default::default()
        },
    )
    .await;
    change(
        f.hidden,
        ComponentInput {
            status: Some(2),
            enabled: Some(true),
            ..Default::default()
        },
    )
    .await;
    let subjects: Vec<String> = mails(&f.page)
        .await
        .into_iter()
        .map(|(_, m)| m.subject)
        .collect();
    assert_eq!(
        subjects,
        vec![
            "[Status] Card payments is now: Major Outage".to_string(),
            "[Status] Internal is now: Performance Issues".to_string(),
        ]
    );
}
