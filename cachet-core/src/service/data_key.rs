//! One database, one data key. TOTP secrets, subscriber addresses and webhook secrets are
//! sealed with the data key, and subscriber lookups are keyed with it: an instance started
//! with another key (a mistyped key file, a key made afresh in another folder, two replicas
//! that each made their own) would fail to read them and seal new values that the right
//! key cannot read. So the first start stores a check value derived from its key, and every
//! start compares: another key is refused before anything is read or written.

use super::StatusPage;
use crate::error::{Error, Result};
use crate::store::{ListQuery, Page, MAX_PER_PAGE};
use crate::StoreError;

/// The setting that holds the check value (not one of [`crate::settings::KEYS`]: no API or
/// page shows or changes it).
const DATA_KEY_CHECK: &str = "data_key_check";

/// The purpose the check value is derived for (a keyed digest: it tells nothing of the key).
const CHECK_PURPOSE: &str = "data-key-check";

impl StatusPage {
    /// Binds the store to this instance's data key (see the module docs). `settings` are
    /// the stored pairs, as loaded at start.
    ///
    /// # Errors
    /// `WrongDataKey` when the database belongs to another key; store failures.
    pub(super) async fn bind_data_key(&self, settings: &[(String, String)]) -> Result<()> {
        let check = self.key.lookup(CHECK_PURPOSE, "cachet-rs");
        let stored = match settings.iter().find(|(k, _)| k == DATA_KEY_CHECK) {
            // Bound already: a comparison, nothing written.
            Some((_, stored)) => stored.clone(),
            None => {
                // A new database, or one from before the check: what is sealed in it
                // already must open with this key before the key is written down as its
                // own (of racing first starts, the claim lets one key win).
                self.sealed_values_open().await?;
                self.store
                    .claim_setting(DATA_KEY_CHECK.to_owned(), check.clone())
                    .await?
            }
        };
        if stored == check {
            Ok(())
        } else {
            Err(Error::WrongDataKey)
        }
    }

    /// Whether a sealed value of each kind (a subscriber address, a webhook secret, a TOTP
    /// secret), if any is stored, opens with this key.
    async fn sealed_values_open(&self) -> Result<()> {
        let refused = |_| Error::WrongDataKey;
        // Rows from before sealing keep their address in the clear, which opens with any
        // key: the first sealed one decides.
        let sealed_subscriber = first_in_pages(
            |page| async move {
                self.store
                    .list_subscribers(&ListQuery::new(page, MAX_PER_PAGE, ()))
                    .await
            },
            |s| (!s.email.sealed.is_empty()).then_some(s),
        )
        .await?;
        if let Some(s) = sealed_subscriber {
            self.open_subscriber(s).map_err(refused)?;
        }
        if let Some(w) = self.store.list_webhooks().await?.first() {
            self.webhook_secret(w).map_err(refused)?;
        }
        let sealed_totp = first_in_pages(
            |page| async move {
                self.store
                    .list_users(&ListQuery::new(page, MAX_PER_PAGE, ()))
                    .await
            },
            |u| u.totp.sealed_secret,
        )
        .await?;
        if let Some(sealed) = sealed_totp {
            self.open_totp_secret(&sealed).map_err(refused)?;
        }
        Ok(())
    }
}

/// The first row, over every page `fetch` reads (of [`MAX_PER_PAGE`] rows), that `pick`
/// takes.
async fn first_in_pages<T, R, F, Fut>(fetch: F, pick: impl Fn(T) -> Option<R>) -> Result<Option<R>>
where
    F: Fn(u32) -> Fut,
    Fut: std::future::Future<Output = std::result::Result<Page<T>, StoreError>>,
{
    let mut page = 1;
    loop {
        let rows = fetch(page).await?;
        let last = rows.items.is_empty() || u64::from(page) * u64::from(MAX_PER_PAGE) >= rows.total;
        if let Some(found) = rows.items.into_iter().find_map(&pick) {
            return Ok(Some(found));
        }
        if last {
            return Ok(None);
        }
        page += 1;
    }
}
