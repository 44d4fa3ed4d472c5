//! Server URLs from the environment, and the one "skipped" line.

use std::io::Write as _;
use std::sync::Once;

/// The URL in `var`, or `None` (after saying so once per variable) when it is unset.
///
/// # Panics
/// When it is unset and `CACHET_REQUIRE_DB=1`.
pub(crate) fn server_url(var: &str, once: &'static Once) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CACHET_REQUIRE_DB").as_deref() != Ok("1"),
                "{var} is not set and CACHET_REQUIRE_DB=1 requires the server"
            );
            // Written to the stream itself: the test harness would swallow `eprintln!`.
            once.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "skipped: {var} is not set, no tests against that server"
                );
            });
            None
        }
    }
}

/// A name no other test run uses: `cachet_t_` and 16 hex digits.
pub(crate) fn unique_name() -> String {
    format!("cachet_t_{:016x}", rand::random::<u64>())
}
