//! `cachet-server`: the standalone status page.
//!
//! Runs the Cachet v1 API and the public page on an embedded SQLite file by default.
//! On first start with an empty database it creates an admin and prints that admin's
//! password and API token once; it never re-runs setup once a user exists.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderName;
use cachet_core::crypto::DataKey;
use cachet_core::enums::Role;
use cachet_core::input::{TokenInput, UserInput};
use cachet_core::service::SessionLimits;
use cachet_core::webhook::AddressPolicy;
use cachet_core::{Actor, StatusPage, Store, StoreError};
use cachet_http::server::ServerLimits;
use cachet_http::{Hsts, HttpConfig, Rate, RateLimits, WebhookPayloads};
use cachet_notify::{SmtpConfig, SmtpMailer, WebhookSender, Worker, WorkerConfig};
use cachet_store_sql::sqlx;
use cachet_store_sql::{MySqlStore, PostgresStore};
use cachet_store_sqlite::SqliteStore;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "cachet-server",
    version,
    about = "A Cachet-compatible status page server"
)]
struct Cli {
    /// Database URL: `sqlite://PATH`, `sqlite::memory:` or a plain file path;
    /// `postgres://user:password@host/db` or `mysql://user:password@host/db` (TLS and other
    /// driver options as URL parameters, e.g. `?sslmode=verify-full` or `?ssl-mode=VERIFY_IDENTITY`).
    #[arg(
        long,
        env = "CACHET_DATABASE_URL",
        default_value = "sqlite://cachet.db",
        global = true
    )]
    database_url: String,

    /// Do not run migrations at start, for the server and the subcommands alike (for a
    /// database role that may only read and write rows; run `cachet-server migrate` as the
    /// schema's owner instead). As a variable: true/false, 1/0, yes/no or on/off.
    #[arg(
        long,
        env = "CACHET_NO_MIGRATE",
        num_args = 0..=1,
        require_equals = true,
        default_value = "false",
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new(),
        global = true
    )]
    no_migrate: bool,

    /// Connections to PostgreSQL or MySQL (SQLite has its own small pool).
    #[arg(
        long,
        env = "CACHET_DB_MAX_CONNECTIONS",
        default_value_t = 10,
        global = true
    )]
    db_max_connections: u32,

    /// File holding the data key that seals TOTP secrets and subscriber emails at rest
    /// (64 hex digits). Created with mode 0600 on first start when missing; back it up
    /// apart from the database, and give every instance on one database the same key.
    #[arg(
        long,
        env = "CACHET_DATA_KEY_FILE",
        default_value = "cachet.key",
        global = true
    )]
    data_key_file: PathBuf,

    #[command(flatten)]
    serve: ServeArgs,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(
        long,
        env = "CACHET_LISTEN",
        default_value = "127.0.0.1:8000",
        global = true
    )]
    listen: SocketAddr,
    /// Username of the admin created on first start.
    #[arg(
        long,
        env = "CACHET_ADMIN_USERNAME",
        default_value = "admin",
        global = true
    )]
    admin_username: String,
    /// Email of the admin created on first start.
    #[arg(
        long,
        env = "CACHET_ADMIN_EMAIL",
        default_value = "admin@example.com",
        global = true
    )]
    admin_email: String,
    /// When to send Strict-Transport-Security: `auto` (when the request came over TLS, as
    /// the trusted proxy reports with X-Forwarded-Proto), `always` or `off`.
    #[arg(long, env = "CACHET_HSTS", default_value = "auto", value_parser = parse_hsts, global = true)]
    hsts: Hsts,
    /// max-age of Strict-Transport-Security, in seconds (default two years).
    #[arg(
        long,
        env = "CACHET_HSTS_MAX_AGE",
        default_value_t = 63_072_000,
        global = true
    )]
    hsts_max_age: u64,
    /// The header your reverse proxy sets to the client's address (e.g. X-Forwarded-For;
    /// its last entry is used). Set it only when that proxy is the only way in.
    #[arg(long, env = "CACHET_TRUSTED_PROXY_HEADER", value_parser = parse_header_name, global = true)]
    trusted_proxy_header: Option<HeaderName>,
    /// Dashboard cookies without `Secure` (plain HTTP on a host that is not localhost).
    /// As a variable: true/false, 1/0, yes/no or on/off.
    #[arg(
        long,
        env = "CACHET_INSECURE_COOKIES",
        num_args = 0..=1,
        require_equals = true,
        default_value = "false",
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new(),
        global = true
    )]
    insecure_cookies: bool,
    /// Requests a minute one client address may make to /api/v1 (a burst of a third of
    /// it); 0 turns the limit off.
    #[arg(
        long,
        env = "CACHET_API_CLIENT_RATE",
        default_value_t = 600,
        global = true
    )]
    api_client_rate: u32,
    /// Requests a minute one API token may make (a burst of a quarter of it); 0: no limit.
    #[arg(
        long,
        env = "CACHET_API_TOKEN_RATE",
        default_value_t = 1200,
        global = true
    )]
    api_token_rate: u32,
    /// Dashboard sign-in and second-factor posts a minute from one client address; 0: no
    /// limit (the per-account backoff of the service still applies).
    #[arg(long, env = "CACHET_SIGN_IN_RATE", default_value_t = 10, global = true)]
    sign_in_rate: u32,
    /// Posts of the public subscription pages a minute from one client address (each can
    /// send a mail); 0: no limit.
    #[arg(
        long,
        env = "CACHET_SUBSCRIBE_RATE",
        default_value_t = 6,
        global = true
    )]
    subscribe_rate: u32,
    /// Minutes without a request after which a dashboard session ends.
    #[arg(
        long,
        env = "CACHET_SESSION_IDLE_MINUTES",
        default_value_t = 30,
        global = true
    )]
    session_idle_minutes: u32,
    /// Hours after sign-in at which a dashboard session ends however active.
    #[arg(
        long,
        env = "CACHET_SESSION_MAX_HOURS",
        default_value_t = 12,
        global = true
    )]
    session_max_hours: u32,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "CACHET_MAX_BODY_BYTES", default_value_t = 256 * 1024, global = true)]
    max_body_bytes: usize,
    /// Most client connections open at once; further ones are closed at once.
    #[arg(
        long,
        env = "CACHET_MAX_CONNECTIONS",
        default_value_t = 4096,
        global = true
    )]
    max_connections: usize,
    /// Seconds a client may take to send a request's headers (idle connections included).
    #[arg(
        long,
        env = "CACHET_HEADER_TIMEOUT_SECS",
        default_value_t = 10,
        global = true
    )]
    header_timeout_secs: u64,
    /// Seconds one read or write on a connection may wait (a client that stops reading its
    /// responses is disconnected).
    #[arg(
        long,
        env = "CACHET_IO_TIMEOUT_SECS",
        default_value_t = 10,
        global = true
    )]
    io_timeout_secs: u64,
    /// Most connections from one client address (0: no cap; keep 0 behind a reverse proxy).
    #[arg(
        long,
        env = "CACHET_MAX_CONNECTIONS_PER_IP",
        default_value_t = 0,
        global = true
    )]
    max_connections_per_ip: usize,
    /// SMTP server for notification mail: smtp://[user@]host[:port] (STARTTLS required),
    /// smtps://... (TLS) or smtp+insecure://host:port (no TLS, no credentials: a local relay
    /// only). Without it notifications are queued and sent once a server is configured.
    #[arg(long, env = "CACHET_SMTP_URL", global = true)]
    smtp_url: Option<String>,
    /// The SMTP password (from the environment only, so it stays out of `ps`).
    #[arg(skip = std::env::var("CACHET_SMTP_PASSWORD").ok())]
    smtp_password: Option<String>,
    /// The sender of notification mail.
    #[arg(
        long,
        env = "CACHET_MAIL_FROM",
        default_value = "Status <status@localhost>",
        global = true
    )]
    mail_from: String,
    /// The page's public URL for the links in mail, when the app_url setting is empty
    /// (default: http://<listen address>).
    #[arg(long, env = "CACHET_PUBLIC_URL", global = true)]
    public_url: Option<String>,
    /// Notification mails per second, in all.
    #[arg(long, env = "CACHET_MAIL_RATE", default_value_t = 20, global = true)]
    mail_rate: u32,
    /// Notification mails per hour to one address.
    #[arg(
        long,
        env = "CACHET_MAIL_RATE_PER_RECIPIENT",
        default_value_t = 30,
        global = true
    )]
    mail_rate_per_recipient: u32,
    /// Addresses webhooks may reach although they are internal (loopback, private,
    /// link-local...): CIDR blocks or addresses, comma-separated, e.g. 10.20.0.0/16.
    /// Only the operator sets this; Admins cannot.
    #[arg(long, env = "CACHET_WEBHOOK_ALLOW", default_value = "", value_parser = parse_webhook_allow, global = true)]
    webhook_allow: AddressPolicy,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user with a role; prints a generated password unless one is read from stdin.
    Add {
        /// Unique user name.
        #[arg(long)]
        username: String,
        /// Unique email.
        #[arg(long)]
        email: String,
        /// admin, manager, reporter or viewer.
        #[arg(long, default_value = "viewer", value_parser = parse_role)]
        role: Role,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token for a user (by username or email); the token is printed once.
    Create {
        /// The token's owner.
        #[arg(long)]
        user: String,
        /// A label for the token.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Narrow the token below the user's role: ability names separated by commas
        /// (e.g. `metrics.points.write,components.status.write`).
        #[arg(long)]
        abilities: Option<String>,
        /// Days until the token stops working (default: never).
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// Revoke a token, given the token itself or its visible prefix.
    Revoke {
        /// Token or prefix.
        token: String,
    },
    /// List tokens (prefixes only; secrets are never stored).
    List,
}

/// An error and its sources, one after the other ("store backend error: unable to open
/// database file"), so the operator sees the cause and not only its category.
fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.ends_with(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

/// Where the data lives, read from `--database-url`.
enum Database {
    Sqlite(String),
    Postgres(String),
    MySql(String),
}

impl Database {
    fn parse(url: &str) -> Result<Database, String> {
        if let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            return Ok(Database::Sqlite(rest.to_string()));
        }
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            None => Ok(Database::Sqlite(url.to_string())),
            Some("postgres" | "postgresql") => Ok(Database::Postgres(url.to_string())),
            Some("mysql" | "mariadb") => Ok(Database::MySql(url.replacen("mariadb://", "mysql://", 1))),
            Some(other) => Err(format!(
                "database URL scheme \"{other}\" is not supported (use sqlite://PATH, postgres://... or mysql://...)"
            )),
        }
    }
}

/// Opens the store; runs the migrations unless `migrate` is false (a server role that may
/// only read and write rows: run `cachet-server migrate` as the owner first).
async fn open_store(url: &str, migrate: bool, pool_size: u32) -> Result<Arc<dyn Store>, String> {
    let migrated = |e: StoreError| {
        format!(
            "cannot migrate the database: {} (a role that may only read and write rows cannot \
             migrate: pass --no-migrate, and run `cachet-server migrate` as the schema's owner)",
            describe(&e)
        )
    };
    match Database::parse(url)? {
        Database::Sqlite(path) if path == ":memory:" => {
            let s = SqliteStore::open_in_memory()
                .map_err(|e| format!("cannot open the in-memory database: {}", describe(&e)))?;
            s.migrate().await.map_err(migrated)?;
            Ok(Arc::new(s))
        }
        Database::Sqlite(path) => {
            let s = SqliteStore::open_and_migrate(&path)
                .await
                .map_err(|e| format!("cannot open the database {path}: {}", describe(&e)))?;
            Ok(Arc::new(s))
        }
        Database::Postgres(url) => {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(pool_size)
                .acquire_timeout(Duration::from_secs(10))
                .connect(&url)
                .await
                .map_err(|e| format!("cannot connect to PostgreSQL: {}", describe(&e)))?;
            let s = PostgresStore::new(pool);
            if migrate {
                s.migrate().await.map_err(migrated)?;
            }
            Ok(Arc::new(s))
        }
        Database::MySql(url) => {
            let pool = sqlx::mysql::MySqlPoolOptions::new()
                .max_connections(pool_size)
                .acquire_timeout(Duration::from_secs(10))
                .connect(&url)
                .await
                .map_err(|e| format!("cannot connect to MySQL/MariaDB: {}", describe(&e)))?;
            let s = MySqlStore::new(pool);
            if migrate {
                s.migrate().await.map_err(migrated)?;
            }
            Ok(Arc::new(s))
        }
    }
}

/// Completes on Ctrl-C or SIGTERM. The handlers are in place when this returns, not when
/// the future is first polled: a SIGTERM right after "Listening on" stops the server
/// gracefully instead of killing it.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let (interrupt, terminate) = signals;
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(interrupt) => {},
                () = wait(terminate) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down");
    }
}

async fn serve(service: Arc<StatusPage>, args: ServeArgs) -> Result<(), String> {
    if let Some((user, password, token)) = service
        .bootstrap(&args.admin_username, &args.admin_email)
        .await
        .map_err(|e| format!("first-run setup failed: {}", describe(&e)))?
    {
        println!(
            "Created the first admin user \"{}\" <{}>.",
            user.username, user.email
        );
        println!("  Password:  {password}");
        println!("  API token: {token}");
        println!("Both are shown once and never stored in clear; keep them safe.");
    }
    let config = HttpConfig {
        max_body_bytes: args.max_body_bytes,
        hsts: args.hsts,
        hsts_max_age: Duration::from_secs(args.hsts_max_age),
        trusted_proxy_header: args.trusted_proxy_header.clone(),
        secure_cookies: !args.insecure_cookies,
        rate_limits: RateLimits {
            api_per_client: Rate::new(args.api_client_rate, (args.api_client_rate / 3).max(1)),
            api_per_token: Rate::new(args.api_token_rate, (args.api_token_rate / 4).max(1)),
            sign_in: Rate::new(args.sign_in_rate, args.sign_in_rate.max(1)),
            subscribe: Rate::new(args.subscribe_rate, args.subscribe_rate.max(1)),
        },
        ..HttpConfig::default()
    };
    // Maintenance windows start and end by the clock: their statuses are written (and
    // recorded in the components' history) by this loop, on every instance (runs take turns
    // in the store).
    let maintenance = Arc::clone(&service);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(cachet_core::service::MAINTENANCE_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = maintenance.apply_maintenance().await {
                tracing::warn!(error = %describe(&e), "applying maintenance windows failed");
            }
        }
    });
    // Expired sessions are refused whether or not they are purged; this keeps the table small.
    let housekeeping = Arc::clone(&service);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(600));
        loop {
            every.tick().await;
            if let Err(e) = housekeeping.purge_sessions().await {
                tracing::warn!(error = %describe(&e), "purging expired sessions failed");
            }
        }
    });
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| describe(&e))?;
    start_delivery(&service, &args, addr)?;
    let app = cachet_http::router(service, config);
    let shutdown = shutdown_signal();
    println!("Listening on http://{addr}");
    tracing::info!(%addr, "listening");
    if !args.insecure_cookies && args.trusted_proxy_header.is_none() && !addr.ip().is_loopback() {
        tracing::warn!(
            "dashboard cookies are Secure, and browsers send them over HTTPS only (and to \
             localhost): put a TLS proxy in front (docs/hardening.md, with \
             --trusted-proxy-header), or use --insecure-cookies on a trusted network"
        );
    }
    let limits = ServerLimits {
        header_read_timeout: Duration::from_secs(args.header_timeout_secs.max(1)),
        io_timeout: Duration::from_secs(args.io_timeout_secs.max(1)),
        max_connections: args.max_connections.max(1),
        max_connections_per_ip: args.max_connections_per_ip,
        ..ServerLimits::default()
    };
    cachet_http::server::serve(listener, app, limits, shutdown)
        .await
        .map_err(|e| format!("server error: {e}"))
}

/// Starts the delivery workers: webhooks always, mail when an SMTP server is configured.
/// Deliveries are in the database, so a restart (or another instance) carries on where this
/// one stopped.
fn start_delivery(
    service: &Arc<StatusPage>,
    args: &ServeArgs,
    addr: std::net::SocketAddr,
) -> Result<(), String> {
    let base_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let sender = WebhookSender::new(args.webhook_allow.clone(), cachet_notify::DEFAULT_TIMEOUT)?;
    let webhooks = Arc::new(Worker::webhooks(
        Arc::clone(service),
        sender,
        Arc::new(WebhookPayloads::new(Arc::clone(service), base_url.clone())),
        WorkerConfig {
            base_url: base_url.clone(),
            ..WorkerConfig::default()
        },
    ));
    let allowed: Vec<String> = args
        .webhook_allow
        .allowlist()
        .iter()
        .map(ToString::to_string)
        .collect();
    if allowed.is_empty() {
        tracing::info!("sending webhooks to public addresses only (no --webhook-allow)");
    } else {
        tracing::info!(allowlist = %allowed.join(","), "sending webhooks, internal addresses allowed as listed");
    }
    tokio::spawn(webhooks.run(std::future::pending()));
    let Some(url) = &args.smtp_url else {
        tracing::warn!(
            "no SMTP server configured (--smtp-url): notifications are queued, not sent"
        );
        return Ok(());
    };
    let smtp = SmtpConfig::from_url(url, args.smtp_password.clone(), &args.mail_from)
        .map_err(|e| e.to_string())?;
    let mailer = Arc::new(SmtpMailer::new(&smtp).map_err(|e| e.to_string())?);
    // A wrong setting (no STARTTLS on the server, a wrong password) is named now, not at
    // the first notification; the server starts either way, as the mail server may only
    // be down for a while (notifications wait in the outbox).
    let probe = Arc::clone(&mailer);
    let (host, port) = (smtp.host.clone(), smtp.port);
    tokio::spawn(async move {
        match probe.check().await {
            Ok(()) => tracing::info!(%host, port, "the SMTP server accepts this server's settings"),
            Err(e) => tracing::warn!(
                %host,
                port,
                error = %e,
                "the SMTP server cannot be used with these settings yet; notifications wait \
                 in the outbox (--smtp-url: smtp:// needs STARTTLS, smtps:// TLS, \
                 smtp+insecure:// is for a relay without either)"
            ),
        }
    });
    let positive = |n: u32| std::num::NonZeroU32::new(n).unwrap_or(std::num::NonZeroU32::MIN);
    let worker = Arc::new(Worker::new(
        Arc::clone(service),
        mailer,
        WorkerConfig {
            base_url,
            global_per_second: positive(args.mail_rate),
            per_recipient_per_hour: positive(args.mail_rate_per_recipient),
            ..WorkerConfig::default()
        },
    ));
    tracing::info!(host = %smtp.host, port = smtp.port, "sending notifications");
    tokio::spawn(worker.run(std::future::pending()));
    Ok(())
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::from_name(text)
        .ok_or_else(|| format!("unknown role \"{text}\" (admin, manager, reporter, viewer)"))
}

fn parse_webhook_allow(text: &str) -> Result<AddressPolicy, String> {
    AddressPolicy::parse(text)
}

fn parse_hsts(text: &str) -> Result<Hsts, String> {
    match text.to_ascii_lowercase().as_str() {
        "auto" => Ok(Hsts::Auto),
        "always" | "on" | "true" | "yes" | "1" => Ok(Hsts::Always),
        "off" | "false" | "no" | "0" => Ok(Hsts::Off),
        _ => Err(format!("{text:?} is not auto, always or off")),
    }
}

fn parse_header_name(text: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(text.trim().to_ascii_lowercase().as_bytes())
        .map_err(|_| format!("{text:?} is not a header name"))
}

/// The data key: `CACHET_DATA_KEY` when set, else the key file; a new one when there is no
/// key file and `may_create` (the server's first start; a subcommand never makes a key, as
/// it never makes a database). A new key comes with the private file it was written to
/// beside the key file: it becomes the key file only once the database has accepted the
/// key (see [`publish_key`]), so no other process ever uses a key that may be refused.
fn load_data_key(path: &Path, may_create: bool) -> Result<(DataKey, Option<PathBuf>), String> {
    if let Ok(text) = std::env::var("CACHET_DATA_KEY") {
        return DataKey::parse(&text)
            .map(|key| (key, None))
            .map_err(|e| format!("CACHET_DATA_KEY: {e}"));
    }
    match std::fs::read_to_string(path) {
        Ok(text) => DataKey::parse(&text)
            .map(|key| (key, None))
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !may_create => Err(format!(
            "there is no data key file at {}: subcommands use the server's key, so pass \
             the server's --data-key-file (CACHET_DATA_KEY_FILE) or set CACHET_DATA_KEY",
            path.display()
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let (key, text) = DataKey::generate();
            let pending = path.with_extension(format!("pending{}", std::process::id()));
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let written = options.open(&pending).and_then(|mut file| {
                std::io::Write::write_all(&mut file, format!("{text}\n").as_bytes())?;
                file.sync_all()
            });
            if let Err(e) = written {
                let _ = std::fs::remove_file(&pending);
                return Err(format!(
                    "cannot create the data key file {}: {}",
                    path.display(),
                    describe(&e)
                ));
            }
            Ok((key, Some(pending)))
        }
        Err(e) => Err(format!(
            "cannot read the data key file {}: {}",
            path.display(),
            describe(&e)
        )),
    }
}

/// Puts a new key, which the database has accepted, in the key file's place: linked, so an
/// existing file is never replaced and nobody reads half a key.
fn publish_key(path: &Path, pending: &Path) -> Result<(), String> {
    match std::fs::hard_link(pending, path) {
        Ok(()) => {
            let _ = std::fs::remove_file(pending);
            Ok(())
        }
        // Another start in this folder published its key meanwhile, for another database
        // (on this one only one key is accepted): this database's key stays where it is.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(format!(
            "another start created {} meanwhile, with another key; this database was set up \
             with the key in {}: start with --data-key-file {}",
            path.display(),
            pending.display(),
            pending.display()
        )),
        Err(e) => Err(format!(
            "cannot create the data key file {} (the key is in {}): {}",
            path.display(),
            pending.display(),
            describe(&e)
        )),
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    if let Some(Command::Migrate) = cli.command {
        open_store(&cli.database_url, true, 1).await?;
        println!("The database schema is up to date (missing migrations, if any, were applied).");
        return Ok(());
    }
    if let (Some(Command::User(_) | Command::Token(_)), Ok(Database::Sqlite(path))) =
        (&cli.command, Database::parse(&cli.database_url))
    {
        // A subcommand never creates a database: a mistyped path would otherwise make a
        // new, empty one and report nothing.
        if path != ":memory:" && !Path::new(&path).exists() {
            return Err(format!(
                "there is no database at {path}: check --database-url, or start the server \
                 once to create it"
            ));
        }
    }
    let store = open_store(
        &cli.database_url,
        !cli.no_migrate,
        cli.db_max_connections.max(1),
    )
    .await?;
    let serving = matches!(cli.command, None | Some(Command::Serve));
    let (data_key, pending) = load_data_key(&cli.data_key_file, serving)?;
    let session_limits = SessionLimits {
        idle: chrono::Duration::minutes(i64::from(cli.serve.session_idle_minutes.max(1))),
        absolute: chrono::Duration::hours(i64::from(cli.serve.session_max_hours.max(1))),
    };
    let service = match StatusPage::new(store, data_key).await {
        Ok(service) => service,
        Err(e) => {
            if let Some(file) = &pending {
                let _ = std::fs::remove_file(file);
            }
            if let cachet_core::Error::WrongDataKey = e {
                // A mistyped path, or a start from another folder, which made a key of its
                // own: none was written.
                return Err(format!(
                    "{e}. Point --data-key-file (CACHET_DATA_KEY_FILE) at the key file made \
                     when this database was set up, or set CACHET_DATA_KEY to its contents"
                ));
            }
            let hint = if cli.no_migrate {
                " (with --no-migrate, the schema must exist: run `cachet-server migrate` as \
                 its owner first)"
            } else {
                ""
            };
            return Err(format!("cannot load settings: {}{hint}", describe(&e)));
        }
    };
    if let Some(file) = &pending {
        publish_key(&cli.data_key_file, file)?;
        eprintln!(
            "Created the data key file {} (mode 0600). Back it up apart from the database: \
             without it, TOTP secrets, subscriber emails and webhook secrets cannot be read, \
             and the server does not start on this database with another key.",
            cli.data_key_file.display()
        );
    }
    let service = Arc::new(
        service
            .with_session_limits(session_limits)
            .with_webhook_policy(cli.serve.webhook_allow.clone()),
    );
    let admin = Actor::System;
    match cli.command {
        None | Some(Command::Serve) => serve(service, cli.serve).await,
        Some(Command::Migrate) => Ok(()),
        Some(Command::User(UserCommand::Add {
            username,
            email,
            role,
            password_stdin,
        })) => {
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .map_err(|e| describe(&e))?;
                (line.trim_end_matches(['\r', '\n']).to_string(), false)
            } else {
                (cachet_core::secret::random_code(24), true)
            };
            let user = service
                .create_user(
                    &admin,
                    UserInput {
                        username,
                        email,
                        password: password.clone(),
                        role,
                    },
                )
                .await
                .map_err(|e| describe(&e))?;
            println!(
                "Created user \"{}\" with role {}.",
                user.username,
                user.role.name()
            );
            if generated {
                println!("  Password: {password}");
            }
            Ok(())
        }
        Some(Command::Token(TokenCommand::Create {
            user,
            name,
            abilities,
            expires_in_days,
        })) => {
            let u = service
                .find_user(&admin, &user)
                .await
                .map_err(|e| format!("user \"{user}\": {}", describe(&e)))?;
            let (t, secret) = service
                .create_token(
                    &admin,
                    u.id,
                    TokenInput {
                        name,
                        abilities,
                        expires_at: expires_in_days
                            .map(|d| chrono::Utc::now() + chrono::Duration::days(i64::from(d))),
                    },
                )
                .await
                .map_err(|e| describe(&e))?;
            println!(
                "Created token {} for \"{}\" ({}):",
                t.prefix,
                u.username,
                u.role.name()
            );
            println!("{secret}");
            Ok(())
        }
        Some(Command::Token(TokenCommand::Revoke { token })) => {
            // Stored times have whole seconds: anything before this second was earlier.
            let started = chrono::Utc::now() - chrono::Duration::seconds(1);
            let t = service
                .revoke_token_by_secret_or_prefix(&admin, &token)
                .await
                .map_err(|e| describe(&e))?;
            match t.revoked_at {
                Some(at) if at < started => {
                    println!("Token {} was already revoked at {at}.", t.prefix);
                }
                _ => println!("Revoked token {}.", t.prefix),
            }
            Ok(())
        }
        Some(Command::Token(TokenCommand::List)) => {
            let users: std::collections::HashMap<_, _> = service
                .list_users(&admin, &cachet_core::store::ListQuery::new(1, 1000, ()))
                .await
                .map_err(|e| describe(&e))?
                .items
                .into_iter()
                .map(|u| (u.id, u.username))
                .collect();
            for t in service
                .list_tokens(&admin, None)
                .await
                .map_err(|e| describe(&e))?
            {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                let owner = users
                    .get(&t.user_id)
                    .map_or_else(|| format!("user {}", t.user_id), Clone::clone);
                println!("{}\t{}\t{owner}\t{state}", t.prefix, t.name);
            }
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            // sqlx reports PostgreSQL's "already exists, skipping" notices at info and a slow
            // first migration as a warning with the whole schema: noise for an operator.
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx::postgres::notice=warn,sqlx::query=error".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cachet-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cachet-server: {e}");
            ExitCode::FAILURE
        }
    }
}
