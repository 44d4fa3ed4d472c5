//! A database belongs to the data key it was set up with: an instance started with another
//! key is refused before it can read garbage or seal new values under the wrong key.

use std::sync::Arc;

use cachet_core::crypto::DataKey;
use cachet_core::error::Error;
use cachet_core::input::SubscriberInput;
use cachet_core::memory::MemoryStore;
use cachet_core::{Actor, StatusPage, Store};

fn wrong_key(r: Result<StatusPage, Error>) -> String {
    match r {
        Err(e @ Error::WrongDataKey) => e.to_string(),
        Err(other) => panic!("expected WrongDataKey, got {other:?}"),
        Ok(_) => panic!("a second key was accepted"),
    }
}

/// A store set up by a service with its key, holding one subscriber (a sealed address).
async fn a_store_with_a_subscriber() -> (Arc<dyn Store>, DataKey) {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let (key, _) = DataKey::generate();
    let page = StatusPage::new(store.clone(), key.clone()).await.unwrap();
    page.create_subscriber(
        &Actor::System,
        SubscriberInput {
            email: Some("ada@example.com".into()),
            verify: Some(true),
            components: None,
        },
    )
    .await
    .unwrap();
    (store, key)
}

#[tokio::test]
async fn another_key_is_refused_and_the_first_still_works() {
    let (store, key) = a_store_with_a_subscriber().await;
    let text = wrong_key(StatusPage::new(store.clone(), DataKey::generate().0).await);
    assert!(
        text.starts_with("the data key does not match this database"),
        "{text}"
    );
    // Nothing was written by the refused start: the first key still reads everything.
    let again = StatusPage::new(store.clone(), key).await.unwrap();
    let list = again
        .list_subscribers(
            &Actor::System,
            &cachet_core::store::ListQuery::new(1, 10, ()),
        )
        .await
        .unwrap();
    assert_eq!(list.items[0].email.as_str(), "ada@example.com");
    // Even on an empty database the first start's key is the one.
    let empty: Arc<dyn Store> = Arc::new(MemoryStore::new());
    StatusPage::new(empty.clone(), DataKey::generate().0)
        .await
        .unwrap();
    wrong_key(StatusPage::new(empty, DataKey::generate().0).await);
}

/// A database from before the check holds sealed values but no check: they must open with
/// the key, or the start is refused (and the check is not written).
#[tokio::test]
async fn a_database_without_the_check_is_checked_against_its_sealed_values() {
    let (store, key) = a_store_with_a_subscriber().await;
    // As a database of an older version: the same rows, no check.
    let legacy: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let rows = store
        .list_subscribers(&cachet_core::store::ListQuery::new(1, 10, ()))
        .await
        .unwrap();
    assert_eq!(rows.total, 1);
    copy_subscriber_rows(&store, &legacy).await;
    wrong_key(StatusPage::new(legacy.clone(), DataKey::generate().0).await);
    assert!(
        !legacy
            .load_settings()
            .await
            .unwrap()
            .iter()
            .any(|(k, _)| k == "data_key_check"),
        "a refused start writes no check"
    );
    StatusPage::new(legacy, key).await.unwrap();
}

/// Copies the subscribers of `from` into `to` as they are stored (sealed).
async fn copy_subscriber_rows(from: &Arc<dyn Store>, to: &Arc<dyn Store>) {
    let rows = from
        .list_subscribers(&cachet_core::store::ListQuery::new(1, 100, ()))
        .await
        .unwrap();
    for s in rows.items {
        to.create_subscriber(cachet_core::store::NewSubscriber {
            email: s.email,
            verify_code_hash: s.verify_code_hash,
            verified_at: s.verified_at,
            global: s.global,
            subscribe_to: cachet_core::store::SubscribeTo::AllComponents,
            notice: None,
        })
        .await
        .unwrap();
    }
}

/// A database from before sealing may keep addresses in the clear (they open with any key):
/// the check looks past them to a sealed one (review finding: the first row alone decided,
/// so a wrong key was bound and the right one refused after).
#[tokio::test]
async fn clear_addresses_do_not_hide_a_wrong_key() {
    let (store, key) = a_store_with_a_subscriber().await;
    let legacy: Arc<dyn Store> = Arc::new(MemoryStore::new());
    // The oldest row, from before sealing: the address in the lookup column, nothing sealed.
    legacy
        .create_subscriber(cachet_core::store::NewSubscriber {
            email: cachet_core::model::SealedEmail {
                lookup: "old@example.com".into(),
                sealed: String::new(),
            },
            verify_code_hash: cachet_core::secret::TokenHash::of("x"),
            verified_at: None,
            global: true,
            subscribe_to: cachet_core::store::SubscribeTo::AllComponents,
            notice: None,
        })
        .await
        .unwrap();
    copy_subscriber_rows(&store, &legacy).await;
    wrong_key(StatusPage::new(legacy.clone(), DataKey::generate().0).await);
    let page = StatusPage::new(legacy, key).await.unwrap();
    let mut emails: Vec<String> = page
        .list_subscribers(
            &Actor::System,
            &cachet_core::store::ListQuery::new(1, 10, ()),
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|s| s.email.as_str().to_owned())
        .collect();
    emails.sort();
    assert_eq!(emails, vec!["ada@example.com", "old@example.com"]);
}
