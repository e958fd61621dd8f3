//! The provisioning server: phones fetch their configuration files here, on a listener of its
//! own (`provisioning.listen`, default `0.0.0.0:8081`; HTTPS when `provisioning.tls_cert` and
//! `tls_key` are set).
//!
//! Who gets what:
//! - A request must carry the device's provisioning credentials: HTTP Digest (RFC 7616,
//!   SHA-256 or MD5, `qop=auth`, or RFC 2069 style from old firmware) always, Basic only over
//!   TLS. The user name names the device (it is the MAC unless the operator chose another);
//!   the current password works, and the previous one during its rotation grace period.
//! - A file whose name carries a MAC is served only to that MAC's device; common files
//!   (`y000000000044.cfg`, `000000000000.cfg`) are rendered with the authenticated device's
//!   settings. A User-Agent naming another MAC than the device's, a disabled device, and a
//!   fetch from outside the device's organization's orgips (when that organization has
//!   `restrict_to_orgips`; its own list only, as for API access) are refused.
//! - **Every refusal is the same 401**: the same tiny body, the same fresh Digest challenge,
//!   whether the MAC is unknown, the password wrong, the file another device's, the User-Agent
//!   contradicting, the address outside the allow-list or the budget spent, so a scanner learns
//!   nothing about which MACs exist. Only a device that proved who it is and asked for a name
//!   its vendor does not serve gets a 404 (phones probe optional files; answering 401 there
//!   would make them retry with credentials forever).
//! - Failures (wrong credentials and every refusal after them; not a first request without
//!   credentials, which every phone makes) count against the client address and the claimed
//!   device (`budget`); a spent budget refuses that address or device, without reading its
//!   credentials, for `provisioning.cooling_off_s`. Counters are per instance.
//! - A stale nonce (older than `provisioning.nonce_lifetime_s`) with right credentials gets a
//!   new challenge with `stale=true` and is not a failure. Nonces are stateless (issue time and
//!   an HMAC under a key derived from the secrets key file), so instances sharing that file
//!   verify each other's. Nonce counts are not tracked: a captured answer can be replayed for
//!   the same URI within the nonce's lifetime, which is why that lifetime is short.
//!
//! Speed: a fetch is served from `cache` (device, passwords, variables, allow-list, rendered
//! files) and its record is queued for `recorder`'s writer; the database is touched once per
//! device per change, not per fetch.

mod authorization;
mod budget;
mod cache;
mod digest;
mod listener;
mod recorder;
mod server;

pub use cache::Cache;
pub use digest::REALM;
pub use server::{NOT_FOUND_BODY, UNAUTHORIZED_BODY};

use crate::config::ProvisioningConfig;
use crate::state::AppState;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A bound provisioning listener: its address and the task that ends once it has drained.
pub struct Started {
    pub addr: SocketAddr,
    pub task: JoinHandle<()>,
}

/// Binds the listener and starts serving, the recorder and the cache's change follower; all stop
/// when `shutdown` fires (connections get `grace` to finish, queued records are written).
pub async fn start(
    state: AppState,
    shutdown: CancellationToken,
    grace: Duration,
) -> Result<Started, String> {
    let config = state.config.provisioning.clone();
    let tls = if config.tls_cert.as_os_str().is_empty() {
        None
    } else {
        Some(listener::tls_acceptor(&config.tls_cert, &config.tls_key)?)
    };
    let socket = TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let addr = socket.local_addr().map_err(|e| e.to_string())?;
    let (recorder, recorder_task) = recorder::Recorder::spawn(
        state.db.clone(),
        config.refusal_events_per_minute,
        shutdown.clone(),
    );
    let server = Arc::new(server::Server {
        nonces: digest::Nonces::new(&nonce_key(&state), config.nonce_lifetime_s),
        budget: budget::Budget::new(limits(&config)),
        recorder,
        tls: tls.is_some(),
        allow_basic: config.allow_basic,
        state: state.clone(),
    });
    // Subscribed before the first fetch can fill the cache.
    tokio::spawn(follow_changes(
        state.clone(),
        state.changes.subscribe(),
        shutdown.clone(),
    ));
    let task = tokio::spawn(async move {
        listener::serve(socket, tls, server, shutdown, grace).await;
        let _ = recorder_task.await;
    });
    Ok(Started { addr, task })
}

fn limits(config: &ProvisioningConfig) -> budget::Limits {
    budget::Limits {
        per_ip: config.max_failures_per_ip,
        per_target: config.max_failures_per_device,
        window: Duration::from_secs(config.failure_window_s),
        cooling_off: Duration::from_secs(config.cooling_off_s),
    }
}

/// The nonce HMAC key: derived from the secrets key file, which instances sharing a database
/// share; if it cannot be read, a random key (nonces then verify on this instance only).
fn nonce_key(state: &AppState) -> Vec<u8> {
    match std::fs::read(state.config.secrets_key_file()) {
        Ok(key) => {
            let mut material = b"dialtone provisioning nonces v1\0".to_vec();
            material.extend_from_slice(&key);
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &material)
                .as_ref()
                .to_vec()
        }
        Err(e) => {
            tracing::warn!(error = %e, "provisioning: secrets key file unreadable; Digest nonces verify on this instance only");
            rand::random::<[u8; 32]>().to_vec()
        }
    }
}

/// Keeps the cache fresh: every published change (this instance's or another's) drops what
/// it touches (see `cache`).
async fn follow_changes(
    state: AppState,
    mut changes: crate::system::changes::Subscription,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            change = changes.recv() => {
                if state.provisioning_cache.apply(&change) {
                    tracing::debug!(?change, "provisioning cache: dropped what the change touches");
                }
            }
        }
    }
}
