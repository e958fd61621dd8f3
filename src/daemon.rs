//! Wires the daemon together: database, state, listeners, housekeeping, systemd notifications and
//! graceful shutdown. `main` and the tests start it through the same [`start`].

use crate::config::Config;
use crate::db;
use crate::http;
use crate::sip::resolver::{HickoryLookup, Resolver, StaticLookup};
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
    #[error("server failed: {0}")]
    Serve(std::io::Error),
}

/// A started daemon: where it listens, its state, and how to stop it.
pub struct Running {
    pub http_addr: SocketAddr,
    pub state: AppState,
    shutdown: CancellationToken,
    server: JoinHandle<Result<(), std::io::Error>>,
}

/// Opens (and migrates) the database named by the config.
pub async fn open_database(config: &Config) -> Result<db::Db, StartError> {
    let url = config.database_url();
    let database = db::connect(&url, config.database.max_connections)
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

/// The system's DNS (resolv.conf); without one, SIP URIs with numeric hosts still work.
fn system_resolver() -> Resolver {
    match HickoryLookup::from_system_conf() {
        Ok(lookup) => Resolver::new(Arc::new(lookup)),
        Err(e) => {
            tracing::warn!(error = %e, "no system DNS configuration; only numeric SIP hosts resolve");
            Resolver::new(Arc::new(StaticLookup::new()))
        }
    }
}

/// Starts everything and returns once the listeners are bound.
pub async fn start(config: Config) -> Result<Running, StartError> {
    let secrets = crate::system::secrets::Secrets::load_or_create(&config.secrets_key_file())?;
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
    let state = AppState::new(
        database,
        config,
        sip,
        Arc::new(system_resolver()),
        Arc::new(secrets),
    );
    let app = http::router(state.clone());
    let grace = Duration::from_secs(state.config.http.shutdown_grace_s);
    let server = tokio::spawn(serve(listener, app, shutdown.clone(), grace));
    tokio::spawn(housekeeping(state.clone(), shutdown.clone()));
    if state.config.pinger.enabled {
        tokio::spawn(crate::gateways::pinger::run(
            state.clone(),
            state.config.pinger.clone(),
            state.resolver.clone(),
            shutdown.child_token(),
        ));
    }
    tracing::info!(
        http = %http_addr,
        sip = ?state.sip.udp_addrs(),
        database = state.db.backend(),
        "dialtone listening"
    );
    Ok(Running {
        http_addr,
        state,
        shutdown,
        server,
    })
}

async fn serve(
    listener: TcpListener,
    app: axum::Router,
    shutdown: CancellationToken,
    grace: Duration,
) -> Result<(), std::io::Error> {
    let signal = shutdown.clone();
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move { signal.cancelled().await });
    let server = tokio::spawn(async move { server.await });
    shutdown.cancelled().await;
    // In-flight requests get `grace` to finish; then we stop waiting.
    match tokio::time::timeout(grace, server).await {
        Ok(joined) => joined.unwrap_or(Ok(())),
        Err(_) => {
            tracing::warn!(
                grace_s = grace.as_secs(),
                "in-flight requests did not finish in time"
            );
            Ok(())
        }
    }
}

async fn housekeeping(state: AppState, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {
                match crate::auth::purge_expired_tokens(&state).await {
                    Ok(n) if n > 0 => tracing::info!(purged = n, "expired tokens removed"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "token purge failed"),
                }
                let days = i64::from(state.config.events.retention_days);
                let cutoff = chrono::Utc::now() - chrono::Duration::days(days);
                match crate::system::events::purge_older_than(&state.db, cutoff).await {
                    Ok(n) if n > 0 => tracing::info!(purged = n, "old events removed"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "event purge failed"),
                }
            }
        }
    }
}

impl Running {
    /// Stops accepting, lets in-flight requests finish, closes the database.
    pub async fn shutdown(self) -> Result<(), StartError> {
        self.shutdown.cancel();
        let result = self.server.await.unwrap_or(Ok(()));
        self.state.db.close().await;
        result.map_err(StartError::Serve)
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
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
    let watchdog = sd_notify::watchdog_enabled().map(|interval| {
        let state = running.state.clone();
        let token = running.shutdown_token();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval / 2);
            loop {
                tokio::select! {
                    _ = token.cancelled() => return,
                    _ = tick.tick() => {
                        if state.db.ping().await {
                            let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
                        } else {
                            tracing::warn!("database unreachable; withholding watchdog ping");
                        }
                    }
                }
            }
        })
    });
    wait_for_signal().await;
    tracing::info!("shutting down: draining in-flight requests");
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    if let Some(task) = watchdog {
        task.abort();
    }
    let result = running.shutdown().await;
    tracing::info!("stopped");
    result
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[cfg(test)]
mod tests {
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
