//! A hardened HTTP/1.1 accept loop for the router, for the standalone server and for hosts
//! that have no server of their own.
//!
//! `axum::serve` has no limits of its own: a client that opens a connection and never sends
//! a request (or sends its headers one byte at a time) holds a connection and a task forever,
//! and enough of them stop the process from accepting anyone else. This loop adds what a
//! public status page needs during an outage, when thousands of clients arrive at once:
//!
//! - a header read timeout, from the moment a connection opens or finishes its previous
//!   response, so idle and slow-header connections are closed;
//! - read and write timeouts on the socket, so a client that stops reading its responses
//!   (or stops sending a body) loses its connection instead of holding it forever;
//! - a cap on open connections, overall and optionally per client address: past it, a new
//!   connection is closed at once (the clients already connected keep being served),
//!   rather than queueing without bound;
//! - graceful shutdown: on the signal it stops accepting, lets requests in flight finish
//!   (up to a deadline), then returns.
//!
//! Each request carries the peer address as `axum::extract::ConnectInfo<SocketAddr>`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_io_timeout::TimeoutStream;
use tower::ServiceExt;

/// Limits of [`serve`].
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// Longest a client may take to send a request's headers, counted from when the
    /// connection opens or its previous response ends.
    pub header_read_timeout: Duration,
    /// Longest a single read or write on a connection may wait (a client that reads no
    /// response, or sends its body too slowly, is disconnected).
    pub io_timeout: Duration,
    /// Most connections open at once; further ones are closed as soon as they are accepted.
    pub max_connections: usize,
    /// Most connections open at once from one client address (0: no per-address cap).
    /// Behind a reverse proxy every connection comes from the proxy: leave it at 0 there.
    pub max_connections_per_ip: usize,
    /// How long shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_read_timeout: Duration::from_secs(10),
            io_timeout: Duration::from_secs(10),
            max_connections: 4096,
            max_connections_per_ip: 0,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Serves `app` on `listener` with `limits` until `shutdown` completes, then drains.
///
/// # Errors
/// Never for a client's misbehaviour; only when the listener itself fails in a way that is
/// not a per-connection error (it keeps accepting after `EMFILE` and similar, after a
/// short pause).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let per_ip: Counts = Arc::default();
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors or a connection reset before accept: not
                    // fatal; pause so a full table does not become a busy loop.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::warn!(%peer, "connection limit reached; closing a new connection");
            drop(stream);
            continue;
        };
        let Some(per_ip) = PerIp::claim(&per_ip, peer.ip(), limits.max_connections_per_ip) else {
            tracing::warn!(%peer, "per-address connection limit reached; closing a new connection");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let mut stream = TimeoutStream::new(stream);
        stream.set_read_timeout(Some(limits.io_timeout));
        stream.set_write_timeout(Some(limits.io_timeout));
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            async move { Ok::<_, Infallible>(app.oneshot(req).await.unwrap_or_else(|e| match e {})) }
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(Box::pin(stream)), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop((slot, per_ip));
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {},
        () = tokio::time::sleep(limits.shutdown_grace) => {
            tracing::warn!("requests still in flight after the shutdown grace period");
        }
    }
    Ok(())
}

/// Open connections per client address.
type Counts = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// One connection counted against its client address; released on drop.
struct PerIp {
    counts: Option<(Counts, IpAddr)>,
}

impl PerIp {
    /// Counts a connection from `ip`, or `None` when `ip` already has `max` open (`max` 0:
    /// no cap, nothing counted).
    fn claim(counts: &Counts, ip: IpAddr, max: usize) -> Option<PerIp> {
        if max == 0 {
            return Some(PerIp { counts: None });
        }
        let mut map = counts.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(PerIp {
            counts: Some((Arc::clone(counts), ip)),
        })
    }
}

impl Drop for PerIp {
    fn drop(&mut self) {
        if let Some((counts, ip)) = self.counts.take() {
            let mut map = counts.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(n) = map.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&ip);
                }
            }
        }
    }
}
