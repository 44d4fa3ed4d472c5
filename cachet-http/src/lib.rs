#![doc = include_str!("../README.md")]

use std::sync::Arc;

use axum::Router;
use cachet_core::StatusPage;

mod api;
mod page;
mod security;
pub mod server;

pub use api::api_paths;
pub use security::HttpConfig;

/// State shared by every handler.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The service every handler goes through.
    pub service: Arc<StatusPage>,
    /// Adapter settings.
    pub config: Arc<HttpConfig>,
}

/// The whole router: `/api/v1` (Cachet v1 JSON API), the public status page (`/`,
/// `/incidents/{id}`, `/metrics/{id}` chart data) and static assets, behind the security
/// middleware (headers, body limit, timeouts). Mount it at the root or under a prefix with
/// `Router::nest`.
pub fn router(service: Arc<StatusPage>, config: HttpConfig) -> Router {
    let state = AppState {
        service,
        config: Arc::new(config),
    };
    let app = Router::new()
        .nest("/api/v1", api::routes(&state))
        .merge(page::routes());
    security::apply(app, &state).with_state(state)
}
