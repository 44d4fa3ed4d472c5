#![doc = include_str!("../README.md")]

use std::sync::Arc;

use axum::Router;
use cachet_core::StatusPage;

mod api;
mod dashboard;
mod limits;
mod page;
mod security;
pub mod server;
mod webhook;

pub use api::api_paths;
pub use security::{Hsts, HttpConfig, Rate, RateLimits};
pub use webhook::WebhookPayloads;

/// State shared by every handler.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The service every handler goes through.
    pub service: Arc<StatusPage>,
    /// Adapter settings.
    pub config: Arc<HttpConfig>,
    /// The rate limiters (from `config.rate_limits`).
    pub(crate) limiters: Arc<limits::Limiters>,
}

impl AppState {
    fn new(service: Arc<StatusPage>, config: HttpConfig) -> AppState {
        AppState {
            service,
            limiters: Arc::new(limits::Limiters::new(&config.rate_limits)),
            config: Arc::new(config),
        }
    }
}

/// The whole router: `/api/v1` (Cachet v1 JSON API), the public status page (`/`,
/// `/incidents/{id}`, `/metrics/{id}` chart data) and static assets, behind the security
/// middleware (headers, body limit, timeouts). Mount it at the root or under a prefix with
/// `Router::nest`.
pub fn router(service: Arc<StatusPage>, config: HttpConfig) -> Router {
    let state = AppState::new(service, config);
    let app = Router::new()
        .nest("/api/v1", api::routes(&state))
        .merge(page::routes())
        .merge(dashboard::routes(&state))
        .fallback(page::fallback);
    security::apply(app, &state).with_state(state)
}
