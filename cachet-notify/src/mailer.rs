//! Sending one mail: the [`Mailer`] trait and its SMTP implementation.

use std::time::Duration;

use async_trait::async_trait;
use cachet_core::notify::Mail;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Why a mail was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth another try later (the server is down, busy, or answered 4xx).
    #[error("{0}")]
    Transient(String),
    /// Will never work (the address is refused, the server answered 5xx).
    #[error("{0}")]
    Permanent(String),
}

/// Something that sends mail. Implement it to deliver through another service.
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Sends `mail`.
    ///
    /// # Errors
    /// [`SendError`], transient or permanent.
    async fn send(&self, mail: &Mail) -> Result<(), SendError>;
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// TLS from the first byte (`smtps://`, port 465 by default).
    Tls,
    /// STARTTLS, required: the mail is not sent if the server does not offer it
    /// (`smtp://`, port 587 by default).
    StartTls,
    /// No encryption (`smtp+insecure://`): only for a relay on the same host or network
    /// segment, or a test sink. Credentials are refused over it.
    None,
}

/// Where and how to send mail.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    /// Server host name (checked against its TLS certificate).
    pub host: String,
    /// Port.
    pub port: u16,
    /// Transport security.
    pub security: SmtpSecurity,
    /// User name and password, if the server wants them.
    pub credentials: Option<(String, String)>,
    /// The sender, e.g. `Status <status@example.com>`.
    pub from: String,
    /// How long one SMTP conversation may take.
    pub timeout: Duration,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.credentials.as_ref().map(|(u, _)| u))
            .field("from", &self.from)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SMTP configuration: {0}")]
pub struct ConfigError(String);

impl SmtpConfig {
    /// Reads a server URL: `smtp://[user[:password]@]host[:port]` (STARTTLS, port 587),
    /// `smtps://...` (TLS, port 465) or `smtp+insecure://host[:port]` (no encryption, port
    /// 25). A `password` given separately (from the environment) replaces the URL's.
    ///
    /// # Errors
    /// A [`ConfigError`] naming what is wrong.
    pub fn from_url(
        url: &str,
        password: Option<String>,
        from: &str,
    ) -> Result<SmtpConfig, ConfigError> {
        let parsed = url::Url::parse(url)
            .map_err(|e| ConfigError(format!("the server URL does not parse ({e})")))?;
        let (security, default_port) = match parsed.scheme() {
            "smtp" => (SmtpSecurity::StartTls, 587),
            "smtps" => (SmtpSecurity::Tls, 465),
            "smtp+insecure" => (SmtpSecurity::None, 25),
            other => {
                return Err(ConfigError(format!(
                    "the scheme {other:?} is none of smtp, smtps, smtp+insecure"
                )))
            }
        };
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| ConfigError("the server URL has no host".into()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let user = percent_decode(parsed.username());
        let password = password.or_else(|| parsed.password().map(percent_decode));
        // TLS first: a user on smtp+insecure:// is refused whatever the password.
        if !user.is_empty() && security == SmtpSecurity::None {
            return Err(ConfigError(
                "credentials are never sent without TLS: use smtp:// (STARTTLS) or smtps:// \
                 with a user, or smtp+insecure://host without one (a relay that needs no login)"
                    .into(),
            ));
        }
        let credentials = match (user.is_empty(), password) {
            (true, None) => None,
            (false, Some(p)) => Some((user, p)),
            (false, None) => {
                return Err(ConfigError(
                    "a user is given without a password: set CACHET_SMTP_PASSWORD (or drop \
                     the user for a server that needs no login)"
                        .into(),
                ))
            }
            (true, Some(_)) => {
                return Err(ConfigError("a password is given without a user".into()))
            }
        };
        from.parse::<Mailbox>()
            .map_err(|e| ConfigError(format!("the sender {from:?} is not an address ({e})")))?;
        Ok(SmtpConfig {
            host,
            port: parsed.port().unwrap_or(default_port),
            security,
            credentials,
            from: from.to_owned(),
            timeout: Duration::from_secs(30),
        })
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// A [`Mailer`] over SMTP (lettre), with pooled connections.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The domain of `Message-ID`s: the sender's.
    domain: String,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer for `config`. Nothing is connected until the first mail.
    ///
    /// # Errors
    /// A [`ConfigError`] for a sender that is not an address or a host TLS cannot use.
    pub fn new(config: &SmtpConfig) -> Result<SmtpMailer, ConfigError> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| ConfigError(format!("the sender is not an address ({e})")))?;
        let tls_error = |e: lettre::transport::smtp::Error| ConfigError(format!("TLS: {e}"));
        let builder = match config.security {
            SmtpSecurity::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host).map_err(tls_error)?
            }
            SmtpSecurity::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                    .map_err(tls_error)?
            }
            SmtpSecurity::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            }
        };
        let mut builder = builder.port(config.port).timeout(Some(config.timeout));
        if let Some((user, password)) = &config.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(SmtpMailer {
            transport: builder.build(),
            domain: from.email.domain().to_owned(),
            from,
        })
    }

    /// Connects to the server and says hello, as a send would (TLS and the login
    /// included), without sending anything: a start-up check that names a wrong setting at
    /// once rather than at the first notification.
    ///
    /// # Errors
    /// What went wrong, with its causes.
    pub async fn check(&self) -> Result<(), String> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err("the server did not answer as an SMTP server".into()),
            Err(e) => Err(crate::worker::with_causes(&e)),
        }
    }

    fn message(&self, mail: &Mail) -> Result<Message, SendError> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| SendError::Permanent(format!("the recipient is not an address ({e})")))?;
        let header = |name: &'static str, value: String| {
            HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
        };
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(format!("<{}@{}>", mail.message_id, self.domain)))
            .raw_header(header(
                "List-Unsubscribe",
                format!("<{}>", mail.unsubscribe_url),
            ))
            .raw_header(header(
                "List-Unsubscribe-Post",
                "List-Unsubscribe=One-Click".to_owned(),
            ))
            .raw_header(header("Auto-Submitted", "auto-generated".to_owned()))
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| SendError::Permanent(format!("the mail cannot be built ({e})")))
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<(), SendError> {
        let message = self.message(mail)?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Err(e) => Err(SendError::Transient(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_security_ports_and_credentials() {
        let from = "Status <status@example.com>";
        let c = SmtpConfig::from_url("smtp://mail.example.com", None, from).unwrap();
        assert_eq!(
            (c.security, c.port, c.credentials),
            (SmtpSecurity::StartTls, 587, None)
        );
        let c =
            SmtpConfig::from_url("smtps://u%40x:p%2Fw@mail.example.com:2465", None, from).unwrap();
        assert_eq!(c.security, SmtpSecurity::Tls);
        assert_eq!(c.port, 2465);
        assert_eq!(c.credentials, Some(("u@x".into(), "p/w".into())));
        // The environment's password wins over the URL's.
        let c = SmtpConfig::from_url("smtp://u:old@h", Some("new".into()), from).unwrap();
        assert_eq!(c.credentials, Some(("u".into(), "new".into())));
        let c = SmtpConfig::from_url("smtp+insecure://127.0.0.1:2525", None, from).unwrap();
        assert_eq!(
            (c.security, c.port, c.host.as_str()),
            (SmtpSecurity::None, 2525, "127.0.0.1")
        );
        assert!(!format!("{c:?}").contains("new"));
    }

    #[test]
    fn bad_urls_are_refused_by_name() {
        let from = "status@example.com";
        let err = |url: &str, pw: Option<&str>, from: &str| {
            SmtpConfig::from_url(url, pw.map(str::to_owned), from)
                .unwrap_err()
                .to_string()
        };
        assert!(err("http://h", None, from).contains("scheme"));
        assert!(err("smtp+insecure://u:p@h", None, from).contains("without TLS"));
        assert!(err("smtp://u@h", None, from).contains("without a password"));
        assert!(err("smtp://u@h", None, from).contains("CACHET_SMTP_PASSWORD"));
        // Without TLS, the answer is about TLS whether or not a password was given.
        assert!(err("smtp+insecure://u@h", None, from).contains("without TLS"));
        assert!(err("smtp://h", Some("p"), from).contains("without a user"));
        assert!(err("smtp://h", None, "not an address").contains("sender"));
        assert!(err("not a url", None, from).contains("does not parse"));
    }
}
