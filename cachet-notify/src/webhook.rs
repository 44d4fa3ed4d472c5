//! Posting one webhook delivery: signed, short, to checked addresses only.
//!
//! The rules (the signature, which addresses are refused) are in
//! [`cachet_core::webhook`]; this is the transport. Names are resolved by the sender's own
//! resolver, which checks every address against the [`AddressPolicy`] and hands the
//! connection only addresses it checked, so a name cannot be re-resolved to another
//! address between the check and the connection. An address literal in the URL is checked
//! before the request (no resolution happens for it). Redirects are not followed; no proxy
//! from the environment is used (it would connect in the sender's place).

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use cachet_core::webhook::{
    signature, AddressPolicy, DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER,
};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::mailer::SendError;

/// Looks a name up: the addresses it stands for.
pub type Lookup = Arc<
    dyn Fn(String) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>
        + Send
        + Sync,
>;

/// The system resolver (`getaddrinfo`, through tokio).
pub fn system_lookup() -> Lookup {
    Arc::new(|name: String| {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    })
}

/// A lookup from a fixed table (for tests, and for names an operator pins).
pub fn table_lookup(table: HashMap<String, Vec<IpAddr>>) -> Lookup {
    let table = Arc::new(table);
    Arc::new(move |name: String| {
        let found = table.get(&name.to_ascii_lowercase()).cloned();
        Box::pin(async move {
            found.ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("no address for {name}"),
                )
            })
        })
    })
}

/// The refusal of an address, carried through reqwest's error chain.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// The resolver reqwest connects through: every address of a name must pass the policy.
struct CheckedResolver {
    policy: AddressPolicy,
    lookup: Lookup,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let lookup = self.lookup.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let ips = lookup(host.clone()).await?;
            if ips.is_empty() {
                return Err(Box::new(Refused(format!("{host} has no address"))) as _);
            }
            // One bad address refuses the name: a name that points inside is not a
            // receiver's name, whatever else it points at.
            for ip in &ips {
                if let Err(why) = policy.check(*ip) {
                    return Err(Box::new(Refused(format!("{host} {why}"))) as _);
                }
            }
            let addrs: Addrs = Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// Posts webhook deliveries.
#[derive(Clone)]
pub struct WebhookSender {
    client: reqwest::Client,
    policy: AddressPolicy,
}

impl std::fmt::Debug for WebhookSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSender")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// The longest a receiver may take to answer, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl WebhookSender {
    /// A sender that connects where `policy` allows, resolving names with the system
    /// resolver, and gives a receiver `timeout` to answer.
    ///
    /// # Errors
    /// The HTTP client could not be built (no TLS roots).
    pub fn new(policy: AddressPolicy, timeout: Duration) -> Result<WebhookSender, String> {
        WebhookSender::with_lookup(policy, timeout, system_lookup())
    }

    /// As [`WebhookSender::new`], resolving names with `lookup`.
    ///
    /// # Errors
    /// The HTTP client could not be built.
    pub fn with_lookup(
        policy: AddressPolicy,
        timeout: Duration,
        lookup: Lookup,
    ) -> Result<WebhookSender, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!(
                "cachet-rs/",
                env!("CARGO_PKG_VERSION"),
                " (webhook)"
            ))
            .dns_resolver(Arc::new(CheckedResolver {
                policy: policy.clone(),
                lookup,
            }))
            .build()
            .map_err(|e| format!("the webhook client could not be built: {e}"))?;
        Ok(WebhookSender { client, policy })
    }

    /// Posts `body` to `url`, signed with `secret` at `timestamp`.
    ///
    /// # Errors
    /// [`SendError::Permanent`] for a refused address, a redirect or `410 Gone`;
    /// [`SendError::Transient`] for anything else that is not a 2xx answer.
    pub async fn post(
        &self,
        url: &str,
        secret: &str,
        event: &str,
        delivery: i64,
        timestamp: i64,
        body: Vec<u8>,
    ) -> Result<(), SendError> {
        let parsed =
            url::Url::parse(url).map_err(|e| SendError::Permanent(format!("bad URL: {e}")))?;
        let literal = match parsed.host() {
            Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            _ => None,
        };
        if let Some(ip) = literal {
            self.policy
                .check(ip)
                .map_err(|why| SendError::Permanent(format!("refused: the URL {why}")))?;
        }
        let sig = signature(secret, timestamp, &body);
        let sent = self
            .client
            .post(parsed)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, sig)
            .header(EVENT_HEADER, event)
            .header(DELIVERY_HEADER, delivery.to_string())
            .body(body)
            .send()
            .await;
        let res = match sent {
            Ok(r) => r,
            // The error would name the URL, whose query may hold the receiver's credentials.
            Err(e) => return Err(classify(&e.without_url())),
        };
        let status = res.status();
        if status.is_success() {
            return Ok(());
        }
        if status.is_redirection() {
            let to = res
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("?")
                .chars()
                .take(200)
                .collect::<String>();
            return Err(SendError::Permanent(format!(
                "the receiver answered {status}, a redirect to {to}; redirects are not followed"
            )));
        }
        if status == reqwest::StatusCode::GONE {
            return Err(SendError::Permanent(format!(
                "the receiver answered {status}"
            )));
        }
        Err(SendError::Transient(format!(
            "the receiver answered {status}"
        )))
    }
}

/// A failed request: a refusal by the resolver is permanent; the rest is worth a retry.
fn classify(e: &reqwest::Error) -> SendError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(refused) = err.downcast_ref::<Refused>() {
            return SendError::Permanent(format!("refused: {refused}"));
        }
        source = err.source();
    }
    if e.is_timeout() {
        return SendError::Transient("the receiver did not answer in time".into());
    }
    SendError::Transient(crate::worker::with_causes(e))
}
