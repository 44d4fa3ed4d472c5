//! Sign-in throttling: exponential backoff per account and per client.
//!
//! Two independent counters see every failed sign-in: one keyed by the login name as typed
//! (so an unknown name is throttled exactly like a real one and the answer reveals nothing),
//! one keyed by the client (the adapter's choice: the address, as a trusted proxy reports
//! it). Each key gets a number of free failures; every failure past them locks the key for
//! twice as long as the one before, from [`BASE_LOCK`] up to [`MAX_LOCK`]. While a key is
//! locked no password is checked at all. A success clears the account's counter but not the
//! client's, so an attacker cannot wash a guessing run clean by signing in to an account of
//! their own in between. A key that has not failed for [`FORGET_AFTER`] starts over.
//!
//! The state is in memory, per process: several server instances each throttle on their own
//! (an attacker gets at most that many times the budget). It holds at most [`MAX_KEYS`]
//! keys; past that, stale keys are dropped first, then the oldest.

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

/// The account key of a login name as typed: trimmed and lowercased, so that case games
/// don't multiply the budget.
fn account_key(login: &str) -> String {
    login.trim().to_lowercase()
}

impl SignInThrottle {
    /// A throttle with the given numbers of free failures per account and per client.
    pub fn new(account_free: u32, client_free: u32) -> SignInThrottle {
        SignInThrottle {
            accounts: Mutex::new(Counters::new(account_free)),
            clients: Mutex::new(Counters::new(client_free)),
        }
    }

    /// `Err` when the account or the client is locked at `now` (the longer wait wins).
    ///
    /// # Errors
    /// [`Locked`] with the time to wait.
    pub fn check(&self, login: &str, client: &str, now: Instant) -> Result<(), Locked> {
        let account = lock(&self.accounts).locked(&account_key(login), now);
        let client = lock(&self.clients).locked(client, now);
        match account.max(client) {
            Some(retry_after) => Err(Locked { retry_after }),
            None => Ok(()),
        }
    }

    /// Records a failed sign-in.
    pub fn fail(&self, login: &str, client: &str, now: Instant) -> Failure {
        Failure {
            account_locked_now: lock(&self.accounts).fail(&account_key(login), now),
            client_locked_now: lock(&self.clients).fail(client, now),
        }
    }

    /// Records a successful sign-in: the account starts over; the client does not.
    pub fn succeed(&self, login: &str) {
        lock(&self.accounts).clear(&account_key(login));
    }
}

fn lock(m: &Mutex<Counters>) -> std::sync::MutexGuard<'_, Counters> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!(lock_for(1), Duration::from_secs(1));
        assert_eq!(lock_for(2), Duration::from_secs(2));
        assert_eq!(lock_for(5), Duration::from_secs(16));
        assert_eq!(lock_for(11), Duration::from_secs(900));
        assert_eq!(lock_for(u32::MAX), MAX_LOCK);
    }

    #[test]
    fn an_account_locks_after_its_free_failures() {
        let t = SignInThrottle::new(3, 100);
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(t.check("Alice", "c1", t0), Ok(()), "attempt {i}");
            assert!(!t.fail("Alice", "c1", t0).account_locked_now);
        }
        assert_eq!(t.check("alice ", "c2", t0), Ok(()));
        let f = t.fail("ALICE", "c2", t0);
        assert!(f.account_locked_now);
        // Locked for 1 s, from any client and in any case.
        assert_eq!(
            t.check("alice", "c3", t0),
            Err(Locked {
                retry_after: Duration::from_secs(1)
            })
        );
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(t.check("alice", "c3", t1), Ok(()));
        // The next failure doubles the lock and is not a new lockout.
        assert!(!t.fail("alice", "c3", t1).account_locked_now);
        assert_eq!(
            t.check("alice", "c3", t1),
            Err(Locked {
                retry_after: Duration::from_secs(2)
            })
        );
        // Other accounts are untouched.
        assert_eq!(t.check("bob", "c3", t1), Ok(()));
        // Success starts the account over.
        t.succeed("Alice");
        assert_eq!(t.check("alice", "c3", t1), Ok(()));
    }

    #[test]
    fn a_client_locks_across_accounts_and_success_does_not_clear_it() {
        let t = SignInThrottle::new(100, 4);
        let t0 = Instant::now();
        for i in 0..4 {
            assert!(
                !t.fail(&format!("user{i}"), "10.0.0.1", t0)
                    .client_locked_now
            );
        }
        t.succeed("user0");
        assert!(t.fail("user9", "10.0.0.1", t0).client_locked_now);
        assert!(t.check("someone", "10.0.0.1", t0).is_err());
        assert_eq!(t.check("someone", "10.0.0.2", t0), Ok(()));
    }

    #[test]
    fn failures_are_forgotten_after_a_quiet_hour() {
        let t = SignInThrottle::new(1, 100);
        let t0 = Instant::now();
        t.fail("a", "c", t0);
        t.fail("a", "c", t0);
        assert!(t.check("a", "c", t0).is_err());
        let later = t0 + FORGET_AFTER;
        assert_eq!(t.check("a", "c", later), Ok(()));
        // Starts over: one free failure again.
        assert!(!t.fail("a", "c", later).account_locked_now);
        assert_eq!(t.check("a", "c", later), Ok(()));
    }
}
