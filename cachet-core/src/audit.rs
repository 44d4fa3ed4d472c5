//! How many failure entries the audit log takes.
//!
//! Failures are what an attacker controls: anyone can send requests with made-up tokens, and
//! any valid low-privilege token can ask for what it may not do. Recording every one of them
//! would let a flood grow the log without bound and bury the entries that matter. So each
//! kind of failure gets a budget per window; past it, entries are counted instead of written,
//! and the first entry of the next window says how many were left out. Successes and changes
//! (a login, a new token, a settings change) are always written.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Length of a budget window.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Failure entries of one kind written per window.
pub const PER_WINDOW: u32 = 60;

/// What to do with one failure entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admit {
    /// Write it.
    Write,
    /// Write it, after a summary entry saying that this many of the same kind were left out
    /// in the windows before.
    WriteAfterSummary(u64),
    /// Count it, write nothing.
    Drop,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    written: u32,
    dropped: u64,
}

/// Per-kind budgets (kinds are a handful of static names).
#[derive(Debug)]
pub struct FailureBudget {
    window: Duration,
    per_window: u32,
    kinds: Mutex<HashMap<&'static str, Window>>,
}

impl Default for FailureBudget {
    fn default() -> Self {
        FailureBudget::new(WINDOW, PER_WINDOW)
    }
}

impl FailureBudget {
    /// A budget of `per_window` entries of each kind per `window`.
    pub fn new(window: Duration, per_window: u32) -> FailureBudget {
        FailureBudget {
            window,
            per_window,
            kinds: Mutex::new(HashMap::new()),
        }
    }

    /// Decides on one entry of `kind` at `now`.
    pub fn admit(&self, kind: &'static str, now: Instant) -> Admit {
        let mut kinds = self.kinds.lock().unwrap_or_else(|e| e.into_inner());
        let w = kinds.entry(kind).or_insert(Window {
            started: now,
            written: 0,
            dropped: 0,
        });
        if now.saturating_duration_since(w.started) >= self.window {
            let dropped = std::mem::take(&mut w.dropped);
            w.started = now;
            w.written = 1;
            return if dropped > 0 {
                Admit::WriteAfterSummary(dropped)
            } else {
                Admit::Write
            };
        }
        if w.written < self.per_window {
            w.written += 1;
            Admit::Write
        } else {
            w.dropped += 1;
            Admit::Drop
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_counted_and_summarised() {
        let b = FailureBudget::new(Duration::from_secs(60), 3);
        let t0 = Instant::now();
        let got: Vec<Admit> = (0..5).map(|_| b.admit("token.failed", t0)).collect();
        assert_eq!(
            got,
            [
                Admit::Write,
                Admit::Write,
                Admit::Write,
                Admit::Drop,
                Admit::Drop
            ]
        );
        // Other kinds have their own budget.
        assert_eq!(b.admit("authz.denied", t0), Admit::Write);
        let later = t0 + Duration::from_secs(61);
        assert_eq!(b.admit("token.failed", later), Admit::WriteAfterSummary(2));
        assert_eq!(b.admit("token.failed", later), Admit::Write);
        let quiet = later + Duration::from_secs(120);
        assert_eq!(b.admit("token.failed", quiet), Admit::Write);
    }
}
