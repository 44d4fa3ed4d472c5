//! Benches and fuzz checks for cachet-rs.
//!
//! Speed is shown as a ratio against a baseline measured in the same run (DESIGN.md,
//! "Performance principles"): each bench binary runs its criterion groups, then
//! [`ratio::compare`] measures ours and the baseline interleaved and prints one
//! `RATIO <name> speed ours/baseline = <x>` line per pair (throughput of ours divided by throughput
//! of the baseline: 1.0 is as fast, 0.8 is the goal's floor).
//!
//! [`fuzz_checks`] holds the property checks of the fuzz targets in `../fuzz`; the same
//! functions replay the committed corpora in `tests/fuzz_corpus.rs`, so a target and its
//! stable test can never disagree.

pub mod fuzz_checks;
pub mod ratio;
