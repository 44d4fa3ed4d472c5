//! Fuzz target `security_input`: see `cachet_benches::fuzz_checks::check_security_input` for
//! the properties checked (the same function replays the corpus in the main workspace).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cachet_benches::fuzz_checks::check_security_input(data);
});
