#![doc = include_str!("../README.md")]

pub mod audit;
pub mod chart;
pub mod crypto;
pub mod enums;
pub mod error;
pub mod ids;
pub mod input;
pub mod maintenance;
pub mod markdown;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
pub mod model;
pub mod notify;
pub mod policy;
pub mod rollup;
pub mod secret;
pub mod service;
pub mod settings;
pub mod store;
pub mod template;
#[cfg(feature = "testing")]
pub mod testing;
pub mod throttle;
pub mod time;
pub mod totp;
pub mod validate;
pub mod webhook;

pub use chrono_tz::Tz;
pub use error::{Error, Result, StoreError, ValidationErrors};
pub use policy::{Actor, Principal};
pub use service::StatusPage;
pub use store::Store;
