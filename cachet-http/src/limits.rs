//! Request rate limits, and who the client is.
//!
//! - The client address is the connection's peer, or, when [`HttpConfig::trusted_proxy_header`]
//!   names a header, the last address in that header (the one the proxy in front of us
//!   appended; earlier entries are whatever the client claimed). Without that setting the
//!   header is ignored, so a client cannot pick its own address.
//! - IPv6 clients are limited per /64 (one host commonly holds a whole /64).
//! - Limits are GCRA buckets ([`governor`]): a burst, refilled at a steady rate. Each limiter is
//!   keyed, in memory, per process, and forgets idle keys as it grows.
//!
//! The sign-in throttle with per-account backoff is a rule of the service
//! (`cachet_core::throttle`); these limits sit in front of it and bound the request rate of
//! a client whatever the outcome.

use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};

use crate::{AppState, HttpConfig};

/// A sustained rate with a burst. `per_minute` 0 turns the limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests a minute, sustained.
    pub per_minute: u32,
    /// Requests that may arrive at once before the rate applies.
    pub burst: u32,
}

impl Rate {
    /// No limit.
    pub const OFF: Rate = Rate {
        per_minute: 0,
        burst: 0,
    };

    /// `per_minute` sustained, with a burst of `burst`.
    pub const fn new(per_minute: u32, burst: u32) -> Rate {
        Rate { per_minute, burst }
    }

    fn quota(self) -> Option<Quota> {
        let per_minute = NonZeroU32::new(self.per_minute)?;
        let burst = NonZeroU32::new(self.burst.max(1))?;
        Some(Quota::per_minute(per_minute).allow_burst(burst))
    }
}

/// The request rate limits of the router (see [`crate::HttpConfig::rate_limits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Dashboard sign-in and second-factor posts, per client address.
    pub sign_in: Rate,
    /// Every `/api/v1` request, per client address.
    pub api_per_client: Rate,
    /// Every `/api/v1` request that carries a token, per token.
    pub api_per_token: Rate,
    /// Posts of the public subscription pages (`/subscribe` and its links), per client
    /// address: each can make the page send a mail.
    pub subscribe: Rate,
}

impl Default for RateLimits {
    /// Generous for people and monitoring tools, tight for guessing and scripted abuse:
    /// sign-in 10 a minute (burst 10), API 600 a minute per client (burst 200) and 1200 per
    /// token (burst 300), subscription forms 6 a minute (burst 6).
    fn default() -> Self {
        RateLimits {
            sign_in: Rate::new(10, 10),
            api_per_client: Rate::new(600, 200),
            api_per_token: Rate::new(1200, 300),
            subscribe: Rate::new(6, 6),
        }
    }
}

/// A client address as limited: IPv4 whole, IPv6 by its /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ClientKey(u128);

impl ClientKey {
    pub(crate) fn of(ip: Option<IpAddr>) -> ClientKey {
        match ip.map(|ip| ip.to_canonical()) {
            Some(IpAddr::V4(v4)) => ClientKey(u128::from(u32::from(v4))),
            Some(IpAddr::V6(v6)) => ClientKey(u128::from(v6) & !u128::from(u64::MAX) | 1 << 127),
            // No address at all (a host that serves without `ConnectInfo`): one shared key.
            None => ClientKey(u128::MAX),
        }
    }
}

/// Keys kept before idle ones are dropped.
const RETAIN_AFTER: usize = 50_000;

/// One keyed limit; `None` inside when the rate is off.
pub(crate) struct Limit<K: Hash + Eq + Clone> {
    limiter: Option<DefaultKeyedRateLimiter<K>>,
    checks: AtomicU64,
}

impl<K: Hash + Eq + Clone> std::fmt::Debug for Limit<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limit")
            .field("on", &self.limiter.is_some())
            .finish_non_exhaustive()
    }
}

impl<K: Hash + Eq + Clone> Limit<K> {
    fn new(rate: Rate) -> Limit<K> {
        Limit {
            limiter: rate.quota().map(RateLimiter::keyed),
            checks: AtomicU64::new(0),
        }
    }

    /// Counts a request of `key`: `Err(retry_after)` when it is over the limit.
    pub(crate) fn check(&self, key: &K) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023
            && limiter.len() > RETAIN_AFTER
        {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// The limiters of one router.
#[derive(Debug)]
pub(crate) struct Limiters {
    pub(crate) sign_in: Limit<ClientKey>,
    pub(crate) api_client: Limit<ClientKey>,
    pub(crate) api_token: Limit<[u8; 32]>,
    pub(crate) subscribe: Limit<ClientKey>,
}

impl Limiters {
    pub(crate) fn new(rates: &RateLimits) -> Limiters {
        Limiters {
            sign_in: Limit::new(rates.sign_in),
            api_client: Limit::new(rates.api_per_client),
            api_token: Limit::new(rates.api_per_token),
            subscribe: Limit::new(rates.subscribe),
        }
    }
}

/// The key of a token's limit: its digest (the token itself is not kept).
pub(crate) fn token_key(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

/// The client's address (see the module docs): from the trusted proxy header when one is
/// configured and it holds an address, else the connection's peer.
pub(crate) fn client_ip(parts: &Parts, config: &HttpConfig) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    match &config.trusted_proxy_header {
        Some(name) => forwarded_ip(&parts.headers, name).or(peer),
        None => peer,
    }
}

/// The last address in the last `name` header (`X-Forwarded-For: client, proxy1`): the one
/// the trusted proxy wrote. Ports and IPv6 brackets are accepted.
fn forwarded_ip(headers: &HeaderMap, name: &HeaderName) -> Option<IpAddr> {
    let last = headers.get_all(name).iter().next_back()?.to_str().ok()?;
    let entry = last.rsplit(',').next()?.trim();
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip);
    }
    entry
        .parse::<SocketAddr>()
        .ok()
        .map(|a| a.ip())
        .or_else(|| entry.strip_prefix('[')?.split(']').next()?.parse().ok())
}

/// The `Retry-After` value for a wait: whole seconds, at least 1.
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    let rounded_up = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    rounded_up.max(1)
}

/// Every `/api/v1` request: the client's limit, then its token's (a client spraying random
/// tokens meets its own limit first). Past either: 429, the JSON envelope, `Retry-After`.
pub(crate) async fn api(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let client = ClientKey::of(client_ip(&parts, &state.config));
    let mut verdict = state.limiters.api_client.check(&client);
    if verdict.is_ok() {
        if let Some(token) = parts.headers.get(crate::api::TOKEN_HEADER) {
            verdict = state.limiters.api_token.check(&token_key(token.as_bytes()));
        }
    }
    match verdict {
        Ok(()) => next.run(Request::from_parts(parts, body)).await,
        Err(wait) => {
            let mut res = crate::api::error::error_response(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests. Slow down and try again shortly.",
                None,
            );
            res.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs(wait)),
            );
            res
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn ipv6_clients_share_their_slash_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ClientKey::of(Some(a)), ClientKey::of(Some(b)));
        assert_ne!(ClientKey::of(Some(a)), ClientKey::of(Some(c)));
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(ClientKey::of(Some(v4)), ClientKey::of(Some(mapped)));
        assert_ne!(
            ClientKey::of(Some(v4)),
            ClientKey::of(Some("192.0.2.8".parse().unwrap()))
        );
    }

    #[test]
    fn the_proxy_header_is_read_from_its_last_entry() {
        let name = HeaderName::from_static("x-forwarded-for");
        let mut h = HeaderMap::new();
        h.append(&name, HeaderValue::from_static("6.6.6.6, 203.0.113.9"));
        assert_eq!(forwarded_ip(&h, &name), "203.0.113.9".parse().ok());
        h.append(&name, HeaderValue::from_static("[2001:db8::5]:443"));
        assert_eq!(forwarded_ip(&h, &name), "2001:db8::5".parse().ok());
        h.insert(&name, HeaderValue::from_static("198.51.100.4:8080"));
        assert_eq!(forwarded_ip(&h, &name), "198.51.100.4".parse().ok());
        h.insert(&name, HeaderValue::from_static("1.2.3.4, not-an-ip"));
        assert_eq!(forwarded_ip(&h, &name), None);
    }

    #[test]
    fn a_limit_engages_after_its_burst_and_says_how_long() {
        let limit: Limit<ClientKey> = Limit::new(Rate::new(60, 3));
        let key = ClientKey::of("192.0.2.1".parse().ok());
        for _ in 0..3 {
            assert_eq!(limit.check(&key), Ok(()));
        }
        let wait = limit.check(&key).unwrap_err();
        assert!(
            wait <= Duration::from_secs(1) && wait > Duration::ZERO,
            "{wait:?}"
        );
        assert_eq!(retry_after_secs(wait), 1);
        // Another client is not affected.
        assert_eq!(
            limit.check(&ClientKey::of("192.0.2.2".parse().ok())),
            Ok(())
        );
        let off: Limit<ClientKey> = Limit::new(Rate::OFF);
        for _ in 0..1000 {
            assert_eq!(off.check(&key), Ok(()));
        }
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
    }
}
