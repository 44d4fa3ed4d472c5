//! One database, one data key. TOTP secrets, subscriber addresses and webhook secrets are
//! sealed with the data key, and subscriber lookups are keyed with it: an instance started
//! with another key (a mistyped key file, a key made afresh in another folder, two replicas
//! that each made their own) would fail to read them and seal new values that the right
//! key cannot read. So the first start stores a check value derived from its key, and every
//! start compares: another key is refused before anything is read or written.

use super::StatusPage;
use crate::error::{Error, Result};
use crate::store::{ListQuery, MAX_PER_PAGE};

/// The setting that holds the check value (not one of [`crate::settings::KEYS`]: no API or
/// page shows or changes it).
pub(crate) const DATA_KEY_CHECK: &str = "data_key_check";

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
        if !settings.iter().any(|(k, _)| k == DATA_KEY_CHECK) {
            // A new database, or one from before the check: what is sealed in it already
            // must open with this key before the key is written down as its own.
            self.sealed_values_open().await?;
        }
        let stored = self
            .store
            .claim_setting(DATA_KEY_CHECK.to_owned(), check.clone())
            .await?;
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
        // The first sealed address: rows from before sealing are in the clear and open
        // with any key, so they prove nothing.
        let mut page = 1;
        loop {
            let subscribers = self
                .store
                .list_subscribers(&ListQuery::new(page, MAX_PER_PAGE, ()))
                .await?;
            let last = is_last(page, subscribers.items.len(), subscribers.total);
            if let Some(s) = subscribers
                .items
                .into_iter()
                .find(|s| !s.email.sealed.is_empty())
            {
                self.open_subscriber(s).map_err(refused)?;
                break;
            }
            if last {
                break;
            }
            page += 1;
        }
        if let Some(w) = self.store.list_webhooks().await?.first() {
            self.webhook_secret(w).map_err(refused)?;
        }
        let mut page = 1;
        loop {
            let users = self
                .store
                .list_users(&ListQuery::new(page, MAX_PER_PAGE, ()))
                .await?;
            if let Some(sealed) = users
                .items
                .iter()
                .find_map(|u| u.totp.sealed_secret.as_deref())
            {
                return self.open_totp_secret(sealed).map(|_| ()).map_err(refused);
            }
            if is_last(page, users.items.len(), users.total) {
                return Ok(());
            }
            page += 1;
        }
    }
}

/// Whether page `page` (of [`MAX_PER_PAGE`] rows, `rows` of them read) is the last of
/// `total` rows.
fn is_last(page: u32, rows: usize, total: u64) -> bool {
    rows == 0 || u64::from(page) * u64::from(MAX_PER_PAGE) >= total
}
