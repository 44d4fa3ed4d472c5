//! In-process tests of the Cachet v1 API (one binary, modules per resource).

mod actions;
mod common;
mod components;
mod dashboard;
mod deliveries;
mod general;
mod groups;
mod history;
mod incidents;
mod matrix;
mod metrics;
mod openapi;
mod page;
mod robustness;
mod schedules;
mod secrets;
mod subscribe_pages;
mod subscribers;
mod transport;
