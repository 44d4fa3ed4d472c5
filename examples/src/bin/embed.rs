//! `embed`: a host axum application that mounts the status page under `/status`.
//!
//! Run it with `cargo run -p cachet-examples --bin embed`, then open
//! <http://127.0.0.1:8080/> (the host's own page), <http://127.0.0.1:8080/status> and the
//! dashboard at <http://127.0.0.1:8080/status/dashboard> (the admin's password is printed).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use cachet_core::StatusPage;
use cachet_http::HttpConfig;
use cachet_store_sqlite::SqliteStore;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Any `Store` works; an in-memory SQLite database keeps the example self-contained.
    let store = SqliteStore::open_in_memory()?;
    store.migrate().await?;
    // The data key seals secrets at rest; a real application loads it from its configuration
    // (see `cachet_core::crypto::DataKey::parse`). A fresh one suits an in-memory database.
    let key = cachet_core::crypto::DataKey::generate().0;
    let service = Arc::new(StatusPage::new(Arc::new(store), key).await?);

    // The host application can call the service directly, with the same rules as the API.
    if let Some((_, password, token)) = service.bootstrap("admin", "admin@example.com").await? {
        println!("admin password (shown once): {password}");
        println!("admin API token (shown once): {token}");
    }

    let app = Router::new()
        .route(
            "/",
            get(|| async { "The host application. The status page is at /status" }),
        )
        // nest takes "/status" but not "/status/": send the slash to the page.
        .route(
            "/status/",
            get(|| async { axum::response::Redirect::permanent("/status") }),
        )
        .nest(
            "/status",
            cachet_http::router(service, HttpConfig::default()),
        );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    println!("listening on http://{}", listener.local_addr()?);
    // The peer address lets the rate limits tell clients apart.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
