//! Integration tests of cachet-core: the conformance suite on `MemoryStore`, and the
//! service's rules end to end.

mod accounts;
mod conformance;
mod data_key;
mod sanitizer;
mod service;
mod sessions;
mod subscriptions;
