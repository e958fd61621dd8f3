//! Wires the daemon together: database, state, listeners, the background jobs, systemd
//! notifications and graceful shutdown. `main` and the tests start it through the same [`start`].

mod jobs;
mod signals;

use jobs::{feed_watchdog, spawn_jobs};
use signals::{reload_on_sighup, wait_for_signal};

use crate::config::{Config, DnsConfig, DnsMode};
use crate::db;
use crate::http;
use crate::sip::resolver::{HickoryLookup, IpRecord, Resolver, SrvRecord, StaticLookup};
use crate::state::AppState;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open database {url}: {source}")]
    Database { url: String, source: sqlx::Error },
    #[error("cannot apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start SIP on {addrs}: {source}")]
    Sip {
        addrs: String,
        source: crate::sip::SipError,
    },
    #[error("{0}")]
    Secrets(#[from] crate::system::secrets::SecretsError),
    #[error("provisioning templates: {0}")]
    Templates(String),
    #[error("provisioning listener: {0}")]
    Provisioning(String),
    #[error("server failed: {0}")]
    Serve(std::io::Error),
}

/// A started daemon: where it listens, its state, and how to stop it.
pub struct Running {
    pub http_addr: SocketAddr,
    /// Where phones fetch their provisioning files.
    pub provisioning_addr: SocketAddr,
    pub state: AppState,
    /// The SIP redirect listener (`None` when `redirect.enabled` is off).
    pub redirect: Option<crate::dialplan::redirect::Listener>,
    shutdown: CancellationToken,
    server: JoinHandle<()>,
    provisioning: JoinHandle<()>,
}

/// Opens (and migrates) the database named by the config.
pub async fn open_database(config: &Config) -> Result<db::Db, StartError> {
    let url = config.database_url();
    let database = db::connect_with(
        &url,
        config.database.max_connections,
        std::time::Duration::from_secs(config.database.acquire_timeout_s),
    )
    .await
    .map_err(|source| StartError::Database {
        url: redact(&url),
        source,
    })?;
    db::migrate(&database).await?;
    Ok(database)
}

/// Hides a password in a database URL before it reaches a log line.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The SIP resolver `[dns]` asks for: the system's DNS (resolv.conf), without which SIP URIs with
/// numeric hosts still work; or the static table, where a name not listed resolves to nothing.
fn system_resolver(dns: &DnsConfig) -> Resolver {
    match dns.mode {
        DnsMode::Static => {
            // Static answers never change, so they may be cached as long as the resolver allows.
            let ttl = crate::sip::resolver::MAX_CACHE_TTL;
            let mut table = StaticLookup::new();
            for (name, ips) in &dns.hosts {
                table.insert_ips(name, ips.iter().map(|&ip| IpRecord { ip, ttl }));
            }
            for (name, entries) in &dns.srv {
                table.insert_srv(
                    name,
                    entries.iter().map(|e| SrvRecord {
                        priority: e.priority,
                        weight: e.weight,
                        port: e.port,
                        target: e.target.clone(),
                        ttl,
                    }),
                );
            }
            Resolver::new(Arc::new(table))
        }
        DnsMode::System => match HickoryLookup::from_system_conf() {
            Ok(lookup) => Resolver::new(Arc::new(lookup)),
            Err(e) => {
                tracing::warn!(error = %e, "no system DNS configuration; only numeric SIP hosts resolve");
                Resolver::new(Arc::new(StaticLookup::new()))
            }
        },
    }
}

/// Starts everything and returns once the listeners are bound.
pub async fn start(config: Config) -> Result<Running, StartError> {
    let secrets = crate::system::secrets::Secrets::load_or_create(&config.secrets_key_file())?;
    let templates = crate::devices::templates::Templates::load(&config.provisioning)
        .map_err(StartError::Templates)?;
    let database = open_database(&config).await?;
    let addr = config.http.listen;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })?;
    let http_addr = listener.local_addr().map_err(StartError::Serve)?;
    let shutdown = CancellationToken::new();
    let sip = crate::sip::Endpoint::bind(&config.sip, shutdown.child_token())
        .await
        .map_err(|source| StartError::Sip {
            addrs: format!("{:?}", config.sip.listen),
            source,
        })?;
    let resolver = Arc::new(system_resolver(&config.dns));
    let state = AppState::new(
        database,
        config,
        sip,
        resolver,
        Arc::new(secrets),
        templates,
    );
    // Where the change feed stands, before any copy loads: a change committed by another
    // instance from here on is heard by the poller.
    if let Err(e) = state.changes.prime().await {
        tracing::warn!(error = %e, "cannot read the change revisions yet; the poller retries");
    }
    // The dial plan is compiled before the API answers, so the first evaluation sees it.
    if let Err(e) = state.dialplan.refresh(&state.db).await {
        tracing::error!(error = %e, "dial plan does not compile at start-up; no routes until it does");
    }
    let redirect = if state.config.redirect.enabled {
        let listener =
            crate::dialplan::redirect::Listener::start(state.clone(), shutdown.child_token())
                .await
                .map_err(|source| {
                    shutdown.cancel();
                    StartError::Sip {
                        addrs: format!("{:?}", state.config.redirect.listen),
                        source,
                    }
                })?;
        Some(listener)
    } else {
        None
    };
    let api = http::Api::new(state.clone());
    let grace = Duration::from_secs(state.config.http.shutdown_grace_s);
    let provisioning =
        crate::devices::provisioning::start(state.clone(), shutdown.child_token(), grace)
            .await
            .map_err(StartError::Provisioning)?;
    let server = tokio::spawn(http::listener::serve(
        listener,
        None,
        api,
        api_listener(&state.config.http, grace),
        shutdown.clone(),
    ));
    spawn_jobs(&state);
    // Whoever cancels the daemon's token (a signal, a test) stops the jobs too.
    tokio::spawn({
        let (jobs, token) = (state.jobs.clone(), shutdown.clone());
        async move {
            token.cancelled().await;
            jobs.stop();
        }
    });
    tracing::info!(
        http = %http_addr,
        provisioning = %provisioning.addr,
        sip = ?state.sip.udp_addrs(),
        redirect = ?redirect.as_ref().map(|r| r.udp_addrs()),
        database = state.db.backend(),
        "dialtone listening"
    );
    Ok(Running {
        http_addr,
        provisioning_addr: provisioning.addr,
        provisioning: provisioning.task,
        state,
        redirect,
        shutdown,
        server,
    })
}

/// How the API listener treats its connections (`[http]`).
fn api_listener(config: &crate::config::HttpConfig, grace: Duration) -> http::listener::Settings {
    http::listener::Settings {
        name: "api",
        header_timeout: Duration::from_secs(config.header_read_timeout_s),
        idle_timeout: Duration::from_secs(config.idle_timeout_s),
        caps: http::listener::Caps {
            total: Some(config.max_connections),
            per_address: Some(config.max_connections_per_address),
            uncapped: Arc::from(config.trusted_proxies.as_slice()),
        },
        grace,
    }
}

impl Running {
    /// Stops accepting and stops the jobs, lets in-flight requests and jobs finish (each within
    /// `http.shutdown_grace_s`), then closes the database.
    pub async fn shutdown(self) -> Result<(), StartError> {
        self.shutdown.cancel();
        self.state.jobs.stop();
        let _ = self.server.await;
        let _ = self.provisioning.await;
        let grace = Duration::from_secs(self.state.config.http.shutdown_grace_s);
        self.state.jobs.shutdown(grace).await;
        self.state.db.close().await;
        Ok(())
    }

    /// A handle that triggers shutdown from elsewhere.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}

/// The `serve` command: start, tell systemd we are ready, feed its watchdog while the database
/// answers, and drain on SIGTERM/SIGINT.
pub async fn run(config: Config) -> Result<(), StartError> {
    let running = start(config).await?;
    // Listening before READY, so a `systemctl reload` right after the start cannot kill us.
    let reloader = reload_on_sighup(running.state.clone());
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
    if let Some(interval) = sd_notify::watchdog_enabled() {
        let state = running.state.clone();
        running
            .state
            .jobs
            .spawn_loop("systemd.watchdog", move |stop| {
                feed_watchdog(state.clone(), interval / 2, stop)
            });
    }
    wait_for_signal().await;
    if let Some(task) = reloader {
        task.abort();
    }
    tracing::info!("shutting down: draining in-flight requests");
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    let result = running.shutdown().await;
    tracing::info!("stopped");
    result
}
#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_broken_template_folder_stops_the_start_naming_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let templates = dir.path().join("templates");
        std::fs::create_dir_all(templates.join("yealink")).unwrap();
        std::fs::create_dir_all(dir.path().join("state")).unwrap();
        let broken = templates.join("yealink/device.cfg.j2");
        std::fs::write(&broken, "#!version:1.0.0.1\n{% if %}\n").unwrap();
        let mut config = crate::config::Config {
            state_directory: dir.path().join("state"),
            ..Default::default()
        };
        config.http.listen = "127.0.0.1:0".parse().unwrap();
        config.sip.listen = vec!["127.0.0.1:0".parse().unwrap()];
        config.provisioning.templates_dir = templates;
        let err = super::start(config).await.err().unwrap().to_string();
        assert!(err.starts_with("provisioning templates: "), "{err}");
        assert!(
            err.contains(&format!("{} line 2", broken.display())),
            "{err}"
        );
    }

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(super::redact("sqlite://./x.db"), "sqlite://./x.db");
    }
}
