//! Integration tests of `SqliteStore` (one binary): the core's conformance suite and
//! focused tests of what a SQL backend can get wrong.
#![allow(missing_docs)]

mod conformance;
mod focused;
mod support;
