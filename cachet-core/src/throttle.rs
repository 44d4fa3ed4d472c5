//! Sign-in throttling: exponential backoff per account and per client.
//!
//! Every attempt is charged to several keys: the login name as typed (so an unknown name is
//! throttled exactly like a real one and the answer reveals nothing), the user once the name
//! is known (so username and email share one budget), and the client (the adapter's choice:
//! the address, as a trusted proxy reports it). Each key gets a number of free failures;
//! every failure past them locks the key for twice as long as the one before, from
//! [`BASE_LOCK`] up to [`MAX_LOCK`]. While a key is locked no password is checked at all.
//!
//! An attempt counts as a failure from the moment it is admitted ([`SignInThrottle::admit`]),
//! so a burst of concurrent guesses gets no more tries than the same guesses one by one; a
//! success takes it back ([`SignInThrottle::succeed`]). A success clears the account's
//! counters but not the client's, so an attacker cannot wash a guessing run clean by signing
//! in to an account of their own in between. A key that has not failed for [`FORGET_AFTER`]
//! starts over. Keys are digests ([`key`]): a long login costs no more memory than a short one.
//!
//! The state is in memory, per process: several server instances each throttle on their own
//! (an attacker gets at most that many times the budget). It holds at most [`MAX_KEYS`]
//! keys of each kind; past that, stale keys are dropped first, then the oldest.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures an account may have before it is locked.
pub const ACCOUNT_FREE_FAILURES: u32 = 5;
/// Failures a client may have (over every account) before it is locked.
pub const CLIENT_FREE_FAILURES: u32 = 20;
/// Lock after the first failure past the free ones; it doubles with each further failure.
pub const BASE_LOCK: Duration = Duration::from_secs(1);
/// The longest lock.
pub const MAX_LOCK: Duration = Duration::from_secs(15 * 60);
/// A key without failures for this long is forgotten.
pub const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// Keys remembered at most (each kind).
pub const MAX_KEYS: usize = 100_000;

/// Why a sign-in may not be tried now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked {
    /// How long until it may.
    pub retry_after: Duration,
}

/// What a recorded failure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    /// The account key became locked by this failure (the first lock is worth an audit
    /// entry; later ones of the same run are not).
    pub account_locked_now: bool,
    /// The client key became locked by this failure.
    pub client_locked_now: bool,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: Instant,
    locked_until: Option<Instant>,
}

#[derive(Debug)]
struct Counters {
    free: u32,
    keys: HashMap<String, Entry>,
}

impl Counters {
    fn new(free: u32) -> Counters {
        Counters {
            free,
            keys: HashMap::new(),
        }
    }

    fn locked(&mut self, key: &str, now: Instant) -> Option<Duration> {
        let entry = self.keys.get(key)?;
        if now.saturating_duration_since(entry.last_failure) >= FORGET_AFTER {
            self.keys.remove(key);
            return None;
        }
        let until = entry.locked_until?;
        (until > now).then(|| until - now)
    }

    /// Counts a failure; true when it locks the key (it was not locked before).
    fn fail(&mut self, key: &str, now: Instant) -> bool {
        if !self.keys.contains_key(key) && self.keys.len() >= MAX_KEYS {
            self.make_room(now);
        }
        let entry = self.keys.entry(key.to_string()).or_insert(Entry {
            failures: 0,
            last_failure: now,
            locked_until: None,
        });
        if now.saturating_duration_since(entry.last_failure) >= FORGET_AFTER {
            entry.failures = 0;
            entry.locked_until = None;
        }
        let was_locked = entry.locked_until.is_some_and(|u| u > now);
        entry.failures = entry.failures.saturating_add(1);
        entry.last_failure = now;
        if entry.failures > self.free {
            let lock = lock_for(entry.failures - self.free);
            entry.locked_until = Some(now + lock);
            return !was_locked && entry.failures == self.free + 1;
        }
        false
    }

    fn clear(&mut self, key: &str) {
        self.keys.remove(key);
    }

    /// Takes back one counted failure (an admitted attempt that succeeded).
    fn refund(&mut self, key: &str) {
        if let Some(e) = self.keys.get_mut(key) {
            e.failures = e.failures.saturating_sub(1);
            if e.failures <= self.free {
                e.locked_until = None;
            }
        }
    }

    fn make_room(&mut self, now: Instant) {
        self.keys
            .retain(|_, e| now.saturating_duration_since(e.last_failure) < FORGET_AFTER);
        if self.keys.len() >= MAX_KEYS {
            if let Some(oldest) = self
                .keys
                .iter()
                .min_by_key(|(_, e)| e.last_failure)
                .map(|(k, _)| k.clone())
            {
                self.keys.remove(&oldest);
            }
        }
    }
}

/// The lock after the `n`th failure past the free ones (n >= 1): 1 s, 2 s, 4 s, ... 15 min.
pub fn lock_for(n: u32) -> Duration {
    let doublings = n.saturating_sub(1).min(20);
    BASE_LOCK.saturating_mul(1u32 << doublings).min(MAX_LOCK)
}

/// Sign-in throttle for one process. Cheap to share.
#[derive(Debug)]
pub struct SignInThrottle {
    accounts: Mutex<Counters>,
    clients: Mutex<Counters>,
}

impl Default for SignInThrottle {
    fn default() -> Self {
        SignInThrottle::new(ACCOUNT_FREE_FAILURES, CLIENT_FREE_FAILURES)
    }
}

/// A key of bounded size for a name: the SHA-256 of it trimmed and lowercased, so that case
/// games don't multiply the budget and a 4 MiB login costs 64 bytes of memory.
pub fn key(kind: &str, name: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(kind.as_bytes());
    h.update([0]);
    h.update(name.trim().to_lowercase().as_bytes());
    hex::encode(h.finalize())
}

/// An admitted attempt. It is counted as a failure from the moment it is admitted, so that
/// concurrent attempts cannot all slip in before the first failure is recorded;
/// [`SignInThrottle::succeed`] takes it back.
#[derive(Debug)]
#[must_use = "an attempt is a failure unless it is passed to succeed"]
pub struct Attempt {
    accounts: Vec<String>,
    client: String,
    /// What counting this attempt locked (audit it if the attempt does fail).
    pub failure: Failure,
}

impl SignInThrottle {
    /// A throttle with the given numbers of free failures per account and per client.
    pub fn new(account_free: u32, client_free: u32) -> SignInThrottle {
        SignInThrottle {
            accounts: Mutex::new(Counters::new(account_free)),
            clients: Mutex::new(Counters::new(client_free)),
        }
    }

    /// Admits one attempt on `accounts` (every key that names the account: the login as
    /// typed, and the user once known; see [`key`]) from `client`, or refuses it when any of
    /// them is locked (the longest wait is returned). An admitted attempt already counts as a
    /// failure.
    ///
    /// # Errors
    /// [`Locked`] with the time to wait.
    pub fn admit(
        &self,
        accounts: &[String],
        client: &str,
        now: Instant,
    ) -> Result<Attempt, Locked> {
        // Both counters at once (always in this order), so that check and count are one step.
        let mut acc = lock(&self.accounts);
        let mut cli = lock(&self.clients);
        let wait = accounts
            .iter()
            .filter_map(|k| acc.locked(k, now))
            .chain(cli.locked(client, now))
            .max();
        if let Some(retry_after) = wait {
            return Err(Locked { retry_after });
        }
        let mut account_locked_now = false;
        for k in accounts {
            account_locked_now |= acc.fail(k, now);
        }
        let client_locked_now = cli.fail(client, now);
        Ok(Attempt {
            accounts: accounts.to_vec(),
            client: client.to_string(),
            failure: Failure {
                account_locked_now,
                client_locked_now,
            },
        })
    }

    /// A successful attempt: its accounts start over; the client gets back the failure its
    /// admission counted, but keeps the rest.
    pub fn succeed(&self, attempt: Attempt) {
        let mut acc = lock(&self.accounts);
        for k in &attempt.accounts {
            acc.clear(k);
        }
        drop(acc);
        lock(&self.clients).refund(&attempt.client);
    }
}

fn lock(m: &Mutex<Counters>) -> std::sync::MutexGuard<'_, Counters> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| key("login", n)).collect()
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!(lock_for(1), Duration::from_secs(1));
        assert_eq!(lock_for(2), Duration::from_secs(2));
        assert_eq!(lock_for(5), Duration::from_secs(16));
        assert_eq!(lock_for(11), Duration::from_secs(900));
        assert_eq!(lock_for(u32::MAX), MAX_LOCK);
    }

    #[test]
    fn keys_ignore_case_and_spaces_and_have_a_fixed_size() {
        assert_eq!(key("login", " Alice "), key("login", "alice"));
        assert_ne!(key("login", "alice"), key("user", "alice"));
        assert_eq!(key("login", &"x".repeat(4 << 20)).len(), 64);
    }

    #[test]
    fn an_account_locks_after_its_free_failures() {
        let t = SignInThrottle::new(3, 100);
        let t0 = Instant::now();
        let alice = keys(&["alice"]);
        for i in 0..3 {
            let a = t
                .admit(&alice, "c1", t0)
                .unwrap_or_else(|_| panic!("attempt {i}"));
            assert!(!a.failure.account_locked_now);
        }
        // The fourth is admitted and locks the account as it is counted.
        let fourth = t.admit(&keys(&["ALICE "]), "c2", t0).unwrap();
        assert!(fourth.failure.account_locked_now);
        assert_eq!(
            t.admit(&alice, "c3", t0).unwrap_err(),
            Locked {
                retry_after: Duration::from_secs(1)
            }
        );
        let t1 = t0 + Duration::from_secs(1);
        let fifth = t.admit(&alice, "c3", t1).unwrap();
        assert!(!fifth.failure.account_locked_now, "not a new lockout");
        assert_eq!(
            t.admit(&alice, "c3", t1).unwrap_err(),
            Locked {
                retry_after: Duration::from_secs(2)
            }
        );
        // Other accounts are untouched; a success starts the account over.
        assert!(t.admit(&keys(&["bob"]), "c3", t1).is_ok());
        let t3 = t1 + Duration::from_secs(2);
        t.succeed(t.admit(&alice, "c3", t3).unwrap());
        for _ in 0..3 {
            assert!(t.admit(&alice, "c4", t3).is_ok());
        }
    }

    #[test]
    fn every_name_of_an_account_is_charged() {
        let t = SignInThrottle::new(2, 100);
        let t0 = Instant::now();
        let user = key("user", "7");
        let by_name = vec![key("login", "ann"), user.clone()];
        let by_email = vec![key("login", "ann@example.com"), user];
        let _ = t.admit(&by_name, "c", t0).unwrap();
        let _ = t.admit(&by_email, "c", t0).unwrap();
        let _ = t.admit(&by_name, "c", t0).unwrap();
        // The user key is locked, whichever name is typed next.
        assert!(t.admit(&by_email, "c", t0).is_err());
    }

    #[test]
    fn concurrent_attempts_are_counted_when_admitted() {
        let t = SignInThrottle::new(5, 1000);
        let t0 = Instant::now();
        let k = keys(&["ann"]);
        // 100 attempts in flight at once: only the first six get in.
        let admitted: Vec<Attempt> = (0..100).filter_map(|_| t.admit(&k, "c", t0).ok()).collect();
        assert_eq!(admitted.len(), 6);
    }

    #[test]
    fn a_success_refunds_the_client_but_does_not_clear_it() {
        let t = SignInThrottle::new(100, 4);
        let t0 = Instant::now();
        for i in 0..3 {
            let _ = t
                .admit(&keys(&[&format!("user{i}")]), "10.0.0.1", t0)
                .unwrap();
        }
        // A success neither counts nor wipes the three failures.
        t.succeed(t.admit(&keys(&["mine"]), "10.0.0.1", t0).unwrap());
        t.succeed(t.admit(&keys(&["mine"]), "10.0.0.1", t0).unwrap());
        let fourth = t.admit(&keys(&["user9"]), "10.0.0.1", t0).unwrap();
        assert!(!fourth.failure.client_locked_now);
        let fifth = t.admit(&keys(&["user10"]), "10.0.0.1", t0).unwrap();
        assert!(fifth.failure.client_locked_now);
        assert!(t.admit(&keys(&["someone"]), "10.0.0.1", t0).is_err());
        assert!(t.admit(&keys(&["someone"]), "10.0.0.2", t0).is_ok());
    }

    #[test]
    fn failures_are_forgotten_after_a_quiet_hour() {
        let t = SignInThrottle::new(1, 100);
        let t0 = Instant::now();
        let k = keys(&["a"]);
        let _ = t.admit(&k, "c", t0).unwrap();
        let _ = t.admit(&k, "c", t0).unwrap();
        assert!(t.admit(&k, "c", t0).is_err());
        let later = t0 + FORGET_AFTER;
        let again = t.admit(&k, "c", later).unwrap();
        assert!(!again.failure.account_locked_now);
        assert!(
            t.admit(&k, "c", later).is_ok(),
            "starts over with one free failure"
        );
    }
}

/// How often one mailbox may be sent a mail it did not ask for by itself: the verification
/// mail again, or its links, when someone types a known address into the public subscribe
/// form. More asks in that time get the same answer and send nothing.
pub const RESEND_EVERY: Duration = Duration::from_secs(15 * 60);

/// At most one re-sent mail per mailbox per [`RESEND_EVERY`], in this process (keys are the
/// address's lookup digest; at most [`MAX_KEYS`], stale ones dropped first).
#[derive(Debug)]
pub struct ResendGate {
    every: Duration,
    last: Mutex<HashMap<String, Instant>>,
}

impl Default for ResendGate {
    fn default() -> Self {
        ResendGate::new(RESEND_EVERY)
    }
}

impl ResendGate {
    /// A gate that lets one mail per key through every `every`.
    pub fn new(every: Duration) -> ResendGate {
        ResendGate {
            every,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a mail to `key` may go now (and counts it when it may).
    pub fn allow(&self, key: &str) -> bool {
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = last.get(key) {
            if now.duration_since(*at) < self.every {
                return false;
            }
        }
        if last.len() >= MAX_KEYS {
            let every = self.every;
            last.retain(|_, at| now.duration_since(*at) < every);
            if last.len() >= MAX_KEYS {
                // Every key is fresh: refuse rather than grow without bound.
                return false;
            }
        }
        last.insert(key.to_owned(), now);
        true
    }
}

#[cfg(test)]
mod resend_tests {
    use super::*;

    #[test]
    fn one_mail_per_key_per_window() {
        let gate = ResendGate::new(Duration::from_millis(200));
        assert!(gate.allow("a"));
        assert!(!gate.allow("a"));
        assert!(gate.allow("b"), "keys are apart");
        std::thread::sleep(Duration::from_millis(250));
        assert!(gate.allow("a"), "the window has passed");
    }
}
