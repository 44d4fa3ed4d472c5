//! The runnable examples of cachet-rs: `cachet-server` (the standalone server) and `embed`
//! (a host axum application mounting the status page). This library only carries the
//! workspace README, so its embedding example is compiled as a doctest.
#![doc = include_str!("../../README.md")]
